/**
 * Classical partitioners, named as the literature names them. Each returns part ids (Int32Array of
 * length n, entries in [0, k)); the evaluator scores them.
 *
 * - `random`: the baseline. Vertices in a random order from the Rng, dealt round-robin to the k
 *   parts: exactly balanced for unit weights (parts differ by at most one vertex).
 * - `graph-growing`: BFS graph growing (Karypis & Kumar 1998, section 4's GGP without refinement):
 *   part p grows breadth-first from a random unassigned vertex until it holds total/k of the
 *   weight; a new random seed when its frontier runs dry; the last part takes the rest.
 * - `multilevel`: the METIS-class multilevel recursive bisection of multilevel.ts, then k-way refinement.
 * - `multilevel-kway`: METIS's k-way scheme (one coarsening, k-way refinement at every level).
 * - `spectral`, `spectral+fm`: recursive spectral bisection (Lanczos Fiedler vectors) of spectral.ts,
 *   without and with FM refinement of each bisection.
 */
import type { SolveContext, Solver } from '../../core/problem.js';
import type { CsrGraph } from '../../core/graph.js';
import { totalVertexWeight } from '../../core/graph.js';
import type { Rng } from '../../core/rng.js';
import type { PartitionInstance } from './instances.js';
import { DEFAULT_MULTILEVEL, multilevelKwayPartition, multilevelPartition, type MultilevelConfig } from './multilevel.js';
import { SelfoptError } from '../../core/errors.js';
import { intOption, numberOption } from '../../core/options.js';
import { DEFAULT_SPECTRAL, spectralPartition, type SpectralConfig } from './spectral.js';

export type PartitionSolver = Solver<PartitionInstance, Int32Array>;

export function randomPartition(g: CsrGraph, k: number, rng: Rng): Int32Array {
  const perm = new Int32Array(g.n);
  for (let v = 0; v < g.n; v++) perm[v] = v;
  rng.shuffle(perm);
  const part = new Int32Array(g.n);
  for (let i = 0; i < g.n; i++) part[perm[i]!] = i % k;
  return part;
}

export function graphGrowingPartition(g: CsrGraph, k: number, rng: Rng): Int32Array {
  const { n, xadj, adjncy, vwgt } = g;
  const part = new Int32Array(n).fill(-1);
  const queue = new Int32Array(n);
  const total = totalVertexWeight(g);
  let assignedWeight = 0, unassigned = n;
  // Random order for picking seeds: the next unassigned vertex in this order.
  const order = new Int32Array(n);
  for (let v = 0; v < n; v++) order[v] = v;
  rng.shuffle(order);
  let cursor = 0;
  for (let p = 0; p < k && unassigned > 0; p++) {
    if (p === k - 1) {
      for (let v = 0; v < n; v++) if (part[v] === -1) part[v] = p;
      break;
    }
    // Target: an equal share of what is left, so rounding does not pile up on the last part.
    const target = (total - assignedWeight) / (k - p);
    let w = 0, head = 0, tail = 0;
    while (w < target && unassigned > 0) {
      if (head === tail) {
        while (part[order[cursor]!] !== -1) cursor++;
        const s = order[cursor]!;
        part[s] = p; w += vwgt[s]!; unassigned--;
        queue[tail++] = s;
        continue;
      }
      const v = queue[head++]!;
      for (let e = xadj[v]!; e < xadj[v + 1]! && w < target; e++) {
        const u = adjncy[e]!;
        if (part[u] !== -1) continue;
        part[u] = p; w += vwgt[u]!; unassigned--;
        queue[tail++] = u;
      }
    }
    assignedWeight += w;
  }
  return part;
}

/** `--opt ub`: the imbalance bound every solver keeps, each part at most ub x the average weight (default 1.03). */
export function imbalanceBound(options: Record<string, string>): number {
  return numberOption(options, 'ub', DEFAULT_MULTILEVEL.ub, 1);
}

/** Reads multilevel options from `--opt`: ub, coarsen_to, init_tries, fm_passes, bisection_tries, kway_passes, vcycles. */
export function multilevelConfig(options: Record<string, string>): MultilevelConfig {
  return {
    ub: imbalanceBound(options),
    coarsenTo: intOption(options, 'coarsen_to', DEFAULT_MULTILEVEL.coarsenTo, 2),
    initTries: intOption(options, 'init_tries', DEFAULT_MULTILEVEL.initTries, 1),
    fmPasses: intOption(options, 'fm_passes', DEFAULT_MULTILEVEL.fmPasses, 0),
    bisectionTries: intOption(options, 'bisection_tries', DEFAULT_MULTILEVEL.bisectionTries, 1),
    kwayPasses: intOption(options, 'kway_passes', DEFAULT_MULTILEVEL.kwayPasses, 0),
    vcycles: intOption(options, 'vcycles', DEFAULT_MULTILEVEL.vcycles, 0),
  };
}

