/**
 * Compiler problem tests: a terminal's Ctrl-C (SIGINT to the whole foreground process group) or a
 * SIGKILL of the group, sent while `selfopt train compiler ppo` runs a greedy search: what is saved
 * is what an uninterrupted search gives (or nothing), and no opt-server outlives the run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OptSession } from '../../../src/problems/compiler/session.js';
import { optServerBinary, optServerBuildError } from '../../../src/problems/compiler/opt-server.js';
import { checkedProgram } from '../../../src/problems/compiler/semantics.js';
import { procArgv, procPids, procStat } from '../../../src/core/procfs.js';
import { skip, dir, own } from './fixtures.js';
import { tempDir } from '../../tmp.js';

const CLI = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
const DEMO_STEPS = 4;

/** Whether a process runs an opt-server (or the shell that starts one). */
const isOptServer = (pid: number) => (procArgv(pid) ?? []).some((a) => a.includes('opt-server'));

/** Pids of the opt-server processes whose parent is `parent` (read from /proc). */
function optServersOf(parent: number): number[] {
  return procPids().filter((pid) => procStat(pid)?.ppid === parent && isOptServer(pid));
}

/** Whether `pid` is still a live opt-server (not gone, not a zombie, not a reused pid). */
function aliveOptServer(pid: number): boolean {
  const stat = procStat(pid);
  return stat !== null && stat.state !== 'Z' && isOptServer(pid);
}

/**
 * Waits until none of `servers` is a live opt-server, `ms` at most. A server its parent's exit
 * handler SIGKILLed is gone once the kernel has torn it down: under heavy load (a load average of
 * 15) one was seen still alive in the instant the parent's exit was reported.
 */
async function serversGone(servers: Iterable<number>, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while ([...servers].some(aliveOptServer) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
}

/**
 * Whether the opt-server under `shell` (the shell it runs under, as optServersOf finds it) has
 * answered a request: its answers on the response FIFO are all it writes, so it has once it has
 * written a byte (/proc/<pid>/io's wchar counts every byte a process wrote).
 */
function answeredPass(shell: number): boolean {
  return procPids().some((pid) => {
    if (procStat(pid)?.ppid !== shell) return false;
    try {
      return Number(/^wchar: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? 0) > 0;
    } catch {
      return false; // gone
    }
  });
}

/**
 * Starts the CLI's ppo training on sieve in a process group of its own; resolves with it once it
 * is into its greedy demo search (an opt-server of it has answered a pass), and the pids of its
 * opt-servers so far. The search then runs for seconds: every pass (~20 ms each) at each step.
 */
async function trainUntilSearching(stateDir: string): Promise<{ child: ChildProcess; exited: Promise<number | null>; stderr: () => string; servers: Set<number> }> {
  const args = [CLI, 'train', 'compiler', 'ppo', '--instances', 'own/sieve', '--steps', '64', '--state', stateDir, '--out', join(stateDir, 'out.ckpt'),
    '--opt', `demoSteps=${DEMO_STEPS}`, '--opt', 'bcEpochs=2', '--opt', 'daggerRounds=0', '--opt', 'workers=0', '--opt', 'hidden=8'];
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env } });
  let err = '';
  child.stderr!.on('data', (b: Buffer) => { err += b.toString(); });
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  const servers = new Set<number>();
  const t0 = Date.now();
  // It waited a fixed 300 ms after the first opt-server appeared: on a loaded machine the signal
  // could come before the server had loaded LLVM and taken its first pass.
  while (![...servers].some(answeredPass)) {
    if (child.exitCode !== null) throw new Error(`training ended before its search: ${err}`);
    if (Date.now() - t0 > 120_000) throw new Error(`no opt-server answered a pass after 120 s: ${err}`);
    await new Promise((r) => setTimeout(r, 50));
    for (const p of optServersOf(child.pid!)) servers.add(p);
  }
  return { child, exited, stderr: () => err, servers };
}

