/**
 * Does an optimised module still compute what the program computed? Where a program runs without
 * input files (the own programs, SingleSource programs, MultiSource programs whose CMakeLists
 * gives only RUN_OPTIONS numbers), the -O0 module and the optimised module are each compiled by
 * `clang -O0 ... -lm` to an executable and run with the program's arguments and a timeout; the
 * two runs must give the same exit status, stdout and stderr. A program whose -O0 run fails or
 * times out is not checked. A pass sequence that changes the output is a finding to report (the
 * metric semantics_ok = 0), not a result.
 *
 * Every check that does not pass (outputs differ, the optimised module does not build, or its run
 * does not finish, after one longer rerun) is logged with its reason to `.selfopt/cache/compiler/semantics.jsonl` (instance,
 * solver, passes, note), next to the build failures in failures.jsonl, so that a 0 can be read.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findTool, firstLines, runSync } from './llvm.js';
import { sha1 } from './session.js';
import { appendRecord, type CompilerInstance } from './instances.js';

export type SemanticsReason = 'outputs differ' | 'build failed' | 'timeout';

export interface SemanticsResult {
  checked: boolean;
  same?: boolean;
  /** Why the check failed or gave no verdict (absent when it passed or was not run). */
  reason?: SemanticsReason;
  /** Why it was not checked, or how the outputs differ. */
  note?: string;
}

/** Who asked, for the log line: the solver and the answer whose module is checked. */
export interface SemanticsSubject {
  solver?: string;
  seed?: number;
  passes?: string[];
  pipeline?: string;
}

export interface SemanticsLimits {
  /** First run's limit. */
  runMs: number;
  /** The one rerun's limit after a timeout (at least this, and at least 10x -O0's run). */
  retryMs: number;
  /** clang -O0 of one module. */
  buildMs: number;
}

export const DEFAULT_LIMITS: SemanticsLimits = { runMs: 20_000, retryMs: 120_000, buildMs: 120_000 };

interface RunOutput { status: string; stdout: string; stderr: string; ms: number }
type Outcome =
  | { kind: 'ran'; out: RunOutput }
  | { kind: 'build failed'; error: string }
  | { kind: 'timeout'; stage: 'build' | 'run'; what: string };

/** -O0 outputs by IR hash (computed once per process); null: -O0 does not run cleanly. */
const reference = new Map<string, RunOutput | null>();
/** Verdicts by (program, optimised module): different pass sequences often reach the same module. */
const verdicts = new Map<string, SemanticsResult>();

function runnable(inst: CompilerInstance): boolean {
  const p = inst.program;
  if (p.source === 'own' || p.source === 'single' || p.source === 'file') return true;
  return p.runArgs !== undefined && p.runArgs.every((a) => /^-?\d+$/.test(a));
}

/**
 * The compiled program under a CPU-time limit a second above its wall-time one, set by prlimit
 * (util-linux, on every Debian) before it execs the program. The parent's timeout stops it first;
 * this stops an orphan: runSync starts it in a process group of its own (out of a terminal's
 * Ctrl-C), so a miscompiled program that loops would outlive a parent killed with SIGKILL.
 */
export function cpuBounded(exe: string, args: string[], limitMs: number): [string, string[]] {
  return existsSync(PRLIMIT) ? [PRLIMIT, [`--cpu=${Math.ceil(limitMs / 1000) + 1}`, '--', exe, ...args]] : [exe, args];
}
const PRLIMIT = '/usr/bin/prlimit';

