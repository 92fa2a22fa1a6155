/**
 * The event-driven cluster simulator with Decima's semantics (Mao et al., SIGCOMM 2019;
 * hongzimao/decima-sim spark_env/env.py, node.py, job_dag.py, executor_commit.py,
 * moving_executors.py, free_executors.py), re-implemented on typed arrays.
 *
 * Jobs are DAGs of stages; a stage has N tasks and is runnable when all its parents finished.
 * Executors run one task at a time, never preempted. The scheduling agent is consulted when
 * executors have no work left where they are ("source" executors: those freed from one stage,
 * the idle executors of one job, or the global pool), and answers with decisions
 * (stage, number of executors) until every source executor has a destination ("commitments").
 * A committed executor moves to its stage right away when it is in the same job, or after the
 * moving delay (2000 ms) when it changes job. The exact rules, which this file follows step by
 * step, are decima-sim's:
 *
 * - When a task finishes, its executor takes the next task of the same stage if there is one.
 *   Otherwise: if finishing the stage made a child stage runnable ("frontier changed"), the
 *   executor fulfils a pending commitment of its stage or joins its job's idle pool, and the
 *   whole idle pool of the job becomes the source. If not, the executor fulfils a pending
 *   commitment of its stage, or else all executors still on that stage become the source.
 * - An arriving job makes the global pool of idle executors the source.
 * - The agent may pick any stage that is not saturated (started + committed + moving < tasks)
 *   and whose parents are all saturated; an executor that reaches a stage whose parents are not
 *   done yet waits in its job's idle pool. An executor arriving at a stage that has been
 *   saturated meanwhile takes the first unsaturated runnable stage of its job, else moves to the
 *   first selectable stage anywhere, else idles ("backup schedule").
 * - The agent may also leave the remaining source executors idle (decima's `None` node). They
 *   wait in their job's pool, or in the global pool when their job has nothing left to start;
 *   an idle pool is consulted again only when its job's frontier changes (job pool) or a job
 *   arrives (global pool), as in decima-sim.
 *
 * Task durations: with n executors attached to the job, an executor level l <= n <= r is drawn
 * between the two nearest measured levels (see `compat`), then a sample is drawn uniformly from
 * the stage's `fresh` list for an executor new to the job (or first wave + warm-up when there is
 * none), its `rest` list for an executor continuing on the same stage, else its first wave.
 *
 * Departures from decima-sim, each on purpose: (1) every draw comes from the seeded Rng given to
 * load() (decima draws sample indices from the global np.random); (2) the executor level uses
 * linear interpolation, P(l) = (r - n) / (r - l), where decima takes l with probability
 * (n - l) / (r - l) (`compat: true` restores that); (3) where decima-sim would stop on an
 * assertion (no event left while jobs remain, possible only after a policy idled every executor)
 * all idle executors are handed back to the agent; `recoveries` counts it.
 *
 * The state the rules act on (jobs, stages, executors, idle pools, commitments) and the operations
 * that keep its counters consistent are in cluster-state.ts (decima-sim's JobDAG, Node and
 * Executor objects), the executors a decision offers in source-executors.ts; this file is env.py's rules. Helpers, one per decima-sim structure:
 * durations.ts (node.schedule's draw), pools.ts (FreeExecutors), commitments.ts (ExecutorCommit);
 * the event queue is core/heap.ts (Timeline).
 */
import { EventQueue } from '../../core/heap.js';
import type { Rng } from '../../core/rng.js';
import { EXECUTOR_LEVELS, NUM_LEVELS } from './profiles.js';
import { DurationSampler, NEW_TO_JOB, OTHER_STAGE, SAME_STAGE } from './durations.js';
import { GLOBAL_POOL as GLOBAL, NO_POOL, copyInto } from './pools.js';
import type { EpisodeJob } from './cluster-state.js';
import { SourceExecutors } from './source-executors.js';

export type { EpisodeJob } from './cluster-state.js';

export interface SimConfig {
  numExecutors: number;
  /** Delay of an executor changing job, ms (decima-sim: 2000). */
  movingDelayMs: number;
  /** Added to a first-wave sample when a stage has no fresh durations, ms (decima-sim: 1000). */
  warmupDelayMs: number;
  /** Executor level chosen with decima-sim's (reversed) interpolation rule. */
  compat: boolean;
  /** Keep a log of every event (tests, determinism checks); off in normal runs. */
  recordEvents?: boolean;
  /** Memory of each executor class (multi-resource variant); default one class, [1]. */
  classMemory?: readonly number[];
}

