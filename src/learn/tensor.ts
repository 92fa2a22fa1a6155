/**
 * Tensors with reverse-mode automatic differentiation.
 *
 * A Tensor is a contiguous row-major block of numbers (Float32Array by default) with a shape.
 * There are no strides and no views: every op writes a new contiguous tensor, which keeps each
 * kernel a plain loop over a typed array.
 *
 * The autodiff graph lives in the tensors themselves: an op's result remembers its inputs
 * (`parents`) and a closure that pushes its gradient into theirs (`backwardFn`). `backward()` on
 * a scalar sorts the graph it reaches topologically and runs those closures in reverse. There is
 * no global tape, so two trainings interleaved in one thread build two separate graphs and never
 * see each other's nodes.
 *
 * dtype: 'float32' is the working type. 'float64' exists so that gradients can be checked
 * against finite differences without float32 rounding noise (gradcheck.ts). Kernels accept
 * either storage; in a training process only Float32Array reaches them, so their call sites stay
 * monomorphic (bench.ts measures matmul with both).
 */
import type { Rng } from '../core/rng.js';
import { opError, shapeStr } from './check.js';
import { alloc, dtypeOf, recycle, reuse, openStep, closeStep, recordInStep, type DType, type Storage } from './storage.js';

export { alloc, dtypeOf, type DType, type Storage } from './storage.js';

export function checkShape(op: string, shape: readonly number[]): void {
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i]!;
    if (!Number.isInteger(d) || d < 0) throw opError(op, `bad shape ${shapeStr(shape)}`, 'non-negative integer dimensions');
  }
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i]!;
  return n;
}

// ---------------------------------------------------------------------------------------------
// Gradient mode
// ---------------------------------------------------------------------------------------------

let gradEnabled = true;

/**
 * Runs `fn` without recording a graph (inference, target networks, finite differences).
 * The flag is only ever changed for the duration of one synchronous call, so no other code can
 * run while it is off; an async `fn` is refused because its continuation would run with the flag
 * already restored.
 */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  let r: T;
  try {
    r = fn();
  } finally {
    gradEnabled = prev;
  }
  if (r !== null && typeof r === 'object' && typeof (r as { then?: unknown }).then === 'function') {
    throw opError('noGrad', 'the function returned a promise', 'a synchronous function (await outside noGrad, call noGrad on each synchronous part)');
  }
  return r;
}

export function isGradEnabled(): boolean {
  return gradEnabled;
}

// ---------------------------------------------------------------------------------------------
// Tensor
// ---------------------------------------------------------------------------------------------

export interface TensorOptions {
  dtype?: DType;
  requiresGrad?: boolean;
}

/**
 * Set by fromOp for the one Tensor it makes: an op's shape array is fresh or another tensor's,
 * and no one changes either, so the tensor keeps it instead of a copy (one array fewer per op).
 */
let adoptShape = false;

export class Tensor {
  readonly data: Storage;
  readonly shape: readonly number[];
  readonly size: number;
  /** Leaf tensors with requiresGrad (parameters) accumulate `grad` over backward calls. */
  requiresGrad: boolean;
  /** Gradient of the last backward root with respect to this tensor, same dtype and size as data. */
  grad: Storage | null = null;
  /** The tensors this one was computed from; empty for leaves and when no graph was recorded. */
  parents: readonly Tensor[] = [];
  /** Adds this.grad's contribution into the parents' grads; null for leaves. */
  backwardFn: (() => void) | null = null;
  /** The op that produced this tensor ('leaf' for user-made tensors), for error messages. */
  op = 'leaf';
  /** Set when a tidy() or inference() scope that made this tensor ended without returning it: its buffer was reused. */
  released = false;

  constructor(data: Storage, shape: readonly number[], requiresGrad = false) {
    const adopt = adoptShape;
    adoptShape = false;
    checkShape('tensor', shape);
    const size = sizeOf(shape);
    if (size !== data.length) throw opError('tensor', `shape ${shapeStr(shape)} has ${size} elements but the data has ${data.length}`, 'data.length equal to the product of the shape');
    this.data = data;
    this.shape = adopt ? shape : shape.slice(); // a copy, so the caller's array can change later
    this.size = size;
    this.requiresGrad = requiresGrad;
  }

  get dtype(): DType {
    return dtypeOf(this.data);
  }

