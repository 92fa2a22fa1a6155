/**
 * Choosing an index's hyperparameters by measured lookup time, as SOSD's and CDFShop's tuning
 * does (Marcus, Zhang & Kraska, "CDFShop", SIGMOD 2020): build each candidate, time it on lookups
 * of its own, keep the fastest.
 *
 * Its lookups are never the benchmark's timed lookups: they are existing keys drawn from the key
 * set by an Rng seeded with a fixed string of its own ('index/tuning'), not the cell's seed that
 * the evaluator's workloads come from, and the tuner runs inside `solve`, before the evaluator
 * has drawn any workload. They are timed with the evaluator's own loop (evaluate.ts
 * freshLookupLoop: the lower bound, then the payload sum of the equal rows), compiled afresh per
 * candidate, and every answer is checked.
 */
import { SelfoptError } from '../../core/errors.js';
import { quantile } from '../../core/stats.js';
import { Rng, hashString } from '../../core/rng.js';
import { type KeySet, lowerBoundExact, selectKeys } from './keys.js';
import type { SearchIndex } from './search-index.js';
import { freshLookupLoop } from './evaluate.js';

/** The seed string of the tuning lookups (the evaluator's is 'index/workloads'). */
export const TUNING_STREAM = 'index/tuning';

/** `m` existing keys drawn from `keys` by the tuning stream, with their lower bounds. */
export function tuningLookups(keys: KeySet, m: number): { queries: KeySet; expected: Int32Array } {
  const rng = new Rng(hashString(TUNING_STREAM));
  const idx = new Int32Array(keys.n > 0 ? m : 0);
  for (let i = 0; i < idx.length; i++) idx[i] = rng.int(keys.n);
  const queries = selectKeys(keys, idx);
  const expected = new Int32Array(queries.n);
  for (let i = 0; i < queries.n; i++) expected[i] = lowerBoundExact(keys, queries, i, 0, keys.n);
  return { queries, expected };
}

export interface TuningConfig {
  /** Lookups per timed batch. */
  batch: number;
  /** Timed rounds; each round times one batch of every candidate, in rotating order. */
  rounds: number;
  /** Untimed lookups from a slice of their own (never timed) right before each timed batch, as the evaluator's primer. */
  primer: number;
}

/**
 * The primer is as long as the evaluator's (one batch of 5,000 lookups): with a primer of 1,000
 * the candidates were timed on models the other candidates had just evicted, which favours the
 * smallest; on the S2 cell ids (load 5-6) it then picked models of 0.3-1.4 MB, while the
 * benchmark, run with each configuration fixed (3 seeds), gave the lower bound 1.88x (0.3 MB),
 * 2.21x (1.4 MB), 2.44x (3.3 MB) and 2.43x (5.5 MB) binary search's speed.
 */
export const TUNING_DEFAULTS: TuningConfig = { batch: 2000, rounds: 15, primer: 5000 };
/** `--quick`: less work (the quick evaluator's batches are 1,000 lookups). */
export const TUNING_QUICK: TuningConfig = { batch: 1000, rounds: 9, primer: 2000 };

/**
 * The lower quartile of ns per lookup of each index on the tuning lookups, over `rounds` rounds
 * after one untimed pass each. In a round every candidate times one fresh batch (order rotated,
 * so background load strikes all alike), right after an untimed primer of its own, as the
 * evaluator times (so a candidate is timed on caches it warmed, not on those the previous one
 * left). Other processes' load only ever adds time, in bursts, so a low quantile ranks candidates
 * more stably than the median (measured on a loaded machine: with the median, the pick on the IPv4
 * set changed from build to build; with the lower quartile it stayed among the same two). A wrong
 * answer throws: a candidate is never chosen on a wrong result.
 */
export function timeCandidates(keys: KeySet, indexes: SearchIndex[], tc: TuningConfig = TUNING_DEFAULTS): number[] {
  const k = indexes.length;
  if (k === 0 || keys.n === 0) return indexes.map(() => 0);
  // [0, primer): the primer slice; then one batch per round (round 0 warms up, untimed).
  const { queries, expected } = tuningLookups(keys, tc.primer + tc.batch * (tc.rounds + 1));
  const loops = indexes.map(() => freshLookupLoop(keys.form));
  const answers = new Int32Array(queries.n);
  const ns: number[][] = indexes.map(() => []);
  let sink = 0;
  for (let r = 0; r <= tc.rounds; r++) {
    const from = tc.primer + r * tc.batch, to = from + tc.batch;
    for (let t = 0; t < k; t++) {
      const c = (t + r) % k;
      if (r > 0 && tc.primer > 0) sink += loops[c]!(indexes[c]!, keys, queries, 0, tc.primer, answers);
      const t0 = process.hrtime.bigint();
      sink += loops[c]!(indexes[c]!, keys, queries, from, to, answers);
      const t1 = process.hrtime.bigint();
      for (let i = from; i < to; i++) {
        if (answers[i] !== expected[i]) {
          throw new SelfoptError(`tuning candidate ${c} returned position ${answers[i]} for tuning lookup ${i}`, 'index tuning', `position ${expected[i]}`);
        }
      }
      if (r > 0) ns[c]!.push(Number(t1 - t0) / tc.batch); // round 0 is the warm-up
    }
  }
  if (sink === 0.5) ns.push([]); // keep the checksums observable
  return ns.slice(0, k).map((a) => quantile(Float64Array.from(a), 0.25));
}
