/**
 * How a writing results store shares its file with readers.
 *
 * DuckDB lets one process open a database file at a time when that process writes: a writer
 * shuts out even read-only opens. A bench that kept its store open for the hours of the main job
 * left the dashboard and `selfopt report` answering "in use" for all that time. So:
 *
 * - A writing store holds the store's writer lock (`<store>.writer`, naming its PID) from open to
 *   close: two benches still cannot write one store at once, and the second is told who holds it.
 *   A lock whose process is gone (killed, crashed) is taken over. Two benches may judge one such
 *   lock stale at the same instant, so the takeover runs under a guard (`<store>.wtake`, made the
 *   way the lock is): the lock is read again and removed only if its text is still the text that
 *   was judged stale. The text carries a random token, so a lock retaken by an owner alike in PID,
 *   host and start time still reads differently. A guard whose taker died is removed; a live one
 *   is waited for as a live lock is. Closing removes the lock only if it still holds the text this
 *   process wrote: one taken over or removed by hand meanwhile belongs to another bench now.
 * - It holds DuckDB's lock only while it has statements to run. It lets the file go once no
 *   statement has come for IDLE_RELEASE_MS, and after MAX_HOLD_MS of statements without such a
 *   pause it lets go for YIELD_MS, so a reader polling every POLL_MS gets its turn.
 * - That alone did not give a reader its turn: a writer takes the file back as soon as its next
 *   statement comes (a cell recorded after an idle pause) or its YIELD_MS are over, and a reader
 *   whose poll (an open takes tens of ms on a loaded machine) missed that gap found it held
 *   again, until its BUSY_WAIT_MS ran out. So a reader that finds the file held leaves a notice
 *   beside the store (`<store>.reader.<pid>.<token>`, naming its process) until it has opened it,
 *   and a writer about to open the file waits for each notice it has not seen before, at most
 *   READER_TURN_MS, for that reader to get in; a writer that holds the file lets it go at its next
 *   statement when it sees such a notice, rather than after MAX_HOLD_MS. Once per notice: a reader
 *   that never comes (frozen) costs a writer READER_TURN_MS once, not at every reopen. A notice
 *   whose process is gone (killed while it waited) is removed by the writer that finds it.
 *
 * A statement is never cut short: the lease is only let go between statements (ResultsStore runs
 * them one at a time), and a committed cell is in DuckDB's write-ahead log whether the file is
 * then closed or not.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, linkSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { SelfoptError, errorMessage } from '../core/errors.js';
import { processAlive } from '../core/files.js';
import { procStat } from '../core/procfs.js';
import { close, connect, StoreBusyError } from './store-file.js';

export const IDLE_RELEASE_MS = 250;
export const MAX_HOLD_MS = 2_000;
export const YIELD_MS = 60;
/** Readers and writers retry a held file this often (an open of a held file fails at once). */
export const POLL_MS = 10;
/**
 * How long opening a store waits while another process holds the file. A dashboard read takes
 * milliseconds and a writing bench lets go within MAX_HOLD_MS; a store another bench writes
 * (its writer lock) is refused after this wait.
 */
export const BUSY_WAIT_MS = 5_000;
/**
 * How long a running bench waits to take the file back. Only a process that is not selfopt (a
 * `duckdb` shell left open on the file) holds it this long; the run then stops, keeping its cells.
 */
export const REACQUIRE_WAIT_MS = 60_000;
/**
 * How long a writer about to open the file waits for a reader that left a notice, once per notice.
 * A reader polls every POLL_MS, and opens in milliseconds (tens on a loaded machine).
 */
export const READER_TURN_MS = 1_500;

type Handle = Awaited<ReturnType<typeof connect>>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Opens the file, retrying while another process holds it, for up to `waitMs`. A reader that
 * finds it held leaves its notice until it gets in or gives up; a writer first lets in the
 * readers that left one (letReadersIn).
 */
export async function connectWaiting(abs: string, readOnly: boolean, waitMs: number = BUSY_WAIT_MS): Promise<Handle> {
  const until = Date.now() + waitMs;
  let notice: string | null = null;
  try {
    for (;;) {
      if (!readOnly) await letReadersIn(abs);
      await lockHooks.beforeOpen?.(abs, readOnly);
      try {
        return await connect(abs, readOnly);
      } catch (e) {
        if (!(e instanceof StoreBusyError) || Date.now() + POLL_MS > until) throw e;
        if (readOnly && notice === null) notice = postReaderNotice(abs);
        await sleep(POLL_MS);
      }
    }
  } finally {
    if (notice !== null) rmSync(notice, { force: true });
  }
}