  get rank(): number {
    return this.shape.length;
  }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.released) throw releasedError('item');
    if (this.size !== 1) throw opError('item', `tensor of shape ${shapeStr(this.shape)} has ${this.size} elements`, 'a one-element tensor');
    return this.data[0]!;
  }

  toArray(): number[] {
    if (this.released) throw releasedError('toArray');
    return Array.from(this.data);
  }

  /** The same data without a graph: gradients stop here. */
  detach(): Tensor {
    return new Tensor(this.data, this.shape);
  }

  zeroGrad(): void {
    this.grad = null;
  }

  /**
   * Reverse-mode sweep from this scalar: every leaf with requiresGrad that the graph reaches gets
   * d(this)/d(leaf) added to its grad. Intermediate gradients are dropped afterwards, and so is
   * the graph unless `retainGraph` (needed only to call backward twice through the same nodes).
   */
  backward(opts: { retainGraph?: boolean } = {}): void {
    if (this.released) throw releasedError('backward');
    if (this.size !== 1) throw opError('backward', `called on a tensor of shape ${shapeStr(this.shape)}`, 'a scalar (one-element) loss; reduce with sum() or mean() first');
    if (!this.requiresGrad) throw opError('backward', 'the loss does not depend on any tensor with requiresGrad (or was computed under noGrad)', 'a loss computed from parameters');
    const order = topoOrder(this);
    gradOf(this)[0] += 1;
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i]!;
      if (t.backwardFn !== null && t.grad !== null) t.backwardFn();
    }
    for (const t of order) {
      if (t.backwardFn === null) continue; // a leaf keeps its accumulated grad
      // Nothing outside this loop can hold an intermediate's gradient, so its buffer is reused.
      if (t.grad !== null) recycle(t.grad);
      t.grad = null;
      if (!opts.retainGraph) {
        t.backwardFn = released;
        t.parents = [];
      }
    }
  }
}

function releasedError(op: string) {
  return opError(op, 'the tensor was made inside a tidy() or inference() scope that has ended without returning it, so its storage was reused', 'only tensors that tidy() returned (or tensors made outside it) after the scope ends; from inference(), values copied out inside it');
}

/** Stands in for the backward closure of a node whose graph was freed, so a second pass fails loudly instead of silently skipping it. */
function released(): never {
  throw opError('backward', 'through a graph already freed by an earlier backward()', 'backward({ retainGraph: true }) on the first pass, or a fresh forward pass');
}

/** Post-order over the nodes that need gradients (parents before children), iteratively so deep graphs cannot overflow the stack. */
function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>([root]);
  const stack: Tensor[] = [root];
  const next: number[] = [0];
  while (stack.length > 0) {
    const t = stack[stack.length - 1]!;
    const i = next[next.length - 1]!;
    if (i < t.parents.length) {
      next[next.length - 1] = i + 1;
      const p = t.parents[i]!;
      if (p.requiresGrad && !seen.has(p)) {
        seen.add(p);
        stack.push(p);
        next.push(0);
      }
    } else {
      order.push(t);
      stack.pop();
      next.pop();
    }
  }
  return order;
}

/** t.grad, allocated as zeros on first use. Backward closures accumulate into it with +=. */
export function gradOf(t: Tensor): Storage {
  if (t.grad === null) t.grad = reuse(t.dtype, t.size) ?? alloc(t.dtype, t.size);
  return t.grad;
}

// ---------------------------------------------------------------------------------------------
// Steps that reuse storage (the pool and the step bookkeeping are in storage.ts)
// ---------------------------------------------------------------------------------------------

/**
 * Runs `fn` (one training or inference step) so that its op outputs reuse storage: when `fn`
 * returns, every tensor an op made inside it is released and its buffer goes back to the pool,
 * except the tensors in fn's result (a Tensor, or arrays/plain objects holding Tensors) and,
 * when they carry a graph, everything that graph needs for backward(). Using a released tensor
 * (in an op, item(), toArray(), backward()) throws. The one thing not caught: a `.data` array
 * taken from a tensor inside fn and read after fn returns sees reused storage; copy it
 * (Float32Array.from(t.data)) or return the tensor instead. Scopes nest; `fn` must be
 * synchronous, as for noGrad.
 */
