/**
 * Reductions: sum and mean (over everything or along one axis) and layer normalization.
 * An axis reduction views the tensor as [outer, len, inner] around the axis, so one loop nest
 * serves every axis of every rank. Sums accumulate in doubles whatever the storage type.
 */
import { Tensor, type Storage, fromOp, recordBackward, gradOf, commonDtype } from '../tensor.js';
import { outBuffer, stepBuffer } from '../scratch.js';
import { opError, shapeStr } from '../check.js';

function normAxis(op: string, x: Tensor, axis: number): number {
  const a = axis < 0 ? axis + x.rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= x.rank) throw opError(op, `axis ${axis} for a tensor of shape ${shapeStr(x.shape)}`, `an axis in [${-x.rank}, ${x.rank})`);
  return a;
}

function reduceSum(op: string, x: Tensor, scaleBy: (len: number) => number, axis?: number, keepDims = false): Tensor {
  if (axis === undefined) {
    const xd = x.data, n = xd.length;
    let s = 0;
    for (let i = 0; i < n; i++) s += xd[i]!;
    const scale = scaleBy(n);
    const out = outBuffer(x.dtype, 1);
    out[0] = s * scale;
    const shape = keepDims ? x.shape.map(() => 1) : [];
    const t = fromOp(op, out, shape, x);
    return t.requiresGrad ? recordBackward(t, sumAllBackward(t, x, scale)) : t;
  }
  const a = normAxis(op, x, axis);
  let outer = 1, inner = 1;
  for (let i = 0; i < a; i++) outer *= x.shape[i]!;
  for (let i = a + 1; i < x.rank; i++) inner *= x.shape[i]!;
  const len = x.shape[a]!;
  const scale = scaleBy(len);
  const acc = stepBuffer('float64', outer * inner);
  const xd = x.data;
  for (let o = 0; o < outer; o++) {
    for (let l = 0; l < len; l++) {
      const src = (o * len + l) * inner, dst = o * inner;
      for (let j = 0; j < inner; j++) acc[dst + j] += xd[src + j]!;
    }
  }
  const out = outBuffer(x.dtype, outer * inner);
  for (let i = 0; i < out.length; i++) out[i] = acc[i]! * scale;
  const shape = keepDims ? x.shape.map((d, i) => (i === a ? 1 : d)) : x.shape.filter((_, i) => i !== a);
  const t = fromOp(op, out, shape, x);
  return t.requiresGrad ? recordBackward(t, sumAxisBackward(t, x, scale, outer, len, inner)) : t;
}

function sumAllBackward(t: Tensor, x: Tensor, scale: number): () => void {
  return () => {
    const g = t.grad![0]! * scale, gx = gradOf(x), n = x.size;
    for (let i = 0; i < n; i++) gx[i] += g;
  };
}

function sumAxisBackward(t: Tensor, x: Tensor, scale: number, outer: number, len: number, inner: number): () => void {
  return () => {
    const g = t.grad!, gx = gradOf(x);
    for (let o = 0; o < outer; o++) {
      for (let l = 0; l < len; l++) {
        const dst = (o * len + l) * inner, src = o * inner;
        for (let j = 0; j < inner; j++) gx[dst + j] += g[src + j]! * scale;
      }
    }
  };
}

/** Sum of all elements (shape []), or along `axis` (that dimension removed, or kept as 1). */
export function sum(x: Tensor, axis?: number, opts: { keepDims?: boolean } = {}): Tensor {
  return reduceSum('sum', x, () => 1, axis, opts.keepDims);
}

/** Mean of all elements, or along `axis`. The mean of nothing is NaN, as 0/0. */
export function mean(x: Tensor, axis?: number, opts: { keepDims?: boolean } = {}): Tensor {
  return reduceSum('mean', x, (len) => 1 / len, axis, opts.keepDims);
}

/**
 * Layer normalization over the last axis (Ba, Kiros & Hinton 2016):
 * y = (x - mean) / sqrt(var + eps) * gamma + beta, with the biased variance. gamma and beta
 * ([d]) are optional; without them the op only normalizes.
 */
export function layerNorm(x: Tensor, gamma: Tensor | null = null, beta: Tensor | null = null, eps = 1e-5): Tensor {
  if (x.rank < 1) throw opError('layerNorm', 'got a scalar', 'a tensor whose last axis is the feature axis');
  const d = x.shape[x.rank - 1]!;
  for (const [name, p] of [['gamma', gamma], ['beta', beta]] as const) {
    if (p && (p.rank !== 1 || p.shape[0] !== d)) throw opError('layerNorm', `${name} ${shapeStr(p.shape)} for x ${shapeStr(x.shape)}`, `${name} of shape [${d}] (the last axis of x)`);
  }
  const dtype = commonDtype('layerNorm', x, gamma, beta);
  const rows = d === 0 ? 0 : x.size / d;
  const xd = x.data, gd = gamma?.data, bd = beta?.data;
  const xhat = stepBuffer(dtype, x.size);
  const rstd = stepBuffer('float64', rows);
  const out = outBuffer(dtype, x.size);
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    let mu = 0;
    for (let j = 0; j < d; j++) mu += xd[o + j]!;
    mu /= d;
    let v = 0;
    for (let j = 0; j < d; j++) {
      const c = xd[o + j]! - mu;
      v += c * c;
    }
    const s = 1 / Math.sqrt(v / d + eps);
    rstd[r] = s;
    for (let j = 0; j < d; j++) {
      const h = (xd[o + j]! - mu) * s;
      xhat[o + j] = h;
      out[o + j] = h * (gd ? gd[j]! : 1) + (bd ? bd[j]! : 0);
    }
  }
  const t = fromOp('layerNorm', out, x.shape, x, gamma, beta);
  return t.requiresGrad ? recordBackward(t, layerNormBackward(t, x, gamma, beta, xhat, rstd, rows, d)) : t;
}

function layerNormBackward(t: Tensor, x: Tensor, gamma: Tensor | null, beta: Tensor | null, xhat: Storage, rstd: Storage, rows: number, d: number): () => void {
  return () => {
    const g = t.grad!, gd = gamma?.data;
    const gg = gamma?.requiresGrad ? gradOf(gamma) : null;
    const gb = beta?.requiresGrad ? gradOf(beta) : null;
    const gx = x.requiresGrad ? gradOf(x) : null;
    for (let r = 0; r < rows; r++) {
      const o = r * d;
      if (gg) for (let j = 0; j < d; j++) gg[j] += g[o + j]! * xhat[o + j]!;
      if (gb) for (let j = 0; j < d; j++) gb[j] += g[o + j]!;
      if (!gx) continue;
      // dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = g * gamma
      let m1 = 0, m2 = 0;
      for (let j = 0; j < d; j++) {
        const dh = g[o + j]! * (gd ? gd[j]! : 1);
        m1 += dh;
        m2 += dh * xhat[o + j]!;
      }
      m1 /= d;
      m2 /= d;
      const s = rstd[r]!;
      for (let j = 0; j < d; j++) {
        const dh = g[o + j]! * (gd ? gd[j]! : 1);
        gx[o + j] += s * (dh - m1 - xhat[o + j]! * m2);
      }
    }
  };
}