/** The DuckDB connection of one open store: held throughout for a reader, on demand for a writer. */
export class Lease {
  private held: Handle | null;
  private heldSince = Date.now();
  /** When this writer last looked for readers' notices (readerWaiting). */
  private lastLook = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly identity: string;

  /** `sharing`: let the file go between statements (a writer); a reader keeps it until close. */
  constructor(private readonly abs: string, first: Handle, private readonly sharing: boolean) {
    this.held = first;
    this.identity = fileIdentity(abs);
  }

  /** The connection for the next statement: the held one, or the file opened again. */
  async conn(): Promise<DuckDBConnection> {
    clearTimeout(this.idleTimer);
    // A reader that left a notice gets its turn at the writer's next statement, not after MAX_HOLD_MS.
    if (this.held && this.sharing && (Date.now() - this.heldSince > MAX_HOLD_MS || this.readerWaiting())) {
      this.release();
      await sleep(YIELD_MS);
    }
    if (!this.held) {
      // Reopening a path that now names another file (moved away, replaced) would write this
      // run's cells into it, or create an empty database where the store was.
      if (!existsSync(this.abs) || fileIdentity(this.abs) !== this.identity) {
        throw new SelfoptError('the results store was moved or replaced while this run was writing to it', this.abs, 'the store file left in place until the run ends; the cells recorded so far are in the moved file');
      }
      try {
        this.held = await connectWaiting(this.abs, false, REACQUIRE_WAIT_MS);
      } catch (e) {
        if (e instanceof StoreBusyError) throw new StoreBusyError(`${e.message}; it held the file for ${REACQUIRE_WAIT_MS / 1000} s, which no selfopt reader does`, this.abs, 'close the program holding the store, then continue the run with --resume (its recorded cells are kept)');
        throw e;
      }
      this.heldSince = Date.now();
    }
    return this.held.conn;
  }

  /**
   * Whether a reader has left a notice this process has not given a turn yet. The directory is
   * read at most every POLL_MS: statements can come faster than a reader polls.
   */
  private readerWaiting(): boolean {
    const now = Date.now();
    if (now - this.lastLook < POLL_MS) return false;
    this.lastLook = now;
    return freshNotices(this.abs).length > 0;
  }

  /** No statement is waiting: a writer lets the file go if none comes within IDLE_RELEASE_MS. */
  idle(): void {
    if (!this.sharing || !this.held) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.release(), IDLE_RELEASE_MS);
    // An idle store must not keep the process alive.
    this.idleTimer.unref();
  }

  /** Closes the file (DuckDB checkpoints its log into it). Call only between statements. */
  release(): void {
    clearTimeout(this.idleTimer);
    if (!this.held) return;
    const h = this.held;
    this.held = null;
    close(h.instance, h.conn);
  }

  /** Whether DuckDB's lock is held now (for tests and diagnostics). */
  get holding(): boolean {
    return this.held !== null;
  }
}

/** Device and inode: a path that names another file since the store was opened. */
function fileIdentity(abs: string): string {
  const s = statSync(abs);
  return `${s.dev}:${s.ino}`;
}

// --- the writer lock ---------------------------------------------------------------------------

interface LockOwner {
  pid: number;
  host: string;
  /** The process's start time in clock ticks since boot (Linux), so a reused PID is not taken for it. */
  start: string | null;
  /** Random per take: two takes by one process (or two owners alike in pid, host, start) differ in text. */
  token?: string;
}

/** A lock or guard file as read: its whole text (what a remove compares) and its owner (null: does not parse). */
interface LockFile {
  text: string;
  owner: LockOwner | null;
}

export function writerLockPath(abs: string): string {
  return `${abs}.writer`;
}

/** Held only while a stale writer lock is checked again and removed (a few synchronous calls). */
export function takeoverGuardPath(abs: string): string {
  return `${abs}.wtake`;
}

/**
 * For tests, so that they set an interleaving of processes rather than hope for it:
 * - `judgedStale` runs after a writer lock is judged stale and before it is taken over, so a test
 *   can run a second taker in that window (two benches judging one lock at one instant);
 * - `beforeOpen` runs before each attempt to open the file (a writer's after letReadersIn);
 * - `readersTurn` runs when a writer has found new reader notices, before it waits for them.
 */
