/**
 * The learned indexes (PGM, RMI, RadixSpline): every lookup equals the reference lower bound on
 * generated sets that exercise the edge cases (empty, one key, all equal, long duplicate runs,
 * absent keys, queries outside the range, uint64 keys that differ only in bits a double drops),
 * the model guarantees hold, and builds are deterministic. No timing here: speed is measured by
 * scripts/bench-learned.mjs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/rng.js';
import type { SolveContext } from '../../../src/core/problem.js';
import { SelfoptError } from '../../../src/core/errors.js';
import { KeyForm, type KeySet, fromBigUint64, fromFloat64, fromUint32, keyAt, lowerBoundExact } from '../../../src/problems/index/keys.js';
import type { SearchIndex } from '../../../src/problems/index/search-index.js';
import { buildPgm, pgmSolver } from '../../../src/problems/index/pgm.js';
import { buildRmi, rmiCompactSolver, rmiSolver, RMI_COMPACT_BYTES, RMI_ROOTS } from '../../../src/problems/index/rmi.js';
import { buildRadixSpline, radixSplineSolver } from '../../../src/problems/index/radixspline.js';
import { searchWindow, windowFallbacks, windowModeOf } from '../../../src/problems/index/window-search.js';

// ---- key generators (local: the problem's instances module is not a dependency of these tests)

function u64(values: bigint[]): KeySet {
  const a = BigUint64Array.from(values);
  a.sort();
  return fromBigUint64(a);
}

function uniform(rng: Rng, n: number, max: number): bigint[] {
  const out: bigint[] = [];
  for (let i = 0; i < n; i++) out.push(BigInt(Math.floor(rng.nextU32() / 4294967296 * max)));
  return out;
}

/** Skewed like SOSD's lognormal: exp(N(0, 2)) scaled, many keys near the bottom, a long tail. */
function lognormal(rng: Rng, n: number): bigint[] {
  const out: bigint[] = [];
  for (let i = 0; i < n; i++) {
    const u1 = (rng.nextU32() + 1) / 4294967297, u2 = rng.nextU32() / 4294967296;
    const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    out.push(BigInt(Math.floor(Math.exp(2 * z) * 1e9)));
  }
  return out;
}

/** A few hundred distinct keys, runs of 1..300 copies (longer than any epsilon used here). */
function duplicates(rng: Rng, n: number): bigint[] {
  const out: bigint[] = [];
  let k = 1000n;
  while (out.length < n) {
    k += BigInt(1 + (rng.nextU32() % 50));
    const run = 1 + (rng.nextU32() % (rng.nextU32() % 4 === 0 ? 300 : 5));
    for (let r = 0; r < run && out.length < n; r++) out.push(k);
  }
  return out;
}

/** uint64 keys near 2^60 that differ only in their low bits: doubles cannot tell them apart. */
function nearTwo60(rng: Rng, n: number): bigint[] {
  const base = 1n << 60n;
  const out: bigint[] = [];
  for (let i = 0; i < n; i++) out.push(base + BigInt(rng.nextU32() % 20000));
  // and a few spread far apart, so the models have some slope to fit
  for (let i = 0; i < 50; i++) out.push(base + (BigInt(rng.nextU32()) << 20n));
  return out;
}

/** uint64 keys just below 2^64 (above 0xFFE0000000000000: no order-exact double, KeyForm.Halves). */
function nearTop(rng: Rng, n: number): bigint[] {
  const top = (1n << 64n) - 1n;
  const out: bigint[] = [];
  for (let i = 0; i < n; i++) out.push(top - BigInt(rng.nextU32() % 20000));
  for (let i = 0; i < 50; i++) out.push(top - (BigInt(rng.nextU32()) << 20n));
  return out;
}

