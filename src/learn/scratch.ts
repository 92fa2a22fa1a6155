/**
 * Where a step's storage comes from: an op's output (outBuffer), an op's working array
 * (stepBuffer), a forward pass's input (stepInput) and index arrays (stepIndices), and the
 * inference step whose scratch they are carved from (inference).
 *
 * A policy acting makes every op output of a forward pass, reads a few numbers off the last ones
 * and drops them all. Made fresh, they were ~300 KB of typed arrays per Decima decision, nearly
 * all below the buffer pool's minimum (tensor.ts). A typed array's storage lies outside the
 * JavaScript heap and is freed only once a collection finds the array dead, so tens of MB of it
 * waited at any time: a process acting with Decima peaked ~35 MB above one acting with a
 * heuristic (measured: the same bytes as short-lived plain objects added none; scheduling README,
 * Measured). Inside inference(fn) op outputs are instead consecutive views into one scratch array
 * per dtype, handed out from the bottom up and given back all at once when fn returns; the array
 * grows to the largest step seen and the next step reuses it. The step's inputs (stepInput), the
 * ops' working arrays (stepBuffer) and a policy's index arrays (stepIndices, from an int32
 * scratch) come from it too.
 */
import { opError, shapeStr } from './check.js';
import {
  Tensor, alloc, sizeOf, checkShape, noGrad, openScope, closeScope, recordInScope, scopeBuffer, collectTensors, dropBufferPool,
  type DType, type Storage,
} from './tensor.js';

/** What a step's storage holds: a tensor's numbers (DType), or int32 for index arrays (stepIndices). */
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
}

const s32: Scratch = { kind: 'float32', data: new Float32Array(0), top: 0, used: 0, peak: 0 };
const s64: Scratch = { kind: 'float64', data: new Float64Array(0), top: 0, used: 0, peak: 0 };
const sIdx: Scratch = { kind: 'int32', data: new Int32Array(0), top: 0, used: 0, peak: 0 };
const scratch = [s32, s64, sIdx] as const;
let scratchDepth = 0;

function carve(s: Scratch, n: number): Storage | Int32Array {
  s.used += n;
  if (s.used > s.peak) s.peak = s.used;
  // The first step, and a step larger than any before, overflow into fresh storage; the scratch grows when the step ends.
  if (s.top + n > s.data.length) return make(s.kind, n);
  const buf = s.data.subarray(s.top, s.top + n);
  s.top += n;
  return buf.fill(0);
}

function scratchBuffer(dtype: DType, n: number): Storage {
  return carve(dtype === 'float64' ? s64 : s32, n) as Storage;
}

/** Storage for an op's output: zeroed; from the scratch inside inference(), from the pool inside tidy(), else fresh. */
export function outBuffer(dtype: DType, n: number): Storage {
  return scratchDepth > 0 ? scratchBuffer(dtype, n) : scopeBuffer(dtype, n);
}

/**
 * Runs `fn` as one inference step: no graph is recorded (as in noGrad), and op outputs are carved
 * from a scratch array that the next step reuses, so once the scratch has grown to the largest
 * step a forward pass allocates no storage. When `fn` returns, every tensor an op made inside it
 * is released (using one throws, as after tidy), so `fn` must return plain data (numbers, or
 * copies such as Float32Array.from(t.data)); a tensor in its result is an error. tidy's caveat
 * holds here too: a `.data` array taken inside fn must not be read after it. Steps nest (an
 * inner one gives back only its own outputs); `fn` must be synchronous.
 */
export function inference<T>(fn: () => T): T {
  const result = noGrad(() => {
    const top32 = s32.top, used32 = s32.used, top64 = s64.top, used64 = s64.used, topIdx = sIdx.top, usedIdx = sIdx.used;
    const scope = openScope();
    scratchDepth++;
    let r: T;
    try {
      r = fn();
    } finally {
      scratchDepth--;
      closeScope();
      for (const t of scope.tensors) t.released = true;
      s32.top = top32; s32.used = used32;
      s64.top = top64; s64.used = used64;
      sIdx.top = topIdx; sIdx.used = usedIdx;
      if (scratchDepth === 0) for (const s of scratch) {
        // A quarter to spare: a policy's graphs grow a little from step to step.
        if (s.peak > s.data.length) s.data = make(s.kind, s.peak + (s.peak >> 2));
        s.peak = 0;
      }
    }
    if (r !== null && typeof r === 'object' && typeof (r as { then?: unknown }).then === 'function') {
      throw opError('inference', 'the function returned a promise', 'a synchronous function');
    }
    return r;
  });
  const returned: Tensor[] = [];
  collectTensors(result, returned, 0);
  if (returned.length > 0) throw opError('inference', 'the function returned a tensor, whose storage is the scratch that the next step reuses', 'plain data (numbers, or a copy such as Float32Array.from(t.data))');
  return result;
}

/**
 * Whether an inference() step is running: no graph is recorded and no backward pass will read
 * this step's tensors, so a policy may reuse results it computed in an earlier acting step.
 */
export function inInference(): boolean {
  return scratchDepth > 0;
}

/**
 * Zeroed storage that no one reads after the current step: an op's working array, or a forward
 * pass's input. Inside inference() it is carved from the scratch (given back with the step's op
 * outputs), so acting allocates none; elsewhere it is fresh, never pooled, since a training step
 * may keep it past tidy() in a backward closure. Not for arrays a caller keeps across steps.
 */
export function stepBuffer(dtype: DType, n: number): Storage {
  return scratchDepth > 0 ? scratchBuffer(dtype, n) : alloc(dtype, n);
}

/**
 * Zeroed int32 storage for a step's index arrays (a gather's rows, segment ids, batch offsets),
 * on stepBuffer's terms: carved from the scratch inside inference(), fresh elsewhere (a training
 * step's backward closures keep its indices).
 */
export function stepIndices(n: number): Int32Array {
  return scratchDepth > 0 ? (carve(sIdx, n) as Int32Array) : new Int32Array(n);
}

/**
 * A float32 tensor holding a forward pass's input: `values` copied in, or zeros to fill through
 * `.data`. Its storage is a stepBuffer, so inside inference() a policy copies its observation
 * without allocating, and the tensor is released with the step's op outputs; elsewhere it is the
 * tensor that tensor(values, shape) makes.
 */
export function stepInput(shape: readonly number[], values?: ArrayLike<number>): Tensor {
  checkShape('stepInput', shape);
  const n = sizeOf(shape);
  if (values !== undefined && values.length !== n) throw opError('stepInput', `shape ${shapeStr(shape)} has ${n} elements but the values have ${values.length}`, 'values.length equal to the product of the shape');
  const t = new Tensor(stepBuffer('float32', n), shape);
  if (values !== undefined) t.data.set(values);
  if (scratchDepth > 0) recordInScope(t);
  return t;
}

/**
 * Bytes the inference scratch holds. It grows only when a step overflows it, so a count that stays
 * put over many steps means none of their op outputs was allocated afresh.
 */
export function inferenceScratchBytes(): number {
  return s32.data.byteLength + s64.data.byteLength + sIdx.data.byteLength;
}

/** Drops the pooled buffers and the inference scratch (to return memory after training, or after acting on a large graph). */
export function releaseBufferPool(): void {
  dropBufferPool();
  // Safe even inside inference(): the views handed out keep the old array alive, and the step's end regrows it.
  for (const s of scratch) s.data = make(s.kind, 0);
}
