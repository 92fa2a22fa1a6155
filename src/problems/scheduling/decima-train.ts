/**
 * Training Decima (decima-net.ts) by REINFORCE with the input-dependent baseline, as the paper's
 * section 5.3 and decima-sim's train.py. Read top to bottom: the hyperparameters, the
 * policy-gradient loss, the training loop (its episodes come from decima-rollouts.ts).
 *
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
 * (decima-sim: ms / 1e5, the same with rewardScale 100).
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Rng } from '../../core/rng.js';
import { SelfoptError } from '../../core/errors.js';
import { stopRequested, trainStateFiles } from '../../core/train.js';
import { readArrays, writeArrays } from '../../core/files.js';
import { configOption, countFrom, NON_NEGATIVE, PROBABILITY, type FieldRule } from '../../core/options.js';
import type { TrainBudget, TrainContext } from '../../core/problem.js';
import { Adam, AverageRewardRate, reinforceAdvantages, tidy, tensor, sum, mul, sub, add, reshape, gather, pick, saveCheckpoint, loadCheckpoint, checkpointHeaderOf, type AdamState } from '../../learn/index.js';
import { makeEnv } from './evaluate.js';
import type { SchedulingInstance } from './instances.js';
import { sweepAlpha, sweepRankShape, SWEEP_EPISODES } from './heuristics.js';
import type { JobOrder, RankShape } from './weighted-fair.js';
import { imitationGradient, sampleBatch, expertFromInputs, saveImitationBuffer, loadImitationBuffer, type BufferedEpisode } from './decima-imitation.js';
import { Rollouts } from './decima-rollouts.js';
import { DECIMA_CHECKPOINT } from './decima-policy.js';
import { DecimaNet, DECIMA_NET_DEFAULTS, JOB_EXTRAS, JOB_EXTRAS_FULL, STAGE_EXTRAS, chosenStageHeads, type Step, type DecimaNetOptions } from './decima-net.js';

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
   * The imitation expert is tuned-rank-weighted-fair (its alpha and rank bump swept on the
   * training seeds, smallest total work first); the net's share input then carries the same bump.
   */
  expertRank: boolean;
  /**
   * Fresh-seed rollouts per candidate of the rollout teacher (decima-teacher.ts; batch only):
   * 0 imitates weighted fair itself. With a teacher only a `teacherLabelShare` of the visited
   * states are labelled (each label costs candidates x rollouts simulations).
   */
  teacherRollouts: number;
  teacherLabelShare: number;
  /** The teacher's extra candidates: the expert's stage with its limit moved by each (executors; e.g. -8,-4,-2,-1,1,2,4,8). */
  teacherLimitDeltas: number[];
  /** The teacher redraws the end times of running tasks in its fresh streams (it then knows only what a scheduler sees). */
  teacherHideRunning: boolean;
  /** The teacher overrules the expert only when its estimated gain in average JCT is at least this (s); 0: any gain. */
  teacherMinGainS: number;
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
const expertOrder = (cfg: DecimaConfig): JobOrder => (cfg.expertSjf || cfg.expertRank ? 'work' : 'arrival');

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
  expertRank: false,
  teacherRollouts: 0,
  teacherLabelShare: 1,
  teacherLimitDeltas: [],
  teacherHideRunning: false,
  teacherMinGainS: 0,
  jobExtras: 0,
  stageExtras: 0,
  shareAlpha: NaN,
  anchorWeight: 0,
  anchorStates: 256,
};

/** Decima's hyperparameters for continuous arrivals (decima-sim's README command, per second). */
export const DECIMA_STREAM_DEFAULTS: Partial<DecimaConfig> = { resetProbInit: 5e-4, resetProbDecay: 4e-7, resetProbMin: 5e-5, differentialReward: true };

