/**
 * Returns, advantages and baselines for the policy-gradient trainers, as plain functions over
 * typed arrays (no tensors: nothing here is differentiated).
 *
 * - discountedReturns: return-to-go y[t] = r[t] + gamma y[t+1] (decima-sim's utils.discount).
 * - gae: generalized advantage estimation (Schulman et al. 2016), over one env copy's segment,
 *   in CleanRL's ppo.py recursion, with truncated episodes bootstrapped from V(final obs).
 * - piecewiseLinearBaseline: Decima's input-dependent baseline (Mao et al., SIGCOMM 2019 §5.3;
 *   ICLR 2019), decima-sim's compute_baselines.get_piecewise_linear_fit_baseline.
 * - AverageRewardRate: the running average reward per unit of time behind Decima's
 *   differential reward (decima-sim's average_reward.AveragePerStepReward).
 */
import { SelfoptError } from '../core/errors.js';

/** y[t] = r[t] + gamma y[t+1] over one episode (y[T-1] = r[T-1]). */
export function discountedReturns(rewards: ArrayLike<number>, gamma: number): Float64Array {
  const n = rewards.length;
  const y = new Float64Array(n);
  let acc = 0;
  for (let t = n - 1; t >= 0; t--) y[t] = acc = rewards[t]! + gamma * acc;
  return y;
}

/** The per-step fields of a trajectory that GAE reads (rollout.ts's Trajectory has them all). */
export interface GaeInput {
  rewards: ArrayLike<number>;
  /** V(obs t) as sampled. */
  values: ArrayLike<number>;
  /** 1 where the episode reached a terminal state at step t: nothing follows, no bootstrap. */
  terminated: ArrayLike<number>;
  /** 1 where the episode was cut at step t: bootstrap from finalValues[t]. */
  truncated: ArrayLike<number>;
  /** V(final observation) at truncated steps. */
  finalValues: ArrayLike<number>;
  /** V(observation after the last step) when the last step did not end an episode. */
  nextValue: number;
}

/**
 * Generalized advantage estimation over one segment, backwards:
 *   delta_t = r_t + gamma V_next(t) - V(s_t),
 *   A_t     = delta_t + gamma lambda (1 - ended_t) A_{t+1},
 * where V_next(t) is 0 after a terminal step, V(final obs) after a truncated one (with
 * bootstrapTruncated; else 0, as CleanRL's ppo.py treats every done), V(s_{t+1}) otherwise and
 * nextValue after the segment's last step. Returns the advantages and returns = A + V (the value
 * targets).
 */
export function gae(tr: GaeInput, gamma: number, lambda: number, bootstrapTruncated = true): { advantages: Float64Array; returns: Float64Array } {
  const n = tr.rewards.length;
  const adv = new Float64Array(n), ret = new Float64Array(n);
  let last = 0;
  for (let t = n - 1; t >= 0; t--) {
    const terminated = tr.terminated[t] === 1, truncated = tr.truncated[t] === 1;
    const nextV = terminated ? 0 : truncated ? (bootstrapTruncated ? tr.finalValues[t]! : 0) : t === n - 1 ? tr.nextValue : tr.values[t + 1]!;
    const delta = tr.rewards[t]! + gamma * nextV - tr.values[t]!;
    last = delta + (terminated || truncated ? 0 : gamma * lambda * last);
    adv[t] = last;
    ret[t] = last + tr.values[t]!;
  }
  return { advantages: adv, returns: ret };
}

/**
 * Decima's input-dependent baseline. The episodes given share one input sequence (the same job
 * arrivals: the same env seed and options). Each episode i is a curve of its return-to-go
 * returns[i][t] against its clock times[i][t] (non-decreasing; Decima: wall time after the
 * action). For every time point tau of any episode, each episode's curve is read at tau:
 *   - before its first point: its first value; after its last point: its last value;
 *   - at a point (the first one, if several share tau): that value;
 *   - between two points: linear interpolation between them;
 * and the baseline at tau is the mean of those readings over all episodes. Each step of each
 * episode gets the baseline at its own time. Passing episodes with different input sequences
 * together gives the plain time-based baseline instead. Episodes with no steps are skipped.
 */
