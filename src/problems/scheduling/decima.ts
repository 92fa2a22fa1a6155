/**
 * Decima (Mao et al., SIGCOMM 2019): a learned scheduler that embeds every job DAG by message
 * passing, summarizes jobs and the cluster, and picks a stage and a parallelism limit with a
 * two-headed masked policy (decima-net.ts), trained by REINFORCE with the input-dependent
 * baseline. Read top to bottom: the hyperparameters, one episode, the policy for evaluation,
 * training, the solver.
 *
 * Training, as the paper's section 5.3 and decima-sim's train.py:
 * - each iteration draws one job arrival sequence (a training episode seed: the instance's
 *   training seed base + iteration) and runs `episodesPerIteration` episodes on it with
 *   independent action samples (decima-sim's agents);
 * - input-dependent baseline: for each step, the mean over those episodes of the return-to-go at
 *   the same time (piecewise-linear interpolation, learn's piecewiseLinearBaseline);
 * - differential reward r - rho * dt with rho the running average reward per second
 *   (learn's AverageRewardRate), for continuous arrivals (the paper's setting for it);
 * - entropy bonus (each head's entropy normalized by the log of its number of allowed choices),
 *   weight decaying linearly per iteration to a floor;
 * - curriculum on episode length (decima-sim's reset_prob): each iteration's episodes stop at a
 *   horizon drawn from an exponential distribution with mean 1 / resetProb seconds, resetProb
 *   decreasing by resetProbDecay per iteration to resetProbMin (0 = whole episodes).
 * Optional warm start (a departure from the paper, off by default): `imitationIterations` of
 * DAgger on tuned weighted fair (or weighted fair at `expertAlpha`, or the rollout teacher of
 * decima-teacher.ts with `teacherRollouts` > 0) before REINFORCE (decima-imitation.ts); optional
 * job inputs (`jobExtras`) and stage inputs (`stageExtras`), decima-net.ts.
 * Departures: loss terms are means over the batch's steps (decima-sim sums; Adam makes the two
 * the same up to the entropy balance, which the weights set); rewards are seconds / rewardScale
 * (decima-sim: ms / 1e5, the same with rewardScale 100); episodes run in this thread (learn's
 * rollout workers record a flat action mask per step, n = stages x executors, which is too large
 * for streams; the update dominates the time anyway).
 */
import { existsSync, readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Rng } from '../../core/rng.js';
import { SelfoptError } from '../../core/errors.js';
import { writeFileAtomic } from '../../core/files.js';
import { checkpointFor, shippedCheckpointPath } from '../../core/train.js';
import type { Info } from '../../core/env.js';
import type { LearnedSolver, SolveContext, TrainBudget, TrainContext } from '../../core/problem.js';
import { Adam, AverageRewardRate, getFlatWeights, reinforceAdvantages, noGrad, tidy, tensor, sum, mul, sub, add, reshape, gather, pick, saveCheckpoint, loadCheckpoint, readCheckpoint, type AdamState } from '../../learn/index.js';
import { encodeAction, type SchedulingEnv, type SchedulingObs } from './env.js';
import { makeEnv, type SchedulingPolicy } from './evaluate.js';
import type { SchedulingInstance } from './instances.js';
import { firstFitClass, sweepAlpha, SWEEP_EPISODES, WeightedFair, type JobOrder } from './heuristics.js';
import { runImitationEpisode, imitationGradient, sampleBatch, expertFromInputs, type ImitationEpisode } from './decima-imitation.js';
import { RolloutTeacher, ROLLOUT_TEACHER_DEFAULTS } from './decima-teacher.js';
import type { EpisodeTask } from './decima-worker.js';
import { DecimaNet, DECIMA_NET_DEFAULTS, JOB_EXTRAS_FULL, STAGE_EXTRAS, structureOf, snapshot, viewOf, chosenStageHeads, type Step, type Structure, type DecimaNetOptions } from './decima-net.js';

// ---------------------------------------------------------------------------------------------
// Hyperparameters
// ---------------------------------------------------------------------------------------------

