/**
 * Instances of the scheduling problem: a template pool (TPC-H profiles from the data path, or
 * synthetic ones), a workload, a cluster size, and a range of episode seeds.
 *
 * Ids: `<pool>_<workload>_<E>exec[_compat][_train]`, e.g. `tpch_batch20_50exec`:
 * - pool `tpch` (decima-sim's 154 TPC-H profiles; needs the data) or `synthetic` (generated);
 * - workload `batch<N>` (N jobs at t = 0) or `stream[<N>][-<S>s]` (1 job at t = 0, then N jobs
 *   arriving as a Poisson process with mean inter-arrival S seconds; defaults below);
 * - `_mr`: the multi-resource variant of the paper's section 7.3 (MULTI_RESOURCE_CLASSES);
 * - `_compat`: decima-sim's executor-level rule (for comparison with its published numbers);
 * - `_train`: the training seeds of the same workload.
 *
 * Split: cell seed k (1, 2, ...) runs episode seed `seedBase + k - 1`, with seedBase 1000 for the
 * test instances (so --seeds 10 covers 1000..1009, the seeds of the reference runs) and 1,000,000
 * for `_train` instances. Tuned weighted fair sweeps its alpha on training seeds, and Decima will
 * train on them; neither ever sees an evaluation seed.
 */
import type { DataPath } from '../../core/data.js';
import type { Dataset, InstanceRef } from '../../core/problem.js';
import { SelfoptError } from '../../core/errors.js';
import { findTpchDir, loadTpch, TPCH_QUERIES, TPCH_SIZES } from './profiles.js';
import { syntheticPool } from './synthetic.js';
import type { TemplatePool, WorkloadSpec } from './workloads.js';

export const TEST_SEED_BASE = 1000;
export const TRAIN_SEED_BASE = 1_000_000;
/** Seed of the synthetic profile pool (fixed: the pool is part of the instance, not of the episode). */
export const SYNTHETIC_POOL_SEED = 7;
/** Stream defaults: decima-sim trains with 200 streaming jobs; see README for the load. */
export const STREAM_DEFAULT_JOBS = 200;
export const STREAM_DEFAULT_INTERARRIVAL_S = 25;
/**
 * Executor classes of the multi-resource variant: four groups, as equal as the executors allow
 * (50: 13, 12, 13, 12), with memory 0.25, 0.5, 0.75 and 1 (normalized); each stage's tasks need a
 * memory drawn uniformly from (0, 1] (env.ts).
 */
export const MULTI_RESOURCE_CLASSES = [0.25, 0.5, 0.75, 1];

export const DATASETS: Dataset[] = [{
  relPath: 'scheduling/tpch_json',
  description: "decima-sim's TPC-H job profiles (22 queries x 7 sizes: stage DAGs and measured task durations), as JSON",
  source: 'hongzimao/decima-sim spark_env/tpch (Mao et al., SIGCOMM 2019), converted by shared/data/scheduling/convert_tpch_to_json.py',
  license: 'no license file in decima-sim (default copyright); kept as data outside the repository',
  obtain: 'copy decima-sim spark_env/tpch/<size>/*.npy and run convert_tpch_to_json.py (shared/data/scheduling/PROVENANCE.md)',
}];

export interface InstanceSpec {
  pool: 'tpch' | 'synthetic';
  workload: WorkloadSpec;
  numExecutors: number;
  /** Memory of each executor class (multi-resource variant), else undefined. */
  executorClasses?: number[];
  compat: boolean;
  split: 'train' | 'test';
}

/** A loaded instance: everything an episode needs but its seed. */
export interface SchedulingInstance extends InstanceSpec {
  id: string;
  templates: TemplatePool;
  seedBase: number;
}

const ID = /^(tpch|synthetic)_(batch(\d+)|stream(\d+)?(?:-(\d+(?:\.\d+)?)s)?)_(\d+)exec(_mr)?(_compat)?(_train)?$/;

