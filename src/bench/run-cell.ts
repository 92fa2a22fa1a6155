/**
 * Runs one cell: load (cached), solve, evaluate. The same code serves the worker threads and
 * the in-process path (`--concurrency 1` and tests), so both give the same numbers.
 */
import { performance } from 'node:perf_hooks';
import { Rng } from '../core/rng.js';
import { SelfoptError, errorMessage } from '../core/errors.js';
import { getProblem } from '../problems/all.js';
import type { MetricValues } from '../core/problem.js';
import { cellLabel, type Cell, type CellResult } from './cell.js';

/**
 * One instance is kept loaded: cells are ordered by instance, and real instances can be large
 * (the S2 key set is ~110 MB in memory), so keeping more would only cost memory.
 */
let cache: { key: string; value: unknown } | undefined;

export async function runCell(cell: Cell): Promise<CellResult> {
  const problem = getProblem(cell.problem);
  const solver = problem.solvers.find((s) => s.info.name === cell.solver);
  if (!solver) throw new SelfoptError(`unknown solver '${cell.solver}'`, `problem ${cell.problem}`, `one of ${problem.solvers.map((s) => s.info.name).join(', ')}`);
  const key = `${cell.problem}\0${cell.instance.id}\0${JSON.stringify(cell.instance.params)}\0${cell.instance.path ?? ''}`;
  if (cache?.key !== key) {
    cache = undefined; // drop the old instance before loading the next
    cache = { key, value: await problem.load(cell.instance) };
  }
  const instance = cache.value;
  // The solver and the evaluator get separate streams of the cell's seed; the evaluator's stream
  // depends only on (seed, instance), so every solver is scored on the same workload for a seed.
  const base = new Rng(cell.seed);
  const solveCtx = { seed: cell.seed, rng: base.split(`solve:${cell.solver}`), quick: cell.quick, options: cell.options };
  const t0 = performance.now();
  const solution = await solver.solve(instance, solveCtx);
  const solveMs = performance.now() - t0;
  const notes: string[] = [];
  const note = (text: string) => void (notes.includes(text) || notes.push(text));
  const metrics = await problem.evaluate(instance, solution, { ...solveCtx, rng: base.split('evaluate'), solveMs, solver: cell.solver, note });
  const wallMs = performance.now() - t0;
  checkMetrics(problem.metrics.map((m) => m.name), metrics, cell);
  const out: CellResult = { metrics, wallMs, solveMs };
  if (notes.length > 0) out.notes = notes;
  if (problem.picture && cell.seed === 1) {
    // A drawing that fails is reported, but never costs the cell the metrics it measured.
    try {
      const picture = problem.picture(instance, solution, `${cell.instance.id} · ${cell.solver} · seed 1`);
      if (picture !== undefined) out.picture = picture;
    } catch (e) {
      out.pictureError = errorMessage(e);
    }
  }
  return out;
}

function checkMetrics(declared: string[], metrics: MetricValues, cell: Cell): void {
  const where = `cell ${cellLabel(cell)}`;
  for (const [name, v] of Object.entries(metrics)) {
    if (!declared.includes(name)) throw new SelfoptError(`evaluator returned undeclared metric '${name}'`, where, `one of ${declared.join(', ')}`);
    if (!Number.isFinite(v)) throw new SelfoptError(`metric '${name}' is ${v}`, where, 'a finite number');
  }
}
