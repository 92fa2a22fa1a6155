/**
 * The metrics of the scheduling problem, computed from episodes of the simulator: the single
 * source of truth for every number the benchmark reports.
 */
import { performance } from 'node:perf_hooks';
import { rollout, type Policy } from '../../core/env.js';
import type { EvalContext, Metric, MetricValues } from '../../core/problem.js';
import { mean, quantile } from '../../core/stats.js';
import { SelfoptError } from '../../core/errors.js';
import { boolOption } from '../../core/options.js';
import { SchedulingEnv, type EpisodeStats, type SchedulingObs } from './env.js';
import { idRangeError, instanceRef, loadInstance, type SchedulingInstance } from './instances.js';
import { DataPath } from '../../core/data.js';

export type SchedulingPolicy = Policy<SchedulingObs, number>;

export const METRICS: Metric[] = [
  { name: 'avg_jct_s', unit: 's', better: 'lower', description: 'average job completion time (completion - arrival) over the jobs of the episode' },
  { name: 'makespan_s', unit: 's', better: 'lower', description: 'time at which the last job completes' },
  { name: 'p95_jct_s', unit: 's', better: 'lower', description: '95th percentile of job completion time (linear interpolation)' },
  { name: 'decisions_per_sec', unit: '1/s', better: 'higher', description: 'scheduling decisions per wall-clock second in this cell, policy included (simulator speed)' },
  { name: 'task_events_per_sec', unit: '1/s', better: 'higher', description: 'task completions simulated per wall-clock second in this cell, policy included' },
];

/** The env of an instance; `compat` overrides the instance's own executor-level rule when given. */
export function makeEnv(inst: SchedulingInstance, opts: { compat?: boolean; recordEvents?: boolean; maxStages?: number; maxTimeMs?: number; maxActions?: number } = {}): SchedulingEnv {
  return new SchedulingEnv({ numExecutors: inst.numExecutors, pool: inst.templates, workload: inst.workload, compat: opts.compat ?? inst.compat, recordEvents: opts.recordEvents, maxStages: opts.maxStages, maxTimeMs: opts.maxTimeMs, maxActions: opts.maxActions, executorClasses: inst.executorClasses });
}

/**
 * A SchedulingEnv from plain options, for code that builds envs from a module path (the learning
 * core's rollout workers, the environment server): `{ instance: 'tpch_batch20_50exec_train' }`,
 * optionally `data` (a data directory), `compat`, `maxStages`, `maxTimeMs`, `maxActions`. The profiles are
 * loaded once per process. Episodes use the seeds given to reset(); the instance's seed range is
 * the caller's to respect.
 */
export function createSchedulingEnv(opts: { instance: string; data?: string; compat?: boolean; maxStages?: number; maxTimeMs?: number; maxActions?: number }): SchedulingEnv {
  return makeEnv(schedulingInstanceById(opts.instance, opts.data), opts);
}

/**
 * The instance an id names, its data found under `dataDir` (or the default data path); a
 * SelfoptError when the id names none. The server's make comes here, not through the problem's
 * resolveInstance (which also takes a path, and clients may not name server paths): the same errors.
 */
export function schedulingInstanceById(id: string, dataDir?: string): SchedulingInstance {
  const ref = instanceRef(id, new DataPath({ dataDir }));
  if (!ref) throw idRangeError(id, 'createSchedulingEnv') ?? new SelfoptError(`'${id}' is not a scheduling instance id`, 'createSchedulingEnv', 'an id like tpch_batch20_50exec_train');
  return loadInstance(ref);
}

export interface EpisodeResult extends EpisodeStats {
  wallMs: number;
}

/** Runs one full episode of `policy` with the given episode seed. */
export function runEpisode(env: SchedulingEnv, policy: SchedulingPolicy, episodeSeed: number): EpisodeResult {
  const t0 = performance.now();
  const r = rollout(env, policy, episodeSeed);
  const wallMs = performance.now() - t0;
  if (r.truncated) throw new SelfoptError(`episode ${episodeSeed} was truncated`, 'scheduling evaluate', 'an episode that runs until every job completes');
  return { ...env.stats(), wallMs };
}

/** `--opt compat=1` forces decima-sim's executor-level rule on any instance (0: the corrected rule). */
export function compatOption(options: Readonly<Record<string, string>>): boolean | undefined {
  return boolOption(options, 'compat', undefined);
}

/**
 * Runs the cell's episode (episode seed = the instance's seed base + cell seed - 1) for the
 * metrics, then runs it again to time it warm: the second run must reproduce the first exactly
 * (every job's completion time and the number of decisions), which checks what is timed.
 */
export function evaluateScheduling(inst: SchedulingInstance, policy: SchedulingPolicy, ctx: EvalContext): MetricValues {
  const where = `scheduling evaluate, instance ${inst.id}, seed ${ctx.seed}`;
  const env = makeEnv(inst, { compat: compatOption(ctx.options) });
  const seed = inst.seedBase + ctx.seed - 1;
  const r = runEpisode(env, policy, seed);
  if (r.completed !== r.numJobs) throw new SelfoptError(`only ${r.completed} of ${r.numJobs} jobs completed`, where, 'every job to complete');
  const timed = runEpisode(env, policy, seed);
  const same = timed.decisions === r.decisions && timed.jctMs.length === r.jctMs.length && timed.jctMs.every((x, i) => x === r.jctMs[i]);
  if (!same) throw new SelfoptError('the episode differs when run again with the same seed', where, 'a deterministic policy (all randomness from the rng act() is given)');
  const sec = timed.wallMs / 1000;
  return {
    avg_jct_s: mean(r.jctMs) / 1000,
    makespan_s: r.makespanMs / 1000,
    p95_jct_s: quantile(r.jctMs, 0.95) / 1000,
    decisions_per_sec: r.decisions / sec,
    task_events_per_sec: r.taskEvents / sec,
  };
}
