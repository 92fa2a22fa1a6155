/**
 * Agreement with decima-sim, event for event. The golden values below were produced by a
 * line-by-line Python transcription of decima-sim's spark_env (env.py, node.py, job_dag.py,
 * executor_commit.py, moving_executors.py, free_executors.py) and of its DynamicPartitionAgent,
 * run on the same deterministic profiles (fixtures.deterministicEpisode: one duration per wave,
 * so no random number matters). That harness is not in the repository (it is decima-sim's code);
 * these numbers are its output. Every task start (time, executor, job, stage, duration) is
 * pinned by a hash, and every job's completion time and the decision count are compared.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTemplate } from '../../../src/problems/scheduling/profiles.js';
import { SchedulingEnv } from '../../../src/problems/scheduling/env.js';
import { WeightedFair } from '../../../src/problems/scheduling/weighted-fair.js';
import { deterministicEpisode, fnv, oddPolicy } from './fixtures.js';

interface Golden {
  seed: number; n: number; E: number; stream: boolean; policy: 'fair' | 'odd';
  completion: (number | null)[]; decisions: number; starts: number; hash: string;
}

const GOLDEN: Golden[] = [
  { seed: 11, n: 20, E: 50, stream: false, policy: 'fair', completion: [43465, 34769, 64990, 28892, 72394, 61890, 77856, 82938, 103105, 11463, 121292, 68890, 47996, 80553, 31021, 86135, 22042, 88998, 127992, 75179], decisions: 325, starts: 23405, hash: 'a7e40adf' },
  { seed: 12, n: 12, E: 30, stream: true, policy: 'fair', completion: [7969, 24045, 44488, 69588, 100946, 109352, 117484, 130183, 161712, 173578, 170032, 184491], decisions: 185, starts: 6435, hash: '8725c069' },
  { seed: 13, n: 8, E: 100, stream: true, policy: 'odd', completion: [18946, 204589, 209563, 212413, 153543, 156789, 161661, 146211], decisions: 263, starts: 10756, hash: '6322f810' },
  // decima-sim gets stuck here (no event left, 2 jobs unfinished: the odd policy idled every
  // executor); up to that point the episodes agree, then ours hands the idle executors back.
  { seed: 14, n: 10, E: 25, stream: false, policy: 'odd', completion: [null, null, 683521, 518510, 439132, 385340, 316642, 345364, 32634, 11543], decisions: 144, starts: 8268, hash: 'f10eeace' },
];

function run(g: Golden) {
  const ep = deterministicEpisode(g.seed, g.n, g.stream);
  const tpls = ep.raw.map((r, i) => buildTemplate(r, { file: 'deterministic', index: i }));
  const env = new SchedulingEnv({ numExecutors: g.E, pool: { name: 'det', templates: tpls, numQueries: g.n, numSizes: 1 }, workload: { kind: 'batch', numJobs: g.n }, recordEvents: true, maxStages: 1000 });
  let { obs, info } = env.reset({ seed: 1, options: { jobs: tpls.map((t, i) => ({ template: t, arrivalMs: ep.arrivals[i]! })), numInitial: g.stream ? 1 : g.n } });
  const policy = g.policy === 'odd' ? oddPolicy() : new WeightedFair(0);
  for (;;) {
    const r = env.step(policy.act(obs, info));
    if (r.terminated) break;
    ({ obs, info } = r);
  }
  const starts = env.sim.log.filter((e) => e.kind === 'task-start').map((e) => `${e.time}:${e.executor}:${e.job}:${e.stage - env.sim.jobStageBase[e.job]!}:${e.durationMs}`);
  return { env, starts };
}

test('fair (DynamicPartitionAgent) and an odd policy replay decima-sim event for event', () => {
  for (const g of GOLDEN.filter((x) => !x.completion.includes(null))) {
    const { env, starts } = run(g);
    const where = `seed ${g.seed} (${g.policy}, ${g.stream ? 'stream' : 'batch'}, ${g.E} executors)`;
    assert.deepEqual([...env.sim.jobCompletion], g.completion, where);
    assert.equal(env.sim.decisions, g.decisions, where);
    assert.equal(starts.length, g.starts, where);
    assert.equal(fnv(starts.join(',')), g.hash, where);
    assert.equal(env.sim.recoveries, 0);
  }
});

test('where decima-sim gets stuck, the episode agrees up to that point, then recovers', () => {
  const g = GOLDEN.find((x) => x.completion.includes(null))!;
  const { env, starts } = run(g);
  assert.equal(fnv(starts.slice(0, g.starts).join(',')), g.hash);
  g.completion.forEach((c, j) => { if (c !== null) assert.equal(env.sim.jobCompletion[j], c); });
  assert.equal(env.sim.recoveries, 1);
  assert.equal(env.stats().completed, g.n);
});
