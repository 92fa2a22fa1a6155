/**
 * The dashboard's API without a browser: runs, problems, summaries with their intervals, the
 * pictures of a run, the learning curves (the training runs' and the shipped checkpoints', and the
 * records whose curve is left out, also on the page), and what each answers for a name it does not
 * know or a store it cannot read. Over a real tiny bench's store (dashboard-fixture.ts). The other
 * dashboard tests: the server and its store (dashboard-server.test.ts), the page in headless
 * Chromium (dashboard-page.test.ts, dashboard-live.test.ts, dashboard-views.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPictures } from '../../src/bench/pictures.js';
import { shippedCurves } from '../../src/server/dashboard.js';
import { PROJECT_ROOT } from '../../src/core/version.js';
import { errorMessage } from '../../src/core/errors.js';
import { serve } from '../../src/server/server.js';
import { inChromium, skipBrowser } from './chromium.js';
import { COMMAND, INSTANCES, SOLVERS, getJsonAt, servedDashboard } from './dashboard-fixture.js';

let dir: string, base: string, runId: string, drawnRunId: string, undrawnRunId: string;
servedDashboard({}, (d) => ({ dir, base, runId, drawnRunId, undrawnRunId } = d));
const getJson = (path: string) => getJsonAt(base, path);

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

test('a shipped checkpoint\'s record whose curve is not shown is named with why, by /api/curves and on the page (compiler/ppo.json and partition/gap.json name a curve on a machine that is gone, and were left out in silence)', { timeout: 120_000 }, async (t) => {
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
  // Closed after the test, also one that timed out (its body abandoned, a finally would not run).
  t.after(() => other.close());
  const otherBase = other.url.replace(/\/v1$/, '/');
  const body = await (await fetch(new URL('api/curves?problem=partition', otherBase))).json() as any;
  assert.deepEqual(body.leftOut, leftOut);
  assert.deepEqual(body.curves.map((c: { name: string }) => c.name), ['partition-multilevel-seed1'], 'the training run\'s curve is still served');
  assert.deepEqual((await (await fetch(new URL('api/curves?problem=scheduling', otherBase))).json() as any).leftOut, [], 'another problem\'s records are not its');
  if (!skipBrowser) {
    await inChromium(t, 1280, async (page, errors) => {
      await page.goto(`${otherBase}#problem=partition`);
      await page.waitForSelector('#curves-left-out li');
      assert.deepEqual(await page.$$eval('#curves-left-out li', (lis) => lis.map((li) => li.textContent)), leftOut.map((l) => `${l.record} ${l.reason}: its curve is not shown`));
      assert.deepEqual(errors, []);
    });
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
