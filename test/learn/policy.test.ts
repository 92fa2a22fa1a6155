/** The policy contract: MLP actor-critic, masked sampling, flat weights, the tiny envs, bad input. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/rng.js';
import { SelfoptError } from '../../src/core/errors.js';
import { rollout } from '../../src/core/env.js';
import { tensor, noGrad } from '../../src/learn/tensor.js';
import { inference, inferenceScratchBytes, releaseBufferPool } from '../../src/learn/scratch.js';
import { logSoftmax } from '../../src/learn/ops/softmax.js';
import { MlpPolicy, sampleCategorical, getFlatWeights, setFlatWeights, asPolicy, linearSchedule } from '../../src/learn/policy.js';
import { ContextualBandit, Chain } from '../../src/learn/envs.js';
import { buildFromRef } from '../../src/learn/rollout.js';
import { floatArraysMadeBy } from '../typed-arrays.js';

test('masked actions are never sampled, and the others follow their probabilities', () => {
  // Action 1 has by far the largest logit but is masked.
  const logp = logSoftmax(tensor([0, 10, Math.log(3), 0], [1, 4]), Uint8Array.of(1, 0, 1, 1)).data;
  const rng = new Rng(3);
  const counts = [0, 0, 0, 0];
  const n = 20000;
  for (let i = 0; i < n; i++) counts[sampleCategorical(logp, 0, 4, rng)]!++;
  assert.equal(counts[1], 0);
  // p = [1, 3, 1] / 5 over the allowed actions 0, 2, 3.
  for (const [a, p] of [[0, 0.2], [2, 0.6], [3, 0.2]] as const) assert.ok(Math.abs(counts[a]! / n - p) < 0.015, `action ${a}: ${counts[a]! / n} vs ${p}`);
  assert.throws(() => sampleCategorical(Float32Array.of(-Infinity, -Infinity), 0, 2, rng), SelfoptError);
});

test('MlpPolicy: shapes, near-uniform first policy, flat weights round trip', () => {
  const p = new MlpPolicy({ obsDim: 3, numActions: 4, hidden: [8] }, new Rng(1));
  const out = p.forward([Float32Array.of(1, 0, 0), Float32Array.of(0, 1, 0)]);
  assert.deepEqual(out.logits.shape, [2, 4]);
  assert.deepEqual(out.value.shape, [2, 1]);
  for (const l of out.logits.data) assert.ok(Math.abs(l) < 0.05, `logit ${l} (actor head scaled by 0.01)`);
  const w = getFlatWeights(p);
  assert.equal(w.length, p.parameterCount());
  const q = new MlpPolicy({ obsDim: 3, numActions: 4, hidden: [8] }, new Rng(2));
  setFlatWeights(q, w);
  assert.deepEqual(getFlatWeights(q), w);
  assert.throws(() => setFlatWeights(q, new Float32Array(3)), /a weight vector of 3 floats/);
});

test('bad input: an observation of the wrong size names the batch row, the policy and the expected size', () => {
  const p = new MlpPolicy({ obsDim: 3, numActions: 2 }, new Rng(1));
  assert.throws(
    () => p.forward([Float32Array.of(1, 0, 0), new Float32Array(5)]),
    (e: unknown) => e instanceof SelfoptError && /observation 1 of the batch is a Float32Array of length 5/.test(e.what) && /MlpPolicy\.forward \(obsDim 3/.test(e.where) && /length 3/.test(e.expected),
  );
  assert.throws(() => p.forward([[1, 0, 0] as unknown as Float32Array]), /observation 0 of the batch is a Array/);
  assert.throws(() => new MlpPolicy({ obsDim: 0, numActions: 2 }, new Rng(1)), /obsDim = 0/);
});

test('module references: a missing export lists the ones there are', async () => {
  const mod = new URL('../../src/learn/envs.js', import.meta.url).href;
  const env = await buildFromRef<Chain>({ module: mod, export: 'Chain', options: { length: 3 } });
  assert.equal(env.length, 3);
  await assert.rejects(buildFromRef({ module: mod, export: 'Chian' }), (e: unknown) => e instanceof SelfoptError && /no exported function or class 'Chian'/.test(e.message) && /Chain/.test(e.expected));
  await assert.rejects(buildFromRef({ module: '/nonexistent/env.js', export: 'X' }), /cannot import/);
});

test('ContextualBandit: the seed fixes the input sequence whatever the actions; masks never hide the best arm', () => {
  const env = new ContextualBandit();
  const seq = (pick: (mask: Uint8Array, rng: Rng) => number) => {
    const rng = new Rng(5);
    let { info } = env.reset({ seed: 11 });
    const ctx: number[] = [];
    for (;;) {
      ctx.push(info.context as number);
      assert.equal(info.actionMask![env.bestArm(info.context as number)], 1);
      const r = env.step(pick(info.actionMask!, rng));
      if (r.terminated) break;
      info = r.info;
    }
    return ctx;
  };
  const first = (m: Uint8Array) => m.indexOf(1);
  const random = (m: Uint8Array, rng: Rng) => {
    const ok = [...m.keys()].filter((a) => m[a] === 1);
    return ok[rng.int(ok.length)]!;
  };
  assert.deepEqual(seq(first), seq(random));
  assert.equal(seq(first).length, 8);
  // The best policy earns info.optimalReward at every step.
  const best = { act: (_o: Float32Array, info: { context?: unknown }) => env.bestArm(info.context as number) };
  const r = rollout(env, best as never, 4);
  let opt = 0;
  let { info } = env.reset({ seed: 4 });
  for (let t = 0; t < 8; t++) {
    opt += info.optimalReward as number;
    info = env.step(env.bestArm(info.context as number)).info;
  }
  assert.equal(r.ret, opt);
});

test('Chain: optimal return, masked left at the start, truncation', () => {
  const env = new Chain({ length: 5 });
  const right = rollout(env, { act: () => 1 }, 1);
  assert.deepEqual(right, { ret: env.optimalReturn(), steps: 4, truncated: false });
  assert.ok(Math.abs(env.optimalReturn() - 0.96) < 1e-12);
  env.reset({ seed: 1 });
  assert.throws(() => env.step(0), /invalid action 0/);
  const dither = rollout(env, { act: (_o, info) => (info.position === 0 ? 1 : 0) }, 1);
  assert.equal(dither.truncated, true);
  assert.equal(dither.steps, 20);
});

test('asPolicy: greedy picks the best allowed action; linearSchedule clamps', () => {
  const p = new MlpPolicy({ obsDim: 2, numActions: 3, hidden: [4], actorOutputScale: 1 }, new Rng(9));
  const obs = Float32Array.of(1, -1);
  const logits = p.forward([obs]).logits.data;
  const order = [0, 1, 2].sort((a, b) => logits[b]! - logits[a]!);
  const g = asPolicy(p, { greedy: true });
  assert.equal(g.act(obs, {}, new Rng(1)), order[0]);
  const mask = new Uint8Array(3).fill(1);
  mask[order[0]!] = 0;
  assert.equal(g.act(obs, { actionMask: mask }, new Rng(1)), order[1]);
  assert.equal(linearSchedule(1, 0, 0.25), 0.75);
  assert.equal(linearSchedule(1, 0, 2), 0);
});

test('asPolicy acts in inference(): greedy and sampled actions are the noGrad forward pass\'s, and the scratch stops growing after the first', () => {
  releaseBufferPool(); // the scratch starts empty whatever ran before
  const env = new ContextualBandit({ horizon: 30 });
  const net = new MlpPolicy({ obsDim: 4, numActions: 4, hidden: [16, 16], actorOutputScale: 1 }, new Rng(3));
  // What act() did before: log-probabilities off a noGrad forward pass (fresh storage every op), then the choice.
  const byNoGrad = (obs: Float32Array, mask: Uint8Array | null, rng: Rng, greedy: boolean) => {
    const logp = noGrad(() => logSoftmax(net.forward([obs]).logits, mask).data);
    if (!greedy) return sampleCategorical(logp, 0, 4, rng);
    let best = -1;
    for (let j = 0; j < 4; j++) if (logp[j]! !== -Infinity && (best < 0 || logp[j]! > logp[best]!)) best = j;
    return best;
  };
  for (const greedy of [false, true]) {
    const policy = asPolicy(net, { greedy, actionStart: 0 });
    const rng = new Rng(9), ref = new Rng(9);
    let { obs, info } = env.reset({ seed: 5 });
    let held = -1, steps = 0;
    for (;;) {
      const a = policy.act(obs, info, rng);
      assert.equal(a, byNoGrad(obs, info.actionMask ?? null, ref, greedy), `greedy ${greedy}, step ${steps}`);
      if (held < 0) held = inferenceScratchBytes();
      else assert.equal(inferenceScratchBytes(), held, `greedy ${greedy}, step ${steps}: the scratch grew`);
      steps++;
      const r = env.step(a);
      if (r.terminated || r.truncated) break;
      obs = r.obs; info = r.info;
    }
    assert.equal(steps, 30);
    assert.ok(held > 0, 'the actions were chosen in inference()');
    assert.deepEqual(rng.state(), ref.state()); // as many draws as before
  }
});

test('an MlpPolicy acting stacks its observation in the inference scratch: no float array per step once warm, and the outputs of noGrad bit for bit', () => {
  const env = new ContextualBandit({ horizon: 40 });
  const net = new MlpPolicy({ obsDim: 4, numActions: 4, hidden: [16, 16], actorOutputScale: 1 }, new Rng(3));
  const policy = asPolicy(net);
  const rng = new Rng(9);
  let { obs, info } = env.reset({ seed: 5 });
  policy.act(obs, info, new Rng(0)); // the first step grows the scratch
  const outputs = (o: Float32Array) => {
    const { logits, value } = net.forward([o]);
    return Buffer.from(Float32Array.of(...logits.data, ...value.data).buffer);
  };
  for (let step = 0; ; step++) {
    assert.ok(inference(() => outputs(obs)).equals(noGrad(() => outputs(obs))), `step ${step}: logits and value`);
    let a = -1;
    assert.deepEqual(floatArraysMadeBy(() => { a = policy.act(obs, info, rng); }), { float32: 0, float64: 0 }, `step ${step}`);
    const r = env.step(a);
    if (r.terminated || r.truncated) break;
    obs = r.obs; info = r.info;
  }
});
