/**
 * Chip placement instances: Ariane133 (clustered, NanGate45) and Circuit Training's test netlists
 * from the data path, and seeded synthetic netlists so the problem runs with no data.
 *
 * An instance is a netlist, the cost settings (canvas, grid, routing, smoothing: from the `.plc`
 * header that comes with the netlist) and the starting placement a placer may use: ports where the
 * netlist puts them (ports are fixed), every macro at the canvas centre. No macro position of a given
 * placement reaches a placer; the staged placements are read only by the reference solvers.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { SelfoptError } from '../../core/errors.js';
import type { Dataset, InstanceRef } from '../../core/problem.js';
import { Rng } from '../../core/rng.js';
import { parseNetlist, readNetlist, HARD_MACRO, SOFT_MACRO, type Netlist } from './netlist.js';
import { netlistPlacement, readPlc, type Placement, type PlcHeader } from './plc.js';
import type { CostWeights } from './incremental.js';

export interface ChipInstance {
  id: string;
  nl: Netlist;
  settings: PlcHeader;
  weights: CostWeights;
  /** Staged placements a reference solver reads (real instances only): name -> path. */
  references: Record<string, string>;
  /** Real instances: the files read (so that a worker thread can load the same instance). */
  sourcePaths?: { netlist: string; plc: string };
}

/** The staged placements found for an instance, as its ref carries them (name -> path; none for generated netlists). */
export function stagedReferences(ref: InstanceRef): Record<string, string> {
  return JSON.parse(String(ref.params['references'] ?? '{}')) as Record<string, string>;
}

export const DATASETS: Dataset[] = [
  {
    relPath: 'chip/mp_ariane133_ng45',
    description: 'Ariane133 (NanGate45) clustered netlist with its initial and legalized .plc (TILOS MacroPlacement)',
    source: 'github.com/TILOS-AI-Institute/MacroPlacement Flows/NanGate45/ariane133',
    license: 'BSD-3-Clause (see chip/LICENSE.MacroPlacement)',
    obtain: 'copy from the MacroPlacement repository; see ../shared/data/chip/PROVENANCE.md',
  },
  {
    relPath: 'chip/ct_testdata',
    description: "Circuit Training's unit-test netlists with their .plc",
    source: 'github.com/google-research/circuit_training circuit_training/environment/test_data',
    license: 'Apache-2.0 (see chip/ct_testdata/LICENSE.circuit_training)',
    obtain: 'copy from the circuit_training repository; see ../shared/data/chip/PROVENANCE.md',
  },
];

export interface RealNetlist {
  name: string;
  netlist: string;
  plc: string;
  /** Other staged placements, reported by the reference solvers. */
  references: Record<string, string>;
  description: string;
}

export const REAL_NETLISTS: RealNetlist[] = [
  {
    name: 'ariane133', netlist: 'chip/mp_ariane133_ng45/netlist.pb.txt.gz', plc: 'chip/mp_ariane133_ng45/legalized.plc',
    references: { initial: 'chip/mp_ariane133_ng45/initial.plc', legalized: 'chip/mp_ariane133_ng45/legalized.plc' },
    description: 'Ariane133 NanGate45, 133 hard macros, 782 clusters, 495 ports, 24 x 21 grid',
  },
  {
    name: 'ct_macro_tiles_10x10', netlist: 'chip/ct_testdata/macro_tiles_10x10/netlist.pb.txt', plc: 'chip/ct_testdata/macro_tiles_10x10/initial.plc',
    references: { initial: 'chip/ct_testdata/macro_tiles_10x10/initial.plc' }, description: "Circuit Training test netlist macro_tiles_10x10",
  },
  {
    name: 'ct_toy_macro_stdcell', netlist: 'chip/ct_testdata/toy_macro_stdcell/netlist.pb.txt', plc: 'chip/ct_testdata/toy_macro_stdcell/initial.plc',
    references: { initial: 'chip/ct_testdata/toy_macro_stdcell/initial.plc' }, description: "Circuit Training test netlist toy_macro_stdcell",
  },
];

/** Every macro at the canvas centre, ports (and standard cells) where the netlist puts them. */
export function startPlacement(nl: Netlist, s: Pick<PlcHeader, 'width' | 'height'>): Placement {
  const pl = netlistPlacement(nl);
  for (let i = 0; i < nl.names.length; i++) {
    if (nl.kind[i] === HARD_MACRO || nl.kind[i] === SOFT_MACRO) {
      pl.x[i] = s.width / 2;
      pl.y[i] = s.height / 2;
      pl.orient[i] = 0;
    }
  }
  return pl;
}

