/**
 * The sequential macro placement environment of Circuit Training (Mirhoseini et al. 2021), for PPO:
 * an episode places the hard macros one by one in CT's order (area, largest first); an action is a
 * grid cell (the macro's centre goes to its centre), masked to the cells where the macro fits inside
 * the canvas without overlapping a placed macro. Clusters are placed by force-directed placement
 * before the first macro (so wirelength through them is visible) and again around the placed macros
 * at the end. Reward: 0 per step, −proxy cost × rewardScale at the end (CT's reward). A macro with no
 * legal cell is put on the nearest legal spot of a finer lattice without asking the policy; with none
 * it stays at the canvas centre, and the last step's `info.legal` is false.
 *
 * Observation (structured-cloneable, small): the instance spec (the policy builds and caches the
 * netlist graph from it), the node row of the macro to place, per-cell features, and a few globals.
 * Cell features, per cell: placed-hard-macro area fraction, cluster density, legal for this macro,
 * normalised wirelength of this macro's nets if it went there (0 best, 1 worst legal), x, y.
 */
import { Env, type ResetResult, type StepResult } from '../../core/env.js';
import { MaskedDiscrete, type Space } from '../../core/spaces.js';
import { Rng } from '../../core/rng.js';
import { SelfoptError } from '../../core/errors.js';
import { generateInstance, loadNetlistFiles, startPlacement, type ChipInstance } from './instances.js';
import { legality, netsOfNodes, nodePositions, ProxyCostEvaluator } from './cost.js';
import { ForceDirected, FD_DEFAULTS } from './force-directed.js';
import { MacroLayout } from './sites.js';
import { placementOrder } from './heuristics.js';
import type { Placement } from './plc.js';

/** A generated instance by id, or one read from files (a listed real netlist, a user's) by id and paths. */
export interface InstanceSpec {
  id: string;
  netlist?: string;
  plc?: string;
}

const loaded = new Map<string, ChipInstance>();
/** Instances kept loaded per thread (oldest forgotten first; an env keeps its own). */
const MAX_LOADED = 32;

/** Loads (once per thread) the instance a spec names; the env and the policy share it. */
export function loadSpec(spec: InstanceSpec): ChipInstance {
  const key = `${spec.id}\0${spec.netlist ?? ''}`;
  let inst = loaded.get(key);
  if (!inst) {
    if (spec.netlist) {
      if (!spec.plc) throw new SelfoptError(`instance spec ${JSON.stringify(spec)}`, 'chip RL env', 'a netlist with its plc path');
      inst = loadNetlistFiles(spec.id, { netlist: spec.netlist, plc: spec.plc, references: {} });
    } else inst = generateInstance(spec.id);
    loaded.set(key, inst);
    // A trainer names a few instances; a server's clients may name any number (src/server/chip-env.ts).
    if (loaded.size > MAX_LOADED) loaded.delete(loaded.keys().next().value!);
  }
  return inst;
}

export const CELL_FEATURES = 6;
export const GLOBAL_FEATURES = 3;

export interface PlacementObs {
  spec: InstanceSpec;
  /** Node index of the macro to place now. */
  current: number;
  /** Grid cells (columns × rows) of this instance; the action space may be larger (padding). */
  cells: number;
  cellFeat: Float32Array;
  global: Float32Array;
}

export interface PlacementEnvOptions {
  /** The instances episodes draw from (uniformly, by the env's rng at reset). */
  instances: InstanceSpec[];
  /** Size of the action space: at least the largest grid's cell count. */
  maxCells: number;
  /** FD rounds for the clusters at the end of an episode. */
  fdRounds?: number;
  rewardScale?: number;
}

/** The observations PlacementPolicy reads (sizes checked; sampling is not meaningful here). */
export class PlacementObsSpace implements Space<PlacementObs> {
  readonly kind = 'ChipPlacementObs';
  constructor(readonly maxCells: number) {}
  contains(x: unknown): x is PlacementObs {
    const o = x as PlacementObs;
    return !!o && typeof o.current === 'number' && o.cellFeat instanceof Float32Array && o.cellFeat.length === o.cells * CELL_FEATURES && o.cells <= this.maxCells && o.global instanceof Float32Array && o.global.length === GLOBAL_FEATURES;
  }
  sample(): PlacementObs {
    throw new SelfoptError('sampling a placement observation', 'PlacementObsSpace', 'observations from PlacementEnv');
  }
  toJSON() {
    return { kind: this.kind, maxCells: this.maxCells, cellFeatures: CELL_FEATURES, globalFeatures: GLOBAL_FEATURES };
  }
}

