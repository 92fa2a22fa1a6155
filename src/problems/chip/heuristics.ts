/**
 * Classical macro placers, each ending with the force-directed cluster placer (force-directed.ts):
 *
 * - `greedy`: Circuit Training's sequential order (hard macros by area, largest first; ties by node
 *   index), each put on the legal grid-cell centre where the proxy cost of the partial placement
 *   (macros not yet placed left out, see IncrementalCost.setPresent) is least.
 * - `simulated-annealing`: the assessment's SA (Cheng et al., ISPD 2023, TILOS MacroPlacement
 *   CodeElements/SimulatedAnnealing): macros on grid-cell centres; each step makes 2N macro actions
 *   drawn uniformly from swap, shift (to a neighbouring cell), mirror (flip about x, y or both), move
 *   (to any legal cell) and shuffle (permute 4 macros), each accepted if it lowers the cost or else
 *   with probability exp(−Δ/t), t = t_max · (t_min/t_max)^(step/steps); after each step the clusters
 *   are re-placed by FD. Starts from the greedy placement; keeps the best placement seen after FD.
 *   t_max is set from the mean uphill Δ of sample actions (the assessment fixes 5e-5 for Ariane133).
 * - `reference-initial`, `reference-legalized`: the staged placements of a real netlist, read as they
 *   are (baselines, not from scratch).
 *
 * "From scratch": no macro or cluster position of any given placement is read; clusters start at the
 * canvas centre and ports stay where the instance puts them (its .plc, else the netlist).
 */
import type { Rng } from '../../core/rng.js';
import type { SolveContext, Solver } from '../../core/problem.js';
import { intOption } from '../../core/options.js';
import { readPlc, type Placement } from './plc.js';
import { stagedReferences, startPlacement, type ChipInstance } from './instances.js';
import { SelfoptError } from '../../core/errors.js';
import { IncrementalCost } from './incremental.js';
import { ProxyCostEvaluator } from './cost.js';
import { ForceDirected, FD_DEFAULTS } from './force-directed.js';
import { MacroLayout } from './sites.js';
import type { ChipSolution } from './evaluate.js';

/** Hard macros in Circuit Training's placement order: area descending, then node index. */
export function placementOrder(inst: ChipInstance): Int32Array {
  const { nl } = inst;
  return Int32Array.from([...nl.hardMacros].sort((a, b) => nl.w[b]! * nl.h[b]! - nl.w[a]! * nl.h[a]! || a - b));
}

/**
 * Clusters placed by FD before any hard macro is (so the hard-macro placers see wirelength through
 * them), then each macro placer, then FD again around the placed macros.
 */
export function clustersWithoutMacros(inst: ChipInstance, pl: Placement, fd: ForceDirected, rng: Rng): void {
  const none = new Uint8Array(inst.nl.names.length);
  fd.place(pl, rng, FD_DEFAULTS, none);
}

export interface GreedyConfig {
  /** At most this many candidate cells per macro (a seeded sample); 0 = every legal cell. */
  maxCandidates: number;
}

/**
 * Greedy sequential placement on `inc` (its placement is changed in place): every hard macro is
 * taken out, then put back one by one in CT's order on its best legal cell. A macro with no legal
 * cell centre left goes to the legal spot on a finer lattice nearest the canvas centre; with none at
 * all it stays at the canvas centre (the placement is then illegal, and `legal` reports it).
 */
export function greedyMacros(inst: ChipInstance, inc: IncrementalCost, layout: MacroLayout, rng: Rng, cfg: GreedyConfig): number {
  const order = placementOrder(inst);
  for (const m of order) inc.setPresent(m, false);
  layout.placed.fill(0);
  const cand = new Int32Array(layout.cells);
  let stuck = 0;
  for (const m of order) {
    const k = layout.slot[m]!;
    let n = layout.legalCells(k, cand);
    if (n === 0) {
      const spot = layout.fallbackSpot(k);
      inc.setPresent(m, true);
      if (spot === undefined) { stuck++; continue; }
      inc.move(m, spot[0], spot[1], 0);
      layout.x[k] = spot[0]; layout.y[k] = spot[1]; layout.placed[k] = 1;
      continue;
    }
    if (cfg.maxCandidates > 0 && n > cfg.maxCandidates) {
      for (let j = 0; j < cfg.maxCandidates; j++) {
        const r = j + rng.int(n - j);
        const t = cand[j]!; cand[j] = cand[r]!; cand[r] = t;
      }
      n = cfg.maxCandidates;
    }
    inc.move(m, layout.cellX(cand[0]!), layout.cellY(cand[0]!), 0);
    inc.setPresent(m, true);
    let best = cand[0]!, bestCost = inc.proxy();
    for (let j = 1; j < n; j++) {
      const g = cand[j]!;
      inc.move(m, layout.cellX(g), layout.cellY(g), 0);
      const c = inc.proxy();
      if (c < bestCost) { bestCost = c; best = g; }
    }
    inc.move(m, layout.cellX(best), layout.cellY(best), 0);
    layout.x[k] = layout.cellX(best);
    layout.y[k] = layout.cellY(best);
    layout.placed[k] = 1;
  }
  return stuck;
}

