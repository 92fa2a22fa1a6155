/**
 * The RMI's own guarantees beyond exact lookups (learned.test.ts checks those on every edge case):
 * the byte budget of rmi-compact, header included; the configuration search times candidates on
 * tuning lookups of its own, never the evaluator's; the unbounded search from a prediction is
 * exact from any start; the leaves are fitted with the lookup's own root arithmetic.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, hashString, hashWords } from '../../../src/core/rng.js';
import type { SolveContext } from '../../../src/core/problem.js';
import { type KeySet, fromBigUint64, fromUint32, keyAt, lowerBoundExact } from '../../../src/problems/index/keys.js';
import {
  NEAR_MIN_SHARE, RMI_COMPACT_BYTES, RMI_HEADER_BYTES, RMI_ROOTS, buildRmi, rmiCompactSolver, rmiSolver,
} from '../../../src/problems/index/rmi.js';
import { decodeSlope, encodeSlope, evalRoot, leafPredict } from '../../../src/problems/index/rmi-models.js';
import { RadixBinarySearchIndex, RBS_DEFAULT_BITS } from '../../../src/problems/index/heuristics.js';
import { NEAR_KEYS, nearStart, searchFromExact, searchFromS, searchFromU32, searchNearS } from '../../../src/problems/index/window-search.js';
import { TUNING_STREAM, tuningLookups } from '../../../src/problems/index/tuning.js';
import { existingLookups } from '../../../src/problems/index/workloads.js';

function u64(values: bigint[]): KeySet {
  const a = BigUint64Array.from(values);
  a.sort();
  return fromBigUint64(a);
}

/** Clustered 64-bit keys (like S2 cell ids: dense runs far apart), with some duplicates. */
function clustered(rng: Rng, n: number): bigint[] {
  const out: bigint[] = [];
  let base = 1n << 60n;
  while (out.length < n) {
    base += BigInt(rng.nextU32()) << BigInt(8 + (rng.nextU32() % 20));
    const len = 1 + (rng.nextU32() % 400);
    let k = base;
    for (let j = 0; j < len && out.length < n; j++) {
      k += BigInt(rng.nextU32() % 3); // 0: a duplicate
      out.push(k);
    }
    base = k;
  }
  return out;
}

const ctx = (options: Record<string, string> = {}, seed = 1): SolveContext => ({ seed, rng: new Rng(seed), quick: true, options });

test('rmi-compact: at most a quarter of RBS\'s table, header included, and it spends the budget', () => {
  // The budget is a quarter of what the default RBS measures itself, not a round number.
  const rng = new Rng(21);
  const keys = u64(clustered(rng, 200_000));
  const rbs = new RadixBinarySearchIndex(keys, RBS_DEFAULT_BITS);
  assert.equal(RMI_COMPACT_BYTES, Math.floor(rbs.sizeBytes() / 4));
  assert.equal(RMI_COMPACT_BYTES, 262_146);
  const ix = rmiCompactSolver.solve(keys, ctx()) as ReturnType<typeof buildRmi>;
  const size = ix.sizeBytes();
  assert.ok(size <= RMI_COMPACT_BYTES, `rmi-compact is ${size} bytes`);
  // The header is counted: the size is more than the tables alone.
  const tables = ix.leaf.byteLength + ix.base.byteLength + (ix.config.root === 'radix-table' ? 4 * (2 ** (ix.config.tableBits ?? 18) + 1) : 0);
  assert.equal(size, tables + RMI_HEADER_BYTES);
  // Every candidate it could have chosen respects the budget too (the largest leaf counts that fit).
  for (const root of RMI_ROOTS) {
    const cand = buildRmi(keys, undefined, { roots: [root], maxBytes: RMI_COMPACT_BYTES, timed: 1 });
    assert.ok(cand.sizeBytes() <= RMI_COMPACT_BYTES, `${root}: ${cand.sizeBytes()} bytes`);
  }
  // A budget with room for the header and one leaf only still gives an exact index; none below it.
  const tiny = buildRmi(keys, undefined, { maxBytes: RMI_HEADER_BYTES + 8, timed: 1 });
  assert.equal(tiny.sizeBytes(), RMI_HEADER_BYTES + 8);
  for (let i = 0; i < keys.n; i += 997) assert.equal(tiny.lowerBound(keys, i), lowerBoundExact(keys, keys, i, 0, keys.n));
  assert.throws(() => buildRmi(keys, undefined, { maxBytes: RMI_HEADER_BYTES + 7 }), /no RMI candidate fits/);
});

