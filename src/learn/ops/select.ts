/**
 * Selection ops for policy-gradient losses: `clamp`, elementwise `maximum` and `minimum`, and
 * `pick` (one entry per row, as torch.gather(x, 1, idx)). With them PPO's clipped objective reads
 * as the paper writes it: max(-A r, -A clip(r, 1-eps, 1+eps)).
 *
 * Gradients at the kinks: clamp passes the gradient where lo <= x <= hi (bounds included, as
 * PyTorch) and blocks it outside; maximum/minimum send all of it to `a` on ties (PyTorch splits
 * it in half). At a tie in PPO's objectives both branches have the same gradient, so the choice
 * changes nothing there.
 */
import { Tensor, fromOp, recordBackward, gradOf, commonDtype } from '../tensor.js';
import { outBuffer } from '../scratch.js';
import { opError, shapeStr } from '../check.js';

/** min(max(x, lo), hi) elementwise; gradient 1 where lo <= x <= hi, else 0. */
export function clamp(x: Tensor, lo: number, hi: number): Tensor {
  if (!(lo <= hi)) throw opError('clamp', `bounds lo = ${lo}, hi = ${hi}`, 'lo <= hi');
  const xd = x.data, n = x.size;
  const out = outBuffer(x.dtype, n);
  for (let i = 0; i < n; i++) {
    const v = xd[i]!;
    out[i] = v < lo ? lo : v > hi ? hi : v;
  }
  const t = fromOp('clamp', out, x.shape, x);
  return t.requiresGrad ? recordBackward(t, clampBackward(t, x, lo, hi)) : t;
}

function clampBackward(t: Tensor, x: Tensor, lo: number, hi: number): () => void {
  return () => {
    const g = t.grad!, gx = gradOf(x), xd = x.data, n = x.size;
    for (let i = 0; i < n; i++) {
      const v = xd[i]!;
      if (v >= lo && v <= hi) gx[i] += g[i]!;
    }
  };
}

function extremum(op: 'maximum' | 'minimum', a: Tensor, b: Tensor): Tensor {
  if (a.rank !== b.rank || a.shape.some((d, i) => d !== b.shape[i])) {
    throw opError(op, `shapes ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`, 'two tensors of the same shape (no broadcasting)');
  }
  const dtype = commonDtype(op, a, b);
  const ad = a.data, bd = b.data, n = a.size;
  const out = outBuffer(dtype, n);
  // takeA[i] = 1 when a wins (ties included): the backward pass routes the gradient by it.
  const takeA = new Uint8Array(n);
  const sign = op === 'maximum' ? 1 : -1;
  for (let i = 0; i < n; i++) {
    const x = ad[i]!, y = bd[i]!;
    if (sign * x >= sign * y) {
      out[i] = x;
      takeA[i] = 1;
    } else out[i] = y;
  }
  const t = fromOp(op, out, a.shape, a, b);
  return t.requiresGrad ? recordBackward(t, extremumBackward(t, a, b, takeA)) : t;
}

function extremumBackward(t: Tensor, a: Tensor, b: Tensor, takeA: Uint8Array): () => void {
  return () => {
    const g = t.grad!, n = a.size;
    if (a.requiresGrad) {
      const ga = gradOf(a);
      for (let i = 0; i < n; i++) if (takeA[i] === 1) ga[i] += g[i]!;
    }
    if (b.requiresGrad) {
      const gb = gradOf(b);
      for (let i = 0; i < n; i++) if (takeA[i] === 0) gb[i] += g[i]!;
    }
  };
}

/** Elementwise max(a, b) of two same-shape tensors; the gradient goes to a on ties. */
export function maximum(a: Tensor, b: Tensor): Tensor {
  return extremum('maximum', a, b);
}

/** Elementwise min(a, b) of two same-shape tensors; the gradient goes to a on ties. */
export function minimum(a: Tensor, b: Tensor): Tensor {
  return extremum('minimum', a, b);
}

/** x[i, idx[i]] for each row of a [n, d] tensor -> [n] (the log-probability of each taken action). */
export function pick(x: Tensor, idx: Int32Array): Tensor {
  if (x.rank !== 2) throw opError('pick', `x ${shapeStr(x.shape)}`, 'a 2-D tensor [rows, categories]');
  const rows = x.shape[0]!, d = x.shape[1]!;
  if (idx.length !== rows) throw opError('pick', `${idx.length} indices for x ${shapeStr(x.shape)}`, `one index per row (${rows})`);
  for (let i = 0; i < rows; i++) {
    const j = idx[i]!;
    if (!(j >= 0 && j < d)) throw opError('pick', `idx[${i}] = ${j} is out of range for x ${shapeStr(x.shape)}`, `indices in [0, ${d})`);
  }
  const xd = x.data;
  const out = outBuffer(x.dtype, rows);
  for (let i = 0; i < rows; i++) out[i] = xd[i * d + idx[i]!]!;
  const t = fromOp('pick', out, [rows], x);
  return t.requiresGrad ? recordBackward(t, pickBackward(t, x, idx)) : t;
}

function pickBackward(t: Tensor, x: Tensor, idx: Int32Array): () => void {
  return () => {
    const g = t.grad!, gx = gradOf(x), rows = x.shape[0]!, d = x.shape[1]!;
    for (let i = 0; i < rows; i++) gx[i * d + idx[i]!] += g[i]!;
  };
}
