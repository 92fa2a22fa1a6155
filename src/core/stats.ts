/**
 * Statistics for the rules of evidence: a mean with its 95% bootstrap confidence interval, a
 * paired ratio against a baseline with its own interval, and the geometric mean of ratios.
 * Bootstrap resampling draws from a seeded Rng, so a report is the same every time it is made.
 */
import { Rng } from './rng.js';

export const BOOTSTRAP_RESAMPLES = 10_000;

export function mean(xs: ArrayLike<number>): number {
  if (xs.length === 0) return NaN;
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]!;
  return s / xs.length;
}

export function median(xs: ArrayLike<number>): number {
  return quantile(xs, 0.5);
}

/** Linear-interpolated quantile (type 7, numpy's default) of unsorted values. */
export function quantile(xs: ArrayLike<number>, q: number): number {
  if (xs.length === 0) return NaN;
  return sortedQuantile(Float64Array.from(xs).sort(), q);
}

/** The type-7 quantile of values already sorted ascending. */
function sortedQuantile(s: Float64Array, q: number): number {
  const h = (s.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo]! + (h - lo) * (s[hi]! - s[lo]!);
}

export function stddev(xs: ArrayLike<number>): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += (xs[i]! - m) ** 2;
  return Math.sqrt(s / (xs.length - 1));
}

export function geomean(xs: ArrayLike<number>): number {
  if (xs.length === 0) return NaN;
  let s = 0;
  for (let i = 0; i < xs.length; i++) {
    if (!(xs[i]! > 0)) return NaN;
    s += Math.log(xs[i]!);
  }
  return Math.exp(s / xs.length);
}

export interface Estimate {
  n: number;
  mean: number;
  ci95: [number, number];
}

/**
 * The mean and its 95% percentile-bootstrap interval. With one value the interval is that value
 * (nothing to resample); the caller's table shows n so a reader sees how much evidence stands behind it.
 */
export function bootstrapMean(xs: ArrayLike<number>, seed = 0, resamples = BOOTSTRAP_RESAMPLES): Estimate {
  return bootstrap(xs, mean, seed, resamples);
}

/** Bootstrap of any statistic of one sample. */
export function bootstrap(xs: ArrayLike<number>, stat: (s: Float64Array) => number, seed = 0, resamples = BOOTSTRAP_RESAMPLES): Estimate {
  const n = xs.length;
  const data = Float64Array.from(xs);
  const point = stat(data);
  if (n < 2) return { n, mean: point, ci95: [point, point] };
  const rng = new Rng(seed);
  const sample = new Float64Array(n);
  const picks = new Int32Array(n);
  const stats = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    // One block of indices per resample: the same draws as n calls of rng.int(n), in order,
    // so intervals do not change; a report's summary of many cells spends most of its time here.
    rng.fillInt(picks, n);
    for (let i = 0; i < n; i++) sample[i] = data[picks[i]!]!;
    stats[r] = stat(sample);
  }
  stats.sort(); // one sort serves both ends of the interval
  return { n, mean: point, ci95: [sortedQuantile(stats, 0.025), sortedQuantile(stats, 0.975)] };
}

/**
 * Paired ratio of `xs` to `baseline` (same seeds, same instances, paired by position): the
 * geometric mean of the per-pair ratios xs[i] / baseline[i], with a bootstrap interval that
 * resamples pairs. The geometric mean makes 2x faster and 2x slower symmetric.
 */
export function pairedRatio(xs: ArrayLike<number>, baseline: ArrayLike<number>, seed = 0, resamples = BOOTSTRAP_RESAMPLES): Estimate {
  if (xs.length !== baseline.length) throw new RangeError(`pairedRatio: ${xs.length} values vs ${baseline.length} baseline values; pairs must match`);
  const ratios = new Float64Array(xs.length);
  for (let i = 0; i < xs.length; i++) ratios[i] = xs[i]! / baseline[i]!;
  return bootstrap(ratios, geomean, seed, resamples);
}
