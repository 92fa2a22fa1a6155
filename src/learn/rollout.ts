/**
 * Rollouts for the policy-gradient trainers, in this thread or across worker threads, with the
 * same results bit for bit either way.
 *
 * An env cannot cross a thread boundary, so envs and policies are described by plain data: a
 * ModuleRef {module, export, options} names a module file, the class (or factory function) it
 * exports, and the JSON options to build it with. Each worker builds its own copies; every
 * collection sends the current weights (a Float32Array) and gets trajectories back as typed
 * arrays.
 *
 * Determinism: all randomness is per env copy (or per episode task), never per worker:
 *   - env copy i samples its actions from rng_i = base.split(i) and is first reset with seed
 *     envSeeds[i] (later resets keep the env's own stream, as Gymnasium's reset());
 *   - an episode task carries its own seed, reset options and sampling Rng;
 *   - each action comes from a forward pass over that one observation, so batching never
 *     changes a float;
 *   - results are merged in env (or task) index order.
 * So the trajectories depend on the seed and the weights only, not on how many workers ran or
 * which finished first; `workers: 0` runs the same code in this thread.
 */
import { Worker } from 'node:worker_threads';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Rng } from '../core/rng.js';
import type { Env, Info } from '../core/env.js';
import { SelfoptError } from '../core/errors.js';
import { inference } from './scratch.js';
import { logSoftmax } from './ops/softmax.js';
import { type PolicyNet, checkPolicyOutput, sampleCategorical, setFlatWeights } from './policy.js';
import { TrajectoryBuilder, type Trajectory } from './trajectory.js';

export { obsAt, trajectoryBuffers, type Trajectory, type ObsBlock } from './trajectory.js';

/** Plain data naming something to build in any thread: `new Export(options)` or `Export(options)`. */
export interface ModuleRef {
  /** A module file: an absolute path, a path relative to the working directory, or a file: URL. */
  module: string;
  /** The exported class or factory function. */
  export: string;
  /** JSON options passed to it. */
  options?: Record<string, unknown>;
}

/** A module reference as a file URL, so that every thread resolves it the same way. */
export function resolveModuleRef(ref: ModuleRef): ModuleRef {
  if (typeof ref?.module !== 'string' || typeof ref.export !== 'string') {
    throw new SelfoptError(`module reference ${JSON.stringify(ref)}`, 'rollout config', '{module: "<path or file: URL>", export: "<name>", options?: {...}}');
  }
  const url = /^[a-z][a-z0-9+.-]*:/i.test(ref.module) && !/^[a-z]:[\\/]/i.test(ref.module) ? ref.module : pathToFileURL(isAbsolute(ref.module) ? ref.module : resolve(ref.module)).href;
  return { module: url, export: ref.export, options: ref.options ?? {} };
}

/** Imports ref.module and builds its export with (options, ...extra); classes with new. */
export async function buildFromRef<T>(ref: ModuleRef, ...extra: unknown[]): Promise<T> {
  const r = resolveModuleRef(ref);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(r.module)) as Record<string, unknown>;
  } catch (e) {
    throw new SelfoptError(`cannot import ${r.module}: ${(e as Error).message}`, `module reference ${JSON.stringify(ref)}`, 'a module file that exists and loads (the compiled .js under dist/ when running from dist)');
  }
  const f = mod[r.export];
  if (typeof f !== 'function') {
    const names = Object.keys(mod).filter((k) => typeof mod[k] === 'function');
    throw new SelfoptError(`${r.module} has no exported function or class '${r.export}'`, `module reference ${JSON.stringify(ref)}`, `one of: ${names.join(', ')}`);
  }
  const isClass = /^class[\s{]/.test(Function.prototype.toString.call(f));
  return isClass ? (new (f as new (...a: unknown[]) => T)(r.options, ...extra)) : (f as (...a: unknown[]) => T)(r.options, ...extra);
}

// ---------------------------------------------------------------------------------------------
// One env copy with its own policy copy
// ---------------------------------------------------------------------------------------------

/** What a collector knows about the env's spaces. */
export interface EnvShape {
  numActions: number;
  /** First action of a Discrete space with a start offset (actions sent to the env are start + index). */
  actionStart: number;
  masked: boolean;
  observationSpace: Record<string, unknown>;
}

