/**
 * A memo for one-off preparations that every cell of a kind would otherwise redo: a tuned
 * heuristic's parameter sweep on training episodes (75-300 s on a stream instance), made on first
 * use and the same for every seed.
 *
 * `sharedMemo(key, compute)` returns compute()'s value, computed once per key. Within a thread the
 * value is kept in memory. The worker threads of one process also share a directory when they are
 * told one (`shareMemoIn`): the local runner makes it for its pool's lifetime, `selfopt worker` for
 * its own. The first thread to ask for a key takes the key's lock, computes, writes the value
 * (`<hash>.v8`, atomically) and lets the lock go; a thread asking meanwhile sleeps (Atomics.wait)
 * between looks until the value is there, then reads it instead of recomputing. Without a shared
 * directory (cells in the main thread, training scripts) it is the in-thread memo alone.
 *
 * The key must name everything the value depends on but the code (one process runs one code).
 * compute() may ask for other keys (a sweep that starts from another's answer) while it holds its
 * lock, as long as no two keys ask for each other. Such a cycle is an error (SelfoptError) as soon
 * as it closes. Within one thread (a compute that asks for its own key, directly or through the
 * keys it asks for) at once: the thread would wait for ever on the lock it holds. Across threads
 * (A computes X and asks for Y while B computes Y and asks for X) once the waits close the cycle:
 * every thread in it would wait for ever for another (see "Waits" below).
 * The value must survive structured cloning exactly (plain objects, arrays, numbers, NaN and
 * Infinity included): it crosses threads through v8.serialize.
 *
 * A holder that never lets go. compute() that throws lets the lock go (finally), and a waiter then
 * takes it and computes itself. A holder's thread that dies mid-compute (a crash, an out-of-memory
 * thread, terminate()) runs no finally: its lock stays, and a waiter sees that its holder is dead
 * and takes the lock over. `selfopt worker` needs this, as it keeps going after a cell fails; the
 * local runner ends the run and terminates its whole pool instead.
 *
 * The lock is a directory `<hash>.lock` holding one empty file named for its holder's thread,
 * `<pid>.<tid>.<start>`: the OS thread (Linux's /proc/thread-self) and its start time. A waiter
 * reads /proc/<pid>/task/<tid>/stat: no such thread, or one started at another time (the kernel
 * gave the tid to a later thread), and the holder is dead. There is no heartbeat: compute() is
 * synchronous (minutes of sweeping), so the holder's thread cannot refresh anything while it
 * computes, and a staleness bound would take a live holder on a loaded machine for dead.
 * Why the steps below give one holder at a time, without a moment where none can take the lock:
 * - Taking: a directory `<hash>.taking.<holder>` with the holder's file is renamed to the lock.
 *   rename() is atomic and replaces only an absent or empty directory, so the lock never appears
 *   without its holder, and of two takers one wins; the other finds the lock not empty.
 * - Letting go (the holder, or a waiter for a dead holder): unlink the holder's file, then remove
 *   the directory. Only one thread's unlink of that file succeeds, so two waiters that saw the same
 *   dead holder cannot both act on it; the loser loops and finds the winner's lock, or none. A
 *   holder's file is only ever created by its own thread, so a dead holder's name never comes back,
 *   and an unlink of it never removes a live holder. A taker may rename its directory over the
 *   empty one between the unlink and the removal: the removal then fails (not empty), rightly.
 *   A thread that dies in between leaves an empty directory, which the next rename replaces.
 * - A thread that dies while taking leaves only its `.taking.` directory, which nobody reads.
 * - Every taker looks for the value again after taking: a holder may have written it and let go
 *   between the taker's look and its take.
 * Where /proc is missing (not Linux) a holder's name is `<pid>.w<threadId>`, which no one can
 * check: a waiter then waits for it as long as it takes, and `selfopt worker` shares no directory
 * (`memoSeesDeadHolders`), each of its threads making its own sweeps.
 *
 * Waits. A thread that waits for a key writes the key to `waits.<holder>` (its own name, atomically)
 * before it sleeps, and removes the file when the wait ends, before anything else (a compute). At
 * each look it follows the chain: the key's holder, the key that holder waits for, that key's
 * holder, ...; a chain that comes back to this thread is a cycle (one that ends, or loops without
 * this thread, is not this thread's to report). The files and locks are read one at a time, while
 * the others move, so a chain read once may never have existed whole (B let Y go and then waited
 * for X, read as B holding Y and waiting for X). It is read again backwards, and only a chain
 * confirmed that way is reported. Why that read cannot be wrong: this thread, waiting, holds its
 * keys the whole time. A live thread that waits for a key held by a thread that cannot move cannot
 * move either: the key gets no value and is not let go (only its holder writes it, or lets it go),
 * so the waiter neither finishes nor takes it. Backwards, each step reads what the step before made
 * fixed: H_n waits for K_n, which this thread holds (from then on H_n cannot move); then H_n holds
 * K_{n-1} (a thread that cannot move holds that from then on); then H_{n-1} waits for K_{n-1}, and
 * so on to H_1 holding the key this thread waits for. At the last read the whole cycle stands, none
 * of its threads able to move. What can still end it: a thread of it that dies (a waiter would take
 * its locks over), or one that sees the cycle first and throws; either way the cycle was there.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { threadId } from 'node:worker_threads';
import { SelfoptError } from './errors.js';
import { writeFileAtomic } from './files.js';

const inThread = new Map<string, unknown>();
/** The keys whose compute() runs in this thread now, outermost first. */
const computing: string[] = [];
let sharedDir: string | undefined;

