/**
 * Does an optimised module still compute what the program computed? Where a program runs without
 * input files (the own programs, SingleSource programs, MultiSource programs whose CMakeLists
 * gives only RUN_OPTIONS numbers), the -O0 module and the optimised module are each compiled by
 * `clang -O0 ... -lm` to an executable and run with the program's arguments and a CPU-time limit;
 * the two runs must give the same exit status, stdout and stderr. A program whose -O0 run fails or
 * times out is not checked, nor one whose -O0 executable, run twice, gives two outputs (it prints
 * an address, the time or its pid); why is kept on disk (bc/<key>.unchecked.json) and given to
 * the user as a note of the bench. A pass sequence that changes the output is a finding to report (the
 * metric semantics_ok = 0), not a result.
 *
 * Every check that does not pass (outputs differ, the optimised module does not build, or its run
 * used up its CPU time) is logged with its reason to `.selfopt/cache/compiler/semantics.jsonl` (instance,
 * solver, passes, note), next to the build failures in failures.jsonl, so that a 0 can be read.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { procArgv, procPids, procStat } from '../../core/procfs.js';
import { inTempDirSync, writeFileAtomic } from '../../core/files.js';
import { dirname, join } from 'node:path';
import { findTool, firstLines, runSync } from './llvm.js';
import { sha1 } from './session.js';
import { appendRecord, cacheDir, type CompilerInstance } from './instances.js';

/** The note of a program that is not run: it reads input files the benchmark does not have. */
export const NEEDS_INPUT_FILES = 'needs input files';

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
  /** CPU time a run may use: at least this, and for the optimised module at least 10x -O0's run. */
  cpuMs: number;
  /**
   * Wall time a run may take, as a multiple of its CPU limit. A run stopped by it had not used
   * its CPU time: the machine was too busy to judge it (no verdict).
   */
  wallFactor: number;
  /** clang -O0 of one module. */
  buildMs: number;
  /** Bytes of output a run may write (default 256 MiB): more is output -O0's run did not give. */
  outputBytes?: number;
}

export const DEFAULT_LIMITS: SemanticsLimits = { cpuMs: 120_000, wallFactor: 5, buildMs: 120_000 };

interface RunOutput { status: string; stdout: string; stderr: string; ms: number }
type Outcome =
  | { kind: 'ran'; out: RunOutput }
  | { kind: 'build failed'; error: string }
  | { kind: 'timeout'; stage: 'build' | 'run' | 'wall' | 'killed'; what: string };

const sameOutput = (a: RunOutput, b: RunOutput) => a.status === b.status && a.stdout === b.stdout && a.stderr === b.stderr;

/** The machine's doing, not the program's (starved of CPU, or killed from outside): no verdict, and none kept. */
const notTheProgram = (o: Outcome) => o.kind === 'timeout' && (o.stage === 'wall' || o.stage === 'killed');

/** -O0 outputs by IR hash (computed once per process), or why the program is not checked. */
const reference = new Map<string, RunOutput | { unchecked: string }>();
/** Verdicts by (program, optimised module): different pass sequences often reach the same module. */
const verdicts = new Map<string, SemanticsResult>();

function runnable(inst: CompilerInstance): boolean {
  const p = inst.program;
  if (p.source === 'own' || p.source === 'single' || p.source === 'file') return true;
  return p.runArgs !== undefined && p.runArgs.every((a) => /^-?\d+$/.test(a));
}

/**
 * The compiled program under a CPU-time limit of `limitMs` (whole seconds, at least 1), set by
 * prlimit (util-linux, on every Debian) before it execs the program: SIGXCPU at the limit, SIGKILL
 * a second later. CPU time, not wall time, is what tells a program that does not finish from one
 * starved on a loaded machine (a nice 19 run beside busy cores got a few percent of one). It also
 * bounds an orphan. And the program dies with the thread that started it: setpriv (util-linux)
 * sets SIGKILL as its parent-death signal, so a selfopt killed, or leaving at a second Ctrl-C,
 * leaves no program running on (one ran on, orphaned, for the rest of its CPU limit: minutes).
 */
