#!/usr/bin/env node
// Where the time of the S2 RMI lower bound goes (not part of the test suite): copies of the
// radix-table RMI lookup (rmi.ts RmiTable) cut short after each of its steps, timed interleaved
// with binary search in one process on one fitted model (every copy reads the same arrays, so no
// copy is timed on a model of its own that another evicted), each batch after a primer of its
// own, with the evaluator's loop of the lower bound alone (5,000 lookups a batch):
//   a    the root: the hint table's rank estimate, clamped;   at  a + the early touch of the key array;
//   b    the root and the leaf: the prediction P (no key read); bt  b + the touch (what rmi.ts computes before the search);
//   bp   bt + one independent load of the key at P;          c   the whole lookup (bt + the gallop from P);
//   d    c without the touch;                                 real  the index itself (buildRmi, the same model).
// Only bs, real, c and d return the answer; those are checked. The copies import the model's
// functions, so they are not compiled as lean as rmi.ts's own classes: compare real with bs for
// the index, and the copies with each other for the steps.
// Usage: npx tsc -p . && taskset -c 1 node scripts/rmi-breakdown.mjs [--b 21] [--t 18] [--rounds 60]
//        [--m bs,real,a,at,b,bt,bp,c,d] [--set s2 (or flights, lon, ipv4, or a file name under <data>/index)]
import os from 'node:os';
import { answers, arg, importIndex, interleave, loadSet, positions, quantile } from './index-lab.mjs';

const { selectKeys, lowerBoundExact, loadSosd, buildRmi, BinarySearchIndex, evalTable, SLOPE_SCALE, searchFromS, freshLowerBoundLoop } =
  await importIndex();
const BATCH = 5000, PRIMER = 5000, ROUNDS = Number(arg('rounds', '60'));
const B = 2 ** Number(arg('b', '21')), TB = Number(arg('t', '18'));

// The evaluator's loop of the lower bound alone, compiled afresh per method (evaluate.ts
// freshLowerBoundLoop), so that each keeps its own type feedback.
const fresh = freshLowerBoundLoop;

/** rmi.ts leafPosition. */
function leafPosition(leaf, base, r, bMax, nm1) {
  const L = r > 0 ? (r < bMax ? r | 0 : bMax) : 0;
  const w = leaf[L];
  const p = base[L >> 4] + ((w << 16) >> 16) + ((w >>> 16 & 2047) + 2048) * SLOPE_SCALE[w >>> 27] * (r - L);
  return p > 0 ? (p < nm1 ? p | 0 : nm1) : 0;
}

/** The fitted model of an RmiTable index (its arrays, shared). */
class Base {
  constructor(ix) {
    this.keys = ix.keys; this.rp = ix.rp; this.hint = ix.hint; this.leaf = ix.leaf; this.base = ix.base;
    this.bMax = ix.bMax; this.nm1 = ix.nm1; this.form = ix.keys.s; this.touched = 0;
  }
  sizeBytes() { return 0; }
}

// (a) root + table only: the rank estimate, clamped.
class A extends Base {
  lowerBound(q, i) {
    const rp = this.rp;
    const rank = evalTable(this.hint, (q.x[i] - rp[0]) * rp[1]);
    const nm1 = this.nm1;
    return rank > 0 ? (rank < nm1 ? rank | 0 : nm1) : 0;
  }
}

// (a') root + table + key touch.
class AT extends Base {
  lowerBound(q, i) {
    const rp = this.rp;
    const rank = evalTable(this.hint, (q.x[i] - rp[0]) * rp[1]);
    const nm1 = this.nm1;
    const g = rank > 0 ? (rank < nm1 ? rank | 0 : nm1) : 0;
    this.touched += this.form[g];
    return g;
  }
}

