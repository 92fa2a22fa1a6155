#!/usr/bin/env node
// Learned-index micro-benchmark on the real key sets (not part of the test suite).
//
// For each set found under the data directory: builds PGM, RMI and RadixSpline (from dist/), a
// plain binary search (the baseline: keys.ts lowerBound, std::lower_bound over the key set's form) and a quick radix
// table + binary search (RBS, SOSD's "RBS", for comparison only; the benchmark's own RBS lives in
// heuristics.ts). Times existing-key lookups: QUERIES random existing keys, every method run on
// the same queries in interleaved batches after a warm-up, median ns/lookup over the batches (see
// benchSet). Every timed batch's answers are checked against lowerBoundExact; a wrong answer aborts.
//
// Usage: npx tsc -p . && node scripts/bench-learned.mjs [--data DIR] [--sets s2,flights,lon,ipv4]
//        [--queries 1000000] [--rounds 5] [--batch 100000] [--primer 20000] [--only pgm,rmi,rs] [--pgm eps,epsRec] [--rs eps,bits]
//        [--rmi root,branching[,tableBits];max,BYTES] [--rbs bits,bits] [--payload] [--json]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, '..', 'dist', 'src', 'problems', 'index');
const keysMod = await import(path.join(dist, 'keys.js'));
const { fromBigUint64, fromUint32, fromFloat64, selectKeys, lowerBoundExact, lowerBound } = keysMod;
const { buildPgm } = await import(path.join(dist, 'pgm.js'));
const rmiMod = await tryImport(path.join(dist, 'rmi.js'));
const { windowFallbacks } = await import(path.join(dist, 'window-search.js'));
const rsMod = await tryImport(path.join(dist, 'radixspline.js'));

async function tryImport(p) {
  try { return await import(p); } catch { return null; }
}

// ---- arguments
const args = process.argv.slice(2);
function arg(name, dflt) {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
}
const dataDir = arg('data', process.env.SELFOPT_DATA ?? path.join(here, '..', '..', 'shared', 'data'));
const QUERIES = Number(arg('queries', '1000000'));
const ROUNDS = Number(arg('rounds', '5'));
const only = arg('only', 'pgm,rmi,rs').split(',');
const SETS = {
  s2: 'index/gshhg_s2cellids_6.9M_uint64',
  flights: 'index/flights_ts_3M_uint64',
  lon: 'index/gshhg_lon_4.3M_f64',
  ipv4: 'index/ipv4_range_starts_386K_uint32',
};
const wanted = arg('sets', Object.keys(SETS).join(',')).split(',');

// ---- data
function load(rel) {
  const file = path.join(dataDir, rel);
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const body = buf.buffer.slice(buf.byteOffset + 8, buf.byteOffset + buf.length);
  if (file.endsWith('_uint32')) return fromUint32(new Uint32Array(body, 0, n));
  if (file.endsWith('_f64')) return fromFloat64(new Float64Array(body, 0, n));
  return fromBigUint64(new BigUint64Array(body, 0, n));
}

// Deterministic query positions (xorshift), so runs are comparable.
function queryPositions(n, m, seed) {
  const idx = new Int32Array(m);
  let s = seed >>> 0 || 1;
  for (let t = 0; t < m; t++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    idx[t] = Math.floor((s / 4294967296) * n);
  }
  return idx;
}

// ---- baselines
class BinarySearch {
  constructor(keys) { this.keys = keys; this.n = keys.n; this.useX = keys.exactX; }
  lowerBound(q, i) {
    return lowerBound(this.keys, q, i, 0, this.n);
  }
  sizeBytes() { return 0; }
}

// Radix table over the top `bits` bits of (key - min): table[p] = first position whose prefix >= p.
class QuickRbs {
  constructor(keys, bits) {
    this.keys = keys; this.n = keys.n; this.useX = keys.exactX; this.bits = bits;
    const n = keys.n;
    // Prefix from the double offset (x - minX) * 2^-shift: monotone in the key for every type,
    // which is all the table needs; the search inside the bucket is exact.
    this.minX = keys.x[0];
    const range = keys.x[n - 1] - this.minX;
    let shift = 0;
    while (range / 2 ** shift >= 2 ** bits) shift++;
    this.scale = 2 ** -shift;
    const size = 2 ** bits;
    this.table = new Uint32Array(size + 2);
    let p = 0;
    for (let i = 0; i < n; i++) {
      const pre = Math.min(size - 1, Math.floor((keys.x[i] - this.minX) * this.scale));
      while (p <= pre) this.table[p++] = i;
    }
    while (p < size + 2) this.table[p++] = n;
    this.maxP = size - 1;
  }
  lowerBound(q, i) {
    const qx = q.x[i];
    let p = (qx - this.minX) * this.scale;
    p = p > 0 ? (p < this.maxP ? p | 0 : this.maxP) : 0;
    // Widen by one bucket on each side: x of uint64 keys above 2^53 may round across a bucket edge.
    const lo = this.useX ? this.table[p] : this.table[p > 0 ? p - 1 : 0];
    const hi = this.useX ? this.table[p + 1] : this.table[p + 2];
    return lowerBound(this.keys, q, i, lo, hi);
  }
  sizeBytes() { return this.table.byteLength; }
}

