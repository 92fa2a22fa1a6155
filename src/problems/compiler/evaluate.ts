/**
 * The compiler problem's metrics, computed from a solver's answer (a pass sequence, or a standard
 * pipeline): the single source of truth for every number the benchmark reports.
 *
 * evaluate() replays the answer on the program's unoptimised module with the real `opt` (never
 * opt-server), writing bitcode, and counts the instructions of `llvm-dis`'s output of that
 * bitcode: every reported count is the llvm-dis count by construction. When the solver says which
 * count its search saw (PassSequence.count, from opt's or opt-server's text), real opt must give
 * that count too, within RECOUNTS runs (LLVM 14 is not deterministic: reconcileCount), or the
 * cell fails. A program that did not build reports only `build_failed = 1` (and clang's error, as a note). Results are
 * kept per process by (program, answer), so a deterministic solver's later seeds cost nothing.
 */
import type { EvalContext, Metric, MetricValues } from '../../core/problem.js';
import { SelfoptError } from '../../core/errors.js';
import { countInstructions } from './ir.js';
import { firstLines, requireTool, runSync } from './llvm.js';
import { sequencePipeline, sha1, type OptStats } from './session.js';
import { cacheDir, type CompilerInstance } from './instances.js';
import { checkSemantics, NEEDS_INPUT_FILES, recordFailure, type SemanticsResult } from './semantics.js';
import { boolOption } from '../../core/options.js';
import { join } from 'node:path';

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
  /** The instruction count the search saw for this answer (checked by evaluate). */
  count?: number;
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
  { name: 'count_varies', unit: '1', better: 'lower', description: '1 when the search saw another instruction count than the evaluator\'s first real-opt run and more opt runs gave it too (LLVM 14\'s own nondeterminism, README): `instructions` is the evaluator\'s first; 0 otherwise (searches only)' },
];

/** Real opt runs, the first included, that may reproduce the count a search saw before the evaluator calls it a disagreement. */
export const RECOUNTS = 8;

/**
 * Checks the count a search saw for an answer against real opt. LLVM 14 is not deterministic
 * (MEASUREMENTS.md, "Finding (determinism)"): a few passes (gvn, newgvn) iterate over pointer-keyed
 * containers, so under ASLR one answer can give different counts from run to run, and a search
 * that keeps the lowest count it saw keeps such a lucky run. `seen` holds the evaluator's real-opt
 * counts of the answer so far (the first is the reported one); when the search's count is not
 * among them, more runs are made (`recount`, appended to `seen`) up to RECOUNTS in all. Returns
 * whether the count varies (the search saw another count than the reported one, and real opt
 * reproduced it). When real opt never gives the search's count, that is an error: opt-server and
 * opt disagree, the counter is wrong, or the search kept a count LLVM gives too rarely for
 * RECOUNTS runs to see it again.
 */
export function reconcileCount(searchCount: number | undefined, seen: number[], recount: () => number, where: string): boolean {
  if (searchCount === undefined || searchCount === seen[0]) return false;
  while (!seen.includes(searchCount) && seen.length < RECOUNTS) seen.push(recount());
  if (seen.includes(searchCount)) return true;
  throw new SelfoptError(`the search saw ${searchCount} instructions, llvm-dis of opt's output has ${seen.join(', ')} in ${seen.length} runs`, where, 'the search\'s count among real opt\'s (else opt-server and opt disagree, the counter is wrong, or LLVM\'s nondeterminism gave the search a count too rare to see again)');
}

export interface Replay {
  ir: string;
  count: number;
  failed?: string;
}

/**
 * Replays an answer on the program's unoptimised module with the real `opt` in one call (the
 * passes given in their exact top-level forms with `invalidate<all>` between them, session.ts
 * sequencePipeline: the same module as one call per pass up to local value names, so the same
 * count; tested), writing bitcode; then `llvm-dis`.
 */
export function replay(inst: CompilerInstance, sol: PassSequence): Replay {
  const where = `compiler evaluate, ${inst.id}`;
  const pipeline = sol.pipeline ?? (sol.passes.length === 0 ? 'verify' : sequencePipeline(sol.passes));
  const bc = runSync(requireTool('opt'), [`-passes=${pipeline}`, '-o', '-', '-'], inst.ir, 600_000);
  if (!bc.ok) return { ir: inst.ir, count: countInstructions(inst.ir), failed: `opt -passes=${pipeline}: ${firstLines(bc.message)}` };
  const dis = runSync(requireTool('llvm-dis'), ['-', '-o', '-'], bc.stdout, 300_000);
  if (!dis.ok) throw new SelfoptError(`llvm-dis failed: ${firstLines(dis.message)}`, where, 'valid bitcode from opt');
  const ir = dis.stdout.toString();
  return { ir, count: countInstructions(ir) };
}

