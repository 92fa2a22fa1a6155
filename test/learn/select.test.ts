/** clamp, maximum, minimum and pick: values, gradients against finite differences, errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/rng.js';
import { SelfoptError } from '../../src/core/errors.js';
import { tensor } from '../../src/learn/tensor.js';
import { clamp, maximum, minimum, pick } from '../../src/learn/ops/select.js';
import { sum } from '../../src/learn/ops/reduce.js';
import { f64, assertGrad, assertClose } from './helpers.js';

test('clamp, maximum, minimum, pick: values', () => {
  assert.deepEqual(clamp(tensor([-2, -0.5, 0.3, 2]), -1, 1).toArray(), [-1, -0.5, 0.30000001192092896, 1]);
  assert.deepEqual(maximum(tensor([1, 5, 3]), tensor([4, 2, 3])).toArray(), [4, 5, 3]);
  assert.deepEqual(minimum(tensor([1, 5, 3]), tensor([4, 2, 3])).toArray(), [1, 2, 3]);
  assert.deepEqual(pick(tensor([1, 2, 3, 4, 5, 6], [2, 3]), Int32Array.of(2, 0)).toArray(), [3, 4]);
});

test('clamp, maximum, minimum, pick: gradients agree with central differences', () => {
  const rng = new Rng(7);
  // Entries kept away from the kinks (bounds +-0.5, ties) so the differences are smooth.
  const x = f64([4, 5], rng, -1, 1);
  for (let i = 0; i < x.size; i++) if (Math.abs(Math.abs(x.data[i]!) - 0.5) < 0.05) x.data[i] += 0.1;
  assertGrad('clamp', () => clamp(x, -0.5, 0.5), [x]);
  const a = f64([3, 4], rng), b = f64([3, 4], rng);
  for (let i = 0; i < a.size; i++) if (Math.abs(a.data[i]! - b.data[i]!) < 0.05) b.data[i] += 0.2;
  assertGrad('maximum', () => maximum(a, b), [a, b]);
  assertGrad('minimum', () => minimum(a, b), [a, b]);
  const p = f64([4, 3], rng);
  assertGrad('pick', () => pick(p, Int32Array.of(0, 2, 2, 1)), [p]);
});

test('maximum sends the gradient to a on ties; clamp passes it at the bounds', () => {
  const a = tensor([1, 2], undefined, { requiresGrad: true }), b = tensor([1, 3], undefined, { requiresGrad: true });
  sum(maximum(a, b)).backward();
  assertClose(a.grad!, [1, 0]);
  assertClose(b.grad!, [0, 1]);
  const x = tensor([-1, 0, 1, 2], undefined, { requiresGrad: true });
  sum(clamp(x, -1, 1)).backward();
  assertClose(x.grad!, [1, 1, 1, 0]);
});

test('shape errors are SelfoptErrors naming the op and the shapes', () => {
  assert.throws(() => maximum(tensor([1, 2]), tensor([1, 2, 3])), (e: unknown) => e instanceof SelfoptError && /maximum: shapes \[2\] and \[3\]/.test(e.message) && /select\.test/.test(e.where));
  assert.throws(() => pick(tensor([1, 2, 3, 4], [2, 2]), Int32Array.of(0, 2)), (e: unknown) => e instanceof SelfoptError && /pick: idx\[1\] = 2 is out of range/.test(e.message));
  assert.throws(() => pick(tensor([1, 2, 3, 4], [2, 2]), Int32Array.of(0)), /1 indices for x \[2,2\]/);
  assert.throws(() => clamp(tensor([1]), 1, 0), /clamp: bounds lo = 1, hi = 0/);
});
