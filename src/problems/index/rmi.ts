/**
 * Two-layer recursive model index (RMI): Kraska, Beutel, Chi, Dean & Polyzotis, "The Case for
 * Learned Index Structures", SIGMOD 2018, in the form learnedsystems/RMI generates for SOSD
 * (Marcus et al., VLDB 2020).
 *
 * A root model maps a key to one of B leaves (B a power of two); the leaf is a linear model
 * (least squares on the leaf's (key, position) pairs) that predicts the position, and stores the
 * window around its prediction that holds every answer that can reach it. Lookup: root -> leaf ->
 * prediction -> search of the leaf's window. No loop, no branch on data before the key array is
 * touched, which is what makes it fast (see window-search.ts).
 *
 * Guarantee: the root is monotone, so every query (present or absent, below or above the key
 * range) that reaches leaf L has its lower bound in [start_L, end_L], the positions of L's keys.
 * The leaf's prediction P is clamped to that range, and the lower bound lies in
 * [P - errLo_L, P + errHi_L + 1]. As RMI's "lower bound correction" does, the bound covers each
 * key's first occurrence and the gap after each run of duplicates (answer = end of the run); the
 * clamp covers the gaps before and after the leaf's keys, however wide. An empty leaf's range is
 * a single position, its answer. The bound is measured with the lookup's own arithmetic, so it
 * is exact on exactX keys; on uint64 keys above 2^53 the doubles may round, and the window
 * search then widens (the answer is always exact).
 *
 * Edge cases: n = 0 gives constant leaves answering 0; fewer than two keys, or all keys equal,
 * one leaf (nothing to learn: its window is its key range). Long runs of duplicates widen only
 * the leaves that hold them. Queries outside the key range reach the first or last leaf and the
 * clamp; a NaN prediction (an infinite float key) clamps to the leaf's start.
 *
 * Hyperparameters (root model type, branching factor) are searched as the RMI optimizer does:
 * candidates root x B are scored by the average log2 of the window a lookup searches (RMI's
 * "average log2 error") plus a size penalty, estimated on a sample of keys; the cheapest wins
 * (rmi-search.ts). The models and their fitting are in rmi-models.ts.
 */
import type { SolveContext, Solver } from '../../core/problem.js';
import { check, SelfoptError } from '../../core/errors.js';
import { intOption } from '../../core/options.js';
import type { KeySet } from './keys.js';
import type { SearchIndex } from './search-index.js';
import { WindowMode, searchWindowExact, searchWindowU32, searchWindowS, windowModeOf } from './window-search.js';
import {
  CUBIC, RMI_ROOTS, type RmiRoot, type RootModel, TABLE, clampPos, constantLeaf, evalTable, fitLeaf, fitRoot, leafOf,
  leafStart, newLeafTable, newRoot,
} from './rmi-models.js';
import { RMI_SEARCH_DEFAULTS, type RmiSearchConfig, searchRmiConfigs } from './rmi-search.js';

export { RMI_ROOTS, type RmiRoot } from './rmi-models.js';
export { RMI_SEARCH_DEFAULTS, type RmiCandidate, type RmiSearchConfig, searchRmiConfigs } from './rmi-search.js';

// ---------------------------------------------------------------------------------------------
// Hyperparameters

export interface RmiConfig {
  root: RmiRoot;
  /** Number of leaves, a power of two. */
  branching: number;
  /** radix-table root only: bits of its table (2^bits + 1 entries of 4 bytes). Default 18. */
  tableBits?: number;
}

// ---------------------------------------------------------------------------------------------
// The index

/**
 * What every RMI shares: the leaves, built at construction. The lookup lives in the subclasses,
 * one per kind of root (affine, cubic, radix table): each has its own copy of `lowerBound`, so
 * that each stays monomorphic and free of a branch on the root kind when RMIs of several kinds
 * live in one process (measured: mixing them in one class slowed every lookup by 15-30%). The
 * root's parameters sit in a Float64Array for the same reason: object fields that hold an
 * integer in one instance and a fraction in another change representation under V8.
 */