export function cpuBounded(exe: string, args: string[], limitMs: number): [string, string[]] {
  const s = Math.max(1, Math.ceil(limitMs / 1000));
  const bounded: [string, string[]] = HAS_PRLIMIT ? [PRLIMIT, [`--cpu=${s}:${s + 1}`, '--', exe, ...args]] : [exe, args];
  return HAS_SETPRIV ? [SETPRIV, ['--pdeathsig', 'KILL', '--', bounded[0], ...bounded[1]]] : bounded;
}
const PRLIMIT = '/usr/bin/prlimit', SETPRIV = '/usr/bin/setpriv';
const HAS_PRLIMIT = existsSync(PRLIMIT), HAS_SETPRIV = existsSync(SETPRIV);

/** A file the stopper leaves beside a program it kills: the run then gives no verdict, however long it ran. */
const ABANDONED = 'abandoned';

/**
 * Kills the programs this process's semantics checks are running (SIGKILL to their process groups),
 * when a bench run abandons its running cells (Ctrl-C): out of the terminal's reach in groups of
 * their own, they ran on for the rest of their CPU limit (minutes), the worker threads blocked on
 * them, and the bench waited after saying it stopped. Each killed run gives no verdict (a mark
 * beside it says so: killed past its CPU limit in wall time, it read as a CPU timeout, and an
 * -O0 run's as a program never checked again). Called in the main thread: the programs of every
 * worker thread are its process's children.
 */
export function stopRunningChecks(): number {
  let killed = 0;
  for (const pid of procPids()) {
    if (procStat(pid)?.ppid !== process.pid) continue;
    const exe = checkedProgram(procArgv(pid) ?? []);
    if (exe === undefined) continue;
    try {
      writeFileSync(join(dirname(exe), ABANDONED), '');
      process.kill(-pid, 'SIGKILL');
      killed++;
    } catch {
      // gone meanwhile, or not ours
    }
  }
  return killed;
}

/**
 * The program a semantics check runs, when `argv` runs one: the program itself, or setpriv and
 * prlimit before they exec it (not clang building it: `-o`).
 */
export function checkedProgram(argv: readonly string[]): string | undefined {
  return argv.includes('-o') ? undefined : argv.find((a) => a.endsWith('/m.exe') && a.includes('/selfopt-sem-'));
}

/**
 * Builds `ir` with clang -O0 and runs it `runs` times, each with `cpuMs` of CPU time and
 * `wallFactor` times that of wall time (without prlimit, the wall time is the limit and `cpuMs`
 * of it a timeout). The outcomes in order: the build's alone when it fails, and no run after one
 * that did not exit 0.
 */
function buildAndRun(clang: string, ir: string, args: string[], cpuMs: number, wallFactor: number, buildMs: number, outputBytes = 1 << 28, runs = 1): [Outcome, ...Outcome[]] {
  // A run may take minutes (its CPU limit, times wallFactor in wall time), and a process killed
  // meanwhile never reaches a finally: the directory is named by pid, and the next process's first
  // check removes those of processes no longer alive.
  return inTempDirSync('selfopt-sem-', (dir): [Outcome, ...Outcome[]] => {
    const ll = join(dir, 'm.ll'), exe = join(dir, 'm.exe');
    writeFileSync(ll, ir);
    const b = runSync(clang, ['-O0', '-w', ll, '-o', exe, '-lm'], undefined, buildMs, 1 << 26);
    if (b.timedOut) return [{ kind: 'timeout', stage: 'build', what: `clang -O0 ran over ${buildMs} ms` }];
    if (!b.ok) return [{ kind: 'build failed', error: firstLines(b.message) }];
    const out: [Outcome, ...Outcome[]] = [runOnce(exe, args, cpuMs, wallFactor, outputBytes)];
    // Another run only after a clean one (exit 0): after a crash or an exit status the program is not checked anyway.
    const clean = (x: Outcome) => x.kind === 'ran' && x.out.status === '0';
    while (out.length < runs && clean(out[out.length - 1]!)) out.push(runOnce(exe, args, cpuMs, wallFactor, outputBytes));
    return out;
  });
}

