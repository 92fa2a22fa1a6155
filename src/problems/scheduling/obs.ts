/**
 * The scheduling env's spaces and records: the observation (`SchedulingObs`) and its space, the
 * action encoding, the env's configuration, snapshot and episode statistics. env.ts (the env
 * itself) says what they mean and re-exports them.
 */
import type { GraphObs, Space } from '../../core/spaces.js';
import type { Rng } from '../../core/rng.js';
import type { Simulator, EpisodeJob } from './sim.js';
import type { TemplatePool, WorkloadSpec } from './workloads.js';
export const NODE_FEATURES = 5;
export const JOB_FEATURES = 3;

export interface SchedulingObs extends GraphObs {
  numJobs: number;
  /** Stage rows of job k: jobPtr[k] .. jobPtr[k+1]-1. */
  jobPtr: Int32Array;
  stageJob: Int32Array;
  /** Per job: [executors / 20, +2 if the source executors are this job's else -2, source executors / 20]. */
  jobFeatures: Float32Array;
  /** 1 where the stage may be picked now. */
  stageMask: Uint8Array;
  /** Smallest parallelism limit that sends at least one executor, per job. */
  limitMin: Int32Array;
  numExecutors: number;
  /** Job row of the source executors, -1 for the global pool. */
  sourceJob: number;
  numSourceExec: number;
  /** Executor classes (1 in the single-resource cluster), their memory, their executors in the cluster, the source executors by class. */
  numClasses: number;
  classMemory: Float64Array;
  /** Executors of each class (as equal as numExecutors allows: 50 in 4 classes are 13, 12, 13, 12). */
  classSize: Int32Array;
  sourceByClass: Int32Array;
  /** Memory a task of the stage needs (0 in the single-resource cluster). */
  stageMemory: Float64Array;
  /** [row * numClasses + class]: the offered executors of that class may be sent to the stage (multi-resource only). */
  stageClassMask: Uint8Array;
  timeMs: number;
  /** Episode-wide job id (workload order) of each row. */
  jobId: Int32Array;
  jobArrivalMs: Float64Array;
  /** Executors the job holds, moving to it or committed to it (decima's exec_map). */
  jobExecutors: Int32Array;
  jobTotalWorkMs: Float64Array;
  /** Sum over the job's stages of (tasks not yet started) x rough task duration. */
  jobRemainingWorkMs: Float64Array;
  stageNumTasks: Int32Array;
  /** Tasks not started and not yet promised to an executor (can be negative, as in decima). */
  stageUnassigned: Int32Array;
  stageRoughMs: Float64Array;
  stageCriticalPathMs: Float64Array;
  /** Order in which the stage became runnable (its job's frontier order), -1 if not runnable with tasks left. */
  stageFrontierSeq: Int32Array;
  /** 1 when every task of the stage finished (Decima's summaries skip those stages). */
  stageDone: Uint8Array;
}

export interface SchedulingEnvConfig {
  numExecutors: number;
  /** Template pool the workload draws from. */
  pool: TemplatePool;
  workload: WorkloadSpec;
  compat?: boolean;
  movingDelayMs?: number;
  warmupDelayMs?: number;
  /** Stage rows the flat action space can address (default: every job of the workload, batch or stream, x the most stages of a profile in the pool; a stream gets fewer when that would pass maxActions). */
  maxStages?: number;
  /** Truncate an episode at the first decision at or after this time (ms). */
  maxTimeMs?: number;
  /** The most actions the env may have (default MAX_ACTIONS); the server, which sends the mask as JSON each step, asks for fewer. */
  maxActions?: number;
  recordEvents?: boolean;
  /**
   * Multi-resource variant (paper section 7.3): the memory of each executor class (executor e in
   * class floor(e C / E): groups as equal as E allows, 50 in 4 classes are 13, 12, 13, 12); each
   * stage's tasks then need a memory drawn uniformly from (0, 1] per episode, and run only on
   * executors with at least that much. Default: one class, no demands.
   */
  executorClasses?: readonly number[];
}

/** reset() options: a fixed episode instead of one drawn from the workload (tests). */
export interface SchedulingResetOptions {
  jobs?: EpisodeJob[];
  numInitial?: number;
}

