/** The command line's own checks, on the built CLI: each a few spawns of a second or so that stop before any work. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../tmp.js';
import { ResultsStore } from '../../src/bench/store.js';
import { row } from '../bench/fixtures.js';
import { followHint, printReport } from '../../src/cli/report.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** The CLI run in `cwd` (killed after 30 s: a hang fails the test rather than stalls it). */
const selfopt = (cwd: string, ...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', timeout: 30_000 });

test('a bad number on the command line is one line naming the flag, the text typed and what it takes (exit 2), before any work', () => {
  const dir = tempDir('selfopt-cli-numbers-');
  const cases: [string[], string][] = [
    [['serve', '--port', 'abc'], '--port abc (at command line); expected an integer in [0, 65535]'],
    [['train', 'partition', 'gap', '--quick', '--seconds', 'abc'], '--seconds abc (at command line); expected a positive number'],
    // 1e9 seeds planned a billion cells per instance and solver: a hang before the first one ran
    [['bench', 'index', '--quick', '--seeds', '1e9', '--store', join(dir, 'r.duckdb')], '--seeds 1e9 (at command line); expected an integer in [1, 10000]'],
  ];
  for (const [args, message] of cases) {
    const r = selfopt(dir, ...args);
    assert.equal(r.stderr, `selfopt: error: ${message}\n`, args.join(' '));
    assert.equal(r.status, 2, args.join(' '));
  }
  assert.deepEqual(readdirSync(dir), [], 'nothing written');
});

test('serve refuses an empty --token and a --train-dir that is a file, with one line (exit 2), before it listens', () => {
  const dir = tempDir('selfopt-cli-serve-');
  const cases: [string[], string][] = [
    [['serve', '--port', '0', '--token', ''], "--token '' (at command line); expected a non-empty token, or no --token (loopback only)"],
    [['serve', '--port', '0', '--train-dir', CLI], `--train-dir ${CLI} is not a directory (at command line); expected the directory \`selfopt train\` writes its runs into (.selfopt/train)`],
  ];
  for (const [args, message] of cases) {
    const r = selfopt(dir, ...args);
    assert.equal(r.stderr, `selfopt: error: ${message}\n`, args.join(' '));
    assert.equal(r.status, 2, args.join(' '));
    assert.equal(r.stdout, '', 'it never listened');
  }
});

test('--opt __proto__=... is refused as an unknown option (exit 2) before any work: it vanished, and the bench ran without it', () => {
  const dir = tempDir('selfopt-cli-proto-');
  for (const cmd of [['bench', 'index', '--quick', '--seeds', '1', '--store', join(dir, 'r.duckdb')], ['train', 'partition', 'gap', '--quick', '--steps', '1', '--out', join(dir, 'gap.ckpt')]]) {
    const r = selfopt(dir, ...cmd, '--opt', '__proto__=5');
    assert.match(r.stderr, /^selfopt: error: unknown option '__proto__' \(at --opt \((index|partition)\)\); expected one of: /, cmd.join(' '));
    assert.equal(r.status, 2, cmd.join(' '));
  }
  assert.deepEqual(readdirSync(dir), [], 'nothing written');
});

test('a bench records its command so that a shell reads it back as the arguments given: a --data path with a space and a quote broke the command when pasted', async () => {
  const dir = tempDir('selfopt-cli-quote-');
  const data = join(dir, "data dir's");
  mkdirSync(data);
  const store = join(dir, 'r.duckdb');
  const args = ['bench', 'index', '--quick', '--seeds', '1', '--instances', 'uniform_dense_10K_uint32', '--solvers', 'binary-search', '--data', data, '--store', store, '--no-html'];
  const r = selfopt(dir, ...args);
  assert.equal(r.status, 0, r.stderr);
  const s = await ResultsStore.open(store, { readOnly: true });
  const [run] = await s.runs();
  await s.close();
  const read = spawnSync('sh', ['-c', `printf '%s\\0' ${run!.command}`], { encoding: 'utf8' });
  assert.deepEqual(read.stdout.split('\0').slice(0, -1), args, run!.command);
});

test('serve on an address beyond loopback without --token warns that anyone reaching the port drives it; on loopback, or with a token, it does not', async () => {
  const dir = tempDir('selfopt-cli-serve-host-');
  // stderr once it has listened (its stdout's second line), then the server is stopped.
  const started = (...args: string[]) => new Promise<string>((res, rej) => {
    const p = spawn(process.execPath, [CLI, 'serve', '--port', '0', ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SELFOPT_TOKEN: '' } });
    let out = '', err = '';
    p.stderr.on('data', (d) => (err += d));
    p.stdout.on('data', (d) => {
      out += d;
      if (out.includes('dashboard: ')) setTimeout(() => p.kill('SIGTERM'), 100);
    });
    p.on('exit', () => (out.includes('dashboard: ') ? res(err) : rej(new Error(`serve exited before listening: ${err}`))));
  });
  assert.match(await started('--host', '0.0.0.0'), /^selfopt serve: warning: listening on 0\.0\.0\.0 without --token: anyone who can reach port \d+ can run environments and read the results store/);
  assert.equal(await started('--host', '0.0.0.0', '--token', 'T'), '');
  assert.equal(await started(), '');
});

