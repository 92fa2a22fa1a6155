import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SelfoptError } from '../../../src/core/errors.js';
import { SchedulingEnv, type SchedulingObs } from '../../../src/problems/scheduling/env.js';
import { Rng } from '../../../src/core/rng.js';
import { buildTemplate, EXECUTOR_LEVELS, NUM_LEVELS } from '../../../src/problems/scheduling/profiles.js';
import type { Info } from '../../../src/core/env.js';
import { SjfCriticalPath } from '../../../src/problems/scheduling/heuristics.js';
import { WeightedFair } from '../../../src/problems/scheduling/weighted-fair.js';
import { deterministicEpisode, syntheticEnv } from './fixtures.js';

const WORKLOADS = [
  { kind: 'batch', numJobs: 8 } as const,
  { kind: 'stream', numInitial: 2, numStream: 12, meanInterarrivalMs: 15000 } as const,
];

interface Run { log: string; jct: number[]; rewards: number[]; decisions: number }

/** Plays `policy` from the env's current state (obs, info) to the end. */
function finish(env: SchedulingEnv, obs: SchedulingObs, info: Info, policy: { act(o: SchedulingObs, i: Info): number }): Run {
  const rewards: number[] = [];
  for (;;) {
    const r = env.step(policy.act(obs, info));
    rewards.push(r.reward);
    if (r.terminated) break;
    ({ obs, info } = r);
  }
  const st = env.stats();
  return { log: JSON.stringify(env.sim.log), jct: Array.from(st.jctMs), rewards, decisions: st.decisions };
}

/** Every typed array reachable from `x` through own properties (two levels: the pools, the commitments, the heap). */
function buffers(x: object, depth = 2, out = new Map<ArrayBufferLike, string>(), path = ''): Map<ArrayBufferLike, string> {
  for (const [k, v] of Object.entries(x)) {
    if (k === 'jobTpl' || k === 'cfg') continue; // read-only profile data and config
    if (ArrayBuffer.isView(v)) out.set(v.buffer, path + k);
    else if (v && typeof v === 'object' && !Array.isArray(v) && depth > 0) buffers(v, depth - 1, out, `${path}${k}.`);
  }
  return out;
}

test('snapshot/restore: continuing from a restored decision point gives the uninterrupted episode exactly (batch and stream)', () => {
  for (const workload of WORKLOADS) {
    const env = syntheticEnv(workload, 20, { recordEvents: true }), other = syntheticEnv(workload, 20, { recordEvents: true });
    const wf = new WeightedFair(-1, 'work'), sjf = new SjfCriticalPath();
    const r0 = env.reset({ seed: 11 });
    const whole = finish(env, r0.obs, r0.info, wf);
    assert.ok(whole.decisions > 20, `${whole.decisions} decisions`);
    let detours = 0;
    for (const at of [0, 7, Math.floor(whole.decisions / 2), whole.decisions - 2]) {
      let { obs, info } = env.reset({ seed: 11 });
      for (let i = 0; i < at; i++) ({ obs, info } = env.step(wf.act(obs, info)));
      const snap = env.snapshot();
      const timeAt = obs.timeMs;
      // Wander off with another policy (its own draws), then come back: the snapshot is untouched.
      const detour = finish(env, obs, info, sjf);
      if (detour.log !== whole.log) detours++;
      for (const target of [env, other, env]) {
        const back = target.restore(snap);
        assert.equal(back.obs.timeMs, timeAt);
        const rest = finish(target, back.obs, back.info, wf);
        assert.ok(rest.log === whole.log, `${workload.kind}: the event log after restoring at decision ${at} differs`);
        assert.deepEqual(rest.jct, whole.jct);
        assert.equal(rest.decisions, whole.decisions);
        assert.deepEqual(rest.rewards, whole.rewards.slice(at), 'rewards from the branch point on');
      }
    }
    assert.ok(detours >= 2, 'the detours changed the episode (so the restores undid something)');
  }
});

test('snapshot/restore: no mutable array is shared between the episode, its snapshot and a restored env; bad use is refused', () => {
  const env = syntheticEnv(WORKLOADS[0], 20), other = syntheticEnv(WORKLOADS[0], 20);
  const wf = new WeightedFair(0);
  let { obs, info } = env.reset({ seed: 3 });
  for (let i = 0; i < 10; i++) ({ obs, info } = env.step(wf.act(obs, info)));
  const snap = env.snapshot();
  other.reset({ seed: 99 });
  other.restore(snap);
  const a = buffers(env.sim), b = buffers(snap.sim), c = buffers(other.sim);
  assert.ok(a.size >= 40, `${a.size} arrays found`);
  for (const [buf, name] of b) {
    assert.ok(!a.has(buf), `the snapshot shares ${name} with the episode`);
    assert.ok(!c.has(buf), `the restored env shares ${name} with the snapshot`);
  }
  for (const [buf, name] of c) assert.ok(!a.has(buf), `the restored env shares ${name} with the episode`);
  assert.notEqual(snap.rng, (env as unknown as { rng: unknown }).rng);
  // A restored env after its episode ended may step again; a snapshot with no episode is refused.
  const fresh = syntheticEnv(WORKLOADS[0], 20);
  assert.throws(() => fresh.snapshot(), SelfoptError);
  const wrong = syntheticEnv(WORKLOADS[0], 21);
  assert.throws(() => wrong.restore(snap), SelfoptError);
});

