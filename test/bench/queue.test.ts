/**
 * The distributed bar: two workers finish a grid put on Redis by a `selfopt bench --queue`
 * coordinator, one of them (a `selfopt worker` process) is SIGKILLed mid-run, and the store ends
 * with every cell exactly once, with the same seeded metrics as the same grid run locally. And
 * what it rests on: Redis URLs (a password never shown), job ids, the gate that keeps a timed
 * problem's cells alone, a Redis that cannot be reached or refuses the login.
 * Debian's redis-server runs on a free loopback port; the test skips visibly when it is absent.
 *
 * Where a test is about the queue (what is enqueued, re-run, recorded), its coordinator
 * (runBench) and workers (startWorker, as `selfopt worker` runs it) run in this process: a
 * process start each cost seconds on a loaded machine, and these tests took a minute and failed
 * there now and then. A test whose point is a process boundary (a signal, an exit code, a
 * process killed) keeps that process, and only it.
 *
 * The queue's other tests: the coordinator's (queue-coordinator.test.ts), cells that fail or are
 * refused (queue-failures.test.ts), how a worker stops (queue-stop.test.ts), Redis going away
 * (queue-outage.test.ts), jobs lost to a worker (queue-lost.test.ts); their shared set-up is
 * queue-helpers.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SelfoptError } from '../../src/core/errors.js';
import { runBench, planGrid } from '../../src/bench/runner.js';
import { ResultsStore, cellKey } from '../../src/bench/store.js';
import { cellJobId, checkRedis, redisOptions } from '../../src/bench/queue.js';
import { ConcurrencyGate } from '../../src/bench/queue-worker.js';
import { CLI, INSTANCES, SEEDS, SOLVERS, options, queueBed, queueLeft, stopsAfter, until, workerHere, workerProcess } from './queue-helpers.js';
import { child, freePort, skip, startRedis } from './redis-server.js';

/** Measured time, not a seeded result: left out of the equality check. */
const TIMED = new Set(['partition_ms']);

test('redisOptions parses redis URLs and rejects others with one clear error', () => {
  const o = redisOptions('redis://user:p%40ss@10.0.0.2:6380/3');
  assert.deepEqual([o.host, o.port, o.db, o.username, o.password], ['10.0.0.2', 6380, 3, 'user', 'p@ss']);
  assert.equal(redisOptions('redis://localhost').port, 6379);
  assert.throws(() => redisOptions('http://localhost:6379'), SelfoptError);
  assert.throws(() => redisOptions('not a url'), /not a URL/);
  assert.throws(() => redisOptions('redis://h:1/x'), /database 'x'/);
});

test('cellJobId is one id per (run, cell), legal for BullMQ', () => {
  const cell = planGrid(options())[0]!.cells[0]!;
  const id = cellJobId('20260101T000000000Z-abcd', cell);
  assert.equal(id, cellJobId('20260101T000000000Z-abcd', { ...cell, options: { other: '1' } } as typeof cell));
  assert.notEqual(id, cellJobId('20260101T000000000Z-abcd', { ...cell, seed: cell.seed + 1 }));
  assert.notEqual(id, cellJobId('20260101T000000000Z-abce', cell));
  assert.ok(!id.includes(':'));
});

test('ConcurrencyGate keeps a timed problem alone and within its maxConcurrency', async () => {
  const gate = new ConcurrencyGate((p) => (p === 'timed' ? 1 : undefined));
  const order: string[] = [];
  const cell = async (p: string, ms: number) => {
    await gate.enter(p);
    order.push(`+${p}`);
    await new Promise((r) => setTimeout(r, ms));
    order.push(`-${p}`);
    gate.leave(p);
  };
  await Promise.all([cell('free', 30), cell('free', 30), cell('timed', 5), cell('timed', 5)]);
  // The two free cells ran side by side; each timed cell ran alone.
  assert.deepEqual(order.slice(0, 2), ['+free', '+free']);
  for (let i = 0; i < order.length; i++) if (order[i] === '+timed') assert.equal(order[i + 1], '-timed', order.join(' '));
  assert.equal(order.length, 8);
});

