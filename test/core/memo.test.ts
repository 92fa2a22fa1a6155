import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { sharedMemo, shareMemoIn } from '../../src/core/memo.js';
import { SelfoptError } from '../../src/core/errors.js';
import { tempDir } from '../tmp.js';
import { within } from '../stops.js';
import type { MemoTask } from './memo-task.js';

const TASK = new URL('./memo-task.js', import.meta.url);

function start(task: Omit<MemoTask, 'started' | 'threads'>, threads: number): { workers: Worker[]; each: Promise<unknown>[]; values: Promise<unknown[]> } {
  const started = new Int32Array(new SharedArrayBuffer(8));
  const workers = Array.from({ length: threads }, () => new Worker(TASK, { workerData: { ...task, started, threads } satisfies MemoTask }));
  const each = workers.map((w) => new Promise((ok, fail) => {
    w.on('message', (m) => { if (m !== 'asking') ok(m); });
    w.on('error', fail);
  }));
  return { workers, each, values: Promise.all(each) };
}

test('threads sharing a memo directory compute a key once; the others wait and read the same value, exactly', async () => {
  const dir = tempDir('selfopt-memo-test-');
  const log = join(dir, 'computed.log');
  writeFileSync(log, '');
  const { workers, values } = start({ dir, log, key: 'sweep', mode: 'compute' }, 3);
  const got = await values;
  await Promise.all(workers.map((w) => w.terminate()));
  const computedBy = readFileSync(log, 'utf8').split('\n').filter(Boolean).map(Number);
  assert.equal(computedBy.length, 1, `computed by threads ${computedBy.join(', ')}`);
  for (const v of got) assert.deepEqual(v, { by: computedBy[0], nan: NaN, low: -Infinity });
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.lock')), [], 'no lock is left');
});

test('a compute that throws lets the lock go: the next caller computes; without a directory the memo is per thread', () => {
  const dir = tempDir('selfopt-memo-test-');
  shareMemoIn(dir);
  try {
    assert.throws(() => sharedMemo('fails once', () => { throw new Error('sweep failed'); }), /sweep failed/);
    assert.deepEqual(readdirSync(dir), [], 'neither a lock nor a value is left');
    assert.equal(sharedMemo('fails once', () => 5), 5);
    assert.equal(sharedMemo('fails once', () => 6), 5);
  } finally {
    shareMemoIn(undefined);
  }
  let calls = 0;
  assert.equal(sharedMemo('in thread', () => ++calls), 1);
  assert.equal(sharedMemo('in thread', () => ++calls), 1);
  assert.equal(calls, 1);
});

test('a thread waiting for a holder that never lets go is ended by terminate(), as the runner ends its pool', async () => {
  const dir = tempDir('selfopt-memo-test-');
  const log = join(dir, 'computed.log');
  writeFileSync(log, '');
  const { workers } = start({ dir, log, key: 'held', mode: 'hold' }, 2);
  // One thread holds the lock (it logged itself), the other waits for it.
  while (readFileSync(log, 'utf8') === '') await new Promise((r) => setTimeout(r, 10));
  assert.ok(readdirSync(dir).some((f) => f.endsWith('.lock')));
  const codes = await Promise.all(workers.map((w) => w.terminate()));
  assert.deepEqual(codes, [1, 1], 'both threads were stopped, the waiter included');
  assert.equal(readFileSync(log, 'utf8').split('\n').filter(Boolean).length, 1, 'the waiter never computed');
  assert.ok(existsSync(dir));
});

for (const death of ['terminate', 'exit'] as const) {
  test(`a holder whose thread ends mid-compute (${death === 'terminate' ? 'terminate()' : 'process.exit in the thread'}) leaves its lock: the waiter sees the holder dead, takes the lock over and computes the value itself`, { timeout: 60_000 }, async () => {
    const dir = tempDir('selfopt-memo-test-');
    const log = join(dir, 'computed.log');
    writeFileSync(log, '');
    const { workers, each } = start({ dir, log, key: 'sweep', mode: death === 'terminate' ? 'hold-first' : 'exit-first' }, 2);
    const exits = workers.map((w) => new Promise((ok) => w.once('exit', ok)));
    const ids = workers.map((w) => w.threadId); // a Worker's threadId is -1 once its thread has ended
    try {
      while (readFileSync(log, 'utf8') === '') await new Promise((r) => setTimeout(r, 10));
      const holder = Number(readFileSync(log, 'utf8').split('\n')[0]); // the waiter may have computed already
      const h = ids.indexOf(holder);
      assert.ok(h >= 0, `the holder ${holder} is one of the two threads`);
      const waiter = ids[1 - h]!;
      if (death === 'terminate') assert.equal(await workers[h]!.terminate(), 1);
      else assert.equal(await exits[h], 3);
      // A bound, not a timing (the waiter looks 5 times a second): the old memo's waiter waited for ever.
      const value = await within(each[1 - h]!, 30_000);
      assert.deepEqual(value, { by: waiter, nan: NaN, low: -Infinity });
      assert.deepEqual(readFileSync(log, 'utf8').split('\n').filter(Boolean).map(Number), [holder, waiter]);
      assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.lock')), [], 'the dead holder\'s lock is gone with the waiter\'s');
    } finally {
      await Promise.all(workers.map((w) => w.terminate()));
    }
  });
}

