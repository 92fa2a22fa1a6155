/**
 * The RMI's hyperparameter search, in two stages, as SOSD's RMIs are chosen (learnedsystems/RMI's
 * optimizer proposes, CDFShop measures; Marcus, Zhang & Kraska, SIGMOD 2020):
 * 1. estimate: every candidate root model x number of leaves (x table size for the radix-table
 *    root) is scored from a sample of keys by the mean log2 error of its leaves (the exponential
 *    search's steps) plus a size penalty; deterministic.
 * 2. measure: the `timed` cheapest candidates are built and timed on tuning lookups of their own
 *    (tuning.ts, never the benchmark's lookups); the fastest wins (buildRmi in rmi.ts).
 * Under a byte budget (rmi-compact) every root also gets the largest leaf count that fits the
 * budget with the root's table and the index header, so the budget is spent, not rounded down to
 * a power of two.
 */
import type { KeySet } from './keys.js';
import { TUNING_DEFAULTS, type TuningConfig } from './tuning.js';
import {
  LEAF_BYTES, RMI_ROOTS, leafTableBytes, type RmiRoot, fitRoot, leafLog2Error, leafOf, leafStart, samplePositions,
} from './rmi-models.js';

// ---------------------------------------------------------------------------------------------
// What is searched, and how a candidate is scored

export interface RmiSearchConfig {
  /** Root models tried. */
  roots: readonly RmiRoot[];
  /**
   * Leaf counts tried: 2^k for k in [minLog2, maxLog2] and within [log2 n - 8, log2 n + 1]
   * (from ~256 keys a leaf to one leaf per two keys).
   */
  minLog2: number;
  maxLog2: number;
  /** Table sizes tried for the radix-table root (2^bits + 1 entries of 4 bytes). */
  tableBits: readonly number[];
  /** Keys sampled to estimate a candidate's error (each sample evaluates the leaf it falls in). */
  samples: number;
  /** Leaves larger than this are estimated on a subsample of their runs. */
  maxLeafEval: number;
  /** Candidates larger than this, header included, are not considered (--opt rmi.maxBytes). */
  maxBytes: number;
  /**
   * Estimated cost, in probes of the key array: 2 * mean log2 error + 1, plus sizeWeight *
   * log2(bytes / freeBytes) when the model is larger than freeBytes (its own cache misses), plus
   * the root's extra work. Only ranks candidates for stage 2, which measures (and which keeps the
   * estimate's first candidate among near ties, so the estimate's order matters). freeBytes
   * follows the dependent-load latency measured on the development machine (scripts/rmi-explore.mjs
   * --latency): flat to 512 KiB. sizeWeight 0.75 rather than 1 since the leaves take 4 bytes: on
   * the S2 cell ids, 2^20 leaves beside an 18-bit table (5.5 MB) timed 164-167 ns a lookup in
   * tuning against 183-186 ns for 2^19 leaves (3.3 MB), and in a 5-seed benchmark (load 4-7) the
   * seeds that kept 2^20 leaves had the lower bound 2.46-2.63x binary search's speed, those that
   * kept 2^19 2.40-2.42x (weak evidence on a loaded machine: with each fixed, 3 seeds, 2.43x and
   * 2.44x); with weight 1 the estimate ranked 2^19 first.
   */
  sizeWeight: number;
  freeBytes: number;
  cubicCost: number;
  tableCost: number;
  /** Candidates built and timed in stage 2 (1: the estimate alone decides, deterministically). */
  timed: number;
  /**
   * Stage 2 keeps the candidate the estimate ranks first among those measured within this
   * fraction of the fastest: differences smaller than the timing noise do not decide, so builds
   * of the same keys pick the same configuration unless the clock clearly disagrees with the
   * estimate (0: the fastest measured always wins; Infinity: the estimate alone decides). On a
   * loaded machine the same candidate's tuning time varied by up to 20% between builds (S2, load
   * 6); 10% keeps the estimate's pick unless the clock clearly disagrees.
   */
  tieTolerance: number;
  /** How stage 2 times them (tuning.ts). */
  tuning: TuningConfig;
}

export const RMI_SEARCH_DEFAULTS: RmiSearchConfig = {
  roots: RMI_ROOTS,
  minLog2: 6,
  maxLog2: 24,
  tableBits: [12, 14, 16, 18],
  samples: 250,
  maxLeafEval: 128,
  maxBytes: 1 << 25,
  sizeWeight: 0.75,
  freeBytes: 1 << 19,
  cubicCost: 0.2,
  tableCost: 0.5,
  timed: 1,
  tieTolerance: 0.1,
  tuning: TUNING_DEFAULTS,
};

/**
 * Bytes of an RMI beyond its tables: the root's seven float64 parameters (x0, scale, base, a, b,
 * c, rankScale) and two integers (n, B) counted as 8 bytes each.
 */
export const RMI_HEADER_BYTES = 9 * 8;

