/**
 * WebAssembly SIMD kernels for float32 matrix products, dense and sparse, assembled here from a
 * few dozen instructions (no toolchain, no download, nothing to install).
 *
 * Why: V8 runs the JavaScript kernels in matmul.ts one scalar double at a time, about 5 GFLOP/s
 * on a current core, and a graph model's step is dominated by [n,64] x [64,64] products. WebAssembly's
 * 128-bit SIMD does four float32 lanes per instruction, several times faster on the same core.
 * The JavaScript kernels stay the reference (and the float64 path); these are used for float32
 * products large enough to repay copying the operands into WebAssembly memory, with a row width
 * that is a multiple of 4.
 *
 * The dense kernel, in the i-k-j order of the JavaScript ones:
 *   for i < rows:  C[i, :] += sum_{q < inner} A(i, q) * B[q, :]
 * with A(i, q) at aPtr + i*aRowStride + q*aInnerStride (byte strides), so the same code serves
 * C += A B (row i of A) and C += A^T B (column i of A), B and C row-major with nb bytes per row.
 * Four q's are combined per pass over a row of C (one vector load and store of C per 32 flops).
 * The sparse kernel is spmm's loop (sparse.ts) with the feature loop four lanes wide.
 * Arithmetic is float32 throughout, as in any sgemm: results differ from the JavaScript kernels
 * (which round once per store from doubles) in the last bits, and are deterministic.
 */

// ---------------------------------------------------------------------------------------------
// A tiny assembler: just the instructions the kernels use.
// ---------------------------------------------------------------------------------------------

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const get = (l: number) => [0x20, ...uleb(l)];
const set = (l: number) => [0x21, ...uleb(l)];
const i32 = (v: number) => [0x41, ...sleb(v)];
const ADD = [0x6a], MUL = [0x6c], SHL = [0x74], GE_S = [0x4e], GT_S = [0x4a];
const f32load = [0x2a, 2, 0];
const f32loadAt = (offset: number) => [0x2a, 2, ...uleb(offset)];
const i32loadAt = (offset: number) => [0x28, 2, ...uleb(offset)];
const v128load = [0xfd, 0x00, 4, 0];
const v128store = [0xfd, 0x0b, 4, 0];
const splat = [0xfd, 0x13];
const vadd = [0xfd, 0xe4, 0x01];
const vmul = [0xfd, 0xe6, 0x01];
/** block { loop { exit-if(cond) body; continue } }: a while loop. */
const whileLoop = (cond: number[], body: number[]) => [0x02, 0x40, 0x03, 0x40, ...cond, 0x0d, 1, ...body, 0x0c, 0, 0x0b, 0x0b];
/** local += v */
const inc = (l: number, v: number[]) => [...get(l), ...v, ...ADD, ...set(l)];

// Parameters and locals of the kernel.
const A_PTR = 0, A_ROW = 1, A_INNER = 2, B_PTR = 3, C_PTR = 4, ROWS = 5, INNER = 6, NB = 7;
const I = 8, Q = 9, J = 10, AQ = 11, CROW = 12, ROWA = 13, B0 = 14, B1 = 15, B2 = 16, B3 = 17;
const A0 = 18, A1 = 19, A2 = 20, A3 = 21;

