/**
 * The classical indexes, each named as the literature names it: binary search (the baseline),
 * branch-free binary search, the Eytzinger layout, SOSD's radix binary search (RBS), a static
 * k-ary search tree, and a B+tree peer (the npm package sorted-btree, bulk-loaded).
 *
 * Every index answers the same question exactly (search-index.ts): the first position p with
 * keys[p] >= q, or n. Searches over the key array compare its form (keys.ts: the low halves when
 * every key is below 2^32, else the order-exact doubles `s`, one load each); copies of keys
 * (Eytzinger, k-ary separators, B-tree samples) hold `s` when `keys.exactS`, otherwise the exact
 * 32-bit halves, so uint64 keys that differ only in their low bits are never confused. Lookups
 * allocate nothing.
 */
import { bulkLoad } from 'sorted-btree/extended/bulkLoad.js';
import type { Solver } from '../../core/problem.js';
import { intOption } from '../../core/options.js';
import { KeyForm, lowerBound, lowerBoundExact, keyLess, u32Query, type KeySet } from './keys.js';
import type { SearchIndex } from './search-index.js';

type IndexSolver = Solver<KeySet, SearchIndex>;
/** sorted-btree's tree type (its default-exported class, named through bulkLoad for ESM/CJS interop). */
type BTree<K> = ReturnType<typeof bulkLoad<K, number>>;

// ---------------------------------------------------------------------------------------------
// Binary search: std::lower_bound over the whole array (SOSD's BinarySearch).

export class BinarySearchIndex implements SearchIndex {
  constructor(readonly keys: KeySet) {}
  lowerBound(q: KeySet, i: number): number {
    return lowerBound(this.keys, q, i, 0, this.keys.n);
  }
  sizeBytes(): number { return 0; }
}

export const binarySearchSolver: IndexSolver = {
  info: { name: 'binary-search', kind: 'baseline', description: 'lower bound by binary search over the sorted keys; no index', reference: 'SOSD BinarySearch (std::lower_bound)' },
  solve: (keys) => new BinarySearchIndex(keys),
};

// ---------------------------------------------------------------------------------------------
// Branch-free binary search: halve a window of fixed-size steps, selecting the half with an
// arithmetic update instead of a branch (Khuong & Morin 2017; SOSD's BranchlessBinarySearch,
// after G. Vinciguerra). The loop runs ceil(log2 n) times whatever the key, so there is no
// mispredicted branch: `+(a < b)` is a 0/1 integer that V8 compiles to a setcc (a ternary would
// be compiled to a jump). Without branches the CPU no longer runs ahead speculatively, so, as
// SOSD does with __builtin_prefetch, each step also loads both possible next probes (JS has no
// prefetch; an independent load whose value is kept starts the cache miss just the same).

export class BranchlessBinarySearchIndex implements SearchIndex {
  /** Sum of the prefetch loads, kept so that the JIT cannot drop them. */
  touched = 0;
  constructor(readonly keys: KeySet) {}
  lowerBound(q: KeySet, i: number): number {
    const k = this.keys;
    let n = k.n;
    if (n === 0) return 0;
    let base = 0;
    if (k.form === KeyForm.U32) {
      const kl = k.lo, v = u32Query(q, i);
      let t = 0;
      while (n > 1) {
        const half = n >>> 1;
        const quarter = half >>> 1;
        t += kl[base + quarter]! + kl[base + half + quarter]!;
        base += half * +(kl[base + half]! < v);
        n -= half;
      }
      this.touched = t;
      return base + +(kl[base]! < v);
    }
    if (k.form === KeyForm.S) {
      const kx = k.s, qx = q.s[i]!;
      let t = 0;
      while (n > 1) {
        const half = n >>> 1;
        const quarter = half >>> 1;
        t += kx[base + quarter]! + kx[base + half + quarter]!;
        base += half * +(kx[base + half]! < qx);
        n -= half;
      }
      this.touched = t;
      return base + +(kx[base]! < qx);
    }
    const kh = k.hi, kl = k.lo, qh = q.hi[i]!, ql = q.lo[i]!;
    let t = 0;
    while (n > 1) {
      const half = n >>> 1;
      const quarter = half >>> 1;
      t ^= kh[base + quarter]! ^ kl[base + quarter]! ^ kh[base + half + quarter]! ^ kl[base + half + quarter]!;
      const m = base + half;
      const h = kh[m]!;
      base += half * (+(h < qh) | (+(h === qh) & +(kl[m]! < ql)));
      n -= half;
    }
    this.touched = t;
    const h = kh[base]!;
    return base + (+(h < qh) | (+(h === qh) & +(kl[base]! < ql)));
  }
  sizeBytes(): number { return 0; }
}

