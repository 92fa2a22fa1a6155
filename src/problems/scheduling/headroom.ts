/**
 * Headroom study: how much lower than tuned weighted fair can the average JCT of a batch go in
 * this simulator? A search reference, not a heuristic (it knows the episode's jobs, and in its
 * clairvoyant mode the episode's own duration stream), never registered as a solver.
 *
 *   node dist/src/problems/scheduling/headroom.js [--instance tpch_batch20_50exec] [--seeds 10]
 *     [--generations 40] [--population 40] [--plan-seeds 4] [--modes 0,1] [--start twf|sjf] [--json FILE]
 *   node dist/src/problems/scheduling/headroom.js --per-decision [--instance I] [--seeds 10]
 *     [--rollouts 0|R [--hide-running]] [--min-gain S] [--spread 0.6] [--limit-deltas -8,-4,-2,-1,1,2,4,8] [--json FILE]
 *     [--base sjf|rank|plan [--generations 25 --population 30 --plan-seeds 3 --modes 0,1 | --plans FILE] [--plan-variants S]]
 *     (the per-decision study: see perDecision below)
 *
 * For each episode seed (cell seeds 1..N of the instance: 1000.. for the test instance) it
 * searches a per-episode policy `PriorityShare` by the cross-entropy method (Rubinstein 1999)
 * over 2J numbers: a weight w_j per job (its executor share is ceil(E w_j / sum of w over the
 * unfinished jobs), weighted fair's rule) and a priority p_j (jobs are visited in increasing p
 * instead of arrival order), started at tuned weighted fair (w = T^alpha, p = arrival order)
 * or with `--start sjf` at tuned-weighted-fair-sjf (p = rank by total work), which the class
 * contains exactly (checked). `--modes` picks how source executors treat their
 * own job: 0 = stay while it has a selectable stage (weighted fair's rule, decima-sim's
 * agents), 1 = stay only while it is under its share. Each candidate is scored by whole
 * simulations:
 * - clairvoyant: the episode itself (same seed: same jobs and same duration stream), so the
 *   search may exploit the draws; an optimistic reference for this policy class;
 * - plan: the same jobs with `--plan-seeds` other duration streams (what a scheduler that knows
 *   the batch, but not the durations, could search offline); the best plan is then run once on
 *   the episode's own stream: an achievable policy, so its ratio is a true lower bound on the
 *   headroom (within simulator noise).
 * Also printed: a crude lower bound on the average JCT from the work alone (rough durations:
 * with E executors, the k-th job to finish cannot end before (work of the k smallest jobs) / E,
 * nor before its own critical path), which no scheduler can beat by much (durations vary with
 * the executor level and wave, so it is approximate, not strict).
 */
import { pathToFileURL } from 'node:url';
import type { Info } from '../../core/env.js';
import { DataPath } from '../../core/data.js';
import { readFileSync } from 'node:fs';
import { reportError, SelfoptError } from '../../core/errors.js';
import { flagNumber, NON_NEGATIVE, NON_NEGATIVE_INT, POSITIVE_INT } from '../../core/options.js';
import { writeFileAtomic } from '../../core/files.js';
import { schedulingProblem } from './index.js';
import { Rng } from '../../core/rng.js';
import { mean, pairedRatio } from '../../core/stats.js';
import { encodeAction, type SchedulingEnv, type SchedulingObs } from './env.js';
import { makeEnv, runEpisode, type SchedulingPolicy } from './evaluate.js';
import { firstStageOf, hasUnassigned, limitFor } from './agent-rules.js';
import { describeRankSweep, rankWeightedFair, sweepAlpha, sweepRankShape, SWEEP_EPISODES } from './heuristics.js';
import { ShareScheduler, WeightedFair } from './weighted-fair.js';
import { loadInstance, type SchedulingInstance } from './instances.js';
import { sampleEpisode } from './workloads.js';
import { SIM_DEFAULTS, type EpisodeJob } from './sim.js';
import { RolloutTeacher, runTeacherEpisode, type RolloutTeacherConfig } from './decima-teacher.js';

/** Stay rules for the source executors. */
export const STAY_ALWAYS = 0, STAY_UNDER_SHARE = 1;

/**
 * Weighted fair sharing with per-job weights and a per-job visiting order, both indexed by the
 * simulator's job id (batch: position in the batch). With w_j = T_j^alpha, p_j = j and
 * STAY_ALWAYS it is WeightedFair(alpha) decision for decision.
 */
export class PriorityShare extends ShareScheduler {
  private rowPriority = new Float64Array(16);
  constructor(readonly weight: Float64Array, readonly priority: Float64Array, readonly stay: number) {
    super();
  }

