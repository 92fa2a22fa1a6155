/** Elementwise, reduction, shape and softmax ops: values, broadcasting, masks, gradients, errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/rng.js';
import { SelfoptError } from '../../src/core/errors.js';
import { tensor, zeros, type Tensor } from '../../src/learn/tensor.js';
import * as ops from '../../src/learn/ops.js';
import { f64, assertGrad, assertClose } from './helpers.js';

/** Reference broadcasting by explicit index arithmetic. */
function naiveBroadcast(a: Tensor, b: Tensor, f: (x: number, y: number) => number): { shape: number[]; data: number[] } {
  const r = Math.max(a.rank, b.rank);
  const pa = [...Array(r - a.rank).fill(1), ...a.shape], pb = [...Array(r - b.rank).fill(1), ...b.shape];
  const shape = pa.map((d, i) => Math.max(d, pb[i]!));
  const n = shape.reduce((s, d) => s * d, 1);
  const data: number[] = [];
  for (let o = 0; o < n; o++) {
    let rem = o, ia = 0, ib = 0, sa = 1, sb = 1;
    for (let d = r - 1; d >= 0; d--) {
      const idx = rem % shape[d]!;
      rem = Math.floor(rem / shape[d]!);
      ia += (pa[d] === 1 ? 0 : idx) * sa;
      ib += (pb[d] === 1 ? 0 : idx) * sb;
      sa *= pa[d]!;
      sb *= pb[d]!;
    }
    data.push(f(a.data[ia]!, b.data[ib]!));
  }
  return { shape, data };
}

const SHAPE_PAIRS: [number[], number[]][] = [
  [[3, 4], [3, 4]], // same shape
  [[3, 4], []], // scalar
  [[], [3, 4]],
  [[3, 4], [4]], // row vector
  [[3, 4], [1, 4]],
  [[3, 4], [3, 1]], // column
  [[3, 1], [1, 4]], // outer
  [[2, 3, 4], [2, 1, 4]], // general: needs the odometer
  [[2, 1, 4], [3, 1]],
  [[5], [5]],
];

const BINARY = [
  ['add', ops.add, (x: number, y: number) => x + y],
  ['sub', ops.sub, (x: number, y: number) => x - y],
  ['mul', ops.mul, (x: number, y: number) => x * y],
  ['div', ops.div, (x: number, y: number) => x / y],
] as const;

test('binary ops broadcast like NumPy: shapes and values', () => {
  const rng = new Rng(1);
  for (const [sa, sb] of SHAPE_PAIRS) {
    const a = f64(sa, rng), b = f64(sb, rng, 0.5, 2);
    for (const [name, op, f] of BINARY) {
      const got = op(a, b);
      const want = naiveBroadcast(a, b, f);
      assert.deepEqual(got.shape, want.shape, `${name} ${sa} ${sb}`);
      assertClose(got.data, want.data, 1e-12, `${name} ${sa} ${sb}`);
    }
  }
});

test('binary ops: gradients match finite differences for every broadcast pattern', () => {
  const rng = new Rng(2);
  for (const [sa, sb] of SHAPE_PAIRS) {
    const a = f64(sa, rng), b = f64(sb, rng, 0.5, 2);
    for (const [name, op] of BINARY) assertGrad(`${name} ${JSON.stringify(sa)} ${JSON.stringify(sb)}`, () => op(a, b), [a, b]);
  }
  const x = f64([2, 3], rng);
  assertGrad('mul(x, x)', () => ops.mul(x, x), [x]);
  assertGrad('sub(1, x)', () => ops.sub(1, x), [x]);
  assertGrad('div(2, x+3)', () => ops.div(2, ops.add(x, 3)), [x]);
});

test('binary ops name the op and both shapes on a mismatch, and where they were called from', () => {
  const a = tensor(new Array(6).fill(1), [2, 3]), b = tensor(new Array(4).fill(1), [4]);
  try {
    ops.add(a, b);
    assert.fail('no error');
  } catch (e) {
    assert.ok(e instanceof SelfoptError);
    assert.match(e.message, /^add: shapes \[2,3\] and \[4\] do not broadcast/);
    assert.match(e.where, /test[\\/]learn[\\/]ops\.test\.js:\d+:\d+/);
  }
  assert.throws(() => ops.mul(a, tensor([1, 2, 3], [3], { dtype: 'float64' })), /mul: mixed dtypes/);
});

