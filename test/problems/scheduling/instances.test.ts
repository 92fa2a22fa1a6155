import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataPath } from '../../../src/core/data.js';
import { SelfoptError } from '../../../src/core/errors.js';
import { Rng } from '../../../src/core/rng.js';
import { instanceId, instanceRef, parseInstanceId, TEST_SEED_BASE, TRAIN_SEED_BASE } from '../../../src/problems/scheduling/instances.js';
import { sampleEpisode } from '../../../src/problems/scheduling/workloads.js';
import { schedulingProblem } from '../../../src/problems/scheduling/index.js';
import { SYNTHETIC } from './fixtures.js';
import { createSchedulingEnv } from '../../../src/problems/scheduling/evaluate.js';
import { rollout } from '../../../src/core/env.js';
import { WeightedFair } from '../../../src/problems/scheduling/weighted-fair.js';

test('instance ids: parse and format round trip; train and test seeds are disjoint', () => {
  for (const id of ['tpch_batch20_50exec', 'tpch_stream_50exec', 'tpch_stream50-45s_25exec', 'synthetic_batch5_10exec_compat', 'tpch_batch20_50exec_compat_train', 'synthetic_stream-12.5s_50exec']) {
    const spec = parseInstanceId(id);
    assert.ok(spec, id);
    assert.equal(instanceId(spec), id);
  }
  assert.deepEqual(parseInstanceId('tpch_stream50-45s_25exec')!.workload, { kind: 'stream', numInitial: 1, numStream: 50, meanInterarrivalMs: 45000 });
  assert.equal(parseInstanceId('tpch_batch20_50exec_train')!.split, 'train');
  for (const bad of ['tpch_batch0_50exec', 'tpch_batch20_0exec', 'foo_batch20_50exec', 'tpch_batch20', 'tpch_stream-0s_50exec']) assert.equal(parseInstanceId(bad), undefined, bad);
  assert.ok(TRAIN_SEED_BASE - TEST_SEED_BASE >= 100_000);
});

test('a tpch instance without the data says where it looked and how to get the data', () => {
  const empty = new DataPath({ dataDir: '/nonexistent-selfopt', env: {}, cwd: '/' });
  assert.throws(() => instanceRef('tpch_batch20_50exec', empty), (e: unknown) => e instanceof SelfoptError && /needs the TPC-H job profiles/.test(e.message) && /convert_tpch_to_json/.test(e.message));
  // a default run simply lists the synthetic instance, and Decima's training instance falls back to its synthetic twin
  const ids = schedulingProblem.listInstances({ data: empty, quick: true }).map((r) => r.id);
  assert.deepEqual(ids, ['synthetic_batch20_50exec', 'synthetic_batch20_50exec_train']);
  // a full run has a stream of generated jobs too, so the continuous-arrivals bar is checked without the data
  const full = schedulingProblem.listInstances({ data: empty, quick: false }).map((r) => r.id);
  assert.deepEqual(full, ['synthetic_batch20_50exec', 'synthetic_stream_50exec', 'synthetic_batch20_50exec_train']);
  assert.throws(() => schedulingProblem.resolveInstance('tpch_bach20_50exec', { data: empty, quick: true }), /unknown instance/);
});

test('workloads: batch at t=0; stream arrivals are a Poisson process with the given mean', () => {
  const batch = sampleEpisode({ kind: 'batch', numJobs: 20 }, SYNTHETIC, new Rng(1));
  assert.equal(batch.jobs.length, 20);
  assert.equal(batch.numInitial, 20);
  assert.ok(batch.jobs.every((j) => j.arrivalMs === 0));
  const stream = sampleEpisode({ kind: 'stream', numInitial: 1, numStream: 4000, meanInterarrivalMs: 25000 }, SYNTHETIC, new Rng(2));
  assert.equal(stream.numInitial, 1);
  const t = stream.jobs.map((j) => j.arrivalMs);
  for (let i = 1; i < t.length; i++) assert.ok(t[i]! >= t[i - 1]! && Number.isInteger(t[i]));
  const meanGap = t[t.length - 1]! / 4000;
  assert.ok(Math.abs(meanGap - 25000) < 25000 * 0.05, `mean gap ${meanGap}`);
  // every template of the pool can be drawn
  const seen = new Set(stream.jobs.map((j) => j.template.name));
  assert.ok(seen.size > 140, `${seen.size} of 154 templates drawn`);
});

