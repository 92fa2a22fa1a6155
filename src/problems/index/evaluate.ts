/**
 * The evaluator of the learned-index problem: the single source of truth for its metrics.
 *
 * Protocol (DESIGN.md "Rules of evidence"): workloads are drawn from an Rng seeded by the cell's
 * seed alone (not ctx.rng, which the solver may have consumed), so every solver of a seed meets
 * the same queries. The binary-search baseline is built here, in the same process. After a
 * warm-up, R rounds each time one batch of the solver and one of the baseline on the existing-key
 * workload, alternating which goes first, then one solver batch of absent keys and one of range
 * scans. Each timed batch follows an untimed primer batch of the same side. Every timed batch
 * uses fresh queries (so no batch runs on caches another warmed with the same keys), stores
 * every answer, and is checked in full against the reference after its timer stops.
 * A wrong answer throws a SelfoptError naming the index, the query key, and both positions.
 *
 * A lookup is SOSD's equality lookup: the lower bound, then the sum of the payloads of all rows
 * with that key, where a row's payload is its position. A range scan is the lower bound of its
 * start key, then the sum of the payloads of the rows before its end key. The lower bound alone
 * (the lookup semantics, without SOSD's payload sum) is timed too, in rounds of its own
 * against the baseline's: on a set with long runs of duplicates (flights: 19.5 rows a key on
 * average) the payload sum is a cost no index can cut, and it bounds every equality-lookup speedup.
 */
import type { EvalContext, Metric, MetricValues } from '../../core/problem.js';
import { SelfoptError } from '../../core/errors.js';
import { intOption } from '../../core/options.js';
import { Rng, hashString, hashWords } from '../../core/rng.js';
import { median } from '../../core/stats.js';
import { KeyForm, showKey, type KeySet } from './keys.js';
import { hasModel, type SearchIndex } from './search-index.js';
import { BinarySearchIndex } from './heuristics.js';
import { absentLookups, existingLookups, rangeScans, type LookupWorkload, type RangeWorkload } from './workloads.js';

/** Rows per range scan: short enough that the lower bound still matters next to the scan. */
export const RANGE_ROWS = 64;

export const METRICS: Metric[] = [
  { name: 'lookup_ns', unit: 'ns', better: 'lower', description: 'median time per existing-key lookup (lower bound + sum of the payloads of equal keys) over the timed batches' },
  { name: 'absent_lookup_ns', unit: 'ns', better: 'lower', description: 'median time per lookup of a key not in the set (inside gaps, below the smallest and above the largest key)' },
  { name: 'range_scan_ns', unit: 'ns', better: 'lower', description: `median time per range scan (lower bound of the start key, then about ${RANGE_ROWS} rows summed)` },
  { name: 'speedup_vs_bs', unit: 'x', better: 'higher', description: 'median binary-search ns / median solver ns on existing keys, same process, interleaved batches' },
  { name: 'lower_bound_ns', unit: 'ns', better: 'lower', description: 'median time per existing-key lower bound alone (the position, checked; no payload sum over equal keys)' },
  { name: 'lb_speedup_vs_bs', unit: 'x', better: 'higher', description: 'median binary-search ns / median solver ns for the lower bound alone, same process, interleaved batches' },
  { name: 'build_ms', unit: 'ms', better: 'lower', description: 'time to build the index (the solve call, timed by the runner)' },
  { name: 'index_bytes', unit: 'B', better: 'lower', description: 'bytes the index uses beyond the key array' },
  { name: 'avg_model_error', unit: 'positions', better: 'lower', description: 'mean |predicted - true position| over the existing-key lookups; only for indexes with a model (predict)' },
  { name: 'max_model_error', unit: 'positions', better: 'lower', description: 'largest |predicted - true position| over the existing-key lookups; only for indexes with a model (predict)' },
];

