/**
 * How a `selfopt worker` stops (CellWorker.close) when its Redis misbehaves: a worker holding no
 * cell stops cleanly whatever state its connections are in. Runs in this process against a
 * private redis-server; skips visibly when redis-server is not installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { redisOptions, startWorker } from '../../src/bench/queue.js';
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
