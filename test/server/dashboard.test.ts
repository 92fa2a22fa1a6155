/**
 * The dashboard end to end: a real tiny bench run fills a temp store, `serve` serves the built
 * app (dist/web) and its API, and Debian's headless Chromium (driven by playwright-core) loads
 * the page, applies filters, and must show the table rows the store holds and a drawn chart
 * (coloured bar pixels in a screenshot of the chart area). The API is also checked without a
 * browser. Skips visibly when /usr/bin/chromium or the built app is missing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataPath } from '../../src/core/data.js';
import { runBench } from '../../src/bench/runner.js';
import { ResultsStore } from '../../src/bench/store.js';
import { DuckDBInstance } from '@duckdb/node-api';
import { KIND_COLORS } from '../../src/bench/svg.js';
import { loadPictures } from '../../src/bench/pictures.js';
import { shellQuote } from '../../src/bench/command.js';
import { shippedCurves } from '../../src/server/dashboard.js';
import { PROJECT_ROOT } from '../../src/core/version.js';
import { errorMessage } from '../../src/core/errors.js';
import { serve, type RunningServer } from '../../src/server/server.js';
import { built, inChromium, skipBrowser } from './chromium.js';
import { countColor, decodePng } from './png.js';

/** The page's global, inside functions that playwright runs in the browser. */
declare const document: { querySelectorAll(s: string): ArrayLike<{ getAttribute(n: string): string | null }> & Iterable<{ getAttribute(n: string): string | null }> };

const INSTANCES = ['rgg_2k_k2', 'mesh_2k_k2'];
const SOLVERS = ['random', 'graph-growing', 'multilevel'];
const COMMAND = `bench partition --quick --instances ${INSTANCES.join(',')} --solvers ${SOLVERS.join(',')} --seeds 2`;

let dir: string;
let server: RunningServer;
let base: string;
let runId: string;
let drawnRunId: string;
let undrawnRunId: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'selfopt-dash-'));
  const storePath = join(dir, 'results.duckdb');
  const store = await ResultsStore.open(storePath);
  const out = await runBench(
    { problems: ['partition'], instances: INSTANCES, solvers: SOLVERS, seeds: 2, quick: true, resume: false, data: new DataPath({ env: {}, cwd: dir }), options: {}, concurrency: 0, progress: false, command: COMMAND },
    store,
  );
  runId = out.runId;
  // A run of a problem that draws its solutions (scheduling: the seed-1 episode).
  const drawn = await runBench(
    { problems: ['scheduling'], instances: ['synthetic_batch6_10exec'], solvers: ['fifo', 'fair'], seeds: 1, quick: true, resume: false, data: new DataPath({ env: {}, cwd: dir }), options: {}, concurrency: 0, progress: false, command: 'bench scheduling' },
    store,
  );
  drawnRunId = drawn.runId;
  // A run that draws nothing: a classical index has no model.
  undrawnRunId = (await runBench(
    { problems: ['index'], instances: ['uniform_dense_10K_uint32'], solvers: ['binary-search'], seeds: 1, quick: true, resume: false, data: new DataPath({ env: {}, cwd: dir }), options: {}, concurrency: 0, progress: false, command: 'bench index' },
    store,
  )).runId;
  await store.close();
  // A training log in the format `selfopt train` writes (core/train.ts: {t, ...point} per line).
  const trainDir = join(dir, 'train');
  mkdirSync(join(trainDir, 'partition-multilevel-seed1'), { recursive: true });
  writeFileSync(join(trainDir, 'partition-multilevel-seed1', 'curve.jsonl'), [1, 2, 3, 4, 5].map((s) => JSON.stringify({ t: 1000 + s, step: s, return: -10 / s })).join('\n') + '\n{"t":17, "step": 6, "ret');
  // No shipped checkpoints: the tests below count the curves of the store's training runs alone.
  server = await serve({ port: 0, log: () => {}, dashboard: { store: storePath, trainDir, checkpointsDir: join(dir, 'no-checkpoints') } });
  base = server.url.replace(/\/v1$/, '/');
});

