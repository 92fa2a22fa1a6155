/**
 * A reader (`selfopt report`, the dashboard) and a writing bench sharing one results store: the
 * reader gets its turn even when the writer takes the file back at once (store-lease.ts, readers'
 * notices). The writer runs in a process of its own (store-writer.ts), driven step by step, and
 * the reader's attempts are set by lockHooks.beforeOpen: each test sets the interleaving it
 * describes, whatever the machine's load.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SelfoptError } from '../../src/core/errors.js';
import { close, StoreBusyError } from '../../src/bench/store-file.js';
import { connectWaiting, Lease, readerNoticePrefix } from '../../src/bench/store-lease.js';
import { lockHooks } from '../../src/bench/store-lock.js';
import { storePaths } from './fixtures.js';
import { WRITER_ENV, type WriterCommand, type WriterEvent } from './store-writer.js';

/** A store path in a directory of its own. */
const fresh = storePaths('selfopt-share-');

/** The reader notices beside the store now. */
function notices(abs: string): string[] {
  return readdirSync(dirname(abs)).filter((f) => f.startsWith(basename(readerNoticePrefix(abs)))).map((f) => join(dirname(abs), f));
}

/** The writing process, with its events in order; `next` waits for the next one. */
interface Writer {
  proc: ChildProcess;
  send: (m: WriterCommand) => void;
  next: () => Promise<WriterEvent>;
}

/**
 * Started with its test's `signal`, which node:test aborts when the test ends, also on a timeout
 * (a finally after a timed-out body does not run): the writer is killed then. Left running, its
 * IPC channel kept this file's process alive.
 */
function startWriter(signal: AbortSignal): Writer {
  const proc = fork(fileURLToPath(new URL('./store-writer.js', import.meta.url)), [], { env: { ...process.env, [WRITER_ENV]: '1' }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], signal, killSignal: 'SIGKILL' });
  proc.on('error', (e) => {
    if (e.name !== 'AbortError') throw e;
  });
  const events: WriterEvent[] = [];
  let wake: (() => void) | undefined;
  proc.on('message', (e: WriterEvent) => {
    events.push(e);
    wake?.();
  });
  proc.on('exit', () => wake?.());
  const next = async (): Promise<WriterEvent> => {
    while (events.length === 0) {
      // Killed (its test ended) is exited too: it waited for ever.
      assert.ok(proc.exitCode === null && proc.signalCode === null, 'the writer exited');
      await new Promise<void>((r) => (wake = r));
    }
    const e = events.shift()!;
    if (typeof e === 'object' && 'error' in e) throw new Error(`the writer failed: ${e.error}`);
    return e;
  };
  return { proc, send: (m) => proc.send(m), next };
}

const isTurn = (e: WriterEvent): e is { turn: string[] } => typeof e === 'object' && 'turn' in e;

/**
 * A reader waiting for `abs`, which `writer` holds: its first attempt finds the file held and leaves
 * its notice; before each later attempt `turn(attempt)` makes the writer's moves, until it returns
 * false: then the writer lets go ('reader still shut out': the reader would have polled until its
 * BUSY_WAIT_MS ran out). Once in, the reader has taken its notice away, and the writer takes the
 * file back when the reader is done (its event follows a last 'writer gives a turn'). Returns the
 * reader's attempts; `order` gets the events.
 */
async function readerWaiting(abs: string, writer: Writer, order: string[], turn: (attempt: number) => Promise<boolean>): Promise<number> {
  let attempts = 0;
  lockHooks.beforeOpen = async (_abs, readOnly) => {
    if (!readOnly) return;
    attempts++;
    if (attempts === 1 || await turn(attempts)) return;
    order.push('reader still shut out');
    writer.send('release');
    assert.equal(await writer.next(), 'released');
  };
  try {
    const h = await connectWaiting(abs, true);
    order.push('reader in');
    assert.deepEqual(notices(abs), [], 'the reader took its notice away once in');
    writer.send('go');
    close(h.instance, h.conn);
    if (order.at(-2) === 'writer gives a turn') order.push(`writer ${String(await writer.next())}`);
    return attempts;
  } finally {
    lockHooks.beforeOpen = null;
  }
}

