/**
 * Task durations, as decima-sim's node.schedule draws them: pick an executor level from the
 * number n of executors the job holds, then a wave from how the executor relates to the stage,
 * then a sample uniformly from that list of the stage's profile.
 *
 * Level: n <= 5 -> 5, n >= 100 -> 100, n a measured level -> n; for l < n < r (adjacent measured
 * levels) draw d uniform on 1..r-l. Linear interpolation keeps l when d > n - l, i.e. with
 * probability (r - n) / (r - l). decima-sim keeps l when d <= n - l, probability (n - l) / (r - l):
 * the reverse, restored by `compat`.
 */
import type { Rng } from '../../core/rng.js';
import { EXECUTOR_LEVELS, FIRST_WAVE, FRESH, NUM_LEVELS, REST_WAVE, type JobTemplate } from './profiles.js';

/** How the executor relates to the stage it starts a task on. */
export const NEW_TO_JOB = 0, SAME_STAGE = 1, OTHER_STAGE = 2;

export class DurationSampler {
  private readonly lo: Int8Array;
  private readonly hi: Int8Array;
  /** Of the last draw: index into EXECUTOR_LEVELS, wave, and whether the warm-up was added. */
  level = 0;
  wave = 0;
  warm = false;

  constructor(maxExecutors: number, readonly compat: boolean, readonly warmupDelayMs: number) {
    const maxN = Math.max(maxExecutors, EXECUTOR_LEVELS[NUM_LEVELS - 1]!) + 1;
    this.lo = new Int8Array(maxN + 1);
    this.hi = new Int8Array(maxN + 1);
    for (let n = 0; n <= maxN; n++) {
      let i = 0;
      if (n >= EXECUTOR_LEVELS[NUM_LEVELS - 1]!) i = NUM_LEVELS - 1;
      else if (n > EXECUTOR_LEVELS[0]) {
        while (EXECUTOR_LEVELS[i + 1]! < n) i++;
        if (EXECUTOR_LEVELS[i + 1] === n) i++;
      }
      this.lo[n] = i;
      this.hi[n] = n > EXECUTOR_LEVELS[i]! && i + 1 < NUM_LEVELS ? i + 1 : i;
    }
  }

  /** A duration (ms) for a task of `stage` (local index) of `tpl`, started with n executors in the job. */
  draw(tpl: JobTemplate, stage: number, n: number, relation: number, rng: Rng): number {
    let level = this.lo[n]!;
    const hi = this.hi[n]!;
    if (hi !== level) {
      const l = EXECUTOR_LEVELS[level]!, r = EXECUTOR_LEVELS[hi]!;
      const d = 1 + rng.int(r - l);
      const lower = this.compat ? d <= n - l : d > n - l;
      if (!lower) level = hi;
    }
    const base = (stage * NUM_LEVELS + level) * 3;
    const len = tpl.sampleLen;
    let wave: number, warm = false;
    if (relation === NEW_TO_JOB) {
      // JVM warm-up: the fresh samples include it; without them, add it to a first-wave sample.
      if (len[base + FRESH]! > 0) wave = FRESH;
      else { wave = FIRST_WAVE; warm = true; }
    } else if (relation === SAME_STAGE && len[base + REST_WAVE]! > 0) wave = REST_WAVE;
    else wave = len[base + FIRST_WAVE]! > 0 ? FIRST_WAVE : FRESH;
    this.level = level;
    this.wave = wave;
    this.warm = warm;
    const d = tpl.samples[tpl.sampleOff[base + wave]! + rng.int(len[base + wave]!)]!;
    return warm ? d + this.warmupDelayMs : d;
  }
}
