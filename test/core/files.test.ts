import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { inTempDir, readArrays, writeArrays, writeFileAtomic } from '../../src/core/files.js';
import { SelfoptError } from '../../src/core/errors.js';
import { tempDir } from '../tmp.js';

test('writeFileAtomic: data or a writer of the open file; a writer that throws leaves the old file and no temp file', () => {
  const dir = tempDir('selfopt-files-');
  const path = join(dir, 'f.txt');
  writeFileAtomic(path, 'one');
  writeFileAtomic(path, (fd) => { writeFileSync(fd, 'tw'); writeFileSync(fd, 'o'); });
  assert.equal(readFileSync(path, 'utf8'), 'two');
  assert.throws(() => writeFileAtomic(path, (fd) => { writeFileSync(fd, 'half'); throw new Error('disk full'); }), /disk full/);
  assert.equal(readFileSync(path, 'utf8'), 'two');
  assert.deepEqual(readdirSync(dir), ['f.txt']);
});

test('an arrays file gives back its header and arrays exactly; another format, a truncated file or another kind is one clear error', () => {
  const dir = tempDir('selfopt-arrays-');
  const path = join(dir, 'a.bin');
  const arrays = [Float64Array.of(Math.PI, -0, 1e-300), Float32Array.of(0.1, 3), Int32Array.of(-7), new Uint8Array(0), Uint8Array.of(1, 2, 3)];
  writeArrays(path, 'test-1', { n: 5, name: 'x' }, arrays);
  const r = readArrays<{ n: number; name: string }>(path, 'test-1');
  assert.equal(r.header.n, 5);
  assert.equal(r.header.name, 'x');
  for (const a of arrays) assert.deepEqual(r.next(a.constructor as typeof Float64Array), a);
  r.done();
  const clear = (re: RegExp) => (e: unknown) => e instanceof SelfoptError && re.test(e.message) && e.message.includes(path) && /--fresh/.test(e.message);
  assert.throws(() => readArrays(path, 'other-1'), clear(/format "test-1", not other-1/));
  const wrongKind = readArrays(path, 'test-1');
  assert.throws(() => wrongKind.next(Float32Array), clear(/array 0 is a Float64Array, expected a Float32Array/));
  const early = readArrays(path, 'test-1');
  early.next(Float64Array);
  assert.throws(() => early.done(), clear(/4 arrays .* left unread/));
  const whole = readFileSync(path);
  writeFileSync(path, whole.subarray(0, whole.length - 16));
  const cut = readArrays(path, 'test-1');
  for (const a of arrays.slice(0, 4)) cut.next(a.constructor as typeof Float64Array);
  assert.throws(() => cut.next(Uint8Array), clear(/array 4 is missing|truncated arrays file/));
  writeFileSync(path, 'not arrays at all, just text');
  assert.throws(() => readArrays(path, 'test-1'), clear(/no "selfopt-arrays" magic/));
});

test("inTempDir names its directory by host and pid, and removes the ones dead processes of this host left; a live process's stays", async () => {
  // A killed `selfopt data build` left /tmp/selfopt-gshhg-XXXXXX (49 MB) behind, and no later build removed it.
  const root = tempDir('selfopt-tmp-root-');
  const was = process.env.TMPDIR;
  process.env.TMPDIR = root;
  try {
    const prefix = 'selfopt-sweep-';
    const host = hostname().replace(/[^A-Za-z0-9-]/g, '_');
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    const made = (name: string) => { mkdirSync(join(root, name)); writeFileSync(join(root, name, 'part.nc'), 'x'); return name; };
    const stale = made(`${prefix}${host}.${dead}-aB3dE9`);
    const live = made(`${prefix}${host}.${process.ppid}-aB3dE9`);
    const otherHost = made(`${prefix}${host}x.${dead}-aB3dE9`);
    const otherPrefix = made(`selfopt-other-${host}.${dead}-aB3dE9`);
    const notOurs = made(`${prefix}${host}.${dead}-keep`);
    let inside = '';
    await inTempDir(prefix, async (dir) => { inside = dir; assert.ok(existsSync(dir)); });
    assert.match(inside, new RegExp(`^${root}/${prefix}${host}\\.${process.pid}-[A-Za-z0-9]{6}$`));
    assert.equal(existsSync(inside), false, 'its own directory is removed after the body');
    assert.equal(existsSync(join(root, stale)), false, 'a dead process\'s directory is removed');
    for (const kept of [live, otherHost, otherPrefix, notOurs]) assert.ok(existsSync(join(root, kept)), kept);
  } finally {
    if (was === undefined) delete process.env.TMPDIR; else process.env.TMPDIR = was;
  }
});
