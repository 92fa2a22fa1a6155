#!/usr/bin/env node
// S2 lookup variants under the host's changing load (not part of the test suite; the prototypes
// of MEASUREMENTS.md "Follow-up 5"). Times, interleaved in one process (order rotated per round, each
// 5,000-lookup batch after a primer of its own, the evaluator's loop of the lower bound alone,
// every answer checked but for the steps a, b, bp), binary search (bs, first), the index itself
// and copies of its radix-table lookup (rmi.ts RmiTable) that differ in their last mile or model:
//   rmi     the index (buildRmi: B leaves beside a T-bit table, the gallop); rmin its twin (searchNearS);
//   gallop, near   copies of the two (a copy is compiled from a source text of its own);
//   near2   the near search with both cache lines of its 8-key window loaded at once (the window's
//           last key loaded, independently, beside the first probe);
//   walk    the same window walked linearly without a branch, b += (a[b] < v), 7 dependent steps;
//   quad    the same window, its first step 4-way (a[s+1], a[s+3], a[s+5] loaded at once), then one probe;
//   pair    the same window in two levels: the 4 odd keys at once (c = floor(k/2) of the count k below), then key s + 2c;
//   hex, hex2  16 keys [P - 7, P + 9): a 4-way first step (a[s+3], a[s+7], a[s+11] at once), then two halvings
//           of the block of 4 (hex2: the window's end keys loaded at once too);
//   line[:A] the near search on the 8 keys of P's own 64-byte line (s = P - ((P - A) & 7), A (or --align)
//           the index of a key that starts a line, mod 8), so its window never spans two lines;
//   a, b, bp   the steps: the table's rank alone; the prediction P (with the early touch); P and one load of the key at P;
//   real:T:B:near|gallop, base:T:B:near|gallop   the index itself (this tree's, or --base DIR's: another
//           compiled tree's dist) of 2^B leaves beside a T-bit table, the last mile forced;
//   small:T:B[:near]   a copy on a model of 2^B leaves beside a T-bit table (one that may stay in the 1 MiB L2).
// Rounds are split at the reference's (--ref, default rmi) median time, or --split ns, into calm
// and loaded ones; per method: its median ns, and the median over rounds of its time / the
// reference's, over all rounds, the calm and the loaded. --dump prints every round.
// Usage: npx tsc -p . && taskset -c 1 node scripts/rmi-lastmile.mjs [--b 20] [--t 18] [--rounds 200]
//        [--m bs,rmi,rmin,gallop,near,near2,line,a,b,bp,small:16:16,small:16:16:near] [--align 0] [--dump 1]
// Timing on a core that another session's process also runs on: with autogroup scheduling
// (/proc/sys/kernel/sched_autogroup_enabled) that process's nice does not count against ours, and
// its time slices (~4 ms) land in a third to a half of the batches; run the script in an autogroup
// of its own with a high share, e.g. setsid -w sh -c 'echo -15 > /proc/self/autogroup; exec taskset -c 1 node ...'.
import os from 'node:os';
import { arg, answers, importIndex, interleave, loadSet, positions, quantile } from './index-lab.mjs';

const ix = await importIndex();
const { selectKeys, lowerBoundExact, loadSosd, buildRmi, BinarySearchIndex, evalTable, SLOPE_SCALE, searchFromS, freshLowerBoundLoop } = ix;
const BATCH = 5000, PRIMER = 5000, ROUNDS = Number(arg('rounds', '200')), WARM = 3;
const B = 2 ** Number(arg('b', '20')), TB = Number(arg('t', '18')), ALIGN = Number(arg('align', '0'));

// The copies are compiled from source texts of their own (as evaluate.ts compiles its loops), so
// that no two share type feedback, and everything they call is a constant of their closure.
const PREDICT = `
      const rp = this.rp;
      const rank = table(this.hint, (q.x[i] - rp[0]) * rp[1]);
      const nm1 = this.nm1;
      const g = rank > 0 ? (rank < nm1 ? rank | 0 : nm1) : 0;
      this.touched += this.form[g];
      const r = rank * rp[6], bMax = this.bMax;
      const L = r > 0 ? (r < bMax ? r | 0 : bMax) : 0;
      const w = this.leaf[L];
      const p = this.base[L >> 4] + ((w << 16) >> 16) + ((w >>> 16 & 2047) + 2048) * slopeScale[w >>> 27] * (r - L);
      const P = p > 0 ? (p < nm1 ? p | 0 : nm1) : 0;`;
/** The 8-key halving of window-search.ts searchNearS from the window start s (a, v, keys in scope). */
const HALVING = `
      let b = s;
      b += 4 * +(a[b + 3] < v);
      b += 2 * +(a[b + 1] < v);
      b += +(a[b] < v);
      const below = b - s + +(a[b] < v);
      if (below === 0 || below === 8) return search(keys, q, i, below === 0 ? s : s + 7);
      return b;`;
