import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SelfoptError } from '../../../src/core/errors.js';
import type { SchedulingEnv, SchedulingObs } from '../../../src/problems/scheduling/env.js';
import type { Info } from '../../../src/core/env.js';
import { SjfCriticalPath, WeightedFair } from '../../../src/problems/scheduling/heuristics.js';
import { syntheticEnv } from './fixtures.js';

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
