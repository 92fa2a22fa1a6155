/**
 * Sorted key arrays with exact 64-bit order.
 *
 * A JavaScript number holds integers exactly only up to 2^53, and S2 cell ids use all 64 bits: two
 * ids that differ in their low bits can round to the same double. So every key is kept as an
 * unsigned 64-bit integer split in two 32-bit halves (`hi`, `lo`), compared hi first, then lo:
 * that order is exact. Float64 keys are mapped to the unsigned integer with the same order (the
 * usual sign-flip of their IEEE bits), so one exact comparison serves all three key types.
 *
 * Beside the halves, `x` holds each key as a double (rounded for uint64 keys above 2^53). Models
 * are fitted and evaluated on `x`; it is monotone (never decreasing) so predictions stay ordered,
 * but it is never used to decide an answer unless `exactX` says the doubles are exact and
 * order-preserving (uint32 keys, uint64 keys all below 2^53, float64 keys).
 *
 * Searches compare one array per key set, its `form`, at the key width of its file as SOSD stores
 * it (the same array for every index and for the payload check after a lookup, so the row a
 * search ends on is the row the check reads):
 * - `U32`: uint32 sets: the low halves `lo`, 4 bytes a key.
 * - `S`: uint64 and float64 sets: the doubles `s`, one exact order-preserving double per key (8
 *   bytes, one load per comparison). For float64 keys `s` is `x`. For uint64 keys it is the key's rank
 *   among the doubles ordered from -Infinity up (skipping -0 and NaN, see orderedDouble): every
 *   uint64 below 0xFFE0000000000000 has its own double there, in the same order, so S2 cell ids
 *   (which differ in bits x drops) compare exactly with one load. `s` is never used as a number.
 * - `Halves`: otherwise (uint64 keys at or above 0xFFE0000000000000, float64 sets with -0 or NaN):
 *   x then the exact halves.
 *
 * Queries are a KeySet too (a batch), addressed by index: no allocation per lookup.
 */

export type KeyType = 'uint32' | 'uint64' | 'f64';

/** The array searches compare (see above). */
export const enum KeyForm {
  S = 0,
  U32 = 1,
  Halves = 2,
}

export interface KeySet {
  type: KeyType;
  n: number;
  hi: Uint32Array;
  lo: Uint32Array;
  /** The key as a double, monotone; exact when `exactX`. */
  x: Float64Array;
  /** True when x[i] < x[j] exactly iff key i < key j (so x alone may decide comparisons). */
  exactX: boolean;
  /** The key as an order-exact double (see above): `x` itself for uint32 and float64 keys. */
  s: Float64Array;
  /** True when s[i] < s[j] exactly iff key i < key j. */
  exactS: boolean;
  /** What searches compare: U32 for uint32 sets, else S when exactS, else Halves. */
  form: KeyForm;
}

/** uint64 keys from here up have no double of their own in orderedDouble (they map to +Infinity). */
export const S_LIMIT_HI = 0xffe00000;

/**
 * The uint64 key (h, l) as the double of the same rank among all doubles ordered from -Infinity
 * (rank 0) up: the negative doubles from -Infinity to the smallest negative subnormal are ranks 0
 * to 2^63 - 2^52 - 1 (their bits fall as the rank rises), then +0, the positive doubles and
 * +Infinity (bits = rank - (2^63 - 2^52)). -0 and the NaNs are skipped, so comparing two such
 * doubles with < and === is comparing the keys. Keys from 0xFFE0000000000000 up all map to
 * +Infinity. Writes the bits into w[2j] (low word) and w[2j + 1] (high word).
 */
function orderedDouble(h: number, l: number, w: Uint32Array, j: number): void {
  if (h >= S_LIMIT_HI) { w[2 * j + 1] = 0x7ff00000; w[2 * j] = 0; return; }
  if (h >= 0x7ff00000) { w[2 * j + 1] = h - 0x7ff00000; w[2 * j] = l; return; }
  // bits = 0xFFF0000000000000 - key, in 32-bit words with a borrow.
  w[2 * j + 1] = (0xfff00000 - h - (l !== 0 ? 1 : 0)) >>> 0;
  w[2 * j] = (0 - l) >>> 0;
}

function formOf(type: KeyType, exactS: boolean): KeyForm {
  if (type === 'uint32') return KeyForm.U32;
  return exactS ? KeyForm.S : KeyForm.Halves;
}

export const TWO32 = 4294967296;