export interface DecimaConfig {
  /** Embedding width (decima-sim: 8). */
  embed: number;
  /** Hidden widths of message passing and summaries (decima-sim: [16, 8]). */
  gnnHidden: number[];
  /** Hidden widths of the stage and limit score functions (decima-sim: [32, 16, 8]). */
  headHidden: number[];
  /** Episodes per iteration on one arrival sequence (decima-sim: 16 agents). */
  episodesPerIteration: number;
  /** Adam learning rate (decima-sim: 1e-3). */
  learningRate: number;
  /** Rewards are seconds / rewardScale (decima-sim: ms / 1e5, i.e. 100). */
  rewardScale: number;
  /** Entropy weight at iteration 0, its decrease per iteration and its floor (decima-sim: 1, 1e-3, 1e-4). */
  entropyWeightInit: number;
  entropyWeightDecay: number;
  entropyWeightMin: number;
  /** Curriculum: horizon ~ Exponential(mean 1 / resetProb s); resetProb decays per iteration to resetProbMin (0: no cut). */
  resetProbInit: number;
  resetProbDecay: number;
  resetProbMin: number;
  /** Differential reward (on for streams by default, as the paper). */
  differentialReward: boolean;
  /** Steps in the running average reward rate (decima-sim: 100000). */
  averageRewardWindow: number;
  /** Steps per forward/backward chunk (bounds memory; the gradient is the same). */
  chunkSteps: number;
  /** Save resumable state this often (seconds). */
  saveEverySeconds: number;
  /** Rollout worker threads (0: episodes in the training thread; same results either way). */
  workers: number;
  /**
   * Warm start by imitation of tuned weighted fair (decima-imitation.ts; a departure from the
   * paper, which starts from scratch): this many DAgger iterations before REINFORCE (0: none).
   */
  imitationIterations: number;
  /** Adam learning rate, minibatches per iteration, states per minibatch, iterations kept in the buffer. */
  imitationLearningRate: number;
  imitationUpdates: number;
  imitationBatch: number;
  imitationBuffer: number;
  /** The imitation expert's alpha (weighted fair T^alpha shares); NaN: tuned weighted fair's, swept on the training seeds. */
  expertAlpha: number;
  /**
   * The imitation expert visits jobs under their share smallest total work first
   * (tuned-weighted-fair-sjf, its alpha swept with that order) instead of in arrival order.
   */
  expertSjf: boolean;
  /**
   * Fresh-seed rollouts per candidate of the rollout teacher (decima-teacher.ts; batch only):
   * 0 imitates weighted fair itself. With a teacher only a `teacherLabelShare` of the visited
   * states are labelled (each label costs candidates x rollouts simulations).
   */
  teacherRollouts: number;
  teacherLabelShare: number;
  /** Optional job inputs of the net (decima-net.ts; 0: the paper's inputs, 4, or 9 with the expert-state ones). */
  jobExtras: number;
  /** Optional stage inputs of the net (decima-net.ts; 0: the paper's inputs, or 3). */
  stageExtras: number;
  /** The alpha of the weighted fair share input (jobExtras = 9); NaN: the expert's alpha (expertAlpha, or its sweep). */
  shareAlpha: number;
  /**
   * REINFORCE anchored to the expert (not in the paper): this weight times the imitation
   * cross-entropy of the expert's answers (tuned-weighted-fair-sjf at shareAlpha, read from the
   * inputs: agreement.ts expertFromInputs) at `anchorStates` of the iteration's states is added to
   * the policy-gradient loss, so the policy moves away from the expert only where the advantages
   * keep pushing (needs jobExtras = 9, stageExtras = 3). 0: plain REINFORCE.
   */
  anchorWeight: number;
  anchorStates: number;
}

/** The order in which the imitation expert visits jobs under their share. */
const expertOrder = (cfg: DecimaConfig): JobOrder => (cfg.expertSjf ? 'work' : 'arrival');