export const branchlessBinarySearchSolver: IndexSolver = {
  info: { name: 'branchless-binary-search', kind: 'heuristic', description: 'binary search with a branch-free halving loop', reference: 'Khuong & Morin, Array layouts for comparison-based searching (2017); SOSD BranchlessBinarySearch' },
  solve: (keys) => new BranchlessBinarySearchIndex(keys),
};

// ---------------------------------------------------------------------------------------------
// Eytzinger layout (Khuong & Morin 2017): the keys in BFS order of a complete binary search
// tree, 1-based (children of k are 2k and 2k+1), so the first levels share cache lines. The
// descent k = 2k + (e[k] < q) is branch-free; when it falls off the tree, the node where it last
// went left is k >> (trailing ones of k + 1): the first node whose key is >= q. With duplicates
// "e >= q" is still a suffix of the in-order sequence, so that node is the first occurrence.
// `rank[k]` maps a tree node back to its sorted position.

export class EytzingerIndex implements SearchIndex {
  private readonly ex: Float64Array;
  private readonly eh: Uint32Array;
  private readonly el: Uint32Array;
  private readonly rank: Int32Array;
  private readonly exact: boolean;
  /** Sum of the look-ahead loads, kept so that the JIT cannot drop them. */
  touched = 0;

  constructor(readonly keys: KeySet) {
    const n = keys.n;
    this.exact = !keys.exactS;
    this.ex = new Float64Array(this.exact ? 0 : n + 1);
    this.eh = new Uint32Array(this.exact ? n + 1 : 0);
    this.el = new Uint32Array(this.exact ? n + 1 : 0);
    this.rank = new Int32Array(n + 1);
    this.rank[0] = n; // "no node": every key is smaller than q
    // In-order walk of the implicit tree with an explicit stack (depth <= 32).
    const stack = new Int32Array(64);
    let sp = 0, k = 1, i = 0;
    while (sp > 0 || k <= n) {
      if (k <= n) { stack[sp++] = k; k = 2 * k; continue; }
      k = stack[--sp]!;
      this.rank[k] = i;
      if (this.exact) { this.eh[k] = keys.hi[i]!; this.el[k] = keys.lo[i]!; } else this.ex[k] = keys.s[i]!;
      i++;
      k = 2 * k + 1;
    }
  }

  lowerBound(q: KeySet, i: number): number {
    const n = this.keys.n;
    let k = 1;
    // Each step also loads the node 3 (doubles) or 4 (32-bit halves) levels further down: its
    // cache line holds all the descendants at that level, so the miss overlaps the next steps
    // (Khuong & Morin's prefetch, as an ordinary load; JS has no prefetch instruction).
    if (!this.exact) {
      const ex = this.ex, qx = q.s[i]!, len = ex.length;
      let t = 0;
      while (k <= n) {
        const f = 8 * k;
        if (f < len) t += ex[f]!;
        k = 2 * k + +(ex[k]! < qx);
      }
      this.touched = t;
    } else {
      const eh = this.eh, el = this.el, qh = q.hi[i]!, ql = q.lo[i]!, len = eh.length;
      let t = 0;
      while (k <= n) {
        const f = 16 * k;
        if (f < len) t ^= eh[f]! ^ el[f]!;
        const h = eh[k]!;
        k = 2 * k + (+(h < qh) | (+(h === qh) & +(el[k]! < ql)));
      }
      this.touched = t;
    }
    const t = ~k; // trailing ones of k = trailing zeros of ~k
    const s = 32 - Math.clz32(t & -t);
    return this.rank[s === 32 ? 0 : k >>> s]!; // JS shift counts are mod 32
  }

