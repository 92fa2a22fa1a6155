/**
 * The distributed bar: two workers finish a grid put on Redis by a `selfopt bench --queue`
 * coordinator, one of them (a `selfopt worker` process) is SIGKILLed mid-run, and the store ends
 * with every cell exactly once, with the same seeded metrics as the same grid run locally.
 * Debian's redis-server runs on a free loopback port; the test skips visibly when it is absent.
 *
 * Where a test is about the queue (what is enqueued, re-run, recorded), its coordinator
 * (runBench) and workers (startWorker, as `selfopt worker` runs it) run in this process: a
 * process start each cost seconds on a loaded machine, and these tests took a minute and failed
 * there now and then. A test whose point is a process boundary (a signal, an exit code, a
 * process killed) keeps that process, and only it.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { SelfoptError } from '../../src/core/errors.js';
import { runBench, planGrid, type BenchOptions } from '../../src/bench/runner.js';
import { ResultsStore, cellKey } from '../../src/bench/store.js';
import type { JobType } from 'bullmq';
import { cellJobId, checkRedis, redisOptions, runQueued } from '../../src/bench/queue.js';
import { ConcurrencyGate, startWorker as startCellWorker, type CellWorker } from '../../src/bench/queue-worker.js';
import { benchOptions } from './fixtures.js';
import { REDIS, child, freePort, skip, startRedis } from './redis-server.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const INSTANCES = ['rgg_2k_k2', 'rgg_2k_k8', 'mesh_2k_k2', 'mesh_2k_k8'];
const SOLVERS = ['random', 'graph-growing', 'multilevel'];
const SEEDS = 2;
/** Measured time, not a seeded result: left out of the equality check. */
const TIMED = new Set(['partition_ms']);

function options(over: Partial<BenchOptions> = {}): BenchOptions {
  return benchOptions({ problems: ['partition'], instances: INSTANCES, solvers: SOLVERS, seeds: SEEDS }, over);
}

