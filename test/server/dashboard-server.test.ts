/**
 * The dashboard's server and the store it reads: a store a bench is writing (the run so far), one
 * another program holds (503 store_busy), none yet (no runs, and the page says which store), its
 * summaries computed once per run and rows; and its HTTP: static files kept inside the web
 * directory, HEAD as GET, the bearer token. Over a real tiny bench's store (dashboard-fixture.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ResultsStore } from '../../src/bench/store.js';
import { DuckDBInstance } from '@duckdb/node-api';
import { shellQuote } from '../../src/bench/command.js';
import { serve, type RunningServer } from '../../src/server/server.js';
import { built, inChromium, skipBrowser } from './chromium.js';
import { getJsonAt, servedDashboard } from './dashboard-fixture.js';

let dir: string, base: string, runId: string;
servedDashboard({}, (d) => ({ dir, base, runId } = d));
const getJson = (path: string) => getJsonAt(base, path);

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

test('with no results store yet (no bench has run), the API answers no runs (it was 404), and the page lists the problems and draws their learning curves', { skip: skipBrowser, timeout: 120_000 }, async (t) => {
  const other = await serve({ port: 0, log: () => {}, dashboard: { store: join(dir, 'no-such-store.duckdb'), trainDir: join(dir, 'train') } });
  // Closed after the test, also one that timed out (its body abandoned, a finally would not run).
  t.after(() => other.close());
  const otherBase = other.url.replace(/\/v1$/, '/');
  const runs = await fetch(new URL('api/runs', otherBase));
  assert.equal(runs.status, 200);
  assert.deepEqual(await runs.json(), []);
  const problemCount = ((await getJson('api/problems')).body as unknown[]).length;
  await inChromium(t, 1280, async (page, errors) => {
    await page.goto(`${otherBase}#problem=partition`);
    await page.waitForSelector('#curves figure[data-curve="partition-multilevel-seed1"] svg');
    assert.equal(await page.locator('#f-problem option').count(), problemCount);
    assert.equal(await page.inputValue('#f-problem'), 'partition');
    // Which store it read, and the bench that fills that one (it said only "no recorded runs").
    const missing = join(dir, 'no-such-store.duckdb');
    assert.equal(await page.textContent('#status'), `no recorded runs of partition: there is no results store at ${missing} yet; run \`npx selfopt bench partition --quick --store ${shellQuote(missing)}\``);
    assert.deepEqual(errors, []);
  });
});

/**
 * A server over a copy of the store (`name` in the temp dir), and its answer to a request for
 * partition's summary: the body, and how the summary was had (x-selfopt-summary: computed or reused).
 */
async function summaryOfCopy(name: string): Promise<{ copy: string; other: RunningServer; ask: () => Promise<{ how: string | null; body: any }> }> {
  const copy = join(dir, name);
  cpSync(join(dir, 'results.duckdb'), copy);
  const other = await serve({ port: 0, log: () => {}, dashboard: { store: copy, trainDir: join(dir, 'train') } });
  const ask = async () => {
    const res = await fetch(new URL('api/summary?problem=partition', other.url.replace(/\/v1$/, '/')));
    return { how: res.headers.get('x-selfopt-summary'), body: (await res.json()) as any };
  };
  return { copy, other, ask };
}

test('a summary is computed once per run and rows: asked again it is re-used, the same; a new cell makes it computed again', async () => {
  const { copy, other, ask } = await summaryOfCopy('memo.duckdb');
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
  const { copy, other, ask } = await summaryOfCopy('digest.duckdb');
  // The server runs in this process: its reads of rows are counted here.
  const rows = ResultsStore.prototype.rows;
  let reads = 0;
  ResultsStore.prototype.rows = function (this: ResultsStore, ...args: Parameters<typeof rows>) {
    reads++;
    return rows.apply(this, args);
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
    assert.notDeepEqual(changed.body.summary, first.body.summary);
  } finally {
    ResultsStore.prototype.rows = rows;
    await other.close();
  }
});