/**
 * The writer holds the file; before the reader's second attempt the writer takes `step`, a bench's
 * next move. Should the writer then hold the file again, the reader would be shut out. Returns the
 * order of events and the reader's attempts.
 */
async function readerBesideWriter(step: 'reopen' | 'statement', signal: AbortSignal): Promise<{ order: string[]; attempts: number }> {
  const abs = fresh();
  const writer = startWriter(signal);
  const order: string[] = [];
  try {
    writer.send({ open: abs });
    assert.equal(await writer.next(), 'held');
    const attempts = await readerWaiting(abs, writer, order, async (attempt) => {
      if (attempt !== 2) return false;
      assert.equal(notices(abs).length, 1, "the reader's notice is there");
      writer.send(step);
      const e = await writer.next();
      order.push(isTurn(e) ? 'writer gives a turn' : `writer ${e}`);
      if (isTurn(e)) assert.deepEqual(e.turn, notices(abs), "the turn is for this reader's notice");
      return true;
    });
    return { order, attempts };
  } finally {
    writer.send('exit');
    writer.proc.kill('SIGKILL');
  }
}

test('a writer that takes the file back at once lets in first the reader that was waiting for it', { timeout: 60_000 }, async (t) => {
  // The writer lets go and takes the file back with no gap at all (the reader's poll missed it, as
  // a loaded machine's does), unless it stops to give waiting readers their turn.
  const { order, attempts } = await readerBesideWriter('reopen', t.signal);
  assert.deepEqual(order, ['writer gives a turn', 'reader in', 'writer held']);
  assert.equal(attempts, 2);
});

test("a writer holding the file for statements back to back lets in, at its next statement, the reader that left a notice (it held on until MAX_HOLD_MS)", { timeout: 60_000 }, async (t) => {
  const { order, attempts } = await readerBesideWriter('statement', t.signal);
  assert.deepEqual(order, ['writer gives a turn', 'reader in', 'writer held']);
  assert.equal(attempts, 2);
});

test('a reader too slow to use its turn leaves a new notice at its next attempt, and gets another turn (it was shut out until BUSY_WAIT_MS)', { timeout: 60_000 }, async (t) => {
  const abs = fresh();
  const writer = startWriter(t.signal);
  const order: string[] = [];
  const turns: string[][] = [];
  let afterTurn: string[] = [];
  try {
    writer.send({ open: abs });
    assert.equal(await writer.next(), 'held');
    const attempts = await readerWaiting(abs, writer, order, async (attempt) => {
      if (attempt > 3) return false;
      // The writer's next cell: it lets the file go, and gives the readers that left a notice a turn.
      writer.send('reopen');
      const e = await writer.next();
      if (!isTurn(e)) {
        order.push(`writer ${String(e)}`);
        return true;
      }
      order.push('writer gives a turn');
      turns.push(e.turn);
      assert.deepEqual(e.turn, notices(abs), "the turn is for this reader's notice");
      if (attempt === 2) {
        // The reader is too slow to use it: the turn runs out (READER_TURN_MS) before its next attempt.
        writer.send('go');
        assert.equal(await writer.next(), 'held');
        order.push('writer held');
        afterTurn = notices(abs);
      }
      return true;
    });
    // On the old code: 'writer held' at the third attempt (its notice had had its turn), then 'reader still shut out'.
    assert.deepEqual(order, ['writer gives a turn', 'writer held', 'writer gives a turn', 'reader in', 'writer held']);
    assert.equal(attempts, 3);
    assert.deepEqual(afterTurn, [], 'the turn used up, the writer removed the notice');
    assert.notEqual(turns[1]![0], turns[0]![0], 'the second turn is for a new notice');
  } finally {
    writer.send('exit');
    writer.proc.kill('SIGKILL');
  }
});