export interface AnnealConfig {
  /** SA steps (temperature levels); each makes `actionsPerMacro` × N actions, then re-places clusters. */
  steps: number;
  actionsPerMacro: number;
  /** t_min = t_max × this. */
  coolRatio: number;
  /** FD rounds between steps (warm start from the current clusters). */
  fdRounds: number;
  /** Probabilities of swap, shift, mirror, move, shuffle. */
  actionProbs: [number, number, number, number, number];
}

export const SA_DEFAULTS: AnnealConfig = { steps: 150, actionsPerMacro: 2, coolRatio: 1e-3, fdRounds: 8, actionProbs: [0.2, 0.2, 0.2, 0.2, 0.2] };

/**
 * Mirror orientations of N: N FN S FS. A real E/W-family turn swaps a macro's width and height,
 * which the proxy cost (like the re-implementation) does not model, so the placers do not turn.
 */
const MIRRORS = [0, 1, 2, 3];

/**
 * Simulated annealing on `inc` from its current (legal) placement. Returns the best placement seen
 * (after FD) and the number of actions accepted.
 */
export function annealMacros(inst: ChipInstance, inc: IncrementalCost, layout: MacroLayout, fd: ForceDirected, rng: Rng, cfg: AnnealConfig): { best: Placement; accepted: number; actions: number } {
  const { nl } = inst;
  const macros = layout.macros;
  const N = macros.length;
  const pl = inc.pl;
  layout.load(pl);
  const copy = (p: Placement): Placement => ({ x: Float64Array.from(p.x), y: Float64Array.from(p.y), orient: Uint8Array.from(p.orient), fixed: Uint8Array.from(p.fixed) });
  let best = copy(pl);
  let bestCost = inc.proxy();
  let cur = bestCost;
  const quad = new Int32Array(4);
  const qx = new Float64Array(4), qy = new Float64Array(4);

  // One action: returns false when infeasible (nothing changed); else applies it and leaves `undo` to revert.
  let undo: () => void = () => {};
  const moveTo = (k: number, x: number, y: number, o: number): void => {
    const m = macros[k]!;
    inc.move(m, x, y, o);
    layout.x[k] = x; layout.y[k] = y;
  };
  const act = (): boolean => {
    const u = rng.next();
    const p = cfg.actionProbs;
    const k = rng.int(N), m = macros[k]!;
    const ox = layout.x[k]!, oy = layout.y[k]!, oo = pl.orient[m]!;
    if (u < p[0]) {
      // swap
      const j = rng.int(N);
      if (j === k) return false;
      const jx = layout.x[j]!, jy = layout.y[j]!;
      layout.x[k] = jx; layout.y[k] = jy; layout.x[j] = ox; layout.y[j] = oy;
      const ok = layout.fits(k, jx, jy) && layout.fits(j, ox, oy);
      layout.x[k] = ox; layout.y[k] = oy; layout.x[j] = jx; layout.y[j] = jy;
      if (!ok) return false;
      inc.swap(m, macros[j]!);
      layout.x[k] = jx; layout.y[k] = jy; layout.x[j] = ox; layout.y[j] = oy;
      undo = () => { inc.swap(m, macros[j]!); layout.x[k] = ox; layout.y[k] = oy; layout.x[j] = jx; layout.y[j] = jy; };
      return true;
    }
    if (u < p[0] + p[1]) {
      // shift to a neighbouring cell
      const d = rng.int(4);
      const x = ox + (d === 0 ? layout.gw : d === 1 ? -layout.gw : 0), y = oy + (d === 2 ? layout.gh : d === 3 ? -layout.gh : 0);
      if (!layout.fits(k, x, y)) return false;
      moveTo(k, x, y, oo);
      undo = () => moveTo(k, ox, oy, oo);
      return true;
    }
    if (u < p[0] + p[1] + p[2]) {
      // mirror about x, y or both
      const o = MIRRORS[(MIRRORS.indexOf(oo) + 1 + rng.int(3)) % 4] ?? 0;
      inc.move(m, ox, oy, o);
      undo = () => inc.move(m, ox, oy, oo);
      return true;
    }
    if (u < p[0] + p[1] + p[2] + p[3]) {
      // move to any legal cell (a few tries)
      for (let t = 0; t < 8; t++) {
        const g = rng.int(layout.cells);
        const x = layout.cellX(g), y = layout.cellY(g);
        if (!layout.fits(k, x, y)) continue;
        moveTo(k, x, y, oo);
        undo = () => moveTo(k, ox, oy, oo);
        return true;
      }
      return false;
    }
    // shuffle: a cyclic permutation of 4 macros' positions
    quad[0] = k;
    for (let t = 1; t < 4; t++) {
      let j = rng.int(N);
      for (let tries = 0; tries < 8 && quad.subarray(0, t).includes(j); tries++) j = rng.int(N);
      if (quad.subarray(0, t).includes(j)) return false;
      quad[t] = j;
    }
    for (let t = 0; t < 4; t++) { qx[t] = layout.x[quad[t]!]!; qy[t] = layout.y[quad[t]!]!; }
    for (let t = 0; t < 4; t++) { layout.x[quad[t]!] = qx[(t + 1) % 4]!; layout.y[quad[t]!] = qy[(t + 1) % 4]!; }
    let ok = true;
    for (let t = 0; t < 4 && ok; t++) ok = layout.fits(quad[t]!, layout.x[quad[t]!]!, layout.y[quad[t]!]!);
    for (let t = 0; t < 4; t++) { layout.x[quad[t]!] = qx[t]!; layout.y[quad[t]!] = qy[t]!; }
    if (!ok) return false;
    const q = Int32Array.from(quad), sx = Float64Array.from(qx), sy = Float64Array.from(qy);
    for (let t = 0; t < 4; t++) moveTo(q[t]!, sx[(t + 1) % 4]!, sy[(t + 1) % 4]!, pl.orient[macros[q[t]!]!]!);
    undo = () => { for (let t = 0; t < 4; t++) moveTo(q[t]!, sx[t]!, sy[t]!, pl.orient[macros[q[t]!]!]!); };
    return true;
  };

  // t_max from the mean uphill change of sample actions (undone)
  let up = 0, nUp = 0;
  for (let t = 0; t < Math.max(20, N); t++) {
    if (!act()) continue;
    const d = inc.proxy() - cur;
    undo();
    if (d > 0) { up += d; nUp++; }
  }
  const tMax = nUp > 0 ? up / nUp : 1e-4;
  const tMin = tMax * cfg.coolRatio;
  let accepted = 0, actions = 0;
  for (let step = 0; step < cfg.steps; step++) {
    const t = tMax * Math.exp(Math.log(tMin / tMax) * (step / Math.max(1, cfg.steps - 1)));
    for (let a = 0; a < cfg.actionsPerMacro * N; a++) {
      if (!act()) continue;
      actions++;
      const c = inc.proxy();
      if (c <= cur || rng.next() < Math.exp((cur - c) / t)) { cur = c; accepted++; }
      else undo();
    }
    if (nl.softMacros.length > 0) {
      fd.place(pl, rng, { ...FD_DEFAULTS, rounds: cfg.fdRounds });
      inc.rebuild();
    }
    cur = inc.proxy();
    if (cur < bestCost) { bestCost = cur; best = copy(pl); }
  }
  return { best, accepted, actions };
}

