/**
 * RadixSpline (Kipf, Marcus, van Renen, Stoian, Kemper, Kraska, Neumann, "RadixSpline: a
 * single-pass learned index", aiDM@SIGMOD 2020; learnedsystems/RadixSpline).
 *
 * Build, in one pass over the sorted keys: a linear spline through a subset of the CDF points
 * (key, first position) such that interpolating between consecutive spline points is within
 * epsilon of every CDF point (GreedySplineCorridor, Neumann & Michel 2008), and a radix table of
 * r bits over the spline points: table[p] = the first spline point whose prefix is >= p, where
 * the prefix is the top r bits of (key - smallest key) (the bits all keys share are dropped).
 *
 * Lookup: prefix -> table[p], table[p+1] bound the spline segment -> binary search among those
 * spline points -> linear interpolation -> last-mile search over [pred - epsilon, pred + epsilon + 2).
 *
 * Guarantee: for every query, the lower bound lies in that window (up to float rounding of the
 * interpolation, far below one position, on exactX keys). Runs of duplicates add the CDF point
 * (key + 1, last position of the run) as PGM does (see pgm.ts), so that queries just above a long
 * run are covered too. The model works on the doubles x; on uint64 keys above 2^53 they may
 * round, and the window search then widens (the answer is always exact).
 */
import type { SolveContext, Solver } from '../../core/problem.js';
import { check } from '../../core/errors.js';
import { intOption } from '../../core/options.js';
import { type KeySet, xOfHalves } from './keys.js';
import type { SearchIndex } from './search-index.js';
import { WindowMode, searchWindowExact, searchWindowU32, searchWindowS, windowModeOf } from './window-search.js';

// ---------------------------------------------------------------------------------------------
// Hyperparameters

export interface RadixSplineConfig {
  /** Max distance between the spline and any CDF point (the search window is 2*epsilon + 2). */
  epsilon: number;
  /** Bits of the radix table (2^radixBits + 1 entries of 4 bytes). */
  radixBits: number;
}

/** RadixSpline's own defaults are (32, 18); ours are tuned by scripts/bench-learned.mjs. */
export const RADIX_SPLINE_DEFAULTS: RadixSplineConfig = { epsilon: 32, radixBits: 18 };

// ---------------------------------------------------------------------------------------------
// The spline corridor

/** Spline points as they are found: [x0, y0, x1, y1, ...]. */
class SplineBuilder {
  readonly pts: number[] = [];
  private readonly eps: number;
  private count = 0;
  private lastX = 0; private lastY = 0; // the last spline point
  private upX = 0; private upY = 0; // upper limit of the corridor
  private lowX = 0; private lowY = 0; // lower limit
  private prevX = 0; private prevY = 0; // the previous CDF point

  constructor(eps: number) {
    this.eps = eps;
  }

  private addSpline(x: number, y: number): void {
    this.pts.push(x, y);
    this.lastX = x;
    this.lastY = y;
  }

  /** Adds a CDF point; x strictly increasing. */
  add(x: number, y: number): void {
    const eps = this.eps;
    if (this.count === 0) {
      this.addSpline(x, y);
    } else if (this.count === 1) {
      this.upX = x; this.upY = y + eps;
      this.lowX = x; this.lowY = y < eps ? 0 : y - eps;
    } else {
      const upDx = this.upX - this.lastX, upDy = this.upY - this.lastY;
      const lowDx = this.lowX - this.lastX, lowDy = this.lowY - this.lastY;
      const dx = x - this.lastX, dy = y - this.lastY;
      const upperY = y + eps;
      const lowerY = y < eps ? 0 : y - eps;
      // Does the point leave the corridor (not strictly below the upper line, or not strictly
      // above the lower line)? Then the previous CDF point becomes a spline point.
      if (orientation(upDx, upDy, dx, dy) !== CW || orientation(lowDx, lowDy, dx, dy) !== CCW) {
        this.addSpline(this.prevX, this.prevY);
        this.upX = x; this.upY = upperY;
        this.lowX = x; this.lowY = lowerY;
      } else {
        if (orientation(upDx, upDy, dx, upperY - this.lastY) === CW) { this.upX = x; this.upY = upperY; }
        if (orientation(lowDx, lowDy, dx, lowerY - this.lastY) === CCW) { this.lowX = x; this.lowY = lowerY; }
      }
    }
    this.prevX = x;
    this.prevY = y;
    this.count++;
  }

