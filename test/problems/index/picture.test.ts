import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromFloat64, lowerBoundExact } from '../../../src/problems/index/keys.js';
import { generateKeys } from '../../../src/problems/index/instances.js';
import { buildPgm } from '../../../src/problems/index/pgm.js';
import { buildRadixSpline } from '../../../src/problems/index/radixspline.js';
import { errorProfile } from '../../../src/problems/index/picture.js';
import { indexProblem } from '../../../src/problems/index/index.js';
import { classicalSolvers } from '../../../src/problems/index/heuristics.js';
import { Rng } from '../../../src/core/rng.js';

test('the error profile is each slice\'s smallest and largest predicted - true position, over every key of a small set', () => {
  const keys = generateKeys({ dist: 'lognormal', n: 30_000, type: 'uint64', dup: 3, seed: 5 });
  for (const index of [buildPgm(keys, 32, 4), buildRadixSpline(keys, 32, 18)]) {
    const p = errorProfile(keys, index);
    assert.equal(p.measured, keys.n);
    const lo = new Float64Array(p.slices).fill(Infinity), hi = new Float64Array(p.slices).fill(-Infinity);
    let maxAbs = 0;
    for (let i = 0; i < keys.n; i++) {
      const e = index.predict(keys, i) - lowerBoundExact(keys, keys, i, 0, keys.n);
      const s = Math.floor((i * p.slices) / keys.n);
      lo[s] = Math.min(lo[s]!, e);
      hi[s] = Math.max(hi[s]!, e);
      maxAbs = Math.max(maxAbs, Math.abs(e));
    }
    assert.deepEqual(Array.from(p.lo), Array.from(lo));
    assert.deepEqual(Array.from(p.hi), Array.from(hi));
    assert.equal(p.maxAbs, maxAbs);
  }
  // PGM's guarantee, seen through the profile: every key within epsilon + 1 of its first occurrence.
  assert.ok(errorProfile(keys, buildPgm(keys, 32, 4)).maxAbs <= 33);
});

test('the index problem draws learned indexes (keys and model error) and nothing for classical ones', () => {
  const keys = generateKeys({ dist: 'normal', n: 20_000, type: 'uint64', dup: 1, seed: 7 });
  const ctx = { seed: 1, rng: new Rng(1), quick: true, options: {} };
  const pgm = buildPgm(keys, 64, 4);
  const svg = indexProblem.picture!(keys, pgm, 'normal · pgm · seed 1')!;
  assert.match(svg, /^<svg[\s\S]*<\/svg>\s*$/);
  assert.match(svg, /normal · pgm · seed 1/);
  assert.match(svg, new RegExp(`largest \\|error\\| ${Math.round(errorProfile(keys, pgm).maxAbs)}\\)`));
  const bs = classicalSolvers.find((s) => s.info.name === 'binary-search')!.solve(keys, ctx) as ReturnType<typeof buildPgm>;
  assert.equal(indexProblem.picture!(keys, bs, 'x'), undefined);
});

test('a float64 set holding -Infinity and +Infinity is drawn: infinities on the edges, no NaN', () => {
  // The curve was scaled by the span +Infinity - -Infinity: every point was NaN, and nothing drew.
  const x = Float64Array.from({ length: 2000 }, (_, i) => i / 7);
  x[0] = -Infinity;
  x[1999] = Infinity;
  const keys = fromFloat64(x);
  const svg = indexProblem.picture!(keys, buildPgm(keys, 16, 4), 'inf · pgm · seed 1')!;
  assert.doesNotMatch(svg, /NaN|Infinity/);
  const curve = /<path d="M([^"]*)" fill="none" stroke="#2563eb"/.exec(svg)![1]!.split('L').map((p) => Number(p.split(',')[1]));
  // y runs from the bottom edge (top + height = 204) to the top edge (54), the finite keys between
  assert.equal(curve[0], 204);
  assert.equal(curve[curve.length - 1], 54);
  assert.ok(curve.slice(1, -1).every((y) => y >= 54 && y <= 204));
  assert.ok(curve[1]! < 204 || curve[200]! < 204);
});