export interface EvalConfig {
  /** Queries per timed batch. */
  lookups: number;
  /** Timed rounds; each metric is the median over rounds. */
  rounds: number;
  /** Untimed batches per loop before timing, so that the JIT has compiled the loop and the index. */
  warmup: number;
  /** Rows per range scan. */
  rangeRows: number;
}

/** Quick mode: about 0.1 s per cell on 7M keys, so a quick bench of ~300 cells fits in 3 minutes on 2 cores. */
export const QUICK_CONFIG: EvalConfig = { lookups: 1000, rounds: 9, warmup: 4, rangeRows: RANGE_ROWS };
export const FULL_CONFIG: EvalConfig = { lookups: 5000, rounds: 25, warmup: 6, rangeRows: RANGE_ROWS };

/** `--opt lookups=N`, `--opt rounds=R` override the mode's config. */
export function evalConfig(ctx: Pick<EvalContext, 'quick' | 'options'>): EvalConfig {
  const base = ctx.quick ? QUICK_CONFIG : FULL_CONFIG;
  return {
    ...base,
    lookups: intOption(ctx.options, 'lookups', base.lookups, 1, 1_000_000),
    rounds: intOption(ctx.options, 'rounds', base.rounds, 1, 1000),
  };
}

// ---------------------------------------------------------------------------------------------
// Timed loops. Each is compiled from source by `new Function` once per index per evaluation, so
// that it has its own type feedback: `index.lowerBound` is then a monomorphic call the JIT can
// inline, instead of a megamorphic one after the worker has evaluated several index classes.
// The loops allocate nothing; their checksums go to a module-level sink so no work can be dropped.

export type LookupLoop = (index: SearchIndex, keys: KeySet, q: KeySet, from: number, to: number, answers: Int32Array) => number;
type RangeLoop = (index: SearchIndex, keys: KeySet, starts: KeySet, ends: KeySet, from: number, to: number, answers: Int32Array, stops: Int32Array) => number;

// The payload check compares the key set's form (keys.ts): the array every search compares, so
// the row a search ended on is the row the check reads, as in SOSD's key-value array where the
// payload sits beside the key (a check on other arrays would add a cache miss to every lookup
// that no index can avoid, and compress every speedup). One loop source per form.
const EQUAL: Record<KeyForm, { setup: string; query: string; equal: string }> = {
  [KeyForm.S]: { setup: 'const ks = keys.s, qs = q.s;', query: 'const v = qs[i];', equal: 'ks[j] === v' },
  // A query with a high half is above every key: -1 matches no low half.
  [KeyForm.U32]: { setup: 'const kl = keys.lo, qh = q.hi, ql = q.lo;', query: 'const v = qh[i] === 0 ? ql[i] : -1;', equal: 'kl[j] === v' },
  [KeyForm.Halves]: { setup: 'const kh = keys.hi, kl = keys.lo, qh = q.hi, ql = q.lo;', query: 'const h = qh[i], l = ql[i];', equal: 'kh[j] === h && kl[j] === l' },
};
const BELOW: Record<KeyForm, { setup: string; query: string; less: string }> = {
  [KeyForm.S]: { setup: 'const ks = keys.s, es = ends.s;', query: 'const v = es[i];', less: 'ks[j] < v' },
  [KeyForm.U32]: { setup: 'const kl = keys.lo, eh = ends.hi, el = ends.lo;', query: 'const v = eh[i] === 0 ? el[i] : 4294967296;', less: 'kl[j] < v' },
  [KeyForm.Halves]: { setup: 'const kh = keys.hi, kl = keys.lo, eh = ends.hi, el = ends.lo;', query: 'const h = eh[i], l = el[i];', less: '(kh[j] < h || (kh[j] === h && kl[j] < l))' },
};

