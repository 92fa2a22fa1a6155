/**
 * Two-layer recursive model index (RMI): Kraska, Beutel, Chi, Dean & Polyzotis, "The Case for
 * Learned Index Structures", SIGMOD 2018, in the form learnedsystems/RMI generates for SOSD
 * (Marcus et al., VLDB 2020).
 *
 * A root model maps a key to one of B leaves (B a power of two); the leaf is a linear model
 * (least squares on the leaf's (key, position) pairs) that predicts the position, and stores the
 * window around its prediction that holds every answer that can reach it. Lookup: root -> leaf ->
 * prediction -> search of the leaf's window. No loop, no branch on data before the key array is
 * touched, which is what makes it fast (see window-search.ts).
 *
 * Guarantee: the root is monotone, so every query (present or absent, below or above the key
 * range) that reaches leaf L has its lower bound in [start_L, end_L], the positions of L's keys.
 * The leaf's prediction P is clamped to that range, and the lower bound lies in
 * [P - errLo_L, P + errHi_L + 1]. As RMI's "lower bound correction" does, the bound covers each
 * key's first occurrence and the gap after each run of duplicates (answer = end of the run); the
 * clamp covers the gaps before and after the leaf's keys, however wide. An empty leaf's range is
 * a single position, its answer. The bound is measured with the lookup's own arithmetic, so it
 * is exact on exactX keys; on uint64 keys above 2^53 the doubles may round, and the window
 * search then widens (the answer is always exact).
 *
 * Edge cases: n = 0 gives constant leaves answering 0; fewer than two keys, or all keys equal,
 * one leaf (nothing to learn: its window is its key range). Long runs of duplicates widen only
 * the leaves that hold them. Queries outside the key range reach the first or last leaf and the
 * clamp; a NaN prediction (an infinite float key) clamps to the leaf's start.
 *
 * Hyperparameters (root model type, branching factor) are searched as the RMI optimizer does:
 * candidates root x B are scored by the average log2 of the window a lookup searches (RMI's
 * "average log2 error") plus a size penalty, estimated on a sample of keys; the cheapest wins.
 */
import type { SolveContext, Solver } from '../../core/problem.js';
import { check, SelfoptError } from '../../core/errors.js';
import type { KeySet } from './keys.js';
import type { SearchIndex } from './search-index.js';
import { WindowMode, searchWindowExact, searchWindowU32, searchWindowX, windowModeOf } from './window-search.js';

// ---------------------------------------------------------------------------------------------
// Hyperparameters

/**
 * Root models, as learnedsystems/RMI names them; 'radix-table' is its RadixTable top layer
 * (radix18 / radix22 in its optimizer), see fitRoot.
 */
export const RMI_ROOTS = ['linear', 'linear-spline', 'cubic', 'radix', 'radix-table'] as const;
export type RmiRoot = (typeof RMI_ROOTS)[number];

export interface RmiConfig {
  root: RmiRoot;
  /** Number of leaves, a power of two. */
  branching: number;
  /** radix-table root only: bits of its table (2^bits + 1 entries of 4 bytes). Default 18. */
  tableBits?: number;
}

export interface RmiSearchConfig {
  /** Root models tried. */
  roots: readonly RmiRoot[];
  /**
   * Branching factors tried: 2^k for k in [minLog2, maxLog2], every `log2Step`, and within
   * [log2 n - 12, log2 n - 1] (from 4096 keys a leaf down to 2).
   */
  minLog2: number;
  maxLog2: number;
  log2Step: number;
  /** Table sizes tried for the radix-table root. */
  tableBits: readonly number[];
  /** Keys sampled to estimate a candidate's cost (each sample evaluates the leaf it falls in). */
  samples: number;
  /** Leaves larger than this are estimated on a subsample of their runs. */
  maxLeafEval: number;
  /** Candidates larger than this (leaves and root table) are not considered (--opt rmi.maxBytes). */
  maxBytes: number;
  /**
   * Cost, in units of one binary-search step: average log2(window) + sizeWeight *
   * log2(bytes / freeBytes) when the model is larger than freeBytes (it then costs cache misses
   * of its own). Measured on the real sets by scripts/bench-learned.mjs: a step is 30-50 ns;
   * models up to a megabyte cost nothing extra, and each doubling past it 0.3 to 1.4 steps
   * depending on the set (0.8 here).
   */
  sizeWeight: number;
  freeBytes: number;
  /** Extra cost of the cubic root (four more multiply-adds and a clamp per lookup). */
  cubicCost: number;
  /** Extra cost of the radix-table root (two more loads, from a table that may miss the cache). */
  tableCost: number;
}

