/**
 * A stronger teacher for Decima's imitation warm start: one step of Monte-Carlo rollout policy
 * improvement (Bertsekas and Tsitsiklis' rollout algorithm; Tesauro and Galperin, NIPS 1996)
 * over weighted fair sharing. Not in the Decima paper; a search method with a simulator, so it
 * is documented as such and never reported as a heuristic.
 *
 * At each decision, the candidate actions are those that a few heuristics would take in this
 * state (weighted fair at the tuned alpha and at alpha +- spread, fair, SJF-CP), merged when
 * they send the same executors to the same stage. Each distinct candidate is scored by
 * `rollouts` simulations of the rest of the episode: the state is rebuilt by replaying the
 * episode's seed and its actions so far (the simulator is deterministic given both), the
 * duration stream is then replaced by a FRESH one (`Simulator.reseedDurations`, the same fresh
 * seeds for every candidate: common random numbers), the candidate is taken, and weighted fair
 * at the tuned alpha plays on to the end. The candidate with the lowest mean total JCT wins.
 *
 * What the teacher knows that Decima does not: the end times already drawn for tasks running at
 * the branch point (the replayed state holds them). It never sees a future draw of the episode.
 * Batch workloads only: in a stream the replayed episode holds the future arrivals too.
 */
import { Rng } from '../../core/rng.js';
import { SelfoptError } from '../../core/errors.js';
import type { Info } from '../../core/env.js';
import type { SchedulingEnv, SchedulingObs } from './env.js';
import type { SchedulingPolicy } from './evaluate.js';
import { WeightedFair, SjfCriticalPath } from './heuristics.js';

export interface RolloutTeacherConfig {
  /** The base policy's alpha (tuned weighted fair's, from the sweep on training seeds). */
  alpha: number;
  /** Fresh-seed simulations per candidate. */
  rollouts: number;
  /** Candidates also include weighted fair at alpha - spread and alpha + spread. */
  spread: number;
}

export const ROLLOUT_TEACHER_DEFAULTS: Omit<RolloutTeacherConfig, 'alpha'> = { rollouts: 4, spread: 0.6 };

/**
 * The rollout teacher. `begin(seed)` at each episode reset, `record(action)` after every action
 * actually taken in the episode (by whoever took it), `act()` to ask it for a decision.
 */
export class RolloutTeacher implements SchedulingPolicy {
  private seed = 0;
  private readonly history: number[] = [];
  private readonly base: WeightedFair;
  private readonly candidates: SchedulingPolicy[];
  /** Decisions asked, decisions with more than one distinct candidate, simulations run, decisions where the base was overruled. */
  stats = { decisions: 0, contested: 0, simulations: 0, changed: 0 };

  /** `env` is the teacher's own (not the episode's): it is reset for every simulation. */
  constructor(private readonly env: SchedulingEnv, readonly cfg: RolloutTeacherConfig) {
    if (!(Number.isInteger(cfg.rollouts) && cfg.rollouts >= 1)) throw new SelfoptError(`rollouts = ${cfg.rollouts}`, 'RolloutTeacher', 'an integer >= 1');
    this.base = new WeightedFair(cfg.alpha);
    this.candidates = [this.base, new WeightedFair(cfg.alpha - cfg.spread), new WeightedFair(cfg.alpha + cfg.spread), new WeightedFair(0), new SjfCriticalPath()];
  }

  begin(seed: number): void {
    this.seed = seed;
    this.history.length = 0;
  }

  record(action: number): void {
    this.history.push(action);
  }

  act(o: SchedulingObs, info: Info, rng: Rng): number {
    this.stats.decisions++;
    const acts: number[] = [], keys: string[] = [];
    for (const c of this.candidates) {
      const a = c.act(o, info, rng);
      const key = effectKey(o, a, this.env.idleAction);
      if (!keys.includes(key)) { keys.push(key); acts.push(a); }
    }
    if (acts.length === 1) return acts[0]!;
    this.stats.contested++;
    const seeds = Array.from({ length: this.cfg.rollouts }, () => rng.nextU32());
    let best = 0, bestCost = Infinity;
    for (let i = 0; i < acts.length; i++) {
      let cost = 0;
      for (const s of seeds) cost += this.simulate(o, acts[i]!, s);
      if (cost < bestCost) { bestCost = cost; best = i; }
    }
    if (best !== 0) this.stats.changed++;
    return acts[best]!;
  }

  /** Total JCT (ms x jobs, the area under the jobs-in-system curve) of one fresh-seed continuation after `action`. */
  private simulate(o: SchedulingObs, action: number, freshSeed: number): number {
    const env = this.env;
    let { obs } = env.reset({ seed: this.seed });
    for (const a of this.history) ({ obs } = env.step(a));
    // The replay must land on the state the decision is about (same clock, same decision count).
    if (env.sim.decisions !== this.history.length || !sameState(obs, o)) {
      throw new SelfoptError(`replay of ${this.history.length} actions reached t = ${obs.timeMs} ms after ${env.sim.decisions} decisions, the episode is at t = ${o.timeMs} ms`, 'RolloutTeacher', 'begin(seed) at reset and record(action) after every step of the episode');
    }
    this.stats.simulations++;
    env.sim.reseedDurations(new Rng(freshSeed));
    let r = env.step(action);
    while (!r.terminated) {
      if (r.truncated) throw new SelfoptError('a rollout was truncated', 'RolloutTeacher', 'an episode without a time limit');
      r = env.step(this.base.act(r.obs, r.info));
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
  teacher.begin(seed);
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
