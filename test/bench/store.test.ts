import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { ResultsStore, StoreBusyError, cellKey, newRunId, type ResultRow } from '../../src/bench/store.js';
import { IDLE_RELEASE_MS } from '../../src/bench/store-lease.js';
import { SelfoptError } from '../../src/core/errors.js';
import { plantWriterLock, row, writerLockHolder } from './fixtures.js';
import { procStat } from '../../src/core/procfs.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'selfopt-store-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
const fresh = () => join(dir, `s${n++}`, 'results.duckdb');

/** The metric rows of one cell. */
function cell(runId: string, solver: string, seed: number, values: Record<string, number> = { lookup_ns: 100 + seed, build_ms: 5, index_bytes: 1024 }): ResultRow[] {
  return Object.entries(values).map(([metric, value]) => row({ runId, solver, seed, metric, value, unit: metric === 'index_bytes' ? 'bytes' : 'ns' }));
}

async function rejectsSelfopt(p: Promise<unknown>, pattern: RegExp): Promise<SelfoptError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof SelfoptError, `expected a SelfoptError, got ${String(e)}`);
    assert.match(e.message, pattern);
    return e;
  }
  assert.fail('expected a rejection');
}

describe('ResultsStore', () => {
  test('a value past 2^63 (integral as a double) is stored and read back, not refused by the driver', async () => {
    const store = await ResultsStore.open(fresh());
    const runId = await store.startRun({ command: 'bench index', gridHash: 'g', codeVersion: 'v', machine: 'm', options: {} });
    await store.insertCell(cell(runId, 'pgm', 1, { lookup_ns: 1e20, build_ms: -1e300, index_bytes: 2 ** 63 }));
    const values = Object.fromEntries((await store.rows({ runId })).map((r) => [r.metric, r.value]));
    assert.deepEqual(values, { build_ms: -1e300, index_bytes: 2 ** 63, lookup_ns: 1e20 });
    await store.close();
  });

  test('round trip: runs, rows, resume helpers', async () => {
    const path = fresh();
    const store = await ResultsStore.open(path);
    assert.ok(existsSync(path), 'creates the file and its directory');
    const runId = await store.startRun({ command: 'bench index', gridHash: 'g1', codeVersion: 'v1', machine: 'm1', options: { seeds: 2, skip: undefined } });
    assert.match(runId, /^\d{8}T\d{9}Z-[0-9a-f]{4}$/);
    await store.insertCell(cell(runId, 'binary-search', 1));
    await store.insertCell(cell(runId, 'pgm', 1));
    const rows = await store.rows({ runId });
    assert.equal(rows.length, 6);
    const r = rows.find((x) => x.solver === 'pgm' && x.metric === 'lookup_ns')!;
    assert.equal(r.value, 101);
    assert.equal(r.unit, 'ns');
    assert.equal(r.better, 'lower');
    assert.equal(r.solverKind, 'heuristic');
    assert.equal(r.instanceSplit, 'test');
    assert.equal(r.wallMs, 10);
    assert.equal(r.codeVersion, 'abc123');
    assert.equal(r.configHash, 'cfg');
    assert.ok(!Number.isNaN(Date.parse(r.createdAt!)));

    assert.deepEqual(await store.doneCells(runId), new Set([cellKey('index', 'uniform', 'binary-search', 1), cellKey('index', 'uniform', 'pgm', 1)]));
    const resumable = await store.findResumable('g1');
    assert.equal(resumable?.runId, runId);
    assert.equal(resumable?.finishedAt, null);
    assert.deepEqual(resumable?.options, { seeds: 2 });
    assert.equal(resumable?.cells, 2);
    assert.deepEqual(resumable?.problems, ['index']);
    assert.equal(await store.findResumable('other'), undefined);

    await store.finishRun(runId);
    const later = await store.startRun({ command: 'bench sched', gridHash: 'g2', startedAt: new Date(Date.now() + 1000) });
    await store.insertCell(cell(later, 'fifo', 1).map((x) => ({ ...x, problem: 'sched' })));
    assert.equal((await store.latestRun())?.runId, later);
    assert.equal((await store.latestRun('index'))?.runId, runId, 'latest run with results for the problem');
    assert.ok((await store.latestRun('index'))!.finishedAt !== null);
    assert.deepEqual((await store.runs()).map((x) => x.runId), [runId, later]);
    assert.equal((await store.rows({ problem: 'sched' })).length, 3);
    assert.equal((await store.rows({ runId: [runId, later] })).length, 9);
    assert.equal((await store.rows({ runId: [] })).length, 0);
    await store.close();
    await store.close(); // twice is fine

    // Everything is there after reopening, read-only too.
    const ro = await ResultsStore.open(path, { readOnly: true });
    assert.equal((await ro.rows()).length, 9);
    await rejectsSelfopt(ro.startRun({ command: 'x', gridHash: 'y' }), /read-only/);
    await ro.close();
  });

  test('one transaction per cell: a bad value writes nothing of its cell', async () => {
    const store = await ResultsStore.open(fresh());
    try {
      const runId = await store.startRun({ command: 'bench', gridHash: 'g' });
      for (const bad of [NaN, Infinity, -Infinity]) {
        const rows = cell(runId, 'rmi', 3, { lookup_ns: 90, build_ms: bad, index_bytes: 10 });
        const e = await rejectsSelfopt(store.insertCell(rows), /value is/);
        assert.match(e.where, /index\/uniform\/rmi\/seed 3/, 'names the cell');
        assert.match(e.where, /build_ms/, 'names the metric');
      }
      await rejectsSelfopt(store.insertCell(cell(runId, 'rmi', 3).map((r) => ({ ...r, better: 'smaller' as never }))), /better is/);
      await rejectsSelfopt(store.insertCell(cell(runId, 'rmi', 3).map((r, i) => (i === 1 ? { ...r, seed: 4 } : r))), /seed/);
      await rejectsSelfopt(store.insertCell(cell(runId, '', 3)), /solver/);
      await rejectsSelfopt(store.insertCell([]), /no metric rows/);
      await rejectsSelfopt(store.insertCell(cell('no-such-run', 'rmi', 3)), /unknown run id/);
      assert.equal((await store.rows()).length, 0, 'nothing of any rejected cell was written');

      await store.insertCell(cell(runId, 'rmi', 3));
      await rejectsSelfopt(store.insertCell(cell(runId, 'rmi', 3)), /already recorded/);
      assert.equal((await store.rows()).length, 3, 'the duplicate wrote nothing and the first cell is intact');
    } finally {
      await store.close();
    }
  });

  test('cells fired concurrently are all written', async () => {
    const store = await ResultsStore.open(fresh());
    try {
      const runId = await store.startRun({ command: 'bench', gridHash: 'g' });
      await Promise.all(Array.from({ length: 40 }, (_, seed) => store.insertCell(cell(runId, 'pgm', seed))));
      assert.equal((await store.doneCells(runId)).size, 40);
      assert.equal((await store.rows({ runId })).length, 120);
    } finally {
      await store.close();
    }
  });

  test('run ids sort by start time and are unique', () => {
    const t = new Date('2024-05-06T07:08:09.010Z');
    const ids = Array.from({ length: 50 }, () => newRunId(t));
    assert.ok(new Set(ids).size > 40, 'random suffixes differ');
    assert.ok(newRunId(new Date('2024-05-06T07:08:09.011Z')) > `${ids[0]!.slice(0, -4)}ffff`, 'a later millisecond sorts after');
    assert.ok(newRunId(new Date('2024-05-07T00:00:00.000Z')) > ids[0]!);
    assert.ok(ids[0]!.startsWith('20240506T070809010Z-'));
  });

  test('export to CSV and Parquet: atomic files DuckDB reads back', async () => {
    const store = await ResultsStore.open(fresh());
    const outDir = join(dir, 'export');
    try {
      const a = await store.startRun({ command: 'bench', gridHash: 'g' });
      const b = await store.startRun({ command: 'bench', gridHash: 'g', startedAt: new Date(Date.now() + 5) });
      for (let seed = 1; seed <= 4; seed++) await store.insertCell(cell(a, "o'brien", seed));
      await store.insertCell(cell(b, 'pgm', 1));
      const csv = join(outDir, 'r.csv');
      const pq = join(outDir, 'r.parquet');
      assert.equal(await store.exportTo('csv', csv), 15);
      assert.equal(await store.exportTo('parquet', pq, { runId: a }), 12);
      const pq2 = join(outDir, 'sub', 'r2.parquet');
      assert.equal(await store.exportTo('parquet', pq2, { runId: b, problem: 'index' }), 3);
      assert.equal(await store.exportTo('csv', csv, { runId: a }), 12, 'overwrites atomically');
      assert.deepEqual(readdirSync(outDir).filter((f) => f.endsWith('.tmp')), [], 'no temp files left');
      // an --out that names a directory is the user's error, said in one line, not a crash with a stack
      await assert.rejects(store.exportTo('csv', outDir), (e: unknown) => e instanceof SelfoptError && /is a directory \(at .*export\); expected a file path/.test(e.message));
      assert.deepEqual(readdirSync(outDir).filter((f) => f.endsWith('.tmp')), [], 'no temp file left by the refused export');

      const db = await DuckDBInstance.create(':memory:');
      const conn = await db.connect();
      const count = async (sql: string) => Number((await conn.runAndReadAll(sql)).getRowObjectsJS()[0]!.n);
      assert.equal(await count(`SELECT count(*) AS n FROM read_csv('${csv}', header = true)`), 12);
      assert.equal(await count(`SELECT count(*) AS n FROM read_parquet('${pq}')`), 12);
      assert.equal(await count(`SELECT count(*) AS n FROM read_parquet('${pq2}')`), 3);
      assert.equal(await count(`SELECT count(*) AS n FROM read_parquet('${pq}') WHERE solver = 'o''brien' AND value > 0`), 12);
      assert.equal(await count(`SELECT count(DISTINCT metric) AS n FROM read_csv('${csv}', header = true)`), 3);
      conn.closeSync();
      db.closeSync();
    } finally {
      await store.close();
    }
  });

  describe('bad files are refused, never changed', () => {
    const cases: [string, () => Buffer][] = [
      ['random bytes', () => randomBytes(64 * 1024)],
      ['a text file', () => Buffer.from('key,value\nthis is not a database\n')],
      ['an empty file', () => Buffer.alloc(0)],
    ];
    for (const [name, make] of cases) {
      test(name, async () => {
        const path = fresh();
        const bytes = make();
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, bytes);
        const e = await rejectsSelfopt(ResultsStore.open(path), /not a DuckDB database/);
        assert.equal(e.where, path);
        assert.match(e.expected, /selfopt results store/);
        assert.match(e.expected, /move the file away|--store/);
        assert.deepEqual(readFileSync(path), bytes, 'the file is unchanged');
        assert.ok(!existsSync(`${path}.wal`));
        // And again with mustExist / readOnly.
        await rejectsSelfopt(ResultsStore.open(path, { mustExist: true }), /not a DuckDB database/);
        await rejectsSelfopt(ResultsStore.open(path, { readOnly: true }), /not a DuckDB database/);
        assert.deepEqual(readFileSync(path), bytes);
      });
    }

    test("another program's DuckDB database", async () => {
      const path = fresh();
      mkdirSync(dirname(path), { recursive: true });
      const db = await DuckDBInstance.create(path);
      const conn = await db.connect();
      await conn.run('CREATE TABLE results (a INTEGER); INSERT INTO results VALUES (1), (2)');
      conn.closeSync();
      db.closeSync();
      const bytes = readFileSync(path);
      const e = await rejectsSelfopt(ResultsStore.open(path), /not a selfopt results store/);
      assert.equal(e.where, path);
      assert.deepEqual(readFileSync(path), bytes, 'the file is unchanged');
      assert.ok(!existsSync(`${path}.wal`), 'no write-ahead log was started');
    });

    /** A store of ours, closed, then changed by `sql` as another program (or a newer selfopt) might. */
    async function alteredStore(sql: string): Promise<string> {
      const path = fresh();
      const store = await ResultsStore.open(path);
      await store.startRun({ command: 'bench', gridHash: 'g' });
      await store.close();
      const db = await DuckDBInstance.create(path);
      const conn = await db.connect();
      if (sql) await conn.run(sql);
      conn.closeSync();
      db.closeSync();
      return path;
    }

    test('a store of a newer schema version, or one lacking columns, is one clear error on every open, and is not changed', async () => {
      for (const [sql, pattern] of [
        ["UPDATE selfopt_store SET value = '2' WHERE key = 'schema_version'", /schema version 2, written by a newer selfopt/],
        ['ALTER TABLE results DROP COLUMN config_hash; ALTER TABLE runs DROP COLUMN options', /lacks columns runs\.options, results\.config_hash/],
        ["UPDATE selfopt_store SET value = 'another-format' WHERE key = 'format'", /not a selfopt results store/],
        ['DROP TABLE results', /not a selfopt results store/],
      ] as const) {
        const path = await alteredStore(sql);
        const bytes = readFileSync(path);
        for (const opts of [{}, { readOnly: true }]) {
          const e = await rejectsSelfopt(ResultsStore.open(path, opts), pattern);
          assert.equal(e.where, path);
        }
        assert.deepEqual(readFileSync(path), bytes, 'the file is unchanged');
      }
    });

    test('a DuckDB database with no tables holds no results yet: refused when it must exist, given the schema otherwise', async () => {
      const path = fresh();
      mkdirSync(dirname(path), { recursive: true });
      (await DuckDBInstance.create(path)).closeSync();
      await rejectsSelfopt(ResultsStore.open(path, { readOnly: true }), /holds no results yet/);
      await rejectsSelfopt(ResultsStore.open(path, { mustExist: true }), /holds no results yet/);
      const store = await ResultsStore.open(path);
      await store.startRun({ command: 'bench', gridHash: 'g' });
      await store.close();
      const reader = await ResultsStore.open(path, { readOnly: true });
      assert.equal((await reader.runs()).length, 1);
      await reader.close();
    });

    test('a missing store with mustExist', async () => {
      const path = fresh();
      await rejectsSelfopt(ResultsStore.open(path, { mustExist: true }), /no results store/);
      assert.ok(!existsSync(path));
    });

    test('a second handle in the same process', async () => {
      const path = fresh();
      const store = await ResultsStore.open(path);
      try {
        await rejectsSelfopt(ResultsStore.open(path), /already open in this process/);
      } finally {
        await store.close();
      }
      await (await ResultsStore.open(path)).close();
    });
  });

  test('durable under SIGKILL; a second writer gets a clear error, a reader reads while the writer writes', async () => {
    const path = fresh();
    const storeUrl = new URL('../../src/bench/store.js', import.meta.url).href;
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD.replace('STORE_URL', storeUrl)], {
      env: { ...process.env, STORE_PATH: path },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let acked = -1;
    let runId = '';
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    const exited = new Promise<NodeJS.Signals | null>((res) => child.on('exit', (_code, sig) => res(sig)));
    await new Promise<void>((res, rej) => {
      let buf = '';
      child.stdout.on('data', (d) => {
        buf += String(d);
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (line.startsWith('run ')) runId = line.slice(4);
          if (line.startsWith('cell ')) acked = Number(line.slice(5));
          if (acked >= 24) res();
        }
      });
      child.on('exit', () => rej(new Error(`child exited early: ${stderr}`)));
    });
    // While the child holds the store, opening it fails with a clear error and changes nothing.
    const e = await rejectsSelfopt(ResultsStore.open(path), new RegExp(`in use by another process \\(PID ${child.pid}\\)`));
    assert.equal(e.where, path);
    assert.ok(e instanceof StoreBusyError, 'a store in use is told apart from other open errors');
    // A reader (the dashboard, `selfopt report`) gets its turn while the child keeps writing, and
    // sees the cells written so far. It was refused as 'in use' for as long as the writer ran.
    const ackedBeforeRead = acked;
    const reader = await ResultsStore.open(path, { readOnly: true });
    try {
      assert.ok((await reader.doneCells(runId)).size >= ackedBeforeRead + 1, 'a live read sees every acknowledged cell');
    } finally {
      await reader.close();
    }
    const ackedAfterRead = acked;
    // Not a timing bound: on a loaded machine the writer's next open may take a while.
    for (let waited = 0; acked <= ackedAfterRead && waited < 30_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    assert.ok(acked > ackedAfterRead, `the writer went on writing after the read (${stderr})`);
    assert.ok(existsSync(`${path}.writer`), 'the writer lock is held');
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
    // SIGKILL left the writer lock behind; its process is gone, so the next writer takes it over.
    assert.ok(existsSync(`${path}.writer`));

    const store = await ResultsStore.open(path);
    try {
      const done = await store.doneCells(runId);
      assert.ok(done.size >= acked + 1, `every acknowledged cell survives (${done.size} recorded, ${acked + 1} acknowledged)`);
      const rows = await store.rows({ runId });
      assert.equal(rows.length, done.size * 3, 'every recorded cell is whole');
      const run = await store.findResumable('kill-grid');
      assert.equal(run?.runId, runId);
      assert.equal(run?.finishedAt, null, 'the killed run stays unfinished, so --resume continues it');
      // The store still takes writes after recovery.
      await store.insertCell(cell(runId, 'after-kill', 1));
    } finally {
      await store.close();
    }
    assert.ok(!existsSync(`${path}.writer`), 'close removes the writer lock');
  });

  test('a writer lets the file go when idle and takes it back for the next statement', async () => {
    const path = fresh();
    const store = await ResultsStore.open(path);
    try {
      const runId = await store.startRun({ command: 'bench', gridHash: 'g' });
      assert.ok(store.holdingFile);
      await new Promise((r) => setTimeout(r, IDLE_RELEASE_MS + 200));
      assert.equal(store.holdingFile, false, 'idle: DuckDB lock released');
      assert.ok(existsSync(`${path}.writer`), 'the writer lock stays');
      await store.insertCell(cell(runId, 'pgm', 1));
      assert.equal((await store.doneCells(runId)).size, 1);
    } finally {
      await store.close();
    }
  });

  test('a statement asked for after close() began is refused, and the closed store holds no lock on the file', async () => {
    const path = fresh();
    const store = await ResultsStore.open(path);
    const runId = await store.startRun({ command: 'bench', gridHash: 'g' });
    const before = store.insertCell(cell(runId, 'pgm', 1));
    const closing = store.close();
    // It ran after the close on a closed connection (a raw driver error), or, with the file let
    // go, took DuckDB's lock back and kept it after the close.
    await rejectsSelfopt(store.insertCell(cell(runId, 'pgm', 2)), /the results store is closed/);
    await before;
    await closing;
    assert.equal(store.holdingFile, false);
    assert.ok(!existsSync(`${path}.writer`));
    const reader = await ResultsStore.open(path, { readOnly: true });
    try {
      assert.deepEqual([...new Set((await reader.rows()).map((r) => r.seed))], [1], 'the cell asked for before close() is written');
    } finally {
      await reader.close();
    }
  });

  test('a store moved away while a run writes to it: one clear error, and no new store where it was', async () => {
    const path = fresh();
    const store = await ResultsStore.open(path);
    try {
      const runId = await store.startRun({ command: 'bench', gridHash: 'g' });
      await store.insertCell(cell(runId, 'pgm', 1));
      // Idle, it lets the file go (IDLE_RELEASE_MS); moved then. (It waited a fixed IDLE_RELEASE_MS + 200 ms.)
      for (let i = 0; store.holdingFile; i++) {
        assert.ok(i < 400, 'the idle writer let the file go');
        await new Promise((r) => setTimeout(r, 25));
      }
      renameSync(path, `${path}.moved`);
      await rejectsSelfopt(store.insertCell(cell(runId, 'pgm', 2)), /moved or replaced while this run was writing/);
      assert.ok(!existsSync(path), 'no empty store was created at the old path');
    } finally {
      await store.close();
    }
    const moved = await ResultsStore.open(`${path}.moved`, { readOnly: true });
    try {
      assert.equal((await moved.rows()).length, 3, 'the moved file keeps the cell written before');
    } finally {
      await moved.close();
    }
  });

  test("a store path through a file (where a directory should be) is one clear error, not a raw EEXIST", async () => {
    const file = join(dirname(fresh()), 'notes.txt');
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, 'not a directory');
    await rejectsSelfopt(ResultsStore.open(join(file, 'results.duckdb')), /the store's path is under .*notes\.txt, a file .*expected a results store path in a directory/);
    assert.equal(readFileSync(file, 'utf8'), 'not a directory');
  });

  test('a store name near the file-name limit gets its writer lock; one too long for the lock is one clear error', async () => {
    // 244 + '.writer' fits in 255 bytes; the lock's private file (named <lock>.<pid>.<random>) did not.
    const fits = join(dirname(fresh()), `${'r'.repeat(236)}.duckdb`);
    const store = await ResultsStore.open(fits);
    await store.startRun({ command: 'bench', gridHash: 'g' });
    await store.close();
    // 250 + '.writer' does not fit: it was a raw ENAMETOOLONG with a stack trace.
    const tooLong = join(dirname(fresh()), `${'r'.repeat(242)}.duckdb`);
    await rejectsSelfopt(ResultsStore.open(tooLong), /cannot create the store's writer lock .*ENAMETOOLONG.*expected a store file name short enough/);
    assert.deepEqual(readdirSync(dirname(tooLong)), [], 'nothing left beside the store');
  });

  test('a writer lock left by a killed bench its parent has not reaped (a zombie) is taken over', { skip: !existsSync('/proc/self/stat') && 'no /proc' }, async () => {
    // perl forks a child that exits at once and never waits for it. (sh, with `sleep 0 & echo $!;
    // exec sleep 30`, could reap the child itself when it exited before the exec, under load:
    // the test then found no process at all.)
    const parent = spawn('perl', ['-e', '$| = 1; my $child = fork(); exit 0 if $child == 0; print "$child\\n"; sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const pid = Number(await new Promise<string>((res) => parent.stdout.once('data', (d) => res(String(d)))));
      while (procStat(pid)?.state !== 'Z') {
        assert.ok(procStat(pid) !== null, `the child ${pid} is gone: its parent reaped it`);
        await new Promise((r) => setTimeout(r, 10));
      }
      const start = procStat(pid)!.start;
      const path = fresh();
      mkdirSync(dirname(path), { recursive: true });
      plantWriterLock(path, { pid, host: hostname(), start });
      // It waited BUSY_WAIT_MS, then said the store was in use by the zombie's PID.
      const store = await ResultsStore.open(path);
      assert.equal(JSON.parse(writerLockHolder(path)!).pid, process.pid);
      await store.close();
    } finally {
      parent.kill();
    }
  });

  test('a writer lock left by a dead process, or a lock file of an older selfopt cut short (unparseable) or left by a dead process, is taken over', async () => {
    const dead = { pid: 2 ** 31 - 2, host: hostname(), start: null };
    for (const plant of [
      (path: string) => plantWriterLock(path, dead),
      (path: string) => writeFileSync(`${path}.writer`, '{"pid": 12'),
      (path: string) => writeFileSync(`${path}.writer`, JSON.stringify(dead)),
    ]) {
      const path = fresh();
      mkdirSync(dirname(path), { recursive: true });
      plant(path);
      const store = await ResultsStore.open(path);
      assert.equal(JSON.parse(writerLockHolder(path)!).pid, process.pid);
      await store.close();
      assert.ok(!existsSync(`${path}.writer`));
    }
  });
});

/** Inserts cells forever, printing each acknowledged one; the test kills it with SIGKILL. */
const CHILD = `
import { ResultsStore } from 'STORE_URL';
const store = await ResultsStore.open(process.env.STORE_PATH);
const runId = await store.startRun({ command: 'bench', gridHash: 'kill-grid' });
process.stdout.write('run ' + runId + '\\n');
for (let seed = 0; ; seed++) {
  await store.insertCell(['lookup_ns', 'build_ms', 'index_bytes'].map((metric) => ({
    runId, problem: 'index', instance: 'uniform', solver: 'pgm', seed, metric, value: seed + 0.5, unit: 'ns', better: 'lower',
    solverKind: 'learned', instanceSplit: 'test', wallMs: 1, codeVersion: 'v', machine: 'm', configHash: 'c',
  })));
  process.stdout.write('cell ' + seed + '\\n');
}
`;

/** Opens the store read-only, as the dashboard does for one request, says so, and closes it a moment later. */
const READER = `
import { ResultsStore } from 'STORE_URL';
const store = await ResultsStore.open(process.env.STORE_PATH, { readOnly: true });
process.stdout.write('held\\n');
await new Promise((r) => setTimeout(r, 300));
await store.close();
`;

test("a bench opening the store while a dashboard request reads it waits for the read, rather than failing as 'in use'", async () => {
  const path = fresh();
  const first = await ResultsStore.open(path);
  const runId = await first.startRun({ command: 'bench', gridHash: 'g' });
  await first.close();
  const storeUrl = new URL('../../src/bench/store.js', import.meta.url).href;
  const reader = spawn(process.execPath, ['--input-type=module', '-e', READER.replace('STORE_URL', storeUrl)], { env: { ...process.env, STORE_PATH: path }, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((res) => reader.on('exit', res));
  await new Promise<void>((res, rej) => {
    reader.stdout.on('data', (d) => String(d).includes('held') && res());
    reader.on('exit', () => rej(new Error('the reader exited before holding the store')));
  });
  const store = await ResultsStore.open(path); // it failed here with StoreBusyError
  try {
    await store.insertCell(cell(runId, 'pgm', 1));
    assert.equal((await store.doneCells(runId)).size, 1);
  } finally {
    await store.close();
  }
  assert.equal(await exited, 0);
});
