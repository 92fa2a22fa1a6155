/**
 * Incremental proxy cost for placers that move one or two macros at a time (simulated annealing,
 * greedy placement, the RL environment). It keeps every map of the full evaluator (ProxyCostEvaluator)
 * as running sums: each net's weighted HPWL, the raw routing demand, the macros' routing blockage and
 * the area each cell holds. Moving a macro removes the contributions of the nets touching it and of
 * its own rectangle, moves it (and its pins), and adds them back; then only the O(cells) steps
 * (normalising, smoothing, the top-k of density and congestion) are redone. The result equals a full
 * evaluation of the same placement to rounding (tested to 1e-9).
 *
 * A hard macro can be made absent (`setPresent(i, false)`): it then adds no area and no blockage, and
 * its pins are left out of every net's bounding box and route. The greedy and RL placers place macros
 * one by one and score a partial placement this way. With every macro present the cost is the full one.
 */
import { SelfoptError } from '../../core/errors.js';
import { HARD_MACRO, type Netlist } from './netlist.js';
import type { Placement } from './plc.js';
import { netsOfNodes, pinsOfMacros, ProxyCostEvaluator, ORIENT_XX, ORIENT_XY, ORIENT_YX, ORIENT_YY, type CostSettings, type ProxyCost } from './cost.js';

export interface CostWeights {
  density: number;
  congestion: number;
}

export class IncrementalCost extends ProxyCostEvaluator {
  /** The evaluator's own copy of the placement; change it only through move/swap/setPresent. */
  readonly pl: Placement;
  readonly weights: CostWeights;
  /** Per node: 1 = counted. Pins follow their macro. */
  readonly present: Uint8Array;
  private readonly netHpwl: Float64Array;
  private readonly area: Float64Array;
  /** Nets touching each node (a macro: the nets of its pins and its own), CSR. */
  private readonly nodeNetStart: Int32Array;
  private readonly nodeNets: Int32Array;
  /** Pins of each macro, CSR. */
  private readonly pinStart: Int32Array;
  private readonly pinList: Int32Array;
  private readonly netMark: Int32Array;
  private mark = 0;
  private readonly touched: Int32Array;
  private nTouched = 0;
  private readonly cellArea: number;
  private readonly routing: boolean;
  private readonly normWl: number;

  constructor(nl: Netlist, s: CostSettings, pl: Placement, weights: CostWeights = { density: 0.5, congestion: 0.5 }) {
    super(nl, s);
    const n = nl.names.length;
    const nNets = nl.netStart.length - 1;
    this.pl = { x: Float64Array.from(pl.x), y: Float64Array.from(pl.y), orient: Uint8Array.from(pl.orient), fixed: Uint8Array.from(pl.fixed) };
    this.weights = weights;
    this.present = new Uint8Array(n).fill(1);
    this.netHpwl = new Float64Array(nNets);
    this.area = new Float64Array(s.columns * s.rows);
    this.cellArea = (s.width / s.columns) * (s.height / s.rows);
    this.routing = this.hasRouting();
    this.normWl = (s.width + s.height) * nl.totalNetWeight;
    const byNode = netsOfNodes(nl, true);
    this.nodeNetStart = byNode.start;
    this.nodeNets = byNode.nets;
    const pins = pinsOfMacros(nl);
    this.pinStart = pins.start;
    this.pinList = pins.pins;
    this.netMark = new Int32Array(nNets);
    this.touched = new Int32Array(nNets);
    this.rebuild();
  }

  /** Recomputes every running sum from the placement (also clears accumulated rounding). */
  rebuild(): void {
    const { nl } = this;
    this.positions(this.pl);
    for (let e = 0; e < this.netHpwl.length; e++) this.netHpwl[e] = this.netCost(e);
    this.area.fill(0);
    this.hRaw.fill(0); this.vRaw.fill(0); this.hMacro.fill(0); this.vMacro.fill(0);
    for (const i of nl.softMacros) if (this.present[i]) this.spreadArea(i, this.pl, 1, this.area);
    for (const i of nl.hardMacros) if (this.present[i]) this.spreadArea(i, this.pl, 1, this.area);
    if (this.routing) {
      for (let e = 0; e < this.netHpwl.length; e++) this.routeNet(e, 1, this.present);
      for (const i of nl.hardMacros) if (this.present[i]) this.macroBlockage(i, this.pl, 1);
    }
  }

