/** Dense and sparse products and the row-indexed graph ops: values against naive loops, gradients, errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/rng.js';
import { SelfoptError } from '../../src/core/errors.js';
import { tensor, zeros, type Tensor } from '../../src/learn/tensor.js';
import * as ops from '../../src/learn/ops.js';
import { f64, assertGrad, assertClose } from './helpers.js';

function naiveMatmul(a: Tensor, b: Tensor): number[] {
  const [m, k] = a.shape as [number, number], n = b.shape[1]!;
  const c = new Array<number>(m * n).fill(0);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let p = 0; p < k; p++) c[i * n + j] += a.data[i * k + p]! * b.data[p * n + j]!;
  return c;
}

test('matmul matches the triple loop, across block and unroll boundaries', () => {
  const rng = new Rng(11);
  // Odd sizes hit every tail (2-row, 4-k unrolls); 300 and 530 cross the 256 and 512 blocks.
  for (const [m, k, n] of [[1, 1, 1], [5, 7, 3], [2, 4, 2], [3, 9, 1], [37, 300, 530], [0, 3, 2]] as const) {
    const a = f64([m, k], rng), b = f64([k, n], rng);
    assertClose(ops.matmul(a, b).data, naiveMatmul(a, b), 1e-12, `${m}x${k}x${n}`);
  }
  const a32 = tensor(Array.from({ length: 6 }, (_, i) => i), [2, 3]);
  const b32 = tensor(Array.from({ length: 6 }, (_, i) => i - 2), [3, 2]);
  assert.deepEqual(ops.matmul(a32, b32).toArray(), naiveMatmul(a32, b32));
});

test('matmul gradients (both operands, including tails of the transposed kernels)', () => {
  const rng = new Rng(12);
  for (const [m, k, n] of [[3, 4, 5], [7, 5, 3], [1, 6, 2], [9, 3, 1]] as const) {
    const a = f64([m, k], rng), b = f64([k, n], rng);
    assertGrad(`matmul ${m}x${k}x${n}`, () => ops.matmul(a, b), [a, b]);
  }
  const x = f64([4, 4], rng);
  assertGrad('matmul(x, x)', () => ops.matmul(x, x), [x]);
});

test('linear (fused x W + b): values and gradients, with and without bias', () => {
  const rng = new Rng(15);
  const x = f64([6, 5], rng), w = f64([5, 3], rng), b = f64([3], rng);
  assertClose(ops.linear(x, w, b).data, ops.add(ops.matmul(x, w), b).data, 1e-12);
  assertClose(ops.linear(x, w, null).data, ops.matmul(x, w).data, 1e-15);
  assertGrad('linear', () => ops.linear(x, w, b), [x, w, b]);
  assertGrad('linear without bias', () => ops.linear(x, w, null), [x, w]);
  assert.throws(() => ops.linear(x, w, f64([4], rng)), /linear: x \[6,5\], w \[5,3\], b \[4\]/);
});

test('matmul names the op, the shapes and the calling line on a mismatch', () => {
  const a = zeros([2, 3]), b = zeros([4, 5]);
  try {
    ops.matmul(a, b);
    assert.fail('no error');
  } catch (e) {
    assert.ok(e instanceof SelfoptError);
    assert.match(e.message, /matmul: cannot multiply a \[2,3\] by b \[4,5\]/);
    assert.match(e.message, /expected a \[m,k\] and b \[k,n\]/);
    assert.match(e.where, /matmul-sparse\.test\.js:\d+/);
  }
  assert.throws(() => ops.matmul(zeros([3]), zeros([3, 1])), /matmul: cannot multiply a \[3\]/);
});

function randomCsr(rng: Rng, rows: number, cols: number, density: number, weighted: boolean): ops.Csr {
  const src: number[] = [], dst: number[] = [], val: number[] = [];
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) {
    if (rng.next() < density) {
      src.push(r);
      dst.push(c);
      val.push(rng.uniform(-1, 1));
    }
  }
  return ops.Csr.fromCoo(rows, cols, src, dst, weighted ? val : undefined);
}

function denseOf(a: ops.Csr): Tensor {
  const d = zeros([a.rows, a.cols], { dtype: 'float64' });
  for (let r = 0; r < a.rows; r++) for (let p = a.rowPtr[r]!; p < a.rowPtr[r + 1]!; p++) d.data[r * a.cols + a.colIdx[p]!] += a.values ? a.values[p]! : 1;
  return d;
}

test('CSR: construction checks, cached transpose, spmm values and gradient', () => {
  const rng = new Rng(13);
  for (const weighted of [false, true]) {
    const a = randomCsr(rng, 9, 7, 0.35, weighted);
    const x = f64([7, 5], rng);
    assertClose(ops.spmm(a, x).data, naiveMatmul(denseOf(a), x), 1e-12, 'spmm');
    const at = a.transpose();
    assert.equal(a.transpose(), at); // computed once
    assert.equal(at.transpose(), a);
    const dt = denseOf(at), d = denseOf(a);
    for (let i = 0; i < 9; i++) for (let j = 0; j < 7; j++) assert.equal(dt.data[j * 9 + i], d.data[i * 7 + j]);
    assertGrad(`spmm weighted=${weighted}`, () => ops.spmm(a, x), [x]);
  }
  assert.throws(() => new ops.Csr(2, 2, new Int32Array([0, 1, 2]), new Int32Array([0, 5])), /Csr: colIdx\[1\] = 5 is out of range/);
  assert.throws(() => new ops.Csr(2, 2, new Int32Array([0, 2, 1]), new Int32Array([0, 1])), /rowPtr decreases at row 1/);
  assert.throws(() => ops.spmm(randomCsr(rng, 3, 4, 0.5, false), zeros([3, 2])), /spmm: cannot multiply a sparse 3x4 matrix by x \[3,2\]/);
});

test('gather, scatterAdd and segment sum/mean/max: values and gradients', () => {
  const rng = new Rng(14);
  const x = f64([6, 3], rng);
  const idx = new Int32Array([4, 0, 4, 5]);
  const g = ops.gather(x, idx);
  assert.deepEqual(g.shape, [4, 3]);
  assertClose(g.data.subarray(0, 3), x.data.subarray(12, 15), 0);
  assertGrad('gather with repeats', () => ops.gather(x, idx), [x]);

  const seg = new Int32Array([2, 0, 2, 1, 0, 2]);
  const s = ops.segmentSum(x, seg, 4);
  assert.deepEqual(s.shape, [4, 3]);
  for (let j = 0; j < 3; j++) {
    assertClose([s.data[j]!], [x.data[3 + j]! + x.data[12 + j]!], 1e-12);
    assertClose([s.data[6 + j]!], [x.data[j]! + x.data[6 + j]! + x.data[15 + j]!], 1e-12);
    assert.equal(s.data[9 + j], 0); // empty segment 3
  }
  const sa = ops.scatterAdd(x, seg, 4);
  assert.deepEqual(Array.from(sa.data), Array.from(s.data));
  const mean = ops.segmentMean(x, seg, 4);
  for (let j = 0; j < 3; j++) assertClose([mean.data[6 + j]!], [(x.data[j]! + x.data[6 + j]! + x.data[15 + j]!) / 3], 1e-12);
  assert.equal(mean.data[9], 0);
  const mx = ops.segmentMax(x, seg, 4);
  for (let j = 0; j < 3; j++) assert.equal(mx.data[6 + j], Math.max(x.data[j]!, x.data[6 + j]!, x.data[15 + j]!));
  assert.equal(mx.data[9], 0);
  assertGrad('scatterAdd', () => ops.scatterAdd(x, seg, 4), [x]);
  assertGrad('segmentSum', () => ops.segmentSum(x, seg, 4), [x]);
  assertGrad('segmentMean', () => ops.segmentMean(x, seg, 4), [x]);
  assertGrad('segmentMax', () => ops.segmentMax(x, seg, 4), [x]); // random values: no ties
  const v = f64([5], rng);
  assertGrad('segmentMax on a vector', () => ops.segmentMax(v, new Int32Array([1, 1, 0, 1, 0]), 2), [v]);

  assert.throws(() => ops.gather(x, new Int32Array([6])), /gather: idx\[0\] = 6 is out of range/);
  assert.throws(() => ops.segmentSum(x, new Int32Array([0, 1]), 2), /segmentSum: 2 indices for 6 rows of \[6,3\]/);
  assert.throws(() => ops.segmentMean(x, seg, 2), /segmentMean: segmentIds\[0\] = 2 is out of range/);
});

test('segment ops over no rows give every segment 0, in the rows\' width (a graph level with no edges)', () => {
  const none = tensor([], [0, 3], { dtype: 'float64', requiresGrad: true });
  for (const op of ['scatterAdd', 'segmentSum', 'segmentMean', 'segmentMax'] as const) {
    const y = ops[op](none, new Int32Array(0), 2);
    assert.deepEqual(y.shape, [2, 3], op);
    assert.deepEqual(Array.from(y.data), [0, 0, 0, 0, 0, 0], op);
    ops.sum(y).backward();
  }
  assert.deepEqual(ops.gather(none, new Int32Array(0)).shape, [0, 3]);
});
