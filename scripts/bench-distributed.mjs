#!/usr/bin/env node
/**
 * The distributed bar, end to end with the real commands (run after `npm run build`):
 *
 *   node scripts/bench-distributed.mjs [--seeds 5] [--workers 2]
 *
 * Starts Debian's redis-server on a free loopback port, runs the grid locally
 * (`selfopt bench --concurrency 1`), then through the queue with N `selfopt worker`s, SIGKILLs
 * worker 1 in the middle of a cell, and compares the two stores cell by cell: every cell
 * present exactly once, every seeded metric equal (measured times excepted). Prints the
 * comparison and exits 1 when the bar is not met.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'dist/src/cli/main.js');
const { ResultsStore, cellKey } = await import(join(ROOT, 'dist/src/bench/store.js'));
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const SEEDS = Number(arg('seeds', 5));
const WORKERS = Number(arg('workers', 2));
const GRID = ['partition', '--quick', '--instances', 'rgg_2k_k2,rgg_2k_k8,mesh_2k_k2,mesh_2k_k8', '--solvers', 'random,graph-growing,multilevel', '--seeds', String(SEEDS), '--no-html'];
const TIMED = new Set(['partition_ms']);

if (spawnSync('redis-server', ['--version']).status !== 0) {
  console.error('redis-server is not installed (apt-get install redis-server)');
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), 'selfopt-distributed-'));
const port = await new Promise((ok) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => ok(p));
  });
});
const url = `redis://127.0.0.1:${port}`;
const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
const procs = [redis];
const run = (args, opts = {}) => new Promise((ok, fail) => {
  const p = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir, ...opts });
  let err = '';
  p.stderr.on('data', (d) => (err += d));
  p.on('exit', (code) => (code === 0 ? ok(err) : fail(new Error(`selfopt ${args.join(' ')} exited ${code}:\n${err}`))));
});

try {
  await new Promise((r) => setTimeout(r, 300));
  let t = Date.now();
  await run(['bench', ...GRID, '--concurrency', '1', '--store', join(dir, 'local.duckdb')]);
  const localSec = (Date.now() - t) / 1000;

  const workers = Array.from({ length: WORKERS }, (_, i) => {
    const p = spawn(process.execPath, [CLI, 'worker', '--queue', url, '--concurrency', '1', '--lock-seconds', '2'], { stdio: ['ignore', 'pipe', 'inherit'], cwd: dir });
    procs.push(p);
    const w = { i, p, lines: [], killedAt: undefined };
    createInterface({ input: p.stdout }).on('line', (l) => w.lines.push(l));
    return w;
  });
  while (!workers.every((w) => w.lines.some((l) => l.includes(' ready')))) await new Promise((r) => setTimeout(r, 50));
  // Worker 1 is frozen at a `start` after its third cell; if its output ends in that start, the
  // cell is mid-run (a worker prints `done` before it reports the job finished): SIGKILL.
  const victim = workers[0];
  let busy = false;
  const watch = setInterval(() => {
    if (victim.killedAt || busy) return;
    const last = victim.lines.at(-1) ?? '';
    if (!last.startsWith('start ') || victim.lines.filter((l) => l.startsWith('done ')).length < 3) return;
    busy = true;
    victim.p.kill('SIGSTOP');
    setTimeout(() => {
      const l = victim.lines.at(-1);
      if (l.startsWith('start ')) {
        victim.killedAt = l.split(' ')[1];
        victim.p.kill('SIGKILL');
      } else victim.p.kill('SIGCONT');
      busy = false;
    }, 100);
  }, 2);
  t = Date.now();
  const err = await run(['bench', ...GRID, '--queue', url, '--store', join(dir, 'queued.duckdb')]);
  const queuedSec = (Date.now() - t) / 1000;
  clearInterval(watch);

  const read = async (f) => {
    const s = await ResultsStore.open(join(dir, f), { readOnly: true });
    const rows = await s.rows();
    await s.close();
    return rows;
  };
  const [local, queued] = [await read('local.duckdb'), await read('queued.duckdb')];
  const key = (r) => `${cellKey(r.problem, r.instance, r.solver, r.seed)} ${r.metric}`;
  const count = new Map();
  for (const r of queued) count.set(key(r), (count.get(key(r)) ?? 0) + 1);
  const want = new Map(local.map((r) => [key(r), r.value]));
  const missing = [...want.keys()].filter((k) => !count.has(k));
  const twice = [...count].filter(([, n]) => n > 1).map(([k]) => k);
  const differ = queued.filter((r) => !TIMED.has(r.metric) && want.get(key(r)) !== r.value).map(key);
  const cells = new Set(local.map((r) => cellKey(r.problem, r.instance, r.solver, r.seed))).size;
  const perWorker = workers.map((w) => w.lines.filter((l) => l.startsWith('done ')).length);
  const rerun = victim.killedAt !== undefined && workers.slice(1).some((w) => w.lines.some((l) => l.startsWith(`done ${victim.killedAt} `)));
  console.log(`grid: ${cells} cells (selfopt bench ${GRID.join(' ')})`);
  console.log(`local run (1 thread): ${localSec.toFixed(1)} s; queued run with ${WORKERS} workers (1 thread each): ${queuedSec.toFixed(1)} s`);
  console.log(`cells done per worker: ${perWorker.join(', ')}; worker 1 SIGKILLed mid-cell: ${victim.killedAt ? `yes (job ${victim.killedAt}), re-run by another worker: ${rerun}` : 'no'}`);
  console.log(`coordinator: ${err.split('\n').find((l) => l.startsWith('run ')) ?? ''}`);
  console.log(`result rows: local ${local.length}, queued ${queued.length}; missing ${missing.length}, recorded twice ${twice.length}, seeded metrics differing ${differ.length} (of ${queued.filter((r) => !TIMED.has(r.metric)).length}; ${[...TIMED].join(', ')} excepted)`);
  const met = missing.length === 0 && twice.length === 0 && differ.length === 0 && queued.length === local.length && victim.killedAt && rerun;
  console.log(met ? 'bar met: same seeded results as the local run, the killed worker lost no cell' : 'BAR NOT MET');
  if (!met) process.exitCode = 1;
} finally {
  for (const p of procs) p.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