test('unary ops and activations: values and gradients', () => {
  const rng = new Rng(3);
  const x = f64([4, 5], rng, -2, 2, 0.05); // away from the kinks of relu at 0
  const pos = f64([4, 5], rng, 0.2, 3);
  const cases: [string, () => Tensor, Tensor, (v: number) => number][] = [
    ['neg', () => ops.neg(x), x, (v) => -v],
    ['relu', () => ops.relu(x), x, (v) => Math.max(v, 0)],
    ['leakyRelu', () => ops.leakyRelu(x, 0.2), x, (v) => (v > 0 ? v : 0.2 * v)],
    ['tanh', () => ops.tanh(x), x, Math.tanh],
    ['sigmoid', () => ops.sigmoid(x), x, (v) => 1 / (1 + Math.exp(-v))],
    ['exp', () => ops.exp(x), x, Math.exp],
    ['log', () => ops.log(pos), pos, Math.log],
    ['square', () => ops.square(x), x, (v) => v * v],
    ['sqrt', () => ops.sqrt(pos), pos, Math.sqrt],
  ];
  for (const [name, f, input, ref] of cases) {
    assertClose(f().data, Array.from(input.data, ref), 1e-12, name);
    assertGrad(name, f, [input]);
  }
  const big = tensor([-800, 800], [2], { dtype: 'float64' });
  assert.deepEqual(Array.from(ops.sigmoid(big).data), [0, 1]); // no overflow to NaN
});

test('sum and mean over everything and along each axis, with keepDims', () => {
  const rng = new Rng(4);
  const x = f64([2, 3, 4], rng);
  const total = Array.from(x.data).reduce((s, v) => s + v, 0);
  assertClose(ops.sum(x).data, [total], 1e-12);
  assertClose(ops.mean(x).data, [total / 24], 1e-12);
  assert.deepEqual(ops.sum(x, 1).shape, [2, 4]);
  assert.deepEqual(ops.sum(x, -1, { keepDims: true }).shape, [2, 3, 1]);
  const s1 = ops.sum(x, 1);
  for (let i = 0; i < 2; i++) for (let k = 0; k < 4; k++) {
    let s = 0;
    for (let j = 0; j < 3; j++) s += x.data[i * 12 + j * 4 + k]!;
    assertClose([s1.data[i * 4 + k]!], [s], 1e-12);
  }
  for (const axis of [undefined, 0, 1, 2, -1]) {
    assertGrad(`sum axis ${axis}`, () => ops.sum(x, axis), [x]);
    assertGrad(`mean axis ${axis}`, () => ops.mean(x, axis), [x]);
  }
  assert.throws(() => ops.sum(x, 3), /sum: axis 3 for a tensor of shape \[2,3,4\]/);
});

test('layer norm: zero mean, unit variance per row; gradients for x, gamma, beta', () => {
  const rng = new Rng(5);
  const x = f64([3, 6], rng, -3, 3);
  const y = ops.layerNorm(x, null, null, 0);
  for (let r = 0; r < 3; r++) {
    const row = Array.from(y.data.subarray(r * 6, r * 6 + 6));
    const mu = row.reduce((s, v) => s + v, 0) / 6;
    const v = row.reduce((s, z) => s + (z - mu) ** 2, 0) / 6;
    assert.ok(Math.abs(mu) < 1e-12 && Math.abs(v - 1) < 1e-9);
  }
  const gamma = f64([6], rng, 0.5, 1.5), beta = f64([6], rng);
  assertGrad('layerNorm', () => ops.layerNorm(x, gamma, beta), [x, gamma, beta]);
  assertGrad('layerNorm plain', () => ops.layerNorm(x), [x]);
  assert.throws(() => ops.layerNorm(x, f64([5], rng)), /layerNorm: gamma \[5\] for x \[3,6\]/);
});

test('concat, slice, reshape, transpose: values and gradients', () => {
  const rng = new Rng(6);
  const a = f64([2, 3], rng), b = f64([4, 3], rng), c = f64([2, 2], rng);
  const rows = ops.concat([a, b], 0);
  assert.deepEqual(rows.shape, [6, 3]);
  assertClose(rows.data, [...a.data, ...b.data], 0);
  const cols = ops.concat([a, c], 1);
  assert.deepEqual(cols.shape, [2, 5]);
  assertClose(cols.data, [a.data[0]!, a.data[1]!, a.data[2]!, c.data[0]!, c.data[1]!, a.data[3]!, a.data[4]!, a.data[5]!, c.data[2]!, c.data[3]!], 0);
  assertGrad('concat rows', () => ops.concat([a, b], 0), [a, b]);
  assertGrad('concat cols', () => ops.concat([a, c, a], 1), [a, c]);
  assert.throws(() => ops.concat([a, c], 0), /concat: shapes \[2,3\], \[2,2\] along axis 0/);

  const s = ops.slice(b, 0, 1, 3);
  assert.deepEqual(s.shape, [2, 3]);
  assertClose(s.data, b.data.subarray(3, 9), 0);
  const sc = ops.slice(b, 1, 1, 2);
  assertClose(sc.data, [b.data[1]!, b.data[4]!, b.data[7]!, b.data[10]!], 0);
  assertGrad('slice rows', () => ops.slice(b, 0, 1, 3), [b]);
  assertGrad('slice cols', () => ops.slice(b, 1, 1, 3), [b]);
  assert.throws(() => ops.slice(b, 0, 2, 5), /slice: range \[2, 5\) along axis 0 of shape \[4,3\]/);

  assert.deepEqual(ops.reshape(b, [3, -1]).shape, [3, 4]);
  assertGrad('reshape', () => ops.mul(ops.reshape(b, [2, 6]), ops.reshape(b, [2, 6])), [b]);
  assert.throws(() => ops.reshape(b, [5, 2]), /reshape: cannot reshape \[4,3\]/);
  const t = ops.transpose(a);
  assert.deepEqual(t.shape, [3, 2]);
  assert.equal(t.data[1], a.data[3]);
  assertGrad('transpose', () => ops.transpose(a), [a]);
});

