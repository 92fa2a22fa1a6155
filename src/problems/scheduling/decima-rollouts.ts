/**
 * The episodes Decima's training learns from (decima-train.ts): one recorded episode, cut at the
 * curriculum's horizon, and an iteration's batch of them, run in this thread or on rollout worker
 * threads (decima-worker.ts).
 *
 * Why not learn's rollout workers: they record a flat action mask per step (n = stages x
 * executors), which is too large for streams; the update dominates the time anyway.
 */
import { Worker } from 'node:worker_threads';
import type { Rng } from '../../core/rng.js';
import { SelfoptError } from '../../core/errors.js';
import { getFlatWeights } from '../../learn/index.js';
import { encodeFirstFit, type SchedulingEnv } from './env.js';
import { makeEnv } from './evaluate.js';
import type { SchedulingInstance } from './instances.js';
import { WeightedFair, type JobOrder, type RankShape } from './weighted-fair.js';
import { firstFitClass } from './heuristics.js';
import { runImitationEpisode, type BufferedEpisode } from './decima-imitation.js';
import { RolloutTeacher, ROLLOUT_TEACHER_DEFAULTS } from './decima-teacher.js';
import type { EpisodeTask, WorkerInit } from './decima-worker.js';
import { snapshot, type DecimaNet, type Step } from './decima-net.js';
import { decide, StructureCache } from './decima-policy.js';
import type { DecimaConfig } from './decima-train.js';

/** One recorded episode (possibly cut at the curriculum horizon). */
export interface DecimaEpisode {
  steps: Step[];
  rows: Int32Array;
  limits: Int32Array;
  /** Scaled rewards, the clock (s) after each step, the clock at reset. */
  rewards: Float64Array;
  times: Float64Array;
  startTime: number;
  values: Float64Array;
  complete: boolean;
  /** Total JCT (s) when complete. */
  totalJctS: number;
}

/** One episode of the net sampling with `rng`, recorded for REINFORCE; it stops at the curriculum's horizon (s). */
export function runDecimaEpisode(env: SchedulingEnv, net: DecimaNet, seed: number, rng: Rng, horizonS: number, rewardScale: number): DecimaEpisode {
  const cache = new StructureCache();
  let { obs } = env.reset({ seed });
  const steps: Step[] = [], rows: number[] = [], limits: number[] = [], rewards: number[] = [], times: number[] = [];
  const startTime = obs.timeMs / 1000;
  let complete = false, total = 0;
  for (;;) {
    const st = snapshot(obs, cache.get(obs));
    const { row, limit } = decide(net, st, rng);
    steps.push(st);
    rows.push(row);
    limits.push(limit);
    const r = env.step(encodeFirstFit(obs, row, limit));
    total += r.reward;
    rewards.push(r.reward / rewardScale);
    if (r.terminated) {
      times.push(env.sim.time / 1000);
      complete = true;
      break;
    }
    obs = r.obs;
    times.push(obs.timeMs / 1000);
    if (r.truncated || obs.timeMs / 1000 >= horizonS) break;
  }
  return { steps, rows: Int32Array.from(rows), limits: Int32Array.from(limits), rewards: Float64Array.from(rewards), times: Float64Array.from(times), startTime, values: new Float64Array(rows.length), complete, totalJctS: -total };
}

/**
 * An imitation episode's expert (decima-imitation.ts): weighted fair at `alpha` visiting jobs in
 * `order` acts with probability `beta`; with `teacherRollouts` > 0 (simulations per candidate) the
 * rollout teacher over it labels a `labelShare` of the states.
 */
export interface ImitationExpert {
  alpha: number;
  order: JobOrder;
  /** tuned-rank-weighted-fair's bump over the size rank (order 'work'); null or absent: flat shares. */
  shape?: RankShape | null;
  beta: number;
  teacherRollouts: number;
  labelShare: number;
  /** The teacher's extra candidates: the base's stage with its limit moved by these (empty: none). */
  limitDeltas?: number[];
  /** The teacher redraws the end times of running tasks in its fresh streams. */
  hideRunning?: boolean;
  /** The teacher overrules the base only for at least this estimated gain in average JCT (s). */
  minGainS?: number;
}

/**
 * Runs imitation episodes on the training instances, one way for this thread and the rollout
 * threads: the expert and the rollout teacher (decima-teacher.ts, its spread the default) are
 * built per episode; the teacher replays the episode in its own env per instance, made when first
 * needed.
 */
export class ImitationRunner {
  private readonly teacherEnvs = new Map<number, SchedulingEnv>();
  constructor(private readonly instances: readonly SchedulingInstance[]) {}

