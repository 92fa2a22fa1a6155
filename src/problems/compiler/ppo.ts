/**
 * Learned phase ordering: PPO (src/learn/ppo.ts, CleanRL's algorithm) on CompilerEnv with the
 * InstCountNorm (or Autophase) observation, trained on the train-subset programs, scored on
 * unseen test programs; and PPO + guided search, the llvm-ic-v0 leaderboard's leader (Cummins et
 * al. 2022): the policy proposes pass sequences, a short search refines them.
 *
 * - `ppo`: the policy alone. From -O0, the most likely pass at each of `episodeLength` steps; the
 *   answer is the prefix with the fewest instructions (a prefix is free: its module was seen).
 * - `ppo-guided-search`: the policy's answer, then greedy searches that try the policy's most
 *   likely passes first and widen to every useful pass only where those remove nothing
 *   (guidedSearch). Its cost is a fraction of greedy's, which tries all 118 usable passes at every step.
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
import { inference } from '../../learn/scratch.js';
import { logSoftmax } from '../../learn/ops/softmax.js';
import { checkpointHeaderOf, loadCheckpoint, readCheckpoint, saveCheckpoint } from '../../learn/checkpoint.js';
import { actionMask, ACTIONS, parseUnmask } from './passes.js';
import { CompilerEnv, featureSize, finishObservation, moduleFeatures, observationSize, type ObservationKind } from './env.js';
import { OptSession } from './session.js';
import { loadProgram, type CompilerInstance, type ProgramSpec } from './instances.js';
import type { PassSequence } from './evaluate.js';
import { optionNumber } from './heuristics.js';
import { behaviourClone, greedyDemos, policyDemos, type Demo } from './imitation.js';

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

/**
 * A trained policy as the searches use it: the network, its checkpoint's hyperparameters, and the
 * action mask it is held to (the Env's: passes.ts ACTION_MASK, or actionMask(unmask)).
 */
export interface PassPolicy { net: MlpPolicy; cfg: CompilerPpoConfig; mask: Readonly<Uint8Array> }

/**
 * The policy's log-probabilities under `mask` (a masked pass is -Infinity), written into `out`
 * (one per rollout or search, read before the next call). One inference step: the forward pass's
 * outputs are views of a scratch the next step reuses, so the row is copied out inside it.
 */
