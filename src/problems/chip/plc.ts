/**
 * Circuit Training `.plc` placement files: `#` header comments (canvas, grid, routing settings
 * and the costs the writer computed) then rows `index x y orientation fixed`, where index is
 * the netlist node index without `__metadata__` and orientation is `-` for ports and clusters
 * without one. Only placeable nodes (macros, ports, standard cells) have rows: all of them, or
 * none (a header-only file keeps the netlist's own coordinates).
 */
import { readFileSync } from 'node:fs';
import { SelfoptError } from '../../core/errors.js';
import { ORIENTATIONS, orientationCode, PORT, type Netlist } from './netlist.js';

export interface PlcHeader {
  columns: number;
  rows: number;
  width: number;
  height: number;
  hroutesPerMicron: number;
  vroutesPerMicron: number;
  hroutingAlloc: number;
  vroutingAlloc: number;
  smoothRange: number;
  overlapThreshold: number;
  /**
   * `# Blockage : xl yl xh yh rate` lines: rectangles no hard macro may overlap (Circuit Training's
   * create_blockage; the rate, the share kept from standard cells and clusters, is not modelled).
   */
  blockages: Blockage[];
  /** Costs written by the tool that produced the file (NaN when absent). */
  wirelength: number;
  wirelengthCost: number;
  densityCost: number;
  congestionCost: number;
}

export interface Blockage {
  xl: number;
  yl: number;
  xh: number;
  yh: number;
  rate: number;
}

/** Positions (centres, µm), orientation codes and fixed flags for every netlist node. */
export interface Placement {
  x: Float64Array;
  y: Float64Array;
  orient: Uint8Array;
  fixed: Uint8Array;
}

export interface Plc {
  header: PlcHeader;
  placement: Placement;
  /** 1-based line of each node's row (0: no row). */
  rowLine: Int32Array;
}

export function defaultHeader(): PlcHeader {
  return {
    columns: 10, rows: 10, width: 0, height: 0, hroutesPerMicron: 0, vroutesPerMicron: 0, hroutingAlloc: 0, vroutingAlloc: 0,
    smoothRange: 0, overlapThreshold: 0, blockages: [], wirelength: NaN, wirelengthCost: NaN, densityCost: NaN, congestionCost: NaN,
  };
}

/** The netlist's own coordinates as a placement. */
export function netlistPlacement(nl: Netlist): Placement {
  return { x: Float64Array.from(nl.x), y: Float64Array.from(nl.y), orient: Uint8Array.from(nl.orient), fixed: new Uint8Array(nl.names.length) };
}

/**
 * The most columns (and rows) a grid may have: Circuit Training's ObservationConfig.max_grid_size
 * (its mask is max_grid_size^2 cells; ISPD 2023's assessment kept CT's grids, Ariane133 24 x 21).
 * Past it the cost grids and the placers' per-cell arrays are too large to allocate.
 */
export const MAX_GRID_SIDE = 128;

const NUM = String.raw`([-+0-9.eE]+)`;

/** Header lines that set the canvas, grid, routing or smoothing, as Circuit Training writes them (the cost lines are the writer's report, only kept). */
const SETTING_EXAMPLES: Record<string, string> = {
  'Columns': '# Columns : 24  Rows : 21',
  'Width': '# Width : 1433.406  Height : 1433.406',
  'Routes per micron': '# Routes per micron, hor : 57.031  ver : 56.818',
  'Routes used by macros': '# Routes used by macros, hor : 39.583  ver : 30.303',
  'Smoothing factor': '# Smoothing factor : 2',
  'Overlap threshold': '# Overlap threshold : 0.004',
};
const SETTING_LINE = new RegExp(`^#\\s*(${Object.keys(SETTING_EXAMPLES).join('|')})\\b`);

/** A settings line's numbers: finite and not negative, else the line is refused. */
function setting(m: RegExpMatchArray, line: string, where: string): number[] {
  const v = m.slice(1).map(Number);
  if (!v.every((x) => Number.isFinite(x) && x >= 0)) throw new SelfoptError(`cannot read '${line}'`, where, 'numbers of 0 or more');
  return v;
}

/**
 * Parses `.plc` text against a netlist; every placeable node must have exactly one row. With
 * `requireInside`, a hard macro whose rectangle leaves the canvas is refused with its name and line
 * (off by default: the staged Ariane133 initial.plc has 27 macros above the canvas).
 */
