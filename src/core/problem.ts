/**
 * The Problem, Solver and Metric contracts, stated once (DESIGN.md "Contracts").
 *
 * Data flows one way: instance -> solver.solve -> problem.evaluate -> metrics. A solver never
 * scores itself; the problem's evaluator (or simulator) is the single source of truth for every
 * metric. The benchmark runner only knows these types: it asks a problem for its instances and
 * solvers, loads an instance in a worker, calls `solve` then `evaluate` for one (instance,
 * solver, seed) cell, and stores the metric values it gets back.
 */
import type { Rng } from './rng.js';
import type { DataPath } from './data.js';

export type Better = 'lower' | 'higher';

export interface Metric {
  /** snake_case name, stable: it is a column value in the results store. */
  name: string;
  unit: string;
  better: Better;
  description: string;
}

/**
 * baseline: the reference every ratio is taken against (binary search, FIFO, random).
 * heuristic: a classical hand-written method. peer: an outside system or library of the same
 * kind (METIS, a B+tree package), reported with the heuristics. learned: fitted to data or trained.
 */
export type SolverKind = 'baseline' | 'heuristic' | 'peer' | 'learned';

export interface SolverInfo {
  /** The name the literature uses, in kebab-case for the CLI (e.g. `binary-search`, `pgm`). */
  name: string;
  kind: SolverKind;
  description: string;
  /** Paper or system it follows. */
  reference?: string;
  /**
   * The solution does not depend on the seed (a fixed pipeline such as -Oz, a deterministic
   * search): the runner runs it on seed 1 only, and comparisons pair that result with every
   * seed of the other side. Leave unset when a seed changes anything a metric sees (the
   * workload, the episode), even if the method itself is deterministic.
   */
  deterministic?: boolean;
  /**
   * A solver that loads a checkpoint (`--opt checkpoint=FILE`, else the shipped one): the model
   * the file must hold (its header's architecture type, learn/checkpoint.ts checkpointHeaderOf)
   * and what to say is expected otherwise. bench checks a given file against it before any cell.
   */
  checkpoint?: CheckpointModel;
}

/** The model a checkpoint must hold: `type` as its header names it, `expected` in words (with how to make one). */
export interface CheckpointModel {
  type: string;
  expected: string;
}

export interface SolveContext {
  seed: number;
  /** Seeded from the cell's seed; the only source of randomness a solver may use. */
  rng: Rng;
  quick: boolean;
  /** Problem-specific options from the command line (`--opt key=value`). */
  options: Record<string, string>;
}

export interface Solver<I, S> {
  readonly info: SolverInfo;
  /** May be async when a real system (a compiler, a database) does the work. */
  solve(instance: I, ctx: SolveContext): S | Promise<S>;
  /**
   * Whether the solver has anything to run on an instance under the run's `--opt` values (a
   * staged reference placement exists for some netlists only; a checkpoint was trained for one
   * cluster size). Unset: every instance. `true`: it applies. `false`, or a string saying why not:
   * the grid leaves out the instance's cells, so that no row stands for a placeholder answer or a
   * failure, and the bench says so (with the string, else the solver's description).
   */
  appliesTo?(instance: InstanceRef, options: Readonly<Record<string, string>>): boolean | string;
}

/** How long a training run may go: wall seconds, trainer steps (its own unit), or both. */
export interface TrainBudget {
  seconds?: number;
  steps?: number;
}

/**
 * What `selfopt train` hands a trainer. Training is long and machines die: a trainer saves its
 * resumable state (weights, optimizer moments, step, RNG position) under `stateDir` every so
 * often and, when that state exists at start, continues from it, so re-running the same command
 * resumes. At the end it writes the final, small checkpoint to `out` (atomically).
 */
export interface TrainContext extends SolveContext {
  stateDir: string;
  out: string;
  /** The exact command that reproduces this run; trainers record it in the checkpoint. */
  command: string;
  /** One learning-curve point (step, return, loss...), appended to `${stateDir}/curve.jsonl`. */
  log(point: Record<string, number>): void;
  /** Progress for the bar: `done` of `total` in the budget's unit. */
  progress(done: number, total: number): void;
  /**
   * Aborted when the user stops the run (Ctrl-C, SIGTERM). A trainer checks it between steps
   * (yielding to the event loop now and then, so the signal can arrive), saves its resumable
   * state and returns without writing `out`: the next run of the same command resumes there.
   */
  signal?: AbortSignal;
}

/**
 * A learned solver: trained on train-split instances by `selfopt train`, it solves from the
 * checkpoint shipped at `checkpoints/<problem>/<solver>.ckpt` (see core/train.ts), or from the
 * one given by `--opt checkpoint=PATH`.
 */
export interface LearnedSolver<I, S> extends Solver<I, S> {
  train(trainInstances: I[], budget: TrainBudget, ctx: TrainContext): void | Promise<void>;
}

export function isLearnedSolver<I, S>(s: Solver<I, S>): s is LearnedSolver<I, S> {
  return typeof (s as Partial<LearnedSolver<I, S>>).train === 'function';
}

