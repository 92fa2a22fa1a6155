/**
 * A worker thread for memo.test.ts: shares the memo in `dir`, waits until `threads` threads have
 * started (so they ask at once), then asks for `key`. Its compute logs this thread's id to `log`
 * and returns values structured cloning keeps (NaN, -Infinity); in mode 'hold' it never returns, in
 * 'hold-first' the first thread to compute never returns (the log was empty) and the others do, and
 * in 'exit-first' the first ends its thread mid-compute (process.exit in a worker thread), as a
 * crashing cell does. In 'reenter' the compute asks for its own key, in 'reenter-nested' through
 * a memo call for another key; the thread posts the error it got as { error, name }.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { isMainThread, parentPort, threadId, workerData } from 'node:worker_threads';
import { sharedMemo, shareMemoIn } from '../../src/core/memo.js';

export interface MemoTask {
  dir: string;
  log: string;
  key: string;
  mode: 'compute' | 'hold' | 'hold-first' | 'exit-first' | 'reenter' | 'reenter-nested';
  /** Int32Array[1] over a SharedArrayBuffer: the threads started so far. */
  started: Int32Array;
  threads: number;
}

// `node --test dist/test/` also loads this file as a test file of its own, in the main thread: nothing to run there.
if (!isMainThread) run();

function run(): void {
  const task = workerData as MemoTask;
  const nap = new Int32Array(new SharedArrayBuffer(4));
  shareMemoIn(task.dir);
  Atomics.add(task.started, 0, 1);
  Atomics.notify(task.started, 0);
  for (let n = Atomics.load(task.started, 0); n < task.threads; n = Atomics.load(task.started, 0)) Atomics.wait(task.started, 0, n);
  parentPort!.postMessage('asking');
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