const WINDOW = `
      const keys = this.keys, a = keys.s, v = q.s[i], lastS = keys.n - 8;`;
/** The near search's window: the 8 keys [P - 3, P + 5), clamped inside the key array. */
const NEAR_WINDOW = `${WINDOW}
      let s = P - 3;
      s = s > 0 ? (s < lastS ? s : lastS) : 0;`;
const MILES = {
  // the whole lookup, as rmi.ts (gallop)
  gallop: `${PREDICT}
      return search(this.keys, q, i, P);`,
  // the near search (window-search.ts searchNearS)
  near: `${PREDICT}${NEAR_WINDOW}${HALVING}`,
  // the near search, the window's last key loaded beside its first probe (both lines at once)
  near2: `${PREDICT}${NEAR_WINDOW}
      this.touched += a[s + 7];${HALVING}`,
  // the near search on P's own 64-byte line
  line: `${PREDICT}${WINDOW}
      let s = P - ((P - ALIGN) & 7);
      s = s > 0 ? (s < lastS ? s : lastS) : 0;${HALVING}`,
  // a branch-free linear walk over the same 8 keys: s += (a[s] < v), 7 dependent steps on 1-2 lines
  walk: `${PREDICT}${NEAR_WINDOW}
      let b = s;
      b += +(a[b] < v); b += +(a[b] < v); b += +(a[b] < v); b += +(a[b] < v);
      b += +(a[b] < v); b += +(a[b] < v); b += +(a[b] < v);
      const below = b - s + +(a[b] < v);
      if (below === 0 || below === 8) return search(keys, q, i, below === 0 ? s : s + 7);
      return b;`,
  // a 4-way first step over the same 8 keys: a[s+1], a[s+3], a[s+5] loaded at once, then one probe
  quad: `${PREDICT}${NEAR_WINDOW}
      let b = s + 2 * (+(a[s + 1] < v) + +(a[s + 3] < v) + +(a[s + 5] < v));
      b += +(a[b] < v);
      const below = b - s + +(a[b] < v);
      if (below === 0 || below === 8) return search(keys, q, i, below === 0 ? s : s + 7);
      return b;`,
  // two levels over the same 8 keys: the four odd keys loaded at once give c = floor(k / 2) of the
  // count k of keys below v, then the even key s + 2c decides k (c = 4: all 8 below)
  pair: `${PREDICT}${NEAR_WINDOW}
      const c = +(a[s + 1] < v) + +(a[s + 3] < v) + +(a[s + 5] < v) + +(a[s + 7] < v);
      const k = 2 * c + +(a[s + 2 * c - (c >> 2)] < v) - (c >> 2);
      if (k === 0 || k === 8) return search(keys, q, i, k === 0 ? s : s + 7);
      return s + k;`,
  // 16 keys [P - 7, P + 9): a 4-way first step (a[s+3], a[s+7], a[s+11] at once, every line of the
  // window but the edges' touched), then two halvings of the block of 4; the gallop when outside
  hex: `${PREDICT}
      const keys = this.keys, a = keys.s, v = q.s[i], lastS = keys.n - 16;
      let s = P - 7;
      s = s > 0 ? (s < lastS ? s : lastS) : 0;
      let b = s + 4 * (+(a[s + 3] < v) + +(a[s + 7] < v) + +(a[s + 11] < v));
      b += 2 * +(a[b + 1] < v);
      b += +(a[b] < v);
      const below = b - s + +(a[b] < v);
      if (below === 0 || below === 16) return search(keys, q, i, below === 0 ? s : s + 15);
      return b;`,
  // hex with the window's two end keys loaded at once too (every line of the window in the first step)
  hex2: `${PREDICT}
      const keys = this.keys, a = keys.s, v = q.s[i], lastS = keys.n - 16;
      let s = P - 7;
      s = s > 0 ? (s < lastS ? s : lastS) : 0;
      this.touched += a[s] + a[s + 15];
      let b = s + 4 * (+(a[s + 3] < v) + +(a[s + 7] < v) + +(a[s + 11] < v));
      b += 2 * +(a[b + 1] < v);
      b += +(a[b] < v);
      const below = b - s + +(a[b] < v);
      if (below === 0 || below === 16) return search(keys, q, i, below === 0 ? s : s + 15);
      return b;`,
  // steps (answers not checked): the table's rank alone; the prediction P; P and one load of the key at P
  a: `
      const rp = this.rp;
      const rank = table(this.hint, (q.x[i] - rp[0]) * rp[1]);
      const nm1 = this.nm1;
      return rank > 0 ? (rank < nm1 ? rank | 0 : nm1) : 0;`,
  b: `${PREDICT}
      return P;`,
  bp: `${PREDICT}
      this.touched += this.form[P];
      return P;`,
};
let compiled = 0;
function variant(model, mile, align = ALIGN) {
  const src = `"use strict";
return (table_, slopeScale_, search_) => {
  const table = table_, slopeScale = slopeScale_, search = search_;
  return class V {
    constructor(m) {
      this.keys = m.keys; this.rp = m.rp; this.hint = m.hint; this.leaf = m.leaf; this.base = m.base;
      this.bMax = m.bMax; this.nm1 = m.nm1; this.form = m.keys.s; this.touched = 0.5;
    }
    sizeBytes() { return 0; }
    lowerBound(q, i) {${MILES[mile].replace('ALIGN', String(align))}
    }
  };
};
// variant ${++compiled}`;
  const V = new Function(src)()(evalTable, SLOPE_SCALE, searchFromS);
  return new V(model);
}

