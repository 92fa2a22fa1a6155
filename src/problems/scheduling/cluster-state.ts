/**
 * The cluster's state, which decima-sim spreads over its JobDAG, Node and Executor objects
 * (job_dag.py, node.py) and its FreeExecutors and ExecutorCommit structures, here on typed
 * arrays: the jobs and their stage DAGs, the executors and where they are, the idle pools and the
 * commitments, with the operations that keep their counters consistent. The rules that move
 * executors from one to the other, event by event, are the simulator's (sim.ts).
 */
import type { JobTemplate } from './profiles.js';
import { IdlePools, GLOBAL_POOL as GLOBAL, copyInto } from './pools.js';
import { CommitTable } from './commitments.js';

export interface EpisodeJob {
  template: JobTemplate;
  arrivalMs: number;
}

export class ClusterState {
  readonly E: number;
  /** Bumped whenever the set of jobs in the system changes. */
  structVersion = 0;
  protected frontierSeqNext = 0;

  // ---- jobs (episode-wide ids, in workload order)
  J = 0;
  jobTpl: JobTemplate[] = [];
  jobArrival = new Float64Array(0);
  jobCompletion = new Float64Array(0);
  jobStageBase = new Int32Array(1);
  jobStagesDone = new Int32Array(0);
  /** Executors attached to the job (decima's job_dag.executors). */
  jobExecs = new Int32Array(0);
  jobMoving = new Int32Array(0);
  /** Executors committed to the job's stages from sources outside the job. */
  jobCommitIn = new Int32Array(0);
  /** 0 not arrived, 1 in the system, 2 done. */
  jobState = new Uint8Array(0);
  /** Jobs in the system, in arrival order (decima's job_dags). */
  sysJobs = new Int32Array(0);
  sysCount = 0;
  completed = 0;

  // ---- stages (episode-wide ids; job j owns jobStageBase[j] .. jobStageBase[j+1]-1)
  S = 0;
  stJob = new Int32Array(0);
  numTasks = new Int32Array(0);
  nextTask = new Int32Array(0);
  finished = new Int32Array(0);
  parentsDone = new Int32Array(0);
  commitsTo = new Int32Array(0);
  movingTo = new Int32Array(0);
  /** Executors on the stage (decima's node.executors). */
  nodeExecs = new Int32Array(0);
  /** Position in the job's frontier (runnable, tasks left to start), -1 when not in it. */
  frontierSeq = new Int32Array(0);
  selected = new Uint8Array(0);
  /** Computed at each decision point: may the agent pick this stage now. */
  selectable = new Uint8Array(0);
  numSelectable = 0;
  parentPtr = new Int32Array(1);
  parentIdx = new Int32Array(0);
  childPtr = new Int32Array(1);
  childIdx = new Int32Array(0);
  protected selList: number[] = [];

  // ---- executors
  exJob: Int32Array;
  exStage: Int32Array;
  exTaskStage: Int32Array;
  exMoving: Int32Array;
  readonly pools: IdlePools;

  // ---- executor classes (the multi-resource variant, paper section 7.3): class c has memory
  // classMem[c]; a task of stage s needs stMem[s] and runs only on an executor with at least that.
  // One class of memory 1 and demands 0 is the single-resource cluster.
  readonly C: number;
  readonly classMem: Float64Array;
  readonly exClass: Int32Array;
  /** Executors of each class, cluster-wide (not all equal when C does not divide E). */
  readonly classSize: Int32Array;
  stMem: Float64Array = new Float64Array(0);

  // ---- commitments per (source, class): source 0 the global pool, 1 + j job j's idle pool,
  // 1 + J + s stage s; entry source * C + class
  protected readonly commits = new CommitTable();

  constructor(numExecutors: number, classMemory: readonly number[] = [1]) {
    this.E = numExecutors;
    if (!(Number.isInteger(this.E) && this.E >= 1)) throw new RangeError(`numExecutors must be a positive integer, got ${this.E}`);
    const E = this.E;
    this.exJob = new Int32Array(E); this.exStage = new Int32Array(E); this.exTaskStage = new Int32Array(E); this.exMoving = new Int32Array(E);
    this.pools = new IdlePools(E);
    this.C = classMemory.length;
    if (!(this.C >= 1 && this.C <= E)) throw new RangeError(`between 1 and ${E} executor classes, got ${this.C}`);
    this.classMem = Float64Array.from(classMemory);
    // Executor e is in class floor(e C / E): groups in class order, as equal as E allows, with the
    // remainder spread over the classes (50 executors in 4 classes: 13, 12, 13, 12), not given to
    // the first ones. Whoever counts executors by class reads classSize, never E / C.
    this.exClass = Int32Array.from({ length: E }, (_, e) => Math.floor((e * this.C) / E));
    this.classSize = new Int32Array(this.C);
    for (let e = 0; e < E; e++) this.classSize[this.exClass[e]!]!++;
  }

