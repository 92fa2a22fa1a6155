/**
 * How a `selfopt worker` stops. In this process (CellWorker.close) when its Redis misbehaves: a
 * worker holding no cell stops cleanly whatever state its connections are in, one that cannot
 * put a cell back on the queue says so, and one that drops its cell leaves nothing running. As a
 * process, for its signal and exit code: SIGTERM with Redis gone ends it within a grace period;
 * with Redis up it is a warm stop (its running cell finishes and is recorded, a cell fetched but
 * not started goes back for another worker). Against a private redis-server; skips visibly when
 * redis-server is not installed. Shared set-up: queue-helpers.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { cellJobId, redisOptions } from '../../src/bench/queue.js';
import { startWorker } from '../../src/bench/queue-worker.js';
import { planGrid, runBench } from '../../src/bench/runner.js';
import { ResultsStore, cellKey } from '../../src/bench/store.js';
import { codeVersion } from '../../src/core/version.js';
import { benchOptions } from './fixtures.js';
import { CLI, queueBed, stopsAfter, until, workerHere, workerProcess } from './queue-helpers.js';
import { within } from '../stops.js';
import { child, skip, startRedis } from './redis-server.js';

/**
 * Resolves once a worker waits for jobs on Redis at `url` (BullMQ blocks in BZPOPMIN): it holds none
 * then. Fails once Redis is gone (no reconnect), as queueLeft does: a question left waiting kept a
 * timed-out test's body, and its process, alive.
 */
async function waitingForJobs(url: string): Promise<void> {
  const admin = new Redis({ ...redisOptions(url), retryStrategy: () => null });
  try {
    await until(async () => / cmd=bzpopmin /.test(String(await admin.client('LIST'))), 'the worker waits for jobs', 400, 25);
  } finally {
    admin.disconnect();
  }
}

test('an idle worker stopped just after its Redis restarted stops cleanly (it waited the grace period for a connection ioredis never ended, and said dropped)', { skip, timeout: 60_000 }, async (t) => {
  const stopLater = stopsAfter(t);
  const redis = await startRedis(t.signal);
  stopLater(() => redis.proc.kill('SIGKILL'));
  const lines: string[] = [];
  const worker = await startWorker({ url: redis.url, queueName: `restart-${process.pid}`, concurrency: 1, log: (l) => lines.push(l) });
  // Closed here or, if the test failed before, after it (close() runs the stop once).
  stopLater(() => worker.close());
  await waitingForJobs(redis.url);
  // Its connections drop; BullMQ tries them again a second later, and the stop comes before.
  redis.proc.kill('SIGKILL');
  await new Promise((ok) => redis.proc.once('exit', ok));
  const again = (await startRedis(t.signal, Number(new URL(redis.url).port))).proc;
  stopLater(() => again.kill('SIGKILL'));
  assert.equal(await worker.close(), 'closed', lines.join('\n'));
});

test('an idle worker whose Redis is gone stops cleanly: it holds no cell, so there is nothing to report', { skip, timeout: 60_000 }, async (t) => {
  const stopLater = stopsAfter(t);
  const redis = await startRedis(t.signal);
  stopLater(() => redis.proc.kill('SIGKILL'));
  const lines: string[] = [];
  const worker = await startWorker({ url: redis.url, queueName: `gone-idle-${process.pid}`, concurrency: 1, log: (l) => lines.push(l) });
  // Closed here or, if the test failed before, after it (close() runs the stop once).
  stopLater(() => worker.close());
  await waitingForJobs(redis.url);
  redis.proc.kill('SIGKILL');
  await new Promise((ok) => redis.proc.once('exit', ok));
  assert.equal(await worker.close(), 'closed', lines.join('\n'));
});

/** What this process holds now (process.getActiveResourcesInfo: handles, requests, ref'd timers) that it did not hold at `before`. */
function heldSince(before: string[]): string[] {
  const now = process.getActiveResourcesInfo();
  for (const r of before) {
    const i = now.indexOf(r);
    if (i >= 0) now.splice(i, 1);
  }
  return now;
}

