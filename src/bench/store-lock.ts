/**
 * The results store's writer lock: one bench writes a store at a time (store-lease.ts says how
 * readers share the file with it).
 *
 * A writing store holds the store's writer lock from open to close: two benches cannot write one
 * store at once, and the second is told who holds it. The lock is a directory, `<store>.wlock`,
 * holding one file named for its holder, `<pid>.<token>`, whose text names the process (PID,
 * host, start time). The token is random per take, so a holder's name never comes back. A lock
 * whose process is gone (killed, crashed) is taken over. The steps, and why they give one holder
 * at a time (as src/core/memo.ts's lock does):
 * - Taking: a private directory holding the holder's file is renamed to `<store>.wlock`. rename()
 *   is atomic and replaces only an absent or empty directory, so the lock never appears without
 *   its holder, and of two takers one wins; the other finds the lock not empty.
 * - Letting go (closing, or a taker that judged the holder dead): unlink the holder's file, then
 *   remove the directory. The unlink names the very holder that was judged, so it can remove no
 *   other, and of two takers that judged one dead holder only one unlink succeeds. A taker may
 *   rename its directory over the empty one between the unlink and the removal: the removal then
 *   fails (not empty), rightly. A process that dies in between leaves an empty directory, which
 *   the next rename replaces.
 * - Why not a file: the lock was one (`<store>.writer`, with a guard `<store>.wtake` for the
 *   takeover), and a stale one was removed by reading it and removing it if its text was still
 *   the one judged stale. Read and remove are two steps on a name anyone may fill again in
 *   between: a taker that read a dead taker's guard could, once a second taker had removed that
 *   guard and a third had made its own, remove the third's; two takers then ran the takeover at
 *   once, and two benches could believe they held the store. Renaming the judged file to a
 *   private name first and checking what came is no better: a fresh file taken away by mistake
 *   leaves the name free, and a third may take it before it is put back.
 *
 * Older selfopts kept the lock at `<store>.writer`: a file up to c6d551b, then the directory this
 * one keeps at `<store>.wlock`. One of the first kind read the directory as its lock file and
 * stopped on a raw EISDIR. So the holder of `<store>.wlock` also puts its text, as a file, at
 * `<store>.writer` (claimOlderName) before it writes the store, until it lets go: both kinds read
 * that as a live holder, and wait or say who holds the store. A lock an older selfopt holds there
 * (its file or its directory) is read as a holder too: this one gives `<store>.wlock` back and
 * waits (looking again at growing intervals, as at any live holder), or lets it go if its process
 * is gone (a file with unlink, which cannot remove a directory lock taken meanwhile).
 * Only the holder of `<store>.wlock` touches `<store>.writer`, so selfopts of this version never
 * race there; an older one taking over a holder that died, at the same instant as this one, could,
 * as older ones raced each other. A takeover guard `<store>.wtake` an older one left is removed by
 * the bench that takes the lock (removeOldTakeoverGuard says why that is safe). A lock of a form
 * no selfopt made (a directory in the lock directory) is one error, not read.
 */
