import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/rng.js';
import type { SolveContext } from '../../../src/core/problem.js';
import { classicalSolvers, RadixBinarySearchIndex, RBS_GRID, autoRadixBits } from '../../../src/problems/index/heuristics.js';
import { generateKeys } from '../../../src/problems/index/instances.js';
import { KeyForm, fromBigUint64, fromFloat64, fromHalves, fromUint32, lowerBoundExact, selectKeys, showKey, type KeySet } from '../../../src/problems/index/keys.js';
import { absentLookups, existingLookups } from '../../../src/problems/index/workloads.js';

/** Option sets that push each index into its corner cases: tiny tables, fanout 2, every key in the tree. */
const OPTION_SETS: Record<string, string>[] = [
  {},
  { rbs_bits: '1', btree_k: '1', kary_fanout: '2' },
  { rbs_bits: '5', btree_k: '3', kary_fanout: '3' },
  { rbs_bits: 'auto', btree_k: '64', kary_fanout: '64' },
];

function ctx(options: Record<string, string>): SolveContext {
  return { seed: 1, rng: new Rng(1), quick: true, options };
}

/** Every classical index, with every option set, returns the reference lower bound for every query. */
function checkAll(keys: KeySet, queries: KeySet[], label: string): void {
  for (const solver of classicalSolvers) {
    for (const options of OPTION_SETS) {
      const index = solver.solve(keys, ctx(options)) as ReturnType<typeof solver.solve> & { lowerBound: (q: KeySet, i: number) => number };
      for (const q of queries) {
        for (let i = 0; i < q.n; i++) {
          const want = lowerBoundExact(keys, q, i, 0, keys.n);
          const got = index.lowerBound(q, i);
          if (got !== want) {
            assert.fail(`${solver.info.name} ${JSON.stringify(options)} on ${label}: key ${showKey(q, i)} -> ${got}, expected ${want}`);
          }
        }
      }
    }
  }
}

/** Existing keys, absent keys (in gaps and out of range) and every key itself. */
function standardQueries(keys: KeySet, seed: number): KeySet[] {
  const rng = new Rng(seed);
  const all = selectKeys(keys, Int32Array.from({ length: keys.n }, (_, i) => i));
  return [all, existingLookups(keys, 300, rng).queries, absentLookups(keys, 600, rng).queries];
}

function u64(values: bigint[]): KeySet {
  return fromBigUint64(BigUint64Array.from([...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))));
}

test('every classical index is exact on the generated distributions (uint32 and uint64)', () => {
  for (const dist of ['uniform_dense', 'uniform_sparse', 'normal', 'lognormal'] as const) {
    for (const type of ['uint32', 'uint64'] as const) {
      const keys = generateKeys({ dist, n: 3000, type, seed: 42, dup: 1 });
      checkAll(keys, standardQueries(keys, 1), `${dist} ${type}`);
    }
  }
});

test('every classical index returns the first occurrence under heavy duplicates', () => {
  const dup = generateKeys({ dist: 'lognormal', n: 4000, type: 'uint64', seed: 3, dup: 50 });
  checkAll(dup, standardQueries(dup, 2), 'lognormal dup50');
  // A single key repeated, and long runs at both ends.
  const same = fromUint32(new Uint32Array(500).fill(7));
  checkAll(same, [...standardQueries(same, 3), fromUint32(Uint32Array.from([0, 6, 7, 8, 4294967295]))], 'all equal');
  const ends = fromUint32(Uint32Array.from([...new Array(200).fill(1), 2, 3, ...new Array(300).fill(9)]));
  checkAll(ends, [...standardQueries(ends, 4), fromUint32(Uint32Array.from([0, 1, 2, 5, 9, 10]))], 'runs at the ends');
});

