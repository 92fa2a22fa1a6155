/**
 * From result rows to the summary of one problem: the stable JSON that `--json` prints and that
 * the terminal table and the HTML report draw.
 *
 * - rows: per (instance, solver, metric), the mean over every recorded (run, seed) with its 95%
 *   bootstrap interval; `ci95` is null when there is one value (`--seeds 1`, a stopped run, a
 *   deterministic solver's seed 1): one sample has no spread to resample, and [x, x] would read
 *   as certainty.
 * - comparisons, on the problem's primary metric, per instance:
 *   every non-baseline solver against the baseline solver (`vs: 'baseline'`), and every learned
 *   solver against the best heuristic of that instance (`vs: 'best-heuristic'`; best = best mean
 *   among the baseline, heuristic and peer solvers in the metric's direction). A ratio is
 *   solver / reference, paired by (run, seed) so that both sides of a pair share a process and a
 *   workload (a deterministic solver's one seed-1 result pairs with every seed of its run); it is
 *   the geometric mean of the per-pair ratios with a bootstrap interval (`pairedRatio`), null
 *   when there is one pair. Whether a ratio below 1 is good depends on the metric's `better`.
 * - geomeans: per solver and reference, the geometric mean of its ratios across instances. For
 *   learned solvers only test-split instances count: a score on an instance it trained on is no
 *   evidence (DESIGN.md, rules of evidence).
 *
 * Bootstrap draws are seeded from the cell's names, so the same rows give the same report.
 */
import { bootstrapMean, BOOTSTRAP_RESAMPLES, geomean, median, pairedRatio, type Estimate } from '../core/stats.js';
import { hashString } from '../core/rng.js';
import type { Better, Problem, SolverKind } from '../core/problem.js';
import type { ResultRow } from './store.js';

/** What the summary needs to know about the problem (passed in, so this file imports no problem). */
export interface ProblemFacts {
  primaryMetric: string;
  /** Name of the baseline solver. */
  baseline: string;
  /** Declared metric order (default: primary first, then by name). */
  metrics?: readonly string[];
  /** Declared solver order within a kind (default: by name). */
  solvers?: readonly string[];
  /**
   * Solvers whose solution does not depend on the seed (SolverInfo.deterministic): the runner
   * runs them on seed 1 only, and a comparison pairs that one result with every seed of the
   * other solver in the same run.
   */
  deterministic?: readonly string[];
}

export interface SummaryOptions {
  /** Bootstrap resamples (default BOOTSTRAP_RESAMPLES). */
  resamples?: number;
  /**
   * Bootstrap estimates kept from earlier summaries, by what they are of (statistic, seed,
   * resamples, values): the same values give the same estimate, so a summary of a run that gained
   * one cell bootstraps only that cell's groups. The dashboard re-summarises a run being written
   * every few seconds; each time it paid the whole bootstrap again (seconds on a big run).
   */
  estimates?: EstimateMemo;
}

/** Estimates by what they are of; see SummaryOptions.estimates. */
export type EstimateMemo = Map<string, Estimate>;

/** `estimate()`, or the estimate `memo` holds for the same statistic, seed, resamples and values. */
function remembered(memo: EstimateMemo | undefined, what: string, seed: number, resamples: number, values: readonly number[], estimate: () => Estimate): Estimate {
  if (!memo) return estimate();
  const k = `${what}|${seed}|${resamples}|${values.join(',')}`;
  let e = memo.get(k);
  if (e === undefined) memo.set(k, (e = estimate()));
  return e;
}

export type Split = 'train' | 'test';
export type Reference = 'baseline' | 'best-heuristic';

export interface SummaryRow {
  instance: string;
  split: Split;
  solver: string;
  kind: SolverKind;
  metric: string;
  unit: string;
  better: Better;
  n: number;
  mean: number;
  /** The 95% bootstrap interval of the mean; null when n < 2 (no interval from one value). */
  ci95: [number, number] | null;
}