test('matrix outputs of one shape share one shape array; other ranks, and the shapes callers pass, are their own', () => {
  const rng = new Rng(5);
  const x = tensor(Array.from({ length: 12 }, () => rng.uniform(-1, 1)), [4, 3]), w = tensor(Array.from({ length: 6 }, () => rng.uniform(-1, 1)), [3, 2]);
  const y = ops.matmul(x, w), z = ops.linear(x, w, null), c = ops.concat([y, z], 1);
  assert.deepEqual(y.shape, [4, 2]);
  assert.equal(y.shape, z.shape); // one array for every [4, 2] output
  assert.equal(ops.transpose(ops.transpose(y)).shape, y.shape);
  assert.equal(c.shape, ops.concat([z, y], 1).shape);
  assert.deepEqual(c.shape, [4, 4]);
  assert.equal(ops.gather(y, Int32Array.of(0, 1, 2, 3)).shape, y.shape);
  // Other ranks: the row ops and concat keep the trailing dimensions.
  const v = tensor([1, 2, 3], [3]), t3 = zeros([2, 2, 3]);
  assert.deepEqual(ops.gather(v, Int32Array.of(2, 2)).shape, [2]);
  assert.deepEqual(ops.segmentSum(t3, Int32Array.of(1, 1), 3).shape, [3, 2, 3]);
  assert.deepEqual(ops.concat([t3, t3], 1).shape, [2, 4, 3]);
  assert.deepEqual(t3.shape, [2, 2, 3]);
  // A shape the caller passes is copied: changing the caller's array later changes no tensor.
  const mine = [4, 2];
  const r = ops.reshape(y, mine);
  mine[0] = 8;
  assert.deepEqual(r.shape, [4, 2]);
});

test('softmax and log-softmax: rows sum to 1, match the definition, and have the right gradients', () => {
  const rng = new Rng(7);
  const x = f64([3, 5], rng, -3, 3);
  const p = ops.softmax(x), lp = ops.logSoftmax(x);
  for (let r = 0; r < 3; r++) {
    const row = Array.from(x.data.subarray(r * 5, r * 5 + 5));
    const z = row.reduce((s, v) => s + Math.exp(v), 0);
    assertClose(p.data.subarray(r * 5, r * 5 + 5), row.map((v) => Math.exp(v) / z), 1e-12);
    assertClose(lp.data.subarray(r * 5, r * 5 + 5), row.map((v) => v - Math.log(z)), 1e-12);
  }
  const huge = tensor([1000, 1001, 999], [1, 3], { dtype: 'float64' });
  assert.ok(ops.softmax(huge).toArray().every(Number.isFinite)); // max subtraction: no overflow
  assertGrad('softmax', () => ops.softmax(x), [x]);
  assertGrad('logSoftmax', () => ops.logSoftmax(x), [x]);
  assertGrad('categoricalEntropy', () => ops.categoricalEntropy(x), [x]);
  const h = ops.categoricalEntropy(x);
  for (let r = 0; r < 3; r++) {
    let e = 0;
    for (let j = 0; j < 5; j++) e -= p.data[r * 5 + j]! * lp.data[r * 5 + j]!;
    assertClose([h.data[r]!], [e], 1e-12);
  }
});

