/**
 * SchedulingEnv: the simulator (sim.ts) behind the Env contract (src/core/env.ts).
 *
 * Observation (`SchedulingObs`, a GraphObs with job structure, shaped for Decima's graph
 * embedding as decima-sim's actor_agent.translate_state builds it): one row per stage of every
 * job in the system, jobs in arrival order and each job's stages contiguous. `rowPtr/colIdx` hold
 * the parent -> child edges in CSR over those rows (block-diagonal: edges stay inside a job);
 * `jobPtr`, `stageJob` give job membership; `nodeFeatures` are Decima's five node inputs and
 * `jobFeatures` its three job inputs (same normalizations); the raw state the heuristics read is
 * in named typed arrays beside them. The arrays are reused from step to step: copy what you keep.
 * `rowPtr/colIdx` are exactly the `children` CSR that learn's DagSchedule takes
 * (`new Csr(n, n, rowPtr, colIdx)`); they are new arrays exactly when a job arrives or leaves, so
 * a schedule can be cached by their identity.
 *
 * Action: a MaskedDiscrete over (stage row, parallelism limit) pairs, flattened as
 * `row * numExecutors + (limit - 1)`, plus one last action `idle` (= n - 1): leave the remaining
 * source executors idle (decima's `None` node). n = maxStages * numExecutors + 1. The limit is the
 * paper's parallelism limit: the total number of executors the stage's job may hold; the env sends
 * min(unassigned tasks of the stage, limit - executors the job already holds (not counting the
 * source executors when they are its own), number of source executors) executors. Limits below
 * `limitMin[job]` would send none and are masked. A decision point with nothing selectable is
 * never shown to the agent: those executors idle, as decima's agents answer there.
 *
 * Reward: minus the time integral of the number of jobs in the system since the previous step,
 * in seconds (decima-sim: the same in ms divided by reward_scale); over an episode it sums to
 * minus the total job completion time. Time is in ms everywhere else.
 */
import { Env, type Info, type ResetResult, type StepResult } from '../../core/env.js';
import { MaskedDiscrete } from '../../core/spaces.js';
import { SelfoptError } from '../../core/errors.js';
import { Simulator, SIM_DEFAULTS } from './sim.js';
import { sampleEpisode } from './workloads.js';
import { SchedulingObsSpace, MAX_ACTIONS, NODE_FEATURES, JOB_FEATURES, type SchedulingObs, type SchedulingEnvConfig, type SchedulingResetOptions, type SchedulingSnapshot, type EpisodeStats } from './obs.js';
export * from './obs.js';

export class SchedulingEnv extends Env<SchedulingObs, number> {
  readonly observationSpace: SchedulingObsSpace;
  readonly actionSpace: MaskedDiscrete;
  readonly sim: Simulator;
  readonly E: number;
  /** Executor classes; actions are (row * C + class) * E + limit - 1. */
  readonly C: number;
  readonly maxStages: number;
  readonly idleAction: number;
  private readonly cfg: SchedulingEnvConfig;
  private readonly mask: Uint8Array;
  /**
   * The mask kept up to date in place, row by row: slot row * C + class holds the actions
   * [slot * E + maskLo[slot], slot * E + E) set and the rest of its E actions clear (maskLo = E:
   * none set). A step rewrites only the slots whose lowest allowed limit changed, not every row.
   * maskSlots: the slots of the current rows (those that may hold set actions).
   */
  private maskLo = new Int32Array(0);
  private maskSlots = 0;
  private prevArea = 0;
  private obs!: SchedulingObs;
  private structVersion = -1;

