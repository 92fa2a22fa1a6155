import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBench } from '../../src/bench/runner.js';
import { ResultsStore } from '../../src/bench/store.js';
import { tempDir } from '../tmp.js';
import { benchOptions } from './fixtures.js';

/** The memo directories this process's bench runs hold now (core/files.ts names them `<prefix><host>.<pid>-XXXXXX`). */
function memoDirs(): string[] {
  const prefix = `selfopt-memo-${hostname().replace(/[^A-Za-z0-9-]/g, '_')}.${process.pid}-`;
  return readdirSync(tmpdir()).filter((n) => n.startsWith(prefix)).map((n) => join(tmpdir(), n));
}

const TUNED = ['tuned-weighted-fair', 'tuned-weighted-fair-sjf', 'tuned-rank-weighted-fair', 'hesrpt'];

test('on 2 worker threads a bench run makes each scheduling sweep once, in the memo its threads share; the metrics are those of a run in one thread', async () => {
  const dir = tempDir('selfopt-shared-sweep-');
  const avgJct = new Map<number, Map<string, number>>();
  for (const concurrency of [0, 2]) {
    let held: string[] | undefined;
    const opts = benchOptions({ problems: ['scheduling'], instances: ['synthetic_batch10_20exec'], solvers: TUNED, seeds: 2 }, {
      concurrency,
      options: { sweep_episodes: '1' },
      // The last cell is recorded before the pool closes: the memo is still there.
      onCell: (_c, finished, total) => { if (finished === total) held = memoDirs().flatMap((d) => readdirSync(d)); },
    });
    const s = await ResultsStore.open(join(dir, `r${concurrency}.duckdb`));
    const out = await runBench(opts, s);
    assert.equal(out.ran, 8);
    avgJct.set(concurrency, new Map((await s.rows({ runId: out.runId })).filter((r) => r.metric === 'avg_jct_s').map((r) => [`${r.solver}/${r.seed}`, r.value])));
    await s.close();
    if (concurrency === 0) assert.deepEqual(held, [], 'cells in this thread share no directory');
    // tuned-weighted-fair, tuned-weighted-fair-sjf (which tuned-rank-weighted-fair starts from), the rank bump, heSRPT.
    else assert.deepEqual([held!.filter((f) => f.endsWith('.v8')).length, held!.filter((f) => !f.endsWith('.v8'))], [4, []], held!.join(', '));
  }
  assert.equal(avgJct.get(2)!.size, 8);
  assert.deepEqual(avgJct.get(2), avgJct.get(0));
  assert.deepEqual(memoDirs(), [], 'the memo is removed when the run ends');
});

test('Ctrl-C while one thread sweeps and the other waits for its sweep: the run stops, interrupted, and its memo is removed', async () => {
  const dir = tempDir('selfopt-shared-sweep-');
  const stop = new AbortController();
  const opts = benchOptions({ problems: ['scheduling'], instances: ['synthetic_batch10_20exec'], solvers: ['tuned-weighted-fair'], seeds: 2 }, {
    concurrency: 2,
    // Minutes of sweeping: the run is stopped long before it ends.
    options: { sweep_episodes: '1000' },
    signal: stop.signal,
  });
  const s = await ResultsStore.open(join(dir, 'r.duckdb'));
  const run = runBench(opts, s);
  // A deadline, not a timing: without a shared memo no lock ever comes, and the test says so.
  const deadline = Date.now() + 60_000;
  let locked = false;
  while (!locked && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
    locked = memoDirs().some((d) => readdirSync(d).some((f) => f.endsWith('.lock')));
  }
  stop.abort();
  const out = await run;
  assert.ok(locked, 'a thread took the sweep\'s lock in the shared memo');
  assert.deepEqual([out.interrupted, out.ran], [true, 0]);
  assert.deepEqual(memoDirs(), []);
  await s.close();
});
