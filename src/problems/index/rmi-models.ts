/**
 * The models of a two-layer RMI and how each is fitted (learnedsystems/RMI's models and
 * training): the root models, which map a key to a leaf, and the linear leaves, each with the
 * window that holds every answer reaching it. Both the index (rmi.ts) and the hyperparameter
 * search (rmi-search.ts) fit them; the guarantee they give is stated in rmi.ts.
 */
import type { KeySet } from './keys.js';

/**
 * Root models, as learnedsystems/RMI names them; 'radix-table' is its RadixTable top layer
 * (radix18 / radix22 in its optimizer), see fitRoot.
 */
export const RMI_ROOTS = ['linear', 'linear-spline', 'cubic', 'radix', 'radix-table'] as const;
export type RmiRoot = (typeof RMI_ROOTS)[number];

// ---------------------------------------------------------------------------------------------
// The leaf table

/**
 * A leaf is one 32-bit word: the low 16 bits are its intercept as a signed offset from the first
 * position of its group of LEAF_GROUP leaves (base[L >> LEAF_GROUP_LOG2], one int32 a group), the
 * high 16 bits its slope as a 16-bit float (see encodeSlope), both over the key's offset in the
 * leaf, f = r - L (r the root's leaf coordinate, f in [0, 1) inside the key range):
 * prediction = base + intercept + slope * f. So a leaf costs 4.25 bytes and sixteen share a cache
 * line; the base array takes 1/16 of the leaves' bytes and is read in parallel with the leaf.
 *
 * Why so small, and no stored error bound: the lookup searches exponentially outward from the
 * prediction over the whole key array (window-search.ts searchFrom), which needs no bound to be
 * exact and costs ~2 log2(error) probes, mostly on the prediction's own cache line; what a
 * lookup pays for is the cache miss on the leaf (and on the key array after it), and the fewer
 * bytes the leaves take, the more of them fit a byte budget or a cache. Measured in one process
 * (lower bound alone, build order alternated: the index built first in a process measured up to
 * 15% slower whatever it was): on the S2 cell ids at equal leaf counts the two leaf formats are
 * within noise (2^20 leaves: 8-byte 234 and 234 ns, 4-byte 241 and 244 ns; 2^19: 229 and 215 ns
 * against 226 and 239 ns; load 5); where a byte budget binds, twice the leaves pay: rmi-compact
 * on IPv4 90 and 94 ns against 97 and 100 ns (mean log2 error 1.23 against 1.78; load 4).
 * learnedsystems/RMI's leaf (two doubles and a bound, 24 bytes) fits 6x fewer leaves in the same
 * bytes.
 *
 * What the packing loses: the slope keeps 12 significant bits (relative error <= 2^-12, so a
 * prediction moves by < 1 position while the slope is below 4096), the intercept is an exact
 * integer while it lies within +-32767 of its group's first position. A leaf whose intercept does
 * not (a group of 16 leaves spanning more than 32K rows, or a steep leaf whose line crosses f = 0
 * far below its keys) is refitted with the nearest intercept it can hold (fitLeaves): it predicts
 * worse, and the search, exact from any start, absorbs it.
 */
export const LEAF_BYTES = 4;
export const LEAF_GROUP_LOG2 = 4;
export const LEAF_GROUP = 1 << LEAF_GROUP_LOG2;

/** Bytes of B leaves with their group bases. */
export function leafTableBytes(B: number): number {
  return B * LEAF_BYTES + Math.ceil(B / LEAF_GROUP) * 4;
}

/** The packed leaves and the first position of each group of LEAF_GROUP leaves. */
export interface LeafTable {
  leaf: Uint32Array;
  base: Int32Array;
}

export function newLeafTable(B: number): LeafTable {
  return { leaf: new Uint32Array(B), base: new Int32Array(Math.ceil(B / LEAF_GROUP)) };
}