export abstract class RmiIndex implements SearchIndex {
  readonly n: number;
  readonly config: RmiConfig;
  /** Per leaf: slope, intercept (leafF[4L], leafF[4L+1]); errLo, errHi, start, end (leafI[8L+4..7]). */
  readonly leafF: Float64Array;
  readonly leafI: Int32Array;
  protected readonly keys: KeySet;
  protected readonly mode: WindowMode;
  /** Root parameters: x0, scale, base, a, b, c, rankScale (see RootModel). */
  protected readonly rp: Float64Array;
  /** radix-table root only: the hint table (empty otherwise). */
  protected readonly hint: Uint32Array;
  protected readonly bMax: number;
  /** Facts about the search that chose the config, for describe(). */
  searchSummary = '';

  constructor(keys: KeySet, config: RmiConfig, root: RootModel) {
    const n = keys.n, B = config.branching;
    this.keys = keys;
    this.n = n;
    this.config = config;
    this.mode = windowModeOf(keys);
    this.bMax = B - 1;
    this.rp = Float64Array.of(root.x0, root.scale, root.base, root.a, root.b, root.c, root.rankScale);
    this.hint = root.hint;
    const table = newLeafTable(B);
    this.leafF = table.f;
    this.leafI = table.i;
    const x = keys.x;
    // Leaf boundaries in one pass: the root is monotone, so each leaf's keys are contiguous.
    // n = 0: every leaf is the constant 0.
    let s = 0;
    for (let L = 0; L < B; L++) {
      let e = s;
      if (n > 0) {
        // Galloping then binary search for the end of leaf L: cheap for small and large leaves.
        let step = 1;
        while (e + step <= n && leafOf(root, x[e + step - 1]!, this.bMax) <= L) { e += step; step *= 2; }
        e = leafStart(keys, root, this.bMax, L + 1, e, Math.min(n, e + step));
      }
      if (e > s) fitLeaf(keys, s, e, table, L);
      else constantLeaf(table, L, s);
      s = e;
    }
  }

  /** The leaf of a key; the same arithmetic as evalRoot. */
  protected abstract leafOf(qx: number): number;

  abstract lowerBound(q: KeySet, i: number): number;

  predict(q: KeySet, i: number): number {
    const L = this.leafOf(q.x[i]!);
    return clampPos(this.leafF[4 * L]! * q.x[i]! + this.leafF[4 * L + 1]!, this.leafI[8 * L + 6]!, this.leafI[8 * L + 7]!);
  }

  sizeBytes(): number {
    return this.leafF.byteLength + this.hint.byteLength + this.rp.byteLength;
  }

  /** Average over keys of log2(window + 1), the widest window and the number of empty leaves. */
  stats(): { avgLog2Window: number; maxWindow: number; emptyLeaves: number } {
    const n = this.n, li = this.leafI;
    let sum = 0, maxW = 0;
    for (let i = 0; i < n; i++) {
      const L = this.leafOf(this.keys.x[i]!);
      const w = li[8 * L + 4]! + li[8 * L + 5]! + 1;
      sum += Math.log2(w + 1);
      if (w > maxW) maxW = w;
    }
    let empty = 0;
    for (let L = 0; L <= this.bMax; L++) if (li[8 * L + 6] === li[8 * L + 7]) empty++;
    return { avgLog2Window: n > 0 ? sum / n : 0, maxWindow: maxW, emptyLeaves: empty };
  }

  describe(): Record<string, string | number> {
    const st = this.stats();
    return {
      root: this.config.root,
      ...(this.config.root === 'radix-table' ? { tableBits: this.config.tableBits ?? 18 } : {}),
      branching: this.config.branching,
      avgLog2Window: +st.avgLog2Window.toFixed(2),
      maxWindow: st.maxWindow,
      emptyLeaves: st.emptyLeaves,
      ...(this.searchSummary ? { search: this.searchSummary } : {}),
    };
  }
}