test('Ctrl-C (SIGINT to the process group) while a session runs passes on opt-server: no pass fails, and no opt-server outlives the process', { skip, timeout: 120_000 }, async (t) => {
  if (!optServerBinary()) return t.skip(`opt-server cannot be built here: ${optServerBuildError()}`);
  const script = fileURLToPath(new URL('./interrupt-child.js', import.meta.url));
  // The child runs rounds of passes until the SIGINT has come (120 s at most, if it never does).
  const child = spawn(process.execPath, [script, '120000'], { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
  let out = '', err = '';
  child.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
  child.stderr!.on('data', (b: Buffer) => { err += b.toString(); });
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  const t0 = Date.now();
  // The signal goes once a first round of passes is done, so it comes during the passes however
  // slow either process is (it went 300 ms after the child's start, and a child whose 2 s of
  // passes ended before a frozen test sent it got no signal).
  while (!out.includes('round 1\n')) {
    if (child.exitCode !== null || Date.now() - t0 > 60_000) throw new Error(`the child did not run a round of passes: ${err}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const servers = optServersOf(child.pid!);
  assert.ok(servers.length > 0, 'an opt-server runs the passes');
  process.kill(-child.pid!, 'SIGINT');
  assert.equal(await exited, 0, err);
  // (fixtures.ts loads node:test, whose own report follows on stdout)
  const report = JSON.parse(/^REPORT (.*)$/m.exec(out)![1]!) as { runs: number; rounds: number; failures: string[]; signals: number };
  assert.equal(report.signals, 1, 'the SIGINT reached the process during its passes');
  assert.ok(report.rounds >= 2, `${report.rounds} rounds: a whole round ran after the signal`);
  assert.deepEqual(report.failures, [], `${report.runs} runs`);
  await serversGone(servers, 10_000);
  for (const p of servers) assert.ok(!aliveOptServer(p), `opt-server ${p} outlived the process`);
});

test('Ctrl-C (SIGINT to the process group) during a greedy demo search saves no damaged demo and leaves no opt-server', { skip, timeout: 300_000 }, async (t) => {
  if (!optServerBinary()) return t.skip(`opt-server cannot be built here: ${optServerBuildError()}`);
  const { greedyDemos } = await import('../../../src/problems/compiler/imitation.js');
  const session = new OptSession();
  const reference = JSON.parse(JSON.stringify(greedyDemos(own('sieve'), session, 'both', DEMO_STEPS))) as unknown;
  session.close();
  const stateDir = join(dir, 'interrupt-sigint');
  const run = await trainUntilSearching(stateDir);
  process.kill(-run.child.pid!, 'SIGINT');
  const code = await run.exited;
  assert.equal(code, 130, run.stderr());
  assert.match(run.stderr(), /stopped after .* the training state is saved/);
  // The stop came during sieve's search: its demos are not saved (or, saved, they are greedy's own).
  const demosPath = join(stateDir, 'demos.json');
  const saved = existsSync(demosPath) ? (JSON.parse(readFileSync(demosPath, 'utf8')) as Record<string, unknown>) : {};
  if (saved['own/sieve'] !== undefined) assert.deepEqual(saved['own/sieve'], reference);
  await serversGone(run.servers, 10_000);
  for (const p of run.servers) assert.ok(!aliveOptServer(p), `opt-server ${p} outlived the run`);
  // The same command resumes and makes sieve's demos as an uninterrupted run does.
  const again = spawn(process.execPath, [CLI, 'train', 'compiler', 'ppo', '--instances', 'own/sieve', '--steps', '64', '--state', stateDir, '--out', join(stateDir, 'out.ckpt'),
    '--opt', `demoSteps=${DEMO_STEPS}`, '--opt', 'bcEpochs=2', '--opt', 'daggerRounds=0', '--opt', 'workers=0', '--opt', 'hidden=8'], { stdio: 'ignore' });
  assert.equal(await new Promise((res) => again.on('exit', res)), 0);
  assert.deepEqual((JSON.parse(readFileSync(demosPath, 'utf8')) as Record<string, unknown>)['own/sieve'], reference);
});

test('a SIGKILL of the process group during a search leaves no opt-server: it exits when its request pipe closes', { skip, timeout: 300_000 }, async (t) => {
  if (!optServerBinary()) return t.skip(`opt-server cannot be built here: ${optServerBuildError()}`);
  const run = await trainUntilSearching(join(dir, 'interrupt-sigkill'));
  process.kill(-run.child.pid!, 'SIGKILL');
  await run.exited;
  // The server is in a group of its own, so the kill did not reach it: the closed FIFO ends it,
  // or, for a server started just before the kill, its deadline for the client's opens (15 s).
  await serversGone(run.servers, 40_000);
  for (const p of run.servers) assert.ok(!aliveOptServer(p), `opt-server ${p} outlived its parent's SIGKILL`);
});

test('an opt-server whose client never opens the FIFOs (killed right after starting it) ends at its open deadline, not sleeping in open() for ever', { skip }, async (t) => {
  const exe = optServerBinary();
  if (!exe) return t.skip(`opt-server cannot be built here: ${optServerBuildError()}`);
  const fifos = mkdtempSync(join(tmpdir(), 'selfopt-test-fifo-'));
  try {
    const req = join(fifos, 'req'), resp = join(fifos, 'resp');
    assert.equal(spawnSync('mkfifo', [req, resp]).status, 0);
    const started = Date.now();
    const server = spawnSync(exe, [req, resp, '120', '1'], { timeout: 60_000 });
    assert.equal(server.signal, 'SIGALRM', `ended by ${server.signal} (status ${server.status}) after ${Date.now() - started} ms`);
  } finally {
    rmSync(fifos, { recursive: true, force: true });
  }
});

test('runSync and runAsync start their tool in a process group of its own, out of reach of the terminal\'s Ctrl-C', async () => {
  const { runAsync, runSync } = await import('../../../src/problems/compiler/llvm.js');
  // The shell prints its pid and its process group (field 5 of /proc/<pid>/stat).
  const script = ['-c', 'read pid comm state ppid pgid rest < /proc/$$/stat; echo $pid $pgid'];
  for (const r of [runSync('/bin/sh', script, undefined, 10_000), await runAsync('/bin/sh', script, undefined, 10_000)]) {
    assert.ok(r.ok, r.message);
    const [pid, pgid] = r.stdout.toString().trim().split(' ').map(Number);
    assert.equal(pgid, pid, r.stdout.toString());
    assert.notEqual(pgid, process.pid);
  }
});

test('a compiled program runs under a CPU-time limit, so one that loops ends (SIGXCPU), orphaned or not', { skip: existsSync('/usr/bin/prlimit') ? false : 'no prlimit' }, async () => {
  const { runSync } = await import('../../../src/problems/compiler/llvm.js');
  const { cpuBounded } = await import('../../../src/problems/compiler/semantics.js');
  // A limit under a second is one CPU second; the parent's own timeout (30 s) is not what stops it.
  const [exe, args] = cpuBounded('/bin/sh', ['-c', 'while :; do :; done'], 0);
  const r = runSync(exe, args, undefined, 30_000);
  assert.equal(r.timedOut, false);
  assert.ok(r.signal === 'SIGKILL' || r.signal === 'SIGXCPU', `ended by ${r.signal} after ${r.ms} ms`);
  assert.ok(r.ms < 10_000, `${r.ms} ms`);
  // A program that finishes is untouched: its output and status are its own.
  const ok = runSync(...cpuBounded('/bin/sh', ['-c', 'echo "$0 $1"; exit 3', 'a', 'b'], 1000), undefined, 10_000);
  assert.equal(ok.stdout.toString(), 'a b\n');
  assert.equal(ok.status, 3);
});

/**
 * A process of its own that runs one semantics check of a program that loops, TMPDIR `tmp`;
 * resolves once the program runs, with its pid.
 */
async function checkingLoop(tmp: string): Promise<{ child: ChildProcess; program: number; out: () => string; exited: Promise<number | null> }> {
  const loop = join(dir, 'interrupt-loops.c');
  writeFileSync(loop, 'int main(void) { volatile unsigned x = 0; for (;;) x++; }\n');
  const url = (m: string) => JSON.stringify(new URL(`../../../src/problems/compiler/${m}.js`, import.meta.url).href);
  const code = `import { checkSemantics, DEFAULT_LIMITS } from ${url('semantics')};
import { loadProgram, programFromPath } from ${url('instances')};
const inst = loadProgram(programFromPath(${JSON.stringify(loop)}));
console.log(JSON.stringify(checkSemantics(inst, inst.ir, {}, { ...DEFAULT_LIMITS, cpuMs: 100_000 })));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { detached: true, env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const t0 = Date.now();
  for (;;) {
    const program = programsUnder(tmp)[0];
    if (program !== undefined) return { child, program, out: () => out, exited };
    if (child.exitCode !== null || Date.now() - t0 > 120_000) throw new Error(`the program never ran: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Pids of the live processes that run a built program of a semantics directory under `tmp` (the program, or prlimit and setpriv before they exec it; not clang building it). */
function programsUnder(tmp: string): number[] {
  return procPids().filter((pid) => procStat(pid)?.state !== 'Z' && checkedProgram(procArgv(pid) ?? [])?.startsWith(`${tmp}/selfopt-sem-`));
}

test('Ctrl-C (SIGINT to the process group) stops a bench at once: the program its semantics check runs is killed, not waited for', { skip: skip || (existsSync('/usr/bin/prlimit') ? false : 'no prlimit'), timeout: 300_000 }, async () => {
  const tmp = tempDir('selfopt-sem-bench-');
  const loop = join(dir, 'interrupt-bench-loops.c');
  writeFileSync(loop, 'int main(void) { volatile unsigned long x = 1; for (;;) x *= 3; }\n');
  const args = [CLI, 'bench', 'compiler', '--instances', loop, '--solvers', 'O0', '--seeds', '1', '--no-html', '--store', join(tmp, 'runs.duckdb')];
  const child = spawn(process.execPath, args, { detached: true, env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (b: Buffer) => { err += b.toString(); });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const t0 = Date.now();
  while (programsUnder(tmp).length === 0) {
    assert.ok(child.exitCode === null && Date.now() - t0 < 120_000, `the program never ran: ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  process.kill(-child.pid!, 'SIGINT');
  // Before: the bench said it stopped, then waited for the program's 120 s of CPU time.
  const code = await Promise.race([exited, new Promise<'waiting'>((r) => setTimeout(() => r('waiting'), 30_000))]);
  const left = programsUnder(tmp);
  for (const p of left) process.kill(p, 'SIGKILL');
  if (code === 'waiting') child.kill('SIGKILL');
  assert.equal(code, 130, `the bench did not stop within 30 s of Ctrl-C: ${err}`);
  assert.deepEqual(left, []);
  assert.match(err, /stopped: 0 of 1 cells recorded/);
});

test('a process killed (SIGKILL) while the semantics check runs a program leaves no program running', { skip: skip || (existsSync('/usr/bin/setpriv') ? false : 'no setpriv'), timeout: 300_000 }, async () => {
  const tmp = tempDir('selfopt-sem-kill-');
  const run = await checkingLoop(tmp);
  run.child.kill('SIGKILL');
  await run.exited;
  const until = Date.now() + 20_000;
  while (programsUnder(tmp).length > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  const left = programsUnder(tmp);
  for (const p of left) process.kill(p, 'SIGKILL');
  assert.deepEqual(left, [], 'the program outlived its parent');
});

test('an opt-server that dies before it opens its FIFOs gives a failed run with the reason, not a client blocked for ever', { skip }, () => {
  // /bin/true stands for a server that cannot start (a missing LLVM library): the client's
  // synchronous opens would block for ever, so the check runs in a child with a deadline.
  const code = `import { OptServer } from ${JSON.stringify(new URL('../../../src/problems/compiler/opt-server.js', import.meta.url).href)};
const r = new OptServer('/bin/true', 2000).run('mem2reg', 'define void @f() { ret void }');
console.log(JSON.stringify(r.ok) + ' ' + r.message); process.exit(0);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.error, undefined, `the client hung: ${r.error?.message}`);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^false opt-server stopped while running 'mem2reg' .*end of stream|^false opt-server stopped while running 'mem2reg' .*EPIPE/);
});