test('`--html false` (or no, 0) is refused with one line naming --no-html, before any work: it wrote a report file named `false`', () => {
  const dir = tempDir('selfopt-cli-html-');
  const cases: [string[], string][] = [
    [['bench', 'index', '--quick', '--instances', 'lognormal_20K_uint64', '--solvers', 'binary-search', '--seeds', '1', '--store', join(dir, 'r.duckdb'), '--html', 'false'], 'false'],
    [['report', '--store', join(dir, 'r.duckdb'), '--html=no'], 'no'],
  ];
  for (const [args, typed] of cases) {
    const r = selfopt(dir, ...args);
    assert.equal(r.stderr, `selfopt: error: --html ${typed} (at command line); expected the report's file path; --no-html is the flag that turns the report off\n`, args.join(' '));
    assert.equal(r.status, 2, args.join(' '));
  }
  const yes = selfopt(dir, 'report', '--store', join(dir, 'r.duckdb'), '--html', 'true');
  assert.equal(yes.stderr, "selfopt: error: --html true (at command line); expected the report's file path; without --html the report is written beside the store (.selfopt/report.html)\n");
  assert.equal(yes.status, 2);
  assert.deepEqual(readdirSync(dir), [], 'no store, no file named false or true');
});

test('`--html DIR` naming a directory is refused with one line before any work: bench ran every cell, then failed with a stack trace (EISDIR) writing the report', () => {
  const dir = tempDir('selfopt-cli-html-dir-');
  const out = join(dir, 'out');
  mkdirSync(out);
  for (const args of [
    ['bench', 'index', '--quick', '--instances', 'lognormal_20K_uint64', '--solvers', 'binary-search', '--seeds', '1', '--store', join(dir, 'r.duckdb'), '--html', out],
    ['report', '--store', join(dir, 'r.duckdb'), '--html', out],
  ]) {
    const r = selfopt(dir, ...args);
    assert.equal(r.stderr, `selfopt: error: --html ${out} is a directory (at command line); expected the report's file path, such as ${join(out, 'report.html')}\n`, args.join(' '));
    assert.equal(r.status, 2, args.join(' '));
  }
  assert.deepEqual(readdirSync(dir), ['out'], 'no store written');
});

test('`selfopt report` of an unfinished run says so above its tables: it showed "3 seeds" with one solver at n = 1, and no word that the run stopped', async () => {
  const dir = tempDir('selfopt-cli-unfinished-');
  const storePath = join(dir, 'r.duckdb');
  const store = await ResultsStore.open(storePath);
  const runId = await store.startRun({ command: 'bench chip --seeds 3', gridHash: 'g' });
  for (const seed of [1, 2, 3]) {
    await store.insertCell([row({ runId, problem: 'chip', instance: 'synth_h8_s40_1', solver: 'greedy', seed, metric: 'proxy_cost', value: 0.8, unit: 'cost' })]);
  }
  await store.insertCell([row({ runId, problem: 'chip', instance: 'synth_h8_s40_1', solver: 'simulated-annealing', seed: 1, metric: 'proxy_cost', value: 0.7, unit: 'cost' })]);
  await store.close();
  const r = selfopt(dir, 'report', '--store', storePath, '--no-html');
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.stdout.startsWith(`run ${runId} has not finished (4 cells recorded so far): its means are over the seeds it reached; \`selfopt bench --resume\` with its command runs the rest\n`), r.stdout);
});

