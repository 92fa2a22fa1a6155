/**
 * Training runs: `selfopt train <problem> <solver>` loads the problem's train-split instances,
 * hands them to the solver's `train` with a TrainContext, and records how the checkpoint was
 * made. Shipped checkpoints live in the repository at `checkpoints/<problem>/<solver>.ckpt`, each
 * beside a `<solver>.json` manifest (command, seed, budget, instances, wall time, code version),
 * so anyone can remake them with the one command the manifest gives.
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Rng } from './rng.js';
import { SelfoptError, errorMessage } from './errors.js';
import { checkOptions } from './options.js';
import { writeFileAtomic } from './files.js';
import { PROJECT_ROOT, codeVersion, machineInfo } from './version.js';
import { isLearnedSolver } from './problem.js';
import type { InstanceContext, InstanceRef, Problem, TrainBudget, TrainContext } from './problem.js';

/** Where a shipped checkpoint of `solver` on `problem` lives. */
export function shippedCheckpointPath(problem: string, solver: string): string {
  return join(PROJECT_ROOT, 'checkpoints', problem, `${solver}.ckpt`);
}

/** The `--opt` key every problem with a learned solver takes (its Problem.options spread it in). */
export const CHECKPOINT_OPTION = { checkpoint: 'the checkpoint file a learned solver loads (default: the shipped one in checkpoints/)' } as const;

/**
 * The checkpoint a learned solver solves from: `--opt checkpoint=PATH` when given, else the
 * shipped one. A clear error says how to make it when neither exists.
 */
export function checkpointFor(problem: string, solver: string, options: Record<string, string>): string {
  const given = options['checkpoint'];
  const path = given ? resolve(given) : shippedCheckpointPath(problem, solver);
  if (!existsSync(path)) {
    throw new SelfoptError(`no checkpoint for ${problem}/${solver} at ${path}`, given ? '--opt checkpoint' : 'shipped checkpoints', `a checkpoint made by \`selfopt train ${problem} ${solver}\``);
  }
  return path;
}

/**
 * How far a training run is, as `selfopt train` shows it: `done/total (p%)`, `s` after the
 * numbers when they are seconds. Whole budgets show whole numbers (steps, or seconds of a long
 * run); a fractional one (`--seconds 0.5`) shows its fraction, so that it does not read `0/1`; the
 * percentage is of the budget itself, never of at least 1.
 */
export function trainProgressText(done: number, total: number, seconds = false): string {
  const decimals = Number.isInteger(total) ? 0 : Math.min(3, (String(total).split('.')[1] ?? '').length + 1);
  const scale = 10 ** decimals;
  // Floored, so that the line reads done/total only when it is (1e-9: 0.29 * 100 is 28.999...).
  const shown = (Math.floor(done * scale + 1e-9) / scale).toFixed(decimals);
  const percent = total > 0 ? Math.floor((100 * done) / total + 1e-9) : 100;
  return `${shown}/${total.toFixed(decimals)}${seconds ? ' s' : ''} (${percent}%)`;
}

/**
 * A trainer's saved state (JSON in its stateDir), read to resume. A file that does not parse (a
 * disk that filled, a hand edit) is one clear error naming it and the way out, not a stack trace.
 */
export function readTrainState<T>(path: string): T {
  const text = readFileSync(path, 'utf8');
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new SelfoptError(`unreadable training state (${(e as Error).message}, ${text.length} bytes)`, path, 'the JSON a trainer saved; --fresh starts the run over');
  }
}

/** A trainer's saved state as read back: the JSON's fields, and the weight files it names (absolute paths). */
export interface SavedTrainState<T> { state: T; weights: Record<string, string> }

/**
 * A trainer's resumable state as one unit: `<name>.json` and the weight files it names (or any
 * other file of state too large for the JSON, such as a replay buffer: core/files.ts writeArrays). Every
 * save writes its weights under new names (`<name>.<key>.<n>.ckpt`), then the JSON naming them
 * (atomically, last), then removes the files no longer named. Whatever JSON is on disk therefore
 * names weights written before it: a process killed at any point (SIGKILL) resumes with
 * the weights, optimizer state and step count of one save, never of two. A save may leave a key
 * out: the file the previous save named for it is kept. `legacy` names the weight files of a state
 * directory from before the JSON named them (`{ weights: 'gap-state.ckpt' }`), read when present.
 */