/**
 * Refuses a netlist the placers cannot place: one without hard macros (nothing to place; the
 * placers assume at least one), one without nets (its wirelength cost would be 0 / 0, NaN), one
 * with a hard macro wider or taller than the canvas, or one whose hard macros cover more area than
 * the canvas has (either has no legal placement, and every placer would return an illegal one
 * without saying why).
 */
function checkPlaceable(nl: Netlist, s: Pick<PlcHeader, 'width' | 'height'>, source: string): void {
  if (nl.hardMacros.length === 0) throw new SelfoptError('netlist has no hard macro to place', source, 'at least one MACRO node (a macro not named Grp*)');
  if (!(nl.totalNetWeight > 0)) throw new SelfoptError('netlist has no net of positive weight', source, "a node with `input`s (the wirelength cost divides by the nets' total weight)");
  let area = 0;
  for (const i of nl.hardMacros) {
    if (nl.w[i]! > s.width || nl.h[i]! > s.height)
      throw new SelfoptError(`macro '${nl.names[i]}' is ${nl.w[i]} x ${nl.h[i]}, larger than the ${s.width} x ${s.height} canvas`, `${source} (node '${nl.names[i]}')`, 'every hard macro within the canvas of the .plc header');
    area += nl.w[i]! * nl.h[i]!;
  }
  if (area > s.width * s.height)
    throw new SelfoptError(`the ${nl.hardMacros.length} hard macros cover ${+area.toFixed(3)} µm², more than the ${s.width} x ${s.height} canvas (${+(s.width * s.height).toFixed(3)} µm²): no placement of them is legal`, source, 'hard macros whose total area fits the canvas of the .plc header');
}

export function loadReal(r: RealNetlist, paths: { netlist: string; plc: string; references: Record<string, string> }): ChipInstance {
  return loadNetlistFiles(r.name, paths);
}

/** An instance from a netlist and the `.plc` whose header gives its canvas, grid and routing (a listed real netlist or a user's files). */
export function loadNetlistFiles(id: string, paths: { netlist: string; plc: string; references: Record<string, string> }): ChipInstance {
  const nl = readNetlist(paths.netlist);
  const { header, placement, rowLine } = readPlc(paths.plc, nl);
  if (!(header.width > 0 && header.height > 0))
    throw new SelfoptError(`no canvas size in ${paths.plc}`, paths.plc, "a '# Width : W  Height : H' header line");
  // Every placer places every macro from scratch: a fixed (pre-placed) one would be moved without a word.
  for (const i of [...nl.hardMacros, ...nl.softMacros]) {
    if (placement.fixed[i])
      throw new SelfoptError(`macro '${nl.names[i]}' (index ${i}) is fixed, and fixed macros are not modelled: every placer would move it`, `${paths.plc}:${rowLine[i]}`, 'a .plc whose macros are not fixed (fixed column 0; ports may be fixed)');
  }
  // Ports are where the .plc puts them, as Circuit Training's restore_placement reads them (a
  // header-only .plc keeps the netlist's): the placers start there and the evaluator holds them there.
  for (const i of nl.ports) { nl.x[i] = placement.x[i]!; nl.y[i] = placement.y[i]!; }
  checkPlaceable(nl, header, paths.netlist);
  return { id, nl, settings: header, weights: { density: 0.5, congestion: 0.5 }, references: paths.references, sourcePaths: { netlist: paths.netlist, plc: paths.plc } };
}

/** The netlist file names Circuit Training keeps beside its `.plc` files (test_data/<block>/, MacroPlacement's Flows). */
const NETLIST_NAMES = ['netlist.pb.txt', 'netlist.pb.txt.gz'];

/**
 * A user's netlist named on the command line, as Circuit Training lays its files out: a `.plc`
 * (its header is the canvas, grid and routing) with `netlist.pb.txt` (or `.gz`) in its directory,
 * or a netlist with `initial.plc` in its directory. The id is `<directory>_<plc name>`
 * (macro_tiles_10x10_initial); an `initial.plc` or `legalized.plc` is also the staged placement
 * its reference solver reports.
 */
