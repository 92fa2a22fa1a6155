/**
 * Learned phase ordering: PPO (src/learn/ppo.ts, CleanRL's algorithm) on CompilerEnv with the
 * InstCountNorm (or Autophase) observation, trained on the train-subset programs, scored on
 * unseen test programs; and PPO + guided search, the llvm-ic-v0 leaderboard's leader (Cummins et
 * al. 2022): the policy proposes pass sequences, a short search refines them.
 *
 * This file: the config, the env and policy factories, training, and the two solvers; what the
 * solvers run (the policy alone for `ppo`, the guided search for `ppo-guided-search`) is in
 * ppo-search.ts.
 *
 * Training (`selfopt train compiler ppo --seconds N`): greedy demonstrations, behaviour cloning,
 * `daggerRounds` of DAgger (imitation.ts), then PPO in chunks of `chunkSteps` env steps; after
 * each phase and chunk the weights go to ctx.stateDir with the progress that names them, one unit
 * (trainStateFiles; a rerun resumes from them; Adam's moments
 * and the learning-rate schedule restart per chunk) and the policy alone is scored on the
 * validation programs; the best-scoring weights are the final checkpoint, with the passes that
 * were greedy's choice at some labelled train state (`bestPasses`). `ppo-guided-search` uses the
 * `ppo` checkpoint (it trains nothing of its own). `--seconds` covers the warm start too: its
 * demonstrations stop at the deadline (saved per program, resumed by a rerun), and a budget spent
 * before the first clone is one error line; `--steps` counts PPO env steps only (README, Training).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { CheckpointModel, LearnedSolver, SolveContext, TrainBudget, TrainContext } from '../../core/problem.js';
import { Rng } from '../../core/rng.js';
import { SelfoptError, unknownName } from '../../core/errors.js';
import { writeFileAtomic } from '../../core/files.js';
import { geomean } from '../../core/stats.js';
import { checkpointFor, readTrainState, stopRequested, trainStateFiles } from '../../core/train.js';
import { configOption, countFrom, NON_NEGATIVE, POSITIVE, PROBABILITY, type FieldRule } from '../../core/options.js';
import { trainPpo } from '../../learn/ppo.js';
import { MlpPolicy } from '../../learn/policy.js';
import { checkpointHeaderOf, loadCheckpoint, readCheckpoint, saveCheckpoint } from '../../learn/checkpoint.js';
import { actionMask, ACTIONS, parseUnmask } from './passes.js';
import { CompilerEnv, finishObservation, observationSize, type ObservationKind } from './env.js';
import { OptSession } from './session.js';
import { loadProgram, type CompilerInstance, type ProgramSpec } from './instances.js';
import type { PassSequence } from './evaluate.js';
import { optionNumber } from './heuristics.js';
import { behaviourClone, greedyDemos, policyDemos, type Demo } from './imitation.js';
import { guidedSearch, passLogProbs, policyAlone, type Best, type PassPolicy } from './ppo-search.js';

// ---------------------------------------------------------------------------------------------
// Hyperparameters
// ---------------------------------------------------------------------------------------------

export interface CompilerPpoConfig {
  /** Passes per episode (and per answer of the policy). */
  episodeLength: number;
  observation: ObservationKind;
  /** Append the histogram of passes that changed the module (env.ts). */
  actionHistory: boolean;
  hidden: number[];
  /** Env steps per training chunk (weights saved and validated after each). */
  chunkSteps: number;
  numEnvs: number;
  numSteps: number;
  learningRate: number;
  entCoef: number;
  gamma: number;
  /** Rollout worker threads (0: in this thread). */
  workers: number;
  /** Programs larger than this (bytes of source) are left out of training (slow passes). */
  maxProgramBytes: number;
  /** Behaviour-cloning epochs on greedy's demonstrations before PPO (0: PPO from scratch; imitation.ts). */
  bcEpochs: number;
  bcBatch: number;
  bcLearningRate: number;
  /** Greedy steps per demonstration program at most. */
  demoSteps: number;
  /** DAgger rounds after cloning (imitation.ts policyDemos; 0: none). */
  daggerRounds: number;
  /** Written by training (bestPasses): the passes that were the best choice at some labelled train state. */
  bestPasses?: string[];
}

