/**
 * A distributed run whose Redis goes away for longer than REDIS_SILENT_MS (8 s) and comes back:
 * the coordinator and the worker say once that it is gone and once that it is back, the run waits
 * for it and ends with every cell recorded once. A worker's silence bound is shortened (silentMs)
 * where only the worker's words are tested. Coordinator and worker run in this process against
 * a private redis-server (no persistence, as the other queue tests'); skips visibly when
 * redis-server is not installed.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { Scripts } from 'bullmq';
import { Redis } from 'ioredis';
import { REDIS_SILENT_MS, cellJobId, redisOptions, runQueued } from '../../src/bench/queue.js';
import { startWorker, type CellWorker, type WorkerOptions } from '../../src/bench/queue-worker.js';
import { planGrid } from '../../src/bench/runner.js';
import type { Cell } from '../../src/bench/cell.js';
import { benchOptions } from './fixtures.js';
import { stopsAfter, until, withStderr } from './queue-helpers.js';
import { skip, startRedis } from './redis-server.js';

const cell = (instance: string, solver: string) => planGrid(benchOptions({ problems: ['partition'], instances: [instance], solvers: [solver], seeds: 1 }))[0]!.cells[0]!;
const outage = REDIS_SILENT_MS + 1000;

/** Lines of `written` (log lines, or stderr writes holding several) that match `re`. */
const count = (written: string[], re: RegExp) => written.flatMap((w) => w.split('\n')).filter((l) => re.test(l)).length;

/**
 * Kills the private redis-servers `procs` (maybe SIGSTOPped; the list may grow as the test starts
 * another): registered first with stopsAfter, so that it runs last, after the run and the worker.
 */
function killRedis(procs: ChildProcess[]): () => void {
  return () => {
    for (const p of procs) {
      p.kill('SIGCONT');
      p.kill('SIGKILL');
    }
  };
}

/** Registers the stop of a coordinator's queued `run`: abort it (it waits for Redis for ever otherwise), then wait for it. */
function stopRun(later: (stop: () => unknown) => void, stop: AbortController, run: Promise<unknown>): void {
  run.catch(() => undefined);
  later(() => {
    stop.abort();
    return run.catch(() => undefined);
  });
}

/**
 * Runs `body` once a worker (with `opts`) has started the one cell of a queued run, a cell that
 * takes seconds (rgg_100k_k8, spectral): the moment the tests break something under it. Redis is a
 * private one (`admin`: a connection to it). After the test, whatever happened, the run is stopped,
 * then the worker and Redis, after what `body` starts and gives `later` (stopsAfter).
 */
async function underLongCell(t: TestContext, name: string, opts: Pick<WorkerOptions, 'silentMs' | 'lockMs'>, body: (s: LongCell) => Promise<void>): Promise<void> {
  const redis = await startRedis(t.signal);
  const queueName = `outage-${name}-${process.pid}`;
  const admin = new Redis(redisOptions(redis.url));
  const longId = cellJobId(`run-${name}`, cell('rgg_100k_k8', 'spectral'));
  const lines: string[] = [];
  const recorded: Cell[] = [];
  const later = stopsAfter(t);
  later(killRedis([redis.proc]));
  later(() => admin.disconnect());
  let startedLong!: () => void;
  const start = new Promise<void>((ok) => (startedLong = ok));
  const worker = await startWorker({ url: redis.url, queueName, concurrency: 1, ...opts, log: (l) => {
    lines.push(l);
    if (l.startsWith(`start ${longId} `)) startedLong();
  } });
  later(() => worker.close());
  const stop = new AbortController();
  const run = runQueued({ url: redis.url, queueName, runId: `run-${name}`, cells: [cell('rgg_100k_k8', 'spectral')], sweepMs: 1000, record: async (c) => void recorded.push(c), signal: stop.signal });
  stopRun(later, stop, run);
  await start;
  await body({ redis, queueName, admin, worker, run, lines, recorded, longId, later });
}

interface LongCell {
  redis: { url: string; proc: ChildProcess };
  queueName: string;
  admin: Redis;
  worker: CellWorker;
  run: Promise<unknown>;
  /** The worker's log, and the cells the run recorded. */
  lines: string[];
  recorded: Cell[];
  longId: string;
  /** Stops what the body starts after the test, before the run, the worker and Redis (stopsAfter). */
  later: (stop: () => unknown) => void;
}

