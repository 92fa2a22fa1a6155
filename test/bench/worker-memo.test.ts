/**
 * `selfopt worker`'s threads share a memo for the worker's lifetime (core/memo.ts): a tuned
 * heuristic's sweep is made once per worker, not once per thread, and the directory is removed
 * when the worker closes. Runs a worker in this process against a private redis-server; skips
 * visibly when redis-server is not installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { cellJobId, redisOptions } from '../../src/bench/queue.js';
import { startWorker } from '../../src/bench/queue-worker.js';
import { planGrid } from '../../src/bench/runner.js';
import { codeVersion } from '../../src/core/version.js';
import { benchOptions } from './fixtures.js';
import { stopsAfter } from './queue-helpers.js';
import { skip, startRedis } from './redis-server.js';

/** The memo directories this process holds now (core/files.ts names them `<prefix><host>.<pid>-XXXXXX`). */
function memoDirs(): string[] {
  const prefix = `selfopt-memo-${hostname().replace(/[^A-Za-z0-9-]/g, '_')}.${process.pid}-`;
  return readdirSync(tmpdir()).filter((n) => n.startsWith(prefix)).map((n) => join(tmpdir(), n));
}

test("a worker's threads share a memo directory while it runs: its cells' sweep is made once, into it; closing the worker removes it", { skip: skip || (process.platform !== 'linux' && 'the worker shares its memo on Linux only'), timeout: 120_000 }, async (t) => {
  const stopLater = stopsAfter(t);
  const redis = await startRedis(t.signal);
  stopLater(() => redis.proc.kill('SIGKILL'));
  const queueName = `memo-${process.pid}`;
  const queue = new Queue(queueName, { connection: redisOptions(redis.url) });
  stopLater(() => queue.close());
  const lines: string[] = [];
  // Two seeds of one tuned heuristic on two threads: both need the same sweep (1 episode per point, seconds).
  const cells = planGrid(benchOptions({ problems: ['scheduling'], instances: ['synthetic_batch10_20exec'], solvers: ['tuned-weighted-fair'], seeds: 2 }, { options: { sweep_episodes: '1' } }))[0]!.cells;
  assert.equal(cells.length, 2);
  const ids = cells.map((c) => cellJobId('run-memo', c));
  const worker = await startWorker({ url: redis.url, queueName, concurrency: 2, log: (l) => lines.push(l) });
  // A failed assertion (or a timeout) leaves it running, and its threads would keep this file's
  // process alive: closed after the test too (close() runs the stop once).
  stopLater(() => worker.close());
  await queue.addBulk(cells.map((cell, i) => ({ name: 'cell', data: { runId: 'run-memo', codeVersion: codeVersion(), cell }, opts: { jobId: ids[i] } })));
  for (let i = 0; !(await Promise.all(ids.map((id) => queue.getJobState(id)))).every((s) => s === 'completed'); i++) {
    assert.ok(i < 4000, `both cells ran: ${lines.join('\n')}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  const dirs = memoDirs();
  assert.equal(dirs.length, 1, 'the worker made one memo directory for its threads');
  assert.deepEqual(readdirSync(dirs[0]!).map((f) => f.replace(/^[0-9a-f]{32}/, '<hash>')), ['<hash>.v8'], 'one sweep, its value written once its lock was let go');
  assert.equal(await worker.close(), 'closed', lines.join('\n'));
  assert.deepEqual(memoDirs(), [], 'removed when the worker closed');
});
