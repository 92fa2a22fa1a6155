import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rollout } from '../../../src/core/env.js';
import { DataPath } from '../../../src/core/data.js';
import { instanceRef, loadInstance, type SchedulingInstance } from '../../../src/problems/scheduling/instances.js';
import { evaluateScheduling, makeEnv } from '../../../src/problems/scheduling/evaluate.js';
import { WeightedFair } from '../../../src/problems/scheduling/weighted-fair.js';
import { allocation, scheduleSvg } from '../../../src/problems/scheduling/picture.js';
import { schedulingProblem } from '../../../src/problems/scheduling/index.js';

const data = new DataPath();
const synthetic = (id: string): SchedulingInstance => loadInstance(instanceRef(id, data)!);

test('the allocation picture keeps every executor-second of the episode, never above the cluster, jobs grouped by size', () => {
  for (const [id, groups] of [['synthetic_batch20_50exec', 20], ['synthetic_stream60_20exec', 20], ['synthetic_batch6_10exec', 6]] as const) {
    const inst = synthetic(id);
    const env = makeEnv(inst, { recordEvents: true });
    rollout(env, new WeightedFair(-1, 'work'), inst.seedBase + 3);
    const a = allocation(env);
    assert.equal(a.groups, groups, id);
    let taskMs = 0;
    for (const ev of env.sim.log) if (ev.kind === 'task-start') taskMs += ev.durationMs!;
    let drawnMs = 0;
    for (let b = 0; b < a.bins; b++) {
      let col = 0;
      for (let g = 0; g < a.groups; g++) col += a.busy[g * a.bins + b]!;
      assert.ok(col <= a.numExecutors + 1e-9, `${id}: ${col} busy executors in bin ${b}`);
      drawnMs += col * a.binMs;
    }
    assert.ok(Math.abs(drawnMs - taskMs) <= 1e-6 * taskMs, `${id}: drawn ${drawnMs} ms of work, the episode ran ${taskMs}`);
    // Group 0 holds the smallest jobs by total work, the last group the largest.
    const work = (j: number) => env.sim.jobTpl[j]!.totalWorkMs;
    const inGroup = (g: number) => Array.from({ length: a.numJobs }, (_, j) => j).filter((j) => a.groupOf[j] === g);
    assert.ok(Math.max(...inGroup(0).map(work)) <= Math.min(...inGroup(a.groups - 1).map(work)));
    const jct = env.stats().jctMs;
    assert.deepEqual(Array.from(a.completionMs, (c, j) => c - a.arrivalMs[j]!).sort((x, y) => x - y), Array.from(jct).sort((x, y) => x - y));
  }
});

test('the scheduling problem draws the bench\'s seed-1 episode: its average JCT is the one the metrics report', () => {
  const inst = synthetic('synthetic_batch20_50exec');
  const policy = new WeightedFair(-1, 'work');
  const svg = schedulingProblem.picture!(inst, policy, 'synthetic_batch20_50exec · tuned · seed 1')!;
  assert.match(svg, /^<svg[\s\S]*<\/svg>\s*$/);
  assert.match(svg, /synthetic_batch20_50exec · tuned · seed 1/);
  const m = evaluateScheduling(inst, policy, { seed: 1, options: {} } as Parameters<typeof evaluateScheduling>[2]);
  assert.match(svg, new RegExp(`avg JCT ${m.avg_jct_s!.toFixed(1)} s · makespan ${m.makespan_s!.toFixed(1)} s · 20 jobs, 50 executors`));
  assert.equal(svg.match(/<path d="M[^"]*Z" fill=/g)?.length, 20, 'one stacked area per job');
  assert.equal(scheduleSvg(inst, policy, 'x', inst.seedBase), scheduleSvg(inst, policy, 'x'), 'seed 1 of the bench is the instance\'s first episode');
  assert.notEqual(scheduleSvg(inst, policy, 'x', inst.seedBase + 1), scheduleSvg(inst, policy, 'x'));
});
