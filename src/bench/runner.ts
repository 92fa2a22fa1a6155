/**
 * The benchmark runner: the grid problem x instance x solver x seed, run across worker threads,
 * every finished cell written at once to the results store (one transaction per cell), so a
 * killed run keeps what it finished and `--resume` skips it.
 *
 * Cells are ordered by instance so that a worker keeps one instance loaded for many cells, and
 * each worker lane keeps to one (instance, solver) at a time (lanes.ts), so that the threads make
 * different solvers' one-off preparations side by side, each once (core/memo.ts). The
 * first cell that fails (a wrong answer, a crash) stops the run: what finished stays recorded,
 * and the error is reported with its cell. An abort of `signal` (the CLI's Ctrl-C) stops it the
 * same way without an error: no new cell starts, cells running on worker threads are abandoned,
 * the store is left whole, and the outcome says `interrupted`.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { Piscina } from 'piscina';
import cliProgress from 'cli-progress';
import { DataPath } from '../core/data.js';
import { SelfoptError, errorMessage, unknownName } from '../core/errors.js';
import { inTempDir } from '../core/files.js';
import { checkOptions } from '../core/options.js';
import type { InstanceRef, Problem } from '../core/problem.js';
import { codeVersion, machineInfo } from '../core/version.js';
import { checkpointHeaderOf } from '../learn/checkpoint.js';
import { getProblem } from '../problems/all.js';
import { type Cell, type CellResult, cellLabel, cellPoolOptions, cellUserError, configHash, gridHash, userError } from './cell.js';
import { RunEta } from './eta.js';
import { LaneQueue } from './lanes.js';
import { savePicture } from './pictures.js';
import { runCell } from './run-cell.js';
import type { CellPoolData } from './worker.js';
import { cellKey } from './store-rows.js';
import type { ResultRow, ResultsStore } from './store.js';

export interface BenchOptions {
  problems: string[];
  instances?: string[];
  solvers?: string[];
  /** Seeds 1..seeds. */
  seeds: number;
  /**
   * Which of a problem's listed instances to run when `instances` is not given: `test` (the
   * default: learned solvers are scored on held-out instances only), `train`, or `all`.
   */
  split?: 'test' | 'train' | 'all';
  quick: boolean;
  resume: boolean;
  data: DataPath;
  options: Record<string, string>;
  /** Worker threads; 0 runs cells in this thread (debugging, tests). Default: one per core. */
  concurrency?: number;
  /** Show a progress bar on stderr. */
  progress: boolean;
  /** Called after each cell is recorded, with the count recorded so far and the cells to run. */
  onCell?: (cell: Cell, finished: number, total: number) => void;
  /** Stops the run when aborted; finished cells stay recorded and `--resume` runs the rest. */
  signal?: AbortSignal;
  command: string;
  /** Run the cells on `selfopt worker`s through this Redis (redis://host:port) instead of here. */
  queue?: string;
  queueName?: string;
}

export interface PlannedProblem {
  problem: Problem;
  cells: Cell[];
  /**
   * The pairs the grid leaves out (Solver.appliesTo), each solver with the instances it does not
   * apply to and, when the solver said, why (`why`; else its description explains). Those left
   * out with a reason, and the others when the solver was given by --solvers or the instance by
   * --instances. runBench says them once, so that a row does not vanish without a word.
   */
  leftOut: { solver: string; instances: string[]; why?: string }[];
}

/**
 * The most seeds a grid takes: far beyond any real use (the main job runs 5), and short of a typo
 * like 1e9, which would plan a billion cells per instance and solver and hang before anything runs.
 */
export const MAX_SEEDS = 10_000;

