/**
 * PPO-clip with GAE (Schulman et al. 2017; 2016), in the order of CleanRL's ppo.py: the
 * hyperparameters (CleanRL's defaults), seeding, envs and policy, then the loop: anneal,
 * rollout, advantages, minibatch epochs, log.
 *
 * What it adds to ppo.py: masked discrete actions (info.actionMask -> masked log-softmax, so a
 * masked action is never sampled and gets no gradient); any observation type, through the
 * PolicyNet contract (policy.ts); rollouts over worker threads with the same results as in this
 * thread (rollout.ts); truncated episodes bootstrapped from V(final observation) (ppo.py treats
 * a truncation as a termination; bootstrapTruncated: false restores that); an optional linear
 * entropy-coefficient schedule.
 *
 * Determinism: the seed fixes the initial weights (stream 'init'), env copy i's first reset seed
 * (seed + i, as ppo.py) and its action sampling (stream 'actions', split i), and the minibatch
 * order (stream 'minibatches'). Same seed and config, same weights bit for bit, for any number
 * of workers.
 */
import { Rng } from '../core/rng.js';
import { SelfoptError } from '../core/errors.js';
import { codeVersion } from '../core/version.js';
import { tensor, type Tensor } from './tensor.js';
import { sub, mul, add, exp, square } from './ops/elementwise.js';
import { mean } from './ops/reduce.js';
import { reshape } from './ops/shape.js';
import { logSoftmax, categoricalEntropy } from './ops/softmax.js';
import { clamp, maximum, pick } from './ops/select.js';
import { Adam, clipGradNorm } from './optim.js';
import { gae } from './advantages.js';
import { type PolicyNet, checkPolicyOutput, getFlatWeights, linearSchedule } from './policy.js';
import { RolloutCollector, buildFromRef, checkPolicyFits, obsAt, type ModuleRef, type Trajectory } from './rollout.js';

// ---------------------------------------------------------------------------------------------
// Hyperparameters
// ---------------------------------------------------------------------------------------------

export interface PpoConfig {
  /** Seed of the weights, env seeds, action sampling and minibatch order. */
  seed: number;
  /** The env: {module, export, options}; built in each rollout thread. */
  env: ModuleRef;
  /** The policy net (policy.ts PolicyNet): {module, export, options}, built with (options, rng). */
  policy: ModuleRef;
  /** Options of every env reset. */
  resetOptions: Record<string, unknown> | null;
  /** Total env steps of the run (all env copies). */
  totalTimesteps: number;
  /** Adam learning rate. */
  learningRate: number;
  /** Adam epsilon (ppo.py: 1e-5). */
  adamEps: number;
  /** Env copies stepped per rollout. */
  numEnvs: number;
  /** Steps per env copy per rollout. */
  numSteps: number;
  /** Anneal the learning rate linearly to 0 over the updates. */
  annealLr: boolean;
  /** Discount factor. */
  gamma: number;
  /** GAE lambda. */
  gaeLambda: number;
  /** Minibatches per epoch. */
  numMinibatches: number;
  /** Epochs over each rollout. */
  updateEpochs: number;
  /** Normalize advantages per minibatch. */
  normAdv: boolean;
  /** Surrogate clipping coefficient. */
  clipCoef: number;
  /** Clip the value loss around the rollout's values, as the PPO paper's code. */
  clipVloss: boolean;
  /** Entropy coefficient (at the first update). */
  entCoef: number;
  /** Entropy coefficient at the last update (linear schedule); null keeps entCoef. */
  entCoefEnd: number | null;
  /** Value loss coefficient. */
  vfCoef: number;
  /** Global gradient norm clip. */
  maxGradNorm: number;
  /** Stop an update's epochs early when the approximate KL exceeds this; null: never. */
  targetKl: number | null;
  /** Bootstrap truncated episodes from V(final observation); false treats them as terminated. */
  bootstrapTruncated: boolean;
  /** Cut (truncate) episodes longer than this; null: only the env ends episodes. */
  maxEpisodeSteps: number | null;
  /** Rollout worker threads; 0 runs the envs in this thread (same results). */
  workers: number;
}