function lookupLoopSource(form: KeyForm): string {
  const e = EQUAL[form];
  return `"use strict";
return function lookupBatch(index, keys, q, from, to, answers) {
  const n = keys.n;
  ${e.setup}
  let sum = 0;
  for (let i = from; i < to; i++) {
    const p = index.lowerBound(q, i);
    answers[i] = p;
    ${e.query}
    for (let j = p; j < n && ${e.equal}; j++) sum += j;
  }
  return sum;
};`;
}

// The lower bound alone: every position is stored and checked, and summed into the sink.
const LOWER_BOUND_LOOP_SOURCE = `"use strict";
return function lowerBoundBatch(index, keys, q, from, to, answers) {
  let sum = 0;
  for (let i = from; i < to; i++) {
    const p = index.lowerBound(q, i);
    answers[i] = p;
    sum += p;
  }
  return sum;
};`;

function rangeLoopSource(form: KeyForm): string {
  const b = BELOW[form];
  return `"use strict";
return function rangeBatch(index, keys, starts, ends, from, to, answers, stops) {
  const n = keys.n;
  ${b.setup}
  let sum = 0;
  for (let i = from; i < to; i++) {
    const p = index.lowerBound(starts, i);
    answers[i] = p;
    ${b.query}
    let j = p;
    for (; j < n && ${b.less}; j++) sum += j;
    stops[i] = j;
  }
  return sum;
};`;
}

/**
 * Compiles `source` as a new function body whose type feedback is its own. V8 caches `new
 * Function` by its source text and shares the cached function's feedback between the closures
 * it returns, so loops compiled from one source would pool their feedback across evaluations
 * (`--trace-deopt` showed lookupBatch deoptimising on "wrong map" as index classes changed). A
 * source text seen once per process cannot hit that cache.
 */
let compiled = 0;
function compileFresh(source: string): unknown {
  return new Function(`${source}\n// loop ${++compiled}`)();
}

/** A freshly compiled SOSD lookup loop (also used by solvers that tune on their own lookups). */
export function freshLookupLoop(form: KeyForm): LookupLoop {
  return compileFresh(lookupLoopSource(form)) as LookupLoop;
}
/** A freshly compiled loop of the lower bound alone (the lb rounds; scripts/rmi-explore.mjs --lb). */
export function freshLowerBoundLoop(): LookupLoop {
  return compileFresh(LOWER_BOUND_LOOP_SOURCE) as LookupLoop;
}
function freshRangeLoop(form: KeyForm): RangeLoop {
  return compileFresh(rangeLoopSource(form)) as RangeLoop;
}

/** Checksums of every timed batch; exported so that the work is observable. */
export let sink = 0;

function nowNs(): bigint {
  return process.hrtime.bigint();
}

// ---------------------------------------------------------------------------------------------

function indexName(index: SearchIndex): string {
  const d = index.describe?.();
  const name = d && typeof d.name === 'string' ? d.name : (index as object).constructor?.name;
  return name && name !== 'Object' ? name : 'index';
}

function checkLookups(index: SearchIndex, w: LookupWorkload, answers: Int32Array, from: number, to: number): void {
  const exp = w.expected;
  for (let i = from; i < to; i++) {
    if (answers[i] !== exp[i]) {
      throw new SelfoptError(
        `${indexName(index)} returned position ${answers[i]} for the ${w.kind}-key lookup of ${showKey(w.queries, i)}`,
        `${w.kind} query ${i} (key ${showKey(w.queries, i)})`,
        `position ${exp[i]}, the first position whose key is >= the query`);
    }
  }
}

function checkRanges(index: SearchIndex, w: RangeWorkload, answers: Int32Array, stops: Int32Array, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    if (answers[i] !== w.expectedStart[i] || stops[i] !== w.expectedEnd[i]) {
      throw new SelfoptError(
        `${indexName(index)} returned position ${answers[i]} for the range-scan start ${showKey(w.starts, i)}`,
        `range query ${i} (start key ${showKey(w.starts, i)})`,
        `position ${w.expectedStart[i]}, the first position whose key is >= the start key`);
    }
  }
}

