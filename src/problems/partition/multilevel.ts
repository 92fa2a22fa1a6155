/**
 * A multilevel graph partitioner of METIS's class (Karypis & Kumar, SIAM J. Sci. Comput. 1998;
 * METIS 5 `pmetis`, recursive bisection), read top to bottom:
 *
 * 1. Coarsening by heavy-edge matching (HEM): vertices visited in a random order from the Rng, each
 *    unmatched vertex matched with the unmatched neighbour over its heaviest edge, unless the pair
 *    would exceed maxVertexWeight (1.5 x total / coarsenTo, as METIS); matched pairs contract into
 *    one vertex, parallel edges add their weights. Stops at coarsenTo vertices or when a level
 *    shrinks the graph by less than 15% (METIS's COARSEN_FRACTION 0.85).
 * 2. Initial bisection of the coarsest graph by greedy graph growing (GGGP): from a random vertex,
 *    add the frontier vertex with the highest gain until the grown side has its target weight;
 *    `initTries` tries, each refined by FM, the lowest cut among the balanced ones kept.
 * 3. Uncoarsening: the bisection is projected level by level and refined by Fiduccia-Mattheyses on
 *    the boundary (the Fm of fm.ts).
 * 4. k parts by recursive bisection: k0 = floor(k/2) parts on side 0 with target weight k0/k of
 *    the graph, k1 = k - k0 on side 1 (so any k works, not only powers of two); each side's
 *    induced subgraph is partitioned recursively. With b = ceil(log2 k) levels of bisection each
 *    bounded by ub^(1/b), every final part weighs at most ub x average.
 *
 * 5. Direct k-way refinement (kway.ts) of the finished k-way partition, `kwayPasses` greedy passes
 *    within ub: moves between parts that recursive bisection separated at different levels, which
 *    no bisection's FM could make (gpmetis's default `-ptype=kway` refines k-way the same way);
 *    then `vcycles` V-cycles of it (kwayVcycle below; none by default).
 */
import type { CsrGraph } from '../../core/graph.js';
import { totalVertexWeight } from '../../core/graph.js';
import type { Rng } from '../../core/rng.js';
import { kwayRefine } from './kway.js';
import { Fm } from './fm.js';

export interface MultilevelConfig {
  /** Allowed imbalance: every part weighs at most ub x (total / k). METIS ufactor 30 = 1.03. */
  ub: number;
  /** Coarsen until at most this many vertices (METIS's CoarsenTo for bisection is of this order). */
  coarsenTo: number;
  /** Initial bisections tried on the coarsest graph; the best cut is kept. */
  initTries: number;
  /** FM passes per level at most (METIS niter = 10); a pass that gains nothing ends them. */
  fmPasses: number;
  /** Whole multilevel bisections run per split (each with its own coarsening); the lowest cut is kept. */
  bisectionTries: number;
  /** Greedy k-way refinement passes after the recursive bisection (0 = recursive bisection only). */
  kwayPasses: number;
  /** V-cycles of k-way refinement after that (kwayVcycle; 0 = none, the default). */
  vcycles: number;
}

export const DEFAULT_MULTILEVEL: MultilevelConfig = { ub: 1.03, coarsenTo: 100, initTries: 8, fmPasses: 10, bisectionTries: 2, kwayPasses: 10, vcycles: 0 };

/**
 * Other initial bisections in place of greedy graph growing (GAP's network, gap.ts): `initial`
 * gives candidate bisections of the coarsest graph, side 0 getting frac0 of its weight. With
 * `refine`, each is FM-refined and the best kept (as the grown ones are); with `refine` false only
 * the first is used and nothing is refined at any level: that bisection projected back.
 */
export interface BisectionHooks {
  initial: (coarsest: CsrGraph, frac0: number, rng: Rng) => Int32Array[];
  refine: boolean;
}

