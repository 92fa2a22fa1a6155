/**
 * Share-based schedulers: each decision gives every unfinished job (one with tasks not yet
 * assigned) a share of the executors and visits the jobs under their share in an order, sending
 * the source executors to the first that can use them (`ShareScheduler`). Weighted fair and its
 * tuned variants (Mao et al., SIGCOMM 2019, section 7.1; decima-sim's DynamicPartitionAgent) and
 * heSRPT (Berg, Vesilo & Harchol-Balter, arXiv 1903.09346) differ only in the shares and the order.
 */
import type { Info } from '../../core/env.js';
import { encodeAction, type SchedulingObs } from './env.js';
import type { SchedulingPolicy } from './evaluate.js';
import { firstStageOf, hasUnassigned, idle, limitFor, stayInSourceJob } from './agent-rules.js';

/** The order in which weighted fair visits the jobs under their share: arrival (decima-sim) or smallest total work first. */
export type JobOrder = 'arrival' | 'work';

/**
 * A bump over the jobs' size ranks: the share weight of an unfinished job is multiplied by
 * exp(-(r - mu)^2 / (2 sigma^2)), r in [0, 1] its rank by total work among the unfinished jobs
 * (0 the smallest, 1 the largest; ties in arrival order). See tuned-rank-weighted-fair.
 */
export interface RankShape { mu: number; sigma: number }

/** The bump's factor at rank r in [0, 1]: the one definition WeightedFair and Decima's share input use. */
export function rankBump(r: number, shape: RankShape): number {
  return Math.exp(-((r - shape.mu) * (r - shape.mu)) / (2 * shape.sigma * shape.sigma));
}

/**
 * The rule every share-based scheduler acts by: the source executors stay in their own job while
 * it has a selectable stage (decima-sim's rule); otherwise the jobs are visited in `order` and
 * the first under its share (`caps`, in executors) with a selectable stage gets as many of the
 * source executors as its share and the stage's unassigned tasks allow; idle when none can.
 */
export abstract class ShareScheduler implements SchedulingPolicy {
  /** shares()'s answer, reused from decision to decision. */
  protected caps = new Float64Array(16);
  protected order = new Int32Array(16);

  /**
   * Each job row's executor share (`caps`, rows 0..J-1) and the visiting order of all rows (the
   * arrays this object reuses: read them before the next call).
   */
  abstract shares(o: SchedulingObs): { caps: Float64Array; order: Int32Array };

  /** Makes caps and order hold J rows. */
  protected reserve(J: number): void {
    if (this.caps.length < J) { this.caps = new Float64Array(2 * J); this.order = new Int32Array(2 * J); }
  }

  /** Fills `order` with the rows sorted by `size` ascending (insertion sort, stable: ties keep arrival order; J is small). */
  protected orderBy(size: Float64Array, J: number): void {
    for (let k = 0; k < J; k++) {
      let i = k;
      while (i > 0 && size[this.order[i - 1]!]! > size[k]!) { this.order[i] = this.order[i - 1]!; i--; }
      this.order[i] = k;
    }
  }

  act(o: SchedulingObs, info: Info): number {
    const stay = stayInSourceJob(o);
    if (stay >= 0) return stay;
    const { caps, order } = this.shares(o);
    return this.visit(o, info, caps, order);
  }

  /** The jobs in `order`: the first under its share with a selectable stage gets the source executors; idle when none can. */
  protected visit(o: SchedulingObs, info: Info, caps: Float64Array, order: Int32Array): number {
    for (let i = 0; i < o.numJobs; i++) {
      const k = order[i]!;
      const cap = caps[k]!;
      if (o.jobExecutors[k]! >= cap) continue;
      const r = firstStageOf(o, k);
      if (r < 0) continue;
      const use = Math.min(o.stageUnassigned[r]!, cap - o.jobExecutors[k]!, o.numSourceExec);
      return encodeAction(r, limitFor(o, k, use), o.numExecutors);
    }
    return idle(info);
  }
}

/**
 * Weighted fair sharing: an unfinished job (one with tasks not yet assigned) gets
 * ceil(E * w_k / sum of w over unfinished jobs) executors, w_k = T_k^alpha with T the job's
 * total work, times the rank bump when a `shape` is given. alpha = 0 is decima-sim's fair
 * scheduler, alpha = 1 the naive weighted fair one. Jobs under their share are visited in
 * arrival order, as decima-sim's agents do, or with order 'work' smallest total work first (not
 * in the paper: see tuned-weighted-fair-sjf; a shape needs that order, since it ranks by work).
 */