export function parseInstanceId(id: string): InstanceSpec | undefined {
  const r = readInstanceId(id);
  return typeof r === 'string' ? undefined : r;
}

/**
 * The spec of an id; for an id of the right form whose numbers name no instance (0 executors,
 * a 0 s mean gap), why not, so the error can say it; undefined for an id of another form.
 */
export function readInstanceId(id: string): InstanceSpec | string | undefined {
  const m = ID.exec(id);
  if (!m) return undefined;
  const workload: WorkloadSpec = m[3] !== undefined
    ? { kind: 'batch', numJobs: Number(m[3]) }
    : { kind: 'stream', numInitial: 1, numStream: m[4] !== undefined ? Number(m[4]) : STREAM_DEFAULT_JOBS, meanInterarrivalMs: 1000 * (m[5] !== undefined ? Number(m[5]) : STREAM_DEFAULT_INTERARRIVAL_S) };
  const spec: InstanceSpec = { pool: m[1] as InstanceSpec['pool'], workload, numExecutors: Number(m[6]), compat: m[8] !== undefined, split: m[9] !== undefined ? 'train' : 'test' };
  if (m[7] !== undefined) spec.executorClasses = [...MULTI_RESOURCE_CLASSES];
  const size = workload.kind === 'batch' ? workload.numJobs : workload.numStream;
  if (!(size >= 1 && size <= 100_000)) return `${size} ${workload.kind === 'batch' ? 'jobs in the batch' : 'arriving jobs'}; 1 to 100,000 are allowed`;
  if (!(spec.numExecutors >= 1 && spec.numExecutors <= 10_000)) return `${spec.numExecutors} executors; 1 to 10,000 are allowed`;
  if (spec.executorClasses && spec.numExecutors < spec.executorClasses.length) return `${spec.numExecutors} executors for ${spec.executorClasses.length} memory classes (_mr); at least one executor per class`;
  // Digits past 1e308 read as Infinity: every job but the first would arrive at t = Infinity.
  if (workload.kind === 'stream' && !(workload.meanInterarrivalMs > 0 && Number.isFinite(workload.meanInterarrivalMs))) {
    return `a mean inter-arrival time of ${workload.meanInterarrivalMs / 1000} s; it must be a finite number above 0`;
  }
  return spec;
}

/** The form of an id, for errors. */
export const ID_FORM = '<tpch|synthetic>_<batchN|stream[N][-Ss]>_<E>exec[_mr][_compat][_train]';

/**
 * For an id of the right form whose numbers name no instance, the error that says which number
 * and what is allowed (for the bench and the server alike); undefined for any other name.
 */
export function idRangeError(name: string, where: string): SelfoptError | undefined {
  const why = readInstanceId(name);
  return typeof why === 'string' ? new SelfoptError(`instance '${name}' has ${why}`, where, 'an id like tpch_batch20_50exec') : undefined;
}

/**
 * The canonical id of a spec. The seconds are written to 15 digits (1000 x 0.0021 / 1000 is
 * 0.0021000000000000003) and never in exponent form, which the id's form does not take (1e-7).
 */
export function instanceId(spec: InstanceSpec): string {
  const w = spec.workload;
  const seconds = (ms: number) => (ms / 1000).toLocaleString('en-US', { useGrouping: false, maximumSignificantDigits: 15 });
  const wl = w.kind === 'batch' ? `batch${w.numJobs}` : `stream${w.numStream === STREAM_DEFAULT_JOBS ? '' : w.numStream}${w.meanInterarrivalMs === STREAM_DEFAULT_INTERARRIVAL_S * 1000 ? '' : `-${seconds(w.meanInterarrivalMs)}s`}`;
  return `${spec.pool}_${wl}_${spec.numExecutors}exec${spec.executorClasses ? '_mr' : ''}${spec.compat ? '_compat' : ''}${spec.split === 'train' ? '_train' : ''}`;
}