export const SIM_DEFAULTS = { movingDelayMs: 2000, warmupDelayMs: 1000, compat: false } as const;

/** One logged event: task start (with its duration), task end, job arrival, executor arrival. */
export interface SimEvent {
  time: number;
  kind: 'task-start' | 'task-end' | 'job-arrival' | 'executor-arrival' | 'job-done';
  executor: number;
  stage: number;
  job: number;
  durationMs?: number;
  wave?: 'first' | 'rest' | 'fresh' | 'first+warmup';
  level?: number;
}

const EV_TASK = 0, EV_EXEC = 2;
const WAVE_NAMES = ['first', 'rest', 'fresh'] as const;

export class Simulator extends SourceExecutors {
  readonly cfg: SimConfig;
  private readonly durations: DurationSampler;
  private rng!: Rng;
  private readonly heap = new EventQueue(256);
  /**
   * The jobs that arrive after t = 0, in the order they arrive (by time, ties by job id), and the
   * next one's index. They are not in the event queue: they are known at load, already in order,
   * and in a stream most of them would sit in the queue all episode (200 of its ~250 entries),
   * deepening every pop. At equal times an arrival comes before any other event, as it did when
   * the arrivals were queued first at load.
   */
  private arrivals = new Int32Array(0);
  private nextArrival = 0;
  /** Per executor, its running task's start time, sample list (index into the template's sampleOff) and warm-up; end time scratch. */
  private readonly exTaskStart: Float64Array;
  private readonly exTaskList: Int32Array;
  private readonly exTaskWarm: Uint8Array;
  private readonly exTaskEnd: Float64Array;

  // ---- clock, counters
  time = 0;
  /** Integral of the number of jobs in the system over time, ms x jobs. */
  area = 0;
  done = true;
  decisions = 0;
  taskEvents = 0;
  recoveries = 0;
  private events = 0;
  private recoveredAt = -1;
  private decisionsAtRecovery = -1;
  log: SimEvent[] = [];

  constructor(cfg: SimConfig) {
    super(cfg.numExecutors, cfg.classMemory ?? [1]);
    this.cfg = { ...cfg };
    this.durations = new DurationSampler(this.E, cfg.compat, cfg.warmupDelayMs);
    this.exTaskStart = new Float64Array(this.E); this.exTaskList = new Int32Array(this.E); this.exTaskWarm = new Uint8Array(this.E); this.exTaskEnd = new Float64Array(this.E);
  }

  // =============================================================================================
  // Episode set-up
  // =============================================================================================

  /** Starts an episode: the first `numInitial` jobs are in the system at t=0, the others arrive as events. */
  load(jobs: readonly EpisodeJob[], numInitial: number, rng: Rng, stageMemory?: Float64Array): void {
    this.rng = rng;
    this.loadJobs(jobs, stageMemory);
    const J = this.J;
    this.heap.clear();
    this.time = 0; this.area = 0; this.done = false;
    this.decisions = 0; this.taskEvents = 0; this.recoveries = 0; this.events = 0; this.recoveredAt = -1; this.decisionsAtRecovery = -1;
    this.log = [];
    for (let j = 0; j < numInitial; j++) this.arrive(j);
    const later = Array.from({ length: Math.max(0, J - numInitial) }, (_, k) => numInitial + k);
    later.sort((a, b) => this.jobArrival[a]! - this.jobArrival[b]! || a - b);
    this.arrivals = Int32Array.from(later);
    this.nextArrival = 0;
    for (let e = 0; e < this.E; e++) {
      this.exJob[e] = -1; this.exStage[e] = -1; this.exTaskStage[e] = -1; this.exMoving[e] = -1;
      this.poolAdd(GLOBAL, e);
    }
    // Every executor starts as a source executor of the global pool.
    this.setToSchedFromPool(GLOBAL);
    this.sourceJob = -1;
    this.numSourceExec = this.E;
    this.countPoolSources(GLOBAL);
    this.advance();
  }

