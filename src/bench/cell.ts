/**
 * One cell of the benchmark grid: (problem, instance, solver, seed). A cell is plain JSON so it
 * can cross to a worker thread (or, later, to another machine through a queue).
 */
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { InstanceRef, MetricValues } from '../core/problem.js';
import { SelfoptError, errorMessage } from '../core/errors.js';

export interface Cell {
  problem: string;
  instance: InstanceRef;
  solver: string;
  seed: number;
  quick: boolean;
  options: Record<string, string>;
  /** The data search path of the parent process, so workers find the same files. */
  data: { dataDir?: string; env: { SELFOPT_DATA?: string }; cwd: string };
}

export interface CellResult {
  metrics: MetricValues;
  /** Wall time of the whole cell (load excluded when cached), ms. */
  wallMs: number;
  solveMs: number;
  /** The seed-1 solution drawn by `Problem.picture`, when the problem draws. */
  picture?: string;
  /** Why `Problem.picture` failed, when it did (the cell's metrics are recorded all the same). */
  pictureError?: string;
  /** What the evaluator told the user about the result (EvalContext.note), printed by the runner. */
  notes?: string[];
}

/**
 * Hash of everything that determines a cell's result, except the code version. A user file's
 * contents (InstanceRef.contents) count unless `withContents` is false; the key is the same as
 * before they were recorded when there are none, so the hashes of earlier rows still match.
 */
export function configHash(cell: Cell, withContents = true): string {
  const { problem, instance, solver, seed, quick, options } = cell;
  const ref = { id: instance.id, params: instance.params, path: instance.path ?? null, ...(withContents && instance.contents !== undefined ? { contents: instance.contents } : {}) };
  const key = JSON.stringify({ problem, instance: ref, solver, seed, quick, options: sortKeys(options) });
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/**
 * Hash of a whole grid: the same command over the same instances gives the same hash (for
 * --resume). A user file's contents are left out: the runner compares them cell by cell.
 */
export function gridHash(cells: readonly Cell[]): string {
  const h = createHash('sha256');
  for (const c of cells.map((c) => configHash(c, false)).sort()) h.update(c);
  return h.digest('hex').slice(0, 16);
}

function sortKeys(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * A user error (SelfoptError) crossing a thread or a queue: structured clone and BullMQ keep only
 * an Error's message, so the kind travels as a prefix of it.
 */
const USER_ERROR = 'SelfoptError: ';

export function crossable(e: unknown): unknown {
  if (e instanceof SelfoptError) return new Error(USER_ERROR + e.message);
  return e;
}

/** A cell as messages name it: `problem/instance/solver/seed N`. */
export function cellLabel(cell: Cell): string {
  return `${cell.problem}/${cell.instance.id}/${cell.solver}/seed ${cell.seed}`;
}

/**
 * The user error of a cell that failed, as the side that ran it (runner, coordinator) reports
 * it: one clause, the cell's own what and expected, with the cell added to its where ("runs code
 * X, ... (at worker W, cell C); expected workers on the same commit ..."), not the whole message
 * wrapped in a second "(at cell C); expected ...". A message not in SelfoptError's form (what
 * (at where); expected ...) is the what, the cell its where.
 */
export function cellUserError(message: string, cell: Cell): SelfoptError {
  const at = `cell ${cellLabel(cell)}`;
  const m = /^([\s\S]*) \(at ([\s\S]*?)\); expected ([\s\S]*)$/.exec(message);
  const resume = 'finished cells stay recorded, rerun with --resume';
  // The cell's own checks (run-cell.ts checkMetrics) already name it.
  return m ? new SelfoptError(m[1]!, m[2] === at ? at : `${m[2]}, ${at}`, `${m[3]} (${resume})`) : new SelfoptError(message, at, `the cell to finish; ${resume}`);
}

/** Whether `e` is a user error, here or after crossing; and its message without the prefix. */
export function userError(e: unknown): { user: boolean; message: string } {
  const message = errorMessage(e);
  if (message.startsWith(USER_ERROR)) return { user: true, message: message.slice(USER_ERROR.length) };
  return { user: e instanceof SelfoptError || (e instanceof Error && e.name === 'SelfoptError'), message };
}

/**
 * The worker-thread pool that runs cells (local runs and `selfopt worker`), one thread per lane.
 * Atomics off: with them piscina parks an idle thread in Atomics.wait, so its event loop never
 * runs between tasks and never reaps the child processes a cell started (the compiler's
 * opt-server, killed at the end of each solve); they stayed zombies until the pool closed,
 * hundreds in one compiler run. Task hand-off by message costs microseconds; cells take ms or more.
 */
export function cellPoolOptions(threads: number): { filename: string; minThreads: number; maxThreads: number; useAtomics: false } {
  return { filename: fileURLToPath(new URL('./worker.js', import.meta.url)), minThreads: threads, maxThreads: threads, useAtomics: false };
}
