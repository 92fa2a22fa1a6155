/**
 * Softmax, log-softmax and categorical entropy along the last axis, with an optional action mask
 * for variable action sets (Decima picks among the runnable stages only).
 *
 * Mask convention (as Gymnasium's action masks): mask[i] = 1 marks an allowed entry, 0 a masked
 * one. The mask has one byte per element of x, or one per element of the last axis (shared by
 * every row). A masked entry gets probability exactly 0, log-probability -Infinity, and no
 * gradient; its logit is never read, so it may hold anything. A row with every entry masked has
 * no distribution at all and is an error naming the op and the row.
 */
import { Tensor, type Storage, fromOp, recordBackward, gradOf, sizeOf } from '../tensor.js';
import { outBuffer, stepBuffer } from '../scratch.js';
import { opError, shapeStr } from '../check.js';

export type Mask = Uint8Array;

interface Rows {
  rows: number;
  d: number;
  /** 0 when one mask row is shared by all rows, d when the mask has a row per row. */
  maskStride: number;
}

function rowsOf(op: string, x: Tensor, mask: Mask | null): Rows {
  if (x.rank < 1) throw opError(op, 'got a scalar', 'a tensor whose last axis holds the categories');
  const d = x.shape[x.rank - 1]!;
  const rows = sizeOf(x.shape.slice(0, -1));
  if (d === 0 && rows > 0) throw opError(op, `x ${shapeStr(x.shape)} has no categories (last axis of length 0)`, 'at least one category per row');
  if (mask === null) return { rows, d, maskStride: 0 };
  if (mask.length === x.size) return { rows, d, maskStride: d };
  if (mask.length === d) return { rows, d, maskStride: 0 };
  throw opError(op, `mask of length ${mask.length} for x ${shapeStr(x.shape)}`, `a Uint8Array of length ${x.size} (one per element) or ${d} (one per category, shared by all rows)`);
}

/** Max over the allowed entries of row r, or throws if there are none. */
function rowMax(op: string, x: Storage, o: number, d: number, mask: Mask | null, mo: number, r: number, shape: readonly number[]): number {
  let m = -Infinity, any = false;
  for (let j = 0; j < d; j++) {
    if (mask !== null && mask[mo + j] === 0) continue;
    any = true;
    const v = x[o + j]!;
    // One NaN makes the whole row's log-sum-exp NaN, and sampling from it silently took the last
    // allowed action: a diverged net, not a distribution.
    if (Number.isNaN(v)) throw opError(op, `x[${r}, ${j}] of x ${shapeStr(shape)} is NaN (an allowed entry)`, 'finite logits (-Infinity only where an entry is masked)');
    if (v > m) m = v;
  }
  if (!any) throw opError(op, `row ${r} of x ${shapeStr(shape)} has every entry masked`, 'at least one allowed entry (mask = 1) in every row');
  // Logits of -Infinity mask entries too (PyTorch's masked_fill idiom); if they mask all of a row,
  // x - max is NaN everywhere, a silent garbage distribution.
  if (m === -Infinity) throw opError(op, `row ${r} of x ${shapeStr(shape)} has no allowed entry with a finite logit (all -Infinity)`, 'at least one allowed entry with a finite logit in every row');
  // +Infinity - max is NaN too.
  if (m === Infinity) throw opError(op, `row ${r} of x ${shapeStr(shape)} has an allowed logit of +Infinity`, 'finite logits (-Infinity only where an entry is masked)');
  return m;
}

/** exp(x - max) / sum over allowed entries; masked entries are exactly 0. */
export function softmax(x: Tensor, mask: Mask | null = null): Tensor {
  const { rows, d, maskStride } = rowsOf('softmax', x, mask);
  const xd = x.data;
  const y = outBuffer(x.dtype, x.size);
  for (let r = 0; r < rows; r++) {
    const o = r * d, mo = r * maskStride;
    const m = rowMax('softmax', xd, o, d, mask, mo, r, x.shape);
    let s = 0;
    for (let j = 0; j < d; j++) {
      if (mask !== null && mask[mo + j] === 0) continue;
      const e = Math.exp(xd[o + j]! - m);
      y[o + j] = e;
      s += e;
    }
    const inv = 1 / s;
    for (let j = 0; j < d; j++) y[o + j] *= inv; // masked entries stay exactly 0
  }
  const t = fromOp('softmax', y, x.shape, x);
  return t.requiresGrad ? recordBackward(t, softmaxBackward(t, x, mask, rows, d, maskStride)) : t;
}

