import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lowerBoundExact } from '../../../src/problems/index/keys.js';
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
