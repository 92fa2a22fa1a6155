/**
 * PGM-index (Ferragina & Vinciguerra, "The PGM-index: a fully-dynamic compressed learned index
 * with provable worst-case bounds", VLDB 2020; gvinciguerra/PGM-index, static `PGMIndex`).
 *
 * Guarantee (as pgm_index.hpp states it): for any query q the model gives a position pos such that
 * the lower bound of q (first occurrence when q is present) lies in [pos - epsilon, pos + epsilon + 2),
 * or at its right end. The last-mile search over that window of 2*epsilon + 2 keys is exact.
 * On exactX data the guarantee holds up to float rounding of slopes (far below one position); on
 * uint64 keys above 2^53 the doubles the model sees may round, and `lastMile` widens the window
 * when they did, so the answer is exact on every input.
 *
 * Structure: the data level is the optimal (fewest segments) epsilon-bounded piecewise-linear
 * approximation of the points (key, rank), built in one pass by the streaming convex-hull
 * algorithm (O'Rourke 1981; piecewise-linear.ts, as PGM's piecewise_linear_model.hpp). Each
 * segment is (first key, slope, intercept), with the slope applied to the key's offset from the
 * segment's first key. The segments' first keys are indexed the same way with epsilonRecursive,
 * level after level, until one segment is left: the root. A lookup walks root -> data level, each
 * level predicting a position in the level below and scanning at most 2*epsilonRecursive + 2
 * segment keys.
 *
 * Keys are compared exactly. When `keys.exactX` the doubles `x` are exact and order-preserving,
 * so segment keys are stored and compared as doubles (one load); otherwise (uint64 keys above
 * 2^53) they are stored as the 32-bit halves and offsets are taken from the halves:
 * (hi - segHi) * 2^32 + (lo - segLo) is exact while the offset is below 2^53, where x - segX
 * would have lost the low bits.
 */
import type { SolveContext, Solver } from '../../core/problem.js';
import { check } from '../../core/errors.js';
import { intOption } from '../../core/options.js';
import { type KeySet, xOfHalves } from './keys.js';
import { WindowMode, searchWindowExact, searchWindowU32, searchWindowS, windowModeOf } from './window-search.js';
import type { SearchIndex } from './search-index.js';
import { type LevelBuild, LevelBuilder } from './piecewise-linear.js';

// ---------------------------------------------------------------------------------------------
// Hyperparameters

export interface PgmConfig {
  /** Max distance between the data level's prediction and a key's rank (the search window is 2*epsilon + 2). */
  epsilon: number;
  /** The same bound on the recursive levels; the scan per level is at most 2*epsilonRecursive + 2 segment keys. */
  epsilonRecursive: number;
}

/**
 * SOSD's default PGM run (benchmark_pgm.cc: PGM<K, 16>, with the library's epsilonRecursive 4);
 * also the fastest of 16..128 on the four real sets here (scripts/bench-learned.mjs). The
 * library's own default epsilon is 64.
 */
export const PGM_DEFAULTS: PgmConfig = { epsilon: 16, epsilonRecursive: 4 };

/** 2^32, local: the lookup's hot path reads it. */
const TWO32 = 4294967296;

// ---------------------------------------------------------------------------------------------
// Building the levels

/** Is the key at i equal to the key at j (exactly)? */
function sameKey(keys: KeySet, i: number, j: number): boolean {
  return keys.hi[i] === keys.hi[j] && keys.lo[i] === keys.lo[j];
}

/**
 * The data level: the points are (first occurrence of each distinct key, its rank). A run of
 * duplicates [i, j] also adds (key + 1, j) when key + 1 is below the next key (and not above the
 * largest key), as PGM does: queries strictly between the run and the next key have lower bound
 * j + 1, but a line through (key, i) and (next key, j + 1) could be more than epsilon away from
 * it for a long run; the extra point pins the model there. Also applied to the last run, so that
 * queries above the largest key land within the window of n.
 */