  constructor(cfg: SchedulingEnvConfig) {
    super();
    this.cfg = cfg;
    this.E = cfg.numExecutors;
    this.sim = new Simulator({
      numExecutors: cfg.numExecutors, compat: cfg.compat ?? SIM_DEFAULTS.compat, movingDelayMs: cfg.movingDelayMs ?? SIM_DEFAULTS.movingDelayMs,
      warmupDelayMs: cfg.warmupDelayMs ?? SIM_DEFAULTS.warmupDelayMs, recordEvents: cfg.recordEvents ?? false, classMemory: cfg.executorClasses,
    });
    this.C = this.sim.C;
    // Every job of the episode may be in the system at once (a stream whose jobs arrive faster than
    // the cluster finishes them), so the rows cover all of them at the largest profile's stage count.
    const perJob = Math.max(1, ...cfg.pool.templates.map((t) => t.numStages));
    const w = cfg.workload;
    const jobs = w.kind === 'batch' ? w.numJobs : w.numInitial + w.numStream;
    const maxActions = cfg.maxActions ?? MAX_ACTIONS;
    this.maxStages = cfg.maxStages ?? jobs * perJob;
    // A long stream under a bound on actions (the server's 2^20: it sends the mask every step)
    // gets the rows that fit, when those hold at least one job: a stream at the load it was made
    // for holds a few jobs at a time, and one that overloads the rows ends with the error of
    // buildStructure, which names maxStages. A batch has every job in the system at its start,
    // so it gets all its rows or is refused here.
    const fitting = Math.floor((maxActions - 1) / (this.C * this.E));
    if (cfg.maxStages === undefined && w.kind === 'stream' && this.maxStages > fitting && fitting >= perJob) this.maxStages = fitting;
    const n = this.maxStages * this.C * this.E + 1;
    if (n > maxActions) {
      throw new SelfoptError(`the action space would have ${n.toLocaleString('en-US')} actions (${this.maxStages} stage rows x ${this.C} executor classes x ${this.E} executors + 1), more than ${maxActions.toLocaleString('en-US')}`,
        'SchedulingEnv', `fewer jobs, fewer executors or a smaller maxStages (the default gives each of the ${jobs} jobs of the ${w.kind} ${perJob} stage rows, the most stages of a profile)`);
    }
    this.actionSpace = new MaskedDiscrete(n);
    this.idleAction = this.maxStages * this.C * this.E;
    this.mask = new Uint8Array(this.actionSpace.n);
    this.actionSpace.setMask(this.mask);
    this.observationSpace = new SchedulingObsSpace(this.E);
  }

  protected doReset(options: Record<string, unknown> | undefined): ResetResult<SchedulingObs> {
    const o = (options ?? {}) as SchedulingResetOptions;
    // The workload depends on the seed only (so every policy meets the same jobs); durations get their own stream.
    const episode = this.rng.split(this.rng.nextU32());
    let jobs = o.jobs, numInitial = o.numInitial;
    if (!jobs) ({ jobs, numInitial } = sampleEpisode(this.cfg.workload, this.cfg.pool, episode.split('workload')));
    let stageMemory: Float64Array | undefined;
    if (this.C > 1) {
      // Demands from their own stream, so the jobs and durations are those of the single-resource episode.
      const mem = episode.split('memory');
      stageMemory = new Float64Array(jobs.reduce((n, j) => n + j.template.numStages, 0));
      for (let i = 0; i < stageMemory.length; i++) stageMemory[i] = 1 - mem.next(); // (0, 1]
    }
    this.sim.load(jobs, numInitial ?? jobs.length, episode.split('durations'), stageMemory);
    this.prevArea = 0;
    this.structVersion = -1;
    this.buildObs();
    return { obs: this.obs, info: { actionMask: this.mask } };
  }

  /**
   * The episode's exact state at the current decision (simulator, its duration Rng, the env's
   * own Rng and reward bookkeeping), detached from this env. `restore` on this env, or on another
   * built from the same config, continues exactly as this episode would: same observations,
   * rewards and event times for the same actions. Rollouts branch from it without replaying.
   */
  snapshot(): SchedulingSnapshot {
    if (this.needsReset) throw new SelfoptError('snapshot() with no episode in progress', 'SchedulingEnv.snapshot', 'reset() first, and an episode that has not ended');
    return { sim: this.sim.snapshot(), rng: this.rng.clone(), prevArea: this.prevArea, maxStages: this.maxStages };
  }