test('an unreachable Redis is one clear error, not a hang', async () => {
  const port = await freePort();
  await assert.rejects(checkRedis(`redis://127.0.0.1:${port}`), /cannot reach Redis at redis:\/\/127\.0\.0\.1/);
});

test('an unreachable Redis, a refused login and a database the server lacks are each one error with the cause, the password hidden', { skip, timeout: 30_000 }, async (t) => {
  const stopLater = stopsAfter(t);
  const port = await freePort();
  await assert.rejects(checkRedis(`redis://127.0.0.1:${port}`), /^SelfoptError: cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+: connect ECONNREFUSED/);
  const redis = await startRedis(t.signal, port, 'sekret');
  stopLater(() => redis.proc.kill('SIGKILL'));
  const refused = (e: Error, why: RegExp) => {
    assert.ok(e instanceof SelfoptError, e.message);
    assert.match(e.message, why);
    assert.doesNotMatch(e.message, /bad-secret|sekret/, 'the password is not shown');
    return true;
  };
  await assert.rejects(checkRedis(`redis://127.0.0.1:${port}`), (e: Error) => refused(e, /refused the login: NOAUTH .*expected the server's password in the URL/));
  await assert.rejects(checkRedis(`redis://:bad-secret@127.0.0.1:${port}`), (e: Error) => refused(e, /Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ refused the login: WRONGPASS/));
  // Without the check ioredis stayed on database 0: a run would share it with whoever uses it.
  await assert.rejects(checkRedis(`redis://:sekret@127.0.0.1:${port}/99`), (e: Error) => refused(e, /refused database 99: ERR DB index is out of range.*expected a database number the server has/));
});

test("a run's recorded command shows a --queue URL's password as ***: the report and the dashboard show the command", { skip, timeout: 60_000 }, async (t) => {
  const stopLater = stopsAfter(t);
  const dir = mkdtempSync(join(tmpdir(), 'selfopt-queue-password-'));
  stopLater(() => rmSync(dir, { recursive: true, force: true }));
  const redis = await startRedis(t.signal, undefined, 'sekret');
  stopLater(() => redis.proc.kill('SIGKILL'));
  const { url } = redis;
  const port = new URL(url).port;
  const storePath = join(dir, 's.duckdb');
  // No worker: the coordinator records its run, enqueues the cell and waits; Ctrl-C then.
  const queueName = `password-${process.pid}`;
  const p = child(t.signal, process.execPath, [CLI, 'bench', 'partition', '--quick', '--instances', 'rgg_2k_k2', '--solvers', 'random', '--seeds', '1',
    '--queue', url, '--queue-name', queueName, '--store', storePath, '--no-html'], { stdio: 'ignore', cwd: dir });
  await until(async () => (await queueLeft(url, queueName)) >= 1, 'the coordinator enqueued the grid');
  p.kill('SIGINT');
  assert.equal(await new Promise((ok) => p.once('exit', ok)), 130);
  const store = await ResultsStore.open(storePath, { readOnly: true });
  stopLater(() => store.close());
  const runs = await store.runs();
  await store.close();
  assert.equal(runs.length, 1);
  // Quoted as a shell reads it back: *** would be a glob.
  assert.match(runs[0]!.command, new RegExp(`--queue 'redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}' `));
  assert.doesNotMatch(JSON.stringify(runs[0]), /sekret/);
});

test('two workers finish a grid with the local seeded results; a SIGKILLed worker loses no cell', { skip, timeout: 120_000 }, async (t) => {
  const stopLater = stopsAfter(t);
  const { dir, redis, queueName, close } = await queueBed(t.signal, 'test');
  stopLater(close);
  // The worker to kill is a process: its death is a process's. The other worker and the
  // coordinator run here; the survivor's stalled check (every 2 s) finds the killed one's cell.
  const victim = workerProcess(t.signal, redis.url, queueName);
  stopLater(() => victim.proc.kill('SIGKILL'));
  const { Queue } = await import('bullmq');
  const q = new Queue(queueName, { connection: redisOptions(redis.url) });
  stopLater(() => q.close());
  // The reference: the same grid, run in this process.
  const localStore = await ResultsStore.open(join(dir, 'local.duckdb'));
  stopLater(() => localStore.close());
  const local = await runBench(options({ signal: t.signal }), localStore);
  const localRows = await localStore.rows({ runId: local.runId });
  await localStore.close();

  // The victim dies holding a cell: at a `start` line (after its second cell) it is frozen with
  // SIGSTOP; if Redis then has that job unfinished, the victim holds it (running, or run and not
  // reported) and gets SIGKILL; otherwise it is thawed and the next `start` is tried. Redis
  // says so whatever the load, where the victim's output, read some time later, may not.
  let killedAt: string | undefined;
  let busy = false;
  victim.onLine((l) => {
    if (killedAt !== undefined || busy || !l.startsWith('start ') || victim.lines.filter((x) => x.startsWith('done ')).length < 2) return;
    busy = true;
    victim.proc.kill('SIGSTOP');
    const id = l.split(' ')[1]!;
    void q.getJob(id).then((job) => {
      if (job && job.finishedOn === undefined) {
        killedAt = id;
        victim.proc.kill('SIGKILL');
      } else {
        victim.proc.kill('SIGCONT');
      }
      busy = false;
    });
  });

  // Both workers are up before the cells go on the queue, so both get some.
  await victim.ready();
  const survivor = await workerHere(redis.url, queueName, 2000);
  stopLater(() => survivor.worker.close());
  const storePath = join(dir, 'queued.duckdb');
  const store = await ResultsStore.open(storePath);
  stopLater(() => store.close());
  const outcome = await runBench(options({ queue: redis.url, queueName, signal: t.signal }), store);
  const runs = await store.runs();
  const rows = await store.rows();
  await store.close();
  assert.ok(killedAt, 'the victim was killed');
  await new Promise<void>((ok) => (victim.proc.exitCode !== null || victim.proc.signalCode !== null ? ok() : victim.proc.on('exit', () => ok())));
  assert.equal(victim.proc.signalCode, 'SIGKILL');
  assert.equal(runs.length, 1);
  assert.ok(runs[0]!.finishedAt, 'the queued run is finished');

  // Every cell exactly once: one row per (cell, metric), the same cells and metrics as locally.
  const key = (r: { problem: string; instance: string; solver: string; seed: number; metric: string }) => `${cellKey(r.problem, r.instance, r.solver, r.seed)} ${r.metric}`;
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(key(r), (counts.get(key(r)) ?? 0) + 1);
  assert.equal(localRows.length, INSTANCES.length * SOLVERS.length * SEEDS * 4);
  assert.deepEqual([...counts.keys()].sort(), localRows.map(key).sort());
  assert.ok([...counts.values()].every((n) => n === 1), 'no cell recorded twice');

  // The same seeded metrics as the local run.
  const localValue = new Map(localRows.map((r) => [key(r), r.value]));
  for (const r of rows) if (!TIMED.has(r.metric)) assert.equal(r.value, localValue.get(key(r)), key(r));

  // Both workers ran cells; the killed one's cell was re-run by the other.
  const done = (lines: string[]) => lines.filter((l) => l.startsWith('done ')).map((l) => l.split(' ')[1]!);
  assert.ok(done(survivor.lines).length > 0 && done(victim.lines).length >= 2);
  assert.ok(done(survivor.lines).includes(killedAt), 'the surviving worker re-ran the killed cell');
  assert.ok((outcome.stalled ?? 0) >= 1, `${outcome.stalled} re-run after their worker stopped`);
  // What the coordinator recorded is gone from Redis; nothing is left on the queue.
  assert.equal(await queueLeft(redis.url, queueName), 0);
});