/**
 * The leaf's window and the last mile, shared by the three lookups: prediction clamped to the
 * leaf's key range [start, end] (as clampPos, which measured the errors; it also maps NaN to
 * start), then [P - errLo, P + errHi + 1), searched outward from P (window-search.ts).
 */
function leafSearch(f: Float64Array, li: Int32Array, L: number, qx: number, mode: WindowMode, keys: KeySet, q: KeySet,
  i: number): number {
  const p = f[4 * L]! * qx + f[4 * L + 1]!;
  const s = li[8 * L + 6]!, e = li[8 * L + 7]!;
  // p | 0 is floor(p) here (s <= p < e < 2^31) and keeps the window bounds int32.
  const P = p > s ? (p < e ? p | 0 : e) : s;
  const lo = P - li[8 * L + 4]!;
  const hi = P + li[8 * L + 5]! + 1;
  return mode === WindowMode.S ? searchWindowS(keys, q, i, lo, hi, P)
    : mode === WindowMode.U32 ? searchWindowU32(keys, q, i, lo, hi, P)
    : searchWindowExact(keys, q, i, lo, hi, P);
}

/** linear, linear-spline and radix roots: r = (x - x0) * scale + base. */
class RmiAffine extends RmiIndex {
  protected leafOf(qx: number): number {
    const rp = this.rp;
    const r = (qx - rp[0]!) * rp[1]! + rp[2]!;
    const bMax = this.bMax;
    return r > 0 ? (r < bMax ? r | 0 : bMax) : 0; // NaN -> 0
  }

  lowerBound(q: KeySet, i: number): number {
    const qx = q.x[i]!;
    return leafSearch(this.leafF, this.leafI, this.leafOf(qx), qx, this.mode, this.keys, q, i);
  }
}

/** cubic root: t = clamp((x - x0) * scale, 0, 1), r = ((a t + b) t + c) t + base. */
class RmiCubic extends RmiIndex {
  protected leafOf(qx: number): number {
    const rp = this.rp;
    let t = (qx - rp[0]!) * rp[1]!;
    t = t > 0 ? (t < 1 ? t : 1) : 0;
    const r = ((rp[3]! * t + rp[4]!) * t + rp[5]!) * t + rp[2]!;
    const bMax = this.bMax;
    return r > 0 ? (r < bMax ? r | 0 : bMax) : 0;
  }

  lowerBound(q: KeySet, i: number): number {
    const qx = q.x[i]!;
    return leafSearch(this.leafF, this.leafI, this.leafOf(qx), qx, this.mode, this.keys, q, i);
  }
}

/** radix-table root: r = evalTable(hint, (x - x0) * scale) * rankScale. */
class RmiTable extends RmiIndex {
  protected leafOf(qx: number): number {
    const rp = this.rp;
    const r = evalTable(this.hint, (qx - rp[0]!) * rp[1]!) * rp[6]!;
    const bMax = this.bMax;
    return r > 0 ? (r < bMax ? r | 0 : bMax) : 0;
  }

  lowerBound(q: KeySet, i: number): number {
    const qx = q.x[i]!;
    return leafSearch(this.leafF, this.leafI, this.leafOf(qx), qx, this.mode, this.keys, q, i);
  }
}

/** Fits the root and the leaves of one configuration. */
export function newRmi(keys: KeySet, config: RmiConfig): RmiIndex {
  const root = keys.n > 0 ? fitRoot(keys, config.root, config.branching, config.tableBits) : newRoot(1, 0);
  if (root.kind === CUBIC) return new RmiCubic(keys, config, root);
  if (root.kind === TABLE) return new RmiTable(keys, config, root);
  return new RmiAffine(keys, config, root);
}


/**
 * Builds an RMI. With `config` given, exactly that one; otherwise the cheapest candidate of the
 * search (the config is recorded in describe()).
 */
