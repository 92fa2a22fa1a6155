/**
 * The partitioning metrics: the single source of truth (solvers never score themselves).
 *
 * A solution is an Int32Array `part` of length n with part[v] in [0, k).
 * - edge_cut: sum of the weights of edges whose endpoints lie in different parts (METIS's objective).
 * - balance: max part weight / (total vertex weight / k), METIS's imbalance; 1 is perfect, METIS's
 *   default tolerance (ufactor 30) is 1.03.
 * - normalized_cut: as GAP (Nazi et al. 2019, eq. 1): sum over parts S of cut(S, V\S) / vol(S), where
 *   vol(S) is the sum of the weighted degrees of S's vertices; an empty part or one of volume 0
 *   contributes 0 (its cut is 0 too).
 * - partition_ms: the solver's wall time as the runner measured it (solve only, not load).
 */
import type { EvalContext, Metric, MetricValues } from '../../core/problem.js';
import { SelfoptError } from '../../core/errors.js';
import type { CsrGraph } from '../../core/graph.js';
import type { PartitionInstance } from './instances.js';

export const METRICS: Metric[] = [
  { name: 'edge_cut', unit: 'weight', better: 'lower', description: 'total weight of the edges between different parts' },
  { name: 'balance', unit: 'ratio', better: 'lower', description: 'heaviest part weight / average part weight (1 = perfect; METIS default bound 1.03)' },
  { name: 'normalized_cut', unit: 'sum', better: 'lower', description: "GAP's normalized cut: sum over parts of cut(part) / vol(part)" },
  { name: 'partition_ms', unit: 'ms', better: 'lower', description: 'wall time of the solver (solve only)' },
];

/** Throws a SelfoptError unless `part` is an Int32Array of length n with every entry in [0, k). */
export function validatePartition(g: CsrGraph, k: number, part: unknown, where: string): asserts part is Int32Array {
  if (!(part instanceof Int32Array)) {
    throw new SelfoptError(`solution is ${part === null ? 'null' : typeof part === 'object' ? (part as object).constructor?.name : typeof part}`, where, `an Int32Array of ${g.n} part ids`);
  }
  if (part.length !== g.n) throw new SelfoptError(`solution has ${part.length} entries`, where, `one part id per vertex (${g.n})`);
  for (let v = 0; v < g.n; v++) {
    const p = part[v]!;
    if (p < 0 || p >= k) throw new SelfoptError(`vertex ${v} (0-based) is in part ${p}`, where, `part ids in [0, ${k})`);
  }
}

export function edgeCut(g: CsrGraph, part: Int32Array): number {
  let cut = 0;
  for (let v = 0; v < g.n; v++) {
    const pv = part[v]!;
    for (let e = g.xadj[v]!; e < g.xadj[v + 1]!; e++) if (part[g.adjncy[e]!] !== pv) cut += g.adjwgt[e]!;
  }
  return cut / 2;
}

export function partWeights(g: CsrGraph, k: number, part: Int32Array): Float64Array {
  const w = new Float64Array(k);
  for (let v = 0; v < g.n; v++) w[part[v]!]! += g.vwgt[v]!;
  return w;
}

export function balance(g: CsrGraph, k: number, part: Int32Array): number {
  const w = partWeights(g, k, part);
  let total = 0, max = 0;
  for (let p = 0; p < k; p++) { total += w[p]!; if (w[p]! > max) max = w[p]!; }
  return total === 0 ? 1 : max / (total / k);
}

export function normalizedCut(g: CsrGraph, k: number, part: Int32Array): number {
  const cut = new Float64Array(k), vol = new Float64Array(k);
  for (let v = 0; v < g.n; v++) {
    const pv = part[v]!;
    for (let e = g.xadj[v]!; e < g.xadj[v + 1]!; e++) {
      const w = g.adjwgt[e]!;
      vol[pv]! += w;
      if (part[g.adjncy[e]!] !== pv) cut[pv]! += w;
    }
  }
  let s = 0;
  for (let p = 0; p < k; p++) if (vol[p]! > 0) s += cut[p]! / vol[p]!;
  return s;
}

export function evaluatePartition(inst: PartitionInstance, part: unknown, ctx: Pick<EvalContext, 'solveMs'>): MetricValues {
  validatePartition(inst.graph, inst.k, part, `partition of ${inst.id}`);
  return {
    edge_cut: edgeCut(inst.graph, part),
    balance: balance(inst.graph, inst.k, part),
    normalized_cut: normalizedCut(inst.graph, inst.k, part),
    partition_ms: ctx.solveMs,
  };
}
