/**
 * Two-layer recursive model index (RMI): Kraska, Beutel, Chi, Dean & Polyzotis, "The Case for
 * Learned Index Structures", SIGMOD 2018, in the form learnedsystems/RMI generates for SOSD
 * (Marcus et al., VLDB 2020), with the last mile of ALEX (Ding et al., SIGMOD 2020).
 *
 * A root model maps a key to a leaf coordinate r in [0, B) and so to one of B leaves; the leaf is
 * a linear model (weighted least squares, rmi-models.ts) that predicts the position from the
 * key's offset r - L in the leaf. Lookup: root -> leaf (one 4-byte load, and its group's base) -> prediction P,
 * clamped to [0, n - 1] -> exponential search outward from P (window-search.ts searchFrom).
 *
 * Guarantee: the lookup is exact for every query, present or absent, whatever the model
 * predicts: the exponential search brackets the answer from any start. So the leaves keep no
 * error bound (learnedsystems/RMI stores one per leaf to bound a binary search): the bound costs
 * leaf bytes, and the search from the prediction, which touches P's cache line first, was faster
 * than a bounded binary search of the window (window-search.ts). Model quality sets only the
 * speed: about 2 log2(|error| + 1) + 1 probes.
 *
 * Edge cases: n = 0 answers 0; fewer than two keys, or all keys equal, one leaf. Runs of
 * duplicates are fitted at their first row (rmi-models.ts). A NaN root coordinate (an infinite
 * float key) maps to leaf 0, a NaN prediction to position 0; the search still finds the answer.
 *
 * Hyperparameters (root model, leaf count, table size) are chosen as SOSD's RMIs are: estimated
 * on a sample of keys, then the cheapest few built and timed on tuning lookups of their own, the
 * fastest kept (rmi-search.ts, tuning.ts).
 */
import type { SolveContext, Solver } from '../../core/problem.js';
import { check, SelfoptError } from '../../core/errors.js';
import { intOption } from '../../core/options.js';
import type { KeySet } from './keys.js';
import type { SearchIndex } from './search-index.js';
import { WindowMode, searchFromExact, searchFromS, searchFromU32, windowModeOf } from './window-search.js';
import {
  CUBIC, LEAF_GROUP_LOG2, RMI_ROOTS, type RmiRoot, type RootModel, SLOPE_SCALE, TABLE, evalTable, fitLeaves, fitRoot,
  leafPredict, newRoot,
} from './rmi-models.js';
import { RMI_HEADER_BYTES, RMI_SEARCH_DEFAULTS, type RmiCandidate, type RmiSearchConfig, rmiBytes, searchRmiConfigs, shortlist } from './rmi-search.js';
import { TUNING_DEFAULTS, TUNING_QUICK, timeCandidates } from './tuning.js';
import { RBS_DEFAULT_BITS } from './heuristics.js';

export { RMI_ROOTS, type RmiRoot } from './rmi-models.js';
export { RMI_HEADER_BYTES, RMI_SEARCH_DEFAULTS, type RmiCandidate, type RmiSearchConfig, searchRmiConfigs } from './rmi-search.js';

// ---------------------------------------------------------------------------------------------
// Hyperparameters

export interface RmiConfig {
  root: RmiRoot;
  /** Number of leaves (any positive integer; the search tries powers of two and what fits a budget). */
  branching: number;
  /** radix-table root only: bits of its table (2^bits + 1 entries of 4 bytes). Default 18. */
  tableBits?: number;
}

// ---------------------------------------------------------------------------------------------
// The index

/**
 * What every RMI shares: the leaves, fitted at construction. The lookup lives in the subclasses,
 * one per kind of root (affine, cubic, radix table): each has its own copy of `lowerBound`, so
 * that each stays monomorphic and free of a branch on the root kind when RMIs of several kinds
 * live in one process (measured: mixing them in one class slowed every lookup by 15-30%). The
 * root's parameters sit in a Float64Array for the same reason: object fields that hold an
 * integer in one instance and a fraction in another change representation under V8.
 */
