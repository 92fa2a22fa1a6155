/**
 * A stronger teacher for Decima's imitation warm start: one step of Monte-Carlo rollout policy
 * improvement (Bertsekas and Tsitsiklis' rollout algorithm; Tesauro and Galperin, NIPS 1996)
 * over weighted fair sharing. Not in the Decima paper; a search method with a simulator, so it
 * is documented as such and never reported as a heuristic.
 *
 * At each decision, the candidate actions are those that a few heuristics would take in this
 * state (weighted fair at the tuned alpha and at alpha +- spread, fair, SJF-CP), merged when
 * they send the same executors to the same stage. Each distinct candidate is scored by
 * `rollouts` simulations of the rest of the episode: the state is restored from an exact
 * snapshot of the episode at the decision (`SchedulingEnv.snapshot`; `branch: 'replay'` rebuilds
 * it instead by replaying the episode's seed and its actions so far, the reference the snapshot
 * is checked against), the duration stream is then replaced by a FRESH one
 * (`Simulator.reseedDurations`, the same fresh seeds for every candidate: common random
 * numbers), the candidate is taken, and weighted fair at the tuned alpha plays on to the end.
 * The candidate with the lowest mean total JCT wins. Another base can be given (headroom.ts runs
 * a per-episode plan, `PriorityShare`, as base: rollout over a stronger base).
 *
 * What the teacher knows that Decima does not: the end times already drawn for tasks running at
 * the branch point (the restored state holds them), unless `resampleRunning` redraws them in
 * each fresh stream (given how long each task has run). It never sees a future draw of the episode,
 * except with `clairvoyant` (the headroom study, headroom.ts: one simulation per candidate on
 * the episode's own Rng state; durations are drawn in task-start order, so a different schedule
 * still meets different draws: "clairvoyant" means the same random stream, not known task times).
 * Batch workloads only: in a stream the restored episode holds the future arrivals too.
 */
import { Rng } from '../../core/rng.js';
import { SelfoptError } from '../../core/errors.js';
import type { Info } from '../../core/env.js';
import type { SchedulingEnv, SchedulingObs, SchedulingSnapshot } from './env.js';
import type { SchedulingPolicy } from './evaluate.js';
import { SjfCriticalPath } from './heuristics.js';
import { WeightedFair, type JobOrder } from './weighted-fair.js';

export interface RolloutTeacherConfig {
  /** The base policy's alpha (tuned weighted fair's, from the sweep on training seeds). */
  alpha: number;
  /** Fresh-seed simulations per candidate. */
  rollouts: number;
  /** Candidates also include weighted fair at alpha - spread and alpha + spread. */
  spread: number;
  /** The order in which the base (and the other weighted fair candidates) visit jobs under their share; default arrival. */
  order?: JobOrder;
  /** Also the base's stage with its limit moved by each of these (executors), e.g. [-4, -2, -1, 1, 2, 4]; default none. */
  limitDeltas?: readonly number[];
  /** One simulation per candidate on the episode's own Rng state (headroom study only); default false. */
  clairvoyant?: boolean;
  /**
   * Overrule the base only when the best candidate's estimated gain, in average JCT over the
   * simulations (seconds), is at least this; default 0 (any gain). Fewer, more certain overrules:
   * labels a student can reproduce.
   */
  minGainS?: number;
  /** Fresh streams also redraw the end times of the tasks running at the branch point (Simulator.resampleRunningTasks); default false. */
  resampleRunning?: boolean;
  /** How a simulation reaches the decision: restore a snapshot (default) or replay the episode from its seed. */
  branch?: 'snapshot' | 'replay';
}

export const ROLLOUT_TEACHER_DEFAULTS: Omit<RolloutTeacherConfig, 'alpha'> = { rollouts: 4, spread: 0.6 };

/**
 * Other policies for the teacher than weighted fair (headroom.ts: a per-episode plan as base).
 * Each must be a deterministic function of the observation (no random draw, no state carried
 * between decisions): the same object acts in the episode and in every simulation.
 */
