/**
 * Workloads: which jobs an episode holds and when they arrive, drawn from a template pool with
 * the env's seeded Rng, as decima-sim's job_generator.py draws them:
 * - batch: `numJobs` jobs in the system at t = 0, each a uniformly drawn query then a uniformly
 *   drawn size (decima-sim: num_init_dags, num_stream_dags = 0);
 * - stream: `numInitial` jobs at t = 0, then `numStream` jobs whose inter-arrival times are
 *   exponential with mean `meanInterarrivalMs`, truncated to whole ms (a Poisson process), each
 *   a uniformly drawn size then query.
 */
import { createHash } from 'node:crypto';
import type { Rng } from '../../core/rng.js';
import type { JobTemplate } from './profiles.js';
import type { EpisodeJob } from './sim.js';

export type WorkloadSpec =
  | { kind: 'batch'; numJobs: number }
  | { kind: 'stream'; numInitial: number; numStream: number; meanInterarrivalMs: number };

/** Templates on a (query x size) grid: templates[q * numSizes + z]. */
export interface TemplatePool {
  name: string;
  templates: readonly JobTemplate[];
  numQueries: number;
  numSizes: number;
}

const digests = new WeakMap<TemplatePool, string>();

/**
 * A digest of the pool's contents (SHA-256 over every template's numbers, 16 hex digits), for
 * keys of results computed from it: two pools alike in name but not in contents differ. Worked
 * out once per loaded pool.
 */
export function poolDigest(pool: TemplatePool): string {
  const known = digests.get(pool);
  if (known !== undefined) return known;
  const h = createHash('sha256').update(JSON.stringify([pool.name, pool.numQueries, pool.numSizes]));
  for (const t of pool.templates) {
    h.update(JSON.stringify([t.name, t.query, t.size, t.numStages, t.totalWorkMs]));
    for (const a of [t.numTasks, t.roughDurationMs, t.parentPtr, t.parentIdx, t.childPtr, t.childIdx, t.samples, t.sampleOff, t.sampleLen, t.criticalPathMs]) {
      h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    }
  }
  const digest = h.digest('hex').slice(0, 16);
  digests.set(pool, digest);
  return digest;
}

export function sampleEpisode(spec: WorkloadSpec, pool: TemplatePool, rng: Rng): { jobs: EpisodeJob[]; numInitial: number } {
  const jobs: EpisodeJob[] = [];
  const at = (q: number, z: number) => pool.templates[q * pool.numSizes + z]!;
  if (spec.kind === 'batch') {
    for (let i = 0; i < spec.numJobs; i++) {
      const q = rng.int(pool.numQueries);
      const z = rng.int(pool.numSizes);
      jobs.push({ template: at(q, z), arrivalMs: 0 });
    }
    return { jobs, numInitial: spec.numJobs };
  }
  for (let i = 0; i < spec.numInitial; i++) {
    const q = rng.int(pool.numQueries);
    const z = rng.int(pool.numSizes);
    jobs.push({ template: at(q, z), arrivalMs: 0 });
  }
  let t = 0;
  for (let i = 0; i < spec.numStream; i++) {
    t += Math.floor(rng.exponential(spec.meanInterarrivalMs));
    const z = rng.int(pool.numSizes);
    const q = rng.int(pool.numQueries);
    jobs.push({ template: at(q, z), arrivalMs: t });
  }
  return { jobs, numInitial: spec.numInitial };
}

/** Mean work of a job drawn from the pool (sum of tasks x rough duration), ms: for load figures. */
export function meanJobWorkMs(pool: TemplatePool): number {
  let s = 0;
  for (const t of pool.templates) s += t.totalWorkMs;
  return s / pool.templates.length;
}
