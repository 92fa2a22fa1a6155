/**
 * The compiler problem's metrics, computed from a solver's answer (a pass sequence, or a standard
 * pipeline): the single source of truth for every number the benchmark reports.
 *
 * evaluate() replays the answer on the program's unoptimised module in a fresh OptSession, one
 * `opt` call per pass (the Env's own semantics; a standard pipeline is one call), counts the
 * result's instructions from its text, and checks that count against llvm-dis: the final module
 * goes through `llvm-as` and `llvm-dis` and the instructions of llvm-dis's output are counted; a
 * difference is an error (every reported count equals the llvm-dis count). A program that did not
 * build reports only `build_failed = 1`.
 */
import type { EvalContext, Metric, MetricValues } from '../../core/problem.js';
import { SelfoptError } from '../../core/errors.js';
import { countInstructions } from './ir.js';
import { firstLines, requireTool, runSync } from './llvm.js';
import { OptSession, type OptStats } from './session.js';
import type { CompilerInstance } from './instances.js';
import { checkSemantics } from './semantics.js';

/** A solver's answer. */
export interface PassSequence {
  /** Passes (LLVM 14 new-PM names) applied in order, one `opt` call each. */
  passes: string[];
  /** A standard pipeline (`default<Oz>`) applied instead, in one call. */
  pipeline?: string;
  /** Wall ms the search took (the runner's solve time when absent). */
  searchMs?: number;
  /** The search's own opt-call statistics. */
  stats?: OptStats;
}

export const METRICS: Metric[] = [
  { name: 'ratio_vs_oz', unit: 'x', better: 'higher', description: 'instruction count after -Oz / instruction count after the solver\'s passes (> 1 beats -Oz); CompilerGym llvm-ic-v0\'s code-size ratio' },
  { name: 'instructions', unit: 'instructions', better: 'lower', description: 'LLVM IR instructions of the optimised module (equal to counting llvm-dis output)' },
  { name: 'reward', unit: '1', better: 'higher', description: 'episode return (count at -O0 - count) / (count at -O0 - count after -Oz)' },
  { name: 'passes', unit: 'passes', better: 'lower', description: 'length of the pass sequence' },
  { name: 'search_s', unit: 's', better: 'lower', description: 'wall seconds the solver took to find its answer' },
  { name: 'opt_calls', unit: 'calls', better: 'lower', description: '`opt` processes the search started' },
  { name: 'opt_calls_per_sec', unit: '1/s', better: 'higher', description: '`opt` calls the search started per second of its wall time (its concurrent calls included)' },
  { name: 'cache_hit_rate', unit: '1', better: 'higher', description: 'share of the search\'s (state, pass) lookups answered by the state cache' },
  { name: 'semantics_ok', unit: '1', better: 'higher', description: '1 when the optimised program, compiled and run, prints what -O0 prints (only for programs that run without input)' },
  { name: 'build_failed', unit: '1', better: 'lower', description: '1 when the program did not compile (clang\'s message in .selfopt/cache/compiler/failures.jsonl)' },
];

export interface Replay {
  ir: string;
  count: number;
  failed?: string;
}

/** Replays an answer on the program's unoptimised module. */
export function replay(inst: CompilerInstance, sol: PassSequence, session = new OptSession()): Replay {
  const root = session.addState(inst.ir);
  const t = sol.pipeline ? session.apply(root.hash, sol.pipeline) : session.applyEach(root.hash, sol.passes);
  if (!t.ok) return { ir: inst.ir, count: root.count, failed: t.error };
  return { ir: session.irOf(t.state.hash), count: t.state.count };
}

/** Instruction count of a module's IR counted on llvm-dis's output of its bitcode. */
export function llvmDisCount(ir: string, where: string): number {
  const as = runSync(requireTool('llvm-as'), ['-', '-o', '-'], ir, 300_000);
  if (!as.ok) throw new SelfoptError(`llvm-as failed: ${firstLines(as.stderr)}`, where, 'valid textual IR');
  const dis = runSync(requireTool('llvm-dis'), ['-', '-o', '-'], as.stdout, 300_000);
  if (!dis.ok) throw new SelfoptError(`llvm-dis failed: ${firstLines(dis.stderr)}`, where, 'valid bitcode');
  return countInstructions(dis.stdout.toString());
}

export function evaluateCompiler(inst: CompilerInstance, sol: PassSequence, ctx: EvalContext): MetricValues {
  if (inst.error) return { build_failed: 1 };
  const where = `compiler evaluate, ${inst.id}`;
  const r = replay(inst, sol);
  if (r.failed) throw new SelfoptError(`the solver's answer does not replay: ${r.failed}`, where, 'a pass sequence every pass of which runs');
  const checked = llvmDisCount(r.ir, where);
  if (checked !== r.count) throw new SelfoptError(`instruction count ${r.count} from opt's text but ${checked} from llvm-dis`, where, 'equal counts');
  const stats = sol.stats;
  const out: MetricValues = {
    ratio_vs_oz: inst.countOz / Math.max(1, r.count),
    instructions: r.count,
    reward: (inst.countO0 - r.count) / Math.max(1, inst.countO0 - inst.countOz),
    passes: sol.pipeline ? 1 : sol.passes.length,
    search_s: (sol.searchMs ?? ctx.solveMs) / 1000,
    build_failed: 0,
  };
  if (stats && stats.lookups > 0) {
    out.opt_calls = stats.optCalls;
    out.cache_hit_rate = stats.hits / stats.lookups;
    const ms = sol.searchMs ?? ctx.solveMs;
    if (ms > 0) out.opt_calls_per_sec = stats.optCalls / (ms / 1000);
  }
  if (ctx.options.semantics !== '0') {
    const s = checkSemantics(inst, r.ir);
    if (s.checked) out.semantics_ok = s.same ? 1 : 0;
  }
  return out;
}
