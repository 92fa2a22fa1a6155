/**
 * Circuit Training's proxy cost, following the rules of the open re-implementation
 * (TILOS-AI-Institute/MacroPlacement CodeElements/Plc_client/plc_client_os.py):
 *
 * - wirelength cost = Σ_net w·HPWL / (Σ_net w · (canvas W + H)); a pin sits at its macro's
 *   centre plus its offset turned by the macro's orientation.
 * - density cost = 0.5 · (Σ of the k densest grid cells) / k, k = floor(0.1 · cells); a cell's
 *   density = overlap area of hard and soft macros with the cell / cell area (grids under 10
 *   cells: 0.5 · mean of the occupied cells).
 * - congestion cost = mean of the worst floor(0.05 · 2·cells) entries of the concatenated V and
 *   H maps (the maximum if that is 0). Each net is routed over the distinct grid cells of its
 *   pins: 2 cells as an L (horizontal along the driver's row, vertical along the sink's column),
 *   3 cells by the L/T patterns, more cells as a star of such 2-cell routes from the driver's
 *   cell; routing weight = the net weight if above 1, else 1. Demand is divided by the cell's
 *   routes (V: cell width × vertical routes/µm; H: cell height × horizontal routes/µm), then
 *   smoothed (V spread evenly over ±smooth columns in its row, H over ±smooth rows in its
 *   column, clipped at the border), then the hard macros' blockage is added: per overlapped
 *   cell, overlap width × vertical allocation to V and overlap height × horizontal allocation to
 *   H (normalised the same way), minus the top row's V and right column's H share when the
 *   macro covers its first or last row/column only partly.
 *
 * Points are mapped to the cell floor(y / cell height), floor(x / cell width) (a point on the right or
 * top edge to the last column or row). A net with a pin
 * outside the grid is not routed (see `outside`); the open re-implementation would index past
 * its maps there, and this rule is the one that reproduces the header of Ariane133 initial.plc.
 */
import { SelfoptError } from '../../core/errors.js';
import type { Netlist } from './netlist.js';
import type { Blockage, Placement, PlcHeader } from './plc.js';

export type CostSettings = Pick<PlcHeader, 'columns' | 'rows' | 'width' | 'height' | 'hroutesPerMicron' | 'vroutesPerMicron' | 'hroutingAlloc' | 'vroutingAlloc' | 'smoothRange'>;

export interface ProxyCost {
  /** Σ w · HPWL (µm). */
  wirelength: number;
  wirelengthCost: number;
  densityCost: number;
  congestionCost: number;
  /** wirelengthCost + wDensity · densityCost + wCongestion · congestionCost. */
  proxy: number;
}

/** Offset (dx, dy) of a pin turned by orientation code o (N FN S FS E FE W FW). */
export function orientOffset(dx: number, dy: number, o: number): [number, number] {
  switch (o) {
    case 0: return [dx, dy];
    case 1: return [-dx, dy];
    case 2: return [-dx, -dy];
    case 3: return [dx, -dy];
    case 4: return [dy, -dx];
    case 5: return [-dy, -dx];
    case 6: return [-dy, dx];
    case 7: return [dy, dx];
    default: throw new SelfoptError(`orientation code ${o}`, 'orientOffset', 'a code 0..7');
  }
}

/** Every node's position under `pl` into px/py: pins at their macro's centre plus the turned offset. */

/**
 * A macro pin's offset (dx, dy) in the placed macro's frame, for orientation index o (plc.ts's
 * order, netlist.ts ORIENTATIONS): (XX*dx + XY*dy, YX*dx + YY*dy). One table serves the full
 * evaluation and the incremental one, so both turn pins identically.
 */