after(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const getJson = async (path: string, headers: Record<string, string> = {}) => {
  const res = await fetch(new URL(path, base), { headers });
  return { status: res.status, body: (await res.json()) as any };
};

/** /api/picture's drawing of `p`, checked to be an SVG. */
async function picture(run: string, problem: string, p: { instance: string; solver: string }): Promise<string> {
  const res = await fetch(new URL(`api/picture?${new URLSearchParams({ run, problem, instance: p.instance, solver: p.solver })}`, base));
  const text = await res.text();
  assert.equal(res.status, 200, text);
  assert.equal(res.headers.get('content-type'), 'image/svg+xml; charset=utf-8');
  return text;
}

test('the API serves runs, problems, summaries with CIs and learning curves from the store', async () => {
  const runs = await getJson('api/runs');
  assert.equal(runs.status, 200);
  assert.deepEqual(runs.body.map((r: { runId: string }) => r.runId).sort(), [runId, drawnRunId, undrawnRunId].sort());
  assert.equal(runs.body[0].command, COMMAND);
  const problems = await getJson('api/problems');
  assert.ok(problems.body.some((p: { name: string }) => p.name === 'partition'));
  const s = await getJson('api/summary?problem=partition');
  assert.equal(s.status, 200);
  assert.equal(s.body.run.runId, runId);
  const rows = s.body.summary.rows.filter((r: { metric: string }) => r.metric === 'edge_cut');
  assert.equal(rows.length, INSTANCES.length * SOLVERS.length);
  for (const r of rows) assert.ok(r.ci95[0] <= r.mean && r.mean <= r.ci95[1] && r.n === 2);
  // Partition draws each solver's seed-1 partition, ordered by instance, then solver.
  assert.deepEqual(s.body.pictures.map((p: { instance: string; solver: string }) => `${p.instance}/${p.solver}`), [...INSTANCES].sort().flatMap((i) => SOLVERS.map((v) => `${i}/${v}`)));
  for (const p of s.body.pictures) assert.match(await picture(runId, 'partition', p), /^<svg[\s\S]*edge cut [\d,]+ [\s\S]*<\/svg>\s*$/);
  assert.deepEqual((await getJson('api/summary?problem=index')).body.pictures, [], 'a classical index has no model to draw');
  const drawn = await getJson('api/summary?problem=scheduling');
  assert.equal(drawn.body.run.runId, drawnRunId);
  // That run had one seed: its means and ratios carry no interval (null), not [x, x].
  assert.ok(drawn.body.summary.rows.every((r: { n: number; ci95: unknown }) => r.n === 1 && r.ci95 === null));
  assert.ok(drawn.body.summary.comparisons.length > 0 && drawn.body.summary.comparisons.every((c: { ci95: unknown }) => c.ci95 === null));
  assert.deepEqual(drawn.body.pictures.map((p: { instance: string; solver: string }) => `${p.instance}/${p.solver}`), ['synthetic_batch6_10exec/fifo', 'synthetic_batch6_10exec/fair']);
  for (const p of drawn.body.pictures) assert.match(await picture(drawnRunId, 'scheduling', p), /^<svg[\s\S]*avg JCT [\d.]+ s[\s\S]*<\/svg>\s*$/);
  const curves = await getJson('api/curves?problem=partition');
  assert.deepEqual(curves.body.curves.map((c: { name: string }) => c.name), ['partition-multilevel-seed1']);
  assert.equal(curves.body.curves[0].points.length, 5, 'the torn last line is skipped');
  assert.equal((await getJson('api/summary?problem=nope')).status, 404);
  assert.equal((await getJson('api/summary?problem=partition&run=nope')).status, 404);
  assert.equal((await getJson('api/other')).status, 404);
});

test('a summary lists its run\'s pictures without their drawings (partition\'s test split sent 253, 4-7 MB, with every re-read); /api/picture serves each, and names what it cannot find', async () => {
  const { body } = await getJson('api/summary?problem=partition');
  const stored = loadPictures(join(dir, 'results.duckdb'), runId, 'partition', SOLVERS);
  assert.deepEqual(body.pictures, stored.map((p) => ({ instance: p.instance, solver: p.solver, bytes: Buffer.byteLength(p.svg) })));
  for (const p of stored) assert.equal(await picture(runId, 'partition', p), p.svg);
  const bad = async (query: string, status: number, message: string) => {
    const res = await getJson(`api/picture?${query}`);
    assert.equal(res.status, status, JSON.stringify(res.body));
    assert.equal(res.body.error.code, status === 400 ? 'bad_request' : 'not_found');
    assert.equal(res.body.error.message, message);
  };
  const ask = '?run=ID&problem=NAME&instance=ID&solver=NAME (/api/summary lists each run\'s pictures)';
  await bad(`run=${runId}&problem=partition&instance=mesh_2k_k2`, 400, `no solver given (at /api/picture); expected ${ask}`);
  await bad('problem=partition&instance=mesh_2k_k2&solver=random', 400, `no run given (at /api/picture); expected ${ask}`);
  await bad('run=../../etc&problem=partition&instance=mesh_2k_k2&solver=random', 400, "run '../../etc' is not a run id (at /api/picture); expected a run id as /api/runs gives it (e.g. 20250101T000000000Z-abcd)");
  assert.match((await getJson(`api/picture?run=${runId}&problem=partitoin&instance=mesh_2k_k2&solver=random`)).body.error.message, /unknown problem 'partitoin'/);
  const none = "an instance and solver of the run's pictures (/api/summary?problem=NAME&run=ID lists them)";
  await bad(`run=${runId}&problem=partition&instance=mesh_2k_k2&solver=gap`, 404, `run '${runId}' drew no picture of partition instance 'mesh_2k_k2' by solver 'gap' (at /api/picture); expected ${none}`);
  await bad(`run=${drawnRunId}&problem=partition&instance=mesh_2k_k2&solver=random`, 404, `run '${drawnRunId}' drew no picture of partition instance 'mesh_2k_k2' by solver 'random' (at /api/picture); expected ${none}`);
});

test('the curves of the shipped checkpoints are served beside the training runs\' (a clean clone has no .selfopt/train and said "no training logs")', async () => {
  const ckpts = join(dir, 'checkpoints');
  mkdirSync(join(ckpts, 'scheduling'), { recursive: true });
  mkdirSync(join(ckpts, 'partition'), { recursive: true });
  // The record names its curve by the path it was shipped at; the file is read beside the record.
  writeFileSync(join(ckpts, 'scheduling', 'decima.json'), JSON.stringify({ problem: 'scheduling', solver: 'decima', seed: 22, curve: 'checkpoints/scheduling/decima-curve.jsonl' }));
  writeFileSync(join(ckpts, 'scheduling', 'decima-curve.jsonl'), [1, 2, 3].map((i) => JSON.stringify({ t: i, iteration: i, loss: 1 / i })).join('\n') + '\n');
  // A curve left in a machine's state directory did not ship: left out. So is a record that is not JSON.
  writeFileSync(join(ckpts, 'partition', 'gap.json'), JSON.stringify({ problem: 'partition', solver: 'gap', seed: 1, curve: '/nowhere/.selfopt/train/partition-gap-seed1/curve.jsonl' }));
  writeFileSync(join(ckpts, 'partition', 'broken.json'), '{');
  const other = await serve({ port: 0, log: () => {}, dashboard: { store: join(dir, 'no-such-store.duckdb'), trainDir: join(dir, 'train'), checkpointsDir: ckpts } });
  try {
    const get = async (path: string) => ((await (await fetch(new URL(path, other.url.replace(/\/v1$/, '/')))).json()) as { curves: { name: string; shipped?: string; points: unknown[] }[] }).curves;
    const scheduling = await get('api/curves?problem=scheduling');
    assert.deepEqual(scheduling.map((c) => [c.name, c.shipped, c.points.length]), [['scheduling-decima-seed22', 'checkpoints/scheduling/decima.json', 3]]);
    // The training run of the store's own train dir first, then none shipped for partition.
    assert.deepEqual((await get('api/curves?problem=partition')).map((c) => c.name), ['partition-multilevel-seed1']);
  } finally {
    await other.close();
  }
  // The repository's own: the four Decima checkpoints, the chip placer, GAP and the compiler's PPO ship their curves.
  const real = shippedCurves(join(PROJECT_ROOT, 'checkpoints')).curves;
  assert.deepEqual(real.map((c) => c.shipped).sort(), ['checkpoints/chip/rl.json', 'checkpoints/compiler/ppo.json', 'checkpoints/partition/gap.json', 'checkpoints/scheduling/decima-mr.json', 'checkpoints/scheduling/decima-stream.json', 'checkpoints/scheduling/decima-synthetic.json', 'checkpoints/scheduling/decima.json']);
  for (const c of real) assert.ok(c.total > 10, `${c.shipped}: ${c.total} points`);
  // Each is named by its checkpoint: Decima's batch and generated-batch checkpoints are both seed 22.
  assert.deepEqual(real.map((c) => c.name).sort(), ['chip-rl-seed1', 'compiler-ppo-seed1', 'partition-gap-seed1', 'scheduling-decima-mr-seed23', 'scheduling-decima-seed22', 'scheduling-decima-stream-seed14', 'scheduling-decima-synthetic-seed22']);
});

test('a shipped checkpoint\'s record whose curve is not shown is named with why, by /api/curves and on the page (compiler/ppo.json and partition/gap.json name a curve on a machine that is gone, and were left out in silence)', { timeout: 120_000 }, async () => {
  const ckpts = join(dir, 'checkpoints-left-out');
  mkdirSync(join(ckpts, 'partition'), { recursive: true });
  const gone = '/work/wt-part/.selfopt/train/partition-gap-seed1/curve.jsonl';
  writeFileSync(join(ckpts, 'partition', 'gap.json'), JSON.stringify({ problem: 'partition', solver: 'gap', seed: 1, curve: gone }));
  writeFileSync(join(ckpts, 'partition', 'broken.json'), '{');
  writeFileSync(join(ckpts, 'partition', 'other.json'), JSON.stringify({ problem: 'chip', solver: 'rl', curve: 'rl.curve.jsonl' }));
  const leftOut = [
    { record: 'checkpoints/partition/broken.json', reason: `is not JSON (${errorMessage(jsonError('{'))})` },
    { record: 'checkpoints/partition/gap.json', reason: `names curve ${gone}, which is not shipped (no checkpoints/partition/curve.jsonl beside the record)` },
    { record: 'checkpoints/partition/other.json', reason: 'is a record of problem "chip", not of partition (its folder)' },
  ];
  const other = await serve({ port: 0, log: () => {}, dashboard: { store: join(dir, 'results.duckdb'), trainDir: join(dir, 'train'), checkpointsDir: ckpts } });
  const otherBase = other.url.replace(/\/v1$/, '/');
  try {
    const body = await (await fetch(new URL('api/curves?problem=partition', otherBase))).json() as any;
    assert.deepEqual(body.leftOut, leftOut);
    assert.deepEqual(body.curves.map((c: { name: string }) => c.name), ['partition-multilevel-seed1'], 'the training run\'s curve is still served');
    assert.deepEqual((await (await fetch(new URL('api/curves?problem=scheduling', otherBase))).json() as any).leftOut, [], 'another problem\'s records are not its');
    if (!skipBrowser) {
      await inChromium(1280, async (page, errors) => {
        await page.goto(`${otherBase}#problem=partition`);
        await page.waitForSelector('#curves-left-out li');
        assert.deepEqual(await page.$$eval('#curves-left-out li', (lis) => lis.map((li) => li.textContent)), leftOut.map((l) => `${l.record} ${l.reason}: its curve is not shown`));
        assert.deepEqual(errors, []);
      });
    }
  } finally {
    await other.close();
  }
  // The repository's own records: each is shown (every one names a curve that ships).
  const shipped = shippedCurves(join(PROJECT_ROOT, 'checkpoints'));
  const records = readdirSync(join(PROJECT_ROOT, 'checkpoints'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.json')).map((f) => `checkpoints/${f}`);
  assert.deepEqual([...shipped.curves.map((c) => c.shipped), ...shipped.leftOut.map((l) => l.record)].sort(), records.sort(), 'every record is shown or said to be left out');
  assert.deepEqual(shipped.leftOut, [], 'every shipped record\'s curve ships');
});

/** The error JSON.parse throws for `text`. */
function jsonError(text: string): unknown {
  try {
    JSON.parse(text);
  } catch (e) {
    return e;
  }
  throw new Error(`${text} parsed`);
}

test('the API names a problem a run did not record, and an unknown problem of the curves, with 404 (not 200 and an empty answer)', async () => {
  const other = await getJson(`api/summary?problem=partition&run=${drawnRunId}`);
  assert.equal(other.status, 404, JSON.stringify(other.body));
  assert.equal(other.body.error.code, 'not_found');
  assert.match(other.body.error.message, new RegExp(`^run '${drawnRunId}' recorded no results of partition \\(it recorded: scheduling\\)`));
  assert.equal((await getJson(`api/summary?problem=partition&run=${runId}`)).status, 200);
  const curves = await getJson('api/curves?problem=partitoin');
  assert.equal(curves.status, 404, JSON.stringify(curves.body));
  assert.match(curves.body.error.message, /unknown problem 'partitoin'/);
  assert.equal((await getJson('api/curves')).status, 200);
});

test('a store file that is not a store answers 500 store_unreadable and a missing ?problem= 400 bad_request, not 404 as for a name', async () => {
  // Both were 404 not_found: a wrong name, to a client, where the server's file or the request is at fault.
  const garbage = join(dir, 'garbage.duckdb');
  writeFileSync(garbage, 'not a database at all, but long enough to be read as one '.repeat(100));
  const other = await serve({ port: 0, log: () => {}, dashboard: { store: garbage, trainDir: join(dir, 'train') } });
  try {
    const res = await fetch(new URL('api/runs', other.url.replace(/\/v1$/, '/')));
    const body = (await res.json()) as any;
    assert.equal(res.status, 500, JSON.stringify(body));
    assert.equal(body.error.code, 'store_unreadable');
    assert.match(body.error.message, /not a DuckDB database/);
  } finally {
    await other.close();
  }
  const missing = await getJson('api/summary');
  assert.equal(missing.status, 400, JSON.stringify(missing.body));
  assert.deepEqual(missing.body.error, { code: 'bad_request', message: 'no problem given (at /api/summary); expected ?problem=NAME' });
});

/** Waits for a child process to print `word` on stdout. */
function printed(child: ReturnType<typeof spawn>, word: string): Promise<void> {
  return new Promise<void>((ok, fail) => {
    child.stdout!.on('data', (d) => String(d).includes(word) && ok());
    child.once('exit', () => fail(new Error(`the child exited before printing '${word}'`)));
  });
}

test('while a bench writes the store, the API answers with the run so far (it answered 503 store_busy for the whole run)', async () => {
  const live = join(dir, 'live.duckdb');
  cpSync(join(dir, 'results.duckdb'), live);
  const storeUrl = new URL('../../src/bench/store.js', import.meta.url).href;
  // A `selfopt bench` recording index cells one after another, as fast as it can.
  const writer = spawn(process.execPath, ['--input-type=module', '-e', `
    import { ResultsStore } from '${storeUrl}';
    const store = await ResultsStore.open(process.env.STORE_PATH);
    const runId = await store.startRun({ command: 'bench live', gridHash: 'live' });
    for (let seed = 1; ; seed++) {
      await store.insertCell([{ runId, problem: 'index', instance: 'uniform_dense_10K_uint32', solver: 'binary-search', seed, metric: 'lookup_ns', value: 100 + seed,
        unit: 'ns', better: 'lower', solverKind: 'baseline', instanceSplit: 'test', wallMs: 1, codeVersion: 'v', machine: 'm', configHash: 'c' }]);
      if (seed === 3) console.log('written');
    }`], { env: { ...process.env, STORE_PATH: live }, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((ok) => writer.once('exit', ok));
  const other = await serve({ port: 0, log: () => {}, dashboard: { store: live, trainDir: join(dir, 'train') } });
  try {
    await printed(writer, 'written');
    const res = await fetch(new URL('api/runs', other.url.replace(/\/v1$/, '/')));
    const body = (await res.json()) as any;
    assert.equal(res.status, 200, JSON.stringify(body));
    const run = body.find((r: any) => r.command === 'bench live');
    assert.ok(run && run.finishedAt === null && run.cells >= 3, JSON.stringify(run));
    const summary = await fetch(new URL('api/summary?problem=index', other.url.replace(/\/v1$/, '/')));
    assert.equal(summary.status, 200);
    assert.equal(((await summary.json()) as any).run.runId, run.runId, 'the latest run of index is the live one');
  } finally {
    writer.kill('SIGKILL');
    await exited;
    await other.close();
  }
});

test('while a process that is not selfopt holds the store open (a duckdb shell), the API answers 503 store_busy with the store\'s message, not 404', async () => {
  const held = join(dir, 'held.duckdb');
  cpSync(join(dir, 'results.duckdb'), held);
  const holder = spawn(process.execPath, ['--input-type=module', '-e', "import { DuckDBInstance } from '@duckdb/node-api'; const db = await DuckDBInstance.create(process.env.STORE_PATH); await db.connect(); console.log('held'); setInterval(() => {}, 60_000);"], {
    env: { ...process.env, STORE_PATH: held },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((ok) => holder.once('exit', ok));
  const other = await serve({ port: 0, log: () => {}, dashboard: { store: held, trainDir: join(dir, 'train') } });
  const url = new URL('api/runs', other.url.replace(/\/v1$/, '/'));
  try {
    await printed(holder, 'held');
    const res = await fetch(url);
    const body = (await res.json()) as any;
    assert.equal(res.status, 503, JSON.stringify(body));
    assert.equal(body.error.code, 'store_busy');
    assert.match(body.error.message, new RegExp(`^the results store is in use by another process \\(PID ${holder.pid}\\) \\(at .*held\\.duckdb\\)`));
  } finally {
    holder.kill('SIGKILL');
    await exited;
  }
  try {
    assert.equal((await fetch(url)).status, 200, 'the store is free again');
  } finally {
    await other.close();
  }
});

test('static files stay inside the web directory', { skip: built ? false : 'the dashboard is not built' }, async () => {
  for (const p of ['/../../package.json', '/%2e%2e/%2e%2e/package.json', '/assets/../../../src/cli/main.ts']) {
    const res = await fetch(base.replace(/\/$/, '') + p);
    const text = await res.text();
    assert.equal(res.status, 200);
    assert.match(text, /<title>selfopt results<\/title>/, p);
  }
});

test('HEAD is answered as GET without a body, on the page, a file and the API (HEAD / was a 404 saying "the protocol is POST /v1")', async () => {
  const web = join(dir, 'web-head');
  mkdirSync(join(web, 'assets'), { recursive: true });
  const page = '<!doctype html><title>selfopt results</title>';
  writeFileSync(join(web, 'index.html'), page);
  writeFileSync(join(web, 'assets', 'app-1234.js'), 'console.log(1);\n');
  const s = await serve({ port: 0, log: () => {}, dashboard: { store: join(dir, 'no-such-store.duckdb'), trainDir: join(dir, 'train'), webDir: web } });
  try {
    const at = (p: string) => s.url.replace(/\/v1$/, p);
    for (const p of ['/', '/assets/app-1234.js', '/api/runs', '/api/problems']) {
      const get = await fetch(at(p));
      const getBody = Buffer.from(await get.arrayBuffer());
      const head = await new Promise<{ status: number; headers: Record<string, unknown>; bytes: number }>((done, fail) => {
        const req = httpRequest(at(p), { method: 'HEAD' }, (res) => {
          let bytes = 0;
          res.on('data', (c: Buffer) => (bytes += c.length));
          res.on('end', () => done({ status: res.statusCode!, headers: res.headers, bytes }));
        });
        req.on('error', fail);
        req.end();
      });
      assert.equal(head.status, get.status, p);
      assert.equal(head.status, 200, p);
      assert.equal(head.headers['content-type'], get.headers.get('content-type'), p);
      assert.equal(head.headers['content-length'], String(getBody.length), p);
      assert.equal(head.bytes, 0, p);
    }
  } finally {
    await s.close();
  }
});

test('/api/store names the store the server reads and whether it exists yet, so the page can say which store has no runs', async () => {
  const store = await getJson('api/store');
  assert.equal(store.status, 200);
  assert.deepEqual(store.body, { path: join(dir, 'results.duckdb'), exists: true, isDefault: false });
  const other = await serve({ port: 0, log: () => {}, dashboard: { store: join(dir, 'no-such-store.duckdb'), trainDir: join(dir, 'train') } });
  try {
    const res = await fetch(other.url.replace(/\/v1$/, '/api/store'));
    assert.deepEqual(await res.json(), { path: join(dir, 'no-such-store.duckdb'), exists: false, isDefault: false });
  } finally {
    await other.close();
  }
});

test('with --token the API wants the bearer token', async () => {
  const s = await serve({ port: 0, log: () => {}, token: 'sekret', dashboard: { store: join(dir, 'results.duckdb'), trainDir: join(dir, 'train') } });
  try {
    const url = s.url.replace(/\/v1$/, '/api/runs');
    assert.equal((await fetch(url)).status, 401);
    assert.equal((await fetch(url, { headers: { authorization: 'Bearer sekret' } })).status, 200);
  } finally {
    await s.close();
  }
});

test('in headless Chromium: the table shows the store, a filter narrows it, a chart is drawn', { skip: skipBrowser, timeout: 120_000 }, async () => {
  await inChromium(1280, async (page, errors) => {
    page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
    // The page opens on the first problem with results (scheduling here); the hash picks one.
    await page.goto(`${base}#problem=partition`);
    await page.waitForSelector('#results tbody tr[data-solver]');
    assert.equal(await page.inputValue('#f-problem'), 'partition');

    const { summary } = (await getJson('api/summary?problem=partition')).body;
    const rowsOf = () => page.$$eval('#results tbody tr[data-solver]', (trs) => trs.map((tr) => ({
      instance: tr.getAttribute('data-instance'),
      solver: tr.getAttribute('data-solver'),
      mean: Number(tr.querySelector('td[data-mean]')!.getAttribute('data-mean')),
      text: tr.textContent ?? '',
      command: tr.querySelector('a.cmd-link')!.getAttribute('title'),
    })));
    const all = await rowsOf();
    assert.equal(all.length, INSTANCES.length * SOLVERS.length);
    for (const r of all) {
      const want = summary.rows.find((x: any) => x.instance === r.instance && x.solver === r.solver && x.metric === 'edge_cut');
      assert.equal(r.mean, want.mean, `${r.instance}/${r.solver}`);
      assert.equal(r.command, `npx selfopt bench partition --instances ${r.instance} --solvers ${r.solver} --quick --seeds 2`);
    }
    // A row's link shows the command that re-runs that row.
    await page.click(`#results tbody tr[data-solver="${all[1]!.solver}"][data-instance="${all[1]!.instance}"] a.cmd-link`);
    assert.equal(await page.textContent('#run-command'), all[1]!.command);

    // Filter: one instance.
    await page.selectOption('#f-instance', 'mesh_2k_k2');
    await page.waitForFunction(() => [...document.querySelectorAll('#results tbody tr[data-instance]')].every((tr) => tr.getAttribute('data-instance') === 'mesh_2k_k2'));
    const narrowed = await rowsOf();
    assert.deepEqual(narrowed.map((r) => r.solver).sort(), [...SOLVERS].sort());
    assert.equal(await page.$$eval('#charts figure', (fs) => fs.length), 1);
    assert.match(page.url(), /instance=mesh_2k_k2/);
    // And one solver.
    await page.selectOption('#f-solver', 'multilevel');
    await page.waitForFunction(() => document.querySelectorAll('#results tbody tr[data-solver]').length === 1);
    assert.equal((await rowsOf())[0]!.solver, 'multilevel');
    await page.selectOption('#f-solver', '');
    await page.waitForFunction(() => document.querySelectorAll('#results tbody tr[data-solver]').length === 3);

    // The bar chart is drawn: its screenshot holds bars in the solver kinds' colours.
    const shot = decodePng(await (await page.$('#charts'))!.screenshot());
    const heuristic = countColor(shot, KIND_COLORS.heuristic);
    const baseline = countColor(shot, KIND_COLORS.baseline);
    assert.ok(heuristic > 200 && baseline > 100, `bar pixels: heuristic ${heuristic}, baseline ${baseline} of ${shot.width}x${shot.height}`);
    // And the learning curve.
    assert.equal(await page.$$eval('#curves figure path', (ps) => ps.length), 1);
    const curve = decodePng(await (await page.$('#curves figure'))!.screenshot());
    assert.ok(countColor(curve, '#ea580c') > 50, 'the curve line is drawn');
    // Partition's drawings of its run; a run that drew nothing says so; scheduling's appear when it is chosen.
    assert.deepEqual(await page.$$eval('#pictures figure', (fs) => fs.map((f) => `${f.getAttribute('data-instance')} · ${f.getAttribute('data-solver')}`)), SOLVERS.map((v) => `mesh_2k_k2 · ${v}`), 'the instance filter holds for the drawings too');
    await page.selectOption('#f-problem', 'index');
    await page.waitForSelector('#pictures p.muted');
    assert.equal(await page.textContent('#pictures'), 'index draws no solutions in this run');
    await page.selectOption('#f-problem', 'scheduling');
    await page.waitForSelector('#pictures figure svg');
    // Scheduling ran one seed: no '± 0' and no [x, x] interval, and no ratio marked good or bad.
    const fair = (await page.textContent('#results tbody tr[data-solver="fair"]')) ?? '';
    assert.ok(!/\d ± \d/.test(fair) && !/\[\d/.test(fair) && fair.includes('(n=1)'), fair);
    assert.equal(await page.$$eval('#results tbody .good, #results tbody .bad', (es) => es.length), 0);
    assert.deepEqual(await page.$$eval('#pictures figure', (fs) => fs.map((f) => `${f.getAttribute('data-instance')} · ${f.getAttribute('data-solver')}`)), ['synthetic_batch6_10exec · fifo', 'synthetic_batch6_10exec · fair']);
    await page.selectOption('#f-solver', 'fair');
    await page.waitForFunction(() => document.querySelectorAll('#pictures figure').length === 1);
    assert.deepEqual(errors, []);
  });
});

test('in headless Chromium: the drawings are shown one instance at a time, each fetched when shown, below the learning curves (all of partition\'s 253 made the page 49,000 px tall, the curves under them)', { skip: skipBrowser, timeout: 120_000 }, async () => {
  await inChromium(1280, async (page, errors) => {
    const asked: string[] = [];
    page.on('request', (r) => {
      const u = new URL(r.url());
      if (u.pathname === '/api/picture') asked.push(`${u.searchParams.get('instance')} · ${u.searchParams.get('solver')}`);
    });
    const cards = () => page.$$eval('#pictures figure', (fs) => fs.map((f) => `${f.getAttribute('data-instance')} · ${f.getAttribute('data-solver')}`));
    await page.goto(`${base}#problem=partition`);
    await page.waitForFunction(() => document.querySelectorAll('#pictures figure svg').length === 3);
    // Every instance, but only the first one's drawings: the summary lists them sorted by instance.
    const [first, second] = [...INSTANCES].sort();
    assert.deepEqual(await cards(), SOLVERS.map((v) => `${first} · ${v}`));
    assert.deepEqual(asked.sort(), SOLVERS.map((v) => `${first} · ${v}`).sort(), 'only the drawings on screen are fetched');
    assert.equal(await page.textContent('#g-count'), '1 of 2 instances with drawings');
    const top = (sel: string) => page.$eval(sel, (e) => e.getBoundingClientRect().top);
    assert.ok((await top('#curves')) < (await top('#pictures')), 'the learning curves come before the drawings');
    // The next instance's, fetched then; and back, from what the page kept.
    await page.click('#g-next');
    await page.waitForFunction((i) => [...document.querySelectorAll('#pictures figure')].every((f) => f.getAttribute('data-instance') === i), second);
    await page.waitForFunction(() => document.querySelectorAll('#pictures figure svg').length === 3);
    assert.deepEqual(await cards(), SOLVERS.map((v) => `${second} · ${v}`));
    await page.selectOption('#g-instance', first!);
    await page.waitForFunction(() => document.querySelectorAll('#pictures figure svg').length === 3);
    assert.deepEqual(await cards(), SOLVERS.map((v) => `${first} · ${v}`));
    assert.equal(asked.length, 6, `each drawing fetched once: ${asked.join(', ')}`);
    // The instance chosen is in the link: opened anew, the link shows its drawings.
    await page.click('#g-next');
    await page.waitForFunction(`new URLSearchParams(location.hash.slice(1)).get('picture') === ${JSON.stringify(second)}`);
    const link = page.url();
    await page.goto('about:blank');
    await page.goto(link);
    await page.waitForFunction(() => document.querySelectorAll('#pictures figure svg').length === 3);
    assert.deepEqual(await cards(), SOLVERS.map((v) => `${second} · ${v}`));
    assert.equal(await page.textContent('#g-count'), '2 of 2 instances with drawings');
    assert.deepEqual(errors, []);
  });
});

test('in headless Chromium: a request that fails after the first view is said in the status line, not left as "loading…"', { skip: skipBrowser, timeout: 120_000 }, async () => {
  await inChromium(1280, async (page, errors) => {
    await page.goto(`${base}#problem=partition`);
    await page.waitForSelector('#results tbody tr[data-solver]');
    // What the API answers while a `selfopt bench` holds the store (dashboard.ts, withStore).
    const busy = 'the results store is in use by another process (PID 4242) (at results.duckdb); expected one selfopt process per store at a time';
    await page.route('**/api/summary?problem=scheduling*', (r) => r.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ error: { code: 'store_busy', message: busy } }) }));
    await page.selectOption('#f-problem', 'scheduling');
    await page.waitForSelector('#status.error');
    assert.equal(await page.textContent('#status'), busy);
    assert.equal(await page.$$eval('#results tbody tr', (trs) => trs.length), 0, "partition's rows are not left under scheduling");
    assert.deepEqual(errors, []);
    // Once the store is free again, choosing again shows the results.
    await page.unroute('**/api/summary?problem=scheduling*');
    await page.selectOption('#f-problem', 'partition');
    await page.selectOption('#f-problem', 'scheduling');
    await page.waitForSelector('#results tbody tr[data-solver="fifo"]');
    assert.equal(await page.textContent('#status'), '');
  });
});

test('in headless Chromium: a link naming an unknown problem shows the first problem with results and says so', { skip: skipBrowser, timeout: 120_000 }, async () => {
  await inChromium(1280, async (page, errors) => {
    await page.goto(`${base}#problem=partitoin&solver=multilevel`);
    await page.waitForSelector('#results tbody tr[data-solver]');
    const shown = await page.inputValue('#f-problem');
    const first = (await getJson('api/problems')).body.map((p: { name: string }) => p.name).find((n: string) => ['partition', 'scheduling', 'index'].includes(n));
    assert.equal(shown, first);
    assert.equal(await page.textContent('#status'), `no problem 'partitoin' (named in the URL); showing ${shown}`);
    assert.match(page.url(), new RegExp(`#problem=${shown}&metric=`));
    assert.deepEqual(errors, []);
  });
});

test('in headless Chromium: a link followed in a tab already on the dashboard shows what it names, not the filters the tab had', { skip: skipBrowser, timeout: 120_000 }, async () => {
  await inChromium(1280, async (page, errors) => {
    await page.goto(`${base}#problem=partition&instance=mesh_2k_k2&solver=multilevel`);
    await page.waitForFunction(() => document.querySelectorAll('#results tbody tr[data-solver]').length === 1);
    // Only the hash changes: the page is not reloaded, the hashchange handler reads the link.
    await page.goto(`${base}#problem=partition`);
    await page.waitForFunction((n) => document.querySelectorAll('#results tbody tr[data-solver]').length === n, INSTANCES.length * SOLVERS.length);
    assert.equal(await page.inputValue('#f-instance'), '');
    assert.equal(await page.inputValue('#f-solver'), '');
    assert.doesNotMatch(page.url(), /instance=|solver=/);
    assert.deepEqual(errors, []);
  });
});

test('in headless Chromium: the summary\'s warnings (why a ratio is missing) are shown, as the HTML report shows them', { skip: skipBrowser, timeout: 120_000 }, async () => {
  await inChromium(1280, async (page, errors) => {
    // The run's real summary, with the warning a run without the baseline solver gets (summary.ts).
    const real = (await getJson('api/summary?problem=partition')).body;
    const warning = "no rows for the baseline solver 'x': no ratios vs baseline";
    real.summary.meta.warnings = [warning];
    await page.route('**/api/summary?problem=partition*', (r) => r.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(real) }));
    await page.goto(`${base}#problem=partition`);
    await page.waitForSelector('#results tbody tr[data-solver]');
    assert.deepEqual(await page.$$eval('#warnings li', (lis) => lis.map((li) => li.textContent)), [warning]);
    assert.deepEqual(errors, []);
  });
});

test('in headless Chromium: a solver filter shows that solver\'s learning curves, not those of a solver whose name it begins', { skip: skipBrowser, timeout: 120_000 }, async () => {
  // As compiler's ppo and ppo-guided-search: both train, into compiler-ppo-seed1 and compiler-ppo-guided-search-seed1.
  const other = join(dir, 'train', 'partition-multilevel-kway-seed1');
  mkdirSync(other);
  writeFileSync(join(other, 'curve.jsonl'), JSON.stringify({ t: 1, step: 1, return: -3 }) + '\n');
  try {
    await inChromium(1280, async (page, errors) => {
      await page.goto(`${base}#problem=partition&solver=multilevel`);
      await page.waitForSelector('#curves figure');
      assert.deepEqual(await page.$$eval('#curves figure', (fs) => fs.map((f) => f.getAttribute('data-curve'))), ['partition-multilevel-seed1']);
      await page.selectOption('#f-solver', '');
      await page.waitForFunction(() => document.querySelectorAll('#curves figure').length === 2);
      assert.deepEqual(errors, []);
    });
  } finally {
    rmSync(other, { recursive: true, force: true });
  }
});

test('in headless Chromium: a training run that has logged no point yet says so under its name, not an empty frame with no y axis', { skip: skipBrowser, timeout: 120_000 }, async () => {
  const curves = (await getJson('api/curves?problem=partition')).body as { curves: unknown[] };
  const started = { name: 'partition-gap-seed1', problem: 'partition', points: [], total: 0 };
  await inChromium(1280, async (page, errors) => {
    await page.route('**/api/curves?problem=partition', (r) => r.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ ...curves, curves: [started, ...curves.curves] }) }));
    await page.goto(`${base}#problem=partition`);
    await page.waitForSelector('#curves figure[data-curve="partition-multilevel-seed1"] svg');
    const empty = page.locator('#curves figure[data-curve="partition-gap-seed1"]');
    assert.equal(await empty.locator('svg').count(), 0);
    assert.equal(await empty.locator('p').textContent(), 'no points yet: the training run has logged none (it may have just started)');
    assert.deepEqual(errors, []);
  });
});

