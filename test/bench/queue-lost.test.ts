/**
 * What BullMQ says when a job is lost to a worker, checked against the installed BullMQ and a
 * private redis-server, as queue.ts and queue-worker.ts read it: the error codes of a job put back
 * by a worker that no longer holds it (noLongerHeld), and the words of a job that stalled too often
 * (STALLED_TOO_OFTEN, for which BullMQ gives no code). A BullMQ that changes either fails here.
 * Skips visibly when redis-server is not installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { STALLED_TOO_OFTEN, redisOptions, runQueued } from '../../src/bench/queue.js';
import { noLongerHeld } from '../../src/bench/queue-worker.js';
import { planGrid } from '../../src/bench/runner.js';
import { SelfoptError, errorMessage } from '../../src/core/errors.js';
import { benchOptions } from './fixtures.js';
import { skip, startRedis } from './redis-server.js';

test("a job a worker no longer holds is refused back with the codes noLongerHeld reads: its lock another worker's, lapsed, or the job gone; one it holds goes back", { skip, timeout: 60_000 }, async (t) => {
  const redis = await startRedis(t.signal);
  const queueName = `lost-${process.pid}`;
  const connection = redisOptions(redis.url);
  const queue = new Queue(queueName, { connection });
  // No processor: jobs are taken by hand (getNextJob), each with its token, as BullMQ's own loop does.
  const worker = new Worker(queueName, undefined, { connection, autorun: false });
  const admin = new Redis(connection);
  const lose: [string, (id: string) => Promise<unknown>][] = [
    ['another worker holds its lock', (id) => admin.set(`bull:${queueName}:${id}:lock`, 'another-token')],
    ['its lock lapsed', (id) => admin.del(`bull:${queueName}:${id}:lock`)],
    ['the job is gone from Redis', (id) => admin.del(`bull:${queueName}:${id}`)],
    ['nothing: the worker holds it', async () => undefined],
  ];
  try {
    await worker.waitUntilReady();
    for (const [i, [what, take]] of lose.entries()) {
      const id = `job-${i}`;
      await queue.add('cell', {}, { jobId: id });
      const job = await worker.getNextJob(`token-${i}`);
      assert.equal(job?.id, id);
      await take(id);
      const refused = await job!.moveToWait(`token-${i}`).then(() => undefined, (e: unknown) => e);
      if (i === lose.length - 1) {
        assert.equal(refused, undefined, `${what}: ${errorMessage(refused)}`);
        assert.equal(await queue.getJobState(id), 'waiting');
      } else {
        assert.ok(refused !== undefined, `${what}: refused`);
        assert.ok(noLongerHeld(refused), `${what}: ${errorMessage(refused)} (code ${String((refused as { code?: unknown }).code)})`);
      }
    }
    assert.equal(noLongerHeld(new Error('Connection is closed.')), false, 'any other error is not');
  } finally {
    await worker.close(true);
    await queue.close();
    admin.disconnect();
    redis.proc.kill('SIGKILL');
  }
});

test('a cell whose workers kept losing it fails with the words STALLED_TOO_OFTEN holds, and the coordinator says its workers lost it', { skip, timeout: 60_000 }, async (t) => {
  const redis = await startRedis(t.signal);
  const queueName = `stalled-${process.pid}`;
  const connection = redisOptions(redis.url);
  const cell = planGrid(benchOptions({ problems: ['partition'], instances: ['rgg_2k_k2'], solvers: ['random'], seeds: 1 }))[0]!.cells[0]!;
  // A worker that never finishes a job and allows no stall, so that one lost lock fails the job:
  // its stalled check puts the job back marked to fail, and its second slot takes and fails it.
  const stuck = new Worker(queueName, () => new Promise<never>(() => {}), { connection, concurrency: 2, lockDuration: 1000, stalledInterval: 1000, maxStalledCount: 0 });
  stuck.on('error', () => undefined); // the lock it can no longer renew
  const admin = new Redis(connection);
  const queue = new Queue(queueName, { connection });
  try {
    const run = runQueued({ url: redis.url, queueName, runId: 'run-stalled', cells: [cell], record: async () => assert.fail('nothing is recorded'), sweepMs: 1000 });
    run.catch(() => undefined);
    for (let i = 0; (await queue.getActive()).length === 0; i++) {
      assert.ok(i < 1200, 'the stuck worker takes the cell');
      await new Promise((r) => setTimeout(r, 25));
    }
    // What a worker that died or stalled past its lock leaves: no lock.
    const [job] = await queue.getActive();
    assert.equal(await admin.del(`bull:${queueName}:${job!.id}:lock`), 1);
    await assert.rejects(run, (e: unknown) => {
      assert.ok(e instanceof SelfoptError, errorMessage(e));
      assert.match(e.message, /its workers lost it /);
      assert.ok(e.message.includes(STALLED_TOO_OFTEN));
      return true;
    });
  } finally {
    await stuck.close(true);
    await queue.close();
    admin.disconnect();
    redis.proc.kill('SIGKILL');
  }
});
