/**
 * What BullMQ says when a job is lost to a worker, checked against the installed BullMQ and a
 * private redis-server, as queue.ts and queue-worker.ts read it: the error codes of a job put back
 * by a worker that no longer holds it (noLongerHeld), and the words of a job that stalled too often
 * (STALLED_TOO_OFTEN, for which BullMQ gives no code) with the job field that holds them
 * (deferredFailure). A BullMQ that changes either fails here. A worker says when it cannot fail such
 * a job. Skips visibly when redis-server is not installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { cellLabel } from '../../src/bench/cell.js';
import { STALLED_TOO_OFTEN, cellJobId, redisOptions, runQueued } from '../../src/bench/queue.js';
import { noLongerHeld, startWorker } from '../../src/bench/queue-worker.js';
import { planGrid } from '../../src/bench/runner.js';
import { SelfoptError, errorMessage } from '../../src/core/errors.js';
import { codeVersion } from '../../src/core/version.js';
import { benchOptions } from './fixtures.js';
import { stopsAfter, until } from './queue-helpers.js';
import { skip, startRedis } from './redis-server.js';

test("a job a worker no longer holds is refused back with the codes noLongerHeld reads: its lock another worker's, lapsed, or the job gone; one it holds goes back", { skip, timeout: 60_000 }, async (t) => {
  const stopLater = stopsAfter(t);
  const redis = await startRedis(t.signal);
  stopLater(() => redis.proc.kill('SIGKILL'));
  const queueName = `lost-${process.pid}`;
  const connection = redisOptions(redis.url);
  const queue = new Queue(queueName, { connection });
  stopLater(() => queue.close());
  // No processor: jobs are taken by hand (getNextJob), each with its token, as BullMQ's own loop does.
  const worker = new Worker(queueName, undefined, { connection, autorun: false });
  stopLater(() => worker.close(true));
  const admin = new Redis(connection);
  stopLater(() => admin.disconnect());
  const lose: [string, (id: string) => Promise<unknown>][] = [
    ['another worker holds its lock', (id) => admin.set(`bull:${queueName}:${id}:lock`, 'another-token')],
    ['its lock lapsed', (id) => admin.del(`bull:${queueName}:${id}:lock`)],
    ['the job is gone from Redis', (id) => admin.del(`bull:${queueName}:${id}`)],
    ['nothing: the worker holds it', async () => undefined],
  ];
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
});

test('a cell whose workers kept losing it fails with the words STALLED_TOO_OFTEN holds, and the coordinator says its workers lost it', { skip, timeout: 60_000 }, async (t) => {
  const stopLater = stopsAfter(t);
  const redis = await startRedis(t.signal);
  stopLater(() => redis.proc.kill('SIGKILL'));
  const queueName = `stalled-${process.pid}`;
  const connection = redisOptions(redis.url);
  const cell = planGrid(benchOptions({ problems: ['partition'], instances: ['rgg_2k_k2'], solvers: ['random'], seeds: 1 }))[0]!.cells[0]!;
  // A worker that never finishes a job and allows no stall, so that one lost lock fails the job:
  // its stalled check puts the job back marked to fail, and its second slot takes and fails it.
  const stuck = new Worker(queueName, () => new Promise<never>(() => {}), { connection, concurrency: 2, lockDuration: 1000, stalledInterval: 1000, maxStalledCount: 0 });
  stopLater(() => stuck.close(true));
  stuck.on('error', () => undefined); // the lock it can no longer renew
  const failedTaken = new Promise<string | undefined>((ok) => stuck.on('failed', (job) => ok(job?.deferredFailure)));
  const admin = new Redis(connection);
  stopLater(() => admin.disconnect());
  const queue = new Queue(queueName, { connection });
  stopLater(() => queue.close());
  const run = runQueued({ url: redis.url, signal: t.signal, queueName, runId: 'run-stalled', cells: [cell], record: async () => assert.fail('nothing is recorded'), sweepMs: 1000 });
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
  // Where a worker finds them (resultRefused): the deferredFailure of the job it took, set by the stalled check.
  assert.equal(await failedTaken, STALLED_TOO_OFTEN);
});

test("a job its workers lost too often, which BullMQ fails as a stopping worker takes it, is said to be left when BullMQ cannot record that (the job no longer this worker's), in words; the next worker fails it", { skip, timeout: 60_000 }, async (t) => {
  const stopLater = stopsAfter(t);
  const redis = await startRedis(t.signal);
  stopLater(() => redis.proc.kill('SIGKILL'));
  const queueName = `too-often-${process.pid}`;
  const connection = redisOptions(redis.url);
  const cell = planGrid(benchOptions({ problems: ['partition'], instances: ['rgg_2k_k2'], solvers: ['random'], seeds: 1 }))[0]!.cells[0]!;
  const id = cellJobId('run-too-often', cell);
  const admin = new Redis(connection);
  stopLater(() => admin.disconnect());
  const queue = new Queue(queueName, { connection });
  stopLater(() => queue.close());
  const lines: string[] = [];
  const worker = await startWorker({ url: redis.url, queueName, concurrency: 1, lockMs: 1000, log: (l) => lines.push(l) });
  // Closed here by the patch below, or after the test (close() runs the stop once).
  stopLater(() => worker.close());
  let stopped: Promise<'closed' | 'dropped'> | undefined;
  // BullMQ fails the job (handleFailed) as soon as the worker takes it: the stop begins then, and
  // the job's lock goes (what a lock that lapsed leaves), so that BullMQ refuses the failure.
  const moveToFailed = Job.prototype.moveToFailed;
  Job.prototype.moveToFailed = async function (this: Job, ...args: Parameters<Job['moveToFailed']>) {
    if (this.id === id && stopped === undefined) {
      stopped = worker.close();
      await admin.del(`bull:${queueName}:${id}:lock`);
    }
    return moveToFailed.apply(this, args);
  } as Job['moveToFailed'];
  stopLater(() => (Job.prototype.moveToFailed = moveToFailed));
  // What BullMQ's stalled check leaves on a job its workers lost too often (moveStalledJobsToWait:
  // HSET defa; the previous test has BullMQ do it): the next worker to take it fails it, unrun.
  // The queue paused meanwhile: the waiting worker took the job before it was marked (once, in a
  // full suite), and ran it.
  await queue.pause();
  await queue.add('cell', { runId: 'run-too-often', codeVersion: codeVersion(), cell }, { jobId: id });
  await admin.hset(`bull:${queueName}:${id}`, 'defa', STALLED_TOO_OFTEN);
  await queue.resume();
  await until(() => stopped !== undefined, () => `the worker takes the job and BullMQ fails it: ${lines.join('\n')}`);
  assert.equal(await stopped, 'closed', lines.join('\n'));
  const all = lines.join('\n');
  const left = lines.filter((l) => l.startsWith(`left ${id} `));
  assert.deepEqual(left, [`left ${id} ${cellLabel(cell)}: no longer this worker's to fail (its lock is gone: it lapsed, or Redis lost the job), as BullMQ fails a job its workers lost too often (${STALLED_TOO_OFTEN}); the next worker to take it fails it once BullMQ's stalled check puts it back, and the run stops with that cell's error`], all);
  assert.equal(lines.filter((l) => /^(error|failed) /.test(l)).length, 0, `BullMQ's refusal is not said again: ${all}`);
  // As said: another worker's stalled check puts it back, and that worker fails it.
  const other = await startWorker({ url: redis.url, queueName, concurrency: 1, lockMs: 1000, log: (l) => lines.push(l) });
  stopLater(() => other.close());
  await until(async () => (await queue.getJobState(id)) === 'failed', () => `another worker failed the job: ${lines.join('\n')}`, 400, 25);
  assert.equal((await queue.getJob(id))?.failedReason, STALLED_TOO_OFTEN);
});