/**
 * The 16-bit slope: 5 exponent bits e and 11 mantissa bits m, slope = (2048 + m) * SLOPE_SCALE[e]
 * = (1 + m / 2048) * 2^(e - 12): slopes in [2^-12, 2^20) keep 12 significant bits. Smaller ones
 * are code 0, which decodes to 2^-12 (a prediction moves by less than 2^-12, never across an
 * integer from below: predictions are floored from base + intercept + that); larger ones are
 * clamped to the largest code. No branch in the decode: the lookup reads the scale from a table.
 */
export const SLOPE_SCALE = Float64Array.from({ length: 32 }, (_, e) => 2 ** (e - 12 - 11));

export function encodeSlope(v: number): number {
  if (!(v >= 2 ** -12)) return 0; // also NaN
  if (v >= 2 ** 20) return 0xffff;
  let e = Math.floor(Math.log2(v)) + 12;
  // log2 may round across a power of two: bring (e, m) into range.
  if (v < 2 ** (e - 12)) e--;
  if (v >= 2 ** (e - 11)) e++;
  let m = Math.round(v / SLOPE_SCALE[e]!) - 2048;
  if (m >= 2048) { e++; m = 0; if (e > 31) return 0xffff; }
  return (e << 11) | m;
}

export function decodeSlope(code: number): number {
  return ((code & 2047) + 2048) * SLOPE_SCALE[code >>> 11]!;
}

/** floor(p) clamped to [0, n - 1] (0 when n = 0); NaN -> 0. The lookup computes exactly this. */
export function clampPos(p: number, nm1: number): number {
  return p > 0 ? (p < nm1 ? Math.floor(p) : nm1 > 0 ? nm1 : 0) : 0;
}
const KIND: Record<RmiRoot, number> = { linear: 0, 'linear-spline': 1, cubic: 2, radix: 3, 'radix-table': 4 };
export const CUBIC = 2, TABLE = 4;

// ---------------------------------------------------------------------------------------------
// Root models. All map x to a leaf coordinate r in [0, B); leaf = clamp(floor(r), 0, B - 1).
// linear, linear-spline and radix are affine: r = (x - x0) * scale + base. cubic is
// base + span * h(t), t = clamp((x - x0) * scale, 0, 1), h the cubic below. radix-table reads
// the hint table at the key's prefix u = (x - x0) * scale and interpolates to the next hint.

export interface RootModel {
  kind: number;
  x0: number;
  scale: number;
  base: number;
  /** cubic only: r = base + ((a t + b) t + c) t. */
  a: number;
  b: number;
  c: number;
  /** radix-table only: hint[p] = rank of the first key whose prefix is >= p; r = rank * rankScale. */
  hint: Uint32Array;
  rankScale: number;
}

export function newRoot(kind: number, x0: number): RootModel {
  return { kind, x0, scale: 0, base: 0, a: 0, b: 0, c: 0, hint: new Uint32Array(0), rankScale: 0 };
}

export function evalRoot(m: RootModel, x: number): number {
  if (m.kind === CUBIC) {
    let t = (x - m.x0) * m.scale;
    t = t > 0 ? (t < 1 ? t : 1) : 0;
    return ((m.a * t + m.b) * t + m.c) * t + m.base;
  }
  if (m.kind === TABLE) return evalTable(m.hint, (x - m.x0) * m.scale) * m.rankScale;
  return (x - m.x0) * m.scale + m.base;
}

/** The hint table read at prefix coordinate u, interpolated inside the bucket (monotone in u). */
export function evalTable(hint: Uint32Array, u: number): number {
  const top = hint.length - 2;
  const p = u > 0 ? (u < top ? u | 0 : top) : 0; // NaN -> 0
  let f = u - p;
  f = f > 0 ? (f < 1 ? f : 1) : 0;
  const h = hint[p]!;
  return h + (hint[p + 1]! - h) * f;
}

export function leafOf(m: RootModel, x: number, bMax: number): number {
  const r = evalRoot(m, x);
  return r > 0 ? (r < bMax ? r | 0 : bMax) : 0; // NaN -> 0
}