export const lockHooks = {
  judgedStale: null as null | ((path: string) => void | Promise<void>),
  beforeOpen: null as null | ((abs: string, readOnly: boolean) => void | Promise<void>),
  readersTurn: null as null | ((abs: string, notices: string[]) => void | Promise<void>),
};

/**
 * Locks held by this process, each with the text it wrote, removed on exit if the store was never
 * closed (an uncaught error). Only that text is removed: see dropWriterLock.
 */
const heldLocks = new Map<string, string>();
let exitHook = false;

/**
 * Takes the store's writer lock, waiting up to BUSY_WAIT_MS for a live holder. A lock whose
 * process is gone (killed, crashed) is taken over (takeOver). Throws StoreBusyError naming the
 * holder, or the process taking the lock over.
 */
export async function takeWriterLock(abs: string): Promise<string> {
  const path = writerLockPath(abs);
  const text = ownerText();
  const until = Date.now() + BUSY_WAIT_MS;
  for (;;) {
    if (tryCreate(path, text)) break;
    const lock = readLock(path);
    if (lock === undefined) continue; // removed between our try and the read
    // Whom we wait for: the lock's live owner, or a live process taking a stale lock over.
    let owner = lock.owner;
    let file = path;
    let doing = 'in use by';
    // A lock that does not parse was cut short by a crash mid-write (it is written whole with link).
    if (owner === null || !alive(owner)) {
      await lockHooks.judgedStale?.(path);
      const taker = takeOver(abs, lock.text);
      if (taker === null) continue;
      [owner, file, doing] = [taker, takeoverGuardPath(abs), 'being taken over by'];
    }
    if (Date.now() + POLL_MS > until) {
      const where = owner.host === hostname() ? `PID ${owner.pid}` : `PID ${owner.pid} on ${owner.host}`;
      throw new StoreBusyError(`the results store is ${doing} another process (${where})`, abs, `one selfopt process writing a store at a time: wait for it to finish, or pass --store with another path (if no selfopt runs as ${where}, remove ${file})`);
    }
    await sleep(POLL_MS);
  }
  heldLocks.set(path, text);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const [p, t] of heldLocks) removeIfUnchanged(p, t);
    });
  }
  return path;
}

/**
 * Removes the writer lock judged stale when it read `staleText`, if it still reads so. Two benches
 * that judged one stale lock at the same instant used to both remove and retake it: the later
 * remove took the earlier one's fresh lock, and both wrote the store believing they held it. Under
 * the guard a taker re-reads the lock, and removes it only if its text (which carries its owner's
 * random token) is still the stale one; otherwise another taker got there first and holds it.
 * Returns null when the caller should try again, or the owner of a live guard (wait for it as
 * for a live lock; one on another host cannot be asked, so it counts as live).
 */
function takeOver(abs: string, staleText: string): LockOwner | null {
  const guard = takeoverGuardPath(abs);
  const mine = ownerText();
  if (!tryCreate(guard, mine)) {
    const held = readLock(guard);
    if (held === undefined) return null; // released between our try and the read
    if (held.owner !== null && alive(held.owner)) return held.owner;
    // Its taker died inside the takeover; left in place it would keep every bench off the store.
    removeIfUnchanged(guard, held.text);
    return null;
  }
  try {
    removeIfUnchanged(writerLockPath(abs), staleText);
  } finally {
    removeIfUnchanged(guard, mine);
  }
  return null;
}

/** Removes the file if it still reads `text` (not gone, nor since replaced by another owner's). */
function removeIfUnchanged(path: string, text: string): void {
  if (readLock(path)?.text === text) rmSync(path, { force: true });
}

/**
 * Lets the writer lock go. The file may no longer be ours: taken over as stale (our start time
 * misread), or removed by hand as the busy error suggests and since taken by another bench.
 * Removing it then would let a third bench write beside that one, so only our own text is removed.
 */
export function dropWriterLock(path: string): void {
  const text = heldLocks.get(path);
  heldLocks.delete(path);
  if (text !== undefined) removeIfUnchanged(path, text);
}

// --- readers' notices ---------------------------------------------------------------------------