  /**
   * Replaces the stream task durations are drawn from, mid-episode. For rollouts from a replayed
   * state (decima-teacher.ts): the draws after the branch point must be fresh, never the
   * episode's own future randomness, which would make the rollout clairvoyant.
   */
  reseedDurations(rng: Rng): void {
    this.rng = rng;
  }

  /**
   * Redraws the end time of every running task from `rng`: from the same list its duration was
   * drawn from (its wave at its executor level), among the samples at least as long as it has
   * run by now, uniformly. For rollouts that must not know the end times already drawn (a real
   * scheduler sees that a task is running, not when it will end). Events keep their order of ties.
   */
  resampleRunningTasks(rng: Rng): void {
    for (let e = 0; e < this.E; e++) {
      const s = this.exTaskStage[e]!;
      if (s < 0) continue;
      const tpl = this.jobTpl[this.stJob[s]!]!, list = this.exTaskList[e]!;
      const off = tpl.sampleOff[list]!, len = tpl.sampleLen[list]!;
      const extra = this.exTaskWarm[e] ? this.cfg.warmupDelayMs : 0, ran = this.time - this.exTaskStart[e]!;
      let n = 0;
      for (let k = 0; k < len; k++) if (tpl.samples[off + k]! + extra >= ran) n++;
      if (n === 0) throw new Error(`internal: executor ${e}'s task has run ${ran} ms, longer than any sample of its list`);
      let pick = rng.int(n), d = 0;
      for (let k = 0; k < len; k++) {
        if (tpl.samples[off + k]! + extra >= ran && pick-- === 0) { d = tpl.samples[off + k]! + extra; break; }
      }
      this.exTaskEnd[e] = this.exTaskStart[e]! + d;
    }
    this.heap.retime((p, t) => ((p & 3) === EV_TASK ? this.exTaskEnd[p >> 2]! : t));
  }

  /**
   * An exact, detached copy of the simulator's state at this point (the Rng's included), from
   * which `restore` continues as the uninterrupted run would: same decisions, same draws, same
   * event times. Shares no mutable array with this simulator (the job templates, read-only, are
   * shared). For rollouts that branch at a decision point without replaying the episode.
   */
  snapshot(): Simulator {
    const copy = new Simulator(this.cfg);
    copy.copyFrom(this);
    return copy;
  }

  /** Continues from `snap` (taken from a simulator of the same configuration); `snap` is left as it was. */
  restore(snap: Simulator): void {
    this.copyFrom(snap);
  }

  private copyFrom(src: Simulator): void {
    const a = this.cfg, b = src.cfg;
    if (a.compat !== b.compat || a.movingDelayMs !== b.movingDelayMs || a.warmupDelayMs !== b.warmupDelayMs) throw new Error('internal: restoring a simulator of another configuration');
    this.copySourcesFrom(src);
    this.rng = src.rng.clone();
    this.heap.copyFrom(src.heap);
    this.arrivals = copyInto(this.arrivals, src.arrivals);
    this.nextArrival = src.nextArrival;
    this.exTaskStart.set(src.exTaskStart); this.exTaskList.set(src.exTaskList); this.exTaskWarm.set(src.exTaskWarm);
    this.durations.level = src.durations.level; this.durations.wave = src.durations.wave; this.durations.warm = src.durations.warm;
    this.time = src.time; this.area = src.area; this.done = src.done;
    this.decisions = src.decisions; this.taskEvents = src.taskEvents; this.recoveries = src.recoveries;
    this.events = src.events; this.recoveredAt = src.recoveredAt; this.decisionsAtRecovery = src.decisionsAtRecovery;
    this.log = src.log.slice();
  }

  // =============================================================================================
  // The agent's side
  // =============================================================================================

  /**
   * One decision: send up to `use` of the source executors to stage `s` (at most its unassigned
   * tasks), or with s = -1 leave the remaining source executors idle. The caller checks validity
   * (selectable[s], 1 <= use); then the simulation runs to the next decision or the end.
   */
  decide(s: number, use: number, c = 0): void {
    if (this.done || this.numSourceExec === 0) throw new Error('internal: decide() without a pending decision');
    this.decisions++;
    if (s >= 0) {
      if (!this.selectable[s] || !this.fits(s, c)) throw new Error(`internal: stage ${s} is not selectable for class ${c}`);
      use = Math.min(this.unassigned(s), use, this.numSourceByClass[c]!);
      if (!(use >= 1)) throw new Error(`internal: decision uses ${use} executors`);
      this.applyCommit(s, use, c);
    } else {
      // idle: every remaining source executor, class by class
      for (let k = 0; k < this.C; k++) if (this.numSourceByClass[k]! > 0) this.applyCommit(-1, this.numSourceByClass[k]!, k);
    }
    this.advance();
  }

