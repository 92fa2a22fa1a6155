/**
 * Direct k-way refinement of a partition (Karypis & Kumar, "Multilevel k-way Partitioning Scheme
 * for Irregular Graphs", JPDC 1998; METIS 5's greedy k-way refinement), usable after any
 * partitioner: recursive bisection (multilevel.ts) never moves a vertex between parts that were
 * separated at an earlier level, this does.
 *
 * 1. Balance: while a part weighs more than ub x total / k, its vertices move (in a random order)
 *    to the adjacent part that loses least cut among those with room; a part with no such vertex
 *    sheds vertices to the lightest part, each only when the lightest stays lighter than the giver
 *    was. After it every part is within ub (for unit weights; for weighted vertices within ub plus
 *    the heaviest vertex) unless no partition is (2025 vertices in 2 parts at ub 1).
 * 2. Greedy passes: boundary vertices in a random order; each moves to the adjacent part with the
 *    highest gain (edge weight to that part minus to its own) when the receiving part stays within
 *    ub and the gain is positive, or zero with the move evening the two parts' weights. A pass that
 *    moves nothing ends the refinement. The cut never rises in this phase.
 */
import type { CsrGraph } from '../../core/graph.js';
import { totalVertexWeight } from '../../core/graph.js';
import type { Rng } from '../../core/rng.js';

/** Refines `part` (ids in [0, k)) in place; returns the number of moves made. */
export function kwayRefine(g: CsrGraph, part: Int32Array, k: number, ub: number, passes: number, rng: Rng): number {
  const { n, xadj, adjncy, adjwgt, vwgt } = g;
  const maxw = ub * totalVertexWeight(g) / k;
  const pw = new Float64Array(k);
  for (let v = 0; v < n; v++) pw[part[v]!]! += vwgt[v]!;
  const conn = new Float64Array(k);
  const touched = new Int32Array(k);
  const order = new Int32Array(n);
  let moves = 0;

  // Sums v's edge weight per neighbouring part into conn; returns how many parts were touched.
  const connect = (v: number): number => {
    let t = 0;
    for (let e = xadj[v]!; e < xadj[v + 1]!; e++) {
      const p = part[adjncy[e]!]!;
      if (conn[p] === 0) touched[t++] = p;
      conn[p]! += adjwgt[e]!;
    }
    return t;
  };
  const clear = (t: number) => { for (let i = 0; i < t; i++) conn[touched[i]!] = 0; };
  const move = (v: number, to: number) => {
    pw[part[v]!]! -= vwgt[v]!; pw[to]! += vwgt[v]!; part[v] = to; moves++;
  };
  const overweight = () => { for (let p = 0; p < k; p++) if (pw[p]! > maxw) return true; return false; };

  // 1. Balance.
  for (let round = 0; round < 2 * passes + 2 && overweight(); round++) {
    let moved = 0;
    for (let i = 0; i < n; i++) order[i] = i;
    rng.shuffle(order);
    for (let i = 0; i < n; i++) {
      const v = order[i]!, from = part[v]!;
      if (pw[from]! <= maxw) continue;
      const t = connect(v);
      const own = conn[from]!;
      let best = -1, bestGain = -Infinity;
      for (let j = 0; j < t; j++) {
        const p = touched[j]!;
        if (p === from || pw[p]! + vwgt[v]! > maxw) continue;
        const gain = conn[p]! - own;
        if (gain > bestGain || (gain === bestGain && pw[p]! < pw[best]!)) { best = p; bestGain = gain; }
      }
      clear(t);
      if (best >= 0) { move(v, best); moved++; }
    }
    if (moved === 0) break;
  }
  if (overweight()) {
    // No boundary move left (e.g. a heavy part with no light neighbour): shed to the lightest part.
    // Only a move that leaves both lighter than the giver was helps: one that merely swaps which
    // part is over the bound (possible when no partition meets it) let the two parts trade the
    // excess vertex by vertex across the graph, wrecking the cut (ub 1 on mesh_2k: 100 -> 700).
    for (let v = 0; v < n; v++) {
      const from = part[v]!;
      if (pw[from]! <= maxw) continue;
      let lightest = 0;
      for (let p = 1; p < k; p++) if (pw[p]! < pw[lightest]!) lightest = p;
      if (lightest !== from && pw[lightest]! + vwgt[v]! < pw[from]!) move(v, lightest);
    }
  }

  // 2. Greedy gain passes over the boundary.
  for (let pass = 0; pass < passes; pass++) {
    let nb = 0;
    for (let v = 0; v < n; v++) {
      const pv = part[v]!;
      for (let e = xadj[v]!; e < xadj[v + 1]!; e++) if (part[adjncy[e]!] !== pv) { order[nb++] = v; break; }
    }
    for (let i = nb - 1; i > 0; i--) { const j = rng.int(i + 1); const tmp = order[i]!; order[i] = order[j]!; order[j] = tmp; }
    let moved = 0;
    for (let i = 0; i < nb; i++) {
      const v = order[i]!, from = part[v]!, wv = vwgt[v]!;
      const t = connect(v);
      const own = conn[from]!;
      let best = -1, bestGain = -Infinity;
      for (let j = 0; j < t; j++) {
        const p = touched[j]!;
        if (p === from || pw[p]! + wv > maxw) continue;
        const gain = conn[p]! - own;
        if (gain > bestGain || (gain === bestGain && pw[p]! < pw[best]!)) { best = p; bestGain = gain; }
      }
      clear(t);
      if (best >= 0 && (bestGain > 0 || (bestGain === 0 && pw[best]! + wv < pw[from]!))) { move(v, best); moved++; }
    }
    if (moved === 0) break;
  }
  return moves;
}
