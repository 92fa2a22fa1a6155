/**
 * Ops that move data without arithmetic: concat, slice, reshape, transpose.
 * concat and slice view each tensor as [outer, len, inner] around the axis, so they work for rows
 * (axis 0), columns (axis 1 of a matrix) and any other axis with one copy loop.
 */
import { Tensor, fromOp, fromOpOf, recordBackward, gradOf, commonDtypeOf, sizeOf, matrixShape, type Storage } from '../tensor.js';
import { outBuffer } from '../scratch.js';
import { opError, shapeStr } from '../check.js';

/** The product of the dimensions before `axis`, and after it: a tensor viewed as [outer, len, inner] around the axis. */
function outerOf(shape: readonly number[], axis: number): number {
  let outer = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i]!;
  return outer;
}

function innerOf(shape: readonly number[], axis: number): number {
  let inner = 1;
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i]!;
  return inner;
}

/**
 * Copies `runs` runs of `w` elements: run o from src[srcOff + o * srcStride] to dst[dstOff + o *
 * dstStride]. One run is one native copy; several are a loop, not dst.set(src.subarray(...)) per
 * run: a subarray is an object, and a column concat of n rows made n of them per input.
 */
function copyRuns(src: Storage, srcOff: number, srcStride: number, dst: Storage, dstOff: number, dstStride: number, runs: number, w: number): void {
  if (runs === 1) {
    dst.set(srcOff === 0 && w === src.length ? src : src.subarray(srcOff, srcOff + w), dstOff);
    return;
  }
  for (let o = 0; o < runs; o++) {
    const s = srcOff + o * srcStride, d = dstOff + o * dstStride;
    for (let j = 0; j < w; j++) dst[d + j] = src[s + j]!;
  }
}

/** Joins tensors along `axis` (0 = rows, 1 = columns); every other dimension must agree. */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw opError('concat', 'no tensors', 'at least one tensor');
  const first = xs[0]!;
  const a = axis < 0 ? axis + first.rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= first.rank) throw opError('concat', `axis ${axis} for shape ${shapeStr(first.shape)}`, `an axis in [${-first.rank}, ${first.rank})`);
  let total = 0;
  for (const x of xs) {
    let agree = x.rank === first.rank;
    for (let i = 0; agree && i < first.rank; i++) agree = i === a || x.shape[i] === first.shape[i];
    if (!agree) throw opError('concat', `shapes ${xs.map((t) => shapeStr(t.shape)).join(', ')} along axis ${a}`, `equal shapes except along axis ${a}`);
    total += x.shape[a]!;
  }
  const dtype = commonDtypeOf('concat', xs);
  const outer = outerOf(first.shape, a), inner = innerOf(first.shape, a);
  let shape: readonly number[];
  if (first.rank === 2) shape = a === 0 ? matrixShape(total, first.shape[1]!) : matrixShape(first.shape[0]!, total);
  else {
    const s = first.shape.slice();
    s[a] = total;
    shape = s;
  }
  const out = outBuffer(dtype, outer * total * inner);
  const rowOut = total * inner;
  let off = 0;
  for (let t = 0; t < xs.length; t++) {
    const xd = xs[t]!.data, w = xs[t]!.shape[a]! * inner;
    copyRuns(xd, 0, w, out, off, rowOut, outer, w);
    off += w;
  }
  const res = fromOpOf('concat', out, shape, xs);
  return res.requiresGrad ? recordBackward(res, concatBackward(res, xs, a, outer, inner, rowOut)) : res;
}

function concatBackward(res: Tensor, xs: readonly Tensor[], a: number, outer: number, inner: number, rowOut: number): () => void {
  return () => {
    const g = res.grad!;
    let off2 = 0;
    for (let t = 0; t < xs.length; t++) {
      const x = xs[t]!, w = x.shape[a]! * inner;
      if (x.requiresGrad) {
        const gx = gradOf(x);
        for (let o = 0; o < outer; o++) {
          const src = o * rowOut + off2, dst = o * w;
          for (let j = 0; j < w; j++) gx[dst + j] += g[src + j]!;
        }
      }
      off2 += w;
    }
  };
}

/** Elements start <= i < end along `axis` (rows with axis 0, columns with axis 1). */
export function slice(x: Tensor, axis: number, start: number, end: number): Tensor {
  const a = axis < 0 ? axis + x.rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= x.rank) throw opError('slice', `axis ${axis} for shape ${shapeStr(x.shape)}`, `an axis in [${-x.rank}, ${x.rank})`);
  const len = x.shape[a]!;
  if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start <= end && end <= len)) {
    throw opError('slice', `range [${start}, ${end}) along axis ${a} of shape ${shapeStr(x.shape)}`, `integers 0 <= start <= end <= ${len}`);
  }
  const outer = outerOf(x.shape, a), inner = innerOf(x.shape, a);
  const w = (end - start) * inner, rowIn = len * inner, off = start * inner;
  const out = outBuffer(x.dtype, outer * w);
  copyRuns(x.data, off, rowIn, out, 0, w, outer, w);
  const shape = x.shape.slice();
  shape[a] = end - start;
  const t = fromOp('slice', out, shape, x);
  return t.requiresGrad ? recordBackward(t, sliceBackward(t, x, outer, w, rowIn, off)) : t;
}

function sliceBackward(t: Tensor, x: Tensor, outer: number, w: number, rowIn: number, off: number): () => void {
  return () => {
    const g = t.grad!, gx = gradOf(x);
    for (let o = 0; o < outer; o++) {
      const dst = o * rowIn + off, src = o * w;
      for (let j = 0; j < w; j++) gx[dst + j] += g[src + j]!;
    }
  };
}

/** Same elements, new shape (one dimension may be -1, inferred). Shares the data: nothing is copied. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const s = shape.slice();
  const free = s.indexOf(-1);
  if (free >= 0) {
    const known = sizeOf(s.filter((_, i) => i !== free));
    s[free] = known === 0 ? 0 : x.size / known;
  }
  if (s.some((d) => !Number.isInteger(d) || d < 0) || sizeOf(s) !== x.size) {
    throw opError('reshape', `cannot reshape ${shapeStr(x.shape)} (${x.size} elements) to ${shapeStr(shape)}`, 'a shape with the same number of elements (at most one -1)');
  }
  const t = fromOp('reshape', x.data, s, x);
  return t.requiresGrad ? recordBackward(t, reshapeBackward(t, x)) : t;
}

function reshapeBackward(t: Tensor, x: Tensor): () => void {
  return () => {
    const g = t.grad!, gx = gradOf(x);
    for (let i = 0; i < g.length; i++) gx[i] += g[i]!;
  };
}

/** Matrix transpose [m,n] -> [n,m]. */
export function transpose(x: Tensor): Tensor {
  if (x.rank !== 2) throw opError('transpose', `shape ${shapeStr(x.shape)}`, 'a 2-D tensor');
  const m = x.shape[0]!, n = x.shape[1]!;
  const out = outBuffer(x.dtype, m * n);
  const xd = x.data;
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) out[j * m + i] = xd[i * n + j]!;
  const t = fromOp('transpose', out, matrixShape(n, m), x);
  return t.requiresGrad ? recordBackward(t, transposeBackward(t, x, m, n)) : t;
}

function transposeBackward(t: Tensor, x: Tensor, m: number, n: number): () => void {
  return () => {
    const g = t.grad!, gx = gradOf(x);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) gx[i * n + j] += g[j * m + i]!;
  };
}
