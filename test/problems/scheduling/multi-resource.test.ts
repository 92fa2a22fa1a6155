import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/rng.js';
import { DataPath } from '../../../src/core/data.js';
import { SelfoptError } from '../../../src/core/errors.js';
import { makeEnv, runEpisode } from '../../../src/problems/scheduling/evaluate.js';
import { instanceRef, loadInstance, MULTI_RESOURCE_CLASSES, type SchedulingInstance } from '../../../src/problems/scheduling/instances.js';
import { capacityFor, heuristicSolvers, Tetris } from '../../../src/problems/scheduling/heuristics.js';
import { encodeAction } from '../../../src/problems/scheduling/env.js';
import type { SchedulingPolicy } from '../../../src/problems/scheduling/evaluate.js';

const data = new DataPath();
const load = (id: string): SchedulingInstance => loadInstance(instanceRef(id, data)!);
const ctx = { seed: 1, rng: new Rng(1), quick: true, options: { sweep_episodes: '1' } as Record<string, string> };

test('multi-resource: every task runs on an executor with enough memory; the jobs are those of the single-resource episode', async () => {
  const inst = load('synthetic_batch8_20exec_mr');
  assert.deepEqual(inst.executorClasses, MULTI_RESOURCE_CLASSES);
  const env = makeEnv(inst, { recordEvents: true });
  const policy = (await heuristicSolvers.find((s) => s.info.name === 'graphene')!.solve(inst, ctx)) as SchedulingPolicy;
  const r = runEpisode(env, policy, 1000);
  assert.equal(r.completed, r.numJobs);
  const sim = env.sim;
  let starts = 0, small = 0;
  for (const ev of sim.log) {
    if (ev.kind !== 'task-start') continue;
    starts++;
    const mem = sim.classMem[sim.exClass[ev.executor]!]!;
    assert.ok(mem >= sim.stMem[ev.stage]!, `task of stage ${ev.stage} (needs ${sim.stMem[ev.stage]}) on executor ${ev.executor} (memory ${mem})`);
    if (mem < 1) small++;
  }
  assert.ok(starts > 100 && small > 0, `${starts} task starts, ${small} on executors with less than full memory`);
  // The same seed draws the same jobs as the single-resource instance (demands have their own stream).
  const single = makeEnv(load('synthetic_batch8_20exec'));
  single.reset({ seed: 1000 });
  assert.deepEqual(env.sim.jobTpl.map((t) => t.name), single.sim.jobTpl.map((t) => t.name));
});

test('Graphene*: W counts the executors that can run a stage, class by class, when the classes differ in size', () => {
  // 10 executors in 4 classes are groups of 3, 2, 3 and 2: W was 10 x (fitting classes) / 4, so a
  // stage only the largest class can run had W = 2.5 instead of its 2 executors.
  const env = makeEnv(load('synthetic_batch6_10exec_mr'));
  const { obs } = env.reset({ seed: 1003 });
  const sim = env.sim;
  const sizes = Array.from({ length: obs.numClasses }, (_, c) => sim.exClass.filter((x) => x === c).length);
  assert.deepEqual(Array.from(obs.classSize), sizes);
  assert.ok(new Set(sizes).size > 1, `class sizes ${sizes}: equal, so this tests nothing`);
  let checked = 0, fitsOnlyLargest = 0;
  for (let r = 0; r < obs.numNodes; r++) {
    let can = 0;
    for (let e = 0; e < sim.E; e++) if (sim.classMem[sim.exClass[e]!]! >= obs.stageMemory[r]!) can++;
    assert.equal(capacityFor(obs, r), can, `stage row ${r} (memory ${obs.stageMemory[r]})`);
    checked++;
    if (obs.stageMemory[r]! > 0.75) fitsOnlyLargest++;
  }
  assert.ok(checked > 10 && fitsOnlyLargest > 0, `${checked} rows, ${fitsOnlyLargest} that only the largest-memory class fits`);
});

test('multi-resource: every heuristic (Tetris and Graphene* included) completes every job, deterministically', async () => {
  const inst = load('synthetic_batch8_20exec_mr');
  const env = makeEnv(inst);
  for (const solver of heuristicSolvers) {
    const policy = (await solver.solve(inst, ctx)) as SchedulingPolicy;
    const a = runEpisode(env, policy, 1001), b = runEpisode(env, policy, 1001);
    assert.equal(a.completed, a.numJobs, solver.info.name);
    assert.deepEqual(Array.from(b.jctMs), Array.from(a.jctMs), solver.info.name);
  }
});

test('multi-resource: an executor class that does not fit, or is not offered, is rejected with the reason', () => {
  const inst = load('synthetic_batch8_20exec_mr');
  const env = makeEnv(inst);
  let { obs, info } = env.reset({ seed: 1002 });
  const tetris = new Tetris();
  const C = obs.numClasses, E = obs.numExecutors;
  assert.equal(C, 4);
  for (let t = 0; t < 200; t++) {
    // a selectable stage with a class the mask forbids
    let bad = -1;
    for (let r = 0; r < obs.numNodes && bad < 0; r++) {
      if (!obs.stageMask[r]) continue;
      for (let c = 0; c < C; c++) if (!obs.stageClassMask[r * C + c]) { bad = encodeAction(r, E, E, c, C); break; }
    }
    if (bad >= 0) {
      const before = JSON.stringify([env.sim.time, env.sim.decisions, Array.from(env.sim.numSourceByClass)]);
      assert.equal(info.actionMask![bad], 0);
      assert.throws(() => env.step(bad), (e: unknown) => e instanceof SelfoptError && /cannot get executors of class \d: (no offered executor is of class|its tasks need memory)/.test(e.message));
      assert.equal(JSON.stringify([env.sim.time, env.sim.decisions, Array.from(env.sim.numSourceByClass)]), before);
      return;
    }
    const r = env.step(tetris.act(obs, info));
    if (r.terminated) break;
    ({ obs, info } = r);
  }
  assert.fail('no decision with a forbidden (stage, class) pair was met');
});

test('multi-resource: every heuristic is work-conserving, never idling executors that a selectable stage fits', async () => {
  const inst = load('synthetic_batch8_20exec_mr');
  const env = makeEnv(inst);
  for (const solver of heuristicSolvers) {
    const policy = (await solver.solve(inst, ctx)) as SchedulingPolicy;
    for (const seed of [1000, 1001, 1002]) {
      let { obs, info } = env.reset({ seed });
      for (;;) {
        const a = policy.act(obs, info, undefined as never);
        if (a === env.idleAction) {
          const fits = info.actionMask!.findIndex((m, i) => m === 1 && i !== env.idleAction);
          assert.equal(fits, -1, `${solver.info.name} idled at t=${env.sim.time} (seed ${seed}) while action ${fits} was allowed`);
        }
        const r = env.step(a);
        if (r.terminated) break;
        ({ obs, info } = r);
      }
    }
  }
});