/** Evenly spaced sample positions (deterministic: the build needs no randomness). */
export function samplePositions(n: number, m: number): Int32Array {
  const k = Math.min(n, m);
  const out = new Int32Array(k);
  for (let j = 0; j < k; j++) out[j] = Math.floor(((j + 0.5) * n) / k);
  return out;
}

export function fitRoot(keys: KeySet, root: RmiRoot, B: number, tableBits = 18): RootModel {
  const n = keys.n, x = keys.x;
  const x0 = x[0]!, x1 = x[n - 1]!;
  const range = x1 - x0;
  const m = newRoot(KIND[root], x0);
  // All keys equal (or one key): every query goes to leaf 0.
  if (!(range > 0) || !Number.isFinite(range)) { m.kind = 1; return m; }
  if (root === 'linear-spline') {
    // Through the first and last keys: x0 -> 0, x1 -> B (so the last key lands in leaf B - 1).
    m.scale = B / range;
  } else if (root === 'radix') {
    // RMI's radix model: the top log2(B) bits of (key - min), i.e. a power-of-two scale.
    m.scale = radixScale(range, B);
  } else if (root === 'radix-table') {
    // RMI's RadixTable: a hint per prefix of tableBits bits (of key - min), the rank of the first
    // key with that prefix or above; it spreads clustered keys over the leaves by rank, which no
    // global formula can. Between two hints the rank is interpolated.
    const T = 2 ** tableBits;
    m.scale = radixScale(range, T);
    m.rankScale = B / n;
    const hint = new Uint32Array(T + 1);
    let p = 0;
    for (let i = 0; i < n; i++) {
      const u = (x[i]! - x0) * m.scale;
      const pre = u > 0 ? (u < T - 1 ? u | 0 : T - 1) : 0;
      while (p <= pre) hint[p++] = i;
    }
    while (p <= T) hint[p++] = n;
    m.hint = hint;
  } else if (root === 'linear') {
    // Least squares of leaf coordinate (position * B / n) on x, over a sample.
    const pos = samplePositions(n, 1 << 16);
    let mx = 0, my = 0;
    for (const p of pos) { mx += x[p]! - x0; my += (p * B) / n; }
    mx /= pos.length; my /= pos.length;
    let sxx = 0, sxy = 0;
    for (const p of pos) {
      const dx = x[p]! - x0 - mx;
      sxx += dx * dx;
      sxy += dx * ((p * B) / n - my);
    }
    const a = sxx > 0 && sxy > 0 ? sxy / sxx : B / range;
    m.scale = a;
    m.base = my - a * mx;
  } else {
    fitCubic(keys, m, B);
  }
  return m;
}

/** 2^-shift for the smallest shift with range * 2^-shift < buckets (the top bits of key - min). */
function radixScale(range: number, buckets: number): number {
  let shift = Math.ceil(Math.log2(range / buckets));
  while (range * 2 ** -shift >= buckets) shift++;
  while (shift > -1074 && range * 2 ** -(shift - 1) < buckets) shift--;
  return 2 ** -shift;
}

/**
 * RMI's cubic root: in normalized coordinates (t, u) in [0, 1]^2, the cubic through (0, 0) and
 * (1, 1) with end slopes m1, m2 taken from the nearest sample points, scaled down so that
 * m1^2 + m2^2 <= 9 (Fritsch-Carlson: then it is monotone on [0, 1]). Kept only if its sum of
 * absolute errors on the sample beats the linear spline, as RMI does.
 */