// (b) root + table + leaf: P, no key touched.
class Bv extends Base {
  lowerBound(q, i) {
    const rp = this.rp;
    const rank = evalTable(this.hint, (q.x[i] - rp[0]) * rp[1]);
    return leafPosition(this.leaf, this.base, rank * rp[6], this.bMax, this.nm1);
  }
}

// (b') root + table + touch + leaf: P.
class BT extends Base {
  lowerBound(q, i) {
    const rp = this.rp;
    const rank = evalTable(this.hint, (q.x[i] - rp[0]) * rp[1]);
    const nm1 = this.nm1;
    const g = rank > 0 ? (rank < nm1 ? rank | 0 : nm1) : 0;
    this.touched += this.form[g];
    return leafPosition(this.leaf, this.base, rank * rp[6], this.bMax, nm1);
  }
}

// (b'') P plus one key load at P (the first probe's line, no search).
class BP extends Base {
  lowerBound(q, i) {
    const rp = this.rp;
    const rank = evalTable(this.hint, (q.x[i] - rp[0]) * rp[1]);
    const nm1 = this.nm1;
    const g = rank > 0 ? (rank < nm1 ? rank | 0 : nm1) : 0;
    this.touched += this.form[g];
    const P = leafPosition(this.leaf, this.base, rank * rp[6], this.bMax, nm1);
    this.touched += this.form[P];
    return P;
  }
}

// (c) full lookup (copy of RmiTable).
class C extends Base {
  lowerBound(q, i) {
    const rp = this.rp;
    const rank = evalTable(this.hint, (q.x[i] - rp[0]) * rp[1]);
    const nm1 = this.nm1;
    const g = rank > 0 ? (rank < nm1 ? rank | 0 : nm1) : 0;
    this.touched += this.form[g];
    return searchFromS(this.keys, q, i, leafPosition(this.leaf, this.base, rank * rp[6], this.bMax, nm1));
  }
}

// (d) full lookup without the touch.
class D extends Base {
  lowerBound(q, i) {
    const rp = this.rp;
    const rank = evalTable(this.hint, (q.x[i] - rp[0]) * rp[1]);
    return searchFromS(this.keys, q, i, leafPosition(this.leaf, this.base, rank * rp[6], this.bMax, this.nm1));
  }
}

const keys = loadSet(loadSosd, arg('set', 's2'));
const ix = buildRmi(keys, { root: 'radix-table', branching: B, tableBits: TB, near: false });
const q = selectKeys(keys, positions(keys.n, BATCH * 200, 12345));
const primer = selectKeys(keys, positions(keys.n, PRIMER, 999));
const exp = answers(lowerBoundExact, keys, q);
const make = {
  bs: () => new BinarySearchIndex(keys), real: () => ix, a: () => new A(ix), at: () => new AT(ix), b: () => new Bv(ix),
  bt: () => new BT(ix), bp: () => new BP(ix), c: () => new C(ix), d: () => new D(ix),
};
const checked = new Set(['bs', 'real', 'c', 'd']);
const methods = arg('m', 'bs,real,a,at,b,bt,bp,c,d').split(',').map((name) => ({ name, index: make[name](), loop: fresh(), times: [], checked: checked.has(name) }));
// ROUNDS rounds in all, the first 3 of them warm-up.
const sink = interleave(methods, { keys, q, primer, exp, rounds: ROUNDS - 3, warm: 3, batch: BATCH, slices: 200 });
const bs = methods.find((m) => m.name === 'bs');
console.log(`${JSON.stringify(ix.describe())}\nload average ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
for (const m of methods) {
  const ns = quantile(m.times, 0.5);
  console.log(`${m.name.padEnd(5)} ${ns.toFixed(1).padStart(7)} ns  [q1 ${quantile(m.times, 0.25).toFixed(1)}, q3 ${quantile(m.times, 0.75).toFixed(1)}]${bs ? `  x${(quantile(bs.times, 0.5) / ns).toFixed(2)}` : ''}`);
}
if (sink === 0.5) console.log('');