export const DECIMA_DEFAULTS: DecimaConfig = {
  ...DECIMA_NET_DEFAULTS,
  gnnHidden: [...DECIMA_NET_DEFAULTS.gnnHidden],
  headHidden: [...DECIMA_NET_DEFAULTS.headHidden],
  episodesPerIteration: 8,
  learningRate: 2e-3,
  rewardScale: 100,
  entropyWeightInit: 0.05,
  entropyWeightDecay: 1e-4,
  entropyWeightMin: 1e-4,
  // Batch of 20 jobs: first horizons ~300 s (about half the episode), whole episodes after ~170 iterations.
  resetProbInit: 1 / 300,
  resetProbDecay: 2e-5,
  resetProbMin: 0,
  differentialReward: false,
  averageRewardWindow: 100000,
  chunkSteps: 64,
  saveEverySeconds: 120,
  workers: 2,
  imitationIterations: 0,
  imitationLearningRate: 3e-3,
  imitationUpdates: 16,
  imitationBatch: 128,
  imitationBuffer: 6,
  expertAlpha: NaN,
  expertSjf: false,
  teacherRollouts: 0,
  teacherLabelShare: 1,
  jobExtras: 0,
  stageExtras: 0,
  shareAlpha: NaN,
  anchorWeight: 0,
  anchorStates: 256,
};

/** Decima's hyperparameters for continuous arrivals (decima-sim's README command, per second). */
export const DECIMA_STREAM_DEFAULTS: Partial<DecimaConfig> = { resetProbInit: 5e-4, resetProbDecay: 4e-7, resetProbMin: 5e-5, differentialReward: true };

/** `--opt decima.<key>=value` overrides for numbers and booleans. */
export function decimaConfig(inst: SchedulingInstance | undefined, options: Record<string, string>): DecimaConfig {
  const cfg: DecimaConfig = { ...DECIMA_DEFAULTS, ...(inst?.workload.kind === 'stream' ? DECIMA_STREAM_DEFAULTS : {}) };
  for (const [k, v] of Object.entries(options)) {
    if (!k.startsWith('decima.')) continue;
    const key = k.slice(7) as keyof DecimaConfig;
    const cur = cfg[key];
    if (cur === undefined) throw new SelfoptError(`unknown Decima option '${key}'`, `--opt ${k}`, `one of ${Object.keys(DECIMA_DEFAULTS).join(', ')}`);
    if (typeof cur === 'boolean') (cfg as unknown as Record<string, unknown>)[key] = ['1', 'true', 'yes'].includes(v);
    else if (typeof cur === 'number') {
      const n = Number(v);
      if (!Number.isFinite(n) && v !== 'NaN') throw new SelfoptError(`${k}=${v}`, `--opt ${k}`, 'a number');
      (cfg as unknown as Record<string, unknown>)[key] = n;
    } else (cfg as unknown as Record<string, unknown>)[key] = v.split(',').map(Number);
  }
  if (!(Number.isInteger(cfg.episodesPerIteration) && cfg.episodesPerIteration >= 2)) throw new SelfoptError(`episodesPerIteration = ${cfg.episodesPerIteration}`, 'Decima config', 'an integer >= 2 (the baseline averages over the episodes of one sequence)');
  return cfg;
}

// ---------------------------------------------------------------------------------------------
// Acting: one decision, one episode
// ---------------------------------------------------------------------------------------------

/** Picks (stage row, limit) for one observation: sampled with `rng`, or the most likely (greedy). */
export function decide(net: DecimaNet, step: Step, rng: Rng | null): { row: number; limit: number } {
  return noGrad(() => tidy(() => {
    const em = net.embed([step]);
    const q = em.q.data, mask = step.stageMask, n = step.s.numNodes;
    const row = choose(q, 0, n, (v) => mask[v] === 1, rng);
    const k = step.s.stageJob[row]!;
    const logits = net.limitLogits(em, [step], Int32Array.of(0), Int32Array.of(k)).data;
    const lmin = step.limitMin[k]!;
    const l = choose(logits, 0, net.opts.numExecutors, (j) => j + 1 >= lmin, rng);
    return { row, limit: l + 1 };
  }));
}

/** Softmax over the allowed entries of scores[off..off+n): a draw (inverse CDF) or the argmax. */
function choose(scores: ArrayLike<number>, off: number, n: number, ok: (i: number) => boolean, rng: Rng | null): number {
  let m = -Infinity, best = -1;
  for (let i = 0; i < n; i++) if (ok(i) && scores[off + i]! > m) { m = scores[off + i]!; best = i; }
  if (best < 0) throw new SelfoptError('no allowed choice', 'Decima policy', 'a decision with a selectable stage and limit');
  if (rng === null) return best;
  let s = 0;
  for (let i = 0; i < n; i++) if (ok(i)) s += Math.exp(scores[off + i]! - m);
  const u = rng.next() * s;
  let c = 0, last = best;
  for (let i = 0; i < n; i++) {
    if (!ok(i)) continue;
    c += Math.exp(scores[off + i]! - m);
    last = i;
    if (u < c) return i;
  }
  return last;
}