function checkIndex(solution: unknown): asserts solution is SearchIndex {
  const s = solution as Partial<SearchIndex> | null;
  if (!s || typeof s.lowerBound !== 'function' || typeof s.sizeBytes !== 'function') {
    throw new SelfoptError('the solver returned something that is not a SearchIndex', 'index problem evaluate', 'an object with lowerBound(q, i) and sizeBytes() (src/problems/index/search-index.ts)');
  }
}

/**
 * Times one lookup batch and checks it; returns ns per lookup. The batch is preceded by an
 * untimed primer of `primer` lookups from the warm-up slice, so each side is timed on caches and
 * TLB warmed by its own structure (as when an index runs alone, as in SOSD), not by the other
 * side's batch that just ran. Measured on the flights set: without a primer, binary search timed
 * right after a radix-table batch was ~40% slower than after its own batch; a primer of Q lookups
 * brings that within ~5-10%, so the speedup is not inflated by the interleaving itself.
 */
function timeLookups(loop: LookupLoop, index: SearchIndex, keys: KeySet, w: LookupWorkload, answers: Int32Array, from: number, to: number, primer = 0): number {
  if (primer > 0) sink += loop(index, keys, w.queries, 0, primer, answers);
  answers.fill(-1, from, to);
  const t0 = nowNs();
  const s = loop(index, keys, w.queries, from, to, answers);
  const t1 = nowNs();
  sink += s;
  checkLookups(index, w, answers, from, to);
  return Number(t1 - t0) / (to - from);
}

function timeRanges(loop: RangeLoop, index: SearchIndex, keys: KeySet, w: RangeWorkload, answers: Int32Array, stops: Int32Array, from: number, to: number, primer = 0): number {
  if (primer > 0) sink += loop(index, keys, w.starts, w.ends, 0, primer, answers, stops);
  answers.fill(-1, from, to);
  const t0 = nowNs();
  const s = loop(index, keys, w.starts, w.ends, from, to, answers, stops);
  const t1 = nowNs();
  sink += s;
  checkRanges(index, w, answers, stops, from, to);
  return Number(t1 - t0) / (to - from);
}

/**
 * Scores a built index on `keys`. Metrics that do not apply are omitted (never NaN): the model
 * errors for indexes without `predict`.
 */
