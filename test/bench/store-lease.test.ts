import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { StoreBusyError } from '../../src/bench/store-file.js';
import { dropWriterLock, lockHooks, takeoverGuardPath, takeWriterLock, writerLockPath } from '../../src/bench/store-lease.js';
import { storePaths } from './fixtures.js';

/** A store path in a directory of its own. */
const fresh = storePaths('selfopt-lease-');

/** A lock naming a PID that does not run: left by a killed bench. */
const deadOwner = JSON.stringify({ pid: 2 ** 31 - 2, host: hostname(), start: null });
const read = (path: string) => readFileSync(path, 'utf8');
/** Lets every pending continuation run (a macrotask runs only once the microtask queue is empty). */
const settle = () => new Promise((r) => setTimeout(r, 0));

test('two benches taking over one stale lock at the same instant: the second to act leaves the first its lock', async () => {
  const abs = fresh();
  const lock = writerLockPath(abs);
  writeFileSync(lock, deadOwner);
  let second = '';
  lockHooks.judgedStale = async () => {
    lockHooks.judgedStale = null;
    // A judged the lock stale; B, which judged it stale too, takes it over before A acts.
    await takeWriterLock(abs);
    second = read(lock);
  };
  try {
    const first = takeWriterLock(abs);
    let firstHeld = false;
    void first.then(() => (firstHeld = true), () => undefined);
    await settle();
    assert.notEqual(second, '', 'B took the lock over');
    // A removed B's lock as the stale one and made its own: both went on writing the store.
    assert.equal(firstHeld, false, 'A waits while B holds the lock (not two holders)');
    assert.equal(read(lock), second, "B's lock is still B's");
    dropWriterLock(lock);
    await first;
    assert.notEqual(read(lock), second, 'A holds the lock once B let it go');
    assert.equal(JSON.parse(read(lock)).pid, process.pid);
    dropWriterLock(lock);
  } finally {
    lockHooks.judgedStale = null;
  }
});

test('a takeover guard left by a dead taker is removed; a live one is waited for', async () => {
  const abs = fresh();
  const lock = writerLockPath(abs);
  const guard = takeoverGuardPath(abs);
  // A taker killed inside the takeover: the store would be wedged for good.
  writeFileSync(lock, deadOwner);
  writeFileSync(guard, deadOwner);
  dropWriterLock(await takeWriterLock(abs));
  assert.ok(!existsSync(guard) && !existsSync(lock));

  // A live taker (this process stands in for it): the stale lock is left to it until it lets go.
  writeFileSync(lock, deadOwner);
  writeFileSync(guard, JSON.stringify({ pid: process.pid, host: hostname(), start: null }));
  let stillStale = false;
  const released = new Promise<void>((res) => setTimeout(() => {
    stillStale = read(lock) === deadOwner;
    rmSync(guard);
    res();
  }, 50));
  const taken = await takeWriterLock(abs);
  await released;
  assert.ok(stillStale, 'the stale lock was left alone while the guard was held');
  assert.equal(JSON.parse(read(lock)).pid, process.pid);
  dropWriterLock(taken);
});

test('a takeover guard held on another host cannot be judged: the store is busy, naming it', async () => {
  const abs = fresh();
  const lock = writerLockPath(abs);
  const guard = takeoverGuardPath(abs);
  writeFileSync(lock, deadOwner);
  writeFileSync(guard, JSON.stringify({ pid: 4242, host: `not-${hostname()}`, start: null }));
  await assert.rejects(takeWriterLock(abs), (e: unknown) => {
    assert.ok(e instanceof StoreBusyError);
    assert.match(e.message, /being taken over by another process \(PID 4242 on not-/);
    assert.ok(e.expected.includes(`remove ${guard}`), e.expected);
    return true;
  });
  assert.equal(read(lock), deadOwner, 'the stale lock is left to the taker');
  assert.ok(existsSync(guard));
});

test("closing leaves a writer lock that is no longer this process's (taken over, or removed by hand and retaken)", async () => {
  const abs = fresh();
  const path = await takeWriterLock(abs);
  // Another owner alike in PID, host and start (a lock retaken by this very process) differs in its token.
  const other = JSON.stringify({ ...JSON.parse(read(path)), token: 'another-owner' });
  rmSync(path);
  writeFileSync(path, other);
  dropWriterLock(path);
  assert.equal(existsSync(path) && read(path), other, "the other owner's lock stays");
  rmSync(path);

  // Its own lock, still as it wrote it, is removed.
  dropWriterLock(await takeWriterLock(abs));
  assert.ok(!existsSync(path));
});

test("a process that exits without closing removes its writer lock, and leaves one that is no longer its own", () => {
  const abs = fresh();
  const own = fresh();
  const path = writerLockPath(abs);
  const other = JSON.stringify({ pid: process.pid, host: hostname(), start: null, token: 'another-owner' });
  // The child takes two locks, loses one to another owner, and exits with both stores still open.
  const leaseUrl = new URL('../../src/bench/store-lease.js', import.meta.url).href;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', `
    import { rmSync, writeFileSync } from 'node:fs';
    import { takeWriterLock } from '${leaseUrl}';
    const path = await takeWriterLock(process.env.STORE_PATH);
    rmSync(path);
    writeFileSync(path, process.env.OTHER);
    await takeWriterLock(process.env.OWN_PATH);
  `], { env: { ...process.env, STORE_PATH: abs, OWN_PATH: own, OTHER: other }, encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  assert.equal(existsSync(path) && read(path), other, "the other owner's lock stays");
  assert.ok(!existsSync(writerLockPath(own)), 'its own lock is removed');
});
