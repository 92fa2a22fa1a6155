/** Layers: definitions against dense reference formulas, gradients, seeding, shape errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/rng.js';
import { tensor, zeros, noGrad, type Tensor } from '../../src/learn/tensor.js';
import { inference } from '../../src/learn/scratch.js';
import * as ops from '../../src/learn/ops.js';
import { Linear, MLP } from '../../src/learn/layers.js';
import { GCNConv, SAGEConv, DagMessagePassing, DagSchedule, gcnAdjacency, meanAdjacency } from '../../src/learn/gnn.js';
import { f64, assertGrad, assertClose } from './helpers.js';

const F64 = { dtype: 'float64' } as const;

function dense(a: ops.Csr): number[][] {
  const d = Array.from({ length: a.rows }, () => new Array<number>(a.cols).fill(0));
  for (let r = 0; r < a.rows; r++) for (let p = a.rowPtr[r]!; p < a.rowPtr[r + 1]!; p++) d[r]![a.colIdx[p]!]! += a.values ? a.values[p]! : 1;
  return d;
}

function denseMatmul(a: number[][], x: Tensor): number[] {
  const d = x.shape[1]!, out: number[] = [];
  for (const row of a) for (let j = 0; j < d; j++) out.push(row.reduce((s, v, c) => s + v * x.data[c * d + j]!, 0));
  return out;
}

/** An undirected test graph: a path 0-1-2-3, a triangle 3-4-5, node 6 isolated, a self loop on 2. */
function testGraph(): ops.Csr {
  const edges = [[0, 1], [1, 2], [2, 3], [3, 4], [4, 5], [5, 3]];
  const src: number[] = [], dst: number[] = [];
  for (const [u, v] of edges) src.push(u!, v!), dst.push(v!, u!);
  src.push(2);
  dst.push(2);
  return ops.Csr.fromCoo(7, 7, src, dst);
}

test('Linear is x W + b; gradients for x, W and b; seeded init', () => {
  const rng = new Rng(21);
  const lin = new Linear(4, 3, { rng, dtype: 'float64' });
  assert.deepEqual(lin.weight.shape, [4, 3]);
  assert.deepEqual(lin.namedParameters().map(([n]) => n), ['weight', 'bias']);
  const x = f64([5, 4], rng);
  lin.bias!.data.set([0.1, -0.2, 0.3]);
  const y = lin.forward(x);
  const ref = ops.add(ops.matmul(x, lin.weight), lin.bias!);
  assertClose(y.data, ref.data, 1e-14);
  assertGrad('Linear', () => lin.forward(x), [x, lin.weight, lin.bias!]);
  const bound = Math.sqrt(6 / 7);
  assert.ok(lin.weight.toArray().every((w) => Math.abs(w) <= bound)); // Glorot uniform range
  assert.deepEqual(new Linear(4, 3, { rng: new Rng(5) }).weight.toArray(), new Linear(4, 3, { rng: new Rng(5) }).weight.toArray());
  assert.notDeepEqual(new Linear(4, 3, { rng: new Rng(5) }).weight.toArray(), new Linear(4, 3, { rng: new Rng(6) }).weight.toArray());
  assert.throws(() => lin.forward(f64([5, 3], rng)), /Linear\(4->3\): input \[5,3\] \(at .*\); expected an input of shape \[n,4\]/);
});