  /** Is there a selectable stage that executors of class c can run? (after computeSelectable) */
  anySelectableFor(c: number): boolean {
    for (let k = 0; k < this.sysCount; k++) {
      const j = this.sysJobs[k]!;
      for (let s = this.jobStageBase[j]!; s < this.jobStageBase[j + 1]!; s++) if (this.selectable[s] && this.fits(s, c)) return true;
    }
    return false;
  }

  /** Runs until a decision with at least one selectable stage is pending, or the episode ends. */
  private advance(): void {
    for (;;) {
      if (this.numSourceExec > 0) {
        const n = this.computeSelectable();
        if (this.C === 1) {
          if (n > 0) return;
          this.applyCommit(-1, this.numSourceExec, 0); // nothing to pick: the executors stay idle, as decima's agents answer
          continue;
        }
        // A class with source executors and nothing it can run idles (decided without asking).
        let idleClass = -1;
        for (let c = 0; c < this.C && idleClass < 0; c++) if (this.numSourceByClass[c]! > 0 && (n === 0 || !this.anySelectableFor(c))) idleClass = c;
        if (idleClass < 0) return;
        this.applyCommit(-1, this.numSourceByClass[idleClass]!, idleClass);
        continue;
      }
      if (this.sysCount > 0) {
        this.recover();
        continue;
      }
      this.done = true;
      return;
    }
  }

  /**
   * Whether leaving the source executors idle now would stall the episode for good: they were
   * just handed back (a recovery: every executor idle, no event left, jobs remaining), and
   * nothing has been decided since, so no event can come. The env masks idle then: an agent
   * that idled again (an exploring one, drawing from the mask) ended on an internal error.
   */
  get idleWouldStall(): boolean {
    return this.recoveredAt === this.events && this.decisions === this.decisionsAtRecovery;
  }

  private recover(): void {
    if (this.recoveredAt === this.events) throw new Error('internal: the simulation is stuck: no event, no decision, and jobs remain');
    this.recoveredAt = this.events;
    this.decisionsAtRecovery = this.decisions;
    this.recoveries++;
    for (let k = 0; k < this.sysCount; k++) {
      const j = this.sysJobs[k]!;
      this.releasePool(j);
    }
    this.setToSchedFromPool(GLOBAL);
    this.sourceJob = -1;
    this.numSourceExec = this.pools.size(GLOBAL);
    this.countPoolSources(GLOBAL);
    if (this.numSourceExec === 0) throw new Error('internal: jobs remain but no executor is idle, running or moving');
  }

  // =============================================================================================
  // decima's env.step: commit, schedule, run events
  // =============================================================================================

  private applyCommit(s: number, use: number, c: number): void {
    if (s >= 0) {
      this.selected[s] = 1;
      this.selList.push(s);
    }
    this.commitAdd(this.sourceOf(this.toSched[this.toSchedHead]!), s, use, c);
    this.numSourceExec -= use;
    this.numSourceByClass[c]! -= use;
    if (this.numSourceExec === 0) {
      for (const x of this.selList) this.selected[x] = 0;
      this.selList.length = 0;
      this.schedule();
    }
    this.runEvents();
  }

