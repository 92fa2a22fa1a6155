import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Env, rollout, type ResetResult, type StepResult } from '../../src/core/env.js';
import { Box, Discrete, MaskedDiscrete, GraphSpace, DictSpace } from '../../src/core/spaces.js';
import { Rng } from '../../src/core/rng.js';
import { SelfoptError } from '../../src/core/errors.js';

/** A noisy chain: 5 states, action 1 moves right with prob 0.9; action 0 is masked at the start. */
class Chain extends Env<Float32Array, number> {
  readonly observationSpace = new Box(0, 1, [5]);
  readonly actionSpace = new MaskedDiscrete(2);
  private pos = 0;
  private t = 0;
  private obs(): Float32Array {
    const o = new Float32Array(5);
    o[this.pos] = 1;
    return o;
  }
  private mask(): Uint8Array {
    const m = Uint8Array.of(this.pos === 0 ? 0 : 1, 1);
    this.actionSpace.setMask(m);
    return m;
  }
  protected doReset(): ResetResult<Float32Array> {
    this.pos = 0;
    this.t = 0;
    return { obs: this.obs(), info: { actionMask: this.mask() } };
  }
  protected doStep(a: number): StepResult<Float32Array> {
    this.t++;
    if (a === 1 && this.rng.next() < 0.9) this.pos++;
    else if (a === 0) this.pos--;
    const terminated = this.pos === 4;
    return { obs: this.obs(), reward: terminated ? 1 : -0.1, terminated, truncated: !terminated && this.t >= 20, info: { actionMask: this.mask() } };
  }
}

const randomPolicy = { act: (_o: Float32Array, info: { actionMask?: Uint8Array }, rng: Rng) => {
  const m = info.actionMask!;
  const ok = [0, 1].filter((a) => m[a] === 1);
  return ok[rng.int(ok.length)]!;
} };

test('same seed, same trajectory; no seed continues the stream', () => {
  const env = new Chain();
  const a = rollout(env, randomPolicy, 123);
  const b = rollout(env, randomPolicy, 123);
  assert.deepEqual(a, b);
  const returns = new Set<number>();
  for (let s = 0; s < 20; s++) returns.add(rollout(env, randomPolicy, s).ret);
  assert.ok(returns.size > 1, 'different seeds should give different episodes');
});