export const ORIENT_XX = Int8Array.of(1, -1, -1, 1, 0, 0, 0, 0);
export const ORIENT_XY = Int8Array.of(0, 0, 0, 0, 1, -1, -1, 1);
export const ORIENT_YX = Int8Array.of(0, 0, 0, 0, -1, -1, 1, 1);
export const ORIENT_YY = Int8Array.of(1, 1, -1, -1, 0, 0, 0, 0);
export function nodePositions(nl: Netlist, pl: Placement, px: Float64Array, py: Float64Array): void {
  const n = nl.names.length;
  for (let i = 0; i < n; i++) {
    const m = nl.pinMacro[i]!;
    if (m < 0) { px[i] = pl.x[i]!; py[i] = pl.y[i]!; continue; }
    const dx = nl.pinDx[i]!, dy = nl.pinDy[i]!, o = pl.orient[m]!;
    px[i] = pl.x[m]! + ORIENT_XX[o]! * dx + ORIENT_XY[o]! * dy;
    py[i] = pl.y[m]! + ORIENT_YX[o]! * dx + ORIENT_YY[o]! * dy;
  }
}

/** Nets of each node, CSR; `byOwner` counts a pin's nets on its macro (each net once per node). */
export function netsOfNodes(nl: Netlist, byOwner: boolean): { start: Int32Array; nets: Int32Array } {
  const n = nl.names.length, nNets = nl.netStart.length - 1;
  const owner = (v: number): number => (byOwner && nl.pinMacro[v]! >= 0 ? nl.pinMacro[v]! : v);
  const start = new Int32Array(n + 1);
  const last = new Int32Array(n).fill(-1);
  for (let e = 0; e < nNets; e++) {
    for (let p = nl.netStart[e]!; p < nl.netStart[e + 1]!; p++) {
      const o = owner(nl.netPins[p]!);
      if (last[o] !== e) { last[o] = e; start[o + 1]!++; }
    }
  }
  for (let i = 0; i < n; i++) start[i + 1]! += start[i]!;
  const nets = new Int32Array(start[n]!);
  const fill = Int32Array.from(start.subarray(0, n));
  last.fill(-1);
  for (let e = 0; e < nNets; e++) {
    for (let p = nl.netStart[e]!; p < nl.netStart[e + 1]!; p++) {
      const o = owner(nl.netPins[p]!);
      if (last[o] !== e) { last[o] = e; nets[fill[o]!++] = e; }
    }
  }
  return { start, nets };
}

/** Pins of each macro, CSR. */
export function pinsOfMacros(nl: Netlist): { start: Int32Array; pins: Int32Array } {
  const n = nl.names.length;
  const start = new Int32Array(n + 1);
  for (let v = 0; v < n; v++) if (nl.pinMacro[v]! >= 0) start[nl.pinMacro[v]! + 1]!++;
  for (let i = 0; i < n; i++) start[i + 1]! += start[i]!;
  const pins = new Int32Array(start[n]!);
  const fill = Int32Array.from(start.subarray(0, n));
  for (let v = 0; v < n; v++) if (nl.pinMacro[v]! >= 0) pins[fill[nl.pinMacro[v]!]!++] = v;
  return { start, pins };
}

export class ProxyCostEvaluator {
  readonly nl: Netlist;
  readonly s: CostSettings;
  readonly px: Float64Array;
  readonly py: Float64Array;
  readonly density: Float64Array;
  readonly hCong: Float64Array;
  readonly vCong: Float64Array;
  /** Raw routing demand (before normalisation and smoothing) and macro blockage, per cell. */
  protected readonly hRaw: Float64Array;
  protected readonly vRaw: Float64Array;
  protected readonly hMacro: Float64Array;
  protected readonly vMacro: Float64Array;
  private readonly tmp: Float64Array;
  protected readonly stamp: Int32Array;
  private routeTag = 0;
  protected readonly cellBuf: Int32Array;
  private readonly cat: Float64Array;
  private readonly sortedDensity: Float64Array;
  protected readonly gw: number;
  protected readonly gh: number;

