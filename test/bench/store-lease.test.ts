import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname } from 'node:path';
import { StoreBusyError } from '../../src/bench/store-file.js';
import { SelfoptError } from '../../src/core/errors.js';
import { dropWriterLock, lockHooks, olderLockPath, takeWriterLock, writerLockPath } from '../../src/bench/store-lock.js';
import { plantWriterLock, storePaths, writerLockHolder } from './fixtures.js';

/** A store path in a directory of its own. */
const fresh = storePaths('selfopt-lease-');

/** A PID that does not run: the owner of a lock left by a killed bench. */
const dead = { pid: 2 ** 31 - 2, host: hostname(), start: null };
/** Lets every pending continuation run (a macrotask runs only once the microtask queue is empty). */
const settle = () => new Promise((r) => setTimeout(r, 0));
const holderPid = (abs: string) => JSON.parse(writerLockHolder(abs)!).pid as number;

/**
 * A takeover race: a lock left by a dead holder, and bench A taking it. In the window after A
 * judged the holder dead and before it lets it go, `othersMove` runs other takers. Returns, once
 * A has run as far as it can, the lock's holder as the others left it, A's pending take, and
 * whether A holds the lock yet.
 */
async function takeoverRace(othersMove: (abs: string) => Promise<void>) {
  const abs = fresh();
  const lock = writerLockPath(abs);
  plantWriterLock(abs, dead);
  let othersLeft = '';
  lockHooks.judgedStale = async () => {
    lockHooks.judgedStale = null;
    await othersMove(abs);
    othersLeft = writerLockHolder(abs)!;
  };
  try {
    const first = takeWriterLock(abs);
    let held = false;
    void first.then(() => (held = true), () => undefined);
    await settle();
    return { abs, lock, othersLeft, first, firstHeld: () => held };
  } finally {
    lockHooks.judgedStale = null;
  }
}


/**
 * Takes the writer lock while `path` holds a live holder's lock in an older form (a file or a
 * directory; this process stands in for its holder, which lets go 50 ms later): the take waits,
 * leaves that lock alone meanwhile, then holds the store. Returns the lock taken.
 */
async function takeAfterLiveHolder(abs: string, path: string, form: 'file' | 'directory'): Promise<string> {
  let stillThere = false;
  const released = new Promise<void>((res) => setTimeout(() => {
    stillThere = existsSync(path) && (form === 'file' ? statSync(path).isFile() : statSync(path).isDirectory());
    rmSync(path, { recursive: true });
    res();
  }, 50));
  const taken = await takeWriterLock(abs);
  await released;
  assert.ok(stillThere, `the live lock (a ${form}) was left alone`);
  assert.equal(holderPid(abs), process.pid);
  return taken;
}

test('two benches taking over one stale lock at the same instant: the second to act leaves the first its lock', async () => {
  // A judged the lock stale; B, which judged it stale too, takes it over before A acts.
  const { abs, lock, othersLeft: second, first, firstHeld } = await takeoverRace(async (abs) => {
    await takeWriterLock(abs);
  });
  assert.notEqual(second, '', 'B took the lock over');
  // A removed B's lock as the stale one and made its own: both went on writing the store.
  assert.equal(firstHeld(), false, 'A waits while B holds the lock (not two holders)');
  assert.equal(writerLockHolder(abs), second, "B's lock is still B's");
  dropWriterLock(lock);
  await first;
  assert.notEqual(writerLockHolder(abs), second, 'A holds the lock once B let it go');
  assert.equal(holderPid(abs), process.pid);
  dropWriterLock(lock);
});

test('a bench that judged a dead holder acts after a second took the lock over and let go, and a third took it: it leaves the third its lock', async () => {
  // The takeover guard of the old lock file was removed by read-then-remove: a taker that read a
  // dead taker's guard removed, in this interleaving, the guard a third taker had just made.
  // A judged the holder dead; before it lets it go, B takes the lock over and closes, and C takes it.
  const { abs, lock, othersLeft: third, first, firstHeld } = await takeoverRace(async (abs) => {
    dropWriterLock(await takeWriterLock(abs));
    await takeWriterLock(abs);
  });
  assert.notEqual(third, '', 'C took the lock');
  assert.equal(writerLockHolder(abs), third, "C's lock is still C's");
  assert.equal(firstHeld(), false, 'A waits while C holds the lock');
  dropWriterLock(lock);
  await first;
  assert.equal(holderPid(abs), process.pid);
  assert.notEqual(writerLockHolder(abs), third);
  dropWriterLock(lock);
  assert.ok(!existsSync(lock));
});