export function envShape(env: Env<unknown, unknown>, where: string): EnvShape {
  const s = env.actionSpace as unknown as { kind: string; n?: number; start?: number };
  if ((s.kind !== 'Discrete' && s.kind !== 'MaskedDiscrete') || typeof s.n !== 'number') {
    throw new SelfoptError(`action space ${JSON.stringify(env.actionSpace.toJSON())}`, where, 'a Discrete or MaskedDiscrete action space (the policy-gradient trainers sample categorical actions)');
  }
  return { numActions: s.n, actionStart: s.start ?? 0, masked: s.kind === 'MaskedDiscrete', observationSpace: env.observationSpace.toJSON() };
}

/** Checks a policy against an env before anything runs, so a mismatch is reported once, up front. */
export function checkPolicyFits(policy: PolicyNet<unknown>, shape: EnvShape, where: string): void {
  if (policy.numActions !== shape.numActions) {
    throw new SelfoptError(`the policy has ${policy.numActions} actions but the env's action space has ${shape.numActions}`, where, `a policy built with numActions ${shape.numActions}`);
  }
  const obsDim = (policy as unknown as { obsDim?: unknown }).obsDim;
  const os = shape.observationSpace as { kind?: string; shape?: number[] };
  if (typeof obsDim === 'number' && os.kind === 'Box' && Array.isArray(os.shape)) {
    const size = os.shape.reduce((a, b) => a * b, 1);
    if (size !== obsDim) throw new SelfoptError(`the policy reads observations of length ${obsDim} but the env's observation space is Box of shape [${os.shape.join(',')}] (${size} values)`, where, `a policy built with obsDim ${size}`);
  }
}

export interface RunnerSpec {
  /** Env copy or task index. */
  index: number;
  /** First reset seed (steps mode). */
  seed: number;
  /** Reset options of every reset (steps mode). */
  resetOptions?: Record<string, unknown>;
  /** Sampling Rng state (Rng.state()). */
  rngState: number[];
}

export interface EpisodeTask {
  index: number;
  seed: number;
  resetOptions?: Record<string, unknown>;
  rngState: number[];
}

export interface RunOptions {
  /** info field holding the env's clock (Decima: wall time); null: count steps. */
  timeKey: string | null;
  /** An episode longer than this is cut (marked truncated). */
  maxEpisodeSteps: number;
}

/** Steps one env with one policy copy; the same class serves this thread and the workers. */
export class EnvRunner<Obs> {
  private obs: Obs | null = null;
  private info: Info = {};
  private clock = 0;
  private epReturn = 0;
  private epLength = 0;
  private readonly where: string;

  constructor(
    readonly env: Env<Obs, number>,
    readonly policy: PolicyNet<Obs>,
    readonly shape: EnvShape,
    readonly opts: RunOptions,
    private rng: Rng,
    private readonly seed: number,
    private readonly resetOptions: Record<string, unknown> | undefined,
    readonly index: number,
  ) {
    this.where = `rollout of env copy ${index} (${env.constructor.name} with ${policy.constructor.name})`;
  }

  private clockOf(info: Info, stepsSoFar: number): number {
    if (this.opts.timeKey === null) return stepsSoFar;
    const v = info[this.opts.timeKey];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new SelfoptError(`info.${this.opts.timeKey} is ${JSON.stringify(v)}`, this.where, `a finite number (the env's clock) in every info, as timeKey = '${this.opts.timeKey}' asks`);
    return v;
  }

  private reset(seed: number | undefined, options: Record<string, unknown> | undefined): void {
    const r = this.env.reset(seed === undefined ? { options } : { seed, options });
    this.obs = r.obs;
    this.info = r.info;
    this.clock = this.clockOf(r.info, 0);
    this.epReturn = 0;
    this.epLength = 0;
  }

