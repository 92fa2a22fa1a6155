/**
 * Synthetic job profiles for a machine without the TPC-H data: a pool of 22 DAG shapes
 * ("queries") x the 7 TPC-H scale factors, whose shapes and duration distributions are drawn
 * from summary statistics of decima-sim's 154 TPC-H profiles. Only the figures below come from
 * the data (computed once with a short script over tpch_<size>.json, after decima's
 * pre-processing; no profile is copied). Each generated profile goes through `buildTemplate`,
 * so it is validated and pre-processed exactly like a real one.
 *
 * What is modelled: stage counts; in-tree DAGs with one final stage and a few stages with two
 * children; per-stage task counts and mean task durations (log-normal, separately for source
 * stages and the others, correlated, growing with the scale factor); fresh / first / rest wave
 * ratios; the effect of the executor level; the spread of durations within a list.
 * What is not: correlations across stages of a job, or between a stage's waves beyond the means.
 */
import { Rng } from '../../core/rng.js';
import { buildTemplate, TPCH_SIZES, type JobTemplate, type RawJob } from './profiles.js';
import type { TemplatePool } from './workloads.js';

// ---- Figures from the 154 TPC-H profiles (22 queries x 7 sizes, 1,414 stages) ------------------

/** ln(number of stages) over the 22 queries: mean, standard deviation; range 2..18. */
const LN_STAGES = { mean: 2.079, sd: 0.551, min: 2, max: 18 };
/** Out-degree: every stage but the final one has a child; 7 of the 180 non-final stages have two. */
const P_TWO_CHILDREN = 0.039;
/**
 * A stage's child is the next stage with this probability, else a uniformly drawn later stage:
 * a compromise between the share of source stages (38.6% measured; 34.7% in the pool of seed 7)
 * and the depth (5.9 measured, 5.4 generated, mean over queries); a larger value deepens the
 * DAGs and lowers the share of source stages.
 */
const P_CHAIN = 0.4;
/** ln(tasks) and ln(mean first-wave duration, ms) per stage, mean and sd; correlation of the two. */
const SOURCE_STAGE = { lnTasks: [2.472, 1.9], lnDur: [7.654, 0.842], corr: 0.526 } as const;
const INNER_STAGE = { lnTasks: [4.382, 1.86], lnDur: [5.783, 0.841], corr: 0.158 } as const;
/** Change of ln(tasks) and ln(duration) per unit of ln(scale factor in GB), about the mean ln GB. */
const SIZE_SLOPE = { lnTasks: 0.245, lnDur: 0.067, meanLnGb: 2.929 };
const MAX_TASKS = 593;
/** ln(mean fresh / mean first wave) and ln(mean rest wave / mean first wave) per stage: mean, sd. */
const LN_FRESH_RATIO = [0.714, 0.587] as const;
const LN_REST_RATIO = [-1.411, 0.847] as const;
/** ln(mean first wave at the level / the stage's mean first wave), per executor level. */
const LN_LEVEL_RATIO: Record<number, number> = { 2: -0.394, 5: -0.394, 10: -0.333, 20: -0.225, 40: -0.025, 50: 0.03, 60: 0.117, 80: 0.237, 100: 0.35 };
/** Coefficient of variation of the durations within one list (mean over lists). */
const CV = 0.305;

const KEYS = [2, 5, 10, 20, 40, 50, 60, 80, 100];
const GB = [2, 5, 10, 20, 50, 80, 100];
/** Samples kept per list at levels above the first (the first holds all tasks, it defines their number). */
const MAX_SAMPLES = 24;

function lognormalSample(rng: Rng, mean: number): number {
  const s = Math.sqrt(Math.log(1 + CV * CV));
  return Math.max(1, Math.round(mean * Math.exp(s * rng.normal() - (s * s) / 2)));
}

interface StageShape {
  zTasks: number;
  zDur: number;
  lnFresh: number;
  lnRest: number;
}