export const COMPILER_PPO_DEFAULTS: CompilerPpoConfig = {
  episodeLength: 20,
  observation: 'both',
  actionHistory: true,
  hidden: [256, 256],
  chunkSteps: 2048,
  numEnvs: 4,
  numSteps: 64,
  learningRate: 1e-5,
  entCoef: 0.001,
  gamma: 1,
  workers: 2,
  maxProgramBytes: 16_384,
  bcEpochs: 400,
  bcBatch: 64,
  bcLearningRate: 1e-3,
  demoSteps: 30,
  daggerRounds: 1,
};

// ---------------------------------------------------------------------------------------------
// Env and policy factories (built in each rollout worker from plain options)
// ---------------------------------------------------------------------------------------------

/** A CompilerEnv over programs given as plain ProgramSpecs (compiled bitcode is cached on disk). */
export function createCompilerEnv(options: { programs: ProgramSpec[]; maxSteps: number; observation: ObservationKind; actionHistory?: boolean; unmask?: string[] }): CompilerEnv {
  const programs = options.programs.map(loadProgram).filter((p) => !p.error && p.countO0 > p.countOz);
  return new CompilerEnv({ programs, maxSteps: options.maxSteps, observation: options.observation, actionHistory: options.actionHistory ?? false, unmask: options.unmask });
}

/** MlpPolicy, starting from the weights of `init` (a checkpoint path) when given. */
export function compilerPolicy(options: { obsDim: number; numActions: number; hidden: number[]; init?: string }, rng: Rng): MlpPolicy {
  const net = new MlpPolicy({ obsDim: options.obsDim, numActions: options.numActions, hidden: options.hidden }, rng);
  if (options.init) loadCheckpoint(options.init, net);
  return net;
}

/** What ppo and ppo-guided-search load. */
const PPO_CHECKPOINT: CheckpointModel = { type: 'MlpPolicy', expected: 'an MlpPolicy checkpoint (selfopt train compiler ppo)' };

export function policyFromCheckpoint(path: string): { net: MlpPolicy; cfg: CompilerPpoConfig } {
  const header = checkpointHeaderOf(path, PPO_CHECKPOINT.type, PPO_CHECKPOINT.expected);
  // A checkpoint written before actionHistory existed has none.
  const cfg = { ...COMPILER_PPO_DEFAULTS, actionHistory: false, ...(header.hyperparameters as Partial<CompilerPpoConfig>) };
  const net = compilerPolicy({ obsDim: observationSize(cfg.observation, cfg.actionHistory), numActions: ACTIONS.length, hidden: cfg.hidden, init: path }, new Rng(0));
  return { net, cfg };
}

// ---------------------------------------------------------------------------------------------
// Training
// ---------------------------------------------------------------------------------------------

/** What each number field of the PPO config takes (configOption). */
// A learning rate of 0 trains nothing: cloning ran its epochs leaving the weights as they were, and
// PPO refused it only after the demonstrations (hours on the train programs). Refused before any work.
const PPO_RULES: Partial<Record<keyof CompilerPpoConfig, FieldRule>> = {
  episodeLength: countFrom(1), hidden: countFrom(1), chunkSteps: countFrom(1), numEnvs: countFrom(1), numSteps: countFrom(1),
  learningRate: POSITIVE, entCoef: NON_NEGATIVE, gamma: PROBABILITY, workers: countFrom(0), maxProgramBytes: countFrom(1),
  bcEpochs: countFrom(0), bcBatch: countFrom(1), bcLearningRate: POSITIVE, demoSteps: countFrom(1), daggerRounds: countFrom(0),
};
const OBSERVATIONS: readonly ObservationKind[] = ['instcount-norm', 'autophase-norm', 'both'];