export function evaluateIndex(keys: KeySet, solution: unknown, ctx: EvalContext): MetricValues {
  checkIndex(solution);
  const index = solution;
  if (keys.n === 0) throw new SelfoptError('cannot time lookups on an empty key set', 'index problem evaluate', 'at least one key');
  const cfg = evalConfig(ctx);
  const Q = cfg.lookups, R = cfg.rounds, W = cfg.warmup;
  const P = Math.min(Q, W * Q); // primer lookups before each timed batch (see timeLookups)
  const rng = new Rng(hashWords(ctx.seed, hashString('index/workloads')));

  // Existing keys: W warm-up slices, then four slices per round (solver and baseline, for the
  // equality lookup and for the lower bound alone).
  const existing = existingLookups(keys, (W + 4 * R) * Q, rng.split('existing'));
  const absent = absentLookups(keys, (W + R) * Q, rng.split('absent'));
  const ranges = rangeScans(keys, (W + R) * Q, cfg.rangeRows, rng.split('range'));
  const baseline = new BinarySearchIndex(keys);

  const solverLookup = freshLookupLoop(keys.form);
  const baselineLookup = freshLookupLoop(keys.form);
  const solverBound = freshLowerBoundLoop();
  const baselineBound = freshLowerBoundLoop();
  const solverRange = freshRangeLoop(keys.form);
  const existingAnswers = new Int32Array(existing.queries.n);
  const absentAnswers = new Int32Array(absent.queries.n);
  const rangeAnswers = new Int32Array(ranges.starts.n);
  const rangeStops = new Int32Array(ranges.starts.n);

  for (let w = 0; w < W; w++) {
    const from = w * Q, to = from + Q;
    timeLookups(solverLookup, index, keys, existing, existingAnswers, from, to);
    timeLookups(baselineLookup, baseline, keys, existing, existingAnswers, from, to);
    timeLookups(solverBound, index, keys, existing, existingAnswers, from, to);
    timeLookups(baselineBound, baseline, keys, existing, existingAnswers, from, to);
    timeLookups(solverLookup, index, keys, absent, absentAnswers, from, to);
    timeRanges(solverRange, index, keys, ranges, rangeAnswers, rangeStops, from, to);
  }

  const solverNs = new Float64Array(R);
  const baselineNs = new Float64Array(R);
  const solverBoundNs = new Float64Array(R);
  const baselineBoundNs = new Float64Array(R);
  const absentNs = new Float64Array(R);
  const rangeNs = new Float64Array(R);
  // One solver batch and one baseline batch on the round's two slices from `a`. The order and
  // which slice each gets alternate by round, so neither side systematically runs second (on
  // caches the other warmed) or on the same queries.
  const timePair = (solverLoop: LookupLoop, baselineLoop: LookupLoop, r: number, a: number, solverOut: Float64Array, baselineOut: Float64Array): void => {
    const b = a + Q;
    const [solverFrom, baselineFrom] = r % 2 === 0 ? [a, b] : [b, a];
    if (r % 2 === 0) {
      solverOut[r] = timeLookups(solverLoop, index, keys, existing, existingAnswers, solverFrom, solverFrom + Q, P);
      baselineOut[r] = timeLookups(baselineLoop, baseline, keys, existing, existingAnswers, baselineFrom, baselineFrom + Q, P);
    } else {
      baselineOut[r] = timeLookups(baselineLoop, baseline, keys, existing, existingAnswers, baselineFrom, baselineFrom + Q, P);
      solverOut[r] = timeLookups(solverLoop, index, keys, existing, existingAnswers, solverFrom, solverFrom + Q, P);
    }
  };
  for (let r = 0; r < R; r++) {
    const a = (W + 4 * r) * Q;
    timePair(solverLookup, baselineLookup, r, a, solverNs, baselineNs);
    timePair(solverBound, baselineBound, r, a + 2 * Q, solverBoundNs, baselineBoundNs);
    const s = (W + r) * Q;
    absentNs[r] = timeLookups(solverLookup, index, keys, absent, absentAnswers, s, s + Q, P);
    rangeNs[r] = timeRanges(solverRange, index, keys, ranges, rangeAnswers, rangeStops, s, s + Q, P);
  }

  const lookupNs = median(solverNs);
  const metrics: MetricValues = {
    lookup_ns: lookupNs,
    absent_lookup_ns: median(absentNs),
    range_scan_ns: median(rangeNs),
    speedup_vs_bs: median(baselineNs) / lookupNs,
    lower_bound_ns: median(solverBoundNs),
    lb_speedup_vs_bs: median(baselineBoundNs) / median(solverBoundNs),
    build_ms: ctx.solveMs,
    index_bytes: index.sizeBytes(),
  };
  if (hasModel(index)) {
    const q = existing.queries, exp = existing.expected;
    let sum = 0, max = 0;
    for (let i = 0; i < q.n; i++) {
      const e = Math.abs(index.predict(q, i) - exp[i]!);
      sum += e;
      if (e > max) max = e;
    }
    metrics.avg_model_error = sum / q.n;
    metrics.max_model_error = max;
  }
  for (const [name, v] of Object.entries(metrics)) {
    if (!Number.isFinite(v)) {
      throw new SelfoptError(`metric ${name} is ${v}`, `${indexName(index)} evaluation`, 'a finite number (a timer of 0 ns or an index reporting a non-finite size)');
    }
  }
  return metrics;
}
