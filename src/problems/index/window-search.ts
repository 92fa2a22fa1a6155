/**
 * The last-mile search of the learned indexes (PGM, RMI, RadixSpline): the exact lower bound of
 * q.key[qi] given a window [lo, hi) that a model promises holds it (the answer p is in [lo, hi]),
 * and the model's predicted position P in it. Same contract as keys.ts `lastMile`, and it falls
 * back to `lastMile` (which widens the window exponentially) when the promise is broken, so the
 * answer is exact on every input.
 *
 * What it does differently (a miss to memory costs 100-300 ns on the development machine, so
 * lookups are paid in cache lines):
 * - It starts at the prediction. The window is sized for the model's worst error in the leaf or
 *   segment, but the average error is far smaller (7-11 positions on the real sets, against
 *   windows of 30-64), so the answer is usually on P's own cache line. An exponential search
 *   from P (probe P, then P +- 1, 3, 7, ... until the answer is bracketed, then a binary search
 *   of the bracket; Bentley & Yao 1976) touches that line first and mostly stays on it; a binary
 *   search of the whole window first probes its middle and then lines 8 and 4 keys away, each a
 *   miss of its own. Measured on the real sets with the benchmark's lookup loop (RMI): 12-20%
 *   less time per lookup than the binary search of the window; a branch-free search of the window
 *   (SOSD's BranchlessBinarySearch), fixed-step or not, was no faster than the binary search.
 * - Fewer cache lines. `lastMile` checks both window edges before searching. The edges only
 *   matter when the search ends on one of them, and then the neighbouring key is on a line just
 *   loaded: the check is done there, after the search.
 * - It reads the key set's form (keys.ts): one exact value a key (the low halves when every key
 *   is below 2^32, else the order-exact doubles s), the array the payload check after the lookup
 *   reads too.
 */
import { KeyForm, type KeySet, lastMile, u32Query } from './keys.js';

/**
 * Lookups whose window missed the answer (the model's promise broken, by rounding of x or a
 * bug), since the process started: read by tests and the benchmark script. Counted on the slow
 * path only.
 */
let fallbacks = 0;
export function windowFallbacks(): number {
  return fallbacks;
}

function widen(keys: KeySet, q: KeySet, qi: number, lo: number, hi: number): number {
  fallbacks++;
  return lastMile(keys, q, qi, lo, hi);
}

/** How a window is searched: the key set's form (keys.ts KeyForm), fixed per key set. */
export const enum WindowMode {
  /** KeyForm.S: the order-exact doubles s decide every comparison. */
  S = 0,
  /** KeyForm.U32 (uint32 sets): the low halves decide. */
  U32 = 1,
  /** KeyForm.Halves: the high halves, then the low halves on ties. */
  Exact = 2,
}

export function windowModeOf(keys: KeySet): WindowMode {
  return keys.form === KeyForm.U32 ? WindowMode.U32 : keys.form === KeyForm.S ? WindowMode.S : WindowMode.Exact;
}

/** The search for a given mode (hot paths call the mode's function directly). */
export function searchWindow(mode: WindowMode, keys: KeySet, q: KeySet, qi: number, lo: number, hi: number, P: number): number {
  return mode === WindowMode.S ? searchWindowS(keys, q, qi, lo, hi, P)
    : mode === WindowMode.U32 ? searchWindowU32(keys, q, qi, lo, hi, P)
    : searchWindowExact(keys, q, qi, lo, hi, P);
}

// The three searches are one algorithm on three arrays, written out per array so that each
// comparison is a single typed-array load and compare (no callback on the hot path):
//   clamp [lo, hi) to [0, n] and P into [lo, hi - 1];
//   key[P] < q: gallop right, probing P+1, P+2, P+4, ... (bounded by hi), then binary search;
//   otherwise:  gallop left, probing P-1, P-2, P-4, ... (bounded by lo), then binary search;
//   an answer on an edge of [lo, hi] is confirmed by its neighbour outside, or the window widens.

