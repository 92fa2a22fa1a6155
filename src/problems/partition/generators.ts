/**
 * Seeded graph generators, so the problem runs (and GAP trains) on a fresh machine:
 * - random geometric graphs (DIMACS10 rgg recipe) and Delaunay-like triangulated meshes: the
 *   scientific-computing graphs METIS was built for;
 * - Barabasi-Albert scale-free graphs: skewed degrees, like dependency and social graphs;
 * - stochastic block models with planted blocks: graphs with a known best clustering, whose labels
 *   give an NMI to compare with;
 * - training computation graphs (forward + backward, residual and inception-like blocks): long,
 *   thin, nearly path-like graphs, GAP's own domain.
 */
import { graphFromEdges, type CsrGraph } from '../../core/graph.js';
import { Rng } from '../../core/rng.js';


/**
 * Random geometric graph: n points uniform in the unit square, an edge between points closer than
 * r. The default radius is DIMACS10's rgg_n_2_X recipe, 0.55 sqrt(ln n / n), so the graph looks
 * like rgg_n_2_15_s0 at a smaller size (mean degree about 0.95 ln n, nearly connected).
 */
export function randomGeometricGraph(n: number, seed: number, radius = 0.55 * Math.sqrt(Math.log(n) / n)): CsrGraph {
  const rng = new Rng(seed);
  const x = new Float64Array(n), y = new Float64Array(n);
  for (let i = 0; i < n; i++) { x[i] = rng.next(); y[i] = rng.next(); }
  // Cells of side >= r: neighbours are in the 3x3 block of cells around a point.
  const cells = Math.max(1, Math.floor(1 / radius));
  const cellOf = (a: number) => Math.min(cells - 1, Math.floor(a * cells));
  const head = new Int32Array(cells * cells).fill(-1), next = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = cellOf(y[i]!) * cells + cellOf(x[i]!);
    next[i] = head[c]!;
    head[c] = i;
  }
  const us: number[] = [], vs: number[] = [];
  const r2 = radius * radius;
  for (let i = 0; i < n; i++) {
    const cx = cellOf(x[i]!), cy = cellOf(y[i]!);
    for (let dy = -1; dy <= 1; dy++) {
      for (let dx = -1; dx <= 1; dx++) {
        const ax = cx + dx, ay = cy + dy;
        if (ax < 0 || ay < 0 || ax >= cells || ay >= cells) continue;
        for (let j = head[ay * cells + ax]!; j >= 0; j = next[j]!) {
          if (j <= i) continue;
          const ddx = x[i]! - x[j]!, ddy = y[i]! - y[j]!;
          if (ddx * ddx + ddy * ddy < r2) { us.push(i); vs.push(j); }
        }
      }
    }
  }
  return graphFromEdges(n, us, vs);
}

/** The side of triangulatedMesh(n)'s grid: it has side^2 vertices, not n (mesh_2k has 2,025). */
export function meshSide(n: number): number {
  return Math.max(2, Math.round(Math.sqrt(n)));
}

/**
 * A Delaunay-like planar mesh: a side x side grid (side = round(sqrt(n))) triangulated with one
 * diagonal per cell, the diagonal's direction drawn at random. Every interior vertex has degree
 * near 6 as in a 2-D Delaunay triangulation (DIMACS10 delaunay_n*), and the graph is planar.
 */
export function triangulatedMesh(n: number, seed: number): CsrGraph {
  const rng = new Rng(seed);
  const side = meshSide(n);
  const id = (r: number, c: number) => r * side + c;
  const us: number[] = [], vs: number[] = [];
  for (let r = 0; r < side; r++) {
    for (let c = 0; c < side; c++) {
      if (c + 1 < side) { us.push(id(r, c)); vs.push(id(r, c + 1)); }
      if (r + 1 < side) { us.push(id(r, c)); vs.push(id(r + 1, c)); }
      if (r + 1 < side && c + 1 < side) {
        if (rng.next() < 0.5) { us.push(id(r, c)); vs.push(id(r + 1, c + 1)); }
        else { us.push(id(r, c + 1)); vs.push(id(r + 1, c)); }
      }
    }
  }
  return graphFromEdges(side * side, us, vs);
}

/**
 * Barabasi-Albert preferential attachment (Science 1999): start from a clique on m + 1 vertices;
 * each new vertex links to m distinct earlier vertices chosen with probability proportional to
 * their degree (drawn from the list of edge endpoints, the standard O(m n) method). Every vertex
 * then has degree >= m and the graph has m (m + 1) / 2 + (n - m - 1) m edges.
 */
export function barabasiAlbert(n: number, m: number, seed: number): CsrGraph {
  const rng = new Rng(seed);
  const m0 = Math.min(n, m + 1);
  const us: number[] = [], vs: number[] = [];
  const ends: number[] = [];
  for (let i = 0; i < m0; i++) for (let j = i + 1; j < m0; j++) { us.push(i); vs.push(j); ends.push(i, j); }
  const chosen = new Set<number>();
  for (let v = m0; v < n; v++) {
    chosen.clear();
    while (chosen.size < m) chosen.add(ends[rng.int(ends.length)]!);
    for (const u of chosen) { us.push(v); vs.push(u); ends.push(v, u); }
  }
  return graphFromEdges(n, us, vs);
}

