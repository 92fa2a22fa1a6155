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
import { Tensor, type Storage, alloc, fromOp, gradOf, commonDtype } from '../tensor.js';
import { opError, shapeStr } from '../check.js';

/** Odometer placeholder for a one-level loop nest (never indexed). */
const ONE = new Int32Array(1);

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

function binaryForward(code: BinaryCode, a: Storage, b: Storage, out: Storage, p: Plan): void {
  const { dims, sa, sb } = p;
  const r = dims.length;
  const n = dims[r - 1]!, ia = sa[r - 1]!, ib = sb[r - 1]!;
  let outer = 1;
  for (let d = 0; d < r - 1; d++) outer *= dims[d]!;
  const idx = r > 1 ? new Int32Array(r - 1) : ONE;
  let pa = 0, pb = 0, o = 0;
  for (let t = 0; t < outer; t++) {
    switch (code) {
      case ADD: for (let j = 0; j < n; j++) out[o + j] = a[pa + j * ia]! + b[pb + j * ib]!; break;
      case SUB: for (let j = 0; j < n; j++) out[o + j] = a[pa + j * ia]! - b[pb + j * ib]!; break;
      case MUL: for (let j = 0; j < n; j++) out[o + j] = a[pa + j * ia]! * b[pb + j * ib]!; break;
      case DIV: for (let j = 0; j < n; j++) out[o + j] = a[pa + j * ia]! / b[pb + j * ib]!; break;
    }
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

/**
 * Accumulates the gradient of one input (`side` 0 = a, 1 = b) into `target` along the plan;
 * broadcast (stride-0) positions receive the sum of the output gradients they fed.
 */
function binaryBackward(code: BinaryCode, side: 0 | 1, g: Storage, a: Storage, b: Storage, target: Storage, p: Plan): void {
  const { dims, sa, sb } = p;
  const r = dims.length;
  const n = dims[r - 1]!, ia = sa[r - 1]!, ib = sb[r - 1]!;
  let outer = 1;
  for (let d = 0; d < r - 1; d++) outer *= dims[d]!;
  const idx = r > 1 ? new Int32Array(r - 1) : ONE;
  let pa = 0, pb = 0, o = 0;
  for (let t = 0; t < outer; t++) {
    if (side === 0) {
      switch (code) {
        case ADD: case SUB: for (let j = 0; j < n; j++) target[pa + j * ia] += g[o + j]!; break;
        case MUL: for (let j = 0; j < n; j++) target[pa + j * ia] += g[o + j]! * b[pb + j * ib]!; break;
        case DIV: for (let j = 0; j < n; j++) target[pa + j * ia] += g[o + j]! / b[pb + j * ib]!; break;
      }
    } else {
      switch (code) {
        case ADD: for (let j = 0; j < n; j++) target[pb + j * ib] += g[o + j]!; break;
        case SUB: for (let j = 0; j < n; j++) target[pb + j * ib] -= g[o + j]!; break;
        case MUL: for (let j = 0; j < n; j++) target[pb + j * ib] += g[o + j]! * a[pa + j * ia]!; break;
        case DIV:
          for (let j = 0; j < n; j++) {
            const y = b[pb + j * ib]!;
            target[pb + j * ib] -= (g[o + j]! * a[pa + j * ia]!) / (y * y);
          }
          break;
      }
    }
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

function binary(code: BinaryCode, x: Tensor | number, y: Tensor | number): Tensor {
  const op = BINARY_NAMES[code];
  if (typeof x === 'number' && typeof y === 'number') throw opError(op, 'both operands are numbers', 'at least one Tensor');
  const a = typeof x === 'number' ? constantLike(x, y as Tensor) : x;
  const b = typeof y === 'number' ? constantLike(y, a) : y;
  const dtype = commonDtype(op, [a, b]);
  const plan = broadcastPlan(op, a.shape, b.shape);
  const out = alloc(dtype, sizeOfShape(plan.shape));
  binaryForward(code, a.data, b.data, out, plan);
  return fromOp(op, out, plan.shape, [a, b], (t) => {
    const g = t.grad!;
    if (a.requiresGrad) binaryBackward(code, 0, g, a.data, b.data, gradOf(a), plan);
    if (b.requiresGrad) binaryBackward(code, 1, g, a.data, b.data, gradOf(b), plan);
  });
}

function constantLike(v: number, like: Tensor): Tensor {
  const d = alloc(like.dtype, 1);
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

const NEG = 0, RELU = 1, LEAKY = 2, TANH = 3, SIGMOID = 4, EXP = 5, LOG = 6, SQUARE = 7, SQRT = 8;
type UnaryCode = typeof NEG | typeof RELU | typeof LEAKY | typeof TANH | typeof SIGMOID | typeof EXP | typeof LOG | typeof SQUARE | typeof SQRT;
const UNARY_NAMES = ['neg', 'relu', 'leakyRelu', 'tanh', 'sigmoid', 'exp', 'log', 'square', 'sqrt'] as const;

function unary(code: UnaryCode, a: Tensor, slope = 0): Tensor {
  const x = a.data;
  const n = x.length;
  const y = alloc(a.dtype, n);
  switch (code) {
    case NEG: for (let i = 0; i < n; i++) y[i] = -x[i]!; break;
    case RELU: for (let i = 0; i < n; i++) y[i] = x[i]! > 0 ? x[i]! : 0; break;
    case LEAKY: for (let i = 0; i < n; i++) y[i] = x[i]! > 0 ? x[i]! : slope * x[i]!; break;
    case TANH: for (let i = 0; i < n; i++) y[i] = Math.tanh(x[i]!); break;
    // Two branches so that exp never overflows for large |x|.
    case SIGMOID:
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        if (v >= 0) y[i] = 1 / (1 + Math.exp(-v));
        else {
          const e = Math.exp(v);
          y[i] = e / (1 + e);
        }
      }
      break;
    case EXP: for (let i = 0; i < n; i++) y[i] = Math.exp(x[i]!); break;
    case LOG: for (let i = 0; i < n; i++) y[i] = Math.log(x[i]!); break;
    case SQUARE: for (let i = 0; i < n; i++) y[i] = x[i]! * x[i]!; break;
    case SQRT: for (let i = 0; i < n; i++) y[i] = Math.sqrt(x[i]!); break;
  }
  return fromOp(UNARY_NAMES[code], y, a.shape, [a], (t) => {
    const g = t.grad!;
    const gx = gradOf(a);
    switch (code) {
      case NEG: for (let i = 0; i < n; i++) gx[i] -= g[i]!; break;
      case RELU: for (let i = 0; i < n; i++) if (x[i]! > 0) gx[i] += g[i]!; break;
      case LEAKY: for (let i = 0; i < n; i++) gx[i] += x[i]! > 0 ? g[i]! : slope * g[i]!; break;
      case TANH: for (let i = 0; i < n; i++) gx[i] += g[i]! * (1 - y[i]! * y[i]!); break;
      case SIGMOID: for (let i = 0; i < n; i++) gx[i] += g[i]! * y[i]! * (1 - y[i]!); break;
      case EXP: for (let i = 0; i < n; i++) gx[i] += g[i]! * y[i]!; break;
      case LOG: for (let i = 0; i < n; i++) gx[i] += g[i]! / x[i]!; break;
      case SQUARE: for (let i = 0; i < n; i++) gx[i] += 2 * g[i]! * x[i]!; break;
      case SQRT: for (let i = 0; i < n; i++) gx[i] += (0.5 * g[i]!) / y[i]!; break;
    }
  });
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