  /** The last CDF point is always a spline point. */
  finish(): void {
    if (this.count > 0 && this.pts[this.pts.length - 2] !== this.prevX) this.addSpline(this.prevX, this.prevY);
  }
}

const CW = 1, CCW = -1, COLLINEAR = 0;

/** Sign of the cross product of (dx1, dy1) and (dx2, dy2), with RS's tolerance. */
function orientation(dx1: number, dy1: number, dx2: number, dy2: number): number {
  const e = dy1 * dx2 - dy2 * dx1;
  if (e > Number.EPSILON) return CW;
  if (e < -Number.EPSILON) return CCW;
  return COLLINEAR;
}

/** The double of the smallest key above x in the key's own type (integer + 1, or the next double). */
function nextX(keys: KeySet, i: number): number {
  const h = keys.hi[i]!, l = keys.lo[i]!;
  const sh = l === 0xffffffff ? h + 1 : h;
  const sl = l === 0xffffffff ? 0 : l + 1;
  return xOfHalves(keys.type, sh, sl);
}

/**
 * The CDF points: each distinct x with its first position; a run [i, j] of equal x also adds
 * (next x above the run, j) when that lies below the next key (queries there answer j + 1).
 * Keys whose doubles coincide (uint64 above 2^53) are one point: the model cannot tell them apart.
 */
function buildSpline(keys: KeySet, eps: number): number[] {
  const n = keys.n, x = keys.x;
  const sb = new SplineBuilder(eps);
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && x[j + 1] === x[i]) j++;
    sb.add(x[i]!, i);
    if (j > i && !(keys.hi[j] === 0xffffffff && keys.lo[j] === 0xffffffff)) {
      const up = nextX(keys, j);
      if (up > x[i]! && (j + 1 === n || up < x[j + 1]!)) sb.add(up, j);
    }
    i = j + 1;
  }
  sb.finish();
  return sb.pts;
}

// ---------------------------------------------------------------------------------------------
// The index

/**
 * Edge cases: n = 0 has no spline (lookups answer 0 at once). One key, or all keys equal, is the
 * spline point (key, 0) plus (key + 1, n - 1): interpolation gives 0 at the key and n - 1 above
 * it. Queries below the first or above the last spline point use the end segment, its
 * extrapolation clamped to [0, n]; the radix prefix is clamped the same way. Two spline points
 * never share an x (CDF points are distinct doubles), and a single point is a constant, so the
 * interpolation never divides by zero.
 */
export class RadixSplineIndex implements SearchIndex {
  readonly n: number;
  readonly epsilon: number;
  readonly radixBits: number;
  /** Spline points interleaved: [x0, y0, x1, y1, ...]. */
  readonly spline: Float64Array;
  readonly numPoints: number;
  /** table[p] = first spline point whose prefix is >= p; 2^radixBits + 1 entries. */
  readonly table: Uint32Array;
  private readonly keys: KeySet;
  private readonly mode: WindowMode;
  private readonly minX: number;
  /** 2^-shift: prefix = floor((x - minX) * scale). */
  private readonly scale: number;
  private readonly maxPrefix: number;

  constructor(keys: KeySet, epsilon: number, radixBits: number) {
    this.keys = keys;
    this.n = keys.n;
    this.epsilon = epsilon;
    this.radixBits = radixBits;
    this.mode = windowModeOf(keys);
    const pts = keys.n > 0 ? buildSpline(keys, epsilon) : [];
    this.spline = Float64Array.from(pts);
    this.numPoints = pts.length / 2;
    const size = 2 ** radixBits;
    this.maxPrefix = size - 1;
    this.minX = keys.n > 0 ? keys.x[0]! : 0;
    const range = keys.n > 0 ? keys.x[keys.n - 1]! - this.minX : 0;
    // The prefix is the top radixBits bits of (x - minX): shift so that the range fits.
    let shift = 0;
    if (range > 0 && Number.isFinite(range)) {
      shift = Math.ceil(Math.log2(range)) - radixBits + 1;
      while (range * 2 ** -shift >= size) shift++;
      while (range * 2 ** -(shift - 1) < size) shift--;
    }
    this.scale = range > 0 && Number.isFinite(range) ? 2 ** -shift : 0;
    this.table = new Uint32Array(size + 1);
    let p = 0;
    for (let k = 0; k < this.numPoints; k++) {
      const pre = this.prefix(this.spline[2 * k]!);
      while (p <= pre) this.table[p++] = k;
    }
    while (p <= size) this.table[p++] = this.numPoints;
  }

