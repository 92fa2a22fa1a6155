/**
 * Fiduccia-Mattheyses boundary refinement of a bisection (Fiduccia & Mattheyses, DAC 1982), as
 * METIS 5's 2-way FM runs it at each level of uncoarsening: vertices move one at a time from the
 * side over its bound or with the highest gain, each at most once per pass, and the pass is rolled
 * back to its best balanced prefix. Shared by the multilevel bisection, spectral+fm and GAP.
 */
import type { CsrGraph } from '../../core/graph.js';
import type { Rng } from '../../core/rng.js';

/**
 * Indexed binary max-heap of vertices keyed by gain. METIS 5 keeps its FM gains in such a
 * priority queue (rpq); classic FM uses bucket lists, which need a small integer gain range that
 * weighted coarse graphs do not have.
 */
export class GainQueue {
  private heap: Int32Array;
  private key: Float64Array;
  private pos: Int32Array;
  private size = 0;

  constructor(capacity: number) {
    this.heap = new Int32Array(capacity);
    this.key = new Float64Array(capacity);
    this.pos = new Int32Array(capacity).fill(-1);
  }

  /** Empties the queue, growing it to hold vertices [0, n). */
  reset(n: number): void {
    if (n > this.pos.length) {
      this.heap = new Int32Array(n); this.key = new Float64Array(n); this.pos = new Int32Array(n).fill(-1);
    } else {
      for (let i = 0; i < this.size; i++) this.pos[this.heap[i]!] = -1;
    }
    this.size = 0;
  }

  get length(): number { return this.size; }
  contains(v: number): boolean { return this.pos[v]! >= 0; }
  top(): number { return this.size > 0 ? this.heap[0]! : -1; }
  topKey(): number { return this.key[this.heap[0]!]!; }

  insert(v: number, k: number): void {
    this.key[v] = k;
    const i = this.size++;
    this.heap[i] = v;
    this.pos[v] = i;
    this.up(i);
  }

  update(v: number, k: number): void {
    const old = this.key[v]!;
    this.key[v] = k;
    if (k > old) this.up(this.pos[v]!); else this.down(this.pos[v]!);
  }

  remove(v: number): void {
    const i = this.pos[v]!;
    this.pos[v] = -1;
    const last = this.heap[--this.size]!;
    if (i === this.size) return;
    this.heap[i] = last;
    this.pos[last] = i;
    this.up(i);
    this.down(this.pos[last]!);
  }

  popMax(): number {
    if (this.size === 0) return -1;
    const v = this.heap[0]!;
    this.remove(v);
    return v;
  }

  private up(i: number): void {
    const h = this.heap, key = this.key, pos = this.pos;
    const v = h[i]!, k = key[v]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pv = h[p]!;
      if (key[pv]! >= k) break;
      h[i] = pv; pos[pv] = i; i = p;
    }
    h[i] = v; pos[v] = i;
  }

  private down(i: number): void {
    const h = this.heap, key = this.key, pos = this.pos, n = this.size;
    const v = h[i]!, k = key[v]!;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && key[h[c + 1]!]! > key[h[c]!]!) c++;
      const cv = h[c]!;
      if (key[cv]! <= k) break;
      h[i] = cv; pos[cv] = i; i = c;
    }
    h[i] = v; pos[v] = i;
  }
}

/** FM state reused across levels: the two side queues and scratch arrays, grown once to the finest n. */
export class Fm {
  readonly q0: GainQueue;
  readonly q1: GainQueue;
  private id: Int32Array;
  private ed: Int32Array;
  private locked: Int32Array;
  private moved: Int32Array;
  private perm: Int32Array;
  private g: Float64Array;
  private stamp = 0;

  constructor(n: number) {
    this.q0 = new GainQueue(n); this.q1 = new GainQueue(n);
    this.id = new Int32Array(n); this.ed = new Int32Array(n); this.locked = new Int32Array(n);
    this.moved = new Int32Array(n); this.perm = new Int32Array(n); this.g = new Float64Array(n);
  }

  private ensure(n: number): void {
    if (n <= this.id.length) return;
    this.id = new Int32Array(n); this.ed = new Int32Array(n); this.locked = new Int32Array(n);
    this.moved = new Int32Array(n); this.perm = new Int32Array(n); this.g = new Float64Array(n);
    this.stamp = 0;
  }

  gainScratch(n: number): Float64Array { this.ensure(n); return this.g; }