/** CleanRL ppo.py's defaults (Atari-free CartPole set), plus this file's additions. */
export const PPO_DEFAULTS: Omit<PpoConfig, 'env' | 'policy'> = {
  seed: 1,
  resetOptions: null,
  totalTimesteps: 500000,
  learningRate: 2.5e-4,
  adamEps: 1e-5,
  numEnvs: 4,
  numSteps: 128,
  annealLr: true,
  gamma: 0.99,
  gaeLambda: 0.95,
  numMinibatches: 4,
  updateEpochs: 4,
  normAdv: true,
  clipCoef: 0.2,
  clipVloss: true,
  entCoef: 0.01,
  entCoefEnd: null,
  vfCoef: 0.5,
  maxGradNorm: 0.5,
  targetKl: null,
  bootstrapTruncated: true,
  maxEpisodeSteps: null,
  workers: 0,
};

/** Defaults filled in and every field checked; a bad field throws a SelfoptError naming it. */
export function ppoConfig(c: Partial<PpoConfig> & Pick<PpoConfig, 'env' | 'policy'>): PpoConfig {
  const cfg: PpoConfig = { ...PPO_DEFAULTS, ...c };
  const bad = (k: string, expected: string) => new SelfoptError(`${k} = ${JSON.stringify((cfg as unknown as Record<string, unknown>)[k])}`, 'PPO config', expected);
  for (const k of ['seed', 'totalTimesteps', 'numEnvs', 'numSteps', 'numMinibatches', 'updateEpochs', 'workers'] as const) {
    const v = cfg[k];
    if (!Number.isSafeInteger(v) || v < (k === 'workers' || k === 'seed' ? 0 : 1)) throw bad(k, k === 'workers' || k === 'seed' ? 'an integer >= 0' : 'a positive integer');
  }
  for (const k of ['learningRate', 'adamEps', 'clipCoef', 'maxGradNorm'] as const) if (!(cfg[k] > 0)) throw bad(k, 'a positive number');
  for (const k of ['gamma', 'gaeLambda'] as const) if (!(cfg[k] >= 0 && cfg[k] <= 1)) throw bad(k, 'a number in [0, 1]');
  for (const k of ['entCoef', 'vfCoef'] as const) if (!(cfg[k] >= 0)) throw bad(k, 'a number >= 0');
  if (cfg.entCoefEnd !== null && !(cfg.entCoefEnd >= 0)) throw bad('entCoefEnd', 'null or a number >= 0');
  if (cfg.targetKl !== null && !(cfg.targetKl > 0)) throw bad('targetKl', 'null or a positive number');
  if (cfg.maxEpisodeSteps !== null && !(Number.isSafeInteger(cfg.maxEpisodeSteps) && cfg.maxEpisodeSteps > 0)) throw bad('maxEpisodeSteps', 'null or a positive integer');
  if (cfg.totalTimesteps < cfg.numEnvs * cfg.numSteps) throw bad('totalTimesteps', `at least one rollout: numEnvs * numSteps = ${cfg.numEnvs * cfg.numSteps}`);
  return cfg;
}

// ---------------------------------------------------------------------------------------------
// The clipped objective on one minibatch
// ---------------------------------------------------------------------------------------------

/** One minibatch, as ppo.py indexes it with mb_inds. */
export interface PpoMinibatch<Obs> {
  obs: Obs[];
  actions: Int32Array;
  /** Masks [M, A], or null when the action space has none. */
  masks: Uint8Array | null;
  oldLogProbs: Float32Array;
  advantages: Float64Array;
  returns: Float64Array;
  oldValues: Float32Array;
}

export interface PpoLossParts {
  loss: Tensor;
  pgLoss: number;
  vLoss: number;
  entropy: number;
  approxKl: number;
  oldApproxKl: number;
  clipfrac: number;
}

/**
 * loss = pg_loss - entCoef * entropy + vfCoef * v_loss, with
 *   ratio   = exp(log pi(a|s) - log pi_old(a|s)),
 *   pg_loss = mean(max(-A ratio, -A clamp(ratio, 1 - clip, 1 + clip))),
 *   v_loss  = 0.5 mean(max((V - R)^2, (V_old + clamp(V - V_old, -clip, clip) - R)^2))  (clipVloss)
 *           = 0.5 mean((V - R)^2)                                                         (else),
 * A normalized over the minibatch first (normAdv; (A - mean) / (std + 1e-8), std with n - 1).
 */