interface Prepared {
  inst: ChipInstance;
  order: Int32Array;
  start: Placement;
  layout: MacroLayout;
  fd: ForceDirected;
  ev: ProxyCostEvaluator;
  nets: { start: Int32Array; nets: Int32Array };
  softDensity: Float32Array;
}

export class PlacementEnv extends Env<PlacementObs, number> {
  readonly observationSpace: Space<PlacementObs>;
  readonly actionSpace: MaskedDiscrete;
  private readonly opts: Required<PlacementEnvOptions>;
  private readonly prepared = new Map<string, Prepared>();
  private cur!: Prepared;
  private pl!: Placement;
  private t = 0;
  private px = new Float64Array(0);
  private py = new Float64Array(0);
  private hardArea = new Float64Array(0);
  /** The last finished episode's placement (for the solver). */
  lastPlacement: Placement | undefined;

  constructor(options: PlacementEnvOptions | Record<string, unknown>) {
    super();
    const o = options as PlacementEnvOptions;
    if (!Array.isArray(o.instances) || o.instances.length === 0) throw new SelfoptError('no instances', 'PlacementEnv options', 'instances: [{id, netlist?, plc?}, ...]');
    this.opts = { fdRounds: FD_DEFAULTS.rounds, rewardScale: 1, ...o };
    this.actionSpace = new MaskedDiscrete(this.opts.maxCells);
    this.observationSpace = new PlacementObsSpace(this.opts.maxCells);
  }

  private prepare(spec: InstanceSpec): Prepared {
    const key = `${spec.id}\0${spec.netlist ?? ''}`;
    let p = this.prepared.get(key);
    if (p) return p;
    const inst = loadSpec(spec);
    const cells = inst.settings.columns * inst.settings.rows;
    if (cells > this.opts.maxCells) throw new SelfoptError(`instance ${spec.id} has ${cells} grid cells`, 'PlacementEnv', `maxCells >= ${cells}`);
    const start = startPlacement(inst.nl, inst.settings);
    const fd = new ForceDirected(inst.nl, inst.settings);
    // clusters before any macro: a fixed seed, so every episode starts alike
    fd.place(start, new Rng(0), FD_DEFAULTS, new Uint8Array(inst.nl.names.length));
    const ev = new ProxyCostEvaluator(inst.nl, inst.settings);
    ev.densityCost({ ...start, x: start.x.map((v, i) => (inst.nl.kind[i] === 0 ? -1e9 : v)) });
    const softDensity = Float32Array.from(ev.density);
    p = { inst, order: placementOrder(inst), start, layout: new MacroLayout(inst.nl, inst.settings), fd, ev, nets: netsOfNodes(inst.nl, true), softDensity };
    this.prepared.set(key, p);
    return p;
  }

  protected doReset(): ResetResult<PlacementObs> {
    const spec = this.opts.instances[this.rng.int(this.opts.instances.length)]!;
    this.cur = this.prepare(spec);
    const { inst, start, layout } = this.cur;
    this.pl = { x: Float64Array.from(start.x), y: Float64Array.from(start.y), orient: Uint8Array.from(start.orient), fixed: Uint8Array.from(start.fixed) };
    layout.placed.fill(0);
    this.t = 0;
    if (this.px.length < inst.nl.names.length) { this.px = new Float64Array(inst.nl.names.length); this.py = new Float64Array(inst.nl.names.length); }
    this.hardArea = new Float64Array(layout.cells);
    this.advance();
    if (this.t >= this.cur.order.length) throw new SelfoptError(`instance ${inst.id}: no macro has a legal cell`, 'PlacementEnv.reset', 'a canvas with room for the macros');
    return { obs: this.observe(), info: { actionMask: this.actionSpace.mask } };
  }

  /** Skips (and places on the fallback lattice) macros that have no legal cell; sets the mask. */
  private advance(): void {
    const { order, layout } = this.cur;
    const mask = new Uint8Array(this.opts.maxCells);
    while (this.t < order.length) {
      const k = layout.slot[order[this.t]!]!;
      let any = false;
      for (let g = 0; g < layout.cells; g++) if (layout.fits(k, layout.cellX(g), layout.cellY(g))) { mask[g] = 1; any = true; }
      if (any) { this.actionSpace.setMask(mask); return; }
      const spot = layout.fallbackSpot(k);
      if (spot) this.put(k, spot[0], spot[1]);
      this.t++;
    }
    this.actionSpace.setMask(mask.fill(1));
  }

