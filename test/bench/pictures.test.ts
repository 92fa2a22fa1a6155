import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs, { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DataPath } from '../../src/core/data.js';
import { runBench } from '../../src/bench/runner.js';
import { ResultsStore } from '../../src/bench/store.js';
import { listPictures, loadPictures, readPicture, savePicture } from '../../src/bench/pictures.js';
import { printReport, writeReport } from '../../src/cli/report.js';
import { tempDir } from '../tmp.js';
import { getProblem, problems } from '../../src/problems/all.js';

test('a problem that draws gets each solver\'s seed-1 solution into the run\'s pictures and the HTML report', async () => {
  const dir = tempDir('selfopt-pictures-');
  const storePath = join(dir, 'results.duckdb');
  const store = await ResultsStore.open(storePath);
  try {
    const { runId } = await runBench({
      problems: ['chip'], instances: ['synth_h6_s24_101'], solvers: ['greedy', 'simulated-annealing'], seeds: 2, quick: true, resume: false,
      data: new DataPath({ env: {}, cwd: tmpdir() }), options: {}, concurrency: 0, progress: false, command: 'test',
    }, store);
    const pics = loadPictures(storePath, runId, 'chip', ['greedy', 'simulated-annealing']);
    // one picture per solver (seed 1 only, not one per seed), in the problem's solver order
    assert.deepEqual(pics.map((p) => `${p.instance}/${p.solver}`), ['synth_h6_s24_101/greedy', 'synth_h6_s24_101/simulated-annealing']);
    for (const p of pics) {
      assert.match(p.svg, /^<svg[\s\S]*<\/svg>\s*$/);
      assert.match(p.svg, new RegExp(`synth_h6_s24_101 · ${p.solver} · seed 1`));
    }
    const html = readFileSync(await writeReport(await printReport(store, { runId, problems: ['chip'], json: true }), join(dir, 'r.html'), storePath), 'utf8');
    assert.equal(html.match(/<figure class="card picture"/g)?.length, 2);
    assert.ok(html.includes(pics[1]!.svg), 'the SVG is inlined whole');
    // without the store's location (or for a problem that does not draw) the report has no Solutions section
    const plain = readFileSync(await writeReport(await printReport(store, { runId, problems: ['chip'], json: true }), join(dir, 'p.html')), 'utf8');
    assert.ok(!plain.includes('card picture'));
  } finally {
    await store.close();
  }
});

/** Runs chip's greedy on one small instance into `store`, in this thread, with stderr captured. */
async function runGreedyQuietly(store: ResultsStore, seeds: number): Promise<{ runId: string; stderr: string }> {
  const write = process.stderr.write;
  let stderr = '';
  process.stderr.write = ((s: string) => { stderr += s; return true; }) as typeof process.stderr.write;
  try {
    const { runId } = await runBench({
      problems: ['chip'], instances: ['synth_h6_s24_101'], solvers: ['greedy'], seeds, quick: true, resume: false,
      data: new DataPath({ env: {}, cwd: tmpdir() }), options: {}, concurrency: 0, progress: false, command: 'test',
    }, store);
    return { runId, stderr };
  } finally {
    process.stderr.write = write;
  }
}

test('a picture that fails costs the cell nothing: its metrics are recorded, the failure is one warning line', async () => {
  const storePath = join(tempDir('selfopt-pictures-'), 'results.duckdb');
  const store = await ResultsStore.open(storePath);
  const chip = getProblem('chip');
  const draw = chip.picture;
  chip.picture = () => { throw new Error('the drawing broke'); };
  try {
    const { runId, stderr } = await runGreedyQuietly(store, 2);
    const rows = await store.rows({ runId });
    assert.deepEqual([...new Set(rows.map((r) => r.seed))].sort(), [1, 2], 'both seeds recorded');
    assert.deepEqual(loadPictures(storePath, runId, 'chip', ['greedy']), []);
    assert.deepEqual(stderr.trim().split('\n'), ['selfopt: warning: cell chip/synth_h6_s24_101/greedy/seed 1 is recorded, but its picture failed: the drawing broke']);
  } finally {
    chip.picture = draw;
    await store.close();
  }
});