test('synthetic profiles look like the TPC-H ones (stage counts, one final stage, durations)', () => {
  const tpls = SYNTHETIC.templates;
  assert.equal(tpls.length, 154);
  let stages = 0, tasks = 0, sinks = 0;
  for (const t of tpls) {
    stages += t.numStages;
    for (const n of t.numTasks) tasks += n;
    for (let s = 0; s < t.numStages; s++) if (t.childPtr[s + 1] === t.childPtr[s]) sinks++;
    assert.ok(t.numStages >= 2 && t.numStages <= 18);
  }
  assert.equal(sinks, 154); // an in-tree: one final stage per job
  const meanStages = stages / 154, meanTasks = tasks / 154;
  // TPC-H: 9.2 stages and 1,155 tasks per job on average
  assert.ok(meanStages > 6 && meanStages < 13, `mean stages ${meanStages}`);
  assert.ok(meanTasks > 300 && meanTasks < 4000, `mean tasks ${meanTasks}`);
});

test('createSchedulingEnv builds an env from plain options (for rollout workers)', () => {
  const env = createSchedulingEnv({ instance: 'synthetic_batch6_12exec_train', maxStages: 200 });
  assert.equal(env.actionSpace.n, 200 * 12 + 1);
  const r = rollout(env, new WeightedFair(0), 1_000_003);
  assert.equal(env.stats().completed, 6);
  assert.ok(r.ret < 0);
  assert.throws(() => createSchedulingEnv({ instance: 'nope' }), /not a scheduling instance id/);
});

test('an id of the right form with numbers out of range says which number and what is allowed', () => {
  const ctx = { data: new DataPath({ dataDir: '/nonexistent-selfopt', env: {}, cwd: '/' }), quick: true };
  const cases: [string, RegExp][] = [
    ['synthetic_batch20_0exec', /'synthetic_batch20_0exec' has 0 executors; 1 to 10,000 are allowed/],
    ['synthetic_batch0_5exec', /has 0 jobs in the batch; 1 to 100,000 are allowed/],
    ['synthetic_stream-0s_5exec', /has a mean inter-arrival time of 0 s; it must be a finite number above 0/],
    [`synthetic_stream-1${'0'.repeat(400)}s_5exec`, /has a mean inter-arrival time of Infinity s; it must be a finite number above 0/],
    ['synthetic_batch20_3exec_mr', /has 3 executors for 4 memory classes \(_mr\)/],
  ];
  for (const [id, pattern] of cases) {
    assert.throws(() => schedulingProblem.resolveInstance(id, ctx), (e: unknown) => e instanceof SelfoptError && pattern.test(e.message) && /\[_mr\]/.test(e.message), id);
    // The server's make builds its env here: it said only "is not a scheduling instance id".
    assert.throws(() => createSchedulingEnv({ instance: id }), (e: unknown) => e instanceof SelfoptError && pattern.test(e.message) && / \(at createSchedulingEnv\)/.test(e.message), `createSchedulingEnv ${id}`);
  }
});

test('an id whose action space is too large to allocate is one clear error, not a RangeError', () => {
  assert.throws(() => createSchedulingEnv({ instance: 'synthetic_batch100000_10000exec' }),
    (e: unknown) => e instanceof SelfoptError && /action space would have [\d,]+ actions \(\d+ stage rows x 1 executor classes x 10000 executors \+ 1\), more than 1,073,741,824/.test(e.message), 'batch of 100,000 jobs on 10,000 executors');
});

test('every spelling of one instance resolves to its one canonical id, so a bench cannot run and record it twice', () => {
  const ctx = { data: new DataPath({ dataDir: '/nonexistent-selfopt', env: {}, cwd: '/' }), quick: true };
  for (const alias of ['synthetic_stream200_50exec', 'synthetic_stream-25s_50exec', 'synthetic_stream200-25.0s_50exec', 'synthetic_stream0200_050exec']) {
    assert.equal(schedulingProblem.resolveInstance(alias, ctx).id, 'synthetic_stream_50exec', alias);
  }
  assert.equal(schedulingProblem.resolveInstance('synthetic_batch020_50exec_train', ctx).id, 'synthetic_batch20_50exec_train');
  // 1000 x 0.0021 / 1000 is 0.0021000000000000003: the id keeps the seconds as typed.
  assert.equal(schedulingProblem.resolveInstance('synthetic_stream5-0.0021s_5exec', ctx).id, 'synthetic_stream5-0.0021s_5exec');
  // The recorded id is itself an id: 1e-7 and 1e+21 are not of the id's form.
  for (const seconds of ['0.0000001', '1000000000000000000000']) {
    const id = schedulingProblem.resolveInstance(`synthetic_stream5-${seconds}s_5exec`, ctx).id;
    assert.equal(id, `synthetic_stream5-${seconds}s_5exec`);
    assert.equal(schedulingProblem.resolveInstance(id, ctx).id, id);
  }
});
