/**
 * The policy contract of the policy-gradient trainers, a default MLP actor-critic, and the pieces
 * every trainer shares: masked categorical sampling, flat weight vectors (to ship a model to a
 * rollout worker), and schedules.
 *
 * PolicyNet<Obs>: a Module whose forward maps a batch of observations to action logits [B, A]
 * and state values [B, 1]. The observation type is the policy's business: MlpPolicy reads
 * Float32Array vectors; a graph policy (Decima's DAG embedding) reads GraphObs and keeps the
 * same contract, so the trainers and the rollout workers never look inside an observation.
 * Masks are applied by the trainers, outside the network (logits of masked actions are ignored).
 */
import type { Rng } from '../core/rng.js';
import type { Policy, Info } from '../core/env.js';
import { SelfoptError } from '../core/errors.js';
import { Tensor } from './tensor.js';
import { stepInput, inference } from './scratch.js';
import { logSoftmax } from './ops/softmax.js';
import { Module, MLP, collect } from './layers.js';
import type { Activation } from './ops/elementwise.js';
import { shapeStr } from './check.js';

export interface PolicyOutput {
  /** Unnormalized action scores [B, A]. */
  logits: Tensor;
  /** State-value estimates [B, 1]. */
  value: Tensor;
}

/**
 * A policy net is built from plain data ({module, export, options} in rollout.ts), so that a
 * worker thread can build the same one: `new Export(options, rng)` for a class, `Export(options,
 * rng)` for a factory function; the trainer then ships it the weights.
 */
export interface PolicyNet<Obs> extends Module {
  /** Size A of the discrete action space the logits cover. */
  readonly numActions: number;
  forward(obs: readonly Obs[]): PolicyOutput;
}

export interface MlpPolicyOptions {
  /** Length of the observation vector. */
  obsDim: number;
  /** Number of discrete actions. */
  numActions: number;
  /** Hidden layer sizes of the actor and of the critic. Default [64, 64] (CleanRL). */
  hidden?: number[];
  /** Hidden activation. Default 'tanh' (CleanRL). */
  activation?: Activation;
  /** The actor's last layer is scaled by this after init so that the first policy is near uniform. Default 0.01 (CleanRL's std). */
  actorOutputScale?: number;
}

/**
 * Separate actor and critic MLPs over Float32Array observations, as CleanRL's ppo.py Agent.
 * Departure: CleanRL uses orthogonal init (std sqrt 2, 0.01 for the actor head, 1 for the
 * critic head); here it is Glorot uniform with the actor head scaled by actorOutputScale, which
 * keeps the property that matters (an almost uniform first policy).
 */
export class MlpPolicy extends Module implements PolicyNet<Float32Array> {
  readonly obsDim: number;
  readonly numActions: number;
  readonly hidden: number[];
  readonly activation: Activation;
  readonly actorOutputScale: number;
  readonly actor: MLP;
  readonly critic: MLP;

  constructor(options: MlpPolicyOptions | Record<string, unknown>, rng: Rng) {
    super();
    const o = options as MlpPolicyOptions;
    const where = 'MlpPolicy options';
    const posInt = (name: string, v: unknown): number => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new SelfoptError(`${name} = ${JSON.stringify(v)}`, where, 'a positive integer');
      return v;
    };
    this.obsDim = posInt('obsDim', o.obsDim);
    this.numActions = posInt('numActions', o.numActions);
    this.hidden = (o.hidden ?? [64, 64]).map((h, i) => posInt(`hidden[${i}]`, h));
    this.activation = o.activation ?? 'tanh';
    this.actorOutputScale = o.actorOutputScale ?? 0.01;
    this.actor = new MLP([this.obsDim, ...this.hidden, this.numActions], { rng, activation: this.activation });
    this.critic = new MLP([this.obsDim, ...this.hidden, 1], { rng, activation: this.activation });
    const head = this.actor.layers[this.actor.layers.length - 1]!.weight.data;
    for (let i = 0; i < head.length; i++) head[i] *= this.actorOutputScale;
  }

  /** Stacks the observations into [B, obsDim] (checking each one) and runs both MLPs. */
  forward(obs: readonly Float32Array[]): PolicyOutput {
    const d = this.obsDim;
    // Acting (inference) stacks them in the scratch: no storage per step.
    const x = stepInput([obs.length, d]);
    for (let i = 0; i < obs.length; i++) {
      const o = obs[i];
      if (!(o instanceof Float32Array) || o.length !== d) {
        const v = o as unknown;
        const got = v instanceof Float32Array ? `a Float32Array of length ${v.length}` : v !== null && typeof v === 'object' ? `a ${v.constructor.name}` : `${v === null ? 'null' : typeof v}`;
        throw new SelfoptError(`observation ${i} of the batch is ${got}`, `MlpPolicy.forward (obsDim ${d}, numActions ${this.numActions})`, `a Float32Array of length ${d}, as the policy was built with obsDim ${d}; check the env's observationSpace against the policy options`);
      }
      x.data.set(o, i * d);
    }
    return { logits: this.actor.forward(x), value: this.critic.forward(x) };
  }

  namedParameters(): [string, Tensor][] {
    return collect([['actor', this.actor], ['critic', this.critic]]);
  }

  architecture(): Record<string, unknown> {
    return { type: 'MlpPolicy', obsDim: this.obsDim, numActions: this.numActions, hidden: [...this.hidden], activation: this.activation, actor: this.actor.architecture(), critic: this.critic.architecture() };
  }
}