/** What each field of the config takes (configOption): the rest are free numbers (the alphas, NaN as "off") or booleans. */
const DECIMA_RULES: Partial<Record<keyof DecimaConfig, FieldRule>> = {
  embed: countFrom(1), gnnHidden: countFrom(1), headHidden: countFrom(1),
  jobExtras: { oneOf: [0, JOB_EXTRAS, JOB_EXTRAS_FULL], expected: `0 (the paper's inputs), ${JOB_EXTRAS} or ${JOB_EXTRAS_FULL}` },
  stageExtras: { oneOf: [0, STAGE_EXTRAS], expected: `0 (the paper's inputs) or ${STAGE_EXTRAS}` },
  // Upper bounds catch a typo before it costs the machine: 1e9 episodes filled the heap (every
  // episode of an iteration is kept until its gradient step), and each worker is a thread.
  episodesPerIteration: { int: true, min: 2, max: 1024, expected: 'an integer in [2, 1024] (the baseline averages over the episodes of one sequence)' },
  learningRate: NON_NEGATIVE, rewardScale: { min: Number.MIN_VALUE, expected: 'a number > 0' },
  entropyWeightInit: NON_NEGATIVE, entropyWeightDecay: NON_NEGATIVE, entropyWeightMin: NON_NEGATIVE,
  resetProbInit: PROBABILITY, resetProbDecay: PROBABILITY, resetProbMin: PROBABILITY,
  averageRewardWindow: countFrom(1), chunkSteps: countFrom(1), saveEverySeconds: NON_NEGATIVE, workers: { int: true, min: 0, max: 64, expected: 'an integer in [0, 64] (rollout threads; 0 runs the episodes in the training thread)' },
  imitationIterations: countFrom(0), imitationLearningRate: NON_NEGATIVE, imitationUpdates: countFrom(0), imitationBatch: countFrom(1), imitationBuffer: countFrom(1),
  teacherRollouts: countFrom(0), teacherLabelShare: PROBABILITY, teacherLimitDeltas: { int: true }, teacherMinGainS: NON_NEGATIVE,
  anchorWeight: NON_NEGATIVE, anchorStates: countFrom(1),
};