function kernelBody(): number[] {
  const loadSplatA = (dst: number) => [...get(AQ), ...f32load, ...splat, ...set(dst), ...inc(AQ, get(A_INNER))];
  const at = (base: number) => [...get(base), ...get(J), ...ADD];
  // C[j..j+3] += a0 B0[j..] + a1 B1[j..] + a2 B2[j..] + a3 B3[j..]
  const quadJ = whileLoop(
    [...get(J), ...get(NB), ...GE_S],
    [
      ...at(CROW),
      ...at(CROW), ...v128load,
      ...get(A0), ...at(B0), ...v128load, ...vmul,
      ...get(A1), ...at(B1), ...v128load, ...vmul, ...vadd,
      ...get(A2), ...at(B2), ...v128load, ...vmul,
      ...get(A3), ...at(B3), ...v128load, ...vmul, ...vadd,
      ...vadd, ...vadd,
      ...v128store,
      ...inc(J, i32(16)),
    ],
  );
  const singleJ = whileLoop(
    [...get(J), ...get(NB), ...GE_S],
    [...at(CROW), ...at(CROW), ...v128load, ...get(A0), ...at(B0), ...v128load, ...vmul, ...vadd, ...v128store, ...inc(J, i32(16))],
  );
  const quadQ = whileLoop(
    [...get(Q), ...i32(4), ...ADD, ...get(INNER), ...GT_S],
    [
      ...loadSplatA(A0), ...loadSplatA(A1), ...loadSplatA(A2), ...loadSplatA(A3),
      ...get(B0), ...get(NB), ...ADD, ...set(B1),
      ...get(B1), ...get(NB), ...ADD, ...set(B2),
      ...get(B2), ...get(NB), ...ADD, ...set(B3),
      ...i32(0), ...set(J),
      ...quadJ,
      ...get(B3), ...get(NB), ...ADD, ...set(B0),
      ...inc(Q, i32(4)),
    ],
  );
  const tailQ = whileLoop(
    [...get(Q), ...get(INNER), ...GE_S],
    [...loadSplatA(A0), ...i32(0), ...set(J), ...singleJ, ...inc(B0, get(NB)), ...inc(Q, i32(1))],
  );
  const rowsLoop = whileLoop(
    [...get(I), ...get(ROWS), ...GE_S],
    [
      ...i32(0), ...set(Q),
      ...get(ROWA), ...set(AQ),
      ...get(B_PTR), ...set(B0),
      ...quadQ,
      ...tailQ,
      ...inc(I, i32(1)),
      ...inc(ROWA, get(A_ROW)),
      ...inc(CROW, get(NB)),
    ],
  );
  const locals = [2, ...uleb(10), 0x7f, ...uleb(4), 0x7b]; // 10 i32 locals, 4 v128 locals
  const code = [...locals, ...get(A_PTR), ...set(ROWA), ...get(C_PTR), ...set(CROW), ...rowsLoop, 0x0b];
  return [...uleb(code.length), ...code];
}

// Parameters and locals of the sparse kernel.
const S_PR = 0, S_PC = 1, S_PV = 2, S_PX = 3, S_PO = 4, S_ROWS = 5, S_DB = 6;
const S_R = 7, S_P = 8, S_END = 9, S_OROW = 10, S_X0 = 11, S_X1 = 12, S_J = 13, S_V0 = 14, S_V1 = 15;

