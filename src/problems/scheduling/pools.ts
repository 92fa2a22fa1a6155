/**
 * Idle executors, per job and one global pool, each an ordered set (decima-sim's
 * FreeExecutors over its OrderedSet): adding appends, adding a member again keeps its place,
 * iteration is in insertion order. Doubly linked lists on typed arrays, O(1) per operation.
 */
export const NO_POOL = -2;
export const GLOBAL_POOL = -1;

export class IdlePools {
  /** The pool of each executor: a job id, GLOBAL_POOL, or NO_POOL. */
  readonly poolOf: Int32Array;
  private readonly prev: Int32Array;
  private readonly nextOf: Int32Array;
  private headOf = new Int32Array(1);
  private tailOf = new Int32Array(1);
  private sizeOf = new Int32Array(1);

  constructor(numExecutors: number) {
    this.poolOf = new Int32Array(numExecutors).fill(NO_POOL);
    this.prev = new Int32Array(numExecutors);
    this.nextOf = new Int32Array(numExecutors);
  }

  reset(numJobs: number): void {
    this.poolOf.fill(NO_POOL);
    this.headOf = new Int32Array(numJobs + 1).fill(-1);
    this.tailOf = new Int32Array(numJobs + 1).fill(-1);
    this.sizeOf = new Int32Array(numJobs + 1);
  }

  /** Makes these pools an exact copy of `src` (same executors count), reusing the arrays when sizes match. */
  copyFrom(src: IdlePools): void {
    if (src.poolOf.length !== this.poolOf.length) throw new Error(`internal: copying pools of ${src.poolOf.length} executors into pools of ${this.poolOf.length}`);
    this.poolOf.set(src.poolOf); this.prev.set(src.prev); this.nextOf.set(src.nextOf);
    this.headOf = copyInto(this.headOf, src.headOf); this.tailOf = copyInto(this.tailOf, src.tailOf); this.sizeOf = copyInto(this.sizeOf, src.sizeOf);
  }

  /** Appends e to pool j (a job or GLOBAL_POOL); no-op if it is there already. */
  add(j: number, e: number): void {
    if (this.poolOf[e] === j) return;
    if (this.poolOf[e] !== NO_POOL) throw new Error(`internal: executor ${e} is idle in pool ${this.poolOf[e]} and joins pool ${j}`);
    const p = j + 1;
    this.poolOf[e] = j;
    this.prev[e] = this.tailOf[p]!;
    this.nextOf[e] = -1;
    if (this.tailOf[p]! >= 0) this.nextOf[this.tailOf[p]!] = e;
    else this.headOf[p] = e;
    this.tailOf[p] = e;
    this.sizeOf[p]!++;
  }

  remove(e: number): void {
    const p = this.poolOf[e]! + 1;
    const a = this.prev[e]!, b = this.nextOf[e]!;
    if (a >= 0) this.nextOf[a] = b; else this.headOf[p] = b;
    if (b >= 0) this.prev[b] = a; else this.tailOf[p] = a;
    this.sizeOf[p]!--;
    this.poolOf[e] = NO_POOL;
  }

  /** First executor of pool j, -1 when empty; `next(e)` walks on. */
  head(j: number): number {
    return this.headOf[j + 1]!;
  }

  next(e: number): number {
    return this.nextOf[e]!;
  }

  size(j: number): number {
    return this.sizeOf[j + 1]!;
  }
}

/** `src`'s contents in `dst` when the lengths match (no allocation), else a new copy of `src`: never `src` itself. */
export function copyInto<T extends Int32Array | Uint8Array | Float64Array>(dst: T, src: T): T {
  if (dst.length === src.length && dst !== src) {
    dst.set(src);
    return dst;
  }
  return src.slice() as T;
}