  /** Sends the executors to be scheduled to the destinations committed by their source. */
  private schedule(): void {
    if (this.toSchedHead >= this.toSchedEnd) return;
    const src = this.sourceOf(this.toSched[this.toSchedHead]!);
    // Each executor takes the next destination committed for its class.
    while (this.toSchedHead < this.toSchedEnd && !this.commitsEmpty(src, this.exClass[this.toSched[this.toSchedHead]!]!)) {
      const e = this.toSched[this.toSchedHead++]!;
      const s = this.commitPop(src, this.exClass[e]!);
      // (an unattached executor can sit in a job's pool in the multi-resource variant: offerGlobalPoolWith)
      if (this.pools.poolOf[e] !== NO_POOL && (this.pools.poolOf[e] === this.exJob[e] || this.exJob[e] === -1)) this.pools.remove(e);
      if (s < 0) {
        const j = this.exJob[e]!;
        this.poolAdd(j >= 0 && this.hasTasksToStart(j) && this.C === 1 ? j : GLOBAL, e);
      } else if (this.nextTask[s]! < this.numTasks[s]!) {
        const j = this.stJob[s]!;
        if (this.exJob[e] === j) {
          if (this.frontierSeq[s]! >= 0) this.startTask(s, e);
          else this.poolAdd(j, e);
        } else this.moveExecutor(e, s);
      } else this.backupSchedule(e);
    }
  }

  private runEvents(): void {
    while (this.numSourceExec === 0) {
      const arriving = this.nextArrival < this.arrivals.length;
      if (!arriving && this.heap.size === 0) break;
      const j = arriving ? this.arrivals[this.nextArrival]! : -1;
      // An arrival goes first at equal times (see `arrivals`); peekTime() is Infinity on an empty queue.
      const isArrival = arriving && this.jobArrival[j]! <= this.heap.peekTime();
      const t = isArrival ? this.jobArrival[j]! : this.heap.peekTime();
      this.area += (t - this.time) * this.sysCount;
      this.time = t;
      this.events++;
      if (isArrival) {
        this.nextArrival++;
        this.jobArrived(j);
        continue;
      }
      const ev = this.heap.pop(), id = ev >> 2;
      if ((ev & 3) === EV_TASK) this.taskFinished(id);
      else this.executorArrived(id);
    }
  }

  private taskFinished(e: number): void {
    const s = this.exTaskStage[e]!;
    this.exTaskStage[e] = -1;
    this.taskEvents++;
    const j = this.stJob[s]!;
    if (this.cfg.recordEvents) this.log.push({ time: this.time, kind: 'task-end', executor: e, stage: s, job: j });
    let frontierChanged = false;
    if (++this.finished[s]! === this.numTasks[s]) {
      this.jobStagesDone[j]!++;
      for (let p = this.childPtr[s]!; p < this.childPtr[s + 1]!; p++) {
        const c = this.childIdx[p]!;
        if (++this.parentsDone[c]! === this.parentPtr[c + 1]! - this.parentPtr[c]! && this.nextTask[c]! < this.numTasks[c]!) {
          this.frontierSeq[c] = this.frontierSeqNext++;
          frontierChanged = true;
        }
      }
    }
    this.assignExecutor(e, frontierChanged);
    if (this.jobStagesDone[j] === this.jobStageBase[j + 1]! - this.jobStageBase[j]!) this.completeJob(j);
  }

  /** decima's assign_executor: where an executor goes after its task. */
  private assignExecutor(e: number, frontierChanged: boolean): void {
    const s = this.exStage[e]!;
    if (s >= 0 && this.nextTask[s]! < this.numTasks[s]!) {
      this.startTask(s, e);
      return;
    }
    const stageSrc = 1 + this.J + s;
    if (frontierChanged) {
      const srcJob = this.exJob[e]!;
      if (!this.commitsEmpty(stageSrc, this.exClass[e]!)) {
        this.setToSchedOne(e);
        this.schedule();
      } else this.poolAdd(srcJob, e);
      if (this.C > 1) this.offerGlobalPoolWith(srcJob);
      this.setToSchedFromPool(srcJob);
      this.sourceJob = srcJob;
      this.numSourceExec = this.pools.size(srcJob);
      this.countPoolSources(srcJob);
    } else {
      this.setToSchedOne(e);
      if (!this.commitsEmpty(stageSrc, this.exClass[e]!)) this.schedule();
      else {
        this.sourceJob = this.exJob[e]!;
        this.numSourceExec = this.nodeExecs[s]!;
        this.countStageSources(s);
      }
    }
  }

  private jobArrived(j: number): void {
    if (this.cfg.recordEvents) this.log.push({ time: this.time, kind: 'job-arrival', executor: -1, stage: -1, job: j });
    this.arrive(j);
    if (this.pools.size(GLOBAL) > 0) {
      this.setToSchedFromPool(GLOBAL);
      this.sourceJob = -1;
      this.numSourceExec = this.pools.size(GLOBAL);
      this.countPoolSources(GLOBAL);
    }
  }

