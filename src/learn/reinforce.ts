/**
 * REINFORCE with a baseline (Williams 1992), as Decima trains its scheduler (Mao et al.,
 * SIGCOMM 2019; decima-sim's train.py): every iteration runs a batch of whole episodes with the
 * current policy, computes each step's return-to-go, subtracts a baseline, and takes one
 * gradient step on -adv * log pi(a|s) - entropyWeight * H(pi(.|s)).
 *
 * Baselines:
 *   'input' Decima's input-dependent baseline (Mao et al., ICLR 2019): the batch holds
 *           numSequences input sequences (env seeds) x episodesPerSequence episodes each; the
 *           baseline of a step is the mean return-to-go, at the same time, of the episodes that
 *           saw the same input sequence (advantages.ts piecewiseLinearBaseline: aligned by the
 *           env's clock, info[timeKey], or the step count, with linear interpolation).
 *   'time'  the same curve averaged over all episodes of the batch, whatever their input.
 *   'value' a learned state value V(s) (the policy's value head, trained on (V - G)^2).
 *   'none'  no baseline.
 * With numSequences = 1 (Decima: all 16 agents share seed + epoch), 'input' and 'time' coincide.
 *
 * Entropy weight: Decima's schedule, linear from entropyWeightInit down by entropyWeightDecay per
 * iteration to entropyWeightMin, and the entropy divided by log(number of actions) (normalized).
 * Differential reward (Decima's average-reward formulation, off by default as in decima-sim):
 * r_t - rate * dt_t, where rate is the average reward per unit of time over the last
 * averageRewardWindow steps (this batch included) and dt_t the time step t took.
 *
 * Departure: Decima sums -adv * log p and the normalized entropy over the steps of the batch;
 * here they are averaged (the same direction; Adam makes the scale nearly irrelevant).
 * Determinism: sequence s of iteration k runs with env seed hash(seed, k, s); episode j of
 * iteration k samples its actions from Rng(seed).split('actions').split(k).split(j).
 */
import { Rng, hashWords } from '../core/rng.js';
import { SelfoptError } from '../core/errors.js';
import { codeVersion } from '../core/version.js';
import { tensor } from './tensor.js';
import { sub, mul, add, square } from './ops/elementwise.js';
import { sum } from './ops/reduce.js';
import { reshape } from './ops/shape.js';
import { logSoftmax, categoricalEntropy } from './ops/softmax.js';
import { pick } from './ops/select.js';
import { Adam, clipGradNorm } from './optim.js';
import { discountedReturns, piecewiseLinearBaseline, AverageRewardRate } from './advantages.js';
import { type PolicyNet, checkPolicyOutput, getFlatWeights } from './policy.js';
import { RolloutCollector, buildFromRef, checkPolicyFits, obsAt, type ModuleRef, type Trajectory, type EpisodeTask } from './rollout.js';

// ---------------------------------------------------------------------------------------------
// Hyperparameters
// ---------------------------------------------------------------------------------------------

export type BaselineKind = 'input' | 'time' | 'value' | 'none';

export interface ReinforceConfig {
  /** Seed of the weights, the input sequences and the action sampling. */
  seed: number;
  /** The env: {module, export, options}; built in each rollout thread. */
  env: ModuleRef;
  /** The policy net (policy.ts PolicyNet): {module, export, options}, built with (options, rng). */
  policy: ModuleRef;
  /** Options of every env reset (the workload). */
  resetOptions: Record<string, unknown> | null;
  /** Training iterations (one gradient step each). */
  iterations: number;
  /** Distinct input sequences (env seeds) per iteration. */
  numSequences: number;
  /** Episodes per input sequence (Decima: 16 agents). */
  episodesPerSequence: number;
  /** Adam learning rate (Decima: 1e-3). */
  learningRate: number;
  /** Adam epsilon (TensorFlow's default, which Decima used: 1e-8). */
  adamEps: number;
  /** Discount factor of the return-to-go (Decima: 1). */
  gamma: number;
  /** Baseline subtracted from the return-to-go. */
  baseline: BaselineKind;
  /** Entropy weight at the first iteration (Decima: 1). */
  entropyWeightInit: number;
  /** Floor of the entropy weight (Decima: 1e-4). */
  entropyWeightMin: number;
  /** Decrease of the entropy weight per iteration (Decima: 1e-3). */
  entropyWeightDecay: number;
  /** Divide the entropy by log(number of actions), as Decima. */
  normalizeEntropy: boolean;
  /** Use Decima's differential reward r - rate * dt. */
  differentialReward: boolean;
  /** Steps in the running average reward rate (Decima: 100000). */
  averageRewardWindow: number;
  /** info field with the env's clock (Decima: wall time); null: the step count. */
  timeKey: string | null;
  /** Value loss coefficient (baseline 'value' only). */
  vfCoef: number;
  /** Global gradient norm clip; null: none (Decima). */
  maxGradNorm: number | null;
  /** Steps per forward/backward chunk (bounds memory; the gradient is the same). */
  chunkSize: number;
  /** Cut (truncate) episodes longer than this; null: only the env ends episodes. */
  maxEpisodeSteps: number | null;
  /** Rollout worker threads; 0 runs the episodes in this thread (same results). */
  workers: number;
}

