/**
 * A memo for one-off preparations that every cell of a kind would otherwise redo: a tuned
 * heuristic's parameter sweep on training episodes (75-300 s on a stream instance), made on first
 * use and the same for every seed.
 *
 * `sharedMemo(key, compute)` returns compute()'s value, computed once per key. Within a thread the
 * value is kept in memory. The worker threads of one bench process also share a directory (the
 * runner makes it for the pool's lifetime and names it to each thread, `shareMemoIn`): the first
 * thread to ask for a key takes the key's lock file (`<hash>.lock`, created exclusively), computes,
 * writes the value (`<hash>.v8`, atomically) and lets the lock go; a thread asking meanwhile sleeps
 * (Atomics.wait) between looks until the value is there, then reads it instead of recomputing.
 * Without a shared directory (cells in the main thread, `selfopt worker`'s threads, training
 * scripts) it is the in-thread memo alone.
 *
 * The key must name everything the value depends on but the code (one process runs one code).
 * compute() may ask for other keys (a sweep that starts from another's answer) while it holds its
 * lock, as long as no two keys ask for each other: two threads would then wait on each other.
 * The value must survive structured cloning exactly (plain objects, arrays, numbers, NaN and
 * Infinity included): it crosses threads through v8.serialize.
 *
 * A holder that never lets go: compute() that throws lets the lock go (finally), and a waiter then
 * takes the lock and computes itself. A holder's thread that dies mid-compute leaves its lock, and
 * a thread cannot see another thread's death; but in a bench run a thread dies mid-cell only when
 * its cell fails (a crash fails the task) or is abandoned (the first failure, Ctrl-C), and either
 * ends the run: the runner terminates every thread of the pool, the waiters with them (a waiter
 * runs JavaScript between looks, where termination takes it), and then removes the directory.
 * `selfopt worker` keeps going after a cell fails, so its pool shares no directory.
 */
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { SelfoptError } from './errors.js';
import { writeFileAtomic } from './files.js';

const inThread = new Map<string, unknown>();
let sharedDir: string | undefined;

/** Shares this thread's memo through `dir` (a directory for one process's lifetime), or not (undefined). */
export function shareMemoIn(dir: string | undefined): void {
  sharedDir = dir;
}

/** compute()'s value for `key`, computed once per thread, or once per process with a shared directory. */
export function sharedMemo<T>(key: string, compute: () => T): T {
  if (inThread.has(key)) return inThread.get(key) as T;
  const value = sharedDir === undefined ? compute() : throughDir(sharedDir, key, compute);
  inThread.set(key, value);
  return value;
}

/** Looks are cheap (two stats); the first few come quickly for short computations, then 5 a second. */
const FIRST_LOOK_MS = 2;
const LOOK_EVERY_MS = 200;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

function throughDir<T>(dir: string, key: string, compute: () => T): T {
  const name = createHash('sha256').update(key).digest('hex').slice(0, 32);
  const entry = join(dir, `${name}.v8`), lock = join(dir, `${name}.lock`);
  for (let wait = FIRST_LOOK_MS; ; wait = Math.min(2 * wait, LOOK_EVERY_MS)) {
    if (existsSync(entry)) return readEntry<T>(entry, key);
    if (!tryLock(lock)) {
      Atomics.wait(sleeper, 0, 0, wait);
      continue;
    }
    try {
      // The holder before may have written the value and let go between the look and the lock.
      if (existsSync(entry)) return readEntry<T>(entry, key);
      const value = compute();
      writeFileAtomic(entry, serialize({ key, value }));
      return value;
    } finally {
      rmSync(lock, { force: true });
    }
  }
}

function tryLock(lock: string): boolean {
  try {
    closeSync(openSync(lock, 'wx'));
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new SelfoptError(`cannot make the memo lock ${lock}: ${(e as Error).message}`, 'shared memo', 'the directory the bench run made for its threads, writable until the run ends');
  }
}

function readEntry<T>(entry: string, key: string): T {
  const stored = deserialize(readFileSync(entry)) as { key: string; value: T };
  // Two keys of one 128-bit hash: never expected, but then the other's value must not be returned.
  if (stored.key !== key) throw new SelfoptError(`memo entry ${entry} holds key ${JSON.stringify(stored.key)}`, 'shared memo', `key ${JSON.stringify(key)}`);
  return stored.value;
}
