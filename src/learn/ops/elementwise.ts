/**
 * Elementwise ops: add/sub/mul/div with NumPy broadcasting, and the activations.
 *
 * Broadcasting: shapes are aligned from the right; a dimension of 1 (or a missing one) is
 * repeated. The plan coalesces adjacent dimensions that are contiguous for both inputs, so the
 * common cases collapse to one or two loops: same shape -> one flat loop, [n,d] op [d] -> n rows
 * of d with the second input's stride 0 on rows, [n,d] op [n,1] -> stride 0 on columns, scalar ->
 * stride 0 everywhere. Any other broadcast walks the outer dimensions with an odometer.
 * The backward pass walks the same plan and accumulates into the smaller input, which is exactly
 * the sum over its broadcast dimensions.
 */
import { Tensor, type Storage, fromOp, recordBackward, gradOf, commonDtype } from '../tensor.js';
import { outBuffer, stepBuffer } from '../scratch.js';
import { opError, shapeStr } from '../check.js';

/**
 * The odometer of forEachRun's outer dimensions, kept between calls (an array per broadcasting op
 * was the one typed array an acting step of chip RL still made per op). forEachRun never runs
 * inside itself (its rows call kernels only), so one serves every call; it grows to the largest rank met.
 */
let odometer = new Int32Array(4);

const ADD = 0, SUB = 1, MUL = 2, DIV = 3;
type BinaryCode = typeof ADD | typeof SUB | typeof MUL | typeof DIV;
const BINARY_NAMES = ['add', 'sub', 'mul', 'div'] as const;

/** Output shape, and the coalesced loop nest: dims with each input's stride per dim (0 = broadcast). */
interface Plan {
  shape: readonly number[];
  dims: number[];
  sa: number[];
  sb: number[];
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function broadcastPlan(op: string, a: readonly number[], b: readonly number[]): Plan {
  // Fast paths for the two commonest cases: small ops in RL loops are dominated by overhead.
  if (sameShape(a, b)) {
    const n = sizeOfShape(a);
    return { shape: a, dims: [n], sa: [1], sb: [1] };
  }
  if (b.length === 0) return { shape: a, dims: [sizeOfShape(a)], sa: [1], sb: [0] };
  const r = Math.max(a.length, b.length);
  const shape: number[] = [];
  const da: number[] = [], db: number[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1;
    const y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) {
      throw opError(op, `shapes ${shapeStr(a)} and ${shapeStr(b)} do not broadcast (dimension ${i} of the aligned shapes: ${x} vs ${y})`, 'equal shapes, a scalar, [n,d] with [d] or [1,d], [n,d] with [n,1], or any shapes whose right-aligned dimensions are equal or 1');
    }
    shape.push(Math.max(x, y));
    da.push(x);
    db.push(y);
  }
  // Contiguous strides of each input on the output's dimensions; broadcast dimensions get 0.
  const sa = new Array<number>(r).fill(0), sb = new Array<number>(r).fill(0);
  for (let i = r - 1, pa = 1, pb = 1; i >= 0; i--) {
    if (da[i] !== 1) sa[i] = pa;
    if (db[i] !== 1) sb[i] = pb;
    pa *= da[i]!;
    pb *= db[i]!;
  }
  if (sizeOfShape(shape) === 0) return { shape, dims: [0], sa: [0], sb: [0] };
  // Drop size-1 dims, then merge an outer dim into the next inner one when both inputs are contiguous across it.
  const dims: number[] = [], csa: number[] = [], csb: number[] = [];
  for (let i = 0; i < r; i++) {
    if (shape[i] === 1) continue;
    const k = dims.length - 1;
    if (k >= 0 && csa[k] === sa[i]! * shape[i]! && csb[k] === sb[i]! * shape[i]!) {
      dims[k] = dims[k]! * shape[i]!;
      csa[k] = sa[i]!;
      csb[k] = sb[i]!;
    } else {
      dims.push(shape[i]!);
      csa.push(sa[i]!);
      csb.push(sb[i]!);
    }
  }
  if (dims.length === 0) return { shape, dims: [1], sa: [0], sb: [0] }; // one element
  return { shape, dims, sa: csa, sb: csb };
}