  shares(o: SchedulingObs): { caps: Float64Array; order: Int32Array } {
    const E = o.numExecutors, J = o.numJobs;
    this.reserve(J);
    if (this.rowPriority.length < J) this.rowPriority = new Float64Array(2 * J);
    let total = 0, unfinished = 0;
    for (let k = 0; k < J; k++) {
      const w = hasUnassigned(o, k) ? this.weight[o.jobId[k]!]! : 0;
      this.caps[k] = w;
      total += w;
      if (w > 0) unfinished++;
      this.rowPriority[k] = this.priority[o.jobId[k]!]!;
    }
    for (let k = 0; k < J; k++) this.caps[k] = unfinished === 0 ? E : Math.ceil((E * this.caps[k]!) / total);
    this.orderBy(this.rowPriority, J);
    return { caps: this.caps, order: this.order };
  }

  /** Its own stay rule for the source executors (STAY_ALWAYS: the shared one), then the shared visit. */
  override act(o: SchedulingObs, info: Info): number {
    const { caps, order } = this.shares(o);
    const src = o.sourceJob;
    if (src >= 0 && (this.stay === STAY_ALWAYS || o.jobExecutors[src]! - Math.min(o.numSourceExec, o.jobExecutors[src]!) < caps[src]!)) {
      const r = firstStageOf(o, src);
      if (r >= 0) {
        const held = o.jobExecutors[src]! - Math.min(o.numSourceExec, o.jobExecutors[src]!);
        const use = this.stay === STAY_ALWAYS ? o.numSourceExec : Math.min(o.numSourceExec, caps[src]! - held);
        return encodeAction(r, limitFor(o, src, use), o.numExecutors);
      }
    }
    return this.visit(o, info, caps, order);
  }
}

/** The jobs of episode `seed`, as SchedulingEnv.doReset draws them. */
export function episodeJobs(inst: SchedulingInstance, seed: number): { jobs: EpisodeJob[]; numInitial: number } {
  const rng = new Rng(seed);
  const episode = rng.split(rng.nextU32());
  return sampleEpisode(inst.workload, inst.templates, episode.split('workload'));
}

/** Average JCT (s) of a policy on the given jobs with the duration stream of `durationSeed`. */
function avgJct(env: SchedulingEnv, policy: SchedulingPolicy, durationSeed: number, jobs?: { jobs: EpisodeJob[]; numInitial: number }): number {
  let { obs, info } = env.reset({ seed: durationSeed, options: jobs });
  for (;;) {
    const r = env.step(policy.act(obs, info, undefined as never));
    if (r.terminated) break;
    obs = r.obs; info = r.info;
  }
  const s = env.stats();
  if (s.completed !== s.numJobs) throw new Error(`headroom: ${s.completed} of ${s.numJobs} jobs completed`);
  return mean(s.jctMs) / 1000;
}

/**
 * Approximate lower bound on the average JCT (s): the k-th job to finish cannot end before the
 * work of the k smallest jobs spread over E executors, nor before the k-th smallest of the jobs'
 * own bounds (the moving delay plus the longest chain of one task per stage). Work and task
 * times are rough durations (means over levels and waves), hence approximate.
 */
export function workBound(jobs: readonly EpisodeJob[], E: number, movingDelayMs: number): number {
  const work = jobs.map((j) => j.template.totalWorkMs).sort((a, b) => a - b);
  const own = jobs.map((j) => movingDelayMs + longestChainMs(j.template)).sort((a, b) => a - b);
  let cum = 0, sum = 0;
  for (let k = 0; k < work.length; k++) {
    cum += work[k]!;
    sum += Math.max(cum / E, own[k]!);
  }
  return sum / work.length / 1000;
}

/** Longest path of one rough task duration per stage (memoized over parents; the DAG is acyclic). */
function longestChainMs(t: EpisodeJob['template']): number {
  const end = new Float64Array(t.numStages).fill(-1);
  const endOf = (s: number): number => {
    if (end[s]! >= 0) return end[s]!;
    let start = 0;
    for (let p = t.parentPtr[s]!; p < t.parentPtr[s + 1]!; p++) start = Math.max(start, endOf(t.parentIdx[p]!));
    return (end[s] = start + t.roughDurationMs[s]!);
  };
  let best = 0;
  for (let s = 0; s < t.numStages; s++) best = Math.max(best, endOf(s));
  return best;
}

interface SearchResult { value: number; weight: Float64Array; priority: Float64Array; evals: number }

/**
 * Cross-entropy search over (log w, p) from the start point, minimizing `score`. Keeps the best
 * point ever evaluated (the start point is evaluated first, so the result is never worse).
 */