  /**
   * One forward pass on one observation: the value and, with `sample`, an action drawn from the
   * masked log-probabilities with its log-probability (without, the Rng is not drawn from). One
   * inference step (scratch.ts): its outputs are views of a scratch the next step reuses, so the
   * action is drawn inside it.
   */
  private evaluate(obs: Obs, mask: Uint8Array | null, sample: boolean): { action: number; logp: number; value: number } {
    return inference(() => {
      const out = this.policy.forward([obs]);
      checkPolicyOutput(out, 1, this.shape.numActions, this.where);
      const value = out.value.data[0]!;
      if (!sample) return { action: -1, logp: 0, value };
      const logp = logSoftmax(out.logits, mask).data;
      const action = sampleCategorical(logp, 0, this.shape.numActions, this.rng);
      return { action, logp: logp[action]!, value };
    });
  }

  private currentMask(): Uint8Array | null {
    const m = this.info.actionMask;
    if (m === undefined) return null;
    if (!(m instanceof Uint8Array) || m.length !== this.shape.numActions) {
      throw new SelfoptError(`info.actionMask is ${m instanceof Uint8Array ? `a Uint8Array of length ${m.length}` : typeof m}`, this.where, `a Uint8Array of length ${this.shape.numActions} (1 = allowed)`);
    }
    return m;
  }

  /** One step: sample, act, record. Returns true when the episode ended. */
  private step(b: TrajectoryBuilder<Obs>): boolean {
    const obs = this.obs!;
    const mask = this.currentMask();
    const { action: a, logp, value } = this.evaluate(obs, mask, true);
    b.pushObs(obs);
    b.pushStep(a, logp, value, this.shape.masked ? mask : null);
    const r = this.env.step(this.shape.actionStart + a);
    this.epReturn += r.reward;
    this.epLength++;
    const cut = !r.terminated && !r.truncated && this.epLength >= this.opts.maxEpisodeSteps;
    const truncated = r.truncated || cut;
    this.clock = this.clockOf(r.info, this.epLength);
    b.endStep(r.reward, r.terminated, truncated, this.clock);
    this.obs = r.obs;
    this.info = r.info;
    if (r.terminated || truncated) {
      if (truncated && !r.terminated) b.finalValues[b.length - 1] = this.evaluate(r.obs, null, false).value;
      b.episodeReturns.push(this.epReturn);
      b.episodeLengths.push(this.epLength);
      return true;
    }
    return false;
  }

  /** Steps mode: `numSteps` steps, resetting at episode ends; the env carries over to the next call. */
  runSteps(numSteps: number): Trajectory<Obs> {
    if (this.obs === null) this.reset(this.seed, this.resetOptions);
    const b = new TrajectoryBuilder<Obs>(numSteps, this.shape.numActions, this.shape.masked);
    const startTime = this.clock;
    for (let t = 0; t < numSteps; t++) {
      if (this.step(b)) this.reset(undefined, this.resetOptions);
    }
    const nextValue = this.evaluate(this.obs!, this.currentMask(), false).value;
    return b.finish(this.index, startTime, nextValue);
  }

  /** Episodes mode: one whole episode of `task` (its seed, options and sampling Rng). */
  runEpisode(task: EpisodeTask): Trajectory<Obs> {
    this.rng = Rng.fromState(task.rngState);
    this.reset(task.seed, task.resetOptions);
    const b = new TrajectoryBuilder<Obs>(64, this.shape.numActions, this.shape.masked);
    const startTime = this.clock;
    while (!this.step(b));
    this.obs = null;
    return b.finish(task.index, startTime, 0);
  }
}

/** Builds an env and a policy from their references and checks that they fit. */
export async function buildRunnerParts<Obs>(envRef: ModuleRef, policyRef: ModuleRef): Promise<{ env: Env<Obs, number>; policy: PolicyNet<Obs>; shape: EnvShape }> {
  const env = await buildFromRef<Env<Obs, number>>(envRef);
  const where = `env ${envRef.export} with policy ${policyRef.export}`;
  const shape = envShape(env as Env<unknown, unknown>, where);
  // The weights come from the trainer; this Rng only fills them until then.
  const policy = await buildFromRef<PolicyNet<Obs>>(policyRef, new Rng(0));
  checkPolicyFits(policy as PolicyNet<unknown>, shape, where);
  return { env, policy, shape };
}

// ---------------------------------------------------------------------------------------------
// Collector: the runners in this thread or spread over workers
// ---------------------------------------------------------------------------------------------