/** Shares this thread's memo through `dir` (a directory for one process's lifetime), or not (undefined). */
export function shareMemoIn(dir: string | undefined): void {
  sharedDir = dir;
}

/** compute()'s value for `key`, computed once per thread, or once per process with a shared directory. */
export function sharedMemo<T>(key: string, compute: () => T): T {
  if (inThread.has(key)) return inThread.get(key) as T;
  if (computing.includes(key)) {
    const chain = [...computing.slice(computing.indexOf(key)), key].map((k) => JSON.stringify(k)).join(' -> ');
    throw new SelfoptError(`re-entrant request for memo key ${JSON.stringify(key)}: asked for again while its own compute runs in this thread`,
      `shared memo, keys in compute: ${chain}`, 'a compute that does not ask for its own key, directly or through the keys it asks for');
  }
  computing.push(key);
  try {
    const value = sharedDir === undefined ? compute() : throughDir(sharedDir, key, compute);
    inThread.set(key, value);
    return value;
  } finally {
    computing.pop();
  }
}

/** Looks are cheap (a few stats); the first few come quickly for short computations, then 5 a second. */
const FIRST_LOOK_MS = 2;
const LOOK_EVERY_MS = 200;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

const keyName = (key: string) => createHash('sha256').update(key).digest('hex').slice(0, 32);
const lockOf = (dir: string, key: string) => join(dir, `${keyName(key)}.lock`);
const waitsOf = (dir: string, holder: string) => join(dir, `waits.${holder}`);

function throughDir<T>(dir: string, key: string, compute: () => T): T {
  const name = keyName(key);
  const entry = join(dir, `${name}.v8`), lock = lockOf(dir, key);
  const me = holderName();
  const waits = waitsOf(dir, me);
  let waiting = false;
  const stopWaiting = () => {
    if (waiting) rmSync(waits, { force: true });
    waiting = false;
  };
  try {
    for (let wait = FIRST_LOOK_MS; ; wait = Math.min(2 * wait, LOOK_EVERY_MS)) {
      if (existsSync(entry)) return readEntry<T>(entry, key);
      if (takeLock(lock, join(dir, `${name}.taking.${me}`), me)) {
        stopWaiting();
        try {
          // The holder before may have written the value and let go between the look and the lock.
          if (existsSync(entry)) return readEntry<T>(entry, key);
          const value = compute();
          writeFileAtomic(entry, serialize({ key, value }));
          return value;
        } finally {
          letGo(lock, me);
        }
      }
      const holder = lockHolder(lock);
      if (holder !== undefined && !holderAlive(holder)) {
        letGo(lock, holder); // then take it at once, or find that another waiter did
        continue;
      }
      if (!waiting) writeFileAtomic(waits, key);
      waiting = true;
      const cycle = holder === undefined ? undefined : waitCycle(dir, key, holder, me);
      if (cycle !== undefined) {
        const chain = cycle.map(({ key, holder }) => `${JSON.stringify(key)}, held by ${holder === me ? 'this thread' : `thread ${holder}`}`).join(', which waits for ');
        throw new SelfoptError('memo keys that wait for each other across threads: each thread waits for ever for a key another one computes',
          `shared memo, this thread waits for ${chain}`, "computes that do not ask for each other's keys, directly or through the keys they ask for");
      }
      Atomics.wait(sleeper, 0, 0, wait);
    }
  } finally {
    stopWaiting();
  }
}

/**
 * The cycle of waits through this thread (`me`, waiting for `key`, which `holder` holds), as the
 * keys waited for, each with its holder, the last one held by this thread; undefined if there is
 * none. Read forward, then confirmed backward ("Waits" in the header says why that is enough).
 */