export abstract class RmiIndex implements SearchIndex {
  readonly n: number;
  readonly config: RmiConfig;
  /** Per leaf L: slope code (high 16 bits) and intercept offset (low 16 bits) from base[L >> 4] (rmi-models.ts). */
  readonly leaf: Uint32Array;
  readonly base: Int32Array;
  protected readonly keys: KeySet;
  protected readonly mode: WindowMode;
  /** Root parameters: x0, scale, base, a, b, c, rankScale (see RootModel). */
  protected readonly rp: Float64Array;
  /** radix-table root only: the hint table (empty otherwise). */
  protected readonly hint: Uint32Array;
  protected readonly bMax: number;
  /** n - 1 (0 when n = 0): predictions are clamped to [0, nm1]. */
  protected readonly nm1: number;
  protected readonly root: RootModel;
  /** Facts about the search that chose the config, for describe(). */
  searchSummary = '';

  constructor(keys: KeySet, config: RmiConfig, root: RootModel) {
    const n = keys.n, B = config.branching;
    this.keys = keys;
    this.n = n;
    this.nm1 = n > 0 ? n - 1 : 0;
    this.config = config;
    this.mode = windowModeOf(keys);
    this.bMax = B - 1;
    this.root = root;
    this.rp = Float64Array.of(root.x0, root.scale, root.base, root.a, root.b, root.c, root.rankScale);
    this.hint = root.hint;
    const t = fitLeaves(keys, root, B);
    this.leaf = t.leaf;
    this.base = t.base;
  }

  /** The root's leaf coordinate r of a key; the same arithmetic as evalRoot. */
  protected abstract rootOf(qx: number): number;

  abstract lowerBound(q: KeySet, i: number): number;

  predict(q: KeySet, i: number): number {
    return leafPredict(this, this.rootOf(q.x[i]!), this.bMax, this.nm1);
  }

  /** Leaves, root table and the header (RMI_HEADER_BYTES): everything the index keeps. */
  sizeBytes(): number {
    return this.leaf.byteLength + this.base.byteLength + this.hint.byteLength + RMI_HEADER_BYTES;
  }

  /** Mean over keys (every k-th, at most 2^16) of log2(|prediction - first position| + 1), and the largest error. */
  stats(): { avgLog2Error: number; maxError: number; emptyLeaves: number } {
    const n = this.n, x = this.keys.x;
    const step = Math.max(1, Math.floor(n / 65536));
    let sum = 0, cnt = 0, maxE = 0, first = 0;
    for (let i = 0; i < n; i++) {
      if (i > 0 && x[i] !== x[i - 1]) first = i;
      if (i % step !== 0) continue;
      const e = Math.abs(leafPredict(this, this.rootOf(x[i]!), this.bMax, this.nm1) - first);
      sum += Math.log2(e + 1); cnt++;
      if (e > maxE) maxE = e;
    }
    let empty = 0;
    for (let L = 0; L <= this.bMax; L++) if (this.leaf[L]! >>> 16 === 0) empty++;
    return { avgLog2Error: cnt > 0 ? sum / cnt : 0, maxError: maxE, emptyLeaves: empty };
  }

  describe(): Record<string, string | number> {
    const st = this.stats();
    return {
      root: this.config.root,
      ...(this.config.root === 'radix-table' ? { tableBits: this.config.tableBits ?? 18 } : {}),
      branching: this.config.branching,
      avgLog2Error: +st.avgLog2Error.toFixed(2),
      maxError: st.maxError,
      flatLeaves: st.emptyLeaves,
      ...(this.searchSummary ? { search: this.searchSummary } : {}),
    };
  }
}

/** The last mile from a start position P: window-search.ts searchFromS / searchFromU32 / searchFromExact. */
type SearchFrom = (keys: KeySet, q: KeySet, qi: number, P: number) => number;

/**
 * The leaf's prediction, shared by the lookups: base + intercept + slope * (r - L)
 * (rmi-models.ts leafPredict), floored and clamped to [0, n - 1].
 */