test('MLP: composition of Linear layers and activations; gradients through every layer', () => {
  const rng = new Rng(22);
  for (const activation of ['tanh', 'leakyRelu', 'sigmoid', 'relu'] as const) {
    const mlp = new MLP([3, 6, 5, 2], { rng, activation, dtype: 'float64', init: activation === 'relu' ? 'he' : 'glorot' });
    for (const l of mlp.layers) for (let i = 0; i < l.bias!.size; i++) l.bias!.data[i] = rng.uniform(-0.3, 0.3);
    assert.deepEqual(mlp.namedParameters().map(([n]) => n), ['layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias', 'layers.2.weight', 'layers.2.bias']);
    const x = f64([4, 3], rng);
    assertGrad(`MLP ${activation}`, () => mlp.forward(x), [x, ...mlp.parameters()]);
  }
  const m = new MLP([2, 3, 1], { rng, outputActivation: 'sigmoid' });
  const y = m.forward(zeros([7, 2]));
  assert.deepEqual(y.shape, [7, 1]);
  assert.ok(y.toArray().every((v) => v > 0 && v < 1));
  assert.equal(m.parameterCount(), 2 * 3 + 3 + 3 + 1);
});

test('linear with an activation is linear then the activation in one op, to the bit, forward and backward', () => {
  const rng = new Rng(24);
  const acts = [['relu', 0.01], ['leakyRelu', 0.2], ['leakyRelu', 0], ['leakyRelu', -0.5], ['tanh', 0.01], ['sigmoid', 0.01], ['none', 0.01]] as const;
  for (const dtype of ['float32', 'float64'] as const) {
    for (const [act, slope] of acts) {
      const make = (shape: number[], requiresGrad: boolean) => {
        const t = zeros(shape, { dtype, requiresGrad });
        for (let i = 0; i < t.size; i++) t.data[i] = rng.uniform(-1, 1);
        return t;
      };
      const x = make([6, 5], true), w = make([5, 4], true), b = make([4], true), g = make([6, 4], false);
      // Row 0 of x is zero and b[0] is 0, so output (0, 0) is exactly 0: the gradient at the kink.
      x.data.fill(0, 0, 5);
      b.data[0] = 0;
      const run = (fused: boolean) => {
        for (const p of [x, w, b]) p.zeroGrad();
        const y = fused ? ops.linear(x, w, b, act, slope) : ops.activate(ops.linear(x, w, b), act, slope);
        ops.sum(ops.mul(y, g)).backward();
        return { y: Array.from(y.data), op: y.op, gx: Array.from(x.grad!), gw: Array.from(w.grad!), gb: Array.from(b.grad!) };
      };
      const fused = run(true), separate = run(false);
      assert.deepEqual({ ...fused, op: '' }, { ...separate, op: '' }, `${dtype} ${act} ${slope}`);
      // One op, except leaky ReLU with a negative slope (its gradient is not a function of the output).
      assert.equal(fused.op, slope < 0 ? 'leakyRelu' : 'linear', `${act} ${slope}`);
    }
  }
});

test('an MLP that records no graph is one op, with the numbers of one op per layer', () => {
  const rng = new Rng(25);
  for (const activation of ['tanh', 'leakyRelu', 'sigmoid', 'relu'] as const) {
    const mlp = new MLP([3, 6, 5, 2], { rng, activation, outputActivation: activation === 'tanh' ? 'none' : 'leakyRelu', slope: 0.2 });
    for (const l of mlp.layers) for (let i = 0; i < l.bias!.size; i++) l.bias!.data[i] = rng.uniform(-0.3, 0.3);
    const x = tensor(Array.from({ length: 12 }, () => rng.uniform(-2, 2)), [4, 3]);
    const recorded = mlp.forward(x);
    assert.equal(recorded.op, 'linear');
    const plain = noGrad(() => mlp.forward(x));
    assert.equal(plain.op, 'linearStack');
    assert.equal(plain.requiresGrad, false);
    assert.deepEqual(Array.from(plain.data), Array.from(recorded.data), activation);
    const acting = inference(() => { const y = mlp.forward(x); return { op: y.op, data: Array.from(y.data) }; });
    assert.deepEqual(acting, { op: 'linearStack', data: Array.from(recorded.data) });
  }
  const mlp = new MLP([3, 2], { rng });
  assert.throws(() => ops.linearStack(zeros([1, 3]), mlp.layers, ['none'], 0.01), /linearStack: called with gradients on/);
  assert.throws(() => mlp.forward(zeros([1, 4])), /MLP\(3->2\): input \[1,4\]/);
});