/** One run of a built executable under the limits of buildAndRun. */
function runOnce(exe: string, args: string[], cpuMs: number, wallFactor: number, outputBytes: number): Outcome {
  const cpuS = Math.max(1, Math.ceil(cpuMs / 1000));
  const wallMs = HAS_PRLIMIT ? Math.ceil(wallFactor * cpuS * 1000) : cpuS * 1000;
  const r = runSync(...cpuBounded(exe, args, cpuS * 1000), undefined, wallMs, outputBytes);
  if (existsSync(join(dirname(exe), ABANDONED))) return { kind: 'timeout', stage: 'killed', what: `the run was stopped after ${Math.round(r.ms)} ms: the bench abandoned its cell` };
  if (r.timedOut && HAS_PRLIMIT) return { kind: 'timeout', stage: 'wall', what: `the run took over ${wallMs} ms of wall time without using its ${cpuS} s of CPU time (a busy machine)` };
  if (r.timedOut) return { kind: 'timeout', stage: 'run', what: `the run went over ${wallMs} ms` };
  // Output past the buffer: Node kills the run (SIGKILL, ENOBUFS). It ran, and wrote what -O0's
  // run, which fitted, did not: an outcome to compare, not a CPU timeout.
  if (r.error?.includes('ENOBUFS')) return { kind: 'ran', out: { status: `output past ${outputBytes} bytes`, stdout: r.stdout.toString(), stderr: r.stderr, ms: r.ms } };
  if (r.error) return { kind: 'build failed', error: `the executable did not run: ${r.error}` };
  if (HAS_PRLIMIT && r.signal === 'SIGXCPU') return { kind: 'timeout', stage: 'run', what: `the run used its ${cpuS} s of CPU time` };
  // prlimit's SIGKILL comes a second after SIGXCPU, so not before the run has had its CPU time
  // in wall time; a SIGKILL sooner is another's (the OOM killer's): no verdict on the program.
  if (HAS_PRLIMIT && r.signal === 'SIGKILL') {
    return r.ms >= cpuS * 1000
      ? { kind: 'timeout', stage: 'run', what: `the run used its ${cpuS} s of CPU time` }
      : { kind: 'timeout', stage: 'killed', what: `the run was killed (SIGKILL) after ${Math.round(r.ms)} ms, before its ${cpuS} s of CPU time (out of memory, or killed from outside)` };
  }
  // A crash is an outcome like an exit status: it must match -O0's, it is not a timeout.
  const status = r.signal ? `signal ${r.signal}` : String(r.status);
  return { kind: 'ran', out: { status, stdout: r.stdout.toString(), stderr: r.stderr, ms: r.ms } };
}