export function trainStateFiles<T extends object>(stateDir: string, name: string, legacy: Record<string, string> = {}) {
  const jsonPath = join(stateDir, `${name}.json`);
  let last: { n: number; files: Record<string, string> } | undefined;
  const read = (): SavedTrainState<T> | undefined => {
    if (!existsSync(jsonPath)) return undefined;
    const { files, save, ...state } = readTrainState<T & { files?: Record<string, string>; save?: number }>(jsonPath);
    const named = files ?? Object.fromEntries(Object.entries(legacy).filter(([, f]) => existsSync(join(stateDir, f))));
    last = { n: save ?? 0, files: named };
    const weights = Object.fromEntries(Object.entries(named).map(([k, f]) => [k, join(stateDir, f)]));
    const missing = Object.values(weights).filter((f) => !existsSync(f));
    if (missing.length > 0) throw new SelfoptError(`the training state names weights that are missing: ${missing.join(', ')}`, jsonPath, 'the state directory as the trainer left it; --fresh starts the run over');
    return { state: state as T, weights };
  };
  return {
    /** The last save, or undefined when none was made. */
    load: read,
    /** Saves `state` with the weights each writer writes to the path it is given; returns the weight files now named. */
    save(state: T, writers: Record<string, (path: string) => void> = {}): Record<string, string> {
      if (!last) read();
      const n = (last?.n ?? 0) + 1;
      const files = { ...(last?.files ?? {}) };
      for (const [key, write] of Object.entries(writers)) {
        files[key] = `${name}.${key}.${n}.ckpt`;
        write(join(stateDir, files[key]));
      }
      writeFileAtomic(jsonPath, JSON.stringify({ ...state, files, save: n }));
      // Files no longer named: the previous save's (and any a killed save wrote before its JSON).
      const kept = new Set(Object.values(files));
      const stale = [...Object.values(last?.files ?? {}), ...readdirSync(stateDir).filter((f) => f.startsWith(`${name}.`) && f.endsWith('.ckpt'))];
      for (const f of stale) if (!kept.has(f)) rmSync(join(stateDir, f), { force: true });
      last = { n, files };
      return Object.fromEntries(Object.entries(files).map(([k, f]) => [k, join(stateDir, f)]));
    },
  };
}

/**
 * Gives the event loop a turn, so that a stop (Ctrl-C, SIGTERM: ctx.signal) can arrive between a
 * trainer's synchronous steps, and says whether one has. The trainer then saves its state and
 * returns without writing `out`.
 */
export async function stopRequested(ctx: Pick<TrainContext, 'signal'>): Promise<boolean> {
  await new Promise((r) => setImmediate(r));
  return ctx.signal?.aborted === true;
}

export interface TrainOptions {
  problem: Problem;
  solver: string;
  seed: number;
  budget: TrainBudget;
  /** Train on the quick-mode instances (tests, smoke runs). */
  quick: boolean;
  instanceCtx: InstanceContext;
  /** Instance ids to train on; default every train-split instance the problem lists. */
  instances?: string[];
  out?: string;
  /** Directory for resumable state; default `.selfopt/train/<problem>-<solver>-seed<seed>`. */
  stateDir?: string;
  /** Discard any saved state and start over. */
  fresh?: boolean;
  options: Record<string, string>;
  command: string;
  onProgress?: (done: number, total: number) => void;
  /** Called once the run is set up, before training: what it trains on and where its state is (trainStartText says it). */
  onStart?: (start: TrainStart) => void;
  /** Aborted to stop training early: the trainer saves its state, and no checkpoint or manifest is written. */
  signal?: AbortSignal;
}

export interface TrainStart {
  instances: InstanceRef[];
  stateDir: string;
  /** The state directory held an earlier session's state of this run. */
  resumed: boolean;
}

/**
 * The line a training run starts with. Without the data, a problem's train split is its generated
 * stand-ins: the same command trained on synthetic instances with nothing on screen to say so.
 */