/** Everything a from-scratch placer needs, built once per solve. */
function setUp(inst: ChipInstance): { pl: Placement; fd: ForceDirected; layout: MacroLayout } {
  const pl = startPlacement(inst.nl, inst.settings);
  return { pl, fd: new ForceDirected(inst.nl, inst.settings), layout: new MacroLayout(inst.nl, inst.settings) };
}

function greedyConfig(inst: ChipInstance, ctx: SolveContext): GreedyConfig {
  // quick runs sample candidates on big netlists (Ariane133: 133 macros x ~400 cells)
  return { maxCandidates: greedyCandidates(ctx.options, ctx.quick && inst.nl.hardMacros.length > 40 ? 48 : 0) };
}

/** `--opt greedy_candidates=N` (0: every grid cell), else `dflt`. */
export function greedyCandidates(options: Readonly<Record<string, string>>, dflt: number): number {
  return intOption(options, 'greedy_candidates', dflt, 0, 1 << 20);
}

/** `--opt sa_steps=N`, else the mode's default. */
export function saSteps(options: Readonly<Record<string, string>>, quick: boolean): number {
  return intOption(options, 'sa_steps', quick ? 12 : SA_DEFAULTS.steps, 1, 1 << 20);
}

/** Greedy hard macros, then FD clusters: the greedy placer's answer and SA's start. */
export function greedyPlacement(inst: ChipInstance, ctx: SolveContext): { pl: Placement; inc: IncrementalCost; fd: ForceDirected; layout: MacroLayout } {
  const { pl, fd, layout } = setUp(inst);
  clustersWithoutMacros(inst, pl, fd, ctx.rng);
  const inc = new IncrementalCost(inst.nl, inst.settings, pl, inst.weights);
  greedyMacros(inst, inc, layout, ctx.rng, greedyConfig(inst, ctx));
  fd.place(inc.pl, ctx.rng);
  inc.rebuild();
  return { pl: inc.pl, inc, fd, layout };
}