/** Keeps one Structure per system state (the env's rowPtr changes identity exactly then). */
class StructureCache {
  private key: Int32Array | null = null;
  private s: Structure | null = null;
  get(o: SchedulingObs): Structure {
    if (o.rowPtr !== this.key) {
      this.key = o.rowPtr;
      this.s = structureOf(o);
    }
    return this.s!;
  }
}

/** A Decima net as a Policy: greedy by default (the deterministic choice), or sampling with the cell's rng. */
export function decimaPolicy(net: DecimaNet, opts: { sample?: boolean } = {}): SchedulingPolicy {
  const cache = new StructureCache();
  return {
    act(obs: SchedulingObs, _info: Info, rng: Rng): number {
      const { row, limit } = decide(net, viewOf(obs, cache.get(obs)), opts.sample ? rng : null);
      return encodeAction(row, limit, obs.numExecutors);
    },
  };
}

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
    const r = env.step(encodeAction(row, limit, obs.numExecutors));
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

// ---------------------------------------------------------------------------------------------
// Training
// ---------------------------------------------------------------------------------------------

/** Policy-gradient loss of a chunk of steps (already divided by the batch's step count): backward() is called here. */
function accumulateGradient(net: DecimaNet, steps: Step[], rows: Int32Array, limits: Int32Array, adv: Float64Array, entropyWeight: number, totalSteps: number): { pg: number; entropy: number } {
  return tidy(() => {
    const B = steps.length, E = net.opts.numExecutors;
    const { st, chosen, lmin, lim } = chosenStageHeads(net, steps, rows);
    const logp = add(reshape(gather(st.logp, chosen), [B]), pick(lim.logp, Int32Array.from(limits, (l) => l - 1)));
    const normS = Float32Array.from(st.allowed, (a) => (a > 1 ? 1 / Math.log(a) : 0));
    const normL = Float32Array.from(lmin, (m) => (E - m + 1 > 1 ? 1 / Math.log(E - m + 1) : 0));
    const ent = add(mul(reshape(st.entropy, [B]), tensor(normS)), mul(lim.entropy, tensor(normL)));
    const pg = sum(mul(tensor(Float32Array.from(adv, (a) => -a)), logp));
    const entSum = sum(ent);
    mul(sub(pg, mul(entSum, entropyWeight)), 1 / totalSteps).backward();
    return { pg: pg.item(), entropy: entSum.item() };
  });
}

/**
 * The iteration's episodes, in this thread or on worker threads (decima-worker.ts). Episode i
 * samples with itRng.split(i) whichever thread runs it, so the batch is the same either way.
 */
class Rollouts {
  private constructor(private readonly net: DecimaNet, private readonly cfg: DecimaConfig, private readonly workers: Worker[], private readonly instances: SchedulingInstance[]) {}

  static async create(net: DecimaNet, instances: SchedulingInstance[], cfg: DecimaConfig): Promise<Rollouts> {
    const workers: Worker[] = [];
    for (let w = 0; w < cfg.workers; w++) {
      workers.push(new Worker(new URL('./decima-worker.js', import.meta.url), { workerData: { instances: instances.map((i) => i.id), net: net.opts } }));
    }
    return new Rollouts(net, cfg, workers, instances);
  }

  async run(instance: number, env: SchedulingEnv, seed: number, itRng: Rng, horizonS: number): Promise<DecimaEpisode[]> {
    const n = this.cfg.episodesPerIteration;
    if (this.workers.length === 0) return Array.from({ length: n }, (_, i) => runDecimaEpisode(env, this.net, seed, itRng.split(i), horizonS, this.cfg.rewardScale));
    return this.dispatch<DecimaEpisode>(n, (i) => ({ index: i, instance, seed, rngState: itRng.split(i).state(), horizonS, rewardScale: this.cfg.rewardScale }));
  }