test('every classical index is exact on uint64 keys that differ only in their low bits above 2^53', () => {
  // 2^60 + small offsets: as doubles all of these collapse onto a handful of values.
  const base = 2n ** 60n;
  const vals: bigint[] = [];
  for (let i = 0n; i < 400n; i++) vals.push(base + i * 3n);
  vals.push(5n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 64n - 2n);
  const keys = u64(vals);
  assert.equal(keys.exactX, false);
  const probes = u64([0n, 5n, 6n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 53n + 2n, base - 1n, base, base + 1n, base + 2n, base + 3n, base + 599n, base + 1197n, base + 1198n, 2n ** 64n - 2n, 2n ** 64n - 1n]);
  checkAll(keys, [...standardQueries(keys, 5), probes], 'low bits above 2^53');
  // Keys equal in x but not in their exact value, with duplicates among them.
  const tight = u64([base + 1n, base + 1n, base + 2n, base + 3n, base + 3n, base + 3n, base + 4n, base + 64n, base + 65n]);
  checkAll(tight, [...standardQueries(tight, 6), u64([base, base + 1n, base + 2n, base + 3n, base + 4n, base + 5n, base + 63n, base + 66n])], 'tight 2^60');
});

test('every classical index handles n = 0, n = 1 and queries below the minimum or above the maximum', () => {
  const empty = fromBigUint64(new BigUint64Array(0));
  checkAll(empty, [u64([0n, 1n, 2n ** 63n, 2n ** 64n - 1n])], 'empty');
  const one = u64([2n ** 62n + 5n]);
  checkAll(one, [u64([0n, 2n ** 62n + 4n, 2n ** 62n + 5n, 2n ** 62n + 6n, 2n ** 64n - 1n])], 'one key');
  const two = fromUint32(Uint32Array.from([10, 20]));
  checkAll(two, [fromUint32(Uint32Array.from([0, 9, 10, 11, 19, 20, 21, 4294967295]))], 'two keys');
  // Extremes of the uint64 range as keys.
  const extremes = u64([0n, 0n, 1n, 2n ** 64n - 2n, 2n ** 64n - 1n]);
  checkAll(extremes, [u64([0n, 1n, 2n, 2n ** 63n, 2n ** 64n - 2n, 2n ** 64n - 1n])], 'extremes');
});

test('every classical index is exact on f64 keys, including infinities and signed zeros', () => {
  const rng = new Rng(9);
  const vals = Array.from({ length: 1500 }, (_, i) => (rng.next() - 0.5) * (i % 5 === 0 ? 1e-300 : 360));
  vals.push(-Infinity, Infinity, 0, 0, 180, -180);
  const keys = fromFloat64(Float64Array.from(vals.sort((a, b) => a - b)));
  const probes = fromFloat64(Float64Array.from([-Infinity, -1e308, -180.00001, -180, -0, 0, 1e-310, 179.99, 180, 1e308, Infinity]));
  checkAll(keys, [...standardQueries(keys, 7), probes], 'f64');
  // A set with -0 and +0 (exactX false): -0 sorts before +0 in the exact order.
  const zeros = fromFloat64(Float64Array.from([-1, -0, -0, 0, 0, 1]));
  assert.equal(zeros.exactX, false);
  checkAll(zeros, [...standardQueries(zeros, 8), fromFloat64(Float64Array.from([-2, -1, -0, 0, 0.5, 1, 2]))], 'signed zeros');
  // Longitude-like keys: no infinities, so the radix table spreads them.
  const lon = fromFloat64(Float64Array.from(Array.from({ length: 3000 }, () => rng.uniform(-180, 180)).sort((a, b) => a - b)));
  checkAll(lon, standardQueries(lon, 9), 'longitudes');
});

test('uint32 key sets with the largest uint32 key', () => {
  const keys = fromUint32(Uint32Array.from([0, 1, 2, 4294967294, 4294967295, 4294967295]));
  checkAll(keys, [...standardQueries(keys, 10), fromUint32(Uint32Array.from([0, 3, 4294967293, 4294967295]))], 'uint32 extremes');
});

