/**
 * Two-layer recursive model index (RMI): Kraska, Beutel, Chi, Dean & Polyzotis, "The Case for
 * Learned Index Structures", SIGMOD 2018, in the form learnedsystems/RMI generates for SOSD
 * (Marcus et al., VLDB 2020), with the last mile of ALEX (Ding et al., SIGMOD 2020).
 *
 * A root model maps a key to a leaf coordinate r in [0, B) and so to one of B leaves; the leaf is
 * a linear model (weighted least squares, rmi-models.ts) that predicts the position from the
 * key's offset r - L in the leaf. Lookup: root -> leaf (one 4-byte load, and its group's base) -> prediction P,
 * clamped to [0, n - 1] -> exponential search outward from P (window-search.ts searchFrom), or,
 * with a table root where the tuning timed it faster, first the branch-free search of the 8 keys
 * around P (searchNearS).
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
import { check, SelfoptError, unknownName } from '../../core/errors.js';
import { intOption } from '../../core/options.js';
import type { KeySet } from './keys.js';
import type { SearchIndex } from './search-index.js';
import {
  NEAR_KEYS, WindowMode, nearStart, searchFromExact, searchFromS, searchFromU32, searchNearS, windowModeOf,
} from './window-search.js';
import {
  CUBIC, LEAF_GROUP_LOG2, type LeafTable, RMI_ROOTS, type RmiRoot, type RootModel, SLOPE_SCALE, TABLE, evalRoot, evalTable,
  fitLeaves, fitRoot, leafPredict, newRoot,
} from './rmi-models.js';
import { lowerBoundS } from './keys.js';
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
  /**
   * radix-table root on KeyForm.S keys only: the last mile starts with the branch-free search of
   * the 8 keys around the prediction (window-search.ts searchNearS). true or false forces it (when
   * n >= 8). Unset: the gallop (NEAR_BY_DEFAULT); the searched RMI times both (buildRmi).
   */
  near?: boolean;
}

/**
 * The near search can pay where at least this share of the sampled keys' answers lies strictly
 * inside its 8-key window (nearShare). Measured (lower bound alone, interleaved in one process;
 * window-search.ts searchNearS) on S2 cell ids: 2^21 leaves beside an 18-bit table (92% inside)
 * 2-6% faster than the gallop at moderate load, 11% slower in one run under heavy memory traffic;
 * 2^20 leaves (83.5% inside) 6-7% faster in two runs at load 5, 0-10% slower in four under heavy
 * memory traffic; 2^17 leaves (38%) 7% slower; on flights, 46,242 leaves (76%) 1-8% slower.
 * The searched RMI times both where this holds (buildRmi), so the threshold only spares the
 * timing where the near search cannot win.
 */
export const NEAR_MIN_SHARE = 0.8;
/**
 * Whether the rule above alone picks the near search for an RMI built from a given configuration
 * (RmiConfig.near unset). Off: its gain on S2 did not hold under every load measured (see
 * NEAR_MIN_SHARE). The searched RMI (buildRmi) times both last miles of the kept model where the
 * rule holds and keeps the faster; RmiConfig.near = true forces it.
 */
const NEAR_BY_DEFAULT = false;

/**
 * The share of existing keys (every k-th row, at most 2^16) whose lower bound lies strictly inside
 * the near window of its leaf's prediction (window-search.ts nearStart): the lookups that
 * searchNearS answers without its fallback. KeyForm.S keys, n >= NEAR_KEYS.
 */