test('with no results store yet (no bench has run), the API answers no runs (it was 404), and the page lists the problems and draws their learning curves', { skip: skipBrowser, timeout: 120_000 }, async () => {
  const other = await serve({ port: 0, log: () => {}, dashboard: { store: join(dir, 'no-such-store.duckdb'), trainDir: join(dir, 'train') } });
  const otherBase = other.url.replace(/\/v1$/, '/');
  try {
    const runs = await fetch(new URL('api/runs', otherBase));
    assert.equal(runs.status, 200);
    assert.deepEqual(await runs.json(), []);
    const problemCount = ((await getJson('api/problems')).body as unknown[]).length;
    await inChromium(1280, async (page, errors) => {
      await page.goto(`${otherBase}#problem=partition`);
      await page.waitForSelector('#curves figure[data-curve="partition-multilevel-seed1"] svg');
      assert.equal(await page.locator('#f-problem option').count(), problemCount);
      assert.equal(await page.inputValue('#f-problem'), 'partition');
      // Which store it read, and the bench that fills that one (it said only "no recorded runs").
      const missing = join(dir, 'no-such-store.duckdb');
      assert.equal(await page.textContent('#status'), `no recorded runs of partition: there is no results store at ${missing} yet; run \`npx selfopt bench partition --quick --store ${shellQuote(missing)}\``);
      assert.deepEqual(errors, []);
    });
  } finally {
    await other.close();
  }
});

