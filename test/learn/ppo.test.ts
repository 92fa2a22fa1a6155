/**
 * PPO: the clipped objective against a hand computation, the learning bar on the chain MDP, and
 * bit-for-bit determinism (same seed twice; in this thread vs two worker threads).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SelfoptError } from '../../src/core/errors.js';
import { rollout } from '../../src/core/env.js';
import { Tensor, tensor } from '../../src/learn/tensor.js';
import { Module, collect } from '../../src/learn/layers.js';
import { gather } from '../../src/learn/ops/sparse.js';
import { ppoLoss, trainPpo, ppoConfig, explainedVariance, type PpoConfig } from '../../src/learn/ppo.js';
import { getFlatWeights, asPolicy, type PolicyNet, type PolicyOutput } from '../../src/learn/policy.js';
import { Chain } from '../../src/learn/envs.js';
import { assertClose } from './helpers.js';

const ENVS = new URL('../../src/learn/envs.js', import.meta.url).href;
const POLICY = new URL('../../src/learn/policy.js', import.meta.url).href;

/** A policy that is a table: observation i (a row index) has logits row i and value row i. */
class TablePolicy extends Module implements PolicyNet<number> {
  readonly numActions: number;
  constructor(readonly logits: Tensor, readonly values: Tensor) {
    super();
    this.numActions = logits.shape[1]!;
  }
  forward(obs: readonly number[]): PolicyOutput {
    const idx = Int32Array.from(obs);
    return { logits: gather(this.logits, idx), value: gather(this.values, idx) };
  }
  namedParameters(): [string, Tensor][] {
    return collect([['logits', this.logits], ['values', this.values]]);
  }
  architecture() {
    return { type: 'TablePolicy' };
  }
}

const softmax = (row: number[]) => {
  const m = Math.max(...row), e = row.map((x) => Math.exp(x - m)), s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
};

test("PPO's clipped objective and its gradient match a hand computation", () => {
  const L = [[0.2, -0.1], [0.5, 0.5], [1.0, 0.0], [-0.3, 0.4]];
  const actions = Int32Array.of(0, 1, 0, 1);
  const adv = [1, 2, -1, 3];
  // Target ratios: inside the clip range; above it with A > 0 (clipped: no gradient); below it
  // with A < 0 (clipped: no gradient); below it with A > 0 (the unclipped term is the max).
  const targetRatio = [1.1, 1.5, 0.5, 0.5];
  const p = L.map(softmax);
  const newLogp = p.map((pi, i) => Math.log(pi[actions[i]!]!));
  const oldLogProbs = Float32Array.from(newLogp, (lp, i) => lp - Math.log(targetRatio[i]!));
  const V = [0, 1, 2, 3], oldValues = Float32Array.of(0.1, 0.5, 2.5, 3), returns = Float64Array.of(1, 0, 2, 5);
  const policy = new TablePolicy(tensor(L.flat(), [4, 2], { requiresGrad: true }), tensor(V, [4, 1], { requiresGrad: true }));
  const mb = { obs: [0, 1, 2, 3], actions, masks: null, oldLogProbs, advantages: Float64Array.from(adv), returns, oldValues };
  const cfg = { clipCoef: 0.2, clipVloss: true, normAdv: false, vfCoef: 0.5 };
  const parts = ppoLoss(policy, mb, cfg, 0.01);

  const ratio = newLogp.map((lp, i) => Math.exp(lp - oldLogProbs[i]!));
  const pg = ratio.map((r, i) => Math.max(-adv[i]! * r, -adv[i]! * Math.min(Math.max(r, 0.8), 1.2)));
  assertClose(pg, [-1.1, -2.4, 0.8, -1.5], 1e-6, 'per-sample objective');
  const pgLoss = pg.reduce((a, b) => a + b, 0) / 4;
  // Value loss: max of (V - R)^2 = [1, 1, 0, 4] and (Vold + clip(V - Vold, +-0.2) - R)^2 = [1, 0.49, 0.09, 4].
  const vLoss = 0.5 * (1 + 1 + 0.09 + 4) / 4;
  const entropy = p.map((pi) => -pi.reduce((s, x) => s + x * Math.log(x), 0)).reduce((a, b) => a + b, 0) / 4;
  assertClose([parts.pgLoss, parts.vLoss, parts.entropy], [pgLoss, vLoss, entropy], 1e-6);
  assertClose([parts.loss.item()], [pgLoss - 0.01 * entropy + 0.5 * vLoss], 1e-6);
  const logratio = newLogp.map((lp, i) => lp - oldLogProbs[i]!);
  assertClose([parts.approxKl, parts.oldApproxKl, parts.clipfrac], [ratio.reduce((s, r, i) => s + r - 1 - logratio[i]!, 0) / 4, -logratio.reduce((a, b) => a + b, 0) / 4, 3 / 4], 1e-6);

  // Gradient without the entropy term: samples 1 and 2 are clipped and contribute nothing;
  // sample i otherwise gives -A_i r_i (onehot(a_i) - p_i) / 4 on its logits row.
  policy.zeroGrad();
  ppoLoss(policy, mb, cfg, 0).loss.backward();
  const expected = L.flatMap((_, i) => [0, 1].map((j) => (i === 1 || i === 2 ? 0 : (-adv[i]! * ratio[i]! * ((j === actions[i] ? 1 : 0) - p[i]![j]!)) / 4)));
  assertClose(policy.logits.grad!, expected, 1e-6, 'dL/dlogits');
  // Value gradient 0.5 * d/dV 0.5 mean(max(...)): (V - R) / 4 * 0.5 where the unclipped term wins;
  // 0 for sample 2, whose clipped term wins with V - Vold outside the clip range.
  assertClose(policy.values.grad!, [-0.125, 0.125, 0, -0.25], 1e-6, 'dL/dV');

  // normAdv: advantages standardized with the n - 1 standard deviation, as torch's std().
  const mean = adv.reduce((a, b) => a + b, 0) / 4, sd = Math.sqrt(adv.reduce((s, a) => s + (a - mean) ** 2, 0) / 3);
  const na = adv.map((a) => (a - mean) / (sd + 1e-8));
  const pgN = ratio.map((r, i) => Math.max(-na[i]! * r, -na[i]! * Math.min(Math.max(r, 0.8), 1.2))).reduce((a, b) => a + b, 0) / 4;
  assertClose([ppoLoss(policy, mb, { ...cfg, normAdv: true }, 0).pgLoss], [pgN], 1e-6);
});