export function nearShare(keys: KeySet, root: RootModel, leaves: LeafTable, B: number): number {
  const n = keys.n, x = keys.x;
  const step = Math.max(1, Math.floor(n / 65536));
  let inside = 0, count = 0;
  for (let i = 0; i < n; i += step) {
    const first = lowerBoundS(keys, keys, i, 0, i + 1);
    const s = nearStart(leafPredict(leaves, evalRoot(root, x[i]!), B - 1, n - 1), n);
    if (first > s && first < s + NEAR_KEYS) inside++;
    count++;
  }
  return count > 0 ? inside / count : 0;
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
  // The fields are `declare`d: with ES2022 class fields a plain declaration defines the field as
  // undefined before the constructor assigns it, and V8 then keeps the field in a general
  // representation (a tagged value that each lookup checks for a small integer or a heap number,
  // a typed array whose map each lookup checks). Declared only, each field holds one kind of
  // value from its first store. Measured on S2 (lower bound alone, this change alone against the
  // code before, interleaved in one process, scratch copy of scripts/rmi-explore.mjs's loop):
  // 2-4% less time per lookup; with lookupClasses' constants below, 4-16% (see there).
  declare readonly n: number;
  declare readonly config: RmiConfig;
  /** Per leaf L: slope code (high 16 bits) and intercept offset (low 16 bits) from base[L >> 4] (rmi-models.ts). */
  declare readonly leaf: Uint32Array;
  declare readonly base: Int32Array;
  protected declare readonly keys: KeySet;
  protected declare readonly mode: WindowMode;
  /** Root parameters: x0, scale, base, a, b, c, rankScale (see RootModel). */
  protected declare readonly rp: Float64Array;
  /** radix-table root only: the hint table (empty otherwise). */
  protected declare readonly hint: Uint32Array;
  protected declare readonly bMax: number;
  /** n - 1 (0 when n = 0): predictions are clamped to [0, nm1]. */
  protected declare readonly nm1: number;
  protected declare readonly root: RootModel;
  /** Facts about the search that chose the config, for describe(). */
  searchSummary = '';
  /** Share of the answers inside the near search's window (nearShare), where it applies; else NaN. */
  nearShare = NaN;

  constructor(keys: KeySet, config: RmiConfig, root: RootModel, leaves: LeafTable) {
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
    this.leaf = leaves.leaf;
    this.base = leaves.base;
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

  /** The last mile: 'near' (searchNearS, then the gallop) or 'gallop' (searchFrom* alone). */
  lastMile(): 'near' | 'gallop' {
    return 'gallop';
  }

  /**
   * The same fitted model (root and leaves shared, nothing refitted) with the other last mile,
   * where both apply (radix-table root, KeyForm.S, n >= NEAR_KEYS); otherwise undefined.
   */
  twin(): RmiIndex | undefined {
    return undefined;
  }

  describe(): Record<string, string | number> {
    const st = this.stats();
    return {
      root: this.config.root,
      ...(this.config.root === 'radix-table' ? { tableBits: this.config.tableBits ?? 18 } : {}),
      branching: this.config.branching,
      lastMile: this.lastMile(),
      ...(Number.isNaN(this.nearShare) ? {} : { nearShare: +this.nearShare.toFixed(3) }),
      avgLog2Error: +st.avgLog2Error.toFixed(2),
      maxError: st.maxError,
      flatLeaves: st.emptyLeaves,
      ...(this.searchSummary ? { search: this.searchSummary } : {}),
    };
  }
}

/**
 * The last mile from a start position P: window-search.ts searchFromS / searchFromU32 /
 * searchFromExact (the gallop), or searchNearS (the near search, then the gallop).
 */
type SearchFrom = (keys: KeySet, q: KeySet, qi: number, P: number) => number;
type LastMile = 'near' | 'gallop';
type RmiClass = new (keys: KeySet, config: RmiConfig, root: RootModel, leaves: LeafTable) => RmiIndex;

/**
 * The lookup classes for one last-mile search (one key form, one last mile), one class per kind
 * of root. They are made once per search function, so that every call site in a lookup has a
 * single target the JIT can inline, also in a worker that evaluates key sets of several forms
 * (before, one lookup chose among the three searches by a branch on the key form, and all three
 * were compiled into it). Measured on S2 (interleaved, load 6-8), the two are within the noise of
 * each other there. `other`, where given, is the radix-table class of the same key form with the
 * other last mile (RmiIndex.twin). The near search's classes are one more set made here (before,
 * a subclass whose lookup copied RmiTable's with the other search): against that copy (scripts/
 * rmi-ab.mjs, S2, 2^20 leaves beside an 18-bit table, lower bound alone, 150 rounds a run, build
 * order alternated), new / old per round, median: near 0.945-1.079 over eight runs (median 1.0),
 * gallop 0.995-1.016 over eight, and an A/A control of the same code in two trees 1.000-1.011.
 */
function lookupClasses(search: SearchFrom, mile: LastMile, other?: () => RmiClass) {
  // Everything the lookups call or read outside `this` is an immutable binding of this closure.
  // V8 compiles such a binding into an inlined lookup as a constant, while a parameter, a function
  // declaration or an imported binding (a live cell) is loaded and checked on every lookup
  // (--print-opt-code showed five such loads, each with a hole or identity check): a few
  // instructions and a branch each, in a loop whose lookups the CPU overlaps only as far as its
  // reorder buffer reaches. With the declared fields of RmiIndex, against the code before (lower
  // bound alone, both built in one process, build order alternated, load 3.4-4.1 with another
  // engineer's training on the other core): S2 (2^21 leaves, 18-bit table) 4-8% less time per
  // lookup in six runs, 16% in one; flights 10-12% (linear spline, 2^17 leaves) and 8-10% (table,
  // 46,242 leaves); longitudes 13-14% (radix, 2^16 leaves); IPv4 0-5% (table, 46,242 leaves).
  const searchFrom = search, table = evalTable, slopeScale = SLOPE_SCALE, groupLog2 = LEAF_GROUP_LOG2;

  /**
   * The leaf's prediction, shared by the lookups: base + intercept + slope * (r - L)
   * (rmi-models.ts leafPredict), floored and clamped to [0, n - 1].
   */
  const leafPosition = (leaf: Uint32Array, base: Int32Array, r: number, bMax: number, nm1: number): number => {
    const L = r > 0 ? (r < bMax ? r | 0 : bMax) : 0; // NaN -> 0
    const w = leaf[L]!;
    const p = base[L >> groupLog2]! + ((w << 16) >> 16) + ((w >>> 16 & 2047) + 2048) * slopeScale[w >>> 27]! * (r - L);
    // p | 0 is floor(p) here (0 < p < nm1 < 2^31) and keeps P an int32.
    return p > 0 ? (p < nm1 ? p | 0 : nm1) : 0;
  };

  /** linear, linear-spline and radix roots: r = (x - x0) * scale + base. */
  class RmiAffine extends RmiIndex {
    protected rootOf(qx: number): number {
      const rp = this.rp;
      return (qx - rp[0]!) * rp[1]! + rp[2]!;
    }

    lowerBound(q: KeySet, i: number): number {
      const rp = this.rp;
      const r = (q.x[i]! - rp[0]!) * rp[1]! + rp[2]!;
      return searchFrom(this.keys, q, i, leafPosition(this.leaf, this.base, r, this.bMax, this.nm1));
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
      return searchFrom(this.keys, q, i, leafPosition(this.leaf, this.base, r, this.bMax, this.nm1));
    }
  }

  /**
   * radix-table root: r = evalTable(hint, (x - x0) * scale) * rankScale. The table gives a rank
   * before the leaf is read, and the lookup loads the key at that rank at once (its value is kept
   * in `touched`, so the JIT cannot drop it): the cache and TLB miss on the key array then runs in
   * parallel with the leaf's, instead of after it. JS has no prefetch instruction; the branch-free
   * and Eytzinger searches (heuristics.ts) use the same kind of load. The rank is within a bucket
   * of the answer, mostly on its page: measured on S2 cell ids (scripts/rmi-explore.mjs), 4-20%
   * less time per lookup; loading the prediction's neighbouring lines as well was slower. With the
   * near search (searchNearS) the touch is kept too: without it the branch-free search was slower
   * than the gallop (the key array's miss is then on its critical path).
   */
  class RmiTable extends RmiIndex {
    touched = 0;
    /** The array the search compares (the key set's form): the one the touch loads. */
    protected declare readonly form: Float64Array | Uint32Array;

    constructor(keys: KeySet, config: RmiConfig, root: RootModel, leaves: LeafTable) {
      super(keys, config, root, leaves);
      this.form = this.mode === WindowMode.S ? keys.s : this.mode === WindowMode.U32 ? keys.lo : keys.hi;
    }

    override lastMile(): LastMile {
      return mile;
    }

    override twin(): RmiIndex | undefined {
      if (other === undefined || this.n < NEAR_KEYS) return undefined;
      const Other = other();
      const t = new Other(this.keys, { ...this.config, near: mile === 'gallop' }, this.root, { leaf: this.leaf, base: this.base });
      t.nearShare = this.nearShare;
      return t;
    }

    protected rootOf(qx: number): number {
      const rp = this.rp;
      return evalTable(this.hint, (qx - rp[0]!) * rp[1]!) * rp[6]!;
    }

    lowerBound(q: KeySet, i: number): number {
      const rp = this.rp;
      const rank = table(this.hint, (q.x[i]! - rp[0]!) * rp[1]!);
      const nm1 = this.nm1;
      const g = rank > 0 ? (rank < nm1 ? rank | 0 : nm1) : 0; // this class has n >= 2 (see fitRoot)
      this.touched += this.form[g]!;
      return searchFrom(this.keys, q, i, leafPosition(this.leaf, this.base, rank * rp[6]!, this.bMax, nm1));
    }
  }

  return { RmiAffine, RmiCubic, RmiTable };
}

/**
 * The lookup classes of each key form, indexed by WindowMode, with the gallop; and those of
 * KeyForm.S keys with the near search first (only its RmiTable is used: newRmi). The two radix-
 * table classes of KeyForm.S are each other's twin.
 */
const LOOKUPS = [
  lookupClasses(searchFromS, 'gallop', () => NEAR_S.RmiTable), lookupClasses(searchFromU32, 'gallop'),
  lookupClasses(searchFromExact, 'gallop'),
];
const NEAR_S = lookupClasses(searchNearS, 'near', () => LOOKUPS[WindowMode.S]!.RmiTable);

/** Fits the root and the leaves of one configuration, and picks the last mile (RmiConfig.near). */
export function newRmi(keys: KeySet, config: RmiConfig): RmiIndex {
  const B = config.branching;
  const root = keys.n > 0 ? fitRoot(keys, config.root, B, config.tableBits) : newRoot(1, 0);
  const leaves = fitLeaves(keys, root, B);
  const c = LOOKUPS[windowModeOf(keys)]!;
  if (root.kind === CUBIC) return new c.RmiCubic(keys, config, root, leaves);
  if (root.kind === TABLE) {
    const Near = keys.n >= NEAR_KEYS && windowModeOf(keys) === WindowMode.S ? NEAR_S.RmiTable : undefined;
    const share = Near !== undefined ? nearShare(keys, root, leaves, B) : NaN;
    const near = Near !== undefined && (config.near ?? (NEAR_BY_DEFAULT && share >= NEAR_MIN_SHARE));
    const ix = near ? new Near(keys, config, root, leaves) : new c.RmiTable(keys, config, root, leaves);
    ix.nearShare = share;
    return ix;
  }
  return new c.RmiAffine(keys, config, root, leaves);
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
    return newRmi(keys, { root, branching, tableBits, ...(config.near !== undefined ? { near: config.near } : {}) });
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
    let summary = order.map((c) => `${label(c)}: ${c.ns!.toFixed(0)} ns, log2e ${c.avgLog2Error.toFixed(2)}, ${c.bytes} B`).join('; ')
      + ` (timed ${short.length} of ${cands.length} candidates; kept ${label(best)}, the estimate's first within ${(sc.tieTolerance * 100).toFixed(0)}% of the fastest)`;
    // The last mile, timed too where the near search may pay (NEAR_MIN_SHARE): the kept model
    // with each search, the faster kept. Its gain on S2 depends on the machine's memory traffic
    // (NEAR_MIN_SHARE), so it is measured where the index is built, as the configuration is.
    const twin = ix.twin();
    if (twin && ix.nearShare >= NEAR_MIN_SHARE) {
      const [own, other] = timeCandidates(keys, [ix, twin], sc.tuning) as [number, number];
      const gallopNs = ix.lastMile() === 'gallop' ? own : other, nearNs = ix.lastMile() === 'gallop' ? other : own;
      if (other < own) ix = twin;
      summary += `; last mile: gallop ${gallopNs.toFixed(0)} ns, near ${nearNs.toFixed(0)} ns (${(ix.nearShare * 100).toFixed(0)}% inside its window), kept ${ix.lastMile()}`;
    }
    ix.searchSummary = summary;
  } else {
    ix.searchSummary = cands.slice(0, 3).map((c) => `${label(c)}: log2e ${c.avgLog2Error.toFixed(2)} cost ${c.cost.toFixed(2)}`).join('; ')
      + ` (${cands.length} candidates, estimate only)`;
  }
  return ix;
}

