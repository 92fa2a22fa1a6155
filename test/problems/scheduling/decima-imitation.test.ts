import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../../src/core/rng.js';
import { SelfoptError } from '../../../src/core/errors.js';
import { mean } from '../../../src/core/stats.js';
import { DataPath } from '../../../src/core/data.js';
import type { TrainContext } from '../../../src/core/problem.js';
import { Adam } from '../../../src/learn/index.js';
import { makeEnv, runEpisode } from '../../../src/problems/scheduling/evaluate.js';
import { instanceRef, loadInstance, type SchedulingInstance } from '../../../src/problems/scheduling/instances.js';
import { DecimaNet } from '../../../src/problems/scheduling/decima-net.js';
import { trainDecima } from '../../../src/problems/scheduling/decima-train.js';
import { equivalentLimits, runImitationEpisode, replayImitationEpisode, imitationGradient } from '../../../src/problems/scheduling/decima-imitation.js';
import { WeightedFair } from '../../../src/problems/scheduling/weighted-fair.js';
import { firstFitClass } from '../../../src/problems/scheduling/heuristics.js';
import { decimaPolicy } from '../../../src/problems/scheduling/decima-policy.js';
import type { SchedulingObs } from '../../../src/problems/scheduling/env.js';

const data = new DataPath();
const synthetic = (id: string): SchedulingInstance => loadInstance(instanceRef(id, data)!);

function trainCtx(dir: string, options: Record<string, string>): TrainContext {
  return { seed: 1, rng: new Rng(1).split('train:decima'), quick: true, options, stateDir: dir, out: join(dir, 'out.ckpt'), command: 'test', log: () => {}, progress: () => {} };
}

test('equivalent limits: every limit that sends all the executors it can is the same decision', () => {
  // job 0 holds 3 executors (limitMin 4); stage row 1 has 5 unassigned tasks; 4 executors offered; E = 20
  const o = { stageJob: Int32Array.of(0, 0), limitMin: Int32Array.of(4), stageUnassigned: Int32Array.of(0, 5), numSourceExec: 4, numExecutors: 20 } as unknown as SchedulingObs;
  assert.deepEqual(equivalentLimits(o, 1, 7), [7, 20]); // sends min(5, 7 - 3, 4) = 4: all it can
  assert.deepEqual(equivalentLimits(o, 1, 15), [7, 20]);
  assert.deepEqual(equivalentLimits(o, 1, 6), [6, 6]); // sends 3: only limit 6 does that
  const few = { ...o, stageUnassigned: Int32Array.of(0, 2) } as unknown as SchedulingObs;
  assert.deepEqual(equivalentLimits(few, 1, 9), [5, 20]); // 2 tasks: any limit from 5 sends both
});

test('imitation: with beta = 1 the expert runs the episode; fitting its labels raises the greedy agreement', (t) => {
  const inst = synthetic('synthetic_batch6_20exec_train');
  const env = makeEnv(inst);
  const expert = new WeightedFair(0);
  const net = new DecimaNet({ numExecutors: 20 }, new Rng(3));
  // beta = 1: every decision is the expert's, so the episode is fair's own (same JCT)
  const ep = runImitationEpisode(env, net, expert, inst.seedBase, new Rng(1), 1);
  assert.equal(ep.expertDecisions, ep.decisions);
  assert.ok(ep.complete && ep.steps.length > 10);
  const own = runEpisode(env, expert, inst.seedBase);
  assert.ok(Math.abs(ep.avgJctS - mean(own.jctMs) / 1000) < 1e-6, `${ep.avgJctS} vs fair's ${mean(own.jctMs) / 1000}`);
  for (let i = 0; i < ep.steps.length; i++) {
    assert.equal(ep.steps[i]!.stageMask[ep.rows[i]!], 1, 'the labelled stage is selectable');
    assert.ok(ep.limitLo[i]! <= ep.limitHi[i]! && ep.limitLo[i]! >= ep.steps[i]!.limitMin[ep.steps[i]!.s.stageJob[ep.rows[i]!]!]!);
  }
  const held = runImitationEpisode(env, net, expert, inst.seedBase + 1, new Rng(2), 1);
  const agreement = () => {
    const r = imitationGradient(net, held.steps, held.rows, held.limitLo, held.limitHi, 0);
    for (const p of net.parameters()) p.grad?.fill(0);
    return (r.stageHits + r.limitHits) / (2 * held.steps.length);
  };
  const before = agreement();
  {
    const opt = new Adam(net.parameters(), { lr: 5e-3 });
    const train = [ep, runImitationEpisode(env, net, expert, inst.seedBase + 2, new Rng(4), 1)];
    for (let it = 0; it < 20; it++) {
      for (const e of train) {
        opt.zeroGrad();
        imitationGradient(net, e.steps, e.rows, e.limitLo, e.limitHi, 1 / e.steps.length);
        opt.step();
      }
    }
    const after = agreement();
    t.diagnostic(`greedy agreement ${before.toFixed(2)} -> ${after.toFixed(2)}`);
    assert.ok(after > before + 0.15 && after > 0.6, `greedy agreement with the expert on another episode: ${before.toFixed(2)} before, ${after.toFixed(2)} after`);
  }
});