export interface RolloutTeacherPolicies {
  /**
   * The base: the first candidate and the policy every simulation plays on to the end. Default:
   * weighted fair at `alpha` visiting jobs in `order`; when given, that weighted fair stays
   * among the candidates, after it.
   */
  base?: SchedulingPolicy;
  /** More candidates, after the weighted fair ones, fair and SJF-CP (before the limit variants). */
  extra?: readonly SchedulingPolicy[];
}

/**
 * The rollout teacher. `begin(env, seed)` at each episode reset (env: the episode's), `record(action)`
 * after every action actually taken in the episode (by whoever took it; the replay needs it),
 * `act()` to ask it for a decision.
 */
export class RolloutTeacher implements SchedulingPolicy {
  private seed = 0;
  private episode: SchedulingEnv | null = null;
  private readonly history: number[] = [];
  private readonly base: SchedulingPolicy;
  /** Given to the base in simulations; a deterministic base (as required) never draws from it. */
  private readonly baseRng = new Rng(0);
  private readonly candidates: SchedulingPolicy[];
  /** Decisions asked, decisions with more than one distinct candidate, simulations run, decisions where the base was overruled. */
  stats = { decisions: 0, contested: 0, simulations: 0, changed: 0 };

  /** `env` is the teacher's own (not the episode's): it is restored (or reset) for every simulation. */
  constructor(private readonly env: SchedulingEnv, readonly cfg: RolloutTeacherConfig, policies: RolloutTeacherPolicies = {}) {
    if (!(Number.isInteger(cfg.rollouts) && cfg.rollouts >= 1)) throw new SelfoptError(`rollouts = ${cfg.rollouts}`, 'RolloutTeacher', 'an integer >= 1');
    const order = cfg.order ?? 'arrival';
    const wf = new WeightedFair(cfg.alpha, order);
    this.base = policies.base ?? wf;
    this.candidates = [this.base, ...(policies.base ? [wf] : []), new WeightedFair(cfg.alpha - cfg.spread, order), new WeightedFair(cfg.alpha + cfg.spread, order), new WeightedFair(0, order), new SjfCriticalPath(), ...(policies.extra ?? [])];
  }

  begin(episode: SchedulingEnv, seed: number): void {
    this.episode = episode;
    this.seed = seed;
    this.history.length = 0;
  }

  record(action: number): void {
    this.history.push(action);
  }

  /** The distinct candidate actions in this state, the base's first. */
  candidateActions(o: SchedulingObs, info: Info, rng: Rng): number[] {
    const acts: number[] = [], keys: string[] = [];
    const add = (a: number) => {
      const key = effectKey(o, a, this.env.idleAction);
      if (!keys.includes(key)) { keys.push(key); acts.push(a); }
    };
    for (const c of this.candidates) add(c.act(o, info, rng));
    const a0 = acts[0]!;
    if (this.cfg.limitDeltas && a0 !== this.env.idleAction) {
      const E = o.numExecutors, row = Math.floor(a0 / E), limit = (a0 % E) + 1, lmin = o.limitMin[o.stageJob[row]!]!;
      for (const d of this.cfg.limitDeltas) {
        const l = limit + d;
        if (l >= lmin && l <= E) add(row * E + l - 1);
      }
    }
    return acts;
  }

  act(o: SchedulingObs, info: Info, rng: Rng): number {
    this.stats.decisions++;
    const acts = this.candidateActions(o, info, rng);
    if (acts.length === 1) return acts[0]!;
    this.stats.contested++;
    const seeds: (number | null)[] = Array.from({ length: this.cfg.rollouts }, () => rng.nextU32());
    const streams = this.cfg.clairvoyant ? [null] : seeds;
    const snap = this.cfg.branch === 'replay' ? null : this.episodeEnv().snapshot();
    let best = 0, bestCost = Infinity, baseCost = 0;
    for (let i = 0; i < acts.length; i++) {
      let cost = 0;
      for (const s of streams) cost += this.simulate(o, acts[i]!, s, snap);
      if (i === 0) baseCost = cost;
      if (cost < bestCost) { bestCost = cost; best = i; }
    }
    // area is ms x jobs: the gain in average JCT (s) per simulation
    if (best !== 0 && (baseCost - bestCost) / streams.length / this.env.sim.J / 1000 < (this.cfg.minGainS ?? 0)) best = 0;
    if (best !== 0) this.stats.changed++;
    return acts[best]!;
  }

