#!/usr/bin/env node
// Where the time of a learned-index lookup goes, on the real key sets (not part of the test suite).
//
// Times, in one process, interleaved batch by batch (order rotated), each batch after an untimed
// primer of its own, with the evaluator's SOSD lookup loop (lower bound, then the payload sum of
// the equal rows; evaluate.ts freshLookupLoop):
//   oracle         the lower bound read from a precomputed answer array: the floor of any index
//                  (what remains is the key-array access and the payload sum of the duplicates);
//   binary-search  the baseline; rbs18 SOSD's RBS with its default 1 MiB table;
//   rmi:ROOT:B[:T[:near|gallop]] an RMI of exactly that config (B leaves, 2^k when B <= 40; T table
//                  bits; the last mile forced, rmi.ts RmiConfig.near, else chosen by its rule);
//   max:BYTES[:K]  the searched RMI under a byte budget, K candidates timed (as the solvers).
// Every timed answer is checked. Prints ns/lookup (median), speedup vs binary search, bytes, and
// the model's mean / mean-log2 / max error on the timed lookups.
// Caveat for A/B comparisons: in one process the index built first measured up to 15% slower
// than an identical one built after it (S2, load 5-8; the cause is not known), so list each
// variant twice in opposite orders (e.g. --rmi A,B,B,A) before reading a difference.
// --latency instead prints the dependent-load latency of random cache lines by working-set size
// (the cache cliffs the RMI search's size penalty follows).
//
// Usage: npx tsc -p . && node scripts/rmi-explore.mjs [--sets s2,flights,lon,ipv4] [--q 200000]
//        [--rounds 5] [--rmi radix-table:18:16,max:262146:6] [--no-oracle] [--no-rbs] [--latency]
//        [--lb] (the lower bound alone, as the evaluator's lb rounds: no payload sum) [--batch 20000]
import os from 'node:os';
import { arg, answers as answersOf, flag, importIndex, loadSet, median, positions } from './index-lab.mjs';

const { selectKeys, lowerBoundExact, loadSosd, buildRmi, RadixBinarySearchIndex, BinarySearchIndex, freshLookupLoop, freshLowerBoundLoop } =
  await importIndex();
const Q = Number(arg('q', '200000')), ROUNDS = Number(arg('rounds', '5')), BATCH = Number(arg('batch', '20000')), PRIMER = 5000;

if (flag('latency')) {
  for (const kb of [16, 64, 256, 512, 1024, 2048, 4096, 8192, 16384, 65536]) {
    const n = (kb * 1024) / 4, lines = n / 16, a = new Int32Array(n), perm = new Int32Array(lines);
    for (let i = 0; i < lines; i++) perm[i] = i;
    let s = 12345;
    for (let i = lines - 1; i > 0; i--) { s = (s * 1103515245 + 12345) >>> 0; const j = s % (i + 1); const t = perm[i]; perm[i] = perm[j]; perm[j] = t; }
    for (let i = 0; i < lines; i++) a[perm[i] * 16] = perm[(i + 1) % lines] * 16;
    let p = 0;
    const steps = 2_000_000;
    for (let i = 0; i < steps / 4; i++) p = a[p];
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < steps; i++) p = a[p];
    const t1 = process.hrtime.bigint();
    console.log(`${String(kb).padStart(6)} KiB: ${(Number(t1 - t0) / steps).toFixed(1)} ns per dependent load${p < 0 ? '!' : ''}`);
  }
  process.exit(0);
}

/** The floor: an "index" that already knows every answer (one sequential load per lookup). */
class Oracle {
  constructor(expected) { this.expected = expected; }
  lowerBound(q, i) { return this.expected[i]; }
  sizeBytes() { return 0; }
}

let sink = 0;

const answers = (keys, q) => answersOf(lowerBoundExact, keys, q);

function bench(keys, methods) {
  const q = selectKeys(keys, positions(keys.n, Q, 12345));
  const primer = selectKeys(keys, positions(keys.n, PRIMER, 999));
  const exp = answers(keys, q), pexp = answers(keys, primer);
  const out = new Int32Array(q.n), pout = new Int32Array(primer.n);
  if (!flag('no-oracle')) methods.unshift({ name: 'oracle', index: new Oracle(exp), primerIndex: new Oracle(pexp) });
  const loops = methods.map(() => (flag('lb') ? freshLowerBoundLoop() : freshLookupLoop(keys.form)));
  const times = methods.map(() => []);
  for (let r = 0; r <= ROUNDS; r++) {
    for (let from = 0, b = 0; from < q.n; from += BATCH, b++) {
      for (let t = 0; t < methods.length; t++) {
        const k = (t + b + r) % methods.length, m = methods[k];
        sink += loops[k](m.primerIndex ?? m.index, keys, primer, 0, primer.n, pout);
        const t0 = process.hrtime.bigint();
        sink += loops[k](m.index, keys, q, from, from + BATCH, out);
        const t1 = process.hrtime.bigint();
        for (let i = from; i < from + BATCH; i++) {
          if (out[i] !== exp[i]) { console.error(`WRONG ANSWER: ${m.name} query ${i}: ${out[i]}, expected ${exp[i]}`); process.exit(1); }
        }
        if (r > 0) times[k].push(Number(t1 - t0) / BATCH); // round 0 warms up
      }
    }
  }
  const bs = median(times[methods.findIndex((m) => m.name === 'binary-search')]);
  methods.forEach((m, k) => {
    const ns = median(times[k]);
    let err = '';
    if (m.index.predict) {
      let s = 0, sl = 0, mx = 0;
      for (let i = 0; i < q.n; i++) { const e = Math.abs(m.index.predict(q, i) - exp[i]); s += e; sl += Math.log2(e + 1); if (e > mx) mx = e; }
      err = `error mean ${(s / q.n).toFixed(1)}, mean log2 ${(sl / q.n).toFixed(2)}, max ${mx}`;
    }
    console.log(`  ${m.name.padEnd(26)} ${ns.toFixed(0).padStart(5)} ns  x${(bs / ns).toFixed(2)}  ${String(m.index.sizeBytes()).padStart(9)} B  ${err}`);
  });
}

for (const set of arg('sets', 's2,flights,lon,ipv4').split(',')) {
  const keys = loadSet(loadSosd, set);
  const methods = [{ name: 'binary-search', index: new BinarySearchIndex(keys) }];
  if (!flag('no-rbs')) methods.push({ name: 'rbs18', index: new RadixBinarySearchIndex(keys, 18) });
  for (const spec of arg('rmi', 'max:33554432:6,max:262146:6').split(',').filter(Boolean)) {
    const [root, b, t, lm] = spec.split(':');
    const ix = root === 'max'
      ? buildRmi(keys, undefined, { maxBytes: Number(b), timed: Number(t ?? 1) })
      : buildRmi(keys, { root, branching: Number(b) > 40 ? Number(b) : 2 ** Number(b), ...(t ? { tableBits: Number(t) } : {}),
        ...(lm ? { near: lm === 'near' } : {}) });
    methods.push({ name: `rmi ${spec}`, index: ix });
    console.log(`  (${spec}: ${JSON.stringify(ix.describe())})`);
  }
  console.log(`${set}: n=${keys.n}, ${Q} existing-key lookups, ${ROUNDS} rounds x ${Q / BATCH} batches, load average ${os.loadavg()[0].toFixed(2)}`);
  bench(keys, methods);
}
if (sink === 0.5) console.log('');