  /** May executors of class c run tasks of stage s (memory)? */
  fits(s: number, c: number): boolean {
    return this.stMem[s]! <= this.classMem[c]!;
  }

  /** An episode's jobs and their stage DAGs, none in the system yet; empty idle pools and commitments. */
  protected loadJobs(jobs: readonly EpisodeJob[], stageMemory?: Float64Array): void {
    const J = (this.J = jobs.length);
    this.jobTpl = jobs.map((j) => j.template);
    this.jobArrival = Float64Array.from(jobs, (j) => j.arrivalMs);
    this.jobCompletion = new Float64Array(J).fill(NaN);
    this.jobStageBase = new Int32Array(J + 1);
    for (let j = 0; j < J; j++) this.jobStageBase[j + 1] = this.jobStageBase[j]! + jobs[j]!.template.numStages;
    const S = (this.S = this.jobStageBase[J]!);
    this.jobStagesDone = new Int32Array(J); this.jobExecs = new Int32Array(J); this.jobMoving = new Int32Array(J);
    this.jobCommitIn = new Int32Array(J); this.jobState = new Uint8Array(J); this.sysJobs = new Int32Array(J);
    this.sysCount = 0; this.completed = 0;
    this.stJob = new Int32Array(S); this.numTasks = new Int32Array(S); this.nextTask = new Int32Array(S); this.finished = new Int32Array(S);
    this.parentsDone = new Int32Array(S); this.commitsTo = new Int32Array(S); this.movingTo = new Int32Array(S); this.nodeExecs = new Int32Array(S);
    this.frontierSeq = new Int32Array(S).fill(-1); this.selected = new Uint8Array(S); this.selectable = new Uint8Array(S);
    this.selList.length = 0;
    let edges = 0;
    for (const j of jobs) edges += j.template.childIdx.length;
    this.parentPtr = new Int32Array(S + 1); this.parentIdx = new Int32Array(edges);
    this.childPtr = new Int32Array(S + 1); this.childIdx = new Int32Array(edges);
    for (let j = 0; j < J; j++) {
      const t = jobs[j]!.template, base = this.jobStageBase[j]!;
      for (let l = 0; l < t.numStages; l++) {
        const s = base + l;
        this.stJob[s] = j;
        this.numTasks[s] = t.numTasks[l]!;
        const pp = this.parentPtr[s]!, cp = this.childPtr[s]!;
        const np = t.parentPtr[l + 1]! - t.parentPtr[l]!, nc = t.childPtr[l + 1]! - t.childPtr[l]!;
        for (let k = 0; k < np; k++) this.parentIdx[pp + k] = base + t.parentIdx[t.parentPtr[l]! + k]!;
        for (let k = 0; k < nc; k++) this.childIdx[cp + k] = base + t.childIdx[t.childPtr[l]! + k]!;
        this.parentPtr[s + 1] = pp + np;
        this.childPtr[s + 1] = cp + nc;
      }
    }
    this.stMem = stageMemory ?? new Float64Array(S);
    if (this.stMem.length !== S) throw new Error(`internal: ${this.stMem.length} stage memory demands for ${S} stages`);
    this.pools.reset(J);
    this.commits.reset((1 + J + S) * this.C);
    this.frontierSeqNext = 0;
  }

