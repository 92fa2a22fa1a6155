/** Hand-built job profiles and small helpers for the scheduling tests. */
import { DataPath } from '../../../src/core/data.js';
import { buildTemplate, findTpchDir, type JobTemplate, type RawJob, type RawStage } from '../../../src/problems/scheduling/profiles.js';
import { syntheticPool } from '../../../src/problems/scheduling/synthetic.js';
import { SchedulingEnv } from '../../../src/problems/scheduling/env.js';
import { encodeAction, type SchedulingObs } from '../../../src/problems/scheduling/env.js';
import type { TemplatePool, WorkloadSpec } from '../../../src/problems/scheduling/workloads.js';
import { instanceRef, loadInstance, type SchedulingInstance } from '../../../src/problems/scheduling/instances.js';
import type { Info } from '../../../src/core/env.js';
import { Rng } from '../../../src/core/rng.js';

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

/**
 * A deterministic profile with the DAG and task counts of `tpl`: one duration per wave, the same
 * at every executor level (first F, rest F/2, fresh 2F + 5; no fresh durations on every third
 * stage, so the warm-up path runs). Any simulator with decima-sim's semantics produces the same
 * events on it, whatever its random numbers.
 */
export function deterministicRaw(tpl: JobTemplate, tag: number): RawJob {
  const keys = [2, 5, 10, 20, 40, 50, 60, 80, 100];
  const stages: RawStage[] = [];
  for (let s = 0; s < tpl.numStages; s++) {
    const T = tpl.numTasks[s]!, F = 100 + 37 * s + 11 * tpl.query + (tag % 7) * 13, R = Math.round(F / 2), W = 2 * F + 5;
    const noFresh = s % 3 === 0;
    const first: Record<string, number[]> = {}, rest: Record<string, number[]> = {}, fresh: Record<string, number[]> = {};
    for (const k of keys) {
      if (k === 2) {
        const a = Math.min(2, T);
        first[k] = Array<number>(a).fill(F); rest[k] = Array<number>(T - a).fill(R); fresh[k] = [];
      } else {
        first[k] = noFresh ? [F] : [W, F]; rest[k] = [R]; fresh[k] = noFresh ? [] : [W];
      }
    }
    stages.push({ executor_keys: keys, first_wave: first, rest_wave: rest, fresh_durations: fresh });
  }
  const edges: [number, number][] = [];
  for (let s = 0; s < tpl.numStages; s++) for (let p = tpl.childPtr[s]!; p < tpl.childPtr[s + 1]!; p++) edges.push([s, tpl.childIdx[p]!]);
  return { name: `${tpl.name}#${tag}`, size: tpl.size, query: tpl.query, num_stages: tpl.numStages, edges, stages };
}

/** The deterministic episodes of the reference-agreement test: jobs drawn from the synthetic pool. */
export function deterministicEpisode(seed: number, numJobs: number, stream: boolean): { raw: RawJob[]; arrivals: number[] } {
  const rng = new Rng(seed);
  const raw: RawJob[] = [], arrivals: number[] = [];
  let t = 0;
  for (let i = 0; i < numJobs; i++) {
    const tpl = SYNTHETIC.templates[rng.int(SYNTHETIC.templates.length)]!;
    if (stream && i > 0) t += Math.floor(rng.exponential(20000));
    raw.push(deterministicRaw(tpl, i));
    arrivals.push(stream && i > 0 ? t : 0);
  }
  return { raw, arrivals };
}

/** A deterministic, deliberately odd policy: the last selectable stage, 1-3 executors, idle every 7th decision. */
export function oddPolicy() {
  let d = 0;
  return {
    act(o: SchedulingObs, info: Info): number {
      const k0 = d++;
      if (k0 % 7 === 3) return info.actionMask!.length - 1;
      let row = -1;
      for (let r = 0; r < o.numNodes; r++) if (o.stageMask[r]) row = r;
      const k = o.stageJob[row]!, u = Math.min(1 + (k0 % 3), o.numSourceExec);
      const held = o.jobExecutors[k]! - (k === o.sourceJob ? o.numSourceExec : 0);
      return encodeAction(row, held + u, o.numExecutors);
    },
  };
}

/** FNV-1a of a string, as 8 hex digits (to pin long event sequences in a test). */
export function fnv(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}
