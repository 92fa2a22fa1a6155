/**
 * Where a step's storage comes from: an op's output (outBuffer), an op's working array
 * (stepBuffer), a forward pass's input (stepInput) and index arrays (stepIndices), and the
 * inference step whose scratch they are carved from (inference).
 *
 * A policy acting makes every op output of a forward pass, reads a few numbers off the last ones
 * and drops them all. Made fresh, they were ~300 KB of typed arrays per Decima decision, nearly
 * all below the buffer pool's minimum (storage.ts). A typed array's storage lies outside the
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
import { Tensor, sizeOf, checkShape, noGrad, holdsTensor } from './tensor.js';
import {
  alloc, tidyBuffer, dropBufferPool, openStep, closeStep, recordInStep, inScratch, carveFloat, carveIndices, openScratch, closeScratch, scratchBytes, dropScratch,
  type DType, type Storage,
} from './storage.js';

/** Storage for an op's output: zeroed; from the scratch inside inference(), from the pool inside tidy(), else fresh. */
export function outBuffer(dtype: DType, n: number): Storage {
  return inScratch() ? carveFloat(dtype, n) : tidyBuffer(dtype, n);
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
    const mark = openStep();
    openScratch();
    let r: T;
    try {
      r = fn();
    } finally {
      closeScratch();
      closeStep(mark, true);
    }
    if (r !== null && typeof r === 'object' && typeof (r as { then?: unknown }).then === 'function') {
      throw opError('inference', 'the function returned a promise', 'a synchronous function');
    }
    return r;
  });
  if (holdsTensor(result, 0)) throw opError('inference', 'the function returned a tensor, whose storage is the scratch that the next step reuses', 'plain data (numbers, or a copy such as Float32Array.from(t.data))');
  return result;
}

/**
 * Whether an inference() step is running: no graph is recorded and no backward pass will read
 * this step's tensors, so a policy may reuse results it computed in an earlier acting step.
 */
export function inInference(): boolean {
  return inScratch();
}

/**
 * Zeroed storage that no one reads after the current step: an op's working array, or a forward
 * pass's input. Inside inference() it is carved from the scratch (given back with the step's op
 * outputs), so acting allocates none; elsewhere it is fresh, never pooled, since a training step
 * may keep it past tidy() in a backward closure. Not for arrays a caller keeps across steps.
 */
export function stepBuffer(dtype: DType, n: number): Storage {
  return inScratch() ? carveFloat(dtype, n) : alloc(dtype, n);
}

/**
 * Zeroed int32 storage for a step's index arrays (a gather's rows, segment ids, batch offsets),
 * on stepBuffer's terms: carved from the scratch inside inference(), fresh elsewhere (a training
 * step's backward closures keep its indices).
 */
export function stepIndices(n: number): Int32Array {
  return inScratch() ? carveIndices(n) : new Int32Array(n);
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
  if (inScratch()) recordInStep(t);
  return t;
}

/**
 * Bytes the inference scratch holds. It grows only when a step overflows it, so a count that stays
 * put over many steps means none of their op outputs was allocated afresh.
 */
export function inferenceScratchBytes(): number {
  return scratchBytes();
}

/** Drops the pooled buffers and the inference scratch (to return memory after training, or after acting on a large graph). */
export function releaseBufferPool(): void {
  dropBufferPool();
  dropScratch();
}