export function userNetlistFiles(path: string): { id: string; netlist: string; plc: string; references: Record<string, string> } {
  const dir = dirname(path);
  let netlist: string, plc: string;
  if (path.endsWith('.plc')) {
    plc = path;
    const found = NETLIST_NAMES.map((f) => join(dir, f)).find((f) => existsSync(f));
    if (!found) throw new SelfoptError(`no netlist beside ${path}`, 'chip instance', `${NETLIST_NAMES.join(' or ')} in ${dir} (Circuit Training's layout: a .plc beside its netlist)`);
    netlist = found;
  } else {
    netlist = path;
    plc = join(dir, 'initial.plc');
    if (!existsSync(plc)) throw new SelfoptError(`no initial.plc beside ${path}`, 'chip instance', `the .plc whose header gives the canvas and grid: ${plc}, or name a .plc whose directory holds the netlist`);
  }
  const stem = basename(plc, '.plc');
  const id = `${basename(resolve(dir))}_${stem}`;
  const references: Record<string, string> = stem === 'initial' || stem === 'legalized' ? { [stem]: plc } : {};
  return { id, netlist, plc, references };
}

export interface SyntheticSpec {
  hard: number;
  soft: number;
  ports: number;
  seed: number;
}

/** `synth_h<hard>_s<soft>[_p<ports>]_<seed>`, e.g. synth_h8_s40_1. */
export function parseSyntheticName(name: string): SyntheticSpec | undefined {
  const m = /^synth_h(\d+)_s(\d+)(?:_p(\d+))?_(\d+)$/.exec(name);
  if (!m) return undefined;
  const hard = Number(m[1]), soft = Number(m[2]);
  if (hard < 1 || hard > 400 || soft > 4000) return undefined;
  const ports = m[3] ? Number(m[3]) : Math.max(8, Math.round(Math.sqrt(hard + soft) * 3));
  // A net joins two nodes: a lone macro (synth_h1_s0_p0) has nothing to connect to.
  if (hard + soft + ports < 2) return undefined;
  return { hard, soft, ports, seed: Number(m[4]) };
}

/**
 * Writes a synthetic netlist as Circuit Training protobuf text. Every node gets a hidden point in
 * the unit square; nets join a driver to nodes near its point, so a good placement exists (the
 * hidden layout, scaled) and the placers have structure to find. Hard macros take 35% of the canvas
 * area, clusters 25%; ports sit on the boundary at their hidden point's nearest edge.
 */