/** WindowMode.S: valid when keys.exactS (s exact and order-preserving). */
export function searchWindowS(keys: KeySet, q: KeySet, qi: number, lo: number, hi: number, P: number): number {
  const n = keys.n;
  if (lo < 0) lo = 0;
  if (hi > n) hi = n;
  if (lo > hi) lo = hi;
  const a = keys.s;
  const v = q.s[qi]!;
  let l: number, r: number;
  if (lo === hi) {
    l = r = lo;
  } else {
    const p = P < hi ? (P > lo ? P : lo) : hi - 1;
    if (a[p]! < v) { // the answer is in [p + 1, hi]
      l = p + 1;
      let step = 1;
      while (l + step <= hi && a[l + step - 1]! < v) { l += step; step *= 2; }
      r = l + step - 1 < hi ? l + step - 1 : hi;
    } else { // the answer is in [lo, p]
      r = p;
      let step = 1;
      while (r - step >= lo && !(a[r - step]! < v)) { r -= step; step *= 2; }
      l = r - step + 1 > lo ? r - step + 1 : lo;
    }
  }
  while (l < r) {
    const mid = (l + r) >>> 1;
    if (a[mid]! < v) l = mid + 1;
    else r = mid;
  }
  // On an edge, the model's promise may have been broken: check the neighbour.
  if ((l === lo && lo > 0 && !(a[lo - 1]! < v)) || (l === hi && hi < n && a[hi]! < v)) return widen(keys, q, qi, lo, hi);
  return l;
}

/** WindowMode.U32 (uint32 sets): every key.s high half is 0, so the low half is the key. */
export function searchWindowU32(keys: KeySet, q: KeySet, qi: number, lo: number, hi: number, P: number): number {
  const n = keys.n;
  if (lo < 0) lo = 0;
  if (hi > n) hi = n;
  if (lo > hi) lo = hi;
  const a = keys.lo;
  const v = u32Query(q, qi);
  let l: number, r: number;
  if (lo === hi) {
    l = r = lo;
  } else {
    const p = P < hi ? (P > lo ? P : lo) : hi - 1;
    if (a[p]! < v) {
      l = p + 1;
      let step = 1;
      while (l + step <= hi && a[l + step - 1]! < v) { l += step; step *= 2; }
      r = l + step - 1 < hi ? l + step - 1 : hi;
    } else {
      r = p;
      let step = 1;
      while (r - step >= lo && !(a[r - step]! < v)) { r -= step; step *= 2; }
      l = r - step + 1 > lo ? r - step + 1 : lo;
    }
  }
  while (l < r) {
    const mid = (l + r) >>> 1;
    if (a[mid]! < v) l = mid + 1;
    else r = mid;
  }
  if ((l === lo && lo > 0 && !(a[lo - 1]! < v)) || (l === hi && hi < n && a[hi]! < v)) return widen(keys, q, qi, lo, hi);
  return l;
}

/**
 * WindowMode.Exact (uint64 keys at or above 0xFFE0000000000000, float64 keys with -0 or NaN):
 * compares the high halves, and the low halves only when the high halves tie.
 */