/** The training config: each field of COMPILER_PPO_DEFAULTS overridden by `--opt <field>=value` (`hidden` as 256x256; PPO_RULES). */
export function configFrom(options: Readonly<Record<string, string>>): CompilerPpoConfig {
  const cfg = configOption(options, '', COMPILER_PPO_DEFAULTS, { sep: 'x', rules: PPO_RULES });
  if (!OBSERVATIONS.includes(cfg.observation)) throw unknownName('observation', cfg.observation, OBSERVATIONS, '--opt observation');
  return cfg;
}

/** The passes that were the best choice (ties included) at some labelled train state, in action order: guided search's wider tiers try only these. */
export function bestPasses(demos: readonly Demo[]): string[] {
  const used = new Set<number>();
  for (const d of demos) {
    const b = Math.min(...d.childCounts);
    if (b < d.count) d.childCounts.forEach((c, a) => { if (c === b) used.add(a); });
  }
  return ACTIONS.filter((_, a) => used.has(a)).map((x) => x.pass);
}

interface TrainProgress { steps: number; chunks: number; bestScore: number; bcDone?: boolean; bcScore?: number; daggerRounds?: number; unmask?: string[]; /** Wall seconds of every session so far (the --seconds budget covers them all). */ seconds?: number }

async function trainCompilerPpo(instances: CompilerInstance[], budget: TrainBudget, ctx: TrainContext): Promise<void> {
  const cfg = configFrom(ctx.options);
  // `--opt unmask=attributor` trains with the masked pass as an action: the Env, the demos' labels
  // and the validation score all take it (default: none, the runs that replay).
  const unmask = parseUnmask(ctx.options.unmask);
  const mask = actionMask(unmask);
  const usable = instances.filter((p) => !p.error && p.countO0 > p.countOz && p.program.bytes <= cfg.maxProgramBytes);
  const train = usable.filter((p) => p.program.subset === 'train');
  const validation = usable.filter((p) => p.program.subset === 'validation');
  if (train.length === 0) throw new SelfoptError('no train-subset programs that build', 'compiler ppo train', 'at least one');
  // progress.json and the weight files it names (the latest weights, the best-scoring ones), saved as one unit.
  const saved = trainStateFiles<TrainProgress>(ctx.stateDir, 'progress', { weights: 'weights.ckpt', best: 'best.ckpt' });
  const resumed = saved.load();
  const progress: TrainProgress = resumed?.state ?? { steps: 0, chunks: 0, bestScore: -Infinity, unmask };
  progress.bestScore ??= -Infinity; // JSON writes -Infinity (nothing scored yet) as null
  let files: Record<string, string> = resumed?.weights ?? {};
  // Demos and scores saved so far were made under one mask: a resume must keep it.
  if ((progress.unmask ?? []).join(',') !== unmask.join(',')) {
    throw new SelfoptError(`the saved training state was made with unmask=${(progress.unmask ?? []).join(',') || '(none)'}, this run asks for unmask=${unmask.join(',') || '(none)'}`, ctx.stateDir, 'the same --opt unmask as the run that made it, or --fresh');
  }
  const t0 = performance.now(), secondsBefore = progress.seconds ?? 0;
  const elapsed = () => secondsBefore + (performance.now() - t0) / 1000;
  const saveProgress = (writers: Record<string, (path: string) => void> = {}) => { files = saved.save({ ...progress, seconds: elapsed() }, writers); };
  // Saved before the first demo, so that a run killed while it makes demos is held to its mask too.
  if (!resumed) saveProgress();
  const totalSteps = budget.steps ?? Infinity;
  // The budget in seconds counts the sessions before this one (a resumed run gets what is left, as the other trainers do).
  const deadline = budget.seconds !== undefined ? t0 + (budget.seconds - secondsBefore) * 1000 : Infinity;
  const outOfTime = () => performance.now() >= deadline;
  const obsDim = observationSize(cfg.observation, cfg.actionHistory);
  const hyper = { ...cfg, unmask };
  const env = { module: new URL('./ppo.js', import.meta.url).href, export: 'createCompilerEnv', options: { programs: train.map((p) => p.program), maxSteps: cfg.episodeLength, observation: cfg.observation, actionHistory: cfg.actionHistory, unmask } };
  const score = (net: MlpPolicy): number => {
    const set = validation.length > 0 ? validation : train;
    const session = new OptSession();
    const r = geomean(set.map((p) => p.countOz / Math.max(1, policyAlone({ net, cfg, mask }, p, session).count)));
    session.close();
    return r;
  };
  /** The weight files to save with the progress: `net` as the latest weights, and as the best when it scores `s` >= the best so far. */
  const weightWriters = (net: MlpPolicy, s: number, extra: Record<string, unknown>) => {
    const writers: Record<string, (path: string) => void> = { weights: (path) => saveCheckpoint(path, net, { hyperparameters: hyper, seed: ctx.seed, command: ctx.command }) };
    const best = { hyperparameters: { ...hyper, validationGeomean: s, steps: progress.steps, ...extra }, seed: ctx.seed, command: ctx.command };
    if (s >= progress.bestScore) writers['best'] = (path) => saveCheckpoint(path, net, best);
    progress.bestScore = Math.max(progress.bestScore, s);
    return writers;
  };

  // Warm start (imitation.ts): greedy demonstrations on the train programs (one program per
  // save, so a killed run resumes where it was), then behaviour cloning, scored as chunk 0.
  const clone = (all: Demo[], phase: string) => {
    const net = compilerPolicy({ obsDim, numActions: ACTIONS.length, hidden: cfg.hidden }, new Rng(ctx.seed));
    behaviourClone(net, all, { kind: cfg.observation, actionHistory: cfg.actionHistory, episodeLength: cfg.episodeLength, epochs: cfg.bcEpochs, batchSize: cfg.bcBatch, learningRate: cfg.bcLearningRate }, new Rng(ctx.seed).split('bc'), ctx.log);
    const s = score(net);
    ctx.log({ step: 0, validationGeomeanVsOz: s, demoStates: all.length });
    return { s, writers: weightWriters(net, s, { phase, demoStates: all.length }) };
  };
  let demoPrograms = 0;
  /** Demonstrations of one kind per train program, computed once each and saved as they come. */
  const demoSet = async (file: string, make: (p: CompilerInstance, session: OptSession) => Demo[]): Promise<Demo[]> => {
    const path = join(ctx.stateDir, file);
    const demos: Record<string, Demo[]> = existsSync(path) ? readTrainState<Record<string, Demo[]>>(path) : {};
    for (const p of train) {
      if (demos[p.id]) continue;
      // A stop (Ctrl-C): the programs done so far are saved. The warm start counts against
      // --seconds: at the deadline it stops here too (resumable).
      if (await stopRequested(ctx) || outOfTime()) break;
      const session = new OptSession();
      const td = performance.now();
      const made = make(p, session);
      session.close();
      // A stop that came during the search (its handler runs on this turn of the loop) drops this
      // program's demos: a signal that reached the search's tools may have failed a pass, and a
      // saved demo is reused by every resume. The next run makes them again.
      if (await stopRequested(ctx)) break;
      demos[p.id] = made;
      writeFileAtomic(path, JSON.stringify(demos));
      ctx.log({ demoPrograms: Object.keys(demos).length, demoStates: demos[p.id]!.length, demoSeconds: (performance.now() - td) / 1000 });
      // In seconds when the budget names them (one bar for the warm start and PPO), else in this demo set's programs.
      if (budget.seconds !== undefined) ctx.progress(Math.min(budget.seconds, elapsed()), budget.seconds);
      else ctx.progress(train.filter((q) => demos[q.id]).length, train.length);
    }
    demoPrograms = train.filter((q) => demos[q.id]).length;
    return train.flatMap((p) => demos[p.id] ?? []);
  };
  const greedyAll = cfg.bcEpochs > 0 ? await demoSet('demos.json', (p, session) => greedyDemos(p, session, cfg.observation, cfg.demoSteps, mask)) : [];
  // Stopped (Ctrl-C): what is saved in stateDir is the state, and `out` is not written.
  if (ctx.signal?.aborted) { saveProgress(); return; }
  if (cfg.bcEpochs > 0 && !progress.bcDone && outOfTime()) {
    // The budget ran out before any weights were trained: the demos so far are saved, a larger budget resumes.
    saveProgress();
    throw new SelfoptError(`the --seconds ${budget.seconds} budget ran out in the warm start, before any weights were trained (greedy demonstrations on ${demoPrograms} of ${train.length} programs, saved)`, ctx.stateDir, 'a larger --seconds (the same command resumes the warm start where it stopped; it runs before any PPO step), or --steps');
  }
  let labelled = greedyAll;
  if (cfg.bcEpochs > 0 && !progress.bcDone) {
    const { s, writers } = clone(greedyAll, 'behaviour cloning');
    progress.bcScore = s;
    progress.bcDone = true;
    saveProgress(writers);
  }
  // DAgger rounds (imitation.ts policyDemos): label the states the latest clone reaches, clone again on all.
  for (let r = 1; cfg.bcEpochs > 0 && r <= cfg.daggerRounds; r++) {
    const file = `dagger${r}.json`;
    if (r <= (progress.daggerRounds ?? 0)) { labelled = [...labelled, ...await demoSet(file, () => [])]; continue; }
    const { net } = policyFromCheckpoint(files['weights']!);
    const obs = new Float32Array(obsDim), scores = new Float32Array(net.numActions);
    const ranker = (f: Float32Array, taken: readonly number[]) => {
      obs.set(f);
      finishObservation(cfg.observation, cfg.actionHistory ? taken : null, Math.min(1, taken.length / cfg.episodeLength), cfg.episodeLength, obs);
      return passLogProbs(net, obs, mask, scores);
    };
    labelled = [...labelled, ...await demoSet(file, (p, session) => policyDemos(p, session, cfg.observation, cfg.episodeLength, ranker, mask))];
    if (ctx.signal?.aborted) { saveProgress(); return; }
    // Out of time in this round's demos: the checkpoint is the best clone so far; a larger budget resumes the round.
    if (outOfTime()) break;
    const { writers } = clone(labelled, `dagger round ${r}`);
    progress.daggerRounds = r;
    saveProgress(writers);
  }
  while (progress.steps < totalSteps && performance.now() < deadline) {
    if (await stopRequested(ctx)) { saveProgress(); return; }
    const chunk = Math.min(cfg.chunkSteps, totalSteps - progress.steps);
    const steps = Math.max(cfg.numEnvs * cfg.numSteps, Math.floor(chunk / (cfg.numEnvs * cfg.numSteps)) * cfg.numEnvs * cfg.numSteps);
    const result = await trainPpo({
      seed: ctx.seed + progress.chunks,
      env,
      policy: { module: new URL('./ppo.js', import.meta.url).href, export: 'compilerPolicy', options: { obsDim, numActions: ACTIONS.length, hidden: cfg.hidden, ...(files['weights'] ? { init: files['weights'] } : {}) } },
      totalTimesteps: steps,
      numEnvs: cfg.numEnvs,
      numSteps: cfg.numSteps,
      learningRate: cfg.learningRate,
      entCoef: cfg.entCoef,
      gamma: cfg.gamma,
      gaeLambda: 0.95,
      workers: cfg.workers,
      annealLr: false,
    }, {
      onUpdate: (row) => ctx.log({ step: progress.steps + row.globalStep, meanReturn: row.meanReturn ?? NaN, entropy: row.entropy, pgLoss: row.pgLoss, vLoss: row.vLoss, sps: row.sps }),
    });
    const net = result.policy as MlpPolicy;
    const s = score(net);
    progress.steps += steps;
    progress.chunks += 1;
    const writers = weightWriters(net, s, { phase: 'ppo' });
    ctx.log({ step: progress.steps, validationGeomeanVsOz: s });
    saveProgress(writers);
    // In env steps when the budget names them, else in seconds (steps alone would show n/n, 100%, at every chunk).
    if (totalSteps !== Infinity) ctx.progress(Math.min(progress.steps, totalSteps), totalSteps);
    else ctx.progress(Math.min(budget.seconds!, elapsed()), budget.seconds!);
  }
  const chosen = files['best'] ?? files['weights'];
  if (!chosen) throw new SelfoptError('no weights trained', 'compiler ppo train', 'bcEpochs > 0 or a budget of at least one PPO chunk');
  const { net } = policyFromCheckpoint(chosen);
  const from = readCheckpoint(chosen).header.hyperparameters as Record<string, unknown>;
  saveCheckpoint(ctx.out, net, {
    hyperparameters: { ...hyper, bestPasses: bestPasses(labelled), validationGeomean: progress.bestScore, bcValidationGeomean: progress.bcScore, steps: progress.steps, chosenPhase: from.phase, chosenAtSteps: from.steps, trainPrograms: train.length, validationPrograms: validation.length },
    seed: ctx.seed, command: ctx.command,
  });
}