  sizeBytes(): number { return this.ex.byteLength + this.eh.byteLength + this.el.byteLength + this.rank.byteLength; }
}

export const eytzingerSolver: IndexSolver = {
  info: { name: 'eytzinger', kind: 'heuristic', description: 'keys copied into BFS (Eytzinger) order, branch-free descent, rank array back to positions', reference: 'Khuong & Morin, Array layouts for comparison-based searching (2017)' },
  solve: (keys) => new EytzingerIndex(keys),
};

// ---------------------------------------------------------------------------------------------
// Radix binary search (SOSD's RadixBinarySearch): subtract the smallest key, shift right so that
// the remaining spread fits r bits, and keep a table hint[p] = first position whose prefix is
// >= p. A lookup reads hint[p] and hint[p+1] and binary-searches between them. For integer keys
// the prefix is computed on the exact 64-bit halves. For f64 keys (which SOSD does not have) the
// order-preserving integers are dominated by the exponent, so their top bits say little; there
// the prefix is floor((x - min) * 2^r / (max - min)), which is monotone in x and so equally exact.
// The in-bucket search uses x when that is exact, the halves otherwise.

export const RBS_DEFAULT_BITS = 18; // SOSD: 2^18 x 4 bytes = 1 MiB
export const RBS_GRID = [10, 12, 14, 16, 18, 20, 22];

export class RadixBinarySearchIndex implements SearchIndex {
  private readonly hint: Uint32Array;
  private readonly minH: number;
  private readonly minL: number;
  private readonly maxH: number;
  private readonly maxL: number;
  private readonly shift: number;
  private readonly floatRadix: boolean;
  private readonly minX: number;
  private readonly scaleX: number;
  private readonly topPrefix: number;

  constructor(readonly keys: KeySet, readonly bits: number) {
    const n = keys.n;
    this.hint = new Uint32Array((1 << bits) + 2);
    this.topPrefix = (1 << bits) - 1;
    this.floatRadix = keys.type === 'f64';
    this.minH = this.minL = this.maxH = this.maxL = this.shift = this.minX = this.scaleX = 0;
    if (n === 0) return;
    this.minH = keys.hi[0]!; this.minL = keys.lo[0]!;
    this.maxH = keys.hi[n - 1]!; this.maxL = keys.lo[n - 1]!;
    if (this.floatRadix) {
      this.minX = keys.x[0]!;
      const range = keys.x[n - 1]! - this.minX;
      this.scaleX = range > 0 && Number.isFinite(range) ? (1 << bits) / range : 0;
    } else {
      // shift = significant bits of (max - min) minus r, at least 0 (SOSD's shift_bits).
      const dh = (this.maxH - this.minH - +(this.maxL < this.minL)) >>> 0;
      const dl = (this.maxL - this.minL) >>> 0;
      const sig = dh !== 0 ? 64 - Math.clz32(dh) : 32 - Math.clz32(dl);
      this.shift = Math.max(0, sig - bits);
    }
    let prev = 0;
    for (let i = 0; i < n; i++) {
      const p = this.prefix(keys.hi[i]!, keys.lo[i]!, keys.x[i]!);
      for (let j = prev + 1; j <= p; j++) this.hint[j] = i;
      if (p > prev) prev = p;
    }
    for (let j = prev + 1; j < this.hint.length; j++) this.hint[j] = n;
  }

  /** The bucket of a key with min <= key <= max: (key - min) >> shift, or the scaled double. */
  private prefix(h: number, l: number, x: number): number {
    if (this.floatRadix) {
      const p = Math.floor((x - this.minX) * this.scaleX);
      return p < this.topPrefix ? p : this.topPrefix; // x = max lands on 2^r exactly
    }
    const dh = (h - this.minH - +(l < this.minL)) >>> 0;
    const dl = (l - this.minL) >>> 0;
    const s = this.shift;
    if (s >= 32) return dh >>> (s - 32);
    if (s === 0) return dl; // JS shift counts are mod 32: dh << 32 would be dh, not 0
    return ((dh << (32 - s)) | (dl >>> s)) >>> 0;
  }