  private prefix(x: number): number {
    const r = (x - this.minX) * this.scale;
    return r > 0 ? (r < this.maxPrefix ? r | 0 : this.maxPrefix) : 0; // NaN -> 0
  }

  /** The interpolated position of x, clamped to [0, n]. */
  private estimate(qx: number): number {
    const sp = this.spline, t = this.table;
    const p = this.prefix(qx);
    // The first spline point with x >= qx is in [table[p], table[p+1]]. As RadixSpline does: a
    // linear scan when the range is short (under 32 points), a binary search otherwise; both
    // with branches, which measured faster here than branch-free (speculation runs ahead).
    let b = t[p]!;
    let e = t[p + 1]!;
    if (e - b < 32) {
      while (b < e && sp[2 * b]! < qx) b++;
    } else {
      while (b < e) {
        const mid = (b + e) >>> 1;
        if (sp[2 * mid]! < qx) b = mid + 1;
        else e = mid;
      }
    }
    // Interpolate on the segment (b-1, b); below the first or above the last point, the end
    // segment (its extrapolation is clamped). One spline point: a constant.
    const last = this.numPoints - 1;
    if (b < 1) b = 1;
    if (b > last) b = last;
    const x0 = sp[2 * b - 2]!, y0 = sp[2 * b - 1]!;
    const dx = sp[2 * b]! - x0;
    const est = dx > 0 ? y0 + ((qx - x0) * (sp[2 * b + 1]! - y0)) / dx : y0;
    const n = this.n;
    return est > 0 ? (est < n ? est | 0 : n) : 0; // NaN -> 0
  }

  predict(q: KeySet, i: number): number {
    return this.n === 0 ? 0 : this.estimate(q.x[i]!);
  }

  lowerBound(q: KeySet, i: number): number {
    // n = 0: no spline at all; the answer is 0.
    if (this.n === 0) return 0;
    const pos = this.estimate(q.x[i]!);
    const eps = this.epsilon;
    const mode = this.mode;
    return mode === WindowMode.S ? searchWindowS(this.keys, q, i, pos - eps, pos + eps + 2, pos)
      : mode === WindowMode.U32 ? searchWindowU32(this.keys, q, i, pos - eps, pos + eps + 2, pos)
      : searchWindowExact(this.keys, q, i, pos - eps, pos + eps + 2, pos);
  }

  sizeBytes(): number {
    return this.spline.byteLength + this.table.byteLength;
  }

  describe(): Record<string, string | number> {
    return { epsilon: this.epsilon, radixBits: this.radixBits, splinePoints: this.numPoints };
  }
}

export function buildRadixSpline(keys: KeySet, epsilon = RADIX_SPLINE_DEFAULTS.epsilon,
  radixBits = RADIX_SPLINE_DEFAULTS.radixBits): RadixSplineIndex {
  check(Number.isInteger(epsilon) && epsilon >= 1, `RadixSpline epsilon ${epsilon} is invalid`, 'rs.epsilon', 'an integer >= 1');
  check(Number.isInteger(radixBits) && radixBits >= 1 && radixBits <= 28, `RadixSpline radixBits ${radixBits} is invalid`,
    'rs.radixBits', 'an integer in [1, 28]');
  return new RadixSplineIndex(keys, epsilon, radixBits);
}

export const radixSplineSolver: Solver<KeySet, SearchIndex> = {
  info: {
    name: 'radix-spline',
    kind: 'learned',
    description: 'RadixSpline: one-pass error-bounded spline over the CDF plus a radix table over the spline points',
    reference: 'Kipf et al., "RadixSpline: a single-pass learned index", aiDM 2020 (learnedsystems/RadixSpline)',
  },
  solve(keys: KeySet, ctx: SolveContext): SearchIndex {
    const { epsilon, radixBits } = radixSplineOptions(ctx.options);
    return buildRadixSpline(keys, epsilon, radixBits);
  },
};

/** `--opt rs.epsilon=E rs.radixBits=R`, checked as buildRadixSpline checks them. */
export function radixSplineOptions(options: Readonly<Record<string, string>>): RadixSplineConfig {
  return {
    epsilon: intOption(options, 'rs.epsilon', RADIX_SPLINE_DEFAULTS.epsilon, 1),
    radixBits: intOption(options, 'rs.radixBits', RADIX_SPLINE_DEFAULTS.radixBits, 1, 28),
  };
}