function sizeOfShape(s: readonly number[]): number {
  let n = 1;
  for (const d of s) n *= d;
  return n;
}

/**
 * Calls row(pa, pb, o) for every innermost run of the plan: the run's first offsets into a, b
 * and the output, the run being dims[last] elements long with strides sa/sb[last]. The per-op
 * arithmetic lives in small separate kernels (below) so that V8 optimizes each on its own
 * feedback; one shared loop with a switch over ops kept being deoptimized.
 */
function forEachRun(p: Plan, row: (pa: number, pb: number, o: number) => void): void {
  const { dims, sa, sb } = p;
  const r = dims.length;
  const n = dims[r - 1]!;
  let outer = 1;
  for (let d = 0; d < r - 1; d++) outer *= dims[d]!;
  if (odometer.length < r - 1) odometer = new Int32Array(r - 1);
  const idx = odometer.fill(0, 0, r - 1);
  let pa = 0, pb = 0, o = 0;
  for (let t = 0; t < outer; t++) {
    row(pa, pb, o);
    o += n;
    for (let d = r - 2; d >= 0; d--) {
      pa += sa[d]!;
      pb += sb[d]!;
      if (++idx[d]! < dims[d]!) break;
      pa -= sa[d]! * dims[d]!;
      pb -= sb[d]! * dims[d]!;
      idx[d] = 0;
    }
  }
}

type Run = (a: Storage, pa: number, ia: number, b: Storage, pb: number, ib: number, out: Storage, o: number, n: number) => void;

const FORWARD: readonly Run[] = [
  (a, pa, ia, b, pb, ib, out, o, n) => { for (let j = 0; j < n; j++) out[o + j] = a[pa + j * ia]! + b[pb + j * ib]!; },
  (a, pa, ia, b, pb, ib, out, o, n) => { for (let j = 0; j < n; j++) out[o + j] = a[pa + j * ia]! - b[pb + j * ib]!; },
  (a, pa, ia, b, pb, ib, out, o, n) => { for (let j = 0; j < n; j++) out[o + j] = a[pa + j * ia]! * b[pb + j * ib]!; },
  (a, pa, ia, b, pb, ib, out, o, n) => { for (let j = 0; j < n; j++) out[o + j] = a[pa + j * ia]! / b[pb + j * ib]!; },
];

/** Gradient runs: (g at o) into `t` at the offsets of side a (GRAD_A) or side b (GRAD_B). */
type GradRun = (g: Storage, o: number, a: Storage, pa: number, ia: number, b: Storage, pb: number, ib: number, t: Storage, n: number) => void;

const GRAD_A: readonly GradRun[] = [
  (g, o, _a, pa, ia, _b, _pb, _ib, t, n) => { for (let j = 0; j < n; j++) t[pa + j * ia] += g[o + j]!; },
  (g, o, _a, pa, ia, _b, _pb, _ib, t, n) => { for (let j = 0; j < n; j++) t[pa + j * ia] += g[o + j]!; },
  (g, o, _a, pa, ia, b, pb, ib, t, n) => { for (let j = 0; j < n; j++) t[pa + j * ia] += g[o + j]! * b[pb + j * ib]!; },
  (g, o, _a, pa, ia, b, pb, ib, t, n) => { for (let j = 0; j < n; j++) t[pa + j * ia] += g[o + j]! / b[pb + j * ib]!; },
];

