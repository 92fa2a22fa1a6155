/**
 * An undirected graph in compressed sparse row form (CSR), the layout METIS uses: vertex v's
 * neighbours are adjncy[xadj[v] .. xadj[v+1]), with the weight of each of those edges in adjwgt at
 * the same index. Every undirected edge {u, v} is stored twice, once in u's list and once in v's,
 * with the same weight; `m` counts undirected edges (adjncy.length / 2). Vertices are 0-based.
 *
 * Shared by every problem that works on graphs (STYLE.md: a graph type lives once in core).
 * Integer weights, as METIS: a cut is then an exact integer and gain buckets can index by it.
 */
import { SelfoptError } from './errors.js';

export interface CsrGraph {
  readonly n: number;
  /** Length n + 1, xadj[0] = 0, non-decreasing. */
  readonly xadj: Int32Array;
  /** Length xadj[n]: neighbour ids in [0, n). */
  readonly adjncy: Int32Array;
  /** Length n: vertex weights (>= 0). */
  readonly vwgt: Int32Array;
  /** Length xadj[n]: edge weights (> 0), equal in both directions of an edge. */
  readonly adjwgt: Int32Array;
}

/** Number of undirected edges. */
export function edgeCount(g: CsrGraph): number {
  return g.adjncy.length / 2;
}

export function totalVertexWeight(g: CsrGraph): number {
  let s = 0;
  for (let v = 0; v < g.n; v++) s += g.vwgt[v]!;
  return s;
}

/** Weighted degree of every vertex (sum of its incident edge weights): METIS's and GAP's volume. */
export function weightedDegrees(g: CsrGraph): Float64Array {
  const d = new Float64Array(g.n);
  for (let v = 0; v < g.n; v++) {
    let s = 0;
    for (let e = g.xadj[v]!; e < g.xadj[v + 1]!; e++) s += g.adjwgt[e]!;
    d[v] = s;
  }
  return d;
}

/** A problem with a graph's structure, or undefined when it is a valid undirected simple CSR graph. */
export interface GraphDefect {
  /** 0-based vertex whose list has the defect. */
  vertex: number;
  what: string;
}

/**
 * Checks the CSR invariants: array lengths, xadj monotone, neighbours in range, no self-loops, no
 * repeated neighbour, every edge present in both directions with the same weight, weights in range.
 * Returns the first defect found (in vertex order), or undefined; messages number vertices from
 * `base`. O(n + m).
 */