test("a worker stopped with Redis gone while it runs a cell ('dropped') leaves nothing that keeps the process alive: BullMQ's lock renewals went on for ever, and a test that failed there hung its file", { skip, timeout: 120_000 }, async (t) => {
  const before = process.getActiveResourcesInfo();
  const redis = await startRedis(t.signal);
  const queueName = `dropped-${process.pid}`;
  // A cell that takes seconds (spectral bisection of a 100k-vertex graph): it runs when Redis goes.
  const long = planGrid(benchOptions({ problems: ['partition'], instances: ['rgg_100k_k8'], solvers: ['spectral'], seeds: 1 }))[0]!.cells[0]!;
  const longId = cellJobId('run-dropped', long);
  const queue = new Queue(queueName, { connection: redisOptions(redis.url) });
  await queue.add('cell', { runId: 'run-dropped', codeVersion: codeVersion(), cell: long }, { jobId: longId });
  await queue.close();
  const lines: string[] = [];
  const worker = await startWorker({ url: redis.url, queueName, concurrency: 1, log: (l) => {
    lines.push(l);
    if (l.startsWith(`start ${longId} `)) redis.proc.kill('SIGKILL');
  } });
  // Closed here or, if the test failed before, after it (close() runs the stop once).
  t.after(() => worker.close());
  await new Promise((ok) => redis.proc.once('exit', ok));
  // Its cell in hand and Redis silent past the grace period: nothing could be reported.
  assert.equal(await worker.close(), 'dropped', lines.join('\n'));
  // Sockets and the server's process handle go as their 'close' events come.
  await until(() => heldSince(before).length === 0, () => `the closed worker still holds ${JSON.stringify(heldSince(before))}: ${lines.join('\n')}`, 100, 50);
});

test("a stopping worker that cannot put back a cell waiting for a timed problem's turn (its lock lapsed) says so, and another worker runs the cell", { skip, timeout: 180_000 }, async (t) => {
  const stopLater = stopsAfter(t);
  const redis = await startRedis(t.signal);
  stopLater(() => redis.proc.kill('SIGKILL'));
  const queueName = `lapse-${process.pid}`;
  // partition times code, so its cells run one at a time: the long one (spectral bisection of a
  // 100k-vertex graph, seconds) runs while the short one waits for its turn.
  const cell = (instance: string, solver: string) => planGrid(benchOptions({ problems: ['partition'], instances: [instance], solvers: [solver], seeds: 1 }))[0]!.cells[0]!;
  const [long, short] = [cell('rgg_100k_k8', 'spectral'), cell('rgg_2k_k2', 'random')];
  const [longId, shortId] = [cellJobId('run-lapse', long), cellJobId('run-lapse', short)];
  const queue = new Queue(queueName, { connection: redisOptions(redis.url) });
  stopLater(() => queue.close());
  const admin = new Redis(redisOptions(redis.url));
  stopLater(() => admin.disconnect());
  const lines: string[] = [];
  const log = (l: string) => lines.push(l);
  await queue.addBulk([long, short].map((c, i) => ({ name: 'cell', data: { runId: 'run-lapse', codeVersion: codeVersion(), cell: c }, opts: { jobId: [longId, shortId][i] } })));
  // A short lock, as the other queue tests' workers: BullMQ's stalled check, which puts the
  // cell back below, runs once per lock period across all workers.
  const worker = await startWorker({ url: redis.url, queueName, concurrency: 2, lockMs: 1000, log });
  // Closed here or, if the test failed before, after it (close() runs the stop once).
  stopLater(() => worker.close());
  await until(async () => lines.some((l) => l.startsWith(`start ${longId} `)) && (await queue.getActive()).some((j) => j.id === shortId),
    () => `the long cell runs and the short one waits: ${lines.join('\n')}`, 1200, 25);
  // What a lapsed lock leaves: no lock key (the event loop or Redis stalled past the lock).
  assert.equal(await admin.del(`bull:${queueName}:${shortId}:lock`), 1);
  assert.equal(await worker.close(), 'closed', lines.join('\n'));
  assert.ok(lines.some((l) => l.startsWith(`done ${longId} `)), lines.join('\n'));
  assert.ok(!lines.some((l) => l.startsWith(`start ${shortId} `)), 'the short cell did not run after the stop');
  const left = lines.filter((l) => l.startsWith(`left ${shortId} `));
  assert.equal(left.length, 1, `the worker says it could not put the short cell back: ${lines.join('\n')}`);
  // Why, in words (its lock key deleted: gone), not BullMQ's message.
  assert.match(left[0]!, /\(its lock is gone: it lapsed, or Redis lost the job\)/);
  assert.notEqual(await queue.getJobState(shortId), 'failed');
  // Not lost: another worker's stalled check puts it back on the queue, and that worker runs it.
  const other = await startWorker({ url: redis.url, queueName, concurrency: 1, lockMs: 1000, log });
  stopLater(() => other.close());
  await until(async () => (await queue.getJobState(shortId)) === 'completed', () => `another worker ran the short cell: ${lines.join('\n')}`, 1200, 25);
});

