/**
 * The client of opt-server.cpp: LLVM 14's opt as a long-lived process, so that a search pays for
 * the passes and not for starting opt (measured here: ~20 ms per pass application instead of
 * 100-800 ms per opt process on the loaded 2-core machine). Its output is byte-identical to
 * `opt -S -preserve-ll-uselistorder -passes=<p>` (tested on random pass sequences); evaluate.ts
 * still scores every answer with the real `opt`, so no reported number rests on the server.
 *
 * The server is compiled on first use from opt-server.cpp with clang++ against LLVM 14's C++
 * headers (Debian package llvm-14-dev) into .selfopt/cache/compiler/bin/ (named by the sha1 of
 * the source and the LLVM version); when that is not possible, sessions fall back to one `opt`
 * process per pass. Requests and answers go over two FIFOs with blocking reads and writes, so
 * the calls are synchronous (the Env's step() is). A pass that crashes, or runs past the
 * timeout (SIGALRM in the server), ends the server: the call returns a failure and the next
 * call starts a new server. A client's close() gives its healthy process back to the thread's
 * pool for the next client (see `idle`).
 *
 * The server runs in a process group of its own: a terminal's Ctrl-C (SIGINT to the foreground
 * group) would otherwise kill it in the middle of a pass, which would come back as that pass's
 * failure, be cached by the session and change a search's answer (a greedy demonstration saved
 * by `selfopt train compiler ppo`, a bench cell). It still ends with its parent: the 'exit'
 * handler kills it, and when the process dies without running it (SIGKILL, a signal it does not
 * handle) the server's request FIFO reaches EOF, on which it exits (after the pass it runs, if any, which its
 * SIGALRM bounds, and whose answer dies of SIGPIPE).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../core/version.js';
import { createHash } from 'node:crypto';
import { findTool, optVersion, type RunResult } from './llvm.js';

const SOURCE = join(PROJECT_ROOT, 'src', 'problems', 'compiler', 'opt-server.cpp');
const LLVM_CONFIG = '/usr/lib/llvm-14/bin/llvm-config';

let builtPath: string | null | undefined;
let buildError = '';

/** The server binary, built when missing; null when it cannot be built (then sessions use opt). */
export function optServerBinary(): string | null {
  if (builtPath !== undefined) return builtPath;
  builtPath = null;
  const cxx = process.env.SELFOPT_CXX ?? '/usr/bin/clang++';
  if (process.env.SELFOPT_COMPILER_BACKEND === 'opt' || !existsSync(SOURCE) || !existsSync(LLVM_CONFIG) || !existsSync(cxx) || !findTool('opt')) {
    buildError = 'opt-server needs clang++, LLVM 14 C++ headers (llvm-14-dev) and its source';
    return null;
  }
  const dir = process.env.SELFOPT_OPT_SERVER_DIR ?? join(PROJECT_ROOT, '.selfopt', 'cache', 'compiler', 'bin');
  const exe = join(dir, `opt-server-${createHash('sha1').update(readFileSync(SOURCE, 'utf8') + optVersion()).digest('hex').slice(0, 16)}`);
  if (existsSync(exe)) return (builtPath = exe);
  const cfg = spawnSync(LLVM_CONFIG, ['--cxxflags'], { encoding: 'utf8' });
  if (cfg.status !== 0) { buildError = `llvm-config failed: ${cfg.stderr}`; return null; }
  spawnSync('mkdir', ['-p', dir]);
  const tmp = `${exe}.${process.pid}.tmp`;
  const r = spawnSync(cxx, ['-O1', '-w', ...cfg.stdout.trim().split(/\s+/), SOURCE, '-o', tmp, '-L/usr/lib/llvm-14/lib', '-lLLVM-14', '-Wl,-rpath,/usr/lib/llvm-14/lib'], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) { buildError = `building opt-server failed: ${(r.stderr ?? '').slice(0, 2000)}`; rmSync(tmp, { force: true }); return null; }
  renameSync(tmp, exe);
  return (builtPath = exe);
}

export function optServerBuildError(): string {
  return buildError;
}

/** A running server process: its FIFOs, open in this process. */
interface ServerProcess {
  child: ChildProcess;
  reqFd: number;
  respFd: number;
  /** exe and timeout: a pooled process serves only a client that would have started the same one. */
  key: string;
}

/**
 * Idle server processes of this thread, kept for the next session. Starting one costs ~200 ms
 * (loading libLLVM, registering the targets), more than a short search's passes; the process
 * keeps nothing from one request to the next (each builds its own LLVMContext, module and pass
 * manager), so a session on a reused process computes what it would on a new one, with its own
 * empty state cache. Every search and the Env take them alike.
 */
const idle: ServerProcess[] = [];
const IDLE_MAX = 2;
const live = new Set<ServerProcess>();
process.on('exit', () => { for (const p of live) kill(p); });

function kill(p: ServerProcess): void {
  for (const fd of [p.reqFd, p.respFd]) { try { closeSync(fd); } catch { /* already closed */ } }
  // The whole group: the shell spawnServer starts and the server under it.
  if (p.child.exitCode === null && p.child.signalCode === null) {
    try { process.kill(-p.child.pid!, 'SIGKILL'); } catch { /* already gone */ }
  }
  live.delete(p);
}