  constructor(nl: Netlist, s: CostSettings) {
    if (!(s.width > 0 && s.height > 0 && s.columns >= 1 && s.rows >= 1))
      throw new SelfoptError(`canvas ${s.width} x ${s.height}, grid ${s.columns} x ${s.rows}`, 'cost settings', 'a positive canvas and grid');
    this.nl = nl;
    this.s = s;
    const n = nl.names.length;
    const cells = s.columns * s.rows;
    this.px = new Float64Array(n);
    this.py = new Float64Array(n);
    this.density = new Float64Array(cells);
    this.hCong = new Float64Array(cells);
    this.vCong = new Float64Array(cells);
    this.hRaw = new Float64Array(cells);
    this.vRaw = new Float64Array(cells);
    this.sortedDensity = new Float64Array(cells);
    this.hMacro = new Float64Array(cells);
    this.vMacro = new Float64Array(cells);
    this.tmp = new Float64Array(cells);
    this.stamp = new Int32Array(cells).fill(-1);
    let maxDeg = 0;
    for (let e = 0; e + 1 < nl.netStart.length; e++) maxDeg = Math.max(maxDeg, nl.netStart[e + 1]! - nl.netStart[e]!);
    this.cellBuf = new Int32Array(Math.max(maxDeg, 3));
    this.cat = new Float64Array(2 * cells);
    this.gw = s.width / s.columns;
    this.gh = s.height / s.rows;
  }

  /** Fills px/py with every node's position under `pl` (pins from their macro). */
  positions(pl: Placement): void {
    nodePositions(this.nl, pl, this.px, this.py);
  }

  /** Σ w · HPWL over nets at the current positions. */
  hpwl(): number {
    const { nl, px, py } = this;
    const st = nl.netStart, pins = nl.netPins, wt = nl.netWeight;
    let total = 0;
    for (let e = 0, ne = st.length - 1; e < ne; e++) {
      let p = st[e]!;
      const end = st[e + 1]!;
      let v = pins[p]!;
      let x0 = px[v]!, x1 = x0, y0 = py[v]!, y1 = y0;
      for (p++; p < end; p++) {
        v = pins[p]!;
        const x = px[v]!, y = py[v]!;
        if (x < x0) x0 = x; else if (x > x1) x1 = x;
        if (y < y0) y0 = y; else if (y > y1) y1 = y;
      }
      total += wt[e]! * (x1 - x0 + (y1 - y0));
    }
    return total;
  }

  /**
   * A net with a pin outside the grid: 'drop' = not routed (reproduces the congestion written in
   * Ariane133 initial.plc, where 27 macros sit above the canvas: 0.71278 vs 0.7128; clamping
   * the pin into the border cell gives 0.7157); 'clamp' = routed to the nearest border cell.
   */
  outside: 'drop' | 'clamp' = 'drop';

  protected cellOf(x: number, y: number): number {
    const { s } = this;
    let r = Math.floor(y / this.gh), c = Math.floor(x / this.gw);
    // The canvas is closed: a pin on its right or top edge (a port on the boundary) is in the last
    // column or row, not outside it (floor(W / cell width) = columns dropped every such port's net).
    if (c === s.columns && x <= s.width) c = s.columns - 1;
    if (r === s.rows && y <= s.height) r = s.rows - 1;
    if (this.outside === 'drop' && (r < 0 || r >= s.rows || c < 0 || c >= s.columns)) return -1;
    if (r < 0) r = 0; else if (r >= s.rows) r = s.rows - 1;
    if (c < 0) c = 0; else if (c >= s.columns) c = s.columns - 1;
    return r * s.columns + c;
  }

  /** Node i's rectangle and the grid cells it covers, clipped to the grid (filled by coverOf). */
  private readonly cover = { xl: 0, xh: 0, yl: 0, yh: 0, r0: 0, c0: 0, r1: 0, c1: 0 };

