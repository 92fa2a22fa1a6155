import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SelfoptError } from '../../../src/core/errors.js';
import { rollout } from '../../../src/core/env.js';
import { SchedulingEnv, encodeAction, type SchedulingObs } from '../../../src/problems/scheduling/env.js';
import { WeightedFair } from '../../../src/problems/scheduling/weighted-fair.js';
import { fixedStage, greedy, poolOf, rawJob, SYNTHETIC, syntheticEnv, template } from './fixtures.js';
import type { Info } from '../../../src/core/env.js';
import { Csr } from '../../../src/learn/ops/sparse.js';
import { DagSchedule } from '../../../src/learn/gnn.js';

/** Stage 0 (3 tasks, no fresh durations) -> stage 1 (1 task, fresh 300 ms). */
function twoStageEnv(compat = false): SchedulingEnv {
  const tpl = template(rawJob([fixedStage(3, { first: 100, rest: 50 }), fixedStage(1, { first: 100, rest: 50, fresh: 300 })], [[0, 1]]));
  return new SchedulingEnv({ numExecutors: 2, pool: poolOf([tpl]), workload: { kind: 'batch', numJobs: 1 }, recordEvents: true, compat });
}

test('moving delay, warm-up, rest wave and fresh durations: exact event times on a 2-stage job', () => {
  for (const compat of [false, true]) {
    const env = twoStageEnv(compat);
    const steps: { t: number; src: number; mask: number[] }[] = [];
    let { obs, info } = env.reset({ seed: 1 });
    let ret = 0, done = false;
    while (!done) {
      steps.push({ t: obs.timeMs, src: obs.numSourceExec, mask: [...obs.stageMask] });
      const r = env.step(greedy.act(obs, info));
      ret += r.reward;
      done = r.terminated;
      obs = r.obs;
      info = r.info;
    }
    // Decisions: all executors at t=0 (only stage 0 selectable); when the last task of stage 0 is
    // taken both executors on it are the source and stage 1 (parents saturated) is selectable; when
    // stage 0 finishes the job's idle pool is consulted again.
    assert.deepEqual(steps, [{ t: 0, src: 2, mask: [1, 0] }, { t: 3100, src: 2, mask: [0, 1] }, { t: 3150, src: 2, mask: [0, 1] }]);
    const starts = env.sim.log.filter((e) => e.kind === 'task-start').map((e) => [e.time, e.executor, e.stage, e.durationMs, e.wave]);
    assert.deepEqual(starts, [
      [2000, 0, 0, 1100, 'first+warmup'], // moved to the job: 2000 ms; no fresh sample: first wave + 1000 ms
      [2000, 1, 0, 1100, 'first+warmup'],
      [3100, 0, 0, 50, 'rest'], // same executor, same stage: rest wave
      [3150, 1, 1, 300, 'fresh'], // it waited in the job's pool (detached), so it is fresh to the stage's job
    ]);
    const arrivals = env.sim.log.filter((e) => e.kind === 'executor-arrival').map((e) => [e.time, e.executor]);
    assert.deepEqual(arrivals, [[2000, 0], [2000, 1]]);
    const st = env.stats();
    assert.deepEqual([...st.jctMs], [3450]);
    assert.equal(st.decisions, 3);
    assert.ok(Math.abs(ret + 3.45) < 1e-12, `return ${ret}`);
  }
});

test('executor level: linear interpolation P(l) = (r-n)/(r-l); compat gives (n-l)/(r-l)', () => {
  // One stage, many tasks, a distinct rest-wave duration at every level: with 21 executors on the
  // job every task after the first wave is drawn at level 20 or 40.
  const keys = [2, 5, 10, 20, 40, 50, 60, 80, 100];
  const st = fixedStage(4000, { first: 7, rest: 1 }, keys);
  for (const k of keys) st.rest_wave[k] = [k];
  st.rest_wave[2] = Array.from({ length: 3999 }, () => 2);
  const tpl = template(rawJob([st], []));
  for (const [compat, n, pLower] of [[false, 21, 19 / 20], [true, 21, 1 / 20], [false, 30, 10 / 20], [false, 43, 7 / 10], [true, 43, 3 / 10]] as const) {
    const env = new SchedulingEnv({ numExecutors: n, pool: poolOf([tpl]), workload: { kind: 'batch', numJobs: 1 }, recordEvents: true, compat });
    rollout(env, greedy, 5);
    let lower = 0, total = 0;
    const [l, r] = n < 40 ? [20, 40] : [40, 50];
    for (const e of env.sim.log) {
      if (e.kind !== 'task-start' || e.time <= 2000) continue; // the first wave starts while executors arrive one by one
      assert.ok(e.level === l || e.level === r, `level ${e.level}`);
      total++;
      if (e.level === l) lower++;
      assert.equal(e.durationMs, e.wave === 'rest' ? e.level : e.durationMs);
    }
    assert.ok(total > 3000);
    const p = lower / total;
    // binomial sd <= 0.009 for 3000 draws: 4 sd
    assert.ok(Math.abs(p - pLower) < 0.035, `compat=${compat} n=${n}: P(lower) = ${p.toFixed(3)}, expected ${pLower}`);
  }
});