/** Reads spectral options from `--opt`: laplacian (normalized|combinatorial), lanczos_steps, coarsen_to, refine_steps, tol, fm_passes, ub. */
export function spectralConfig(options: Record<string, string>, fmPasses: number): SpectralConfig {
  const laplacian = options.laplacian ?? DEFAULT_SPECTRAL.laplacian;
  if (laplacian !== 'normalized' && laplacian !== 'combinatorial') {
    throw new SelfoptError(`--opt laplacian=${laplacian}`, 'spectral options', 'laplacian=normalized or laplacian=combinatorial');
  }
  return {
    laplacian,
    lanczosSteps: intOption(options, 'lanczos_steps', DEFAULT_SPECTRAL.lanczosSteps, 1),
    coarsenTo: intOption(options, 'coarsen_to', DEFAULT_SPECTRAL.coarsenTo, 2),
    refineSteps: intOption(options, 'refine_steps', DEFAULT_SPECTRAL.refineSteps, 0),
    tol: numberOption(options, 'tol', DEFAULT_SPECTRAL.tol, 0),
    fmPasses: intOption(options, 'fm_passes', fmPasses, 0),
    ub: numberOption(options, 'ub', DEFAULT_SPECTRAL.ub, 1),
  };
}

export const spectralSolver: PartitionSolver = {
  info: {
    name: 'spectral',
    kind: 'heuristic',
    description: 'recursive spectral bisection: Fiedler vector of the normalized Laplacian by Lanczos, split at the weighted median',
    reference: 'Pothen, Simon & Liou, SIAM J. Matrix Anal. Appl. 1990; Shi & Malik, IEEE TPAMI 2000',
  },
  solve: (inst, ctx) => spectralPartition(inst.graph, inst.k, ctx.rng, spectralConfig({ ...ctx.options, fm_passes: '0' }, 0)),
};

export const spectralFmSolver: PartitionSolver = {
  info: {
    name: 'spectral+fm',
    kind: 'heuristic',
    description: 'recursive spectral bisection, each bisection refined by Fiduccia-Mattheyses (ub 1.03)',
    reference: 'Pothen, Simon & Liou 1990; Fiduccia & Mattheyses, DAC 1982',
  },
  solve: (inst, ctx) => spectralPartition(inst.graph, inst.k, ctx.rng, spectralConfig(ctx.options, DEFAULT_MULTILEVEL.fmPasses)),
};

export const randomSolver: PartitionSolver = {
  info: { name: 'random', kind: 'baseline', description: 'balanced random assignment (round-robin over a random vertex order)' },
  solve: (inst, ctx: SolveContext) => randomPartition(inst.graph, inst.k, ctx.rng),
};

export const graphGrowingSolver: PartitionSolver = {
  info: { name: 'graph-growing', kind: 'heuristic', description: 'BFS graph growing from random seeds, one part at a time, no refinement', reference: 'Karypis & Kumar, SIAM J. Sci. Comput. 1998 (GGP)' },
  solve: (inst, ctx) => graphGrowingPartition(inst.graph, inst.k, ctx.rng),
};

export const multilevelSolver: PartitionSolver = {
  info: {
    name: 'multilevel',
    kind: 'heuristic',
    description: 'multilevel recursive bisection (heavy-edge matching, greedy graph growing, FM refinement) then greedy k-way refinement, ub 1.03',
    reference: 'Karypis & Kumar, A Fast and High Quality Multilevel Scheme for Partitioning Irregular Graphs (SIAM J. Sci. Comput. 1998); METIS pmetis',
  },
  solve: (inst, ctx) => multilevelPartition(inst.graph, inst.k, ctx.rng, multilevelConfig(ctx.options)),
};

export const multilevelKwaySolver: PartitionSolver = {
  info: {
    name: 'multilevel-kway',
    kind: 'heuristic',
    description: 'METIS k-way scheme: one coarsening of the whole graph, recursive bisection of the coarsest, greedy k-way refinement while uncoarsening, ub 1.03',
    reference: 'Karypis & Kumar, Multilevel k-way Partitioning Scheme for Irregular Graphs (JPDC 1998); METIS kmetis',
  },
  solve: (inst, ctx) => multilevelKwayPartition(inst.graph, inst.k, ctx.rng, multilevelConfig(ctx.options)),
};

export const heuristicSolvers: PartitionSolver[] = [randomSolver, graphGrowingSolver, spectralSolver, spectralFmSolver, multilevelSolver, multilevelKwaySolver];
