/**
 * The RMI's hyperparameter search, as learnedsystems/RMI's optimizer does it: candidates root
 * model x branching factor (x table size for the radix-table root) are scored by the average log2
 * of the window a lookup searches ("average log2 error") plus a size penalty, estimated on a
 * sample of keys; the cheapest wins (buildRmi in rmi.ts builds it).
 */
import type { KeySet } from './keys.js';
import { LEAF_BYTES, RMI_ROOTS, type RmiRoot, fitLeaf, fitRoot, leafOf, leafStart, newLeafTable, samplePositions } from './rmi-models.js';

// ---------------------------------------------------------------------------------------------
// What is searched, and how a candidate is scored

export interface RmiSearchConfig {
  /** Root models tried. */
  roots: readonly RmiRoot[];
  /**
   * Branching factors tried: 2^k for k in [minLog2, maxLog2], every `log2Step`, and within
   * [log2 n - 12, log2 n - 1] (from 4096 keys a leaf down to 2).
   */
  minLog2: number;
  maxLog2: number;
  log2Step: number;
  /** Table sizes tried for the radix-table root. */
  tableBits: readonly number[];
  /** Keys sampled to estimate a candidate's cost (each sample evaluates the leaf it falls in). */
  samples: number;
  /** Leaves larger than this are estimated on a subsample of their runs. */
  maxLeafEval: number;
  /** Candidates larger than this (leaves and root table) are not considered (--opt rmi.maxBytes). */
  maxBytes: number;
  /**
   * Cost, in units of one binary-search step: average log2(window) + sizeWeight *
   * log2(bytes / freeBytes) when the model is larger than freeBytes (it then costs cache misses
   * of its own). Measured on the real sets by scripts/bench-learned.mjs: a step is 30-50 ns;
   * models up to a megabyte cost nothing extra, and each doubling past it 0.3 to 1.4 steps
   * depending on the set (0.8 here).
   */
  sizeWeight: number;
  freeBytes: number;
  /** Extra cost of the cubic root (four more multiply-adds and a clamp per lookup). */
  cubicCost: number;
  /** Extra cost of the radix-table root (two more loads, from a table that may miss the cache). */
  tableCost: number;
}

export const RMI_SEARCH_DEFAULTS: RmiSearchConfig = {
  roots: RMI_ROOTS,
  minLog2: 6,
  maxLog2: 20,
  log2Step: 1,
  tableBits: [14, 16, 18, 20],
  samples: 1000,
  maxLeafEval: 2048,
  maxBytes: 1 << 24,
  sizeWeight: 0.8,
  freeBytes: 1 << 20,
  cubicCost: 0.1,
  tableCost: 0.5,
};

// ---------------------------------------------------------------------------------------------
// Candidates and their estimated cost

export interface RmiCandidate {
  root: RmiRoot;
  branching: number;
  /** radix-table root only. */
  tableBits?: number;
  avgLog2Window: number;
  bytes: number;
  cost: number;
}

/**
 * Estimates each candidate's average log2 window from `samples` evenly spaced keys: each sample
 * fits and measures the leaf it falls in (leaves of more than maxLeafEval keys on every k-th
 * run: their estimate is rough, but such leaves are slow anyway), so a sample weighs leaves by
 * their number of keys, as a lookup of an existing key does.
 */
export function searchRmiConfigs(keys: KeySet, sc: RmiSearchConfig = RMI_SEARCH_DEFAULTS): RmiCandidate[] {
  const n = keys.n, x = keys.x;
  const out: RmiCandidate[] = [];
  const pos = samplePositions(n, sc.samples);
  const leaf = newLeafTable(1);
  // Branching factors worth trying scale with n: from 2^12 keys a leaf down to 2 keys a leaf.
  const lgN = Math.log2(Math.max(2, n));
  // (A tiny set still gets one candidate size: minLog2 gives way to n.)
  const kMax = Math.max(0, Math.min(sc.maxLog2, Math.ceil(lgN) - 1));
  const kMin = Math.min(kMax, Math.max(sc.minLog2, Math.floor(lgN) - 12));
  for (const root of sc.roots) {
    for (const tableBits of root === 'radix-table' ? sc.tableBits : [0]) {
      // The hint table does not depend on B: fit it once, rescale per B.
      const tableRoot = root === 'radix-table' ? fitRoot(keys, root, 1, tableBits) : undefined;
      for (let k = kMin; k <= kMax; k += sc.log2Step) {
        const B = 2 ** k;
        const bytes = B * LEAF_BYTES + (root === 'radix-table' ? 4 * (2 ** tableBits + 1) : 0);
        if (bytes > sc.maxBytes) continue;
        const m = tableRoot ? { ...tableRoot, rankScale: B / n } : fitRoot(keys, root, B, tableBits);
        const bMax = B - 1;
        const seen = new Map<number, number>();
        let sum = 0;
        for (const p of pos) {
          const L = leafOf(m, x[p]!, bMax);
          let lw = seen.get(L);
          if (lw === undefined) {
            const s = leafStart(keys, m, bMax, L, 0, n);
            const e = leafStart(keys, m, bMax, L + 1, s, n);
            const stride = Math.max(1, Math.ceil((e - s) / sc.maxLeafEval));
            const w = s < e ? fitLeaf(keys, s, e, leaf, 0, stride) : 1;
            lw = Math.log2(w + stride);
            seen.set(L, lw);
          }
          sum += lw;
        }
        const avg = sum / pos.length;
        const cost = avg + sc.sizeWeight * Math.max(0, Math.log2(bytes / sc.freeBytes)) + (root === 'cubic' ? sc.cubicCost : 0)
          + (root === 'radix-table' ? sc.tableCost : 0);
        out.push({ root, branching: B, ...(root === 'radix-table' ? { tableBits } : {}), avgLog2Window: avg, bytes, cost });
      }
    }
  }
  out.sort((a, b) => a.cost - b.cost);
  return out;
}