const GRAD_B: readonly GradRun[] = [
  (g, o, _a, _pa, _ia, _b, pb, ib, t, n) => { for (let j = 0; j < n; j++) t[pb + j * ib] += g[o + j]!; },
  (g, o, _a, _pa, _ia, _b, pb, ib, t, n) => { for (let j = 0; j < n; j++) t[pb + j * ib] -= g[o + j]!; },
  (g, o, a, pa, ia, _b, pb, ib, t, n) => { for (let j = 0; j < n; j++) t[pb + j * ib] += g[o + j]! * a[pa + j * ia]!; },
  (g, o, a, pa, ia, b, pb, ib, t, n) => {
    for (let j = 0; j < n; j++) {
      const y = b[pb + j * ib]!;
      t[pb + j * ib] -= (g[o + j]! * a[pa + j * ia]!) / (y * y);
    }
  },
];

function binaryForward(code: BinaryCode, a: Storage, b: Storage, out: Storage, p: Plan): void {
  const r = p.dims.length, n = p.dims[r - 1]!, ia = p.sa[r - 1]!, ib = p.sb[r - 1]!;
  const run = FORWARD[code]!;
  // One run (same shapes, or a scalar operand: most ops of a policy's step) needs no loop nest and no closure.
  if (r === 1) run(a, 0, ia, b, 0, ib, out, 0, n);
  else forEachRun(p, (pa, pb, o) => run(a, pa, ia, b, pb, ib, out, o, n));
}

/**
 * Accumulates the gradient of one input (`side` 0 = a, 1 = b) into `target` along the plan;
 * broadcast (stride-0) positions receive the sum of the output gradients they fed.
 */
function binaryBackward(code: BinaryCode, side: 0 | 1, g: Storage, a: Storage, b: Storage, target: Storage, p: Plan): void {
  const r = p.dims.length, n = p.dims[r - 1]!, ia = p.sa[r - 1]!, ib = p.sb[r - 1]!;
  const run = (side === 0 ? GRAD_A : GRAD_B)[code]!;
  forEachRun(p, (pa, pb, o) => run(g, o, a, pa, ia, b, pb, ib, target, n));
}

function binary(code: BinaryCode, x: Tensor | number, y: Tensor | number): Tensor {
  const op = BINARY_NAMES[code];
  if (typeof x === 'number' && typeof y === 'number') throw opError(op, 'both operands are numbers', 'at least one Tensor');
  const a = typeof x === 'number' ? constantLike(x, y as Tensor) : x;
  const b = typeof y === 'number' ? constantLike(y, a) : y;
  const dtype = commonDtype(op, a, b);
  // The commonest cases (most ops of a policy's step), same shapes or a scalar operand, are one
  // run: no plan is made for them unless a backward pass will walk it.
  const oneRun = sameShape(a.shape, b.shape) || a.rank === 0 || b.rank === 0;
  const plan = oneRun ? null : broadcastPlan(op, a.shape, b.shape);
  const shape = plan !== null ? plan.shape : a.rank === 0 ? b.shape : a.shape;
  const n = sizeOfShape(shape);
  const out = outBuffer(dtype, n);
  if (plan === null) FORWARD[code]!(a.data, 0, a.rank === 0 ? 0 : 1, b.data, 0, b.rank === 0 ? 0 : 1, out, 0, n);
  else binaryForward(code, a.data, b.data, out, plan);
  const t = fromOp(op, out, shape, a, b);
  return t.requiresGrad ? recordBackward(t, binaryBackwardOf(code, t, a, b, plan ?? broadcastPlan(op, a.shape, b.shape))) : t;
}

function binaryBackwardOf(code: BinaryCode, t: Tensor, a: Tensor, b: Tensor, plan: Plan): () => void {
  return () => {
    const g = t.grad!;
    if (a.requiresGrad) binaryBackward(code, 0, g, a.data, b.data, gradOf(a), plan);
    if (b.requiresGrad) binaryBackward(code, 1, g, a.data, b.data, gradOf(b), plan);
  };
}

function constantLike(v: number, like: Tensor): Tensor {
  const d = stepBuffer(like.dtype, 1);
  d[0] = v;
  return new Tensor(d, []);
}