  /**
   * Fills `cover` for node i at its placed position; false when the rectangle lies wholly below
   * or left of the grid (it covers no cell). Density and macro blockage both spread a rectangle
   * over the cells it covers, so they share this clipping.
   */
  private coverOf(i: number, pl: Placement): boolean {
    const { nl, s, gw, gh, cover } = this;
    const hw = nl.w[i]! / 2, hh = nl.h[i]! / 2;
    cover.xl = pl.x[i]! - hw; cover.xh = pl.x[i]! + hw; cover.yl = pl.y[i]! - hh; cover.yh = pl.y[i]! + hh;
    const r1 = Math.floor(cover.yh / gh), c1 = Math.floor(cover.xh / gw);
    if (r1 < 0 || c1 < 0) return false;
    cover.r0 = Math.max(0, Math.floor(cover.yl / gh));
    cover.c0 = Math.max(0, Math.floor(cover.xl / gw));
    cover.r1 = Math.min(s.rows - 1, r1);
    cover.c1 = Math.min(s.columns - 1, c1);
    return true;
  }

  /** Adds sign x node i's overlap area with each cell to `area` (µm², not yet divided by the cell area). */
  protected spreadArea(i: number, pl: Placement, sign: number, area: Float64Array): void {
    const { s, gw, gh } = this;
    if (!this.coverOf(i, pl)) return;
    const { xl, xh, yl, yh, r0, c0, r1, c1 } = this.cover;
    for (let r = r0; r <= r1; r++) {
      const oy = Math.min(yh, (r + 1) * gh) - Math.max(yl, r * gh);
      if (oy < 0) continue;
      for (let c = c0; c <= c1; c++) {
        const ox = Math.min(xh, (c + 1) * gw) - Math.max(xl, c * gw);
        if (ox >= 0) area[r * s.columns + c]! += sign * (ox * oy);
      }
    }
  }

  /** Density cost of the map `density` (already divided by the cell area). */
  protected densityOfMap(): number {
    const { density } = this;
    const cells = density.length;
    const sorted = this.sortedDensity;
    sorted.set(density);
    sorted.sort();
    if (cells < 10) {
      let sum = 0, cnt = 0;
      for (let j = cells - 1; j >= 0; j--) if (sorted[j] !== 0) { sum += sorted[j]!; cnt++; }
      return cnt === 0 ? 0 : 0.5 * (sum / cnt);
    }
    const k = Math.floor(0.1 * cells);
    let sum = 0;
    for (let j = 0; j < k; j++) sum += sorted[cells - 1 - j]!;
    return 0.5 * (sum / k);
  }

  /** Density map (overlap area / cell area) and the density cost. */
  densityCost(pl: Placement): number {
    const { nl, density, gw, gh } = this;
    density.fill(0);
    for (const i of nl.softMacros) this.spreadArea(i, pl, 1, density);
    for (const i of nl.hardMacros) this.spreadArea(i, pl, 1, density);
    const area = gw * gh;
    for (let k = 0; k < density.length; k++) density[k]! /= area;
    return this.densityOfMap();
  }

  private hRun(row: number, c0: number, c1: number, w: number): void {
    const base = row * this.s.columns;
    for (let c = c0; c < c1; c++) this.hRaw[base + c]! += w;
  }

  private vRun(col: number, r0: number, r1: number, w: number): void {
    const cols = this.s.columns;
    for (let r = r0; r < r1; r++) this.vRaw[r * cols + col]! += w;
  }

  /** 2-cell route: horizontal along the source row, vertical along the sink column. */
  private twoPin(src: number, snk: number, w: number): void {
    const cols = this.s.columns;
    const rs = Math.floor(src / cols), cs = src - rs * cols, rt = Math.floor(snk / cols), ct = snk - rt * cols;
    this.hRun(rs, Math.min(cs, ct), Math.max(cs, ct), w);
    this.vRun(ct, Math.min(rs, rt), Math.max(rs, rt), w);
  }

