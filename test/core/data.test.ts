import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DataPath } from '../../src/core/data.js';
import { unknownName, SelfoptError } from '../../src/core/errors.js';
import { writeFileAtomic } from '../../src/core/files.js';
import { tempDir } from '../tmp.js';

test('data search path order: --data, $SELFOPT_DATA, ./data, ../shared/data', () => {
  const root = tempDir('selfopt-data-');
  const cwd = join(root, 'proj');
  for (const d of ['flag', 'envdir', 'proj/data', 'shared/data']) mkdirSync(join(root, d), { recursive: true });
  for (const d of ['envdir', 'proj/data', 'shared/data']) writeFileSync(join(root, d, 'x.bin'), d);
  writeFileSync(join(root, 'shared/data', 'only-shared'), '1');
  const p = new DataPath({ dataDir: join(root, 'flag'), env: { SELFOPT_DATA: join(root, 'envdir') }, cwd });
  assert.deepEqual(p.dirs.map((d) => d.origin), ['--data', '$SELFOPT_DATA', './data', '../shared/data']);
  assert.equal(readFileSync(p.find('x.bin')!, 'utf8'), 'envdir');
  assert.equal(p.find('only-shared'), join(root, 'shared/data', 'only-shared'));
  assert.equal(p.find('missing'), undefined);
  const q = new DataPath({ env: {}, cwd });
  assert.equal(readFileSync(q.find('x.bin')!, 'utf8'), 'proj/data');
});

test('unknown names suggest close ones and list the valid set', () => {
  const e = unknownName('solver', 'pgn', ['pgm', 'rmi', 'binary-search'], '--solvers');
  assert.ok(e instanceof SelfoptError);
  assert.match(e.message, /unknown solver 'pgn' \(did you mean pgm\?\)/);
  assert.match(e.message, /at --solvers/);
  assert.match(e.message, /one of: pgm, rmi, binary-search/);
});

test('atomic write leaves no temp file and replaces the target whole', () => {
  const dir = tempDir('selfopt-atomic-');
  const f = join(dir, 'sub', 'out.txt');
  writeFileAtomic(f, 'one');
  writeFileAtomic(f, 'two');
  assert.equal(readFileSync(f, 'utf8'), 'two');
  assert.deepEqual(readdirSync(join(dir, 'sub')), ['out.txt']);
});