export function searchWindowExact(keys: KeySet, q: KeySet, qi: number, lo: number, hi: number, P: number): number {
  const n = keys.n;
  if (lo < 0) lo = 0;
  if (hi > n) hi = n;
  if (lo > hi) lo = hi;
  const kh = keys.hi, kl = keys.lo;
  const qh = q.hi[qi]!, ql = q.lo[qi]!;
  let l: number, r: number;
  if (lo === hi) {
    l = r = lo;
  } else {
    const p = P < hi ? (P > lo ? P : lo) : hi - 1;
    if (lessAt(kh, kl, p, qh, ql)) {
      l = p + 1;
      let step = 1;
      while (l + step <= hi && lessAt(kh, kl, l + step - 1, qh, ql)) { l += step; step *= 2; }
      r = l + step - 1 < hi ? l + step - 1 : hi;
    } else {
      r = p;
      let step = 1;
      while (r - step >= lo && !lessAt(kh, kl, r - step, qh, ql)) { r -= step; step *= 2; }
      l = r - step + 1 > lo ? r - step + 1 : lo;
    }
  }
  while (l < r) {
    const mid = (l + r) >>> 1;
    if (lessAt(kh, kl, mid, qh, ql)) l = mid + 1;
    else r = mid;
  }
  if ((l === lo && lo > 0 && !lessAt(kh, kl, lo - 1, qh, ql)) || (l === hi && hi < n && lessAt(kh, kl, hi, qh, ql))) {
    return widen(keys, q, qi, lo, hi);
  }
  return l;
}

/** True when keys[p] < (qh, ql), exactly. */
function lessAt(kh: Uint32Array, kl: Uint32Array, p: number, qh: number, ql: number): boolean {
  const h = kh[p]!;
  return h < qh || (h === qh && kl[p]! < ql);
}

// ---------------------------------------------------------------------------------------------
// Unbounded: the exponential search from a prediction over the whole key array, for models that
// keep no error bound (rmi.ts). Exact whatever P is (0 <= P < n, or any P when n = 0): it gallops
// from P until the answer is bracketed (at worst to an end of the array), then binary-searches
// the bracket. A prediction off by e positions costs about 2 log2(e) + 1 probes, those within 8
// positions on P's own cache line or the next (Bentley & Yao 1976; ALEX's search, Ding et al.,
// SIGMOD 2020). One function per key form, as above.

/** WindowMode.S. */
export function searchFromS(keys: KeySet, q: KeySet, qi: number, P: number): number {
  const n = keys.n;
  if (n === 0) return 0;
  const a = keys.s;
  const v = q.s[qi]!;
  let l: number, r: number;
  if (a[P]! < v) { // the answer is in [P + 1, n]
    l = P + 1;
    let step = 1;
    while (l + step <= n && a[l + step - 1]! < v) { l += step; step *= 2; }
    r = l + step - 1 < n ? l + step - 1 : n;
  } else { // the answer is in [0, P]
    r = P;
    let step = 1;
    while (r - step >= 0 && !(a[r - step]! < v)) { r -= step; step *= 2; }
    l = r - step + 1 > 0 ? r - step + 1 : 0;
  }
  while (l < r) {
    const mid = (l + r) >>> 1;
    if (a[mid]! < v) l = mid + 1;
    else r = mid;
  }
  return l;
}

/** WindowMode.U32. */
export function searchFromU32(keys: KeySet, q: KeySet, qi: number, P: number): number {
  const n = keys.n;
  if (n === 0) return 0;
  const a = keys.lo;
  const v = u32Query(q, qi);
  let l: number, r: number;
  if (a[P]! < v) {
    l = P + 1;
    let step = 1;
    while (l + step <= n && a[l + step - 1]! < v) { l += step; step *= 2; }
    r = l + step - 1 < n ? l + step - 1 : n;
  } else {
    r = P;
    let step = 1;
    while (r - step >= 0 && !(a[r - step]! < v)) { r -= step; step *= 2; }
    l = r - step + 1 > 0 ? r - step + 1 : 0;
  }
  while (l < r) {
    const mid = (l + r) >>> 1;
    if (a[mid]! < v) l = mid + 1;
    else r = mid;
  }
  return l;
}