  private threePin(a: number, b: number, c: number, w: number): void {
    const cols = this.s.columns;
    // Sorted by column then row (cell index g = row·cols + col; sort keys as col·rows + row).
    const rows = this.s.rows;
    const ka = (a % cols) * rows + Math.floor(a / cols), kb = (b % cols) * rows + Math.floor(b / cols), kc = (c % cols) * rows + Math.floor(c / cols);
    let p = a, q = b, r = c, kp = ka, kq = kb, kr = kc, t = 0;
    if (kp > kq) { t = p; p = q; q = t; t = kp; kp = kq; kq = t; }
    if (kq > kr) { t = q; q = r; r = t; t = kq; kq = kr; kr = t; }
    if (kp > kq) { t = p; p = q; q = t; t = kp; kp = kq; kq = t; }
    const y1 = Math.floor(p / cols), x1 = p - y1 * cols, y2 = Math.floor(q / cols), x2 = q - y2 * cols, y3 = Math.floor(r / cols), x3 = r - y3 * cols;
    if (x1 < x2 && x2 < x3 && Math.min(y1, y3) < y2 && Math.max(y1, y3) > y2) {
      // L routing
      this.hRun(y1, x1, x2, w);
      this.hRun(y2, x2, x3, w);
      this.vRun(x2, Math.min(y1, y2), Math.max(y1, y2), w);
      this.vRun(x3, Math.min(y2, y3), Math.max(y2, y3), w);
      return;
    }
    if (x2 === x3 && x1 < x2 && y1 < Math.min(y2, y3)) {
      this.hRun(y1, x1, x2, w);
      this.vRun(x2, y1, Math.max(y2, y3), w);
      return;
    }
    if (y2 === y3) {
      this.hRun(y1, x1, x2, w);
      this.hRun(y2, x2, x3, w);
      this.vRun(x2, Math.min(y1, y2), Math.max(y1, y2), w);
      return;
    }
    // T routing: sorted by row then column (= by cell index); trunk along the middle row
    p = a; q = b; r = c;
    if (p > q) { t = p; p = q; q = t; }
    if (q > r) { t = q; q = r; r = t; }
    if (p > q) { t = p; p = q; q = t; }
    const r1 = Math.floor(p / cols), k1 = p - r1 * cols, r2 = Math.floor(q / cols), r3 = Math.floor(r / cols), k3 = r - r3 * cols;
    const xmin = Math.min(x1, x2, x3), xmax = Math.max(x1, x2, x3);
    this.hRun(r2, xmin, xmax, w);
    this.vRun(k1, Math.min(r1, r2), Math.max(r1, r2), w);
    this.vRun(k3, Math.min(r2, r3), Math.max(r2, r3), w);
  }

  /**
   * Adds sign x net e's routing demand to hRaw/vRaw at the current positions px/py, counting only
   * pins whose `present` flag is set (all, when `present` is undefined).
   */
  protected routeNet(e: number, sign: number, present?: Uint8Array): void {
    const { nl, stamp, cellBuf, px, py } = this;
    const st = nl.netStart, pins = nl.netPins;
    const wNet = nl.netWeight[e]!;
    const w = sign * (wNet > 1 ? wNet : 1);
    let m = 0;
    // A fresh tag per routed net: incremental callers route the same net many times.
    if (this.routeTag >= 0x3fffffff) { stamp.fill(-1); this.routeTag = 0; }
    const tag = ++this.routeTag;
    for (let p = st[e]!, end = st[e + 1]!; p < end; p++) {
      const v = pins[p]!;
      if (present !== undefined && present[v] === 0) continue;
      const g = this.cellOf(px[v]!, py[v]!);
      if (g < 0) return;
      if (stamp[g] !== tag) { stamp[g] = tag; cellBuf[m++] = g; }
    }
    const src = cellBuf[0]!;
    if (m === 2) this.twoPin(src, cellBuf[1]!, w);
    else if (m === 3) this.threePin(cellBuf[0]!, cellBuf[1]!, cellBuf[2]!, w);
    else if (m > 3) for (let j = 1; j < m; j++) this.twoPin(src, cellBuf[j]!, w);
  }