/** Expands the options into the grid, checking every name first so a typo fails before any work. */
export function planGrid(opts: BenchOptions): PlannedProblem[] {
  if (!(Number.isInteger(opts.seeds) && opts.seeds >= 1 && opts.seeds <= MAX_SEEDS)) throw new SelfoptError(`--seeds ${opts.seeds}`, 'command line', `an integer in [1, ${MAX_SEEDS}]`);
  if (opts.split !== undefined && !['test', 'train', 'all'].includes(opts.split)) throw new SelfoptError(`--split ${opts.split}`, 'command line', 'test, train or all');
  // NaN (`--concurrency abc`) would give a pool of no threads: every cell skipped, the run marked finished.
  if (opts.concurrency !== undefined && !(Number.isInteger(opts.concurrency) && opts.concurrency >= 0)) {
    throw new SelfoptError(`--concurrency ${opts.concurrency}`, 'command line', 'a non-negative integer (0 = run the cells in this thread)');
  }
  if (opts.instances !== undefined && opts.instances.length === 0) throw new SelfoptError('--instances names no instance', 'command line', 'comma-separated instance ids or file paths');
  const ictx = { data: opts.data, quick: opts.quick };
  const problems = opts.problems.map((name) => getProblem(name, 'command line'));
  checkOptions(opts.options, problems.map((p) => p.options), `--opt (${opts.problems.join(', ')})`, problems.map((p) => p.trainOptions ?? {}));
  for (const p of problems) p.checkOptionValues?.(opts.options);
  const plans = problems.map((problem) => {
    const name = problem.name;
    const solverNames = problem.solvers.map((s) => s.info.name);
    const solvers = opts.solvers ?? solverNames;
    const known = opts.problems.length > 1 ? solvers.filter((s) => solverNames.includes(s)) : solvers;
    for (const s of known) if (!solverNames.includes(s)) throw unknownName('solver', s, solverNames, `--solvers (problem ${name})`);
    const split = opts.split ?? 'test';
    const refs: InstanceRef[] = opts.instances
      ? opts.instances.map((i) => problem.resolveInstance(i, ictx))
      : problem.listInstances(ictx).filter((r) => split === 'all' || r.split === split);
    // A cell is recorded under its instance's id: two names of one id would collide mid-run.
    if (opts.instances) {
      const nameOf = new Map<string, string>();
      refs.forEach((r, i) => {
        const first = nameOf.get(r.id);
        if (first !== undefined) {
          throw new SelfoptError(`--instances ${first} and ${opts.instances![i]} are both instance ${r.id}`, `command line (problem ${name})`,
            `names of distinct instances (${r.source === 'file' ? 'rename one of two files that share a file name' : 'name each instance once'})`);
        }
        nameOf.set(r.id, opts.instances![i]!);
      });
    }
    const data = opts.data.toJSON();
    const cells: Cell[] = [];
    const solverOf = (solver: string) => problem.solvers.find((s) => s.info.name === solver)!;
    const seedsOf = (solver: string) => (solverOf(solver).info.deterministic ? 1 : opts.seeds);
    // true, false, or why not (a string): asked once per pair.
    const verdicts = new Map(known.map((s) => [s, refs.map((r) => solverOf(s).appliesTo?.(r, opts.options) ?? true)]));
    // A solver named on the command line that applies to none of the instances would vanish silently.
    if (opts.solvers) {
      for (const s of known) {
        const v = verdicts.get(s)!;
        if (refs.length > 0 && !v.includes(true)) {
          const reasons = [...new Set(v.filter((x) => typeof x === 'string'))];
          throw new SelfoptError(`solver ${s} has nothing to run on ${refs.length === 1 ? `instance ${refs[0]!.id}` : `any of the ${refs.length} instances`}${reasons.length > 0 ? `: ${reasons.join('; ')}` : ''}`, `--solvers (problem ${name})`,
            `an instance it applies to (${solverOf(s).info.description})`);
        }
      }
    }
    // By solver and reason, in the order first met.
    const leftOut = new Map<string, { solver: string; instances: string[]; why?: string }>();
    refs.forEach((instance, i) => {
      for (const solver of known) {
        const v = verdicts.get(solver)![i]!;
        if (v === true) for (let seed = 1; seed <= seedsOf(solver); seed++) cells.push({ problem: name, instance, solver, seed, quick: opts.quick, options: opts.options, data });
        else if (typeof v === 'string' || opts.solvers || opts.instances) {
          const key = `${solver}\0${typeof v === 'string' ? v : ''}`;
          if (!leftOut.has(key)) leftOut.set(key, { solver, instances: [], ...(typeof v === 'string' ? { why: v } : {}) });
          leftOut.get(key)!.instances.push(instance.id);
        }
      }
    });
    return { problem, cells, leftOut: [...leftOut.values()] };
  });
  if (opts.solvers && plans.every((p) => p.cells.length === 0)) {
    const all = plans.flatMap((p) => p.problem.solvers.map((s) => s.info.name));
    throw unknownName('solver', opts.solvers.join(','), all, '--solvers');
  }
  checkCheckpointOption(plans, opts);
  return plans;
}

/**
 * `--opt checkpoint=FILE` is read by every cell of a solver that loads a checkpoint: a missing
 * file, or one holding another model, would fail only when the first such cell runs, after the
 * cells before it. Checked here, before any cell, against the model each such solver of the grid
 * declares (SolverInfo.checkpoint). On a queued run the workers read the path in their own
 * directories: a file that is on this machine too is checked (workers run the same commit, so the
 * same path holding another model is a mistake), one that is not is left to each cell's own check.
 */