/** Candidates timed by the solvers (the estimate alone picks when --opt rmi.timed=1). */
export const RMI_TIMED = 6;
export const RMI_TIMED_QUICK = 3;

/**
 * The RMI's `--opt` settings: a fixed configuration (`rmi.root`, `rmi.branching`,
 * `rmi.tableBits`: no search), else the search's (`rmi.timed`, `rmi.maxBytes`). Checked as
 * buildRmi checks them, so index.ts can refuse a bad value before any cell.
 */
export function rmiOptions(options: Readonly<Record<string, string>>, quick: boolean): { fixed?: Partial<RmiConfig>; search: Partial<RmiSearchConfig> } {
  const search: Partial<RmiSearchConfig> = {
    timed: intOption(options, 'rmi.timed', quick ? RMI_TIMED_QUICK : RMI_TIMED, 1, 64),
    tuning: quick ? TUNING_QUICK : TUNING_DEFAULTS,
  };
  const smallest = rmiBytes(1, 'linear', 0);
  const mb = intOption(options, 'rmi.maxBytes', undefined, smallest, Infinity, `an integer >= ${smallest} (the smallest RMI, one leaf, header included)`);
  if (mb !== undefined) search.maxBytes = mb;
  const root = options['rmi.root'];
  if (root !== undefined && !(RMI_ROOTS as readonly string[]).includes(root)) {
    throw unknownName('RMI root model', root, RMI_ROOTS, '--opt rmi.root');
  }
  const branching = intOption(options, 'rmi.branching', undefined, 1, 1 << 26, 'an integer between 1 and 2^26');
  const tableBits = intOption(options, 'rmi.tableBits', undefined, 1, 26);
  // A setting of the other mode would be silently ignored: refuse the mix instead.
  const fixedKeys = ['rmi.root', 'rmi.branching'], searchKeys = ['rmi.timed', 'rmi.maxBytes'];
  if (tableBits !== undefined && root !== 'radix-table') {
    throw new SelfoptError("rmi.tableBits sets the table of a fixed RMI's radix-table root, and rmi.root is not radix-table", '--opt rmi.tableBits', 'rmi.root=radix-table beside it');
  }
  if (root === undefined && branching === undefined) return { search };
  const mixed = searchKeys.find((k) => options[k] !== undefined);
  if (mixed) throw new SelfoptError(`${mixed} sets the RMI search, which a fixed RMI (${fixedKeys.join(', ')}) skips`, `--opt ${mixed}`, `either ${fixedKeys.join('/')} or ${searchKeys.join('/')}`);
  return { fixed: { root: root as RmiRoot | undefined, branching, ...(tableBits !== undefined ? { tableBits } : {}) }, search };
}

export const rmiSolver: Solver<KeySet, SearchIndex> = {
  info: {
    name: 'rmi',
    kind: 'learned',
    description: 'Two-layer RMI (root model -> 4-byte linear leaves, exponential search from the prediction), root type and leaf count chosen by timing candidates on tuning lookups',
    reference: 'Kraska et al., "The Case for Learned Index Structures", SIGMOD 2018 (learnedsystems/RMI, as in SOSD; tuned as CDFShop, SIGMOD 2020)',
  },
  solve(keys: KeySet, ctx: SolveContext): SearchIndex {
    const { fixed, search } = rmiOptions(ctx.options, ctx.quick);
    return buildRmi(keys, fixed, search);
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
  solve: (keys, ctx) => buildRmi(keys, undefined, { ...rmiOptions(ctx.options, ctx.quick).search, maxBytes: RMI_COMPACT_BYTES }),
};