function cem(J: number, start: Float64Array, sigma0: Float64Array, score: (w: Float64Array, p: Float64Array) => number, gens: number, pop: number, rng: Rng): SearchResult {
  const D = 2 * J;
  const mu = Float64Array.from(start), sd = Float64Array.from(sigma0);
  const decode = (x: Float64Array) => {
    const w = new Float64Array(J), p = new Float64Array(J);
    for (let j = 0; j < J; j++) { w[j] = Math.exp(x[j]!); p[j] = x[J + j]!; }
    return { w, p };
  };
  const evalX = (x: Float64Array) => { const { w, p } = decode(x); return score(w, p); };
  let bestX = Float64Array.from(start), best = evalX(start), evals = 1;
  const elite = Math.max(2, Math.round(pop / 5));
  for (let g = 0; g < gens; g++) {
    const xs: Float64Array[] = [bestX], vs: number[] = [best];
    for (let i = 1; i < pop; i++) {
      const x = new Float64Array(D);
      for (let d = 0; d < D; d++) x[d] = mu[d]! + sd[d]! * rng.normal();
      const v = evalX(x);
      evals++;
      xs.push(x); vs.push(v);
      if (v < best) { best = v; bestX = x; }
    }
    const idx = vs.map((_, i) => i).sort((a, b) => vs[a]! - vs[b]!).slice(0, elite);
    for (let d = 0; d < D; d++) {
      let m = 0;
      for (const i of idx) m += xs[i]![d]!;
      m /= elite;
      let v = 0;
      for (const i of idx) v += (xs[i]![d]! - m) ** 2;
      v /= elite;
      mu[d] = 0.7 * m + 0.3 * mu[d]!;
      sd[d] = Math.max(0.02 * sigma0[d]!, 0.7 * Math.sqrt(v) + 0.3 * sd[d]!);
    }
  }
  const { w, p } = decode(bestX);
  return { value: best, weight: w, priority: p, evals };
}

/**
 * The CEM start point (log w, p) and step sizes: tuned weighted fair (w = T^alpha, p = arrival
 * order) or, with `sjf`, tuned-weighted-fair-sjf (p = rank by total work, stable as
 * WeightedFair's 'work' order).
 */
function startPoint(jobs: readonly EpisodeJob[], alpha: number, sjf: boolean): { start: Float64Array; sigma: Float64Array } {
  const J = jobs.length;
  const rank = Array.from({ length: J }, (_, j) => j);
  if (sjf) rank.sort((x, y) => jobs[x]!.template.totalWorkMs - jobs[y]!.template.totalWorkMs || x - y);
  const start = new Float64Array(2 * J), sigma = new Float64Array(2 * J);
  for (let i = 0; i < J; i++) start[J + rank[i]!] = i;
  for (let j = 0; j < J; j++) {
    start[j] = alpha * Math.log(jobs[j]!.template.totalWorkMs);
    sigma[j] = 1;
    sigma[J + j] = 4;
  }
  return { start, sigma };
}

/** The `n` duration streams a plan for episode `seed` is searched on (never the episode's own). */
function planStreams(seed: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => 7_000_000 + seed * 16 + i);
}

/** A per-episode plan: PriorityShare's parameters, its stay mode, and its mean avg JCT (s) on the search streams. */
export interface Plan { weight: Float64Array; priority: Float64Array; mode: number; value: number }

/**
 * The plan search for one stay mode: CEM from `start` with every candidate scored by its mean
 * average JCT on the episode's jobs over `streams` (other duration streams than the episode's).
 */
function searchPlan(env: SchedulingEnv, jobs: { jobs: EpisodeJob[]; numInitial: number }, streams: readonly number[], start: Float64Array, sigma: Float64Array, mode: number, gens: number, pop: number, rng: Rng): Plan {
  const r = cem(jobs.jobs.length, start, sigma, (w, p) => mean(streams.map((s) => avgJct(env, new PriorityShare(w, p, mode), s, jobs))), gens, pop, rng);
  return { weight: r.weight, priority: r.priority, mode, value: r.value };
}