/** Partitions g into k parts; returns part ids in [0, k). */
export function multilevelPartition(g: CsrGraph, k: number, rng: Rng, cfg: MultilevelConfig = DEFAULT_MULTILEVEL, hooks?: BisectionHooks): Int32Array {
  const part = new Int32Array(g.n);
  if (k <= 1 || g.n === 0) return part;
  const levels = Math.ceil(Math.log2(k));
  const ubBisect = Math.pow(cfg.ub, 1 / levels);
  const vmap = new Int32Array(g.n);
  for (let v = 0; v < g.n; v++) vmap[v] = v;
  recursiveBisection(g, vmap, k, 0, part, ubBisect, rng, cfg, hooks);
  if (cfg.kwayPasses <= 0) return part;
  kwayRefine(g, part, k, cfg.ub, cfg.kwayPasses, rng);
  let refined: Int32Array = part;
  for (let c = 0; c < cfg.vcycles; c++) refined = kwayVcycle(g, refined, k, cfg.ub, cfg.kwayPasses, rng);
  return refined;
}

/**
 * METIS's multilevel k-way scheme (Karypis & Kumar, JPDC 1998; gpmetis -ptype=kway): the whole
 * graph is coarsened once by heavy-edge matching to max(n / (20 log2 k), 30 k) vertices (METIS's
 * CoarsenTo for k-way), the coarsest graph is split by the recursive bisection above, and while
 * uncoarsening every level is refined by greedy k-way refinement (which also restores balance where
 * the coarse vertices were too heavy to split evenly).
 */
export function multilevelKwayPartition(g: CsrGraph, k: number, rng: Rng, cfg: MultilevelConfig = DEFAULT_MULTILEVEL): Int32Array {
  if (k <= 1 || g.n === 0) return new Int32Array(g.n);
  const h = coarsenHierarchy(g, kwayCoarsenTo(g.n, k), rng);
  const coarsest = h.graphs[h.graphs.length - 1]!;
  const part = multilevelPartition(coarsest, k, rng, { ...cfg, kwayPasses: 0 });
  return uncoarsen(h, part, (fine, p) => { kwayRefine(fine, p, k, cfg.ub, cfg.kwayPasses, rng); });
}

/** METIS's CoarsenTo for k-way partitioning: max(n / (20 log2 k), 30 k) vertices. */
export function kwayCoarsenTo(n: number, k: number): number {
  return Math.max(Math.floor(n / (20 * Math.log2(k))), 30 * k);
}

/** The levels of a coarsening: graphs[0] the input, cmaps[l] maps graphs[l]'s vertices to graphs[l + 1]'s. */
export interface Hierarchy { graphs: CsrGraph[]; cmaps: Int32Array[] }

/**
 * Heavy-edge matching level after level until at most coarsenTo vertices, or until a level shrinks
 * the graph by less than 15% (METIS's COARSEN_FRACTION); coarse vertices weigh at most
 * 1.5 x total / coarsenTo, as METIS.
 */
export function coarsenHierarchy(g: CsrGraph, coarsenTo: number, rng: Rng, part?: Int32Array): Hierarchy {
  const maxVertexWeight = Math.max(1, Math.floor(1.5 * totalVertexWeight(g) / Math.max(1, coarsenTo)));
  const graphs: CsrGraph[] = [g];
  const cmaps: Int32Array[] = [];
  let cur = g, curPart = part;
  while (cur.n > coarsenTo) {
    const { coarse, cmap } = coarsenOnce(cur, rng, maxVertexWeight, curPart);
    if (curPart) {
      const p = new Int32Array(coarse.n);
      for (let v = 0; v < cur.n; v++) p[cmap[v]!] = curPart[v]!;
      curPart = p;
    }
    if (coarse.n === cur.n) break;
    graphs.push(coarse); cmaps.push(cmap); cur = coarse;
    if (coarse.n > 0.85 * graphs[graphs.length - 2]!.n) break;
  }
  return { graphs, cmaps };
}

/**
 * One V-cycle of k-way refinement (Walshaw's multilevel refinement; KaFFPa's V-cycles): `part` is
 * kept while the graph is coarsened by heavy-edge matching that pairs only vertices of the same
 * part (to METIS's k-way CoarsenTo), then k-way refinement runs on every level from the coarsest
 * back to g. On a coarse level one move shifts a whole cluster (a segment of a computation graph's
 * chain, say), which single-vertex moves on g cannot make without first losing cut. Returns the
 * refined partition; its cut is never higher (greedy passes never raise it, and a balanced input
 * triggers no balancing move).
 */
