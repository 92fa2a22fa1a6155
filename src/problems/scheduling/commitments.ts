/**
 * Commitments (decima-sim's ExecutorCommit): for each source of executors (the global pool, a
 * job's idle pool, or a stage whose executors are freeing up), an ordered list of
 * (destination stage or -1 for "stay idle", count). The agent's decisions append to the
 * source's list; executors of that source take the destinations in order, one each. Entries live
 * in typed arrays with a free list.
 */
import { copyInto } from './pools.js';

export class CommitTable {
  private head = new Int32Array(1);
  private tail = new Int32Array(1);
  private stage = new Int32Array(64);
  private amount = new Int32Array(64);
  private nextOf = new Int32Array(64);
  private free = -1;
  private used = 0;

  reset(numSources: number): void {
    this.head = new Int32Array(numSources).fill(-1);
    this.tail = new Int32Array(numSources).fill(-1);
    this.free = -1;
    this.used = 0;
  }

  /** Makes this table an exact copy of `src` (entries, their order and the free list). */
  copyFrom(src: CommitTable): void {
    this.head = copyInto(this.head, src.head); this.tail = copyInto(this.tail, src.tail);
    this.stage = copyInto(this.stage, src.stage); this.amount = copyInto(this.amount, src.amount); this.nextOf = copyInto(this.nextOf, src.nextOf);
    this.free = src.free;
    this.used = src.used;
  }

  isEmpty(src: number): boolean {
    return this.head[src] === -1;
  }

  /** Adds `count` executors from `src` to stage `s` (-1: idle), merging with an existing entry. */
  add(src: number, s: number, count: number): void {
    let k = this.head[src]!;
    while (k !== -1 && this.stage[k] !== s) k = this.nextOf[k]!;
    if (k === -1) {
      k = this.alloc();
      this.stage[k] = s;
      this.amount[k] = 0;
      this.nextOf[k] = -1;
      if (this.tail[src]! >= 0) this.nextOf[this.tail[src]!] = k;
      else this.head[src] = k;
      this.tail[src] = k;
    }
    this.amount[k]! += count;
  }

  /** Takes one executor's destination from the front of `src`'s list (which must not be empty). */
  pop(src: number): number {
    const k = this.head[src]!;
    const s = this.stage[k]!;
    if (--this.amount[k]! === 0) {
      this.head[src] = this.nextOf[k]!;
      if (this.head[src] === -1) this.tail[src] = -1;
      this.release(k);
    }
    return s;
  }

  /** Removes the entries of `src` whose stage passes `test`, reporting each (stage, count). */
  dropWhere(src: number, test: (s: number) => boolean, dropped: (s: number, count: number) => void): void {
    let prev = -1;
    for (let k = this.head[src]!; k !== -1;) {
      const next = this.nextOf[k]!;
      const s = this.stage[k]!;
      if (s >= 0 && test(s)) {
        dropped(s, this.amount[k]!);
        if (prev >= 0) this.nextOf[prev] = next; else this.head[src] = next;
        if (this.tail[src] === k) this.tail[src] = prev;
        this.release(k);
      } else prev = k;
      k = next;
    }
  }

  private release(k: number): void {
    this.nextOf[k] = this.free;
    this.free = k;
  }

  private alloc(): number {
    if (this.free !== -1) {
      const k = this.free;
      this.free = this.nextOf[k]!;
      return k;
    }
    if (this.used === this.stage.length) {
      const grow = (a: Int32Array) => { const b = new Int32Array(a.length * 2); b.set(a); return b; };
      this.stage = grow(this.stage); this.amount = grow(this.amount); this.nextOf = grow(this.nextOf);
    }
    return this.used++;
  }
}