export function rmiBytes(branching: number, root: RmiRoot, tableBits: number): number {
  return leafTableBytes(branching) + (root === 'radix-table' ? 4 * (2 ** tableBits + 1) : 0) + RMI_HEADER_BYTES;
}

// ---------------------------------------------------------------------------------------------
// Stage 1: candidates and their estimated cost

export interface RmiCandidate {
  root: RmiRoot;
  branching: number;
  /** radix-table root only. */
  tableBits?: number;
  /** Mean over sampled keys of log2(|prediction - position| + 1). */
  avgLog2Error: number;
  bytes: number;
  cost: number;
  /** Stage 2 only: measured median ns per tuning lookup. */
  ns?: number;
}

/**
 * Estimates each candidate's mean log2 error from `samples` evenly spaced keys: each sample fits
 * the leaf it falls in and measures it (leaves of more than maxLeafEval keys on every k-th run:
 * rough, but such leaves are slow anyway), so leaves weigh by their number of keys, as lookups of
 * existing keys do. Sorted cheapest first.
 */
export function searchRmiConfigs(keys: KeySet, sc: RmiSearchConfig = RMI_SEARCH_DEFAULTS): RmiCandidate[] {
  const n = keys.n, x = keys.x;
  const out: RmiCandidate[] = [];
  const pos = samplePositions(n, sc.samples);
  const lgN = Math.log2(Math.max(2, n));
  const kMax = Math.max(0, Math.min(sc.maxLog2, Math.ceil(lgN) + 1));
  const kMin = Math.min(kMax, Math.max(sc.minLog2, Math.floor(lgN) - 8));
  for (const root of sc.roots) {
    for (const tableBits of root === 'radix-table' ? sc.tableBits : [0]) {
      // The hint table does not depend on B: fit it once, rescale per B.
      const tableRoot = root === 'radix-table' ? fitRoot(keys, root, 1, tableBits) : undefined;
      const sizes: number[] = [];
      for (let k = kMin; k <= kMax; k++) sizes.push(2 ** k);
      // The largest leaf count the budget allows, when the budget is what limits.
      let fit = Math.floor(((sc.maxBytes - rmiBytes(0, root, tableBits)) * 16) / (16 * LEAF_BYTES + 4));
      while (fit > 1 && rmiBytes(fit, root, tableBits) > sc.maxBytes) fit--;
      if (fit >= 1 && fit < 2 ** kMax && !sizes.includes(fit)) sizes.push(fit);
      for (const B of sizes) {
        const bytes = rmiBytes(B, root, tableBits);
        if (bytes > sc.maxBytes) continue;
        const m = tableRoot ? { ...tableRoot, rankScale: B / n } : fitRoot(keys, root, B, tableBits);
        const bMax = B - 1;
        const seen = new Map<number, number>();
        let sum = 0;
        for (const p of pos) {
          const L = leafOf(m, x[p]!, bMax);
          let le = seen.get(L);
          if (le === undefined) {
            const s = leafStart(keys, m, bMax, L, 0, n);
            const e = leafStart(keys, m, bMax, L + 1, s, n);
            const stride = Math.max(1, Math.ceil((e - s) / sc.maxLeafEval));
            le = s < e ? leafLog2Error(keys, m, L, s, e, stride) : 0;
            seen.set(L, le);
          }
          sum += le;
        }
        const avg = pos.length > 0 ? sum / pos.length : 0;
        const cost = 2 * avg + 1 + sc.sizeWeight * Math.max(0, Math.log2(bytes / sc.freeBytes))
          + (root === 'cubic' ? sc.cubicCost : 0) + (root === 'radix-table' ? sc.tableCost : 0);
        out.push({ root, branching: B, ...(root === 'radix-table' ? { tableBits } : {}), avgLog2Error: avg, bytes, cost });
      }
    }
  }
  out.sort((a, b) => a.cost - b.cost);
  return out;
}

/**
 * The candidates stage 2 times: the `k` cheapest by estimate, at most two of any one root model
 * (with its table size), so that every kind of root the estimate ranks well is measured; and,
 * when k > 1, always the cheapest that fits in `smallBytes` (a model that stays in cache can beat
 * a more accurate one that does not, which the estimate's size penalty only guesses at).
 */
export function shortlist(cands: RmiCandidate[], k: number, smallBytes = 1 << 19): RmiCandidate[] {
  const out: RmiCandidate[] = [];
  const perRoot = new Map<string, number>();
  const small = k > 1 ? cands.find((c) => c.bytes <= smallBytes) : undefined;
  for (const c of cands) {
    if (out.length >= (small !== undefined && !out.includes(small) ? k - 1 : k)) break;
    const key = `${c.root}/${c.tableBits ?? 0}`;
    const used = perRoot.get(key) ?? 0;
    if (used >= 2) continue;
    perRoot.set(key, used + 1);
    out.push(c);
  }
  if (small !== undefined && !out.includes(small)) out.push(small);
  return out;
}
