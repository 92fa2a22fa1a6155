/**
 * A worker thread for memo.test.ts: shares the memo in `dir`, waits until `threads` threads have
 * started (so they ask at once), then asks for `key`. Its compute logs this thread's id to `log`
 * and returns values structured cloning keeps (NaN, -Infinity); in mode 'hold' it never returns, in
 * 'hold-first' the first thread to compute never returns (the log was empty) and the others do, and
 * in 'exit-first' the first ends its thread mid-compute (process.exit in a worker thread), as a
 * crashing cell does. In 'reenter' the compute asks for its own key, in 'reenter-nested' through
 * a memo call for another key; the thread posts the error it got as { error, name }. In 'cross'
 * (two threads) thread i asks for `<key> <i>`, whose compute asks for the other thread's key once
 * both threads hold their key's lock: a cycle across threads; it posts its error the same way.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { isMainThread, parentPort, threadId, workerData } from 'node:worker_threads';
import { sharedMemo, shareMemoIn } from '../../src/core/memo.js';

export interface MemoTask {
  dir: string;
  log: string;
  key: string;
  mode: 'compute' | 'hold' | 'hold-first' | 'exit-first' | 'reenter' | 'reenter-nested' | 'cross';
  /** Int32Array[2] over a SharedArrayBuffer: the threads started so far; in 'cross', the threads holding their key. */
  started: Int32Array;
  threads: number;
}

// `node --test dist/test/` also loads this file as a test file of its own, in the main thread: nothing to run there.
if (!isMainThread) run();

function run(): void {
  const task = workerData as MemoTask;
  const nap = new Int32Array(new SharedArrayBuffer(4));
  shareMemoIn(task.dir);
  const i = Atomics.add(task.started, 0, 1);
  Atomics.notify(task.started, 0);
  waitFor(task.started, 0, task.threads);
  parentPort!.postMessage('asking');
  if (task.mode === 'cross') {
    // Key j's compute, the same in every thread: once two computes hold their keys, it asks for key 1 - j.
    const value = (j: number): string => sharedMemo(`${task.key} ${j}`, () => {
      Atomics.add(task.started, 1, 1);
      Atomics.notify(task.started, 1);
      waitFor(task.started, 1, 2);
      return value(1 - j);
    });
    try {
      parentPort!.postMessage(value(i));
    } catch (e) {
      parentPort!.postMessage({ error: (e as Error).message, name: (e as Error).name });
    }
    return;
  }
  if (task.mode === 'reenter' || task.mode === 'reenter-nested') {
    const again = () => sharedMemo(task.key, () => 'computed twice');
    try {
      parentPort!.postMessage(sharedMemo(task.key, task.mode === 'reenter' ? again : () => sharedMemo(`${task.key} (inner)`, again)));
    } catch (e) {
      parentPort!.postMessage({ error: (e as Error).message, name: (e as Error).name });
    }
    return;
  }
  const value = sharedMemo(task.key, () => {
    const first = readFileSync(task.log, 'utf8') === '';
    appendFileSync(task.log, `${threadId}\n`);
    if (task.mode === 'hold' || (task.mode === 'hold-first' && first)) for (;;) Atomics.wait(nap, 0, 0, 10);
    if (task.mode === 'exit-first' && first) process.exit(3);
    Atomics.wait(nap, 0, 0, 50); // long enough that the others find the lock taken
    return { by: threadId, nan: NaN, low: -Infinity };
  });
  parentPort!.postMessage(value);
}

/** Sleeps until `count[at]` is at least `n`. */
function waitFor(count: Int32Array, at: number, n: number): void {
  for (let k = Atomics.load(count, at); k < n; k = Atomics.load(count, at)) Atomics.wait(count, at, k);
}