/** The start of the names of a store's reader notices: `<store>.reader.<pid>.<token>`. */
export function readerNoticePrefix(abs: string): string {
  return `${abs}.reader.`;
}

/**
 * Leaves this reader's notice beside the store, written whole (a private file renamed into place).
 * Returns its path, or null when it cannot be made (a store on a read-only directory, which no
 * bench writes; a name past the file-name limit): the reader then polls as it did without one.
 */
function postReaderNotice(abs: string): string | null {
  const path = `${readerNoticePrefix(abs)}${process.pid}.${randomBytes(4).toString('hex')}`;
  const tmp = join(dirname(abs), `.selfopt-reader.${process.pid}.${Math.random().toString(36).slice(2)}`);
  try {
    writeFileSync(tmp, ownerText(), { flag: 'wx' });
    renameSync(tmp, path);
    return path;
  } catch {
    rmSync(tmp, { force: true });
    return null;
  }
}

/** The store's reader notices whose process runs; those of gone processes are removed. */
function readerNotices(abs: string): string[] {
  const prefix = basename(readerNoticePrefix(abs));
  let names: string[];
  try {
    names = readdirSync(dirname(abs)).filter((n) => n.startsWith(prefix));
  } catch {
    return [];
  }
  const live: string[] = [];
  for (const n of names) {
    const path = join(dirname(abs), n);
    const notice = readLock(path);
    if (notice === undefined) continue; // its reader got in meanwhile
    if (notice.owner !== null && alive(notice.owner)) live.push(path);
    else removeIfUnchanged(path, notice.text);
  }
  return live;
}

/** Notices this process has waited for (paths, each with its reader's token): a turn is given once. */
const turnsGiven = new Set<string>();

/** The store's live reader notices this process has not given a turn yet; the turns of notices gone are forgotten. */
function freshNotices(abs: string): string[] {
  const notices = readerNotices(abs);
  const prefix = readerNoticePrefix(abs);
  for (const p of turnsGiven) if (p.startsWith(prefix) && !notices.includes(p)) turnsGiven.delete(p);
  return notices.filter((p) => !turnsGiven.has(p));
}

/**
 * Before a writer opens the file: waits for the readers whose notices it has not seen before to
 * get in (their notices gone), at most READER_TURN_MS.
 */
async function letReadersIn(abs: string): Promise<void> {
  const fresh = freshNotices(abs);
  if (fresh.length === 0) return;
  for (const p of fresh) turnsGiven.add(p);
  await lockHooks.readersTurn?.(abs, fresh);
  const until = Date.now() + READER_TURN_MS;
  while (fresh.some((p) => existsSync(p)) && Date.now() < until) await sleep(POLL_MS);
}

/** This process as a lock's or guard's owner, with a fresh token. */
function ownerText(): string {
  const me: LockOwner = { pid: process.pid, host: hostname(), start: processStart(process.pid), token: randomBytes(8).toString('hex') };
  return JSON.stringify(me);
}

/**
 * Creates the lock whole or not at all: written to a private file, then hard-linked into place.
 * The private file's name is short, so a store whose own name is near the file-name limit still
 * gets its lock. A lock that cannot be made (a read-only directory) is one SelfoptError.
 */
function tryCreate(path: string, body: string): boolean {
  const tmp = join(dirname(path), `.selfopt-writer.${process.pid}.${Math.random().toString(36).slice(2)}`);
  try {
    const fd = openSync(tmp, 'wx');
    try {
      writeSync(fd, body);
    } finally {
      closeSync(fd);
    }
    linkSync(tmp, path);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    const expected = code === 'ENAMETOOLONG' ? 'a store file name short enough to take the suffix .writer (248 characters at most)'
      : 'a directory this user can write: a bench keeps <store>.writer and DuckDB\'s log beside the store (`selfopt report` and the dashboard read a store on a read-only directory)';
    // The message without the private file's name, which would only confuse.
    throw new SelfoptError(`cannot create the store's writer lock ${path} (${errorMessage(e).replace(/,.*$/s, '')})`, dirname(path), expected);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** The lock's (or guard's) text and owner; undefined if it is gone. */
function readLock(path: string): LockFile | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const o = JSON.parse(text) as LockOwner;
    return { text, owner: Number.isSafeInteger(o.pid) && typeof o.host === 'string' ? o : null };
  } catch {
    return { text, owner: null };
  }
}

function alive(o: LockOwner): boolean {
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