export interface InstanceRef {
  /** Stable id, unique within the problem: the name users type and the results store keeps. */
  id: string;
  source: 'generated' | 'real' | 'file';
  /** For real and file instances: the file the instance is read from. */
  path?: string;
  /** Generator or loader parameters (JSON), part of the cell's config hash. */
  params: Record<string, string | number | boolean>;
  /**
   * For an instance read from a file of the user's: the file's size and content hash
   * (`fileIdentity`, as `<bytes> bytes, sha256 <hex>`). Part of the cell's config hash but not of
   * the grid's, so `--resume` after the file changed finds its run and refuses the cells recorded
   * from the old contents, while a file that failed to load can be fixed and resumed.
   */
  contents?: string;
  /** Learned solvers train on `train` instances and are scored on `test` ones. */
  split: 'train' | 'test';
  description: string;
}

export interface InstanceContext {
  data: DataPath;
  quick: boolean;
}

export interface EvalContext extends SolveContext {
  /** Wall time of `solve` in milliseconds, measured by the runner. */
  solveMs: number;
  /** The solver whose answer is evaluated (for an evaluator's logs; absent outside a bench cell). */
  solver?: string;
  /**
   * Tells the user something about the cell's result that its metrics cannot (a program that did
   * not build: clang's message; a check that was not made, and why). The runner prints each
   * distinct note once per run, so an evaluator may give it for every cell of the instance.
   */
  note?: (text: string) => void;
}

/** Metric name -> value, for the metrics the problem declares. */
export type MetricValues = Record<string, number>;

export interface Dataset {
  /** Path relative to a data directory (e.g. `index/flights_ts_3M_uint64`). */
  relPath: string;
  description: string;
  source: string;
  license: string;
  /** How a user obtains it (a package to install, a builder command). */
  obtain: string;
  /** Optional: makes the dataset on this machine from its source (`selfopt data build <relPath>`). */
  build?: DatasetBuilder;
}

/** Makes a dataset from the registry it came from (a Debian package, an npm package), as PROVENANCE.md describes. */
export interface DatasetBuilder {
  /** What it reads that a fresh machine may lack, as a command or a place: `apt-get install tor-geoipdb`. */
  needs: string;
  /** Writes the dataset to `path` atomically; `log` says what it does. A missing source is a SelfoptError saying what to install. */
  build(path: string, log: (line: string) => void): void | Promise<void>;
}

export interface Problem<I = any, S = any> {
  name: string;
  title: string;
  /** One line: the paper(s) it follows. */
  reference: string;
  metrics: Metric[];
  /** The metric tables lead with and the best heuristic is chosen by. */
  primaryMetric: string;
  /** Name of the solver that ratios are taken against. */
  baseline: string;
  /**
   * Facts about the system under test rather than the solvers (a simulator's speed): summary
   * meta key -> metric name; the report puts the metric's median over all cells under that key.
   */
  metaMetrics?: Record<string, string>;
  solvers: Solver<I, S>[];
  datasets: Dataset[];
  /**
   * The `--opt key=value` keys its solvers and evaluator read in a bench (training may read them
   * too): key -> what it sets (shown by `selfopt list`). bench refuses any other key and train any
   * key neither here nor in trainOptions (options.ts checkOptions), so a misspelt option fails at
   * once instead of running the defaults under the option's name.
   */
  options: Readonly<Record<string, string>>;
  /**
   * Optional: the `--opt` keys only `selfopt train` reads (a network's shape, the optimiser, the
   * training data): key -> what it sets. A bench runs a checkpoint, which fixes them, so bench
   * refuses them rather than run the checkpoint as it is under another config hash.
   */
  trainOptions?: Readonly<Record<string, string>>;
  /**
   * Optional: checks option values before anything runs or is recorded (bench and train call it
   * after checking the keys), for values a cell would otherwise only refuse once it runs.
   */
  checkOptionValues?(options: Readonly<Record<string, string>>): void;
  /**
   * At most this many cells at once (default: one per core). Problems that time code ask for 1,
   * so that two timed cells never compete for the same cores.
   */
  maxConcurrency?: number;
  /**
   * Optional: called in the main thread when a bench run abandons its running cells (Ctrl-C), to
   * stop what those cells wait on that the terminal's Ctrl-C does not reach (subprocesses in
   * process groups of their own), so that their worker threads end and the run stops at once.
   */
  abandonRunning?(): void;
  /** The instances a default run covers: generated ones always, real ones that the data path finds. */
  listInstances(ctx: InstanceContext): InstanceRef[];
  /** An instance named on the command line: a listed id, or a file path where the problem reads files. */
  resolveInstance(name: string, ctx: InstanceContext): InstanceRef;
  /** Loads (or generates) the instance. Runs in the worker; the runner caches it per worker. */
  load(ref: InstanceRef): I | Promise<I>;
  /**
   * Optional: the solution drawn as a self-contained SVG (a placement, a schedule, a learned
   * index's errors), or undefined for a solution with nothing to draw. The runner draws each
   * solver's seed-1 solution per instance, and the HTML report shows them.
   */
  picture?(instance: I, solution: S, caption: string): string | undefined;
  /** Scores a solution. The single source of truth for the metrics. */
  evaluate(instance: I, solution: S, ctx: EvalContext): MetricValues | Promise<MetricValues>;
}

/** A problem as plain data, for `selfopt list --json` and the dashboard's /api/problems alike. */
export function describeProblem(p: Problem) {
  const { name, title, reference, primaryMetric, baseline, metrics, options } = p;
  return { name, title, reference, primaryMetric, baseline, metrics, options, trainOptions: p.trainOptions ?? {}, solvers: p.solvers.map((s) => s.info) };
}