function buildDataLevel(keys: KeySet, eps: number, exact: boolean): LevelBuild {
  const n = keys.n;
  const b = new LevelBuilder(eps, exact);
  const hi = keys.hi, lo = keys.lo, x = keys.x;
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && sameKey(keys, j + 1, i)) j++;
    b.add(hi[i]!, lo[i]!, x[i]!, i);
    if (j > i) {
      const h = hi[j]!, l = lo[j]!;
      if (!(h === 0xffffffff && l === 0xffffffff)) {
        const sh = l === 0xffffffff ? h + 1 : h;
        const sl = l === 0xffffffff ? 0 : l + 1;
        const below = j + 1 === n || hi[j + 1]! > sh || (hi[j + 1] === sh && lo[j + 1]! > sl);
        // Above +Infinity the next bit pattern is a NaN: no such point then.
        const sx = xOfHalves(keys.type, sh, sl);
        if (below && (exact || sx > x[j]!)) b.add(sh, sl, sx, j);
      }
    }
    i = j + 1;
  }
  b.close();
  return b.out;
}

/** A recursive level over the first keys of the level below (distinct and increasing). */
function buildUpperLevel(below: LevelBuild, eps: number, exact: boolean): LevelBuild {
  const b = new LevelBuilder(eps, exact);
  const m = below.x.length;
  for (let j = 0; j < m; j++) b.add(below.hi[j]!, below.lo[j]!, below.x[j]!, j);
  b.close();
  return b.out;
}

// ---------------------------------------------------------------------------------------------
// The index

/**
 * All levels in one set of typed arrays, data level first, root last. Level l occupies
 * [levelStart[l], levelStart[l+1] - 1); the slot just before levelStart[l+1] is a sentinel whose
 * intercept is the size of the level below (n for the data level): a prediction is capped by the
 * next segment's intercept (as PGM does), and the last segment's "next" is the sentinel.
 *
 * Edge cases, and why they need nothing more: n = 0 has no levels (lookups answer 0 at once).
 * One key, or all keys equal, is one run: points (key, 0) and (key + 1, n - 1), one segment,
 * whose window holds 0 (queries up to the key) and n (queries above it). Queries below the first
 * key predict below 0 and are clamped to 0; above the last key, the last run's point and the cap
 * at n keep them within the window of n. Predictions are clamped before truncation, so a NaN
 * (an infinite float key) becomes 0 and the window search widens.
 */
export class PgmIndex implements SearchIndex {
  readonly n: number;
  readonly epsilon: number;
  readonly epsilonRecursive: number;
  /** Compare and offset on the exact halves (uint64 above 2^53) instead of x. */
  readonly exact: boolean;
  private readonly mode: WindowMode;
  readonly height: number;
  readonly levelStart: Int32Array;
  readonly segX: Float64Array;
  readonly segHi: Uint32Array;
  readonly segLo: Uint32Array;
  readonly slope: Float64Array;
  readonly intercept: Float64Array;
  private readonly keys: KeySet;

  constructor(keys: KeySet, epsilon: number, epsilonRecursive: number) {
    this.keys = keys;
    this.n = keys.n;
    this.epsilon = epsilon;
    this.epsilonRecursive = epsilonRecursive;
    this.exact = !keys.exactX;
    this.mode = windowModeOf(keys);
    const levels: LevelBuild[] = [];
    // n = 0: no segments at all; every lookup answers 0 without touching the model.
    if (keys.n > 0) {
      levels.push(buildDataLevel(keys, epsilon, this.exact));
      while (levels[levels.length - 1]!.x.length > 1) {
        levels.push(buildUpperLevel(levels[levels.length - 1]!, epsilonRecursive, this.exact));
      }
    }
    this.height = levels.length;
    this.levelStart = new Int32Array(levels.length + 1);
    let total = 0;
    for (let l = 0; l < levels.length; l++) {
      this.levelStart[l] = total;
      total += levels[l]!.x.length + 1;
    }
    this.levelStart[levels.length] = total;
    this.segX = new Float64Array(this.exact ? 0 : total);
    this.segHi = new Uint32Array(this.exact ? total : 0);
    this.segLo = new Uint32Array(this.exact ? total : 0);
    this.slope = new Float64Array(total);
    this.intercept = new Float64Array(total);
    for (let l = 0; l < levels.length; l++) {
      const lv = levels[l]!;
      const base = this.levelStart[l]!;
      const m = lv.x.length;
      for (let j = 0; j < m; j++) {
        if (this.exact) { this.segHi[base + j] = lv.hi[j]!; this.segLo[base + j] = lv.lo[j]!; }
        else this.segX[base + j] = lv.x[j]!;
        this.slope[base + j] = lv.slope[j]!;
        this.intercept[base + j] = lv.intercept[j]!;
      }
      // Sentinel: never compared (scans stop before it), only its intercept is read.
      if (this.exact) { this.segHi[base + m] = 0xffffffff; this.segLo[base + m] = 0xffffffff; }
      else this.segX[base + m] = Infinity;
      this.intercept[base + m] = l === 0 ? this.n : levels[l - 1]!.x.length;
    }
  }