  lowerBound(q: KeySet, i: number): number {
    const k = this.keys;
    const n = k.n;
    if (n === 0) return 0;
    const qh = q.hi[i]!, ql = q.lo[i]!;
    if (qh < this.minH || (qh === this.minH && ql <= this.minL)) return 0;
    if (qh > this.maxH || (qh === this.maxH && ql > this.maxL)) return n;
    const p = this.prefix(qh, ql, q.x[i]!);
    const from = this.hint[p]!, to = this.hint[p + 1]!;
    return lowerBound(k, q, i, from, to);
  }

  /** Mean over keys of log2(size of the key's bucket): the binary-search steps left after the table. */
  meanBucketSteps(): number {
    let s = 0;
    const n = this.keys.n;
    for (let p = 0; p <= this.topPrefix; p++) {
      const c = this.hint[p + 1]! - this.hint[p]!;
      if (c > 1) s += c * Math.log2(c);
    }
    return n > 0 ? s / n : 0;
  }

  sizeBytes(): number { return this.hint.byteLength; }
  describe(): Record<string, string | number> { return { radix_bits: this.bits, shift: this.shift }; }
}

/**
 * `rbs_bits=auto`: walk up RBS_GRID while two more bits (a table 4x larger) still save at least one
 * binary-search step per lookup on average (mean log2 bucket size over keys), and the table stays
 * within 4 entries per key (beyond that it only adds cache misses on skewed keys). A
 * deterministic stand-in for SOSD's sweep over table sizes, which keeps the fastest by timing.
 */
export function autoRadixBits(keys: KeySet): RadixBinarySearchIndex {
  let index = new RadixBinarySearchIndex(keys, RBS_GRID[0]!);
  for (let g = 1; g < RBS_GRID.length; g++) {
    if (2 ** RBS_GRID[g]! > 4 * keys.n) break;
    const next = new RadixBinarySearchIndex(keys, RBS_GRID[g]!);
    if (index.meanBucketSteps() - next.meanBucketSteps() < 1) break;
    index = next;
  }
  return index;
}

export const radixBinarySearchSolver: IndexSolver = {
  info: { name: 'radix-binary-search', kind: 'heuristic', description: `radix table on the top r bits of key - min (SOSD's r = ${RBS_DEFAULT_BITS}; --opt rbs_bits=R or auto), binary search inside the bucket`, reference: 'SOSD RadixBinarySearch (Marcus et al., VLDB 2020)' },
  solve: (keys, ctx) => {
    const bits = rbsBits(ctx.options);
    return bits === 'auto' ? autoRadixBits(keys) : new RadixBinarySearchIndex(keys, bits);
  },
};

/** `--opt rbs_bits=R|auto`: the radix table's bits, or 'auto' (autoRadixBits). */
export function rbsBits(options: Readonly<Record<string, string>>): number | 'auto' {
  return options.rbs_bits === 'auto' ? 'auto' : intOption(options, 'rbs_bits', RBS_DEFAULT_BITS, 1, 28, 'an integer in [1, 28], or auto');
}

// ---------------------------------------------------------------------------------------------
// Static k-ary search tree (a "CSS-tree" without pointers, Rao & Ross 1999): every B-th key
// (the separators) is copied into levels of nodes of B-1 keys; a lookup scans one node per level
// (a cache line of doubles when B = 8) and finishes with a binary search of at most B keys. Exact
// for all key types: separators hold the halves when x is not exact.

export class KArySearchTreeIndex implements SearchIndex {
  /** Level d (0 = root) holds keys[t * B^(L-d)] for t = 0, 1, ...; the key array is the level below the last. */
  private readonly lx: Float64Array[] = [];
  private readonly lh: Uint32Array[] = [];
  private readonly ll: Uint32Array[] = [];
  private readonly levels: number;

  constructor(readonly keys: KeySet, readonly fanout: number) {
    const exact = !keys.exactS;
    let size = keys.n;
    let stride = 1;
    while (size > fanout) {
      stride *= fanout;
      size = Math.ceil(keys.n / stride);
      const x = new Float64Array(exact ? 0 : size);
      const h = new Uint32Array(exact ? size : 0);
      const l = new Uint32Array(exact ? size : 0);
      for (let t = 0; t < size; t++) {
        const p = t * stride;
        if (exact) { h[t] = keys.hi[p]!; l[t] = keys.lo[p]!; } else x[t] = keys.s[p]!;
      }
      this.lx.unshift(x); this.lh.unshift(h); this.ll.unshift(l);
    }
    this.levels = this.lx.length;
  }

