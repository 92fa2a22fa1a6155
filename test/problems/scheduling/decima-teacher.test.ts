import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../../src/core/rng.js';
import { DataPath } from '../../../src/core/data.js';
import { makeEnv, runEpisode, type SchedulingPolicy } from '../../../src/problems/scheduling/evaluate.js';
import { instanceRef, loadInstance, type SchedulingInstance } from '../../../src/problems/scheduling/instances.js';
import { WeightedFair } from '../../../src/problems/scheduling/weighted-fair.js';
import { RolloutTeacher, runTeacherEpisode, type RolloutTeacherConfig } from '../../../src/problems/scheduling/decima-teacher.js';
import { planPolicy, planVariants, searchEpisodePlan } from '../../../src/problems/scheduling/headroom.js';
import { mean } from '../../../src/core/stats.js';
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

test('rollout teacher: branches from snapshots with the same labels as the replay, runs its simulations, is deterministic; the replay needs the history', () => {
  const inst = synthetic('synthetic_batch6_20exec_train');
  const env = makeEnv(inst);
  // runTeacherEpisode's loop, keeping every label
  const run = (cfg: Partial<RolloutTeacherConfig>) => {
    const t = new RolloutTeacher(makeEnv(inst), { alpha: -1, rollouts: 2, spread: 0.6, ...cfg });
    const seed = inst.seedBase + 3, rng = new Rng(seed).split('teacher'), labels: number[] = [];
    let { obs, info } = env.reset({ seed });
    t.begin(env, seed);
    for (;;) {
      const a = t.act(obs, info, rng);
      labels.push(a);
      const r = env.step(a);
      t.record(a);
      if (r.terminated) break;
      ({ obs, info } = r);
    }
    return { jct: mean(env.stats().jctMs) / 1000, stats: { ...t.stats }, labels };
  };
  const x = run({}), y = run({}), z = run({ branch: 'replay' });
  assert.equal(x.jct, y.jct);
  assert.deepEqual(x.labels, z.labels, 'snapshot and replay give the same labels');
  assert.deepEqual(x.stats, z.stats);
  assert.ok(x.stats.contested > 0 && x.stats.changed > 0 && x.stats.simulations >= 2 * 2 * x.stats.contested, JSON.stringify(x.stats));
  assert.ok(x.stats.contested <= x.stats.decisions);
  // Limit variants add candidates; clairvoyant runs one simulation per candidate on the episode's own stream.
  const v = run({ limitDeltas: [-2, -1, 1, 2], order: 'work' });
  assert.ok(v.stats.simulations > x.stats.simulations, JSON.stringify(v.stats));
  const c = run({ clairvoyant: true, order: 'work', limitDeltas: [-1, 1] });
  assert.ok(c.stats.simulations < 2 * c.stats.decisions * 8, JSON.stringify(c.stats));
  // Clairvoyant rollouts over the base never end worse than the base on that episode (rollout improvement, same stream).
  assert.ok(c.jct <= mean(runEpisode(env, new WeightedFair(-1, 'work'), inst.seedBase + 3).jctMs) / 1000 + 1e-9);
  // Asked without the history (no record() calls), the replay lands elsewhere and says so.
  const t = new RolloutTeacher(makeEnv(inst), { alpha: -1, rollouts: 1, spread: 0.6, branch: 'replay' });
  t.begin(env, inst.seedBase);
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

test('rollout over a per-episode plan (headroom --base plan): replays the plan when nothing is overruled, never ends worse than it on its own stream (clairvoyant)', () => {
  const inst = synthetic('synthetic_batch6_20exec_train');
  const env = makeEnv(inst);
  const cfg: RolloutTeacherConfig = { alpha: -1, order: 'work', rollouts: 1, spread: 0.6, limitDeltas: [-2, -1, 1, 2] };
  let differs = 0, overruled = 0;
  for (const seed of [inst.seedBase + 1, inst.seedBase + 2, inst.seedBase + 3]) {
    const plan = searchEpisodePlan(env, inst, seed, -1, { gens: 2, pop: 6, planSeeds: 1, modes: [0, 1] });
    assert.equal(plan.weight.length, 6);
    const planJct = mean(runEpisode(env, planPolicy(plan), seed).jctMs) / 1000;
    if (planJct !== mean(runEpisode(env, new WeightedFair(-1, 'work'), seed).jctMs) / 1000) differs++;
    // Every decision contested but none overruled: the episode is the plan's, decision for decision.
    const keep = new RolloutTeacher(makeEnv(inst), { ...cfg, clairvoyant: true, minGainS: Infinity }, { base: planPolicy(plan) });
    assert.equal(runTeacherEpisode(env, keep, seed), planJct, `seed ${seed}`);
    assert.ok(keep.stats.contested > 0 && keep.stats.changed === 0, JSON.stringify(keep.stats));
    // Clairvoyant: every continuation is the plan's on the episode's own stream, so the rollout
    // (with the plan's variants among the candidates too) ends no worse than the plan.
    const inner = planPolicy(plan);
    let baseCalls = 0;
    const counted: SchedulingPolicy = { act: (o, i) => { baseCalls++; return inner.act(o, i); } };
    const roll = new RolloutTeacher(makeEnv(inst), { ...cfg, clairvoyant: true }, { base: counted, extra: planVariants(plan, 0.3) });
    const r = runTeacherEpisode(env, roll, seed);
    assert.ok(r <= planJct + 1e-9, `seed ${seed}: rollout ${r} s, plan ${planJct} s`);
    // The simulations play the plan to the end (not only its first action): far more calls than decisions.
    assert.ok(baseCalls > 5 * roll.stats.decisions, `${baseCalls} calls of the base, ${roll.stats.decisions} decisions`);
    overruled += roll.stats.changed;
  }
  assert.ok(differs > 0, 'the plans are other policies than their start, tuned-weighted-fair-sjf');
  assert.ok(overruled > 0, 'the rollout overrules the plan somewhere');
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