test('resampleRunningTasks: running tasks get a duration from their own list, no shorter than they have run; nothing changes on one-sample profiles', () => {
  // Synthetic profiles: redrawn durations are samples of the task's list (wave, level), and no
  // event goes back in time.
  const env = syntheticEnv(WORKLOADS[0], 20, { recordEvents: true });
  const wf = new WeightedFair(-1, 'work');
  let { obs, info } = env.reset({ seed: 5 });
  for (let i = 0; i < 25; i++) ({ obs, info } = env.step(wf.act(obs, info)));
  const now = obs.timeMs, before = env.sim.log.length, snap = env.snapshot();
  const running = new Map<number, { start: number; stage: number; job: number; level: number; wave: string }>();
  for (const e of env.sim.log) {
    if (e.kind === 'task-start') running.set(e.executor, { start: e.time, stage: e.stage, job: e.job, level: e.level!, wave: e.wave! });
    if (e.kind === 'task-end') running.delete(e.executor);
  }
  assert.ok(running.size >= 5, `${running.size} running tasks`);
  const ends = (resample: boolean) => {
    ({ obs, info } = env.restore(snap));
    env.sim.reseedDurations(new Rng(1));
    if (resample) env.sim.resampleRunningTasks(new Rng(2));
    const rest = finish(env, obs, info, wf); // the restored observation is the snapshot's: obs, info
    const log = env.sim.log.slice(before);
    for (let i = 1; i < log.length; i++) assert.ok(log[i]!.time >= log[i - 1]!.time && log[i]!.time >= now);
    const out = new Map<number, number>();
    for (const e of log) if (e.kind === 'task-end' && running.has(e.executor) && !out.has(e.executor)) out.set(e.executor, e.time);
    return { rest, out };
  };
  const kept = ends(false), redrawn = ends(true);
  let changed = 0;
  for (const [e, r] of running) {
    const tpl = env.sim.jobTpl[r.job]!, local = r.stage - env.sim.jobStageBase[r.job]!;
    const list = (local * NUM_LEVELS + EXECUTOR_LEVELS.indexOf(r.level as never)) * 3 + ['first', 'rest', 'fresh'].indexOf(r.wave === 'first+warmup' ? 'first' : r.wave);
    const warm = r.wave === 'first+warmup' ? 1000 : 0;
    const d = redrawn.out.get(e)! - r.start;
    const samples = Array.from(tpl.samples.subarray(tpl.sampleOff[list]!, tpl.sampleOff[list]! + tpl.sampleLen[list]!), (x) => x + warm);
    assert.ok(samples.includes(d), `executor ${e}: ${d} ms is not a sample of its list`);
    assert.ok(r.start + d >= now);
    if (redrawn.out.get(e) !== kept.out.get(e)) changed++;
  }
  assert.ok(changed >= 2, `${changed} end times redrawn`);
  // One sample per list (the deterministic profiles of the reference test): nothing to redraw.
  const ep = deterministicEpisode(11, 6, false);
  const tpls = ep.raw.map((r, i) => buildTemplate(r, { file: 'deterministic', index: i }));
  const det = new SchedulingEnv({ numExecutors: 20, pool: { name: 'det', templates: tpls, numQueries: 6, numSizes: 1 }, workload: { kind: 'batch', numJobs: 6 }, recordEvents: true, maxStages: 1000 });
  const jobs = tpls.map((t) => ({ template: t, arrivalMs: 0 }));
  const runDet = (resample: boolean) => {
    let { obs: o, info: inf } = det.reset({ seed: 1, options: { jobs, numInitial: 6 } });
    for (let i = 0; i < 15; i++) ({ obs: o, info: inf } = det.step(wf.act(o, inf)));
    if (resample) det.sim.resampleRunningTasks(new Rng(3));
    return finish(det, o, inf, wf);
  };
  const a = runDet(false), b = runDet(true);
  assert.ok(a.log === b.log && a.jct.join() === b.jct.join(), 'one-sample lists: the same episode');
});