/** A worker process of `threads` threads, with its output lines as they come; `ready()` waits for its ready line. */
function startWorker(signal: AbortSignal, url: string, queueName: string, threads = 1): { proc: ChildProcess; lines: string[]; onLine: (f: (l: string) => void) => void; ready: () => Promise<void> } {
  const proc = child(signal, process.execPath, [CLI, 'worker', '--queue', url, '--queue-name', queueName, '--concurrency', String(threads), '--lock-seconds', '1'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  const listeners: ((l: string) => void)[] = [];
  createInterface({ input: proc.stdout! }).on('line', (l) => {
    lines.push(l);
    for (const f of listeners) f(l);
  });
  const ready = async () => {
    while (!lines.some((l) => l.startsWith('worker ') && l.includes(' ready'))) {
      assert.equal(proc.exitCode, null, 'a worker exited before it was ready');
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { proc, lines, onLine: (f) => listeners.push(f), ready };
}

/**
 * A worker in this process, with its output lines. `lockMs` is also its stalled-job check's
 * interval: short where a test waits for it to find another worker's lost cell.
 */
async function workerHere(url: string, queueName: string, lockMs = 30_000, threads = 1): Promise<{ worker: CellWorker; lines: string[] }> {
  const lines: string[] = [];
  const worker = await startCellWorker({ url, queueName, concurrency: threads, lockMs, log: (l) => lines.push(l) });
  return { worker, lines };
}

/** What this process writes to stderr while `f` runs (a coordinator's notes), and f's value. */
async function withStderr<T>(f: (stderr: () => string) => Promise<T>): Promise<T> {
  let text = '';
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return write.call(process.stderr, chunk);
  }) as typeof process.stderr.write;
  try {
    return await f(() => text);
  } finally {
    process.stderr.write = write;
  }
}

test('redisOptions parses redis URLs and rejects others with one clear error', () => {
  const o = redisOptions('redis://user:p%40ss@10.0.0.2:6380/3');
  assert.deepEqual([o.host, o.port, o.db, o.username, o.password], ['10.0.0.2', 6380, 3, 'user', 'p@ss']);
  assert.equal(redisOptions('redis://localhost').port, 6379);
  assert.throws(() => redisOptions('http://localhost:6379'), SelfoptError);
  assert.throws(() => redisOptions('not a url'), /not a URL/);
  assert.throws(() => redisOptions('redis://h:1/x'), /database 'x'/);
});

test('cellJobId is one id per (run, cell), legal for BullMQ', () => {
  const cell = planGrid(options())[0]!.cells[0]!;
  const id = cellJobId('20260101T000000000Z-abcd', cell);
  assert.equal(id, cellJobId('20260101T000000000Z-abcd', { ...cell, options: { other: '1' } } as typeof cell));
  assert.notEqual(id, cellJobId('20260101T000000000Z-abcd', { ...cell, seed: cell.seed + 1 }));
  assert.notEqual(id, cellJobId('20260101T000000000Z-abce', cell));
  assert.ok(!id.includes(':'));
});

test('ConcurrencyGate keeps a timed problem alone and within its maxConcurrency', async () => {
  const gate = new ConcurrencyGate((p) => (p === 'timed' ? 1 : undefined));
  const order: string[] = [];
  const cell = async (p: string, ms: number) => {
    await gate.enter(p);
    order.push(`+${p}`);
    await new Promise((r) => setTimeout(r, ms));
    order.push(`-${p}`);
    gate.leave(p);
  };
  await Promise.all([cell('free', 30), cell('free', 30), cell('timed', 5), cell('timed', 5)]);
  // The two free cells ran side by side; each timed cell ran alone.
  assert.deepEqual(order.slice(0, 2), ['+free', '+free']);
  for (let i = 0; i < order.length; i++) if (order[i] === '+timed') assert.equal(order[i + 1], '-timed', order.join(' '));
  assert.equal(order.length, 8);
});

test('an unreachable Redis is one clear error, not a hang', async () => {
  const port = await freePort();
  await assert.rejects(checkRedis(`redis://127.0.0.1:${port}`), /cannot reach Redis at redis:\/\/127\.0\.0\.1/);
});

test('an unreachable Redis, a refused login and a database the server lacks are each one error with the cause, the password hidden', { skip, timeout: 30_000 }, async (t) => {
  const port = await freePort();
  await assert.rejects(checkRedis(`redis://127.0.0.1:${port}`), /^SelfoptError: cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+: connect ECONNREFUSED/);
  const bin = existsSync(REDIS) ? REDIS : 'redis-server';
  const proc = child(t.signal, bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--requirepass', 'sekret'], { stdio: 'ignore' });
  try {
    const url = `redis://:sekret@127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      try {
        await checkRedis(url);
        break;
      } catch (e) {
        if (i > 100) throw e;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const refused = (e: Error, why: RegExp) => {
      assert.ok(e instanceof SelfoptError, e.message);
      assert.match(e.message, why);
      assert.doesNotMatch(e.message, /bad-secret|sekret/, 'the password is not shown');
      return true;
    };
    await assert.rejects(checkRedis(`redis://127.0.0.1:${port}`), (e: Error) => refused(e, /refused the login: NOAUTH .*expected the server's password in the URL/));
    await assert.rejects(checkRedis(`redis://:bad-secret@127.0.0.1:${port}`), (e: Error) => refused(e, /Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ refused the login: WRONGPASS/));
    // Without the check ioredis stayed on database 0: a run would share it with whoever uses it.
    await assert.rejects(checkRedis(`redis://:sekret@127.0.0.1:${port}/99`), (e: Error) => refused(e, /refused database 99: ERR DB index is out of range.*expected a database number the server has/));
  } finally {
    proc.kill('SIGKILL');
  }
});

test('two workers finish a grid with the local seeded results; a SIGKILLed worker loses no cell', { skip, timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'selfopt-queue-'));
  const redis = await startRedis(t.signal);
  const queueName = `test-${process.pid}`;
  // The worker to kill is a process: its death is a process's. The other worker and the
  // coordinator run here; the survivor's stalled check (every 2 s) finds the killed one's cell.
  const victim = startWorker(t.signal, redis.url, queueName);
  let survivor: Awaited<ReturnType<typeof workerHere>> | undefined;
  const { Queue } = await import('bullmq');
  const q = new Queue(queueName, { connection: redisOptions(redis.url) });
  try {
    // The reference: the same grid, run in this process.
    const localStore = await ResultsStore.open(join(dir, 'local.duckdb'));
    const local = await runBench(options(), localStore);
    const localRows = await localStore.rows({ runId: local.runId });
    await localStore.close();

    // The victim dies holding a cell: at a `start` line (after its second cell) it is frozen with
    // SIGSTOP; if Redis then has that job unfinished, the victim holds it (running, or run and not
    // reported) and gets SIGKILL; otherwise it is thawed and the next `start` is tried. Redis
    // says so whatever the load, where the victim's output, read some time later, may not.
    let killedAt: string | undefined;
    let busy = false;
    victim.onLine((l) => {
      if (killedAt !== undefined || busy || !l.startsWith('start ') || victim.lines.filter((x) => x.startsWith('done ')).length < 2) return;
      busy = true;
      victim.proc.kill('SIGSTOP');
      const id = l.split(' ')[1]!;
      void q.getJob(id).then((job) => {
        if (job && job.finishedOn === undefined) {
          killedAt = id;
          victim.proc.kill('SIGKILL');
        } else {
          victim.proc.kill('SIGCONT');
        }
        busy = false;
      });
    });

    // Both workers are up before the cells go on the queue, so both get some.
    await victim.ready();
    survivor = await workerHere(redis.url, queueName, 2000);
    const storePath = join(dir, 'queued.duckdb');
    const store = await ResultsStore.open(storePath);
    const outcome = await runBench(options({ queue: redis.url, queueName, signal: t.signal }), store);
    const runs = await store.runs();
    const rows = await store.rows();
    await store.close();
    assert.ok(killedAt, 'the victim was killed');
    await new Promise<void>((ok) => (victim.proc.exitCode !== null || victim.proc.signalCode !== null ? ok() : victim.proc.on('exit', () => ok())));
    assert.equal(victim.proc.signalCode, 'SIGKILL');
    assert.equal(runs.length, 1);
    assert.ok(runs[0]!.finishedAt, 'the queued run is finished');

    // Every cell exactly once: one row per (cell, metric), the same cells and metrics as locally.
    const key = (r: { problem: string; instance: string; solver: string; seed: number; metric: string }) => `${cellKey(r.problem, r.instance, r.solver, r.seed)} ${r.metric}`;
    const counts = new Map<string, number>();
    for (const r of rows) counts.set(key(r), (counts.get(key(r)) ?? 0) + 1);
    assert.equal(localRows.length, INSTANCES.length * SOLVERS.length * SEEDS * 4);
    assert.deepEqual([...counts.keys()].sort(), localRows.map(key).sort());
    assert.ok([...counts.values()].every((n) => n === 1), 'no cell recorded twice');

    // The same seeded metrics as the local run.
    const localValue = new Map(localRows.map((r) => [key(r), r.value]));
    for (const r of rows) if (!TIMED.has(r.metric)) assert.equal(r.value, localValue.get(key(r)), key(r));

    // Both workers ran cells; the killed one's cell was re-run by the other.
    const done = (lines: string[]) => lines.filter((l) => l.startsWith('done ')).map((l) => l.split(' ')[1]!);
    assert.ok(done(survivor.lines).length > 0 && done(victim.lines).length >= 2);
    assert.ok(done(survivor.lines).includes(killedAt), 'the surviving worker re-ran the killed cell');
    assert.ok((outcome.stalled ?? 0) >= 1, `${outcome.stalled} re-run after their worker stopped`);
    // What the coordinator recorded is gone from Redis; nothing is left on the queue.
    assert.equal(await queueLeft(redis.url, queueName), 0);
  } finally {
    victim.proc.kill('SIGKILL');
    await survivor?.worker.close();
    await q.close();
    redis.proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--resume with --queue: a coordinator killed after enqueuing is continued, each cell once', { skip, timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'selfopt-queue-resume-'));
  const redis = await startRedis(t.signal);
  const queueName = `resume-${process.pid}`;
  const storePath = join(dir, 'queued.duckdb');
  const args = [CLI, 'bench', 'partition', '--quick', '--instances', 'rgg_2k_k2', '--solvers', 'random,graph-growing', '--seeds', '3', '--queue', redis.url, '--queue-name', queueName, '--store', storePath, '--no-html'];
  let worker: Awaited<ReturnType<typeof workerHere>> | undefined;
  try {
    // No worker yet: the coordinator (a process, to be killed) enqueues every cell and waits; it is killed while waiting.
    const first = child(t.signal, process.execPath, args, { stdio: 'ignore', cwd: dir });
    for (let i = 0; (await queueLeft(redis.url, queueName)) < 6; i++) {
      assert.ok(i < 400, 'the first coordinator enqueued the grid');
      await new Promise((r) => setTimeout(r, 50));
    }
    first.kill('SIGKILL');
    await new Promise((ok) => first.once('exit', ok));
    // The worker and the resumed coordinator run here.
    worker = await workerHere(redis.url, queueName);
    const store = await ResultsStore.open(storePath);
    await runBench(options({ instances: ['rgg_2k_k2'], solvers: ['random', 'graph-growing'], seeds: 3, resume: true, queue: redis.url, queueName, signal: t.signal }), store);
    const runs = await store.runs();
    const rows = await store.rows();
    await store.close();
    assert.equal(runs.length, 1, 'the resumed run is the same run');
    assert.ok(runs[0]!.finishedAt);
    const cells = rows.filter((r) => r.metric === 'edge_cut').map((r) => cellKey(r.problem, r.instance, r.solver, r.seed));
    assert.equal(cells.length, 6);
    assert.equal(new Set(cells).size, 6);
    assert.equal(worker.lines.filter((l) => l.startsWith('done ')).length, 6, 'each job ran once: the resumed coordinator re-added the same job ids');
    assert.equal(await queueLeft(redis.url, queueName), 0);
  } finally {
    await worker?.worker.close();
    redis.proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Ctrl-C stops a queued coordinator cleanly: its waiting jobs leave the queue, exit 130', { skip, timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'selfopt-queue-stop-'));
  const redis = await startRedis(t.signal);
  const queueName = `stop-${process.pid}`;
  const args = [CLI, 'bench', 'partition', '--quick', '--instances', 'rgg_2k_k2', '--solvers', 'random,graph-growing', '--seeds', '3', '--queue', redis.url, '--queue-name', queueName, '--store', join(dir, 'queued.duckdb'), '--no-html'];
  try {
    // No worker: the coordinator enqueues every cell and waits; Ctrl-C while it waits.
    const coordinator = child(t.signal, process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir });
    let stderr = '';
    coordinator.stderr!.on('data', (d) => (stderr += d));
    for (let i = 0; (await queueLeft(redis.url, queueName)) < 6; i++) {
      assert.ok(i < 400, 'the coordinator enqueued the grid');
      await new Promise((r) => setTimeout(r, 50));
    }
    coordinator.kill('SIGINT');
    assert.equal(await new Promise((ok) => coordinator.once('exit', ok)), 130, stderr);
    assert.match(stderr, /stopped: 0 of 6 cells recorded \(0 this time\); the same command with --resume runs the rest/);
    assert.equal(await queueLeft(redis.url, queueName), 0, 'no job of the stopped run is left for a worker');
  } finally {
    redis.proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a resumed coordinator removes the jobs a previous one left in Redis for cells already recorded', { skip, timeout: 60_000 }, async (t) => {
  const redis = await startRedis(t.signal);
  const queueName = `leftover-${process.pid}`;
  const { Queue } = await import('bullmq');
  const q = new Queue(queueName, { connection: redisOptions(redis.url) });
  try {
    const [recorded, other] = planGrid(options())[0]!.cells;
    // Left behind: the previous coordinator wrote the result, then died before removing the job.
    await q.add('cell', { cell: recorded }, { jobId: cellJobId('run-a', recorded!) });
    // A job of another run is not this run's to remove.
    await q.add('cell', { cell: other }, { jobId: cellJobId('run-b', other!) });
    assert.equal(await queueLeft(redis.url, queueName), 2);
    await runQueued({ url: redis.url, queueName, runId: 'run-a', cells: [], recorded: [recorded!], record: async () => {} });
    assert.equal(await q.getJob(cellJobId('run-a', recorded!)), undefined);
    assert.ok(await q.getJob(cellJobId('run-b', other!)));
  } finally {
    await q.close();
    redis.proc.kill('SIGKILL');
  }
});

test('a coordinator whose Redis lost the queued jobs (restarted without persistence) puts them back, says once how many, and each cell is recorded once', { skip, timeout: 120_000 }, async (t) => {
  const redis = await startRedis(t.signal);
  const queueName = `lost-${process.pid}`;
  const cells = planGrid(options({ instances: ['rgg_2k_k2'], solvers: ['random'] }))[0]!.cells;
  const recorded: string[] = [];
  // Without the fix the run waited for ever: a timer stops it so the failure is reported.
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), 60_000);
  let worker: CellWorker | undefined;
  const { Redis } = await import('ioredis');
  const admin = new Redis(redisOptions(redis.url));
  try {
    await withStderr(async (stderr) => {
      const run = runQueued({ url: redis.url, queueName, runId: 'run-lost', cells, sweepMs: 200, signal: stop.signal,
        record: async (cell) => void recorded.push(cellKey(cell.problem, cell.instance.id, cell.solver, cell.seed)) });
      for (let i = 0; (await queueLeft(redis.url, queueName)) < cells.length; i++) {
        assert.ok(i < 400, 'the coordinator enqueued the grid');
        await new Promise((r) => setTimeout(r, 50));
      }
      await admin.flushall(); // what a restart of a redis-server without persistence leaves
      worker = (await workerHere(redis.url, queueName)).worker;
      await run;
      assert.equal(stop.signal.aborted, false, 'the run finished before the timer stopped it');
      // No outage was seen (no connection dropped): the note says it alone, once, with the count.
      const said = stderr().split('\n').filter((l) => l.includes('had lost'));
      assert.deepEqual(said, [`selfopt: note: Redis at ${redis.url} had lost the jobs of 2 cells of this run (restarted without its data, or flushed?): they are queued again, and those 2 cells run from the start`]);
      assert.deepEqual(recorded.sort(), cells.map((c) => cellKey(c.problem, c.instance.id, c.solver, c.seed)).sort());
      assert.equal(await queueLeft(redis.url, queueName), 0);
    });
  } finally {
    clearTimeout(timer);
    admin.disconnect();
    await worker?.close();
    redis.proc.kill('SIGKILL');
  }
});

test('Ctrl-C stops a queued coordinator whose Redis is gone, within a grace period, not never', { skip, timeout: 60_000 }, async (t) => {
  const redis = await startRedis(t.signal);
  const cells = planGrid(options({ instances: ['rgg_2k_k2'], solvers: ['random'] }))[0]!.cells;
  const stop = new AbortController();
  // No worker: the coordinator enqueues and waits; Redis dies; then the Ctrl-C.
  const run = runQueued({ url: redis.url, queueName: `gone-${process.pid}`, runId: 'run-gone', cells, sweepMs: 200, signal: stop.signal, record: async () => {} });
  for (let i = 0; (await queueLeft(redis.url, `gone-${process.pid}`)) < cells.length; i++) {
    assert.ok(i < 400, 'the coordinator enqueued the grid');
    await new Promise((r) => setTimeout(r, 50));
  }
  redis.proc.kill('SIGKILL');
  await new Promise((r) => setTimeout(r, 1000)); // a sweep is waiting on Redis now
  const t0 = Date.now();
  stop.abort();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((ok) => (timer = setTimeout(() => ok('still waiting after 30 s'), 30_000)));
  assert.equal(await Promise.race([run.then(() => 'stopped'), late]), 'stopped');
  clearTimeout(timer);
  assert.ok(Date.now() - t0 < 15_000, `stopped in ${Date.now() - t0} ms`);
});

/**
 * A proxy to Redis that freezes a connection once it sends `command` (matched in the RESP bytes):
 * Redis going silent at that step, every time rather than by chance.
 */
async function freezingProxy(redisUrl: string, command: RegExp): Promise<{ url: string; frozen: Set<Socket>; close: () => void }> {
  const frozen = new Set<Socket>();
  const sockets = new Set<Socket>();
  const proxy = createServer((c) => {
    const up = connect(Number(new URL(redisUrl).port), '127.0.0.1');
    sockets.add(c).add(up);
    c.on('data', (d) => {
      if (!frozen.has(c) && command.test(d.toString('latin1'))) frozen.add(c);
      if (!frozen.has(c)) up.write(d);
    });
    up.on('data', (d) => frozen.has(c) || c.write(d));
    for (const s of [c, up]) s.on('error', () => undefined).on('close', () => (c.destroy(), up.destroy()));
  });
  await new Promise<void>((ok) => proxy.listen(0, '127.0.0.1', ok));
  const close = () => {
    for (const s of sockets) s.destroy();
    proxy.close();
  };
  return { url: `redis://127.0.0.1:${(proxy.address() as AddressInfo).port}`, frozen, close };
}

/**
 * A coordinator (a CLI bench, in a child: a stuck one kept this process alive after the test gave
 * up on it) whose Redis goes silent once it sends `command`, then a Ctrl-C: it exits 130 within
 * its grace periods rather than wait for Redis for ever.
 */
async function ctrlCWithSilentRedis(t: TestContext, command: RegExp, name: string): Promise<void> {
  const redis = await startRedis(t.signal);
  const proxy = await freezingProxy(redis.url, command);
  const dir = mkdtempSync(join(tmpdir(), `selfopt-queue-${name}-`));
  const bench = child(t.signal, process.execPath, [CLI, 'bench', 'partition', '--instances', 'rgg_2k_k2', '--solvers', 'random', '--seeds', '1',
    '--queue', proxy.url, '--queue-name', `${name}-${process.pid}`, '--store', join(dir, 's.duckdb'), '--no-html'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  bench.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((ok) => bench.once('exit', ok));
  try {
    for (let i = 0; proxy.frozen.size === 0; i++) {
      assert.ok(i < 800, `the coordinator reached the frozen command: ${stderr}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    const t0 = Date.now();
    bench.kill('SIGINT');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<string>((ok) => (timer = setTimeout(() => ok('still waiting after 30 s'), 30_000)));
    assert.equal(await Promise.race([exited, late]), 130, stderr);
    clearTimeout(timer);
    assert.ok(Date.now() - t0 < 20_000, `stopped in ${Date.now() - t0} ms`);
  } finally {
    bench.kill('SIGKILL');
    proxy.close();
    redis.proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

test('Ctrl-C stops a queued coordinator whose Redis went silent while it counted the workers (it waited for the count for ever)', { skip, timeout: 60_000 }, async (t) => {
  await ctrlCWithSilentRedis(t, /CLIENT\r\n\$4\r\nLIST/i, 'count'); // BullMQ's worker count
});

test('Ctrl-C stops a queued coordinator whose Redis went silent in its first sweep (the set-up waited for Redis, deaf to the Ctrl-C)', { skip, timeout: 60_000 }, async (t) => {
  await ctrlCWithSilentRedis(t, /HGETALL/i, 'setup'); // a job read (getJob): the first is the set-up's sweep
});

test('SIGTERM stops a worker whose Redis is gone, within a grace period, with one line and exit 143', { skip, timeout: 60_000 }, async (t) => {
  const redis = await startRedis(t.signal);
  const worker = child(t.signal, process.execPath, [CLI, 'worker', '--queue', redis.url, '--queue-name', `gone-worker-${process.pid}`, '--concurrency', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  worker.stdout!.on('data', (d) => (stdout += d));
  worker.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((ok) => worker.once('exit', ok));
  for (let i = 0; !/ready/.test(stdout); i++) {
    assert.ok(i < 400, `the worker started: ${stdout}${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  redis.proc.kill('SIGKILL');
  await new Promise((r) => setTimeout(r, 1000)); // the worker is retrying Redis now
  const t0 = Date.now();
  worker.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((ok) => (timer = setTimeout(() => ok('still running after 30 s'), 30_000)));
  try {
    assert.equal(await Promise.race([exited, late]), 143, stderr);
    assert.ok(Date.now() - t0 < 15_000, `stopped in ${Date.now() - t0} ms`);
    assert.equal(stderr.match(/stopping the worker \(SIGTERM\)/g)?.length, 1, stderr);
  } finally {
    clearTimeout(timer);
    worker.kill('SIGKILL');
  }
});

test('SIGTERM is a warm stop for a worker with Redis up: its running cell finishes and is recorded, not abandoned', { skip, timeout: 180_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'selfopt-queue-warm-'));
  const redis = await startRedis(t.signal);
  const queueName = `warm-${process.pid}`;
  const worker = startWorker(t.signal, redis.url, queueName);
  // The coordinator runs here; the worker is a process, for its SIGTERM.
  const store = await ResultsStore.open(join(dir, 's.duckdb'));
  const stop = new AbortController();
  let run: Promise<unknown> | undefined;
  try {
    await worker.ready();
    const workerExit = new Promise<number | null>((ok) => worker.proc.once('exit', ok));
    // One cell that runs well past the stop's 5 s grace (spectral bisection of a 100k-vertex graph).
    const running = runBench(benchOptions({ problems: ['partition'], instances: ['rgg_100k_k8'], solvers: ['spectral'], seeds: 1 }, { quick: false, queue: redis.url, queueName, signal: stop.signal }), store);
    run = running.catch(() => undefined); // awaited below; a failure before then is reported there
    worker.onLine((l) => {
      if (l.startsWith('start ')) worker.proc.kill('SIGTERM');
    });
    // It hung once (a fresh clone on a loaded machine, the test's 180 s timeout): fail with what
    // the worker and the coordinator said rather than a bare timeout.
    let hung: NodeJS.Timeout | undefined;
    const silent = new Promise<string>((ok) => (hung = setTimeout(() => ok(`no exit 120 s after the start; worker:\n${worker.lines.join('\n')}`), 120_000)));
    const exit = await Promise.race([workerExit, silent]);
    clearTimeout(hung);
    assert.equal(exit, 143, worker.lines.join('\n'));
    assert.equal(worker.lines.filter((l) => l.startsWith('start ')).length, 1, worker.lines.join('\n'));
    assert.equal(worker.lines.filter((l) => l.startsWith('done ')).length, 1, `the running cell finished: ${worker.lines.join('\n')}`);
    // The coordinator has no other worker: it ends only if the cell's result reached it.
    const late = setTimeout(() => stop.abort(), 60_000);
    const outcome = await running;
    clearTimeout(late);
    assert.ok(!outcome.interrupted, 'the result reached the coordinator within 60 s');
    const runs = await store.runs();
    const rows = await store.rows();
    assert.ok(runs[0]!.finishedAt, 'the run is finished');
    assert.deepEqual([...new Set(rows.map((r) => cellKey(r.problem, r.instance, r.solver, r.seed)))], [cellKey('partition', 'rgg_100k_k8', 'spectral', 1)]);
  } finally {
    // A coordinator still waiting (the test failed) stops, so that this file's process ends.
    stop.abort();
    await run;
    await store.close();
    worker.proc.kill('SIGKILL');
    redis.proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a warm stop puts back a cell its worker fetched but had not started (a timed problem's turn); another worker runs it", { skip, timeout: 180_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'selfopt-queue-gate-'));
  const redis = await startRedis(t.signal);
  const queueName = `gate-${process.pid}`;
  // Two threads: both index cells are fetched at once, and the second waits for the first (index
  // times code, so its cells run one at a time).
  const first = startWorker(t.signal, redis.url, queueName, 2);
  const { proc, lines } = first;
  first.onLine((l) => {
    if (l.startsWith('start ') && lines.filter((x) => x.startsWith('start ')).length === 1) proc.kill('SIGTERM');
  });
  const exited = new Promise<number | null>((ok) => proc.once('exit', ok));
  // The coordinator and the second worker run here; the first worker is a process, for its SIGTERM.
  const store = await ResultsStore.open(join(dir, 's.duckdb'));
  const stop = new AbortController();
  let run: Promise<unknown> | undefined;
  let second: Awaited<ReturnType<typeof workerHere>> | undefined;
  try {
    await first.ready();
    const running = runBench(benchOptions({ problems: ['index'], instances: ['uniform_dense_1M_uint64'], solvers: ['binary-search'], seeds: 2 }, { queue: redis.url, queueName, signal: stop.signal }), store);
    run = running.catch(() => undefined); // awaited below; a failure before then is reported there
    assert.equal(await exited, 143, lines.join('\n'));
    assert.deepEqual([lines.filter((l) => l.startsWith('start ')).length, lines.filter((l) => l.startsWith('done ')).length], [1, 1], lines.join('\n'));
    const ran = lines.find((l) => l.startsWith('done '))!.split(' ')[1];
    second = await workerHere(redis.url, queueName);
    const late = setTimeout(() => stop.abort(), 90_000);
    const outcome = await running;
    clearTimeout(late);
    assert.ok(!outcome.interrupted, "the second worker's result reached the coordinator within 90 s");
    const other = second.lines.filter((l) => l.startsWith('done ')).map((l) => l.split(' ')[1]);
    assert.equal(other.length, 1, second.lines.join('\n'));
    assert.notEqual(other[0], ran);
    const rows = await store.rows();
    assert.deepEqual([...new Set(rows.map((r) => r.seed))].sort(), [1, 2]);
  } finally {
    // A coordinator still waiting (the test failed) stops, so that this file's process ends.
    stop.abort();
    await run;
    await store.close();
    await second?.worker.close();
    proc.kill('SIGKILL');
    redis.proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a cell that fails on a worker stops the queued run with one clear error naming the cell', { skip, timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'selfopt-queue-fail-'));
  const redis = await startRedis(t.signal);
  const queueName = `fail-${process.pid}`;
  const { worker } = await workerHere(redis.url, queueName);
  const store = await ResultsStore.open(join(dir, 's.duckdb'));
  try {
    // a key file the worker finds truncated when it loads the instance (no check before the cells reads it)
    const keys = join(dir, 'short_uint64');
    const bytes = Buffer.alloc(8 + 30);
    bytes.writeBigUInt64LE(10n, 0); // 10 keys announced, 30 bytes follow
    writeFileSync(keys, bytes);
    const run = runBench(benchOptions({ problems: ['index'], instances: ['uniform_dense_20K_uint64', keys], solvers: ['binary-search'], seeds: 3 }, { queue: redis.url, queueName, signal: t.signal }), store);
    await assert.rejects(run, (e: Error) => {
      assert.ok(e instanceof SelfoptError, e.stack);
      assert.match(e.message, /file is truncated.*cell index\/short_uint64\/binary-search\/seed \d/);
      return true;
    });
    // The run's waiting cells were taken off the queue (failed ones stay, for the record).
    assert.equal(await queueLeft(redis.url, queueName, ['wait', 'delayed']), 0);
  } finally {
    await store.close();
    await worker.close();
    redis.proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a worker on other code than the coordinator refuses its cell with one error: what, where (worker and cell), one expected', { skip, timeout: 60_000 }, async (t) => {
  const redis = await startRedis(t.signal);
  const queueName = `version-${process.pid}`;
  let worker: CellWorker | undefined;
  try {
    const cells = planGrid(options({ instances: ['rgg_2k_k2'], solvers: ['random'], seeds: 1 }))[0]!.cells;
    // The run's job as a coordinator at another commit put it: the coordinator below keeps it (same job id).
    const { Queue } = await import('bullmq');
    const q = new Queue(queueName, { connection: redisOptions(redis.url) });
    await q.add('cell', { runId: 'run-version', codeVersion: 'other-commit', cell: cells[0]! }, { jobId: cellJobId('run-version', cells[0]!) });
    await q.close();
    // The worker starts once the coordinator has put its jobs (its note that no worker is on the
    // queue comes after): one that failed the job first would have it put back afresh, as a
    // --resume puts back a failed cell.
    const { run } = await withStderr(async (stderr) => {
      const running = runQueued({ url: redis.url, queueName, runId: 'run-version', cells, sweepMs: 200, record: async () => {} });
      running.catch(() => undefined); // awaited below
      for (let i = 0; !stderr().includes('no worker'); i++) {
        assert.ok(i < 400, `the coordinator said it has no worker: ${stderr()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return { run: running };
    });
    worker = (await workerHere(redis.url, queueName)).worker;
    await assert.rejects(run, (e: Error) => {
      assert.ok(e instanceof SelfoptError, e.message);
      // One clause: what, where (the worker and the cell), what was expected.
      assert.match(e.message, /^runs code \S+, the run was started with other-commit \(at worker \S+, cell partition\/rgg_2k_k2\/random\/seed 1\); expected workers on the same commit as the coordinator \(finished cells stay recorded, rerun with --resume\)$/);
      assert.equal(e.message.match(/expected/g)?.length, 1, e.message);
      assert.equal(e.message.match(/cell partition/g)?.length, 1, e.message);
      return true;
    });
  } finally {
    await worker?.close();
    redis.proc.kill('SIGKILL');
  }
});

async function queueLeft(url: string, name: string, states = ['wait', 'active', 'completed', 'failed', 'delayed']): Promise<number> {
  const { Queue } = await import('bullmq');
  const q = new Queue(name, { connection: redisOptions(url) });
  try {
    const c = await q.getJobCounts(...(states as JobType[]));
    return Object.values(c).reduce((a, b) => a + b, 0);
  } finally {
    await q.close();
  }
}

test('--resume runs again a cell whose job failed after its coordinator stopped (a worker on other code), not replays the old failure', { skip, timeout: 60_000 }, async (t) => {
  const redis = await startRedis(t.signal);
  const queueName = `refail-${process.pid}`;
  const cells = planGrid(options({ instances: ['rgg_2k_k2'], solvers: ['random'], seeds: 1 }))[0]!.cells;
  const { Queue, Worker } = await import('bullmq');
  const q = new Queue(queueName, { connection: redisOptions(redis.url) });
  // The first attempt fails, as on a worker at other code; the next one, after --resume, succeeds.
  let attempts = 0;
  const worker = new Worker(queueName, async () => {
    if (attempts++ === 0) throw new Error('a worker at other code failed this cell');
    return { metrics: { edge_cut: 1 }, wallMs: 1, machine: 'm', codeVersion: 'c', worker: 'w' };
  }, { connection: redisOptions(redis.url) });
  try {
    // The job as the previous coordinator put it; it failed after that coordinator had stopped
    // (it was running then, so the stop could not take it off the queue), and stays failed in Redis.
    const id = cellJobId('run-refail', cells[0]!);
    await q.add('cell', { runId: 'run-refail', codeVersion: 'c', cell: cells[0]! }, { jobId: id });
    for (let i = 0; !(await (await q.getJob(id))?.isFailed()); i++) {
      assert.ok(i < 400, 'the job failed');
      await new Promise((r) => setTimeout(r, 50));
    }
    const recorded: string[] = [];
    await runQueued({ url: redis.url, queueName, runId: 'run-refail', cells, sweepMs: 200,
      record: async (cell) => void recorded.push(cellKey(cell.problem, cell.instance.id, cell.solver, cell.seed)) });
    assert.equal(attempts, 2, 'the resumed coordinator put the failed cell back on the queue');
    assert.deepEqual(recorded, [cellKey(cells[0]!.problem, cells[0]!.instance.id, cells[0]!.solver, cells[0]!.seed)]);
  } finally {
    await worker.close();
    await q.close();
    redis.proc.kill('SIGKILL');
  }
});

test("a run's recorded command shows a --queue URL's password as ***: the report and the dashboard show the command", { skip, timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'selfopt-queue-password-'));
  const port = await freePort();
  const bin = existsSync(REDIS) ? REDIS : 'redis-server';
  const redis = child(t.signal, bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--requirepass', 'sekret'], { stdio: 'ignore' });
  const url = `redis://:sekret@127.0.0.1:${port}`;
  const storePath = join(dir, 's.duckdb');
  try {
    for (let i = 0; ; i++) {
      try {
        await checkRedis(url);
        break;
      } catch (e) {
        if (i > 100) throw e;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    // No worker: the coordinator records its run, enqueues the cell and waits; Ctrl-C then.
    const queueName = `password-${process.pid}`;
    const p = child(t.signal, process.execPath, [CLI, 'bench', 'partition', '--quick', '--instances', 'rgg_2k_k2', '--solvers', 'random', '--seeds', '1',
      '--queue', url, '--queue-name', queueName, '--store', storePath, '--no-html'], { stdio: 'ignore', cwd: dir });
    for (let i = 0; (await queueLeft(url, queueName)) < 1; i++) {
      assert.ok(i < 400, 'the coordinator enqueued the grid');
      await new Promise((r) => setTimeout(r, 50));
    }
    p.kill('SIGINT');
    assert.equal(await new Promise((ok) => p.once('exit', ok)), 130);
    const store = await ResultsStore.open(storePath, { readOnly: true });
    const runs = await store.runs();
    await store.close();
    assert.equal(runs.length, 1);
    // Quoted as a shell reads it back: *** would be a glob.
    assert.match(runs[0]!.command, new RegExp(`--queue 'redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}' `));
    assert.doesNotMatch(JSON.stringify(runs[0]), /sekret/);
  } finally {
    redis.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a cell its workers kept losing (BullMQ: stalled more than allowable limit) stops the run with one clear error naming the cell, not a stack trace', { skip, timeout: 60_000 }, async (t) => {
  const redis = await startRedis(t.signal);
  const queueName = `stalled-${process.pid}`;
  const cells = planGrid(options({ instances: ['rgg_2k_k2'], solvers: ['random'], seeds: 1 }))[0]!.cells;
  const { Worker } = await import('bullmq');
  // BullMQ's own failure of a job whose lock lapsed more than maxStalledCount times.
  const worker = new Worker(queueName, async () => {
    throw new Error('job stalled more than allowable limit');
  }, { connection: redisOptions(redis.url) });
  try {
    const run = runQueued({ url: redis.url, queueName, runId: 'run-stalled', cells, sweepMs: 200, record: async () => {} });
    await assert.rejects(run, (e: Error) => {
      assert.ok(e instanceof SelfoptError, e.stack);
      assert.match(e.message, /^its workers lost it 6 times \(job stalled more than allowable limit\) \(at the workers, cell partition\/rgg_2k_k2\/random\/seed 1\); expected workers that stay up and renew its lock: a longer --lock-seconds for workers on loaded machines \(finished cells stay recorded, rerun with --resume\)$/);
      return true;
    });
  } finally {
    await worker.close();
    redis.proc.kill('SIGKILL');
  }
});

test('after Ctrl-C a queued run records nothing more: a result that comes in then stays in Redis, and --resume records it without running the cell again', { skip, timeout: 60_000 }, async (t) => {
  const redis = await startRedis(t.signal);
  const queueName = `late-${process.pid}`;
  const cells = planGrid(options({ instances: ['rgg_2k_k2'], solvers: ['random'], seeds: 2 }))[0]!.cells;
  const { Worker } = await import('bullmq');
  const result = { metrics: { edge_cut: 1 }, wallMs: 1, machine: 'm', codeVersion: 'c', worker: 'w' };
  // The first cell a worker takes returns at once; the second is held until after Ctrl-C.
  let started = 0;
  let releaseCell!: () => void;
  const cellHeld = new Promise<void>((ok) => (releaseCell = ok));
  const worker = new Worker(queueName, async () => {
    if (started++ > 0) await cellHeld;
    return result;
  }, { connection: redisOptions(redis.url), concurrency: 2 });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  try {
    // The first result is being written when Ctrl-C comes, and the second cell is running.
    let writing = false;
    let releaseWrite!: () => void;
    const writeHeld = new Promise<void>((ok) => (releaseWrite = ok));
    const recorded: number[] = [];
    const stop = new AbortController();
    const run = runQueued({ url: redis.url, queueName, runId: 'run-late', cells, sweepMs: 200, signal: stop.signal,
      record: async (cell) => {
        writing = true;
        await writeHeld;
        recorded.push(cell.seed);
      } });
    for (let i = 0; !writing || started < 2; i++) {
      assert.ok(i < 500, 'one result is being written and the other cell runs');
      await sleep(20);
    }
    stop.abort();
    releaseCell();
    const { Queue } = await import('bullmq');
    const q = new Queue(queueName, { connection: redisOptions(redis.url) });
    for (let i = 0; (await q.getJobCounts('completed')).completed < 2; i++) {
      assert.ok(i < 500, 'the held cell completed');
      await sleep(20);
    }
    await q.close();
    await sleep(300); // its event reaches the coordinator, which used to record it after the stop
    releaseWrite();
    await run;
    assert.equal(recorded.length, 1, 'only the write in hand at Ctrl-C');
    const [done, left] = cells[0]!.seed === recorded[0] ? [cells[0]!, cells[1]!] : [cells[1]!, cells[0]!];
    const resumed: number[] = [];
    await runQueued({ url: redis.url, queueName, runId: 'run-late', cells: [left], recorded: [done], sweepMs: 200, record: async (cell) => void resumed.push(cell.seed) });
    assert.deepEqual(resumed, [left.seed], 'the --resume recorded the result left in Redis');
    assert.equal(started, 2, 'no cell ran twice');
  } finally {
    await worker.close();
    redis.proc.kill('SIGKILL');
  }
});

test('a queued run with no worker on its queue (a --queue-name typo, none started) says so, rather than wait in silence; with one, it does not', { skip, timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'selfopt-queue-noworker-'));
  const redis = await startRedis(t.signal);
  const queueName = `noworker-${process.pid}`;
  const store = await ResultsStore.open(join(dir, 'queued.duckdb'));
  // The coordinators and the worker run here; the note is what the coordinator writes to stderr.
  const coordinate = (signal: AbortSignal) => runBench(options({ instances: ['rgg_2k_k2'], solvers: ['random'], seeds: 1, queue: redis.url, queueName, signal }), store);
  let worker: CellWorker | undefined;
  try {
    await withStderr(async (stderr) => {
      const stop = new AbortController();
      const lone = coordinate(stop.signal);
      for (let i = 0; !stderr().includes('no worker'); i++) {
        assert.ok(i < 400, `the coordinator said it has no worker: ${stderr()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.match(stderr(), new RegExp(`selfopt: note: no worker is on queue ${queueName} at ${redis.url} yet; the cells wait for \`selfopt worker --queue ${redis.url} --queue-name ${queueName}\`\n`));
      stop.abort();
      assert.equal((await lone).interrupted, true);
    });
    worker = (await workerHere(redis.url, queueName)).worker;
    await withStderr(async (stderr) => {
      assert.ok(!(await coordinate(t.signal)).interrupted);
      assert.doesNotMatch(stderr(), /no worker/);
    });
  } finally {
    await store.close();
    await worker?.close();
    redis.proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