  /** Continues from `snap` (the snapshot stays usable: restore copies it). Returns the observation there. */
  restore(snap: SchedulingSnapshot): ResetResult<SchedulingObs> {
    if (snap.maxStages !== this.maxStages || snap.sim.E !== this.E) {
      throw new SelfoptError(`a snapshot of an env with ${snap.sim.E} executors and ${snap.maxStages} stage rows`, 'SchedulingEnv.restore', `an env with ${this.E} executors and ${this.maxStages} stage rows (the same config)`);
    }
    this.sim.restore(snap.sim);
    this.rng = snap.rng.clone();
    this.prevArea = snap.prevArea;
    this.structVersion = -1; // a new observation object: rows and edges may differ from the last episode's
    this.buildObs();
    this.needsReset = false;
    return { obs: this.obs, info: { actionMask: this.mask } };
  }

  override step(action: number): StepResult<SchedulingObs> {
    // A truncated episode still has a state and a mask: judged against them, an action sent after
    // the end read as an invalid action rather than as an episode that is over.
    if (this.truncated()) throw new SelfoptError(`step(${action}) ${this.afterTruncation()}; nothing was changed`, 'SchedulingEnv.step', 'reset() to start a new episode, then step');
    if (!this.needsReset && !this.sim.done) this.checkAction(action);
    return super.step(action);
  }

  protected doStep(action: number): StepResult<SchedulingObs> {
    const sim = this.sim;
    if (action === this.idleAction) sim.decide(-1, sim.numSourceExec);
    else {
      const { row, cls, limit } = this.decode(action);
      const s = this.stageOfRow(row);
      const j = sim.stJob[s]!;
      const own = j === sim.sourceJob ? Math.min(sim.numSourceExec, sim.execCount(j)) : 0;
      sim.decide(s, Math.min(limit - sim.execCount(j) + own, sim.numSourceByClass[cls]!), cls);
    }
    const reward = -(sim.area - this.prevArea) / 1000;
    this.prevArea = sim.area;
    const terminated = sim.done;
    const truncated = !terminated && this.cfg.maxTimeMs !== undefined && sim.time >= this.cfg.maxTimeMs;
    if (!terminated) this.buildObs();
    const info: Info = terminated ? {} : { actionMask: this.mask };
    return { obs: this.obs, reward, terminated, truncated, info };
  }

  /** Whether maxTimeMs ended the episode (until reset or restore): the clock has stood at that time since. */
  private truncated(): boolean {
    return this.needsReset && this.endedBy === 'truncated';
  }

  private afterTruncation(): string {
    return `after the episode ended: it was truncated at time ${this.sim.time} ms (maxTimeMs ${this.cfg.maxTimeMs})`;
  }

  /** A truncated episode's end with its time and limit (the base class says only that it ended). */
  override whyInvalid(action: number): string | undefined {
    if (this.truncated()) return `action ${action} ${this.afterTruncation()}; reset() first`;
    return super.whyInvalid(action);
  }

  /** The reason checkAction gives (which stage, why it cannot be picked), for the server. */
  protected override whyRefused(action: number): string | undefined {
    if (this.needsReset || this.sim.done) return super.whyRefused(action);
    try {
      this.checkAction(action);
    } catch (e) {
      if (e instanceof SelfoptError) return `${e.what}; expected ${e.expected}`;
      throw e;
    }
    return super.whyRefused(action);
  }

