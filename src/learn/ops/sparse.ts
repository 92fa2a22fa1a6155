/**
 * Sparse and graph ops: a CSR matrix, sparse x dense products (message passing), and the
 * row-indexed ops that graph models pool with: gather, scatter-add, segment sum/mean/max.
 *
 * A Csr is built once per graph and reused for every forward and backward pass; its transpose
 * (needed by the backward of A X) is computed on first use and cached in the object, so a
 * training loop never rebuilds it.
 */
import { Tensor, type Storage, fromOp, recordBackward, gradOf, matrixShape, withRows } from '../tensor.js';
import { outBuffer, stepBuffer } from '../scratch.js';
import { opError, shapeStr } from '../check.js';
import { useSimd, simdSpmm } from './simd.js';

export class Csr {
  private transposed: Csr | null = null;

  /**
   * rows x cols; row r's entries are colIdx[rowPtr[r] .. rowPtr[r+1]) with the matching values
   * (all 1 when `values` is null). Validated here, once, in O(nnz).
   */
  constructor(
    readonly rows: number,
    readonly cols: number,
    readonly rowPtr: Int32Array,
    readonly colIdx: Int32Array,
    readonly values: Float32Array | null = null,
  ) {
    const bad = (what: string, expected: string) => opError('Csr', what, expected);
    if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) throw bad(`bad size ${rows}x${cols}`, 'non-negative integer rows and cols');
    if (rowPtr.length !== rows + 1) throw bad(`rowPtr has length ${rowPtr.length}`, `rows + 1 = ${rows + 1}`);
    if (rowPtr[0] !== 0) throw bad(`rowPtr[0] is ${rowPtr[0]}`, '0');
    for (let r = 0; r < rows; r++) {
      if (rowPtr[r + 1]! < rowPtr[r]!) throw bad(`rowPtr decreases at row ${r} (${rowPtr[r]} then ${rowPtr[r + 1]})`, 'a non-decreasing rowPtr');
    }
    if (rowPtr[rows] !== colIdx.length) throw bad(`rowPtr[rows] is ${rowPtr[rows]} but colIdx has ${colIdx.length} entries`, 'rowPtr[rows] === colIdx.length');
    for (let p = 0; p < colIdx.length; p++) {
      const c = colIdx[p]!;
      if (c < 0 || c >= cols) throw bad(`colIdx[${p}] = ${c} is out of range`, `column indices in [0, ${cols})`);
    }
    if (values !== null && values.length !== colIdx.length) throw bad(`values has length ${values.length}`, `one value per entry (${colIdx.length})`);
  }

  get nnz(): number {
    return this.colIdx.length;
  }

  /** A CSR from coordinate lists (entry i is (src[i], dst[i]) with values[i]); row order of entries is kept. */
  static fromCoo(rows: number, cols: number, src: ArrayLike<number>, dst: ArrayLike<number>, values?: ArrayLike<number>): Csr {
    if (src.length !== dst.length || (values && values.length !== src.length)) {
      throw opError('Csr.fromCoo', `src, dst${values ? ', values' : ''} lengths ${src.length}, ${dst.length}${values ? `, ${values.length}` : ''}`, 'equal lengths');
    }
    const rowPtr = new Int32Array(rows + 1);
    for (let i = 0; i < src.length; i++) {
      const r = src[i]!;
      if (!(r >= 0 && r < rows && Number.isInteger(r))) throw opError('Csr.fromCoo', `src[${i}] = ${r} is out of range`, `row indices in [0, ${rows})`);
      rowPtr[r + 1]!++;
    }
    for (let r = 0; r < rows; r++) rowPtr[r + 1] += rowPtr[r]!;
    const fill = rowPtr.slice(0, rows);
    const colIdx = new Int32Array(src.length);
    const vals = values ? new Float32Array(src.length) : null;
    for (let i = 0; i < src.length; i++) {
      const p = fill[src[i]!]!++;
      colIdx[p] = dst[i]!;
      if (vals) vals[p] = values![i]!;
    }
    return new Csr(rows, cols, rowPtr, colIdx, vals);
  }

  /** The transpose (cols x rows), built by a counting sort on first call and cached. */
  transpose(): Csr {
    if (this.transposed) return this.transposed;
    const { rows, cols, rowPtr, colIdx, values } = this;
    const tPtr = new Int32Array(cols + 1);
    for (let p = 0; p < colIdx.length; p++) tPtr[colIdx[p]! + 1]!++;
    for (let c = 0; c < cols; c++) tPtr[c + 1] += tPtr[c]!;
    const fill = tPtr.slice(0, cols);
    const tIdx = new Int32Array(colIdx.length);
    const tVal = values ? new Float32Array(colIdx.length) : null;
    for (let r = 0; r < rows; r++) {
      for (let p = rowPtr[r]!; p < rowPtr[r + 1]!; p++) {
        const q = fill[colIdx[p]!]!++;
        tIdx[q] = r;
        if (tVal) tVal[q] = values![p]!;
      }
    }
    const t = new Csr(cols, rows, tPtr, tIdx, tVal);
    t.transposed = this;
    this.transposed = t;
    return t;
  }
}

