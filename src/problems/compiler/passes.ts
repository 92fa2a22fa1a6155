/**
 * The action space: CompilerGym's 124 LLVM-10 pass flags (llvm-ic-v0, compiler_gym/envs/llvm/
 * service/passes/10.0.0/flags.txt, in its order), each with the name LLVM 14's new pass manager
 * accepts in `opt -passes=` (the map of ../shared/data/compiler/compilergym/
 * llvm14_newpm_action_map.tsv, made with measurements/pass_compat.csv). Five flags have no new-PM
 * pass in LLVM 14 and are left out of the action list: -barrier and -prune-eh (legacy PM only),
 * -constprop, -die and -ipconstprop (removed from LLVM). Two flags (-loop-unswitch and
 * -simple-loop-unswitch) map to the same LLVM 14 pass, so two actions do the same thing, as the
 * map says; they are kept so that action indices line up with CompilerGym's list minus the five.
 *
 * Pass names are facts about LLVM; the list is written here so a machine without the data
 * directory has the action space (a test checks it against the .tsv when that is present).
 */
import { readFileSync } from 'node:fs';
import { SelfoptError, unknownName } from '../../core/errors.js';

/** [CompilerGym flag, LLVM 14 new-PM pipeline text or null when unavailable]. */
export const COMPILERGYM_FLAGS: readonly (readonly [string, string | null])[] = [
  ['-add-discriminators', 'add-discriminators'],
  ['-adce', 'adce'],
  ['-aggressive-instcombine', 'aggressive-instcombine'],
  ['-alignment-from-assumptions', 'alignment-from-assumptions'],
  ['-always-inline', 'always-inline'],
  ['-argpromotion', 'argpromotion'],
  ['-attributor', 'attributor'],
  ['-barrier', null],
  ['-bdce', 'bdce'],
  ['-break-crit-edges', 'break-crit-edges'],
  ['-simplifycfg', 'simplifycfg'],
  ['-callsite-splitting', 'callsite-splitting'],
  ['-called-value-propagation', 'called-value-propagation'],
  ['-canonicalize-aliases', 'canonicalize-aliases'],
  ['-consthoist', 'consthoist'],
  ['-constmerge', 'constmerge'],
  ['-constprop', null],
  ['-coro-cleanup', 'coro-cleanup'],
  ['-coro-early', 'coro-early'],
  ['-coro-elide', 'coro-elide'],
  ['-coro-split', 'coro-split'],
  ['-correlated-propagation', 'correlated-propagation'],
  ['-cross-dso-cfi', 'cross-dso-cfi'],
  ['-deadargelim', 'deadargelim'],
  ['-dce', 'dce'],
  ['-die', null],
  ['-dse', 'dse'],
  ['-reg2mem', 'reg2mem'],
  ['-div-rem-pairs', 'div-rem-pairs'],
  ['-early-cse-memssa', 'early-cse<memssa>'],
  ['-early-cse', 'early-cse'],
  ['-elim-avail-extern', 'elim-avail-extern'],
  ['-ee-instrument', 'ee-instrument'],
  ['-flattencfg', 'flattencfg'],
  ['-float2int', 'float2int'],
  ['-forceattrs', 'forceattrs'],
  ['-inline', 'inline'],
  ['-insert-gcov-profiling', 'insert-gcov-profiling'],
  ['-gvn-hoist', 'gvn-hoist'],
  ['-gvn', 'gvn'],
  ['-globaldce', 'globaldce'],
  ['-globalopt', 'globalopt'],
  ['-globalsplit', 'globalsplit'],
  ['-guard-widening', 'guard-widening'],
  ['-hotcoldsplit', 'hotcoldsplit'],
  ['-ipconstprop', null],
  ['-ipsccp', 'ipsccp'],
  ['-indvars', 'indvars'],
  ['-irce', 'irce'],
  ['-infer-address-spaces', 'infer-address-spaces'],
  ['-inferattrs', 'inferattrs'],
  ['-inject-tli-mappings', 'inject-tli-mappings'],
  ['-instsimplify', 'instsimplify'],
  ['-instcombine', 'instcombine'],
  ['-instnamer', 'instnamer'],
  ['-jump-threading', 'jump-threading'],
  ['-lcssa', 'lcssa'],
  ['-licm', 'licm'],
  ['-libcalls-shrinkwrap', 'libcalls-shrinkwrap'],
  ['-load-store-vectorizer', 'load-store-vectorizer'],
  ['-loop-data-prefetch', 'loop-data-prefetch'],
  ['-loop-deletion', 'loop-deletion'],
  ['-loop-distribute', 'loop-distribute'],
  ['-loop-fusion', 'loop-fusion'],
  ['-loop-guard-widening', 'loop-mssa(guard-widening)'],
  ['-loop-idiom', 'loop-idiom'],
  ['-loop-instsimplify', 'loop-instsimplify'],
  ['-loop-interchange', 'loop-interchange'],
  ['-loop-load-elim', 'loop-load-elim'],
  ['-loop-predication', 'loop-predication'],
  ['-loop-reroll', 'loop-reroll'],
  ['-loop-rotate', 'loop-rotate'],
  ['-loop-simplifycfg', 'loop-simplifycfg'],
  ['-loop-simplify', 'loop-simplify'],
  ['-loop-sink', 'loop-sink'],
  ['-loop-reduce', 'loop-reduce'],
  ['-loop-unroll-and-jam', 'loop-unroll-and-jam'],
  ['-loop-unroll', 'loop-unroll'],
  ['-loop-unswitch', 'simple-loop-unswitch'],
  ['-loop-vectorize', 'loop-vectorize'],
  ['-loop-versioning-licm', 'loop-versioning-licm'],
  ['-loop-versioning', 'loop-versioning'],
  ['-loweratomic', 'loweratomic'],
  ['-lower-constant-intrinsics', 'lower-constant-intrinsics'],
  ['-lower-expect', 'lower-expect'],
  ['-lower-guard-intrinsic', 'lower-guard-intrinsic'],
  ['-lowerinvoke', 'lowerinvoke'],
  ['-lower-matrix-intrinsics', 'lower-matrix-intrinsics'],
  ['-lowerswitch', 'lowerswitch'],
  ['-lower-widenable-condition', 'lower-widenable-condition'],
  ['-memcpyopt', 'memcpyopt'],
  ['-mergefunc', 'mergefunc'],
  ['-mergeicmps', 'mergeicmps'],
  ['-mldst-motion', 'mldst-motion'],
  ['-sancov', 'sancov-module'],
  ['-name-anon-globals', 'name-anon-globals'],
  ['-nary-reassociate', 'nary-reassociate'],
  ['-newgvn', 'newgvn'],
  ['-pgo-memop-opt', 'pgo-memop-opt'],
  ['-partial-inliner', 'partial-inliner'],
  ['-partially-inline-libcalls', 'partially-inline-libcalls'],
  ['-post-inline-ee-instrument', 'ee-instrument<post-inline>'],
  ['-functionattrs', 'function-attrs'],
  ['-mem2reg', 'mem2reg'],
  ['-prune-eh', null],
  ['-reassociate', 'reassociate'],
  ['-redundant-dbg-inst-elim', 'redundant-dbg-inst-elim'],
  ['-rpo-functionattrs', 'rpo-function-attrs'],
  ['-rewrite-statepoints-for-gc', 'rewrite-statepoints-for-gc'],
  ['-sccp', 'sccp'],
  ['-slp-vectorizer', 'slp-vectorizer'],
  ['-sroa', 'sroa'],
  ['-scalarizer', 'scalarizer'],
  ['-separate-const-offset-from-gep', 'separate-const-offset-from-gep'],
  ['-simple-loop-unswitch', 'simple-loop-unswitch'],
  ['-sink', 'sink'],
  ['-speculative-execution', 'speculative-execution'],
  ['-slsr', 'slsr'],
  ['-strip-dead-prototypes', 'strip-dead-prototypes'],
  ['-strip-debug-declare', 'strip-debug-declare'],
  ['-strip-nondebug', 'strip-nondebug'],
  ['-strip', 'strip'],
  ['-tailcallelim', 'tailcallelim'],
  ['-mergereturn', 'mergereturn'],
];