export function ppoLoss<Obs>(policy: PolicyNet<Obs>, mb: PpoMinibatch<Obs>, cfg: Pick<PpoConfig, 'clipCoef' | 'clipVloss' | 'normAdv' | 'vfCoef'>, entCoef: number): PpoLossParts {
  const m = mb.actions.length;
  const out = policy.forward(mb.obs);
  checkPolicyOutput(out, m, policy.numActions, 'ppoLoss');
  const logp = logSoftmax(out.logits, mb.masks);
  const newLogProb = pick(logp, mb.actions);
  const entropy = categoricalEntropy(out.logits, mb.masks);
  const newValue = reshape(out.value, [m]);

  const logratio = sub(newLogProb, tensor(mb.oldLogProbs));
  const ratio = exp(logratio);
  let oldApproxKl = 0, approxKl = 0, clipped = 0;
  for (let i = 0; i < m; i++) {
    const lr = logratio.data[i]!, r = ratio.data[i]!;
    oldApproxKl -= lr;
    approxKl += r - 1 - lr; // http://joschu.net/blog/kl-approx.html
    if (Math.abs(r - 1) > cfg.clipCoef) clipped++;
  }

  const adv = Float64Array.from(mb.advantages);
  if (cfg.normAdv && m > 1) {
    let mu = 0;
    for (let i = 0; i < m; i++) mu += adv[i]!;
    mu /= m;
    let v = 0;
    for (let i = 0; i < m; i++) v += (adv[i]! - mu) ** 2;
    const sd = Math.sqrt(v / (m - 1));
    for (let i = 0; i < m; i++) adv[i] = (adv[i]! - mu) / (sd + 1e-8);
  }
  const negAdv = tensor(adv.map((a) => -a));

  // Policy loss
  const pgLoss1 = mul(negAdv, ratio);
  const pgLoss2 = mul(negAdv, clamp(ratio, 1 - cfg.clipCoef, 1 + cfg.clipCoef));
  const pgLoss = mean(maximum(pgLoss1, pgLoss2));

  // Value loss
  const returns = tensor(mb.returns);
  let vLoss: Tensor;
  if (cfg.clipVloss) {
    const oldValues = tensor(mb.oldValues);
    const vLossUnclipped = square(sub(newValue, returns));
    const vClipped = add(oldValues, clamp(sub(newValue, oldValues), -cfg.clipCoef, cfg.clipCoef));
    const vLossClipped = square(sub(vClipped, returns));
    vLoss = mul(mean(maximum(vLossUnclipped, vLossClipped)), 0.5);
  } else {
    vLoss = mul(mean(square(sub(newValue, returns))), 0.5);
  }

  const entropyLoss = mean(entropy);
  const loss = add(sub(pgLoss, mul(entropyLoss, entCoef)), mul(vLoss, cfg.vfCoef));
  return { loss, pgLoss: pgLoss.item(), vLoss: vLoss.item(), entropy: entropyLoss.item(), approxKl: approxKl / m, oldApproxKl: oldApproxKl / m, clipfrac: clipped / m };
}

// ---------------------------------------------------------------------------------------------
// Training log
// ---------------------------------------------------------------------------------------------

export interface PpoUpdateRow {
  update: number;
  globalStep: number;
  learningRate: number;
  entCoef: number;
  /** Episodes that ended during this update's rollout, their mean return and length (null if none). */
  episodes: number;
  meanReturn: number | null;
  meanLength: number | null;
  pgLoss: number;
  vLoss: number;
  entropy: number;
  oldApproxKl: number;
  approxKl: number;
  clipfrac: number;
  explainedVariance: number | null;
  /** Env steps per second since the start (rollout and update together), as ppo.py's SPS. */
  sps: number;
}

export interface PpoLog {
  algorithm: 'ppo';
  config: PpoConfig;
  seed: number;
  codeVersion: string;
  startedAt: string;
  workers: number;
  updates: PpoUpdateRow[];
  /** Env steps per second over the whole run. */
  stepsPerSec: number;
}

