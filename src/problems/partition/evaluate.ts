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
 * - nmi (instances with ground-truth communities only): normalized mutual information between the
 *   parts and the communities, 2 I(P; C) / (H(P) + H(C)) (arithmetic-mean normalization, as
 *   scikit-learn's default and the community-detection literature); 1 = the same grouping.
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
  { name: 'nmi', unit: 'ratio', better: 'higher', description: 'NMI of the parts vs ground-truth communities (instances with labels only)' },
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

/**
 * Normalized mutual information of two labelings of the same n items (labels non-negative
 * integers): 2 I(A; B) / (H(A) + H(B)), natural logs; 1 when both put everything in one group.
 */
export function normalizedMutualInformation(a: Int32Array, b: Int32Array): number {
  const n = a.length;
  if (b.length !== n) throw new SelfoptError(`labelings have ${n} and ${b.length} entries`, 'normalizedMutualInformation', 'two labelings of the same items');
  if (n === 0) return 1;
  let ka = 0, kb = 0;
  for (let i = 0; i < n; i++) { ka = Math.max(ka, a[i]! + 1); kb = Math.max(kb, b[i]! + 1); }
  const joint = new Float64Array(ka * kb), pa = new Float64Array(ka), pb = new Float64Array(kb);
  for (let i = 0; i < n; i++) { joint[a[i]! * kb + b[i]!]! += 1; pa[a[i]!]! += 1; pb[b[i]!]! += 1; }
  const entropy = (p: Float64Array) => { let h = 0; for (const c of p) if (c > 0) h -= (c / n) * Math.log(c / n); return h; };
  let mi = 0;
  for (let x = 0; x < ka; x++) for (let y = 0; y < kb; y++) {
    const c = joint[x * kb + y]!;
    if (c > 0) mi += (c / n) * Math.log((c * n) / (pa[x]! * pb[y]!));
  }
  const h = entropy(pa) + entropy(pb);
  return h === 0 ? 1 : Math.max(0, Math.min(1, (2 * mi) / h));
}

export function evaluatePartition(inst: PartitionInstance, part: unknown, ctx: Pick<EvalContext, 'solveMs'>): MetricValues {
  validatePartition(inst.graph, inst.k, part, `partition of ${inst.id}`);
  return {
    edge_cut: edgeCut(inst.graph, part),
    balance: balance(inst.graph, inst.k, part),
    normalized_cut: normalizedCut(inst.graph, inst.k, part),
    partition_ms: ctx.solveMs,
    ...(inst.labels ? { nmi: normalizedMutualInformation(part, inst.labels) } : {}),
  };
}
