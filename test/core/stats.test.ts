import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootstrapMean, geomean, mean, median, pairedRatio, quantile } from '../../src/core/stats.js';
import { Rng } from '../../src/core/rng.js';

test('mean, median, quantile, geomean on known values', () => {
  assert.equal(mean([1, 2, 3, 4]), 2.5);
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
  assert.equal(quantile([0, 10], 0.25), 2.5);
  assert.ok(Math.abs(geomean([1, 4, 16]) - 4) < 1e-12);
  assert.ok(Number.isNaN(geomean([1, 0])));
});

test('bootstrap CI is reproducible and covers the true mean about 95% of the time', () => {
  const a = bootstrapMean([1, 2, 3, 4, 5], 11);
  assert.deepEqual(bootstrapMean([1, 2, 3, 4, 5], 11), a);
  assert.ok(a.ci95[0] <= 3 && 3 <= a.ci95[1]);
  assert.equal(a.n, 5);
  // Coverage: 200 samples of 30 normals; the percentile bootstrap should cover mu=0 in ~93-97%.
  const r = new Rng(1);
  let covered = 0;
  for (let t = 0; t < 200; t++) {
    const xs = Array.from({ length: 30 }, () => r.normal());
    const e = bootstrapMean(xs, t, 2000);
    if (e.ci95[0] <= 0 && 0 <= e.ci95[1]) covered++;
  }
  assert.ok(covered >= 176 && covered <= 198, `coverage ${covered}/200`);
});

test('a single value has a zero-width interval; constant samples too', () => {
  assert.deepEqual(bootstrapMean([7]).ci95, [7, 7]);
  assert.deepEqual(bootstrapMean([2, 2, 2]).ci95, [2, 2]);
});

test('paired ratio: exactly 2x on every pair gives 2 with CI [2,2]; pairs must match', () => {
  const e = pairedRatio([2, 4, 6], [1, 2, 3]);
  assert.ok(Math.abs(e.mean - 2) < 1e-12);
  assert.ok(Math.abs(e.ci95[0] - 2) < 1e-12 && Math.abs(e.ci95[1] - 2) < 1e-12);
  assert.throws(() => pairedRatio([1], [1, 2]), /pairs must match/);
  // Symmetric in log space: 2x and 0.5x average to 1.
  assert.ok(Math.abs(pairedRatio([2, 1], [1, 2]).mean - 1) < 1e-12);
});

test('bootstrap interval is the percentile interval of resamples drawn one int(n) at a time', () => {
  // The reference: the plain algorithm, one draw per element, each quantile on its own sort.
  const xs = Array.from({ length: 37 }, (_, i) => Math.sin(i * 1.7) * 10 + i);
  const seed = 9, resamples = 2000;
  const rng = new Rng(seed);
  const stats: number[] = [];
  for (let r = 0; r < resamples; r++) {
    const s = xs.map(() => xs[rng.int(xs.length)]!);
    stats.push(mean(s));
  }
  const got = bootstrapMean(xs, seed, resamples);
  assert.equal(got.ci95[0], quantile(stats, 0.025));
  assert.equal(got.ci95[1], quantile(stats, 0.975));
  assert.equal(got.mean, mean(xs));
});