test('a reader that finds the file held leaves a notice naming its process while it waits, and takes it away when it gives up', { timeout: 60_000 }, async (t) => {
  const abs = fresh();
  const writer = startWriter(t.signal);
  const seen: string[][] = [];
  try {
    writer.send({ open: abs });
    assert.equal(await writer.next(), 'held');
    lockHooks.beforeOpen = (_abs, readOnly) => void (readOnly && seen.push(notices(abs)));
    // The writer never lets go: after 1 s the reader gives up (a wait long enough for a second
    // attempt, however slow the first one is on a loaded machine).
    await assert.rejects(connectWaiting(abs, true, 1000), StoreBusyError);
    assert.ok(seen.length >= 2, `${seen.length} attempts`);
    assert.deepEqual(seen[0], [], 'no notice before the first attempt finds the file held');
    const mine = seen[1]!;
    assert.equal(mine.length, 1, 'a notice after it');
    assert.ok(basename(mine[0]!).startsWith(`${basename(abs)}.reader.${process.pid}.`), mine[0]);
    assert.ok(seen.slice(1).every((s) => s.length === 1 && s[0] === mine[0]), 'one notice for the whole wait');
    assert.deepEqual(notices(abs), [], 'gone when the reader gave up');
  } finally {
    lockHooks.beforeOpen = null;
    writer.send('exit');
    writer.proc.kill('SIGKILL');
  }
});

test("a writer removes a dead reader's notice, and waits for a live reader that never comes only once (then removes its notice)", { timeout: 60_000 }, async () => {
  const abs = fresh();
  const turns: string[][] = [];
  lockHooks.readersTurn = (_abs, found) => void turns.push(found);
  // No reader in this test opens the file, so the writer may run in this process.
  const lease = new Lease(abs, await connectWaiting(abs, false), true);
  try {
    // A reader killed while it waited (a PID that does not run).
    const dead = `${readerNoticePrefix(abs)}${2 ** 31 - 2}.dead`;
    writeFileSync(dead, JSON.stringify({ pid: 2 ** 31 - 2, host: hostname(), start: null, token: 'dead' }));
    lease.release();
    await lease.conn();
    assert.ok(!existsSync(dead), 'the dead reader\'s notice is removed');
    assert.deepEqual(turns, [], 'and not waited for');

    // A live reader (this process stands in for it) that never opens the file: frozen.
    const frozen = `${readerNoticePrefix(abs)}${process.pid}.frozen`;
    writeFileSync(frozen, JSON.stringify({ pid: process.pid, host: hostname(), start: null, token: 'frozen' }));
    lease.release();
    await lease.conn();
    assert.ok(lease.holding, 'the writer went on after its wait');
    lease.release();
    await lease.conn();
    assert.deepEqual(turns, [[frozen]], 'one turn for the frozen reader, not one at each reopen');
    // A reader still waiting leaves a new notice at its next attempt; a frozen one makes none.
    assert.ok(!existsSync(frozen), 'the turn used up, the writer removed the notice');
  } finally {
    lockHooks.readersTurn = null;
    lease.release();
  }
});

test('a directory under a reader notice\'s name (no selfopt reader makes one) is one clear error naming it, not a raw EISDIR, to a writer opening the store and to one holding it; it is left alone', async () => {
  const abs = fresh();
  // The writer holds the file first: no notice yet.
  const lease = new Lease(abs, await connectWaiting(abs, false), true);
  const foreign = `${readerNoticePrefix(abs)}${process.pid}.foreign`;
  mkdirSync(join(foreign, 'inside'), { recursive: true });
  const named = (e: unknown) => {
    assert.ok(e instanceof SelfoptError, String(e));
    assert.equal(e.message, `the reader notice ${basename(foreign)} beside the results store is a directory, which no selfopt reader makes (at ${foreign}); expected reader notices as files, as selfopt readers leave them while they wait (${basename(readerNoticePrefix(abs))}<pid>.<token>); if nothing else uses that name, remove ${foreign} with rm -r`);
    return true;
  };
  try {
    // Holding it, at its next statement (where it looks for readers waiting).
    await assert.rejects(lease.conn(), named);
    lease.release();
    // Opening it (where it lets the readers that left a notice in first).
    await assert.rejects(connectWaiting(abs, false), named);
    assert.ok(statSync(join(foreign, 'inside')).isDirectory(), 'left alone');
  } finally {
    lease.release();
  }
});