function leafPosition(leaf: Uint32Array, base: Int32Array, r: number, bMax: number, nm1: number): number {
  const L = r > 0 ? (r < bMax ? r | 0 : bMax) : 0; // NaN -> 0
  const w = leaf[L]!;
  const p = base[L >> LEAF_GROUP_LOG2]! + ((w << 16) >> 16) + ((w >>> 16 & 2047) + 2048) * SLOPE_SCALE[w >>> 27]! * (r - L);
  // p | 0 is floor(p) here (0 < p < nm1 < 2^31) and keeps P an int32.
  return p > 0 ? (p < nm1 ? p | 0 : nm1) : 0;
}

/**
 * The lookup classes for one last-mile search (one key form), one class per kind of root. They
 * are made once per search function, so that every call site in a lookup has a single target the
 * JIT can inline, also in a worker that evaluates key sets of several forms (before, one lookup
 * chose among the three searches by a branch on the key form, and all three were compiled into
 * it). Measured on S2 (interleaved, load 6-8), the two are within the noise of each other there.
 */
function lookupClasses(search: SearchFrom) {
  /** linear, linear-spline and radix roots: r = (x - x0) * scale + base. */
  class RmiAffine extends RmiIndex {
    protected rootOf(qx: number): number {
      const rp = this.rp;
      return (qx - rp[0]!) * rp[1]! + rp[2]!;
    }

    lowerBound(q: KeySet, i: number): number {
      const rp = this.rp;
      const r = (q.x[i]! - rp[0]!) * rp[1]! + rp[2]!;
      return search(this.keys, q, i, leafPosition(this.leaf, this.base, r, this.bMax, this.nm1));
    }
  }

  /** cubic root: t = clamp((x - x0) * scale, 0, 1), r = ((a t + b) t + c) t + base. */
  class RmiCubic extends RmiIndex {
    protected rootOf(qx: number): number {
      const rp = this.rp;
      let t = (qx - rp[0]!) * rp[1]!;
      t = t > 0 ? (t < 1 ? t : 1) : 0;
      return ((rp[3]! * t + rp[4]!) * t + rp[5]!) * t + rp[2]!;
    }

    lowerBound(q: KeySet, i: number): number {
      const rp = this.rp;
      let t = (q.x[i]! - rp[0]!) * rp[1]!;
      t = t > 0 ? (t < 1 ? t : 1) : 0;
      const r = ((rp[3]! * t + rp[4]!) * t + rp[5]!) * t + rp[2]!;
      return search(this.keys, q, i, leafPosition(this.leaf, this.base, r, this.bMax, this.nm1));
    }
  }

  /**
   * radix-table root: r = evalTable(hint, (x - x0) * scale) * rankScale. The table gives a rank
   * before the leaf is read, and the lookup loads the key at that rank at once (its value is kept
   * in `touched`, so the JIT cannot drop it): the cache and TLB miss on the key array then runs in
   * parallel with the leaf's, instead of after it. JS has no prefetch instruction; the branch-free
   * and Eytzinger searches (heuristics.ts) use the same kind of load. The rank is within a bucket
   * of the answer, mostly on its page: measured on S2 cell ids (scripts/rmi-explore.mjs), 4-20%
   * less time per lookup; loading the prediction's neighbouring lines as well was slower.
   */
  class RmiTable extends RmiIndex {
    touched = 0;
    /** The array the search compares (the key set's form): the one the touch loads. */
    private readonly form: Float64Array | Uint32Array;

    constructor(keys: KeySet, config: RmiConfig, root: RootModel) {
      super(keys, config, root);
      this.form = this.mode === WindowMode.S ? keys.s : this.mode === WindowMode.U32 ? keys.lo : keys.hi;
    }

    protected rootOf(qx: number): number {
      const rp = this.rp;
      return evalTable(this.hint, (qx - rp[0]!) * rp[1]!) * rp[6]!;
    }

    lowerBound(q: KeySet, i: number): number {
      const rp = this.rp;
      const rank = evalTable(this.hint, (q.x[i]! - rp[0]!) * rp[1]!);
      const nm1 = this.nm1;
      const g = rank > 0 ? (rank < nm1 ? rank | 0 : nm1) : 0; // this class has n >= 2 (see fitRoot)
      this.touched += this.form[g]!;
      return search(this.keys, q, i, leafPosition(this.leaf, this.base, rank * rp[6]!, this.bMax, nm1));
    }
  }

  return { RmiAffine, RmiCubic, RmiTable };
}

