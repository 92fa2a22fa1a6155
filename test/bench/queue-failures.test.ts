/**
 * A queued run's cells that fail or are refused: a cell that fails on a worker, a worker on other
 * code than the coordinator, a job that failed after its coordinator stopped (run again by
 * --resume), a cell its workers kept losing. Each stops the run with one clear error naming the
 * cell. Coordinators and workers run in this process, against a private redis-server; skipped
 * visibly when redis-server is not installed. Shared set-up: queue-helpers.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SelfoptError } from '../../src/core/errors.js';
import { runBench, planGrid } from '../../src/bench/runner.js';
import { ResultsStore, cellKey } from '../../src/bench/store.js';
import { cellJobId, redisOptions, runQueued } from '../../src/bench/queue.js';
import { benchOptions } from './fixtures.js';
import { options, queueBed, queueLeft, stopsAfter, until, withStderr, workerHere } from './queue-helpers.js';
import { skip, startRedis } from './redis-server.js';

test('a cell that fails on a worker stops the queued run with one clear error naming the cell', { skip, timeout: 120_000 }, async (t) => {
  const stopLater = stopsAfter(t);
  const { dir, redis, queueName, close } = await queueBed(t.signal, 'fail');
  stopLater(close);
  const { worker } = await workerHere(redis.url, queueName);
  stopLater(() => worker.close());
  const store = await ResultsStore.open(join(dir, 's.duckdb'));
  stopLater(() => store.close());
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
});

test('a worker on other code than the coordinator refuses its cell with one error: what, where (worker and cell), one expected', { skip, timeout: 60_000 }, async (t) => {
  const stopLater = stopsAfter(t);
  const redis = await startRedis(t.signal);
  stopLater(() => redis.proc.kill('SIGKILL'));
  const queueName = `version-${process.pid}`;
  const cells = planGrid(options({ instances: ['rgg_2k_k2'], solvers: ['random'], seeds: 1 }))[0]!.cells;
  // The run's job as a coordinator at another commit put it: the coordinator below keeps it (same job id).
  const { Queue } = await import('bullmq');
  const q = new Queue(queueName, { connection: redisOptions(redis.url) });
  stopLater(() => q.close());
  await q.add('cell', { runId: 'run-version', codeVersion: 'other-commit', cell: cells[0]! }, { jobId: cellJobId('run-version', cells[0]!) });
  await q.close();
  // The worker starts once the coordinator has put its jobs (its note that no worker is on the
  // queue comes after): one that failed the job first would have it put back afresh, as a
  // --resume puts back a failed cell.
  const { run } = await withStderr(t, async (stderr) => {
    const running = runQueued({ url: redis.url, signal: t.signal, queueName, runId: 'run-version', cells, sweepMs: 200, record: async () => {} });
    running.catch(() => undefined); // awaited below
    await until(() => stderr.join('').includes('no worker'), () => `the coordinator said it has no worker: ${stderr.join('')}`);
    return { run: running };
  });
  const { worker } = await workerHere(redis.url, queueName);
  stopLater(() => worker.close());
  await assert.rejects(run, (e: Error) => {
    assert.ok(e instanceof SelfoptError, e.message);
    // One clause: what, where (the worker and the cell), what was expected.
    assert.match(e.message, /^runs code \S+, the run was started with other-commit \(at worker \S+, cell partition\/rgg_2k_k2\/random\/seed 1\); expected workers on the same commit as the coordinator \(finished cells stay recorded, rerun with --resume\)$/);
    assert.equal(e.message.match(/expected/g)?.length, 1, e.message);
    assert.equal(e.message.match(/cell partition/g)?.length, 1, e.message);
    return true;
  });
});

test('--resume runs again a cell whose job failed after its coordinator stopped (a worker on other code), not replays the old failure', { skip, timeout: 60_000 }, async (t) => {
  const stopLater = stopsAfter(t);
  const redis = await startRedis(t.signal);
  stopLater(() => redis.proc.kill('SIGKILL'));
  const queueName = `refail-${process.pid}`;
  const cells = planGrid(options({ instances: ['rgg_2k_k2'], solvers: ['random'], seeds: 1 }))[0]!.cells;
  const { Queue, Worker } = await import('bullmq');
  const q = new Queue(queueName, { connection: redisOptions(redis.url) });
  stopLater(() => q.close());
  // The first attempt fails, as on a worker at other code; the next one, after --resume, succeeds.
  let attempts = 0;
  const worker = new Worker(queueName, async () => {
    if (attempts++ === 0) throw new Error('a worker at other code failed this cell');
    return { metrics: { edge_cut: 1 }, wallMs: 1, machine: 'm', codeVersion: 'c', worker: 'w' };
  }, { connection: redisOptions(redis.url) });
  stopLater(() => worker.close());
  // The job as the previous coordinator put it; it failed after that coordinator had stopped
  // (it was running then, so the stop could not take it off the queue), and stays failed in Redis.
  const id = cellJobId('run-refail', cells[0]!);
  await q.add('cell', { runId: 'run-refail', codeVersion: 'c', cell: cells[0]! }, { jobId: id });
  await until(async () => (await (await q.getJob(id))?.isFailed()) === true, 'the job failed');
  const recorded: string[] = [];
  await runQueued({ url: redis.url, signal: t.signal, queueName, runId: 'run-refail', cells, sweepMs: 200,
    record: async (cell) => void recorded.push(cellKey(cell.problem, cell.instance.id, cell.solver, cell.seed)) });
  assert.equal(attempts, 2, 'the resumed coordinator put the failed cell back on the queue');
  assert.deepEqual(recorded, [cellKey(cells[0]!.problem, cells[0]!.instance.id, cells[0]!.solver, cells[0]!.seed)]);
});

test('a cell its workers kept losing (BullMQ: stalled more than allowable limit) stops the run with one clear error naming the cell, not a stack trace', { skip, timeout: 60_000 }, async (t) => {
  const stopLater = stopsAfter(t);
  const redis = await startRedis(t.signal);
  stopLater(() => redis.proc.kill('SIGKILL'));
  const queueName = `stalled-${process.pid}`;
  const cells = planGrid(options({ instances: ['rgg_2k_k2'], solvers: ['random'], seeds: 1 }))[0]!.cells;
  const { Worker } = await import('bullmq');
  // BullMQ's own failure of a job whose lock lapsed more than maxStalledCount times.
  const worker = new Worker(queueName, async () => {
    throw new Error('job stalled more than allowable limit');
  }, { connection: redisOptions(redis.url) });
  stopLater(() => worker.close());
  const run = runQueued({ url: redis.url, signal: t.signal, queueName, runId: 'run-stalled', cells, sweepMs: 200, record: async () => {} });
  await assert.rejects(run, (e: Error) => {
    assert.ok(e instanceof SelfoptError, e.stack);
    assert.match(e.message, /^its workers lost it 6 times \(job stalled more than allowable limit\) \(at the workers, cell partition\/rgg_2k_k2\/random\/seed 1\); expected workers that stay up and renew its lock: a longer --lock-seconds for workers on loaded machines \(finished cells stay recorded, rerun with --resume\)$/);
    return true;
  });
});