export const greedySolver: Solver<ChipInstance, ChipSolution> = {
  info: {
    name: 'greedy', kind: 'heuristic',
    description: "hard macros by area (largest first), each on the legal grid cell of least proxy cost; clusters by force-directed placement",
    reference: 'Mirhoseini et al., Nature 2021 (placement order); Circuit Training',
  },
  solve: (inst, ctx) => ({ ...greedyPlacement(inst, ctx).pl, solver: 'greedy' }),
};

export const annealingSolver: Solver<ChipInstance, ChipSolution> = {
  info: {
    name: 'simulated-annealing', kind: 'heuristic',
    description: 'SA over macro cells and orientations (swap, shift, mirror, move, shuffle; 2N actions per step, FD clusters between steps) from the greedy placement',
    reference: 'Cheng et al., Assessment of Reinforcement Learning for Macro Placement, ISPD 2023 (TILOS MacroPlacement SA)',
  },
  solve(inst, ctx) {
    const g = greedyPlacement(inst, ctx);
    const { best } = annealMacros(inst, g.inc, g.layout, g.fd, ctx.rng, { ...SA_DEFAULTS, steps: saSteps(ctx.options, ctx.quick) });
    // a last full FD on the best macros, kept only if it helps (FD is not a descent method)
    const ev = new ProxyCostEvaluator(inst.nl, inst.settings);
    const refined = { x: Float64Array.from(best.x), y: Float64Array.from(best.y), orient: Uint8Array.from(best.orient), fixed: Uint8Array.from(best.fixed) };
    g.fd.place(refined, ctx.rng);
    const keep = ev.evaluate(refined, inst.weights).proxy < ev.evaluate(best, inst.weights).proxy ? refined : best;
    return { ...keep, solver: 'simulated-annealing' };
  },
};

function referenceSolver(which: 'initial' | 'legalized'): Solver<ChipInstance, ChipSolution> {
  return {
    info: {
      name: `reference-${which}`, kind: 'baseline',
      description: `the staged ${which}.plc placement as it is (not from scratch), on the real netlists that have one (Ariane133 both; Circuit Training's test netlists an initial.plc)`,
      reference: 'TILOS MacroPlacement Flows/NanGate45/ariane133',
      // A placement read from a file: the seed changes nothing.
      deterministic: true,
    },
    appliesTo: (ref) => which in stagedReferences(ref),
    solve(inst) {
      const path = inst.references[which];
      if (!path) throw new SelfoptError(`netlist ${inst.id} has no staged ${which}.plc`, `solver reference-${which}`, 'a real netlist whose data path holds that placement');
      return { ...readPlc(path, inst.nl).placement, solver: `reference-${which}` };
    },
  };
}

export const referenceInitial = referenceSolver('initial');
export const referenceLegalized = referenceSolver('legalized');

export const heuristicSolvers: Solver<ChipInstance, ChipSolution>[] = [referenceLegalized, referenceInitial, greedySolver, annealingSolver];