export function buildRmi(keys: KeySet, config?: Partial<RmiConfig>, search: Partial<RmiSearchConfig> = {}): RmiIndex {
  if (config?.root !== undefined || config?.branching !== undefined) {
    const root = config.root ?? 'linear-spline';
    const branching = config.branching ?? 1 << 12;
    check((RMI_ROOTS as readonly string[]).includes(root), `unknown RMI root model '${root}'`, 'rmi.root', RMI_ROOTS.join(', '));
    check(Number.isInteger(Math.log2(branching)) && branching >= 1 && branching <= 1 << 26,
      `RMI branching factor ${branching} is invalid`, 'rmi.branching', 'a power of two between 1 and 2^26');
    const tableBits = config.tableBits ?? 18;
    check(Number.isInteger(tableBits) && tableBits >= 1 && tableBits <= 26, `RMI table bits ${tableBits} are invalid`,
      'rmi.tableBits', 'an integer in [1, 26]');
    return newRmi(keys, { root, branching, tableBits });
  }
  const sc = { ...RMI_SEARCH_DEFAULTS, ...search };
  if (keys.n < 2) return newRmi(keys, { root: 'linear-spline', branching: 1 }); // nothing to learn
  const cands = searchRmiConfigs(keys, sc);
  if (cands.length === 0) {
    throw new SelfoptError(`no RMI candidate fits in ${sc.maxBytes} bytes`, 'rmi.maxBytes', 'a larger limit');
  }
  const best = cands[0]!;
  const ix = newRmi(keys, { root: best.root, branching: best.branching, ...(best.tableBits ? { tableBits: best.tableBits } : {}) });
  ix.searchSummary = cands.slice(0, 3)
    .map((c) => `${c.root}${c.tableBits ? `(${c.tableBits})` : ''}/2^${Math.log2(c.branching)}: log2w ${c.avgLog2Window.toFixed(2)} cost ${c.cost.toFixed(2)}`)
    .join('; ') + ` (${cands.length} candidates)`;
  return ix;
}

export const rmiSolver: Solver<KeySet, SearchIndex> = {
  info: {
    name: 'rmi',
    kind: 'learned',
    description: 'Two-layer RMI (root model -> linear leaves with error bounds), root type and branching searched per data set',
    reference: 'Kraska et al., "The Case for Learned Index Structures", SIGMOD 2018 (learnedsystems/RMI, as in SOSD)',
  },
  solve(keys: KeySet, ctx: SolveContext): SearchIndex {
    const root = ctx.options['rmi.root'];
    if (root !== undefined || ctx.options['rmi.branching'] !== undefined) {
      const b = intOption(ctx.options, 'rmi.branching', undefined, -Infinity, Infinity, 'a power of two');
      const t = intOption(ctx.options, 'rmi.tableBits', undefined);
      return buildRmi(keys, { root: root as RmiRoot | undefined, branching: b, ...(t !== undefined ? { tableBits: t } : {}) });
    }
    const mb = intOption(ctx.options, 'rmi.maxBytes', undefined, 1, Infinity, 'a positive integer');
    if (mb !== undefined) return buildRmi(keys, undefined, { maxBytes: mb });
    return buildRmi(keys);
  },
};

/**
 * The same RMI searched under a memory cap of 256 KiB: a quarter of the 1 MiB radix table of
 * SOSD's default RBS, the budget at which a learned index is claimed to win on space and time.
 */
export const RMI_COMPACT_BYTES = 256 * 1024;

export const rmiCompactSolver: Solver<KeySet, SearchIndex> = {
  info: {
    ...rmiSolver.info,
    name: 'rmi-compact',
    description: `Two-layer RMI as 'rmi', its configuration searched among those of at most ${RMI_COMPACT_BYTES / 1024} KiB (1/4 of RBS's default table)`,
  },
  solve: (keys) => buildRmi(keys, undefined, { maxBytes: RMI_COMPACT_BYTES }),
};