export interface PpoHooks {
  /** Called after every update with its log row. */
  onUpdate?: (row: PpoUpdateRow) => void;
}

export interface PpoResult<Obs> {
  policy: PolicyNet<Obs>;
  log: PpoLog;
}

// ---------------------------------------------------------------------------------------------
// Training
// ---------------------------------------------------------------------------------------------

export async function trainPpo<Obs = Float32Array>(config: Partial<PpoConfig> & Pick<PpoConfig, 'env' | 'policy'>, hooks: PpoHooks = {}): Promise<PpoResult<Obs>> {
  const cfg = ppoConfig(config);
  const batchSize = cfg.numEnvs * cfg.numSteps;
  const minibatchSize = Math.max(1, Math.floor(batchSize / cfg.numMinibatches));
  const numUpdates = Math.floor(cfg.totalTimesteps / batchSize);

  // Seeding
  const root = new Rng(cfg.seed);
  const actionRng = root.split('actions');
  const minibatchRng = root.split('minibatches');

  // Envs (in this thread or in workers) and the policy
  const collector = await RolloutCollector.create<Obs>({
    env: cfg.env,
    policy: cfg.policy,
    workers: cfg.workers,
    runners: Array.from({ length: cfg.numEnvs }, (_, i) => ({ index: i, seed: cfg.seed + i, resetOptions: cfg.resetOptions ?? undefined, rngState: actionRng.split(i).state() })),
    run: { timeKey: null, maxEpisodeSteps: cfg.maxEpisodeSteps ?? Infinity },
  });
  try {
    const policy = await buildFromRef<PolicyNet<Obs>>(cfg.policy, root.split('init'));
    checkPolicyFits(policy as PolicyNet<unknown>, collector.shape, `PPO: env ${cfg.env.export} with policy ${cfg.policy.export}`);
    const params = policy.parameters();
    const optimizer = new Adam(params, { lr: cfg.learningRate, eps: cfg.adamEps });
    const A = collector.shape.numActions;

    const log: PpoLog = { algorithm: 'ppo', config: cfg, seed: cfg.seed, codeVersion: codeVersion(), startedAt: new Date().toISOString(), workers: collector.workerCount, updates: [], stepsPerSec: 0 };
    const start = process.hrtime.bigint();
    const elapsed = () => Number(process.hrtime.bigint() - start) / 1e9;
    let globalStep = 0;

    for (let update = 1; update <= numUpdates; update++) {
      // Annealing the rate (and the entropy coefficient, when scheduled)
      const frac = 1 - (update - 1) / numUpdates;
      optimizer.lr = cfg.annealLr ? frac * cfg.learningRate : cfg.learningRate;
      const entCoef = cfg.entCoefEnd === null ? cfg.entCoef : linearSchedule(cfg.entCoef, cfg.entCoefEnd, numUpdates > 1 ? (update - 1) / (numUpdates - 1) : 0);

      // Rollout
      const segments: Trajectory<Obs>[] = await collector.collectSteps(getFlatWeights(policy), cfg.numSteps);
      globalStep += batchSize;

      // Advantages (GAE) per env copy, then the flat batch in env order
      const b = flattenBatch(segments, A, cfg);

      // Optimizing the policy and value network
      const inds = Int32Array.from({ length: batchSize }, (_, i) => i);
      let parts: Omit<PpoLossParts, 'loss'> = { pgLoss: NaN, vLoss: NaN, entropy: NaN, approxKl: NaN, oldApproxKl: NaN, clipfrac: NaN };
      let clipfracSum = 0, clipfracCount = 0;
      for (let epoch = 0; epoch < cfg.updateEpochs; epoch++) {
        minibatchRng.shuffle(inds);
        for (let s = 0; s < batchSize; s += minibatchSize) {
          const mb = minibatch(b, inds.subarray(s, Math.min(s + minibatchSize, batchSize)), A);
          const { loss, ...p } = ppoLoss(policy, mb, cfg, entCoef);
          optimizer.zeroGrad();
          loss.backward();
          clipGradNorm(params, cfg.maxGradNorm);
          optimizer.step();
          parts = p;
          clipfracSum += p.clipfrac;
          clipfracCount++;
        }
        if (cfg.targetKl !== null && parts.approxKl > cfg.targetKl) break;
      }

      // Log
      const returns = segments.flatMap((sg) => sg.episodeReturns), lengths = segments.flatMap((sg) => sg.episodeLengths);
      const row: PpoUpdateRow = {
        update,
        globalStep,
        learningRate: optimizer.lr,
        entCoef,
        episodes: returns.length,
        meanReturn: returns.length > 0 ? returns.reduce((x, y) => x + y, 0) / returns.length : null,
        meanLength: lengths.length > 0 ? lengths.reduce((x, y) => x + y, 0) / lengths.length : null,
        ...parts,
        clipfrac: clipfracSum / clipfracCount,
        explainedVariance: explainedVariance(b.values, b.returns),
        sps: globalStep / elapsed(),
      };
      log.updates.push(row);
      hooks.onUpdate?.(row);
    }
    log.stepsPerSec = globalStep / elapsed();
    return { policy, log };
  } finally {
    await collector.close();
  }
}