  /** Segments per level, data level first. */
  levelSizes(): number[] {
    const s: number[] = [];
    for (let l = 0; l < this.height; l++) s.push(this.levelStart[l + 1]! - this.levelStart[l]! - 1);
    return s;
  }

  /** The model's position for q.key[i] (before the last mile), in [0, n]. */
  predict(q: KeySet, i: number): number {
    if (this.n === 0) return 0;
    return this.exact ? this.approxExact(q.hi[i]!, q.lo[i]!) : this.approxX(q.x[i]!);
  }

  lowerBound(q: KeySet, i: number): number {
    const n = this.n;
    if (n === 0) return 0;
    const eps = this.epsilon;
    // The model reads x or the halves; the window is searched in the key set's form (keys.ts).
    const pos = this.exact ? this.approxExact(q.hi[i]!, q.lo[i]!) : this.approxX(q.x[i]!);
    const mode = this.mode;
    return mode === WindowMode.S ? searchWindowS(this.keys, q, i, pos - eps, pos + eps + 2, pos)
      : mode === WindowMode.U32 ? searchWindowU32(this.keys, q, i, pos - eps, pos + eps + 2, pos)
      : searchWindowExact(this.keys, q, i, pos - eps, pos + eps + 2, pos);
  }

  /**
   * Root -> data level on doubles (exactX keys). At each level the segment for q is the last one
   * whose key is <= q within 2*epsilonRecursive + 3 of the prediction (lastAtMostX).
   */
  private approxX(qx: number): number {
    const kx = this.segX, sl = this.slope, ic = this.intercept, ls = this.levelStart;
    const epsR = this.epsilonRecursive;
    let s = ls[this.height - 1]!;
    for (let l = this.height - 2; l >= 0; l--) {
      let p = sl[s]! * (qx - kx[s]!) + ic[s]!;
      const cap = ic[s + 1]!;
      if (p > cap) p = cap;
      s = lastAtMostX(kx, qx, ls[l]!, ls[l + 1]! - 2, p, epsR);
    }
    let p = sl[s]! * (qx - kx[s]!) + ic[s]!;
    const cap = ic[s + 1]!;
    if (p > cap) p = cap;
    // Clamp before truncating: p may be negative (q below the first key), above n, or NaN.
    return p > 0 ? (p < this.n ? p | 0 : this.n) : 0;
  }

  /** Root -> data level on exact halves (uint64 keys above 2^53). */
  private approxExact(qh: number, ql: number): number {
    const kh = this.segHi, kl = this.segLo, sl = this.slope, ic = this.intercept, ls = this.levelStart;
    const epsR = this.epsilonRecursive;
    let s = ls[this.height - 1]!;
    for (let l = this.height - 2; l >= 0; l--) {
      let p = sl[s]! * ((qh - kh[s]!) * TWO32 + (ql - kl[s]!)) + ic[s]!;
      const cap = ic[s + 1]!;
      if (p > cap) p = cap;
      s = lastAtMostExact(kh, kl, qh, ql, ls[l]!, ls[l + 1]! - 2, p, epsR);
    }
    let p = sl[s]! * ((qh - kh[s]!) * TWO32 + (ql - kl[s]!)) + ic[s]!;
    const cap = ic[s + 1]!;
    if (p > cap) p = cap;
    return p > 0 ? (p < this.n ? p | 0 : this.n) : 0;
  }