/** for r < rows: out[r, :] += sum_p values[p] * x[colIdx[p], :], two entries per pass over the row. */
function spmmBody(): number[] {
  const times4 = (l: number) => [...get(l), ...i32(2), ...SHL];
  const at = (base: number) => [...get(base), ...get(S_J), ...ADD];
  const xRow = (offset: number) => [...get(S_PX), ...get(S_PC), ...times4(S_P), ...ADD, ...i32loadAt(offset), ...get(S_DB), ...MUL, ...ADD];
  const pairJ = whileLoop(
    [...get(S_J), ...get(S_DB), ...GE_S],
    [
      ...at(S_OROW),
      ...at(S_OROW), ...v128load,
      ...get(S_V0), ...at(S_X0), ...v128load, ...vmul,
      ...get(S_V1), ...at(S_X1), ...v128load, ...vmul, ...vadd,
      ...vadd,
      ...v128store,
      ...inc(S_J, i32(16)),
    ],
  );
  const singleJ = whileLoop(
    [...get(S_J), ...get(S_DB), ...GE_S],
    [...at(S_OROW), ...at(S_OROW), ...v128load, ...get(S_V0), ...at(S_X0), ...v128load, ...vmul, ...vadd, ...v128store, ...inc(S_J, i32(16))],
  );
  const pairs = whileLoop(
    [...get(S_P), ...i32(1), ...ADD, ...get(S_END), ...GE_S],
    [
      ...get(S_PV), ...times4(S_P), ...ADD, ...f32loadAt(0), ...splat, ...set(S_V0),
      ...get(S_PV), ...times4(S_P), ...ADD, ...f32loadAt(4), ...splat, ...set(S_V1),
      ...xRow(0), ...set(S_X0),
      ...xRow(4), ...set(S_X1),
      ...i32(0), ...set(S_J),
      ...pairJ,
      ...inc(S_P, i32(2)),
    ],
  );
  const tail = whileLoop(
    [...get(S_P), ...get(S_END), ...GE_S],
    [
      ...get(S_PV), ...times4(S_P), ...ADD, ...f32loadAt(0), ...splat, ...set(S_V0),
      ...xRow(0), ...set(S_X0),
      ...i32(0), ...set(S_J),
      ...singleJ,
      ...inc(S_P, i32(1)),
    ],
  );
  const rows = whileLoop(
    [...get(S_R), ...get(S_ROWS), ...GE_S],
    [
      ...get(S_PR), ...times4(S_R), ...ADD, ...i32loadAt(0), ...set(S_P),
      ...get(S_PR), ...times4(S_R), ...ADD, ...i32loadAt(4), ...set(S_END),
      ...pairs,
      ...tail,
      ...inc(S_R, i32(1)),
      ...inc(S_OROW, get(S_DB)),
    ],
  );
  const locals = [2, ...uleb(7), 0x7f, ...uleb(2), 0x7b];
  const code = [...locals, ...get(S_PO), ...set(S_OROW), ...rows, 0x0b];
  return [...uleb(code.length), ...code];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function moduleBytes(): Uint8Array {
  const name = (s: string) => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [2, 0x60, 8, ...new Array(8).fill(0x7f), 0, 0x60, 7, ...new Array(7).fill(0x7f), 0]), // (i32 x 8) -> (), (i32 x 7) -> ()
    ...section(3, [2, 0, 1]),
    ...section(5, [1, 0x00, 1]), // one memory, at least one page
    ...section(7, [3, ...name('mem'), 0x02, 0, ...name('gemm'), 0x00, 0, ...name('spmm'), 0x00, 1]),
    ...section(10, [2, ...kernelBody(), ...spmmBody()]),
  ];
  return Uint8Array.from(bytes);
}

// ---------------------------------------------------------------------------------------------
// Host side: operands are copied into the module's memory, the kernel runs, C is copied back.
// ---------------------------------------------------------------------------------------------

// The ES2022 lib has no WebAssembly types (they live in lib.dom); these are the few used here.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
declare const WebAssembly: {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
};

type Kernel = (aPtr: number, aRow: number, aInner: number, bPtr: number, cPtr: number, rows: number, inner: number, nb: number) => void;
type SpmmKernel = (rowPtr: number, colIdx: number, values: number, x: number, out: number, rows: number, db: number) => void;

interface Simd {
  memory: WasmMemory;
  kernel: Kernel;
  spmm: SpmmKernel;
  heap: Float32Array;
  heapI32: Int32Array;
}

let simd: Simd | null | undefined;
let enabled = true;

function instance(): Simd | null {
  if (simd !== undefined) return simd;
  try {
    const bytes = moduleBytes();
    if (!WebAssembly.validate(bytes)) throw new Error('module does not validate');
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
    const memory = inst.exports.mem as WasmMemory;
    simd = { memory, kernel: inst.exports.gemm as Kernel, spmm: inst.exports.spmm as SpmmKernel, heap: new Float32Array(memory.buffer), heapI32: new Int32Array(memory.buffer) };
  } catch {
    simd = null; // no WebAssembly SIMD on this runtime: the JavaScript kernels serve
  }
  return simd;
}

/** Turns the SIMD kernels off (or back on), e.g. to compare them with the JavaScript kernels. */
export function setSimdEnabled(on: boolean): void {
  enabled = on;
}

export function simdAvailable(): boolean {
  return instance() !== null;
}

/** Below this many multiply-adds the copies cost more than the kernel saves. */
const MIN_WORK = 1 << 15;
/** Operands above this many 4-byte words stay in JavaScript: WebAssembly memory is 32-bit, and grows but never shrinks. */
const MAX_WORDS = 1 << 28;

