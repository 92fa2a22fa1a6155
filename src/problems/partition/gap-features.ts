/**
 * GAP's node features (gap.ts): what the network sees of each vertex. The paper's inputs for
 * unseen graphs are structural (PCA of the adjacency); ours are structural too, chosen as follows
 * (one of the departures listed in gap.ts's header).
 *
 * Features per vertex (computed per (sub)graph, see gapFeatures): the Fiedler vector of the
 * normalized Laplacian (spectral.ts, multilevel Lanczos) scaled to unit max and its weighted rank
 * quantile; the level of a breadth-first search from a pseudo-peripheral vertex (two BFS sweeps)
 * scaled to [0, 1] and its weighted rank quantile; log(1 + degree) / log(1 + max degree); the
 * vertex weight over the heaviest; the target share; a constant. The Fiedler vector is the
 * paper's PCA-of-adjacency idea in its cheapest form; the BFS level is the position along a
 * long, thin graph (computation graphs are nearly paths with skips, where a Fiedler vector
 * computed with a few Lanczos steps is poor). Signs and ends are arbitrary, which the loss does
 * not care about (swapping parts leaves both terms unchanged for frac0 = 1/2; for other shares
 * the network learns which end is smaller from the quantiles).
 */
import type { CsrGraph } from '../../core/graph.js';
import { totalVertexWeight, weightedDegrees } from '../../core/graph.js';
import type { Rng } from '../../core/rng.js';
import { DEFAULT_SPECTRAL, fiedlerVector, type SpectralConfig } from './spectral.js';

export const NUM_FEATURES = 8;
/**
 * Lanczos for the Fiedler feature: 40 steps and tolerance 1e-4 in place of spectral's 200 and 1e-6.
 * A feature only has to order vertices roughly (the BFS level and the network do the rest), and
 * at 200 steps the eigenvector took nearly all of GAP's inference time on 100-250-vertex coarse
 * graphs (20-40 ms per bisection against 1 ms for the forward pass).
 */
const GAP_SPECTRAL: SpectralConfig = { ...DEFAULT_SPECTRAL, lanczosSteps: 40, tol: 1e-4 };
/** Column of the target share in the feature matrix (rewritten per use). */
export const SHARE = 6;

/**
 * Per-vertex features, row-major [n, NUM_FEATURES]: 0 Fiedler value / max |value|, 1 its weighted
 * rank quantile, 2 BFS level / eccentricity, 3 its weighted rank quantile, 4 log degree / log max
 * degree, 5 vertex weight / max weight, 6 target share, 7 constant 1.
 */
export function gapFeatures(g: CsrGraph, rng: Rng, frac0: number): Float32Array {
  const { n } = g;
  const f = new Float32Array(n * NUM_FEATURES);
  const W = totalVertexWeight(g);
  // Weighted rank quantile: the vertex's position in `order` as the weight before it plus half its own.
  const quantiles = (order: Int32Array, col: number) => {
    let acc = 0;
    for (let i = 0; i < n; i++) {
      const v = order[i]!, w = g.vwgt[v]!;
      f[v * NUM_FEATURES + col] = W > 0 ? (acc + w / 2) / W : 0.5;
      acc += w;
    }
  };
  const x = fiedlerVector(g, GAP_SPECTRAL, rng);
  let maxAbs = 0;
  for (let v = 0; v < n; v++) maxAbs = Math.max(maxAbs, Math.abs(x[v]!));
  for (let v = 0; v < n; v++) f[v * NUM_FEATURES] = maxAbs > 0 ? x[v]! / maxAbs : 0;
  quantiles(Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => x[a]! - x[b]! || a - b), 1);
  const { order, level } = bfsLevels(g);
  for (let v = 0; v < n; v++) f[v * NUM_FEATURES + 2] = level[v]!;
  quantiles(order, 3);
  const deg = weightedDegrees(g);
  let maxDeg = 0, maxW = 0;
  for (let v = 0; v < n; v++) { maxDeg = Math.max(maxDeg, deg[v]!); maxW = Math.max(maxW, g.vwgt[v]!); }
  for (let v = 0; v < n; v++) {
    f[v * NUM_FEATURES + 4] = maxDeg > 0 ? Math.log1p(deg[v]!) / Math.log1p(maxDeg) : 0;
    f[v * NUM_FEATURES + 5] = maxW > 0 ? g.vwgt[v]! / maxW : 0;
    f[v * NUM_FEATURES + SHARE] = frac0;
    f[v * NUM_FEATURES + 7] = 1;
  }
  return f;
}

/**
 * Breadth-first order and levels from a pseudo-peripheral vertex of each connected component (two
 * sweeps: from the component's lowest-numbered vertex to the last vertex reached, then from that
 * one); levels divided by the component's last level, so each component spans [0, 1].
 */
export function bfsLevels(g: CsrGraph): { order: Int32Array; level: Float32Array } {
  const { n, xadj, adjncy } = g;
  const stamp = new Int32Array(n).fill(-1), dist = new Int32Array(n), queue = new Int32Array(n);
  const order = new Int32Array(n), level = new Float32Array(n);
  // BFS from s over unstamped-with-`mark` vertices; returns how many it reached (in queue[0, count)).
  const sweep = (s: number, mark: number): number => {
    let head = 0, tail = 0;
    queue[tail++] = s; stamp[s] = mark; dist[s] = 0;
    while (head < tail) {
      const v = queue[head++]!;
      for (let e = xadj[v]!; e < xadj[v + 1]!; e++) {
        const u = adjncy[e]!;
        if (stamp[u] !== mark) { stamp[u] = mark; dist[u] = dist[v]! + 1; queue[tail++] = u; }
      }
    }
    return tail;
  };
  let filled = 0;
  for (let s = 0; s < n; s++) {
    if (stamp[s] !== -1) continue;
    const count = sweep(s, 2 * s);
    sweep(queue[count - 1]!, 2 * s + 1); // marks differ from every other component's
    const ecc = dist[queue[count - 1]!]!;
    for (let i = 0; i < count; i++) {
      const v = queue[i]!;
      order[filled++] = v;
      level[v] = ecc > 0 ? dist[v]! / ecc : 0;
    }
  }
  return { order, level };
}