/** Builds a KeySet from raw halves; x is derived. */
export function fromHalves(type: KeyType, hi: Uint32Array, lo: Uint32Array): KeySet {
  const n = hi.length;
  const x = new Float64Array(n);
  let exactX = true;
  if (type === 'f64') {
    const f = new Float64Array(1);
    const u = new Uint32Array(f.buffer);
    for (let i = 0; i < n; i++) {
      const [h, l] = unorderF64(hi[i]!, lo[i]!);
      u[0] = l; u[1] = h;
      x[i] = f[0]!;
    }
    // -0 and +0 have different bits but equal doubles; NaN has no order. Sorted real data has
    // neither in practice; when it does, comparisons must use the halves.
    for (let i = 0; i < n; i++) if (Number.isNaN(x[i]!) || Object.is(x[i], -0)) { exactX = false; break; }
  } else {
    for (let i = 0; i < n; i++) {
      const h = hi[i]!;
      x[i] = h * TWO32 + lo[i]!;
      if (h >= 0x200000) exactX = false; // >= 2^53: the double may round
    }
  }
  if (type !== 'uint64') return { type, n, hi, lo, x, exactX, s: x, exactS: exactX, form: formOf(type, exactX) };
  const s = new Float64Array(n);
  const w = new Uint32Array(s.buffer);
  let exactS = true;
  for (let i = 0; i < n; i++) {
    const h = hi[i]!;
    if (h >= S_LIMIT_HI) exactS = false;
    orderedDouble(h, lo[i]!, w, i);
  }
  return { type, n, hi, lo, x, exactX, s, exactS, form: formOf(type, exactS) };
}

export function fromUint32(keys: Uint32Array): KeySet {
  return fromHalves('uint32', new Uint32Array(keys.length), Uint32Array.from(keys));
}

export function fromBigUint64(keys: BigUint64Array): KeySet {
  const n = keys.length;
  const hi = new Uint32Array(n);
  const lo = new Uint32Array(n);
  // Read the little-endian words directly: no BigInt per key.
  const words = new Uint32Array(keys.buffer, keys.byteOffset, n * 2);
  for (let i = 0; i < n; i++) {
    lo[i] = words[2 * i]!;
    hi[i] = words[2 * i + 1]!;
  }
  return fromHalves('uint64', hi, lo);
}

export function fromFloat64(keys: Float64Array): KeySet {
  const n = keys.length;
  const hi = new Uint32Array(n);
  const lo = new Uint32Array(n);
  const words = new Uint32Array(keys.buffer, keys.byteOffset, n * 2);
  for (let i = 0; i < n; i++) {
    const [h, l] = orderF64(words[2 * i + 1]!, words[2 * i]!);
    hi[i] = h;
    lo[i] = l;
  }
  return fromHalves('f64', hi, lo);
}

/** IEEE bits (hi, lo) of a double -> an unsigned integer with the same order. */
export function orderF64(h: number, l: number): [number, number] {
  if (h & 0x80000000) return [~h >>> 0, ~l >>> 0]; // negative: flip all bits
  return [(h | 0x80000000) >>> 0, l >>> 0]; // positive: flip the sign bit
}

/** The inverse of orderF64. */
export function unorderF64(h: number, l: number): [number, number] {
  if (h & 0x80000000) return [(h & 0x7fffffff) >>> 0, l >>> 0];
  return [~h >>> 0, ~l >>> 0];
}

/**
 * The double of the key whose halves are (h, l), in a key set of type `type`: h * 2^32 + l for
 * the integer types (rounded above 2^53), the double itself for f64 keys.
 */
export function xOfHalves(type: KeyType, h: number, l: number): number {
  if (type !== 'f64') return h * TWO32 + l;
  const [bh, bl] = unorderF64(h, l);
  const f = new Float64Array(1);
  const u = new Uint32Array(f.buffer);
  u[0] = bl; u[1] = bh;
  return f[0]!;
}

/** The key at position i as a BigInt (for messages and tests, never hot paths). */
export function keyAt(k: KeySet, i: number): bigint {
  return (BigInt(k.hi[i]!) << 32n) | BigInt(k.lo[i]!);
}

/** The key as the user sees it (number or bigint string), for messages. */
export function showKey(k: KeySet, i: number): string {
  // String(-0) is '0', but -0 and +0 are different keys here.
  if (k.type === 'f64') return Object.is(k.x[i], -0) ? '-0' : String(k.x[i]);
  return keyAt(k, i).toString();
}

/** Exact three-way comparison of a.key[i] and b.key[j]: -1, 0 or 1. */
export function compareKeys(a: KeySet, i: number, b: KeySet, j: number): number {
  const ah = a.hi[i]!, bh = b.hi[j]!;
  if (ah !== bh) return ah < bh ? -1 : 1;
  const al = a.lo[i]!, bl = b.lo[j]!;
  return al === bl ? 0 : al < bl ? -1 : 1;
}

/** The subset of positions `idx` of `k`, as a new KeySet (for query batches). */
export function selectKeys(k: KeySet, idx: ArrayLike<number>): KeySet {
  const m = idx.length;
  const hi = new Uint32Array(m);
  const lo = new Uint32Array(m);
  for (let t = 0; t < m; t++) {
    const i = idx[t]!;
    hi[t] = k.hi[i]!;
    lo[t] = k.lo[i]!;
  }
  // x and s derived as for any key set (fromHalves), so they are the selected keys' own.
  return fromHalves(k.type, hi, lo);
}

