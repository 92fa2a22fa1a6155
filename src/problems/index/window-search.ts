/**
 * The last-mile search of the learned indexes (PGM, RMI, RadixSpline): the exact lower bound of
 * q.key[qi] given a window [lo, hi) that a model promises holds it (the answer p is in [lo, hi]).
 * Same contract as keys.ts `lastMile`, and it falls back to `lastMile` (which widens the window
 * exponentially) when the promise is broken, so the answer is exact on every input.
 *
 * What it does differently, measured on the real sets (scripts/bench-learned.mjs; a miss to
 * memory costs about 300 ns on the development machine, so lookups are paid in cache lines):
 * - Fewer cache lines. `lastMile` checks both window edges before searching (keys[lo-1] and
 *   keys[hi], in the hi and lo arrays: up to four more lines). The edges only matter when the
 *   search ends on one of them, and then the neighbouring key is on a line just loaded: the check
 *   is done there, after the search. And the search reads 4-byte halves where it can: the low
 *   halves when every key is below 2^32 (uint32 sets, timestamps), the high halves first for
 *   64-bit keys; the 8-byte doubles only for float64 keys.
 * - It stays a plain binary search with branches. A branch-free search (add 0 or half per step)
 *   was tried and measured slower on every real set: in a window of a few cache lines, the loads
 *   a mispredicted branch issues are mostly lines the search needs next, so speculation acts as
 *   a prefetch.
 */
import { type KeySet, lastMile } from './keys.js';

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

/** How a window is searched; fixed per key set, chosen once at build time. */
export const enum WindowMode {
  /** keys.exactX: the doubles x decide every comparison. */
  X = 0,
  /** Every key below 2^32 (hi halves all 0): the low halves decide. */
  U32 = 1,
  /** uint64 keys above 2^53: the high halves, then the low halves on ties. */
  Exact = 2,
}

export function windowModeOf(keys: KeySet): WindowMode {
  if (keys.type !== 'f64' && (keys.n === 0 || keys.hi[keys.n - 1] === 0)) return WindowMode.U32;
  return keys.exactX ? WindowMode.X : WindowMode.Exact;
}

/** The search for a given mode (hot paths call the mode's function directly). */
export function searchWindow(mode: WindowMode, keys: KeySet, q: KeySet, qi: number, lo: number, hi: number): number {
  return mode === WindowMode.X ? searchWindowX(keys, q, qi, lo, hi)
    : mode === WindowMode.U32 ? searchWindowU32(keys, q, qi, lo, hi)
    : searchWindowExact(keys, q, qi, lo, hi);
}

/** WindowMode.X: valid when keys.exactX (x exact and order-preserving). */
export function searchWindowX(keys: KeySet, q: KeySet, qi: number, lo: number, hi: number): number {
  const n = keys.n;
  if (lo < 0) lo = 0;
  if (hi > n) hi = n;
  if (lo > hi) lo = hi;
  const kx = keys.x;
  const qx = q.x[qi]!;
  const from = lo, to = hi;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (kx[mid]! < qx) lo = mid + 1;
    else hi = mid;
  }
  // On an edge, the model's promise may have been broken: check the neighbour.
  if ((lo === from && lo > 0 && !(kx[lo - 1]! < qx)) || (lo === to && to < n && kx[to]! < qx)) {
    return widen(keys, q, qi, from, to);
  }
  return lo;
}

/** WindowMode.U32: every key's high half is 0, so the low half is the key. */
export function searchWindowU32(keys: KeySet, q: KeySet, qi: number, lo: number, hi: number): number {
  const n = keys.n;
  if (lo < 0) lo = 0;
  if (hi > n) hi = n;
  if (lo > hi) lo = hi;
  const kl = keys.lo;
  // A query at or above 2^32 is above every key: compare against 2^32 then.
  const qv = q.hi[qi] === 0 ? q.lo[qi]! : 4294967296;
  const from = lo, to = hi;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (kl[mid]! < qv) lo = mid + 1;
    else hi = mid;
  }
  if ((lo === from && lo > 0 && !(kl[lo - 1]! < qv)) || (lo === to && to < n && kl[to]! < qv)) {
    return widen(keys, q, qi, from, to);
  }
  return lo;
}

/**
 * WindowMode.Exact (uint64 keys above 2^53): compares the high halves, and the low halves only
 * when the high halves tie (for spread-out keys, only near the end of the search).
 */
export function searchWindowExact(keys: KeySet, q: KeySet, qi: number, lo: number, hi: number): number {
  const n = keys.n;
  if (lo < 0) lo = 0;
  if (hi > n) hi = n;
  if (lo > hi) lo = hi;
  const kh = keys.hi, kl = keys.lo;
  const qh = q.hi[qi]!, ql = q.lo[qi]!;
  const from = lo, to = hi;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const h = kh[mid]!;
    if (h < qh || (h === qh && kl[mid]! < ql)) lo = mid + 1;
    else hi = mid;
  }
  if ((lo === from && lo > 0 && !lessAt(kh, kl, lo - 1, qh, ql)) || (lo === to && to < n && lessAt(kh, kl, to, qh, ql))) {
    return widen(keys, q, qi, from, to);
  }
  return lo;
}

/** True when keys[p] < (qh, ql), exactly. */
function lessAt(kh: Uint32Array, kl: Uint32Array, p: number, qh: number, ql: number): boolean {
  const h = kh[p]!;
  return h < qh || (h === qh && kl[p]! < ql);
}