  /** Why an action is invalid, as a SelfoptError; nothing is changed. */
  private checkAction(a: number): void {
    const where = 'SchedulingEnv.step';
    const n = this.actionSpace.n;
    // A client's list as it sent it: as text, [1, 2] read "1,2" and [3] read "3", like a valid action.
    const shown = typeof a === 'number' ? String(a) : JSON.stringify(a);
    if (!(Number.isInteger(a) && a >= 0 && a < n)) throw new SelfoptError(`invalid action ${shown}: not an integer in [0, ${n})`, where, `row * ${this.E} + (limit - 1) for a stage row and a parallelism limit 1..${this.E}, or ${this.idleAction} (idle)`);
    if (a === this.idleAction) {
      if (this.sim.idleWouldStall) throw new SelfoptError(`invalid action ${a} (idle): every executor is idle, no task runs and no job is due, so the executors were handed back after the last idle; idling again would stall the episode`, where, 'a stage row with stageMask = 1 and a parallelism limit');
      return;
    }
    const { row, cls, limit } = this.decode(a), o = this.obs;
    if (row >= o.numNodes) throw new SelfoptError(`invalid action ${a}: stage row ${row} does not exist (the observation has ${o.numNodes} stage rows)`, where, `a row below ${o.numNodes} with stageMask = 1`);
    const k = o.stageJob[row]!;
    if (!o.stageMask[row]) {
      const s = this.stageOfRow(row), sim = this.sim;
      let why = 'its parents are not all saturated';
      if (sim.selected[s]) why = 'it was already chosen for these source executors';
      else if (sim.unassigned(s) <= 0) why = 'every task of it is started or already has an executor on the way (saturated)';
      throw new SelfoptError(`invalid action ${a}: stage row ${row} (job ${o.jobId[k]}, stage ${s - sim.jobStageBase[o.jobId[k]!]!}) cannot be picked now: ${why}`, where, 'a stage row with stageMask = 1 (see info.actionMask)');
    }
    if (this.C > 1 && !o.stageClassMask[row * this.C + cls]) {
      const why = o.sourceByClass[cls] === 0 ? `no offered executor is of class ${cls}` : `its tasks need memory ${o.stageMemory[row]!.toFixed(3)} and class ${cls} has ${o.classMemory[cls]}`;
      throw new SelfoptError(`invalid action ${a}: stage row ${row} cannot get executors of class ${cls}: ${why}`, where, 'a (stage, class) pair with stageClassMask = 1 (see info.actionMask)');
    }
    if (limit < o.limitMin[k]!) throw new SelfoptError(`invalid action ${a}: parallelism limit ${limit} for job row ${k}, which already holds ${o.jobExecutors[k]} executors, would send none`, where, `a limit in ${o.limitMin[k]}..${this.E} for this job`);
  }

  /** (stage row, executor class, parallelism limit) of a flat action. */
  decode(a: number): { row: number; cls: number; limit: number } {
    const E = this.E, C = this.C;
    return { row: Math.floor(a / (C * E)), cls: Math.floor(a / E) % C, limit: (a % E) + 1 };
  }

  private stageOfRow(row: number): number {
    const o = this.obs;
    const k = o.stageJob[row]!;
    return this.sim.jobStageBase[o.jobId[k]!]! + (row - o.jobPtr[k]!);
  }

  // ---------------------------------------------------------------------------------------------
  // Observation
  // ---------------------------------------------------------------------------------------------