function main(): void {
  const args = process.argv.slice(2);
  let instance = 'tpch_batch20_50exec', seeds = 10, gens = 40, pop = 40, planSeeds = 4, modes = [STAY_ALWAYS, STAY_UNDER_SHARE], json = '', first = 1, startSjf = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--instance') instance = args[++i]!;
    else if (a === '--seeds') seeds = flagNumber('--seeds', POSITIVE_INT)(args[++i] ?? '');
    else if (a === '--first') first = flagNumber('--first', NON_NEGATIVE_INT)(args[++i] ?? '');
    else if (a === '--generations') gens = flagNumber('--generations', POSITIVE_INT)(args[++i] ?? '');
    else if (a === '--population') pop = flagNumber('--population', POSITIVE_INT)(args[++i] ?? '');
    else if (a === '--plan-seeds') planSeeds = flagNumber('--plan-seeds', POSITIVE_INT)(args[++i] ?? '');
    else if (a === '--modes') modes = (args[++i] ?? '').split(',').map(flagNumber('--modes', NON_NEGATIVE_INT));
    else if (a === '--json') json = args[++i]!;
    else if (a === '--start') startSjf = args[++i] === 'sjf';
    else throw new SelfoptError(`unknown argument ${a}`, 'headroom command line', '--instance, --seeds, --first, --generations, --population, --plan-seeds, --modes, --json, --start, or --per-decision');
  }
  const inst = loadInstance(schedulingProblem.resolveInstance(instance, { data: new DataPath(), quick: false }));
  if (inst.workload.kind !== 'batch') throw new Error('headroom: batch instances only (the per-job parameters index the batch)');
  const alpha = sweepAlpha(inst, SWEEP_EPISODES.full).alpha;
  // The search's start point: tuned weighted fair, or (--start sjf) tuned-weighted-fair-sjf.
  const startAlpha = startSjf ? sweepAlpha(inst, SWEEP_EPISODES.full, undefined, 'work').alpha : alpha;
  const env = makeEnv(inst);
  const J = inst.workload.numJobs, E = inst.numExecutors;
  console.log(`${instance}: tuned weighted fair alpha ${alpha} (swept on training seeds); CEM ${gens} generations x ${pop}, plan on ${planSeeds} other duration streams, stay modes ${modes.join(',')}; start ${startSjf ? `tuned-weighted-fair-sjf (alpha ${startAlpha})` : 'tuned weighted fair'}`);
  const rows: unknown[] = [];
  const twf: number[] = [], starts: number[] = [], clair: number[] = [], plan: number[] = [], planOwn: number[] = [], bound: number[] = [], fair: number[] = [];
  for (let c = first; c < first + seeds; c++) {
    const seed = inst.seedBase + c - 1;
    const t0 = Date.now();
    const jobs = episodeJobs(inst, seed);
    const base = mean(runEpisode(env, new WeightedFair(alpha), seed).jctMs) / 1000;
    const f0 = mean(runEpisode(env, new WeightedFair(0), seed).jctMs) / 1000;
    const startScore = startSjf ? mean(runEpisode(env, new WeightedFair(startAlpha, 'work'), seed).jctMs) / 1000 : base;
    const { start, sigma } = startPoint(jobs.jobs, startAlpha, startSjf);
    // The start point is the start policy exactly.
    const check = avgJct(env, new PriorityShare(new Float64Array(J).map((_, j) => Math.exp(start[j]!)), start.slice(J), STAY_ALWAYS), seed);
    if (Math.abs(check - startScore) > 1e-9) throw new Error(`headroom: PriorityShare at the start point gives ${check} s, the start policy ${startScore} s (seed ${seed})`);
    let bestClair = Infinity, bestPlan: { value: number; own: number; mode: number; weight?: Float64Array; priority?: Float64Array } = { value: Infinity, own: Infinity, mode: -1 }, clairMode = -1;
    const rng = new Rng(seed).split('headroom');
    const streams = planStreams(seed, planSeeds);
    for (const mode of modes) {
      const rc = cem(J, start, sigma, (w, p) => avgJct(env, new PriorityShare(w, p, mode), seed), gens, pop, rng);
      if (rc.value < bestClair) { bestClair = rc.value; clairMode = mode; }
      if (planSeeds > 0) {
        const rp = searchPlan(env, jobs, streams, start, sigma, mode, gens, pop, rng);
        if (rp.value < bestPlan.value) bestPlan = { value: rp.value, own: avgJct(env, new PriorityShare(rp.weight, rp.priority, mode), seed), mode, weight: rp.weight, priority: rp.priority };
      }
    }
    const b = workBound(jobs.jobs, E, SIM_DEFAULTS.movingDelayMs);
    twf.push(base); starts.push(startScore); clair.push(bestClair); bound.push(b); fair.push(f0);
    if (planSeeds > 0) { plan.push(bestPlan.value); planOwn.push(bestPlan.own); }
    const planJobs = bestPlan.weight ? jobs.jobs.map((jb, j) => ({ totalWorkS: jb.template.totalWorkMs / 1000, stages: jb.template.numStages, tasks: jb.template.numTasks.reduce((x, y) => x + y, 0), chainS: longestChainMs(jb.template) / 1000, weight: bestPlan.weight![j]! / Math.max(...bestPlan.weight!), twfWeight: Math.pow(jb.template.totalWorkMs, alpha), priority: bestPlan.priority![j]! })) : [];
    const row = { seed, twf: base, start: startScore, fair: f0, clairvoyant: bestClair, clairMode, planSearch: bestPlan.value, planOwnStream: bestPlan.own, planMode: bestPlan.mode, workBound: b, wallS: (Date.now() - t0) / 1000 };
    rows.push({ ...row, planJobs } as never);
    console.log(`seed ${seed}: tuned weighted fair ${base.toFixed(2)} s, fair ${f0.toFixed(2)}, clairvoyant search ${bestClair.toFixed(2)} (${(bestClair / base).toFixed(3)}, mode ${clairMode})` +
      (planSeeds > 0 ? `, plan ${bestPlan.own.toFixed(2)} on the episode's stream (${(bestPlan.own / base).toFixed(3)}; ${bestPlan.value.toFixed(2)} on its ${planSeeds} search streams, mode ${bestPlan.mode})` : '') +
      `, rough-work figure ${b.toFixed(2)} (${(b / base).toFixed(3)}); ${row.wallS.toFixed(0)} s`);
  }
  const fmt = (name: string, xs: number[]) => {
    const r = pairedRatio(xs, twf), q = pairedRatio(xs, starts);
    console.log(`${name}: mean ${mean(xs).toFixed(2)} s, ratio to tuned weighted fair ${r.mean.toFixed(3)} [${r.ci95[0].toFixed(3)}, ${r.ci95[1].toFixed(3)}]` +
      (startSjf ? `, to tuned-weighted-fair-sjf ${q.mean.toFixed(3)} [${q.ci95[0].toFixed(3)}, ${q.ci95[1].toFixed(3)}]` : ''));
    return { mean: mean(xs), ratio: r.mean, ci95: r.ci95, ratioToStart: q.mean, ci95ToStart: q.ci95 };
  };
  console.log(`tuned weighted fair: mean ${mean(twf).toFixed(2)} s over seeds ${inst.seedBase + first - 1}..${inst.seedBase + first + seeds - 2}`);
  const summary = {
    fair: fmt('fair', fair),
    ...(startSjf ? { start: fmt('tuned-weighted-fair-sjf', starts) } : {}),
    clairvoyant: fmt('clairvoyant search', clair),
    ...(planSeeds > 0 ? { plan: fmt(`plan (searched on ${planSeeds} other duration streams, run on the episode's)`, planOwn) } : {}),
    workBound: fmt('rough-work figure (not a strict bound)', bound),
  };
  if (json) writeFileAtomic(json, JSON.stringify({ instance, alpha, gens, pop, planSeeds, modes, rows, summary }, null, 1));
}

