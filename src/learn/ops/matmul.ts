/**
 * Dense matrix products on row-major typed arrays.
 *
 * The kernels are i-k-j loops: the innermost loop runs along a row of B and a row of C, both
 * contiguous, so it streams memory and never strides. Two things make them several times faster
 * than the textbook triple loop in V8:
 *   - register reuse: each pass of the inner loop serves two rows of C with four rows of B
 *     (8 multiply-adds per 4 loads of B, 2 loads and 2 stores of C), where the plain loop does one
 *     multiply-add per load/load/store;
 *   - cache blocking over k and j, so that the panel of B being reused stays in L2 for large
 *     matrices (for the graph-sized products here, [n,64] x [64,64], B fits in L1 anyway).
 * All kernels accumulate (C += ...): forward passes hand them fresh zeroed outputs, backward
 * passes hand them the gradient buffers, which saves a temporary per product.
 */
import { Tensor, type Storage, fromOp, recordBackward, gradOf, commonDtype, matrixShape, isGradEnabled } from '../tensor.js';
import { alloc, dtypeOf, reuse, recycle } from '../storage.js';
import { outBuffer, stepBuffer } from '../scratch.js';
import { opError, shapeStr } from '../check.js';
import { useSimd, simdGemm, simdGemmTN } from './simd.js';
import { activate, activationKernel, outputDetermines, type Activation, type UnaryKernel } from './elementwise.js';

const KB = 256; // rows of B per block: KB x JB floats = 512 KiB at most, within L2
const JB = 512;

/** C[m,n] += A[m,k] B[k,n]: the SIMD kernel for large float32 products (simd.ts), else the JavaScript one. */
export function gemmAcc(a: Storage, b: Storage, c: Storage, m: number, k: number, n: number): void {
  if (useSimd(c, n, m * k * n, m * k + k * n + m * n) && a instanceof Float32Array && b instanceof Float32Array) simdGemm(a, b, c, m, k, n);
  else gemmAccJs(a, b, c, m, k, n);
}

/** C[k,n] += A[m,k]^T B[m,n], dispatched like gemmAcc. */
export function gemmTNAcc(a: Storage, b: Storage, c: Storage, m: number, k: number, n: number): void {
  if (useSimd(c, n, m * k * n, m * k + m * n + k * n) && a instanceof Float32Array && b instanceof Float32Array) simdGemmTN(a, b, c, m, k, n);
  else gemmTNAccJs(a, b, c, m, k, n);
}

/** C[m,n] += A[m,k] B[k,n] in JavaScript (the reference kernel, and the float64 path). */
export function gemmAccJs(a: Storage, b: Storage, c: Storage, m: number, k: number, n: number): void {
  for (let j0 = 0; j0 < n; j0 += JB) {
    const j1 = Math.min(n, j0 + JB);
    for (let k0 = 0; k0 < k; k0 += KB) {
      const k1 = Math.min(k, k0 + KB);
      let i = 0;
      for (; i + 1 < m; i += 2) {
        const a0 = i * k, a1 = a0 + k, c0 = i * n, c1 = c0 + n;
        let kk = k0;
        for (; kk + 3 < k1; kk += 4) {
          const x0 = a[a0 + kk]!, x1 = a[a0 + kk + 1]!, x2 = a[a0 + kk + 2]!, x3 = a[a0 + kk + 3]!;
          const y0 = a[a1 + kk]!, y1 = a[a1 + kk + 1]!, y2 = a[a1 + kk + 2]!, y3 = a[a1 + kk + 3]!;
          const b0 = kk * n, b1 = b0 + n, b2 = b1 + n, b3 = b2 + n;
          for (let j = j0; j < j1; j++) {
            const p = b[b0 + j]!, q = b[b1 + j]!, r = b[b2 + j]!, s = b[b3 + j]!;
            c[c0 + j] += x0 * p + x1 * q + x2 * r + x3 * s;
            c[c1 + j] += y0 * p + y1 * q + y2 * r + y3 * s;
          }
        }
        for (; kk < k1; kk++) {
          const x = a[a0 + kk]!, y = a[a1 + kk]!, b0 = kk * n;
          for (let j = j0; j < j1; j++) {
            const p = b[b0 + j]!;
            c[c0 + j] += x * p;
            c[c1 + j] += y * p;
          }
        }
      }
      if (i < m) {
        const a0 = i * k, c0 = i * n;
        for (let kk = k0; kk < k1; kk++) {
          const x = a[a0 + kk]!, b0 = kk * n;
          for (let j = j0; j < j1; j++) c[c0 + j] += x * b[b0 + j]!;
        }
      }
    }
  }
}