test('gcnAdjacency is D^-1/2 (A+I) D^-1/2; GCNConv matches the dense formula in both product orders', () => {
  const a = testGraph();
  const ahat = gcnAdjacency(a);
  const A = dense(a);
  const n = 7;
  const deg = A.map((row, i) => row.reduce((s, v) => s + v, 0) + 1);
  const want = A.map((row, i) => row.map((v, j) => (v + (i === j ? 1 : 0)) / Math.sqrt(deg[i]! * deg[j]!)));
  const got = dense(ahat);
  for (let i = 0; i < n; i++) assertClose(got[i]!, want[i]!, 1e-6, `row ${i}`);
  assert.equal(got[2]![2]!, 2 / deg[2]!); // the existing self loop counts twice: A + I
  assert.equal(got[6]![6]!, 1); // isolated node keeps itself

  const rng = new Rng(23);
  for (const [inF, outF] of [[5, 3], [3, 5], [4, 4]]) {
    const conv = new GCNConv(inF!, outF!, { rng, dtype: 'float64' });
    conv.bias!.data.set(Array.from({ length: outF! }, (_, i) => 0.1 * i));
    const x = f64([n, inF!], rng);
    const xw = ops.matmul(x, conv.weight);
    const ref = denseMatmul(want, xw).map((v, i) => v + conv.bias!.data[i % outF!]!);
    assertClose(conv.forward(ahat, x).data, ref, 1e-6, `GCN ${inF}->${outF}`);
    assertGrad(`GCNConv ${inF}->${outF}`, () => conv.forward(ahat, x), [x, conv.weight, conv.bias!]);
  }
  const conv = new GCNConv(4, 2, { rng });
  assert.throws(() => conv.forward(ahat, zeros([6, 4])), /GCNConv\(4->2\): node features \[6,4\] for a graph of 7 nodes/);
});

test('SAGEConv (mean aggregator) matches [h, mean of neighbours] W + b; gradients', () => {
  const a = testGraph();
  const mean = meanAdjacency(a);
  const M = dense(mean);
  assertClose(M[1]!, [0.5, 0, 0.5, 0, 0, 0, 0], 1e-7);
  assertClose(M[6]!, new Array(7).fill(0), 0); // no neighbours: mean 0
  const rng = new Rng(24);
  const sage = new SAGEConv(3, 2, { rng, dtype: 'float64' });
  assert.deepEqual(sage.weight.shape, [6, 2]);
  const x = f64([7, 3], rng);
  const nb = denseMatmul(M, x);
  const cat = tensor(Array.from({ length: 7 }, (_, i) => [...x.data.subarray(i * 3, i * 3 + 3), ...nb.slice(i * 3, i * 3 + 3)]).flat(), [7, 6], F64);
  assertClose(sage.forward(mean, x).data, ops.add(ops.matmul(cat, sage.weight), sage.bias!).data, 1e-6);
  assertGrad('SAGEConv', () => sage.forward(mean, x), [x, sage.weight, sage.bias!]);
});

/** Two DAGs batched as one graph: a diamond 0->{1,2}->3 plus 3->4, and a chain 5->6->7 with 5->7. */
function testDag(): ops.Csr {
  const edges = [[0, 1], [0, 2], [1, 3], [2, 3], [3, 4], [5, 6], [6, 7], [5, 7]];
  return ops.Csr.fromCoo(9, 9, edges.map((e) => e[0]!), edges.map((e) => e[1]!)); // node 8: alone
}

