/**
 * Internal to src/learn (not exported from index.ts): where tensors' numbers are kept, and the
 * bookkeeping of the steps that reuse them. tensor.ts (backward, tidy) and scratch.ts (inference
 * and the step's storage) are the public faces of what is here.
 *
 * - The buffer pool: large buffers whose owner is known to be done, handed out again zeroed.
 * - The open steps (tidy and inference): the tensors ops made in each, to release when it ends,
 *   and the pooled buffers a tidy step handed out. One list serves every open step, each step
 *   owning its tail from the mark it opened at, so opening and closing a step makes no object.
 * - The inference scratch: one array per kind (float32, float64, int32) that a step's op outputs,
 *   inputs and working arrays are carved from, bottom up, and given back all at once.
 */
import type { Tensor } from './tensor.js';

export type DType = 'float32' | 'float64';
export type Storage = Float32Array | Float64Array;

export function alloc(dtype: DType, n: number): Storage {
  return dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
}

export function dtypeOf(s: Storage): DType {
  return s instanceof Float64Array ? 'float64' : 'float32';
}

// ---------------------------------------------------------------------------------------------
// Buffer reuse
//
// A fresh large typed array is not free: its pages are mapped and faulted in on first touch, and
// on a virtual machine a page fault can cost more than the arithmetic done on the page (the
// benchmark machines measured 15-60 us per 4 KiB page). A graph model's step allocates several
// such buffers per op, so large buffers whose owner is known to be done are kept in a pool and
// handed out again (zeroed):
//   - intermediate gradients, dropped by backward() (nothing else can reference them);
//   - op outputs made inside tidy(), once the scope ends (see tidy for the contract).
// A buffer belongs to one tensor at a time, so interleaved trainings can share the pool; only
// buffers of at least POOL_MIN_ELEMENTS are kept, up to POOL_BYTES in all.
// ---------------------------------------------------------------------------------------------

const POOL_MIN_ELEMENTS = 1 << 14;
const POOL_BYTES = 256 * 2 ** 20;
const pool = new Map<string, Storage[]>();
let pooledBytes = 0;

export function recycle(buf: Storage): void {
  if (buf.length < POOL_MIN_ELEMENTS || pooledBytes + buf.byteLength > POOL_BYTES) return;
  const key = `${dtypeOf(buf)}:${buf.length}`;
  const list = pool.get(key);
  if (list) list.push(buf);
  else pool.set(key, [buf]);
  pooledBytes += buf.byteLength;
}

export function reuse(dtype: DType, n: number): Storage | null {
  if (n < POOL_MIN_ELEMENTS) return null;
  const buf = pool.get(`${dtype}:${n}`)?.pop();
  if (buf === undefined) return null;
  pooledBytes -= buf.byteLength;
  return buf.fill(0);
}

// ---------------------------------------------------------------------------------------------
// Open steps
// ---------------------------------------------------------------------------------------------

/** The tensors made in the open steps, oldest first; entries at stepCount and beyond are null. */
const stepTensors: (Tensor | null)[] = [];
let stepCount = 0;
/** Per open step, innermost last: the pooled buffers it handed out (null until its first). */
const stepPooled: (Set<Storage> | null)[] = [];
let openSteps = 0;

/** Opens a step; returns its mark, for closeStep (called in a finally). */
export function openStep(): number {
  stepPooled[openSteps++] = null;
  return stepCount;
}

/** Records a tensor made in the innermost open step (if any), to be released when it ends. */
export function recordInStep(t: Tensor): void {
  if (openSteps > 0) stepTensors[stepCount++] = t;
}

/**
 * Ends the innermost step, opened at `mark`. With `kept` (tidy, on success): the tensors not in
 * it are released and its pooled buffers not in `keptBuffers` go back to the pool, while the kept
 * ones pass to the enclosing step, if any, to be released when that one ends. With `kept` null
 * and `release` (inference): every tensor of the step is released. With neither (a tidy whose
 * function threw): nothing is released, the step's buffers are simply left to the collector.
 */
export function closeStep(mark: number, release: boolean, kept: ReadonlySet<Tensor> | null = null, keptBuffers: ReadonlySet<Storage> | null = null): void {
  const buffers = stepPooled[--openSteps]!;
  stepPooled[openSteps] = null;
  const outer = openSteps > 0;
  let w = mark;
  for (let i = mark; i < stepCount; i++) {
    const t = stepTensors[i]!;
    stepTensors[i] = null;
    if (kept !== null && kept.has(t)) {
      if (outer) stepTensors[w++] = t;
    } else if (release || kept !== null) t.released = true;
  }
  stepCount = w;
  if (kept === null || buffers === null) return;
  for (const b of buffers) {
    if (!keptBuffers!.has(b)) recycle(b);
    else if (outer) (stepPooled[openSteps - 1] ??= new Set()).add(b);
  }
}

