/**
 * Learned phase ordering: PPO (src/learn/ppo.ts, CleanRL's algorithm) on CompilerEnv with the
 * InstCountNorm (or Autophase) observation, trained on the train-subset programs, scored on
 * unseen test programs; and PPO + guided search, the llvm-ic-v0 leaderboard's leader (Cummins et
 * al. 2022): the policy proposes pass sequences, a short search refines them.
 *
 * - `ppo`: the policy alone. From -O0, the most likely pass at each of `episodeLength` steps; the
 *   answer is the prefix with the fewest instructions (a prefix is free: its module was seen).
 * - `ppo-guided-search`: the greedy rollout plus `samples` rollouts sampled from the policy; then,
 *   from the best module found, a greedy search that tries only the policy's `topK` most likely
 *   passes at each step (stop when none removes an instruction). Its cost is a fraction of
 *   greedy's, which tries all 119 passes at every step.
 *
 * Training (`selfopt train compiler ppo --seconds N`): in chunks of `chunkSteps` env steps; after
 * each chunk the weights go to ctx.stateDir (a rerun resumes from them; Adam's moments and the
 * learning-rate schedule restart per chunk) and the policy alone is scored on the validation
 * programs; the best-scoring weights are the final checkpoint. `ppo-guided-search` uses the `ppo`
 * checkpoint (it trains nothing of its own).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { LearnedSolver, SolveContext, TrainBudget, TrainContext } from '../../core/problem.js';
import { Rng } from '../../core/rng.js';
import { SelfoptError } from '../../core/errors.js';
import { writeFileAtomic } from '../../core/files.js';
import { geomean } from '../../core/stats.js';
import { checkpointFor } from '../../core/train.js';
import { trainPpo } from '../../learn/ppo.js';
import { MlpPolicy } from '../../learn/policy.js';
import { noGrad } from '../../learn/tensor.js';
import { logSoftmax } from '../../learn/ops/softmax.js';
import { loadCheckpoint, readCheckpoint, saveCheckpoint } from '../../learn/checkpoint.js';
import { ACTIONS } from './passes.js';
import { CompilerEnv, observationSize, observe, type ObservationKind } from './env.js';
import { OptSession, type State } from './session.js';
import { loadProgram, type CompilerInstance, type ProgramSpec } from './instances.js';
import type { PassSequence } from './evaluate.js';
import { optionNumber } from './heuristics.js';

// ---------------------------------------------------------------------------------------------
// Hyperparameters
// ---------------------------------------------------------------------------------------------

export interface CompilerPpoConfig {
  /** Passes per episode (and per answer of the policy). */
  episodeLength: number;
  observation: ObservationKind;
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
}

export const COMPILER_PPO_DEFAULTS: CompilerPpoConfig = {
  episodeLength: 20,
  observation: 'instcount-norm',
  hidden: [64, 64],
  chunkSteps: 2048,
  numEnvs: 4,
  numSteps: 64,
  learningRate: 3e-4,
  entCoef: 0.01,
  gamma: 1,
  workers: 2,
  maxProgramBytes: 16_384,
};

// ---------------------------------------------------------------------------------------------
// Env and policy factories (built in each rollout worker from plain options)
// ---------------------------------------------------------------------------------------------

/** A CompilerEnv over programs given as plain ProgramSpecs (compiled bitcode is cached on disk). */
export function createCompilerEnv(options: { programs: ProgramSpec[]; maxSteps: number; observation: ObservationKind }): CompilerEnv {
  const programs = options.programs.map(loadProgram).filter((p) => !p.error && p.countO0 > p.countOz);
  return new CompilerEnv({ programs, maxSteps: options.maxSteps, observation: options.observation });
}

/** MlpPolicy, starting from the weights of `init` (a checkpoint path) when given. */
export function compilerPolicy(options: { obsDim: number; numActions: number; hidden: number[]; init?: string }, rng: Rng): MlpPolicy {
  const net = new MlpPolicy({ obsDim: options.obsDim, numActions: options.numActions, hidden: options.hidden }, rng);
  if (options.init) loadCheckpoint(options.init, net);
  return net;
}

function policyFromCheckpoint(path: string): { net: MlpPolicy; cfg: CompilerPpoConfig } {
  const { header } = readCheckpoint(path);
  const cfg = { ...COMPILER_PPO_DEFAULTS, ...(header.hyperparameters as Partial<CompilerPpoConfig>) };
  const net = compilerPolicy({ obsDim: observationSize(cfg.observation), numActions: ACTIONS.length, hidden: cfg.hidden, init: path }, new Rng(0));
  return { net, cfg };
}

function logProbs(net: MlpPolicy, obs: Float32Array): Float32Array {
  return noGrad(() => logSoftmax(net.forward([obs]).logits, null).data as Float32Array);
}

// ---------------------------------------------------------------------------------------------
// Using the policy
// ---------------------------------------------------------------------------------------------

