/**
 * Rollout collection: the same trajectories in this thread and across workers, masks respected,
 * truncation bootstraps recorded, worker errors surfaced, and graph observations end to end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/rng.js';
import { SelfoptError } from '../../src/core/errors.js';
import type { Env, Info } from '../../src/core/env.js';
import { MlpPolicy, getFlatWeights, sampleCategorical } from '../../src/learn/policy.js';
import { RolloutCollector, obsAt, type Trajectory, type CollectorOptions } from '../../src/learn/rollout.js';
import { noGrad } from '../../src/learn/tensor.js';
import { inferenceScratchBytes, releaseBufferPool } from '../../src/learn/scratch.js';
import { logSoftmax } from '../../src/learn/ops/softmax.js';
import { Chain, ContextualBandit } from '../../src/learn/envs.js';
import { trainPpo } from '../../src/learn/ppo.js';

const ENVS = new URL('../../src/learn/envs.js', import.meta.url).href;
const POLICY = new URL('../../src/learn/policy.js', import.meta.url).href;
const GRAPH = new URL('./graph-fixture.js', import.meta.url).href;

function banditCollector(workers: number, numEnvs: number): CollectorOptions {
  const base = new Rng(11).split('actions');
  return {
    env: { module: ENVS, export: 'ContextualBandit', options: { horizon: 5 } },
    policy: { module: POLICY, export: 'MlpPolicy', options: { obsDim: 4, numActions: 4, hidden: [8] } },
    workers,
    runners: Array.from({ length: numEnvs }, (_, i) => ({ index: i, seed: 100 + i, rngState: base.split(i).state() })),
    run: { timeKey: 'time', maxEpisodeSteps: Infinity },
  };
}

async function collect(workers: number): Promise<Trajectory<Float32Array>[][]> {
  const weights = getFlatWeights(new MlpPolicy({ obsDim: 4, numActions: 4, hidden: [8], actorOutputScale: 1 }, new Rng(2)));
  const c = await RolloutCollector.create<Float32Array>(banditCollector(workers, 3));
  try {
    // Two calls: the env copies carry over from one to the next.
    return [await c.collectSteps(weights, 7), await c.collectSteps(weights, 7)];
  } finally {
    await c.close();
  }
}

test('steps mode: in this thread, 2 and 3 workers give the same trajectories in env order; masked actions never taken', async () => {
  const local = await collect(0);
  for (const w of [2, 3]) assert.deepEqual(await collect(w), local, `${w} workers`);
  for (const tr of local.flat()) {
    assert.equal(tr.length, 7);
    assert.ok(tr.masks !== null);
    for (let t = 0; t < tr.length; t++) assert.equal(tr.masks[t * 4 + tr.actions[t]!], 1, `env ${tr.index} step ${t} took a masked action`);
  }
  assert.deepEqual(local[0]!.map((tr) => tr.index), [0, 1, 2]);
  // Horizon 5 within 14 steps: episodes end at steps 4 and 9 of the run (the second call's step 2).
  assert.deepEqual(Array.from(local[0]![0]!.terminated), [0, 0, 0, 0, 1, 0, 0]);
  assert.deepEqual(local[0]![0]!.episodeLengths, [5]);
  assert.deepEqual(Array.from(local[1]![0]!.terminated), [0, 0, 1, 0, 0, 0, 0]);
  // The clock (info.time) restarts with each episode.
  assert.ok(local[0]![0]!.times[5]! < local[0]![0]!.times[4]!);
  // Different env copies see different input sequences.
  assert.notDeepEqual(local[0]![0]!.obs, local[0]![1]!.obs);
  assert.equal(obsAt(local[0]![0]!.obs, 2).length, 4);
});

test('episodes mode: tasks come back in task order, the same with workers; a cut episode records V(final obs)', async () => {
  const weights = getFlatWeights(new MlpPolicy({ obsDim: 6, numActions: 2, hidden: [8] }, new Rng(4)));
  const tasks = Array.from({ length: 5 }, (_, j) => ({ index: j, seed: 7 + (j % 2), rngState: new Rng(1).split(j).state() }));
  const run = async (workers: number) => {
    const c = await RolloutCollector.create<Float32Array>({ env: { module: ENVS, export: 'Chain', options: { length: 6, horizon: 50 } }, policy: { module: POLICY, export: 'MlpPolicy', options: { obsDim: 6, numActions: 2, hidden: [8] } }, workers, runners: [], run: { timeKey: null, maxEpisodeSteps: 10 } });
    try {
      return await c.collectEpisodes(weights, tasks);
    } finally {
      await c.close();
    }
  };
  const local = await run(0);
  assert.deepEqual(await run(2), local);
  assert.deepEqual(local.map((tr) => tr.index), [0, 1, 2, 3, 4]);
  assert.deepEqual(local.map((tr) => tr.truncated[tr.length - 1]), [1, 0, 1, 1, 1]); // both endings occur
  for (const tr of local) {
    const last = tr.length - 1;
    assert.equal(tr.terminated[last]! + tr.truncated[last]!, 1);
    if (tr.truncated[last] === 1) {
      assert.equal(tr.length, 10);
      assert.notEqual(tr.finalValues[last], 0);
    }
    assert.deepEqual(Array.from(tr.times), Array.from({ length: tr.length }, (_, t) => t + 1));
  }
});

test('an error inside a worker comes back as a SelfoptError naming the worker', async () => {
  await assert.rejects(
    RolloutCollector.create({ ...banditCollector(1, 1), env: { module: ENVS, export: 'ContextualBandit', options: { arms: 1 } } }),
    (e: unknown) => e instanceof SelfoptError && /option arms = 1/.test(e.what) && /rollout worker 0/.test(e.where) && /integer >= 2/.test(e.expected),
  );
  const c = await RolloutCollector.create<Float32Array>({ ...banditCollector(0, 1), run: { timeKey: 'clock', maxEpisodeSteps: Infinity } });
  await assert.rejects(
    c.collectSteps(getFlatWeights(new MlpPolicy({ obsDim: 4, numActions: 4, hidden: [8] }, new Rng(2))), 3),
    (e: unknown) => e instanceof SelfoptError && /info\.clock is undefined/.test(e.what) && /env copy 0/.test(e.where),
  );
  await c.close();
});

test('graph observations: a GraphObs policy trains with PPO through the same contract, the same with a worker', async () => {
  const cfg = {
    env: { module: GRAPH, export: 'PickMaxNode', options: { nodes: 5 } },
    policy: { module: GRAPH, export: 'NodeScorePolicy', options: { nodes: 5 } },
    seed: 3, totalTimesteps: 2048, numEnvs: 2, numSteps: 64, learningRate: 1e-2, gamma: 0,
  };
  const a = await trainPpo(cfg);
  const first = a.log.updates[0]!.meanReturn!, last = a.log.updates.at(-1)!.meanReturn!;
  assert.ok(last > first + 0.5 && last >= 3, `mean return per 4-step episode: ${first} -> ${last}`);
  const w = await trainPpo({ ...cfg, totalTimesteps: 256, workers: 1 });
  const b = await trainPpo({ ...cfg, totalTimesteps: 256 });
  assert.ok(Buffer.from(getFlatWeights(w.policy).buffer).equals(Buffer.from(getFlatWeights(b.policy).buffer)));
});

/**
 * The rollout as EnvRunner ran it before, every forward pass under noGrad (fresh storage every
 * op): each trajectory's actions, log-probabilities, values, final values and next value, from
 * its env copy (or task) replayed with the same seeds and sampling Rng.
 */