/** Queries: every key, its neighbours (+-1), random values in and around the range, and the extremes. */
function queriesFor(rng: Rng, keys: KeySet): KeySet {
  const qs: bigint[] = [0n, 1n, (1n << 64n) - 1n, (1n << 63n), (1n << 53n), (1n << 53n) + 1n];
  const MAX = (1n << 64n) - 1n;
  for (let i = 0; i < keys.n; i++) {
    const k = keyAt(keys, i);
    qs.push(k);
    if (k > 0n) qs.push(k - 1n);
    if (k < MAX) qs.push(k + 1n);
  }
  if (keys.n > 0) {
    const lo = keyAt(keys, 0), hi = keyAt(keys, keys.n - 1);
    const span = hi - lo + 1n;
    for (let t = 0; t < 500; t++) {
      const r = (BigInt(rng.nextU32()) * span) / 4294967296n;
      qs.push(lo + r);
    }
    if (lo > 10n) qs.push(lo - 10n);
    if (hi < MAX - 10n) qs.push(hi + 10n);
  }
  return fromBigUint64(BigUint64Array.from(qs));
}

function f64Keys(values: number[]): KeySet {
  const a = Float64Array.from(values);
  a.sort();
  return fromFloat64(a);
}

function f64Queries(rng: Rng, keys: KeySet): KeySet {
  const qs: number[] = [-Infinity, Infinity, 0, -1e300, 1e300, Number.MAX_VALUE];
  for (let i = 0; i < keys.n; i++) {
    const v = keys.x[i]!;
    qs.push(v, v + 1e-9, v - 1e-9, v * (1 + 1e-15));
  }
  for (let t = 0; t < 300; t++) qs.push((rng.nextU32() / 4294967296 - 0.5) * 400);
  return fromFloat64(Float64Array.from(qs));
}

// ---- the indexes under test

interface Builder {
  name: string;
  build(keys: KeySet): SearchIndex;
}

const builders: Builder[] = [
  { name: 'pgm(64,4)', build: (k) => buildPgm(k) },
  { name: 'pgm(4,2)', build: (k) => buildPgm(k, 4, 2) },
  { name: 'pgm(1,1)', build: (k) => buildPgm(k, 1, 1) },
  { name: 'rmi(search)', build: (k) => buildRmi(k) },
  ...RMI_ROOTS.map((root) => ({ name: `rmi(${root},64)`, build: (k: KeySet) => buildRmi(k, { root, branching: 64 }) })),
  { name: 'rmi(linear-spline,1)', build: (k) => buildRmi(k, { root: 'linear-spline', branching: 1 }) },
  { name: 'rmi(radix-table,1000,6)', build: (k) => buildRmi(k, { root: 'radix-table', branching: 1000, tableBits: 6 }) },
  // The near search (window-search.ts searchNearS) forced, and the gallop forced, with a good model and a poor one.
  { name: 'rmi(radix-table,1000,6,near)', build: (k) => buildRmi(k, { root: 'radix-table', branching: 1000, tableBits: 6, near: true }) },
  { name: 'rmi(radix-table,4,2,near)', build: (k) => buildRmi(k, { root: 'radix-table', branching: 4, tableBits: 2, near: true }) },
  { name: 'rmi(radix-table,1000,6,gallop)', build: (k) => buildRmi(k, { root: 'radix-table', branching: 1000, tableBits: 6, near: false }) },
  { name: 'rmi(search, timed 3, <= 4 KiB)', build: (k) => buildRmi(k, undefined, { timed: 3, maxBytes: 4096 }) },
  { name: 'radix-spline(32,18)', build: (k) => buildRadixSpline(k) },
  { name: 'radix-spline(2,4)', build: (k) => buildRadixSpline(k, 2, 4) },
  { name: 'radix-spline(8,1)', build: (k) => buildRadixSpline(k, 8, 1) },
];

/**
 * Checks every query against the reference. On exactX keys the model windows must also hold
 * (no fallback to widening); elsewhere rounding (or an infinite key) may break them, and the
 * fallback keeps the answer exact.
 */