/** The re-entrant request's error: what (the key, re-entrant), where (the chain of keys), what was expected. */
function reentrantError(message: string, chain: string[]): void {
  assert.match(message, /^re-entrant request for memo key "sweep": asked for again while its own compute runs in this thread \(at /);
  assert.ok(message.includes(`(at shared memo, keys in compute: ${chain.map((k) => JSON.stringify(k)).join(' -> ')})`), message);
  assert.match(message, /; expected a compute that does not ask for its own key, directly or through the keys it asks for$/);
}

for (const mode of ['reenter', 'reenter-nested'] as const) {
  const how = mode === 'reenter' ? 'directly' : 'through a memo call for another key';
  test(`a compute that asks for its own key (${how}) in a thread sharing a directory fails at once with one SelfoptError, not wait for ever on its own lock`, { timeout: 60_000 }, async () => {
    const dir = tempDir('selfopt-memo-test-');
    const { workers, each } = start({ dir, log: join(dir, 'computed.log'), key: 'sweep', mode }, 1);
    try {
      // A bound, not a timing: the old memo's thread waited for its own lock for ever.
      const got = await within(each[0]!, 20_000);
      const { error, name } = got as { error: string; name: string };
      assert.equal(name, 'SelfoptError', String(got));
      reentrantError(error, mode === 'reenter' ? ['sweep', 'sweep'] : ['sweep', 'sweep (inner)', 'sweep']);
      assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.lock') || f.endsWith('.v8')), [], 'its lock let go, no value written');
    } finally {
      await Promise.all(workers.map((w) => w.terminate()));
    }
  });
}

test('without a shared directory a compute that asks for its own key fails with the same error (it computed the key twice, the inner value lost), and the key can be asked for again', () => {
  const err = (() => {
    try {
      sharedMemo('sweep', () => sharedMemo('sweep (inner)', () => sharedMemo('sweep', () => 1)));
    } catch (e) {
      return e;
    }
  })();
  assert.ok(err instanceof SelfoptError, String(err));
  reentrantError(err.message, ['sweep', 'sweep (inner)', 'sweep']);
  assert.equal(sharedMemo('sweep', () => 2), 2);
});

test('two threads whose computes ask for each other\'s key (thread A computes X and asks for Y, thread B computes Y and asks for X) fail with SelfoptErrors naming the keys, not wait on each other for ever', { timeout: 60_000 }, async (t) => {
  const dir = tempDir('selfopt-memo-test-');
  const { workers, each } = start({ dir, log: join(dir, 'computed.log'), key: 'sweep', mode: 'cross' }, 2);
  // Ended after the test, also one that timed out (a finally after its body would not run then):
  // threads still waiting on each other kept this file's process alive.
  t.after(() => Promise.all(workers.map((w) => w.terminate())));
  // A bound, not a timing: the old memo's threads waited on each other for ever.
  const got = await within(Promise.all(each), 20_000);
  assert.ok(Array.isArray(got), String(got));
  const errors = (got as { error: string; name: string }[]).map(({ error, name }) => {
    assert.equal(name, 'SelfoptError', error);
    return error;
  });
  // One thread sees the cycle; the other, its key's lock let go, may take that key over and
  // compute it, whose compute then asks for the key this thread computes: re-entrant.
  const cycle = /^memo keys that wait for each other across threads: each thread waits for ever for a key another one computes \(at shared memo, this thread waits for "sweep ([01])", held by thread \d+\.\d+\.\d+, which waits for "sweep ([01])", held by this thread\); expected computes that do not ask for each other's keys, directly or through the keys they ask for$/;
  const seen = errors.filter((e) => cycle.test(e));
  assert.ok(seen.length >= 1, errors.join('\n'));
  for (const e of seen) assert.notEqual(cycle.exec(e)![1], cycle.exec(e)![2], e);
  for (const e of errors) assert.ok(cycle.test(e) || /^re-entrant request for memo key "sweep [01]"/.test(e), e);
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.lock') || f.endsWith('.v8') || f.startsWith('waits.')), [], 'the locks let go, no value written, no wait left');
});