export function trainStartText(s: TrainStart): string {
  const real = s.instances.filter((r) => r.source !== 'generated'), generated = s.instances.length - real.length;
  const parts = [];
  if (real.length > 0) parts.push(`${real.length} read from ${[...new Set(real.map((r) => (r.path ? dirname(r.path) : r.source)))].slice(0, 2).join(', ')}`);
  if (generated > 0) parts.push(`${generated} generated`);
  const ids = s.instances.length <= 4 ? `: ${s.instances.map((r) => r.id).join(', ')}` : '';
  return `${s.instances.length} train instance${s.instances.length === 1 ? '' : 's'} (${parts.join(', ')})${ids}; ${s.resumed ? 'resuming from' : 'state in'} ${s.stateDir}`;
}

export interface TrainOutcome {
  out: string;
  manifest: string;
  wallSeconds: number;
  instances: string[];
  /** The run was stopped (signal) before its budget: state saved in stateDir, `out` and the manifest not written. */
  stopped?: { stateDir: string };
}

export async function train(o: TrainOptions): Promise<TrainOutcome> {
  const solver = o.problem.solvers.find((s) => s.info.name === o.solver);
  if (!solver) throw new SelfoptError(`unknown solver '${o.solver}'`, `problem ${o.problem.name}`, `one of ${o.problem.solvers.map((s) => s.info.name).join(', ')}`);
  if (!isLearnedSolver(solver)) {
    const learned = o.problem.solvers.filter(isLearnedSolver).map((s) => s.info.name);
    throw new SelfoptError(`solver '${o.solver}' is not trained`, `problem ${o.problem.name}`, learned.length ? `a learned solver: ${learned.join(', ')}` : 'a problem with a learned solver');
  }
  if (o.budget.seconds === undefined && o.budget.steps === undefined) throw new SelfoptError('no training budget', 'command line', '--seconds N or --steps N');
  checkOptions(o.options, [o.problem.options, o.problem.trainOptions ?? {}], `--opt (${o.problem.name})`);
  // Every problem's bench takes it (the checkpoint a solver runs from); no trainer reads it, and
  // taken silently it went into the manifest as if it had shaped the weights.
  if (o.options['checkpoint'] !== undefined) {
    throw new SelfoptError('option checkpoint is read by a bench, not by training', '--opt checkpoint', '--out FILE to name the checkpoint written, or --opt init=FILE to start from one where the trainer takes it (decima, ppo)');
  }
  o.problem.checkOptionValues?.(o.options);
  const refs = pickInstances(o);
  const out = resolve(o.out ?? shippedCheckpointPath(o.problem.name, o.solver));
  checkWritableOut(out, o.out ? '--out' : 'shipped checkpoints');
  const stateDir = resolve(o.stateDir ?? join('.selfopt', 'train', trainRunName(o.problem.name, o.solver, o.seed)));
  if (o.fresh) {
    // --fresh deletes the directory: only one that holds a training run's state (--state may name any).
    const entries = existsSync(stateDir) ? readdirSync(stateDir) : [];
    if (entries.length > 0 && !['run.json', 'curve.jsonl', 'wall-seconds'].some((f) => entries.includes(f))) {
      throw new SelfoptError(`--fresh would delete ${stateDir}, which holds ${entries.length} entries but no training state (no run.json, curve.jsonl or wall-seconds)`, '--state', 'a state directory made by selfopt train (or a new or empty one)');
    }
    rmSync(stateDir, { recursive: true, force: true });
  }
  mkdirSync(stateDir, { recursive: true });
  const resumed = checkSameRun(stateDir, { seed: o.seed, instances: refs.map((r) => r.id), options: o.options });
  o.onStart?.({ instances: refs, stateDir, resumed });
  const curve = join(stateDir, 'curve.jsonl');
  const instances = [];
  for (const r of refs) instances.push(await o.problem.load(r));
  let reported = { done: 0, total: 0 };
  const ctx: TrainContext = {
    seed: o.seed,
    rng: new Rng(o.seed).split(`train:${o.solver}`),
    quick: o.quick,
    options: o.options,
    stateDir,
    out,
    command: o.command,
    log: (point) => appendFileSync(curve, JSON.stringify({ t: Date.now(), ...point }) + '\n'),
    progress: (done, total) => {
      reported = { done, total };
      o.onProgress?.(done, total);
    },
    signal: o.signal,
  };
  // Wall time adds up over the sessions of a resumed run, kept beside the trainer's state (and
  // saved as it goes, so an interrupted session still counts).
  const wallFile = join(stateDir, 'wall-seconds');
  const before = existsSync(wallFile) ? Number(readFileSync(wallFile, 'utf8')) || 0 : 0;
  const outBefore = fileStamp(out);
  const t0 = performance.now();
  const sinceStart = () => before + (performance.now() - t0) / 1000;
  const tick = setInterval(() => writeFileAtomic(wallFile, String(sinceStart())), 10_000);
  tick.unref();
  try {
    await solver.train(instances, o.budget, ctx);
  } finally {
    clearInterval(tick);
    writeFileAtomic(wallFile, String(sinceStart()));
  }
  const wallSeconds = sinceStart();
  // A time budget ends when a trainer's loop finds the clock past it, after its last report: on a
  // loaded machine that report could be far short of the end (a log's last line read 0.06/0.50 s).
  // The run did spend its budget, so its last line says so.
  if (!o.signal?.aborted && o.budget.seconds !== undefined && reported.done < reported.total) o.onProgress?.(reported.total, reported.total);
  // Stopped before the budget was spent, the trainer saved its state and left `out` as it was
  // (a stop that came after it wrote `out` finished the run, which gets its manifest).
  if (o.signal?.aborted && fileStamp(out) === outBefore) return { out, manifest: '', wallSeconds, instances: refs.map((r) => r.id), stopped: { stateDir } };
  if (!existsSync(out)) throw new SelfoptError(`trainer of ${o.problem.name}/${o.solver} wrote no checkpoint`, out, 'the final checkpoint at ctx.out');
  const stem = out.replace(/\.ckpt$/, '');
  const manifest = stem + '.json';
  // The curve ships beside the checkpoint, named in the record relative to it: a record that gave
  // the state directory's absolute path pointed, once the checkpoint was committed, at a folder of
  // a machine that was gone, and two shipped checkpoints lost their curves that way.
  const shippedCurve = existsSync(curve) ? stem + '.curve.jsonl' : null;
  if (shippedCurve) writeFileAtomic(shippedCurve, readFileSync(curve));
  const record = {
    problem: o.problem.name,
    solver: o.solver,
    command: o.command,
    seed: o.seed,
    budget: o.budget,
    quick: o.quick,
    options: o.options,
    instances: refs.map((r) => r.id),
    /** Summed over every session of a resumed run. */
    wallSeconds,
    codeVersion: codeVersion(),
    machine: machineInfo(),
    finishedAt: new Date().toISOString(),
    /** Beside this record; null when the trainer logged no point. */
    curve: shippedCurve && basename(shippedCurve),
  };
  writeFileAtomic(manifest, JSON.stringify(record, null, 2) + '\n');
  return { out, manifest, wallSeconds, instances: record.instances };
}