/** Instruction count of a module's IR counted on llvm-dis's output of its bitcode. */
export function llvmDisCount(ir: string, where: string): number {
  const as = runSync(requireTool('llvm-as'), ['-', '-o', '-'], ir, 300_000);
  if (!as.ok) throw new SelfoptError(`llvm-as failed: ${firstLines(as.message)}`, where, 'valid textual IR');
  const dis = runSync(requireTool('llvm-dis'), ['-', '-o', '-'], as.stdout, 300_000);
  if (!dis.ok) throw new SelfoptError(`llvm-dis failed: ${firstLines(dis.message)}`, where, 'valid bitcode');
  return countInstructions(dis.stdout.toString());
}

/**
 * What the user reads of a program that did not build: clang's error lines (its first three; the
 * first two lines when none says `error:`, as llvm-link's), and where the whole message is.
 */
export function buildFailureNote(id: string, error: string): string {
  const lines = error.split(' | ');
  const errors = lines.filter((l) => /\berror:/.test(l)).slice(0, 3);
  return `${id} did not build: ${(errors.length > 0 ? errors : lines.slice(0, 2)).join(' | ')} (the message: ${join(cacheDir(), 'failures.jsonl')})`;
}

/** The note of a program -Oz leaves without instructions: it has no ratio_vs_oz. */
export const NO_OZ_RATIO = (id: string) => `${id}: -Oz leaves no instruction, so it has no ratio_vs_oz (n/a)`;

/** `--opt semantics=0` skips the check that the optimised program prints -O0's output (default on). */
export function semanticsOption(options: Readonly<Record<string, string>>): boolean {
  return boolOption(options, 'semantics', true);
}

interface Scored { count: number; /** Every real-opt count of the answer measured so far (the first is `count`). */ counts: number[]; semantics?: boolean; failed?: { result: SemanticsResult; irSha1: string }; /** Why the program's semantics are not checked, for the user. */ unchecked?: string }
const scored = new Map<string, Scored>();

export function evaluateCompiler(inst: CompilerInstance, sol: PassSequence, ctx: EvalContext): MetricValues {
  if (inst.error) {
    ctx.note?.(buildFailureNote(inst.id, inst.error));
    return { build_failed: 1 };
  }
  const where = `compiler evaluate, ${inst.id}`;
  const semantics = semanticsOption(ctx.options);
  const key = `${sha1(inst.ir)}\0${sol.pipeline ?? ''}\0${sol.passes.join(',')}\0${semantics}`;
  const subject = { solver: ctx.solver, seed: ctx.seed, pipeline: sol.pipeline, passes: sol.passes };
  let sc = scored.get(key);
  // Every failed check is logged, also when another cell already scored the same answer.
  if (sc?.failed) recordFailure(inst, sc.failed.result, subject, sc.failed.irSha1);
  const replayed = (): Replay => {
    const r = replay(inst, sol);
    if (r.failed) throw new SelfoptError(`the solver's answer does not replay: ${r.failed}`, where, 'a pass sequence every pass of which runs');
    return r;
  };
  if (!sc) {
    const r = replayed();
    sc = { count: r.count, counts: [r.count] };
    if (semantics) {
      const s = checkSemantics(inst, r.ir, subject);
      if (s.checked) sc.semantics = s.same === true;
      if (s.reason) sc.failed = { result: s, irSha1: sha1(r.ir) };
      // Input files are the documented case (README); a program of its own that cannot be checked is news.
      else if (!s.checked && s.note !== undefined && s.note !== NEEDS_INPUT_FILES) sc.unchecked = `${inst.id}: semantics not checked (no semantics_ok): ${s.note}`;
    }
    scored.set(key, sc);
  }
  if (sc.unchecked !== undefined) ctx.note?.(sc.unchecked);
  const varies = reconcileCount(sol.count, sc.counts, () => replayed().count, where);
  const stats = sol.stats;
  const out: MetricValues = {
    instructions: sc.count,
    reward: (inst.countO0 - sc.count) / Math.max(1, inst.countO0 - inst.countOz),
    passes: sol.pipeline ? 1 : sol.passes.length,
    search_s: (sol.searchMs ?? ctx.solveMs) / 1000,
    build_failed: 0,
  };
  // -Oz leaves no instruction (a file of data alone): there is nothing to compare with, and the
  // ratio was 0 (shown as 0x), which a geomean over the programs cannot take (core/stats geomean:
  // NaN). Absent, as for a program that did not build.
  if (inst.countOz > 0) out.ratio_vs_oz = inst.countOz / Math.max(1, sc.count);
  else ctx.note?.(NO_OZ_RATIO(inst.id));
  if (stats && stats.lookups > 0) {
    out.opt_calls = stats.optCalls;
    out.cache_hit_rate = stats.hits / stats.lookups;
    const ms = sol.searchMs ?? ctx.solveMs;
    if (ms > 0) out.opt_calls_per_sec = stats.optCalls / (ms / 1000);
  }
  if (sc.semantics !== undefined) out.semantics_ok = sc.semantics ? 1 : 0;
  if (sol.count !== undefined) out.count_varies = varies ? 1 : 0;
  return out;
}