/** WindowMode.Exact. */
export function searchFromExact(keys: KeySet, q: KeySet, qi: number, P: number): number {
  const n = keys.n;
  if (n === 0) return 0;
  const kh = keys.hi, kl = keys.lo;
  const qh = q.hi[qi]!, ql = q.lo[qi]!;
  let l: number, r: number;
  if (lessAt(kh, kl, P, qh, ql)) {
    l = P + 1;
    let step = 1;
    while (l + step <= n && lessAt(kh, kl, l + step - 1, qh, ql)) { l += step; step *= 2; }
    r = l + step - 1 < n ? l + step - 1 : n;
  } else {
    r = P;
    let step = 1;
    while (r - step >= 0 && !lessAt(kh, kl, r - step, qh, ql)) { r -= step; step *= 2; }
    l = r - step + 1 > 0 ? r - step + 1 : 0;
  }
  while (l < r) {
    const mid = (l + r) >>> 1;
    if (lessAt(kh, kl, mid, qh, ql)) l = mid + 1;
    else r = mid;
  }
  return l;
}

// ---------------------------------------------------------------------------------------------
// Near: the common case of a good prediction, searched without a data-dependent branch.

/** Keys the near search covers, and how many of them lie before the prediction. */
export const NEAR_KEYS = 8;
export const NEAR_BEFORE = 3;

/** The first key of the near window of a prediction P (keys.n >= NEAR_KEYS): P - 3, clamped into the array. */
export function nearStart(P: number, n: number): number {
  const s = P - NEAR_BEFORE, last = n - NEAR_KEYS;
  return s > 0 ? (s < last ? s : last) : 0;
}

/**
 * WindowMode.S, for a model whose prediction P is mostly within a few positions of the answer
 * (keys.n >= NEAR_KEYS; rmi.ts RmiConfig.near says when the RMI uses it): a branch-free lower
 * bound over the 8 keys [s, s + 8), s = nearStart(P), then the exponential search from the
 * window's edge only when the answer is not strictly inside it (every key of the window below
 * the query, or none). Exact from any P in [0, n - 1].
 *
 * Why: the gallop of searchFromS branches on every key it loads, and the first of those loads is
 * a cache miss; the CPU guesses the branch (a coin toss when the prediction's error is 0 or +-1,
 * as on S2 cell ids: 29% and 27% of the answers), and a wrong guess throws away the next lookups
 * it had started while the miss was pending. Here each step is `b += h * +(a[b + h - 1] < v)`
 * (V8 compiles `+(x < y)` to a setcc, not a jump), so the only branch on the keys is the window
 * check, which holds for most lookups and is predicted.
 *
 * Measured (lower bound alone, interleaved in one process): on S2 cell ids (2^21 leaves, 18-bit
 * table, 92% of the answers inside the window) 2-6% less time per lookup than searchFromS in six
 * runs at load 3.3-3.5 (another engineer's training on the other core), but 11% more in one run
 * under heavier memory traffic; where fewer answers fall inside (S2 with 2^17 leaves: 38%;
 * flights with 46,242 leaves: 76%) 2-8% more. A count of the keys below the query over the
 * window (eight independent loads) was 3-4% slower than the halving; a 16-key window (four
 * halvings) 3-5% slower; without the early touch of the key array (rmi.ts RmiTable) the
 * count was 17-19% slower than with it, and slower than the gallop.
 */
export function searchNearS(keys: KeySet, q: KeySet, qi: number, P: number): number {
  const a = keys.s;
  const v = q.s[qi]!;
  // nearStart(P, n), written out: an exported binding (a function or a constant) is a live cell
  // that V8 loads and checks on every lookup; literals cost nothing.
  const last = keys.n - 8;
  let s = P - 3;
  s = s > 0 ? (s < last ? s : last) : 0;
  let b = s;
  b += 4 * +(a[b + 3]! < v);
  b += 2 * +(a[b + 1]! < v);
  b += +(a[b]! < v);
  // b - s keys of the window are below v, or all 8 when a[b] (= a[s + 7]) is too.
  const below = b - s + +(a[b]! < v);
  if (below === 0 || below === 8) return searchFromS(keys, q, qi, below === 0 ? s : s + 7);
  return b;
}