/** The training config: the workload's defaults, each field overridden by `--opt decima.<field>=value` (configOption, DECIMA_RULES). */
export function decimaConfig(inst: SchedulingInstance | undefined, options: Readonly<Record<string, string>>): DecimaConfig {
  const base: DecimaConfig = { ...DECIMA_DEFAULTS, ...(inst?.workload.kind === 'stream' ? DECIMA_STREAM_DEFAULTS : {}) };
  return configOption(options, 'decima.', base, { rules: DECIMA_RULES });
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

interface SavedState {
  iteration: number;
  elapsedS: number;
  resetProb: number;
  rng: number[];
  adam: AdamState;
  config: DecimaConfig;
}

/**
 * The state's files beside the weights: what carries over from one iteration to the next and
 * would make a resumed run differ from an uninterrupted one if it started empty. `buffer` (the
 * imitation buffer, decima-imitation.ts saveImitationBuffer: what remakes its episodes, replayed
 * on resume) is saved when imitationIterations > 0 (empty once imitation is over), `rewardRate` (the differential reward's window) when
 * differentialReward is on.
 */
const RATE_FORMAT = 'average-reward-rate-1';
function saveRewardRate(path: string, rate: AverageRewardRate): void {
  const { rewards, durations, ...scalars } = rate.state();
  writeArrays(path, RATE_FORMAT, scalars, [rewards, durations]);
}
function loadRewardRate(path: string): AverageRewardRate {
  const r = readArrays<{ window: number; next: number; count: number; rewardSum: number; timeSum: number }>(path, RATE_FORMAT);
  const rate = AverageRewardRate.fromState({ ...r.header, rewards: r.next(Float64Array), durations: r.next(Float64Array) });
  r.done();
  return rate;
}

/** Trains a Decima net; resumes from ctx.stateDir when a saved state is there. */
export async function trainDecima(instances: SchedulingInstance[], budget: TrainBudget, ctx: TrainContext): Promise<DecimaNet> {
  if (instances.length === 0) throw new SelfoptError('no training instances', 'Decima training', 'at least one train-split instance');
  const bad = instances.find((i) => i.split !== 'train');
  if (bad) throw new SelfoptError(`instance ${bad.id} is not a training instance`, 'Decima training', 'train-split instances only (held-out seeds are for evaluation)');
  // `selfopt train` also takes the bench's keys, but this trainer reads none of them: refused, as
  // compat=1 trained on the linear rule and wrote compat=1 into the manifest.
  const notRead: Record<string, string> = {
    compat: "a _compat training instance (--instances tpch_batch20_50exec_compat_train): training runs the instance's own executor-level rule",
    'decima.sample': 'no decima.sample: training always samples its actions',
    sweep_episodes: `no sweep_episodes: the imitation expert's sweep runs ${SWEEP_EPISODES.full} episodes per candidate (decima.expertAlpha fixes its alpha)`,
  };
  for (const key of Object.keys(notRead)) {
    if (ctx.options[key] !== undefined) throw new SelfoptError(`option ${key} is read by a bench, not by Decima's training`, `--opt ${key}`, notRead[key]!);
  }
  const E = instances[0]!.numExecutors;
  if (instances.some((i) => i.numExecutors !== E)) throw new SelfoptError('training instances with different executor counts', 'Decima training', 'one cluster size (the limit head has one output per executor)');
  const cfg = decimaConfig(instances[0], ctx.options);
  // The imitation expert's alpha per instance: weighted fair with tuned weighted fair's alpha (training seeds) unless given.
  if (cfg.expertRank && !Number.isNaN(cfg.expertAlpha)) throw new SelfoptError('expertRank with expertAlpha', 'Decima config', 'one of them: tuned-rank-weighted-fair sweeps its own alpha');
  const rankOf = (inst: SchedulingInstance) => sweepRankShape(inst, SWEEP_EPISODES.full);
  const expertAlphaOf = (inst: SchedulingInstance) => (cfg.expertRank ? rankOf(inst).alpha : Number.isNaN(cfg.expertAlpha) ? sweepAlpha(inst, SWEEP_EPISODES.full, undefined, expertOrder(cfg)).alpha : cfg.expertAlpha);
  const expertShapeOf = (inst: SchedulingInstance): RankShape | null => (cfg.expertRank ? rankOf(inst).shape : null);
  const shareAlpha = Number.isNaN(cfg.shareAlpha) ? (cfg.jobExtras === JOB_EXTRAS_FULL ? expertAlphaOf(instances[0]!) : 0) : cfg.shareAlpha;
  const shareShape = cfg.jobExtras === JOB_EXTRAS_FULL ? expertShapeOf(instances[0]!) : null;
  if (cfg.anchorWeight > 0 && !(cfg.jobExtras === JOB_EXTRAS_FULL && cfg.stageExtras === STAGE_EXTRAS && expertOrder(cfg) === 'work')) throw new SelfoptError('anchorWeight > 0 without the expert-state inputs', 'Decima config', `decima.jobExtras=${JOB_EXTRAS_FULL} decima.stageExtras=${STAGE_EXTRAS} and decima.expertSjf=1 or decima.expertRank=1 (the anchor reads the expert's answer from them)`);
  const netOpts: DecimaNetOptions = { numExecutors: E, embed: cfg.embed, gnnHidden: cfg.gnnHidden, headHidden: cfg.headHidden, jobExtras: cfg.jobExtras, stageExtras: cfg.stageExtras, shareAlpha, shareShape };
  const net = new DecimaNet(netOpts, ctx.rng.split('init'));
  const I = cfg.imitationIterations;
  let opt = new Adam(net.parameters(), { lr: I > 0 ? cfg.imitationLearningRate : cfg.learningRate });
  const envs = instances.map((i) => makeEnv(i));
  let rate = cfg.differentialReward ? new AverageRewardRate(cfg.averageRewardWindow) : null;
  // The imitation buffer: the labelled episodes of the last imitationBuffer iterations.
  let buffer: BufferedEpisode[] = [];
  let rng = ctx.rng.split('train');
  let iteration = 0, elapsedBefore = 0, resetProb = cfg.resetProbInit;

  // Resume
  // The state (iteration, Adam's moments, Rng), the weights, the imitation buffer and the reward
  // rate's window it goes with, saved as one unit.
  const saved = trainStateFiles<SavedState>(ctx.stateDir, 'decima-state', { weights: 'decima-state.ckpt' });
  const resumed = saved.load();
  const weightsPath = resumed?.weights['weights'];
  // `--opt init=<checkpoint>`: start from trained weights (same architecture) instead of random ones.
  const init = ctx.options['init'];
  if (init && !weightsPath) {
    checkpointHeaderOf(init, 'DecimaNet', DECIMA_CHECKPOINT, `${init} (--opt init)`);
    loadCheckpoint(init, net);
  }
  if (resumed && weightsPath) {
    const s = resumed.state;
    // A state saved before the buffer and the window were (no file named for them) resumes where
    // they were empty (no imitation iteration yet or none left; no REINFORCE iteration yet), and
    // is refused where they were not: resumed with them empty, it would not remake an
    // uninterrupted run (the manifest's command would not remake the weights).
    const lost = [
      s.iteration > 0 && s.iteration < I && !resumed.weights['buffer'] ? `the imitation buffer (iteration ${s.iteration} of ${I} imitation iterations)` : '',
      rate && s.iteration > I && !resumed.weights['rewardRate'] ? `the differential reward's window (iteration ${s.iteration}, ${s.iteration - I} of them REINFORCE)` : '',
    ].filter((x) => x !== '');
    if (lost.length > 0) throw new SelfoptError(`the saved training state lacks ${lost.join(' and ')}: it was saved by a version of selfopt that did not save them, and resumed without them the run would not be the one its command makes`, join(ctx.stateDir, 'decima-state.json'), 'a state saved with them; --fresh starts the run over');
    loadCheckpoint(weightsPath, net);
    iteration = s.iteration;
    if (iteration >= I) opt.lr = cfg.learningRate;
    opt.setState(s.adam, `${join(ctx.stateDir, 'decima-state.json')}, field adam`);
    elapsedBefore = s.elapsedS;
    resetProb = s.resetProb;
    rng = Rng.fromState(s.rng);
    if (resumed.weights['buffer']) buffer = loadImitationBuffer(resumed.weights['buffer'], envs);
    if (rate && resumed.weights['rewardRate']) {
      rate = loadRewardRate(resumed.weights['rewardRate']);
      if (rate.window !== cfg.averageRewardWindow) throw new SelfoptError(`a saved reward-rate window of ${rate.window} steps`, resumed.weights['rewardRate'], `averageRewardWindow ${cfg.averageRewardWindow} (the run that made the state)`);
    }
  }
  const hyper = { ...cfg, numExecutors: E, instances: instances.map((i) => i.id) } as unknown as Record<string, unknown>;
  const save = () => {
    const s: SavedState = { iteration, elapsedS: elapsedBefore + (performance.now() - t0) / 1000, resetProb, rng: rng.state(), adam: opt.getState(), config: cfg };
    saved.save(s, {
      weights: (path) => saveCheckpoint(path, net, { hyperparameters: hyper, command: ctx.command, seed: ctx.seed }),
      ...(I > 0 ? { buffer: (path: string) => saveImitationBuffer(path, buffer) } : {}),
      ...(rate ? { rewardRate: (path: string) => saveRewardRate(path, rate!) } : {}),
    });
  };

  const rollouts = await Rollouts.create(net, instances, cfg);
  const t0 = performance.now();
  let lastSave = t0, stopped = false;
  try {
    const maxIter = budget.steps ?? Infinity;
    const timeUp = () => budget.seconds !== undefined && elapsedBefore + (performance.now() - t0) / 1000 >= budget.seconds;
    // The imitation expert: weighted fair with tuned weighted fair's alpha for each instance (training seeds).
    const alphas = iteration < I ? instances.map(expertAlphaOf) : [];
    const shapes = iteration < I ? instances.map(expertShapeOf) : [];
    if (cfg.teacherRollouts > 0 && instances.some((i) => i.workload.kind !== 'batch')) throw new SelfoptError('a rollout teacher on a stream', 'Decima imitation', 'batch instances (a replayed stream would hold its future arrivals)');
    if (cfg.teacherRollouts > 0 && instances.some((i) => i.executorClasses !== undefined)) throw new SelfoptError('a rollout teacher on executor classes', 'Decima imitation', "single-resource instances (the teacher's candidate policies pick no executor class)");
    while (iteration < maxIter && !timeUp()) {
      // A stop (Ctrl-C): the state is saved below, `out` is not written.
      if (await stopRequested(ctx)) { stopped = true; break; }
      const k = iteration;
      if (k < I) {
        // DAgger iteration: beta (the expert's share of decisions) from 1 to 0 over the first half.
        const inst = instances[k % instances.length]!, env = envs[k % instances.length]!;
        const beta = Math.max(0, 1 - k / Math.max(1, I / 2));
        const itRng = rng.split(k);
        const eps = await rollouts.imitate(k % instances.length, env, inst.seedBase + k, itRng, alphas[k % instances.length]!, expertOrder(cfg), beta, shapes[k % instances.length]!);
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
        if (iteration === I) {
          opt = new Adam(net.parameters(), { lr: cfg.learningRate });
          // Imitation is over: its states are not sampled again (nor saved).
          buffer = [];
        }
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
          const labels = steps.map((st) => expertFromInputs(st, E, net.opts.shareAlpha, net.opts.shareShape ?? null));
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
  if (!stopped) saveCheckpoint(ctx.out, net, { hyperparameters: { ...hyper, iterations: iteration }, command: ctx.command, seed: ctx.seed });
  return net;
}