/** decima-sim's param.py defaults where Decima has the hyperparameter. */
export const REINFORCE_DEFAULTS: Omit<ReinforceConfig, 'env' | 'policy'> = {
  seed: 42,
  resetOptions: null,
  iterations: 1000,
  numSequences: 1,
  episodesPerSequence: 16,
  learningRate: 1e-3,
  adamEps: 1e-8,
  gamma: 1,
  baseline: 'input',
  entropyWeightInit: 1,
  entropyWeightMin: 1e-4,
  entropyWeightDecay: 1e-3,
  normalizeEntropy: true,
  differentialReward: false,
  averageRewardWindow: 100000,
  timeKey: null,
  vfCoef: 0.5,
  maxGradNorm: null,
  chunkSize: 4096,
  maxEpisodeSteps: null,
  workers: 0,
};

/** Defaults filled in and every field checked; a bad field throws a SelfoptError naming it. */
export function reinforceConfig(c: Partial<ReinforceConfig> & Pick<ReinforceConfig, 'env' | 'policy'>): ReinforceConfig {
  const cfg: ReinforceConfig = { ...REINFORCE_DEFAULTS, ...c };
  const bad = (k: string, expected: string) => new SelfoptError(`${k} = ${JSON.stringify((cfg as unknown as Record<string, unknown>)[k])}`, 'REINFORCE config', expected);
  for (const k of ['seed', 'iterations', 'numSequences', 'episodesPerSequence', 'averageRewardWindow', 'chunkSize', 'workers'] as const) {
    const v = cfg[k];
    const min = k === 'workers' || k === 'seed' ? 0 : 1;
    if (!Number.isSafeInteger(v) || v < min) throw bad(k, min === 0 ? 'an integer >= 0' : 'a positive integer');
  }
  if (!['input', 'time', 'value', 'none'].includes(cfg.baseline)) throw bad('baseline', "'input', 'time', 'value' or 'none'");
  for (const k of ['learningRate', 'adamEps'] as const) if (!(cfg[k] > 0)) throw bad(k, 'a positive number');
  if (!(cfg.gamma >= 0 && cfg.gamma <= 1)) throw bad('gamma', 'a number in [0, 1]');
  for (const k of ['entropyWeightInit', 'entropyWeightMin', 'entropyWeightDecay', 'vfCoef'] as const) if (!(cfg[k] >= 0)) throw bad(k, 'a number >= 0');
  if (cfg.maxGradNorm !== null && !(cfg.maxGradNorm > 0)) throw bad('maxGradNorm', 'null or a positive number');
  if (cfg.maxEpisodeSteps !== null && !(Number.isSafeInteger(cfg.maxEpisodeSteps) && cfg.maxEpisodeSteps > 0)) throw bad('maxEpisodeSteps', 'null or a positive integer');
  return cfg;
}

/** Decima's entropy weight at iteration k (0-based): init - k * decay, floored at min. */
export function entropyWeightAt(cfg: Pick<ReinforceConfig, 'entropyWeightInit' | 'entropyWeightMin' | 'entropyWeightDecay'>, k: number): number {
  return Math.max(cfg.entropyWeightMin, cfg.entropyWeightInit - k * cfg.entropyWeightDecay);
}

// ---------------------------------------------------------------------------------------------
// Advantages of one batch of episodes
// ---------------------------------------------------------------------------------------------

/** What the advantage computation reads of an episode (rollout.ts's Trajectory has it all). */
export interface EpisodeRewards {
  rewards: ArrayLike<number>;
  /** The clock after each step. */
  times: ArrayLike<number>;
  /** The clock at reset. */
  startTime: number;
  /** V(s_t) as sampled (baseline 'value'). */
  values: ArrayLike<number>;
}