/** Storage for an op's output outside inference() (scratch.ts's outBuffer): zeroed; from the pool inside tidy(), else fresh. */
export function tidyBuffer(dtype: DType, n: number): Storage {
  if (openSteps === 0 || n < POOL_MIN_ELEMENTS) return alloc(dtype, n);
  const buf = reuse(dtype, n) ?? alloc(dtype, n);
  (stepPooled[openSteps - 1] ??= new Set()).add(buf);
  return buf;
}

/** Drops the pooled buffers (releaseBufferPool in scratch.ts drops them and the inference scratch). */
export function dropBufferPool(): void {
  pool.clear();
  pooledBytes = 0;
}

// ---------------------------------------------------------------------------------------------
// The inference scratch
// ---------------------------------------------------------------------------------------------

/** What a scratch holds: a tensor's numbers (DType), or int32 for index arrays (stepIndices). */
type Kind = DType | 'int32';

function make(kind: Kind, n: number): Storage | Int32Array {
  return kind === 'int32' ? new Int32Array(n) : alloc(kind, n);
}

interface Scratch {
  readonly kind: Kind;
  data: Storage | Int32Array;
  /** data[top..] is free. */
  top: number;
  /** Elements handed out and not yet given back, overflow included; and the most of them at once in this step. */
  used: number;
  peak: number;
  /**
   * The views of data handed out by this step, by their order in it: the next step hands out the
   * same view object again where it carves the same place and length (a policy's consecutive
   * forward passes mostly do), as a view is an object and there is one per op output.
   */
  views: (Storage | Int32Array | null)[];
  /** Views handed out so far in this step (the index of the next). */
  carved: number;
}

const s32: Scratch = { kind: 'float32', data: new Float32Array(0), top: 0, used: 0, peak: 0, views: [], carved: 0 };
const s64: Scratch = { kind: 'float64', data: new Float64Array(0), top: 0, used: 0, peak: 0, views: [], carved: 0 };
const sIdx: Scratch = { kind: 'int32', data: new Int32Array(0), top: 0, used: 0, peak: 0, views: [], carved: 0 };
const scratches = [s32, s64, sIdx] as const;
let scratchDepth = 0;

/** Whether an inference step is open: op outputs and step storage come from the scratch. */
export function inScratch(): boolean {
  return scratchDepth > 0;
}

function carve(s: Scratch, n: number): Storage | Int32Array {
  s.used += n;
  if (s.used > s.peak) s.peak = s.used;
  // The first step, and a step larger than any before, overflow into fresh storage; the scratch grows when the step ends.
  if (s.top + n > s.data.length) return make(s.kind, n);
  const k = s.carved++;
  let buf = s.views[k];
  if (buf === undefined || buf === null || buf.byteOffset !== s.top * s.data.BYTES_PER_ELEMENT || buf.length !== n) {
    buf = s.data.subarray(s.top, s.top + n);
    s.views[k] = buf;
  }
  s.top += n;
  return buf.fill(0);
}

/** n zeroed elements of the float scratch of `dtype`, given back when the step ends. */
export function carveFloat(dtype: DType, n: number): Storage {
  return carve(dtype === 'float64' ? s64 : s32, n) as Storage;
}

/** n zeroed elements of the int32 scratch, given back when the step ends. */
export function carveIndices(n: number): Int32Array {
  return carve(sIdx, n) as Int32Array;
}

/**
 * Where the scratch stood when an inference step opened: a step gives back exactly what it took,
 * so nested steps restore their own part. Nine numbers, kept on a stack of numbers (no object per step).
 */
const marks: number[] = [];

export function openScratch(): void {
  marks.push(s32.top, s32.used, s32.carved, s64.top, s64.used, s64.carved, sIdx.top, sIdx.used, sIdx.carved);
  scratchDepth++;
}

/** Gives back what the innermost inference step took; when the outermost ends, grows each scratch to the largest step seen. */
export function closeScratch(): void {
  scratchDepth--;
  for (let i = scratches.length - 1; i >= 0; i--) {
    const s = scratches[i]!;
    s.carved = marks.pop()!; s.used = marks.pop()!; s.top = marks.pop()!;
  }
  if (scratchDepth > 0) return;
  for (const s of scratches) {
    // A quarter to spare: a policy's graphs grow a little from step to step.
    if (s.peak > s.data.length) replaceData(s, make(s.kind, s.peak + (s.peak >> 2)));
    s.peak = 0;
  }
}

export function scratchBytes(): number {
  return s32.data.byteLength + s64.data.byteLength + sIdx.data.byteLength;
}

/** Empties each scratch. Safe even inside a step: the views handed out keep the old array alive, and the step's end regrows it. */
export function dropScratch(): void {
  for (const s of scratches) replaceData(s, make(s.kind, 0));
}

/** A new array for a scratch: the views of the old one are not handed out again. */
function replaceData(s: Scratch, data: Storage | Int32Array): void {
  s.data = data;
  s.views.fill(null);
}