/** Options that do not change what is trained: where a checkpoint is read, how many threads, how often to save. */
const RUN_ONLY_OPTION = /^init$|(^|\.)(workers|saveEverySeconds)$/;

interface SavedRun { seed: number; instances: string[]; options: Record<string, string> }

/**
 * A state directory resumes the run that made it: the same seed, instances and training options
 * (the budget may change). Another run's state would be silently continued under the new options,
 * and the manifest would give a command that does not remake the weights, so it is refused.
 * True when this run continues one that trained there.
 */
function checkSameRun(stateDir: string, run: SavedRun): boolean {
  const path = join(stateDir, 'run.json');
  const kept = (opts: Record<string, string>) => Object.fromEntries(Object.entries(opts).filter(([k]) => !RUN_ONLY_OPTION.test(k)).sort(([a], [b]) => a.localeCompare(b)));
  const now = { seed: run.seed, instances: run.instances, options: kept(run.options) };
  // Only a directory holding what a trainer wrote (its state, curve, demonstrations) is bound to
  // its run. A run that failed before training (a refused option, data not found) left only
  // run.json and its wall time: the corrected command starts afresh there, rather than being
  // refused for differing from a run that trained nothing.
  const trained = readdirSync(stateDir).some((f) => f !== 'run.json' && f !== 'wall-seconds');
  if (!trained || !existsSync(path)) {
    // A fresh directory, one from before run.json, or one no run trained in: this run defines it.
    if (!trained) rmSync(join(stateDir, 'wall-seconds'), { force: true });
    writeFileAtomic(path, JSON.stringify(now, null, 2) + '\n');
    return false;
  }
  const saved = readTrainState<SavedRun>(path);
  const diffs: string[] = [];
  if (saved.seed !== now.seed) diffs.push(`--seed ${now.seed} (saved: ${saved.seed})`);
  if (JSON.stringify(saved.instances) !== JSON.stringify(now.instances)) diffs.push(instancesDiff(saved.instances ?? [], now.instances));
  const savedOpts = kept(saved.options ?? {});
  for (const k of [...new Set([...Object.keys(savedOpts), ...Object.keys(now.options)])].sort()) {
    if (savedOpts[k] !== now.options[k]) diffs.push(`--opt ${k}=${now.options[k] ?? '(default)'} (saved: ${savedOpts[k] ?? '(default)'})`);
  }
  if (diffs.length > 0) {
    throw new SelfoptError(`the saved training state was made by another run: ${diffs.join('; ')}`, stateDir, 'the seed, instances and --opt values of the run that made it (the budget may change), --fresh to start over, or another --state');
  }
  return true;
}