export function kwayVcycle(g: CsrGraph, part: Int32Array, k: number, ub: number, passes: number, rng: Rng): Int32Array {
  const h = coarsenHierarchy(g, kwayCoarsenTo(g.n, k), rng, part);
  let cpart = part;
  for (let l = 0; l < h.cmaps.length; l++) {
    const cmap = h.cmaps[l]!, p = new Int32Array(h.graphs[l + 1]!.n);
    for (let v = 0; v < cmap.length; v++) p[cmap[v]!] = cpart[v]!;
    cpart = p;
  }
  return uncoarsen(h, cpart, (fine, p) => { kwayRefine(fine, p, k, ub, passes, rng); });
}

/**
 * Projects a partition of the coarsest graph level by level back to graphs[0]; `refine` (when
 * given) is called on the coarsest graph and again after each projection.
 */
export function uncoarsen(h: Hierarchy, coarsestPart: Int32Array, refine?: (g: CsrGraph, part: Int32Array) => void): Int32Array {
  let part = coarsestPart;
  refine?.(h.graphs[h.graphs.length - 1]!, part);
  for (let l = h.graphs.length - 2; l >= 0; l--) {
    const fine = h.graphs[l]!, cmap = h.cmaps[l]!;
    const p = new Int32Array(fine.n);
    for (let v = 0; v < fine.n; v++) p[v] = part[cmap[v]!]!;
    part = p;
    refine?.(fine, part);
  }
  return part;
}

function recursiveBisection(g: CsrGraph, vmap: Int32Array, k: number, offset: number, out: Int32Array, ub: number, rng: Rng, cfg: MultilevelConfig, hooks?: BisectionHooks): void {
  if (k === 1 || g.n === 0) {
    for (let v = 0; v < g.n; v++) out[vmap[v]!] = offset;
    return;
  }
  const k0 = Math.floor(k / 2), k1 = k - k0;
  let where = multilevelBisection(g, k0 / k, ub, rng, cfg, hooks);
  for (let t = 1; t < cfg.bisectionTries; t++) {
    const other = multilevelBisection(g, k0 / k, ub, rng, cfg, hooks);
    if (bisectionCut(g, other) < bisectionCut(g, where)) where = other;
  }
  for (const side of [0, 1]) {
    const kk = side === 0 ? k0 : k1;
    const { sub, subMap } = inducedSubgraph(g, where, side, vmap);
    recursiveBisection(sub, subMap, kk, offset + (side === 0 ? 0 : k0), out, ub, rng, cfg, hooks);
  }
}

function bisectionCut(g: CsrGraph, where: Int32Array): number {
  let cut = 0;
  for (let v = 0; v < g.n; v++) for (let e = g.xadj[v]!; e < g.xadj[v + 1]!; e++) if (where[g.adjncy[e]!] !== where[v]) cut += g.adjwgt[e]!;
  return cut / 2;
}

/** The subgraph induced by the vertices with where[v] === side; subMap maps its vertices to original ids. */
export function inducedSubgraph(g: CsrGraph, where: Int32Array, side: number, vmap: Int32Array): { sub: CsrGraph; subMap: Int32Array } {
  const local = new Int32Array(g.n).fill(-1);
  let n = 0, m = 0;
  for (let v = 0; v < g.n; v++) {
    if (where[v] !== side) continue;
    local[v] = n++;
    for (let e = g.xadj[v]!; e < g.xadj[v + 1]!; e++) if (where[g.adjncy[e]!] === side) m++;
  }
  const xadj = new Int32Array(n + 1), adjncy = new Int32Array(m), adjwgt = new Int32Array(m), vwgt = new Int32Array(n), subMap = new Int32Array(n);
  let i = 0, j = 0;
  for (let v = 0; v < g.n; v++) {
    if (where[v] !== side) continue;
    vwgt[i] = g.vwgt[v]!;
    subMap[i] = vmap[v]!;
    for (let e = g.xadj[v]!; e < g.xadj[v + 1]!; e++) {
      const u = g.adjncy[e]!;
      if (where[u] !== side) continue;
      adjncy[j] = local[u]!;
      adjwgt[j++] = g.adjwgt[e]!;
    }
    xadj[++i] = j;
  }
  return { sub: { n, xadj, adjncy, vwgt, adjwgt }, subMap };
}