export function tidy<T>(fn: () => T): T {
  const mark = openStep();
  let result: T;
  try {
    result = fn();
  } catch (e) {
    closeStep(mark, false); // nothing is released: the buffers are simply left to the GC
    throw e;
  }
  if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
    closeStep(mark, false);
    throw opError('tidy', 'the function returned a promise', 'a synchronous function');
  }
  const kept = new Set<Tensor>();
  const stack: Tensor[] = [];
  collectTensors(result, stack, 0);
  while (stack.length > 0) {
    const t = stack.pop()!;
    if (kept.has(t)) continue;
    kept.add(t);
    for (const p of t.parents) stack.push(p);
  }
  const keptBuffers = new Set<Storage>();
  for (const t of kept) keptBuffers.add(t.data);
  closeStep(mark, true, kept, keptBuffers);
  return result;
}

/** The tensors in a step's result (a Tensor, or arrays/plain objects holding Tensors), into `out`. */
export function collectTensors(v: unknown, out: Tensor[], depth: number): void {
  if (v instanceof Tensor) out.push(v);
  else if (depth < 8 && Array.isArray(v)) for (const x of v) collectTensors(x, out, depth + 1);
  else if (depth < 8 && v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    for (const k in v) collectTensors((v as Record<string, unknown>)[k], out, depth + 1);
  }
}

/** Whether a step's result holds a tensor, as collectTensors would find it (inference refuses one). */
export function holdsTensor(v: unknown, depth: number): boolean {
  if (v instanceof Tensor) return true;
  if (depth < 8 && Array.isArray(v)) {
    for (const x of v) if (holdsTensor(x, depth + 1)) return true;
  } else if (depth < 8 && v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    for (const k in v) if (holdsTensor((v as Record<string, unknown>)[k], depth + 1)) return true;
  }
  return false;
}

/**
 * Wraps an op's output computed from `a` (and `b`, `c` when given; fromOpOf for a list). The graph
 * edge (parents, in that order) is recorded only when gradients are on and some input needs them,
 * and the output then has requiresGrad: the op attaches its backward closure with recordBackward
 * in that case only, so a forward pass that records no graph (inference, noGrad) builds no
 * closure and no parents array. `shape` is kept, not copied: a fresh array, an interned one
 * (matrixShape), or an input's own shape, never changed afterwards.
 */
export function fromOp(op: string, data: Storage, shape: readonly number[], a: Tensor, b: Tensor | null = null, c: Tensor | null = null): Tensor {
  if (a.released || b?.released || c?.released) throw releasedError(op);
  const recording = gradEnabled && (a.requiresGrad || b?.requiresGrad === true || c?.requiresGrad === true);
  const t = opOutput(op, data, shape);
  if (recording) {
    t.requiresGrad = true;
    t.parents = c === null ? (b === null ? [a] : [a, b]) : b === null ? [a, c] : [a, b, c];
    t.backwardFn = missingBackward;
  }
  return t;
}

/** fromOp for an op of any number of inputs (concat); `parents` is kept as the graph edge. */
export function fromOpOf(op: string, data: Storage, shape: readonly number[], parents: readonly Tensor[]): Tensor {
  let recording = false;
  for (const p of parents) {
    if (p.released) throw releasedError(op);
    if (p.requiresGrad) recording = true;
  }
  const t = opOutput(op, data, shape);
  if (recording && gradEnabled) {
    t.requiresGrad = true;
    t.parents = parents;
    t.backwardFn = missingBackward;
  }
  return t;
}

function opOutput(op: string, data: Storage, shape: readonly number[]): Tensor {
  adoptShape = true;
  const t = new Tensor(data, shape);
  t.op = op;
  recordInStep(t);
  return t;
}

let backwardsBuilt = 0;

/**
 * Attaches an op's backward closure to its output `t`, which must be recording a graph
 * (fromOp gave it requiresGrad). Ops build the closure only then, in a function of its own, so
 * that the values it captures are not kept in a context made on every call.
 */
export function recordBackward(t: Tensor, backward: () => void): Tensor {
  if (t.backwardFn !== missingBackward) throw opError(t.op, 'recordBackward on a tensor that records no graph (or has its backward already)', 'recordBackward only when fromOp\'s result has requiresGrad');
  t.backwardFn = backward;
  backwardsBuilt++;
  return t;
}

/** How many backward closures ops have built in this thread: a forward pass that records no graph builds none. */
export function backwardPassesBuilt(): number {
  return backwardsBuilt;
}