import { randomBytes } from 'node:crypto';
import { linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { SelfoptError, errorMessage } from '../core/errors.js';
import { processAlive } from '../core/files.js';
import { procStat } from '../core/procfs.js';
import { StoreBusyError } from './store-file.js';

/** Readers and writers retry a held file this often (an open of a held file fails at once). */
export const POLL_MS = 10;
/**
 * How long opening a store waits while another process holds the file. A dashboard read takes
 * milliseconds and a writing bench lets go within MAX_HOLD_MS; a store another bench writes
 * (its writer lock) is refused after this wait.
 */
export const BUSY_WAIT_MS = 5_000;
/**
 * How often, at most, a take looks again at a writer lock a live process holds: from POLL_MS,
 * doubling up to this. Each look makes a directory and tries to rename it into place (at a lock an
 * older selfopt holds, it takes this version's lock, which other takers then see held, and gives
 * it back): every POLL_MS that was ~500 looks in a BUSY_WAIT_MS wait, now ~20. The price: the take
 * comes up to this long after the holder lets go, which a bench does at the end of its run.
 */
export const POLL_MAX_MS = 320;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface LockOwner {
  pid: number;
  host: string;
  /** The process's start time in clock ticks since boot (Linux), so a reused PID is not taken for it. */
  start: string | null;
  /** Random per take (and per notice): a holder's file name, which never comes back. */
  token?: string;
}

/** A lock's holder as read: the file whose unlink lets the lock go, and its owner (null: does not parse). */
interface Holder {
  /** The lock it holds: `<store>.wlock`, or `<store>.writer` as older selfopts made it. */
  lock: string;
  file: string;
  owner: LockOwner | null;
}

/** The writer lock: a directory holding its holder's file. */
export function writerLockPath(abs: string): string {
  return `${abs}.wlock`;
}

/**
 * Where older selfopts look for the lock, and where its holder's text also stands, as a file: an
 * older selfopt read the lock as a file there, and failed on a directory with a raw EISDIR.
 */
export function olderLockPath(abs: string): string {
  return `${abs}.writer`;
}

/**
 * For tests, so that they set an interleaving of processes rather than hope for it:
 * - `judgedStale` runs after a writer lock's holder is judged dead and before it is let go of, so
 *   a test can run other takers in that window (benches judging one lock at one instant);
 * - `beforeOpen` runs before each attempt to open the file (a writer's after letReadersIn);
 * - `readersTurn` runs when a writer has found reader notices, before it waits for them;
 * - `holderWait` runs when a take has found the lock held by a live process (this version's lock,
 *   or an older selfopt's), with the interval before it looks again, before it waits.
 */
export const lockHooks = {
  judgedStale: null as null | ((lock: string) => void | Promise<void>),
  beforeOpen: null as null | ((abs: string, readOnly: boolean) => void | Promise<void>),
  readersTurn: null as null | ((abs: string, notices: string[]) => void | Promise<void>),
  holderWait: null as null | ((abs: string, intervalMs: number) => void | Promise<void>),
};

/** A lock held by this process: its holder's file, and the store whose older-form name carries its text. */
interface Held {
  abs: string;
  file: string;
  text: string;
}

/** Locks held by this process, let go on exit if the store was never closed (an uncaught error). */
const heldLocks = new Map<string, Held>();
let exitHook = false;

/**
 * Takes the store's writer lock, waiting up to BUSY_WAIT_MS for a live holder: looking again at
 * intervals doubling from POLL_MS up to POLL_MAX_MS. A lock whose process is gone (killed,
 * crashed) is taken over. Throws StoreBusyError naming the holder.
 */
export async function takeWriterLock(abs: string): Promise<string> {
  const lock = writerLockPath(abs);
  const me = thisProcess();
  const name = `${me.pid}.${me.token}`;
  const text = JSON.stringify(me);
  const until = Date.now() + BUSY_WAIT_MS;
  let interval = POLL_MS;
  for (;;) {
    let holder: Holder | undefined;
    if (takeLock(lock, name, text)) {
      try {
        holder = claimOlderName(abs, name, text);
      } catch (e) {
        letGo(lock, join(lock, name));
        throw e;
      }
      if (holder === undefined) break;
      // An older selfopt holds the store: ours is given back while we wait for it.
      letGo(lock, join(lock, name));
    } else {
      holder = lockHolder(lock);
      if (holder === undefined) continue; // let go of between our take and the look: take it now
      // A holder whose text does not parse was not written whole: not by selfopt, which writes it
      // before the lock appears.
      if (holder.owner === null || !alive(holder.owner)) {
        await lockHooks.judgedStale?.(lock);
        letGo(lock, holder.file);
        continue;
      }
    }
    const owner = holder.owner!;
    const left = until - Date.now();
    if (left < POLL_MS) {
      const where = owner.host === hostname() ? `PID ${owner.pid}` : `PID ${owner.pid} on ${owner.host}`;
      const remove = holder.lock === lock ? `${lock} and ${olderLockPath(abs)}` : holder.lock;
      throw new StoreBusyError(`the results store is in use by another process (${where})`, abs, `one selfopt process writing a store at a time: wait for it to finish, or pass --store with another path (if no selfopt runs as ${where}, remove ${remove} with rm -r)`);
    }
    await lockHooks.holderWait?.(abs, interval);
    // The last look comes at the end of the wait, not an interval past it.
    await sleep(Math.min(interval, left));
    interval = Math.min(2 * interval, POLL_MAX_MS);
  }
  removeOldTakeoverGuard(abs);
  heldLocks.set(lock, { abs, file: join(lock, name), text });
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const l of [...heldLocks.keys()]) dropWriterLock(l);
    });
  }
  return lock;
}