class NoGradRunner {
  obs: Float32Array;
  info: Info;
  epLength = 0;
  constructor(readonly env: Env<Float32Array, number>, readonly net: MlpPolicy, readonly rng: Rng, seed: number, readonly maxEpisodeSteps: number) {
    ({ obs: this.obs, info: this.info } = env.reset({ seed, options: undefined }));
  }

  evaluate(obs: Float32Array, mask: Uint8Array | null): { logp: Float32Array; value: number } {
    return noGrad(() => {
      const out = this.net.forward([obs]);
      return { logp: logSoftmax(out.logits, mask).data as Float32Array, value: out.value.data[0]! };
    });
  }

  /** The next `tr.length` steps, checked against `tr` (what the collector recorded). */
  check(tr: Trajectory<Float32Array>, where: string, resetAtEnd: boolean): void {
    const n = tr.length, A = this.net.numActions;
    const actions = new Int32Array(n), logProbs = new Float32Array(n), values = new Float32Array(n), finalValues = new Float32Array(n);
    for (let t = 0; t < n; t++) {
      assert.deepEqual(obsAt(tr.obs, t), this.obs, `${where}, step ${t}: observation`);
      const mask = this.info.actionMask ?? null;
      const { logp, value } = this.evaluate(this.obs, mask);
      const a = sampleCategorical(logp, 0, A, this.rng);
      actions[t] = a; logProbs[t] = logp[a]!; values[t] = value;
      const r = this.env.step(a);
      this.epLength++;
      const truncated = r.truncated || (!r.terminated && this.epLength >= this.maxEpisodeSteps);
      this.obs = r.obs; this.info = r.info;
      if (r.terminated || truncated) {
        if (truncated && !r.terminated) finalValues[t] = this.evaluate(r.obs, null).value;
        this.epLength = 0;
        if (resetAtEnd) ({ obs: this.obs, info: this.info } = this.env.reset({ options: undefined }));
      }
    }
    const bytes = (x: Int32Array | Float32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
    assert.deepEqual(tr.actions, actions, `${where}: actions`);
    assert.ok(bytes(tr.logProbs).equals(bytes(logProbs)), `${where}: log-probabilities`);
    assert.ok(bytes(tr.values).equals(bytes(values)), `${where}: values`);
    assert.ok(bytes(tr.finalValues).equals(bytes(finalValues)), `${where}: final values`);
    if (resetAtEnd) assert.ok(Object.is(tr.nextValue, this.evaluate(this.obs, this.info.actionMask ?? null).value), `${where}: next value`);
  }
}

test('rollouts act in inference(): actions, log-probabilities and values are the noGrad forward pass\'s, bit for bit, and the scratch stops growing after the first step', async () => {
  releaseBufferPool(); // the scratch starts empty whatever ran before
  // Steps mode: ContextualBandit copies (masked, episodes of 5) over three collections.
  const net = new MlpPolicy({ obsDim: 4, numActions: 4, hidden: [8], actorOutputScale: 1 }, new Rng(2)); // banditCollector's shape
  const opts = banditCollector(0, 2);
  const c = await RolloutCollector.create<Float32Array>(opts);
  const calls: Trajectory<Float32Array>[][] = [], held: number[] = [];
  try {
    for (let k = 0; k < 3; k++) {
      calls.push(await c.collectSteps(getFlatWeights(net), 7));
      held.push(inferenceScratchBytes());
    }
  } finally {
    await c.close();
  }
  assert.ok(held[0]! > 0, 'the forward passes ran in inference()');
  assert.deepEqual(held, [held[0], held[0], held[0]]);
  for (const spec of opts.runners) {
    const ref = new NoGradRunner(new ContextualBandit({ horizon: 5 }), net, Rng.fromState(spec.rngState), spec.seed, Infinity);
    calls.forEach((trs, k) => ref.check(trs[spec.index]!, `env copy ${spec.index}, collection ${k}`, true));
  }
  // Episodes mode: Chain episodes cut at 10 steps, whose final observation's value is recorded.
  const chain = new MlpPolicy({ obsDim: 6, numActions: 2, hidden: [8] }, new Rng(4));
  const tasks = Array.from({ length: 5 }, (_, j) => ({ index: j, seed: 7 + (j % 2), rngState: new Rng(1).split(j).state() }));
  const e = await RolloutCollector.create<Float32Array>({ env: { module: ENVS, export: 'Chain', options: { length: 6, horizon: 50 } }, policy: { module: POLICY, export: 'MlpPolicy', options: { obsDim: 6, numActions: 2, hidden: [8] } }, workers: 0, runners: [], run: { timeKey: null, maxEpisodeSteps: 10 } });
  let episodes: Trajectory<Float32Array>[];
  try {
    episodes = await e.collectEpisodes(getFlatWeights(chain), tasks);
    const before = inferenceScratchBytes();
    assert.deepEqual(await e.collectEpisodes(getFlatWeights(chain), tasks), episodes);
    assert.equal(inferenceScratchBytes(), before);
  } finally {
    await e.close();
  }
  assert.ok(episodes.some((tr) => tr.finalValues[tr.length - 1] !== 0), 'an episode was cut');
  for (const task of tasks) {
    const ref = new NoGradRunner(new Chain({ length: 6, horizon: 50 }), chain, Rng.fromState(task.rngState), task.seed, 10);
    ref.check(episodes[task.index]!, `task ${task.index}`, false);
  }
});