function waitCycle(dir: string, key: string, holder: string, me: string): { key: string; holder: string }[] | undefined {
  const links = [{ key, holder }];
  const seen = new Set<string>();
  for (let h = holder; h !== me; ) {
    // A loop without this thread (its threads see it themselves), or a dead holder (a waiter takes its locks over).
    if (seen.has(h) || !holderAlive(h)) return undefined;
    seen.add(h);
    const k = waitingFor(dir, h);
    const next = k === undefined ? undefined : lockHolder(lockOf(dir, k));
    if (k === undefined || next === undefined) return undefined;
    links.push({ key: k, holder: next });
    h = next;
  }
  for (let i = links.length - 1; i >= 1; i--) {
    const waiter = links[i - 1]!.holder;
    if (waitingFor(dir, waiter) !== links[i]!.key) return undefined;
    if (lockHolder(lockOf(dir, links[i - 1]!.key)) !== waiter || !holderAlive(waiter)) return undefined;
  }
  return links;
}

/** The key `holder` waits for, if it waits. */
function waitingFor(dir: string, holder: string): string | undefined {
  try {
    return readFileSync(waitsOf(dir, holder), 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Takes the lock directory: a directory holding one empty file named for the holder, made under
 * another name and renamed into place, so the lock never appears without its holder. The rename
 * succeeds when the lock is absent or empty (let go of, its directory not yet removed), and fails
 * when another holder's name is in it.
 */
function takeLock(lock: string, making: string, me: string): boolean {
  try {
    rmSync(making, { recursive: true, force: true });
    mkdirSync(making);
    writeFileSync(join(making, me), '');
    renameSync(making, lock);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') {
      throw new SelfoptError(`cannot take the memo lock ${lock}: ${(e as Error).message}`, 'shared memo', 'the directory the bench run or worker made for its threads, writable until it ends');
    }
    rmSync(making, { recursive: true, force: true });
    return false;
  }
}

/** The name of the lock's holder; undefined when there is no lock, or it is being let go of. */
function lockHolder(lock: string): string | undefined {
  try {
    return readdirSync(lock)[0];
  } catch {
    return undefined;
  }
}

/**
 * Lets go of the lock held by `holder` (this thread, or a dead one): removes the holder's file,
 * which one thread alone can do, and then the directory, unless a taker has already renamed its
 * own over the empty one (the removal then fails, and rightly).
 */
function letGo(lock: string, holder: string): void {
  try {
    unlinkSync(join(lock, holder));
  } catch {
    return; // another waiter let go of the dead holder's lock first
  }
  try {
    rmdirSync(lock);
  } catch {
    // taken again already, or removed
  }
}

let myName: string | undefined;

/**
 * This thread as a lock's holder, `<pid>.<tid>.<start>`: its OS thread (Linux names it in
 * /proc/thread-self) and that thread's start time, so that a later thread given the same tid is
 * not taken for it. Where there is no /proc, `<pid>.w<threadId>`, a holder no one can check.
 */
function holderName(): string {
  if (myName !== undefined) return myName;
  let m: RegExpExecArray | null = null;
  let stat: string | undefined;
  try {
    m = /^(\d+)\/task\/(\d+)$/.exec(readlinkSync('/proc/thread-self')); // `<pid>/task/<tid>`
    stat = readFileSync('/proc/thread-self/stat', 'utf8');
  } catch {
    m = null;
  }
  myName = m && stat !== undefined ? `${m[1]}.${m[2]}.${startTime(stat)}` : `${process.pid}.w${threadId}`;
  return myName;
}

/** Whether this system lets a waiter tell that a lock's holder died (Linux: /proc/thread-self). */
export function memoSeesDeadHolders(): boolean {
  return /^\d+\.\d+\.\d+$/.test(holderName());
}

/** Whether the thread `holder` names runs: gone from /proc, or a later thread under its tid, it died. */
function holderAlive(holder: string): boolean {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(holder);
  if (!m) return true; // a holder no one can check
  let stat: string;
  try {
    stat = readFileSync(`/proc/${m[1]}/task/${m[2]}/stat`, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code !== 'ENOENT' && code !== 'ESRCH';
  }
  return startTime(stat) === m[3];
}

/**
 * A thread's start time (clock ticks since boot) in its /proc stat line, `tid (comm) state ...`:
 * comm may hold spaces and parentheses, so fields count from the last ')'; starttime is field 22.
 */
function startTime(stat: string): string {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
}

function readEntry<T>(entry: string, key: string): T {
  const stored = deserialize(readFileSync(entry)) as { key: string; value: T };
  // Two keys of one 128-bit hash: never expected, but then the other's value must not be returned.
  if (stored.key !== key) throw new SelfoptError(`memo entry ${entry} holds key ${JSON.stringify(stored.key)}`, 'shared memo', `key ${JSON.stringify(key)}`);
  return stored.value;
}