test('in headless Chromium: a link naming a run the problem does not have shows the latest run and says so', { skip: skipBrowser, timeout: 120_000 }, async () => {
  await inChromium(1280, async (page, errors) => {
    // The index run is not a partition run: a link carried over from another problem or store.
    await page.goto(`${base}#problem=partition&run=${undrawnRunId}`);
    await page.waitForSelector('#results tbody tr[data-solver]');
    assert.equal(await page.textContent('#status'), `no run '${undrawnRunId}' of partition (named in the URL); showing the latest`);
    assert.equal(await page.inputValue('#f-run'), '');
    assert.match((await page.textContent('#run h2')) ?? '', new RegExp(runId));
    assert.doesNotMatch(page.url(), /run=/);
    assert.deepEqual(errors, []);
  });
});

test('in headless Chromium: an unfinished run on screen is read again and redrawn when it gains cells or finishes; the latest view moves to a newer run', { skip: skipBrowser, timeout: 120_000 }, async () => {
  await inChromium(1280, async (page, errors) => {
    // The partition run as a bench still writing it would show it: unfinished, fewer cells.
    const realRuns = (await getJson('api/runs')).body as any[];
    const real = (await getJson('api/summary?problem=partition')).body;
    const full = real.run.cells as number;
    let state = { cells: full - 4, finishedAt: null as string | null };
    const asNow = (r: any) => (r.runId === runId ? { ...r, ...state } : r);
    let summaryReads = 0;
    await page.route('**/api/runs', (r) => r.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(realRuns.map(asNow)) }));
    await page.route('**/api/summary?problem=partition*', (r) => {
      summaryReads++;
      r.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ ...real, run: asNow(real.run) }) });
    });
    await page.clock.install();
    await page.goto(`${base}#problem=partition`);
    await page.waitForSelector('#live');
    assert.match((await page.textContent('#run .sub'))!, new RegExp(`· ${full - 4} cells · unfinished`));
    assert.equal(summaryReads, 1);

    // Nothing new: the tick reads the runs but not the summary again.
    await page.clock.runFor(10_000);
    await page.waitForTimeout(200);
    assert.equal(summaryReads, 1, 'an unchanged run is not read again');

    // The bench recorded its last cells and finished: the next tick redraws, and stops reading.
    state = { cells: full, finishedAt: real.run.finishedAt ?? new Date().toISOString() };
    await page.clock.runFor(10_000);
    await page.waitForFunction(() => !document.querySelectorAll('#live').length);
    assert.match((await page.textContent('#run .sub'))!, new RegExp(`· ${full} cells`));
    assert.equal(summaryReads, 2);
    await page.clock.runFor(30_000);
    await page.waitForTimeout(200);
    assert.equal(summaryReads, 2, 'a finished run is not read again');

    // A bench started after the page opened: the latest run on screen becomes the new one.
    const newer = { ...real.run, runId: '29991231T000000000Z-beef', startedAt: '2999-12-31T00:00:00.000Z', finishedAt: null, cells: 2 };
    realRuns.push(newer);
    real.run = newer;
    await page.clock.runFor(10_000);
    await page.waitForFunction(() => document.querySelectorAll('#live').length === 1);
    assert.match((await page.textContent('#run h2'))!, /29991231T000000000Z-beef/);
    assert.equal(summaryReads, 3);
    assert.deepEqual(errors, []);
  });
});

