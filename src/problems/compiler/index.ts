/**
 * Compiler phase ordering for code size (CompilerGym's llvm-ic-v0, Cummins et al. 2022) on real
 * LLVM 14: choose a sequence of `opt` passes that leaves a C program's IR with as few
 * instructions as possible; scored as -Oz's count over the solver's (> 1 beats -Oz).
 */
import { existsSync } from 'node:fs';
import type { InstanceContext, InstanceRef, Problem } from '../../core/problem.js';
import { SelfoptError, unknownName } from '../../core/errors.js';
import {
  DATASETS, OWN_DIR, TEST_SUITE_REL, instanceRefOf, loadProgram, multiSourcePrograms, ownPrograms, programFromPath, singleSourcePrograms,
  type CompilerInstance, type ProgramSpec,
} from './instances.js';
import { evaluateCompiler, METRICS, semanticsOption, type PassSequence } from './evaluate.js';
import { allPassesOption, heuristicSolvers, SEARCH_NUMBERS, searchNumber } from './heuristics.js';
import { COMPILER_PPO_DEFAULTS, configFrom, learnedSolvers } from './ppo.js';
import { sequenceSvg } from './picture.js';
import { stopRunningChecks } from './semantics.js';
import { CHECKPOINT_OPTION } from '../../core/train.js';
import { prefixedOptions } from '../../core/options.js';
import { parseUnmask } from './passes.js';

/** Quick mode: two of the own programs (one train, one test), a few seconds of search each. */
const QUICK_IDS = ['own/sieve', 'own/fib'];
/** A default run covers test-split programs up to this much source (greedy on gawk takes hours). */
export const DEFAULT_MAX_BYTES = 16_384;

/** Every program the problem knows on this machine: own ones, then the data path's. */
export function allPrograms(ctx: InstanceContext): ProgramSpec[] {
  const root = ctx.data.find(TEST_SUITE_REL);
  return [...ownPrograms(), ...(root ? [...singleSourcePrograms(root), ...multiSourcePrograms(root)] : [])];
}

export const compilerProblem: Problem<CompilerInstance, PassSequence> = {
  name: 'compiler',
  title: 'Compiler phase ordering: LLVM pass sequences for minimum IR instruction count',
  reference: 'Cummins et al., CompilerGym (CGO 2022), llvm-ic-v0; Haj-Ali et al., AutoPhase (MLSys 2020)',
  metrics: METRICS,
  options: {
    budget: 'random search: pass applications at most (cache hits included); the genetic algorithm: sequences evaluated at most',
    seconds: "the searches' time budget in seconds",
    patience: "random search: passes per episode; ppo-guided-search: its rollouts stop after this many passes without a new best module of the search (a sampled rollout counts from the best found before it, so this caps its length)",
    beamWidth: "beam search's width (default 3)",
    maxSteps: 'greedy, beam and guided search: passes at most',
    population: "the genetic algorithm's population",
    length: "the genetic algorithm: passes per sequence (random search's episodes are `patience` long)",
    concurrency: 'opt processes a search keeps busy (default 2)',
    allPasses: '1: quick mode searches every usable pass, not QUICK_PASSES',
    unmask: 'masked passes to take after all (attributor): CompilerGym-comparable, may not replay',
    semantics: "0: skip the check that the optimised program prints -O0's output",
    topK: "guided search: the policy's first tier, at most this many passes",
    topP: "guided search: the first tier stops at this much of the policy's probability",
    widen: 'guided search: the second tier, up to this rank',
    polish: 'guided search: the last tier, up to this rank',
    samples: 'guided search: sampled policy rollouts before the search (default 1)',
    sampleTopP: "guided search: its sampled rollouts draw from the policy's most likely passes holding this much of its probability (default 1: all)",
    ...CHECKPOINT_OPTION,
  },
  trainOptions: prefixedOptions('', COMPILER_PPO_DEFAULTS, 'a PPO training setting (ppo.ts COMPILER_PPO_DEFAULTS)'),
  checkOptionValues(options) {
    parseUnmask(options.unmask);
    for (const k of Object.keys(SEARCH_NUMBERS)) searchNumber(options, k, 0);
    allPassesOption(options);
    semanticsOption(options);
    configFrom(options);
  },
  primaryMetric: 'ratio_vs_oz',
  baseline: 'Oz',
  metaMetrics: { optCallsPerSec: 'opt_calls_per_sec', cacheHitRate: 'cache_hit_rate' },
  solvers: [...heuristicSolvers, ...learnedSolvers],
  datasets: DATASETS,
  // Searches time themselves and already keep two opt processes busy: one cell at a time.
  maxConcurrency: 1,
  abandonRunning: () => { stopRunningChecks(); },

  listInstances(ctx) {
    const progs = allPrograms(ctx);
    if (ctx.quick) return QUICK_IDS.map((id) => progs.find((p) => p.id === id)).filter((p): p is ProgramSpec => p !== undefined).map(instanceRefOf);
    // Train programs, then validation ones (both split 'train': `selfopt train compiler ppo` trains
    // on the first and selects on the second, in this order), then the held-out test programs.
    const small = progs.filter((p) => p.bytes <= DEFAULT_MAX_BYTES);
    return (['train', 'validation', 'test'] as const).flatMap((subset) => small.filter((p) => p.subset === subset)).map(instanceRefOf);
  },

  resolveInstance(name, ctx): InstanceRef {
    const p = allPrograms(ctx).find((q) => q.id === name);
    if (p) return instanceRefOf(p);
    // A name that is no id is a path when it looks like one or names something on disk (a
    // directory in the working directory, `--instances myprog`, has neither a slash nor .c).
    if (name.includes('/') && !/^(own|ss|ms)\//.test(name) || name.endsWith('.c') || existsSync(name)) return instanceRefOf(programFromPath(name));
    throw unknownName('instance', name, allPrograms(ctx).map((q) => q.id), 'compiler problem (ids are own/<name>, ss/<dir>/<name>, ms/<dir>/<name>, or a path to a .c file or a directory of .c files)');
  },

  load(ref) {
    if (ref.source === 'file') return loadProgram(programFromPath(ref.path!));
    if (ref.source === 'generated') {
      const p = ownPrograms().find((q) => q.id === ref.id);
      if (!p) throw new SelfoptError(`own program '${ref.id}' is missing`, OWN_DIR, 'the C file of every own program');
      return loadProgram(p);
    }
    const root = String(ref.params.root);
    const p = [...singleSourcePrograms(root), ...multiSourcePrograms(root)].find((q) => q.id === ref.id);
    if (!p) throw new SelfoptError(`program '${ref.id}' is not in ${root}`, 'compiler load', 'an llvm-test-suite program id');
    return loadProgram(p);
  },

  evaluate: (inst, sol, ctx) => evaluateCompiler(inst, sol, ctx),
  picture: (inst, sol, caption) => sequenceSvg(inst, sol, caption),
};

