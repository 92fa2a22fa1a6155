/**
 * Two tiny environments with known optimal returns, for the policy-gradient tests and the
 * benchmark. Both follow src/core/env.ts and take plain JSON options in their constructor, so a
 * rollout worker can build them from {module, export, options}.
 *
 * ContextualBandit: an input-driven task (Mao et al., ICLR 2019). Each step shows one of K
 *   contexts; pulling the context's best arm pays (context + 1), any other arm pays 0. One
 *   non-best arm is masked at every step. The contexts and masks are drawn from the env's Rng a
 *   fixed number of times per step whatever the actions, so the seed alone fixes the input
 *   sequence: episodes with the same seed differ only through the policy. Their returns depend
 *   strongly on that sequence (a run of context 3 pays four times a run of context 0), which is
 *   the variance an input-dependent baseline removes.
 *   Optimal return: the sum of (context + 1) over the episode; reported as info.optimalReward.
 *   A clock, info.time, advances by 1 + (context mod 2) per step (a decision's duration depends
 *   on the input, as in a scheduler), for trainers that align episodes by time.
 *
 * Chain: positions 0..length-1, start at 0, actions 0 = left and 1 = right. Left is masked at
 *   position 0 (a MaskedDiscrete space). Every step costs stepCost; reaching length-1 pays 1 and
 *   terminates; after `horizon` steps the episode is truncated. With slip > 0 an action is
 *   replaced by the other one with that probability (drawn from the env's Rng).
 *   Optimal return (slip 0): 1 - stepCost * (length - 1), in length - 1 steps.
 */
import { Env, type ResetResult, type StepResult } from '../core/env.js';
import { Box, MaskedDiscrete } from '../core/spaces.js';
import { SelfoptError } from '../core/errors.js';

function intOption(name: string, where: string, v: unknown, dflt: number, min: number): number {
  const x = v ?? dflt;
  if (typeof x !== 'number' || !Number.isInteger(x) || x < min) throw new SelfoptError(`option ${name} = ${JSON.stringify(v)}`, where, `an integer >= ${min}`);
  return x;
}

function numOption(name: string, where: string, v: unknown, dflt: number, lo: number, hi: number): number {
  const x = v ?? dflt;
  if (typeof x !== 'number' || !(x >= lo && x <= hi)) throw new SelfoptError(`option ${name} = ${JSON.stringify(v)}`, where, `a number in [${lo}, ${hi}]`);
  return x;
}

export interface ContextualBanditOptions {
  /** Number of contexts K (observation: one-hot of length K). Default 4. */
  contexts?: number;
  /** Number of arms. Default 4. */
  arms?: number;
  /** Steps per episode (the episode terminates after them). Default 8. */
  horizon?: number;
}

export class ContextualBandit extends Env<Float32Array, number> {
  readonly observationSpace: Box;
  readonly actionSpace: MaskedDiscrete;
  readonly contexts: number;
  readonly arms: number;
  readonly horizon: number;
  private context = 0;
  private t = 0;
  private clock = 0;

  constructor(options: ContextualBanditOptions = {}) {
    super();
    const where = 'ContextualBandit options';
    this.contexts = intOption('contexts', where, options.contexts, 4, 1);
    this.arms = intOption('arms', where, options.arms, 4, 2);
    this.horizon = intOption('horizon', where, options.horizon, 8, 1);
    this.observationSpace = new Box(0, 1, [this.contexts]);
    this.actionSpace = new MaskedDiscrete(this.arms);
  }

  /** The arm that pays in context c: a fixed permutation-like map, not learnable from the arm index alone. */
  bestArm(c: number): number {
    return (3 * c + 1) % this.arms;
  }

  /** Draws the next context and the arm masked with it: always two draws, whatever the actions. */
  private observe(): ResetResult<Float32Array> {
    this.context = this.rng.int(this.contexts);
    const best = this.bestArm(this.context);
    const masked = (best + 1 + this.rng.int(this.arms - 1)) % this.arms;
    const mask = new Uint8Array(this.arms).fill(1);
    mask[masked] = 0;
    this.actionSpace.setMask(mask);
    const obs = new Float32Array(this.contexts);
    obs[this.context] = 1;
    return { obs, info: { actionMask: mask, context: this.context, optimalReward: this.context + 1, time: this.clock } };
  }

  protected doReset(): ResetResult<Float32Array> {
    this.t = 0;
    this.clock = 0;
    return this.observe();
  }

  protected doStep(action: number): StepResult<Float32Array> {
    const reward = action === this.bestArm(this.context) ? this.context + 1 : 0;
    this.t++;
    this.clock += 1 + (this.context % 2);
    const { obs, info } = this.observe();
    const terminated = this.t >= this.horizon;
    if (terminated) delete info.actionMask; // no decision follows a terminal step
    return { obs, reward, terminated, truncated: false, info };
  }
}

export interface ChainOptions {
  /** Number of positions; the goal is the last. Default 8. */
  length?: number;
  /** Steps before truncation. Default 4 * length. */
  horizon?: number;
  /** Cost of every step. Default 0.01. */
  stepCost?: number;
  /** Probability that an action is replaced by the other one. Default 0. */
  slip?: number;
}

export class Chain extends Env<Float32Array, number> {
  readonly observationSpace: Box;
  readonly actionSpace = new MaskedDiscrete(2);
  readonly length: number;
  readonly horizon: number;
  readonly stepCost: number;
  readonly slip: number;
  private pos = 0;
  private t = 0;

  constructor(options: ChainOptions = {}) {
    super();
    const where = 'Chain options';
    this.length = intOption('length', where, options.length, 8, 2);
    this.horizon = intOption('horizon', where, options.horizon, 4 * this.length, 1);
    this.stepCost = numOption('stepCost', where, options.stepCost, 0.01, 0, 1);
    this.slip = numOption('slip', where, options.slip, 0, 0, 1);
    this.observationSpace = new Box(0, 1, [this.length]);
  }

  /** The best undiscounted return (slip 0). */
  optimalReturn(): number {
    return 1 - this.stepCost * (this.length - 1);
  }

  private observe(): ResetResult<Float32Array> {
    const obs = new Float32Array(this.length);
    obs[this.pos] = 1;
    const mask = Uint8Array.of(this.pos === 0 ? 0 : 1, 1);
    this.actionSpace.setMask(mask);
    return { obs, info: { actionMask: mask, position: this.pos } };
  }

  protected doReset(): ResetResult<Float32Array> {
    this.pos = 0;
    this.t = 0;
    return this.observe();
  }

  protected doStep(action: number): StepResult<Float32Array> {
    let a = action;
    if (this.slip > 0 && this.rng.next() < this.slip) a = 1 - a;
    this.pos = Math.max(0, this.pos + (a === 1 ? 1 : -1));
    this.t++;
    const terminated = this.pos === this.length - 1;
    const reward = (terminated ? 1 : 0) - this.stepCost;
    const { obs, info } = this.observe();
    return { obs, reward, terminated, truncated: !terminated && this.t >= this.horizon, info };
  }
}