function checkCheckpointOption(plans: readonly PlannedProblem[], opts: BenchOptions): void {
  const given = opts.options['checkpoint'];
  if (!given) return; // as checkpointFor: none given means the shipped checkpoint
  const readers = plans.flatMap(({ problem, cells }) =>
    [...new Set(cells.map((c) => c.solver))].map((name) => ({ problem: problem.name, info: problem.solvers.find((s) => s.info.name === name)!.info })))
    .filter((r) => r.info.checkpoint !== undefined);
  if (readers.length === 0) return;
  const path = resolve(given);
  if (!existsSync(path)) {
    if (opts.queue !== undefined) return;
    const first = readers[0]!;
    throw new SelfoptError(`no checkpoint file ${path}`, `--opt checkpoint (solver ${readers.map((r) => `${r.problem}/${r.info.name}`).join(', ')})`, first.info.checkpoint!.expected);
  }
  for (const r of readers) checkpointHeaderOf(path, r.info.checkpoint!.type, r.info.checkpoint!.expected, `${path} (--opt checkpoint, solver ${r.problem}/${r.info.name})`);
}

export interface BenchOutcome {
  runId: string;
  /** Cells in the grid. */
  total: number;
  ran: number;
  skipped: number;
  /** Queued runs: cells whose worker died mid-cell and that another worker re-ran. */
  stalled?: number;
  /** The signal stopped the run before every cell ran. */
  interrupted?: boolean;
  /** A --resume of a run started at other code: that code's version (each row records its own). */
  resumedFromCode?: string;
  /** --resume found no run of this grid, so a new run started (said on stderr before any cell). */
  resumeFoundNone?: boolean;
}