function checkAll(label: string, keys: KeySet, queries: KeySet): void {
  for (const b of builders) {
    const ix = b.build(keys);
    const before = windowFallbacks();
    for (let i = 0; i < queries.n; i++) {
      const want = lowerBoundExact(keys, queries, i, 0, keys.n);
      const got = ix.lowerBound(queries, i);
      if (got !== want) {
        assert.fail(`${b.name} on ${label}: query ${queries.type === 'f64' ? queries.x[i] : keyAt(queries, i)} ` +
          `(#${i}) -> ${got}, expected ${want}`);
      }
      if (ix.predict) {
        const p = ix.predict(queries, i);
        assert.ok(Number.isInteger(p) && p >= 0 && p <= keys.n, `${b.name} on ${label}: predict ${p} outside [0, n]`);
      }
    }
    assert.ok(ix.sizeBytes() >= 0);
    assert.equal(typeof ix.describe?.(), 'object');
    const cubicRoot = b.name.includes('cubic') || b.name.includes('search'); // Horner may round non-monotonically
    const finite = keys.x.every((v) => Number.isFinite(v)); // offsets from an infinite key are not numbers
    if (keys.exactX && finite && !cubicRoot) assert.equal(windowFallbacks() - before, 0, `${b.name} on ${label}: a model window missed`);
  }
}

function sets(rng: Rng): Array<[string, KeySet]> {
  return [
    ['empty', u64([])],
    ['one key', u64([12345n])],
    ['one key = 0', u64([0n])],
    ['one key = max', u64([(1n << 64n) - 1n])],
    ['all equal', u64(new Array(700).fill(777n))],
    ['all equal = max', u64(new Array(300).fill((1n << 64n) - 1n))],
    ['two keys', u64([5n, 1n << 62n])],
    ['uniform dense', u64(Array.from({ length: 3000 }, (_, i) => BigInt(42 + i)))],
    ['uniform sparse u32', u64(uniform(rng, 4000, 2 ** 32))],
    ['uniform sparse u64', u64(uniform(rng, 2000, 2 ** 32).map((v, i) => (v << 32n) | BigInt(i)))],
    ['lognormal', u64(lognormal(rng, 4000))],
    ['heavy duplicates', u64(duplicates(rng, 6000))],
    ['near 2^60, low bits only', u64(nearTwo60(rng, 3000))],
    ['dense near 2^60 (x all equal)', u64(Array.from({ length: 1500 }, (_, i) => (1n << 60n) + BigInt(i * 3)))],
    ['duplicates near 2^62', u64(duplicates(rng, 3000).map((v) => (1n << 62n) + v))],
    ['near 2^64 (no order-exact double)', u64(nearTop(rng, 2000))],
  ];
}

test('every lookup equals the exact lower bound (uint64 sets)', () => {
  const rng = new Rng(7);
  for (const [label, keys] of sets(rng)) checkAll(label, keys, queriesFor(rng, keys));
});

test('every lookup equals the exact lower bound (uint32 and float64 sets)', () => {
  const rng = new Rng(8);
  const u32 = Uint32Array.from(uniform(rng, 5000, 2 ** 32).map(Number));
  u32.sort();
  const k32 = fromUint32(u32);
  checkAll('uint32', k32, queriesFor(rng, k32));
  const lon = f64Keys(Array.from({ length: 4000 }, () => (rng.nextU32() / 4294967296 - 0.5) * 360));
  checkAll('float64 longitudes', lon, f64Queries(rng, lon));
  const dupF = f64Keys(Array.from({ length: 3000 }, (_, i) => Math.floor(i / 37) * 0.25 - 100));
  checkAll('float64 duplicates', dupF, f64Queries(rng, dupF));
  // -0 and +0 are different keys but equal doubles: x is not exact, the halves decide.
  const zeros = f64Keys([-1, -0, -0, 0, 0, 0, 2, 3.5]);
  assert.equal(zeros.exactX, false);
  checkAll('float64 signed zeros', zeros, f64Queries(rng, zeros));
  const inf = f64Keys([-Infinity, -5, 0.5, 1, 1, 7, Infinity, Infinity]);
  checkAll('float64 infinities', inf, f64Queries(rng, inf));
});