export interface PlanSearchOptions {
  /** CEM generations and population per stay mode. */
  gens: number;
  pop: number;
  /** Other duration streams each candidate is scored on. */
  planSeeds: number;
  /** Stay modes searched (each separately; the best by its search score is kept). */
  modes: readonly number[];
}

/** The budget of the README's 'plan' figure (0.929 of tuned-weighted-fair-sjf): 25 x 30 per mode, 3 streams, both stay modes. */
export const PLAN_SEARCH_DEFAULTS: PlanSearchOptions = { gens: 25, pop: 30, planSeeds: 3, modes: [STAY_ALWAYS, STAY_UNDER_SHARE] };

/**
 * The 'plan' of episode `seed`: PriorityShare searched from tuned-weighted-fair-sjf (alpha
 * `alphaSjf`) on the episode's jobs with `planSeeds` other duration streams, per stay mode, the
 * best by its score on those streams. It never sees the episode's own stream, so running it
 * there is achievable for anyone who knows the batch and has the simulator.
 */
export function searchEpisodePlan(env: SchedulingEnv, inst: SchedulingInstance, seed: number, alphaSjf: number, opts: PlanSearchOptions): Plan {
  if (!(opts.planSeeds >= 1 && opts.modes.length > 0)) throw new SelfoptError(`planSeeds ${opts.planSeeds}, modes [${opts.modes.join(',')}]`, 'searchEpisodePlan', 'at least one duration stream and one stay mode');
  const jobs = episodeJobs(inst, seed);
  const { start, sigma } = startPoint(jobs.jobs, alphaSjf, true);
  const rng = new Rng(seed).split('headroom'), streams = planStreams(seed, opts.planSeeds);
  let best: Plan | null = null;
  for (const mode of opts.modes) {
    const p = searchPlan(env, jobs, streams, start, sigma, mode, opts.gens, opts.pop, rng);
    if (!best || p.value < best.value) best = p;
  }
  return best!;
}

export function planPolicy(plan: Plan): PriorityShare {
  return new PriorityShare(plan.weight, plan.priority, plan.mode);
}

/**
 * The plan's own weighted fair variants, as candidates beside it (as weighted fair at alpha +-
 * spread beside weighted fair): its shares flattened and sharpened (weights w^(1 - spread) and
 * w^(1 + spread), same priorities) and its other stay rule.
 */
export function planVariants(plan: Plan, spread: number): PriorityShare[] {
  const pow = (e: number) => plan.weight.map((w) => Math.pow(w, e));
  return [new PriorityShare(pow(1 - spread), plan.priority, plan.mode), new PriorityShare(pow(1 + spread), plan.priority, plan.mode), new PriorityShare(plan.weight, plan.priority, plan.mode === STAY_ALWAYS ? STAY_UNDER_SHARE : STAY_ALWAYS)];
}