function describe(spec: InstanceSpec): string {
  const w = spec.workload;
  const pool = spec.pool === 'tpch' ? `TPC-H profiles (${TPCH_QUERIES} queries x ${TPCH_SIZES.length} sizes)` : 'synthetic profiles (TPC-H statistics)';
  const wl = w.kind === 'batch' ? `batch of ${w.numJobs} jobs at t=0` : `${w.numInitial} job at t=0 then ${w.numStream} Poisson arrivals, mean ${w.meanInterarrivalMs / 1000} s apart`;
  return `${wl}, ${pool}, ${spec.numExecutors} executors${spec.executorClasses ? ` in ${spec.executorClasses.length} memory classes (${spec.executorClasses.join(', ')}), tasks with memory demands` : ''}${spec.compat ? ", decima-sim's executor-level rule" : ''}, ${spec.split === 'train' ? 'training' : 'evaluation'} seeds`;
}

/**
 * The ref of an id, under its canonical spelling (tpch_stream200_50exec and tpch_stream-25s_50exec
 * are tpch_stream_50exec: one instance, so one id in the results and in resume); a tpch id needs
 * the data on the path.
 */
export function instanceRef(name: string, data: DataPath): InstanceRef | undefined {
  const spec = parseInstanceId(name);
  if (!spec) return undefined;
  const id = instanceId(spec);
  const params: InstanceRef['params'] = { pool: spec.pool, numExecutors: spec.numExecutors, compat: spec.compat, split: spec.split, ...flatWorkload(spec.workload), ...(spec.executorClasses ? { executorClasses: spec.executorClasses.join(',') } : {}) };
  if (spec.pool === 'synthetic') return { id, source: 'generated', params: { ...params, poolSeed: SYNTHETIC_POOL_SEED }, split: spec.split, description: describe(spec) };
  const dir = findTpchDir(data);
  if (!dir) {
    throw new SelfoptError(`instance '${name}' needs the TPC-H job profiles, which are not on the data path`, data.dirs.map((d) => d.dir).join(', '),
      `${DATASETS[0]!.relPath}/tpch_<size>.json in one of those directories (to obtain it: ${DATASETS[0]!.obtain}), or a synthetic_ instance`);
  }
  return { id, source: 'real', path: dir, params, split: spec.split, description: describe(spec) };
}

function flatWorkload(w: WorkloadSpec): Record<string, number | string> {
  return w.kind === 'batch' ? { workload: 'batch', numJobs: w.numJobs } : { workload: 'stream', numInitial: w.numInitial, numStream: w.numStream, meanInterarrivalMs: w.meanInterarrivalMs };
}

export function loadInstance(ref: InstanceRef): SchedulingInstance {
  const spec = parseInstanceId(ref.id);
  if (!spec) throw new SelfoptError(`'${ref.id}' is not a scheduling instance id`, 'scheduling problem load', 'an id like tpch_batch20_50exec');
  let templates: TemplatePool;
  if (spec.pool === 'synthetic') templates = syntheticPool(Number(ref.params.poolSeed ?? SYNTHETIC_POOL_SEED));
  else {
    if (!ref.path) throw new SelfoptError(`instance '${ref.id}' has no profile directory`, 'scheduling problem load', 'a tpch instance resolved on the data path');
    templates = { name: 'tpch', templates: loadTpch(ref.path), numQueries: TPCH_QUERIES, numSizes: TPCH_SIZES.length };
  }
  return { ...spec, id: ref.id, templates, seedBase: spec.split === 'train' ? TRAIN_SEED_BASE : TEST_SEED_BASE };
}

/** The training twin of an instance: same workload, training seeds. */
export function trainingTwin(inst: SchedulingInstance): SchedulingInstance {
  return { ...inst, id: inst.split === 'train' ? inst.id : `${inst.id}_train`, split: 'train', seedBase: TRAIN_SEED_BASE };
}