test('step before reset, after the end, and masked or out-of-space actions throw a SelfoptError', () => {
  const env = new Chain();
  assert.throws(() => env.step(1), SelfoptError);
  env.reset({ seed: 1 });
  // the reason, as the server tells a client: masked out, or not in the space at all
  assert.throws(() => env.step(0), /invalid action 0 is masked out by info\.actionMask \(at Chain\.step\)/);
  assert.throws(() => env.step(2), /invalid action 2 is not in \{"kind":"MaskedDiscrete"/);
  let r;
  do r = env.step(1); while (!r.terminated && !r.truncated);
  assert.throws(() => env.step(1), /after the episode ended/);
});

test('after a reset that throws, step throws until a reset succeeds', () => {
  /** A chain whose reset with {fail: true} moves back to the start, then refuses (as an env that checks late). */
  class HalfReset extends Chain {
    protected override doReset(options?: Record<string, unknown>): ResetResult<Float32Array> {
      const r = super.doReset();
      if (options?.fail) throw new SelfoptError('refused', 'HalfReset.reset', 'no fail option');
      return r;
    }
  }
  const env = new HalfReset();
  env.reset({ seed: 1 });
  env.step(1);
  assert.throws(() => env.reset({ seed: 2, options: { fail: true } }), /refused/);
  assert.throws(() => env.step(1), /step\(\) called before reset\(\)/);
  env.reset({ seed: 2 });
  assert.equal(env.step(1).reward, -0.1);
});

test('spaces: contains and sample agree', () => {
  const rng = new Rng(1);
  const spaces = [new Discrete(4, 2), new Box(-1, 1, [2, 3]), new Box(0, Infinity, [4]), new GraphSpace(3, 2), new DictSpace({ a: new Discrete(2), b: new Box(0, 1, [2]) })];
  for (const s of spaces) for (let i = 0; i < 20; i++) assert.ok(s.contains(s.sample(rng)), `${s.kind} sample not contained`);
  const d = new Discrete(4, 2);
  assert.ok(!d.contains(1) && d.contains(2) && d.contains(5) && !d.contains(6) && !d.contains(2.5));
  const m = new MaskedDiscrete(3);
  m.setMask(Uint8Array.of(0, 1, 0));
  for (let i = 0; i < 10; i++) assert.equal(m.sample(rng), 1);
  m.setMask(new Uint8Array(3));
  assert.throws(() => m.sample(rng), /masked out/);
  assert.ok(!new GraphSpace(2).contains({ numNodes: 2, nodeFeatures: new Float32Array(4), rowPtr: Int32Array.of(0, 1, 1), colIdx: Int32Array.of(5) }));
  assert.deepEqual(JSON.parse(JSON.stringify(new Box(0, 1, [2]))), { kind: 'Box', low: 0, high: 1, shape: [2] });
});

test('whyInvalid says why an action is refused, and shows a Box action as the array it is', () => {
  const chain = new Chain();
  chain.reset({ seed: 1 });
  assert.equal(chain.whyInvalid(1), undefined);
  assert.equal(chain.whyInvalid(0), 'action 0 is masked out by info.actionMask');
  assert.equal(chain.whyInvalid(2), 'action 2 is not in {"kind":"MaskedDiscrete","n":2}');
  // The server hands the env a Box action as a Float32Array: JSON.stringify showed it as {"0":5,"1":0}.
  class Push extends Env<Float32Array, Float32Array> {
    readonly observationSpace = new Box(0, 1, [1]);
    readonly actionSpace = new Box(-1, 1, [2]);
    protected doReset(): ResetResult<Float32Array> { return { obs: new Float32Array(1), info: {} }; }
    protected doStep(): StepResult<Float32Array> { return { obs: new Float32Array(1), reward: 0, terminated: true, truncated: false, info: {} }; }
  }
  assert.equal(new Push().whyInvalid(Float32Array.of(5, 0)), 'action [5,0] is not in {"kind":"Box","low":-1,"high":1,"shape":[2]}');
});

test('whyInvalid after an episode ended says it is over and to reset, for every action, in envs that add reasons of their own too (it judged the last mask: "masked out", or none)', async () => {
  const { Chain: WalkChain } = await import('../../src/learn/envs.js');
  /** An env with reasons of its own for a masked action, as the compiler and scheduling envs have. */
  class Reasoned extends WalkChain {
    protected override whyRefused(action: number): string | undefined {
      return action === 0 && this.actionSpace.mask[0] === 0 ? 'action 0 (left) is masked out: the wall is there' : super.whyRefused(action);
    }
  }
  for (const [env, end] of [[new WalkChain({ length: 3 }), 'terminated'], [new WalkChain({ length: 5, horizon: 2 }), 'was truncated'], [new Reasoned({ length: 3 }), 'terminated']] as const) {
    env.reset({ seed: 1 });
    assert.equal(env.whyInvalid(0), env instanceof Reasoned ? 'action 0 (left) is masked out: the wall is there' : 'action 0 is masked out by info.actionMask');
    let r;
    do r = env.step(1); while (!r.terminated && !r.truncated);
    for (const a of [0, 1, 2]) {
      assert.equal(env.whyInvalid(a), `action ${a} after the episode ended (it ${end}): reset() first`);
      assert.throws(() => env.step(a), /after the episode ended/); // as step() refuses it
    }
    env.reset({ seed: 1 });
    assert.equal(env.whyInvalid(1), undefined);
  }
});
