/** The WebAssembly SIMD kernels against the JavaScript ones, and the storage reuse contracts of tidy() and inference(). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/rng.js';
import { Tensor, tensor, tidy, noGrad, isGradEnabled, randn } from '../../src/learn/tensor.js';
import { inference, inferenceScratchBytes, releaseBufferPool, stepInput, stepIndices } from '../../src/learn/scratch.js';
import * as ops from '../../src/learn/ops.js';
import { MLP } from '../../src/learn/layers.js';
import { DagMessagePassing, DagSchedule } from '../../src/learn/gnn.js';
import { Csr } from '../../src/learn/ops/sparse.js';
import { Adam } from '../../src/learn/optim.js';
import * as learn from '../../src/learn/index.js';
import { assertClose } from './helpers.js';
import { floatArraysMadeBy, typedArraysMadeBy } from '../typed-arrays.js';

function rand32(n: number, rng: Rng): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniform(-1, 1);
  return a;
}

test('WebAssembly SIMD is available on this runtime', () => {
  assert.equal(ops.simdAvailable(), true);
});

test('SIMD gemm and gemm^T agree with the JavaScript kernels (tails in every loop, k blocks)', () => {
  const rng = new Rng(31);
  // m odd, k not a multiple of 4, k > 256 (two k blocks), n a multiple of 4 (the SIMD condition).
  for (const [m, k, n] of [[33, 7, 64], [129, 300, 8], [64, 64, 4], [1, 513, 12], [257, 5, 16]] as const) {
    const a = rand32(m * k, rng), b = rand32(k * n, rng), c0 = rand32(m * n, rng);
    const c1 = c0.slice(), c2 = c0.slice();
    ops.gemmAcc(a, b, c1, m, k, n);
    ops.gemmAccJs(a, b, c2, m, k, n);
    assertClose(c1, c2, 1e-5, `gemm ${m}x${k}x${n}`);
    const bt = rand32(m * n, rng), d0 = rand32(k * n, rng);
    const d1 = d0.slice(), d2 = d0.slice();
    ops.gemmTNAcc(a, bt, d1, m, k, n);
    ops.gemmTNAccJs(a, bt, d2, m, k, n);
    assertClose(d1, d2, 1e-4, `gemmTN ${m}x${k}x${n}`);
  }
});

test('SIMD spmm agrees with the JavaScript kernel, weighted and unweighted, odd row lengths', () => {
  const rng = new Rng(32);
  for (const weighted of [false, true]) {
    const rows = 300, cols = 200, src: number[] = [], dst: number[] = [], val: number[] = [];
    for (let r = 0; r < rows; r++) {
      const len = rng.int(6); // 0..5 entries: empty rows, odd and even counts
      for (let q = 0; q < len; q++) {
        src.push(r);
        dst.push(rng.int(cols));
        val.push(rng.uniform(-1, 1));
      }
    }
    const a = ops.Csr.fromCoo(rows, cols, src, dst, weighted ? val : undefined);
    for (const d of [4, 64]) {
      const x = rand32(cols * d, rng), o0 = rand32(rows * d, rng);
      const o1 = o0.slice(), o2 = o0.slice();
      ops.spmmAcc(a, x, o1, d);
      ops.spmmAccJs(a, x, o2, d);
      assertClose(o1, o2, 1e-5, `spmm d=${d} weighted=${weighted}`);
    }
  }
});

test('ops give the same float32 results with the SIMD kernels on or off', () => {
  const run = () => {
    const r = new Rng(5);
    const x = randn([200, 64], r), w = randn([64, 32], r, { requiresGrad: true }), b = randn([32], r, { requiresGrad: true });
    const a = ops.Csr.fromCoo(200, 200, Array.from({ length: 800 }, (_, i) => i % 200), Array.from({ length: 800 }, () => r.int(200)));
    const y = ops.spmm(a, ops.relu(ops.linear(x, w, b)));
    ops.sum(ops.mul(y, y)).backward();
    return [y.data, w.grad!, b.grad!];
  };
  const withSimd = run();
  ops.setSimdEnabled(false);
  try {
    const without = run();
    withSimd.forEach((v, i) => assertClose(v, without[i]!, 1e-4, `output ${i}`));
  } finally {
    ops.setSimdEnabled(true);
  }
});

test('tidy releases what it does not return, keeps what it returns and its graph, and reuses storage', () => {
  const rng = new Rng(34);
  const w = randn([64, 300], rng, { requiresGrad: true });
  let inner: Tensor | null = null;
  const out = tidy(() => {
    const x = randn([100, 64], rng);
    inner = ops.relu(ops.matmul(x, w)); // 30000 elements: pooled
    return ops.sum(ops.mul(inner, inner));
  });
  assert.equal(out.released, false);
  assert.equal(inner!.released, false); // an ancestor of the returned loss: kept for backward
  out.backward();
  assert.ok(w.grad!.some((g) => g !== 0));

  let dropped: Tensor | null = null;
  const first = tidy(() => {
    dropped = ops.relu(randn([100, 300], rng));
    return ops.sum(dropped).item();
  });
  assert.ok(Number.isFinite(first));
  assert.equal(dropped!.released, true);
  assert.throws(() => dropped!.item(), /item: the tensor was made inside a tidy\(\) or inference\(\) scope that has ended/);
  assert.throws(() => ops.add(dropped!, 1), /add: the tensor was made inside a tidy\(\) or inference\(\) scope/);
  const oldBuffer = dropped!.data;
  const again = tidy(() => ops.relu(randn([100, 300], rng)));
  assert.equal(again.data, oldBuffer); // the released buffer came back
  assert.ok(again.toArray().every((v) => v >= 0));
  assert.throws(() => tidy(async () => 1), /tidy: the function returned a promise/);
});

test('training inside tidy gives the same weights, bit for bit, as training without it', () => {
  const train = (useTidy: boolean) => {
    const model = new MLP([16, 128, 4], { rng: new Rng(9), activation: 'tanh' });
    const opt = new Adam(model.parameters(), { lr: 0.01 });
    const r = new Rng(10);
    const x = randn([256, 16], r), target = randn([256, 4], r);
    for (let s = 0; s < 5; s++) {
      const step = () => {
        opt.zeroGrad();
        const d = ops.sub(model.forward(x), target);
        const loss = ops.mean(ops.mul(d, d));
        loss.backward();
        opt.step();
        return loss.item();
      };
      if (useTidy) tidy(step);
      else step();
    }
    return model.parameters().map((p) => Array.from(p.data));
  };
  assert.deepEqual(train(true), train(false));
  const nested = tidy(() => {
    const a = tidy(() => ops.add(tensor(new Array(20000).fill(1), [20000]), 1));
    return ops.mul(a, 2);
  });
  assert.equal(nested.data[123], 4);
});

/** The bytes of a float array, to compare results bit for bit. */
function bytesOf(a: Float32Array | Float64Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Decima's shape of model: DAG message passing, then an MLP on [x, e]; `layers` layers of `width` nodes, each node with two children in the next layer. */
function dagModel(rng: Rng) {
  const gnn = new DagMessagePassing({ inFeatures: 12, outFeatures: 8, hidden: [16, 8], rng });
  const head = new MLP([20, 32, 16, 1], { rng, activation: 'leakyRelu', slope: 0.2 });
  const input = (layers: number, width: number) => {
    const n = layers * width, src: number[] = [], dst: number[] = [];
    for (let v = 0; v < n - width; v++) {
      const next = (Math.floor(v / width) + 1) * width, a = Math.floor(rng.next() * width);
      src.push(v, v);
      dst.push(next + a, next + ((a + 1 + Math.floor(rng.next() * (width - 1))) % width));
    }
    return { schedule: new DagSchedule(Csr.fromCoo(n, n, src, dst)), x: randn([n, 12], rng) };
  };
  const forward = (g: ReturnType<typeof input>) => head.forward(ops.concat([g.x, gnn.forward(g.schedule, g.x)], 1));
  return { input, forward };
}

test('inference gives the graph-recording forward pass bit for bit, from one scratch that the next step reuses', () => {
  releaseBufferPool(); // the scratch starts empty whatever ran before
  const model = dagModel(new Rng(35));
  const small = model.input(6, 50), large = model.input(8, 90); // 300 and 720 nodes; the head's first product takes the SIMD kernel
  const reference = (g: typeof small) => {
    const y = model.forward(g);
    assert.equal(y.requiresGrad, true); // the training path: graph recorded, fresh storage
    return Float32Array.from(y.data);
  };
  const refSmall = reference(small), refLarge = reference(large);
  const storage: ArrayBufferLike[] = [];
  const step = (g: typeof small) => inference(() => {
    const y = model.forward(g);
    storage.push(y.data.buffer);
    return Float32Array.from(y.data);
  });
  // The first step overflows the empty scratch into fresh storage, the second runs in the grown scratch, and so does the third.
  for (let i = 0; i < 3; i++) assert.deepEqual(bytesOf(step(small)), bytesOf(refSmall), `small graph, step ${i}`);
  assert.notEqual(storage[0], storage[1]);
  assert.equal(storage[1], storage[2]); // the same scratch, reused: the kernels accumulate, so this also checks it was zeroed
  const grown = inferenceScratchBytes();
  assert.ok(grown > 0);
  // A larger graph overflows and grows the scratch, then both sizes run in it.
  assert.deepEqual(bytesOf(step(large)), bytesOf(refLarge));
  assert.ok(inferenceScratchBytes() > grown);
  const after = inferenceScratchBytes();
  assert.deepEqual(bytesOf(step(large)), bytesOf(refLarge));
  assert.deepEqual(bytesOf(step(small)), bytesOf(refSmall));
  assert.equal(inferenceScratchBytes(), after);
  assert.notEqual(storage[3], storage[4]);
  assert.equal(storage[4], storage[5]);
});

test('a tensor that a nested tidy returns belongs to the enclosing step: released when that one ends unless it returns it too; a tidy that throws releases nothing', () => {
  const rng = new Rng(35);
  const x = randn([4, 3], rng);
  let passed: Tensor | null = null, droppedInner: Tensor | null = null, madeBefore: Tensor | null = null;
  const kept = tidy(() => {
    madeBefore = ops.relu(x);
    passed = tidy(() => {
      droppedInner = ops.mul(x, 2);
      return ops.add(droppedInner, 1);
    });
    assert.equal(droppedInner!.released, true); // the inner step's own, not returned
    assert.equal(passed!.released, false);
    return ops.mul(passed!, 3); // passed is not returned, and (no graph) not an ancestor either
  });
  assert.equal(kept.released, false);
  assert.equal(passed!.released, true);
  assert.equal(madeBefore!.released, true);
  let survivor: Tensor | null = null;
  const outer = tidy(() => {
    assert.throws(() => tidy(() => { survivor = ops.relu(x); throw new Error('boom'); }), /boom/);
    return ops.neg(x);
  });
  assert.equal(survivor!.released, false); // a throwing step leaves its tensors alone, and the enclosing step never owned them
  assert.equal(outer.released, false);
  // Inside inference, a nested tidy's returned tensor is released with the inference step.
  let fromTidy: Tensor | null = null;
  inference(() => { fromTidy = tidy(() => ops.relu(x)); return 0; });
  assert.equal(fromTidy!.released, true);
});

test('the step bookkeeping is internal to src/learn: index.ts exports tidy, inference and the step storage, not how steps are tracked', () => {
  for (const name of ['tidy', 'inference', 'stepInput', 'stepBuffer', 'stepIndices', 'outBuffer', 'inferenceScratchBytes', 'releaseBufferPool']) assert.equal(typeof (learn as Record<string, unknown>)[name], 'function', name);
  for (const name of ['openScope', 'closeScope', 'recordInScope', 'scopeBuffer', 'dropBufferPool', 'openStep', 'closeStep', 'recordInStep', 'openScratch', 'closeScratch']) assert.equal(name in learn, false, name);
});

test('inference releases what it made, refuses to return a tensor, nests, and leaves gradients on', () => {
  const rng = new Rng(36);
  const x = randn([40, 30], rng);
  let leaked: Tensor | null = null;
  const total = inference(() => {
    leaked = ops.relu(x);
    return ops.sum(leaked).item();
  });
  assert.ok(total > 0);
  assert.equal(leaked!.released, true);
  assert.throws(() => leaked!.item(), /item: the tensor was made inside a tidy\(\) or inference\(\) scope that has ended/);
  assert.throws(() => inference(() => ops.relu(x)), /inference: the function returned a tensor/);
  assert.throws(() => inference(() => ({ logits: [ops.relu(x)] })), /inference: the function returned a tensor/);
  assert.throws(() => inference(async () => 1), /inference: the function returned a promise/);
  assert.throws(() => inference(() => { leaked = ops.relu(x); throw new Error('boom'); }), /boom/);
  assert.equal(leaked!.released, true);
  assert.equal(isGradEnabled(), true);
  // An inner step gives back only its own outputs: the outer step's tensors keep their values, and
  // the outer step's next output (carved where the inner step's were) is correct.
  const [a, b, s] = inference(() => {
    const a = ops.mul(x, 2);
    const before = Float32Array.from(a.data);
    const s = inference(() => ops.sum(ops.mul(x, 3)).item());
    const b = ops.add(a, 1);
    assert.deepEqual(bytesOf(a.data), bytesOf(before));
    return [Float32Array.from(a.data), Float32Array.from(b.data), s];
  });
  for (let i = 0; i < x.size; i++) {
    assert.equal(a[i], Math.fround(2 * x.data[i]!));
    assert.equal(b[i], Math.fround(a[i]! + 1));
  }
  assert.ok(Number.isFinite(s));
  // Gradients are on again afterwards.
  const w = tensor([1, 2, 3], [3], { requiresGrad: true });
  ops.sum(ops.mul(w, w)).backward();
  assert.deepEqual(Array.from(w.grad!), [2, 4, 6]);
});

test('stepInput: inside inference() a zeroed view of the scratch, released with the step and reused by the next; elsewhere the tensor tensor() makes', () => {
  const values = [0.1, -2, 3.5, 1e-3, 7, -0.25];
  const storage: ArrayBufferLike[] = [];
  for (let i = 0; i < 3; i++) {
    let x: Tensor | null = null;
    const got = inference(() => {
      const filled = stepInput([2, 3], values);
      const blank = stepInput([2, 3]); // carved where the last step's filled input was: zeroed again
      x = filled;
      storage.push(filled.data.buffer);
      return [Array.from(filled.data), Array.from(blank.data), ops.sum(ops.mul(filled, 2)).item()];
    });
    assert.deepEqual(got, [Array.from(tensor(values).data), [0, 0, 0, 0, 0, 0], noGrad(() => ops.sum(ops.mul(tensor(values, [2, 3]), 2)).item())]);
    assert.equal(x!.released, true);
  }
  assert.equal(storage[1], storage[2]); // the first step grew the scratch, the next ones reuse it
  const a = stepInput([2, 3], values), b = stepInput([2, 3], values);
  assert.deepEqual(bytesOf(a.data), bytesOf(tensor(values, [2, 3]).data));
  assert.deepEqual(a.shape, [2, 3]);
  assert.notEqual(a.data.buffer, b.data.buffer);
  assert.equal(a.released, false);
  assert.throws(() => stepInput([2, 3], [1, 2]), /stepInput: shape \[2,3\] has 6 elements but the values have 2/);
  assert.throws(() => inference(() => stepInput([2, -1]).size), /stepInput: bad shape \[2,-1\]/);
});

test('stepIndices: inside inference() zeroed int32 views of a scratch the next step reuses, an inner step\'s apart from the outer\'s live ones; elsewhere fresh arrays', () => {
  const storage: ArrayBufferLike[] = [];
  for (let i = 0; i < 3; i++) {
    const got = inference(() => {
      const outer = stepIndices(4);
      const zeroed = Array.from(outer);
      outer.set([7, 8, 9, 10]);
      storage.push(outer.buffer);
      const inner = inference(() => { const idx = stepIndices(4); const was = Array.from(idx); idx.fill(-1); return was; });
      return [zeroed, inner, Array.from(outer)];
    });
    assert.deepEqual(got, [[0, 0, 0, 0], [0, 0, 0, 0], [7, 8, 9, 10]]);
  }
  assert.equal(storage[1], storage[2]); // the first step grew the scratch, the next ones reuse it
  const a = stepIndices(3), b = stepIndices(3);
  assert.ok(a instanceof Int32Array && a.length === 3 && a.every((x) => x === 0));
  assert.notEqual(a.buffer, b.buffer);
});

test('a step that carves what the last one carved gets the same view objects back, zeroed; an inner step never gets an outer step\'s live view; a grown scratch hands out views of itself', () => {
  const rng = new Rng(38);
  const w = randn([4, 6], rng);
  const views = (x: Tensor) => inference(() => {
    const h = ops.relu(ops.matmul(x, w)), idx = stepIndices(3);
    const inner = inference(() => {
      const y = ops.mul(h, 2);
      assert.notEqual(y.data, h.data);
      return y.data; // the view itself (not read after the step): only its identity is compared
    });
    const out = ops.sum(h);
    return { h: h.data, idx, inner, out: out.data, total: out.item() };
  });
  const x = randn([5, 4], rng);
  const reference = noGrad(() => ops.sum(ops.relu(ops.matmul(x, w))).item());
  releaseBufferPool(); // an empty scratch, whatever the tests before left in it
  views(x); // the first step grows the scratch
  const a = views(x), b = views(x);
  assert.equal(b.h, a.h);
  assert.equal(b.idx, a.idx);
  assert.equal(b.inner, a.inner);
  assert.equal(b.out, a.out);
  assert.equal(b.total, reference);
  assert.notEqual(a.inner, a.h);
  assert.notEqual(a.out, a.inner); // carved where the inner step's output was, but of another length
  const bigger = randn([50, 4], rng);
  views(bigger); // grows the scratch: views of the old array are not handed out again
  const c = views(x);
  assert.notEqual(c.h, a.h);
  assert.notEqual(c.h.buffer, a.h.buffer);
  assert.equal(c.total, reference);
});

test('op working arrays come from the scratch: once warm, a step of reductions, entropy, segment means, layer norm and scalar operands makes no float array, and gives noGrad\'s values bit for bit', () => {
  const rng = new Rng(37);
  const x = randn([30, 8], rng);
  const mask = Uint8Array.from({ length: 30 * 8 }, (_, i) => (i % 5 === 0 ? 0 : 1));
  const segments = Int32Array.from({ length: 30 }, (_, i) => i % 4);
  const parts = () => [ops.mean(x, 0), ops.sum(x, 1), ops.categoricalEntropy(x, mask), ops.segmentMean(x, segments, 4), ops.layerNorm(x), ops.add(x, 1.5), ops.div(2, x)];
  const reference = noGrad(() => parts().map((t) => Float32Array.from(t.data)));
  const got = reference.map((r) => new Float32Array(r.length));
  const step = () => inference(() => parts().forEach((t, i) => got[i]!.set(t.data)));
  step(); // the first step grows the scratch
  assert.deepEqual(floatArraysMadeBy(step), { float32: 0, float64: 0 });
  got.forEach((g, i) => assert.deepEqual(bytesOf(g), bytesOf(reference[i]!), `part ${i}`));
});

test('a broadcasting op walks its outer dimensions without an array of its own: a warm step of [n,1], [1,d] and rank-3 broadcasts makes no typed array, with noGrad\'s values bit for bit', () => {
  const rng = new Rng(39);
  const x = randn([6, 5], rng), col = randn([6, 1], rng), row = randn([1, 5], rng);
  const cube = randn([3, 4, 5], rng), mid = randn([3, 1, 5], rng), deep = randn([2, 1, 3, 1, 4], rng), flat = randn([3, 2, 4], rng);
  const parts = () => [ops.add(x, col), ops.mul(col, row), ops.sub(cube, mid), ops.div(cube, ops.add(mid, 2)), ops.add(deep, flat)];
  const reference = noGrad(() => parts().map((t) => Float32Array.from(t.data)));
  const got = reference.map((r) => new Float32Array(r.length));
  const step = () => inference(() => parts().forEach((t, i) => got[i]!.set(t.data)));
  step(); // the first step grows the scratch
  assert.deepEqual(typedArraysMadeBy(step), { float32: 0, float64: 0, int32: 0 });
  got.forEach((g, i) => assert.deepEqual(bytesOf(g), bytesOf(reference[i]!), `part ${i}`));
  // the gradients walk the same odometer: a rank-5 broadcast's sums are each input's own
  const a = randn([2, 1, 3, 1, 4], rng, { requiresGrad: true }), b = randn([3, 2, 4], rng, { requiresGrad: true });
  ops.sum(ops.mul(a, b)).backward();
  const want = new Float32Array(a.size);
  for (let i0 = 0; i0 < 2; i0++) for (let i2 = 0; i2 < 3; i2++) for (let i3 = 0; i3 < 2; i3++) for (let i4 = 0; i4 < 4; i4++) want[(i0 * 3 + i2) * 4 + i4] += b.data[(i2 * 2 + i3) * 4 + i4]!;
  assertClose(a.grad!, want, 1e-6);
});

test('an op\'s output keeps the shape array the op made (no copy per op); a tensor made by hand copies its caller\'s', () => {
  const x = randn([4, 3], new Rng(38));
  assert.equal(ops.relu(x).shape, x.shape);
  const shape = [4, 3];
  const t = new Tensor(new Float32Array(12), shape);
  shape[0] = 2;
  assert.deepEqual(t.shape, [4, 3]);
  assert.deepEqual(new Tensor(new Float32Array(12), [4, 3]).shape, [4, 3]);
});
