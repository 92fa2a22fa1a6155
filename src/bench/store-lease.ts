/**
 * How a writing results store shares its file with readers.
 *
 * DuckDB lets one process open a database file at a time when that process writes: a writer
 * shuts out even read-only opens. A bench that kept its store open for the hours of the main job
 * left the dashboard and `selfopt report` answering "in use" for all that time. So:
 *
 * - A writing store holds the store's writer lock from open to close (store-lock.ts): two benches
 *   still cannot write one store at once, and the second is told who holds it.
 * - It holds DuckDB's lock only while it has statements to run. It lets the file go once no
 *   statement has come for IDLE_RELEASE_MS, and after MAX_HOLD_MS of statements without such a
 *   pause it lets go for YIELD_MS, so a reader polling every POLL_MS gets its turn.
 * - That alone did not give a reader its turn: a writer takes the file back as soon as its next
 *   statement comes (a cell recorded after an idle pause) or its YIELD_MS are over, and a reader
 *   whose poll (an open takes tens of ms on a loaded machine) missed that gap found it held
 *   again, until its BUSY_WAIT_MS ran out. So a reader that finds the file held leaves a notice
 *   beside the store (`<store>.reader.<pid>.<token>`, naming its process) until it has opened it,
 *   and a writer about to open the file waits for the readers whose notices are there to get in,
 *   at most READER_TURN_MS; a writer that holds the file lets it go at its next statement when it
 *   sees a notice, rather than after MAX_HOLD_MS. One turn per notice: the writer then removes the
 *   notices still there. A reader too slow to use its turn (its next attempt came after
 *   READER_TURN_MS, as on a loaded machine) finds the file held and its notice gone, and leaves a
 *   new one, so it gets another turn; with one turn in all it was shut out until its BUSY_WAIT_MS
 *   ran out. A frozen reader leaves no new notice: it costs a writer READER_TURN_MS once, not at
 *   every reopen. However slow a reader is, its turns cost a writer at most its own wait: a turn
 *   waits only while one of its notices is there, and it keeps one only while it waits. A notice
 *   whose process is gone (killed while it waited) is removed by the writer that finds it; its
 *   name is its own (a random token), so that removes no other reader's.
 *
 * A statement is never cut short: the lease is only let go between statements (ResultsStore runs
 * them one at a time), and a committed cell is in DuckDB's write-ahead log whether the file is
 * then closed or not.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { SelfoptError } from '../core/errors.js';
import { close, connect, StoreBusyError } from './store-file.js';
import { alive, BUSY_WAIT_MS, entryKind, lockHooks, POLL_MS, readOwner, thisProcess } from './store-lock.js';

export const IDLE_RELEASE_MS = 250;
export const MAX_HOLD_MS = 2_000;
export const YIELD_MS = 60;
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
        // A notice gone while the file is held again had its turn, which this reader was too slow
        // to use (the writer removes a notice whose turn passed): a new one asks for another.
        if (readOnly && (notice === null || !existsSync(notice))) notice = postReaderNotice(abs);
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
   * Whether a reader has left a notice (each is there until its turn). The directory is read at
   * most every POLL_MS: statements can come faster than a reader polls.
   */
  private readerWaiting(): boolean {
    const now = Date.now();
    if (now - this.lastLook < POLL_MS) return false;
    this.lastLook = now;
    return readerNotices(this.abs).length > 0;
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
    writeFileSync(tmp, JSON.stringify(thisProcess()), { flag: 'wx' });
    renameSync(tmp, path);
    return path;
  } catch {
    rmSync(tmp, { force: true });
    return null;
  }
}

/**
 * The store's reader notices whose process runs; those of gone processes are removed. Something
 * else under a notice's name (a directory, a pipe) is no selfopt reader's: it is one SelfoptError
 * and left alone (read as a notice it was a raw EISDIR, or a read that never returns), as a
 * writer lock of a form no selfopt made is (store-lock.ts).
 */
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
    const kind = entryKind(path);
    if (kind === undefined) continue; // its reader got in meanwhile
    if (kind !== 'file') {
      throw new SelfoptError(`the reader notice ${n} beside the results store is ${kind === 'directory' ? 'a directory' : 'not a file'}, which no selfopt reader makes`, path,
        `reader notices as files, as selfopt readers leave them while they wait (${prefix}<pid>.<token>); if nothing else uses that name, remove ${path} with rm -r`);
    }
    const owner = readOwner(path);
    if (owner === undefined) continue; // its reader got in meanwhile
    // A notice's name is its own (its token is random), so removing it removes no other.
    if (owner !== null && alive(owner)) live.push(path);
    else rmSync(path, { force: true });
  }
  return live;
}

/**
 * Before a writer opens the file: waits for the readers that left a notice to get in (their
 * notices gone), at most READER_TURN_MS, then removes the notices still there: their turn is
 * used up. A reader still waiting then leaves a new one at its next attempt; a frozen one none.
 */
async function letReadersIn(abs: string): Promise<void> {
  const waiting = readerNotices(abs);
  if (waiting.length === 0) return;
  await lockHooks.readersTurn?.(abs, waiting);
  const until = Date.now() + READER_TURN_MS;
  while (waiting.some((p) => existsSync(p)) && Date.now() < until) await sleep(POLL_MS);
  for (const p of waiting) rmSync(p, { force: true });
}