function spawnServer(exe: string, timeoutMs: number, key: string): ServerProcess {
  const dir = mkdtempSync(join(tmpdir(), 'selfopt-opt-server-'));
  const req = join(dir, 'req'), resp = join(dir, 'resp');
  const m = spawnSync('mkfifo', [req, resp]);
  if (m.status !== 0) throw new Error(`mkfifo failed: ${m.stderr}`);
  // The server runs under a shell that opens both FIFOs itself once the server has exited
  // (read-write, which never blocks) and holds them 5 s. A server that died before opening them
  // (a missing LLVM library, a crash at start, no such file) would otherwise leave the
  // synchronous opens below blocked for ever, where no event can reach this thread; with the
  // shell's ends they return, and the first request finds the stream ended when the shell exits:
  // one failed run with the reason. After a normal start the FIFOs' names are gone by then, and
  // the shell's opens fail, silently.
  const script = '"$0" "$1" "$2" "$3"; exec 2>/dev/null 4<>"$2" 3<>"$1" && sleep 5';
  const child = spawn('/bin/sh', ['-c', script, exe, req, resp, String(Math.max(1, Math.ceil(timeoutMs / 1000)))], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  child.stderr!.resume();
  child.unref();
  (child.stderr as unknown as { unref?: () => void }).unref?.();
  // Same order as the server (requests, then responses): each open returns once both ends are open.
  const reqFd = openSync(req, 'w');
  const respFd = openSync(resp, 'r');
  // Both ends are open on both sides, so the FIFOs' names are no longer needed: removing them
  // now leaves nothing in the temp dir, even when this thread is terminated (a worker thread's
  // 'exit' handlers do not run then) or the process is killed.
  rmSync(dir, { recursive: true, force: true });
  const p = { child, reqFd, respFd, key };
  live.add(p);
  serverStats.starts++;
  return p;
}

/** Server processes this thread has started, and the pids of those idle in its pool (for tests: each the shell a server runs under, leader of their process group). */
export const serverStats = { starts: 0, idlePids: (): number[] => idle.map((p) => p.child.pid!) };

/** Stops this thread's idle server processes (they are also stopped when the process exits). */
export function closeIdleServers(): void {
  for (const p of idle.splice(0)) kill(p);
}

export class OptServer {
  private proc: ServerProcess | undefined;
  private readonly header = Buffer.alloc(64);
  private readonly key: string;

  constructor(private readonly exe: string, private readonly timeoutMs: number) {
    this.key = `${exe}\0${timeoutMs}`;
  }

  private start(): { pooled: boolean } {
    const i = idle.findIndex((p) => p.key === this.key);
    if (i >= 0) { this.proc = idle.splice(i, 1)[0]!; return { pooled: true }; }
    this.proc = spawnServer(this.exe, this.timeoutMs, this.key);
    return { pooled: false };
  }

  /** Runs `pipeline` on `ir`; ok with the printed module, or a failure with the reason. */
  run(pipeline: string, ir: string): RunResult {
    const pooled = this.proc ? false : this.start().pooled;
    try {
      return this.request(pipeline, ir);
    } catch (e) {
      this.discard();
      // A pooled process that died while idle is no failure of this pass: ask a new one.
      if (pooled) return this.run(pipeline, ir);
      return { ok: false, stdout: Buffer.alloc(0), message: `opt-server stopped while running '${pipeline}' (a crash, or past ${this.timeoutMs} ms): ${(e as Error).message}` };
    }
  }

  private request(pipeline: string, ir: string): RunResult {
    const p = Buffer.byteLength(pipeline), m = Buffer.byteLength(ir);
    const proc = this.proc!;
    // One write for the whole request: each write wakes the server, which then waits for the next.
    writeAll(proc.reqFd, Buffer.from(`P ${p} ${m}\n${pipeline}${ir}`));
    const line = this.readLine(proc.respFd);
    const [status, len] = line.split(' ').map(Number) as [number, number];
    const body = readExactly(proc.respFd, len);
    if (status === 0) return { ok: true, stdout: body, message: '' };
    return { ok: false, stdout: Buffer.alloc(0), message: body.toString(), ...(status === 2 ? { inputRefused: true } : {}) };
  }

  private readLine(fd: number): string {
    let n = 0;
    for (;;) {
      const k = readSync(fd, this.header, n, 1, null);
      if (k === 0) throw new Error('end of stream');
      if (this.header[n] === 10) return this.header.toString('utf8', 0, n);
      if (++n >= this.header.length) throw new Error('bad header');
    }
  }

  private discard(): void {
    if (this.proc) kill(this.proc);
    this.proc = undefined;
  }

  /** Gives the process back to the thread's pool (or stops it); a later run takes one again. */
  close(): void {
    const p = this.proc;
    this.proc = undefined;
    if (!p) return;
    if (p.child.exitCode === null && p.child.signalCode === null && idle.length < IDLE_MAX) idle.push(p);
    else kill(p);
  }
}

function readExactly(fd: number, len: number): Buffer {
  const b = Buffer.allocUnsafe(len);
  let n = 0;
  while (n < len) {
    const k = readSync(fd, b, n, len - n, null);
    if (k === 0) throw new Error('end of stream');
    n += k;
  }
  return b;
}

function writeAll(fd: number, b: Buffer): void {
  let n = 0;
  while (n < b.length) n += writeSync(fd, b, n, b.length - n);
}