/** Runs the grid into `store`; `plans` is planGrid(opts), made here unless the caller made it first (to check the command before opening the store). */
export async function runBench(opts: BenchOptions, store: ResultsStore, plans: PlannedProblem[] = planGrid(opts)): Promise<BenchOutcome> {
  const allCells = plans.flatMap((p) => p.cells);
  const hash = gridHash(allCells);
  const version = codeVersion();
  const machine = machineInfo();

  let prior: string | undefined;
  let resumedFromCode: string | undefined;
  let done = new Set<string>();
  if (opts.resume) {
    const run = await store.findResumable(hash);
    prior = run?.runId;
    if (prior) done = await store.doneCells(prior);
    if (prior) await refuseChangedFiles(allCells, store, prior);
    if (run && run.codeVersion !== version) resumedFromCode = run.codeVersion;
  }
  // The options as given, not the run's wiring (the abort signal, the progress callback).
  const { data: _data, signal: _signal, onCell: _onCell, ...given } = opts;
  // Shown by the report and the dashboard: a password in the queue's URL is not.
  if (given.queue !== undefined) given.queue = (await import('./queue.js')).shownUrl(given.queue);
  const runId = prior ?? await store.startRun({ command: opts.command, gridHash: hash, codeVersion: version, machine, options: given });
  const resumeFoundNone = opts.resume && prior === undefined;
  if (resumeFoundNone) {
    // Any other problem, instance, solver, seed count or --opt value is another grid: said, not silent.
    const latest = (await store.runs()).filter((r) => r.runId !== runId).at(-1);
    process.stderr.write(`selfopt: note: --resume found no run of this grid in ${store.path} (a run resumes with the same problems, instances, solvers, seeds and --opt values${latest ? `; the latest run was \`${latest.command}\`` : ''}); started run ${runId}\n`);
  }

  const todo = allCells.filter((c) => !done.has(cellKey(c.problem, c.instance.id, c.solver, c.seed)));
  const skipped = allCells.length - todo.length;
  // Said before the cells run, not after: a run's figures should come from one code version.
  if (resumedFromCode !== undefined && todo.length > 0) {
    process.stderr.write(`selfopt: note: run ${runId} was started at code ${resumedFromCode}; this is ${version}. Each result row records the code that made it (selfopt results export); a fresh run keeps one version.\n`);
  }
  for (const { problem, leftOut } of plans) {
    for (const { solver, instances, why } of leftOut) {
      const info = problem.solvers.find((s) => s.info.name === solver)!.info;
      process.stderr.write(`selfopt: note: solver ${problem.name}/${solver} does not apply to ${instances.length === 1 ? 'instance' : 'instances'} ${instances.join(', ')}: no cells there (${why ?? info.description})\n`);
    }
  }
  // A queued run's cells of every problem run at once, on the workers: one group, one rate.
  const etaGroup = (cell: Cell) => (opts.queue !== undefined ? '' : cell.problem);
  const eta = new RunEta(todo.map(etaGroup));
  const bar = opts.progress ? makeBar(todo.length, eta) : undefined;
  let finished = 0;
  let stalled: number | undefined;
  const recorded = (cell: Cell, what: string) => {
    finished++;
    eta.finish(etaGroup(cell));
    bar?.update(finished, { what, timeLeft: eta.text() });
    opts.onCell?.(cell, finished, todo.length);
  };
  const interrupted = () => opts.signal?.aborted === true;
  // Every cell of an instance may give the same note, from any thread or worker: said once.
  const noted = new Set<string>();
  const keep = (cell: Cell, r: CellResult) => {
    keepPicture(store.path, runId, cell, r);
    for (const text of r.notes ?? []) {
      if (noted.has(text)) continue;
      noted.add(text);
      // On a line of its own: the progress bar redraws below it.
      process.stderr.write(`${bar ? '\n' : ''}selfopt: note: ${cell.problem}: ${text}\n`);
    }
  };
  try {
    if (opts.queue !== undefined) {
      eta.start('');
      const { runQueued } = await import('./queue.js');
      const byName = new Map(plans.map((p) => [p.problem.name, p.problem]));
      const outcome = await runQueued({
        url: opts.queue,
        queueName: opts.queueName,
        runId,
        cells: todo,
        recorded: skipped > 0 ? allCells.filter((c) => done.has(cellKey(c.problem, c.instance.id, c.solver, c.seed))) : [],
        record: async (cell, r) => {
          await store.insertCell(toRows(runId, byName.get(cell.problem)!, cell, r, r.codeVersion, r.machine));
          keep(cell, r);
          recorded(cell, `${cell.problem} ${cell.instance.id} ${cell.solver} seed ${cell.seed} (${r.worker})`);
        },
        signal: opts.signal,
      });
      stalled = outcome.stalled;
    }
    for (const plan of opts.queue !== undefined ? [] : plans) {
      const cells = todo.filter((c) => c.problem === plan.problem.name);
      if (cells.length === 0 || interrupted()) continue;
      eta.start(plan.problem.name);
      const threads = Math.max(0, Math.min(opts.concurrency ?? availableParallelism(), plan.problem.maxConcurrency ?? Infinity, cells.length));
      const record = async (cell: Cell, r: CellResult) => {
        await store.insertCell(toRows(runId, plan.problem, cell, r, version, machine));
        keep(cell, r);
        recorded(cell, `${cell.problem} ${cell.instance.id} ${cell.solver} seed ${cell.seed}`);
      };
      if (threads === 0) {
        for (const cell of cells) {
          if (interrupted()) break;
          await record(cell, await runCellLabelled(cell, () => runCell(cell)));
        }
      } else {
        await runInPool(cells, threads, record, opts.signal, () => plan.problem.abandonRunning?.());
      }
    }
    if (interrupted() && finished < todo.length) return { runId, total: allCells.length, ran: finished, skipped, stalled, interrupted: true, resumedFromCode, ...(resumeFoundNone ? { resumeFoundNone } : {}) };
    await store.finishRun(runId);
  } finally {
    bar?.stop();
  }
  return { runId, total: allCells.length, ran: finished, skipped, stalled, resumedFromCode, ...(resumeFoundNone ? { resumeFoundNone } : {}) };
}

/**
 * A --resume whose run recorded cells of a user's key or graph file that has changed since (its
 * contents in the cell's config hash differ) is refused: the old rows and the new ones would be
 * one instance in the run's tables. Rows recorded before contents were hashed match the hash
 * without them and are taken as they are.
 */
async function refuseChangedFiles(cells: readonly Cell[], store: ResultsStore, runId: string): Promise<void> {
  const files = cells.filter((c) => c.instance.contents !== undefined);
  if (files.length === 0) return;
  const recorded = await store.cellConfigHashes(runId);
  const changed = new Map<string, number>();
  for (const c of files) {
    const was = recorded.get(cellKey(c.problem, c.instance.id, c.solver, c.seed));
    if (was === undefined || was === configHash(c) || was === configHash(c, false)) continue;
    const path = c.instance.path ?? c.instance.id;
    changed.set(path, (changed.get(path) ?? 0) + 1);
  }
  if (changed.size === 0) return;
  const what = [...changed].map(([path, n]) => `${path} (${n} cell${n === 1 ? '' : 's'})`).join(', ');
  throw new SelfoptError(`--resume: ${changed.size === 1 ? 'a file' : 'files'} of --instances changed since run ${runId} recorded cells of ${changed.size === 1 ? 'it' : 'them'}: ${what}`,
    store.path, 'the files as they were when those cells ran, or a new run of the changed files (the same command without --resume)');
}

/**
 * Runs cells on a pool of worker threads; stops at the first failure and rethrows it. An abort
 * of `signal` abandons the running cells (and calls `abandon`, the problem's abandonRunning) and
 * returns once the finished ones are recorded. The threads share a memo directory (core/memo.ts)
 * for the pool's lifetime, so a one-off preparation (a tuned heuristic's sweep) is made once.
 */
async function runInPool(cells: Cell[], threads: number, record: (c: Cell, r: CellResult) => Promise<void>, signal?: AbortSignal, abandon?: () => void): Promise<void> {
  // Removed after pool.destroy(), when no thread is left to read or write it; a killed run's
  // (a second Ctrl-C exits at once) by the next run's sweep of dead processes' directories.
  await inTempDir('selfopt-memo-', async (memoDir) => {
    const workerData: CellPoolData = { memoDir };
    const pool = new Piscina({ ...cellPoolOptions(threads), idleTimeout: 1000, workerData });
    const abort = new AbortController();
    const onAbort = () => { abort.abort(); abandon?.(); };
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) abort.abort();
    let failure: unknown;
    // Lane by lane, one (instance, solver) group at a time, the groups in instance order (lanes.ts).
    const queue = new LaneQueue(cells, (c) => `${c.instance.id}\0${c.solver}`);
    const lane = async (_: unknown, index: number) => {
      for (let cell = queue.next(index); cell && failure === undefined; cell = queue.next(index)) {
        try {
          const c = cell;
          const r = await runCellLabelled(c, () => pool.run(c, { signal: abort.signal }) as Promise<CellResult>);
          await record(c, r);
        } catch (e) {
          if (failure === undefined) failure = e;
          abort.abort();
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: threads }, lane));
    } finally {
      signal?.removeEventListener('abort', onAbort);
      await pool.destroy();
    }
    // The cells the signal abandoned fail with AbortError; any other failure is the run's to report.
    const abandoned = signal?.aborted === true && failure instanceof Error && failure.name === 'AbortError';
    if (failure !== undefined && !abandoned) throw failure;
  });
}

async function runCellLabelled(cell: Cell, run: () => Promise<CellResult>): Promise<CellResult> {
  try {
    return await run();
  } catch (e) {
    if (e instanceof Error && e.name === 'AbortError') throw e;
    // Errors cross the worker boundary as plain Errors: keep the message, add the cell.
    const { user, message: msg } = userError(e);
    const where = `cell ${cellLabel(cell)}`;
    if (user) throw cellUserError(msg, cell);
    const err = new Error(`${where} failed: ${msg}`);
    err.stack = `${err.message}\n${e instanceof Error ? e.stack : ''}`;
    throw err;
  }
}

/** Saves the cell's picture; a picture that failed, to draw or to save, is a warning, never the cell's failure. */
function keepPicture(storePath: string, runId: string, cell: Cell, r: CellResult): void {
  let failed = r.pictureError;
  if (r.picture !== undefined) {
    try {
      savePicture(storePath, runId, cell.problem, { instance: cell.instance.id, solver: cell.solver, svg: r.picture });
    } catch (e) {
      failed = `saving it: ${errorMessage(e)}`;
    }
  }
  // On a line of its own: the progress bar redraws below it.
  if (failed !== undefined) process.stderr.write(`\nselfopt: warning: cell ${cellLabel(cell)} is recorded, but its picture failed: ${failed}\n`);
}

function toRows(runId: string, problem: Problem, cell: Cell, r: CellResult, version: string, machine: string): ResultRow[] {
  const solver = problem.solvers.find((s) => s.info.name === cell.solver)!;
  const hash = configHash(cell);
  return problem.metrics
    .filter((m) => m.name in r.metrics)
    .map((m) => ({
      runId,
      problem: cell.problem,
      instance: cell.instance.id,
      solver: cell.solver,
      seed: cell.seed,
      metric: m.name,
      value: r.metrics[m.name]!,
      unit: m.unit,
      better: m.better,
      solverKind: solver.info.kind,
      instanceSplit: cell.instance.split,
      wallMs: r.wallMs,
      codeVersion: version,
      machine,
      configHash: hash,
    }));
}

function makeBar(total: number, eta: RunEta): cliProgress.SingleBar {
  const bar = new cliProgress.SingleBar(
    {
      format: '{bar} {value}/{total} cells | {percentage}% | ETA {timeLeft} | {what}',
      stream: process.stderr,
      hideCursor: process.stderr.isTTY === true,
      noTTYOutput: true,
      notTTYSchedule: 10_000,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { what: '', timeLeft: eta.text() });
  return bar;
}