test('a lock directory left empty (its holder died letting go) is taken; a lock file of an older selfopt is taken over when its process is gone, and waited for while it runs', async () => {
  const abs = fresh();
  const lock = writerLockPath(abs);
  plantWriterLock(abs, dead);
  rmSync(`${lock}/${dead.pid}.planted`);
  dropWriterLock(await takeWriterLock(abs));
  assert.ok(!existsSync(lock));

  writeFileSync(lock, JSON.stringify(dead));
  dropWriterLock(await takeWriterLock(abs));
  assert.ok(!existsSync(lock));

  // A live owner (this process stands in for it): its lock is left to it until it lets go.
  const live = JSON.stringify({ pid: process.pid, host: hostname(), start: null });
  writeFileSync(lock, live);
  dropWriterLock(await takeAfterLiveHolder(abs, lock, 'file'));
  assert.deepEqual(readdirSync(dirname(abs)), [], 'nothing left beside the store');
});

test("an older selfopt's takeover guard (<store>.wtake, left by a taker that died inside its takeover) is removed by the bench that takes the lock", async () => {
  const abs = fresh();
  // As an older selfopt wrote it: its taker's owner text, in a file.
  writeFileSync(`${abs}.wtake`, JSON.stringify(dead));
  const taken = await takeWriterLock(abs);
  assert.ok(!existsSync(`${abs}.wtake`));
  dropWriterLock(taken);
  assert.deepEqual(readdirSync(dirname(abs)), [], 'nothing left beside the store');
});