// ---------------------------------------------------------------------------------------------
// Solvers
// ---------------------------------------------------------------------------------------------

const nets = new Map<string, { net: MlpPolicy; cfg: CompilerPpoConfig }>();
/** The checkpoint's policy (loaded once per worker), held to the Env's mask with `--opt unmask` lifted. */
function policyFor(ctx: SolveContext): PassPolicy {
  const path = checkpointFor('compiler', 'ppo', ctx.options);
  let n = nets.get(path);
  if (!n) { n = policyFromCheckpoint(path); nets.set(path, n); }
  return { ...n, mask: actionMask(parseUnmask(ctx.options.unmask)) };
}

/** No searchMs: the learned solvers' search_s is the runner's wall time of solve() (loading the checkpoint included). */
function answer(best: Best, session: OptSession): PassSequence {
  session.close();
  return { passes: best.seq, count: best.count, stats: { ...session.stats } };
}

export const ppoSolver: LearnedSolver<CompilerInstance, PassSequence> = {
  info: { name: 'ppo', kind: 'learned', description: 'PPO policy on InstCountNorm features: the most likely pass at each step, best prefix kept', reference: 'Cummins et al., CompilerGym (2022), PPO on llvm-ic-v0; Schulman et al. 2017', checkpoint: PPO_CHECKPOINT },
  solve(inst, ctx) {
    const session = new OptSession();
    return answer(policyAlone(policyFor(ctx), inst, session), session);
  },
  train: trainCompilerPpo,
};