test('radix binary search: SOSD default 18 bits, auto picks from the grid, tables are the stated size', () => {
  const keys = generateKeys({ dist: 'uniform_sparse', n: 20000, type: 'uint64', seed: 1, dup: 1 });
  const rbs = classicalSolvers.find((s) => s.info.name === 'radix-binary-search')!;
  const def = rbs.solve(keys, ctx({})) as RadixBinarySearchIndex;
  assert.equal(def.bits, 18);
  assert.equal(def.sizeBytes(), ((1 << 18) + 2) * 4);
  // auto: each step up the grid saved at least one search step; the next would not have.
  const auto = autoRadixBits(keys);
  const steps = (r: number): number => new RadixBinarySearchIndex(keys, r).meanBucketSteps();
  const g = RBS_GRID.indexOf(auto.bits);
  assert.ok(g >= 0, `auto bits ${auto.bits} in the grid`);
  for (let j = 0; j < g; j++) assert.ok(steps(RBS_GRID[j]!) - steps(RBS_GRID[j + 1]!) >= 1);
  if (g + 1 < RBS_GRID.length && 2 ** RBS_GRID[g + 1]! <= 4 * keys.n) assert.ok(steps(auto.bits) - steps(RBS_GRID[g + 1]!) < 1);
  // Skewed keys would keep gaining from more bits; the table stops at 4 entries per key.
  const skewed = generateKeys({ dist: 'lognormal', n: 20000, type: 'uint64', seed: 42, dup: 1 });
  assert.equal(autoRadixBits(skewed).bits, 16);
  assert.equal(auto.bits, 14); // 20,000 uniform keys: about 1.2 keys per bucket at 14 bits
  assert.throws(() => rbs.solve(keys, ctx({ rbs_bits: '40' })), /rbs_bits=40/);
});

test('index sizes are non-negative and binary search uses no memory', () => {
  const keys = generateKeys({ dist: 'normal', n: 5000, type: 'uint64', seed: 1, dup: 1 });
  for (const s of classicalSolvers) {
    const bytes = (s.solve(keys, ctx({})) as { sizeBytes(): number }).sizeBytes();
    assert.ok(Number.isFinite(bytes) && bytes >= 0, `${s.info.name} size ${bytes}`);
    if (s.info.name === 'binary-search') assert.equal(bytes, 0);
  }
  // Halves built directly (no x rounding issues) for a mixed set.
  const hi = Uint32Array.from([0, 0, 0x200000, 0x200000, 0xffffffff]);
  const lo = Uint32Array.from([1, 2, 0, 1, 0xffffffff]);
  const mixed = fromHalves('uint64', hi, lo);
  checkAll(mixed, standardQueries(mixed, 11), 'mixed halves');
});

test('order-exact doubles: s orders uint64 keys exactly up to 0xFFE0000000000000, and the form follows', () => {
  const rng = new Rng(21);
  const vals: bigint[] = [];
  const LIMIT = 0xffe0000000000000n;
  for (const c of [0n, 2n ** 32n, 2n ** 52n, 2n ** 53n, 2n ** 63n, 0x7ff0000000000000n, LIMIT - 1n]) {
    for (let d = -3n; d <= 3n; d++) if (c + d >= 0n && c + d < LIMIT) vals.push(c + d);
  }
  for (let i = 0; i < 2000; i++) {
    const v = (BigInt(rng.nextU32()) << 32n) | BigInt(rng.nextU32());
    if (v < LIMIT) vals.push(v, v, v + 1n < LIMIT ? v + 1n : v);
  }
  const keys = u64(vals);
  assert.equal(keys.exactS, true);
  assert.equal(keys.form, KeyForm.S);
  for (let i = 1; i < keys.n; i++) {
    const a = (BigInt(keys.hi[i - 1]!) << 32n) | BigInt(keys.lo[i - 1]!), b = (BigInt(keys.hi[i]!) << 32n) | BigInt(keys.lo[i]!);
    assert.ok(Number.isFinite(keys.s[i]!) || keys.s[i] === -Infinity, `s is not a number at ${i}`);
    assert.equal(keys.s[i - 1]! < keys.s[i]!, a < b, `order of ${a} and ${b}`);
    assert.equal(keys.s[i - 1] === keys.s[i], a === b, `equality of ${a} and ${b}`);
  }
  // A key from the limit up has no double of its own: the halves decide (and queries there map to +Infinity).
  const top = u64([5n, LIMIT]);
  assert.equal(top.exactS, false);
  assert.equal(top.form, KeyForm.Halves);
  assert.equal(u64([5n, 2n ** 32n - 1n]).form, KeyForm.S); // the file's width decides, not the values
  assert.equal(fromUint32(Uint32Array.of(1, 2, 3)).form, KeyForm.U32);
  assert.equal(fromFloat64(Float64Array.of(-1.5, 2)).form, KeyForm.S);
});