test('masked softmax: masked entries get probability exactly 0 and no gradient', () => {
  const rng = new Rng(8);
  const x = f64([3, 4], rng, -2, 2);
  x.data[1] = 50; // a huge masked logit must not matter
  const mask = new Uint8Array([1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 1, 1]);
  const p = ops.softmax(x, mask);
  const lp = ops.logSoftmax(x, mask);
  for (let i = 0; i < 12; i++) {
    if (mask[i] === 0) {
      assert.equal(p.data[i], 0);
      assert.equal(lp.data[i], -Infinity);
    } else assert.ok(p.data[i]! > 0);
  }
  for (let r = 0; r < 3; r++) assertClose([Array.from(p.data.subarray(r * 4, r * 4 + 4)).reduce((s, v) => s + v, 0)], [1], 1e-12);
  assert.equal(p.data[6], 1); // the only allowed entry of row 1
  assertGrad('masked softmax', () => ops.softmax(x, mask), [x]);
  assertGrad('masked logSoftmax', () => ops.logSoftmax(x, mask), [x]);
  assertGrad('masked entropy', () => ops.categoricalEntropy(x, mask), [x]);
  // No gradient reaches masked logits.
  const xg = tensor(Array.from(x.data), [3, 4], { requiresGrad: true });
  ops.sum(ops.mul(ops.softmax(xg, mask), tensor(Array.from({ length: 12 }, (_, i) => i + 1), [3, 4]))).backward();
  for (let i = 0; i < 12; i++) if (mask[i] === 0) assert.equal(xg.grad![i], 0);
  // A mask shared by all rows (one byte per category).
  const shared = new Uint8Array([1, 1, 0, 1]);
  const ps = ops.softmax(x, shared);
  for (let r = 0; r < 3; r++) assert.equal(ps.data[r * 4 + 2], 0);
  assertGrad('shared-mask logSoftmax', () => ops.logSoftmax(x, shared), [x]);
});

test('a fully masked row is an error naming the op and the row', () => {
  const x = tensor(new Array(8).fill(0), [2, 4]);
  const mask = new Uint8Array([1, 1, 0, 0, 0, 0, 0, 0]);
  assert.throws(() => ops.softmax(x, mask), /softmax: row 1 of x \[2,4\] has every entry masked/);
  assert.throws(() => ops.logSoftmax(x, mask), /logSoftmax: row 1 of x \[2,4\] has every entry masked/);
  assert.throws(() => ops.softmax(x, new Uint8Array(3)), /softmax: mask of length 3 for x \[2,4\]/);
});

test('logits of -Infinity act as masked entries: entropy and its gradient match the masked ones', () => {
  const logits = [0.5, -Infinity, 1.5, -0.25, -Infinity, 2];
  const mask = new Uint8Array([1, 0, 1, 1, 0, 1]);
  const finite = logits.map((v) => (v === -Infinity ? 7 : v)); // masked logits are never read
  const xi = tensor(logits, [2, 3], { dtype: 'float64', requiresGrad: true });
  const xm = tensor(finite, [2, 3], { dtype: 'float64', requiresGrad: true });
  const hi = ops.categoricalEntropy(xi), hm = ops.categoricalEntropy(xm, mask);
  assertClose(hi.data, hm.data, 1e-12, 'entropy');
  ops.sum(hi).backward();
  ops.sum(hm).backward();
  assertClose(xi.grad!, xm.grad!, 1e-12, 'gradient');
  assertClose(ops.logSoftmax(xi).data.filter(Number.isFinite), ops.logSoftmax(xm, mask).data.filter(Number.isFinite), 1e-12, 'logSoftmax');
});

test('a row with no finite allowed logit, a +Infinity or NaN one, or no categories at all, is an error, not NaN', () => {
  const x = tensor([0, 1, -Infinity, -Infinity], [2, 2]);
  for (const op of ['softmax', 'logSoftmax', 'categoricalEntropy'] as const) {
    assert.throws(() => ops[op](x), new RegExp(`${op}: row 1 of x \\[2,2\\] has no allowed entry with a finite logit`));
    assert.throws(() => ops[op](tensor([-Infinity, 3], [1, 2]), new Uint8Array([1, 0])), /row 0 of x \[1,2\] has no allowed entry with a finite logit/);
    assert.throws(() => ops[op](zeros([3, 0])), new RegExp(`${op}: x \\[3,0\\] has no categories`));
    assert.throws(() => ops[op](tensor([0, Infinity, 1], [1, 3])), new RegExp(`${op}: row 0 of x \\[1,3\\] has an allowed logit of \\+Infinity`));
    assert.throws(() => ops[op](tensor([0, 1, 2, 3, NaN, 5], [2, 3])), new RegExp(`${op}: x\\[1, 1\\] of x \\[2,3\\] is NaN`));
    assert.deepEqual(Array.from(ops.softmax(tensor([0, Infinity, NaN, 1], [1, 4]), new Uint8Array([1, 0, 0, 1])).data, (v) => v > 0), [true, false, false, true]); // masked: never read
  }
  assert.deepEqual(ops.categoricalEntropy(zeros([0, 4])).shape, [0]); // no rows: nothing to check
});