test('without --html the report goes beside the store, named after it: stores no longer share ./.selfopt/report.html', async () => {
  const dir = tempDir('selfopt-cli-report-path-');
  mkdirSync(join(dir, 'x'));
  // two stores in one directory, and the default store's name in another
  for (const [store, report] of [['a.duckdb', 'a.html'], ['b.duckdb', 'b.html'], [join('x', 'results.duckdb'), join('x', 'report.html')]]) {
    const s = await ResultsStore.open(join(dir, store));
    const runId = await s.startRun({ command: 'bench chip', gridHash: store });
    await s.insertCell([row({ runId, problem: 'chip', instance: `synth_${basename(store)}`, solver: 'greedy', seed: 1, metric: 'proxy_cost', value: 0.8, unit: 'cost' })]);
    await s.close();
    const r = selfopt(dir, 'report', '--store', join(dir, store));
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.stderr.includes(`HTML report: ${join(dir, report)}`), r.stderr);
    assert.ok(readFileSync(join(dir, report), 'utf8').includes(`synth_${basename(store)}`));
  }
  assert.ok(!readdirSync(dir).includes('.selfopt'), 'nothing in ./.selfopt');
});

test('a bench on a terminal names the dashboard command for its own store; piped output does not carry the line', () => {
  assert.equal(followHint('.selfopt/results.duckdb'), 'selfopt: watch the run in a browser: npx selfopt serve, then open http://127.0.0.1:8765/');
  assert.equal(followHint(join(process.cwd(), '.selfopt', 'results.duckdb')), followHint('.selfopt/results.duckdb'), 'the default store by its absolute path');
  assert.match(followHint("/tmp/my runs/o'k.duckdb"), / serve --store '\/tmp\/my runs\/o'\\''k\.duckdb', then open/);
  const dir = tempDir('selfopt-cli-hint-');
  const r = selfopt(dir, 'bench', 'index', '--quick', '--instances', 'uniform_dense_10K_uint32', '--solvers', 'binary-search', '--seeds', '1', '--no-html');
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /watch the run/);
});

test('bench --queue with a Redis it cannot reach is one line (exit 2) before the store is opened: it left an empty, unfinished run in the store', () => {
  const dir = tempDir('selfopt-cli-queue-');
  const store = join(dir, 'r.duckdb');
  const cases: [string, RegExp][] = [
    ['redis://127.0.0.1:1', /^selfopt: error: cannot reach Redis at redis:\/\/127\.0\.0\.1:1: connect ECONNREFUSED 127\.0\.0\.1:1 \(at --queue\); expected a running redis-server at that address\n$/],
    ['http://127.0.0.1:1', /^selfopt: error: scheme 'http:' in 'http:\/\/127\.0\.0\.1:1' \(at --queue\); expected redis:\/\/ or rediss:\/\/\n$/],
  ];
  for (const [url, message] of cases) {
    const r = selfopt(dir, 'bench', 'partition', '--quick', '--instances', 'rgg_2k_k2', '--solvers', 'random', '--seeds', '1', '--queue', url, '--store', store, '--no-html');
    assert.match(r.stderr, message, url);
    assert.equal(r.status, 2, url);
  }
  assert.deepEqual(readdirSync(dir), [], 'no store made, no run recorded');
});

test("a --queue-name BullMQ refuses (empty, or with ':') is one line (exit 2) before any work: it was a stack trace once the run had started", () => {
  const dir = tempDir('selfopt-cli-queue-name-');
  for (const name of ['', 'a:b']) {
    const message = `selfopt: error: --queue-name '${name}' (at command line); expected a non-empty name without ':' (BullMQ's key separator), such as selfopt-cells\n`;
    const bench = selfopt(dir, 'bench', 'partition', '--quick', '--instances', 'rgg_2k_k2', '--solvers', 'random', '--seeds', '1', '--queue', 'redis://127.0.0.1:1', '--queue-name', name, '--store', join(dir, 'r.duckdb'), '--no-html');
    assert.equal(bench.stderr, message, `bench --queue-name '${name}'`);
    assert.equal(bench.status, 2);
    const worker = selfopt(dir, 'worker', '--queue', 'redis://127.0.0.1:1', '--queue-name', name);
    assert.equal(worker.stderr, message, `worker --queue-name '${name}'`);
    assert.equal(worker.status, 2);
  }
  assert.deepEqual(readdirSync(dir), [], 'nothing written');
});