/** The backward of a recorded node whose op has not attached its own yet: an op that forgot would silently drop gradients. */
function missingBackward(): never {
  throw opError('backward', 'through a node whose op recorded no backward closure', 'every op to call recordBackward when its output records a graph');
}

/** Throws unless the inputs (b and c when given) share one dtype; returns it. */
export function commonDtype(op: string, a: Tensor, b: Tensor | null = null, c: Tensor | null = null): DType {
  const d = a.dtype;
  if ((b !== null && b.dtype !== d) || (c !== null && c.dtype !== d)) throw mixedDtypes(op, [a, b, c]);
  return d;
}

/** commonDtype of a list of inputs (concat). */
export function commonDtypeOf(op: string, ts: readonly Tensor[]): DType {
  const d = ts[0]!.dtype;
  for (const t of ts) if (t.dtype !== d) throw mixedDtypes(op, ts);
  return d;
}

function mixedDtypes(op: string, ts: readonly (Tensor | null)[]) {
  return opError(op, `mixed dtypes ${ts.filter((x) => x !== null).map((x) => x!.dtype).join(', ')}`, 'inputs of one dtype (cast with tensor(x.data, x.shape, {dtype}))');
}

/**
 * A 2-D shape [m, n], shared by every op output of that shape: most op outputs are matrices, and
 * an array per op was a fifth of what acting allocated per op. Shared as tensors' shapes are
 * (readonly, never changed); not frozen, since V8 iterates and indexes frozen arrays on a slow path.
 */
export function matrixShape(m: number, n: number): readonly number[] {
  // The key stays a small integer (below 2^30), so looking it up boxes no number.
  if (!(m < 32768 && n < 32768)) return [m, n];
  const key = m * 32768 + n;
  let s = matrixShapes.get(key);
  if (s === undefined) {
    if (matrixShapes.size >= 4096) matrixShapes.clear(); // a long run over many sizes keeps the recent ones only
    s = [m, n];
    matrixShapes.set(key, s);
  }
  return s;
}

const matrixShapes = new Map<number, readonly number[]>();

/** `shape` with its first dimension replaced by `rows` (a gather's or a segment op's output). */
export function withRows(shape: readonly number[], rows: number): readonly number[] {
  if (shape.length === 2) return matrixShape(rows, shape[1]!);
  const s = shape.slice();
  s[0] = rows;
  return s;
}

// ---------------------------------------------------------------------------------------------
// Factories
// ---------------------------------------------------------------------------------------------

/** A tensor from numbers (copied into fresh storage of the requested dtype). */
export function tensor(values: ArrayLike<number>, shape?: readonly number[], opts: TensorOptions = {}): Tensor {
  const data = alloc(opts.dtype ?? 'float32', values.length);
  for (let i = 0; i < values.length; i++) data[i] = values[i]!;
  return new Tensor(data, shape ?? [values.length], opts.requiresGrad ?? false);
}

export function zeros(shape: readonly number[], opts: TensorOptions = {}): Tensor {
  return new Tensor(alloc(opts.dtype ?? 'float32', sizeOf(shape)), shape, opts.requiresGrad ?? false);
}

export function full(shape: readonly number[], value: number, opts: TensorOptions = {}): Tensor {
  const t = zeros(shape, opts);
  t.data.fill(value);
  return t;
}

export function ones(shape: readonly number[], opts: TensorOptions = {}): Tensor {
  return full(shape, 1, opts);
}

export function scalar(value: number, opts: TensorOptions = {}): Tensor {
  return full([], value, opts);
}

/** Normal(0, std^2) entries drawn from `rng` in row-major order. */
export function randn(shape: readonly number[], rng: Rng, opts: TensorOptions & { std?: number } = {}): Tensor {
  const t = zeros(shape, opts);
  const std = opts.std ?? 1;
  for (let i = 0; i < t.size; i++) t.data[i] = std * rng.normal();
  return t;
}

/** Uniform [lo, hi) entries drawn from `rng` in row-major order. */
export function randu(shape: readonly number[], rng: Rng, lo: number, hi: number, opts: TensorOptions = {}): Tensor {
  const t = zeros(shape, opts);
  for (let i = 0; i < t.size; i++) t.data[i] = rng.uniform(lo, hi);
  return t;
}