/** a + b, broadcasting. */
export function add(a: Tensor | number, b: Tensor | number): Tensor {
  return binary(ADD, a, b);
}
/** a - b, broadcasting. */
export function sub(a: Tensor | number, b: Tensor | number): Tensor {
  return binary(SUB, a, b);
}
/** a * b elementwise, broadcasting. */
export function mul(a: Tensor | number, b: Tensor | number): Tensor {
  return binary(MUL, a, b);
}
/** a / b elementwise, broadcasting. */
export function div(a: Tensor | number, b: Tensor | number): Tensor {
  return binary(DIV, a, b);
}

// ---------------------------------------------------------------------------------------------
// Unary ops
// ---------------------------------------------------------------------------------------------

/** One activation: y = f(x), and gx += g f'(x) given x and y. Separate small functions, as above. */
export interface UnaryKernel {
  name: string;
  forward(x: Storage, y: Storage, slope: number): void;
  backward(x: Storage, y: Storage, g: Storage, gx: Storage, slope: number): void;
}

const NEG: UnaryKernel = {
  name: 'neg',
  forward(x, y) { for (let i = 0; i < x.length; i++) y[i] = -x[i]!; },
  backward(_x, _y, g, gx) { for (let i = 0; i < g.length; i++) gx[i] -= g[i]!; },
};
// ReLU and leaky ReLU are written without branches: on real activations the sign is a coin flip,
// and a mispredicted branch per element made them 3-4x slower. (v + |v|) / 2 is exactly max(v, 0).
const RELU: UnaryKernel = {
  name: 'relu',
  forward(x, y) {
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      y[i] = (v + Math.abs(v)) * 0.5;
    }
  },
  backward(x, _y, g, gx) { for (let i = 0; i < g.length; i++) gx[i] += g[i]! * +(x[i]! > 0); },
};
const LEAKY: UnaryKernel = {
  name: 'leakyRelu',
  forward(x, y, s) {
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!, a = Math.abs(v);
      y[i] = (v + a) * 0.5 + s * ((v - a) * 0.5);
    }
  },
  backward(x, _y, g, gx, s) {
    const d = 1 - s;
    for (let i = 0; i < g.length; i++) gx[i] += g[i]! * (s + d * +(x[i]! > 0));
  },
};
const TANH: UnaryKernel = {
  name: 'tanh',
  forward(x, y) { for (let i = 0; i < x.length; i++) y[i] = Math.tanh(x[i]!); },
  backward(_x, y, g, gx) { for (let i = 0; i < g.length; i++) gx[i] += g[i]! * (1 - y[i]! * y[i]!); },
};
const SIGMOID: UnaryKernel = {
  name: 'sigmoid',
  // Two branches so that exp never overflows for large |x|.
  forward(x, y) {
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      if (v >= 0) y[i] = 1 / (1 + Math.exp(-v));
      else {
        const e = Math.exp(v);
        y[i] = e / (1 + e);
      }
    }
  },
  backward(_x, y, g, gx) { for (let i = 0; i < g.length; i++) gx[i] += g[i]! * y[i]! * (1 - y[i]!); },
};
const EXP: UnaryKernel = {
  name: 'exp',
  forward(x, y) { for (let i = 0; i < x.length; i++) y[i] = Math.exp(x[i]!); },
  backward(_x, y, g, gx) { for (let i = 0; i < g.length; i++) gx[i] += g[i]! * y[i]!; },
};
const LOG: UnaryKernel = {
  name: 'log',
  forward(x, y) { for (let i = 0; i < x.length; i++) y[i] = Math.log(x[i]!); },
  backward(x, _y, g, gx) { for (let i = 0; i < g.length; i++) gx[i] += g[i]! / x[i]!; },
};
const SQUARE: UnaryKernel = {
  name: 'square',
  forward(x, y) { for (let i = 0; i < x.length; i++) y[i] = x[i]! * x[i]!; },
  backward(x, _y, g, gx) { for (let i = 0; i < g.length; i++) gx[i] += 2 * g[i]! * x[i]!; },
};
const SQRT: UnaryKernel = {
  name: 'sqrt',
  forward(x, y) { for (let i = 0; i < x.length; i++) y[i] = Math.sqrt(x[i]!); },
  backward(_x, y, g, gx) { for (let i = 0; i < g.length; i++) gx[i] += (0.5 * g[i]!) / y[i]!; },
};