test('reward sums to minus the total job completion time (batch and stream)', () => {
  for (const workload of [{ kind: 'batch', numJobs: 8 } as const, { kind: 'stream', numInitial: 1, numStream: 15, meanInterarrivalMs: 20000 } as const]) {
    const env = syntheticEnv(workload, 20);
    const r = rollout(env, new WeightedFair(0), 11);
    const st = env.stats();
    assert.equal(st.completed, st.numJobs);
    const total = st.jctMs.reduce((a, b) => a + b, 0) / 1000;
    assert.ok(Math.abs(r.ret + total) < 1e-9 * total, `${workload.kind}: return ${r.ret}, total JCT ${total}`);
  }
});

test('an overloaded stream runs to its end: the action space holds every job of the stream at once', () => {
  // 601 jobs arriving 0.1 s apart on 5 executors: nearly all of them are in the system together,
  // more stages than a fixed number of stage rows (4096 stopped this episode mid-way).
  const workload = { kind: 'stream', numInitial: 1, numStream: 600, meanInterarrivalMs: 100 } as const;
  const env = syntheticEnv(workload, 5);
  let most = 0;
  const watch = { act: (o: SchedulingObs, info: Info) => { most = Math.max(most, o.numNodes); return greedy.act(o, info); } };
  const r = rollout(env, watch, 1);
  assert.equal(r.truncated, false);
  assert.equal(env.stats().completed, 601);
  assert.ok(most > 4096, `the system held at most ${most} stages: not overloaded enough to test this`);
  // jobs x the largest profile's stages, x executors, + idle
  const perJob = Math.max(...SYNTHETIC.templates.map((t) => t.numStages));
  assert.equal(env.maxStages, 601 * perJob);
  assert.equal(env.actionSpace.n, 601 * perJob * 5 + 1);
});

test('same seed, identical episode (every event); another seed differs', () => {
  const run = (seed: number) => {
    const env = syntheticEnv({ kind: 'stream', numInitial: 2, numStream: 12, meanInterarrivalMs: 15000 }, 25, { recordEvents: true });
    rollout(env, new WeightedFair(0.5), seed);
    return env.sim.log;
  };
  const a = run(42), b = run(42), c = run(43);
  assert.ok(a.length > 1000);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.map((e) => e.time), c.map((e) => e.time));
  // reset() without a seed continues the generator: a new episode
  const env = syntheticEnv({ kind: 'batch', numJobs: 5 }, 10, { recordEvents: true });
  rollout(env, greedy, 42);
  const first = env.sim.log.map((e) => e.time);
  let { obs, info } = env.reset();
  for (;;) {
    const r = env.step(greedy.act(obs, info));
    if (r.terminated) break;
    ({ obs, info } = r);
  }
  assert.notDeepEqual(env.sim.log.map((e) => e.time), first);
});

function snapshot(env: SchedulingEnv): string {
  const s = env.sim;
  return JSON.stringify([s.time, s.area, s.numSourceExec, s.sourceJob, s.decisions, [...s.nextTask], [...s.commitsTo], [...s.movingTo], [...s.selected], [...s.exJob], [...s.exStage], [...s.pools.poolOf], s.log.length]);
}