const keys = loadSet(loadSosd, arg('set', 's2'));
const main = buildRmi(keys, { root: 'radix-table', branching: B, tableBits: TB, near: false });
const smalls = new Map();
const small = (t, b) => {
  const k = `${t}:${b}`;
  if (!smalls.has(k)) smalls.set(k, buildRmi(keys, { root: 'radix-table', branching: 2 ** Number(b), tableBits: Number(t), near: false }));
  return smalls.get(k);
};
const BASE = arg('base') ? await importIndex(arg('base')) : undefined;
const make = (name) => {
  const [kind, t, b, mile] = name.split(':');
  if (kind === 'bs') return new BinarySearchIndex(keys);
  if (kind === 'real' || kind === 'base') {
    const lib = kind === 'real' ? ix : BASE;
    if (!lib) throw new Error('base:T:B:mile needs --base DIR');
    return lib.buildRmi(keys, { root: 'radix-table', branching: 2 ** Number(b), tableBits: Number(t), near: mile === 'near' });
  }
  if (kind === 'rmi') return main;
  if (kind === 'rmin') return main.twin();
  if (kind === 'small') return variant(small(t, b), mile ?? 'gallop');
  if (!(kind in MILES)) throw new Error(`unknown method ${name}`);
  return variant(main, kind, kind === 'line' && t !== undefined ? Number(t) : ALIGN);
};
const unchecked = new Set(['a', 'b', 'bp']);
const q = selectKeys(keys, positions(keys.n, BATCH * 200, 12345));
const primer = selectKeys(keys, positions(keys.n, PRIMER, 999));
const exp = answers(lowerBoundExact, keys, q);
const methods = arg('m', 'bs,rmi,rmin,gallop,near,near2,line,a,b,bp,small:16:16,small:16:16:near').split(',')
  .map((name) => ({ name, index: make(name), loop: freshLowerBoundLoop(), times: [], checked: !unchecked.has(name) }));
if (methods[0].name !== 'bs') throw new Error('the first method must be bs');
const sink = interleave(methods, { keys, q, primer, exp, rounds: ROUNDS, warm: WARM, batch: BATCH, slices: 200 });
const bs = methods[0].times;
if (arg('dump')) for (let r = 0; r < bs.length; r++) console.log(`round ${r}: ${methods.map((m) => `${m.name} ${m.times[r].toFixed(0)}`).join(', ')}`);
const refM = methods.find((m) => m.name === arg('ref', 'rmi')) ?? methods[0];
const ref = refM.times;
const split = Number(arg('split', String(quantile(ref, 0.5))));
const calm = ref.map((v) => v <= split);
console.log(`${JSON.stringify(main.describe())}\nload average ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}; `
  + `${calm.filter(Boolean).length} calm rounds (${refM.name} <= ${split.toFixed(0)} ns), ${calm.filter((c) => !c).length} loaded; `
  + 'per method: median ns, and the median over rounds of its time / the reference\'s');
const stat = (m, keep) => {
  const t = m.times.filter((_, i) => keep(i)), rel = m.times.map((v, i) => v / ref[i]).filter((_, i) => keep(i));
  return t.length ? `${quantile(t, 0.5).toFixed(1).padStart(6)} ns ${quantile(rel, 0.5).toFixed(3)}` : '     -';
};
console.log(`${''.padEnd(18)} ${'all'.padEnd(16)} ${'calm'.padEnd(16)} loaded`);
for (const m of methods) {
  console.log(`${m.name.padEnd(18)} ${stat(m, () => true)}   ${stat(m, (i) => calm[i])}   ${stat(m, (i) => !calm[i])}`);
}
if (sink === 0.5 || methods.some((m) => m.index.touched === 0.5)) console.log('');
