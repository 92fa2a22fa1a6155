import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../../src/core/rng.js';
import { DataPath } from '../../../src/core/data.js';
import { makeEnv, runEpisode } from '../../../src/problems/scheduling/evaluate.js';
import { instanceRef, loadInstance, type SchedulingInstance } from '../../../src/problems/scheduling/instances.js';
import { WeightedFair } from '../../../src/problems/scheduling/heuristics.js';
import { RolloutTeacher, runTeacherEpisode } from '../../../src/problems/scheduling/decima-teacher.js';
import { DecimaNet, JOB_EXTRAS, snapshot, structureOf } from '../../../src/problems/scheduling/decima-net.js';
import { decimaPolicy, loadDecima } from '../../../src/problems/scheduling/decima-policy.js';
import { saveCheckpoint } from '../../../src/learn/index.js';

const data = new DataPath();
const synthetic = (id: string): SchedulingInstance => loadInstance(instanceRef(id, data)!);

/** Runs weighted fair for `n` decisions, reseeds the durations with `fresh` (or not), then to the end; returns every JCT. */
function branch(inst: SchedulingInstance, seed: number, n: number, fresh: number | null): number[] {
  const env = makeEnv(inst), p = new WeightedFair(0);
  let { obs, info } = env.reset({ seed });
  for (let i = 0; ; i++) {
    if (i === n && fresh !== null) env.sim.reseedDurations(new Rng(fresh));
    const r = env.step(p.act(obs, info));
    if (r.terminated) return Array.from(env.stats().jctMs);
    obs = r.obs;
    info = r.info;
  }
}

test('reseedDurations: the continuation draws from the new stream (same fresh seed, same continuation; else another one)', () => {
  const inst = synthetic('synthetic_batch6_20exec_train');
  const own = branch(inst, inst.seedBase, 5, null);
  const a = branch(inst, inst.seedBase, 5, 77), b = branch(inst, inst.seedBase, 5, 77), c = branch(inst, inst.seedBase, 5, 78);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, own, 'a fresh stream gives other durations than the episode\'s own');
  assert.notDeepEqual(a, c);
  assert.deepEqual(branch(inst, inst.seedBase, 5, null), own);
});

test('rollout teacher: replays the episode to each decision, runs its simulations, is deterministic, and needs the history', () => {
  const inst = synthetic('synthetic_batch6_20exec_train');
  const env = makeEnv(inst);
  const run = () => {
    const t = new RolloutTeacher(makeEnv(inst), { alpha: -1, rollouts: 2, spread: 0.6 });
    return { jct: runTeacherEpisode(env, t, inst.seedBase + 3), stats: { ...t.stats } };
  };
  const x = run(), y = run();
  assert.equal(x.jct, y.jct);
  assert.ok(x.stats.contested > 0 && x.stats.simulations >= 2 * 2 * x.stats.contested, JSON.stringify(x.stats));
  assert.ok(x.stats.contested <= x.stats.decisions);
  // Asked without the history (no record() calls), the replay lands elsewhere and says so.
  const t = new RolloutTeacher(makeEnv(inst), { alpha: -1, rollouts: 1, spread: 0.6 });
  t.begin(inst.seedBase);
  let { obs, info } = env.reset({ seed: inst.seedBase });
  const p = new WeightedFair(0);
  assert.throws(() => {
    for (let i = 0; i < 200; i++) {
      t.act(obs, info, new Rng(i));
      const r = env.step(p.act(obs, info));
      if (r.terminated) break;
      ({ obs, info } = r);
    }
  }, /replay of 0 actions/);
});

test('Decima net with the optional job inputs: they reach both heads, and checkpoints with and without them load', () => {
  const inst = synthetic('synthetic_batch6_20exec_train');
  const env = makeEnv(inst);
  const { obs } = env.reset({ seed: inst.seedBase });
  const st = snapshot(obs, structureOf(obs));
  assert.equal(st.jobExtra.length, obs.numJobs * JOB_EXTRAS);
  assert.equal(st.jobExtra[1 * JOB_EXTRAS]!, Math.fround(1 / 20), 'the second job in arrival order has rank 1');
  const net = new DecimaNet({ numExecutors: 20, jobExtras: JOB_EXTRAS }, new Rng(1));
  const q0 = net.embed([st]).q.data.slice();
  const moved = { ...st, jobExtra: st.jobExtra.map((v, i) => (i % JOB_EXTRAS === 1 ? v + 0.5 : v)) };
  assert.notDeepEqual(Array.from(net.embed([moved]).q.data), Array.from(q0), 'the stage scores depend on the job inputs');
  const dir = mkdtempSync(join(tmpdir(), 'decima-x-'));
  try {
    const withX = join(dir, 'x.ckpt'), without = join(dir, 'plain.ckpt');
    saveCheckpoint(withX, net, {});
    saveCheckpoint(without, new DecimaNet({ numExecutors: 20 }, new Rng(2)), {});
    const a = loadDecima(withX), b = loadDecima(without);
    assert.equal(a.opts.jobExtras, JOB_EXTRAS);
    assert.equal(b.opts.jobExtras, 0);
    assert.ok(!('jobExtras' in b.architecture()), 'a net without the extras records the paper\'s architecture');
    const r1 = runEpisode(env, decimaPolicy(net), inst.seedBase), r2 = runEpisode(env, decimaPolicy(a), inst.seedBase);
    assert.deepEqual(Array.from(r1.jctMs), Array.from(r2.jctMs));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