test('PGM: |predict - position| <= epsilon + 1 on existing keys (exactX data)', () => {
  const rng = new Rng(9);
  const cases: Array<[string, KeySet]> = [
    ['lognormal', u64(lognormal(rng, 5000))],
    ['duplicates', u64(duplicates(rng, 5000))],
    ['uniform sparse u32', u64(uniform(rng, 5000, 2 ** 32))],
  ];
  for (const [label, keys] of cases) {
    assert.ok(keys.exactX);
    for (const [eps, epsR] of [[64, 4], [16, 4], [4, 2], [1, 1]] as const) {
      const ix = buildPgm(keys, eps, epsR);
      let worst = 0;
      for (let i = 0; i < keys.n; i++) {
        const err = Math.abs(ix.predict(keys, i) - lowerBoundExact(keys, keys, i, 0, keys.n));
        if (err > worst) worst = err;
      }
      assert.ok(worst <= eps + 1, `${label} eps ${eps}: max error ${worst}`);
    }
  }
});

test('RadixSpline: |predict - position| <= epsilon + 1 on existing keys (exactX data)', () => {
  const rng = new Rng(10);
  for (const keys of [u64(lognormal(rng, 5000)), u64(duplicates(rng, 5000))]) {
    for (const [eps, bits] of [[32, 18], [4, 6]] as const) {
      const ix = buildRadixSpline(keys, eps, bits);
      for (let i = 0; i < keys.n; i++) {
        const err = Math.abs(ix.predict(keys, i) - lowerBoundExact(keys, keys, i, 0, keys.n));
        assert.ok(err <= eps + 1, `eps ${eps}: error ${err} at ${i}`);
      }
    }
  }
});

test('PGM segments: the data level is no larger than a greedy fit and shrinks as epsilon grows', () => {
  const rng = new Rng(11);
  const keys = u64(lognormal(rng, 20000));
  const sizes = [4, 16, 64].map((e) => buildPgm(keys, e, 4).levelSizes()[0]!);
  assert.ok(sizes[0]! > sizes[1]! && sizes[1]! > sizes[2]!, `segments ${sizes}`);
  // Linear data is one segment, whatever the epsilon.
  const line = u64(Array.from({ length: 5000 }, (_, i) => BigInt(1000 + 7 * i)));
  assert.deepEqual(buildPgm(line, 1, 1).levelSizes(), [1]);
});

test('builds are deterministic', () => {
  const rng = new Rng(12);
  const keys = u64(lognormal(rng, 8000));
  const a = buildPgm(keys, 16, 4), b = buildPgm(keys, 16, 4);
  assert.deepEqual(a.slope, b.slope);
  assert.deepEqual(a.intercept, b.intercept);
  assert.deepEqual(a.describe(), b.describe());
  const r1 = buildRmi(keys), r2 = buildRmi(keys);
  assert.deepEqual(r1.describe(), r2.describe());
  assert.deepEqual(r1.leaf, r2.leaf);
  assert.deepEqual(r1.base, r2.base);
  const s1 = buildRadixSpline(keys, 8, 10), s2 = buildRadixSpline(keys, 8, 10);
  assert.deepEqual(s1.spline, s2.spline);
  assert.deepEqual(s1.table, s2.table);
});