  /**
   * Makes this state an exact copy of `src` (a cluster of the same executors and classes): every
   * counter, pool and commitment, in copies that share no mutable array with `src` (the arrays
   * of this state are reused when their lengths match). The job templates are shared: they are
   * read-only profile data.
   */
  protected copyStateFrom(src: ClusterState): void {
    if (src.E !== this.E || src.C !== this.C || src.classMem.some((m, c) => m !== this.classMem[c])) {
      throw new Error(`internal: copying a cluster of ${src.E} executors in ${src.C} classes into one of ${this.E} in ${this.C}`);
    }
    this.structVersion = src.structVersion;
    this.frontierSeqNext = src.frontierSeqNext;
    this.J = src.J;
    this.jobTpl = src.jobTpl.slice();
    this.jobArrival = copyInto(this.jobArrival, src.jobArrival);
    this.jobCompletion = copyInto(this.jobCompletion, src.jobCompletion);
    this.jobStageBase = copyInto(this.jobStageBase, src.jobStageBase);
    this.jobStagesDone = copyInto(this.jobStagesDone, src.jobStagesDone);
    this.jobExecs = copyInto(this.jobExecs, src.jobExecs);
    this.jobMoving = copyInto(this.jobMoving, src.jobMoving);
    this.jobCommitIn = copyInto(this.jobCommitIn, src.jobCommitIn);
    this.jobState = copyInto(this.jobState, src.jobState);
    this.sysJobs = copyInto(this.sysJobs, src.sysJobs);
    this.sysCount = src.sysCount;
    this.completed = src.completed;
    this.S = src.S;
    this.stJob = copyInto(this.stJob, src.stJob);
    this.numTasks = copyInto(this.numTasks, src.numTasks);
    this.nextTask = copyInto(this.nextTask, src.nextTask);
    this.finished = copyInto(this.finished, src.finished);
    this.parentsDone = copyInto(this.parentsDone, src.parentsDone);
    this.commitsTo = copyInto(this.commitsTo, src.commitsTo);
    this.movingTo = copyInto(this.movingTo, src.movingTo);
    this.nodeExecs = copyInto(this.nodeExecs, src.nodeExecs);
    this.frontierSeq = copyInto(this.frontierSeq, src.frontierSeq);
    this.selected = copyInto(this.selected, src.selected);
    this.selectable = copyInto(this.selectable, src.selectable);
    this.numSelectable = src.numSelectable;
    this.parentPtr = copyInto(this.parentPtr, src.parentPtr);
    this.parentIdx = copyInto(this.parentIdx, src.parentIdx);
    this.childPtr = copyInto(this.childPtr, src.childPtr);
    this.childIdx = copyInto(this.childIdx, src.childIdx);
    this.selList.length = 0;
    for (const x of src.selList) this.selList.push(x);
    this.exJob.set(src.exJob); this.exStage.set(src.exStage); this.exTaskStage.set(src.exTaskStage); this.exMoving.set(src.exMoving);
    this.pools.copyFrom(src.pools);
    this.stMem = copyInto(this.stMem, src.stMem);
    this.commits.copyFrom(src.commits);
  }

  // =============================================================================================
  // Jobs and stages (decima's JobDAG and Node)
  // =============================================================================================

  /** Unassigned tasks of a stage: started, committed and moving executors counted (may be negative). */
  unassigned(s: number): number {
    return this.numTasks[s]! - this.nextTask[s]! - this.commitsTo[s]! - this.movingTo[s]!;
  }

  /** decima's exec_map: executors in, moving to, or committed to the job from outside it. */
  execCount(j: number): number {
    return this.jobExecs[j]! + this.jobMoving[j]! + this.jobCommitIn[j]!;
  }

  protected hasTasksToStart(j: number): boolean {
    for (let s = this.jobStageBase[j]!; s < this.jobStageBase[j + 1]!; s++) if (this.nextTask[s]! < this.numTasks[s]!) return true;
    return false;
  }

  /** decima's get_frontier_nodes: not chosen in this round, not saturated, all parents saturated. */
  protected computeSelectable(): number {
    let count = 0;
    for (let k = 0; k < this.sysCount; k++) {
      const j = this.sysJobs[k]!;
      for (let s = this.jobStageBase[j]!; s < this.jobStageBase[j + 1]!; s++) {
        let ok = this.selected[s] === 0 && this.unassigned(s) > 0;
        for (let p = this.parentPtr[s]!; ok && p < this.parentPtr[s + 1]!; p++) if (this.unassigned(this.parentIdx[p]!) > 0) ok = false;
        this.selectable[s] = ok ? 1 : 0;
        if (ok) count++;
      }
    }
    return (this.numSelectable = count);
  }

  protected arrive(j: number): void {
    this.structVersion++;
    this.jobState[j] = 1;
    this.sysJobs[this.sysCount++] = j;
    for (let s = this.jobStageBase[j]!; s < this.jobStageBase[j + 1]!; s++) {
      if (this.parentPtr[s + 1] === this.parentPtr[s]) this.frontierSeq[s] = this.frontierSeqNext++;
    }
  }

