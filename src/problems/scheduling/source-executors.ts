/**
 * The executors a decision schedules (decima-sim's `exec_to_schedule` and `source_job`): which
 * executors the agent is offering now, where they come from, and how many of each class. The
 * simulator (sim.ts) fills them when executors free up and empties them as the agent's
 * decisions send them away; this class holds them and the ways of filling them.
 */
import { GLOBAL_POOL as GLOBAL } from './pools.js';
import { ClusterState } from './cluster-state.js';

export class SourceExecutors extends ClusterState {
  /** The executors of the current decision, toSched[toSchedHead..toSchedEnd). */
  protected readonly toSched: Int32Array;
  protected toSchedHead = 0;
  protected toSchedEnd = 0;
  /** The job the source executors come from, -1 for the global pool (or a job that just left). */
  sourceJob = -1;
  numSourceExec = 0;
  /** The source executors by class (sums to numSourceExec). */
  readonly numSourceByClass: Int32Array;

  constructor(numExecutors: number, classMemory: readonly number[] = [1]) {
    super(numExecutors, classMemory);
    this.toSched = new Int32Array(this.E);
    this.numSourceByClass = new Int32Array(this.C);
  }

  /** This state, the cluster's included, made equal to src's (no array shared). */
  protected copySourcesFrom(src: SourceExecutors): void {
    this.copyStateFrom(src);
    this.toSched.set(src.toSched);
    this.toSchedHead = src.toSchedHead; this.toSchedEnd = src.toSchedEnd;
    this.sourceJob = src.sourceJob; this.numSourceExec = src.numSourceExec;
    this.numSourceByClass.set(src.numSourceByClass);
  }


  /**
   * Multi-resource only: executors of a class that could run nothing were left idle, and an idle
   * global pool is consulted only when a job arrives (decima-sim's rule), so in a batch they would
   * wait for the end; instead they are offered with the next job whose frontier changes (still
   * unattached: going to that job costs them the moving delay).
   */
  protected offerGlobalPoolWith(j: number): void {
    for (let e = this.pools.head(GLOBAL); e !== -1; e = this.pools.head(GLOBAL)) {
      this.pools.remove(e);
      this.pools.add(j, e);
    }
  }

  /** numSourceByClass for the executors of pool j (numSourceExec already set). */
  protected countPoolSources(j: number): void {
    if (this.C === 1) {
      this.numSourceByClass[0] = this.numSourceExec;
      return;
    }
    this.numSourceByClass.fill(0);
    for (let e = this.pools.head(j); e !== -1; e = this.pools.next(e)) this.numSourceByClass[this.exClass[e]!]!++;
  }

  /**
   * numSourceByClass for the executors on stage s. With several classes, executors of a class that
   * still has commitments from this stage follow those and are not offered again (with one class
   * there are none: the executor that asks found its stage's list empty).
   */
  protected countStageSources(s: number): void {
    if (this.C === 1) {
      this.numSourceByClass[0] = this.numSourceExec;
      return;
    }
    this.numSourceByClass.fill(0);
    const src = 1 + this.J + s;
    let n = 0;
    for (let e = 0; e < this.E; e++) {
      if (this.exStage[e] === s && this.commitsEmpty(src, this.exClass[e]!)) {
        this.numSourceByClass[this.exClass[e]!]!++;
        n++;
      }
    }
    this.numSourceExec = n;
  }

  protected setToSchedOne(e: number): void {
    this.toSched[0] = e;
    this.toSchedHead = 0;
    this.toSchedEnd = 1;
  }

  protected setToSchedFromPool(j: number): void {
    let n = 0;
    for (let e = this.pools.head(j); e !== -1; e = this.pools.next(e)) this.toSched[n++] = e;
    this.toSchedHead = 0;
    this.toSchedEnd = n;
  }
}