/** out[rows,d] += A x[cols,d]: the SIMD kernel for large float32 products (simd.ts), else the JavaScript one. */
export function spmmAcc(a: Csr, x: Storage, out: Storage, d: number): void {
  if (useSimd(out, d, a.nnz * d, a.rows + 1 + 2 * a.nnz + (a.cols + a.rows) * d) && x instanceof Float32Array) simdSpmm(a.rowPtr, a.colIdx, a.values, x, out, a.rows, a.cols, d);
  else spmmAccJs(a, x, out, d);
}

/** out[rows,d] += A x[cols,d] in JavaScript. Two entries per pass halve the loads and stores of the output row. */
export function spmmAccJs(a: Csr, x: Storage, out: Storage, d: number): void {
  const { rows, rowPtr, colIdx, values } = a;
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    let p = rowPtr[r]!;
    const end = rowPtr[r + 1]!;
    if (values === null) {
      for (; p + 1 < end; p += 2) {
        const x0 = colIdx[p]! * d, x1 = colIdx[p + 1]! * d;
        for (let j = 0; j < d; j++) out[o + j] += x[x0 + j]! + x[x1 + j]!;
      }
      if (p < end) {
        const x0 = colIdx[p]! * d;
        for (let j = 0; j < d; j++) out[o + j] += x[x0 + j]!;
      }
    } else {
      for (; p + 1 < end; p += 2) {
        const v0 = values[p]!, v1 = values[p + 1]!;
        const x0 = colIdx[p]! * d, x1 = colIdx[p + 1]! * d;
        for (let j = 0; j < d; j++) out[o + j] += v0 * x[x0 + j]! + v1 * x[x1 + j]!;
      }
      if (p < end) {
        const v0 = values[p]!, x0 = colIdx[p]! * d;
        for (let j = 0; j < d; j++) out[o + j] += v0 * x[x0 + j]!;
      }
    }
  }
}

/** Sparse A [r,c] times dense x [c,d] -> [r,d]. The gradient flows to x only (A is data, not a parameter). */
export function spmm(a: Csr, x: Tensor): Tensor {
  if (x.rank !== 2 || x.shape[0] !== a.cols) {
    throw opError('spmm', `cannot multiply a sparse ${a.rows}x${a.cols} matrix by x ${shapeStr(x.shape)}`, `x of shape [${a.cols},d]`);
  }
  const d = x.shape[1]!;
  const out = outBuffer(x.dtype, a.rows * d);
  spmmAcc(a, x.data, out, d);
  const t = fromOp('spmm', out, matrixShape(a.rows, d), x);
  return t.requiresGrad ? recordBackward(t, spmmBackward(t, a, x, d)) : t;
}