/** Checks a forward result against the batch size and the action space; `where` names the caller. */
export function checkPolicyOutput(out: PolicyOutput, batch: number, numActions: number, where: string): void {
  const { logits, value } = out;
  if (logits.rank !== 2 || logits.shape[0] !== batch || logits.shape[1] !== numActions) {
    throw new SelfoptError(`the policy returned logits of shape ${shapeStr(logits.shape)} for a batch of ${batch}`, where, `logits [${batch},${numActions}] (batch, actions of the env's action space)`);
  }
  if (value.size !== batch || (value.rank === 2 && value.shape[1] !== 1) || value.rank > 2) {
    throw new SelfoptError(`the policy returned values of shape ${shapeStr(value.shape)} for a batch of ${batch}`, where, `values [${batch},1]`);
  }
}

// ---------------------------------------------------------------------------------------------
// Sampling
// ---------------------------------------------------------------------------------------------

/**
 * Draws an action from the categorical distribution given by one row of log-probabilities
 * (masked entries are -Infinity and are never drawn): inverse CDF with one uniform draw, in
 * float64, scanning actions in index order. Returns the action.
 */
export function sampleCategorical(logp: ArrayLike<number>, offset: number, n: number, rng: Rng): number {
  const u = rng.next();
  let c = 0, last = -1;
  for (let j = 0; j < n; j++) {
    const lp = logp[offset + j]!;
    if (lp === -Infinity) continue;
    c += Math.exp(lp);
    last = j;
    if (u < c) return j;
  }
  // Rounding left the total just under 1 and u landed above it: the last allowed action.
  if (last < 0) throw new SelfoptError('every action is masked', 'sampleCategorical', 'at least one allowed action (mask = 1)');
  return last;
}

/**
 * A trained net as a core Policy (env.ts), for rollout() and solvers: it samples from the masked
 * distribution with the rng it is given, or with greedy takes the most likely allowed action
 * (the lowest index on ties). `actionStart` maps index j to action start + j (Discrete start).
 * Each action is one inference step (scratch.ts): the forward pass's outputs are views of a scratch
 * the next action reuses, so the action is chosen inside it.
 */
export function asPolicy<Obs>(net: PolicyNet<Obs>, opts: { greedy?: boolean; actionStart?: number } = {}): Policy<Obs, number> {
  const start = opts.actionStart ?? 0;
  return {
    act(obs: Obs, info: Info, rng: Rng): number {
      const mask = info.actionMask ?? null;
      return start + inference(() => {
        const out = net.forward([obs]);
        checkPolicyOutput(out, 1, net.numActions, 'asPolicy');
        const logp = logSoftmax(out.logits, mask).data;
        if (!opts.greedy) return sampleCategorical(logp, 0, net.numActions, rng);
        let best = -1;
        for (let j = 0; j < net.numActions; j++) if (logp[j]! !== -Infinity && (best < 0 || logp[j]! > logp[best]!)) best = j;
        return best;
      });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Flat weights
// ---------------------------------------------------------------------------------------------

/** All parameters of `model` in parameter order, concatenated into one Float32Array (a copy). */
export function getFlatWeights(model: Module): Float32Array {
  const params = model.parameters();
  const out = new Float32Array(params.reduce((s, p) => s + p.size, 0));
  let o = 0;
  for (const p of params) {
    out.set(p.data, o);
    o += p.size;
  }
  return out;
}

/** Writes a vector made by getFlatWeights (from a model of the same architecture) into `model`. */
export function setFlatWeights(model: Module, w: Float32Array): void {
  const params = model.parameters();
  const n = params.reduce((s, p) => s + p.size, 0);
  if (w.length !== n) throw new SelfoptError(`a weight vector of ${w.length} floats`, `setFlatWeights(${JSON.stringify(model.architecture().type)})`, `${n} floats, the model's parameter count (same architecture)`);
  let o = 0;
  for (const p of params) {
    p.data.set(w.subarray(o, o + p.size));
    o += p.size;
  }
}

// ---------------------------------------------------------------------------------------------
// Schedules
// ---------------------------------------------------------------------------------------------

/** Linear interpolation from `start` (progress 0) to `end` (progress 1), progress clamped to [0, 1]. */
export function linearSchedule(start: number, end: number, progress: number): number {
  const p = progress < 0 ? 0 : progress > 1 ? 1 : progress;
  return start + (end - start) * p;
}