/** Builds `ir` with clang -O0 and runs it with each limit in turn until one run finishes. */
function buildAndRun(clang: string, ir: string, args: string[], limitsMs: number[], buildMs: number): Outcome {
  const dir = mkdtempSync(join(tmpdir(), 'selfopt-sem-'));
  try {
    const ll = join(dir, 'm.ll'), exe = join(dir, 'm.exe');
    writeFileSync(ll, ir);
    const b = runSync(clang, ['-O0', '-w', ll, '-o', exe, '-lm'], undefined, buildMs, 1 << 26);
    if (b.timedOut) return { kind: 'timeout', stage: 'build', what: `clang -O0 ran over ${buildMs} ms` };
    if (!b.ok) return { kind: 'build failed', error: firstLines(b.message) };
    const over: string[] = [];
    for (const limit of limitsMs) {
      const r = runSync(...cpuBounded(exe, args, limit), undefined, limit, 1 << 28);
      if (r.timedOut) { over.push(`${limit} ms`); continue; }
      // A crash is an outcome like an exit status: it must match -O0's, it is not a timeout.
      if (r.error) return { kind: 'build failed', error: `the executable did not run: ${r.error}` };
      const status = r.signal ? `signal ${r.signal}` : String(r.status);
      return { kind: 'ran', out: { status, stdout: r.stdout.toString(), stderr: r.stderr, ms: r.ms } };
    }
    return { kind: 'timeout', stage: 'run', what: `the run went over ${over.join(', then over ')}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function checkSemantics(inst: CompilerInstance, optimisedIr: string, subject: SemanticsSubject = {}, limits: SemanticsLimits = DEFAULT_LIMITS): SemanticsResult {
  if (!runnable(inst)) return { checked: false, note: 'needs input files' };
  const clang = findTool('clang');
  if (!clang) return { checked: false, note: 'clang is not installed' };
  const args = inst.program.runArgs ?? [];
  const key = sha1(inst.ir);
  let ref = reference.get(key);
  if (ref === undefined) {
    // -O0's run gets the same rerun as the optimised one (lowercase runs ~16 s of CPU at -O0).
    const o = buildAndRun(clang, inst.ir, args, [limits.runMs, limits.retryMs], limits.buildMs);
    ref = o.kind === 'ran' && o.out.status === '0' ? o.out : null;
    reference.set(key, ref);
  }
  if (ref === null) return { checked: false, note: '-O0 build does not run cleanly' };
  const vkey = `${key}\0${sha1(optimisedIr)}`;
  const known = verdicts.get(vkey);
  if (known) {
    recordFailure(inst, known, subject, sha1(optimisedIr));
    return known;
  }
  // A run past the first limit is not yet evidence: on a shared, loaded machine correct programs
  // ran past 20 s (lowercase runs ~16 s of CPU at -O0; salsa20 after load-store-vectorizer, 33 s
  // against -O0's 8.5 s, same output), and the old check counted those as wrong answers. So it
  // gets one rerun with at least 120 s and at least 10x -O0's own run. A program still running
  // then does not do what -O0's does in any reasonable time: semantics_ok = 0 with reason
  // 'timeout' in the log (own/qsort after attributor lost its swap stores and loops forever:
  // a hang is how some miscompilations show). A clang that does not finish gives no verdict
  // (semantics_ok absent, logged): that says nothing about the program.
  const refMs = ref.ms;
  const got = buildAndRun(clang, optimisedIr, args, [limits.runMs, Math.max(limits.retryMs, Math.ceil(10 * refMs))], limits.buildMs);
  let v: SemanticsResult;
  if (got.kind === 'timeout' && got.stage === 'build') {
    v = { checked: false, reason: 'timeout', note: `no verdict: ${got.what}` };
  } else if (got.kind === 'timeout') {
    v = { checked: true, same: false, reason: 'timeout', note: `${got.what} (-O0's run took ${Math.round(refMs)} ms)` };
  } else if (got.kind === 'build failed') {
    v = { checked: true, same: false, reason: 'build failed', note: `optimised module does not build: ${got.error}` };
  } else {
    const o = got.out;
    v = o.status === ref.status && o.stdout === ref.stdout && o.stderr === ref.stderr
      ? { checked: true, same: true }
      : {
          checked: true, same: false, reason: 'outputs differ',
          note: `outputs differ: exit ${ref.status} vs ${o.status}, stdout ${ref.stdout.length} vs ${o.stdout.length} bytes` +
            `${ref.stdout === o.stdout ? ' (same)' : ''}, stderr ${ref.stderr.length} vs ${o.stderr.length} bytes (-O0 vs optimised)`,
        };
  }
  recordFailure(inst, v, subject, sha1(optimisedIr));
  verdicts.set(vkey, v);
  return v;
}

/** One line in semantics.jsonl per check that failed or gave no verdict (a cached verdict too). */
export function recordFailure(inst: CompilerInstance, v: SemanticsResult, subject: SemanticsSubject, irSha1: string): void {
  if (!v.reason) return;
  appendRecord('semantics.jsonl', {
    instance: inst.id, solver: subject.solver, seed: subject.seed, pipeline: subject.pipeline, passes: subject.passes,
    reason: v.reason, note: v.note, irSha1,
  });
}
