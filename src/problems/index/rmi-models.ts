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
 * A leaf is 32 bytes: slope and intercept (float64, at f64 index 4L and 4L + 1), then errLo,
 * errHi, start and end (int32, at i32 index 8L + 4 ... 8L + 7): one cache line.
 */
export const LEAF_BYTES = 32;

/** Two views on one leaf table. */
export interface LeafTable {
  f: Float64Array;
  i: Int32Array;
}

export function newLeafTable(B: number): LeafTable {
  const buf = new ArrayBuffer(B * LEAF_BYTES);
  return { f: new Float64Array(buf), i: new Int32Array(buf) };
}

function setLeaf(t: LeafTable, L: number, slope: number, icpt: number, errLo: number, errHi: number, start: number,
  end: number): void {
  t.f[4 * L] = slope;
  t.f[4 * L + 1] = icpt;
  t.i[8 * L + 4] = errLo;
  t.i[8 * L + 5] = errHi;
  t.i[8 * L + 6] = start;
  t.i[8 * L + 7] = end;
}

/** floor(p) clamped to [s, e]; NaN -> s. The lookup computes exactly this. */
export function clampPos(p: number, s: number, e: number): number {
  return p > s ? (p < e ? Math.floor(p) : e) : s;
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
 * Fits the leaf on keys [s, e) (a whole number of duplicate runs) and measures its window.
 * `stride` > 1 evaluates every stride-th run only (cost estimates of huge leaves during the
 * search). Returns the window width errLo + errHi + 1.
 */
export function fitLeaf(keys: KeySet, s: number, e: number, out: LeafTable, L: number, stride = 1): number {
  const x = keys.x;
  // Least squares of the first position of each run of equal x on x, each run weighted by its
  // length: a lookup is the lower bound, the run's first row, and an existing-key lookup meets a
  // run as often as it has rows. (RMI trains on every (key, position) pair, which for a run of r
  // copies aims at its middle, r/2 rows past the answer: on the flights set, runs of ~20 copies,
  // that was most of the model's error.) Every stride-th run only when stride > 1.
  let w = 0, mx = 0, my = 0;
  for (let i = s, run = 0; i < e; run++) {
    let j = i + 1;
    while (j < e && x[j] === x[i]) j++;
    if (run % stride === 0) { w += j - i; mx += (j - i) * x[i]!; my += (j - i) * i; }
    i = j;
  }
  mx /= w; my /= w;
  let sxx = 0, sxy = 0;
  for (let i = s, run = 0; i < e; run++) {
    let j = i + 1;
    while (j < e && x[j] === x[i]) j++;
    if (run % stride === 0) { const dx = x[i]! - mx; sxx += (j - i) * dx * dx; sxy += (j - i) * dx * (i - my); }
    i = j;
  }
  let slope = sxx > 0 && sxy > 0 ? sxy / sxx : 0;
  if (!Number.isFinite(slope)) slope = 0;
  let icpt = my - slope * mx;
  if (!Number.isFinite(icpt)) { slope = 0; icpt = my; }
  // Window: for each run [first, last] of equal x, the answer is `first` for the key itself and
  // `last + 1` just above it; with P the clamped prediction, errLo >= P - first, errHi >= last - P.
  // Queries between runs, and before or after the leaf's keys, are covered by monotonicity and
  // the clamp (see the guarantee at the top).
  let errLo = 0, errHi = 0;
  let i = s;
  let run = 0;
  while (i < e) {
    let j = i;
    while (j + 1 < e && x[j + 1] === x[i]) j++;
    if (run++ % stride === 0) {
      const P = clampPos(slope * x[i]! + icpt, s, e);
      if (P - i > errLo) errLo = P - i;
      if (j - P > errHi) errHi = j - P;
    }
    i = j + 1;
  }
  setLeaf(out, L, slope, icpt, errLo, errHi, s, e);
  return errLo + errHi + 1;
}

/** A leaf no key maps to: every query reaching it has the same answer (the next key's position). */
export function constantLeaf(out: LeafTable, L: number, answer: number): void {
  setLeaf(out, L, 0, answer, 0, 0, answer, answer);
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