test('a picture that cannot be saved costs the cell nothing either', async () => {
  const dir = tempDir('selfopt-pictures-');
  // Where the pictures' directory would go, a file: no picture can be written.
  writeFileSync(join(dir, 'pictures'), 'not a directory');
  const store = await ResultsStore.open(join(dir, 'results.duckdb'));
  try {
    const { runId, stderr } = await runGreedyQuietly(store, 1);
    assert.ok((await store.rows({ runId })).length > 0, 'the cell is recorded');
    assert.match(stderr, /^\nselfopt: warning: cell chip\/synth_h6_s24_101\/greedy\/seed 1 is recorded, but its picture failed: saving it: /);
  } finally {
    await store.close();
  }
});

test('pictures keep their instance id as it is: a user file named with spaces, <, & or / is captioned by its name, and two ids alike but for those are two pictures', () => {
  const storePath = join(tempDir('selfopt-pictures-'), 'results.duckdb');
  const ids = ['my keys <b> & c_uint64', 'my_keys__b____c_uint64', 'data/x.y_uint64'];
  for (const instance of ids) savePicture(storePath, 'run1', 'index', { instance, solver: 'rmi', svg: `<svg>${instance.length}</svg>` });
  const pics = loadPictures(storePath, 'run1', 'index', ['rmi']);
  assert.deepEqual(pics.map((p) => p.instance).sort(), [...ids].sort());
  assert.ok(pics.every((p) => p.solver === 'rmi' && p.svg === `<svg>${p.instance.length}</svg>`));
});

test('a picture file whose name is not %XX-encoded (put there by hand) is read under its own name, not a URIError for the whole report', () => {
  const storePath = join(tempDir('selfopt-pictures-'), 'results.duckdb');
  savePicture(storePath, 'run1', 'index', { instance: 'a b', solver: 'rmi', svg: '<svg>1</svg>' });
  const dir = join(dirname(storePath), 'pictures', 'run1', 'index');
  writeFileSync(join(dir, '100%zz__rmi.svg'), '<svg>2</svg>');
  assert.deepEqual(loadPictures(storePath, 'run1', 'index', ['rmi']).map((p) => [p.instance, p.svg]), [['100%zz', '<svg>2</svg>'], ['a b', '<svg>1</svg>']]);
});

test('a picture whose id is too long for a file name (a long non-ASCII file name, tripled by %XX) is saved and read back with its id', () => {
  // Its file name passed 255 bytes: the save failed (ENAMETOOLONG) and the report had no picture.
  const storePath = join(tempDir('selfopt-pictures-'), 'results.duckdb');
  const ids = [`${'键'.repeat(90)}_uint64`, `a--> <!-- ${'x'.repeat(300)}\\-_uint64`];
  for (const instance of ids) savePicture(storePath, 'run1', 'index', { instance, solver: 'rmi', svg: `<svg>${instance.length}</svg>` });
  savePicture(storePath, 'run1', 'index', { instance: 'short_uint64', solver: 'rmi', svg: '<svg>s</svg>' });
  const names = readdirSync(join(dirname(storePath), 'pictures', 'run1', 'index'));
  assert.ok(names.every((n) => Buffer.byteLength(n) <= 255), names.join(' '));
  assert.ok(names.includes('short_uint64__rmi.svg'), 'a short id keeps its own file name');
  const pics = loadPictures(storePath, 'run1', 'index', ['rmi']);
  assert.deepEqual(pics.map((p) => [p.instance, p.solver, p.svg]).sort(), [...ids, 'short_uint64'].map((i) => [i, 'rmi', i === 'short_uint64' ? '<svg>s</svg>' : `<svg>${i.length}</svg>`]).sort());
});