// A fresh function per method, so that each timing loop's call site stays monomorphic. With
// --payload a lookup is SOSD's (as the problem's evaluator times it): the lower bound, then the
// sum of the payloads (positions) of all rows equal to the key; otherwise the lower bound alone.
const PAYLOAD = args.includes('--payload');
function makeRunner(tag) {
  return new Function('idx', 'q', 'out', 'from', 'to', 'keys', `// ${tag}
    let sum = 0;
    const n = keys.n, kh = keys.hi, kl = keys.lo, qh = q.hi, ql = q.lo, ks = keys.s, qs = q.s, form = keys.form;
    for (let i = from; i < to; i++) {
      const p = idx.lowerBound(q, i);
      out[i] = p;
      // The payload check compares the key set's form, as the evaluator does (keys.ts KeyForm: 0 = s, 1 = lo, 2 = halves).
      ${PAYLOAD ? `if (form === 0) { const v = qs[i]; for (let j = p; j < n && ks[j] === v; j++) sum += j; }
      else if (form === 1) { const v = qh[i] === 0 ? ql[i] : -1; for (let j = p; j < n && kl[j] === v; j++) sum += j; }
      else { const h = qh[i], l = ql[i]; for (let j = p; j < n && kh[j] === h && kl[j] === l; j++) sum += j; }` : ''}
    }
    return sum;
  `);
}

function check(name, out, expected, from, to) {
  for (let i = from; i < to; i++) {
    if (out[i] !== expected[i]) {
      console.error(`WRONG ANSWER: ${name} query ${i}: got ${out[i]}, expected ${expected[i]}`);
      process.exit(1);
    }
  }
}

let sink = 0; // checksums, so no work can be dropped

function median(a) {
  const s = [...a].sort((x, y) => x - y);
  return s[s.length >> 1];
}

// Timing protocol: the queries are cut in batches of BATCH; each round times every batch once
// per method, the methods taking turns batch by batch (order rotated), so a burst of background
// load hits all of them alike; an untimed primer batch (other keys) precedes each timed batch. ns/lookup = median over all (round, batch) samples. Two untimed
// rounds first (warm-up, and they check every answer); every timed batch is checked too.
const BATCH = Number(arg('batch', '100000'));
const PRIMER = Number(arg('primer', '20000'));

function benchSet(label, keys, methods) {
  const q = selectKeys(keys, queryPositions(keys.n, QUERIES, 12345));
  // Other random keys, looked up untimed right before each timed batch: the method's model and
  // hot lines are back in cache, as they would be in a run of that method alone.
  const primer = selectKeys(keys, queryPositions(keys.n, PRIMER, 999));
  const primerOut = new Int32Array(PRIMER);
  const expected = new Int32Array(q.n);
  for (let i = 0; i < q.n; i++) expected[i] = lowerBoundExact(keys, q, i, 0, keys.n);
  const out = new Int32Array(q.n);
  const runners = methods.map((m) => makeRunner(`${label}/${m.name}`));
  for (let w = 0; w < 2; w++) {
    methods.forEach((m, k) => { out.fill(-1); sink += runners[k](m.index, q, out, 0, q.n, keys); check(m.name, out, expected, 0, q.n); });
  }
  const times = methods.map(() => []);
  let turn = 0;
  for (let r = 0; r < ROUNDS; r++) {
    for (let from = 0; from < q.n; from += BATCH) {
      const to = Math.min(q.n, from + BATCH);
      turn++;
      for (let t = 0; t < methods.length; t++) {
        const k = (t + turn) % methods.length;
        sink += runners[k](methods[k].index, primer, primerOut, 0, PRIMER, keys);
        const t0 = process.hrtime.bigint();
        sink += runners[k](methods[k].index, q, out, from, to, keys);
        const t1 = process.hrtime.bigint();
        check(methods[k].name, out, expected, from, to);
        times[k].push(Number(t1 - t0) / (to - from));
      }
    }
  }
  const bsNs = median(times[0]);
  return methods.map((m, k) => {
    const ns = median(times[k]);
    return { set: label, method: m.name, ns: +ns.toFixed(1), speedup: +(bsNs / ns).toFixed(2), buildMs: m.buildMs,
      bytes: m.index.sizeBytes(), describe: m.index.describe ? JSON.stringify(m.index.describe()) : '' };
  });
}