/** The rollout as one flat batch (env copy after env copy), with GAE advantages and returns. */
interface FlatBatch<Obs> {
  obs: Obs[];
  actions: Int32Array;
  masks: Uint8Array | null;
  logProbs: Float32Array;
  values: Float32Array;
  advantages: Float64Array;
  returns: Float64Array;
}

function flattenBatch<Obs>(segments: Trajectory<Obs>[], A: number, cfg: PpoConfig): FlatBatch<Obs> {
  const n = segments.reduce((s, sg) => s + sg.length, 0);
  const masked = segments.some((sg) => sg.masks !== null);
  const b: FlatBatch<Obs> = { obs: [], actions: new Int32Array(n), masks: masked ? new Uint8Array(n * A).fill(1) : null, logProbs: new Float32Array(n), values: new Float32Array(n), advantages: new Float64Array(n), returns: new Float64Array(n) };
  let o = 0;
  for (const sg of segments) {
    const { advantages, returns } = gae(sg, cfg.gamma, cfg.gaeLambda, cfg.bootstrapTruncated);
    for (let t = 0; t < sg.length; t++) b.obs.push(obsAt(sg.obs, t));
    b.actions.set(sg.actions, o);
    if (b.masks && sg.masks) b.masks.set(sg.masks, o * A);
    b.logProbs.set(sg.logProbs, o);
    b.values.set(sg.values, o);
    b.advantages.set(advantages, o);
    b.returns.set(returns, o);
    o += sg.length;
  }
  return b;
}

function minibatch<Obs>(b: FlatBatch<Obs>, idx: Int32Array, A: number): PpoMinibatch<Obs> {
  const m = idx.length;
  const mb: PpoMinibatch<Obs> = { obs: new Array<Obs>(m), actions: new Int32Array(m), masks: b.masks ? new Uint8Array(m * A) : null, oldLogProbs: new Float32Array(m), advantages: new Float64Array(m), returns: new Float64Array(m), oldValues: new Float32Array(m) };
  for (let i = 0; i < m; i++) {
    const j = idx[i]!;
    mb.obs[i] = b.obs[j]!;
    mb.actions[i] = b.actions[j]!;
    if (mb.masks) mb.masks.set(b.masks!.subarray(j * A, (j + 1) * A), i * A);
    mb.oldLogProbs[i] = b.logProbs[j]!;
    mb.advantages[i] = b.advantages[j]!;
    mb.returns[i] = b.returns[j]!;
    mb.oldValues[i] = b.values[j]!;
  }
  return mb;
}

/** 1 - Var(returns - values) / Var(returns) (null when the returns do not vary). */
export function explainedVariance(values: ArrayLike<number>, returns: ArrayLike<number>): number | null {
  const n = returns.length;
  if (n === 0) return null;
  let my = 0, md = 0;
  for (let i = 0; i < n; i++) {
    my += returns[i]!;
    md += returns[i]! - values[i]!;
  }
  my /= n;
  md /= n;
  let vy = 0, vd = 0;
  for (let i = 0; i < n; i++) {
    vy += (returns[i]! - my) ** 2;
    vd += (returns[i]! - values[i]! - md) ** 2;
  }
  return vy === 0 ? null : 1 - vd / vy;
}