test('configuration search: timed on tuning lookups of its own, never the evaluator\'s workloads', () => {
  const rng = new Rng(22);
  const keys = u64(clustered(rng, 30_000));
  // The tuning lookups depend on the keys alone: no seed goes in, so two calls agree ...
  const a = tuningLookups(keys, 2000), b = tuningLookups(keys, 2000);
  assert.deepEqual(a.queries.s, b.queries.s);
  assert.notEqual(TUNING_STREAM, 'index/workloads');
  // ... they are existing keys with exact answers ...
  for (let i = 0; i < a.queries.n; i++) assert.equal(a.expected[i], lowerBoundExact(keys, a.queries, i, 0, keys.n));
  // ... and they are not the evaluator's timed lookups of any seed (evaluate.ts draws those from
  // hashWords(seed, hashString('index/workloads')) after solve returns): the two sequences agree
  // only where independent draws would.
  for (let seed = 1; seed <= 5; seed++) {
    const ev = existingLookups(keys, 2000, new Rng(hashWords(seed, hashString('index/workloads'))).split('existing'));
    let same = 0;
    for (let i = 0; i < 2000; i++) if (ev.queries.s[i] === a.queries.s[i]) same++;
    assert.ok(same < 20, `seed ${seed}: ${same} of 2000 tuning lookups equal the timed ones`);
  }
  // The solver's choice comes from the timed shortlist, and its figures are in describe().
  const ix = rmiSolver.solve(keys, ctx({ 'rmi.timed': '3' }, 7)) as ReturnType<typeof buildRmi>;
  const search = String(ix.describe().search);
  assert.match(search, /timed 3 of \d+ candidates/);
  assert.equal((search.match(/ ns,/g) ?? []).length, 3);
  for (let i = 0; i < keys.n; i += 7) assert.equal(ix.lowerBound(keys, i), lowerBoundExact(keys, keys, i, 0, keys.n));
  // With one candidate timed, the estimate alone decides: deterministic.
  const d1 = buildRmi(keys, undefined, { timed: 1 }).describe(), d2 = buildRmi(keys, undefined, { timed: 1 }).describe();
  assert.deepEqual(d1, d2);
  // Measured times within the tie tolerance do not decide: with an infinite tolerance the timed
  // search keeps the estimate's first candidate; with none, the fastest measured one.
  const tied = buildRmi(keys, undefined, { timed: 3, tieTolerance: Infinity }).describe();
  assert.deepEqual([tied.root, tied.branching, tied.tableBits], [d1.root, d1.branching, d1.tableBits]);
  const strict = buildRmi(keys, undefined, { timed: 3, tieTolerance: 0 }).describe();
  const timed = [...String(strict.search).matchAll(/([a-z-]+(?:\(\d+\))?\/[\d^]+): (\d+) ns/g)].map((m) => [m[1], Number(m[2])] as const);
  assert.equal(timed.length, 3);
  assert.match(String(strict.search), new RegExp(`kept ${timed[0]![0].replace(/[()^]/g, '\\$&')},`));
});

test('exponential search from a prediction: exact from any start, every key form', () => {
  const rng = new Rng(23);
  const dup32 = Uint32Array.from({ length: 3000 }, () => rng.nextU32() % 500);
  dup32.sort();
  const near = clustered(rng, 3000);
  const sets: Array<[KeySet, typeof searchFromS]> = [
    [fromUint32(dup32), searchFromU32],
    [u64(near), searchFromS],
    [u64(near.map((v) => (0xffffn << 48n) | (v & 0xffffffffffffn))), searchFromExact], // no order-exact double
  ];
  for (const [keys, search] of sets) {
    const qs: bigint[] = [0n, (1n << 64n) - 1n];
    for (let t = 0; t < 400; t++) {
      const k = keyAt(keys, rng.nextU32() % keys.n);
      qs.push(k, k + 1n, k > 0n ? k - 1n : 0n);
    }
    const q = keys.type === 'uint32' ? fromUint32(Uint32Array.from(qs.filter((v) => v < 1n << 32n).map(Number))) : u64(qs);
    for (let i = 0; i < q.n; i++) {
      const want = lowerBoundExact(keys, q, i, 0, keys.n);
      for (const P of [0, keys.n - 1, Math.min(keys.n - 1, want), Math.max(0, want - 1), rng.nextU32() % keys.n]) {
        assert.equal(search(keys, q, i, P), want, `start ${P}`);
      }
    }
  }
  const empty = u64([]);
  assert.equal(searchFromS(empty, u64([5n]), 0, 0), 0);
});