/** Two imitation iterations then REINFORCE on `inst`, in the training thread and on 2 rollout threads: the same weights both ways (checked); the first net. */
async function trainBothWays(inst: SchedulingInstance): Promise<DecimaNet> {
  const nets = [];
  for (const workers of ['0', '2']) {
    const dir = mkdtempSync(join(tmpdir(), 'decima-'));
    try {
      nets.push(await trainDecima([inst], { steps: 3 }, trainCtx(dir, { 'decima.workers': workers, 'decima.episodesPerIteration': '3', 'decima.imitationIterations': '2', 'decima.imitationUpdates': '2', 'decima.imitationBatch': '16' })));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const [a, b] = nets.map((n) => n.parameters().flatMap((p) => Array.from(p.data)));
  assert.deepEqual(b, a);
  return nets[0]!;
}

test('imitation then REINFORCE: the same training on worker threads as in the training thread', async () => {
  await trainBothWays(synthetic('synthetic_batch4_5exec_train'));
});

test('multi-resource: Decima trains on executor classes (first-fit class for the expert and the net, in both threads), then acts through a whole episode; the rollout teacher is refused there', async () => {
  // Before encodeFirstFit, training stopped at the first decision with 'invalid action': the
  // expert's and the net's (stage, limit) were encoded for one class.
  const inst = synthetic('synthetic_batch4_8exec_mr_train');
  assert.ok(inst.executorClasses && inst.executorClasses.length > 1);
  const net = await trainBothWays(inst);
  const r = runEpisode(makeEnv(inst), firstFitClass(decimaPolicy(net)), inst.seedBase);
  assert.equal(r.jctMs.length, 4, 'every job of the batch completes');
  const dir = mkdtempSync(join(tmpdir(), 'decima-mr-'));
  try {
    await assert.rejects(trainDecima([inst], { steps: 1 }, trainCtx(dir, { 'decima.imitationIterations': '1', 'decima.teacherRollouts': '2' })), /rollout teacher on executor classes/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('imitation: an episode replayed from its seed, actions and labelled flags gives its states bit for bit; a recipe the simulator does not follow is refused', () => {
  const inst = synthetic('synthetic_batch6_20exec_train');
  const env = makeEnv(inst);
  // beta 0.5: the expert and the sampling net both act, so the actions are the only record of the path.
  const ep = runImitationEpisode(env, new DecimaNet({ numExecutors: 20 }, new Rng(3)), new WeightedFair(0), inst.seedBase, new Rng(1), 0.5);
  assert.ok(ep.expertDecisions > 0 && ep.expertDecisions < ep.decisions && ep.steps.length > 10);
  // The structures' cached DAG schedules (built when the net acted) are not part of a state.
  const noCache = (steps: typeof ep.steps) => steps.map((st) => ({ ...st, s: { ...st.s, schedule: null } }));
  assert.deepEqual(noCache(replayImitationEpisode(makeEnv(inst), ep, 'test')), noCache(ep.steps));
  const refused = (recipe: typeof ep, what: RegExp) => assert.throws(() => replayImitationEpisode(env, recipe, 'the buffer file'), (e: unknown) => e instanceof SelfoptError && !e.message.includes('\n') && what.test(e.message) && /the buffer file.*--fresh/.test(e.message));
  // Another seed: another path, ended or failed elsewhere.
  refused({ ...ep, seed: ep.seed + 1 }, /replay of an imitation episode \(seed \d+, \d+ decisions, complete, average JCT [\d.]+ s\) (ended|failed)/);
  // The last action dropped: the replay stops short of the recorded end.
  refused({ ...ep, actions: ep.actions.subarray(0, -1) }, /ended after \d+ decisions \(cut/);
});