test('a writer lock held on another host cannot be judged: the store is busy, naming it', async () => {
  const abs = fresh();
  const other = { pid: 4242, host: `not-${hostname()}`, start: null, token: 'remote' };
  plantWriterLock(abs, other);
  writeFileSync(`${abs}.wtake`, JSON.stringify(dead));
  await assert.rejects(takeWriterLock(abs), (e: unknown) => {
    assert.ok(e instanceof StoreBusyError);
    assert.match(e.message, /in use by another process \(PID 4242 on not-/);
    assert.ok(e.expected.includes(`remove ${writerLockPath(abs)}`), e.expected);
    return true;
  });
  assert.equal(writerLockHolder(abs), JSON.stringify(other), 'the lock is left to its holder');
  assert.ok(existsSync(`${abs}.wtake`), "an older selfopt's takeover guard is left to the bench that takes the lock");
});

test("closing leaves a writer lock that is no longer this process's (taken over, or removed by hand and retaken)", async () => {
  const abs = fresh();
  const path = await takeWriterLock(abs);
  // Another owner alike in PID, host and start (a lock retaken by this very process) differs in its token.
  const other = { ...JSON.parse(writerLockHolder(abs)!), token: 'another-owner' };
  rmSync(path, { recursive: true });
  plantWriterLock(abs, other);
  dropWriterLock(path);
  assert.equal(writerLockHolder(abs), JSON.stringify(other), "the other owner's lock stays");
  rmSync(path, { recursive: true });

  // Its own lock is removed.
  dropWriterLock(await takeWriterLock(abs));
  assert.ok(!existsSync(path));
});

test("a process that exits without closing removes its writer lock, and leaves one that is no longer its own", () => {
  const abs = fresh();
  const own = fresh();
  const other = { pid: process.pid, host: hostname(), start: null, token: 'another-owner' };
  // The child takes two locks, loses one to another owner, and exits with both stores still open.
  const lockUrl = new URL('../../src/bench/store-lock.js', import.meta.url).href;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', `
    import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
    import { takeWriterLock } from '${lockUrl}';
    const path = await takeWriterLock(process.env.STORE_PATH);
    rmSync(path, { recursive: true });
    mkdirSync(path);
    writeFileSync(path + '/1.another-owner', process.env.OTHER);
    await takeWriterLock(process.env.OWN_PATH);
  `], { env: { ...process.env, STORE_PATH: abs, OWN_PATH: own, OTHER: JSON.stringify(other) }, encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  assert.equal(writerLockHolder(abs), JSON.stringify(other), "the other owner's lock stays");
  assert.ok(!existsSync(writerLockPath(own)), 'its own lock is removed');
});

test('an older selfopt finds a held lock where it looks, <store>.writer, as a file naming the holder; it stopped on a raw EISDIR', async () => {
  const abs = fresh();
  const older = `${abs}.writer`;
  const taken = await takeWriterLock(abs);
  // What a selfopt before c6d551b does: link its lock file into place, and read the one there.
  const mine = `${abs}.older-take`;
  writeFileSync(mine, JSON.stringify(dead));
  assert.throws(() => linkSync(mine, older), { code: 'EEXIST' });
  rmSync(mine);
  const owner = JSON.parse(readFileSync(older, 'utf8'));
  assert.equal(owner.pid, process.pid, 'it names the holder, whom an older selfopt waits for');
  assert.equal(owner.host, hostname());
  dropWriterLock(taken);
  assert.deepEqual(readdirSync(dirname(abs)), [], 'nothing left beside the store');
});

test('a lock the selfopt before this one holds (the directory <store>.writer) is waited for while its process runs, and taken over once it is gone or left empty', async () => {
  const abs = fresh();
  const older = `${abs}.writer`;
  plantWriterLock(abs, dead, older);
  dropWriterLock(await takeWriterLock(abs));
  assert.deepEqual(readdirSync(dirname(abs)), [], 'nothing left beside the store');
  // Its holder died letting go (the file unlinked, the directory not yet removed).
  mkdirSync(older);
  dropWriterLock(await takeWriterLock(abs));
  assert.deepEqual(readdirSync(dirname(abs)), [], 'nothing left beside the store');

  plantWriterLock(abs, { pid: process.pid, host: hostname(), start: null }, older);
  const taken = await takeAfterLiveHolder(abs, older, 'directory');
  assert.equal(JSON.parse(readFileSync(older, 'utf8')).pid, process.pid);
  dropWriterLock(taken);
  assert.deepEqual(readdirSync(dirname(abs)), [], 'nothing left beside the store');
});

test("a take waiting for a live holder (this version's lock, or an older selfopt's: a file or a directory at <store>.writer) looks again at intervals doubling from POLL_MS up to POLL_MAX_MS, not every POLL_MS", async () => {
  const live = { pid: process.pid, host: hostname(), start: null };
  for (const form of ['this version', 'older file', 'older directory'] as const) {
    const abs = fresh();
    const held = form === 'this version' ? writerLockPath(abs) : olderLockPath(abs);
    if (form === 'older file') writeFileSync(held, JSON.stringify(live));
    else plantWriterLock(abs, live, held);
    // The holder lets go at the take's eighth look: counted in looks, not in time.
    const intervals: number[] = [];
    lockHooks.holderWait = (_abs, ms) => {
      intervals.push(ms);
      if (intervals.length === 8) rmSync(held, { recursive: true });
    };
    try {
      dropWriterLock(await takeWriterLock(abs));
    } finally {
      lockHooks.holderWait = null;
    }
    assert.deepEqual(intervals, [10, 20, 40, 80, 160, 320, 320, 320], form);
    assert.deepEqual(readdirSync(dirname(abs)), [], 'nothing left beside the store');
  }
});

test('a writer lock of a form no selfopt made (a directory inside it) is one clear error, not a raw EISDIR, and is left alone', async () => {
  for (const lock of ['.wlock', '.writer']) {
    const abs = fresh();
    mkdirSync(`${abs}${lock}/not-a-holder`, { recursive: true });
    await assert.rejects(takeWriterLock(abs), (e: unknown) => {
      assert.ok(e instanceof SelfoptError && !(e instanceof StoreBusyError), String(e));
      assert.match(e.message, /writer lock .* is not one selfopt made \(.*not-a-holder is not a file\)/);
      assert.match(e.expected, /if no selfopt writes this store, remove .* with rm -r/);
      return true;
    });
    assert.deepEqual(readdirSync(dirname(abs)), [basename(`${abs}${lock}`)], 'the odd lock is left, nothing else');
  }
});
