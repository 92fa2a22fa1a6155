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
 * call starts a new server.
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

const live = new Set<OptServer>();
process.on('exit', () => { for (const s of live) s.close(); });

export class OptServer {
  private child: ChildProcess | undefined;
  private dir: string | undefined;
  private reqFd = -1;
  private respFd = -1;
  private readonly header = Buffer.alloc(64);

  constructor(private readonly exe: string, private readonly timeoutMs: number) {}

  private start(): void {
    this.dir = mkdtempSync(join(tmpdir(), 'selfopt-opt-server-'));
    const req = join(this.dir, 'req'), resp = join(this.dir, 'resp');
    const m = spawnSync('mkfifo', [req, resp]);
    if (m.status !== 0) throw new Error(`mkfifo failed: ${m.stderr}`);
    this.child = spawn(this.exe, [req, resp, String(Math.max(1, Math.ceil(this.timeoutMs / 1000)))], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child.stderr!.resume();
    this.child.unref();
    (this.child.stderr as unknown as { unref?: () => void }).unref?.();
    // Same order as the server (requests, then responses): each open returns once both ends are open.
    this.reqFd = openSync(req, 'w');
    this.respFd = openSync(resp, 'r');
    live.add(this);
  }

  /** Runs `pipeline` on `ir`; ok with the printed module, or a failure with the reason. */
  run(pipeline: string, ir: string): RunResult {
    if (!this.child) this.start();
    const p = Buffer.from(pipeline), m = Buffer.from(ir);
    try {
      writeAll(this.reqFd, Buffer.from(`P ${p.length} ${m.length}\n`));
      writeAll(this.reqFd, p);
      writeAll(this.reqFd, m);
      const line = this.readLine();
      const [status, len] = line.split(' ').map(Number) as [number, number];
      const body = this.readExactly(len);
      return status === 0 ? { ok: true, stdout: body, stderr: '' } : { ok: false, stdout: Buffer.alloc(0), stderr: body.toString() };
    } catch (e) {
      this.close();
      return { ok: false, stdout: Buffer.alloc(0), stderr: `opt-server stopped while running '${pipeline}' (a crash, or past ${this.timeoutMs} ms): ${(e as Error).message}` };
    }
  }

  private readLine(): string {
    let n = 0;
    for (;;) {
      const k = readSync(this.respFd, this.header, n, 1, null);
      if (k === 0) throw new Error('end of stream');
      if (this.header[n] === 10) return this.header.toString('utf8', 0, n);
      if (++n >= this.header.length) throw new Error('bad header');
    }
  }

  private readExactly(len: number): Buffer {
    const b = Buffer.allocUnsafe(len);
    let n = 0;
    while (n < len) {
      const k = readSync(this.respFd, b, n, len - n, null);
      if (k === 0) throw new Error('end of stream');
      n += k;
    }
    return b;
  }

  close(): void {
    if (this.reqFd >= 0) { try { closeSync(this.reqFd); } catch { /* already closed */ } }
    if (this.respFd >= 0) { try { closeSync(this.respFd); } catch { /* already closed */ } }
    this.reqFd = this.respFd = -1;
    if (this.child && this.child.exitCode === null) this.child.kill('SIGKILL');
    this.child = undefined;
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
    live.delete(this);
  }
}

function writeAll(fd: number, b: Buffer): void {
  let n = 0;
  while (n < b.length) n += writeSync(fd, b, n, b.length - n);
}
