import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, hashString } from '../../src/core/rng.js';

test('same seed, same stream; different seeds differ', () => {
  const a = new Rng(42), b = new Rng(42), c = new Rng(43);
  const xs = Array.from({ length: 100 }, () => a.nextU32());
  assert.deepEqual(Array.from({ length: 100 }, () => b.nextU32()), xs);
  assert.notDeepEqual(Array.from({ length: 100 }, () => c.nextU32()), xs);
});

test('next() is uniform in [0,1): mean, variance and bucket counts', () => {
  const r = new Rng(7);
  const n = 200_000;
  const buckets = new Array(10).fill(0);
  let s = 0, s2 = 0;
  for (let i = 0; i < n; i++) {
    const u = r.next();
    assert.ok(u >= 0 && u < 1);
    s += u; s2 += u * u;
    buckets[Math.floor(u * 10)]++;
  }
  assert.ok(Math.abs(s / n - 0.5) < 0.005);
  assert.ok(Math.abs(s2 / n - s * s / n / n - 1 / 12) < 0.002);
  // chi-square with 9 dof: 99.9% quantile is 27.9
  const chi = buckets.reduce((acc, b) => acc + (b - n / 10) ** 2 / (n / 10), 0);
  assert.ok(chi < 27.9, `chi2 ${chi}`);
});

test('int(n) is unbiased and in range, also for n that does not divide 2^32', () => {
  const r = new Rng(1);
  const n = 3, counts = [0, 0, 0];
  for (let i = 0; i < 90_000; i++) counts[r.int(n)]!++;
  for (const c of counts) assert.ok(Math.abs(c - 30_000) < 600, `count ${c}`);
  assert.throws(() => r.int(0), RangeError);
  assert.throws(() => r.int(1.5), RangeError);
});

test('normal() has mean 0 and variance 1', () => {
  const r = new Rng(3);
  let s = 0, s2 = 0;
  const n = 100_000;
  for (let i = 0; i < n; i++) { const z = r.normal(); s += z; s2 += z * z; }
  assert.ok(Math.abs(s / n) < 0.02);
  assert.ok(Math.abs(s2 / n - 1) < 0.03);
});

test('split: deterministic, independent of order, does not advance the parent', () => {
  const p = new Rng(9);
  const before = p.state();
  const a1 = p.split(1).nextU32();
  const b1 = p.split('worker-b').nextU32();
  assert.deepEqual(p.state(), before);
  const q = new Rng(9);
  assert.equal(q.split('worker-b').nextU32(), b1);
  assert.equal(q.split(1).nextU32(), a1);
  assert.notEqual(a1, p.split(2).nextU32());
  assert.notEqual(p.split(1).nextU32(), new Rng(9).nextU32());
});

test('state round trip and shuffle is a permutation', () => {
  const r = new Rng(5);
  r.nextU32();
  const s = Rng.fromState(r.state());
  assert.equal(s.nextU32(), r.nextU32());
  const a = Int32Array.from({ length: 50 }, (_, i) => i);
  new Rng(1).shuffle(a);
  assert.deepEqual([...a].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
  assert.notDeepEqual([...a], Array.from({ length: 50 }, (_, i) => i));
  assert.equal(hashString('abc'), hashString('abc'));
  assert.notEqual(hashString('abc'), hashString('abd'));
});

test('Rng clone draws what the original draws next (the pending normal included), independently', () => {
  const r = new Rng(5);
  r.normal(); // leaves a spare normal pending
  const c = r.clone();
  assert.equal(c.normal(), r.normal());
  const a = Array.from({ length: 5 }, () => r.nextU32());
  assert.deepEqual(Array.from({ length: 5 }, () => c.nextU32()), a);
  r.nextU32();
  assert.notEqual(c.nextU32(), r.nextU32());
});

test('fillInt draws exactly what repeated int(n) draws, in order, and leaves the same state', () => {
  for (const n of [1, 2, 7, 1000, 2 ** 31 - 1, 2 ** 31, 3 * 2 ** 30, 2 ** 32]) {
    const a = new Rng(42);
    const b = new Rng(42);
    const block = new Float64Array(257);
    a.fillInt(block, n);
    for (let i = 0; i < block.length; i++) assert.equal(block[i], b.int(n), `n=${n}, draw ${i}`);
    assert.deepEqual(a.state(), b.state(), `n=${n}: state after the block`);
  }
  assert.throws(() => new Rng(1).fillInt(new Int32Array(3), 0), /needs an integer 1 <= n <= 2\^32/);
});