export function syntheticNetlistText(spec: SyntheticSpec): { text: string; header: PlcHeader } {
  const rng = new Rng(spec.seed * 7919 + spec.hard * 31 + spec.soft);
  const cols = 12, rows = 12;
  const W = 600, H = 600;
  const attr = (k: string, v: string | number): string =>
    typeof v === 'number' ? `  attr {\n    key: "${k}"\n    value {\n      f: ${v}\n    }\n  }\n` : `  attr {\n    key: "${k}"\n    value {\n      placeholder: "${v}"\n    }\n  }\n`;
  interface Obj { name: string; pins: string[]; hx: number; hy: number }
  const objs: Obj[] = [];
  const inputs = new Map<string, string[]>();
  const pinWeights = new Map<string, number>();
  const hardArea = (0.35 * W * H) / spec.hard;
  const softArea = spec.soft > 0 ? (0.25 * W * H) / spec.soft : 0;
  const body: string[] = [];
  for (let m = 0; m < spec.hard; m++) {
    const aspect = rng.uniform(0.5, 2);
    const w = Math.min(0.45 * W, Math.sqrt(hardArea * aspect)), h = Math.min(0.45 * H, hardArea / w);
    const name = `m${m}`;
    let s = `node {\n  name: "${name}"\n` + attr('type', 'MACRO') + attr('width', +w.toFixed(3)) + attr('height', +h.toFixed(3)) + attr('x', W / 2) + attr('y', H / 2) + attr('orientation', 'N') + '}\n';
    const pins: string[] = [];
    const np = 4 + rng.int(5);
    for (let k = 0; k < np; k++) {
      const pn = `${name}/p${k}`;
      pins.push(pn);
      s += `node {\n  name: "${pn}"\n  @INPUTS:${pn}@\n` + attr('macro_name', name) + attr('type', 'MACRO_PIN') + attr('x_offset', +rng.uniform(-w / 2, w / 2).toFixed(3)) + attr('y_offset', +rng.uniform(-h / 2, h / 2).toFixed(3)) + attr('x', 0) + attr('y', 0) + '}\n';
    }
    body.push(s);
    objs.push({ name, pins, hx: rng.next(), hy: rng.next() });
  }
  for (let c = 0; c < spec.soft; c++) {
    const side = Math.sqrt(softArea) * rng.uniform(0.8, 1.2);
    const name = `Grp_${c}`;
    let s = `node {\n  name: "${name}"\n` + attr('type', 'macro') + attr('width', +side.toFixed(3)) + attr('height', +side.toFixed(3)) + attr('x', W / 2) + attr('y', H / 2) + '}\n';
    const pins: string[] = [];
    for (let k = 0; k < 3; k++) {
      const pn = `${name}/Pinput_${k}`;
      pins.push(pn);
      s += `node {\n  name: "${pn}"\n  @INPUTS:${pn}@\n` + attr('macro_name', name) + attr('type', 'macro_pin') + attr('x_offset', 0) + attr('y_offset', 0) + attr('x', 0) + attr('y', 0) + '}\n';
    }
    body.push(s);
    objs.push({ name, pins, hx: rng.next(), hy: rng.next() });
  }
  for (let p = 0; p < spec.ports; p++) {
    const hx = rng.next(), hy = rng.next();
    const d = [hx, 1 - hx, hy, 1 - hy];
    const e = d.indexOf(Math.min(...d));
    const x = e === 0 ? 0 : e === 1 ? W : hx * W, y = e === 2 ? 0 : e === 3 ? H : hy * H;
    const name = `port${p}`;
    body.push(`node {\n  name: "${name}"\n  @INPUTS:${name}@\n` + attr('type', 'PORT') + attr('side', ['LEFT', 'RIGHT', 'BOTTOM', 'TOP'][e]!) + attr('x', +x.toFixed(3)) + attr('y', +y.toFixed(3)) + '}\n');
    objs.push({ name, pins: [name], hx: e === 0 ? 0 : e === 1 ? 1 : hx, hy: e === 2 ? 0 : e === 3 ? 1 : hy });
  }
  // nets: each object drives 1-2 nets to 1-4 objects among its 8 nearest (by hidden point)
  const near = (o: Obj): Obj[] => objs.filter((q) => q !== o).sort((a, b) => (a.hx - o.hx) ** 2 + (a.hy - o.hy) ** 2 - ((b.hx - o.hx) ** 2 + (b.hy - o.hy) ** 2)).slice(0, 8);
  for (const o of objs) {
    const nn = near(o);
    const nets = 1 + rng.int(2);
    for (let k = 0; k < nets; k++) {
      const driver = rng.pick(o.pins);
      if (inputs.has(driver)) continue;
      const fanout = 1 + rng.int(4);
      const sinks = new Set<string>();
      for (let f = 0; f < fanout; f++) sinks.add(rng.pick(rng.pick(nn).pins));
      inputs.set(driver, [...sinks]);
      if (rng.next() < 0.2) pinWeights.set(driver, 2);
    }
  }
  let text = body.join('');
  text = text.replace(/ {2}@INPUTS:([^@]+)@\n/g, (_m, pin: string) => {
    const ins = inputs.get(pin) ?? [];
    let s = ins.map((t) => `  input: "${t}"\n`).join('');
    const w = pinWeights.get(pin);
    if (w !== undefined) s += attr('weight', w);
    return s;
  });
  // Ports carry their inputs before the attributes, pins after: both are valid protobuf text.
  const header: PlcHeader = {
    columns: cols, rows, width: W, height: H, hroutesPerMicron: 10, vroutesPerMicron: 10, hroutingAlloc: 6, vroutingAlloc: 5,
    smoothRange: 1, overlapThreshold: 0.004, blockages: [], wirelength: NaN, wirelengthCost: NaN, densityCost: NaN, congestionCost: NaN,
  };
  return { text, header };
}

export function generateInstance(name: string): ChipInstance {
  const spec = parseSyntheticName(name);
  if (!spec) throw new SelfoptError(`synthetic netlist name '${name}'`, 'chip instances', 'synth_h<hard 1..400>_s<soft>[_p<ports>]_<seed> with 2 nodes or more, e.g. synth_h8_s40_1');
  const { text, header } = syntheticNetlistText(spec);
  return { id: name, nl: parseNetlist(text, name), settings: header, weights: { density: 0.5, congestion: 0.5 }, references: {} };
}