  private episodeEnv(): SchedulingEnv {
    if (!this.episode) throw new SelfoptError('act() before begin()', 'RolloutTeacher', 'begin(env, seed) at each episode reset');
    return this.episode;
  }

  /** Total JCT (ms x jobs, the area under the jobs-in-system curve) of one continuation after `action`, on a fresh stream or (null) the episode's own. */
  private simulate(o: SchedulingObs, action: number, freshSeed: number | null, snap: SchedulingSnapshot | null): number {
    const env = this.env;
    if (snap) {
      const { obs } = env.restore(snap);
      if (!sameState(obs, o)) throw new SelfoptError(`the snapshot is at t = ${obs.timeMs} ms, the decision at t = ${o.timeMs} ms`, 'RolloutTeacher', 'act() with the observation of the episode given to begin()');
    } else {
      let { obs } = env.reset({ seed: this.seed });
      for (const a of this.history) ({ obs } = env.step(a));
      // The replay must land on the state the decision is about (same clock, same decision count).
      if (env.sim.decisions !== this.history.length || !sameState(obs, o)) {
        throw new SelfoptError(`replay of ${this.history.length} actions reached t = ${obs.timeMs} ms after ${env.sim.decisions} decisions, the episode is at t = ${o.timeMs} ms`, 'RolloutTeacher', 'begin(env, seed) at reset and record(action) after every step of the episode');
      }
    }
    this.stats.simulations++;
    if (freshSeed !== null) {
      const fresh = new Rng(freshSeed);
      env.sim.reseedDurations(fresh);
      if (this.cfg.resampleRunning) env.sim.resampleRunningTasks(fresh.split('running'));
    }
    let r = env.step(action);
    while (!r.terminated) {
      if (r.truncated) throw new SelfoptError('a rollout was truncated', 'RolloutTeacher', 'an episode without a time limit');
      r = env.step(this.base.act(r.obs, r.info, this.baseRng));
    }
    return env.sim.area;
  }
}

/** Same clock, offered executors, jobs and unassigned tasks per stage: the replay reached the decision. */
function sameState(a: SchedulingObs, b: SchedulingObs): boolean {
  if (a.timeMs !== b.timeMs || a.numSourceExec !== b.numSourceExec || a.numJobs !== b.numJobs || a.numNodes !== b.numNodes) return false;
  for (let r = 0; r < a.numNodes; r++) if (a.stageUnassigned[r] !== b.stageUnassigned[r] || a.stageMask[r] !== b.stageMask[r]) return false;
  return true;
}

/** Actions that send the same executors to the same stage are one decision. */
function effectKey(o: SchedulingObs, a: number, idle: number): string {
  if (a === idle) return 'idle';
  const E = o.numExecutors, row = Math.floor(a / E), limit = (a % E) + 1;
  const k = o.stageJob[row]!, held = o.limitMin[k]! - 1;
  const sent = Math.min(limit - held, o.stageUnassigned[row]!, o.numSourceExec);
  return `${row}:${sent}`;
}

/** Runs one whole episode under the teacher (for measurement); returns its average JCT in seconds. */
export function runTeacherEpisode(env: SchedulingEnv, teacher: RolloutTeacher, seed: number): number {
  const policyRng = new Rng(seed).split('teacher');
  let { obs, info } = env.reset({ seed });
  teacher.begin(env, seed);
  for (;;) {
    const a = teacher.act(obs, info, policyRng);
    const r = env.step(a);
    teacher.record(a);
    if (r.terminated) break;
    obs = r.obs;
    info = r.info;
  }
  return env.stats().jctMs.reduce((s, x) => s + x, 0) / env.stats().jctMs.length / 1000;
}
