/**
 * Trajectories: what a rollout records, as typed arrays that cross thread boundaries cheaply
 * (their buffers are transferred, not copied), and the builder that records them step by step.
 */
import { SelfoptError } from '../core/errors.js';


/** Observations of a trajectory: packed rows when they are Float32Array vectors, else a list. */
export type ObsBlock<Obs> = { kind: 'vector'; dim: number; data: Float32Array } | { kind: 'list'; items: Obs[] };

/**
 * T consecutive steps of one env copy (steps mode) or one episode (episodes mode). Step t saw
 * observation t, took actions[t], and got rewards[t]; terminated/truncated say that the episode
 * ended at step t (the next step, if any, starts a new episode).
 */
export interface Trajectory<Obs> {
  /** Env copy index (steps mode) or task index (episodes mode). */
  index: number;
  length: number;
  obs: ObsBlock<Obs>;
  actions: Int32Array;
  /** log pi(actions[t] | obs t) when sampled (float32, as the policy computed it). */
  logProbs: Float32Array;
  /** V(obs t) when sampled. */
  values: Float32Array;
  rewards: Float64Array;
  terminated: Uint8Array;
  truncated: Uint8Array;
  /** V(final observation) at truncated steps (for bootstrapping), 0 elsewhere. */
  finalValues: Float32Array;
  /** Action masks [T, A] (1 = allowed), or null when the action space has none. */
  masks: Uint8Array | null;
  /** The env's clock after each step: info[timeKey], or the step count in the episode. */
  times: Float64Array;
  /** The clock at the start of the trajectory (after reset, or where the last segment stopped). */
  startTime: number;
  /** V(observation after the last step): the bootstrap value when the last step did not end an episode. */
  nextValue: number;
  /** Undiscounted returns and lengths of the episodes that ended inside this trajectory. */
  episodeReturns: number[];
  episodeLengths: number[];
}

/** Observation t of a trajectory (a view, not a copy, for vector observations). */
export function obsAt<Obs>(block: ObsBlock<Obs>, t: number): Obs {
  return block.kind === 'vector' ? (block.data.subarray(t * block.dim, (t + 1) * block.dim) as unknown as Obs) : block.items[t]!;
}

/** The buffers of a trajectory, to transfer them to another thread instead of copying. */
export function trajectoryBuffers(tr: Trajectory<unknown>): ArrayBuffer[] {
  const arrays: ArrayBufferView[] = [tr.actions, tr.logProbs, tr.values, tr.rewards, tr.terminated, tr.truncated, tr.finalValues, tr.times];
  if (tr.masks) arrays.push(tr.masks);
  if (tr.obs.kind === 'vector') arrays.push(tr.obs.data);
  return arrays.map((a) => a.buffer as ArrayBuffer);
}

/** Grows typed storage by doubling while a trajectory is recorded. */
export class TrajectoryBuilder<Obs> {
  private n = 0;
  private cap: number;
  private obsVec: Float32Array | null = null;
  private obsList: Obs[] | null = null;
  private dim = 0;
  actions: Int32Array;
  logProbs: Float32Array;
  values: Float32Array;
  rewards: Float64Array;
  terminated: Uint8Array;
  truncated: Uint8Array;
  finalValues: Float32Array;
  times: Float64Array;
  masks: Uint8Array | null;
  episodeReturns: number[] = [];
  episodeLengths: number[] = [];

  constructor(capacity: number, private readonly numActions: number, masked: boolean) {
    this.cap = Math.max(1, capacity);
    this.actions = new Int32Array(this.cap);
    this.logProbs = new Float32Array(this.cap);
    this.values = new Float32Array(this.cap);
    this.rewards = new Float64Array(this.cap);
    this.terminated = new Uint8Array(this.cap);
    this.truncated = new Uint8Array(this.cap);
    this.finalValues = new Float32Array(this.cap);
    this.times = new Float64Array(this.cap);
    this.masks = masked ? new Uint8Array(this.cap * numActions) : null;
  }

  get length(): number {
    return this.n;
  }

  private grow(): void {
    const cap = this.cap * 2;
    const g = <T extends Int32Array | Float32Array | Float64Array | Uint8Array>(a: T, per = 1): T => {
      const b = new (a.constructor as new (n: number) => T)(cap * per);
      b.set(a);
      return b;
    };
    this.actions = g(this.actions);
    this.logProbs = g(this.logProbs);
    this.values = g(this.values);
    this.rewards = g(this.rewards);
    this.terminated = g(this.terminated);
    this.truncated = g(this.truncated);
    this.finalValues = g(this.finalValues);
    this.times = g(this.times);
    if (this.masks) this.masks = g(this.masks, this.numActions);
    if (this.obsVec) this.obsVec = g(this.obsVec, this.dim);
    this.cap = cap;
  }

  /** Records observation t, copying it: an env may reuse its observation buffer. */
  pushObs(obs: Obs): void {
    if (this.n === this.cap) this.grow();
    if (this.n === 0 && this.obsVec === null && this.obsList === null) {
      if (obs instanceof Float32Array) {
        this.dim = obs.length;
        this.obsVec = new Float32Array(this.cap * this.dim);
      } else this.obsList = [];
    }
    if (this.obsVec !== null) {
      if (!(obs instanceof Float32Array) || obs.length !== this.dim) throw new SelfoptError(`observation ${this.n} is not a Float32Array of length ${this.dim} like the first`, 'rollout', 'observations of one type and size');
      this.obsVec.set(obs, this.n * this.dim);
    } else this.obsList!.push(structuredClone(obs));
  }

  pushStep(action: number, logp: number, value: number, mask: Uint8Array | null): void {
    const t = this.n;
    this.actions[t] = action;
    this.logProbs[t] = logp;
    this.values[t] = value;
    if (this.masks) {
      if (mask) this.masks.set(mask, t * this.numActions);
      else this.masks.fill(1, t * this.numActions, (t + 1) * this.numActions);
    }
  }

  endStep(reward: number, terminated: boolean, truncated: boolean, time: number): void {
    const t = this.n++;
    this.rewards[t] = reward;
    this.terminated[t] = terminated ? 1 : 0;
    this.truncated[t] = truncated ? 1 : 0;
    this.times[t] = time;
  }

  finish(index: number, startTime: number, nextValue: number): Trajectory<Obs> {
    const n = this.n;
    return {
      index,
      length: n,
      obs: this.obsVec !== null ? { kind: 'vector', dim: this.dim, data: this.obsVec.slice(0, n * this.dim) } : { kind: 'list', items: this.obsList ?? [] },
      actions: this.actions.slice(0, n),
      logProbs: this.logProbs.slice(0, n),
      values: this.values.slice(0, n),
      rewards: this.rewards.slice(0, n),
      terminated: this.terminated.slice(0, n),
      truncated: this.truncated.slice(0, n),
      finalValues: this.finalValues.slice(0, n),
      masks: this.masks ? this.masks.slice(0, n * this.numActions) : null,
      times: this.times.slice(0, n),
      startTime,
      nextValue,
      episodeReturns: this.episodeReturns,
      episodeLengths: this.episodeLengths,
    };
  }
}