function timed(fn) {
  const t0 = process.hrtime.bigint();
  const v = fn();
  return [v, Number(process.hrtime.bigint() - t0) / 1e6];
}

// "a,b;c,d;" -> [[a, b], [c, d], [undefined]]: an empty entry is the default config.
const nums = (c) => c.split(',').map((v) => (v === '' ? undefined : Number(v)));
const pgmCfg = arg('pgm', '');
const rsCfg = arg('rs', '');
const rmiCfg = arg('rmi', '');
const rbsBits = arg('rbs', '18,20').split(',').map(Number);

const all = [];
for (const name of wanted) {
  const rel = SETS[name];
  if (!rel) { console.error(`unknown set ${name}`); process.exit(2); }
  if (!fs.existsSync(path.join(dataDir, rel))) { console.log(`skip ${name}: not found under ${dataDir}`); continue; }
  const keys = load(rel);
  const methods = [{ name: 'binary-search', index: new BinarySearch(keys), buildMs: 0 }];
  for (const b of rbsBits) {
    const [rbs, ms] = timed(() => new QuickRbs(keys, b));
    methods.push({ name: `rbs-${b}`, index: rbs, buildMs: +ms.toFixed(0) });
  }
  if (only.includes('pgm')) {
    const cfgs = pgmCfg ? pgmCfg.split(';').map(nums) : [[undefined, undefined]];
    for (const [e, er] of cfgs) {
      const [ix, ms] = timed(() => buildPgm(keys, e, er));
      methods.push({ name: `pgm${e ? `-${e}/${er}` : ''}`, index: ix, buildMs: +ms.toFixed(0) });
    }
  }
  if (only.includes('rmi') && rmiMod) {
    const cfgs = rmiCfg ? rmiCfg.split(';').map((c) => c.split(',')) : [[]];
    for (const [root, br, tb] of cfgs) {
      // "max,BYTES": the searched RMI limited to BYTES (e.g. a quarter of RBS's table).
      const capped = root === 'max';
      const cfg = root && !capped ? { root, branching: Number(br), ...(tb ? { tableBits: Number(tb) } : {}) } : {};
      const [ix, ms] = timed(() => rmiMod.buildRmi(keys, capped ? undefined : cfg, capped ? { maxBytes: Number(br) } : {}));
      const label = capped ? `rmi<=${br}B` : `rmi${root ? `-${root}${tb ? tb : ''}/${br}` : ''}`;
      methods.push({ name: label, index: ix, buildMs: +ms.toFixed(0) });
    }
  }
  if (only.includes('rs') && rsMod) {
    const cfgs = rsCfg ? rsCfg.split(';').map(nums) : [[undefined, undefined]];
    for (const [e, b] of cfgs) {
      const [ix, ms] = timed(() => rsMod.buildRadixSpline(keys, e, b));
      methods.push({ name: `radix-spline${e ? `-${e}/${b}` : ''}`, index: ix, buildMs: +ms.toFixed(0) });
    }
  }
  console.log(`\n${name}: n=${keys.n} exactX=${keys.exactX}, ${QUERIES} existing-key ${PAYLOAD ? 'SOSD lookups (lower bound + payload sum)' : 'lower bounds'}, ${ROUNDS} rounds of ${Math.ceil(QUERIES / BATCH)} interleaved batches, median`);
  const fb0 = windowFallbacks();
  const rows = benchSet(name, keys, methods);
  const fb = windowFallbacks() - fb0;
  if (fb > 0) console.log(`  (window fallbacks: ${fb} of ${(ROUNDS + 2) * QUERIES * methods.length} lookups, over all methods)`);
  for (const r of rows) {
    console.log(`  ${r.method.padEnd(22)} ${String(r.ns).padStart(7)} ns  x${String(r.speedup).padEnd(5)} build ${String(r.buildMs).padStart(5)} ms  ${String(r.bytes).padStart(9)} B  ${r.describe}`);
  }
  all.push(...rows);
}
if (args.includes('--json')) console.log(JSON.stringify(all));
if (sink === 0.5) console.log(''); // keep the checksums observable