interface Best { count: number; seq: string[]; hash: string }

/** One rollout from -O0: greedy (argmax) or sampled; returns the best prefix seen. */
function rolloutPolicy(net: MlpPolicy, cfg: CompilerPpoConfig, inst: CompilerInstance, session: OptSession, rng: Rng | null, best: Best): Best {
  const obs = new Float32Array(observationSize(cfg.observation));
  let cur: State = session.addState(inst.ir);
  const seq: string[] = [];
  for (let step = 0; step < cfg.episodeLength; step++) {
    observe(session.irOf(cur.hash), inst.countO0, cfg.observation, step / cfg.episodeLength, obs);
    const lp = logProbs(net, obs);
    let a = 0;
    if (rng) {
      let u = rng.next(), acc = 0;
      for (a = 0; a < lp.length - 1; a++) { acc += Math.exp(lp[a]!); if (u < acc) break; }
    } else {
      for (let j = 1; j < lp.length; j++) if (lp[j]! > lp[a]!) a = j;
    }
    const t = session.apply(cur.hash, ACTIONS[a]!.pass);
    seq.push(ACTIONS[a]!.pass);
    if (!t.ok) { seq.pop(); continue; }
    cur = t.state;
    if (cur.count < best.count) best = { count: cur.count, seq: [...seq], hash: cur.hash };
  }
  return best;
}

export function policyAlone(net: MlpPolicy, cfg: CompilerPpoConfig, inst: CompilerInstance, session = new OptSession()): Best {
  const root = session.addState(inst.ir);
  return rolloutPolicy(net, cfg, inst, session, null, { count: root.count, seq: [], hash: root.hash });
}