export interface CollectorOptions {
  env: ModuleRef;
  policy: ModuleRef;
  /** Worker threads; 0 runs everything in this thread (same results). */
  workers: number;
  /** Steps mode: one runner per env copy, with these first-reset seeds and sampling Rngs. */
  runners: RunnerSpec[];
  run: RunOptions;
}

/** Messages between the collector and rollout-worker.ts. */
export type WorkerRequest =
  | { type: 'init'; env: ModuleRef; policy: ModuleRef; runners: RunnerSpec[]; run: RunOptions }
  | { type: 'steps'; weights: Float32Array; numSteps: number }
  | { type: 'episodes'; weights: Float32Array; tasks: EpisodeTask[] }
  | { type: 'close' };

export type WorkerReply =
  | { type: 'ready'; shape: EnvShape }
  | { type: 'trajectories'; trajectories: Trajectory<unknown>[] }
  | { type: 'closed' }
  | { type: 'error'; error: { name: string; message: string; what?: string; where?: string; expected?: string; stack?: string } };

/** The work one thread does for one request; shared by the in-thread path and the workers. */
export class RunnerGroup<Obs> {
  private episodeRunner: EnvRunner<Obs> | null = null;
  private constructor(
    private readonly runners: EnvRunner<Obs>[],
    private readonly policy: PolicyNet<Obs>,
    private readonly envRef: ModuleRef,
    private readonly run: RunOptions,
    readonly shape: EnvShape,
  ) {}

  /** Builds one policy copy (the runners take turns with it) and one env per runner spec. */
  static async create<Obs>(envRef: ModuleRef, policyRef: ModuleRef, specs: RunnerSpec[], run: RunOptions): Promise<RunnerGroup<Obs>> {
    const first = await buildRunnerParts<Obs>(envRef, policyRef);
    const runners: EnvRunner<Obs>[] = [];
    for (let k = 0; k < specs.length; k++) {
      const s = specs[k]!;
      const env = k === 0 ? first.env : await buildFromRef<Env<Obs, number>>(envRef);
      runners.push(new EnvRunner(env, first.policy, first.shape, run, Rng.fromState(s.rngState), s.seed, s.resetOptions, s.index));
    }
    const g = new RunnerGroup(runners, first.policy, envRef, run, first.shape);
    if (specs.length === 0) g.episodeRunner = new EnvRunner(first.env, first.policy, first.shape, run, new Rng(0), 0, undefined, -1);
    return g;
  }

  steps(weights: Float32Array, numSteps: number): Trajectory<Obs>[] {
    setFlatWeights(this.policy, weights);
    return this.runners.map((r) => r.runSteps(numSteps));
  }

  async episodes(weights: Float32Array, tasks: EpisodeTask[]): Promise<Trajectory<Obs>[]> {
    setFlatWeights(this.policy, weights);
    // Each task reseeds the env and brings its own Rng, so one env serves them all.
    this.episodeRunner ??= new EnvRunner(await buildFromRef<Env<Obs, number>>(this.envRef), this.policy, this.shape, this.run, new Rng(0), 0, undefined, -1);
    return tasks.map((t) => this.episodeRunner!.runEpisode(t));
  }

  close(): void {
    for (const r of this.runners) r.env.close();
    this.episodeRunner?.env.close();
  }
}

function reviveError(e: Extract<WorkerReply, { type: 'error' }>['error'], worker: number): Error {
  if (e.name === 'SelfoptError' && e.what !== undefined) return new SelfoptError(e.what, `${e.where} (rollout worker ${worker})`, e.expected ?? '');
  const err = new Error(`rollout worker ${worker}: ${e.message}`);
  err.stack = `${err.message}\n(worker stack)\n${e.stack ?? ''}`;
  return err;
}

/** One worker thread with at most one request in flight. */
class WorkerHandle {
  private pending: { resolve: (r: WorkerReply) => void; reject: (e: Error) => void } | null = null;
  private dead: Error | null = null;

  constructor(readonly worker: Worker, readonly id: number) {
    worker.on('message', (r: WorkerReply) => this.settle((p) => p.resolve(r)));
    worker.on('error', (e: Error) => {
      this.dead = e;
      this.settle((p) => p.reject(e));
    });
    worker.on('exit', (code) => {
      if (this.dead === null) this.dead = new Error(`rollout worker ${id} exited with code ${code}`);
      this.settle((p) => p.reject(this.dead!));
    });
  }