/**
 * With the writer lock held, puts its holder's text at `<store>.writer` as a file (written whole:
 * a private file linked into place, which fails on any name there), where older selfopts read
 * the lock: they then find it held by a live process and say so. Returns undefined once it is
 * there, or the live holder of a lock an older selfopt took there (a file, or the directory of
 * the selfopt before this one), which the caller waits for. One a gone process left is let go
 * of. Only this process, holding the writer lock, does that among selfopts of this version;
 * older ones that judged the same dead holder could race it, as they raced each other.
 */
function claimOlderName(abs: string, name: string, text: string): Holder | undefined {
  const older = olderLockPath(abs);
  for (;;) {
    if (linkWhole(older, name, text)) return undefined;
    const holder = lockHolder(older);
    if (holder === undefined) {
      // An empty directory: its holder (the selfopt before this one) died letting go; link()
      // does not replace it as rename() did.
      try {
        rmdirSync(older);
      } catch {
        // taken again already, or removed
      }
      continue;
    }
    if (holder.owner !== null && alive(holder.owner)) return holder;
    letGo(older, holder.file);
  }
}

/**
 * Removes `<store>.wtake`, which an older selfopt made while it took a stale lock file over and
 * left when it died in between: nothing of this selfopt reads it, so it stayed for good. Called
 * with the lock held, when it is safe: that guard did one thing, keep two older takers from both
 * removing one stale lock file at `<store>.writer`, and that name carries this live process's
 * text now, which an older selfopt neither removes nor starts a takeover of. An older taker that
 * made its guard just before this lock was taken finds it gone at its end, and then removes
 * nothing (it removes its guard only if it still holds its own text). unlink, not rm -r: a
 * directory of that name is no guard of ours.
 */
function removeOldTakeoverGuard(abs: string): void {
  try {
    unlinkSync(`${abs}.wtake`);
  } catch {
    // none (nearly always), or not a file
  }
}

/**
 * Lets the writer lock go. It may no longer be ours: taken over as stale (our start time misread),
 * or removed by hand as the busy error suggests and since taken by another bench. Only our own
 * holder's file is unlinked, so another's lock stays; the text at `<store>.writer` is removed
 * first, and only while it is ours (with this version's lock held, only an older selfopt that
 * judged this process dead would have replaced it).
 */
export function dropWriterLock(lock: string): void {
  const held = heldLocks.get(lock);
  heldLocks.delete(lock);
  if (held === undefined) return;
  const older = olderLockPath(held.abs);
  let text: string | undefined;
  try {
    text = readFileSync(older, 'utf8');
  } catch {
    // gone, or a directory: not ours
  }
  if (text === held.text) rmSync(older, { force: true });
  letGo(lock, held.file);
}

/**
 * Takes the lock if it is free: a private directory holding the holder's file (written whole) is
 * renamed into place. The private name is short, so a store whose own name is near the file-name
 * limit still gets its lock. A lock that cannot be made (a read-only directory) is one SelfoptError.
 */
