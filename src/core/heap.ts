/**
 * A binary min-heap of timed events on typed arrays, for discrete-event simulators.
 *
 * Each entry is (time, payload): `time` a double, `payload` an int32 the caller encodes (an
 * event kind and an id). Entries with equal times come out in the order they were pushed, as
 * Python's `heapq` with an `itertools.count()` tie-breaker does; so a simulator ported from one
 * replays the same order. Push and pop are O(log n) and allocate nothing once the arrays have
 * grown to the peak size (they double when full).
 */
export class EventQueue {
  private time: Float64Array;
  /** Insertion number: the tie-breaker (a double: exact past 2^31 pushes). */
  private seq: Float64Array;
  private payload: Int32Array;
  private n = 0;
  private pushes = 0;

  constructor(capacity = 64) {
    const c = Math.max(1, capacity | 0);
    this.time = new Float64Array(c);
    this.seq = new Float64Array(c);
    this.payload = new Int32Array(c);
  }

  get size(): number {
    return this.n;
  }

  clear(): void {
    this.n = 0;
    this.pushes = 0;
  }

  push(time: number, payload: number): void {
    if (this.n === this.time.length) this.grow();
    this.rise(this.n++, time, this.pushes++, payload);
  }

  /**
   * Sift up: puts the entry (t, s, pl) in the hole at `i`, moving parents down until its place is
   * found, then writes it once.
   */
  private rise(i: number, t: number, s: number, pl: number): void {
    const T = this.time, S = this.seq, P = this.payload;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const tp = T[p]!;
      if (tp < t || (tp === t && S[p]! < s)) break;
      T[i] = tp; S[i] = S[p]!; P[i] = P[p]!;
      i = p;
    }
    T[i] = t; S[i] = s; P[i] = pl;
  }

  /** Time of the earliest entry; Infinity when empty. */
  peekTime(): number {
    return this.n > 0 ? this.time[0]! : Infinity;
  }

  /** Payload of the earliest entry (its time is peekTime() before the call). Throws when empty. */
  pop(): number {
    if (this.n === 0) throw new RangeError('EventQueue.pop on an empty queue');
    const T = this.time, S = this.seq, P = this.payload;
    const top = P[0]!;
    const last = --this.n;
    if (last === 0) return top;
    // Floyd's pop: the hole at the root moves down to a leaf along the smaller children, then the
    // last entry, which mostly belongs near the bottom, rises from there (usually no step or one).
    // Sinking it from the root would compare it with a child at every level too. The child is
    // chosen without a branch (the comparisons add 0 or 1): which child is smaller is a coin toss
    // the processor mispredicts half the time, and that branch was most of the scheduling
    // simulator's time in the queue (a micro-benchmark of 50 and 250 entries: x0.87-0.80 the
    // time of the old pop; Floyd's descent alone, with the branch, x1.0). The slot of the last
    // entry, read first, holds a sentinel that is never the smaller child, so a left child at the
    // end needs no bounds test.
    const t = T[last]!, s = S[last]!, pl = P[last]!;
    T[last] = Infinity; S[last] = Infinity;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= last) break;
      const tc = T[c]!, tr = T[c + 1]!;
      c += +(tr < tc) | (+(tr === tc) & +(S[c + 1]! < S[c]!)); // (`cond ? 1 : 0` compiles to a branch)
      T[i] = T[c]!; S[i] = S[c]!; P[i] = P[c]!;
      i = c;
    }
    this.rise(i, t, s, pl);
    return top;
  }

  /**
   * Gives every entry the time `retime(payload, time)` and restores the heap order; entries keep
   * their insertion numbers, so equal times still come out in push order. O(n).
   */
  retime(retime: (payload: number, time: number) => number): void {
    const T = this.time, P = this.payload;
    for (let i = 0; i < this.n; i++) T[i] = retime(P[i]!, T[i]!);
    for (let i = (this.n >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  private siftDown(i: number): void {
    const T = this.time, S = this.seq, P = this.payload, n = this.n;
    const t = T[i]!, s = S[i]!, pl = P[i]!;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      const r = c + 1;
      if (r < n && (T[r]! < T[c]! || (T[r] === T[c] && S[r]! < S[c]!))) c = r;
      if (t < T[c]! || (t === T[c] && s < S[c]!)) break;
      T[i] = T[c]!; S[i] = S[c]!; P[i] = P[c]!;
      i = c;
    }
    T[i] = t; S[i] = s; P[i] = pl;
  }

  /** Makes this queue an exact copy of `src` (its entries and tie-break counter), reusing its arrays when they are large enough. */
  copyFrom(src: EventQueue): void {
    if (this.time.length < src.n) {
      const c = src.time.length;
      this.time = new Float64Array(c); this.seq = new Float64Array(c); this.payload = new Int32Array(c);
    }
    this.time.set(src.time.subarray(0, src.n));
    this.seq.set(src.seq.subarray(0, src.n));
    this.payload.set(src.payload.subarray(0, src.n));
    this.n = src.n;
    this.pushes = src.pushes;
  }

  private grow(): void {
    const c = this.time.length * 2;
    const t = new Float64Array(c); t.set(this.time); this.time = t;
    const s = new Float64Array(c); s.set(this.seq); this.seq = s;
    const p = new Int32Array(c); p.set(this.payload); this.payload = p;
  }
}