test('near search: exact from any start, inside its window or not (duplicates, absent keys, low bits only, n = 8, 9, 16)', () => {
  const rng = new Rng(25);
  const lowBits = Array.from({ length: 600 }, () => (1n << 60n) + BigInt(rng.nextU32() % 5000)); // doubles cannot tell these apart
  const sets: Array<[string, KeySet]> = [
    ['clustered with duplicates', u64(clustered(rng, 2000))],
    ['near 2^60, low bits only', u64(lowBits)],
    ['all equal', u64(new Array(40).fill(99n))],
    ['n = 8', u64([3n, 5n, 5n, 9n, 10n, 10n, 10n, 40n])],
    ['n = 9', u64([1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 1n << 62n])],
    ['n = 16', u64(Array.from({ length: 16 }, (_, i) => BigInt(i >> 1) << 40n))],
  ];
  let inside = 0, outside = 0;
  for (const [label, keys] of sets) {
    assert.ok(keys.n >= NEAR_KEYS);
    const qs: bigint[] = [0n, (1n << 64n) - 1n];
    for (let t = 0; t < 150; t++) {
      const k = keyAt(keys, rng.nextU32() % keys.n);
      qs.push(k, k + 1n, k > 0n ? k - 1n : 0n); // present, and absent between keys
    }
    const q = u64(qs);
    for (let i = 0; i < q.n; i++) {
      const want = lowerBoundExact(keys, q, i, 0, keys.n);
      const starts = [0, keys.n - 1, Math.min(keys.n - 1, want), Math.max(0, want - 1), Math.max(0, want - 4),
        Math.min(keys.n - 1, want + 4), rng.nextU32() % keys.n];
      for (const P of starts) {
        assert.equal(searchNearS(keys, q, i, P), want, `${label}: query ${keyAt(q, i)} from ${P}`);
        const s = nearStart(P, keys.n);
        assert.ok(s >= 0 && s + NEAR_KEYS <= keys.n, `${label}: window [${s}, ${s + NEAR_KEYS}) outside the keys`);
        if (want > s && want < s + NEAR_KEYS) inside++; else outside++;
      }
    }
  }
  // Both ways through it were taken: the branch-free answer and the fallback from either edge.
  assert.ok(inside > 1000 && outside > 1000, `inside ${inside}, outside ${outside}`);
});

test('last mile: the near search only on order-exact double keys (n >= 8) with a table root; forced either way by config', () => {
  const rng = new Rng(26);
  const keys = u64(clustered(rng, 20_000));
  const cfg = { root: 'radix-table' as const, branching: 4096, tableBits: 12 };
  assert.equal(buildRmi(keys, { ...cfg, near: true }).describe().lastMile, 'near');
  assert.equal(buildRmi(keys, { ...cfg, near: false }).describe().lastMile, 'gallop');
  // Other roots, other key forms and tiny sets keep the gallop, even when asked.
  assert.equal(buildRmi(keys, { root: 'linear-spline', branching: 4096, near: true }).describe().lastMile, 'gallop');
  const k32 = fromUint32(Uint32Array.from({ length: 5000 }, (_, i) => i * 7));
  assert.equal(buildRmi(k32, { ...cfg, near: true }).describe().lastMile, 'gallop');
  assert.equal(buildRmi(u64([1n, 2n, 3n, 4n, 5n, 6n, 7n]), { ...cfg, near: true }).describe().lastMile, 'gallop');
  // The share the rule reads: all but none of the answers inside the window for a model that is
  // nearly exact (dense keys: rank = key - 42), few for a model of one leaf over clustered keys.
  const dense = u64(Array.from({ length: 50_000 }, (_, i) => BigInt(42 + i)));
  assert.ok(Number(buildRmi(dense, { ...cfg, near: true }).describe().nearShare) > 0.99);
  assert.ok(Number(buildRmi(keys, { root: 'radix-table', branching: 1, tableBits: 2, near: true }).describe().nearShare) < 0.2);
});