function takeLock(lock: string, name: string, text: string): boolean {
  const making = join(dirname(lock), `.selfopt-writer.${name}`);
  let ready = false;
  try {
    mkdirSync(making);
    writeFileSync(join(making, name), text);
    ready = true;
    renameSync(making, lock);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // The rename found a lock: a holder's directory (not empty), or a file in the way.
    if (ready && (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR')) return false;
    throw lockNotMade(lock, e);
  } finally {
    rmSync(making, { recursive: true, force: true });
  }
}

/** Makes `path` a file holding `text` if nothing is there (a private file linked into place). */
function linkWhole(path: string, name: string, text: string): boolean {
  const making = join(dirname(path), `.selfopt-wtext.${name}`);
  try {
    writeFileSync(making, text, { flag: 'wx' });
    linkSync(making, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw lockNotMade(path, e);
  } finally {
    rmSync(making, { force: true });
  }
}

function lockNotMade(lock: string, e: unknown): SelfoptError {
  const code = (e as NodeJS.ErrnoException).code;
  const expected = code === 'ENAMETOOLONG' ? 'a store file name short enough to take the suffix .writer (248 characters at most)'
    : 'a directory this user can write: a bench keeps its writer lock and DuckDB\'s log beside the store (`selfopt report` and the dashboard read a store on a read-only directory)';
  // The message without the private name, which would only confuse.
  return new SelfoptError(`cannot create the store's writer lock ${lock} (${errorMessage(e).replace(/,.*$/s, '')})`, dirname(lock), expected);
}

/**
 * The lock's holder; undefined when there is none (no lock, or one being let go of). A lock of
 * a form no selfopt made (a directory in the lock directory, a pipe) is one SelfoptError: read
 * as a holder it was a raw EISDIR, or a read that never returns.
 */
function lockHolder(lock: string): Holder | undefined {
  let file = lock;
  try {
    const names = readdirSync(lock);
    if (names.length === 0) return undefined;
    file = join(lock, names[0]!);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    // Not a directory: a lock file, as older selfopts made them; the file is its holder.
    if (code !== 'ENOTDIR') throw e;
  }
  const kind = entryKind(file);
  if (kind === undefined) return undefined;
  if (kind !== 'file') {
    throw new SelfoptError(`the store's writer lock ${lock} is not one selfopt made (${file} is not a file)`, lock, `a writer lock of a selfopt: the directory ${basename(lock)} holding its holder's file, or an older selfopt's lock file ${basename(lock)}; if no selfopt writes this store, remove ${lock} with rm -r`);
  }
  const owner = readOwner(file);
  return owner === undefined ? undefined : { lock, file, owner };
}

/**
 * Lets go of the lock held through `file` (this process's holder, a dead one, or an older
 * selfopt's lock file): unlinks that file, which one process alone can do and which names no
 * other holder, then removes the directory unless a taker has renamed its own over the empty one.
 */
function letGo(lock: string, file: string): void {
  try {
    unlinkSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // Gone: let go of by another taker, or removed by hand. Or a directory where an older
    // selfopt's lock file was (unlink cannot remove one): a lock taken meanwhile.
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'EPERM') return;
    throw e;
  }
  if (file === lock) return;
  try {
    rmdirSync(lock);
  } catch {
    // taken again already, or removed
  }
}

// --- owners of a lock or a notice ----------------------------------------------------------------

/**
 * What is at `path`, not following a link: 'file', 'directory' or 'other' (a pipe, a link...);
 * undefined when nothing is. A lock's holder and a reader's notice are files: read as one, a
 * directory was a raw EISDIR, and a pipe a read that never returns.
 */
export function entryKind(path: string): 'file' | 'directory' | 'other' | undefined {
  try {
    const s = lstatSync(path);
    return s.isFile() ? 'file' : s.isDirectory() ? 'directory' : 'other';
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** This process as a lock's holder or a notice's reader, with a fresh token. */
export function thisProcess(): LockOwner {
  return { pid: process.pid, host: hostname(), start: processStart(process.pid), token: randomBytes(8).toString('hex') };
}

/** The owner a lock's holder file or a notice names; null if its text does not parse, undefined if it is gone. */
export function readOwner(path: string): LockOwner | null | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const o = JSON.parse(text) as LockOwner;
    return Number.isSafeInteger(o.pid) && typeof o.host === 'string' ? o : null;
  } catch {
    return null;
  }
}

export function alive(o: LockOwner): boolean {
  // Another machine's process (a store on a shared disk) cannot be asked: taken to be running.
  if (o.host !== hostname()) return true;
  if (!processAlive(o.pid)) return false;
  const stat = procStat(o.pid);
  // A killed bench whose parent has not reaped it (a script that never waits) is a zombie:
  // signalling it succeeds, but it holds nothing.
  if (stat?.state === 'Z' || stat?.state === 'X') return false;
  return o.start === null || stat === null || stat.start === o.start;
}

function processStart(pid: number): string | null {
  return procStat(pid)?.start ?? null;
}