/**
 * Whether the SIMD kernels take a product with output rows of n floats, `work` multiply-adds and
 * `words` floats of operands in all.
 */
export function useSimd(c: Float32Array | Float64Array, n: number, work: number, words: number): c is Float32Array {
  return enabled && c instanceof Float32Array && (n & 3) === 0 && n > 0 && work >= MIN_WORK && words <= MAX_WORDS && instance() !== null;
}

/** Offsets (in 4-byte words) of operands laid out back to back (16-byte aligned) in wasm memory. */
function stage(sizes: readonly number[]): { s: Simd; offsets: number[] } {
  const s = instance()!;
  const offsets: number[] = [];
  let total = 0;
  for (const n of sizes) {
    offsets.push(total);
    total += (n + 3) & ~3;
  }
  const needBytes = total * 4;
  if (needBytes > s.memory.buffer.byteLength) {
    s.memory.grow(Math.ceil((needBytes - s.memory.buffer.byteLength) / 65536));
    s.heap = new Float32Array(s.memory.buffer);
    s.heapI32 = new Int32Array(s.memory.buffer);
  }
  return { s, offsets };
}

const KB = 256; // inner rows per kernel call: a [KB, n] panel of B stays in L2

/** C[m,n] += A[m,k] B[k,n] on float32, via the SIMD kernel. */
export function simdGemm(a: Float32Array, b: Float32Array, c: Float32Array, m: number, k: number, n: number): void {
  const { s, offsets: [oa, ob, oc] } = stage([m * k, k * n, m * n]);
  s.heap.set(a.subarray(0, m * k), oa);
  s.heap.set(b.subarray(0, k * n), ob);
  s.heap.set(c.subarray(0, m * n), oc);
  for (let k0 = 0; k0 < k; k0 += KB) {
    const kb = Math.min(KB, k - k0);
    s.kernel((oa! + k0) * 4, k * 4, 4, (ob! + k0 * n) * 4, oc! * 4, m, kb, n * 4);
  }
  c.set(s.heap.subarray(oc!, oc! + m * n));
}

/** C[k,n] += A[m,k]^T B[m,n] on float32: row i of C reads column i of A; the m rows are the inner loop, in blocks. */
export function simdGemmTN(a: Float32Array, b: Float32Array, c: Float32Array, m: number, k: number, n: number): void {
  const { s, offsets: [oa, ob, oc] } = stage([m * k, m * n, k * n]);
  s.heap.set(a.subarray(0, m * k), oa);
  s.heap.set(b.subarray(0, m * n), ob);
  s.heap.set(c.subarray(0, k * n), oc);
  for (let r0 = 0; r0 < m; r0 += KB) {
    const rb = Math.min(KB, m - r0);
    s.kernel((oa! + r0 * k) * 4, 4, k * 4, (ob! + r0 * n) * 4, oc! * 4, k, rb, n * 4);
  }
  c.set(s.heap.subarray(oc!, oc! + k * n));
}

/** out[rows,d] += A x[cols,d] on float32 with d % 4 === 0, A in CSR (values null = all ones). */
export function simdSpmm(rowPtr: Int32Array, colIdx: Int32Array, values: Float32Array | null, x: Float32Array, out: Float32Array, rows: number, cols: number, d: number): void {
  const nnz = colIdx.length;
  const { s, offsets: [or, oc, ov, ox, oo] } = stage([rows + 1, nnz, nnz, cols * d, rows * d]);
  s.heapI32.set(rowPtr, or);
  s.heapI32.set(colIdx, oc);
  if (values) s.heap.set(values, ov);
  else s.heap.fill(1, ov!, ov! + nnz);
  s.heap.set(x.subarray(0, cols * d), ox);
  s.heap.set(out.subarray(0, rows * d), oo);
  s.spmm(or! * 4, oc! * 4, ov! * 4, ox! * 4, oo! * 4, rows, d * 4);
  out.set(s.heap.subarray(oo!, oo! + rows * d));
}
