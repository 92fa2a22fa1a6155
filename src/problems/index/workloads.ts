/**
 * Lookup workloads, drawn from a seeded Rng, with their reference answers (lowerBoundExact).
 *
 * - existing: keys sampled uniformly from the rows of the set, so a key with many duplicates is
 *   asked as often as it occurs (SOSD's lookup generator).
 * - absent: keys not in the set: strictly between two neighbouring distinct keys (chosen in exact
 *   64-bit arithmetic, so only gaps of at least 2 qualify), plus keys below the smallest and above
 *   the largest key.
 * - range: [key[i], key[i + rows]) for a random row i: a lower bound, then a scan of about `rows`
 *   rows (more when the end key has duplicates before it).
 *
 * Every query set is a KeySet made by fromHalves, so its `x` is derived exactly as the keys' is.
 */
import { SelfoptError } from '../../core/errors.js';
import type { Rng } from '../../core/rng.js';
import { fromHalves, lowerBoundExact, selectKeys, type KeySet, type KeyType } from './keys.js';

const TWO32 = 4294967296;

export interface LookupWorkload {
  kind: 'existing' | 'absent';
  queries: KeySet;
  /** The lower bound of each query: the position every index must return. */
  expected: Int32Array;
}

export interface RangeWorkload {
  starts: KeySet;
  ends: KeySet;
  /** Lower bound of each start key: the first row of the scan. */
  expectedStart: Int32Array;
  /** Lower bound of each end key: the scan stops before this row. */
  expectedEnd: Int32Array;
}

function reference(keys: KeySet, q: KeySet): Int32Array {
  const out = new Int32Array(q.n);
  for (let i = 0; i < q.n; i++) out[i] = lowerBoundExact(keys, q, i, 0, keys.n);
  return out;
}

/** `m` keys drawn uniformly from the rows of `keys` (duplicates included). */
export function existingLookups(keys: KeySet, m: number, rng: Rng): LookupWorkload {
  if (keys.n === 0 && m > 0) throw new SelfoptError('existing-key lookups on an empty key set', 'existingLookups', 'at least one key');
  const idx = new Int32Array(m);
  for (let i = 0; i < m; i++) idx[i] = rng.int(keys.n);
  const queries = selectKeys(keys, idx);
  return { kind: 'existing', queries, expected: reference(keys, queries) };
}

/** The smallest and largest key a type can hold, in the (hi, lo) order space of keys.ts. */
function typeBounds(type: KeyType): [number, number, number, number] {
  if (type === 'uint32') return [0, 0, 0, 0xffffffff];
  if (type === 'uint64') return [0, 0, 0xffffffff, 0xffffffff];
  // f64: -Infinity and +Infinity in order form; beyond them lie only NaNs.
  return [0x000fffff, 0xffffffff, 0xfff00000, 0x00000000];
}

/** min(a - b, 2^32) for 64-bit a >= b given as halves: how far apart two keys are, capped. */
function gapCapped(ah: number, al: number, bh: number, bl: number): number {
  const dh = ah - bh - +(al < bl);
  const dl = (al - bl) >>> 0;
  return dh > 0 ? TWO32 : dl;
}

/**
 * `m` keys not in the set: a sixteenth below the smallest key, a sixteenth above the largest, the
 * rest strictly inside gaps of at least 2 between neighbouring keys. A set with no such gap
 * (uniform dense keys) gets only out-of-range queries. Offsets into a gap are drawn below 2^32,
 * which is uniform inside every gap narrower than that.
 */
export function absentLookups(keys: KeySet, m: number, rng: Rng): LookupWorkload {
  const n = keys.n, kh = keys.hi, kl = keys.lo;
  const [tminH, tminL, tmaxH, tmaxL] = typeBounds(keys.type);
  const hi = new Uint32Array(m);
  const lo = new Uint32Array(m);
  // Room below the smallest key and above the largest (capped at 2^32).
  const roomBelow = n === 0 ? TWO32 : gapCapped(kh[0]!, kl[0]!, tminH, tminL);
  const roomAbove = n === 0 ? TWO32 : gapCapped(tmaxH, tmaxL, kh[n - 1]!, kl[n - 1]!);
  const put = (t: number, h: number, l: number, add: number): void => {
    // (h, l) + add, where add may be negative; the result stays inside the type's range.
    const s = l + add;
    const carry = Math.floor(s / TWO32);
    hi[t] = (h + carry) >>> 0;
    lo[t] = (s - carry * TWO32) >>> 0;
  };
  let t = 0;
  const interior = (): boolean => {
    for (let attempt = 0; attempt < 64 && n >= 2; attempt++) {
      const i = rng.int(n - 1);
      const gap = gapCapped(kh[i + 1]!, kl[i + 1]!, kh[i]!, kl[i]!);
      if (gap >= 2) {
        put(t, kh[i]!, kl[i]!, 1 + rng.int(gap - 1));
        return true;
      }
    }
    return false;
  };
  const below = (): boolean => {
    if (roomBelow === 0) return false;
    put(t, kh[0]!, kl[0]!, -(1 + rng.int(roomBelow)));
    return true;
  };
  const above = (): boolean => {
    if (roomAbove === 0) return false;
    put(t, kh[n - 1]!, kl[n - 1]!, 1 + rng.int(roomAbove));
    return true;
  };
  // The rows followed by a gap of at least 2, listed only when random rows keep missing them
  // (long runs of duplicates between few gaps, and no room outside the set): the last resort.
  let gaps: number[] | undefined;
  const anyGap = (): boolean => {
    if (gaps === undefined) {
      gaps = [];
      for (let i = 0; i + 1 < n; i++) if (gapCapped(kh[i + 1]!, kl[i + 1]!, kh[i]!, kl[i]!) >= 2) gaps.push(i);
    }
    if (gaps.length === 0) return false;
    const i = gaps[rng.int(gaps.length)]!;
    put(t, kh[i]!, kl[i]!, 1 + rng.int(gapCapped(kh[i + 1]!, kl[i + 1]!, kh[i]!, kl[i]!) - 1));
    return true;
  };
  for (; t < m; t++) {
    if (n === 0) { put(t, tminH, tminL, rng.int(TWO32)); continue; }
    // Each kind falls back on the others when the set leaves no room for it.
    const r = rng.int(16);
    const ok = r === 0 ? below() || above() || interior()
      : r === 1 ? above() || below() || interior()
      : interior() || below() || above();
    if (!ok && !anyGap()) {
      throw new SelfoptError('no key absent from the set can be drawn', 'absentLookups',
        'a key set with a gap of at least 2 between neighbours or room below its smallest or above its largest key');
    }
  }
  const queries = fromHalves(keys.type, hi, lo);
  return { kind: 'absent', queries, expected: reference(keys, queries) };
}

/** `m` range scans of about `rows` rows each: [key[i], key[i + rows]) for a random row i. */
export function rangeScans(keys: KeySet, m: number, rows: number, rng: Rng): RangeWorkload {
  const n = keys.n;
  if (n === 0 && m > 0) throw new SelfoptError('range scans on an empty key set', 'rangeScans', 'at least one key');
  const si = new Int32Array(m);
  const ei = new Int32Array(m);
  for (let t = 0; t < m; t++) {
    const i = n > rows ? rng.int(n - rows) : rng.int(n);
    si[t] = i;
    ei[t] = Math.min(i + rows, n - 1);
  }
  const starts = selectKeys(keys, si);
  const ends = selectKeys(keys, ei);
  return { starts, ends, expectedStart: reference(keys, starts), expectedEnd: reference(keys, ends) };
}