function softmaxBackward(t: Tensor, x: Tensor, mask: Mask | null, rows: number, d: number, maskStride: number): () => void {
  return () => {
    const g = t.grad!, gx = gradOf(x), y = t.data;
    for (let r = 0; r < rows; r++) {
      const o = r * d, mo = r * maskStride;
      let dot = 0;
      for (let j = 0; j < d; j++) if (mask === null || mask[mo + j] !== 0) dot += g[o + j]! * y[o + j]!;
      for (let j = 0; j < d; j++) if (mask === null || mask[mo + j] !== 0) gx[o + j] += y[o + j]! * (g[o + j]! - dot);
    }
  };
}

/** x - max - log(sum exp(x - max)) over allowed entries; masked entries are -Infinity (log 0). */
export function logSoftmax(x: Tensor, mask: Mask | null = null): Tensor {
  const { rows, d, maskStride } = rowsOf('logSoftmax', x, mask);
  const xd = x.data;
  const y = outBuffer(x.dtype, x.size);
  for (let r = 0; r < rows; r++) {
    const o = r * d, mo = r * maskStride;
    const m = rowMax('logSoftmax', xd, o, d, mask, mo, r, x.shape);
    let s = 0;
    for (let j = 0; j < d; j++) if (mask === null || mask[mo + j] !== 0) s += Math.exp(xd[o + j]! - m);
    const lse = m + Math.log(s);
    for (let j = 0; j < d; j++) y[o + j] = mask === null || mask[mo + j] !== 0 ? xd[o + j]! - lse : -Infinity;
  }
  const t = fromOp('logSoftmax', y, x.shape, x);
  return t.requiresGrad ? recordBackward(t, logSoftmaxBackward(t, x, mask, rows, d, maskStride)) : t;
}

function logSoftmaxBackward(t: Tensor, x: Tensor, mask: Mask | null, rows: number, d: number, maskStride: number): () => void {
  return () => {
    const g = t.grad!, gx = gradOf(x), y = t.data;
    for (let r = 0; r < rows; r++) {
      const o = r * d, mo = r * maskStride;
      let gs = 0;
      for (let j = 0; j < d; j++) if (mask === null || mask[mo + j] !== 0) gs += g[o + j]!;
      for (let j = 0; j < d; j++) if (mask === null || mask[mo + j] !== 0) gx[o + j] += g[o + j]! - Math.exp(y[o + j]!) * gs;
    }
  };
}

/**
 * Entropy -sum p log p of the categorical distribution softmax(x) over the allowed entries of
 * each row -> shape of x without its last axis. Fused because composing it from softmax and
 * logSoftmax would multiply 0 by -Infinity at masked entries.
 */
export function categoricalEntropy(x: Tensor, mask: Mask | null = null): Tensor {
  const { rows, d, maskStride } = rowsOf('categoricalEntropy', x, mask);
  const xd = x.data;
  const logp = stepBuffer('float64', x.size);
  const h = outBuffer(x.dtype, rows);
  for (let r = 0; r < rows; r++) {
    const o = r * d, mo = r * maskStride;
    const m = rowMax('categoricalEntropy', xd, o, d, mask, mo, r, x.shape);
    let s = 0;
    for (let j = 0; j < d; j++) if (mask === null || mask[mo + j] !== 0) s += Math.exp(xd[o + j]! - m);
    const lse = m + Math.log(s);
    let e = 0;
    for (let j = 0; j < d; j++) {
      if (mask !== null && mask[mo + j] === 0) continue;
      const lp = xd[o + j]! - lse;
      logp[o + j] = lp;
      // A logit of -Infinity has p = 0 and adds nothing (p log p -> 0); 0 * -Infinity would be NaN.
      if (lp !== -Infinity) e -= Math.exp(lp) * lp;
    }
    h[r] = e;
  }
  const t = fromOp('categoricalEntropy', h, x.shape.slice(0, -1), x);
  return t.requiresGrad ? recordBackward(t, entropyBackward(t, x, mask, logp, rows, d, maskStride)) : t;
}

function entropyBackward(t: Tensor, x: Tensor, mask: Mask | null, logp: Storage, rows: number, d: number, maskStride: number): () => void {
  return () => {
    const g = t.grad!, gx = gradOf(x), h = t.data;
    for (let r = 0; r < rows; r++) {
      const o = r * d, mo = r * maskStride, hr = h[r]!, gr = g[r]!;
      // dH/dx_j = -p_j (log p_j + H)
      for (let j = 0; j < d; j++) {
        if (mask !== null && mask[mo + j] === 0) continue;
        const lp = logp[o + j]!;
        if (lp !== -Infinity) gx[o + j] -= gr * Math.exp(lp) * (lp + hr);
      }
    }
  };
}