/** One query: its DAG and per-stage draws, shared by its 7 sizes (as a TPC-H query is). */
function drawQuery(rng: Rng): { n: number; edges: [number, number][]; source: boolean[]; stages: StageShape[] } {
  const n = Math.min(LN_STAGES.max, Math.max(LN_STAGES.min, Math.round(Math.exp(LN_STAGES.mean + LN_STAGES.sd * rng.normal()))));
  const edges: [number, number][] = [];
  const hasParent = new Array<boolean>(n).fill(false);
  for (let i = 0; i < n - 1; i++) {
    const later = n - 1 - i;
    const c = rng.next() < P_CHAIN ? i + 1 : i + 1 + rng.int(later);
    edges.push([i, c]);
    hasParent[c] = true;
    if (later > 1 && rng.next() < P_TWO_CHILDREN) {
      let c2 = c;
      while (c2 === c) c2 = i + 1 + rng.int(later);
      edges.push([i, c2]);
      hasParent[c2] = true;
    }
  }
  const stages: StageShape[] = [];
  for (let i = 0; i < n; i++) {
    const p = hasParent[i] ? INNER_STAGE : SOURCE_STAGE;
    const a = rng.normal(), b = rng.normal();
    stages.push({
      zTasks: a, zDur: p.corr * a + Math.sqrt(1 - p.corr * p.corr) * b,
      lnFresh: LN_FRESH_RATIO[0] + LN_FRESH_RATIO[1] * rng.normal(), lnRest: LN_REST_RATIO[0] + LN_REST_RATIO[1] * rng.normal(),
    });
  }
  return { n, edges, source: hasParent.map((h) => !h), stages };
}

/** The raw profile of a query at one scale factor, in the TPC-H JSON schema. */
function rawProfile(rng: Rng, q: number, si: number, shape: ReturnType<typeof drawQuery>): RawJob {
  const size = TPCH_SIZES[si]!;
  const dLnGb = Math.log(GB[si]!) - SIZE_SLOPE.meanLnGb;
  const stages = shape.stages.map((st, i) => {
    const p = shape.source[i] ? SOURCE_STAGE : INNER_STAGE;
    const T = Math.min(MAX_TASKS, Math.max(1, Math.round(Math.exp(p.lnTasks[0] + p.lnTasks[1] * st.zTasks + SIZE_SLOPE.lnTasks * dLnGb))));
    const firstMean = Math.exp(p.lnDur[0] + p.lnDur[1] * st.zDur + SIZE_SLOPE.lnDur * dLnGb);
    const first: Record<string, number[]> = {}, rest: Record<string, number[]> = {}, fresh: Record<string, number[]> = {};
    for (const k of KEYS) {
      const m = firstMean * Math.exp(LN_LEVEL_RATIO[k]!);
      // A wave of min(k, T) tasks, about half on executors fresh to the job; the raw first wave
      // also lists the fresh ones (decima's pre-processing removes them again).
      const wave = Math.min(k, T);
      const nFresh = Math.ceil(wave / 2);
      const nRest = k === KEYS[0] ? T - wave : Math.min(MAX_SAMPLES, T - wave);
      fresh[k] = Array.from({ length: Math.min(nFresh, MAX_SAMPLES) }, () => lognormalSample(rng, m * Math.exp(st.lnFresh)));
      const own = Array.from({ length: Math.min(wave - nFresh, MAX_SAMPLES) }, () => lognormalSample(rng, m));
      first[k] = k === KEYS[0] ? [...fresh[k]!, ...own].slice(0, wave) : [...fresh[k]!, ...own];
      rest[k] = Array.from({ length: nRest }, () => lognormalSample(rng, m * Math.exp(st.lnRest)));
    }
    return { executor_keys: KEYS, first_wave: first, rest_wave: rest, fresh_durations: fresh };
  });
  return { name: `synthetic-${size}-${q + 1}`, size, query: q + 1, num_stages: shape.n, edges: shape.edges, stages };
}

const cache = new Map<number, TemplatePool>();

/** 22 synthetic queries x 7 sizes from `seed` (cached per process). */
export function syntheticPool(seed: number): TemplatePool {
  let pool = cache.get(seed);
  if (pool) return pool;
  const rng = new Rng(seed).split('synthetic-profiles');
  const templates: JobTemplate[] = [];
  for (let q = 0; q < 22; q++) {
    const shape = drawQuery(rng);
    for (let si = 0; si < TPCH_SIZES.length; si++) templates.push(buildTemplate(rawProfile(rng, q, si, shape), { file: `synthetic(seed ${seed})`, index: q * 7 + si }));
  }
  pool = { name: 'synthetic', templates, numQueries: 22, numSizes: TPCH_SIZES.length };
  cache.set(seed, pool);
  return pool;
}