/**
 * Stochastic block model (Holland, Laskey & Leinhardt 1983) with `blocks` contiguous blocks of
 * equal size (vertex v in block floor(v blocks / n)), each pair inside a block an edge with
 * probability pIn, across blocks pOut. Pairs are skipped geometrically (Batagelj & Brandes 2005),
 * so the cost is O(n + pIn n^2 + pOut n^2), not O(n^2). Returns the graph and each vertex's block.
 */
export function stochasticBlockModel(n: number, blocks: number, pIn: number, pOut: number, seed: number): { graph: CsrGraph; labels: Int32Array } {
  const rng = new Rng(seed);
  const labels = new Int32Array(n);
  for (let v = 0; v < n; v++) labels[v] = Math.floor((v * blocks) / n);
  const us: number[] = [], vs: number[] = [];
  // Pairs (i, j), i > j, enumerated row by row; the next edge is a geometric skip away.
  const skipAll = (p: number, within: boolean) => {
    if (p <= 0) return;
    const logq = Math.log(1 - Math.min(p, 1 - 1e-12));
    let i = 1, j = -1;
    for (;;) {
      const r = 1 - rng.next(); // in (0, 1]
      j += 1 + Math.floor(Math.log(r) / logq);
      while (j >= i && i < n) { j -= i; i++; }
      if (i >= n) break;
      if ((labels[i] === labels[j]) === within) { us.push(i); vs.push(j); }
    }
  };
  // Two sweeps over all pairs, each keeping the pairs of its own kind: simple, and linear in n for
  // the sparse graphs generated here (pIn n = mean degree x blocks).
  skipAll(pIn, true);
  skipAll(pOut, false);
  return { graph: graphFromEdges(n, us, vs), labels };
}

/**
 * A neural network's training computation graph as a framework traces it (torch make_fx aten
 * graphs of forward + backward, GAP's domain), exactly n vertices:
 * - forward: an input op, then blocks drawn at random: a plain chain of 2-6 ops (conv, bn, relu),
 *   a residual block (a main path of 3-9 ops and a skip of 0 or 2 ops joined by an add) or an
 *   inception-like block (3-4 parallel branches of 1-6 ops joined by a concat);
 * - a parameter vertex beside half the ops (weights are graph inputs: edge to the op and to its
 *   gradient op);
 * - backward: a gradient op v' per forward op v, each forward edge u - v mirrored as v' - u', and
 *   v' reading its saved activation (edge v - v') with probability 0.3; the last forward op feeds
 *   the first backward one (the loss).
 * So the graph is a long, thin ladder with skip connections, as resnet50's and inception_v3's are.
 */
export function computationGraph(n: number, seed: number): CsrGraph {
  const rng = new Rng(seed);
  const fwdU: number[] = [], fwdV: number[] = []; // forward edges between forward op ids
  const paramOf: number[] = []; // per forward op: 1 if it has a parameter vertex
  let ops = 0, params = 0;
  const total = () => 2 * ops + params;
  // A new forward op fed by `inputs`; -1 when the vertex budget is spent.
  const op = (inputs: number[]): number => {
    if (total() + 2 > n) return -1;
    const v = ops++;
    for (const u of inputs) { fwdU.push(u); fwdV.push(v); }
    const p = total() + 1 <= n && rng.next() < 0.5 ? 1 : 0;
    paramOf.push(p); params += p;
    return v;
  };
  const chain = (from: number, len: number): number => {
    let u = from;
    for (let i = 0; i < len; i++) { const v = op([u]); if (v < 0) break; u = v; }
    return u;
  };
  let last = op([]);
  if (last < 0) return graphFromEdges(n, [], []); // n < 2: no room for an op and its gradient
  while (total() + 2 <= n) {
    const r = rng.next();
    if (r < 0.4) last = chain(last, 2 + rng.int(5));
    else if (r < 0.75) {
      const main = chain(last, 3 + rng.int(7));
      const skip = rng.next() < 0.5 ? last : chain(last, 2);
      const join = op(main === skip ? [main] : [main, skip]);
      last = join >= 0 ? join : main;
    } else {
      const ends = new Set<number>();
      const branches = 3 + rng.int(2);
      for (let b = 0; b < branches; b++) ends.add(chain(last, 1 + rng.int(6)));
      const join = op([...ends]);
      last = join >= 0 ? join : [...ends][0]!;
    }
  }
  // Vertex ids: forward ops 0..ops-1, gradient ops ops..2 ops-1, then parameters.
  const us: number[] = [], vs: number[] = [];
  for (let i = 0; i < fwdU.length; i++) {
    us.push(fwdU[i]!, ops + fwdV[i]!); vs.push(fwdV[i]!, ops + fwdU[i]!);
  }
  let pid = 2 * ops;
  for (let v = 0; v < ops; v++) {
    // The last forward op always feeds its gradient: that edge is the loss.
    if (v === last || rng.next() < 0.3) { us.push(v); vs.push(ops + v); }
    if (paramOf[v]) { us.push(pid, pid); vs.push(v, ops + v); pid++; }
  }
  // A vertex left over by the budget (total = n - 1) is an unused input, isolated as in real traces.
  return graphFromEdges(n, us, vs);
}
