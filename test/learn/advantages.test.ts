/** Returns, GAE, Decima's input-dependent baseline and differential reward, against hand computations. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SelfoptError } from '../../src/core/errors.js';
import { discountedReturns, gae, piecewiseLinearBaseline, AverageRewardRate } from '../../src/learn/advantages.js';
import { reinforceAdvantages, entropyWeightAt } from '../../src/learn/reinforce.js';
import { assertClose } from './helpers.js';

test('discounted return-to-go', () => {
  assertClose(discountedReturns([1, 2, 3], 0.5), [1 + 0.5 * (2 + 0.5 * 3), 2 + 1.5, 3]);
  assertClose(discountedReturns([1, 2, 3], 1), [6, 5, 3]);
  assert.equal(discountedReturns([], 0.9).length, 0);
});

test('GAE: a hand-computed segment with a termination inside and a bootstrap at the end', () => {
  // gamma 0.9, lambda 0.8 (gamma * lambda = 0.72), V(next obs) = 0.6:
  //   t=3: delta = 1 + 0.9*0.6 - 0.2 = 1.34                 A = 1.34
  //   t=2: delta = 2 + 0.9*0.2 - 0.3 = 1.88                 A = 1.88 + 0.72*1.34 = 2.8448
  //   t=1: terminated: delta = 0 - 0.4 = -0.4               A = -0.4 (nothing carried)
  //   t=0: delta = 1 + 0.9*0.4 - 0.5 = 0.86                 A = 0.86 + 0.72*(-0.4) = 0.572
  const seg = { rewards: [1, 0, 2, 1], values: [0.5, 0.4, 0.3, 0.2], terminated: [0, 1, 0, 0], truncated: [0, 0, 0, 0], finalValues: [0, 0, 0, 0], nextValue: 0.6 };
  const { advantages, returns } = gae(seg, 0.9, 0.8);
  assertClose(advantages, [0.572, -0.4, 2.8448, 1.34], 1e-12);
  assertClose(returns, [1.072, 0, 3.1448, 1.54], 1e-12);
});

test('GAE: a truncated step bootstraps from V(final obs) and carries nothing over', () => {
  const seg = { rewards: [1, 1], values: [0.5, 0.5], terminated: [0, 0], truncated: [1, 0], finalValues: [2, 0], nextValue: 1 };
  // t=1: 1 + 0.9*1 - 0.5 = 1.4; t=0: 1 + 0.9*2 - 0.5 = 2.3 (the next step belongs to a new episode).
  assertClose(gae(seg, 0.9, 0.8).advantages, [2.3, 1.4], 1e-12);
  // Without bootstrapping (ppo.py's treatment of every done): 1 - 0.5.
  assertClose(gae(seg, 0.9, 0.8, false).advantages, [0.5, 1.4], 1e-12);
  // lambda = 1, no dones: the discounted return minus the value.
  const mc = gae({ rewards: [1, 2], values: [0, 0], terminated: [0, 1], truncated: [0, 0], finalValues: [0, 0], nextValue: 9 }, 0.5, 1);
  assertClose(mc.advantages, [2, 2]);
});

test("Decima's input-dependent baseline: piecewise-linear in time, averaged over the episodes", () => {
  // Episode A: times 1, 2, 4, returns-to-go 6, 4, 1; episode B: times 1, 3, returns 5, 2.
  //   tau=1: A 6, B 5                                          -> 5.5
  //   tau=2: A 4 (a point), B between (1,5) and (3,2): 3.5     -> 3.75
  //   tau=3: A between (2,4) and (4,1): 2.5, B 2 (a point)     -> 2.25
  //   tau=4: A 1, B after its last point: 2                     -> 1.5
  const b = piecewiseLinearBaseline([[6, 4, 1], [5, 2]], [[1, 2, 4], [1, 3]]);
  assertClose(b[0]!, [5.5, 3.75, 1.5], 1e-12);
  assertClose(b[1]!, [5.5, 2.25], 1e-12);
  // Several decisions at one time (Decima schedules several stages at one instant): each curve is
  // read at its first point with that time, so they share one baseline value.
  assertClose(piecewiseLinearBaseline([[3, 2, 1]], [[1, 1, 2]])[0]!, [3, 3, 1]);
  // Before a curve's first point: its first value. Empty episodes are left out of the mean.
  assertClose(piecewiseLinearBaseline([[4], [2, 0], []], [[5], [1, 2], []])[1]!, [(4 + 2) / 2, (4 + 0) / 2]);
  assert.throws(() => piecewiseLinearBaseline([[1, 2]], [[2, 1]]), (e: unknown) => e instanceof SelfoptError && /non-decreasing/.test(e.message));
});

test('REINFORCE advantages: input baseline within a sequence, time baseline over all, value and none', () => {
  // Two episodes of sequence 0 and one of sequence 1, times = step counts 1..n, gamma 1.
  const eps = [
    { rewards: [1, 1], times: [1, 2], startTime: 0, values: [0.5, 0.25] },
    { rewards: [3, 1], times: [1, 2], startTime: 0, values: [0, 0] },
    { rewards: [10, 10], times: [1, 2], startTime: 0, values: [0, 0] },
  ];
  // Returns-to-go: [2, 1], [4, 1], [20, 10].
  const input = reinforceAdvantages(eps, [0, 0, 1], 'input', 1);
  assertClose(input.returns[0]!, [2, 1]);
  assertClose(input.advantages[0]!, [2 - 3, 0]);
  assertClose(input.advantages[1]!, [4 - 3, 0]);
  assertClose(input.advantages[2]!, [0, 0]); // alone in its sequence
  const time = reinforceAdvantages(eps, [0, 0, 1], 'time', 1);
  assertClose(time.advantages[0]!, [2 - 26 / 3, 1 - 4]);
  assertClose(reinforceAdvantages(eps, [0, 0, 1], 'value', 1).advantages[0]!, [1.5, 0.75]);
  assertClose(reinforceAdvantages(eps, [0, 0, 1], 'none', 1).advantages[2]!, [20, 10]);
});

test("Decima's differential reward: r - rate * dt, with the batch added to the rate first", () => {
  const rate = new AverageRewardRate(100);
  // dt = [1, 2] (start 0, times 1 and 3); rate = (3 + 3) / 3 = 2; rewards become [1, -1].
  const { returns } = reinforceAdvantages([{ rewards: [3, 3], times: [1, 3], startTime: 0, values: [0, 0] }], [0], 'none', 1, rate);
  assert.equal(rate.rate(), 2);
  assertClose(returns[0]!, [0, -1]);
  // The window keeps the last pairs; zero-duration pairs are skipped.
  const w = new AverageRewardRate(2);
  w.add(100, 1);
  w.add(5, 0);
  w.add(1, 1);
  w.add(3, 1);
  assert.equal(w.rate(), 2);
});

test("Decima's entropy weight schedule: linear decrease to a floor", () => {
  const cfg = { entropyWeightInit: 1, entropyWeightMin: 0.0001, entropyWeightDecay: 0.001 };
  assert.equal(entropyWeightAt(cfg, 0), 1);
  assertClose([entropyWeightAt(cfg, 500)], [0.5]);
  assert.equal(entropyWeightAt(cfg, 5000), 0.0001);
});