export function checkSemantics(inst: CompilerInstance, optimisedIr: string, subject: SemanticsSubject = {}, limits: SemanticsLimits = DEFAULT_LIMITS): SemanticsResult {
  if (!runnable(inst)) return { checked: false, note: NEEDS_INPUT_FILES };
  const clang = findTool('clang');
  if (!clang) return { checked: false, note: 'clang is not installed' };
  const args = inst.program.runArgs ?? [];
  const key = sha1(inst.ir);
  let ref = reference.get(key);
  // Why the program is not checked, kept on disk: a program whose -O0 run never ends cost its CPU
  // limit (120 s) again in every new process and worker thread.
  const uncheckedFile = join(cacheDir(), 'bc', `${sha1([key, args.join('\0'), limits.cpuMs, limits.outputBytes ?? ''].join('\0'))}.unchecked.json`);
  if (ref === undefined && existsSync(uncheckedFile)) ref = JSON.parse(readFileSync(uncheckedFile, 'utf8')) as { unchecked: string };
  if (ref === undefined) {
    // lowercase runs ~16 s of CPU at -O0. It runs twice: a program that prints an address, the
    // time or its pid gives other output run after run, and every answer, -O0's own included,
    // would be called a miscompilation.
    const [o, again] = buildAndRun(clang, inst.ir, args, limits.cpuMs, limits.wallFactor, limits.buildMs, limits.outputBytes, 2);
    for (const x of [o, again]) if (x?.kind === 'timeout' && notTheProgram(x)) return { checked: false, reason: 'timeout', note: `no verdict on -O0's reference run: ${x.what}` };
    // A second run that could not be started (EAGAIN, ENOMEM) is the machine's doing, not output that varies.
    if (again?.kind === 'build failed') return { checked: false, reason: 'timeout', note: `no verdict on -O0's second reference run: ${again.error}` };
    if (o.kind !== 'ran') ref = { unchecked: o.kind === 'timeout' ? `-O0: ${o.what}` : `-O0's build or run failed: ${o.error}` };
    else if (o.out.status !== '0') ref = { unchecked: `-O0's run ${o.out.status.startsWith('signal') ? `ends with ${o.out.status}` : `exits with status ${o.out.status}`}` };
    else if (again?.kind !== 'ran' || !sameOutput(o.out, again.out)) {
      const second = again?.kind === 'ran' ? `exit ${again.out.status}, stdout ${again.out.stdout.length} bytes${again.out.stdout === o.out.stdout ? ' (same)' : ''}` : 'no output';
      ref = { unchecked: `-O0's output varies from run to run (exit ${o.out.status}, stdout ${o.out.stdout.length} bytes, then ${second}): it prints what the program does not fix (an address, the time)` };
    } else ref = o.out;
    // A clang that ran over its time, or an executable that could not be started, may be the
    // machine's doing as much as the program's: not kept.
    const machine = (o.kind === 'timeout' && o.stage === 'build') || (o.kind === 'build failed' && o.error.startsWith('the executable did not run'));
    if ('unchecked' in ref && !machine) writeFileAtomic(uncheckedFile, JSON.stringify(ref));
    reference.set(key, ref);
  }
  if ('unchecked' in ref) return { checked: false, note: ref.unchecked };
  const vkey = `${key}\0${sha1(optimisedIr)}`;
  const known = verdicts.get(vkey);
  if (known) {
    recordFailure(inst, known, subject, sha1(optimisedIr));
    return known;
  }
  // Wall time is not evidence on a shared, loaded machine: correct programs ran past 20 s
  // (lowercase runs ~16 s of CPU at -O0; salsa20 after load-store-vectorizer, 33 s against -O0's
  // 8.5 s, same output), and Shootout/matrix after gvn-hoist (19 s of CPU) past 126 s at nice 19
  // beside busy cores. So the limit is CPU time, at least 120 s and at least 10x -O0's run: a
  // program that uses it up does not do what -O0's does in any reasonable time, semantics_ok = 0
  // with reason 'timeout' in the log (own/qsort after attributor lost its swap stores and loops
  // forever: a hang is how some miscompilations show). A run that ends on the wall-time backstop
  // before its CPU time, one killed from outside before it (SIGKILL: the OOM killer), or a clang
  // that does not finish, gives no verdict (semantics_ok absent, logged): that says nothing about
  // the program.
  const refMs = ref.ms;
  const [got] = buildAndRun(clang, optimisedIr, args, Math.max(limits.cpuMs, Math.ceil(10 * refMs)), limits.wallFactor, limits.buildMs, limits.outputBytes);
  let v: SemanticsResult;
  if (got.kind === 'timeout' && got.stage !== 'run') {
    v = { checked: false, reason: 'timeout', note: `no verdict: ${got.what}` };
  } else if (got.kind === 'timeout') {
    v = { checked: true, same: false, reason: 'timeout', note: `${got.what} (-O0's run took ${Math.round(refMs)} ms)` };
  } else if (got.kind === 'build failed') {
    v = { checked: true, same: false, reason: 'build failed', note: `optimised module does not build: ${got.error}` };
  } else {
    const o = got.out;
    v = sameOutput(ref, o)
      ? { checked: true, same: true }
      : {
          checked: true, same: false, reason: 'outputs differ',
          note: `outputs differ: exit ${ref.status} vs ${o.status}, stdout ${ref.stdout.length} vs ${o.stdout.length} bytes` +
            `${ref.stdout === o.stdout ? ' (same)' : ''}, stderr ${ref.stderr.length} vs ${o.stderr.length} bytes (-O0 vs optimised)`,
        };
  }
  recordFailure(inst, v, subject, sha1(optimisedIr));
  // A busy machine's no-verdict is not kept: the next check of the module may get one.
  if (!notTheProgram(got)) verdicts.set(vkey, v);
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