export class WeightedFair extends ShareScheduler {
  constructor(readonly alpha: number, readonly jobOrder: JobOrder = 'arrival', readonly shape?: RankShape) {
    super();
    if (shape && jobOrder !== 'work') throw new RangeError('WeightedFair: a rank shape ranks jobs by total work, so it needs jobOrder \'work\'');
    if (shape && !(shape.sigma > 0)) throw new RangeError(`WeightedFair: rank shape sigma ${shape.sigma}, expected > 0`);
  }

  shares(o: SchedulingObs): { caps: Float64Array; order: Int32Array } {
    const E = o.numExecutors, J = o.numJobs;
    this.reserve(J);
    let total = 0, unfinished = 0;
    for (let k = 0; k < J; k++) {
      const w = hasUnassigned(o, k) ? (this.alpha === 0 ? 1 : Math.pow(o.jobTotalWorkMs[k]!, this.alpha)) : 0;
      this.caps[k] = w;
      total += w;
      if (w > 0) unfinished++;
    }
    if (this.jobOrder === 'work') this.orderBy(o.jobTotalWorkMs, J);
    else for (let k = 0; k < J; k++) this.order[k] = k;
    if (this.shape) {
      let rank = 0;
      total = 0;
      for (let i = 0; i < J; i++) {
        const k = this.order[i]!;
        if (this.caps[k] === 0) continue;
        this.caps[k]! *= rankBump(unfinished > 1 ? rank++ / (unfinished - 1) : 0, this.shape);
        total += this.caps[k]!;
      }
    }
    // With no unfinished job the share is the whole cluster, as decima's max(1, n).
    for (let k = 0; k < J; k++) this.caps[k] = unfinished === 0 ? E : Math.ceil((E * this.caps[k]!) / total);
    return { caps: this.caps, order: this.order };
  }
}

/**
 * heSRPT (Berg, Vesilo & Harchol-Balter, "heSRPT: Optimal Parallel Scheduling of Jobs With Known
 * Sizes", arXiv 1903.09346; Performance Evaluation 2020): the allocation that minimizes the
 * total flow time of jobs of known size, all present at time 0, whose speedup on k servers is
 * k^p (0 < p < 1). With m jobs left, numbered i = 1..m from the largest remaining size to the
 * smallest, job i gets the fraction (i/m)^c - ((i-1)/m)^c of the servers, c = 1 / (1 - p):
 * every job gets some (efficiency), the smaller ones more (SRPT); p -> 0 is the equal split,
 * p -> 1 strict SRPT. Here a job's size is its remaining work (the rough work of its tasks not
 * yet started), its share ceil(E times its fraction) executors, and jobs under their share are
 * visited smallest remaining work first. A DAG job in this simulator has no single speedup
 * exponent, so p is a parameter swept on training seeds, like weighted fair's alpha.
 */
export class HeSrpt extends ShareScheduler {
  constructor(readonly p: number) {
    super();
    if (!(p > 0 && p < 1)) throw new RangeError(`HeSrpt: speedup exponent p ${p}, expected 0 < p < 1`);
  }

  shares(o: SchedulingObs): { caps: Float64Array; order: Int32Array } {
    const E = o.numExecutors, J = o.numJobs, c = 1 / (1 - this.p);
    this.reserve(J);
    this.orderBy(o.jobRemainingWorkMs, J);
    // caps first marks the unfinished jobs (1), then holds their shares.
    let m = 0;
    for (let k = 0; k < J; k++) {
      this.caps[k] = hasUnassigned(o, k) ? 1 : 0;
      m += this.caps[k]!;
    }
    // The q-th smallest unfinished job (q = 0, 1, ...) is number i = m - q from the largest.
    let q = 0;
    for (let j = 0; j < J; j++) {
      const k = this.order[j]!;
      if (m === 0) { this.caps[k] = E; continue; }
      if (this.caps[k] === 0) continue;
      const i = m - q++;
      this.caps[k] = Math.ceil(E * (Math.pow(i / m, c) - Math.pow((i - 1) / m, c)));
    }
    return { caps: this.caps, order: this.order };
  }
}