function fitCubic(keys: KeySet, m: RootModel, B: number): void {
  const n = keys.n, x = keys.x;
  const x0 = x[0]!, range = x[n - 1]! - x0;
  m.scale = 1 / range;
  const pos = samplePositions(n, 1 << 16);
  const t = (p: number) => (x[p]! - x0) / range;
  const u = (p: number) => p / (n - 1);
  let m1 = 1, m2 = 1;
  for (const p of pos) if (t(p) > 0) { m1 = u(p) / t(p); break; }
  for (let j = pos.length - 1; j >= 0; j--) { const p = pos[j]!; if (t(p) < 1) { m2 = (1 - u(p)) / (1 - t(p)); break; } }
  if (m1 * m1 + m2 * m2 > 9) {
    const tau = 3 / Math.sqrt(m1 * m1 + m2 * m2);
    m1 *= tau; m2 *= tau;
  }
  const span = (B * (n - 1)) / n;
  const a = (m1 + m2 - 2) * span, b = (3 - 2 * m1 - m2) * span, c = m1 * span;
  let errCubic = 0, errLinear = 0;
  for (const p of pos) {
    const tt = t(p), target = (p * B) / n;
    errCubic += Math.abs(((a * tt + b) * tt + c) * tt - target);
    errLinear += Math.abs(tt * span - target);
  }
  if (errCubic < errLinear) { m.a = a; m.b = b; m.c = c; }
  else { m.a = 0; m.b = 0; m.c = span; }
}

// ---------------------------------------------------------------------------------------------
// Leaves

/**
 * Fits all B leaves of a root in one pass over the keys (the root is monotone, so each leaf's keys
 * are contiguous). Each leaf is the least-squares line of the first position of each run of equal
 * x on the run's offset f = r - L, each run weighted by its length: a lookup is the lower bound,
 * the run's first row, and an existing-key lookup meets a run as often as it has rows. (RMI trains
 * on every (key, position) pair, which for a run of r copies aims at its middle, r/2 rows past
 * the answer: on the flights set, runs of ~20 copies, that was most of the model's error.)
 * A leaf no key reaches predicts the position of the next key, the answer of every query there.
 */
export function fitLeaves(keys: KeySet, m: RootModel, B: number): LeafTable {
  const n = keys.n, x = keys.x, bMax = B - 1;
  const t = newLeafTable(B);
  const affine = m.kind !== CUBIC && m.kind !== TABLE;
  const x0 = m.x0, scale = m.scale, base = m.base;
  const acc = new Float64Array(5); // w, sum f, sum y, sum f^2, sum f y of the current leaf
  let cur = -1, s = 0;
  for (let i = 0; i < n;) {
    const xi = x[i]!;
    let j = i + 1;
    while (j < n && x[j] === xi) j++;
    const r = affine ? (xi - x0) * scale + base : evalRoot(m, xi);
    const L = r > 0 ? (r < bMax ? r | 0 : bMax) : 0;
    if (L !== cur) {
      if (cur >= 0) setLeafFit(t, cur, s, acc);
      // Groups starting in (cur, L] start at this key (their empty leaves predict it too).
      for (let g = (cur >> LEAF_GROUP_LOG2) + 1; g <= L >> LEAF_GROUP_LOG2; g++) t.base[g] = i;
      for (let e = cur + 1; e < L; e++) setLeaf(t, e, i, 0); // empty leaves (slope 0)
      cur = L; s = i;
      acc.fill(0);
    }
    // Offsets are relative to the leaf's first key (positions) and leaf (f): small numbers,
    // so the one-pass sums lose nothing to cancellation.
    const c = j - i, f = r - L, y = i - s;
    acc[0] += c; acc[1] += c * f; acc[2] += c * y; acc[3] += c * f * f; acc[4] += c * f * y;
    i = j;
  }
  if (cur >= 0) setLeafFit(t, cur, s, acc);
  for (let g = (cur >> LEAF_GROUP_LOG2) + 1; g < t.base.length; g++) t.base[g] = n;
  for (let e = cur + 1; e < B; e++) setLeaf(t, e, n, 0);
  return t;
}

/** Stores leaf L as the line position + slope * f (position an integer), intercept clamped to its group's range. */
function setLeaf(t: LeafTable, L: number, position: number, slopeCode: number): void {
  let d = position - t.base[L >> LEAF_GROUP_LOG2]!;
  d = d > 32767 ? 32767 : d < -32768 ? -32768 : d;
  t.leaf[L] = ((slopeCode << 16) | (d & 0xffff)) >>> 0;
}