  private settle(f: (p: NonNullable<WorkerHandle['pending']>) => void): void {
    const p = this.pending;
    this.pending = null;
    if (p) f(p);
  }

  async request(msg: WorkerRequest, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    if (this.dead) throw this.dead;
    const reply = await new Promise<WorkerReply>((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage(msg, transfer);
    });
    if (reply.type === 'error') throw reviveError(reply.error, this.id);
    return reply;
  }
}

/**
 * Gathers trajectories for a trainer. Steps mode: `opts.runners` env copies, split over the
 * workers round-robin (copy i on worker i mod W, for the whole run, since it keeps its env).
 * Episodes mode: each call's tasks are split round-robin over all workers.
 */
export class RolloutCollector<Obs> {
  private constructor(
    readonly shape: EnvShape,
    private readonly local: RunnerGroup<Obs> | null,
    private readonly workers: WorkerHandle[],
    private readonly numRunners: number,
  ) {}

  static async create<Obs>(opts: CollectorOptions): Promise<RolloutCollector<Obs>> {
    const env = resolveModuleRef(opts.env), policy = resolveModuleRef(opts.policy);
    if (!(Number.isInteger(opts.workers) && opts.workers >= 0)) throw new SelfoptError(`workers = ${opts.workers}`, 'rollout config', 'a non-negative integer (0 = in this thread)');
    if (opts.workers === 0) {
      const g = await RunnerGroup.create<Obs>(env, policy, opts.runners, opts.run);
      return new RolloutCollector<Obs>(g.shape, g, [], opts.runners.length);
    }
    const count = opts.runners.length > 0 ? Math.min(opts.workers, opts.runners.length) : opts.workers;
    const handles: WorkerHandle[] = [];
    try {
      for (let w = 0; w < count; w++) handles.push(new WorkerHandle(new Worker(new URL('./rollout-worker.js', import.meta.url)), w));
      const replies = await Promise.all(handles.map((h, w) => h.request({ type: 'init', env, policy, runners: opts.runners.filter((_, i) => i % count === w), run: opts.run })));
      const first = replies[0] as Extract<WorkerReply, { type: 'ready' }>;
      return new RolloutCollector<Obs>(first.shape, null, handles, opts.runners.length);
    } catch (e) {
      await Promise.all(handles.map((h) => h.worker.terminate()));
      throw e;
    }
  }

  get workerCount(): number {
    return this.workers.length;
  }

  /** Steps mode: numSteps steps of every env copy, in env index order. */
  async collectSteps(weights: Float32Array, numSteps: number): Promise<Trajectory<Obs>[]> {
    if (this.local) return this.local.steps(weights, numSteps);
    const replies = await Promise.all(this.workers.map((h) => h.request({ type: 'steps', weights, numSteps })));
    const out = new Array<Trajectory<Obs>>(this.numRunners);
    for (const r of replies) for (const tr of (r as Extract<WorkerReply, { type: 'trajectories' }>).trajectories) out[tr.index] = tr as Trajectory<Obs>;
    return out;
  }

  /** Episodes mode: one episode per task, in task order (task.index must be 0..n-1). */
  async collectEpisodes(weights: Float32Array, tasks: EpisodeTask[]): Promise<Trajectory<Obs>[]> {
    if (this.local) return this.local.episodes(weights, tasks);
    const W = this.workers.length;
    const replies = await Promise.all(this.workers.map((h, w) => h.request({ type: 'episodes', weights, tasks: tasks.filter((_, i) => i % W === w) })));
    const out = new Array<Trajectory<Obs>>(tasks.length);
    for (const r of replies) for (const tr of (r as Extract<WorkerReply, { type: 'trajectories' }>).trajectories) out[tr.index] = tr as Trajectory<Obs>;
    return out;
  }

  /** Closes every env (in the workers too) and stops the workers. */
  async close(): Promise<void> {
    this.local?.close();
    await Promise.all(this.workers.map(async (h) => {
      try {
        await h.request({ type: 'close' });
      } catch {
        // A worker that already failed has reported its error; closing must not replace it.
      }
      await h.worker.terminate();
    }));
  }
}