export function passLogProbs(net: MlpPolicy, obs: Float32Array, mask: Readonly<Uint8Array>, out: Float32Array): Float32Array {
  inference(() => out.set(logSoftmax(net.forward([obs]).logits, mask).data));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Using the policy
// ---------------------------------------------------------------------------------------------

/** A module reached by a search, with the passes that changed it on the way and their actions (the history the policy sees). */
interface Node { hash: string; count: number; seq: string[]; taken: number[] }
/**
 * The best module found so far, with its history: the last search starts from it, and a pass
 * name alone does not say which action took it (-loop-unswitch and -simple-loop-unswitch are both
 * `simple-loop-unswitch`), so the policy saw another history there than the one that made it.
 */
type Best = Node;

/** Module features by state, per session: rollouts and searches revisit modules, and parsing the IR costs about what a pass does. */
const featureCache = new WeakMap<OptSession, Map<string, Float32Array>>();

/** The policy's log-probabilities of every action at a module reached by a history (`node.taken`); the array is read, never written. */
type Scorer = (node: Node) => Float32Array;

/**
 * One search's Scorer: the policy's answer is computed once per observation. A rollout looks
 * again at the same module after every pass that left it unchanged or failed on it, and each
 * rollout and the first greedy search start at -O0 with no history: the same observation, so the
 * same forward pass and the same answer (on the 27 test programs, seed 1, 751 forward passes
 * where there were 1,840).
 */
function policyScorer({ net, cfg, mask }: PassPolicy, inst: CompilerInstance, session: OptSession): Scorer {
  const byHash = featureCache.get(session) ?? new Map<string, Float32Array>();
  featureCache.set(session, byHash);
  const obs = new Float32Array(observationSize(cfg.observation, cfg.actionHistory));
  const obsBytes = Buffer.from(obs.buffer, obs.byteOffset, obs.byteLength);
  const scored = new Map<string, Float32Array>();
  return (node) => {
    let f = byHash.get(node.hash);
    if (!f) { f = moduleFeatures(session.irOf(node.hash), inst.countO0, cfg.observation, new Float32Array(featureSize(cfg.observation))); byHash.set(node.hash, f); }
    obs.set(f);
    finishObservation(cfg.observation, cfg.actionHistory ? node.taken : null, Math.min(1, node.taken.length / cfg.episodeLength), cfg.episodeLength, obs);
    const key = obsBytes.toString('base64');
    let lp = scored.get(key);
    if (!lp) { lp = passLogProbs(net, obs, mask, new Float32Array(net.numActions)); scored.set(key, lp); }
    return lp;
  };
}

function better(best: Best, n: Node): Best {
  return n.count < best.count ? n : best;
}

/**
 * A pass drawn from the policy among those `skip` leaves, restricted to the most likely ones that
 * hold `topP` of their probability (nucleus sampling; at least one pass; 1: all of them, with the
 * same draw as before the option). About half of a plain sample's opt calls leave the module
 * unchanged (validation, 3 December); the nucleus skips most of those, but its rollouts then take
 * passes that work, which cost more, so it raised the score there without saving time.
 */
export function samplePass(lp: Float32Array, skip: (j: number) => boolean, rng: Rng, topP: number): number {
  const keep = new Uint8Array(lp.length);
  let z = 0;
  for (let j = 0; j < lp.length; j++) if (!skip(j)) { keep[j] = 1; z += Math.exp(lp[j]!); }
  if (topP < 1) {
    const ranked = Array.from(lp.keys()).filter((j) => keep[j]).sort((x, y) => lp[y]! - lp[x]!);
    keep.fill(0);
    let mass = 0;
    for (const j of ranked) {
      if (mass > 0 && mass >= topP * z) break;
      keep[j] = 1;
      mass += Math.exp(lp[j]!);
    }
    z = 0;
    for (let j = 0; j < lp.length; j++) if (keep[j]) z += Math.exp(lp[j]!);
  }
  let a = -1;
  let u = rng.next() * z;
  for (let j = 0; j < lp.length; j++) {
    if (!keep[j]) continue;
    a = j;
    u -= Math.exp(lp[j]!);
    if (u <= 0) break;
  }
  return a;
}

/**
 * One rollout of `episodeLength` steps from -O0: the most likely pass (or one sampled with `rng`,
 * from the nucleus `sampleTopP`: samplePass) among those not yet known to leave the current module
 * unchanged or to fail on it (a no-op would otherwise repeat forever: the module, hence the
 * observation, does not change). Returns the best prefix seen.
 */
function rolloutPolicy({ cfg, mask }: PassPolicy, inst: CompilerInstance, session: OptSession, score: Scorer, rng: Rng | null, best: Best, patience = Infinity, sampleTopP = 1): Best {
  const root = session.addState(inst.ir);
  let cur: Node = { hash: root.hash, count: root.count, seq: [], taken: [] };
  // Masked passes are never tried, like the ones found useless here.
  const useless = new Set<number>();
  const skip = (j: number) => useless.has(j) || !mask[j];
  let sinceBest = 0;
  for (let step = 0; step < cfg.episodeLength && sinceBest < patience; step++) {
    const lp = score(cur);
    let a = -1;
    if (rng) a = samplePass(lp, skip, rng, sampleTopP);
    else for (let j = 0; j < lp.length; j++) if (!skip(j) && (a < 0 || lp[j]! > lp[a]!)) a = j;
    if (a < 0) break;
    const t = session.apply(cur.hash, ACTIONS[a]!.pass);
    if (!t.ok || t.state.hash === cur.hash) { useless.add(a); continue; }
    useless.clear();
    cur = { hash: t.state.hash, count: t.state.count, seq: [...cur.seq, ACTIONS[a]!.pass], taken: [...cur.taken, a] };
    sinceBest = cur.count < best.count ? 0 : sinceBest + 1;
    best = better(best, cur);
  }
  return best;
}

/** The policy alone; with `patience`, the rollout stops after that many passes without a new best module. */
export function policyAlone(policy: PassPolicy, inst: CompilerInstance, session = new OptSession(), patience = Infinity, score = policyScorer(policy, inst, session)): Best {
  const root = session.addState(inst.ir);
  return rolloutPolicy(policy, inst, session, score, null, { count: root.count, seq: [], hash: root.hash, taken: [] }, patience);
}

/**
 * Greedy search guided by the policy's ranking of the passes at each module, in tiers: first its
 * most likely passes (at most `topK`, cut once they hold `topP` of its probability); only when
 * none of them removes an instruction, the next ones up to rank `widen`, then up to rank `polish`
 * (the wider tiers try only the passes that were greedy's choice somewhere on the train programs,
 * cfg.bestPasses: 33 of 119 in the shipped checkpoint). Masked passes are never ranked. Take the
 * pass that removes the most among those tried; stop when a step's tiers find none, or after
 * `maxSteps`. Greedy tries all 118 usable passes at every module; here
 * most steps cost `topK` passes, and the full useful set is paid only where the policy is stuck.
 */
function topKGreedy({ cfg, mask }: PassPolicy, session: OptSession, score: Scorer, start: Node, opts: { topK: number; topP?: number; widen?: number; polish?: number; maxSteps: number }, best: Best): Best {
  // Wider tiers try only the passes that were ever greedy's choice on the train programs (all when the checkpoint does not say).
  const useful = new Uint8Array(ACTIONS.length).fill(cfg.bestPasses ? 0 : 1);
  for (const p of cfg.bestPasses ?? []) useful[ACTIONS.findIndex((x) => x.pass === p)] = 1;
  let cur = start;
  for (let step = 0; step < opts.maxSteps; step++) {
    const lp = score(cur);
    const ranked = Array.from(lp.keys()).filter((a) => mask[a]).sort((x, y) => lp[y]! - lp[x]!);
    // First tier: the topK most likely passes, cut once they hold `topP` of the policy's probability (at least 2).
    let first = 0, mass = 0;
    while (first < ranked.length && first < opts.topK && (first < 2 || mass < (opts.topP ?? 1))) mass += Math.exp(lp[ranked[first++]!]!);
    let next: Node | undefined;
    let tried = 0;
    for (const limit of [first, Math.min(ranked.length, opts.widen ?? 0), Math.min(ranked.length, opts.polish ?? 0)]) {
      for (; tried < limit; tried++) {
        const a = ranked[tried]!;
        if (tried >= first && !useful[a]) continue;
        const t = session.apply(cur.hash, ACTIONS[a]!.pass);
        if (t.ok && t.state.count < (next?.count ?? cur.count)) next = { hash: t.state.hash, count: t.state.count, seq: [...cur.seq, ACTIONS[a]!.pass], taken: [...cur.taken, a] };
      }
      if (next) break;
    }
    if (!next) break;
    cur = next;
    best = better(best, cur);
  }
  return best;
}

/**
 * PPO + guided search: the policy's own answer (its argmax rollout, plus `samples` sampled
 * rollouts, each pass drawn from the nucleus `sampleTopP` of the policy's probability), then a tiered greedy search (topKGreedy) from -O0 with the first two tiers, then one
 * from the best module found so far with all three (the `polish` tier: where the policy is stuck
 * at the end, every useful pass is tried, as greedy's last step tries every pass); the best module
 * of all is the answer (so never worse than the policy alone).
 */
export function guidedSearch(policy: PassPolicy, inst: CompilerInstance, rng: Rng, opts: { samples: number; sampleTopP?: number; topK: number; topP?: number; widen?: number; polish?: number; maxSteps: number; patience?: number }, session = new OptSession()): Best {
  const score = policyScorer(policy, inst, session);
  let best = policyAlone(policy, inst, session, opts.patience, score);
  for (let k = 0; k < opts.samples; k++) best = rolloutPolicy(policy, inst, session, score, rng, best, opts.patience, opts.sampleTopP);
  const root = session.addState(inst.ir);
  best = topKGreedy(policy, session, score, { hash: root.hash, count: root.count, seq: [], taken: [] }, { ...opts, polish: 0 }, best);
  return topKGreedy(policy, session, score, best, opts, best);
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