/**
 * Returns-to-go and advantages of a batch; `group[i]` is episode i's input sequence. With a
 * `rate` (differential reward), the batch's (reward, dt) pairs are added to it first, as Decima.
 */
export function reinforceAdvantages(episodes: readonly EpisodeRewards[], group: readonly number[], baseline: BaselineKind, gamma: number, rate: AverageRewardRate | null = null): { returns: Float64Array[]; advantages: Float64Array[] } {
  const dts = episodes.map((ep) => Float64Array.from(ep.times, (t, i) => t - (i === 0 ? ep.startTime : ep.times[i - 1]!)));
  let rewards: ArrayLike<number>[] = episodes.map((ep) => ep.rewards);
  if (rate !== null) {
    episodes.forEach((ep, i) => {
      for (let t = 0; t < ep.rewards.length; t++) rate.add(ep.rewards[t]!, dts[i]![t]!);
    });
    const rho = rate.rate();
    rewards = episodes.map((ep, i) => Float64Array.from(ep.rewards, (r, t) => r - rho * dts[i]![t]!));
  }
  const returns = rewards.map((r) => discountedReturns(r, gamma));
  let baselines: ArrayLike<number>[];
  if (baseline === 'none') baselines = returns.map((r) => new Float64Array(r.length));
  else if (baseline === 'value') baselines = episodes.map((ep) => ep.values);
  else if (baseline === 'time') baselines = piecewiseLinearBaseline(returns, episodes.map((ep) => ep.times));
  else {
    baselines = new Array(episodes.length);
    for (const g of new Set(group)) {
      const members = group.flatMap((x, i) => (x === g ? [i] : []));
      const b = piecewiseLinearBaseline(members.map((i) => returns[i]!), members.map((i) => episodes[i]!.times));
      members.forEach((i, k) => (baselines[i] = b[k]!));
    }
  }
  return { returns, advantages: returns.map((r, i) => r.map((g, t) => g - baselines[i]![t]!)) };
}

// ---------------------------------------------------------------------------------------------
// Training log
// ---------------------------------------------------------------------------------------------

export interface ReinforceIterationRow {
  iteration: number;
  globalStep: number;
  episodes: number;
  meanReturn: number;
  meanLength: number;
  entropyWeight: number;
  pgLoss: number;
  /** Mean entropy (normalized when normalizeEntropy). */
  entropy: number;
  vLoss: number | null;
  /** Standard deviation of the advantages: what a baseline is for. */
  advantageStd: number;
  /** Average reward per unit of time (differential reward), else null. */
  rewardRate: number | null;
  /** Env steps per second since the start (rollout and update together). */
  sps: number;
}

export interface ReinforceLog {
  algorithm: 'reinforce';
  config: ReinforceConfig;
  seed: number;
  codeVersion: string;
  startedAt: string;
  workers: number;
  iterations: ReinforceIterationRow[];
  stepsPerSec: number;
}

export interface ReinforceHooks {
  onIteration?: (row: ReinforceIterationRow) => void;
}

// ---------------------------------------------------------------------------------------------
// Training
// ---------------------------------------------------------------------------------------------