export interface Comparison {
  instance: string;
  split: Split;
  metric: string;
  better: Better;
  solver: string;
  kind: SolverKind;
  /** The reference solver's name (the baseline, or this instance's best heuristic). */
  baseline: string;
  vs: Reference;
  /** Number of (run, seed) pairs present for both solvers. */
  n: number;
  /** solver / reference: geometric mean of per-pair ratios. */
  ratio: number;
  /** Its 95% bootstrap interval; null when n < 2 (one pair has no interval). */
  ci95: [number, number] | null;
}

export interface GeomeanLine {
  solver: string;
  kind: SolverKind;
  metric: string;
  better: Better;
  vs: Reference;
  /** Instances whose ratios enter the geometric mean. */
  instances: string[];
  ratio: number;
}

export interface SummaryMeta {
  runIds: string[];
  codeVersions: string[];
  machines: string[];
  seeds: number[];
  primaryMetric: string;
  baseline: string;
  instances: { id: string; split: Split }[];
  solvers: { name: string; kind: SolverKind }[];
  metrics: { name: string; unit: string; better: Better }[];
  /** instance -> its best heuristic on the primary metric. */
  bestHeuristic: Record<string, string>;
  bootstrap: { resamples: number; ci: 0.95 };
  /** Comparisons that could not be made, and why. */
  warnings: string[];
  /** Problem-specific facts (Problem.metaMetrics), e.g. simDecisionsPerSec. */
  [fact: string]: unknown;
}

export interface Summary {
  problem: string;
  rows: SummaryRow[];
  comparisons: Comparison[];
  geomeans: GeomeanLine[];
  meta: SummaryMeta;
}

const KIND_ORDER: readonly SolverKind[] = ['baseline', 'heuristic', 'peer', 'learned'];
const HEURISTIC_KINDS: readonly SolverKind[] = ['baseline', 'heuristic', 'peer'];

/** Whether a primary-metric mean or a ratio of the summary stands on one value (and so has no interval). */
export function hasOneValueStat(s: Summary): boolean {
  return s.rows.some((r) => r.metric === s.meta.primaryMetric && r.ci95 === null) || s.comparisons.some((c) => c.ci95 === null);
}

