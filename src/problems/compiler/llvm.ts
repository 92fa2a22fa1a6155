/**
 * Debian's LLVM 14 tools as subprocesses: `clang` (C -> unoptimised bitcode), `llvm-link`,
 * `llvm-dis` and `opt`. Each is found on PATH (or in /usr/lib/llvm-14/bin, or through
 * $SELFOPT_<TOOL>, e.g. SELFOPT_OPT=/path/to/opt); a missing one is a SelfoptError saying how to
 * install it, thrown when it is first needed, so problems that never compile never ask.
 *
 * Both a synchronous runner (the Env's step() is synchronous, as Gymnasium's) and an async one
 * (searches keep two `opt` processes busy, one per core) are given; both write stdin and read
 * stdout in memory and kill the process after `timeoutMs`.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { SelfoptError } from '../../core/errors.js';

/**
 * How every `opt` call prints its module: as text, with `uselistorder` directives. Without them a
 * text round trip reorders use lists (a block's predecessor order, for one), so passes applied
 * one call at a time would see another module than passes applied in one pipeline; with them the
 * two are identical (tested), as CompilerGym's in-memory modules are.
 */
export const OPT_TEXT = ['-S', '-preserve-ll-uselistorder'];

export type LlvmTool = 'clang' | 'opt' | 'llvm-dis' | 'llvm-link' | 'llvm-as';

const found = new Map<LlvmTool, string | null>();

/** The tool's path, or undefined when it is not installed. */
export function findTool(tool: LlvmTool): string | undefined {
  if (found.has(tool)) return found.get(tool) ?? undefined;
  const env = process.env[`SELFOPT_${tool.toUpperCase().replace('-', '_')}`];
  const dirs = (process.env.PATH ?? '/usr/bin').split(delimiter).filter(Boolean);
  const candidates = env ? [env] : [...dirs.map((d) => join(d, tool)), ...dirs.map((d) => join(d, `${tool}-14`)), `/usr/lib/llvm-14/bin/${tool}`];
  let hit: string | null = null;
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      hit = c;
      break;
    } catch {
      // not here
    }
  }
  found.set(tool, hit);
  return hit ?? undefined;
}

/** The tool's path; a SelfoptError with the install command when it is missing. */
export function requireTool(tool: LlvmTool): string {
  const p = findTool(tool);
  if (!p) {
    const pkg = tool === 'clang' ? 'clang' : 'llvm';
    throw new SelfoptError(`${tool} is not installed`, 'compiler problem', `LLVM 14's ${tool} on PATH: \`apt-get install ${pkg}\` (Debian/Ubuntu), or set $SELFOPT_${tool.toUpperCase().replace('-', '_')} to its path`);
  }
  return p;
}

/** True when every tool the compiler problem needs is installed. */
export function llvmAvailable(): boolean {
  return (['clang', 'opt', 'llvm-dis', 'llvm-link'] as const).every((t) => findTool(t) !== undefined);
}

export interface RunResult {
  ok: boolean;
  stdout: Buffer;
  /** stderr text, or the reason the process was stopped. */
  stderr: string;
}

const MAX_BUFFER = 1 << 30;

/** Runs `exe args` with `input` on stdin, synchronously. */
export function runSync(exe: string, args: string[], input: string | Uint8Array | undefined, timeoutMs: number): RunResult {
  const r = spawnSync(exe, args, { input, maxBuffer: MAX_BUFFER, timeout: timeoutMs, stdio: ['pipe', 'pipe', 'pipe'] });
  if (r.error) return { ok: false, stdout: Buffer.alloc(0), stderr: `${exe}: ${r.error.message}` };
  if (r.signal) return { ok: false, stdout: r.stdout, stderr: `${exe} killed by ${r.signal}${r.signal === 'SIGTERM' ? ` (timeout ${timeoutMs} ms)` : ''}: ${r.stderr.toString().slice(0, 2000)}` };
  return { ok: r.status === 0, stdout: r.stdout, stderr: r.stderr.toString() };
}

/** Runs `exe args` with `input` on stdin; resolves (never rejects) with the outcome. */
export function runAsync(exe: string, args: string[], input: string | Uint8Array | undefined, timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(exe, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [], err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => { clearTimeout(timer); resolve({ ok: false, stdout: Buffer.alloc(0), stderr: `${exe}: ${e.message}` }); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stderr = Buffer.concat(err).toString();
      if (timedOut) resolve({ ok: false, stdout: Buffer.alloc(0), stderr: `${exe} stopped after ${timeoutMs} ms (timeout)` });
      else resolve({ ok: code === 0, stdout: Buffer.concat(out), stderr: signal ? `${exe} killed by ${signal}: ${stderr}` : stderr });
    });
    child.stdin.on('error', () => { /* the process died before reading all input: reported by 'close' */ });
    child.stdin.end(input ?? '');
  });
}

/** `opt --version` first line, part of every cache key (another LLVM gives other modules). */
let optVersionCache: string | undefined;
export function optVersion(): string {
  if (optVersionCache === undefined) {
    const out = execFileSync(requireTool('opt'), ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
    optVersionCache = (out.match(/LLVM version [^\s]+/) ?? [out.split('\n').find((l) => l.trim()) ?? 'unknown'])[0]!.trim();
  }
  return optVersionCache;
}

/** The first lines of a tool's error output, for a failure record. */
export function firstLines(text: string, n = 6): string {
  return text.split('\n').map((l) => l.trimEnd()).filter(Boolean).slice(0, n).join(' | ');
}