  /** Adds sign x hard macro i's routing blockage to hMacro/vMacro. */
  protected macroBlockage(i: number, pl: Placement, sign = 1): void {
    const { s, gw, gh } = this;
    if (!this.coverOf(i, pl)) return;
    const { xl, xh, yl, yh, r0, c0, r1, c1 } = this.cover;
    const va = sign * s.vroutingAlloc, ha = sign * s.hroutingAlloc;
    let partialV = false, partialH = false;
    for (let r = r0; r <= r1; r++) {
      const oy0 = Math.min(yh, (r + 1) * gh) - Math.max(yl, r * gh);
      for (let c = c0; c <= c1; c++) {
        const ox0 = Math.min(xh, (c + 1) * gw) - Math.max(xl, c * gw);
        const inside = ox0 > 0 && oy0 > 0;
        const ox = inside ? ox0 : 0, oy = inside ? oy0 : 0;
        if (r1 !== r0 && ((r === r0 && Math.abs(oy - gh) > 1e-5) || (r === r1 && Math.abs(oy - gh) > 1e-5))) partialV = true;
        if (c1 !== c0 && ((c === c0 && Math.abs(ox - gw) > 1e-5) || (c === c1 && Math.abs(ox - gw) > 1e-5))) partialH = true;
        this.vMacro[r * s.columns + c]! += ox * va;
        this.hMacro[r * s.columns + c]! += oy * ha;
      }
    }
    if (partialV) {
      const oy = Math.min(yh, (r1 + 1) * gh) - Math.max(yl, r1 * gh);
      for (let c = c0; c <= c1; c++) {
        const ox = Math.min(xh, (c + 1) * gw) - Math.max(xl, c * gw);
        if (ox > 0 && oy > 0) this.vMacro[r1 * s.columns + c]! -= ox * va;
      }
    }
    if (partialH) {
      const ox = Math.min(xh, (c1 + 1) * gw) - Math.max(xl, c1 * gw);
      for (let r = r0; r <= r1; r++) {
        const oy = Math.min(yh, (r + 1) * gh) - Math.max(yl, r * gh);
        if (ox > 0 && oy > 0) this.hMacro[r * s.columns + c1]! -= oy * ha;
      }
    }
  }

  /** True when the settings carry routing capacity (a .plc without the routes header has none). */
  protected hasRouting(): boolean {
    return this.s.hroutesPerMicron > 0 && this.s.vroutesPerMicron > 0;
  }