  private put(k: number, x: number, y: number): void {
    const { layout, inst } = this.cur;
    const m = layout.macros[k]!;
    this.pl.x[m] = x; this.pl.y[m] = y;
    layout.x[k] = x; layout.y[k] = y; layout.placed[k] = 1;
    const s = inst.settings, gw = layout.gw, gh = layout.gh;
    const hw = inst.nl.w[m]! / 2, hh = inst.nl.h[m]! / 2;
    for (let g = 0; g < layout.cells; g++) {
      const c = g % s.columns, r = Math.floor(g / s.columns);
      const ox = Math.min(x + hw, (c + 1) * gw) - Math.max(x - hw, c * gw), oy = Math.min(y + hh, (r + 1) * gh) - Math.max(y - hh, r * gh);
      if (ox > 0 && oy > 0) this.hardArea[g]! += (ox * oy) / (gw * gh);
    }
  }

  private observe(): PlacementObs {
    const { inst, order, layout, nets, softDensity } = this.cur;
    const { nl, settings: s } = inst;
    const m = order[this.t]!;
    const cells = layout.cells;
    const f = new Float32Array(cells * CELL_FEATURES);
    // wirelength of m's nets with m's centre at each cell, over pins of placed macros, clusters and ports
    nodePositions(nl, this.pl, this.px, this.py);
    const wl = new Float64Array(cells);
    for (let q = nets.start[m]!; q < nets.start[m + 1]!; q++) {
      const e = nets.nets[q]!;
      let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
      for (let p = nl.netStart[e]!; p < nl.netStart[e + 1]!; p++) {
        const v = nl.netPins[p]!;
        const o = nl.pinMacro[v]! >= 0 ? nl.pinMacro[v]! : v;
        if (o === m) continue;
        const k = layout.slot[o]!;
        if (k >= 0 && layout.placed[k] === 0) continue;
        const x = this.px[v]!, y = this.py[v]!;
        if (x < x0) x0 = x; if (x > x1) x1 = x; if (y < y0) y0 = y; if (y > y1) y1 = y;
      }
      if (x1 < x0) continue;
      const w = nl.netWeight[e]!;
      for (let g = 0; g < cells; g++) {
        const gx = layout.cellX(g), gy = layout.cellY(g);
        wl[g]! += w * (Math.max(x1, gx) - Math.min(x0, gx) + Math.max(y1, gy) - Math.min(y0, gy));
      }
    }
    let lo = Infinity, hi = -Infinity;
    const mask = this.actionSpace.mask;
    for (let g = 0; g < cells; g++) if (mask[g]) { lo = Math.min(lo, wl[g]!); hi = Math.max(hi, wl[g]!); }
    for (let g = 0; g < cells; g++) {
      const b = g * CELL_FEATURES;
      f[b] = Math.min(2, this.hardArea[g]!);
      f[b + 1] = softDensity[g]!;
      f[b + 2] = mask[g]!;
      f[b + 3] = hi > lo ? Math.min(2, (wl[g]! - lo) / (hi - lo)) : 0;
      f[b + 4] = layout.cellX(g) / s.width;
      f[b + 5] = layout.cellY(g) / s.height;
    }
    const global = Float32Array.of(this.t / order.length, (nl.w[m]! * nl.h[m]!) / (s.width * s.height / cells), order.length / 100);
    return { spec: this.specOf(), current: m, cells, cellFeat: f, global };
  }

  private specOf(): InstanceSpec {
    const id = this.cur.inst.id;
    return this.opts.instances.find((q) => q.id === id)!;
  }

  protected doStep(action: number): StepResult<PlacementObs> {
    const { order, layout, inst, fd, ev } = this.cur;
    const k = layout.slot[order[this.t]!]!;
    this.put(k, layout.cellX(action), layout.cellY(action));
    this.t++;
    this.advance();
    if (this.t < order.length) return { obs: this.observe(), reward: 0, terminated: false, truncated: false, info: { actionMask: this.actionSpace.mask } };
    fd.place(this.pl, this.rng, { ...FD_DEFAULTS, rounds: this.opts.fdRounds });
    const c = ev.evaluate(this.pl, inst.weights);
    this.lastPlacement = this.pl;
    // the final observation is not acted on; repeat the last macro's view
    this.t = order.length - 1;
    const obs = this.observe();
    this.t = order.length;
    // legal: false when a macro found no room (a crowded canvas), which the reward alone does not tell a client
    const legal = legality(inst.nl, this.pl, inst.settings).legal;
    return { obs, reward: -c.proxy * this.opts.rewardScale, terminated: true, truncated: false, info: { actionMask: this.actionSpace.mask, proxy: c.proxy, legal } };
  }
}