export function piecewiseLinearBaseline(returns: readonly ArrayLike<number>[], times: readonly ArrayLike<number>[]): Float64Array[] {
  if (returns.length !== times.length) throw new SelfoptError(`${returns.length} return sequences and ${times.length} time sequences`, 'piecewiseLinearBaseline', 'one time sequence per episode');
  const curves: number[] = [];
  returns.forEach((r, i) => {
    const ts = times[i]!;
    if (r.length !== ts.length) throw new SelfoptError(`episode ${i} has ${r.length} returns and ${ts.length} times`, 'piecewiseLinearBaseline', 'one time per step');
    for (let t = 1; t < ts.length; t++) {
      if (!(ts[t]! >= ts[t - 1]!)) throw new SelfoptError(`episode ${i}: time ${ts[t]} at step ${t} after ${ts[t - 1]}`, 'piecewiseLinearBaseline', 'non-decreasing times');
    }
    if (r.length > 0) curves.push(i);
  });
  const at = (i: number, tau: number): number => {
    const ts = times[i]!, r = returns[i]!, n = ts.length;
    // bisect_left: the first index whose time is >= tau.
    let lo = 0, hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ts[mid]! < tau) lo = mid + 1;
      else hi = mid;
    }
    if (lo === 0) return r[0]!;
    if (lo === n) return r[n - 1]!;
    if (ts[lo] === tau) return r[lo]!;
    return ((r[lo]! - r[lo - 1]!) / (ts[lo]! - ts[lo - 1]!)) * (tau - ts[lo]!) + r[lo]!;
  };
  const cache = new Map<number, number>();
  const baselineAt = (tau: number): number => {
    let b = cache.get(tau);
    if (b === undefined) {
      b = 0;
      for (const j of curves) b += at(j, tau);
      b /= curves.length;
      cache.set(tau, b);
    }
    return b;
  };
  return returns.map((r, i) => {
    const ts = times[i]!;
    const out = new Float64Array(r.length);
    for (let t = 0; t < r.length; t++) out[t] = baselineAt(ts[t]!);
    return out;
  });
}

/**
 * Average reward per unit of time over the last `window` (reward, elapsed time) pairs; pairs with
 * no elapsed time are skipped, as decima-sim's add_list_filter_zero. Decima's differential reward
 * is r_t - rate() * dt_t, with the current batch added before the rate is read.
 */
export class AverageRewardRate {
  private readonly rewards: Float64Array;
  private readonly durations: Float64Array;
  private next = 0;
  private count = 0;
  private rewardSum = 0;
  private timeSum = 0;

  constructor(readonly window: number) {
    if (!(Number.isInteger(window) && window > 0)) throw new SelfoptError(`window = ${window}`, 'AverageRewardRate', 'a positive integer');
    this.rewards = new Float64Array(window);
    this.durations = new Float64Array(window);
  }

  add(reward: number, dt: number): void {
    if (dt === 0) return;
    if (this.count === this.window) {
      this.rewardSum -= this.rewards[this.next]!;
      this.timeSum -= this.durations[this.next]!;
    } else this.count++;
    this.rewards[this.next] = reward;
    this.durations[this.next] = dt;
    this.rewardSum += reward;
    this.timeSum += dt;
    this.next = (this.next + 1) % this.window;
  }

  /** Reward per unit of time; 0 before any time has elapsed. */
  rate(): number {
    return this.timeSum === 0 ? 0 : this.rewardSum / this.timeSum;
  }

  /** Everything the rate depends on, to resume it exactly (the running sums too: they carry their rounding). */
  state(): AverageRewardRateState {
    return { window: this.window, next: this.next, count: this.count, rewardSum: this.rewardSum, timeSum: this.timeSum, rewards: this.rewards.slice(0, this.count), durations: this.durations.slice(0, this.count) };
  }

  /** A rate as it was when `s` was taken. */
  static fromState(s: AverageRewardRateState): AverageRewardRate {
    const ok = Number.isInteger(s.count) && s.count >= 0 && s.count <= s.window && s.rewards.length === s.count && s.durations.length === s.count && Number.isInteger(s.next) && s.next >= 0 && s.next < s.window && (s.count === s.window || s.next === s.count);
    if (!ok) throw new SelfoptError(`inconsistent state (window ${s.window}, count ${s.count}, next ${s.next}, ${s.rewards.length} rewards, ${s.durations.length} durations)`, 'AverageRewardRate.fromState', 'a state taken by state()');
    const r = new AverageRewardRate(s.window);
    r.rewards.set(s.rewards);
    r.durations.set(s.durations);
    r.next = s.next;
    r.count = s.count;
    r.rewardSum = s.rewardSum;
    r.timeSum = s.timeSum;
    return r;
  }
}

/** AverageRewardRate's state: the filled part of its window and its running sums. */
export interface AverageRewardRateState { window: number; next: number; count: number; rewardSum: number; timeSum: number; rewards: Float64Array; durations: Float64Array }