test('an agent that idles whenever it may does not stall the episode: after a recovery idle is masked, and refused with its reason', () => {
  // Idle at every decision where the mask allows it, else the first allowed action. On the old
  // code the second idle after a recovery ended the episode on 'internal: the simulation is stuck'.
  const env = syntheticEnv({ kind: 'batch', numJobs: 4 }, 10, { recordEvents: true });
  let { info } = env.reset({ seed: 9 });
  let refusals = 0;
  for (;;) {
    const mask = info.actionMask!;
    if (!mask[env.idleAction]) {
      const before = snapshot(env);
      assert.throws(() => env.step(env.idleAction), (e: unknown) => e instanceof SelfoptError && /invalid action \d+ \(idle\): every executor is idle, no task runs and no job is due/.test(e.message));
      assert.equal(snapshot(env), before, 'the refused idle changes nothing');
      refusals++;
    }
    const r = env.step(mask[env.idleAction] ? env.idleAction : mask.indexOf(1));
    if (r.terminated || r.truncated) {
      assert.ok(r.terminated, 'the episode ends with every job done');
      assert.ok(env.sim.recoveries > 0 && refusals === env.sim.recoveries, `one masked idle per recovery (${refusals} refused, ${env.sim.recoveries} recoveries)`);
      break;
    }
    ({ info } = r);
  }
});

test('an invalid action is rejected with its reason and changes nothing', () => {
  const env = syntheticEnv({ kind: 'batch', numJobs: 4 }, 10, { recordEvents: true });
  let { obs, info } = env.reset({ seed: 9 });
  // advance a few decisions so that some stages are saturated or not yet selectable
  for (let i = 0; i < 3; i++) ({ obs, info } = env.step(greedy.act(obs, info)));
  const before = snapshot(env);
  const E = obs.numExecutors;
  const masked = [...obs.stageMask].findIndex((m) => m === 0);
  const open = [...obs.stageMask].findIndex((m) => m === 1);
  assert.ok(masked >= 0 && open >= 0);
  const bad: [number, RegExp][] = [
    [encodeAction(masked, E, E), /stage row \d+ \(job \d+, stage \d+\) cannot be picked now: (its parents are not all saturated|every task of it is started|it was already chosen)/],
    [encodeAction(obs.numNodes + 3, 1, E), /stage row \d+ does not exist/],
    [-1, /not an integer in \[0, \d+\)/],
    [2.5, /not an integer/],
  ];
  const k = obs.stageJob[open]!;
  if (obs.limitMin[k]! > 1) bad.push([encodeAction(open, obs.limitMin[k]! - 1, E), /would send none/]);
  for (const [a, re] of bad) {
    assert.throws(() => env.step(a), (e: unknown) => e instanceof SelfoptError && re.test(e.message));
    assert.equal(snapshot(env), before);
    assert.equal(info.actionMask![a] ?? 0, 0);
  }
  // The mask agrees with the observation, and a valid action still works afterwards.
  for (let r = 0; r < obs.numNodes; r++) {
    const kk = obs.stageJob[r]!;
    for (let l = 1; l <= E; l++) assert.equal(info.actionMask![encodeAction(r, l, E)], obs.stageMask[r] && l >= obs.limitMin[kk]! ? 1 : 0);
  }
  assert.equal(info.actionMask![env.idleAction], 1);
  env.step(encodeAction(open, E, E));
  assert.notEqual(snapshot(env), before);
});

test('a step after maxTimeMs truncated the episode says the episode is over and to reset, and changes nothing', () => {
  // It was judged against the truncated state's mask: 'invalid action ... cannot be picked now'.
  const env = new SchedulingEnv({ numExecutors: 10, pool: SYNTHETIC, workload: { kind: 'batch', numJobs: 5 }, recordEvents: true, maxTimeMs: 20000 });
  let { obs, info } = env.reset({ seed: 3 });
  let last;
  for (;;) {
    last = env.step(greedy.act(obs, info));
    if (last.terminated || last.truncated) break;
    ({ obs, info } = last);
  }
  assert.equal(last.truncated, true);
  assert.ok(env.sim.time >= 20000);
  const before = snapshot(env), mask = Array.from(last.info.actionMask!);
  const open = mask.indexOf(1), masked = mask.indexOf(0);
  for (const a of [open, masked, env.idleAction, -1, env.actionSpace.n]) {
    assert.throws(() => env.step(a), (e: unknown) => e instanceof SelfoptError
      && e.message === `step(${a}) after the episode ended: it was truncated at time ${env.sim.time} ms (maxTimeMs 20000); nothing was changed (at SchedulingEnv.step); expected reset() to start a new episode, then step`, String(a));
    assert.equal(snapshot(env), before);
    assert.deepEqual(Array.from(last.info.actionMask!), mask);
  }
  assert.match(env.whyInvalid(masked)!, /after the episode ended: it was truncated .*reset\(\) first/);
  // reset() starts a new episode, which steps as before.
  ({ obs, info } = env.reset({ seed: 3 }));
  env.step(greedy.act(obs, info));
});