  /**
   * Invariant: t is the last entry < q at the current level, so at the level below the last entry
   * < q lies in [t*B, t*B + B - 1], and entry t*B (the same key) is already known to be < q.
   */
  lowerBound(q: KeySet, i: number): number {
    const B = this.fanout, k = this.keys, L = this.levels;
    if (L === 0) return lowerBound(k, q, i, 0, k.n);
    let t: number;
    if (k.exactS) {
      const qx = q.s[i]!;
      const top = this.lx[0]!;
      let c = 0;
      while (c < top.length && top[c]! < qx) c++;
      if (c === 0) return 0; // keys[0] >= q
      t = c - 1;
      for (let d = 1; d < L; d++) {
        const a = this.lx[d]!;
        const to = Math.min(t * B + B, a.length);
        c = t * B + 1;
        while (c < to && a[c]! < qx) c++;
        t = c - 1;
      }
      return lowerBound(k, q, i, t * B + 1, Math.min(t * B + B, k.n));
    }
    const qh = q.hi[i]!, ql = q.lo[i]!;
    let h = this.lh[0]!, l = this.ll[0]!;
    let c = 0;
    while (c < h.length && (h[c]! < qh || (h[c] === qh && l[c]! < ql))) c++;
    if (c === 0) return 0;
    t = c - 1;
    for (let d = 1; d < L; d++) {
      h = this.lh[d]!; l = this.ll[d]!;
      const to = Math.min(t * B + B, h.length);
      c = t * B + 1;
      while (c < to && (h[c]! < qh || (h[c] === qh && l[c]! < ql))) c++;
      t = c - 1;
    }
    return lowerBound(k, q, i, t * B + 1, Math.min(t * B + B, k.n));
  }

  sizeBytes(): number {
    let s = 0;
    for (let d = 0; d < this.levels; d++) s += this.lx[d]!.byteLength + this.lh[d]!.byteLength + this.ll[d]!.byteLength;
    return s;
  }
  describe(): Record<string, string | number> { return { fanout: this.fanout, levels: this.levels }; }
}

export const kArySearchSolver: IndexSolver = {
  info: { name: 'k-ary-search', kind: 'heuristic', description: 'static k-ary search tree over every k-th key (default k = 16, --opt kary_fanout=K), linear scan per node', reference: 'Rao & Ross, Cache conscious indexing for decision-support in main memory (VLDB 1999); Schlegel et al., k-ary search on modern processors (2009)' },
  solve: (keys, ctx) => new KArySearchTreeIndex(keys, karyFanout(ctx.options)),
};

/** `--opt kary_fanout=K`: the k-ary search tree's fanout (default 16). */
export function karyFanout(options: Readonly<Record<string, string>>): number {
  return intOption(options, 'kary_fanout', 16, 2, 256);
}

// ---------------------------------------------------------------------------------------------
// B+tree peer: sorted-btree (the fastest maintained JS B+tree), bulk-loaded with every k-th
// distinct key, as SOSD's B-tree indexes every k-th key and finishes with a last-mile search.
// Samples are first occurrences at least k apart; sample j's value is j, and samplePos[j] its
// position. For q, the largest sample s_j <= q gives the window [samplePos[j], samplePos[j+1]]
// (s_{j+1} > q). Keys are numbers (x) when x is exact, otherwise [hi, lo] pairs compared
// exactly; a single reused query pair and result pair keep lookups allocation-free.

export const BTREE_DEFAULT_K = 16;
export const BTREE_NODE_SIZE = 64; // sorted-btree's default maximum node size

function sampleFirstOccurrences(keys: KeySet, k: number): Int32Array {
  const out: number[] = [];
  let i = 0;
  while (i < keys.n) {
    out.push(i);
    if (i + k >= keys.n) break;
    // The first occurrence of keys[i + k], searched in (i, i + k]; if the whole stretch is one
    // run of keys[i], the next sample starts after that run.
    let next = lowerBoundExact(keys, keys, i + k, i + 1, i + k);
    if (!keyLess(keys, i, keys, next)) next = upperRun(keys, i);
    i = next;
  }
  out.push(keys.n);
  return Int32Array.from(out);
}