test('in headless Chromium: with no run of the problem yet, the page reads the runs again every 10 s, and a bench started later appears (it was never read again)', { skip: skipBrowser, timeout: 120_000 }, async () => {
  await inChromium(1280, async (page, errors) => {
    const realRuns = (await getJson('api/runs')).body as any[];
    let benchStarted = false;
    let runsReads = 0;
    await page.route('**/api/runs', (r) => {
      runsReads++;
      r.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(benchStarted ? realRuns : []) });
    });
    await page.clock.install();
    await page.goto(`${base}#problem=partition`);
    await page.locator('#status', { hasText: 'no recorded runs of partition' }).waitFor();
    assert.equal(runsReads, 1);

    // Nothing yet: the tick reads the runs, and the page still says there is none.
    await page.clock.runFor(10_000);
    await page.waitForTimeout(200);
    assert.equal(runsReads, 2, 'the runs are read again after 10 s');
    assert.match((await page.textContent('#status'))!, /no recorded runs of partition/);

    // A bench started: the next tick shows its run.
    benchStarted = true;
    await page.clock.runFor(10_000);
    await page.waitForSelector('#results tbody tr[data-solver]');
    assert.match((await page.textContent('#run h2'))!, new RegExp(runId));
    assert.equal(runsReads, 3);
    assert.deepEqual(errors, []);
  });
});

