/**
 * Debian's LLVM 14 tools as subprocesses: `clang` (C -> unoptimised bitcode), `llvm-link`,
 * `llvm-dis` and `opt`. Each is found on PATH (or in /usr/lib/llvm-14/bin, or through
 * $SELFOPT_<TOOL>, e.g. SELFOPT_OPT=/path/to/opt); a missing one is a SelfoptError saying how to
 * install it, thrown when it is first needed, so problems that never compile never ask.
 *
 * Both a synchronous runner (the Env's step() is synchronous, as Gymnasium's) and an async one
 * (searches keep two `opt` processes busy, one per core) are given; both write stdin and read
 * stdout in memory and kill the process after `timeoutMs`.
 *
 * Both start the tool in a process group of its own (`detached`): a terminal's Ctrl-C goes to the
 * whole foreground group, and an `opt` (or clang) it killed would come back as a failed pass or
 * build, which a search caches and a trainer saves; the CLI's own handler stops the run after the
 * call instead. The parent still bounds every call: the timeout kills it, and a tool whose
 * parent died gets EOF on stdin and SIGPIPE on its first write.
 */
import { execFileSync, spawn, spawnSync, type SpawnSyncOptions, type SpawnSyncReturns } from 'node:child_process';
import { performance } from 'node:perf_hooks';
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

/** The variable that names a tool's path: SELFOPT_OPT, SELFOPT_LLVM_DIS, ... */
const envName = (tool: LlvmTool) => `SELFOPT_${tool.toUpperCase().replace('-', '_')}`;

/** The tool's path, or undefined when it is not installed. */
export function findTool(tool: LlvmTool): string | undefined {
  if (found.has(tool)) return found.get(tool) ?? undefined;
  const env = process.env[envName(tool)];
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
    const name = envName(tool), set = process.env[name];
    // Set, the variable is the only place looked at: saying the tool is not installed misleads.
    if (set) throw new SelfoptError(`$${name} = ${set} is not an executable file`, 'compiler problem', `the path of LLVM 14's ${tool}, or $${name} unset to find it on PATH`);
    throw new SelfoptError(`${tool} is not installed`, 'compiler problem', `LLVM 14's ${tool} on PATH: \`apt-get install ${pkg}\` (Debian/Ubuntu), or set $${name} to its path`);
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
  /** Why it failed, for an error message: stderr, after the reason when the process was stopped. */
  message: string;
  /**
   * opt-server only: the input module itself was refused (it does not parse, or does not verify),
   * before any pass ran, so every pipeline fails on it with this message.
   */
  inputRefused?: boolean;
}

/** A process run to its end, or stopped: what a caller needs to tell a crash from a timeout. */
export interface ProcessRun extends RunResult {
  /** Exit status; null when a signal ended the process or it did not start. */
  status: number | null;
  /** The signal that ended it: a crash, or the SIGKILL of the time limit (then `timedOut`). */
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** Why it could not run or was stopped other than by its time limit (not found, output past maxBuffer); null otherwise. */
  error: string | null;
  /** The process's own stderr, unprefixed (compared as output by the semantics check). */
  stderr: string;
  /** Wall time from spawn to exit, in ms. */
  ms: number;
}

const MAX_BUFFER = 1 << 30;

/**
 * Runs `exe args` with `input` on stdin, synchronously; SIGKILL after `timeoutMs` (a program
 * that traps SIGTERM must not outlive its limit).
 */
export function runSync(exe: string, args: string[], input: string | Uint8Array | undefined, timeoutMs: number, maxBuffer = MAX_BUFFER): ProcessRun {
  const t0 = performance.now();
  // `detached` is honoured by spawnSync as by spawn (Node passes it to libuv for both; tested),
  // though @types/node lists it for spawn only.
  const options: SpawnSyncOptions & { detached: boolean } = { input: input ?? '', maxBuffer, timeout: timeoutMs, killSignal: 'SIGKILL', stdio: ['pipe', 'pipe', 'pipe'], detached: true };
  const r = spawnSync(exe, args, options) as SpawnSyncReturns<Buffer>;
  const ms = performance.now() - t0;
  const timedOut = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
  const stdout = r.stdout ?? Buffer.alloc(0), stderr = r.stderr ? r.stderr.toString() : '';
  const error = r.error && !timedOut ? r.error.message : null;
  const run = { stdout, stderr, status: r.status, signal: r.signal, timedOut, error, ms };
  if (timedOut) return { ...run, ok: false, message: `${exe} stopped after ${timeoutMs} ms (timeout): ${stderr.slice(0, 2000)}` };
  if (error) return { ...run, ok: false, message: `${exe}: ${error}` };
  if (r.signal) return { ...run, ok: false, message: `${exe} killed by ${r.signal}: ${stderr.slice(0, 2000)}` };
  return { ...run, ok: r.status === 0, message: stderr };
}

/** Runs `exe args` with `input` on stdin; resolves (never rejects) with the outcome. */
export function runAsync(exe: string, args: string[], input: string | Uint8Array | undefined, timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(exe, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const out: Buffer[] = [], err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => { clearTimeout(timer); resolve({ ok: false, stdout: Buffer.alloc(0), message: `${exe}: ${e.message}` }); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stderr = Buffer.concat(err).toString();
      if (timedOut) resolve({ ok: false, stdout: Buffer.alloc(0), message: `${exe} stopped after ${timeoutMs} ms (timeout)` });
      else resolve({ ok: code === 0, stdout: Buffer.concat(out), message: signal ? `${exe} killed by ${signal}: ${stderr}` : stderr });
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