/** The worker's line for the long cell's refused result, with why (regex source) and where it runs again. */
const dropped = (longId: string, why: string, again: string) => new RegExp(`^dropped the result of ${longId} partition/rgg_100k_k8/spectral/seed 1: not recorded, as the job is no longer this worker's \\(${why}\\) and BullMQ refused it; the cell runs again ${again}, or, if its run was stopped, with the same \`selfopt bench\` command and --resume$`);
const LOCK_GONE = 'its lock is gone: it lapsed, or Redis lost the job';
const HERE_OR_ELSEWHERE = 'here or on another worker';

test('Redis killed for more than 8 s and restarted without its data: coordinator and worker each say once that it is gone and once that it is back, the lost jobs are queued again (the coordinator says how many), the cell whose result was dropped runs again, every cell is recorded once', { skip, timeout: 180_000 }, async (t) => {
  const redis = await startRedis(t.signal);
  const port = Number(new URL(redis.url).port);
  const queueName = `outage-kill-${process.pid}`;
  // partition times code: the long cell (spectral bisection of a 100k-vertex graph, seconds) runs
  // first, alone, and Redis goes while it runs; the short one waits for its turn.
  const [long, short] = [cell('rgg_100k_k8', 'spectral'), cell('rgg_2k_k2', 'random')];
  const longId = cellJobId('run-outage', long);
  const lines: string[] = [];
  const recorded: Cell[] = [];
  const procs = [redis.proc];
  const later = stopsAfter(t);
  later(killRedis(procs));
  await withStderr(t, async (coordinator) => {
    let killed!: () => void;
    const gone = new Promise<void>((ok) => (killed = ok));
    const worker = await startWorker({ url: redis.url, queueName, concurrency: 1, log: (l) => {
      lines.push(l);
      if (l.startsWith(`start ${longId} `)) {
        redis.proc.kill('SIGKILL');
        killed();
      }
    } });
    later(() => worker.close());
    const stop = new AbortController();
    const run = runQueued({ url: redis.url, queueName, runId: 'run-outage', cells: [long, short], sweepMs: 1000, record: async (c) => void recorded.push(c), signal: stop.signal });
    stopRun(later, stop, run);
    await gone;
    await new Promise((ok) => redis.proc.once('exit', ok));
    await new Promise((r) => setTimeout(r, outage));
    procs.push((await startRedis(t.signal, port)).proc);
    await run;
    const all = `coordinator:\n${coordinator.join('')}\nworker:\n${lines.join('\n')}`;
    assert.equal(count(coordinator, /^selfopt: warning: lost Redis at redis:\/\/127\.0\.0\.1:\d+ \(.+\); the run waits for it: recorded cells stay recorded, cells running on workers go on and report once it is back/), 1, all);
    assert.equal(count(coordinator, /^selfopt: note: Redis at redis:\/\/127\.0\.0\.1:\d+ answers again after \d+ s; the run goes on; it had lost the jobs of 2 cells of this run \(restarted without its data\?\): they are queued again, and those 2 cells run from the start$/), 1, all);
    assert.equal(count(lines, /^lost Redis at redis:\/\/127\.0\.0\.1:\d+ \(its connection dropped\); waiting for it: running cells go on and report once it is back, and no new cell is taken until then$/), 1, all);
    assert.equal(count(lines, /^Redis at redis:\/\/127\.0\.0\.1:\d+ is back after \d+ s; the worker goes on$/), 1, all);
    assert.equal(count(lines, /ECONNREFUSED/), 0, `each reconnect attempt is not an error line: ${all}`);
    // BullMQ refuses the result of the cell Redis lost once, and says it twice (the move to completed, then to failed).
    // Its job is gone, or already put back by the coordinator without this worker's lock: the words say which.
    const why = `(Redis no longer has the job: restarted without its data\\?|${LOCK_GONE})`;
    assert.equal(count(lines, dropped(longId, why, HERE_OR_ELSEWHERE)), 1, all);
    assert.equal(count(lines, /Missing (key|lock)/), 0, `BullMQ's own words are not printed: ${all}`);
    assert.equal(count(lines, new RegExp(`^start ${longId} `)), 2, `the long cell ran again: ${all}`);
    assert.deepEqual(recorded.map((c) => c.instance.id).sort(), ['rgg_100k_k8', 'rgg_2k_k2']);
  });
});