test('in headless Chromium: a summary read of the unfinished run that fails is said, and the next tick reads it again (the page stopped reading)', { skip: skipBrowser, timeout: 120_000 }, async () => {
  await inChromium(1280, async (page, errors) => {
    const realRuns = (await getJson('api/runs')).body as any[];
    const real = (await getJson('api/summary?problem=partition')).body;
    const full = real.run.cells as number;
    let cells = full - 4;
    let finishedAt: string | null = null;
    const asNow = (r: any) => (r.runId === runId ? { ...r, cells, finishedAt } : r);
    let summaryReads = 0;
    let busy = false;
    let runsBusy = false;
    await page.route('**/api/runs', (r) => runsBusy
      ? r.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ error: { code: 'store_busy', message: 'the results store is in use by another process (PID 4242)' } }) })
      : r.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(realRuns.map(asNow)) }));
    await page.route('**/api/summary?problem=partition*', (r) => {
      summaryReads++;
      if (busy) return r.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ error: { code: 'store_busy', message: 'the results store is in use by another process (PID 4242)' } }) });
      r.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ ...real, run: asNow(real.run) }) });
    });
    await page.clock.install();
    await page.goto(`${base}#problem=partition`);
    await page.waitForSelector('#live');

    // The run gained cells, but the summary read fails (a store held by another program).
    cells = full - 2;
    busy = true;
    await page.clock.runFor(10_000);
    await page.waitForSelector('#status.error');
    assert.match((await page.textContent('#status'))!, /PID 4242.*reading the unfinished run again in 10 s/);
    assert.equal(summaryReads, 2);

    // The store is free again: the next tick reads the run and draws it.
    busy = false;
    await page.clock.runFor(10_000);
    await page.locator('#run .sub', { hasText: `· ${full - 2} cells · unfinished` }).waitFor({ timeout: 5_000 });
    assert.equal(summaryReads, 3);
    assert.equal(await page.textContent('#status'), '');

    // Finished, and still the latest: the page goes on reading the runs (for a newer one), and a
    // failed read says that, not 'the unfinished run'.
    finishedAt = new Date(0).toISOString();
    await page.clock.runFor(10_000);
    await page.waitForFunction(() => !document.querySelectorAll('#live').length);
    runsBusy = true;
    await page.clock.runFor(10_000);
    await page.waitForSelector('#status.error');
    assert.match((await page.textContent('#status'))!, /PID 4242\) \(reading the runs again in 10 s\)/);
    assert.deepEqual(errors, []);
  });
});

