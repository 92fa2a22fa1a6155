/**
 * Which actions give the same module every time? A seeded search replays only if every pass it
 * may take does. LLVM iterates over some containers keyed by pointers, and ASLR moves the heap
 * from one opt process to the next, so a pass can give a different module for one input.
 *
 * The study runs every action `reps` times on a set of modules (each program's -O0 module and
 * the modules after a few random pass prefixes) through one opt-server, whose heap moves from
 * request to request as it would between processes, and compares the outputs:
 *   'same'     byte-identical every time;
 *   'uselist'  only the use-list order differs (the `uselistorder` directives that
 *              -preserve-ll-uselistorder prints); the instructions are the same;
 *   'module'   the module text differs beyond that, with the same instruction count;
 *   'count'    the instruction count differs: a search's fitness would change.
 * passes.ts MASKED holds what was done about it: `attributor`, the one action this study sees at
 * 'count' (gvn and newgvn vary a count too, but rarely: MEASUREMENTS.md, "Finding (determinism)").
 *
 * Run: node dist/src/problems/compiler/determinism.js [--reps 4] [--prefixes 3] [--seed 7]
 *        [--programs id,id] (any compiler instance: an id or a path to C source; default: the
 *        programs in src/problems/compiler/programs plus six of the llvm-test-suite found on the
 *        data path)
 */
import { pathToFileURL } from 'node:url';
import { Rng } from '../../core/rng.js';
import { DataPath } from '../../core/data.js';
import { reportError, SelfoptError } from '../../core/errors.js';
import { ACTIONS } from './passes.js';
import { countInstructions } from './ir.js';
import { OptSession, sequencePipeline, withoutUseListOrder } from './session.js';
import { allPrograms, compilerProblem } from './index.js';
import type { CompilerInstance } from './instances.js';

export type Verdict = 'same' | 'uselist' | 'module' | 'count';
const RANK: Record<Verdict, number> = { same: 0, uselist: 1, module: 2, count: 3 };

/** How the outputs of one pass on one input differ (see the file comment). */
export function compareOutputs(outputs: readonly string[]): Verdict {
  if (outputs.every((o) => o === outputs[0])) return 'same';
  const counts = outputs.map(countInstructions);
  if (counts.some((c) => c !== counts[0])) return 'count';
  const first = withoutUseListOrder(outputs[0]!);
  return outputs.every((o) => withoutUseListOrder(o) === first) ? 'uselist' : 'module';
}

export interface ActionVerdicts {
  pass: string;
  /** Modules tried. */
  modules: number;
  /** Modules at each verdict. */
  uselist: number;
  module: number;
  count: number;
  /** The worst verdict seen. */
  worst: Verdict;
}

/**
 * Every action `reps` times on each program's -O0 module and on `prefixes` modules after random
 * prefixes of 3-12 passes (drawn from `rng`, prefixes that fail are skipped). A pass that fails
 * on a module counts as its output 'FAILED' (a failure that comes and goes is a 'count').
 */
export function scanActions(programs: readonly CompilerInstance[], opts: { reps: number; prefixes: number; rng: Rng; passes?: readonly string[]; onModule?: (program: string, done: number) => void }): ActionVerdicts[] {
  const passes = opts.passes ?? ACTIONS.map((a) => a.pass);
  const out = passes.map((pass): ActionVerdicts => ({ pass, modules: 0, uselist: 0, module: 0, count: 0, worst: 'same' }));
  // One session for the prefixes; the repeated runs go straight to opt (runPass), uncached.
  const session = new OptSession();
  try {
    for (const p of programs) {
      const root = session.addState(p.ir);
      const modules = [root.hash];
      for (let k = 0; k < opts.prefixes; k++) {
        const prefix = Array.from({ length: 3 + opts.rng.int(10) }, () => passes[opts.rng.int(passes.length)]!);
        const t = session.apply(root.hash, sequencePipeline(prefix));
        if (t.ok) modules.push(t.state.hash);
      }
      for (const h of new Set(modules)) {
        const ir = session.irOf(h);
        passes.forEach((pass, i) => {
          const outputs: string[] = [];
          for (let r = 0; r < opts.reps; r++) {
            const res = session.runPass(ir, pass);
            outputs.push(res.ok ? res.stdout.toString() : 'FAILED');
          }
          const v = outputs.includes('FAILED') ? (outputs.every((o) => o === 'FAILED') ? 'same' : 'count') : compareOutputs(outputs);
          const a = out[i]!;
          a.modules++;
          if (v !== 'same') a[v]++;
          if (RANK[v] > RANK[a.worst]) a.worst = v;
        });
        opts.onModule?.(p.id, out[0]!.modules);
      }
    }
  } finally {
    session.close();
  }
  return out;
}

const DEFAULT_SUITE = ['ss/Misc/ReedSolomon', 'ss/McGill/exptree', 'ss/Shootout/sieve', 'ss/Stanford/Bubblesort', 'ss/Misc/flops', 'ss/Misc/oourafft'];

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let reps = 4, prefixes = 3, seed = 7, ids: string[] | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--reps') reps = Number(args[++i]);
    else if (a === '--prefixes') prefixes = Number(args[++i]);
    else if (a === '--seed') seed = Number(args[++i]);
    else if (a === '--programs') ids = args[++i]!.split(',');
    else throw new SelfoptError(`unknown argument '${a}'`, 'determinism', '--reps N, --prefixes N, --seed N, --programs id,id');
  }
  if (!(Number.isInteger(reps) && reps >= 2)) throw new SelfoptError(`--reps ${reps}`, 'determinism', 'an integer of at least 2');
  const ctx = { data: new DataPath(), quick: false };
  const chosen = ids ?? allPrograms(ctx).filter((p) => p.source === 'own' || DEFAULT_SUITE.includes(p.id)).map((p) => p.id);
  const loaded: CompilerInstance[] = [];
  for (const id of chosen) loaded.push(await compilerProblem.load(compilerProblem.resolveInstance(id, ctx)));
  const programs = loaded.filter((p) => !p.error);
  const t0 = Date.now();
  const rows = scanActions(programs, { reps, prefixes, rng: new Rng(seed), onModule: (id, n) => process.stderr.write(`\r${n} modules (${id}), ${((Date.now() - t0) / 1000).toFixed(0)} s   `) });
  process.stderr.write('\n');
  console.log(`${programs.length} programs, ${rows[0]?.modules ?? 0} modules, every action ${reps} times (seed ${seed})`);
  const changed = rows.filter((r) => r.worst !== 'same');
  for (const r of changed) console.log(`${r.pass.padEnd(28)} worst '${r.worst}': count differs on ${r.count}, module on ${r.module}, use-list order only on ${r.uselist} of ${r.modules} modules`);
  console.log(`${rows.length - changed.length} of ${rows.length} actions gave byte-identical modules every time`);
}

// Run as a script only (tests import the functions).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => reportError(e, 'determinism'));
}
