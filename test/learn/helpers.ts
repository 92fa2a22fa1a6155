/** Shared helpers for the learning-core tests. */
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/rng.js';
import { Tensor, zeros } from '../../src/learn/tensor.js';
import { gradCheck, type GradCheckOptions } from '../../src/learn/gradcheck.js';

/** A float64 leaf with uniform entries in [lo, hi), optionally pushed away from 0 by `gap` (for kinks). */
export function f64(shape: number[], rng: Rng, lo = -1, hi = 1, gap = 0): Tensor {
  const t = zeros(shape, { dtype: 'float64' });
  for (let i = 0; i < t.size; i++) {
    let v = rng.uniform(lo, hi);
    if (gap > 0 && Math.abs(v) < gap) v = v < 0 ? v - gap : v + gap;
    t.data[i] = v;
  }
  return t;
}

/** Asserts that the autodiff gradient of f matches central differences for every tensor in wrt. */
export function assertGrad(label: string, f: () => Tensor, wrt: Tensor[], opts?: GradCheckOptions): void {
  const r = gradCheck(f, wrt, opts);
  assert.ok(r.checked > 0, `${label}: nothing checked`);
  assert.ok(r.ok, `${label}: gradient mismatch ${JSON.stringify(r.worst)} (ratio ${r.worstRatio})`);
}

export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-9, label = ''): void {
  assert.equal(actual.length, expected.length, `${label} length`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!, e = expected[i]!;
    assert.ok(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)), `${label}[${i}]: ${a} vs ${e}`);
  }
}