test('Redis that hangs for more than 8 s (SIGSTOP: no connection drops) is said to be gone once a question goes unanswered for 8 s, and back once it answers; the run then ends as usual', { skip, timeout: 120_000 }, async (t) => {
  const redis = await startRedis(t.signal);
  const queueName = `outage-hang-${process.pid}`;
  const recorded: Cell[] = [];
  const later = stopsAfter(t);
  later(killRedis([redis.proc]));
  await withStderr(t, async (coordinator) => {
    // No worker yet: the coordinator sweeps its waiting cell every second, and one sweep meets the hang.
    const stop = new AbortController();
    const run = runQueued({ url: redis.url, queueName, runId: 'run-hang', cells: [cell('rgg_2k_k2', 'random')], sweepMs: 1000, record: async (c) => void recorded.push(c), signal: stop.signal });
    stopRun(later, stop, run);
    // The hang comes once its set-up is done (only its sweeps time Redis's silence), which it is
    // when it says it has no worker: it counts them after the set-up. (It waited a fixed 1.5 s.)
    await until(() => count(coordinator, /no worker is on queue/) > 0, () => `the coordinator set up its run: ${coordinator.join('')}`, 1200, 25);
    redis.proc.kill('SIGSTOP');
    for (let i = 0; count(coordinator, /lost Redis/) === 0; i++) {
      assert.ok(i < 1200, `the coordinator says Redis is gone: ${coordinator.join('')}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    await new Promise((r) => setTimeout(r, outage - REDIS_SILENT_MS));
    redis.proc.kill('SIGCONT');
    const worker = await startWorker({ url: redis.url, queueName, concurrency: 1 });
    later(() => worker.close());
    await run;
    const said = coordinator.join('');
    assert.equal(count(coordinator, /^selfopt: warning: lost Redis at redis:\/\/127\.0\.0\.1:\d+ \(no answer for 8 s\); the run waits for it/), 1, said);
    const back = /^selfopt: note: Redis at redis:\/\/127\.0\.0\.1:\d+ answers again after (\d+) s; the run goes on$/m.exec(said);
    assert.ok(back, said);
    // Counted from its last answer, so at least the 8 s of silence that made it gone.
    assert.ok(Number(back[1]) >= REDIS_SILENT_MS / 1000, said);
    assert.equal(recorded.length, 1);
  });
});

test('a worker whose Redis hangs (SIGSTOP: no connection drops) says once that Redis is gone after its silentMs without an answer, with what it does meanwhile, and once that it is back; its running cell reports then and is recorded once', { skip, timeout: 120_000 }, async (t) => {
  const silentMs = 1500; // REDIS_SILENT_MS for this worker, so that the test needs no 8 s hang
  // Its cell takes seconds: it runs through the hang.
  await underLongCell(t, 'worker-hang', { silentMs }, async ({ redis, run, lines, recorded, longId }) => {
    redis.proc.kill('SIGSTOP');
    // A bound, not a timing: the old worker said nothing until Redis answered again.
    for (let i = 0; count(lines, /^lost Redis/) === 0; i++) {
      assert.ok(i < 600, `the worker says Redis is gone: ${lines.join('\n')}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    // Several more of its looks meet the silence: said once all the same.
    await new Promise((r) => setTimeout(r, silentMs));
    redis.proc.kill('SIGCONT');
    await run;
    const all = lines.join('\n');
    assert.equal(count(lines, /^lost Redis at redis:\/\/127\.0\.0\.1:\d+ \(no answer for 1\.5 s\); waiting for it: running cells go on and report once it is back, and no new cell is taken until then$/), 1, all);
    assert.equal(count(lines, /^lost Redis/), 1, all);
    const back = lines.findIndex((l) => /^Redis at redis:\/\/127\.0\.0\.1:\d+ is back after \d+ s; the worker goes on$/.test(l));
    assert.ok(back > lines.findIndex((l) => l.startsWith('lost Redis')), all);
    assert.equal(count(lines, /is back after/), 1, all);
    // Counted from its last answer, so at least the silence that made it gone.
    assert.ok(Number(/after (\d+) s/.exec(lines[back]!)![1]) >= Math.round(silentMs / 1000), all);
    assert.deepEqual(recorded.map((c) => c.instance.id), ['rgg_100k_k8'], all);
    assert.equal(count(lines, new RegExp(`^start ${longId} `)), 1, `the cell ran once, its result reported after the hang: ${all}`);
  });
});

test("a lock BullMQ could not renew (its key deleted while the cell runs) is said once, in words, not as BullMQ's error at every renewal; the cell's result, refused, is said once, in words, from BullMQ's error code and the job it refused, whatever its message's words; the cell runs again and is recorded once", { skip, timeout: 120_000 }, async (t) => {
  // BullMQ's refusals worded otherwise, as a BullMQ release with other words would: the same error
  // codes (ErrorCode), other messages, none naming the job as 5.81.5's do (`Missing lock for job
  // ID. moveToFinished`). The 'Redis killed' test above meets BullMQ's own words.
  const finishedErrors = Scripts.prototype.finishedErrors;
  Scripts.prototype.finishedErrors = function (this: Scripts, what: Parameters<Scripts['finishedErrors']>[0]) {
    const e = finishedErrors.call(this, what);
    e.message = `refused (${what.command})`;
    return e;
  };
  // Put back after the test, also one that timed out (its body still running then), so that the
  // next tests meet BullMQ's own words.
  t.after(() => (Scripts.prototype.finishedErrors = finishedErrors));
  // Its cell takes seconds: many renewals at --lock-seconds 1.
  await underLongCell(t, 'lock', { lockMs: 1000 }, async ({ queueName, admin, run, lines, recorded, longId }) => {
    await admin.del(`bull:${queueName}:${longId}:lock`);
    await run;
    const all = lines.join('\n');
    assert.equal(count(lines, new RegExp(`^lost the lock of ${longId} \\(BullMQ could not renew it; --lock-seconds 1\\): the cell goes on here`)), 1, all);
    assert.equal(count(lines, /could not renew lock/), 0, `BullMQ's own words, at every renewal, are not repeated: ${all}`);
    // BullMQ refuses the result once, and says it twice (the move to completed, then to failed): one line.
    assert.equal(count(lines, dropped(longId, LOCK_GONE, HERE_OR_ELSEWHERE)), 1, all);
    assert.equal(count(lines, /refused \(/), 0, `BullMQ's own words are not printed: ${all}`);
    assert.deepEqual(recorded.map((c) => c.instance.id), ['rgg_100k_k8'], all);
  });
});

test("a result refused while its worker stops warm (the cell's lock deleted after the stop began) is said once, as outside a stop: not recorded, and run again on another worker, where it is recorded once", { skip, timeout: 120_000 }, async (t) => {
  await underLongCell(t, 'stop-lock', { lockMs: 1000 }, async ({ redis, queueName, admin, worker, run, lines, recorded, longId, later }) => {
    // The warm stop begins (BullMQ is closing from this call on), then the lock goes.
    const stopped = worker.close();
    await admin.del(`bull:${queueName}:${longId}:lock`);
    assert.equal(await stopped, 'closed', lines.join('\n'));
    const all = lines.join('\n');
    assert.equal(count(lines, dropped(longId, LOCK_GONE, 'on another worker \\(this one is stopping\\)')), 1, all);
    assert.equal(count(lines, /^dropped the result/), 1, all);
    assert.equal(count(lines, /Missing (key|lock)/), 0, `BullMQ's own words are not printed: ${all}`);
    // Another worker's stalled check puts the cell back, and it runs there.
    const other = await startWorker({ url: redis.url, queueName, concurrency: 1, lockMs: 1000 });
    later(() => other.close()); // stopped first: registered last
    await run;
    await other.close();
    assert.deepEqual(recorded.map((c) => c.instance.id), ['rgg_100k_k8'], all);
  });
});
