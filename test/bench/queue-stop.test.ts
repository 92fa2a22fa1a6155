/**
 * How a `selfopt worker` stops (CellWorker.close) when its Redis misbehaves: a worker holding no
 * cell stops cleanly whatever state its connections are in, and one that cannot put a cell back
 * on the queue says so. Runs in this process against a private redis-server; skips visibly when
 * redis-server is not installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { cellJobId, redisOptions } from '../../src/bench/queue.js';
import { startWorker, type CellWorker } from '../../src/bench/queue-worker.js';
import { planGrid } from '../../src/bench/runner.js';
import { codeVersion } from '../../src/core/version.js';
import { benchOptions } from './fixtures.js';
import { skip, startRedis } from './redis-server.js';

/** Resolves once a worker waits for jobs on Redis at `url` (BullMQ blocks in BZPOPMIN): it holds none then. */
async function waitingForJobs(url: string): Promise<void> {
  const admin = new Redis(redisOptions(url));
  try {
    for (let i = 0; !/ cmd=bzpopmin /.test(String(await admin.client('LIST'))); i++) {
      assert.ok(i < 400, 'the worker waits for jobs');
      await new Promise((r) => setTimeout(r, 25));
    }
  } finally {
    admin.disconnect();
  }
}

test('an idle worker stopped just after its Redis restarted stops cleanly (it waited the grace period for a connection ioredis never ended, and said dropped)', { skip, timeout: 60_000 }, async (t) => {
  const redis = await startRedis(t.signal);
  const lines: string[] = [];
  const worker = await startWorker({ url: redis.url, queueName: `restart-${process.pid}`, concurrency: 1, log: (l) => lines.push(l) });
  let again: ChildProcess | undefined;
  try {
    await waitingForJobs(redis.url);
    // Its connections drop; BullMQ tries them again a second later, and the stop comes before.
    redis.proc.kill('SIGKILL');
    await new Promise((ok) => redis.proc.once('exit', ok));
    again = (await startRedis(t.signal, Number(new URL(redis.url).port))).proc;
    assert.equal(await worker.close(), 'closed', lines.join('\n'));
  } finally {
    redis.proc.kill('SIGKILL');
    again?.kill('SIGKILL');
  }
});

test('an idle worker whose Redis is gone stops cleanly: it holds no cell, so there is nothing to report', { skip, timeout: 60_000 }, async (t) => {
  const redis = await startRedis(t.signal);
  const lines: string[] = [];
  const worker = await startWorker({ url: redis.url, queueName: `gone-idle-${process.pid}`, concurrency: 1, log: (l) => lines.push(l) });
  try {
    await waitingForJobs(redis.url);
    redis.proc.kill('SIGKILL');
    await new Promise((ok) => redis.proc.once('exit', ok));
    assert.equal(await worker.close(), 'closed', lines.join('\n'));
  } finally {
    redis.proc.kill('SIGKILL');
  }
});

test("a stopping worker that cannot put back a cell waiting for a timed problem's turn (its lock lapsed) says so, and another worker runs the cell", { skip, timeout: 180_000 }, async (t) => {
  const redis = await startRedis(t.signal);
  const queueName = `lapse-${process.pid}`;
  // partition times code, so its cells run one at a time: the long one (spectral bisection of a
  // 100k-vertex graph, seconds) runs while the short one waits for its turn.
  const cell = (instance: string, solver: string) => planGrid(benchOptions({ problems: ['partition'], instances: [instance], solvers: [solver], seeds: 1 }))[0]!.cells[0]!;
  const [long, short] = [cell('rgg_100k_k8', 'spectral'), cell('rgg_2k_k2', 'random')];
  const [longId, shortId] = [cellJobId('run-lapse', long), cellJobId('run-lapse', short)];
  const queue = new Queue(queueName, { connection: redisOptions(redis.url) });
  const admin = new Redis(redisOptions(redis.url));
  const lines: string[] = [];
  const log = (l: string) => lines.push(l);
  let other: CellWorker | undefined;
  try {
    await queue.addBulk([long, short].map((c, i) => ({ name: 'cell', data: { runId: 'run-lapse', codeVersion: codeVersion(), cell: c }, opts: { jobId: [longId, shortId][i] } })));
    // A short lock, as the other queue tests' workers: BullMQ's stalled check, which puts the
    // cell back below, runs once per lock period across all workers.
    const worker = await startWorker({ url: redis.url, queueName, concurrency: 2, lockMs: 1000, log });
    for (let i = 0; !lines.some((l) => l.startsWith(`start ${longId} `)) || !(await queue.getActive()).some((j) => j.id === shortId); i++) {
      assert.ok(i < 1200, `the long cell runs and the short one waits: ${lines.join('\n')}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    // What a lapsed lock leaves: no lock key (the event loop or Redis stalled past the lock).
    assert.equal(await admin.del(`bull:${queueName}:${shortId}:lock`), 1);
    assert.equal(await worker.close(), 'closed', lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith(`done ${longId} `)), lines.join('\n'));
    assert.ok(!lines.some((l) => l.startsWith(`start ${shortId} `)), 'the short cell did not run after the stop');
    const left = lines.filter((l) => l.startsWith(`left ${shortId} `));
    assert.equal(left.length, 1, `the worker says it could not put the short cell back: ${lines.join('\n')}`);
    assert.match(left[0]!, /Missing lock for job/);
    assert.notEqual(await queue.getJobState(shortId), 'failed');
    // Not lost: another worker's stalled check puts it back on the queue, and that worker runs it.
    other = await startWorker({ url: redis.url, queueName, concurrency: 1, lockMs: 1000, log });
    for (let i = 0; (await queue.getJobState(shortId)) !== 'completed'; i++) {
      assert.ok(i < 1200, `another worker ran the short cell: ${lines.join('\n')}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  } finally {
    await other?.close();
    await queue.close();
    admin.disconnect();
    redis.proc.kill('SIGKILL');
  }
});