test('the observation is a block-diagonal DAG in CSR with job membership', () => {
  const env = syntheticEnv({ kind: 'batch', numJobs: 6 }, 20);
  let { obs, info } = env.reset({ seed: 3 });
  const check = (o: SchedulingObs) => {
    assert.ok(env.observationSpace.contains(o));
    assert.equal(o.jobPtr[o.numJobs], o.numNodes);
    for (let k = 0; k < o.numJobs; k++) {
      for (let r = o.jobPtr[k]!; r < o.jobPtr[k + 1]!; r++) {
        assert.equal(o.stageJob[r], k);
        for (let p = o.rowPtr[r]!; p < o.rowPtr[r + 1]!; p++) {
          const c = o.colIdx[p]!;
          assert.ok(c > o.jobPtr[k]! - 1 && c < o.jobPtr[k + 1]!, 'edges stay inside the job');
        }
      }
      assert.equal(o.jobFeatures[k * 3 + 1], k === o.sourceJob ? 2 : -2);
    }
  };
  let prevPtr: Int32Array | undefined, prevJobs = '', schedules = 0;
  for (let i = 0; i < 200; i++) {
    check(obs);
    // The edges feed Decima's message passing as they are; new arrays exactly when jobs change.
    const jobs = [...obs.jobId].join();
    assert.equal(obs.rowPtr === prevPtr, jobs === prevJobs);
    if (obs.rowPtr !== prevPtr) {
      const sched = new DagSchedule(new Csr(obs.numNodes, obs.numNodes, obs.rowPtr, obs.colIdx));
      assert.equal(sched.nodes, obs.numNodes);
      schedules++;
    }
    prevPtr = obs.rowPtr;
    prevJobs = jobs;
    const r = env.step(greedy.act(obs, info));
    if (r.terminated) break;
    ({ obs, info } = r);
  }
  assert.ok(schedules >= 2);
});

test('under a bound on actions a stream gets the stage rows that fit (and says maxStages when overloaded past them); a batch is refused', () => {
  const perJob = Math.max(...SYNTHETIC.templates.map((t) => t.numStages));
  const workload = { kind: 'stream', numInitial: 1, numStream: 600, meanInterarrivalMs: 100 } as const;
  const maxActions = 40 * perJob * 5 + 1; // rows for 40 jobs on 5 executors
  const env = new SchedulingEnv({ numExecutors: 5, pool: SYNTHETIC, workload, maxActions });
  assert.equal(env.maxStages, 40 * perJob);
  assert.equal(env.actionSpace.n, maxActions);
  // The same overloaded stream as above holds more stages than that: a clear stop naming maxStages.
  assert.throws(() => rollout(env, greedy, 1), (e: Error) => e instanceof SelfoptError && /more than the \d+ stage rows of the action space/.test(e.message) && /maxStages/.test(e.message));
  // A stream at the load it is made for runs within the rows.
  const light = new SchedulingEnv({ numExecutors: 5, pool: SYNTHETIC, workload: { kind: 'stream', numInitial: 1, numStream: 30, meanInterarrivalMs: 60_000 }, maxActions });
  assert.equal(rollout(light, greedy, 1).truncated, false);
  assert.equal(light.stats().completed, 31);
  // Rows for less than one job, or a batch that does not fit: refused with the size.
  assert.throws(() => new SchedulingEnv({ numExecutors: 5, pool: SYNTHETIC, workload, maxActions: perJob * 5 }), /action space would have/);
  assert.throws(() => new SchedulingEnv({ numExecutors: 5, pool: SYNTHETIC, workload: { kind: 'batch', numJobs: 41 }, maxActions }), /action space would have/);
});