test('a usage error (unknown option, missing argument or required option) exits 2 as every user error does, not 1 as a crash; --help exits 0', () => {
  const dir = tempDir('selfopt-cli-usage-');
  const cases: [string[], RegExp][] = [
    [['bench', '--bogus'], /^error: unknown option '--bogus'/],
    [['data', 'build'], /^error: missing required argument 'names'/],
    [['worker'], /^error: required option '--queue <url>' not specified/],
    [['report', '--run'], /^error: option '--run <id>' argument missing/],
    [['nosuch'], /^error: unknown command 'nosuch'/],
  ];
  for (const [args, message] of cases) {
    const r = selfopt(dir, ...args);
    assert.match(r.stderr, message, args.join(' '));
    assert.equal(r.status, 2, args.join(' '));
  }
  const help = selfopt(dir, 'worker', '--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^Usage: selfopt worker/);
  assert.deepEqual(readdirSync(dir), [], 'nothing written');
});

test('--data naming no directory (a typo, a file) is one line (exit 2) before any work: bench skipped it in silence and ran without the real data it named', () => {
  const dir = tempDir('selfopt-cli-data-');
  const missing = join(dir, 'no-such-dir');
  const cases: string[][] = [
    ['bench', 'partition', '--quick', '--instances', 'rgg_2k_k2', '--solvers', 'random', '--seeds', '1', '--store', join(dir, 'r.duckdb'), '--no-html', '--data', missing],
    ['list', 'partition', '--data', missing],
    ['train', 'partition', 'gap', '--quick', '--steps', '1', '--out', join(dir, 'x.ckpt'), '--state', join(dir, 'state'), '--data', missing],
    ['serve', '--port', '0', '--data', missing],
  ];
  for (const args of cases) {
    const r = selfopt(dir, ...args);
    assert.equal(r.stderr, `selfopt: error: --data ${missing}: no such directory (at command line); expected a directory of datasets, searched before $SELFOPT_DATA, ./data and ../shared/data (see \`selfopt data\`)\n`, args.join(' '));
    assert.equal(r.status, 2, args.join(' '));
  }
  assert.match(selfopt(dir, 'list', 'partition', '--data', CLI).stderr, /^selfopt: error: --data \S+main\.js: not a directory \(at command line\)/);
  assert.deepEqual(readdirSync(dir), [], 'nothing written');
});

test('results export --problem of a problem the store (or --run) has no results for is one line (exit 2), the last export kept: it wrote an empty file over it', async () => {
  const dir = tempDir('selfopt-cli-export-');
  const storePath = join(dir, 'r.duckdb');
  const store = await ResultsStore.open(storePath);
  const chipRun = await store.startRun({ command: 'bench chip', gridHash: 'c' });
  await store.insertCell([row({ runId: chipRun, problem: 'chip', instance: 'synth_h8_s40_1', solver: 'greedy', seed: 1, metric: 'proxy_cost', value: 0.8, unit: 'cost' })]);
  const indexRun = await store.startRun({ command: 'bench index', gridHash: 'i' });
  await store.insertCell([row({ runId: indexRun, problem: 'index', instance: 'uniform_dense_20K_uint64', solver: 'pgm', seed: 1, metric: 'lookup_ns', value: 50, unit: 'ns' })]);
  await store.close();
  const out = join(dir, 'out.csv');
  const exported = selfopt(dir, 'results', 'export', '--csv', '--store', storePath, '--out', out);
  assert.equal(exported.status, 0, exported.stderr);
  const before = readFileSync(out, 'utf8');
  const cases: [string[], string][] = [
    [['--problem', 'partition'], 'no results of problem partition in the results store'],
    [['--problem', 'index', '--run', chipRun], `no results of problem index in run ${chipRun}`],
  ];
  for (const [args, what] of cases) {
    const r = selfopt(dir, 'results', 'export', '--csv', '--store', storePath, '--out', out, ...args);
    assert.equal(r.stderr, `selfopt: error: ${what} (at ${storePath}); expected a problem with recorded results there (${args.includes('--run') ? 'chip' : 'chip, index'}); ${out} was left as it was\n`, args.join(' '));
    assert.equal(r.status, 2);
    assert.equal(readFileSync(out, 'utf8'), before, 'the last export is kept');
  }
  assert.equal(selfopt(dir, 'results', 'export', '--csv', '--store', storePath, '--out', out, '--problem', 'index').status, 0);
  assert.equal(readFileSync(out, 'utf8').trim().split('\n').length, 2, 'the header and the index row');
});

test('worker --lock-seconds below 1 is one line (exit 2) before it connects: 0.0001 was BullMQ\'s stack trace, 0.01 a lock that lapsed while every cell ran', () => {
  const dir = tempDir('selfopt-cli-lock-');
  for (const v of ['0.0001', '0.01', '0']) {
    const r = selfopt(dir, 'worker', '--queue', 'redis://127.0.0.1:1', '--lock-seconds', v);
    assert.equal(r.stderr, `selfopt: error: --lock-seconds ${v} (at command line); expected a number of seconds, at least 1 (the lock is renewed every half of it; BullMQ refused 0, and a shorter one lapsed while cells ran)\n`, v);
    assert.equal(r.status, 2, v);
  }
});

test('`--html FILE/report.html`, under a file, is refused with one line before any work: bench ran every cell, then failed with a stack trace (EEXIST) writing the report', () => {
  const dir = tempDir('selfopt-cli-html-under-file-');
  const file = join(dir, 'a-file');
  writeFileSync(file, 'x');
  const html = join(file, 'report.html');
  for (const args of [
    ['bench', 'index', '--quick', '--instances', 'lognormal_20K_uint64', '--solvers', 'binary-search', '--seeds', '1', '--store', join(dir, 'r.duckdb'), '--html', html],
    ['report', '--store', join(dir, 'r.duckdb'), '--html', html],
  ]) {
    const r = selfopt(dir, ...args);
    assert.equal(r.stderr, `selfopt: error: --html ${html} is under ${file}, a file (at command line); expected the report's file path, in a directory (made if missing)\n`, args.join(' '));
    assert.equal(r.status, 2, args.join(' '));
  }
  assert.deepEqual(readdirSync(dir), ['a-file'], 'no store written');
});

test('a --store or results export --out under a file is one line (exit 2): each was a stack trace (EEXIST)', async () => {
  const dir = tempDir('selfopt-cli-store-under-file-');
  const file = join(dir, 'a-file');
  writeFileSync(file, 'x');
  const under = join(file, 'r.duckdb');
  const bench = selfopt(dir, 'bench', 'partition', '--quick', '--instances', 'rgg_2k_k2', '--solvers', 'random', '--seeds', '1', '--store', under, '--no-html');
  assert.equal(bench.stderr, `selfopt: error: the store's path is under ${file}, a file (at ${under}); expected a results store path in a directory (made if missing)\n`);
  assert.equal(bench.status, 2);
  const storePath = join(dir, 'r.duckdb');
  const store = await ResultsStore.open(storePath);
  const runId = await store.startRun({ command: 'bench chip', gridHash: 'c' });
  await store.insertCell([row({ runId, problem: 'chip', instance: 'synth_h8_s40_1', solver: 'greedy', seed: 1, metric: 'proxy_cost', value: 0.8, unit: 'cost' })]);
  await store.close();
  const out = join(file, 'x.csv');
  const exported = selfopt(dir, 'results', 'export', '--csv', '--store', storePath, '--out', out);
  assert.equal(exported.stderr, `selfopt: error: the output path is under ${file}, a file (at ${out}); expected a file path for the export, in a directory (made if missing)\n`);
  assert.equal(exported.status, 2);
});

test('report reads everything, then lets the store go before the summaries, so a bench writing the store does not wait on them', async () => {
  const dir = tempDir('selfopt-cli-report-');
  const path = join(dir, 'r.duckdb');
  const r = selfopt(dir, 'bench', 'index', '--quick', '--instances', 'uniform_dense_10K_uint32', '--solvers', 'binary-search,pgm', '--seeds', '2', '--store', path, '--no-html');
  assert.equal(r.status, 0, r.stderr);
  const store = await ResultsStore.open(path, { readOnly: true });
  let released = 0;
  try {
    const reports = await printReport(store, { problems: ['index', 'partition'], json: true, afterRead: async () => { released++; await store.close(); } });
    assert.equal(released, 1);
    assert.deepEqual(reports.map((x) => x.summary.meta.solvers.map((s) => s.name).sort()), [['binary-search', 'pgm']]);
  } finally {
    await store.close();
  }
});
