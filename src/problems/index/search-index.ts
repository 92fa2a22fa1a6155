/**
 * The one small API every index of this problem shares, classical and learned alike (as
 * PGM-index's: build, approximate search, lower bound, size).
 *
 * Guarantee: `lowerBound(q, i)` returns the first position p in the key array with
 * keys[p] >= q.key[i] (exact 64-bit order, see keys.ts), or n when there is none. Duplicates are
 * allowed: for a key that occurs several times, p is its first occurrence.
 */
import type { KeySet } from './keys.js';

export interface SearchIndex {
  /** First position p with keys[p] >= q.key[i], or keys.n. */
  lowerBound(q: KeySet, i: number): number;
  /** Bytes this index uses beyond the key array itself (models, tables, tree nodes). */
  sizeBytes(): number;
  /**
   * Learned and approximate indexes only: the position the model predicts for q.key[i], before
   * the last-mile search. The evaluator measures model error as |predict - lowerBound|.
   */
  predict?(q: KeySet, i: number): number;
  /** Free-form facts for the report (number of segments, chosen hyperparameters). */
  describe?(): Record<string, string | number>;
}

/** An index with a model (the learned and approximate ones): `predict` is there. */
export type ModelIndex = SearchIndex & { predict(q: KeySet, i: number): number };

export function hasModel(index: SearchIndex): index is ModelIndex {
  return typeof index.predict === 'function';
}