/** Plans saved by an earlier `--per-decision --base plan --json FILE` run, by episode seed. */
function readPlans(file: string): Map<number, Plan> {
  const bad = (what: string) => new SelfoptError(what, `headroom --plans ${file}`, 'the --json output of a --per-decision --base plan run');
  let rows: unknown;
  try { rows = (JSON.parse(readFileSync(file, 'utf8')) as { rows?: unknown }).rows; } catch (e) { throw bad(`unreadable: ${(e as Error).message}`); }
  if (!Array.isArray(rows)) throw bad('no rows');
  const plans = new Map<number, Plan>();
  for (const r of rows as { seed?: unknown; plan?: { weight?: unknown; priority?: unknown; mode?: unknown; value?: unknown } }[]) {
    const p = r.plan;
    if (typeof r.seed !== 'number' || !p || !Array.isArray(p.weight) || !Array.isArray(p.priority) || p.weight.length !== p.priority.length || typeof p.mode !== 'number' || typeof p.value !== 'number') throw bad(`a row without a plan (seed ${String(r.seed)})`);
    plans.set(r.seed, { weight: Float64Array.from(p.weight as number[]), priority: Float64Array.from(p.priority as number[]), mode: p.mode, value: p.value });
  }
  return plans;
}

/**
 * Per-decision headroom (`--per-decision`): a richer action class than a weight and a priority
 * per job: at every decision, which stage and which parallelism limit. One step of rollout
 * improvement over a base policy (the rollout teacher of decima-teacher.ts with that base): at
 * each decision where the candidates differ (the base's action, tuned-weighted-fair-sjf's,
 * weighted fair's at alpha +- spread and at 0 (fair), all visiting smallest work first,
 * SJF-CP's, and the base's stage with its limit moved by `--limit-deltas`; merged when they
 * send the same executors to the same stage), each is scored by finishing the episode with the
 * base from an exact snapshot, and the best is taken in the episode. The base:
 * - `--base sjf` (default): tuned-weighted-fair-sjf;
 * - `--base rank`: tuned-rank-weighted-fair (its sweep on the training seeds);
 * - `--base plan`: the episode's plan (`searchEpisodePlan`, budget `--generations
 *   --population --plan-seeds --modes`, or read back with `--plans FILE` from an earlier run's
 *   --json), searched on other duration streams: rollout over the best achievable per-job
 *   policy. `--plan-variants S` adds the plan's own weighted fair variants (planVariants).
 * The simulations:
 * - `--rollouts 0` (clairvoyant): one continuation per candidate on the episode's own Rng state.
 *   Durations are drawn in task-start order, so a candidate meets the draws its own schedule
 *   asks for: "clairvoyant" means the same random stream, not known task times. On that stream
 *   the rollout policy never ends worse than its base (rollout improvement; checked per episode).
 * - `--rollouts R`: R other duration streams per candidate (common to all candidates), the
 *   episode then continues on its own: an achievable teacher for anyone with the simulator who
 *   knows the batch, except that it knows the end times already drawn for running tasks;
 *   `--hide-running` redraws those too in each stream (given how long each task has run), so
 *   it knows only what a scheduler sees.
 */
