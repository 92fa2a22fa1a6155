/**
 * The dashboard tests' served store (dashboard*.test.ts): a real tiny bench of each of three
 * problems fills a temp store (partition, whose runs draw a picture a cell; scheduling, with one
 * seed; index, which draws nothing), beside a training log, and `serve` serves the built app
 * (dist/web) and its API over them. A test file calls servedDashboard at its top level.
 */
import { before, after } from 'node:test';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataPath } from '../../src/core/data.js';
import { runBench } from '../../src/bench/runner.js';
import { ResultsStore } from '../../src/bench/store.js';
import { serve, type RunningServer } from '../../src/server/server.js';

export const INSTANCES = ['rgg_2k_k2', 'mesh_2k_k2'];
export const SOLVERS = ['random', 'graph-growing', 'multilevel'];
export const COMMAND = `bench partition --quick --instances ${INSTANCES.join(',')} --solvers ${SOLVERS.join(',')} --seeds 2`;

export interface ServedDashboard {
  /** The temp dir: results.duckdb (the store), train/ (the training logs); removed by close(). */
  dir: string;
  server: RunningServer;
  /** The page's URL (the server's, without /v1). */
  base: string;
  /** The partition run (INSTANCES x SOLVERS, 2 seeds, recorded with COMMAND). */
  runId: string;
  /** A run of a problem that draws its solutions (scheduling: the seed-1 episode), one seed. */
  drawnRunId: string;
  /** A run that draws nothing: a classical index has no model. */
  undrawnRunId: string;
  close(): Promise<void>;
}

/**
 * The store filled and served. With `shippedCurves` the server shows the repository's shipped
 * checkpoints' curves as `selfopt serve` does; without, none, so that a test counts the curves of
 * the store's training runs alone.
 */
async function serveDashboard(opts: { shippedCurves?: boolean } = {}): Promise<ServedDashboard> {
  const dir = mkdtempSync(join(tmpdir(), 'selfopt-dash-'));
  const storePath = join(dir, 'results.duckdb');
  const store = await ResultsStore.open(storePath);
  const common = { quick: true, resume: false, data: new DataPath({ env: {}, cwd: dir }), options: {}, concurrency: 0, progress: false } as const;
  const runId = (await runBench({ ...common, problems: ['partition'], instances: INSTANCES, solvers: SOLVERS, seeds: 2, command: COMMAND }, store)).runId;
  const drawnRunId = (await runBench({ ...common, problems: ['scheduling'], instances: ['synthetic_batch6_10exec'], solvers: ['fifo', 'fair'], seeds: 1, command: 'bench scheduling' }, store)).runId;
  const undrawnRunId = (await runBench({ ...common, problems: ['index'], instances: ['uniform_dense_10K_uint32'], solvers: ['binary-search'], seeds: 1, command: 'bench index' }, store)).runId;
  await store.close();
  // A training log in the format `selfopt train` writes (core/train.ts: {t, ...point} per line), its last line torn.
  const trainDir = join(dir, 'train');
  mkdirSync(join(trainDir, 'partition-multilevel-seed1'), { recursive: true });
  writeFileSync(join(trainDir, 'partition-multilevel-seed1', 'curve.jsonl'), [1, 2, 3, 4, 5].map((s) => JSON.stringify({ t: 1000 + s, step: s, return: -10 / s })).join('\n') + '\n{"t":17, "step": 6, "ret');
  const checkpointsDir = opts.shippedCurves ? undefined : join(dir, 'no-checkpoints');
  const server = await serve({ port: 0, log: () => {}, dashboard: { store: storePath, trainDir, checkpointsDir } });
  const close = async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return { dir, server, base: server.url.replace(/\/v1$/, '/'), runId, drawnRunId, undrawnRunId, close };
}

/**
 * Registers the test file's hooks: before its tests, the store filled and served (serveDashboard),
 * handed to `ready` (which keeps what the file's tests use); after them, closed.
 */
export function servedDashboard(opts: { shippedCurves?: boolean }, ready: (d: ServedDashboard) => void): void {
  let served: ServedDashboard | undefined;
  before(async () => {
    served = await serveDashboard(opts);
    ready(served);
  });
  after(async () => {
    await served?.close();
  });
}

/** GET `path` (relative to `base`) and its JSON. */
export async function getJsonAt(base: string, path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(new URL(path, base));
  return { status: res.status, body: (await res.json()) as any };
}