/** The lookup classes of each key form, indexed by WindowMode. */
const LOOKUPS = [lookupClasses(searchFromS), lookupClasses(searchFromU32), lookupClasses(searchFromExact)];

/** Fits the root and the leaves of one configuration. */
export function newRmi(keys: KeySet, config: RmiConfig): RmiIndex {
  const root = keys.n > 0 ? fitRoot(keys, config.root, config.branching, config.tableBits) : newRoot(1, 0);
  const c = LOOKUPS[windowModeOf(keys)]!;
  if (root.kind === CUBIC) return new c.RmiCubic(keys, config, root);
  if (root.kind === TABLE) return new c.RmiTable(keys, config, root);
  return new c.RmiAffine(keys, config, root);
}

function configOf(c: RmiCandidate): RmiConfig {
  return { root: c.root, branching: c.branching, ...(c.tableBits ? { tableBits: c.tableBits } : {}) };
}

function label(c: RmiCandidate): string {
  const size = Number.isInteger(Math.log2(c.branching)) ? `2^${Math.log2(c.branching)}` : String(c.branching);
  return `${c.root}${c.tableBits ? `(${c.tableBits})` : ''}/${size}`;
}

/**
 * Builds an RMI. With `config` given, exactly that one; otherwise the search of rmi-search.ts:
 * the estimate ranks every candidate, and with `search.timed` > 1 that many of the cheapest are
 * built and timed on tuning lookups (tuning.ts), the fastest kept. The config and the search's
 * figures are recorded in describe().
 */
export function buildRmi(keys: KeySet, config?: Partial<RmiConfig>, search: Partial<RmiSearchConfig> = {}): RmiIndex {
  if (config?.root !== undefined || config?.branching !== undefined) {
    const root = config.root ?? 'linear-spline';
    const branching = config.branching ?? 1 << 12;
    check((RMI_ROOTS as readonly string[]).includes(root), `unknown RMI root model '${root}'`, 'rmi.root', RMI_ROOTS.join(', '));
    check(Number.isInteger(branching) && branching >= 1 && branching <= 1 << 26,
      `RMI branching factor ${branching} is invalid`, 'rmi.branching', 'an integer between 1 and 2^26');
    const tableBits = config.tableBits ?? 18;
    check(Number.isInteger(tableBits) && tableBits >= 1 && tableBits <= 26, `RMI table bits ${tableBits} are invalid`,
      'rmi.tableBits', 'an integer in [1, 26]');
    return newRmi(keys, { root, branching, tableBits });
  }
  const sc = { ...RMI_SEARCH_DEFAULTS, ...search };
  if (keys.n < 2) return newRmi(keys, { root: 'linear-spline', branching: 1 }); // nothing to learn
  const cands = searchRmiConfigs(keys, sc);
  if (cands.length === 0) {
    throw new SelfoptError(`no RMI candidate fits in ${sc.maxBytes} bytes`, 'rmi.maxBytes', `at least ${rmiBytes(1, 'linear', 0)} bytes`);
  }
  const short = shortlist(cands, Math.max(1, sc.timed));
  let best = short[0]!;
  let ix = newRmi(keys, configOf(best));
  if (short.length > 1) {
    const built = [ix, ...short.slice(1).map((c) => newRmi(keys, configOf(c)))];
    const ns = timeCandidates(keys, built, sc.tuning);
    short.forEach((c, k) => { c.ns = ns[k]; });
    // The shortlist is in the estimate's order (cheapest first); the small candidate it always
    // holds comes last. Keep the first one measured within the tolerance of the fastest.
    let fastest = 0;
    for (let j = 1; j < ns.length; j++) if (ns[j]! < ns[fastest]!) fastest = j;
    let k = 0;
    while (!(ns[k]! <= ns[fastest]! * (1 + sc.tieTolerance))) k++;
    best = short[k]!;
    ix = built[k]!;
    const order = [...short].sort((a, b) => a.ns! - b.ns!);
    ix.searchSummary = order.map((c) => `${label(c)}: ${c.ns!.toFixed(0)} ns, log2e ${c.avgLog2Error.toFixed(2)}, ${c.bytes} B`).join('; ')
      + ` (timed ${short.length} of ${cands.length} candidates; kept ${label(best)}, the estimate's first within ${(sc.tieTolerance * 100).toFixed(0)}% of the fastest)`;
  } else {
    ix.searchSummary = cands.slice(0, 3).map((c) => `${label(c)}: log2e ${c.avgLog2Error.toFixed(2)} cost ${c.cost.toFixed(2)}`).join('; ')
      + ` (${cands.length} candidates, estimate only)`;
  }
  return ix;
}