  private buildObs(): void {
    const sim = this.sim;
    // Structure (rows, edges, static columns) changes only when a job arrives or leaves.
    if (sim.structVersion !== this.structVersion) {
      // The rows are renumbered: clear the old rows' actions, then start every new slot empty.
      for (let slot = 0; slot < this.maskSlots; slot++) this.setMaskSlot(slot, this.E);
      this.buildStructure();
      this.maskSlots = this.obs.numNodes * this.C;
      if (this.maskLo.length < this.maskSlots) this.maskLo = new Int32Array(this.maskSlots).fill(this.E);
    }
    const o = this.obs, E = this.E;
    const J = o.numJobs;
    const srcRow = this.rowOfJob(sim.sourceJob);
    o.sourceJob = srcRow;
    o.numSourceExec = sim.numSourceExec;
    o.sourceByClass.set(sim.numSourceByClass);
    o.timeMs = sim.time;
    // job columns
    for (let k = 0; k < J; k++) {
      const j = o.jobId[k]!;
      const ex = sim.execCount(j);
      o.jobExecutors[k] = ex;
      // The job's source executors are not counted against the limit (the multi-resource variant can
      // offer unattached executors with a job's pool: only the attached ones, at most ex, are its own).
      o.limitMin[k] = ex - (k === srcRow ? Math.min(sim.numSourceExec, ex) : 0) + 1;
      o.jobFeatures[k * JOB_FEATURES] = ex / 20;
      o.jobFeatures[k * JOB_FEATURES + 1] = k === srcRow ? 2 : -2;
      o.jobFeatures[k * JOB_FEATURES + 2] = sim.numSourceExec / 20;
    }
    // stage columns and the flat mask
    const C = this.C;
    for (let k = 0; k < J; k++) {
      const j = o.jobId[k]!, base = sim.jobStageBase[j]!, row0 = o.jobPtr[k]!;
      let remaining = 0;
      const lmin = o.limitMin[k]!;
      for (let r = row0; r < o.jobPtr[k + 1]!; r++) {
        const s = base + (r - row0);
        const left = sim.numTasks[s]! - sim.nextTask[s]!;
        const rough = o.stageRoughMs[r]!;
        remaining += left * rough;
        const f = r * NODE_FEATURES;
        o.nodeFeatures[f] = o.jobFeatures[k * JOB_FEATURES]!;
        o.nodeFeatures[f + 1] = o.jobFeatures[k * JOB_FEATURES + 1]!;
        o.nodeFeatures[f + 2] = o.jobFeatures[k * JOB_FEATURES + 2]!;
        o.nodeFeatures[f + 3] = (left * rough) / 100000;
        o.nodeFeatures[f + 4] = left / 200;
        o.stageUnassigned[r] = sim.unassigned(s);
        o.stageFrontierSeq[r] = sim.frontierSeq[s]!;
        o.stageDone[r] = sim.finished[s] === sim.numTasks[s] ? 1 : 0;
        let ok = sim.selectable[s]! === 1 && lmin <= E ? 1 : 0;
        if (ok && C > 1) {
          // which classes the offered executors can send here
          ok = 0;
          for (let c = 0; c < C; c++) {
            const fit = sim.numSourceByClass[c]! > 0 && sim.fits(s, c) ? 1 : 0;
            o.stageClassMask[r * C + c] = fit;
            this.setMaskSlot(r * C + c, fit ? lmin - 1 : E);
            if (fit) ok = 1;
          }
        } else if (C > 1) {
          o.stageClassMask.fill(0, r * C, r * C + C);
          for (let c = 0; c < C; c++) this.setMaskSlot(r * C + c, E);
        } else this.setMaskSlot(r, ok ? lmin - 1 : E);
        o.stageMask[r] = ok;
      }
      o.jobRemainingWorkMs[k] = remaining;
    }
    this.mask[this.idleAction] = sim.idleWouldStall ? 0 : 1;
  }

  /** Sets the actions of mask slot `slot` (row * C + class) with limits lo + 1 .. E, clears those below: writes only what changed. */
  private setMaskSlot(slot: number, lo: number): void {
    const old = this.maskLo[slot]!;
    if (old === lo) return;
    const base = slot * this.E, mask = this.mask;
    if (lo < old) for (let a = base + lo; a < base + old; a++) mask[a] = 1;
    else for (let a = base + old; a < base + lo; a++) mask[a] = 0;
    this.maskLo[slot] = lo;
  }

  private rowOfJob(j: number): number {
    if (j < 0 || this.sim.jobState[j] !== 1) return -1;
    const o = this.obs;
    for (let k = 0; k < o.numJobs; k++) if (o.jobId[k] === j) return k;
    return -1;
  }