test('a summary is computed once per run and rows: asked again it is re-used, the same; a new cell makes it computed again', async () => {
  const copy = join(dir, 'memo.duckdb');
  cpSync(join(dir, 'results.duckdb'), copy);
  const other = await serve({ port: 0, log: () => {}, dashboard: { store: copy, trainDir: join(dir, 'train') } });
  const ask = async () => {
    const res = await fetch(new URL('api/summary?problem=partition', other.url.replace(/\/v1$/, '/')));
    return { how: res.headers.get('x-selfopt-summary'), body: (await res.json()) as any };
  };
  try {
    const first = await ask();
    assert.equal(first.how, 'computed');
    const second = await ask();
    assert.equal(second.how, 'reused');
    assert.deepEqual(second.body, first.body);
    // One more seed of a recorded cell: the rows changed, so the summary must be made again.
    const store = await ResultsStore.open(copy);
    const [row] = await store.rows({ runId, problem: 'partition' });
    await store.insertCell([{ ...row!, seed: 99, value: row!.value * 2 }]);
    await store.close();
    const third = await ask();
    assert.equal(third.how, 'computed');
    assert.notDeepEqual(third.body.summary, first.body.summary);
  } finally {
    await other.close();
  }
});

test('a summary of unchanged rows is re-used without reading the rows from the store (each re-read read them all and hashed them: 0.45-0.7 s for partition\'s run while a bench wrote other cells); a row added or a value changed is seen', async () => {
  const copy = join(dir, 'digest.duckdb');
  cpSync(join(dir, 'results.duckdb'), copy);
  const other = await serve({ port: 0, log: () => {}, dashboard: { store: copy, trainDir: join(dir, 'train') } });
  // The server runs in this process: its reads of rows are counted here.
  const rows = ResultsStore.prototype.rows;
  let reads = 0;
  ResultsStore.prototype.rows = function (this: ResultsStore, ...args: Parameters<typeof rows>) {
    reads++;
    return rows.apply(this, args);
  };
  const ask = async () => {
    const res = await fetch(new URL('api/summary?problem=partition', other.url.replace(/\/v1$/, '/')));
    return { how: res.headers.get('x-selfopt-summary'), summary: ((await res.json()) as any).summary };
  };
  try {
    const first = await ask();
    assert.deepEqual([first.how, reads], ['computed', 1]);
    assert.deepEqual([(await ask()).how, reads], ['reused', 1], 'unchanged rows are not read again');
    // A cell of another problem in the same run (a bench of several problems): partition's rows are unchanged.
    const store = await ResultsStore.open(copy);
    const [row] = await store.rows({ runId, problem: 'partition' });
    await store.insertCell([{ ...row!, problem: 'index', solver: 'binary-search', metric: 'lookup_ns' }]);
    await store.close();
    reads = 0;
    assert.deepEqual([(await ask()).how, reads], ['reused', 0], 'another problem\'s cell leaves the summary as it was');
    // A value changed in place, no row added (a store edited by hand): computed again.
    const db = await DuckDBInstance.create(copy);
    const conn = await db.connect();
    await conn.run(`UPDATE results SET value = value * 3 WHERE run_id = '${runId}' AND problem = 'partition' AND metric = 'edge_cut' AND seed = 1 AND solver = 'multilevel'`);
    conn.closeSync();
    db.closeSync();
    const changed = await ask();
    assert.deepEqual([changed.how, reads], ['computed', 1]);
    assert.notDeepEqual(changed.summary, first.summary);
  } finally {
    ResultsStore.prototype.rows = rows;
    await other.close();
  }
});