/** Candidates timed by the solvers (the estimate alone picks when --opt rmi.timed=1). */
export const RMI_TIMED = 6;
export const RMI_TIMED_QUICK = 3;

function searchOptions(ctx: SolveContext): Partial<RmiSearchConfig> {
  return {
    timed: intOption(ctx.options, 'rmi.timed', ctx.quick ? RMI_TIMED_QUICK : RMI_TIMED, 1, 64),
    tuning: ctx.quick ? TUNING_QUICK : TUNING_DEFAULTS,
  };
}

export const rmiSolver: Solver<KeySet, SearchIndex> = {
  info: {
    name: 'rmi',
    kind: 'learned',
    description: 'Two-layer RMI (root model -> 4-byte linear leaves, exponential search from the prediction), root type and leaf count chosen by timing candidates on tuning lookups',
    reference: 'Kraska et al., "The Case for Learned Index Structures", SIGMOD 2018 (learnedsystems/RMI, as in SOSD; tuned as CDFShop, SIGMOD 2020)',
  },
  solve(keys: KeySet, ctx: SolveContext): SearchIndex {
    const root = ctx.options['rmi.root'];
    if (root !== undefined || ctx.options['rmi.branching'] !== undefined) {
      const b = intOption(ctx.options, 'rmi.branching', undefined, 1, 1 << 26, 'an integer between 1 and 2^26');
      const t = intOption(ctx.options, 'rmi.tableBits', undefined);
      return buildRmi(keys, { root: root as RmiRoot | undefined, branching: b, ...(t !== undefined ? { tableBits: t } : {}) });
    }
    const mb = intOption(ctx.options, 'rmi.maxBytes', undefined, 1, Infinity, 'a positive integer');
    return buildRmi(keys, undefined, { ...searchOptions(ctx), ...(mb !== undefined ? { maxBytes: mb } : {}) });
  },
};

/**
 * The budget of rmi-compact: a quarter of the extra memory of SOSD's default RBS (a table of
 * 2^18 + 2 four-byte entries, 1,048,584 bytes), header included: 262,146 bytes.
 */
export const RMI_COMPACT_BYTES = Math.floor((((1 << RBS_DEFAULT_BITS) + 2) * 4) / 4);

export const rmiCompactSolver: Solver<KeySet, SearchIndex> = {
  info: {
    ...rmiSolver.info,
    name: 'rmi-compact',
    description: `Two-layer RMI as 'rmi', its configuration chosen among those of at most ${RMI_COMPACT_BYTES} bytes, header included (1/4 of RBS's default table)`,
  },
  solve: (keys, ctx) => buildRmi(keys, undefined, { ...searchOptions(ctx), maxBytes: RMI_COMPACT_BYTES }),
};