function unary(k: UnaryKernel, a: Tensor, slope = 0): Tensor {
  const x = a.data;
  const y = outBuffer(a.dtype, x.length);
  k.forward(x, y, slope);
  const t = fromOp(k.name, y, a.shape, a);
  return t.requiresGrad ? recordBackward(t, unaryBackwardOf(k, t, a, slope)) : t;
}

function unaryBackwardOf(k: UnaryKernel, t: Tensor, a: Tensor, slope: number): () => void {
  return () => k.backward(a.data, t.data, t.grad!, gradOf(a), slope);
}

export function neg(x: Tensor): Tensor {
  return unary(NEG, x);
}
/** max(x, 0); the gradient at exactly 0 is taken as 0. */
export function relu(x: Tensor): Tensor {
  return unary(RELU, x);
}
/** x for x > 0, slope * x otherwise. Default slope 0.01 (PyTorch); Decima used TensorFlow's 0.2. */
export function leakyRelu(x: Tensor, slope = 0.01): Tensor {
  return unary(LEAKY, x, slope);
}
export function tanh(x: Tensor): Tensor {
  return unary(TANH, x);
}
export function sigmoid(x: Tensor): Tensor {
  return unary(SIGMOID, x);
}
export function exp(x: Tensor): Tensor {
  return unary(EXP, x);
}
/** Natural log; non-positive inputs give -Infinity/NaN as in IEEE arithmetic, not an error. */
export function log(x: Tensor): Tensor {
  return unary(LOG, x);
}
export function square(x: Tensor): Tensor {
  return unary(SQUARE, x);
}
export function sqrt(x: Tensor): Tensor {
  return unary(SQRT, x);
}

export type Activation = 'relu' | 'leakyRelu' | 'tanh' | 'sigmoid' | 'none';

/**
 * The kernel of an activation, for an op that applies it to its own output in place (linear with
 * an activation): null for 'none'. Its forward may run in place (y = x: each element is read
 * before it is written). Its backward reads x only through the sign test x > 0 (relu, leaky ReLU)
 * or not at all (tanh, sigmoid), so it may be given y for x wherever y > 0 exactly when x > 0:
 * always, except leaky ReLU with a negative slope (see outputDetermines).
 */
export function activationKernel(act: Activation): UnaryKernel | null {
  switch (act) {
    case 'relu': return RELU;
    case 'leakyRelu': return LEAKY;
    case 'tanh': return TANH;
    case 'sigmoid': return SIGMOID;
    case 'none': return null;
    default: throw opError('activate', `unknown activation '${String(act)}'`, "one of 'relu', 'leakyRelu', 'tanh', 'sigmoid', 'none'");
  }
}

/**
 * Whether the activation's gradient can be computed from its output alone (activationKernel's
 * backward given y for x). Leaky ReLU's output (v + |v|) / 2 + s (v - |v|) / 2 is v > 0 for v > 0
 * and s v <= 0 otherwise when s >= 0, so y > 0 exactly when x > 0; a negative slope breaks that.
 */
export function outputDetermines(act: Activation, slope: number): boolean {
  return act !== 'leakyRelu' || slope >= 0;
}

/** Applies an activation by name (for layer configs that are plain data). */
export function activate(x: Tensor, act: Activation, slope?: number): Tensor {
  switch (act) {
    case 'relu': return relu(x);
    case 'leakyRelu': return leakyRelu(x, slope);
    case 'tanh': return tanh(x);
    case 'sigmoid': return sigmoid(x);
    case 'none': return x;
    default: throw opError('activate', `unknown activation '${String(act)}'`, "one of 'relu', 'leakyRelu', 'tanh', 'sigmoid', 'none'");
  }
}