/** C[k,n] += A[m,k]^T B[m,n] in JavaScript, without forming A^T: the reduction index m is the outer loop. */
export function gemmTNAccJs(a: Storage, b: Storage, c: Storage, m: number, k: number, n: number): void {
  let r = 0;
  for (; r + 3 < m; r += 4) {
    const a0 = r * k, a1 = a0 + k, a2 = a1 + k, a3 = a2 + k;
    const b0 = r * n, b1 = b0 + n, b2 = b1 + n, b3 = b2 + n;
    let kk = 0;
    for (; kk + 1 < k; kk += 2) {
      const x0 = a[a0 + kk]!, x1 = a[a1 + kk]!, x2 = a[a2 + kk]!, x3 = a[a3 + kk]!;
      const y0 = a[a0 + kk + 1]!, y1 = a[a1 + kk + 1]!, y2 = a[a2 + kk + 1]!, y3 = a[a3 + kk + 1]!;
      const c0 = kk * n, c1 = c0 + n;
      for (let j = 0; j < n; j++) {
        const p = b[b0 + j]!, q = b[b1 + j]!, s = b[b2 + j]!, t = b[b3 + j]!;
        c[c0 + j] += x0 * p + x1 * q + x2 * s + x3 * t;
        c[c1 + j] += y0 * p + y1 * q + y2 * s + y3 * t;
      }
    }
    if (kk < k) {
      const x0 = a[a0 + kk]!, x1 = a[a1 + kk]!, x2 = a[a2 + kk]!, x3 = a[a3 + kk]!;
      const c0 = kk * n;
      for (let j = 0; j < n; j++) c[c0 + j] += x0 * b[b0 + j]! + x1 * b[b1 + j]! + x2 * b[b2 + j]! + x3 * b[b3 + j]!;
    }
  }
  for (; r < m; r++) {
    const a0 = r * k, b0 = r * n;
    for (let kk = 0; kk < k; kk++) {
      const x = a[a0 + kk]!, c0 = kk * n;
      for (let j = 0; j < n; j++) c[c0 + j] += x * b[b0 + j]!;
    }
  }
}

/**
 * C[m,n] += A[m,k] B[n,k]^T. B is transposed into a scratch buffer first: it is the small
 * operand in every use here (a weight matrix), and the transposed copy lets the fast i-k-j
 * kernel run instead of strided dot products.
 */
export function gemmNTAcc(a: Storage, b: Storage, c: Storage, m: number, k: number, n: number): void {
  const bt = b instanceof Float64Array ? new Float64Array(k * n) : new Float32Array(k * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) bt[j * n + i] = b[i * k + j]!;
  gemmAcc(a, bt, c, m, k, n);
}

/** a[m,k] @ b[k,n] -> [m,n]. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.rank !== 2 || b.rank !== 2 || a.shape[1] !== b.shape[0]) {
    throw opError('matmul', `cannot multiply a ${shapeStr(a.shape)} by b ${shapeStr(b.shape)}`, 'a [m,k] and b [k,n] (2-D, inner dimensions equal)');
  }
  const dtype = commonDtype('matmul', a, b);
  const m = a.shape[0]!, k = a.shape[1]!, n = b.shape[1]!;
  const out = outBuffer(dtype, m * n);
  gemmAcc(a.data, b.data, out, m, k, n);
  const t = fromOp('matmul', out, matrixShape(m, n), a, b);
  return t.requiresGrad ? recordBackward(t, matmulBackward(t, a, b, m, k, n)) : t;
}

function matmulBackward(t: Tensor, a: Tensor, b: Tensor, m: number, k: number, n: number): () => void {
  return () => {
    const g = t.grad!;
    if (a.requiresGrad) gemmNTAcc(g, b.data, gradOf(a), m, n, k); // dA = G B^T
    if (b.requiresGrad) gemmTNAcc(a.data, g, gradOf(b), m, k, n); // dB = A^T G
  };
}

/**
 * act(x[m,k] @ w[k,n] + b[n]) in one op (PyTorch's addmm, and the activation of a layer): the
 * output starts as the bias rows, the product accumulates onto it, and the activation is applied
 * in place. That saves a full pass and an [m,n] buffer, in each direction, over matmul then add,
 * and a tensor per layer over linear then activate: an MLP's forward pass makes one tensor per
 * layer. The numbers are those of the separate ops exactly (the same kernels in the same order).
 * The backward pass computes the activation's gradient from the output, which is exact wherever
 * the output determines it (outputDetermines: every activation here but leaky ReLU with a
 * negative slope, which is done as two ops).
 */
export function linear(x: Tensor, w: Tensor, b: Tensor | null, activation: Activation = 'none', slope = 0.01): Tensor {
  if (!outputDetermines(activation, slope)) return activate(linear(x, w, b), activation, slope);
  if (x.rank !== 2 || w.rank !== 2 || x.shape[1] !== w.shape[0] || (b !== null && (b.rank !== 1 || b.shape[0] !== w.shape[1]))) {
    throw opError('linear', `x ${shapeStr(x.shape)}, w ${shapeStr(w.shape)}${b ? `, b ${shapeStr(b.shape)}` : ''}`, 'x [m,k], w [k,n] and b [n]');
  }
  const dtype = commonDtype('linear', x, w, b);
  const m = x.shape[0]!, k = x.shape[1]!, n = w.shape[1]!;
  const out = outBuffer(dtype, m * n);
  const act = activationKernel(activation);
  affine(x.data, w.data, b === null ? null : b.data, out, m, k, n, act, slope);
  const t = fromOp('linear', out, matrixShape(m, n), x, w, b);
  return t.requiresGrad ? recordBackward(t, linearBackward(t, x, w, b, m, k, n, act, slope)) : t;
}