function perDecision(args: string[]): void {
  let instance = 'tpch_batch20_50exec', seeds = 10, first = 1, rollouts = 0, spread = 0.6, deltas = [-8, -4, -2, -1, 1, 2, 4, 8], json = '', hideRunning = false, minGainS = 0;
  let baseKind: 'sjf' | 'rank' | 'plan' = 'sjf', plansFile = '', planSpread = 0;
  const search: PlanSearchOptions = { ...PLAN_SEARCH_DEFAULTS };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--instance') instance = args[++i]!;
    else if (a === '--seeds') seeds = flagNumber('--seeds', POSITIVE_INT)(args[++i] ?? '');
    else if (a === '--first') first = flagNumber('--first', NON_NEGATIVE_INT)(args[++i] ?? '');
    else if (a === '--rollouts') rollouts = flagNumber('--rollouts', NON_NEGATIVE_INT)(args[++i] ?? '');
    else if (a === '--spread') spread = flagNumber('--spread', NON_NEGATIVE)(args[++i] ?? '');
    else if (a === '--limit-deltas') deltas = (args[++i] ?? '').split(',').filter((x) => x !== '').map(flagNumber('--limit-deltas', { int: true, expected: 'comma-separated integers' }));
    else if (a === '--json') json = args[++i]!;
    else if (a === '--hide-running') hideRunning = true;
    else if (a === '--min-gain') minGainS = flagNumber('--min-gain', NON_NEGATIVE)(args[++i] ?? '');
    else if (a === '--base') {
      const b = args[++i];
      if (b !== 'sjf' && b !== 'plan' && b !== 'rank') throw new SelfoptError(`--base ${b}`, 'headroom --per-decision', 'sjf (tuned-weighted-fair-sjf), rank (tuned-rank-weighted-fair) or plan (the per-episode plan)');
      baseKind = b;
    } else if (a === '--plans') plansFile = args[++i]!;
    else if (a === '--plan-variants') planSpread = flagNumber('--plan-variants', NON_NEGATIVE)(args[++i] ?? '');
    else if (a === '--generations') search.gens = flagNumber('--generations', POSITIVE_INT)(args[++i] ?? '');
    else if (a === '--population') search.pop = flagNumber('--population', POSITIVE_INT)(args[++i] ?? '');
    else if (a === '--plan-seeds') search.planSeeds = flagNumber('--plan-seeds', POSITIVE_INT)(args[++i] ?? '');
    else if (a === '--modes') search.modes = (args[++i] ?? '').split(',').map(flagNumber('--modes', NON_NEGATIVE_INT));
    else throw new SelfoptError(`unknown argument ${a}`, 'headroom --per-decision command line', '--instance, --seeds, --first, --rollouts, --spread, --limit-deltas, --json, --hide-running, --min-gain, --base, --plans, --plan-variants, --generations, --population, --plan-seeds, --modes');
  }
  const basePlan = baseKind === 'plan';
  if (!basePlan && (plansFile || planSpread)) throw new SelfoptError('--plans or --plan-variants without --base plan', 'headroom --per-decision', '--base plan');
  const inst = loadInstance(schedulingProblem.resolveInstance(instance, { data: new DataPath(), quick: false }));
  if (inst.workload.kind !== 'batch') throw new Error('headroom: batch instances only (a snapshot of a stream holds its future arrivals)');
  const alpha = sweepAlpha(inst, SWEEP_EPISODES.full).alpha, alphaSjf = sweepAlpha(inst, SWEEP_EPISODES.full, undefined, 'work').alpha;
  const env = makeEnv(inst);
  const clairvoyant = rollouts === 0;
  const saved = plansFile ? readPlans(plansFile) : null;
  const cfg: RolloutTeacherConfig = { alpha: alphaSjf, order: 'work', spread, rollouts: Math.max(1, rollouts), limitDeltas: deltas, clairvoyant, resampleRunning: hideRunning, minGainS };
  const rank = baseKind === 'rank' ? sweepRankShape(inst, SWEEP_EPISODES.full) : null;
  const rankPolicy = rank ? rankWeightedFair(rank) : null;
  const baseName = basePlan ? 'the episode\'s plan' : rank ? `tuned-rank-weighted-fair (${describeRankSweep(rank)})` : 'tuned-weighted-fair-sjf';
  console.log(`${instance}: per-decision rollout over ${basePlan ? `the per-episode plan (${saved ? `read from ${plansFile}` : `CEM ${search.gens} x ${search.pop} per stay mode ${search.modes.join(',')} on ${search.planSeeds} other duration streams, from tuned-weighted-fair-sjf`}${planSpread ? `; its variants at spread ${planSpread} among the candidates` : ''})` : baseName} (alpha ${alphaSjf}; tuned weighted fair ${alpha}), ${clairvoyant ? 'clairvoyant (the episode\'s own stream)' : `${rollouts} other duration streams per candidate${hideRunning ? ', running tasks\' end times redrawn' : ''}`}${minGainS > 0 ? `, overruling the base only for a gain of ${minGainS} s or more` : ''}, spread ${spread}, limit deltas ${deltas.join(',')}`);
  const sjf: number[] = [], twf: number[] = [], plans: number[] = [], ranks: number[] = [], roll: number[] = [], rows: unknown[] = [];
  for (let c = first; c < first + seeds; c++) {
    const seed = inst.seedBase + c - 1, t0 = Date.now();
    const sjfS = mean(runEpisode(env, new WeightedFair(alphaSjf, 'work'), seed).jctMs) / 1000;
    const wf = mean(runEpisode(env, new WeightedFair(alpha), seed).jctMs) / 1000;
    let plan: Plan | null = null;
    if (basePlan) {
      plan = saved ? saved.get(seed) ?? null : searchEpisodePlan(env, inst, seed, alphaSjf, search);
      if (!plan) throw new SelfoptError(`no plan for seed ${seed}`, `headroom --plans ${plansFile}`, 'a plan for every episode seed run');
      if (plan.weight.length !== inst.workload.numJobs) throw new SelfoptError(`a plan for ${plan.weight.length} jobs (seed ${seed})`, `headroom --plans ${plansFile}`, `plans of a ${inst.workload.numJobs}-job batch (this instance's)`);
    }
    const planS = plan ? avgJct(env, planPolicy(plan), seed) : NaN, t1 = Date.now();
    const rankS = rankPolicy ? avgJct(env, rankPolicy, seed) : NaN;
    const base = plan ? planS : rankPolicy ? rankS : sjfS;
    const teacher = new RolloutTeacher(makeEnv(inst), cfg, plan ? { base: planPolicy(plan), extra: planSpread ? planVariants(plan, planSpread) : [] } : rankPolicy ? { base: rankPolicy } : {});
    const r = runTeacherEpisode(env, teacher, seed);
    if (clairvoyant && r > base + 1e-9) throw new Error(`headroom: the clairvoyant rollout (${r} s) ended worse than its base (${base} s) on seed ${seed}`);
    sjf.push(sjfS); twf.push(wf); roll.push(r);
    if (plan) plans.push(planS);
    if (rankPolicy) ranks.push(rankS);
    const row = {
      seed, tunedWeightedFairSjf: sjfS, tunedWeightedFair: wf, ...(plan ? { plan: { ...plan, weight: Array.from(plan.weight), priority: Array.from(plan.priority), own: planS }, planWallS: (t1 - t0) / 1000 } : {}),
      ...(rankPolicy ? { tunedRankWeightedFair: rankS } : {}), rollout: r, ...teacher.stats, rolloutWallS: (Date.now() - t1) / 1000, wallS: (Date.now() - t0) / 1000,
    };
    rows.push(row);
    console.log(`seed ${seed}: tuned-weighted-fair-sjf ${sjfS.toFixed(2)} s` + (plan ? `, plan ${planS.toFixed(2)} s (${(planS / sjfS).toFixed(4)}; ${plan.value.toFixed(2)} on its search streams, stay mode ${plan.mode}; ${row.planWallS!.toFixed(0)} s)` : '') +
      (rankPolicy ? `, tuned-rank-weighted-fair ${rankS.toFixed(2)} s` : '') +
      `, rollout ${r.toFixed(2)} s (${(r / sjfS).toFixed(4)}${plan ? `; ${(r / planS).toFixed(4)} of the plan` : ''}${rankPolicy ? `; ${(r / rankS).toFixed(4)} of tuned-rank-weighted-fair` : ''}); ${teacher.stats.contested} of ${teacher.stats.decisions} decisions contested, base overruled at ${teacher.stats.changed}, ${teacher.stats.simulations} simulations; rollout ${row.rolloutWallS.toFixed(0)} s`);
  }
  const f = (e: { mean: number; ci95: [number, number] }) => `${e.mean.toFixed(4)} [${e.ci95[0].toFixed(4)}, ${e.ci95[1].toFixed(4)}]`;
  const q = pairedRatio(roll, sjf), w = pairedRatio(roll, twf), b = pairedRatio(sjf, twf);
  console.log(`seeds ${inst.seedBase + first - 1}..${inst.seedBase + first + seeds - 2}: tuned weighted fair ${mean(twf).toFixed(2)} s, tuned-weighted-fair-sjf ${mean(sjf).toFixed(2)} s (${f(b)} of tuned weighted fair)${basePlan ? `, plan ${mean(plans).toFixed(2)} s` : ''}, rollout ${mean(roll).toFixed(2)} s`);
  const summary: Record<string, unknown> = { toSjf: q, toTwf: w, sjfToTwf: b };
  if (basePlan) {
    const ps = pairedRatio(plans, sjf), pw = pairedRatio(plans, twf), rp = pairedRatio(roll, plans);
    Object.assign(summary, { planToSjf: ps, planToTwf: pw, rolloutToPlan: rp });
    console.log(`plan / tuned-weighted-fair-sjf: ${f(ps)}; plan / tuned weighted fair: ${f(pw)}`);
    console.log(`rollout / the plan: ${f(rp)}`);
  }
  if (rankPolicy) {
    const ks = pairedRatio(ranks, sjf), rk = pairedRatio(roll, ranks);
    Object.assign(summary, { rankToSjf: ks, rolloutToRank: rk });
    console.log(`tuned-rank-weighted-fair / tuned-weighted-fair-sjf: ${f(ks)}; rollout / tuned-rank-weighted-fair: ${f(rk)}`);
  }
  console.log(`rollout over ${baseName} / tuned-weighted-fair-sjf: ${f(q)}; / tuned weighted fair: ${f(w)}`);
  if (json) writeFileAtomic(json, JSON.stringify({ instance, alpha, alphaSjf, cfg, base: baseKind, ...(rank ? { rank } : {}), ...(basePlan ? { planSearch: saved ? { plans: plansFile } : search, planVariants: planSpread } : {}), rows, summary }, null, 1));
}

// Run as a script only (tests import PriorityShare).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    if (process.argv.includes('--per-decision')) perDecision(process.argv.slice(2).filter((a) => a !== '--per-decision'));
    else main();
  } catch (e) {
    reportError(e, 'headroom');
  }
}