function spmmBackward(t: Tensor, a: Csr, x: Tensor, d: number): () => void {
  return () => spmmAcc(a.transpose(), t.grad!, gradOf(x), d);
}

// ---------------------------------------------------------------------------------------------
// Row-indexed ops. A "row" is everything after the first dimension, so [n] and [n,d] both work.
// ---------------------------------------------------------------------------------------------

function rowWidth(op: string, x: Tensor): number {
  if (x.rank < 1) throw opError(op, `got a scalar`, 'a tensor of rank >= 1 indexed by its first dimension');
  // The product of the trailing dimensions, not size / rows: a tensor of 0 rows has rows of width
  // shape[1..] all the same, and the segment ops make outputs of that width (empty segments, 0).
  let w = 1;
  for (let i = 1; i < x.rank; i++) w *= x.shape[i]!;
  return w;
}

function checkIndex(op: string, name: string, idx: Int32Array, bound: number, boundName: string): void {
  for (let i = 0; i < idx.length; i++) {
    const v = idx[i]!;
    if (v < 0 || v >= bound) throw opError(op, `${name}[${i}] = ${v} is out of range`, `indices in [0, ${bound}) (${boundName})`);
  }
}

/** x[idx[i]] for each i: rows picked by index (repeats allowed) -> [idx.length, ...]. */
export function gather(x: Tensor, idx: Int32Array): Tensor {
  const w = rowWidth('gather', x);
  checkIndex('gather', 'idx', idx, x.shape[0]!, `x has ${x.shape[0]} rows`);
  const m = idx.length;
  const out = outBuffer(x.dtype, m * w);
  const xd = x.data;
  for (let i = 0; i < m; i++) {
    const s = idx[i]! * w, o = i * w;
    for (let j = 0; j < w; j++) out[o + j] = xd[s + j]!;
  }
  const t = fromOp('gather', out, withRows(x.shape, m), x);
  return t.requiresGrad ? recordBackward(t, gatherBackward(t, x, idx, w)) : t;
}

function gatherBackward(t: Tensor, x: Tensor, idx: Int32Array, w: number): () => void {
  return () => {
    const g = t.grad!, gx = gradOf(x), m = idx.length;
    for (let i = 0; i < m; i++) {
      const s = idx[i]! * w, o = i * w;
      for (let j = 0; j < w; j++) gx[s + j] += g[o + j]!;
    }
  };
}

function scatterSum(op: string, src: Tensor, idx: Int32Array, n: number): Tensor {
  const w = rowWidth(op, src);
  if (idx.length !== src.shape[0]) throw opError(op, `${idx.length} indices for ${src.shape[0]} rows of ${shapeStr(src.shape)}`, 'one index per row');
  if (!(Number.isInteger(n) && n >= 0)) throw opError(op, `bad output row count ${n}`, 'a non-negative integer');
  checkIndex(op, 'index', idx, n, 'the output row count');
  const m = idx.length;
  const out = outBuffer(src.dtype, n * w);
  const sd = src.data;
  for (let i = 0; i < m; i++) {
    const o = idx[i]! * w, s = i * w;
    for (let j = 0; j < w; j++) out[o + j] += sd[s + j]!;
  }
  const t = fromOp(op, out, withRows(src.shape, n), src);
  return t.requiresGrad ? recordBackward(t, scatterSumBackward(t, src, idx, w)) : t;
}

function scatterSumBackward(t: Tensor, src: Tensor, idx: Int32Array, w: number): () => void {
  return () => {
    const g = t.grad!, gs = gradOf(src), m = idx.length;
    for (let i = 0; i < m; i++) {
      const o = idx[i]! * w, s = i * w;
      for (let j = 0; j < w; j++) gs[s + j] += g[o + j]!;
    }
  };
}

