/**
 * The queue tests' shared set-up (queue*.test.ts): a test's temp dir, Redis and queue name, the
 * partition grid they queue, a worker as a process (for a signal, an exit code, a kill) or in this
 * process, what the coordinator writes to stderr, what is left on a queue, and the wait for
 * something a test sees happen, and (from test/stops.ts) the stop after the test of what it
 * started. The private redis-server itself is redis-server.ts.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { JobType } from 'bullmq';
import { redisOptions } from '../../src/bench/queue.js';
import { startWorker, type CellWorker } from '../../src/bench/queue-worker.js';
import type { BenchOptions } from '../../src/bench/runner.js';
import { benchOptions } from './fixtures.js';
import { child, startRedis } from './redis-server.js';
import { stopsAfter } from '../stops.js';

export { stopsAfter };

export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
export const INSTANCES = ['rgg_2k_k2', 'rgg_2k_k8', 'mesh_2k_k2', 'mesh_2k_k8'];
export const SOLVERS = ['random', 'graph-growing', 'multilevel'];
export const SEEDS = 2;

/**
 * A test's own temp dir (selfopt-queue-`name`-*), private redis-server and queue name (`name`-pid);
 * close() kills the server and removes the dir.
 */
export async function queueBed(signal: AbortSignal, name: string): Promise<{ dir: string; redis: Awaited<ReturnType<typeof startRedis>>; queueName: string; close: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), `selfopt-queue-${name}-`));
  const redis = await startRedis(signal);
  const close = () => {
    redis.proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  return { dir, redis, queueName: `${name}-${process.pid}`, close };
}

/** The queue tests' grid: partition's INSTANCES x SOLVERS x SEEDS, quick, unless `over` says otherwise. */
export function options(over: Partial<BenchOptions> = {}): BenchOptions {
  return benchOptions({ problems: ['partition'], instances: INSTANCES, solvers: SOLVERS, seeds: SEEDS }, over);
}

/** A worker process of `threads` threads, with its output lines as they come; `ready()` waits for its ready line. */
export function workerProcess(signal: AbortSignal, url: string, queueName: string, threads = 1): { proc: ChildProcess; lines: string[]; onLine: (f: (l: string) => void) => void; ready: () => Promise<void> } {
  const proc = child(signal, process.execPath, [CLI, 'worker', '--queue', url, '--queue-name', queueName, '--concurrency', String(threads), '--lock-seconds', '1'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  const listeners: ((l: string) => void)[] = [];
  createInterface({ input: proc.stdout! }).on('line', (l) => {
    lines.push(l);
    for (const f of listeners) f(l);
  });
  const ready = async () => {
    while (!lines.some((l) => l.startsWith('worker ') && l.includes(' ready'))) {
      // Killed (its test ended) is exited too: it looked for ever.
      assert.ok(proc.exitCode === null && proc.signalCode === null, 'a worker exited before it was ready');
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { proc, lines, onLine: (f) => listeners.push(f), ready };
}

/**
 * A worker in this process, with its output lines. `lockMs` is also its stalled-job check's
 * interval: short where a test waits for it to find another worker's lost cell.
 */
export async function workerHere(url: string, queueName: string, lockMs = 30_000, threads = 1): Promise<{ worker: CellWorker; lines: string[] }> {
  const lines: string[] = [];
  const worker = await startWorker({ url, queueName, concurrency: threads, lockMs, log: (l) => lines.push(l) });
  return { worker, lines };
}

/**
 * What this process writes to stderr while `body` runs (the coordinator's warnings and notes), as
 * it goes: each write, which may hold several lines. Kept from the terminal. Given back when the
 * body ends, or when test `t` ends (stopsAfter) if that is first: a body that timed out runs on,
 * and stderr would have stayed taken for the file's later tests.
 */
export async function withStderr<T>(t: TestContext, body: (written: string[]) => Promise<T>): Promise<T> {
  const written: string[] = [];
  const write = process.stderr.write;
  const taken = ((s: string | Uint8Array) => { written.push(typeof s === 'string' ? s : Buffer.from(s).toString()); return true; }) as typeof process.stderr.write;
  // Only our own taking is undone: a later test may have taken stderr in its turn.
  const giveBack = () => {
    if (process.stderr.write === taken) process.stderr.write = write;
  };
  stopsAfter(t)(giveBack);
  process.stderr.write = taken;
  try {
    return await body(written);
  } finally {
    giveBack();
  }
}

/**
 * How many jobs of queue `name` are in `states`. Fails once Redis is gone rather than wait for it
 * (no reconnect): a test's Redis is killed as the test ends, and a count still asked for by a body
 * that timed out waited for ever, its client reconnecting, and kept the file's process alive.
 */
export async function queueLeft(url: string, name: string, states = ['wait', 'active', 'completed', 'failed', 'delayed']): Promise<number> {
  const { Queue } = await import('bullmq');
  const q = new Queue(name, { connection: { ...redisOptions(url), retryStrategy: () => null } });
  try {
    const c = await q.getJobCounts(...(states as JobType[]));
    return Object.values(c).reduce((a, b) => a + b, 0);
  } finally {
    await q.close();
  }
}

/**
 * Resolves once `done()` holds, looking every `everyMs`; fails with `what` (the thing awaited, and
 * what was seen) at the look after `tries`. A bound for something a test waits to see happen, not a timing.
 */
export async function until(done: () => boolean | Promise<boolean>, what: string | (() => string), tries = 400, everyMs = 50): Promise<void> {
  for (let i = 0; !(await done()); i++) {
    assert.ok(i < tries, typeof what === 'string' ? what : what());
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