  /** Normalises and smooths hRaw/vRaw, adds the blockage, fills vCong/hCong and returns the congestion cost. */
  protected congestionOfMaps(): number {
    const { s, hCong, vCong, hRaw, vRaw } = this;
    const vRoutes = this.gw * s.vroutesPerMicron, hRoutes = this.gh * s.hroutesPerMicron;
    const cells = hCong.length, cols = s.columns, rows = s.rows, k = s.smoothRange;
    // smoothing: V along the row, H along the column
    const tmp = this.tmp;
    tmp.fill(0);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const lo = Math.max(0, c - k), hi = Math.min(cols - 1, c + k);
        const val = vRaw[r * cols + c]! / vRoutes / (hi - lo + 1);
        for (let q = lo; q <= hi; q++) tmp[r * cols + q]! += val;
      }
    }
    for (let g = 0; g < cells; g++) vCong[g] = tmp[g]! + this.vMacro[g]! / vRoutes;
    tmp.fill(0);
    for (let r = 0; r < rows; r++) {
      const lo = Math.max(0, r - k), hi = Math.min(rows - 1, r + k);
      for (let c = 0; c < cols; c++) {
        const val = hRaw[r * cols + c]! / hRoutes / (hi - lo + 1);
        for (let q = lo; q <= hi; q++) tmp[q * cols + c]! += val;
      }
    }
    for (let g = 0; g < cells; g++) hCong[g] = tmp[g]! + this.hMacro[g]! / hRoutes;
    const cat = this.cat;
    cat.set(vCong, 0);
    cat.set(hCong, cells);
    cat.sort();
    const n = cat.length;
    const cnt = Math.floor(n * 0.05);
    if (cnt === 0) return cat[n - 1]!;
    let sum = 0;
    for (let j = 0; j < cnt; j++) sum += cat[n - 1 - j]!;
    return sum / cnt;
  }

  /** Routing congestion maps (vCong, hCong) and the congestion cost, at the current positions. */
  congestionCost(pl: Placement): number {
    const { nl } = this;
    this.hCong.fill(0); this.vCong.fill(0); this.hRaw.fill(0); this.vRaw.fill(0); this.hMacro.fill(0); this.vMacro.fill(0);
    if (!this.hasRouting()) return 0;
    for (let e = 0, ne = nl.netStart.length - 1; e < ne; e++) this.routeNet(e, 1);
    for (const i of nl.hardMacros) this.macroBlockage(i, pl);
    return this.congestionOfMaps();
  }
  evaluate(pl: Placement, weights: { density: number; congestion: number } = { density: 0.5, congestion: 0.5 }): ProxyCost {
    this.positions(pl);
    const wirelength = this.hpwl();
    const wirelengthCost = wirelength / ((this.s.width + this.s.height) * this.nl.totalNetWeight);
    const densityCost = this.densityCost(pl);
    const congestionCost = this.congestionCost(pl);
    return { wirelength, wirelengthCost, densityCost, congestionCost, proxy: wirelengthCost + weights.density * densityCost + weights.congestion * congestionCost };
  }
}

/**
 * Hard macros' total pairwise overlap area, the macros leaving the canvas and those overlapping a
 * blockage of the .plc header (each a list of node indices); legal when all three are empty.
 */
export function legality(nl: Netlist, pl: Placement, s: Pick<CostSettings, 'width' | 'height'> & { blockages?: readonly Blockage[] }): { legal: boolean; overlapArea: number; outside: number[]; blocked: number[] } {
  const ms = nl.hardMacros;
  let overlap = 0;
  const outside: number[] = [];
  const blocked: number[] = [];
  for (let a = 0; a < ms.length; a++) {
    const i = ms[a]!;
    const ax0 = pl.x[i]! - nl.w[i]! / 2, ax1 = pl.x[i]! + nl.w[i]! / 2, ay0 = pl.y[i]! - nl.h[i]! / 2, ay1 = pl.y[i]! + nl.h[i]! / 2;
    if (ax0 < -1e-9 || ay0 < -1e-9 || ax1 > s.width + 1e-9 || ay1 > s.height + 1e-9) outside.push(i);
    if ((s.blockages ?? []).some((b) => Math.min(ax1, b.xh) - Math.max(ax0, b.xl) > 1e-9 && Math.min(ay1, b.yh) - Math.max(ay0, b.yl) > 1e-9)) blocked.push(i);
    for (let b = a + 1; b < ms.length; b++) {
      const j = ms[b]!;
      const ox = Math.min(ax1, pl.x[j]! + nl.w[j]! / 2) - Math.max(ax0, pl.x[j]! - nl.w[j]! / 2);
      const oy = Math.min(ay1, pl.y[j]! + nl.h[j]! / 2) - Math.max(ay0, pl.y[j]! - nl.h[j]! / 2);
      if (ox > 0 && oy > 0) overlap += ox * oy;
    }
  }
  return { legal: overlap === 0 && outside.length === 0 && blocked.length === 0, overlapArea: overlap, outside, blocked };
}