test('solvers: info, options, and bad options as SelfoptError', () => {
  const ctx = (options: Record<string, string> = {}): SolveContext => ({ seed: 1, rng: new Rng(1), quick: true, options });
  const rng = new Rng(13);
  const keys = u64(uniform(rng, 3000, 2 ** 40));
  const q = queriesFor(rng, keys);
  for (const s of [pgmSolver, rmiSolver, radixSplineSolver]) {
    assert.equal(s.info.kind, 'learned');
    assert.ok(s.info.reference && s.info.reference.length > 10);
  }
  assert.deepEqual([pgmSolver.info.name, rmiSolver.info.name, radixSplineSolver.info.name], ['pgm', 'rmi', 'radix-spline']);
  const built = [
    pgmSolver.solve(keys, ctx({ 'pgm.epsilon': '8', 'pgm.epsilonRecursive': '2' })),
    rmiSolver.solve(keys, ctx({ 'rmi.root': 'cubic', 'rmi.branching': '256' })),
    rmiSolver.solve(keys, ctx({ 'rmi.maxBytes': '65536' })),
    radixSplineSolver.solve(keys, ctx({ 'rs.epsilon': '4', 'rs.radixBits': '12' })),
    rmiCompactSolver.solve(keys, ctx()),
  ] as SearchIndex[];
  assert.ok(built[4]!.sizeBytes() <= RMI_COMPACT_BYTES, 'rmi-compact stays within a quarter of RBS\'s 1 MiB table');
  assert.equal(built[0]!.describe!().epsilon, 8);
  assert.equal(built[1]!.describe!().root, 'cubic');
  assert.ok(built[2]!.sizeBytes() <= 65536 + 64);
  for (const ix of built) for (let i = 0; i < q.n; i++) assert.equal(ix.lowerBound(q, i), lowerBoundExact(keys, q, i, 0, keys.n));
  assert.throws(() => pgmSolver.solve(keys, ctx({ 'pgm.epsilon': '0' })), SelfoptError);
  assert.throws(() => pgmSolver.solve(keys, ctx({ 'pgm.epsilon': 'abc' })), SelfoptError);
  assert.throws(() => rmiSolver.solve(keys, ctx({ 'rmi.root': 'quadratic' })), SelfoptError);
  assert.throws(() => rmiSolver.solve(keys, ctx({ 'rmi.branching': '0' })), SelfoptError);
  assert.throws(() => rmiSolver.solve(keys, ctx({ 'rmi.branching': '1.5' })), SelfoptError);
  assert.throws(() => radixSplineSolver.solve(keys, ctx({ 'rs.radixBits': '40' })), SelfoptError);
});

test('window search: exact for any window and any prediction, including windows that miss the answer', () => {
  const rng = new Rng(14);
  // Forms U32, S and Halves (keys.ts): uint32 duplicates, uint64 duplicates, 64-bit keys near 2^60, near 2^64.
  const dup32 = Uint32Array.from(duplicates(rng, 2000).map(Number));
  const sets = [fromUint32(dup32), u64(duplicates(rng, 2000)), u64(nearTwo60(rng, 2000)), u64(uniform(rng, 2000, 2 ** 50)), u64(nearTop(rng, 2000))];
  assert.deepEqual(sets.map((k) => k.form), [KeyForm.U32, KeyForm.S, KeyForm.S, KeyForm.S, KeyForm.Halves]);
  for (const keys of sets) {
    const q = queriesFor(rng, keys);
    const mode = windowModeOf(keys);
    for (let i = 0; i < q.n; i++) {
      const want = lowerBoundExact(keys, q, i, 0, keys.n);
      const c = rng.nextU32() % (keys.n + 1);
      const w = rng.nextU32() % 40;
      // The prediction anywhere in or around the window (it is clamped into it).
      const P = c - w - 2 + (rng.nextU32() % (2 * w + 5));
      assert.equal(searchWindow(mode, keys, q, i, c - w, c + w + 1, P), want);
      assert.equal(searchWindow(mode, keys, q, i, want - 3, want + 4, want - 3 + (rng.nextU32() % 7)), want);
      assert.equal(searchWindow(mode, keys, q, i, want - 40, want + 1, want), want);
    }
  }
});