  sizeBytes(): number {
    return this.levelStart.byteLength + this.segX.byteLength + this.segHi.byteLength + this.segLo.byteLength
      + this.slope.byteLength + this.intercept.byteLength;
  }

  describe(): Record<string, string | number> {
    return {
      epsilon: this.epsilon,
      epsilonRecursive: this.epsilonRecursive,
      levels: this.height,
      segments: this.height > 0 ? this.levelStart[1]! - 1 : 0,
      levelSizes: this.levelSizes().join('/'),
      keyCompare: this.exact ? 'exact-halves' : 'x',
    };
  }
}

/**
 * The last segment whose key is <= q, scanning forward from base + p - epsR - 1 (clipped to
 * [base, last]): the recursive level's guarantee puts the segment for q within 2 * epsR + 2 of
 * there. A linear scan with branches, as PGM does for small epsilonRecursive; measured 10% faster
 * here than a branch-free search over the same window (the processor speculates past it). If
 * rounding broke the guarantee, the backward step keeps the result at or below q, never out of
 * the level; the data level's window search then corrects the answer.
 */
function lastAtMostX(kx: Float64Array, qx: number, base: number, last: number, p: number, epsR: number): number {
  p -= epsR + 1;
  let j = base + (p > 0 ? p | 0 : 0);
  if (j > last) j = last;
  while (j < last && kx[j + 1]! <= qx) j++;
  // Rounding guard: the window start must not be past the segment for q.
  while (j > base && kx[j]! > qx) j--;
  return j;
}

function lastAtMostExact(kh: Uint32Array, kl: Uint32Array, qh: number, ql: number, base: number, last: number,
  p: number, epsR: number): number {
  p -= epsR + 1;
  let j = base + (p > 0 ? p | 0 : 0);
  if (j > last) j = last;
  while (j < last) {
    const h = kh[j + 1]!;
    if (h > qh || (h === qh && kl[j + 1]! > ql)) break;
    j++;
  }
  while (j > base) {
    const h = kh[j]!;
    if (h < qh || (h === qh && kl[j]! <= ql)) break;
    j--;
  }
  return j;
}

/** Builds a PGM-index over sorted keys (duplicates allowed). */
export function buildPgm(keys: KeySet, epsilon = PGM_DEFAULTS.epsilon, epsilonRecursive = PGM_DEFAULTS.epsilonRecursive): PgmIndex {
  check(Number.isInteger(epsilon) && epsilon >= 1, `PGM epsilon ${epsilon} is invalid`, 'pgm.epsilon', 'an integer >= 1');
  check(Number.isInteger(epsilonRecursive) && epsilonRecursive >= 1, `PGM epsilonRecursive ${epsilonRecursive} is invalid`,
    'pgm.epsilonRecursive', 'an integer >= 1');
  return new PgmIndex(keys, epsilon, epsilonRecursive);
}

export const pgmSolver: Solver<KeySet, SearchIndex> = {
  info: {
    name: 'pgm',
    kind: 'learned',
    description: 'PGM-index: optimal epsilon-bounded piecewise-linear model, recursive levels, last-mile search',
    reference: 'Ferragina & Vinciguerra, "The PGM-index", VLDB 2020 (gvinciguerra/PGM-index)',
  },
  solve(keys: KeySet, ctx: SolveContext): SearchIndex {
    const { epsilon, epsilonRecursive } = pgmOptions(ctx.options);
    return buildPgm(keys, epsilon, epsilonRecursive);
  },
};

/** `--opt pgm.epsilon=E pgm.epsilonRecursive=R`, checked as buildPgm checks them. */
export function pgmOptions(options: Readonly<Record<string, string>>): PgmConfig {
  return {
    epsilon: intOption(options, 'pgm.epsilon', PGM_DEFAULTS.epsilon, 1),
    epsilonRecursive: intOption(options, 'pgm.epsilonRecursive', PGM_DEFAULTS.epsilonRecursive, 1),
  };
}