test('SIGTERM stops a worker whose Redis is gone, within a grace period, with one line and exit 143', { skip, timeout: 60_000 }, async (t) => {
  const stopLater = stopsAfter(t);
  const redis = await startRedis(t.signal);
  stopLater(() => redis.proc.kill('SIGKILL'));
  const worker = child(t.signal, process.execPath, [CLI, 'worker', '--queue', redis.url, '--queue-name', `gone-worker-${process.pid}`, '--concurrency', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  stopLater(() => worker.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  worker.stdout!.on('data', (d) => (stdout += d));
  worker.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((ok) => worker.once('exit', ok));
  await until(() => /ready/.test(stdout), () => `the worker started: ${stdout}${stderr}`);
  redis.proc.kill('SIGKILL');
  // Its connections dropped: it says so, and is retrying Redis. (It waited a fixed second.)
  await until(() => /^lost Redis .*\(its connection dropped\)/m.test(stdout), () => `the worker says Redis is gone: ${stdout}${stderr}`);
  const t0 = Date.now();
  worker.kill('SIGTERM');
  assert.equal(await within(exited, 30_000, 'still running after 30 s'), 143, stderr);
  assert.ok(Date.now() - t0 < 15_000, `stopped in ${Date.now() - t0} ms`);
  assert.equal(stderr.match(/stopping the worker \(SIGTERM\)/g)?.length, 1, stderr);
});

test('SIGTERM is a warm stop for a worker with Redis up: its running cell finishes and is recorded, not abandoned', { skip, timeout: 180_000 }, async (t) => {
  const stopLater = stopsAfter(t);
  const { dir, redis, queueName, close } = await queueBed(t.signal, 'warm');
  stopLater(close);
  const worker = workerProcess(t.signal, redis.url, queueName);
  stopLater(() => worker.proc.kill('SIGKILL'));
  // The coordinator runs here; the worker is a process, for its SIGTERM.
  const store = await ResultsStore.open(join(dir, 's.duckdb'));
  stopLater(() => store.close());
  const stop = new AbortController();
  await worker.ready();
  const workerExit = new Promise<number | null>((ok) => worker.proc.once('exit', ok));
  // One cell that runs well past the stop's 5 s grace (spectral bisection of a 100k-vertex graph).
  const running = runBench(benchOptions({ problems: ['partition'], instances: ['rgg_100k_k8'], solvers: ['spectral'], seeds: 1 }, { quick: false, queue: redis.url, queueName, signal: stop.signal }), store);
  running.catch(() => undefined); // awaited below; a failure before then is reported there
  // A coordinator still waiting (the test failed) stops, so that this file's process ends.
  stopLater(async () => {
    stop.abort();
    await running.catch(() => undefined);
  });
  worker.onLine((l) => {
    if (l.startsWith('start ')) worker.proc.kill('SIGTERM');
  });
  // It hung once (a fresh clone on a loaded machine, the test's 180 s timeout): fail with what
  // the worker and the coordinator said rather than a bare timeout.
  let hung: NodeJS.Timeout | undefined;
  stopLater(() => clearTimeout(hung));
  const silent = new Promise<string>((ok) => (hung = setTimeout(() => ok(`no exit 120 s after the start; worker:\n${worker.lines.join('\n')}`), 120_000)));
  const exit = await Promise.race([workerExit, silent]);
  clearTimeout(hung);
  assert.equal(exit, 143, worker.lines.join('\n'));
  assert.equal(worker.lines.filter((l) => l.startsWith('start ')).length, 1, worker.lines.join('\n'));
  assert.equal(worker.lines.filter((l) => l.startsWith('done ')).length, 1, `the running cell finished: ${worker.lines.join('\n')}`);
  // The coordinator has no other worker: it ends only if the cell's result reached it.
  const late = setTimeout(() => stop.abort(), 60_000);
  stopLater(() => clearTimeout(late));
  const outcome = await running;
  clearTimeout(late);
  assert.ok(!outcome.interrupted, 'the result reached the coordinator within 60 s');
  const runs = await store.runs();
  const rows = await store.rows();
  assert.ok(runs[0]!.finishedAt, 'the run is finished');
  assert.deepEqual([...new Set(rows.map((r) => cellKey(r.problem, r.instance, r.solver, r.seed)))], [cellKey('partition', 'rgg_100k_k8', 'spectral', 1)]);
});

test("a warm stop puts back a cell its worker fetched but had not started (a timed problem's turn); another worker runs it", { skip, timeout: 180_000 }, async (t) => {
  const stopLater = stopsAfter(t);
  const { dir, redis, queueName, close } = await queueBed(t.signal, 'gate');
  stopLater(close);
  // Two threads: both index cells are fetched at once, and the second waits for the first (index
  // times code, so its cells run one at a time).
  const first = workerProcess(t.signal, redis.url, queueName, 2);
  const { proc, lines } = first;
  stopLater(() => proc.kill('SIGKILL'));
  first.onLine((l) => {
    if (l.startsWith('start ') && lines.filter((x) => x.startsWith('start ')).length === 1) proc.kill('SIGTERM');
  });
  const exited = new Promise<number | null>((ok) => proc.once('exit', ok));
  // The coordinator and the second worker run here; the first worker is a process, for its SIGTERM.
  const store = await ResultsStore.open(join(dir, 's.duckdb'));
  stopLater(() => store.close());
  const stop = new AbortController();
  await first.ready();
  const running = runBench(benchOptions({ problems: ['index'], instances: ['uniform_dense_1M_uint64'], solvers: ['binary-search'], seeds: 2 }, { queue: redis.url, queueName, signal: stop.signal }), store);
  running.catch(() => undefined); // awaited below; a failure before then is reported there
  // A coordinator still waiting (the test failed) stops, so that this file's process ends.
  stopLater(async () => {
    stop.abort();
    await running.catch(() => undefined);
  });
  assert.equal(await exited, 143, lines.join('\n'));
  assert.deepEqual([lines.filter((l) => l.startsWith('start ')).length, lines.filter((l) => l.startsWith('done ')).length], [1, 1], lines.join('\n'));
  const ran = lines.find((l) => l.startsWith('done '))!.split(' ')[1];
  const second = await workerHere(redis.url, queueName);
  stopLater(() => second.worker.close());
  const late = setTimeout(() => stop.abort(), 90_000);
  stopLater(() => clearTimeout(late));
  const outcome = await running;
  clearTimeout(late);
  assert.ok(!outcome.interrupted, "the second worker's result reached the coordinator within 90 s");
  const other = second.lines.filter((l) => l.startsWith('done ')).map((l) => l.split(' ')[1]);
  assert.equal(other.length, 1, second.lines.join('\n'));
  assert.notEqual(other[0], ran);
  const rows = await store.rows();
  assert.deepEqual([...new Set(rows.map((r) => r.seed))].sort(), [1, 2]);
});