  /** Imitation episodes (DAgger): the expert weighted fair with `alpha` acts with probability beta. */
  async imitate(instance: number, env: SchedulingEnv, seed: number, itRng: Rng, alpha: number, beta: number): Promise<ImitationEpisode[]> {
    const n = this.cfg.episodesPerIteration, R = this.cfg.teacherRollouts, share = this.cfg.teacherLabelShare;
    if (this.workers.length === 0) {
      const teacher = R > 0 ? new RolloutTeacher(this.teacherEnv(instance), { ...ROLLOUT_TEACHER_DEFAULTS, alpha, rollouts: R }) : null;
      return Array.from({ length: n }, (_, i) => runImitationEpisode(env, this.net, new WeightedFair(alpha, expertOrder(this.cfg)), seed, itRng.split(i), beta, teacher, share));
    }
    return this.dispatch<ImitationEpisode>(n, (i) => ({ index: i, instance, seed, rngState: itRng.split(i).state(), horizonS: Infinity, rewardScale: this.cfg.rewardScale, expertAlpha: alpha, expertOrder: expertOrder(this.cfg), beta, teacherRollouts: R, labelShare: share }));
  }

  /** The rollout teacher's own env for an instance (it replays episodes there). */
  private readonly teacherEnvs = new Map<number, SchedulingEnv>();
  private teacherEnv(instance: number): SchedulingEnv {
    let e = this.teacherEnvs.get(instance);
    if (!e) this.teacherEnvs.set(instance, (e = makeEnv(this.instances[instance]!)));
    return e;
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

interface SavedState {
  iteration: number;
  elapsedS: number;
  resetProb: number;
  rng: number[];
  adam: AdamState;
  config: DecimaConfig;
}

/** Trains a Decima net; resumes from ctx.stateDir when a saved state is there. */
export async function trainDecima(instances: SchedulingInstance[], budget: TrainBudget, ctx: TrainContext): Promise<DecimaNet> {
  if (instances.length === 0) throw new SelfoptError('no training instances', 'Decima training', 'at least one train-split instance');
  const bad = instances.find((i) => i.split !== 'train');
  if (bad) throw new SelfoptError(`instance ${bad.id} is not a training instance`, 'Decima training', 'train-split instances only (held-out seeds are for evaluation)');
  const E = instances[0]!.numExecutors;
  if (instances.some((i) => i.numExecutors !== E)) throw new SelfoptError('training instances with different executor counts', 'Decima training', 'one cluster size (the limit head has one output per executor)');
  const cfg = decimaConfig(instances[0], ctx.options);
  // The imitation expert's alpha per instance: weighted fair with tuned weighted fair's alpha (training seeds) unless given.
  const expertAlphaOf = (inst: SchedulingInstance) => (Number.isNaN(cfg.expertAlpha) ? sweepAlpha(inst, SWEEP_EPISODES.full, undefined, expertOrder(cfg)).alpha : cfg.expertAlpha);
  const shareAlpha = Number.isNaN(cfg.shareAlpha) ? (cfg.jobExtras === JOB_EXTRAS_FULL ? expertAlphaOf(instances[0]!) : 0) : cfg.shareAlpha;
  if (cfg.anchorWeight > 0 && !(cfg.jobExtras === JOB_EXTRAS_FULL && cfg.stageExtras === STAGE_EXTRAS && cfg.expertSjf)) throw new SelfoptError('anchorWeight > 0 without the expert-state inputs', 'Decima config', `decima.jobExtras=${JOB_EXTRAS_FULL} decima.stageExtras=${STAGE_EXTRAS} decima.expertSjf=1 (the anchor reads the expert's answer from them)`);
  const netOpts: DecimaNetOptions = { numExecutors: E, embed: cfg.embed, gnnHidden: cfg.gnnHidden, headHidden: cfg.headHidden, jobExtras: cfg.jobExtras, stageExtras: cfg.stageExtras, shareAlpha };
  const net = new DecimaNet(netOpts, ctx.rng.split('init'));
  const I = cfg.imitationIterations;
  let opt = new Adam(net.parameters(), { lr: I > 0 ? cfg.imitationLearningRate : cfg.learningRate });
  const envs = instances.map((i) => makeEnv(i));
  const rate = cfg.differentialReward ? new AverageRewardRate(cfg.averageRewardWindow) : null;
  let rng = ctx.rng.split('train');
  let iteration = 0, elapsedBefore = 0, resetProb = cfg.resetProbInit;

  // Resume
  const weightsPath = join(ctx.stateDir, 'decima-state.ckpt'), statePath = join(ctx.stateDir, 'decima-state.json');
  // `--opt init=<checkpoint>`: start from trained weights (same architecture) instead of random ones.
  const init = ctx.options['init'];
  if (init && !(existsSync(weightsPath) && existsSync(statePath))) loadCheckpoint(init, net);
  if (existsSync(weightsPath) && existsSync(statePath)) {
    const s = JSON.parse(readFileSync(statePath, 'utf8')) as SavedState;
    loadCheckpoint(weightsPath, net);
    iteration = s.iteration;
    if (iteration >= I) opt.lr = cfg.learningRate;
    opt.setState(s.adam);
    elapsedBefore = s.elapsedS;
    resetProb = s.resetProb;
    rng = Rng.fromState(s.rng);
  }
  const hyper = { ...cfg, numExecutors: E, instances: instances.map((i) => i.id) } as unknown as Record<string, unknown>;
  const save = () => {
    saveCheckpoint(weightsPath, net, { hyperparameters: hyper, command: ctx.command, seed: ctx.seed });
    const s: SavedState = { iteration, elapsedS: elapsedBefore + (performance.now() - t0) / 1000, resetProb, rng: rng.state(), adam: opt.getState(), config: cfg };
    writeFileAtomic(statePath, JSON.stringify(s));
  };

  const rollouts = await Rollouts.create(net, instances, cfg);
  const t0 = performance.now();
  let lastSave = t0;
  try {
    const maxIter = budget.steps ?? Infinity;
    const timeUp = () => budget.seconds !== undefined && elapsedBefore + (performance.now() - t0) / 1000 >= budget.seconds;
    // The imitation expert: weighted fair with tuned weighted fair's alpha for each instance (training seeds).
    const alphas = iteration < I ? instances.map(expertAlphaOf) : [];
    if (cfg.teacherRollouts > 0 && instances.some((i) => i.workload.kind !== 'batch')) throw new SelfoptError('a rollout teacher on a stream', 'Decima imitation', 'batch instances (a replayed stream would hold its future arrivals)');
    const buffer: ImitationEpisode[] = [];
    while (iteration < maxIter && !timeUp()) {
      const k = iteration;
      if (k < I) {
        // DAgger iteration: beta (the expert's share of decisions) from 1 to 0 over the first half.
        const inst = instances[k % instances.length]!, env = envs[k % instances.length]!;
        const beta = Math.max(0, 1 - k / Math.max(1, I / 2));
        const itRng = rng.split(k);
        const eps = await rollouts.imitate(k % instances.length, env, inst.seedBase + k, itRng, alphas[k % instances.length]!, beta);
        buffer.push(...eps);
        if (buffer.length > cfg.imitationBuffer * cfg.episodesPerIteration) buffer.splice(0, buffer.length - cfg.imitationBuffer * cfg.episodesPerIteration);
        const bRng = itRng.split('batch');
        let loss = 0, stageHits = 0, limitHits = 0;
        for (let u = 0; u < cfg.imitationUpdates; u++) {
          opt.zeroGrad();
          const b = sampleBatch(buffer, cfg.imitationBatch, bRng);
          const r = imitationGradient(net, b.steps, b.rows, b.lo, b.hi, 1 / cfg.imitationBatch);
          opt.step();
          loss += r.loss;
          stageHits += r.stageHits;
          limitHits += r.limitHits;
        }
        iteration++;
        const n = cfg.imitationUpdates * cfg.imitationBatch, done = eps.filter((e) => e.complete);
        ctx.log({
          imitation: 1, iteration, beta, expertAlpha: alphas[k % instances.length]!, labels: eps.reduce((s, e) => s + e.steps.length, 0),
          expertShare: eps.reduce((s, e) => s + e.expertDecisions, 0) / Math.max(1, eps.reduce((s, e) => s + e.decisions, 0)),
          meanAvgJctS: done.length ? done.reduce((s, e) => s + e.avgJctS, 0) / done.length : -1,
          loss: loss / n, stageAgreement: stageHits / n, limitAgreement: limitHits / n,
          elapsedS: elapsedBefore + (performance.now() - t0) / 1000,
        });
        if (iteration === I) opt = new Adam(net.parameters(), { lr: cfg.learningRate });
      } else {
        const kr = k - I;
        const inst = instances[k % instances.length]!, env = envs[k % instances.length]!;
        const entropyWeight = Math.max(cfg.entropyWeightMin, cfg.entropyWeightInit - kr * cfg.entropyWeightDecay);
        const itRng = rng.split(k);
        const horizonS = resetProb > 0 ? itRng.exponential(1 / resetProb) : Infinity;
        // The arrival sequence of this iteration: a training seed of the instance (never an evaluation seed).
        const seed = inst.seedBase + k;
        const eps = await rollouts.run(k % instances.length, env, seed, itRng, horizonS);
        const { advantages, returns } = reinforceAdvantages(eps, eps.map(() => 0), 'input', 1, rate);
        // Baseline quality: the share of the return-to-go variance the input-dependent baseline explains.
        let sr = 0, sr2 = 0, sa2 = 0, nr = 0;
        returns.forEach((g, i) => g.forEach((x, t) => { sr += x; sr2 += x * x; sa2 += advantages[i]![t]! ** 2; nr++; }));
        const baselineExplained = nr > 1 ? 1 - sa2 / nr / Math.max(1e-12, sr2 / nr - (sr / nr) ** 2) : 0;

        // One gradient step over every step of the batch, in chunks
        opt.zeroGrad();
        const total = eps.reduce((s, e) => s + e.steps.length, 0);
        const flat: [number, number][] = [];
        eps.forEach((e, i) => { for (let t = 0; t < e.steps.length; t++) flat.push([i, t]); });
        let pg = 0, ent = 0;
        for (let c0 = 0; c0 < total; c0 += cfg.chunkSteps) {
          const ch = flat.slice(c0, c0 + cfg.chunkSteps);
          const r = accumulateGradient(net, ch.map(([i, t]) => eps[i]!.steps[t]!), Int32Array.from(ch, ([i, t]) => eps[i]!.rows[t]!), Int32Array.from(ch, ([i, t]) => eps[i]!.limits[t]!), Float64Array.from(ch, ([i, t]) => advantages[i]![t]!), entropyWeight, total);
          pg += r.pg;
          ent += r.entropy;
        }
        let anchorLoss = 0;
        if (cfg.anchorWeight > 0) {
          // The expert's answer at a sample of the iteration's states: its stage, and its limit (E when it keeps the source executors in their job, else the share; each is in the expert's set of equivalent limits).
          const aRng = itRng.split('anchor'), n = Math.min(cfg.anchorStates, total);
          const picked = Array.from({ length: n }, () => flat[Math.floor(aRng.next() * total)]!);
          const steps = picked.map(([i, t]) => eps[i]!.steps[t]!);
          const labels = steps.map((st) => expertFromInputs(st, E, net.opts.shareAlpha));
          const keep = labels.flatMap((l, b) => (l.row >= 0 ? [b] : []));
          const lim = keep.map((b) => (labels[b]!.share >= 0 ? Math.min(E, Math.max(labels[b]!.share, steps[b]!.limitMin[steps[b]!.s.stageJob[labels[b]!.row]!]!)) : E));
          if (keep.length > 0) {
            const r = imitationGradient(net, keep.map((b) => steps[b]!), Int32Array.from(keep, (b) => labels[b]!.row), Int32Array.from(lim), Int32Array.from(lim), cfg.anchorWeight / keep.length);
            anchorLoss = r.loss / keep.length;
          }
        }
        opt.step();
        resetProb = Math.max(cfg.resetProbMin, resetProb - cfg.resetProbDecay);
        iteration++;

        const done = eps.filter((e) => e.complete);
        const jobs = done.length ? done[0]!.steps[0]!.s.numJobs : 0;
        ctx.log({
          iteration, steps: total, horizonS: Number.isFinite(horizonS) ? horizonS : -1, completeEpisodes: done.length,
          meanTotalJctS: done.length ? done.reduce((s, e) => s + e.totalJctS, 0) / done.length : -1,
          meanAvgJctS: done.length && inst.workload.kind === 'batch' ? done.reduce((s, e) => s + e.totalJctS, 0) / done.length / inst.workload.numJobs : -1,
          meanScaledReturn: eps.reduce((s, e) => s + e.rewards.reduce((a, b) => a + b, 0), 0) / eps.length,
          pgLoss: pg / total, entropy: ent / total, entropyWeight, rewardRate: rate ? rate.rate() : 0, jobsAtStart: jobs, baselineExplained, anchorLoss,
          elapsedS: elapsedBefore + (performance.now() - t0) / 1000,
        });
      }
      if (budget.seconds !== undefined) ctx.progress(Math.min(budget.seconds, elapsedBefore + (performance.now() - t0) / 1000), budget.seconds);
      else ctx.progress(iteration, maxIter);
      if (performance.now() - lastSave >= cfg.saveEverySeconds * 1000) {
        save();
        lastSave = performance.now();
      }
    }
  } finally {
    await rollouts.close();
  }
  save();
  saveCheckpoint(ctx.out, net, { hyperparameters: { ...hyper, iterations: iteration }, command: ctx.command, seed: ctx.seed });
  return net;
}

// ---------------------------------------------------------------------------------------------
// The solver
// ---------------------------------------------------------------------------------------------

/** Loads a Decima checkpoint (its architecture gives the net's options). */
export function loadDecima(path: string): DecimaNet {
  const { header } = readCheckpoint(path);
  const a = header.architecture as Record<string, unknown>;
  if (a.type !== 'DecimaNet') throw new SelfoptError(`checkpoint holds a ${String(a.type)}`, path, 'a DecimaNet checkpoint (selfopt train scheduling decima)');
  // Checkpoints from before the optional job inputs have none.
  const net = new DecimaNet({
    numExecutors: Number(a.numExecutors), embed: Number(a.embed), gnnHidden: a.gnnHidden as number[], headHidden: a.headHidden as number[],
    jobExtras: Number(a.jobExtras ?? 0), stageExtras: Number(a.stageExtras ?? 0), shareAlpha: Number(a.shareAlpha ?? 0),
  }, new Rng(0));
  loadCheckpoint(path, net);
  return net;
}

const nets = new Map<string, DecimaNet>();

export const decimaSolver: LearnedSolver<SchedulingInstance, SchedulingPolicy> = {
  info: {
    name: 'decima', kind: 'learned',
    description: 'Decima: DAG message passing, job and global summaries, two-headed (stage, parallelism limit) policy, REINFORCE with the input-dependent baseline',
    reference: 'Mao et al., Learning Scheduling Algorithms for Data Processing Clusters, SIGCOMM 2019',
  },
  solve(inst: SchedulingInstance, ctx: SolveContext): SchedulingPolicy {
    // Continuous arrivals use the stream checkpoint when one is shipped (trained on streams), else the batch one.
    const streamPath = shippedCheckpointPath('scheduling', 'decima-stream');
    const path = inst.workload.kind === 'stream' && !ctx.options['checkpoint'] && existsSync(streamPath) ? streamPath : checkpointFor('scheduling', 'decima', ctx.options);
    let net = nets.get(path);
    if (!net) nets.set(path, (net = loadDecima(path)));
    if (net.opts.numExecutors !== inst.numExecutors) {
      throw new SelfoptError(`the checkpoint was trained for ${net.opts.numExecutors} executors, the instance has ${inst.numExecutors}`, `instance ${inst.id}`, `an instance with ${net.opts.numExecutors} executors, or a checkpoint trained for ${inst.numExecutors}`);
    }
    const sample = ['1', 'true', 'yes'].includes(ctx.options['decima.sample'] ?? '');
    // On a multi-resource instance this net (no executor-class head) takes the first-fit class.
    return firstFitClass(decimaPolicy(net, { sample }));
  },
  async train(instances: SchedulingInstance[], budget: TrainBudget, ctx: TrainContext): Promise<void> {
    await trainDecima(instances, budget, ctx);
  },
};