export function guidedSearch(net: MlpPolicy, cfg: CompilerPpoConfig, inst: CompilerInstance, rng: Rng, opts: { samples: number; topK: number; maxSteps: number }, session = new OptSession()): Best {
  let best = policyAlone(net, cfg, inst, session);
  for (let k = 0; k < opts.samples; k++) best = rolloutPolicy(net, cfg, inst, session, rng, best);
  // Refine: greedy over the policy's topK passes from the best module found.
  const obs = new Float32Array(observationSize(cfg.observation));
  for (let step = 0; step < opts.maxSteps; step++) {
    observe(session.irOf(best.hash), inst.countO0, cfg.observation, Math.min(1, best.seq.length / cfg.episodeLength), obs);
    const lp = logProbs(net, obs);
    const order = Array.from(lp.keys()).sort((x, y) => lp[y]! - lp[x]!).slice(0, opts.topK);
    let next: Best | undefined;
    for (const a of order) {
      const t = session.apply(best.hash, ACTIONS[a]!.pass);
      if (t.ok && t.state.count < (next?.count ?? best.count)) next = { count: t.state.count, seq: [...best.seq, ACTIONS[a]!.pass], hash: t.state.hash };
    }
    if (!next) break;
    best = next;
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// Training
// ---------------------------------------------------------------------------------------------

function configFrom(options: Record<string, string>): CompilerPpoConfig {
  const cfg = { ...COMPILER_PPO_DEFAULTS };
  for (const [k, v] of Object.entries(options)) {
    if (!(k in cfg)) continue;
    const key = k as keyof CompilerPpoConfig;
    if (key === 'observation') cfg.observation = v as ObservationKind;
    else if (key === 'hidden') cfg.hidden = v.split('x').map(Number);
    else (cfg as unknown as Record<string, number>)[key] = Number(v);
  }
  if (!['instcount-norm', 'autophase-norm', 'both'].includes(cfg.observation)) throw new SelfoptError(`observation=${cfg.observation}`, '--opt observation', 'instcount-norm, autophase-norm or both');
  return cfg;
}

async function trainCompilerPpo(instances: CompilerInstance[], budget: TrainBudget, ctx: TrainContext): Promise<void> {
  const cfg = configFrom(ctx.options);
  const usable = instances.filter((p) => !p.error && p.countO0 > p.countOz && p.program.bytes <= cfg.maxProgramBytes);
  const train = usable.filter((p) => p.program.subset === 'train');
  const validation = usable.filter((p) => p.program.subset === 'validation');
  if (train.length === 0) throw new SelfoptError('no train-subset programs that build', 'compiler ppo train', 'at least one');
  const weights = join(ctx.stateDir, 'weights.ckpt'), bestPath = join(ctx.stateDir, 'best.ckpt'), progressPath = join(ctx.stateDir, 'progress.json');
  let progress = existsSync(progressPath) ? JSON.parse(readFileSync(progressPath, 'utf8')) as { steps: number; chunks: number; bestScore: number } : { steps: 0, chunks: 0, bestScore: -Infinity };
  const t0 = performance.now();
  const totalSteps = budget.steps ?? Infinity;
  const deadline = budget.seconds !== undefined ? t0 + budget.seconds * 1000 : Infinity;
  const obsDim = observationSize(cfg.observation);
  const hyper = { ...cfg };
  const env = { module: new URL('./ppo.js', import.meta.url).href, export: 'createCompilerEnv', options: { programs: train.map((p) => p.program), maxSteps: cfg.episodeLength, observation: cfg.observation } };
  const score = (net: MlpPolicy): number => {
    const set = validation.length > 0 ? validation : train;
    const session = new OptSession();
    const r = geomean(set.map((p) => p.countOz / Math.max(1, policyAlone(net, cfg, p, session).count)));
    session.close();
    return r;
  };
  while (progress.steps < totalSteps && performance.now() < deadline) {
    const chunk = Math.min(cfg.chunkSteps, totalSteps - progress.steps);
    const steps = Math.max(cfg.numEnvs * cfg.numSteps, Math.floor(chunk / (cfg.numEnvs * cfg.numSteps)) * cfg.numEnvs * cfg.numSteps);
    const result = await trainPpo({
      seed: ctx.seed + progress.chunks,
      env,
      policy: { module: new URL('./ppo.js', import.meta.url).href, export: 'compilerPolicy', options: { obsDim, numActions: ACTIONS.length, hidden: cfg.hidden, ...(existsSync(weights) ? { init: weights } : {}) } },
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
    saveCheckpoint(weights, net, { hyperparameters: hyper, seed: ctx.seed, command: ctx.command });
    const s = score(net);
    progress = { steps: progress.steps + steps, chunks: progress.chunks + 1, bestScore: Math.max(progress.bestScore, s) };
    if (s >= progress.bestScore) saveCheckpoint(bestPath, net, { hyperparameters: { ...hyper, validationGeomean: s, steps: progress.steps }, seed: ctx.seed, command: ctx.command });
    ctx.log({ step: progress.steps, validationGeomeanVsOz: s });
    writeFileAtomic(progressPath, JSON.stringify(progress));
    ctx.progress(Math.min(progress.steps, totalSteps === Infinity ? progress.steps : totalSteps), totalSteps === Infinity ? progress.steps : totalSteps);
  }
  const { net } = policyFromCheckpoint(existsSync(bestPath) ? bestPath : weights);
  saveCheckpoint(ctx.out, net, { hyperparameters: { ...hyper, validationGeomean: progress.bestScore, steps: progress.steps, trainPrograms: train.length, validationPrograms: validation.length }, seed: ctx.seed, command: ctx.command });
}

// ---------------------------------------------------------------------------------------------
// Solvers
// ---------------------------------------------------------------------------------------------

const nets = new Map<string, { net: MlpPolicy; cfg: CompilerPpoConfig }>();
function netFor(ctx: SolveContext): { net: MlpPolicy; cfg: CompilerPpoConfig } {
  const path = checkpointFor('compiler', 'ppo', ctx.options);
  let n = nets.get(path);
  if (!n) { n = policyFromCheckpoint(path); nets.set(path, n); }
  return n;
}

function answer(best: Best, session: OptSession, t0: number): PassSequence {
  session.close();
  return { passes: best.seq, count: best.count, searchMs: performance.now() - t0, stats: { ...session.stats } };
}

export const ppoSolver: LearnedSolver<CompilerInstance, PassSequence> = {
  info: { name: 'ppo', kind: 'learned', description: 'PPO policy on InstCountNorm features: the most likely pass at each step, best prefix kept', reference: 'Cummins et al., CompilerGym (2022), PPO on llvm-ic-v0; Schulman et al. 2017' },
  solve(inst, ctx) {
    const t0 = performance.now();
    const { net, cfg } = netFor(ctx);
    const session = new OptSession();
    return answer(policyAlone(net, cfg, inst, session), session, t0);
  },
  train: trainCompilerPpo,
};

export const ppoGuidedSolver: LearnedSolver<CompilerInstance, PassSequence> = {
  info: { name: 'ppo-guided-search', kind: 'learned', description: 'the PPO policy proposes (its greedy rollout and sampled ones), a greedy search over its top-k passes refines', reference: 'Cummins et al., CompilerGym (2022): PPO + guided search, llvm-ic-v0 leaderboard' },
  solve(inst, ctx) {
    const t0 = performance.now();
    const { net, cfg } = netFor(ctx);
    const session = new OptSession();
    const best = guidedSearch(net, cfg, inst, ctx.rng, { samples: optionNumber(ctx, 'samples', 4, 2), topK: optionNumber(ctx, 'topK', 8, 6), maxSteps: optionNumber(ctx, 'maxSteps', 20, 10) }, session);
    return answer(best, session, t0);
  },
  train: (_instances, _budget, ctx) => {
    throw new SelfoptError('ppo-guided-search trains nothing of its own', `selfopt train compiler ppo-guided-search (${ctx.command})`, '`selfopt train compiler ppo`: guided search uses the ppo checkpoint');
  },
};

export const learnedSolvers = [ppoSolver, ppoGuidedSolver];