/** Flags of CompilerGym's list that LLVM 14's new pass manager cannot run, with why. */
export const LEFT_OUT: Readonly<Record<string, string>> = {
  '-barrier': 'legacy pass manager only in LLVM 14',
  '-prune-eh': 'legacy pass manager only in LLVM 14',
  '-constprop': 'removed from LLVM before 14 (folded into instsimplify/sccp)',
  '-die': 'removed from LLVM before 14 (dce does the same)',
  '-ipconstprop': 'removed from LLVM before 14 (ipsccp does the same)',
};

export interface Action {
  /** Index in the action space (0 .. ACTIONS.length - 1). */
  index: number;
  flag: string;
  /** What `opt -passes=` is given. */
  pass: string;
}

/** The action space: the usable flags, in CompilerGym's order. */
export const ACTIONS: readonly Action[] = COMPILERGYM_FLAGS.filter(([, p]) => p !== null).map(([flag, pass], index) => ({ index, flag, pass: pass! }));

/**
 * Actions that keep their index but are masked out: no search, policy or Env step takes them.
 * LLVM 14 gives different modules for one input from run to run for a few passes: they iterate
 * over containers keyed by pointers, and ASLR moves the heap from one process (or request) to
 * the next, so a seeded search may not replay (CompilerGym masked -gvn-sink for the same
 * reason). Measured (MEASUREMENTS.md, "Finding (determinism)"; determinism.ts: every action 4 times on 51
 * modules of 15 programs): `attributor` changed the instruction count on 3 modules, and it is the
 * pass that made a genetic-algorithm cell not replay; it is masked. `newgvn` and `gvn-hoist`
 * changed only the use-list order there; `gvn` and `newgvn` changed a count once each in
 * ~2,000 genetic-algorithm sequences. Those three stay: they are the core of every pipeline.
 */