export const ppoGuidedSolver: LearnedSolver<CompilerInstance, PassSequence> = {
  info: { name: 'ppo-guided-search', kind: 'learned', description: 'the PPO policy proposes (its greedy rollout and sampled ones), a greedy search over its top-k passes refines', reference: 'Cummins et al., CompilerGym (2022): PPO + guided search, llvm-ic-v0 leaderboard', checkpoint: PPO_CHECKPOINT },
  solve(inst, ctx) {
    const session = new OptSession();
    // One sampled rollout: chosen on the validation programs under the time bar (3 December,
    // MEASUREMENTS.md: the best score at no more than 0.14 of greedy's CPU time; two cost 0.16).
    const best = guidedSearch(policyFor(ctx), inst, ctx.rng, { samples: optionNumber(ctx, 'samples', 1), sampleTopP: optionNumber(ctx, 'sampleTopP', 1), topK: optionNumber(ctx, 'topK', 4), topP: optionNumber(ctx, 'topP', 0.9), widen: optionNumber(ctx, 'widen', 0), polish: optionNumber(ctx, 'polish', ACTIONS.length), maxSteps: optionNumber(ctx, 'maxSteps', 30, 10), patience: optionNumber(ctx, 'patience', Infinity) }, session);
    return answer(best, session);
  },
  train: (_instances, _budget, ctx) => {
    throw new SelfoptError('ppo-guided-search trains nothing of its own', `selfopt train compiler ppo-guided-search (${ctx.command})`, '`selfopt train compiler ppo`: guided search uses the ppo checkpoint');
  },
};

export const learnedSolvers = [ppoSolver, ppoGuidedSolver];
