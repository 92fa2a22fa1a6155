/**
 * REINFORCE: the learning bar on the contextual bandit with Decima's input-dependent baseline,
 * what the baselines do to the advantages' spread, the other options, and determinism.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/rng.js';
import { trainReinforce, type ReinforceConfig } from '../../src/learn/reinforce.js';
import { getFlatWeights, asPolicy } from '../../src/learn/policy.js';
import { ContextualBandit } from '../../src/learn/envs.js';

const ENVS = new URL('../../src/learn/envs.js', import.meta.url).href;
const POLICY = new URL('../../src/learn/policy.js', import.meta.url).href;

const bandit: Partial<ReinforceConfig> & Pick<ReinforceConfig, 'env' | 'policy'> = {
  env: { module: ENVS, export: 'ContextualBandit', options: {} },
  policy: { module: POLICY, export: 'MlpPolicy', options: { obsDim: 4, numActions: 4, hidden: [16] } },
  numSequences: 4,
  episodesPerSequence: 4,
  learningRate: 0.03,
  entropyWeightInit: 0.1,
  entropyWeightDecay: 0.002,
  entropyWeightMin: 0.001,
};

/** Expected return of the (sampling) policy over 50 held-out input sequences, as a fraction of the best possible. */
function fractionOfOptimal(policy: Awaited<ReturnType<typeof trainReinforce>>['policy']): number {
  const env = new ContextualBandit();
  const p = asPolicy(policy);
  let got = 0, best = 0;
  for (let s = 0; s < 50; s++) {
    const rng = new Rng(1000 + s);
    let { obs, info } = env.reset({ seed: 1000 + s });
    for (;;) {
      best += info.optimalReward as number;
      const r = env.step(p.act(obs, info, rng));
      got += r.reward;
      if (r.terminated) break;
      obs = r.obs;
      info = r.info;
    }
  }
  return got / best;
}

test('learning bar: REINFORCE with the input-dependent baseline earns >= 95% of the optimal bandit return within 3840 env steps, seed 1', async () => {
  const r = await trainReinforce({ ...bandit, seed: 1, iterations: 30, baseline: 'input' });
  assert.equal(r.log.iterations.at(-1)!.globalStep, 3840); // 30 iterations x 16 episodes x 8 steps
  const untrained = await trainReinforce({ ...bandit, seed: 1, iterations: 1, learningRate: 1e-9 });
  const before = fractionOfOptimal(untrained.policy), after = fractionOfOptimal(r.policy);
  assert.ok(before < 0.45, `untrained: ${before}`);
  assert.ok(after >= 0.95, `trained: ${after} of the optimal return, bar 0.95`);
  assert.equal(r.log.config.baseline, 'input');
  assert.equal(r.log.iterations[1]!.entropyWeight, 0.098);
});

test('on the same first batch, the input-dependent baseline leaves the smallest advantages, then the time baseline, then none', async () => {
  // Iteration 1 runs the same episodes whatever the baseline (same seed, same initial weights).
  const std: Record<string, number> = {};
  for (const baseline of ['input', 'time', 'none'] as const) std[baseline] = (await trainReinforce({ ...bandit, seed: 3, iterations: 1, baseline })).log.iterations[0]!.advantageStd;
  // At the uniform initial policy most of the spread is the policy's own; the input's share is what goes.
  assert.ok(std.input! < 0.9 * std.time! && std.time! < std.none!, JSON.stringify(std));
});

test('value baseline, differential reward and a clock from info run and log their figures', async () => {
  const r = await trainReinforce({ ...bandit, seed: 2, iterations: 3, baseline: 'value', differentialReward: true, timeKey: 'time', chunkSize: 20 });
  const row = r.log.iterations.at(-1)!;
  assert.ok(row.vLoss !== null && Number.isFinite(row.vLoss));
  assert.ok(row.rewardRate !== null && row.rewardRate > 0);
  assert.ok(Number.isFinite(row.pgLoss) && row.entropy > 0 && row.entropy <= 1);
});

test('same seed, same weights bit for bit: in this thread and with 2 worker threads', async () => {
  const cfg = { ...bandit, seed: 5, iterations: 3 };
  const a = await trainReinforce(cfg);
  const w = await trainReinforce({ ...cfg, workers: 2 });
  assert.equal(w.log.workers, 2);
  assert.ok(Buffer.from(getFlatWeights(a.policy).buffer).equals(Buffer.from(getFlatWeights(w.policy).buffer)));
  assert.deepEqual(w.log.iterations.map((i) => i.meanReturn), a.log.iterations.map((i) => i.meanReturn));
});