export function findGraphDefect(g: CsrGraph, base = 0): GraphDefect | undefined {
  const { n, xadj, adjncy, vwgt, adjwgt } = g;
  const b = base; // vertex numbers in messages: 0-based, or 1-based for a file's reader
  if (xadj.length !== n + 1 || xadj[0] !== 0) return { vertex: 0, what: `xadj has length ${xadj.length} and starts at ${xadj[0]}; expected length n + 1 = ${n + 1} starting at 0` };
  if (vwgt.length !== n) return { vertex: 0, what: `vwgt has length ${vwgt.length}, expected ${n}` };
  if (adjncy.length !== xadj[n] || adjwgt.length !== xadj[n]) return { vertex: 0, what: `adjncy/adjwgt lengths ${adjncy.length}/${adjwgt.length} differ from xadj[n] = ${xadj[n]}` };
  // mark[u] = v while scanning v's list: finds a neighbour listed twice.
  const mark = new Int32Array(n).fill(-1);
  for (let v = 0; v < n; v++) {
    if (xadj[v + 1]! < xadj[v]!) return { vertex: v, what: `xadj decreases at vertex ${v + b}` };
    if (vwgt[v]! < 0) return { vertex: v, what: `vertex weight ${vwgt[v]} is negative` };
    for (let e = xadj[v]!; e < xadj[v + 1]!; e++) {
      const u = adjncy[e]!;
      if (u < 0 || u >= n) return { vertex: v, what: `neighbour ${u + b} is out of range [${b}, ${n + b})` };
      if (u === v) return { vertex: v, what: `vertex ${v + b} has a self-loop` };
      if (adjwgt[e]! <= 0) return { vertex: v, what: `edge (${v + b}, ${u + b}) has weight ${adjwgt[e]}, not positive` };
      if (mark[u] === v) return { vertex: v, what: `neighbour ${u + b} is listed twice` };
      mark[u] = v;
    }
  }
  // Symmetry: the transpose (entry v -> u seen from u) must equal the graph. Build the transpose
  // by counting, then compare each vertex's list with its transposed list through `pos`.
  const tx = new Int32Array(n + 1);
  for (let e = 0; e < adjncy.length; e++) tx[adjncy[e]! + 1]!++;
  for (let v = 0; v < n; v++) tx[v + 1]! += tx[v]!;
  const fill = tx.slice(0, n);
  const tsrc = new Int32Array(adjncy.length), tw = new Int32Array(adjncy.length);
  for (let v = 0; v < n; v++) {
    for (let e = xadj[v]!; e < xadj[v + 1]!; e++) {
      const u = adjncy[e]!;
      tsrc[fill[u]!] = v;
      tw[fill[u]!++] = adjwgt[e]!;
    }
  }
  const pos = new Int32Array(n).fill(-1);
  for (let u = 0; u < n; u++) {
    for (let e = xadj[u]!; e < xadj[u + 1]!; e++) pos[adjncy[e]!] = e;
    for (let t = tx[u]!; t < tx[u + 1]!; t++) {
      const v = tsrc[t]!;
      const e = pos[v]!;
      if (e < 0) return { vertex: u, what: `vertex ${v + b} lists ${u + b} as a neighbour but ${u + b} does not list ${v + b}` };
      if (adjwgt[e] !== tw[t]) return { vertex: u, what: `edge (${u + b}, ${v + b}) has weight ${adjwgt[e]} but its reverse has ${tw[t]}` };
    }
    if (tx[u + 1]! - tx[u]! !== xadj[u + 1]! - xadj[u]!) {
      // Same count fails only when u lists some v that does not list u.
      for (let e = xadj[u]!; e < xadj[u + 1]!; e++) pos[adjncy[e]!] = -1;
      for (let t = tx[u]!; t < tx[u + 1]!; t++) pos[tsrc[t]!] = 1;
      for (let e = xadj[u]!; e < xadj[u + 1]!; e++) {
        if (pos[adjncy[e]!] !== 1) return { vertex: u, what: `vertex ${u + b} lists ${adjncy[e]! + b} as a neighbour but ${adjncy[e]! + b} does not list ${u + b}` };
      }
    }
    for (let e = xadj[u]!; e < xadj[u + 1]!; e++) pos[adjncy[e]!] = -1;
    for (let t = tx[u]!; t < tx[u + 1]!; t++) pos[tsrc[t]!] = -1;
  }
  return undefined;
}

/** Throws a SelfoptError naming `where` when the graph is not a valid undirected CSR graph. */
export function assertGraph(g: CsrGraph, where: string): void {
  const d = findGraphDefect(g);
  if (d) throw new SelfoptError(`invalid graph: ${d.what} (vertex ${d.vertex})`, where, 'a symmetric CSR graph without self-loops, positive edge weights');
}

/**
 * Builds a CSR graph from undirected edges (u, v, w) with u != v, 0-based; repeated pairs are
 * merged by adding their weights. Unit vertex weights unless given.
 */
export function graphFromEdges(n: number, us: ArrayLike<number>, vs: ArrayLike<number>, ws?: ArrayLike<number>, vwgt?: Int32Array): CsrGraph {
  const m = us.length;
  const deg = new Int32Array(n + 1);
  for (let i = 0; i < m; i++) {
    const u = us[i]!, v = vs[i]!;
    if (u === v) throw new SelfoptError(`self-loop (${u}, ${u})`, `edge ${i}`, 'edges between distinct vertices');
    deg[u + 1]!++;
    deg[v + 1]!++;
  }
  for (let v = 0; v < n; v++) deg[v + 1]! += deg[v]!;
  const fill = deg.slice(0, n);
  const adj = new Int32Array(2 * m), wt = new Int32Array(2 * m);
  for (let i = 0; i < m; i++) {
    const u = us[i]!, v = vs[i]!, w = ws ? ws[i]! : 1;
    adj[fill[u]!] = v; wt[fill[u]!++] = w;
    adj[fill[v]!] = u; wt[fill[v]!++] = w;
  }
  // Merge repeated neighbours in place, list by list.
  const xadj = new Int32Array(n + 1);
  const last = new Int32Array(n).fill(-1);
  let out = 0;
  for (let v = 0; v < n; v++) {
    const start = out;
    for (let e = deg[v]!; e < deg[v + 1]!; e++) {
      const u = adj[e]!;
      if (last[u]! >= start) { wt[last[u]!]! += wt[e]!; continue; }
      last[u] = out;
      adj[out] = u;
      wt[out++] = wt[e]!;
    }
    xadj[v + 1] = out;
  }
  return { n, xadj, adjncy: adj.slice(0, out), vwgt: vwgt ?? new Int32Array(n).fill(1), adjwgt: wt.slice(0, out) };
}