/** How two instance lists differ, short enough for one line when they hold a hundred programs. */
function instancesDiff(saved: readonly string[], now: readonly string[]): string {
  const added = now.filter((i) => !saved.includes(i)), removed = saved.filter((i) => !now.includes(i));
  const some = (xs: string[]) => xs.slice(0, 5).join(',') + (xs.length > 5 ? `, ... (${xs.length})` : '');
  const parts = [added.length > 0 ? `added ${some(added)}` : '', removed.length > 0 ? `removed ${some(removed)}` : ''].filter(Boolean);
  return `instances: ${now.length} (saved: ${saved.length})${parts.length > 0 ? `, ${parts.join(', ')}` : ', in another order'}`;
}

/**
 * The checkpoint path can be written, checked before training rather than found out at the final
 * save, hours later: not a directory, in a directory that exists (or can be made) and takes a new
 * file, as the trainer's atomic write (a temp file beside it, then a rename) needs.
 */
function checkWritableOut(out: string, where: string): void {
  const expected = 'a checkpoint file path in a directory that can be written';
  const probe = join(dirname(out), `.${basename(out)}.${process.pid}.probe.tmp`);
  try {
    mkdirSync(dirname(out), { recursive: true });
    if (statSync(out, { throwIfNoEntry: false })?.isDirectory()) throw new SelfoptError(`${out} is a directory`, where, expected);
    writeFileSync(probe, '');
    rmSync(probe);
  } catch (e) {
    if (e instanceof SelfoptError) throw e;
    throw new SelfoptError(`cannot write the checkpoint ${out}: ${errorMessage(e)}`, where, expected);
  }
}

/** Identifies one version of a file (an atomic write replaces the inode): '' when absent. */
function fileStamp(path: string): string {
  const st = statSync(path, { throwIfNoEntry: false, bigint: true });
  return st ? `${st.ino}:${st.mtimeNs}:${st.size}` : '';
}

function pickInstances(o: TrainOptions): InstanceRef[] {
  if (o.instances?.length) {
    const refs = o.instances.map((name) => o.problem.resolveInstance(name, o.instanceCtx));
    const test = refs.filter((r) => r.split === 'test');
    if (test.length) throw new SelfoptError(`test-split instance(s) ${test.map((r) => r.id).join(', ')} given for training`, '--instances', 'train-split instances only (learned methods are scored on held-out ones)');
    return refs;
  }
  const refs = o.problem.listInstances(o.instanceCtx).filter((r) => r.split === 'train');
  if (refs.length === 0) throw new SelfoptError(`problem ${o.problem.name} lists no train-split instances`, o.quick ? 'quick mode' : 'instance list', 'at least one train instance');
  return refs;
}

/**
 * A training run's name: its state folder under .selfopt/train, and the name the dashboard shows
 * its curve by (a shipped checkpoint's run is named alike, from its record).
 */
export function trainRunName(problem: string, solver: string, seed: number): string {
  return `${problem}-${solver}-seed${seed}`;
}