/**
 * The least-squares line of a leaf from its sums (see fitLeaves), with the slope as stored
 * (encodeSlope) and the intercept refitted to it. If the intercept is beyond what the leaf holds
 * (+-32767 from its group's first position), it is clamped and the slope refitted for that
 * intercept (least squares through a fixed point), so the line still follows the leaf's keys.
 */
function setLeafFit(t: LeafTable, L: number, s: number, acc: Float64Array): void {
  const w = acc[0]!, mf = acc[1]! / w, my = acc[2]! / w;
  const sxx = acc[3]! - w * mf * mf, sxy = acc[4]! - w * mf * my;
  let slope = sxx > 1e-300 && sxy > 0 ? sxy / sxx : 0;
  if (!Number.isFinite(slope)) slope = 0;
  let code = encodeSlope(slope);
  let icpt = Math.round(s + my - decodeSlope(code) * mf);
  if (!Number.isFinite(icpt)) icpt = s;
  const b = t.base[L >> LEAF_GROUP_LOG2]!;
  if (icpt - b > 32767 || icpt - b < -32768) {
    icpt = icpt - b > 32767 ? b + 32767 : b - 32768;
    const c = icpt - s; // in the leaf's y coordinates
    const sff = acc[3]!, sfy = acc[4]! - c * acc[1]!;
    const sl = sff > 1e-300 && sfy > 0 ? sfy / sff : 0;
    code = encodeSlope(Number.isFinite(sl) ? sl : 0);
  }
  setLeaf(t, L, icpt, code);
}

/** The leaf prediction for the key whose root coordinate is r (the lookup's arithmetic). */
export function leafPredict(t: LeafTable, r: number, bMax: number, nm1: number): number {
  const L = r > 0 ? (r < bMax ? r | 0 : bMax) : 0;
  const w = t.leaf[L]!;
  return clampPos(t.base[L >> LEAF_GROUP_LOG2]! + ((w << 16) >> 16) + decodeSlope(w >>> 16) * (r - L), nm1);
}

/**
 * For the configuration search: the mean over the rows in positions [s, e) (leaf L of root m,
 * fitted alone) of log2(|prediction - first position of the row's key| + 1), the exponential
 * search's steps. With stride > 1, every stride-th row only (uniform over rows, so runs of
 * duplicates still weigh by their length), its run's first position found by binary search: the
 * cost is O(leaf / stride), however long the leaf's runs.
 */
export function leafLog2Error(keys: KeySet, m: RootModel, L: number, s: number, e: number, stride: number): number {
  const x = keys.x;
  let w = 0, sf = 0, sy = 0, sff = 0, sfy = 0;
  const firstOf = (p: number): number => {
    const v = x[p]!;
    let lo = s, hi = p;
    while (lo < hi) { const mid = (lo + hi) >>> 1; if (x[mid]! < v) lo = mid + 1; else hi = mid; }
    return lo;
  };
  for (let p = s; p < e; p += stride) {
    const f = evalRoot(m, x[p]!) - L, y = firstOf(p) - s;
    w++; sf += f; sy += y; sff += f * f; sfy += f * y;
  }
  if (w === 0) return 0;
  const mf = sf / w, my = sy / w;
  const sxx = sff - w * mf * mf, sxy = sfy - w * mf * my;
  const slope = decodeSlope(encodeSlope(sxx > 1e-300 && sxy > 0 ? sxy / sxx : 0)); // as stored
  const icpt = Math.round(s + my - slope * mf);
  let sum = 0;
  for (let p = s; p < e; p += stride) sum += Math.log2(Math.abs(icpt + slope * (evalRoot(m, x[p]!) - L) - firstOf(p)) + 1);
  return sum / w;
}

/** First position p in [lo, hi) whose key maps to a leaf >= L (the root is monotone). */
export function leafStart(keys: KeySet, m: RootModel, bMax: number, L: number, lo: number, hi: number): number {
  const x = keys.x;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (leafOf(m, x[mid]!, bMax) < L) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