/** The first position after the run of keys equal to keys[i]. */
function upperRun(keys: KeySet, i: number): number {
  let j = i + 1;
  while (j < keys.n && !keyLess(keys, i, keys, j)) j++;
  return j;
}

export class BTreeIndex implements SearchIndex {
  private readonly treeX: BTree<number> | undefined;
  private readonly treeExact: BTree<[number, number]> | undefined;
  private readonly samplePos: Int32Array;
  private readonly qPair: [number, number] = [0, 0];
  private readonly outX: [number, number] = [0, 0];
  private readonly outExact: [[number, number], number] = [[0, 0], 0];

  constructor(readonly keys: KeySet, readonly k: number) {
    this.samplePos = sampleFirstOccurrences(keys, k);
    const m = this.samplePos.length - 1;
    const values = Array.from({ length: m }, (_, j) => j);
    if (keys.exactS) {
      const xs = Array.from({ length: m }, (_, j) => keys.s[this.samplePos[j]!]!);
      // Not a - b: Infinity - Infinity is NaN, which sorted-btree rejects.
      this.treeX = bulkLoad(xs, values, BTREE_NODE_SIZE, (a: number, b: number) => (a < b ? -1 : a > b ? 1 : 0));
    } else {
      const pairs = Array.from({ length: m }, (_, j): [number, number] => [keys.hi[this.samplePos[j]!]!, keys.lo[this.samplePos[j]!]!]);
      this.treeExact = bulkLoad(pairs, values, BTREE_NODE_SIZE, (a: [number, number], b: [number, number]) => (a[0] - b[0]) || (a[1] - b[1]));
    }
  }

  lowerBound(q: KeySet, i: number): number {
    let j: number;
    if (this.treeX !== undefined) {
      const r = this.treeX.getPairOrNextLower(q.s[i]!, this.outX);
      if (r === undefined) return 0; // q is below every key
      j = r[1];
    } else {
      this.qPair[0] = q.hi[i]!;
      this.qPair[1] = q.lo[i]!;
      const r = this.treeExact!.getPairOrNextLower(this.qPair, this.outExact);
      if (r === undefined) return 0;
      j = r[1];
    }
    const k = this.keys;
    const from = this.samplePos[j]!, to = this.samplePos[j + 1]!;
    return lowerBound(k, q, i, from, to);
  }

  /**
   * An estimate: sorted-btree keeps keys and values in JS arrays (8 bytes per slot, leaves about
   * 80% full after a bulk load); a [hi, lo] pair costs about 32 bytes more as its own object.
   */
  sizeBytes(): number {
    const m = this.samplePos.length - 1;
    const perEntry = 16 + (this.treeExact !== undefined ? 32 : 0);
    return Math.round((m * perEntry) / 0.8) + this.samplePos.byteLength;
  }
  describe(): Record<string, string | number> { return { every_kth_key: this.k, samples: this.samplePos.length - 1 }; }
}

export const btreeSolver: IndexSolver = {
  info: { name: 'btree', kind: 'peer', description: `sorted-btree B+tree bulk-loaded with every k-th key (default k = ${BTREE_DEFAULT_K}, --opt btree_k=K), binary search between samples`, reference: 'npm sorted-btree; SOSD B-tree (every k-th key plus last-mile search)' },
  solve: (keys, ctx) => new BTreeIndex(keys, btreeK(ctx.options)),
};

/** `--opt btree_k=K`: the B+tree's every-k-th-key sampling (default BTREE_DEFAULT_K). */
export function btreeK(options: Readonly<Record<string, string>>): number {
  return intOption(options, 'btree_k', BTREE_DEFAULT_K, 1, 1 << 20);
}

export const classicalSolvers: IndexSolver[] = [
  binarySearchSolver,
  branchlessBinarySearchSolver,
  eytzingerSolver,
  kArySearchSolver,
  radixBinarySearchSolver,
  btreeSolver,
];
