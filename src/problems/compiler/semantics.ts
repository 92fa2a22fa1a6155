/**
 * Does an optimised module still compute what the program computed? Where a program runs without
 * input files (the own programs, SingleSource programs, MultiSource programs whose CMakeLists
 * gives only RUN_OPTIONS numbers), the -O0 module and the optimised module are each compiled by
 * `clang -O0 ... -lm` to an executable and run with the program's arguments and a timeout; the
 * two runs must give the same exit status, stdout and stderr. A program whose -O0 run fails or
 * times out is not checked. A pass sequence that changes the output is a finding to report (the
 * metric semantics_ok = 0), not a result.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findTool, runSync } from './llvm.js';
import { sha1 } from './session.js';
import type { CompilerInstance } from './instances.js';

export interface SemanticsResult {
  checked: boolean;
  same?: boolean;
  /** Why it was not checked, or how the outputs differ. */
  note?: string;
}

const RUN_TIMEOUT_MS = 20_000;

interface RunOutput { status: string; stdout: string; stderr: string }

/** Outputs of programs' -O0 builds, by IR hash (computed once per process). */
const reference = new Map<string, RunOutput | null>();
/** Verdicts by (program, optimised module): different pass sequences often reach the same module. */
const verdicts = new Map<string, SemanticsResult>();

function runnable(inst: CompilerInstance): boolean {
  const p = inst.program;
  if (p.source === 'own' || p.source === 'single' || p.source === 'file') return true;
  return p.runArgs !== undefined && p.runArgs.every((a) => /^-?\d+$/.test(a));
}

function buildAndRun(ir: string, args: string[]): RunOutput | null {
  const clang = findTool('clang');
  if (!clang) return null;
  const dir = mkdtempSync(join(tmpdir(), 'selfopt-sem-'));
  try {
    const ll = join(dir, 'm.ll'), exe = join(dir, 'm.exe');
    writeFileSync(ll, ir);
    const b = runSync(clang, ['-O0', '-w', ll, '-o', exe, '-lm'], undefined, 120_000);
    if (!b.ok) return null;
    const r = runSync(exe, args, '', RUN_TIMEOUT_MS);
    if (r.stderr.includes('killed by') || r.stderr.includes('timeout')) return null;
    // runSync folds the exit status into ok; keep it as text for the comparison.
    return { status: r.ok ? '0' : 'nonzero', stdout: r.stdout.toString(), stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function checkSemantics(inst: CompilerInstance, optimisedIr: string): SemanticsResult {
  if (!runnable(inst)) return { checked: false, note: 'needs input files' };
  const args = inst.program.runArgs ?? [];
  const key = sha1(inst.ir);
  let ref = reference.get(key);
  if (ref === undefined) {
    ref = buildAndRun(inst.ir, args);
    if (ref && ref.status !== '0') ref = null;
    reference.set(key, ref);
  }
  if (ref === null) return { checked: false, note: '-O0 build does not run cleanly' };
  const vkey = `${key}\0${sha1(optimisedIr)}`;
  const known = verdicts.get(vkey);
  if (known) return known;
  const got = buildAndRun(optimisedIr, args);
  const v: SemanticsResult = !got
    ? { checked: true, same: false, note: 'optimised build did not build or timed out' }
    : got.status === ref.status && got.stdout === ref.stdout && got.stderr === ref.stderr
      ? { checked: true, same: true, note: undefined }
      : { checked: true, same: false, note: `outputs differ (stdout ${ref.stdout.length} vs ${got.stdout.length} bytes)` };
  verdicts.set(vkey, v);
  return v;
}