test('configuration search: the last mile is timed too where the near search may pay, and the faster kept', () => {
  // Dense keys: a table root predicts nearly every answer exactly (all inside the near window).
  const keys = u64(Array.from({ length: 50_000 }, (_, i) => 42n + BigInt(i) * 3n));
  const ix = buildRmi(keys, undefined, { timed: 2, roots: ['radix-table'] });
  const d = ix.describe();
  assert.ok(Number(d.nearShare) >= NEAR_MIN_SHARE, `near share ${d.nearShare}`);
  const m = /last mile: gallop (\d+) ns, near (\d+) ns \(\d+% inside its window\), kept (gallop|near)/.exec(String(d.search));
  assert.ok(m, `no last-mile timing in: ${d.search}`);
  assert.equal(m[3], d.lastMile);
  // The summary rounds to whole ns: the kept one is never the slower by more than that.
  const [gallop, near] = [Number(m[1]), Number(m[2])];
  assert.ok(d.lastMile === 'near' ? near <= gallop : gallop <= near, `kept ${d.lastMile}: gallop ${gallop}, near ${near}`);
  const q = u64([0n, 41n, 42n, 43n, 44n, 45n, 1000n, 42n + 3n * 49_999n, 42n + 3n * 49_999n + 1n, (1n << 64n) - 1n]);
  for (let i = 0; i < q.n; i++) assert.equal(ix.lowerBound(q, i), lowerBoundExact(keys, q, i, 0, keys.n), `query ${keyAt(q, i)}`);
  // Where few answers fall inside the window, only the configuration is timed.
  const poor = buildRmi(u64(clustered(new Rng(27), 20_000)), undefined, { timed: 2, roots: ['radix-table'] }).describe();
  assert.ok(Number(poor.nearShare) < NEAR_MIN_SHARE && !String(poor.search).includes('last mile'), String(poor.search));
});

test('leaves are fitted with the lookup\'s own root arithmetic (every root kind)', () => {
  const rng = new Rng(24);
  const keys = u64(clustered(rng, 20_000));
  for (const root of RMI_ROOTS) {
    const ix = buildRmi(keys, { root, branching: 512, tableBits: 10 });
    // predict() uses the class's root; leafPredict with evalRoot is what the fit used.
    const m = (ix as unknown as { root: Parameters<typeof evalRoot>[0] }).root;
    let sumErr = 0;
    for (let i = 0; i < keys.n; i += 3) {
      const viaFit = leafPredict(ix, evalRoot(m, keys.x[i]!), 511, keys.n - 1);
      assert.equal(ix.predict(keys, i), viaFit, `${root} at ${i}`);
      sumErr += Math.abs(viaFit - lowerBoundExact(keys, keys, i, 0, keys.n));
    }
    // A fitted model, not a constant: far better than predicting the middle.
    assert.ok(sumErr / (keys.n / 3) < keys.n / 40, `${root}: mean error ${sumErr / (keys.n / 3)}`);
  }
});

test('4-byte leaves: the slope keeps 12 bits, and a group spanning more rows than an int16 still answers exactly', () => {
  // The 16-bit slope: relative error <= 2^-12 over [2^-12, 2^20), monotone, 0 below, clamped above.
  let prev = -1;
  for (let v = 2 ** -12; v < 2 ** 20; v *= 1.0137) {
    const c = encodeSlope(v), d = decodeSlope(c);
    assert.ok(Math.abs(d - v) <= v * 2 ** -12, `slope ${v} -> ${d}`);
    assert.ok(c >= prev, `codes are monotone at ${v}`);
    prev = c;
  }
  assert.equal(encodeSlope(0), 0);
  assert.equal(encodeSlope(NaN), 0);
  assert.ok(decodeSlope(0) <= 2 ** -12);
  assert.equal(encodeSlope(2 ** 30), 0xffff);
  // 100,000 copies of one key and 70,000 distinct keys around them: with 64 leaves, groups and
  // single leaves span far more than 32K rows, so intercepts are clamped and slopes refitted.
  const vals: bigint[] = [];
  for (let i = 0; i < 40_000; i++) vals.push(1000n + BigInt(i) * 7n);
  for (let i = 0; i < 100_000; i++) vals.push(10_000_000n);
  for (let i = 0; i < 30_000; i++) vals.push(20_000_000n + BigInt(i) * 13n);
  const keys = u64(vals);
  const queries = u64([...vals.filter((_, i) => i % 97 === 0), 0n, 9_999_999n, 10_000_001n, 1n << 63n]);
  for (const branching of [1, 64, 4096]) {
    const ix = buildRmi(keys, { root: 'radix-table', branching, tableBits: 8 });
    for (let i = 0; i < queries.n; i++) {
      assert.equal(ix.lowerBound(queries, i), lowerBoundExact(keys, queries, i, 0, keys.n), `B=${branching}, query ${keyAt(queries, i)}`);
    }
    // Still a model: the keys after the run are predicted near their positions, not at a clamp.
    const p = ix.predict(keys, keys.n - 10);
    assert.ok(Math.abs(p - (keys.n - 10)) < 20_000, `B=${branching}: predicted ${p} for ${keys.n - 10}`);
  }
});