export function parsePlc(text: string, nl: Netlist, source = 'plc', opts: { requireInside?: boolean } = {}): Plc {
  const header = defaultHeader();
  const pl = netlistPlacement(nl);
  const n = nl.names.length;
  const seen = new Uint8Array(n);
  const rowLine = new Int32Array(n);
  let rowsRead = 0;
  const lines = text.split('\n');
  const m2 = (s: string, re: RegExp): RegExpMatchArray | null => s.match(re);
  for (let ln = 0; ln < lines.length; ln++) {
    const s = lines[ln]!.trim();
    if (s === '') continue;
    const where = `${source}:${ln + 1}`;
    if (s.startsWith('#')) {
      let m: RegExpMatchArray | null;
      if ((m = m2(s, new RegExp(`Columns\\s*:\\s*${NUM}\\s+Rows\\s*:\\s*${NUM}`)))) {
        header.columns = Number(m[1]); header.rows = Number(m[2]);
        if (!(Number.isInteger(header.columns) && Number.isInteger(header.rows) && header.columns >= 1 && header.rows >= 1))
          throw new SelfoptError(`grid of ${m[1]} columns and ${m[2]} rows`, where, 'whole numbers of columns and rows, 1 or more');
        if (header.columns > MAX_GRID_SIDE || header.rows > MAX_GRID_SIDE)
          throw new SelfoptError(`grid of ${m[1]} columns and ${m[2]} rows`, where, `at most ${MAX_GRID_SIDE} columns and ${MAX_GRID_SIDE} rows (Circuit Training's max_grid_size)`);
      }
      else if ((m = m2(s, new RegExp(`Width\\s*:\\s*${NUM}\\s+Height\\s*:\\s*${NUM}`)))) [header.width, header.height] = setting(m, s, where);
      else if ((m = m2(s, new RegExp(`Routes per micron, hor\\s*:\\s*${NUM}\\s+ver\\s*:\\s*${NUM}`)))) [header.hroutesPerMicron, header.vroutesPerMicron] = setting(m, s, where);
      else if ((m = m2(s, new RegExp(`Routes used by macros, hor\\s*:\\s*${NUM}\\s+ver\\s*:\\s*${NUM}`)))) [header.hroutingAlloc, header.vroutingAlloc] = setting(m, s, where);
      else if ((m = m2(s, new RegExp(`Smoothing factor\\s*:\\s*${NUM}`)))) header.smoothRange = Math.floor(setting(m, s, where)[0]!);
      else if ((m = m2(s, new RegExp(`Blockage\\s*:\\s*${NUM}\\s+${NUM}\\s+${NUM}\\s+${NUM}\\s+${NUM}`)))) {
        const [xl, yl, xh, yh, rate] = m.slice(1, 6).map(Number) as [number, number, number, number, number];
        if (![xl, yl, xh, yh, rate].every(Number.isFinite) || !(xh > xl && yh > yl))
          throw new SelfoptError(`blockage '${m.slice(1, 6).join(' ')}'`, where, 'numbers xl yl xh yh rate with xh > xl and yh > yl');
        header.blockages.push({ xl, yl, xh, yh, rate });
      } else if (/^#\s*Blockage\b/.test(s)) throw new SelfoptError(`cannot read '${s}'`, where, '# Blockage : xl yl xh yh rate');
      else if ((m = m2(s, new RegExp(`Overlap threshold\\s*:\\s*${NUM}`)))) header.overlapThreshold = setting(m, s, where)[0]!;
      // A settings line that does not read would leave its default (no routes per micron: congestion 0) without a word.
      else if ((m = m2(s, SETTING_LINE))) throw new SelfoptError(`cannot read '${s}'`, where, `the line as Circuit Training writes it, e.g. '${SETTING_EXAMPLES[m[1]!]}'`);
      else if ((m = m2(s, new RegExp(`^#\\s*Wirelength cost\\s*:\\s*${NUM}`)))) header.wirelengthCost = Number(m[1]);
      else if ((m = m2(s, new RegExp(`^#\\s*Wirelength\\s*:\\s*${NUM}`)))) header.wirelength = Number(m[1]);
      else if ((m = m2(s, new RegExp(`^#\\s*Congestion cost\\s*:\\s*${NUM}`)))) header.congestionCost = Number(m[1]);
      else if ((m = m2(s, new RegExp(`^#\\s*Density cost\\s*:\\s*${NUM}`)))) header.densityCost = Number(m[1]);
      continue;
    }
    const f = s.split(/\s+/);
    if (f.length !== 5) throw new SelfoptError(`placement row has ${f.length} fields: '${s}'`, where, 'index x y orientation fixed');
    const i = Number(f[0]);
    const xv = Number(f[1]), yv = Number(f[2]);
    if (!Number.isInteger(i) || i < 0 || i >= n)
      throw new SelfoptError(`node index ${f[0]} outside the netlist's ${n} nodes`, where, `an index in 0..${n - 1} (node count must match the netlist)`);
    const k = nl.kind[i]!;
    if (nl.pinMacro[i]! >= 0) throw new SelfoptError(`row for pin '${nl.names[i]}' (index ${i})`, where, 'rows for macros, ports and standard cells only (node count must match the netlist)');
    if (seen[i]) throw new SelfoptError(`second row for node ${i} '${nl.names[i]}'`, where, 'one row per node');
    if (!Number.isFinite(xv) || !Number.isFinite(yv)) throw new SelfoptError(`bad coordinates '${f[1]} ${f[2]}'`, where, 'finite numbers');
    seen[i] = 1;
    rowLine[i] = ln + 1;
    rowsRead++;
    pl.x[i] = xv;
    pl.y[i] = yv;
    pl.orient[i] = k === PORT ? 0 : orientationCode(f[3]!, where);
    if (f[4] !== '0' && f[4] !== '1') throw new SelfoptError(`fixed flag '${f[4]}' for node ${i} '${nl.names[i]}'`, where, '0 or 1');
    pl.fixed[i] = f[4] === '1' ? 1 : 0;
  }
  // A header-only file (as CT's simple_with_coords and toy_macro_stdcell) keeps the netlist's coordinates.
  if (rowsRead !== 0 && rowsRead !== nl.placeable.length) {
    let missing = -1;
    for (const i of nl.placeable) if (!seen[i]) { missing = i; break; }
    throw new SelfoptError(
      `placement has ${rowsRead} node rows but the netlist has ${nl.placeable.length} placeable nodes (first missing: ${missing} '${nl.names[missing] ?? ''}')`,
      `${source}:${lines.length}`, 'one row per macro, port and standard cell of the netlist');
  }
  const plc = { header, placement: pl, rowLine };
  if (opts.requireInside) assertInsideCanvas(nl, plc, source);
  return plc;
}

/** Throws for the first hard macro whose rectangle leaves the canvas, naming the node and its row's line. */
export function assertInsideCanvas(nl: Netlist, plc: Plc, source: string): void {
  const { width: W, height: H } = plc.header;
  const p = plc.placement;
  for (const i of nl.hardMacros) {
    const hw = nl.w[i]! / 2, hh = nl.h[i]! / 2;
    const eps = 1e-6;
    if (p.x[i]! - hw < -eps || p.y[i]! - hh < -eps || p.x[i]! + hw > W + eps || p.y[i]! + hh > H + eps) {
      const line = plc.rowLine[i]! > 0 ? `${source}:${plc.rowLine[i]}` : `${source} (netlist coordinates)`;
      throw new SelfoptError(
        `macro '${nl.names[i]}' (index ${i}) at centre (${p.x[i]}, ${p.y[i]}), ${nl.w[i]} x ${nl.h[i]}, leaves the ${W} x ${H} canvas`, line,
        'every hard macro inside the canvas');
    }
  }
}

export function readPlc(path: string, nl: Netlist, opts: { requireInside?: boolean } = {}): Plc {
  return parsePlc(readFileSync(path, 'utf8'), nl, path, opts);
}

const fmt = (v: number, d: number): string => (Number.isFinite(v) ? v.toFixed(d) : '0');

/** Writes a `.plc` that parsePlc (and Circuit Training's tools) read back. */
export function writePlc(nl: Netlist, plc: Plc, opts: { costs?: { wirelength: number; wirelengthCost: number; congestionCost: number; densityCost: number } } = {}): string {
  const h = plc.header;
  const c = opts.costs ?? { wirelength: h.wirelength, wirelengthCost: h.wirelengthCost, congestionCost: h.congestionCost, densityCost: h.densityCost };
  const out: string[] = [
    '# Placement file for Circuit Training (written by selfopt)',
    `# Columns : ${h.columns}  Rows : ${h.rows}`,
    `# Width : ${fmt(h.width, 3)}  Height : ${fmt(h.height, 3)}`,
    `# Wirelength : ${fmt(c.wirelength, 3)}`,
    `# Wirelength cost : ${fmt(c.wirelengthCost, 4)}`,
    `# Congestion cost : ${fmt(c.congestionCost, 4)}`,
    `# Density cost : ${fmt(c.densityCost, 4)}`,
    `# Routes per micron, hor : ${fmt(h.hroutesPerMicron, 3)}  ver : ${fmt(h.vroutesPerMicron, 3)}`,
    `# Routes used by macros, hor : ${fmt(h.hroutingAlloc, 3)}  ver : ${fmt(h.vroutingAlloc, 3)}`,
    `# Smoothing factor : ${h.smoothRange}`,
    `# Overlap threshold : ${h.overlapThreshold}`,
    ...h.blockages.map((b) => `# Blockage : ${b.xl} ${b.yl} ${b.xh} ${b.yh} ${b.rate}`),
    '#',
    `# HARD_MACROs : ${nl.hardMacros.length}`,
    `# SOFT_MACROs : ${nl.softMacros.length}`,
    `# PORTs : ${nl.ports.length}`,
    '# node_index x y orientation fixed',
  ];
  const p = plc.placement;
  for (const i of nl.placeable) {
    const o = nl.kind[i] === PORT ? '-' : ORIENTATIONS[p.orient[i]!]!;
    out.push(`${i} ${+p.x[i]!.toFixed(6)} ${+p.y[i]!.toFixed(6)} ${o} ${p.fixed[i]}`);
  }
  return out.join('\n') + '\n';
}