  /**
   * Refines the bisection `where` in place; returns its cut and its excess weight over the bounds
   * (0 when balanced). Each pass moves unlocked boundary vertices one at a time, highest gain first,
   * from the side over its bound if any, else from either side as long as the receiving side stays
   * within its bound; each vertex moves at most once per pass; after `limit` moves without a new
   * best the pass ends and the moves after the best state are undone. The best state is the one
   * with the least excess, then the lowest cut, then the weights nearest the targets, so starting
   * from a balanced bisection the cut never increases.
   */
  refine(g: CsrGraph, where: Int32Array, targets: readonly [number, number], maxw: readonly [number, number], passes: number, rng: Rng): { cut: number; excess: number } {
    const { n, xadj, adjncy, adjwgt, vwgt } = g;
    this.ensure(n);
    const id = this.id, ed = this.ed, locked = this.locked, moved = this.moved, perm = this.perm;
    const pw = [0, 0];
    let cut = 0;
    for (let v = 0; v < n; v++) {
      const s = where[v]!;
      pw[s]! += vwgt[v]!;
      let a = 0, b = 0;
      for (let e = xadj[v]!; e < xadj[v + 1]!; e++) {
        if (where[adjncy[e]!] === s) a += adjwgt[e]!; else b += adjwgt[e]!;
      }
      id[v] = a; ed[v] = b; cut += b;
    }
    cut /= 2;
    const excessOf = (p0: number, p1: number) => Math.max(0, p0 - maxw[0]) + Math.max(0, p1 - maxw[1]);
    const limit = Math.min(Math.max(Math.floor(0.01 * n), 15), 100);
    const qs = [this.q0, this.q1];

    for (let pass = 0; pass < passes; pass++) {
      this.q0.reset(n); this.q1.reset(n);
      const stamp = ++this.stamp;
      let nb = 0;
      for (let v = 0; v < n; v++) if (ed[v]! > 0) perm[nb++] = v;
      for (let i = nb - 1; i > 0; i--) { const j = rng.int(i + 1); const t = perm[i]!; perm[i] = perm[j]!; perm[j] = t; }
      for (let i = 0; i < nb; i++) { const v = perm[i]!; qs[where[v]!]!.insert(v, ed[v]! - id[v]!); }

      const startCut = cut, startExcess = excessOf(pw[0]!, pw[1]!);
      let bestCut = cut, bestExcess = startExcess, bestDiff = Math.abs(pw[0]! - targets[0]);
      let bestIdx = 0, nmoved = 0;
      for (;;) {
        let from: number;
        if (pw[0]! > maxw[0]) from = 0;
        else if (pw[1]! > maxw[1]) from = 1;
        else {
          const t0 = this.q0.top(), t1 = this.q1.top();
          const ok0 = t0 >= 0 && pw[1]! + vwgt[t0]! <= maxw[1];
          const ok1 = t1 >= 0 && pw[0]! + vwgt[t1]! <= maxw[0];
          if (ok0 && ok1) from = this.q0.topKey() > this.q1.topKey() || (this.q0.topKey() === this.q1.topKey() && pw[0]! - targets[0] > pw[1]! - targets[1]) ? 0 : 1;
          else if (ok0) from = 0;
          else if (ok1) from = 1;
          else break;
        }
        const v = qs[from]!.popMax();
        if (v < 0) break;
        const to = 1 - from;
        cut -= ed[v]! - id[v]!;
        where[v] = to;
        pw[from]! -= vwgt[v]!; pw[to]! += vwgt[v]!;
        locked[v] = stamp;
        moved[nmoved++] = v;
        const t = id[v]!; id[v] = ed[v]!; ed[v] = t;
        for (let e = xadj[v]!; e < xadj[v + 1]!; e++) {
          const u = adjncy[e]!, w = adjwgt[e]!;
          if (where[u] === to) { id[u]! += w; ed[u]! -= w; } else { id[u]! -= w; ed[u]! += w; }
          if (locked[u] === stamp) continue;
          const q = qs[where[u]!]!;
          if (ed[u]! > 0) {
            if (q.contains(u)) q.update(u, ed[u]! - id[u]!); else q.insert(u, ed[u]! - id[u]!);
          } else if (q.contains(u)) q.remove(u);
        }
        const excess = excessOf(pw[0]!, pw[1]!);
        const diff = Math.abs(pw[0]! - targets[0]);
        if (excess < bestExcess || (excess === bestExcess && (cut < bestCut || (cut === bestCut && diff < bestDiff)))) {
          bestExcess = excess; bestCut = cut; bestDiff = diff; bestIdx = nmoved;
        } else if (nmoved - bestIdx > limit) break;
      }
      // Undo the moves after the best state.
      for (let i = nmoved - 1; i >= bestIdx; i--) {
        const v = moved[i]!;
        const from = where[v]!, to = 1 - from;
        cut -= ed[v]! - id[v]!;
        where[v] = to;
        pw[from]! -= vwgt[v]!; pw[to]! += vwgt[v]!;
        const t = id[v]!; id[v] = ed[v]!; ed[v] = t;
        for (let e = xadj[v]!; e < xadj[v + 1]!; e++) {
          const u = adjncy[e]!, w = adjwgt[e]!;
          if (where[u] === to) { id[u]! += w; ed[u]! -= w; } else { id[u]! -= w; ed[u]! += w; }
        }
      }
      if (bestIdx === 0 || (cut >= startCut && excessOf(pw[0]!, pw[1]!) >= startExcess)) break;
    }
    return { cut, excess: excessOf(pw[0]!, pw[1]!) };
  }
}