// ---------------------------------------------------------------------------------------------
// Multilevel bisection

/** Bisects g: side 0 gets frac0 of the weight, each side at most ub x its target. Returns 0/1 per vertex. */
export function multilevelBisection(g: CsrGraph, frac0: number, ub: number, rng: Rng, cfg: MultilevelConfig = DEFAULT_MULTILEVEL, hooks?: BisectionHooks): Int32Array {
  const tw = totalVertexWeight(g);
  const target0 = frac0 * tw;
  const targets = [target0, tw - target0] as const;
  const maxw = [ub * targets[0], ub * targets[1]] as const;

  // 1. Coarsen.
  const graphs: CsrGraph[] = [g];
  const cmaps: Int32Array[] = [];
  const maxVertexWeight = Math.max(1, Math.floor(1.5 * tw / cfg.coarsenTo));
  let cur = g;
  while (cur.n > cfg.coarsenTo) {
    const { coarse, cmap } = coarsenOnce(cur, rng, maxVertexWeight);
    if (coarse.n > 0.85 * cur.n) {
      if (coarse.n === cur.n) break;
      graphs.push(coarse); cmaps.push(cmap); cur = coarse;
      break;
    }
    graphs.push(coarse); cmaps.push(cmap); cur = coarse;
  }

  // 2. Initial bisection of the coarsest graph: best of several grown and refined bisections
  // (or of the hook's candidates, refined when hooks.refine; unrefined, its first).
  const coarsest = graphs[graphs.length - 1]!;
  const fm = new Fm(g.n);
  let where: Int32Array = new Int32Array(coarsest.n);
  const refine = hooks?.refine ?? true;
  const candidates = hooks ? hooks.initial(coarsest, frac0, rng) : [];
  if (hooks && !refine) where = candidates[0]!;
  let bestCut = Infinity, bestExcess = Infinity;
  const trial = new Int32Array(coarsest.n);
  const tries = hooks ? (refine ? candidates.length : 0) : Math.max(1, cfg.initTries);
  for (let t = 0; t < tries; t++) {
    if (hooks) trial.set(candidates[t]!);
    else growBisection(coarsest, trial, targets, maxw, rng, fm);
    const { cut, excess } = fm.refine(coarsest, trial, targets, maxw, cfg.fmPasses, rng);
    if (excess < bestExcess || (excess === bestExcess && cut < bestCut)) {
      bestExcess = excess; bestCut = cut;
      where.set(trial);
    }
  }

  // 3. Uncoarsen: project and refine at every level.
  for (let l = graphs.length - 2; l >= 0; l--) {
    const fine = graphs[l]!, cmap = cmaps[l]!;
    const w = new Int32Array(fine.n);
    for (let v = 0; v < fine.n; v++) w[v] = where[cmap[v]!]!;
    where = w;
    if (refine) fm.refine(fine, where, targets, maxw, cfg.fmPasses, rng);
  }
  return where;
}

/**
 * One level of heavy-edge matching and contraction. cmap maps each vertex to its coarse vertex.
 * With `part`, only vertices of the same part are matched (so a partition carries to the coarse graph).
 */