/** Summarizes the rows of `problem` (rows of other problems are ignored). */
export function summarize(problem: string, allRows: readonly ResultRow[], facts: ProblemFacts, opts: SummaryOptions = {}): Summary {
  const resamples = opts.resamples ?? BOOTSTRAP_RESAMPLES;
  const deterministic = new Set(facts.deterministic ?? []);
  const rows = allRows.filter((r) => r.problem === problem);
  const warnings: string[] = [];

  // --- what is there, in a stable order ---
  const solverKind = new Map<string, SolverKind>();
  const split = new Map<string, Split>();
  const metricInfo = new Map<string, { unit: string; better: Better }>();
  for (const r of rows) {
    if (!solverKind.has(r.solver)) solverKind.set(r.solver, r.solverKind);
    if (!split.has(r.instance)) split.set(r.instance, r.instanceSplit);
    if (!metricInfo.has(r.metric)) metricInfo.set(r.metric, { unit: r.unit, better: r.better });
  }
  const declaredSolver = orderIndex(facts.solvers);
  const solvers = [...solverKind.keys()].sort(
    (a, b) => KIND_ORDER.indexOf(solverKind.get(a)!) - KIND_ORDER.indexOf(solverKind.get(b)!) || declaredSolver(a) - declaredSolver(b) || cmp(a, b),
  );
  const instances = [...split.keys()].sort(cmp);
  const declaredMetric = orderIndex(facts.metrics);
  const rank = (m: string) => (m === facts.primaryMetric ? -1 : declaredMetric(m));
  const metrics = [...metricInfo.keys()].sort((a, b) => rank(a) - rank(b) || cmp(a, b));

  // --- per (instance, solver, metric): values keyed by (run, seed) for pairing ---
  const cells = new Map<string, Map<string, number>>();
  for (const r of rows) {
    const k = key(r.instance, r.solver, r.metric);
    let m = cells.get(k);
    if (!m) cells.set(k, (m = new Map()));
    m.set(pairKey(r.runId, r.seed), r.value);
  }

  const out: SummaryRow[] = [];
  const means = new Map<string, number>();
  for (const instance of instances) {
    for (const solver of solvers) {
      for (const metric of metrics) {
        const k = key(instance, solver, metric);
        const vals = cells.get(k);
        if (!vals) continue;
        const xs = sortedValues(vals);
        const seed = hashString(k);
        const e = remembered(opts.estimates, 'mean', seed, resamples, xs, () => bootstrapMean(xs, seed, resamples));
        const info = metricInfo.get(metric)!;
        means.set(k, e.mean);
        out.push({ instance, split: split.get(instance)!, solver, kind: solverKind.get(solver)!, metric, unit: info.unit, better: info.better, n: e.n, mean: e.mean, ci95: interval(e) });
      }
    }
  }

  // --- comparisons on the primary metric ---
  const pm = facts.primaryMetric;
  const pmInfo = metricInfo.get(pm);
  const comparisons: Comparison[] = [];
  const bestHeuristic: Record<string, string> = {};
  if (!pmInfo && rows.length > 0) warnings.push(`no rows for the primary metric '${pm}': no comparisons`);
  if (pmInfo) {
    if (!solverKind.has(facts.baseline)) warnings.push(`no rows for the baseline solver '${facts.baseline}': no ratios vs baseline`);
    for (const instance of instances) {
      const best = bestOf(instance, solvers.filter((s) => HEURISTIC_KINDS.includes(solverKind.get(s)!)), pm, pmInfo.better, means);
      if (best) bestHeuristic[instance] = best;
      const compare = (solver: string, reference: string, vs: Reference) => {
        const a = cells.get(key(instance, solver, pm));
        const b = cells.get(key(instance, reference, pm));
        if (!a || !b) return;
        // A deterministic side has seed 1 only; it stands for every seed of its run.
        const value = (m: Map<string, number>, s: string, p: string) => (deterministic.has(s) ? m.get(pairKey(runOf(p), 1)) : m.get(p));
        const [detA, detB] = [deterministic.has(solver), deterministic.has(reference)];
        const driver = detA && !detB ? b : a;
        const keys = detA && detB ? new Set([...driver.keys()].map((p) => pairKey(runOf(p), 1))) : driver.keys();
        const pairs = [...keys].filter((p) => value(a, solver, p) !== undefined && value(b, reference, p) !== undefined).sort(cmp);
        if (pairs.length === 0) {
          warnings.push(`${instance}: ${solver} and ${reference} share no (run, seed) pair: no ratio`);
          return;
        }
        const xs = pairs.map((p) => value(a, solver, p)!);
        const ys = pairs.map((p) => value(b, reference, p)!);
        if (xs.some((x) => !(x > 0)) || ys.some((y) => !(y > 0))) {
          warnings.push(`${instance}: ${pm} of ${solver} or ${reference} is not positive on some seed: no ratio`);
          return;
        }
        const seed = hashString(`${instance}|${solver}|${reference}|${pm}`);
        const e = remembered(opts.estimates, `ratio|${ys.join(',')}`, seed, resamples, xs, () => pairedRatio(xs, ys, seed, resamples));
        comparisons.push({
          instance, split: split.get(instance)!, metric: pm, better: pmInfo.better, solver, kind: solverKind.get(solver)!,
          baseline: reference, vs, n: e.n, ratio: e.mean, ci95: interval(e),
        });
      };
      for (const s of solvers) if (s !== facts.baseline) compare(s, facts.baseline, 'baseline');
      if (best) for (const s of solvers) if (solverKind.get(s) === 'learned') compare(s, best, 'best-heuristic');
    }
  }

  // --- geometric means across instances ---
  const geomeans: GeomeanLine[] = [];
  for (const vs of ['baseline', 'best-heuristic'] as const) {
    for (const solver of solvers) {
      const kind = solverKind.get(solver)!;
      const cs = comparisons.filter((c) => c.vs === vs && c.solver === solver && (kind !== 'learned' || c.split === 'test'));
      if (cs.length === 0) continue;
      geomeans.push({ solver, kind, metric: pm, better: pmInfo!.better, vs, instances: cs.map((c) => c.instance), ratio: geomean(cs.map((c) => c.ratio)) });
    }
  }

  const uniq = <T>(xs: T[]) => [...new Set(xs)];
  return {
    problem,
    rows: out,
    comparisons,
    geomeans,
    meta: {
      runIds: uniq(rows.map((r) => r.runId)).sort(cmp),
      codeVersions: uniq(rows.map((r) => r.codeVersion)).sort(cmp),
      machines: uniq(rows.map((r) => r.machine)).sort(cmp),
      seeds: uniq(rows.map((r) => r.seed)).sort((a, b) => a - b),
      primaryMetric: pm,
      baseline: facts.baseline,
      instances: instances.map((id) => ({ id, split: split.get(id)! })),
      solvers: solvers.map((name) => ({ name, kind: solverKind.get(name)! })),
      metrics: metrics.map((name) => ({ name, ...metricInfo.get(name)! })),
      bestHeuristic,
      bootstrap: { resamples, ci: 0.95 },
      warnings,
    },
  };
}