/**
 * The reference lower bound: first position p in [from, to) with keys[p] >= q.i, or `to` when
 * every key there is smaller. Exact (compares the halves), plain binary search: this is the
 * answer every index is checked against, and the last-mile search learned indexes share.
 */
export function lowerBoundExact(keys: KeySet, q: KeySet, qi: number, from: number, to: number): number {
  const kh = keys.hi, kl = keys.lo;
  const qh = q.hi[qi]!, ql = q.lo[qi]!;
  let lo = from, hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const h = kh[mid]!;
    if (h < qh || (h === qh && kl[mid]! < ql)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The same search on the doubles alone; only valid when keys.exactX (and q was made the same
 * way). One load per comparison instead of two.
 */
export function lowerBoundX(keys: KeySet, q: KeySet, qi: number, from: number, to: number): number {
  const kx = keys.x;
  const qx = q.x[qi]!;
  let lo = from, hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (kx[mid]! < qx) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The exact lower bound in [from, to): std::lower_bound over the key set's form (see the top of
 * this file), the search binary search and every classical index use. U32 and S compare one
 * exact value per probe. Halves searches the doubles x: x is monotone, so a key whose double is
 * below q's is below q, and one whose double is above is above it; only keys sharing q's double
 * are undecided, and those are settled on the exact halves (a walk linear in the keys sharing one
 * double: at most a few hundred on adversarial sets).
 */
export function lowerBound(keys: KeySet, q: KeySet, qi: number, from: number, to: number): number {
  const form = keys.form;
  if (form === KeyForm.U32) return lowerBoundU32(keys, q, qi, from, to);
  if (form === KeyForm.S) return lowerBoundS(keys, q, qi, from, to);
  let p = lowerBoundX(keys, q, qi, from, to);
  if (keys.exactX) return p;
  const x = keys.x, qx = q.x[qi]!;
  while (p < to && x[p] === qx && keyLess(keys, p, q, qi)) p++;
  return p;
}

/** KeyForm.S: std::lower_bound on the order-exact doubles s. */
export function lowerBoundS(keys: KeySet, q: KeySet, qi: number, from: number, to: number): number {
  const ks = keys.s;
  const v = q.s[qi]!;
  let lo = from, hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ks[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The value a U32 search compares for q.key[qi]: its low half, or 2^32 (above every key) when
 * its high half is not 0.
 */
export function u32Query(q: KeySet, qi: number): number {
  return q.hi[qi] === 0 ? q.lo[qi]! : TWO32;
}

/** KeyForm.U32: std::lower_bound on the low halves (every key is below 2^32). */
export function lowerBoundU32(keys: KeySet, q: KeySet, qi: number, from: number, to: number): number {
  const kl = keys.lo;
  const v = u32Query(q, qi);
  let lo = from, hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (kl[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** True when keys[p] < q.i, exactly. */
export function keyLess(keys: KeySet, p: number, q: KeySet, qi: number): boolean {
  const h = keys.hi[p]!, qh = q.hi[qi]!;
  return h < qh || (h === qh && keys.lo[p]! < q.lo[qi]!);
}

/**
 * The last-mile search every learned index ends with: the lower bound of q, given a window
 * [lo, hi) that the model promises contains it. The window is checked at its edges; if rounding
 * of x (uint64 keys above 2^53) broke the promise, the search widens exponentially until the
 * answer is bracketed, so the result is always exact. `hi` is exclusive and may equal n.
 */
export function lastMile(keys: KeySet, q: KeySet, qi: number, lo: number, hi: number): number {
  const n = keys.n;
  if (lo < 0) lo = 0;
  if (hi > n) hi = n;
  if (lo > hi) lo = hi;
  // The answer p is in [lo, hi] iff keys[lo-1] < q (or lo = 0) and keys[hi-1] >= q ... (or hi = n).
  if (lo > 0 && !keyLess(keys, lo - 1, q, qi)) {
    let step = 1;
    let newLo = lo - 1;
    while (newLo > 0 && !keyLess(keys, newLo - 1, q, qi)) {
      newLo = Math.max(0, newLo - step);
      step *= 2;
    }
    hi = lo;
    lo = newLo;
  } else if (hi < n && keyLess(keys, hi, q, qi)) {
    let step = 1;
    let newHi = hi + 1;
    while (newHi < n && keyLess(keys, newHi, q, qi)) {
      newHi = Math.min(n, newHi + step);
      step *= 2;
    }
    lo = hi + 1;
    hi = newHi;
  }
  return keys.exactX ? lowerBoundX(keys, q, qi, lo, hi) : lowerBoundExact(keys, q, qi, lo, hi);
}

/** Checks that keys are sorted ascending (duplicates allowed); returns the first bad position or -1. */
export function firstUnsorted(keys: KeySet): number {
  for (let i = 1; i < keys.n; i++) if (compareKeys(keys, i - 1, keys, i) > 0) return i;
  return -1;
}