  /** Weighted HPWL of net e over its present pins. */
  private netCost(e: number): number {
    const { nl, px, py, present } = this;
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (let p = nl.netStart[e]!, end = nl.netStart[e + 1]!; p < end; p++) {
      const v = nl.netPins[p]!;
      if (present[v] === 0) continue;
      const x = px[v]!, y = py[v]!;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
    return x1 >= x0 ? nl.netWeight[e]! * (x1 - x0 + (y1 - y0)) : 0;
  }

  /** Positions of macro i's own centre and its pins from pl. */
  private placeNode(i: number): void {
    const { nl, pl, px, py } = this;
    px[i] = pl.x[i]!;
    py[i] = pl.y[i]!;
    const o = pl.orient[i]!;
    for (let k = this.pinStart[i]!, end = this.pinStart[i + 1]!; k < end; k++) {
      const v = this.pinList[k]!;
      const dx = nl.pinDx[v]!, dy = nl.pinDy[v]!;
      px[v] = pl.x[i]! + ORIENT_XX[o]! * dx + ORIENT_XY[o]! * dy;
      py[v] = pl.y[i]! + ORIENT_YX[o]! * dx + ORIENT_YY[o]! * dy;
    }
  }

  private collect(i: number): void {
    for (let k = this.nodeNetStart[i]!, end = this.nodeNetStart[i + 1]!; k < end; k++) {
      const e = this.nodeNets[k]!;
      if (this.netMark[e] !== this.mark) { this.netMark[e] = this.mark; this.touched[this.nTouched++] = e; }
    }
  }

  /** Removes (sign -1) or adds (+1) the touched nets and the rectangles of macros a, b (b may be -1). */
  private contribution(a: number, b: number, sign: number): void {
    const { present } = this;
    for (let t = 0; t < this.nTouched; t++) {
      const e = this.touched[t]!;
      if (sign > 0) this.netHpwl[e] = this.netCost(e);
      if (this.routing) this.routeNet(e, sign, present);
    }
    this.rectangle(a, sign);
    if (b >= 0) this.rectangle(b, sign);
  }

  private rectangle(i: number, sign: number): void {
    if (!this.present[i]) return;
    this.spreadArea(i, this.pl, sign, this.area);
    if (this.routing && this.nl.kind[i] === HARD_MACRO) this.macroBlockage(i, this.pl, sign);
  }

  private begin(a: number, b: number): void {
    this.mark++;
    this.nTouched = 0;
    this.collect(a);
    if (b >= 0) this.collect(b);
    this.contribution(a, b, -1);
  }

  private end(a: number, b: number): void {
    this.placeNode(a);
    if (b >= 0) this.placeNode(b);
    this.contribution(a, b, 1);
  }

  /** Moves node i (a macro) to centre (x, y) with orientation code o. */
  move(i: number, x: number, y: number, o: number): void {
    this.begin(i, -1);
    this.pl.x[i] = x;
    this.pl.y[i] = y;
    this.pl.orient[i] = o;
    this.end(i, -1);
  }

  /** Exchanges the centres of macros i and j (orientations stay with their macros). */
  swap(i: number, j: number): void {
    this.begin(i, j);
    const { pl } = this;
    const x = pl.x[i]!, y = pl.y[i]!;
    pl.x[i] = pl.x[j]!; pl.y[i] = pl.y[j]!;
    pl.x[j] = x; pl.y[j] = y;
    this.end(i, j);
  }

  /** Counts macro i (and its pins) in the cost, or leaves it out. */
  setPresent(i: number, on: boolean): void {
    if (this.nl.pinMacro[i]! >= 0) throw new SelfoptError(`node ${i} is a pin`, 'IncrementalCost.setPresent', 'a macro');
    if ((this.present[i] === 1) === on) return;
    this.begin(i, -1);
    const f = on ? 1 : 0;
    this.present[i] = f;
    for (let k = this.pinStart[i]!, end = this.pinStart[i + 1]!; k < end; k++) this.present[this.pinList[k]!] = f;
    this.end(i, -1);
  }

  /** Σ w · HPWL over nets (present pins only). */
  wirelength(): number {
    let total = 0;
    for (let e = 0; e < this.netHpwl.length; e++) total += this.netHpwl[e]!;
    return total;
  }

  /** The proxy cost of the current placement. */
  cost(): ProxyCost {
    const wirelength = this.wirelength();
    const wirelengthCost = wirelength / this.normWl;
    for (let g = 0; g < this.area.length; g++) this.density[g] = this.area[g]! / this.cellArea;
    const densityCost = this.densityOfMap();
    const congestionCost = this.routing ? this.congestionOfMaps() : 0;
    const w = this.weights;
    return { wirelength, wirelengthCost, densityCost, congestionCost, proxy: wirelengthCost + w.density * densityCost + w.congestion * congestionCost };
  }

  /** A full evaluation of another placement shares the maps, so the running sums are rebuilt after it. */
  override evaluate(pl: Placement, weights?: CostWeights): ProxyCost {
    const c = super.evaluate(pl, weights);
    this.rebuild();
    return c;
  }

  /** Just the proxy number (what SA compares). */
  proxy(): number {
    return this.cost().proxy;
  }
}