/** Best mean among `candidates` on `instance`; ties go to the earlier candidate. */
function bestOf(instance: string, candidates: string[], metric: string, better: Better, means: Map<string, number>): string | undefined {
  let best: string | undefined;
  let bestMean = NaN;
  for (const s of candidates) {
    const m = means.get(key(instance, s, metric));
    if (m === undefined || Number.isNaN(m)) continue;
    if (best === undefined || (better === 'lower' ? m < bestMean : m > bestMean)) {
      best = s;
      bestMean = m;
    }
  }
  return best;
}

/** An estimate's interval, or null for one value: bootstrap's [x, x] then is no evidence of anything. */
function interval(e: { n: number; ci95: [number, number] }): [number, number] | null {
  return e.n >= 2 ? e.ci95 : null;
}

function key(instance: string, solver: string, metric: string): string {
  return `${instance}\u0000${solver}\u0000${metric}`;
}

function pairKey(runId: string, seed: number): string {
  return `${runId}\u0000${String(seed).padStart(12, '0')}`;
}

function runOf(pair: string): string {
  return pair.slice(0, pair.indexOf('\u0000'));
}

function sortedValues(m: Map<string, number>): number[] {
  return [...m.keys()].sort(cmp).map((k) => m.get(k)!);
}

function orderIndex(order: readonly string[] | undefined): (name: string) => number {
  const idx = new Map((order ?? []).map((n, i) => [n, i]));
  return (name) => idx.get(name) ?? Number.MAX_SAFE_INTEGER;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A registered problem's summary of its rows: `summarize` with the problem's own facts, plus its
 * meta metrics (Problem.metaMetrics: the median over all cells). What the CLI report and the
 * dashboard API both show.
 */
export function summarizeProblem(problem: Problem, rows: readonly ResultRow[], opts: SummaryOptions = {}): Summary {
  const summary = summarize(problem.name, rows, {
    primaryMetric: problem.primaryMetric,
    baseline: problem.baseline,
    metrics: problem.metrics.map((m) => m.name),
    solvers: problem.solvers.map((s) => s.info.name),
    deterministic: problem.solvers.filter((s) => s.info.deterministic === true).map((s) => s.info.name),
  }, opts);
  for (const [key, metric] of Object.entries(problem.metaMetrics ?? {})) {
    const values = rows.filter((r) => r.metric === metric).map((r) => r.value);
    if (values.length > 0) summary.meta[key] = median(values);
  }
  return summary;
}
