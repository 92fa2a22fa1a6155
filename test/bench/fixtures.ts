/** Hand-made result rows for the bench tests: a learned-index-like problem with known structure. */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchOptions } from '../../src/bench/runner.js';
import type { ResultRow } from '../../src/bench/store.js';
import { DataPath } from '../../src/core/data.js';
import type { Better, SolverKind } from '../../src/core/problem.js';
import { Rng } from '../../src/core/rng.js';
import { tempDir } from '../tmp.js';

export function row(over: Partial<ResultRow> & Pick<ResultRow, 'solver' | 'seed' | 'metric' | 'value'>): ResultRow {
  return {
    runId: 'run-1',
    problem: 'index',
    instance: 'uniform',
    unit: 'ns',
    better: 'lower',
    solverKind: 'heuristic',
    instanceSplit: 'test',
    wallMs: 10,
    codeVersion: 'abc123',
    machine: 'test-machine',
    configHash: 'cfg',
    ...over,
  };
}

export const SOLVERS: { name: string; kind: SolverKind; speed: number; bytes: number }[] = [
  { name: 'binary-search', kind: 'baseline', speed: 1, bytes: 0 },
  { name: 'branchless', kind: 'heuristic', speed: 0.8, bytes: 0 },
  { name: 'eytzinger', kind: 'heuristic', speed: 0.55, bytes: 8e6 },
  { name: 'rbs', kind: 'heuristic', speed: 0.35, bytes: 4.2e6 },
  { name: 'btree', kind: 'peer', speed: 0.9, bytes: 2.4e7 },
  { name: 'rmi', kind: 'learned', speed: 0.3, bytes: 1.6e6 },
  { name: 'pgm', kind: 'learned', speed: 0.33, bytes: 6.5e5 },
  { name: 'radix-spline', kind: 'learned', speed: 0.4, bytes: 9e5 },
];

export const METRICS: { name: string; unit: string; better: Better }[] = [
  { name: 'lookup_ns', unit: 'ns', better: 'lower' },
  { name: 'speedup', unit: 'x', better: 'higher' },
  { name: 'build_ms', unit: 'ms', better: 'lower' },
  { name: 'index_bytes', unit: 'bytes', better: 'lower' },
  { name: 'max_error', unit: 'positions', better: 'lower' },
];

/** A plausible full grid: 4 instances x 8 solvers x `seeds` seeds x 5 metrics, seeded noise. */
export function fakeGrid(seeds = 5, runId = 'run-1'): ResultRow[] {
  const rng = new Rng(7);
  const instances = [
    { id: 'uniform_dense_200M', base: 480, split: 'test' as const },
    { id: 'lognormal_200M', base: 520, split: 'test' as const },
    { id: 'osm_cellids_800M', base: 610, split: 'test' as const },
    { id: 'books_200M', base: 450, split: 'train' as const },
  ];
  const rows: ResultRow[] = [];
  for (const inst of instances) {
    for (let seed = 1; seed <= seeds; seed++) {
      const bs = inst.base * (1 + 0.02 * rng.normal());
      for (const s of SOLVERS) {
        const ns = s.kind === 'baseline' ? bs : bs * s.speed * (1 + 0.04 * rng.normal());
        const vals: Record<string, number> = {
          lookup_ns: ns,
          speedup: bs / ns,
          build_ms: s.kind === 'learned' ? 300 + 100 * rng.next() : s.bytes > 0 ? 40 + 10 * rng.next() : 0.01,
          index_bytes: s.bytes,
          max_error: s.kind === 'learned' ? Math.round(32 + 64 * rng.next()) : 0,
        };
        for (const m of METRICS) {
          rows.push(row({
            runId, instance: inst.id, instanceSplit: inst.split, solver: s.name, solverKind: s.kind, seed,
            metric: m.name, unit: m.unit, better: m.better, value: vals[m.name]!, wallMs: 100 + ns,
          }));
        }
      }
    }
  }
  return rows;
}

/** Bench options for tests: the grid given, quick, in the test's own thread, no progress bar, no data found. */
export function benchOptions(grid: Pick<BenchOptions, 'problems' | 'instances' | 'solvers' | 'seeds'>, over: Partial<BenchOptions> = {}): BenchOptions {
  return {
    ...grid,
    quick: true,
    resume: false,
    data: new DataPath({ env: {}, cwd: tmpdir() }),
    options: {},
    concurrency: 0,
    progress: false,
    command: 'test',
    ...over,
  };
}

/**
 * Fresh store paths, each in a directory of its own (a store's writer lock and readers' notices sit
 * beside it; the store itself need not exist), under one temp dir removed when the file's tests end.
 * Call at a test file's top level.
 */
export function storePaths(prefix: string): () => string {
  const dir = tempDir(prefix);
  let n = 0;
  return () => {
    const d = join(dir, `s${n++}`);
    mkdirSync(d);
    return join(d, 'results.duckdb');
  };
}

/**
 * A store's writer lock held by `owner` (a killed bench's, another's), made as store-lock.ts makes
 * it: a directory holding its holder's file. `lock`: where, `<store>.wlock` unless given (the
 * selfopt before it kept that directory at `<store>.writer`).
 */
export function plantWriterLock(abs: string, owner: { pid: number; host: string; start: string | null; token?: string }, lock = `${abs}.wlock`): void {
  mkdirSync(lock);
  writeFileSync(join(lock, `${owner.pid}.${owner.token ?? 'planted'}`), JSON.stringify(owner));
}

/** The text of the store's writer lock's holder (its owner as JSON); undefined when there is no lock or no holder. */
export function writerLockHolder(abs: string): string | undefined {
  let names: string[];
  try {
    names = readdirSync(`${abs}.wlock`);
  } catch {
    return undefined;
  }
  return names.length === 1 ? readFileSync(join(`${abs}.wlock`, names[0]!), 'utf8') : undefined;
}