const chain = (length: number): Pick<PpoConfig, 'env' | 'policy'> => ({
  env: { module: ENVS, export: 'Chain', options: { length } },
  policy: { module: POLICY, export: 'MlpPolicy', options: { obsDim: length, numActions: 2, hidden: [32, 32] } },
});

test('learning bar: PPO solves the 12-state chain (optimal return 0.89) within 4096 env steps, seed 1', async () => {
  // A uniformly random policy reaches the end of the chain within the 48-step horizon in few episodes.
  const r = await trainPpo({ ...chain(12), seed: 1, totalTimesteps: 4096, numEnvs: 4, numSteps: 64, learningRate: 2.5e-3 });
  const first = r.log.updates[0]!, last = r.log.updates.at(-1)!;
  assert.equal(last.globalStep, 4096);
  assert.ok(first.meanReturn === null || first.meanReturn < 0.5, `first rollout: ${first.meanReturn}`);
  assert.ok(last.meanReturn !== null && last.meanReturn >= 0.88, `episodes of the last rollout: mean return ${last.meanReturn}, bar 0.88`);
  const env = new Chain({ length: 12 });
  assert.equal(rollout(env, asPolicy(r.policy, { greedy: true }), 0).ret, env.optimalReturn());
  // The log records what is needed to reproduce and compare the run.
  assert.equal(r.log.seed, 1);
  assert.equal(r.log.config.learningRate, 2.5e-3);
  assert.equal(typeof r.log.codeVersion, 'string');
  assert.ok(r.log.stepsPerSec > 0 && last.sps > 0);
  assert.equal(last.learningRate, 2.5e-3 / 16); // annealed linearly: 1/16 left at the 16th update
});

test('same seed, same weights bit for bit: twice in this thread, and with 2 worker threads', async () => {
  const cfg = { ...chain(12), seed: 7, totalTimesteps: 1024, numEnvs: 4, numSteps: 64, learningRate: 2.5e-3, entCoefEnd: 0 };
  const a = await trainPpo(cfg);
  const b = await trainPpo(cfg);
  const w = await trainPpo({ ...cfg, workers: 2 });
  const bytes = (x: Awaited<ReturnType<typeof trainPpo>>) => Buffer.from(getFlatWeights(x.policy).buffer);
  assert.ok(bytes(a).equals(bytes(b)), 'two in-thread runs differ');
  assert.equal(w.log.workers, 2);
  assert.ok(bytes(a).equals(bytes(w)), 'in-thread and 2-worker runs differ');
  assert.deepEqual(w.log.updates.map((u) => u.meanReturn), a.log.updates.map((u) => u.meanReturn));
  // A different seed gives different weights.
  const c = await trainPpo({ ...cfg, seed: 8 });
  assert.ok(!bytes(a).equals(bytes(c)));
});

test('bad input: policy/env mismatches and bad hyperparameters are SelfoptErrors saying what was expected', async () => {
  await assert.rejects(
    trainPpo({ ...chain(12), policy: { module: POLICY, export: 'MlpPolicy', options: { obsDim: 5, numActions: 2 } }, totalTimesteps: 512 }),
    (e: unknown) => e instanceof SelfoptError && /reads observations of length 5 but the env's observation space is Box of shape \[12\]/.test(e.what) && /env Chain with policy MlpPolicy/.test(e.where) && /obsDim 12/.test(e.expected),
  );
  await assert.rejects(
    trainPpo({ ...chain(12), policy: { module: POLICY, export: 'MlpPolicy', options: { obsDim: 12, numActions: 3 } }, totalTimesteps: 512, workers: 1 }),
    (e: unknown) => e instanceof SelfoptError && /3 actions but the env's action space has 2/.test(e.what) && /rollout worker 0/.test(e.where),
  );
  assert.throws(() => ppoConfig({ ...chain(4), gamma: 1.5 }), /gamma = 1\.5.*a number in \[0, 1\]/);
  assert.throws(() => ppoConfig({ ...chain(4), totalTimesteps: 10 }), /at least one rollout/);
  assert.equal(explainedVariance([1, 2], [1, 2]), 1);
  assert.equal(explainedVariance([0, 0], [3, 3]), null);
});
