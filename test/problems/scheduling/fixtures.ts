/** Hand-built job profiles and small helpers for the scheduling tests. */
import { DataPath } from '../../../src/core/data.js';
import { buildTemplate, findTpchDir, type JobTemplate, type RawJob, type RawStage } from '../../../src/problems/scheduling/profiles.js';
import { syntheticPool } from '../../../src/problems/scheduling/synthetic.js';
import { SchedulingEnv } from '../../../src/problems/scheduling/env.js';
import { encodeAction, type SchedulingObs } from '../../../src/problems/scheduling/env.js';
import type { TemplatePool, WorkloadSpec } from '../../../src/problems/scheduling/workloads.js';
import { instanceRef, loadInstance, type SchedulingInstance } from '../../../src/problems/scheduling/instances.js';
import type { Info } from '../../../src/core/env.js';

/** A stage whose durations are the same at every level in `keys`: `tasks` tasks in total. */
export function fixedStage(tasks: number, d: { first: number; rest: number; fresh?: number }, keys = [2, 5]): RawStage {
  const first: Record<string, number[]> = {}, rest: Record<string, number[]> = {}, fresh: Record<string, number[]> = {};
  for (const k of keys) {
    fresh[k] = d.fresh !== undefined ? [d.fresh] : [];
    // The raw first wave also lists the fresh durations; pre-processing removes them.
    first[k] = d.fresh !== undefined ? [d.fresh, d.first] : [d.first];
    rest[k] = [d.rest];
  }
  // The task count is read at the first key: first wave + rest wave there.
  const k0 = keys[0]!;
  first[k0] = d.fresh !== undefined ? [d.fresh, d.first] : [d.first];
  rest[k0] = Array.from({ length: Math.max(0, tasks - first[k0]!.length) }, () => d.rest);
  if (tasks < first[k0]!.length) first[k0] = first[k0]!.slice(0, tasks);
  return { executor_keys: keys, first_wave: first, rest_wave: rest, fresh_durations: fresh };
}

export function rawJob(stages: RawStage[], edges: [number, number][], name = 'test-1g-1'): RawJob {
  return { name, size: '1g', query: 1, num_stages: stages.length, edges, stages };
}

export function template(raw: RawJob): JobTemplate {
  return buildTemplate(raw, { file: 'test', index: 0 });
}

export function poolOf(templates: JobTemplate[]): TemplatePool {
  return { name: 'test', templates, numQueries: templates.length, numSizes: 1 };
}

export const SYNTHETIC = syntheticPool(7);

export function syntheticEnv(workload: WorkloadSpec, numExecutors = 50, extra: { compat?: boolean; recordEvents?: boolean } = {}): SchedulingEnv {
  return new SchedulingEnv({ numExecutors, pool: SYNTHETIC, workload, ...extra });
}

/** The TPC-H instance when the data is on the path, else undefined (tests that need it skip). */
export function tpchInstance(id: string): SchedulingInstance | undefined {
  const data = new DataPath();
  if (!findTpchDir(data)) return undefined;
  return loadInstance(instanceRef(id, data)!);
}

/** A policy: the first selectable stage, the largest limit. */
export const greedy = {
  act(o: SchedulingObs, info: Info): number {
    for (let r = 0; r < o.numNodes; r++) if (o.stageMask[r]) return encodeAction(r, o.numExecutors, o.numExecutors);
    return info.actionMask!.length - 1;
  },
};