  private buildStructure(): void {
    const sim = this.sim;
    const J = sim.sysCount;
    this.structVersion = sim.structVersion;
    let n = 0, m = 0;
    for (let k = 0; k < J; k++) {
      const j = sim.sysJobs[k]!;
      n += sim.jobStageBase[j + 1]! - sim.jobStageBase[j]!;
      m += sim.childPtr[sim.jobStageBase[j + 1]!]! - sim.childPtr[sim.jobStageBase[j]!]!;
    }
    if (n > this.maxStages) {
      throw new SelfoptError(`the system holds ${n} stages (${J} jobs), more than the ${this.maxStages} stage rows of the action space`, 'SchedulingEnv', 'a larger maxStages in the env config');
    }
    const o: SchedulingObs = {
      numNodes: n, nodeFeatures: new Float32Array(n * NODE_FEATURES), rowPtr: new Int32Array(n + 1), colIdx: new Int32Array(m),
      numJobs: J, jobPtr: new Int32Array(J + 1), stageJob: new Int32Array(n), jobFeatures: new Float32Array(J * JOB_FEATURES),
      stageMask: new Uint8Array(n), limitMin: new Int32Array(J), numExecutors: this.E, sourceJob: -1, numSourceExec: 0, timeMs: 0,
      jobId: new Int32Array(J), jobArrivalMs: new Float64Array(J), jobExecutors: new Int32Array(J), jobTotalWorkMs: new Float64Array(J),
      jobRemainingWorkMs: new Float64Array(J), stageNumTasks: new Int32Array(n), stageUnassigned: new Int32Array(n), stageRoughMs: new Float64Array(n),
      stageCriticalPathMs: new Float64Array(n), stageFrontierSeq: new Int32Array(n), stageDone: new Uint8Array(n),
      numClasses: this.C, classMemory: sim.classMem, classSize: sim.classSize, sourceByClass: new Int32Array(this.C), stageMemory: new Float64Array(n), stageClassMask: new Uint8Array(n * this.C),
    };
    let r = 0, e = 0;
    for (let k = 0; k < J; k++) {
      const j = sim.sysJobs[k]!, tpl = sim.jobTpl[j]!, base = sim.jobStageBase[j]!;
      o.jobId[k] = j;
      o.jobArrivalMs[k] = sim.jobArrival[j]!;
      o.jobTotalWorkMs[k] = tpl.totalWorkMs;
      o.jobPtr[k] = r;
      const row0 = r;
      for (let l = 0; l < tpl.numStages; l++, r++) {
        o.stageJob[r] = k;
        o.stageNumTasks[r] = tpl.numTasks[l]!;
        o.stageRoughMs[r] = tpl.roughDurationMs[l]!;
        o.stageCriticalPathMs[r] = tpl.criticalPathMs[l]!;
        o.stageMemory[r] = sim.stMem[base + l]!;
        const s = base + l;
        for (let p = sim.childPtr[s]!; p < sim.childPtr[s + 1]!; p++) o.colIdx[e++] = row0 + (sim.childIdx[p]! - base);
        o.rowPtr[r + 1] = e;
      }
    }
    o.jobPtr[J] = r;
    this.obs = o;
  }

  /** Results of the episode just run (call after it terminated). */
  stats(): EpisodeStats {
    const sim = this.sim;
    const jct = new Float64Array(sim.completed);
    let k = 0, makespan = 0;
    for (let j = 0; j < sim.J; j++) {
      if (sim.jobState[j] !== 2) continue;
      jct[k++] = sim.jobCompletion[j]! - sim.jobArrival[j]!;
      makespan = Math.max(makespan, sim.jobCompletion[j]!);
    }
    return { jctMs: jct, completed: sim.completed, numJobs: sim.J, makespanMs: makespan, endMs: sim.time, decisions: sim.decisions, taskEvents: sim.taskEvents, recoveries: sim.recoveries };
  }
}