/** out[m,n] (zeroed) = act(x w + b): the bias rows, the product accumulated onto them, the activation in place. */
function affine(x: Storage, w: Storage, b: Storage | null, out: Storage, m: number, k: number, n: number, act: UnaryKernel | null, slope: number): void {
  // A loop, not out.set(b, i * n) per row: rows are 8-64 numbers here, and a native call per row
  // cost more than the copy (about 6% of a Decima training step went to that line).
  if (b !== null) {
    for (let i = 0; i < m; i++) {
      const o = i * n;
      for (let j = 0; j < n; j++) out[o + j] = b[j]!;
    }
  }
  gemmAcc(x, w, out, m, k, n);
  if (act !== null) act.forward(out, out, slope);
}

function linearBackward(t: Tensor, x: Tensor, w: Tensor, b: Tensor | null, m: number, k: number, n: number, act: UnaryKernel | null, slope: number): () => void {
  return () => {
    let g = t.grad!;
    // The gradient at the pre-activation goes in a zeroed buffer of its own and is accumulated
    // into, as the separate ops' graph had it (the gradient of linear's output), so that its
    // numbers are that graph's to the bit; the buffer is done with when this closure is.
    const pre = act === null ? null : (reuse(t.dtype, t.size) ?? alloc(t.dtype, t.size));
    if (pre !== null) {
      act!.backward(t.data, t.data, g, pre, slope);
      g = pre;
    }
    if (x.requiresGrad) gemmNTAcc(g, w.data, gradOf(x), m, n, k);
    if (w.requiresGrad) gemmTNAcc(x.data, g, gradOf(w), m, k, n);
    if (b?.requiresGrad) {
      const gb = gradOf(b);
      for (let i = 0; i < m; i++) {
        const o = i * n;
        for (let j = 0; j < n; j++) gb[j] += g[o + j]!;
      }
    }
    if (pre !== null) recycle(pre);
  };
}

/** A layer of a stack: x W + b. */
export interface AffineLayer {
  weight: Tensor;
  bias: Tensor | null;
}

/**
 * A stack of linear layers with their activations (an MLP), h <- act_i(h W_i + b_i), as one op
 * that records no graph: for forward passes without gradients (inference(), noGrad), where each
 * hidden layer's output is read by the next layer only. The hidden outputs are step buffers (from
 * the inference scratch when acting), the last is the op's output: one tensor for the whole stack
 * where linear per layer makes one per layer, and the same numbers (the same kernels in the same
 * order). Throws when a graph would be recorded (gradients on and an input that needs them).
 */
export function linearStack(x: Tensor, layers: readonly AffineLayer[], activations: readonly Activation[], slope: number): Tensor {
  if (layers.length === 0 || activations.length !== layers.length) throw opError('linearStack', `${layers.length} layers and ${activations.length} activations`, 'at least one layer, and one activation per layer');
  if (x.rank !== 2) throw opError('linearStack', `input ${shapeStr(x.shape)}`, 'an input of shape [m,k]');
  let k = x.shape[1]!;
  for (let i = 0; i < layers.length; i++) {
    const { weight: w, bias: b } = layers[i]!;
    if (w.rank !== 2 || w.shape[0] !== k || (b !== null && (b.rank !== 1 || b.shape[0] !== w.shape[1]))) {
      throw opError('linearStack', `layer ${i}: input width ${k}, w ${shapeStr(w.shape)}${b ? `, b ${shapeStr(b.shape)}` : ''}`, `w [${k},n] and b [n]`);
    }
    if (isGradEnabled() && (x.requiresGrad || w.requiresGrad || b?.requiresGrad === true)) {
      throw opError('linearStack', 'called with gradients on and an input that needs them', 'noGrad() or inference() around it (linear per layer records the graph)');
    }
    commonDtype('linearStack', x, w, b);
    k = w.shape[1]!;
  }
  const m = x.shape[0]!;
  const out = outBuffer(x.dtype, m * k);
  stackRows(x.data, m, layers, activations, slope, out);
  return fromOp('linearStack', out, matrixShape(m, k), x);
}

/**
 * linearStack's arithmetic on m rows of plain storage h [m, k], with no tensor and no checks: for
 * a forward pass that records no graph and has checked its shapes (DagMessagePassing's rounds).
 * The hidden outputs are step buffers; the last goes into `out` when given (zeroed, [m, n]), else
 * into a step buffer. Returns the last output.
 */
export function stackRows(h: Storage, m: number, layers: readonly AffineLayer[], activations: readonly Activation[], slope: number, out: Storage | null): Storage {
  const last = layers.length - 1;
  for (let i = 0; i <= last; i++) {
    const { weight: w, bias: b } = layers[i]!;
    const k = w.shape[0]!, n = w.shape[1]!;
    const o = i === last && out !== null ? out : stepBuffer(dtypeOf(h), m * n);
    affine(h, w.data, b === null ? null : b.data, o, m, k, n, activationKernel(activations[i]!), slope);
    h = o;
  }
  return h;
}