  private executorArrived(e: number): void {
    const s = this.exMoving[e]!;
    if (this.cfg.recordEvents) this.log.push({ time: this.time, kind: 'executor-arrival', executor: e, stage: s, job: s >= 0 ? this.stJob[s]! : -1 });
    if (s >= 0) {
      const j = this.stJob[s]!;
      this.exMoving[e] = -1;
      this.movingTo[s]!--;
      this.jobMoving[j]!--;
      this.exJob[e] = j;
      this.jobExecs[j]!++;
      if (this.nextTask[s]! < this.numTasks[s]!) {
        if (this.frontierSeq[s]! >= 0) this.startTask(s, e);
        else this.poolAdd(j, e);
        return;
      }
    }
    this.backupSchedule(e);
  }

  /** decima's backup_schedule: a runnable stage of the executor's job, else any selectable stage, else idle. */
  private backupSchedule(e: number): void {
    const j = this.exJob[e]!;
    if (j >= 0) {
      let best = -1;
      for (let s = this.jobStageBase[j]!; s < this.jobStageBase[j + 1]!; s++) {
        if (this.frontierSeq[s]! >= 0 && this.unassigned(s) > 0 && this.fits(s, this.exClass[e]!) && (best < 0 || this.frontierSeq[s]! < this.frontierSeq[best]!)) best = s;
      }
      if (best >= 0) {
        this.startTask(best, e);
        return;
      }
    }
    if (this.computeSelectable() > 0) {
      for (let k = 0; k < this.sysCount; k++) {
        const jj = this.sysJobs[k]!;
        for (let s = this.jobStageBase[jj]!; s < this.jobStageBase[jj + 1]!; s++) {
          if (this.selectable[s] && this.fits(s, this.exClass[e]!)) {
            this.moveExecutor(e, s);
            return;
          }
        }
      }
    }
    this.poolAdd(j, e);
  }

  /** decima's remove_job, after the job's last task. */
  private completeJob(j: number): void {
    this.jobCompletion[j] = this.time;
    if (this.cfg.recordEvents) this.log.push({ time: this.time, kind: 'job-done', executor: -1, stage: -1, job: j });
    this.removeJob(j);
  }

  // =============================================================================================
  // Tasks and durations
  // =============================================================================================

  private startTask(s: number, e: number): void {
    const j = this.stJob[s]!;
    const n = this.jobExecs[j]!;
    if (n <= 0) throw new Error(`internal: task started in job ${j} with no executor attached`);
    const prev = this.exStage[e]!;
    const relation = prev < 0 || this.stJob[prev] !== j ? NEW_TO_JOB : prev === s ? SAME_STAGE : OTHER_STAGE;
    const dur = this.durations.draw(this.jobTpl[j]!, s - this.jobStageBase[j]!, n, relation, this.rng);
    this.detachNode(e);
    this.exStage[e] = s;
    this.exJob[e] = j;
    this.exTaskStage[e] = s;
    this.nodeExecs[s]!++;
    if (++this.nextTask[s]! === this.numTasks[s]) this.frontierSeq[s] = -1;
    this.heap.push(this.time + dur, e * 4 + EV_TASK);
    const d = this.durations;
    this.exTaskStart[e] = this.time;
    this.exTaskList[e] = ((s - this.jobStageBase[j]!) * NUM_LEVELS + d.level) * 3 + d.wave;
    this.exTaskWarm[e] = d.warm ? 1 : 0;
    if (this.cfg.recordEvents) {
      this.log.push({ time: this.time, kind: 'task-start', executor: e, stage: s, job: j, durationMs: dur, wave: d.warm ? 'first+warmup' : WAVE_NAMES[d.wave]!, level: EXECUTOR_LEVELS[d.level]! });
    }
  }

  private moveExecutor(e: number, s: number): void {
    this.detachJob(e);
    this.exMoving[e] = s;
    this.movingTo[s]!++;
    this.jobMoving[this.stJob[s]!]!++;
    this.heap.push(this.time + this.cfg.movingDelayMs, e * 4 + EV_EXEC);
  }
}