/** The observation space: checks shapes and lengths; samples a one-stage system. */
export class SchedulingObsSpace implements Space<SchedulingObs> {
  readonly kind = 'SchedulingObs';
  constructor(readonly numExecutors: number) {}
  contains(x: unknown): x is SchedulingObs {
    const o = x as SchedulingObs;
    if (!o || typeof o.numNodes !== 'number' || typeof o.numJobs !== 'number') return false;
    const n = o.numNodes, J = o.numJobs;
    return o.nodeFeatures instanceof Float32Array && o.nodeFeatures.length === n * NODE_FEATURES && o.rowPtr instanceof Int32Array && o.rowPtr.length === n + 1
      && o.colIdx instanceof Int32Array && o.colIdx.length === o.rowPtr[n] && o.jobPtr instanceof Int32Array && o.jobPtr.length === J + 1 && o.jobPtr[J] === n
      && o.stageJob instanceof Int32Array && o.stageJob.length === n && o.stageMask instanceof Uint8Array && o.stageMask.length === n
      && o.jobFeatures instanceof Float32Array && o.jobFeatures.length === J * JOB_FEATURES && o.limitMin instanceof Int32Array && o.limitMin.length === J;
  }
  sample(rng: Rng): SchedulingObs {
    const f = Float32Array.from({ length: NODE_FEATURES }, () => rng.next());
    return {
      numNodes: 1, nodeFeatures: f, rowPtr: Int32Array.of(0, 0), colIdx: new Int32Array(0), numJobs: 1, jobPtr: Int32Array.of(0, 1), stageJob: Int32Array.of(0),
      jobFeatures: f.slice(0, JOB_FEATURES), stageMask: Uint8Array.of(1), limitMin: Int32Array.of(1), numExecutors: this.numExecutors, sourceJob: -1,
      numSourceExec: this.numExecutors, timeMs: 0, jobId: Int32Array.of(0), jobArrivalMs: Float64Array.of(0), jobExecutors: Int32Array.of(0),
      jobTotalWorkMs: Float64Array.of(1000), jobRemainingWorkMs: Float64Array.of(1000), stageNumTasks: Int32Array.of(1), stageUnassigned: Int32Array.of(1),
      stageRoughMs: Float64Array.of(1000), stageCriticalPathMs: Float64Array.of(1000), stageFrontierSeq: Int32Array.of(0), stageDone: Uint8Array.of(0),
      numClasses: 1, classMemory: Float64Array.of(1), classSize: Int32Array.of(this.numExecutors), sourceByClass: Int32Array.of(this.numExecutors), stageMemory: Float64Array.of(0), stageClassMask: Uint8Array.of(1),
    };
  }
  toJSON() {
    return { kind: this.kind, nodeDim: NODE_FEATURES, jobDim: JOB_FEATURES, numExecutors: this.numExecutors };
  }
}

/** Flat action index of (stage row, parallelism limit[, executor class of numClasses]). */
export function encodeAction(row: number, limit: number, numExecutors: number, cls = 0, numClasses = 1): number {
  return (row * numClasses + cls) * numExecutors + (limit - 1);
}

/**
 * The flat action of (stage row, parallelism limit) with the smallest-memory offered executor
 * class that fits the stage (first fit): how a policy with no executor-class choice (every
 * heuristic but the packing ones, Decima) acts on a multi-resource cluster. With one class it is
 * encodeAction(row, limit, E). A row no offered class fits keeps class 0, which step() rejects
 * with the reason.
 */
export function encodeFirstFit(o: SchedulingObs, row: number, limit: number): number {
  const C = o.numClasses;
  if (C === 1) return encodeAction(row, limit, o.numExecutors);
  let best = -1;
  for (let c = 0; c < C; c++) if (o.stageClassMask[row * C + c] === 1 && (best < 0 || o.classMemory[c]! < o.classMemory[best]!)) best = c;
  return encodeAction(row, limit, o.numExecutors, Math.max(best, 0), C);
}

/** An episode's state at a decision point (SchedulingEnv.snapshot); read-only for its users. */
export interface SchedulingSnapshot {
  readonly sim: Simulator;
  readonly rng: Rng;
  readonly prevArea: number;
  readonly maxStages: number;
}

/** Episode summary, read after the episode ends. */
export interface EpisodeStats {
  jctMs: Float64Array;
  completed: number;
  numJobs: number;
  makespanMs: number;
  endMs: number;
  decisions: number;
  taskEvents: number;
  recoveries: number;
}

/**
 * The largest action space: its mask is one byte per action, allocated with the env. The ids allow
 * batches of 100,000 jobs and 10,000 executors, whose 1.8e10 actions failed as a RangeError.
 */
export const MAX_ACTIONS = 2 ** 30;