  /**
   * Takes a finished job out of the cluster (the bookkeeping of decima's remove_job): marked
   * done, its executors detached, commitments into it dropped, its idle pool handed to the global
   * pool, the executors still moving to it sent nowhere, and the job out of the system's list.
   */
  protected removeJob(j: number): void {
    this.jobState[j] = 2;
    this.structVersion++;
    this.completed++;
    for (let e = 0; e < this.E; e++) if (this.exJob[e] === j) this.detachJob(e);
    for (let c = 0; c < this.C; c++) {
      if (!this.commitsEmpty(1 + j, c)) throw new Error(`internal: job ${j} finished with commitments from its idle pool`);
      for (let s = this.jobStageBase[j]!; s < this.jobStageBase[j + 1]!; s++) {
        if (!this.commitsEmpty(1 + this.J + s, c)) throw new Error(`internal: job ${j} finished with commitments from stage ${s}`);
      }
    }
    // Drop commitments into the job from any other source.
    this.dropCommitsInto(0, j);
    for (let k = 0; k < this.sysCount; k++) {
      const o = this.sysJobs[k]!;
      if (o === j) continue;
      this.dropCommitsInto(1 + o, j);
      for (let s = this.jobStageBase[o]!; s < this.jobStageBase[o + 1]!; s++) this.dropCommitsInto(1 + this.J + s, j);
    }
    this.releasePool(j);
    for (let e = 0; e < this.E; e++) {
      const s = this.exMoving[e]!;
      if (s >= 0 && this.stJob[s] === j) {
        this.exMoving[e] = -1; // it still arrives (event), finds no destination and falls back
        this.movingTo[s]!--;
        this.jobMoving[j]!--;
      }
    }
    let k = 0;
    while (this.sysJobs[k] !== j) k++;
    this.sysJobs.copyWithin(k, k + 1, this.sysCount);
    this.sysCount--;
  }

  // =============================================================================================
  // Executors: attachment and idle pools (ordered, as decima's OrderedSet)
  // =============================================================================================

  protected detachNode(e: number): void {
    const s = this.exStage[e]!;
    if (s >= 0) this.nodeExecs[s]!--;
    this.exStage[e] = -1;
  }

  protected detachJob(e: number): void {
    const j = this.exJob[e]!;
    if (j >= 0) this.jobExecs[j]!--;
    this.exJob[e] = -1;
    this.detachNode(e);
  }

  /** decima's FreeExecutors.add: idles the executor in job j's pool (or the global pool, j = -1). */
  protected poolAdd(j: number, e: number): void {
    if (j === GLOBAL) this.detachJob(e);
    else this.detachNode(e);
    this.pools.add(j, e);
  }

  /** Moves the idle executors of job j's pool, in order, to the global pool. */
  protected releasePool(j: number): void {
    for (let e = this.pools.head(j); e !== -1; e = this.pools.head(j)) {
      this.pools.remove(e);
      this.poolAdd(GLOBAL, e);
    }
  }

  // =============================================================================================
  // Commitments, with the counters decima reads from them (node_commit and the exec_map share)
  // =============================================================================================

  protected sourceOf(e: number): number {
    if (this.exStage[e]! >= 0) return 1 + this.J + this.exStage[e]!;
    if (this.exJob[e]! >= 0) return 1 + this.exJob[e]!;
    return 0;
  }

  private jobOfSource(src: number): number {
    if (src === 0) return -1;
    if (src <= this.J) return src - 1;
    return this.stJob[src - 1 - this.J]!;
  }

  protected commitsEmpty(src: number, c: number): boolean {
    return this.commits.isEmpty(src * this.C + c);
  }

  protected commitAdd(src: number, s: number, count: number, c: number): void {
    this.commits.add(src * this.C + c, s, count);
    if (s >= 0) {
      this.commitsTo[s]! += count;
      if (this.jobOfSource(src) !== this.stJob[s]) this.jobCommitIn[this.stJob[s]!]! += count;
    }
  }

  protected commitPop(src: number, c: number): number {
    const s = this.commits.pop(src * this.C + c);
    if (s >= 0) {
      this.commitsTo[s]!--;
      if (this.jobOfSource(src) !== this.stJob[s]) this.jobCommitIn[this.stJob[s]!]!--;
    }
    return s;
  }

  protected dropCommitsInto(src: number, j: number): void {
    const outside = this.jobOfSource(src) !== j;
    for (let c = 0; c < this.C; c++) {
      this.commits.dropWhere(src * this.C + c, (s) => this.stJob[s] === j, (s, count) => {
        this.commitsTo[s]! -= count;
        if (outside) this.jobCommitIn[j]! -= count;
      });
    }
  }
}