export const RMI_SEARCH_DEFAULTS: RmiSearchConfig = {
  roots: RMI_ROOTS,
  minLog2: 6,
  maxLog2: 20,
  log2Step: 1,
  tableBits: [14, 16, 18, 20],
  samples: 1000,
  maxLeafEval: 2048,
  maxBytes: 1 << 24,
  sizeWeight: 0.8,
  freeBytes: 1 << 20,
  cubicCost: 0.1,
  tableCost: 0.5,
};

/**
 * A leaf is 32 bytes: slope and intercept (float64, at f64 index 4L and 4L + 1), then errLo,
 * errHi, start and end (int32, at i32 index 8L + 4 ... 8L + 7): one cache line.
 */
const LEAF_BYTES = 32;

/** Two views on one leaf table. */
interface LeafTable {
  f: Float64Array;
  i: Int32Array;
}

function newLeafTable(B: number): LeafTable {
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
function clampPos(p: number, s: number, e: number): number {
  return p > s ? (p < e ? Math.floor(p) : e) : s;
}
const KIND: Record<RmiRoot, number> = { linear: 0, 'linear-spline': 1, cubic: 2, radix: 3, 'radix-table': 4 };
const CUBIC = 2, TABLE = 4;

// ---------------------------------------------------------------------------------------------
// Root models. All map x to a leaf coordinate r in [0, B); leaf = clamp(floor(r), 0, B - 1).
// linear, linear-spline and radix are affine: r = (x - x0) * scale + base. cubic is
// base + span * h(t), t = clamp((x - x0) * scale, 0, 1), h the cubic below. radix-table reads
// the hint table at the key's prefix u = (x - x0) * scale and interpolates to the next hint.

interface RootModel {
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

function newRoot(kind: number, x0: number): RootModel {
  return { kind, x0, scale: 0, base: 0, a: 0, b: 0, c: 0, hint: new Uint32Array(0), rankScale: 0 };
}

function evalRoot(m: RootModel, x: number): number {
  if (m.kind === CUBIC) {
    let t = (x - m.x0) * m.scale;
    t = t > 0 ? (t < 1 ? t : 1) : 0;
    return ((m.a * t + m.b) * t + m.c) * t + m.base;
  }
  if (m.kind === TABLE) return evalTable(m.hint, (x - m.x0) * m.scale) * m.rankScale;
  return (x - m.x0) * m.scale + m.base;
}

/** The hint table read at prefix coordinate u, interpolated inside the bucket (monotone in u). */
function evalTable(hint: Uint32Array, u: number): number {
  const top = hint.length - 2;
  const p = u > 0 ? (u < top ? u | 0 : top) : 0; // NaN -> 0
  let f = u - p;
  f = f > 0 ? (f < 1 ? f : 1) : 0;
  const h = hint[p]!;
  return h + (hint[p + 1]! - h) * f;
}

function leafOf(m: RootModel, x: number, bMax: number): number {
  const r = evalRoot(m, x);
  return r > 0 ? (r < bMax ? r | 0 : bMax) : 0; // NaN -> 0
}

/** Evenly spaced sample positions (deterministic: the build needs no randomness). */
function samplePositions(n: number, m: number): Int32Array {
  const k = Math.min(n, m);
  const out = new Int32Array(k);
  for (let j = 0; j < k; j++) out[j] = Math.floor(((j + 0.5) * n) / k);
  return out;
}

function fitRoot(keys: KeySet, root: RmiRoot, B: number, tableBits = 18): RootModel {
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
function fitLeaf(keys: KeySet, s: number, e: number, out: LeafTable, L: number, stride = 1): number {
  const x = keys.x;
  // Least squares of position on x (all keys, as RMI trains on (key, position) pairs).
  const cnt = e - s;
  let mx = 0, my = 0;
  for (let i = s; i < e; i += stride) { mx += x[i]!; my += i; }
  const used = Math.ceil(cnt / stride);
  mx /= used; my /= used;
  let sxx = 0, sxy = 0;
  for (let i = s; i < e; i += stride) { const dx = x[i]! - mx; sxx += dx * dx; sxy += dx * (i - my); }
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
function constantLeaf(out: LeafTable, L: number, answer: number): void {
  setLeaf(out, L, 0, answer, 0, 0, answer, answer);
}

/** First position p in [lo, hi) whose key maps to a leaf >= L (the root is monotone). */
function leafStart(keys: KeySet, m: RootModel, bMax: number, L: number, lo: number, hi: number): number {
  const x = keys.x;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (leafOf(m, x[mid]!, bMax) < L) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// ---------------------------------------------------------------------------------------------
// The index

/**
 * What every RMI shares: the leaves, built at construction. The lookup lives in the subclasses,
 * one per kind of root (affine, cubic, radix table): each has its own copy of `lowerBound`, so
 * that each stays monomorphic and free of a branch on the root kind when RMIs of several kinds
 * live in one process (measured: mixing them in one class slowed every lookup by 15-30%). The
 * root's parameters sit in a Float64Array for the same reason: object fields that hold an
 * integer in one instance and a fraction in another change representation under V8.
 */
export abstract class RmiIndex implements SearchIndex {
  readonly n: number;
  readonly config: RmiConfig;
  /** Per leaf: slope, intercept (leafF[4L], leafF[4L+1]); errLo, errHi, start, end (leafI[8L+4..7]). */
  readonly leafF: Float64Array;
  readonly leafI: Int32Array;
  protected readonly keys: KeySet;
  protected readonly mode: WindowMode;
  /** Root parameters: x0, scale, base, a, b, c, rankScale (see RootModel). */
  protected readonly rp: Float64Array;
  /** radix-table root only: the hint table (empty otherwise). */
  protected readonly hint: Uint32Array;
  protected readonly bMax: number;
  /** Facts about the search that chose the config, for describe(). */
  searchSummary = '';

  constructor(keys: KeySet, config: RmiConfig, root: RootModel) {
    const n = keys.n, B = config.branching;
    this.keys = keys;
    this.n = n;
    this.config = config;
    this.mode = windowModeOf(keys);
    this.bMax = B - 1;
    this.rp = Float64Array.of(root.x0, root.scale, root.base, root.a, root.b, root.c, root.rankScale);
    this.hint = root.hint;
    const table = newLeafTable(B);
    this.leafF = table.f;
    this.leafI = table.i;
    const x = keys.x;
    // Leaf boundaries in one pass: the root is monotone, so each leaf's keys are contiguous.
    // n = 0: every leaf is the constant 0.
    let s = 0;
    for (let L = 0; L < B; L++) {
      let e = s;
      if (n > 0) {
        // Galloping then binary search for the end of leaf L: cheap for small and large leaves.
        let step = 1;
        while (e + step <= n && leafOf(root, x[e + step - 1]!, this.bMax) <= L) { e += step; step *= 2; }
        e = leafStart(keys, root, this.bMax, L + 1, e, Math.min(n, e + step));
      }
      if (e > s) fitLeaf(keys, s, e, table, L);
      else constantLeaf(table, L, s);
      s = e;
    }
  }

  /** The leaf of a key; the same arithmetic as evalRoot. */
  protected abstract leafOf(qx: number): number;

  abstract lowerBound(q: KeySet, i: number): number;

  predict(q: KeySet, i: number): number {
    const L = this.leafOf(q.x[i]!);
    return clampPos(this.leafF[4 * L]! * q.x[i]! + this.leafF[4 * L + 1]!, this.leafI[8 * L + 6]!, this.leafI[8 * L + 7]!);
  }

  sizeBytes(): number {
    return this.leafF.byteLength + this.hint.byteLength + this.rp.byteLength;
  }

  /** Average over keys of log2(window + 1), the widest window and the number of empty leaves. */
  stats(): { avgLog2Window: number; maxWindow: number; emptyLeaves: number } {
    const n = this.n, li = this.leafI;
    let sum = 0, maxW = 0;
    for (let i = 0; i < n; i++) {
      const L = this.leafOf(this.keys.x[i]!);
      const w = li[8 * L + 4]! + li[8 * L + 5]! + 1;
      sum += Math.log2(w + 1);
      if (w > maxW) maxW = w;
    }
    let empty = 0;
    for (let L = 0; L <= this.bMax; L++) if (li[8 * L + 6] === li[8 * L + 7]) empty++;
    return { avgLog2Window: n > 0 ? sum / n : 0, maxWindow: maxW, emptyLeaves: empty };
  }

  describe(): Record<string, string | number> {
    const st = this.stats();
    return {
      root: this.config.root,
      ...(this.config.root === 'radix-table' ? { tableBits: this.config.tableBits ?? 18 } : {}),
      branching: this.config.branching,
      avgLog2Window: +st.avgLog2Window.toFixed(2),
      maxWindow: st.maxWindow,
      emptyLeaves: st.emptyLeaves,
      ...(this.searchSummary ? { search: this.searchSummary } : {}),
    };
  }
}

/**
 * The leaf's window and the last mile, shared by the three lookups: prediction clamped to the
 * leaf's key range [start, end] (as clampPos, which measured the errors; it also maps NaN to
 * start), then [P - errLo, P + errHi + 1).
 */
function leafSearch(f: Float64Array, li: Int32Array, L: number, qx: number, mode: WindowMode, keys: KeySet, q: KeySet,
  i: number): number {
  const p = f[4 * L]! * qx + f[4 * L + 1]!;
  const s = li[8 * L + 6]!, e = li[8 * L + 7]!;
  // p | 0 is floor(p) here (s <= p < e < 2^31) and keeps the window bounds int32.
  const P = p > s ? (p < e ? p | 0 : e) : s;
  const lo = P - li[8 * L + 4]!;
  const hi = P + li[8 * L + 5]! + 1;
  return mode === WindowMode.X ? searchWindowX(keys, q, i, lo, hi)
    : mode === WindowMode.U32 ? searchWindowU32(keys, q, i, lo, hi)
    : searchWindowExact(keys, q, i, lo, hi);
}

/** linear, linear-spline and radix roots: r = (x - x0) * scale + base. */
class RmiAffine extends RmiIndex {
  protected leafOf(qx: number): number {
    const rp = this.rp;
    const r = (qx - rp[0]!) * rp[1]! + rp[2]!;
    const bMax = this.bMax;
    return r > 0 ? (r < bMax ? r | 0 : bMax) : 0; // NaN -> 0
  }

  lowerBound(q: KeySet, i: number): number {
    const qx = q.x[i]!;
    return leafSearch(this.leafF, this.leafI, this.leafOf(qx), qx, this.mode, this.keys, q, i);
  }
}

/** cubic root: t = clamp((x - x0) * scale, 0, 1), r = ((a t + b) t + c) t + base. */
class RmiCubic extends RmiIndex {
  protected leafOf(qx: number): number {
    const rp = this.rp;
    let t = (qx - rp[0]!) * rp[1]!;
    t = t > 0 ? (t < 1 ? t : 1) : 0;
    const r = ((rp[3]! * t + rp[4]!) * t + rp[5]!) * t + rp[2]!;
    const bMax = this.bMax;
    return r > 0 ? (r < bMax ? r | 0 : bMax) : 0;
  }

  lowerBound(q: KeySet, i: number): number {
    const qx = q.x[i]!;
    return leafSearch(this.leafF, this.leafI, this.leafOf(qx), qx, this.mode, this.keys, q, i);
  }
}

/** radix-table root: r = evalTable(hint, (x - x0) * scale) * rankScale. */
class RmiTable extends RmiIndex {
  protected leafOf(qx: number): number {
    const rp = this.rp;
    const r = evalTable(this.hint, (qx - rp[0]!) * rp[1]!) * rp[6]!;
    const bMax = this.bMax;
    return r > 0 ? (r < bMax ? r | 0 : bMax) : 0;
  }

  lowerBound(q: KeySet, i: number): number {
    const qx = q.x[i]!;
    return leafSearch(this.leafF, this.leafI, this.leafOf(qx), qx, this.mode, this.keys, q, i);
  }
}

/** Fits the root and the leaves of one configuration. */
export function newRmi(keys: KeySet, config: RmiConfig): RmiIndex {
  const root = keys.n > 0 ? fitRoot(keys, config.root, config.branching, config.tableBits) : newRoot(1, 0);
  if (root.kind === CUBIC) return new RmiCubic(keys, config, root);
  if (root.kind === TABLE) return new RmiTable(keys, config, root);
  return new RmiAffine(keys, config, root);
}

// ---------------------------------------------------------------------------------------------
// Hyperparameter search

export interface RmiCandidate {
  root: RmiRoot;
  branching: number;
  /** radix-table root only. */
  tableBits?: number;
  avgLog2Window: number;
  bytes: number;
  cost: number;
}

/**
 * Estimates each candidate's average log2 window from `samples` evenly spaced keys: each sample
 * fits and measures the leaf it falls in (leaves of more than maxLeafEval keys on every k-th
 * run: their estimate is rough, but such leaves are slow anyway), so a sample weighs leaves by
 * their number of keys, as a lookup of an existing key does.
 */
export function searchRmiConfigs(keys: KeySet, sc: RmiSearchConfig = RMI_SEARCH_DEFAULTS): RmiCandidate[] {
  const n = keys.n, x = keys.x;
  const out: RmiCandidate[] = [];
  const pos = samplePositions(n, sc.samples);
  const leaf = newLeafTable(1);
  // Branching factors worth trying scale with n: from 2^12 keys a leaf down to 2 keys a leaf.
  const lgN = Math.log2(Math.max(2, n));
  // (A tiny set still gets one candidate size: minLog2 gives way to n.)
  const kMax = Math.max(0, Math.min(sc.maxLog2, Math.ceil(lgN) - 1));
  const kMin = Math.min(kMax, Math.max(sc.minLog2, Math.floor(lgN) - 12));
  for (const root of sc.roots) {
    for (const tableBits of root === 'radix-table' ? sc.tableBits : [0]) {
      // The hint table does not depend on B: fit it once, rescale per B.
      const tableRoot = root === 'radix-table' ? fitRoot(keys, root, 1, tableBits) : undefined;
      for (let k = kMin; k <= kMax; k += sc.log2Step) {
        const B = 2 ** k;
        const bytes = B * LEAF_BYTES + (root === 'radix-table' ? 4 * (2 ** tableBits + 1) : 0);
        if (bytes > sc.maxBytes) continue;
        const m = tableRoot ? { ...tableRoot, rankScale: B / n } : fitRoot(keys, root, B, tableBits);
        const bMax = B - 1;
        const seen = new Map<number, number>();
        let sum = 0;
        for (const p of pos) {
          const L = leafOf(m, x[p]!, bMax);
          let lw = seen.get(L);
          if (lw === undefined) {
            const s = leafStart(keys, m, bMax, L, 0, n);
            const e = leafStart(keys, m, bMax, L + 1, s, n);
            const stride = Math.max(1, Math.ceil((e - s) / sc.maxLeafEval));
            const w = s < e ? fitLeaf(keys, s, e, leaf, 0, stride) : 1;
            lw = Math.log2(w + stride);
            seen.set(L, lw);
          }
          sum += lw;
        }
        const avg = sum / pos.length;
        const cost = avg + sc.sizeWeight * Math.max(0, Math.log2(bytes / sc.freeBytes)) + (root === 'cubic' ? sc.cubicCost : 0)
          + (root === 'radix-table' ? sc.tableCost : 0);
        out.push({ root, branching: B, ...(root === 'radix-table' ? { tableBits } : {}), avgLog2Window: avg, bytes, cost });
      }
    }
  }
  out.sort((a, b) => a.cost - b.cost);
  return out;
}

/**
 * Builds an RMI. With `config` given, exactly that one; otherwise the cheapest candidate of the
 * search (the config is recorded in describe()).
 */
export function buildRmi(keys: KeySet, config?: Partial<RmiConfig>, search: Partial<RmiSearchConfig> = {}): RmiIndex {
  if (config?.root !== undefined || config?.branching !== undefined) {
    const root = config.root ?? 'linear-spline';
    const branching = config.branching ?? 1 << 12;
    check((RMI_ROOTS as readonly string[]).includes(root), `unknown RMI root model '${root}'`, 'rmi.root', RMI_ROOTS.join(', '));
    check(Number.isInteger(Math.log2(branching)) && branching >= 1 && branching <= 1 << 26,
      `RMI branching factor ${branching} is invalid`, 'rmi.branching', 'a power of two between 1 and 2^26');
    const tableBits = config.tableBits ?? 18;
    check(Number.isInteger(tableBits) && tableBits >= 1 && tableBits <= 26, `RMI table bits ${tableBits} are invalid`,
      'rmi.tableBits', 'an integer in [1, 26]');
    return newRmi(keys, { root, branching, tableBits });
  }
  const sc = { ...RMI_SEARCH_DEFAULTS, ...search };
  if (keys.n < 2) return newRmi(keys, { root: 'linear-spline', branching: 1 }); // nothing to learn
  const cands = searchRmiConfigs(keys, sc);
  if (cands.length === 0) {
    throw new SelfoptError(`no RMI candidate fits in ${sc.maxBytes} bytes`, 'rmi.maxBytes', 'a larger limit');
  }
  const best = cands[0]!;
  const ix = newRmi(keys, { root: best.root, branching: best.branching, ...(best.tableBits ? { tableBits: best.tableBits } : {}) });
  ix.searchSummary = cands.slice(0, 3)
    .map((c) => `${c.root}${c.tableBits ? `(${c.tableBits})` : ''}/2^${Math.log2(c.branching)}: log2w ${c.avgLog2Window.toFixed(2)} cost ${c.cost.toFixed(2)}`)
    .join('; ') + ` (${cands.length} candidates)`;
  return ix;
}

export const rmiSolver: Solver<KeySet, SearchIndex> = {
  info: {
    name: 'rmi',
    kind: 'learned',
    description: 'Two-layer RMI (root model -> linear leaves with error bounds), root type and branching searched per data set',
    reference: 'Kraska et al., "The Case for Learned Index Structures", SIGMOD 2018 (learnedsystems/RMI, as in SOSD)',
  },
  solve(keys: KeySet, ctx: SolveContext): SearchIndex {
    const root = ctx.options['rmi.root'];
    const br = ctx.options['rmi.branching'];
    const tb = ctx.options['rmi.tableBits'];
    const maxBytes = ctx.options['rmi.maxBytes'];
    if (root !== undefined || br !== undefined) {
      const b = br === undefined ? undefined : Number(br);
      check(b === undefined || Number.isInteger(b), `option rmi.branching=${br} is not an integer`, '--opt rmi.branching', 'a power of two');
      const t = tb === undefined ? undefined : Number(tb);
      check(t === undefined || Number.isInteger(t), `option rmi.tableBits=${tb} is not an integer`, '--opt rmi.tableBits', 'an integer');
      return buildRmi(keys, { root: root as RmiRoot | undefined, branching: b, ...(t !== undefined ? { tableBits: t } : {}) });
    }
    if (maxBytes !== undefined) {
      const mb = Number(maxBytes);
      check(Number.isInteger(mb) && mb > 0, `option rmi.maxBytes=${maxBytes} is invalid`, '--opt rmi.maxBytes', 'a positive integer');
      return buildRmi(keys, undefined, { maxBytes: mb });
    }
    return buildRmi(keys);
  },
};

/**
 * The same RMI searched under a memory cap of 256 KiB: a quarter of the 1 MiB radix table of
 * SOSD's default RBS, the budget at which a learned index is claimed to win on space and time.
 */
export const RMI_COMPACT_BYTES = 256 * 1024;

export const rmiCompactSolver: Solver<KeySet, SearchIndex> = {
  info: {
    ...rmiSolver.info,
    name: 'rmi-compact',
    description: `Two-layer RMI as 'rmi', its configuration searched among those of at most ${RMI_COMPACT_BYTES / 1024} KiB (1/4 of RBS's default table)`,
  },
  solve: (keys) => buildRmi(keys, undefined, { maxBytes: RMI_COMPACT_BYTES }),
};