/** out[idx[i]] += src[i]: n output rows, rows with no index stay 0. */
export function scatterAdd(src: Tensor, idx: Int32Array, n: number): Tensor {
  return scatterSum('scatterAdd', src, idx, n);
}

/** Sum of the rows of x in each segment (segment ids need not be sorted; empty segments give 0). */
export function segmentSum(x: Tensor, segmentIds: Int32Array, numSegments: number): Tensor {
  return scatterSum('segmentSum', x, segmentIds, numSegments);
}

/** Mean of the rows of x in each segment; an empty segment gives 0 (there is nothing to average). */
export function segmentMean(x: Tensor, segmentIds: Int32Array, numSegments: number): Tensor {
  const w = rowWidth('segmentMean', x);
  if (segmentIds.length !== x.shape[0]) throw opError('segmentMean', `${segmentIds.length} segment ids for ${x.shape[0]} rows of ${shapeStr(x.shape)}`, 'one segment id per row');
  checkIndex('segmentMean', 'segmentIds', segmentIds, numSegments, 'numSegments');
  const count = stepBuffer('float64', numSegments);
  for (let i = 0; i < segmentIds.length; i++) count[segmentIds[i]!]!++;
  const out = outBuffer(x.dtype, numSegments * w);
  const xd = x.data;
  for (let i = 0; i < segmentIds.length; i++) {
    const s = segmentIds[i]!, o = s * w, r = i * w, inv = 1 / count[s]!;
    for (let j = 0; j < w; j++) out[o + j] += xd[r + j]! * inv;
  }
  const t = fromOp('segmentMean', out, withRows(x.shape, numSegments), x);
  return t.requiresGrad ? recordBackward(t, segmentMeanBackward(t, x, segmentIds, count, w)) : t;
}

function segmentMeanBackward(t: Tensor, x: Tensor, segmentIds: Int32Array, count: Storage, w: number): () => void {
  return () => {
    const g = t.grad!, gx = gradOf(x);
    for (let i = 0; i < segmentIds.length; i++) {
      const s = segmentIds[i]!, o = s * w, r = i * w, inv = 1 / count[s]!;
      for (let j = 0; j < w; j++) gx[r + j] += g[o + j]! * inv;
    }
  };
}

/**
 * Elementwise max of the rows of x in each segment. The gradient goes to the row that attained
 * the max (the first such row on ties, as a subgradient); an empty segment gives 0 and no gradient.
 */
export function segmentMax(x: Tensor, segmentIds: Int32Array, numSegments: number): Tensor {
  const w = rowWidth('segmentMax', x);
  if (segmentIds.length !== x.shape[0]) throw opError('segmentMax', `${segmentIds.length} segment ids for ${x.shape[0]} rows of ${shapeStr(x.shape)}`, 'one segment id per row');
  checkIndex('segmentMax', 'segmentIds', segmentIds, numSegments, 'numSegments');
  const out = outBuffer(x.dtype, numSegments * w);
  const arg = new Int32Array(numSegments * w).fill(-1);
  const xd = x.data;
  for (let i = 0; i < segmentIds.length; i++) {
    const o = segmentIds[i]! * w, r = i * w;
    for (let j = 0; j < w; j++) {
      const v = xd[r + j]!;
      if (arg[o + j] === -1 || v > out[o + j]!) {
        out[o + j] = v;
        arg[o + j] = i;
      }
    }
  }
  const t = fromOp('segmentMax', out, withRows(x.shape, numSegments), x);
  return t.requiresGrad ? recordBackward(t, segmentMaxBackward(t, x, arg, w)) : t;
}

function segmentMaxBackward(t: Tensor, x: Tensor, arg: Int32Array, w: number): () => void {
  return () => {
    const g = t.grad!, gx = gradOf(x);
    for (let q = 0; q < arg.length; q++) {
      const i = arg[q]!;
      if (i >= 0) gx[i * w + (q % w)] += g[q]!;
    }
  };
}