export const MASKED: Readonly<Record<string, string>> = {
  attributor: 'nondeterministic in LLVM 14: one input gives modules of different instruction counts from run to run (under ASLR); it also miscompiles own/qsort and Olden mst (README)',
};

/**
 * Checks the masked passes a caller asks to take after all (`--opt unmask=attributor`, the Env's
 * `unmask`): sizes that compare with CompilerGym's, which kept `attributor`, at the price of runs
 * that may not replay (README, Results; MEASUREMENTS.md). Each must be a pass of MASKED.
 */
export function checkUnmask(names: readonly string[], where: string, form = 'a list'): string[] {
  for (const n of names) {
    if (!(n in MASKED)) throw new SelfoptError(`'${n}' is not a masked pass`, where, `${form} of masked passes: ${Object.keys(MASKED).join(', ')}`);
  }
  return [...new Set(names)];
}

/** `--opt unmask=a,b` read and checked (none when absent). */
export function parseUnmask(value: string | undefined, where = '--opt unmask'): string[] {
  return value === undefined || value === '' ? [] : checkUnmask(value.split(',').map((x) => x.trim()), where, 'a comma-separated list');
}

/** 1 for an action that may be taken, 0 for a masked one (index = action index); `unmask` (checked) lifts masks. */
export function actionMask(unmask: readonly string[] = []): Uint8Array {
  return Uint8Array.from(ACTIONS, (a) => (a.pass in MASKED && !unmask.includes(a.pass) ? 0 : 1));
}

/** The default mask: every pass of MASKED masked. */
export const ACTION_MASK: Readonly<Uint8Array> = actionMask();

/** The passes of the actions that may be taken, in action order. */
export function usablePasses(unmask: readonly string[] = []): string[] {
  const mask = actionMask(unmask);
  return ACTIONS.filter((a) => mask[a.index] === 1).map((a) => a.pass);
}

export const USABLE_PASSES: readonly string[] = usablePasses();

/** An action by index, CompilerGym flag (`-gvn`) or LLVM 14 pass name (`gvn`). */
export function actionByName(name: string, where = 'pass name'): Action {
  const a = ACTIONS.find((x) => x.pass === name || x.flag === name || x.flag === `-${name}`);
  if (a) return a;
  if (LEFT_OUT[name] ?? LEFT_OUT[`-${name}`]) {
    throw new SelfoptError(`pass '${name}' is not in the LLVM 14 action space: ${LEFT_OUT[name] ?? LEFT_OUT[`-${name}`]}`, where, 'a pass LLVM 14 opt -passes= accepts');
  }
  throw unknownName('pass', name, ACTIONS.map((x) => x.pass), where);
}

/** Reads the .tsv map (action_index, compilergym_flag, llvm14_newpm_name, ...) into [flag, pass|null] rows. */
export function readActionMap(path: string): [string, string | null][] {
  const rows: [string, string | null][] = [];
  const lines = readFileSync(path, 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (!line || line.startsWith('#') || line.startsWith('action_index')) return;
    const cols = line.split('\t');
    if (cols.length < 3) throw new SelfoptError(`line has ${cols.length} tab-separated columns`, `${path}:${i + 1}`, 'action_index, compilergym_flag, llvm14_newpm_name, legacy_pm_ok, note');
    rows.push([cols[1]!, cols[2] ? cols[2] : null]);
  });
  return rows;
}