export async function trainReinforce<Obs = Float32Array>(config: Partial<ReinforceConfig> & Pick<ReinforceConfig, 'env' | 'policy'>, hooks: ReinforceHooks = {}): Promise<{ policy: PolicyNet<Obs>; log: ReinforceLog }> {
  const cfg = reinforceConfig(config);
  const E = cfg.numSequences * cfg.episodesPerSequence;

  // Seeding
  const root = new Rng(cfg.seed);
  const actionRng = root.split('actions');

  // Envs (in this thread or in workers) and the policy
  const collector = await RolloutCollector.create<Obs>({ env: cfg.env, policy: cfg.policy, workers: cfg.workers, runners: [], run: { timeKey: cfg.timeKey, maxEpisodeSteps: cfg.maxEpisodeSteps ?? Infinity } });
  try {
    const policy = await buildFromRef<PolicyNet<Obs>>(cfg.policy, root.split('init'));
    checkPolicyFits(policy as PolicyNet<unknown>, collector.shape, `REINFORCE: env ${cfg.env.export} with policy ${cfg.policy.export}`);
    const params = policy.parameters();
    const optimizer = new Adam(params, { lr: cfg.learningRate, eps: cfg.adamEps });
    const A = collector.shape.numActions;
    const entropyNorm = cfg.normalizeEntropy && A > 1 ? Math.log(A) : 1;
    const rate = cfg.differentialReward ? new AverageRewardRate(cfg.averageRewardWindow) : null;
    const group = Array.from({ length: E }, (_, j) => Math.floor(j / cfg.episodesPerSequence));

    const log: ReinforceLog = { algorithm: 'reinforce', config: cfg, seed: cfg.seed, codeVersion: codeVersion(), startedAt: new Date().toISOString(), workers: collector.workerCount, iterations: [], stepsPerSec: 0 };
    const start = process.hrtime.bigint();
    const elapsed = () => Number(process.hrtime.bigint() - start) / 1e9;
    let globalStep = 0;

    for (let k = 0; k < cfg.iterations; k++) {
      const entropyWeight = entropyWeightAt(cfg, k);

      // Rollout: numSequences input sequences, episodesPerSequence episodes each
      const iterRng = actionRng.split(k);
      const tasks: EpisodeTask[] = group.map((s, j) => ({ index: j, seed: hashWords(cfg.seed, k, s) & 0x7fffffff, resetOptions: cfg.resetOptions ?? undefined, rngState: iterRng.split(j).state() }));
      const episodes: Trajectory<Obs>[] = await collector.collectEpisodes(getFlatWeights(policy), tasks);
      const steps = episodes.reduce((s, ep) => s + ep.length, 0);
      globalStep += steps;

      // Returns and advantages
      const { returns, advantages } = reinforceAdvantages(episodes, group, cfg.baseline, cfg.gamma, rate);

      // One gradient step over the whole batch, in chunks of steps
      optimizer.zeroGrad();
      let pgSum = 0, entSum = 0, vSum = 0, done = 0;
      const flat = episodes.flatMap((ep, i) => Array.from({ length: ep.length }, (_, t) => [i, t] as const));
      for (let c0 = 0; c0 < steps; c0 += cfg.chunkSize) {
        const chunk = flat.slice(c0, c0 + cfg.chunkSize);
        const m = chunk.length;
        const obs = chunk.map(([i, t]) => obsAt(episodes[i]!.obs, t));
        const actions = Int32Array.from(chunk, ([i, t]) => episodes[i]!.actions[t]!);
        const masked = episodes.some((ep) => ep.masks !== null);
        const masks = masked ? new Uint8Array(m * A) : null;
        if (masks) chunk.forEach(([i, t], r) => masks.set(episodes[i]!.masks!.subarray(t * A, (t + 1) * A), r * A));
        const out = policy.forward(obs);
        checkPolicyOutput(out, m, A, `REINFORCE: policy ${cfg.policy.export}`);
        const logp = pick(logSoftmax(out.logits, masks), actions);
        const negAdv = tensor(Float64Array.from(chunk, ([i, t]) => -advantages[i]![t]!));
        // Sums over the chunk divided by the batch's step count: the chunks add up to batch means.
        const pgLoss = sum(mul(negAdv, logp));
        const entropy = sum(categoricalEntropy(out.logits, masks));
        let loss = sub(pgLoss, mul(entropy, entropyWeight / entropyNorm));
        if (cfg.baseline === 'value') {
          const target = tensor(Float64Array.from(chunk, ([i, t]) => returns[i]![t]!));
          const vLoss = sum(square(sub(reshape(out.value, [m]), target)));
          loss = add(loss, mul(vLoss, cfg.vfCoef));
          vSum += vLoss.item();
        }
        mul(loss, 1 / steps).backward();
        pgSum += pgLoss.item();
        entSum += entropy.item();
        done += m;
      }
      if (cfg.maxGradNorm !== null) clipGradNorm(params, cfg.maxGradNorm);
      optimizer.step();

      // Log
      let a1 = 0, a2 = 0;
      for (const adv of advantages) for (const a of adv) {
        a1 += a;
        a2 += a * a;
      }
      const row: ReinforceIterationRow = {
        iteration: k + 1,
        globalStep,
        episodes: E,
        meanReturn: episodes.reduce((s, ep) => s + ep.episodeReturns[0]!, 0) / E,
        meanLength: steps / E,
        entropyWeight,
        pgLoss: pgSum / done,
        entropy: entSum / done / entropyNorm,
        vLoss: cfg.baseline === 'value' ? vSum / done : null,
        advantageStd: Math.sqrt(Math.max(0, a2 / steps - (a1 / steps) ** 2)),
        rewardRate: rate ? rate.rate() : null,
        sps: globalStep / elapsed(),
      };
      log.iterations.push(row);
      hooks.onIteration?.(row);
    }
    log.stepsPerSec = globalStep / elapsed();
    return { policy, log };
  } finally {
    await collector.close();
  }
}
