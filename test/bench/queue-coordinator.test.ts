/**
 * The coordinator of a queued run (`selfopt bench --queue`): a killed one continued by --resume,
 * a Ctrl-C (the waiting jobs leave the queue; within a grace period when Redis is gone or silent;
 * nothing recorded after it), jobs a previous coordinator left and jobs Redis lost, and the note
 * when no worker is on the queue. Coordinators and workers run in this process unless a test's
 * point is a process's exit (see queue.test.ts); a private redis-server, skipped visibly when
 * redis-server is not installed. Shared set-up: queue-helpers.ts.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBench, planGrid } from '../../src/bench/runner.js';
import { ResultsStore, cellKey } from '../../src/bench/store.js';
import { cellJobId, redisOptions, runQueued } from '../../src/bench/queue.js';
import { CLI, options, queueBed, queueLeft, stopsAfter, until, withStderr, workerHere } from './queue-helpers.js';
import { within } from '../stops.js';
import { child, skip, startRedis } from './redis-server.js';

test('--resume with --queue: a coordinator killed after enqueuing is continued, each cell once', { skip, timeout: 120_000 }, async (t) => {
  const stopLater = stopsAfter(t);
  const { dir, redis, queueName, close } = await queueBed(t.signal, 'resume');
  stopLater(close);
  const storePath = join(dir, 'queued.duckdb');
  const args = [CLI, 'bench', 'partition', '--quick', '--instances', 'rgg_2k_k2', '--solvers', 'random,graph-growing', '--seeds', '3', '--queue', redis.url, '--queue-name', queueName, '--store', storePath, '--no-html'];
  // No worker yet: the coordinator (a process, to be killed) enqueues every cell and waits; it is killed while waiting.
  const first = child(t.signal, process.execPath, args, { stdio: 'ignore', cwd: dir });
  await until(async () => (await queueLeft(redis.url, queueName)) >= 6, 'the first coordinator enqueued the grid');
  first.kill('SIGKILL');
  await new Promise((ok) => first.once('exit', ok));
  // The worker and the resumed coordinator run here.
  const worker = await workerHere(redis.url, queueName);
  stopLater(() => worker.worker.close());
  const store = await ResultsStore.open(storePath);
  stopLater(() => store.close());
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
});

test('Ctrl-C stops a queued coordinator cleanly: its waiting jobs leave the queue, exit 130', { skip, timeout: 60_000 }, async (t) => {
  const stopLater = stopsAfter(t);
  const { dir, redis, queueName, close } = await queueBed(t.signal, 'stop');
  stopLater(close);
  const args = [CLI, 'bench', 'partition', '--quick', '--instances', 'rgg_2k_k2', '--solvers', 'random,graph-growing', '--seeds', '3', '--queue', redis.url, '--queue-name', queueName, '--store', join(dir, 'queued.duckdb'), '--no-html'];
  // No worker: the coordinator enqueues every cell and waits; Ctrl-C while it waits.
  const coordinator = child(t.signal, process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir });
  let stderr = '';
  coordinator.stderr!.on('data', (d) => (stderr += d));
  await until(async () => (await queueLeft(redis.url, queueName)) >= 6, 'the coordinator enqueued the grid');
  coordinator.kill('SIGINT');
  assert.equal(await new Promise((ok) => coordinator.once('exit', ok)), 130, stderr);
  assert.match(stderr, /stopped: 0 of 6 cells recorded \(0 this time\); the same command with --resume runs the rest/);
  assert.equal(await queueLeft(redis.url, queueName), 0, 'no job of the stopped run is left for a worker');
});

test('a resumed coordinator removes the jobs a previous one left in Redis for cells already recorded', { skip, timeout: 60_000 }, async (t) => {
  const stopLater = stopsAfter(t);
  const redis = await startRedis(t.signal);
  stopLater(() => redis.proc.kill('SIGKILL'));
  const queueName = `leftover-${process.pid}`;
  const { Queue } = await import('bullmq');
  const q = new Queue(queueName, { connection: redisOptions(redis.url) });
  stopLater(() => q.close());
  const [recorded, other] = planGrid(options())[0]!.cells;
  // Left behind: the previous coordinator wrote the result, then died before removing the job.
  await q.add('cell', { cell: recorded }, { jobId: cellJobId('run-a', recorded!) });
  // A job of another run is not this run's to remove.
  await q.add('cell', { cell: other }, { jobId: cellJobId('run-b', other!) });
  assert.equal(await queueLeft(redis.url, queueName), 2);
  await runQueued({ url: redis.url, signal: t.signal, queueName, runId: 'run-a', cells: [], recorded: [recorded!], record: async () => {} });
  assert.equal(await q.getJob(cellJobId('run-a', recorded!)), undefined);
  assert.ok(await q.getJob(cellJobId('run-b', other!)));
});

test('a coordinator whose Redis lost the queued jobs (restarted without persistence) puts them back, says once how many, and each cell is recorded once', { skip, timeout: 120_000 }, async (t) => {
  const stopLater = stopsAfter(t);
  const redis = await startRedis(t.signal);
  stopLater(() => redis.proc.kill('SIGKILL'));
  const queueName = `lost-${process.pid}`;
  const cells = planGrid(options({ instances: ['rgg_2k_k2'], solvers: ['random'] }))[0]!.cells;
  const recorded: string[] = [];
  // Without the fix the run waited for ever: a timer stops it so the failure is reported.
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), 60_000);
  stopLater(() => (clearTimeout(timer), stop.abort()));
  const { Redis } = await import('ioredis');
  const admin = new Redis(redisOptions(redis.url));
  stopLater(() => admin.disconnect());
  await withStderr(t, async (stderr) => {
    const run = runQueued({ url: redis.url, queueName, runId: 'run-lost', cells, sweepMs: 200, signal: stop.signal,
      record: async (cell) => void recorded.push(cellKey(cell.problem, cell.instance.id, cell.solver, cell.seed)) });
    await until(async () => (await queueLeft(redis.url, queueName)) >= cells.length, 'the coordinator enqueued the grid');
    await admin.flushall(); // what a restart of a redis-server without persistence leaves
    const { worker } = await workerHere(redis.url, queueName);
    stopLater(() => worker.close());
    await run;
    assert.equal(stop.signal.aborted, false, 'the run finished before the timer stopped it');
    // No outage was seen (no connection dropped): the note says it alone, once, with the count.
    const said = stderr.join('').split('\n').filter((l) => l.includes('had lost'));
    assert.deepEqual(said, [`selfopt: note: Redis at ${redis.url} had lost the jobs of 2 cells of this run (restarted without its data, or flushed?): they are queued again, and those 2 cells run from the start`]);
    assert.deepEqual(recorded.sort(), cells.map((c) => cellKey(c.problem, c.instance.id, c.solver, c.seed)).sort());
    assert.equal(await queueLeft(redis.url, queueName), 0);
  });
});

test('Ctrl-C stops a queued coordinator whose Redis is gone, within a grace period, not never', { skip, timeout: 60_000 }, async (t) => {
  const stopLater = stopsAfter(t);
  const redis = await startRedis(t.signal);
  stopLater(() => redis.proc.kill('SIGKILL'));
  const cells = planGrid(options({ instances: ['rgg_2k_k2'], solvers: ['random'] }))[0]!.cells;
  // The Ctrl-C; also after a test that failed before it: the coordinator waits for Redis for ever.
  const stop = new AbortController();
  stopLater(() => stop.abort());
  await withStderr(t, async (stderr) => {
    // No worker: the coordinator enqueues and waits; Redis dies; then the Ctrl-C.
    const run = runQueued({ url: redis.url, queueName: `gone-${process.pid}`, runId: 'run-gone', cells, sweepMs: 200, signal: stop.signal, record: async () => {} });
    await until(async () => (await queueLeft(redis.url, `gone-${process.pid}`)) >= cells.length, 'the coordinator enqueued the grid');
    redis.proc.kill('SIGKILL');
    // The coordinator says Redis is gone at its first failed reconnect (BullMQ retries after 1 s):
    // its sweeps, every 200 ms, wait on Redis by then. (It waited a fixed second.)
    await until(() => stderr.join('').includes('lost Redis'), () => `the coordinator says Redis is gone: ${stderr.join('')}`);
    const t0 = Date.now();
    stop.abort();
    assert.equal(await within(run.then(() => 'stopped'), 30_000), 'stopped');
    assert.ok(Date.now() - t0 < 15_000, `stopped in ${Date.now() - t0} ms`);
  });
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
  const stopLater = stopsAfter(t);
  const redis = await startRedis(t.signal);
  stopLater(() => redis.proc.kill('SIGKILL'));
  const proxy = await freezingProxy(redis.url, command);
  stopLater(proxy.close);
  const dir = mkdtempSync(join(tmpdir(), `selfopt-queue-${name}-`));
  stopLater(() => rmSync(dir, { recursive: true, force: true }));
  const bench = child(t.signal, process.execPath, [CLI, 'bench', 'partition', '--instances', 'rgg_2k_k2', '--solvers', 'random', '--seeds', '1',
    '--queue', proxy.url, '--queue-name', `${name}-${process.pid}`, '--store', join(dir, 's.duckdb'), '--no-html'], { stdio: ['ignore', 'ignore', 'pipe'] });
  stopLater(() => bench.kill('SIGKILL'));
  let stderr = '';
  bench.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((ok) => bench.once('exit', ok));
  await until(() => proxy.frozen.size > 0, () => `the coordinator reached the frozen command: ${stderr}`, 800, 25);
  const t0 = Date.now();
  bench.kill('SIGINT');
  assert.equal(await within(exited, 30_000), 130, stderr);
  assert.ok(Date.now() - t0 < 20_000, `stopped in ${Date.now() - t0} ms`);
}

test('Ctrl-C stops a queued coordinator whose Redis went silent while it counted the workers (it waited for the count for ever)', { skip, timeout: 60_000 }, async (t) => {
  await ctrlCWithSilentRedis(t, /CLIENT\r\n\$4\r\nLIST/i, 'count'); // BullMQ's worker count
});

test('Ctrl-C stops a queued coordinator whose Redis went silent in its first sweep (the set-up waited for Redis, deaf to the Ctrl-C)', { skip, timeout: 60_000 }, async (t) => {
  await ctrlCWithSilentRedis(t, /HGETALL/i, 'setup'); // a job read (getJob): the first is the set-up's sweep
});

test('after Ctrl-C a queued run records nothing more: a result that comes in then stays in Redis, and --resume records it without running the cell again', { skip, timeout: 60_000 }, async (t) => {
  const stopLater = stopsAfter(t);
  const redis = await startRedis(t.signal);
  stopLater(() => redis.proc.kill('SIGKILL'));
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
  // Its close waits for the held cell: released first, if the test failed while it was held.
  stopLater(() => worker.close());
  stopLater(() => releaseCell());
  // The events the coordinator hears (its QueueEvents, in this process): its handler for one has
  // run when emit returns.
  const { QueueEvents } = await import('bullmq');
  const emit = QueueEvents.prototype.emit;
  let completions = 0;
  QueueEvents.prototype.emit = function (this: InstanceType<typeof QueueEvents>, event: string, ...args: unknown[]) {
    const handled = (emit as (this: unknown, e: string, ...a: unknown[]) => boolean).call(this, event, ...args);
    if (event === 'completed' && this.name === queueName) completions++;
    return handled;
  } as typeof emit;
  stopLater(() => (QueueEvents.prototype.emit = emit));
  // The first result is being written when Ctrl-C comes, and the second cell is running.
  let writing = false;
  let releaseWrite!: () => void;
  const writeHeld = new Promise<void>((ok) => (releaseWrite = ok));
  const recorded: number[] = [];
  // The Ctrl-C; also after a test that failed before it: the coordinator waits for its cells for ever.
  const stop = new AbortController();
  stopLater(() => (stop.abort(), releaseWrite()));
  const run = runQueued({ url: redis.url, queueName, runId: 'run-late', cells, sweepMs: 200, signal: stop.signal,
    record: async (cell) => {
      writing = true;
      await writeHeld;
      recorded.push(cell.seed);
    } });
  await until(() => writing && started >= 2, 'one result is being written and the other cell runs', 500, 20);
  stop.abort();
  releaseCell();
  const { Queue } = await import('bullmq');
  const q = new Queue(queueName, { connection: redisOptions(redis.url) });
  stopLater(() => q.close());
  await until(async () => (await q.getJobCounts('completed')).completed >= 2, 'the held cell completed', 500, 20);
  await q.close();
  // Its event reaches the coordinator, which used to record it after the stop. (It waited a fixed 300 ms.)
  await until(() => completions >= 2, 'the coordinator heard the held cell complete', 500, 20);
  releaseWrite();
  await run;
  assert.equal(recorded.length, 1, 'only the write in hand at Ctrl-C');
  const [done, left] = cells[0]!.seed === recorded[0] ? [cells[0]!, cells[1]!] : [cells[1]!, cells[0]!];
  const resumed: number[] = [];
  await runQueued({ url: redis.url, signal: t.signal, queueName, runId: 'run-late', cells: [left], recorded: [done], sweepMs: 200, record: async (cell) => void resumed.push(cell.seed) });
  assert.deepEqual(resumed, [left.seed], 'the --resume recorded the result left in Redis');
  assert.equal(started, 2, 'no cell ran twice');
});

test('a queued run with no worker on its queue (a --queue-name typo, none started) says so, rather than wait in silence; with one, it does not', { skip, timeout: 60_000 }, async (t) => {
  const stopLater = stopsAfter(t);
  const { dir, redis, queueName, close } = await queueBed(t.signal, 'noworker');
  stopLater(close);
  const store = await ResultsStore.open(join(dir, 'queued.duckdb'));
  stopLater(() => store.close());
  // The coordinators and the worker run here; the note is what the coordinator writes to stderr.
  const coordinate = (signal: AbortSignal) => runBench(options({ instances: ['rgg_2k_k2'], solvers: ['random'], seeds: 1, queue: redis.url, queueName, signal }), store);
  await withStderr(t, async (stderr) => {
    // Stopped here; also after a test that failed before: with no worker it waits for ever.
    const stop = new AbortController();
    stopLater(() => stop.abort());
    const lone = coordinate(stop.signal);
    await until(() => stderr.join('').includes('no worker'), () => `the coordinator said it has no worker: ${stderr.join('')}`);
    assert.match(stderr.join(''), new RegExp(`selfopt: note: no worker is on queue ${queueName} at ${redis.url} yet; the cells wait for \`selfopt worker --queue ${redis.url} --queue-name ${queueName}\`\n`));
    stop.abort();
    assert.equal((await lone).interrupted, true);
  });
  const { worker } = await workerHere(redis.url, queueName);
  stopLater(() => worker.close());
  await withStderr(t, async (stderr) => {
    assert.ok(!(await coordinate(t.signal)).interrupted);
    assert.doesNotMatch(stderr.join(''), /no worker/);
  });
});
