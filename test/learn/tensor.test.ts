import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SelfoptError } from '../../src/core/errors.js';
import { Tensor, tensor, zeros, scalar, noGrad, isGradEnabled, backwardPassesBuilt } from '../../src/learn/tensor.js';
import { inference } from '../../src/learn/scratch.js';
import { add, mul, sum, matmul, relu } from '../../src/learn/ops.js';

test('a tensor checks that its data matches its shape', () => {
  assert.throws(() => new Tensor(new Float32Array(5), [2, 3]), SelfoptError);
  assert.throws(() => new Tensor(new Float32Array(0), [-1]), SelfoptError);
  const t = zeros([2, 3]);
  assert.equal(t.size, 6);
  assert.equal(t.dtype, 'float32');
  assert.equal(zeros([2], { dtype: 'float64' }).dtype, 'float64');
  assert.equal(scalar(3).item(), 3);
});

test('backward accumulates into leaves through a shared subexpression', () => {
  const x = tensor([2], [1], { requiresGrad: true });
  const y = mul(x, x); // x^2
  const z = add(mul(y, y), y); // x^4 + x^2 -> d/dx = 4x^3 + 2x = 36
  sum(z).backward();
  assert.equal(x.grad![0], 36);
  // A second loss accumulates, as parameters do across micro-batches.
  sum(mul(x, 3)).backward();
  assert.equal(x.grad![0], 39);
});

test('backward needs a scalar that depends on parameters', () => {
  const x = tensor([1, 2], [2], { requiresGrad: true });
  assert.throws(() => mul(x, 2).backward(), /backward: called on a tensor of shape \[2\]/);
  assert.throws(() => sum(tensor([1, 2])).backward(), /does not depend/);
});

test('a freed graph refuses a second backward; retainGraph allows it', () => {
  const x = tensor([3], [1], { requiresGrad: true });
  const h = mul(x, x);
  const l1 = sum(h);
  l1.backward();
  assert.throws(() => sum(mul(h, 2)).backward(), /already freed/);
  x.zeroGrad();
  const h2 = mul(x, x);
  sum(h2).backward({ retainGraph: true });
  sum(mul(h2, 2)).backward();
  assert.equal(x.grad![0], 6 + 12);
});

test('noGrad records no graph and restores the mode, even when fn throws', () => {
  const w = tensor([1, 2, 3, 4], [2, 2], { requiresGrad: true });
  const y = noGrad(() => relu(matmul(w, w)));
  assert.equal(y.requiresGrad, false);
  assert.equal(y.parents.length, 0);
  assert.equal(isGradEnabled(), true);
  assert.throws(() => noGrad(() => { throw new Error('boom'); }));
  assert.equal(isGradEnabled(), true);
  assert.throws(() => noGrad(async () => 1), /synchronous/);
  assert.equal(isGradEnabled(), true);
});

test('an op builds its backward closure only when it records a graph', () => {
  const w = tensor([1, 2, 3, 4], [2, 2], { requiresGrad: true });
  const forward = () => sum(relu(add(matmul(w, w), 1)));
  const before = backwardPassesBuilt();
  noGrad(forward);
  inference(() => forward().item());
  sum(mul(tensor([1, 2]), 3)); // gradients on, but no input needs one
  assert.equal(backwardPassesBuilt(), before, 'no graph, no closure');
  forward().backward();
  assert.equal(backwardPassesBuilt() - before, 4, 'matmul, add, relu, sum');
  // d/dw sum(w w + 1) = G w^T + w^T G with G all ones (relu passes every entry: all are positive)
  assert.deepEqual(Array.from(w.grad!), [7, 11, 9, 13]);
});

test('two graphs built interleaved do not interfere (no global tape)', () => {
  const a = tensor([1, 2], [2], { requiresGrad: true });
  const b = tensor([3, 4], [2], { requiresGrad: true });
  const la = mul(a, a);
  const lb = mul(b, 5);
  const la2 = sum(mul(la, 2));
  const lb2 = sum(lb);
  lb2.backward();
  assert.equal(a.grad, null);
  assert.deepEqual(Array.from(b.grad!), [5, 5]);
  la2.backward();
  assert.deepEqual(Array.from(a.grad!), [4, 8]);
});

test('deep chains do not overflow the stack in backward', () => {
  const x = tensor([1], [1], { requiresGrad: true });
  let y = x;
  for (let i = 0; i < 20000; i++) y = add(y, 1e-3);
  sum(y).backward();
  assert.equal(x.grad![0], 1);
});