  run(instance: number, env: SchedulingEnv, net: DecimaNet, seed: number, rng: Rng, x: ImitationExpert): BufferedEpisode {
    // First fit lifts the expert's (stage, limit) to an executor class on a multi-resource cluster (a no-op on one class).
    const expert = firstFitClass(new WeightedFair(x.alpha, x.order, x.shape ?? undefined));
    // The teacher's base is the expert (its alpha, order and shape); with no extras it is the teacher of 29 November 2026 over weighted fair.
    const teacher = x.teacherRollouts > 0
      ? new RolloutTeacher(this.teacherEnv(instance), { ...ROLLOUT_TEACHER_DEFAULTS, alpha: x.alpha, order: x.order, rollouts: x.teacherRollouts, limitDeltas: x.limitDeltas, resampleRunning: x.hideRunning, minGainS: x.minGainS }, x.shape ? { base: expert } : {})
      : null;
    return { ...runImitationEpisode(env, net, expert, seed, rng, x.beta, teacher, x.labelShare), instance };
  }

  private teacherEnv(instance: number): SchedulingEnv {
    let e = this.teacherEnvs.get(instance);
    if (!e) this.teacherEnvs.set(instance, (e = makeEnv(this.instances[instance]!)));
    return e;
  }
}

/**
 * The iteration's episodes, in this thread or on worker threads (decima-worker.ts). Episode i
 * samples with itRng.split(i) whichever thread runs it, so the batch is the same either way.
 */
export class Rollouts {
  private readonly imitation: ImitationRunner;
  private constructor(private readonly net: DecimaNet, private readonly cfg: DecimaConfig, private readonly workers: Worker[], instances: SchedulingInstance[]) {
    this.imitation = new ImitationRunner(instances);
  }

  static async create(net: DecimaNet, instances: SchedulingInstance[], cfg: DecimaConfig): Promise<Rollouts> {
    const workers: Worker[] = [];
    for (let w = 0; w < cfg.workers; w++) {
      workers.push(new Worker(new URL('./decima-worker.js', import.meta.url), { workerData: { instances, net: net.opts } satisfies WorkerInit }));
    }
    return new Rollouts(net, cfg, workers, instances);
  }

  async run(instance: number, env: SchedulingEnv, seed: number, itRng: Rng, horizonS: number): Promise<DecimaEpisode[]> {
    const n = this.cfg.episodesPerIteration;
    if (this.workers.length === 0) return Array.from({ length: n }, (_, i) => runDecimaEpisode(env, this.net, seed, itRng.split(i), horizonS, this.cfg.rewardScale));
    return this.dispatch<DecimaEpisode>(n, (i) => ({ index: i, instance, seed, rngState: itRng.split(i).state(), horizonS, rewardScale: this.cfg.rewardScale }));
  }

  /** Imitation episodes (DAgger): the expert, weighted fair with `alpha` visiting jobs in `order` (and the rank bump `shape`), acts with probability beta. */
  async imitate(instance: number, env: SchedulingEnv, seed: number, itRng: Rng, alpha: number, order: JobOrder, beta: number, shape: RankShape | null = null): Promise<BufferedEpisode[]> {
    const n = this.cfg.episodesPerIteration;
    const expert: ImitationExpert = { alpha, order, shape, beta, teacherRollouts: this.cfg.teacherRollouts, labelShare: this.cfg.teacherLabelShare, limitDeltas: this.cfg.teacherLimitDeltas, hideRunning: this.cfg.teacherHideRunning, minGainS: this.cfg.teacherMinGainS };
    if (this.workers.length === 0) return Array.from({ length: n }, (_, i) => this.imitation.run(instance, env, this.net, seed, itRng.split(i), expert));
    return this.dispatch<BufferedEpisode>(n, (i) => ({ index: i, instance, seed, rngState: itRng.split(i).state(), horizonS: Infinity, rewardScale: this.cfg.rewardScale, imitation: expert }));
  }

  private async dispatch<T>(n: number, task: (i: number) => EpisodeTask): Promise<T[]> {
    const weights = getFlatWeights(this.net);
    const W = this.workers.length;
    const out = new Array<T>(n);
    await Promise.all(this.workers.map((w, k) => new Promise<void>((resolve, reject) => {
      const tasks = [];
      for (let i = k; i < n; i += W) tasks.push(task(i));
      const onError = (e: Error) => reject(e);
      w.once('error', onError);
      w.once('message', (m: { ok: boolean; message?: string; stack?: string; episodes?: { index: number; ep: T }[] }) => {
        w.off('error', onError);
        if (!m.ok) return reject(new SelfoptError(`Decima rollout worker ${k}: ${m.message}`, 'Decima training', `a working rollout (worker stack: ${m.stack})`));
        for (const { index, ep } of m.episodes!) out[index] = ep;
        resolve();
      });
      w.postMessage({ weights, tasks });
    })));
    return out;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