test('DagSchedule: heights from the leaves, one round per height; cycles are refused', () => {
  const s = new DagSchedule(testDag());
  assert.deepEqual(Array.from(s.height), [3, 2, 2, 1, 0, 2, 1, 0, 0]);
  assert.equal(s.steps.length, 3);
  assert.deepEqual(Array.from(s.steps[0]!.parents), [3, 6]);
  assert.deepEqual(Array.from(s.steps[0]!.children), [4, 7]);
  assert.deepEqual(Array.from(s.steps[1]!.parents), [1, 2, 5]);
  assert.deepEqual(Array.from(s.steps[1]!.children), [3, 6, 7]);
  const cyc = ops.Csr.fromCoo(3, 3, [0, 1, 2], [1, 2, 1]);
  assert.throws(() => new DagSchedule(cyc), /DagSchedule: the graph has a cycle \(through nodes 0, 1, 2\)/);
});

test("DagMessagePassing computes Decima's e_v = g(sum over children f(e_w)) + h(x_v); gradients", () => {
  const rng = new Rng(25);
  const layer = new DagMessagePassing({ inFeatures: 3, outFeatures: 4, hidden: [5], rng, dtype: 'float64' });
  for (const p of layer.parameters()) if (p.rank === 1) for (let i = 0; i < p.size; i++) p.data[i] = rng.uniform(-0.2, 0.2);
  const s = new DagSchedule(testDag());
  const x = f64([9, 3], rng);
  const e = layer.forward(s, x);
  // Reference: the recursion itself, node by node, with the layer's own h, f, g.
  const kids = (v: number) => Array.from(s.children.colIdx.subarray(s.children.rowPtr[v]!, s.children.rowPtr[v + 1]!));
  const memo = new Map<number, Tensor>();
  const emb = (v: number): Tensor => {
    if (memo.has(v)) return memo.get(v)!;
    const xv = layer.prep.forward(ops.slice(x, 0, v, v + 1));
    const ks = kids(v);
    const ev = ks.length === 0 ? xv : ops.add(xv, layer.g.forward(ks.map((w) => layer.f.forward(emb(w))).reduce((a, b) => ops.add(a, b))));
    memo.set(v, ev);
    return ev;
  };
  noGrad(() => {
    for (let v = 0; v < 9; v++) assertClose(e.data.subarray(v * 4, v * 4 + 4), emb(v).data, 1e-12, `node ${v}`);
  });
  assert.deepEqual(layer.namedParameters().map(([n]) => n).slice(0, 4), ['prep.layers.0.weight', 'prep.layers.0.bias', 'prep.layers.1.weight', 'prep.layers.1.bias']);
  assertGrad('DagMessagePassing', () => layer.forward(s, x), [x, ...layer.parameters()]);
});

test('DagMessagePassing that records no graph is one op, with the numbers of the op per round', () => {
  const rng = new Rng(26);
  for (const dtype of ['float32', 'float64'] as const) {
    const layer = new DagMessagePassing({ inFeatures: 3, outFeatures: 4, hidden: [5, 6], rng, dtype });
    for (const p of layer.parameters()) if (p.rank === 1) for (let i = 0; i < p.size; i++) p.data[i] = rng.uniform(-0.2, 0.2);
    const s = new DagSchedule(testDag());
    assert.ok(s.steps.length >= 2, 'a DAG of several rounds');
    const x = tensor(Array.from({ length: 27 }, () => rng.uniform(-1, 1)), [9, 3], { dtype });
    const recorded = layer.forward(s, x);
    const plain = noGrad(() => layer.forward(s, x));
    assert.equal(plain.op, 'dagMessagePassing');
    assert.deepEqual(Array.from(plain.data), Array.from(recorded.data), dtype);
    const acting = inference(() => { const y = layer.forward(s, x); return { op: y.op, data: Array.from(y.data) }; });
    assert.deepEqual(acting, { op: 'dagMessagePassing', data: Array.from(recorded.data) });
  }
  const layer = new DagMessagePassing({ inFeatures: 3, outFeatures: 4, hidden: [5], rng });
  assert.throws(() => noGrad(() => layer.forward(new DagSchedule(testDag()), zeros([9, 3], { dtype: 'float64' }))), /DagMessagePassing: mixed dtypes float64, float32/);
});