test('a run\'s pictures listed without their drawings, and one read by its ids, are loadPictures\' own: a name by hash, a non-ASCII id, a file named by hand', () => {
  const storePath = join(tempDir('selfopt-pictures-'), 'results.duckdb');
  const ids = [`${'键'.repeat(90)}_uint64`, 'my keys <b> & c_uint64', 'short_uint64'];
  for (const instance of ids) for (const solver of ['rmi', 'pgm']) savePicture(storePath, 'run1', 'index', { instance, solver, svg: `<svg>${instance.length} ${solver} 键</svg>` });
  writeFileSync(join(dirname(storePath), 'pictures', 'run1', 'index', '100%zz__rmi.svg'), '<svg>2</svg>');
  const loaded = loadPictures(storePath, 'run1', 'index', ['rmi', 'pgm']);
  assert.equal(loaded.length, 7);
  assert.deepEqual(listPictures(storePath, 'run1', 'index', ['rmi', 'pgm']), loaded.map((p) => ({ instance: p.instance, solver: p.solver, bytes: Buffer.byteLength(p.svg) })));
  for (const p of loaded) assert.equal(readPicture(storePath, 'run1', 'index', p.instance, p.solver), p.svg);
  assert.equal(readPicture(storePath, 'run1', 'index', 'short_uint64', 'btree'), undefined);
  assert.equal(readPicture(storePath, 'run2', 'index', 'short_uint64', 'rmi'), undefined, 'a run that drew nothing');
});

test('one picture read by its ids opens its own file only (each read listed, stat\'ed and read by hash the run\'s files: partition\'s test split drew 253, all gone through for each of the dashboard\'s picture requests)', () => {
  const storePath = join(tempDir('selfopt-pictures-'), 'results.duckdb');
  const ids = [`${'键'.repeat(90)}_uint64`, 'my keys <b> & c_uint64', 'short_uint64', 'a__b'];
  for (const instance of ids) for (const solver of ['rmi', 'pgm']) savePicture(storePath, 'run1', 'index', { instance, solver, svg: `<svg>${instance.length} ${solver}</svg>` });
  const dir = join(dirname(storePath), 'pictures', 'run1', 'index');
  // The file system calls the reads make, by the module's own imports of node:fs.
  const calls: string[] = [];
  const real = { readdirSync: fs.readdirSync, statSync: fs.statSync, readFileSync: fs.readFileSync, existsSync: fs.existsSync };
  for (const [k, f] of Object.entries(real)) (fs as any)[k] = (path: unknown, ...rest: unknown[]) => (calls.push(`${k} ${String(path).slice(dir.length + 1)}`), (f as any)(path, ...rest));
  syncBuiltinESMExports();
  let read: string[][];
  try {
    read = ids.flatMap((instance) => ['rmi', 'pgm'].map((solver) => {
      calls.length = 0;
      const svg = readPicture(storePath, 'run1', 'index', instance, solver);
      return [instance, solver, svg ?? 'none', calls.join('; ')];
    }));
  } finally {
    Object.assign(fs, real);
    syncBuiltinESMExports();
  }
  for (const [instance, solver, svg, made] of read) {
    assert.equal(svg, `<svg>${instance!.length} ${solver}</svg>`, `${instance} by ${solver}`);
    assert.match(made!, /^readFileSync [^;]+$/, `${instance} by ${solver}: one file read, nothing listed: ${made}`);
  }
  // The name by the ids is the file's only if it gives them back: the solver 'b__rmi' of instance 'a' names a__b's.
  assert.equal(readPicture(storePath, 'run1', 'index', 'a', 'b__rmi'), undefined);
});

test('no registered solver name holds \'__\': a picture file is <instance>__<solver>.svg, parted at the last \'__\', so such a solver would share a file with another instance\'s drawing', () => {
  for (const p of problems) for (const s of p.solvers) assert.ok(!s.info.name.includes('__'), `${p.name}/${s.info.name}`);
});