export function coarsenOnce(g: CsrGraph, rng: Rng, maxVertexWeight: number, part?: Int32Array): { coarse: CsrGraph; cmap: Int32Array } {
  const { n, xadj, adjncy, adjwgt, vwgt } = g;
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  rng.shuffle(perm);
  const match = new Int32Array(n).fill(-1);
  const cmap = new Int32Array(n);
  const first = new Int32Array(n); // coarse vertex -> one of its fine vertices
  let cn = 0;
  for (let i = 0; i < n; i++) {
    const u = perm[i]!;
    if (match[u] !== -1) continue;
    let best = -1, bw = -1;
    const wu = vwgt[u]!;
    for (let e = xadj[u]!; e < xadj[u + 1]!; e++) {
      const v = adjncy[e]!;
      if (match[v] === -1 && adjwgt[e]! > bw && wu + vwgt[v]! <= maxVertexWeight && (!part || part[v] === part[u])) { best = v; bw = adjwgt[e]!; }
    }
    if (best < 0) { match[u] = u; cmap[u] = cn; }
    else { match[u] = best; match[best] = u; cmap[u] = cn; cmap[best] = cn; }
    first[cn++] = u;
  }
  // Contract: merge the two lists of each pair, parallel edges summed via `slot`.
  const cxadj = new Int32Array(cn + 1), cvwgt = new Int32Array(cn);
  const cadj = new Int32Array(adjncy.length), cw = new Int32Array(adjncy.length);
  const slot = new Int32Array(cn).fill(-1);
  let ne = 0;
  for (let c = 0; c < cn; c++) {
    const start = ne;
    const u = first[c]!, v = match[u]!;
    for (let s = 0; s < 2; s++) {
      const x = s === 0 ? u : v;
      if (s === 1 && v === u) break;
      cvwgt[c]! += vwgt[x]!;
      for (let e = xadj[x]!; e < xadj[x + 1]!; e++) {
        const cu = cmap[adjncy[e]!]!;
        if (cu === c) continue;
        const at = slot[cu]!;
        if (at < 0) { slot[cu] = ne; cadj[ne] = cu; cw[ne++] = adjwgt[e]!; }
        else cw[at]! += adjwgt[e]!;
      }
    }
    for (let j = start; j < ne; j++) slot[cadj[j]!] = -1;
    cxadj[c + 1] = ne;
  }
  return { coarse: { n: cn, xadj: cxadj, adjncy: cadj.slice(0, ne), vwgt: cvwgt, adjwgt: cw.slice(0, ne) }, cmap };
}

/**
 * Greedy graph growing (GGGP, Karypis & Kumar 1998): everything starts on side 1; from a random
 * seed, the side-1 vertex with the highest gain (edge weight to side 0 minus to side 1) moves to
 * side 0 until side 1 is within its bound. A vertex that would overfill side 0 is skipped; a
 * disconnected graph gets a new random seed when the frontier runs dry.
 */
function growBisection(g: CsrGraph, where: Int32Array, targets: readonly [number, number], maxw: readonly [number, number], rng: Rng, fm: Fm): void {
  const { n, xadj, adjncy, adjwgt, vwgt } = g;
  where.fill(1);
  let pw0 = 0, pw1 = totalVertexWeight(g);
  const q = fm.q0;
  q.reset(n);
  const gain = fm.gainScratch(n);
  for (let v = 0; v < n; v++) {
    let d = 0;
    for (let e = xadj[v]!; e < xadj[v + 1]!; e++) d += adjwgt[e]!;
    gain[v] = -d; // all neighbours on side 1
  }
  const skipped = new Uint8Array(n);
  let remaining = n;
  while (pw1 > maxw[1] || pw0 < targets[0] - 0.5 * (maxw[0] - targets[0])) {
    let v = q.popMax();
    if (v < 0) {
      // Frontier empty: a new random seed among side-1 vertices not yet skipped.
      if (remaining === 0) break;
      let r = rng.int(n);
      for (let tries = 0; tries < n && (where[r] !== 1 || skipped[r]); tries++) r = (r + 1) % n;
      if (where[r] !== 1 || skipped[r]) break;
      v = r;
    }
    if (pw0 + vwgt[v]! > maxw[0]) { skipped[v] = 1; remaining--; continue; }
    where[v] = 0; pw0 += vwgt[v]!; pw1 -= vwgt[v]!; remaining--;
    for (let e = xadj[v]!; e < xadj[v + 1]!; e++) {
      const u = adjncy[e]!;
      if (where[u] !== 1 || skipped[u]) continue;
      gain[u]! += 2 * adjwgt[e]!;
      if (q.contains(u)) q.update(u, gain[u]!); else q.insert(u, gain[u]!);
    }
  }
}
