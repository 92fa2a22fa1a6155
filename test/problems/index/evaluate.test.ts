import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../../src/core/rng.js';
import { DataPath } from '../../../src/core/data.js';
import { SelfoptError } from '../../../src/core/errors.js';
import type { EvalContext } from '../../../src/core/problem.js';
import { evaluateIndex, METRICS } from '../../../src/problems/index/evaluate.js';
import { BinarySearchIndex, classicalSolvers } from '../../../src/problems/index/heuristics.js';
import { generateKeys, writeSosd } from '../../../src/problems/index/instances.js';
import { compareKeys, fromUint32, lowerBoundExact, type KeySet } from '../../../src/problems/index/keys.js';
import type { SearchIndex } from '../../../src/problems/index/search-index.js';
import { absentLookups, existingLookups, rangeScans } from '../../../src/problems/index/workloads.js';
import { indexProblem } from '../../../src/problems/index/index.js';
import { tempDir } from '../../tmp.js';

/** Small batches so that a whole evaluation takes milliseconds. */
function evalCtx(seed = 1, options: Record<string, string> = {}): EvalContext {
  return { seed, rng: new Rng(seed), quick: true, options: { lookups: '200', rounds: '3', ...options }, solveMs: 1.5 };
}

const keys = generateKeys({ dist: 'lognormal', n: 20000, type: 'uint64', seed: 42, dup: 3 });

class OffByOne implements SearchIndex {
  private readonly inner: BinarySearchIndex;
  constructor(k: KeySet) { this.inner = new BinarySearchIndex(k); }
  lowerBound(q: KeySet, i: number): number { return this.inner.lowerBound(q, i) + 1; }
  sizeBytes(): number { return 0; }
}

/** Right on every key in the set, wrong (returns n) on keys that are not. */
class WrongWhenAbsent implements SearchIndex {
  constructor(private readonly k: KeySet) {}
  lowerBound(q: KeySet, i: number): number {
    const p = lowerBoundExact(this.k, q, i, 0, this.k.n);
    return p < this.k.n && compareKeys(this.k, p, q, i) === 0 ? p : this.k.n;
  }
  sizeBytes(): number { return 0; }
}

/** A correct index with a model that is always 3 positions off. */
class ModelOffByThree implements SearchIndex {
  private readonly inner: BinarySearchIndex;
  constructor(k: KeySet) { this.inner = new BinarySearchIndex(k); }
  lowerBound(q: KeySet, i: number): number { return this.inner.lowerBound(q, i); }
  predict(q: KeySet, i: number): number { return this.inner.lowerBound(q, i) + 3; }
  sizeBytes(): number { return 1234; }
}

test('the evaluator catches an off-by-one index, naming the index, the key and both positions', () => {
  assert.throws(() => evaluateIndex(keys, new OffByOne(keys), evalCtx()), (e: unknown) => {
    assert.ok(e instanceof SelfoptError);
    assert.match(e.message, /OffByOne returned position \d+ for the existing-key lookup of \d+/);
    assert.match(e.message, /expected position \d+, the first position whose key is >= the query/);
    return true;
  });
});

test('the evaluator catches an index that is wrong only on absent keys', () => {
  assert.throws(() => evaluateIndex(keys, new WrongWhenAbsent(keys), evalCtx()), /WrongWhenAbsent returned position 20000 for the absent-key lookup/);
});

/**
 * Wrong only on the existing-key queries that the first round times as lower bounds alone: with
 * evalCtx's Q = 200 lookups, W = 4 warm-up slices and R = 3 rounds, the existing workload holds
 * (W + 4R) Q = 3,200 queries and round 0 times the lower bound alone on [(W + 2) Q, (W + 4) Q).
 */
class WrongInBoundRound implements SearchIndex {
  private readonly inner: BinarySearchIndex;
  constructor(k: KeySet) { this.inner = new BinarySearchIndex(k); }
  lowerBound(q: KeySet, i: number): number {
    const p = this.inner.lowerBound(q, i);
    return q.n === 3200 && i >= 1200 && i < 1600 ? p + 1 : p;
  }
  sizeBytes(): number { return 0; }
}

test('the lower-bound-alone rounds check every answer too', () => {
  assert.throws(() => evaluateIndex(keys, new WrongInBoundRound(keys), evalCtx()), /WrongInBoundRound returned position \d+ for the existing-key lookup/);
});

test('the evaluator rejects a solution that is not a SearchIndex, and an empty key set', () => {
  assert.throws(() => evaluateIndex(keys, { lookup: () => 0 }, evalCtx()), SelfoptError);
  const empty = fromUint32(new Uint32Array(0));
  assert.throws(() => evaluateIndex(empty, new BinarySearchIndex(empty), evalCtx()), /empty key set/);
  assert.throws(() => evaluateIndex(keys, new BinarySearchIndex(keys), evalCtx(1, { rounds: 'many' })), /option rounds=many/);
});

test('every classical index gets every declared metric that applies, all finite', () => {
  const declared = METRICS.map((m) => m.name);
  for (const s of classicalSolvers) {
    const index = s.solve(keys, { seed: 1, rng: new Rng(1), quick: true, options: {} }) as SearchIndex;
    const m = evaluateIndex(keys, index, evalCtx());
    for (const [name, v] of Object.entries(m)) {
      assert.ok(declared.includes(name), `${name} declared`);
      assert.ok(Number.isFinite(v), `${s.info.name} ${name} = ${v}`);
    }
    for (const name of ['lookup_ns', 'absent_lookup_ns', 'range_scan_ns', 'speedup_vs_bs', 'lower_bound_ns', 'lb_speedup_vs_bs', 'build_ms', 'index_bytes']) {
      assert.ok(name in m, `${s.info.name} has ${name}`);
    }
    assert.ok(m.lookup_ns! > 0 && m.speedup_vs_bs! > 0 && m.lower_bound_ns! > 0 && m.lb_speedup_vs_bs! > 0);
    assert.equal(m.build_ms, 1.5);
    // No model, so no model error (omitted, never NaN).
    assert.ok(!('avg_model_error' in m) && !('max_model_error' in m));
  }
});

test('model error is |predict - true position| over the existing-key lookups', () => {
  const m = evaluateIndex(keys, new ModelOffByThree(keys), evalCtx());
  assert.equal(m.avg_model_error, 3);
  assert.equal(m.max_model_error, 3);
  assert.equal(m.index_bytes, 1234);
});

test('workloads: deterministic per seed; existing keys are in the set, absent keys are not; ranges are ordered', () => {
  const a = existingLookups(keys, 500, new Rng(3));
  const b = existingLookups(keys, 500, new Rng(3));
  assert.deepEqual(a.queries.lo, b.queries.lo);
  assert.deepEqual(a.expected, b.expected);
  for (let i = 0; i < a.queries.n; i++) assert.equal(compareKeys(keys, a.expected[i]!, a.queries, i), 0);
  for (const k of [keys, generateKeys({ dist: 'uniform_sparse', n: 5000, type: 'uint64', seed: 42, dup: 1 })]) {
    const ab = absentLookups(k, 2000, new Rng(4));
    let below = 0, above = 0;
    for (let i = 0; i < ab.queries.n; i++) {
      const p = ab.expected[i]!;
      if (p < k.n) assert.notEqual(compareKeys(k, p, ab.queries, i), 0, 'absent key found in the set');
      if (p === 0) below++;
      if (p === k.n) above++;
    }
    // The lognormal set starts at key 0, so nothing lies below it; the sparse set has room on both sides.
    if (k === keys) assert.ok(below === 0 && above > 150, `lognormal: below ${below}, above ${above}`);
    else assert.ok(below > 50 && above > 50, `sparse: below ${below}, above ${above}`);
  }
  // Dense keys have no interior gap: every absent key is out of range.
  const dense = generateKeys({ dist: 'uniform_dense', n: 1000, type: 'uint32', seed: 42, dup: 1 });
  const dab = absentLookups(dense, 300, new Rng(5));
  assert.ok(Array.from(dab.expected).every((p) => p === 0 || p === dense.n));
  const r = rangeScans(keys, 300, 64, new Rng(6));
  for (let i = 0; i < r.starts.n; i++) assert.ok(r.expectedEnd[i]! >= r.expectedStart[i]!);
});

test('absent keys are found in a set whose only gap is rare among its rows and that spans its type', () => {
  // 0 and 2^32 - 1 leave no room outside; the one gap (between the two runs) is after 1 row in 200,
  // which 64 random rows missed about 3 times in 4: "no key absent from the set can be drawn".
  const ends = fromUint32(Uint32Array.from({ length: 200 }, (_, i) => (i < 100 ? 0 : 0xffffffff)));
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    const ab = absentLookups(ends, 50, new Rng(seed));
    for (let i = 0; i < ab.queries.n; i++) {
      assert.ok(ab.queries.lo[i]! > 0 && ab.queries.lo[i]! < 0xffffffff, `query ${ab.queries.lo[i]}`);
      assert.equal(ab.expected[i], 100);
    }
  }
});

test('the problem: registration, instances by id, dataset name or file path, and clear errors for unknown names', () => {
  const root = tempDir('selfopt-index-problem-');
  mkdirSync(join(root, 'index'));
  writeSosd(join(root, 'index', 'ipv4_range_starts_386K_uint32'), fromUint32(Uint32Array.from([1, 5, 9, 300])));
  const data = new DataPath({ dataDir: root, env: {}, cwd: root });
  const ctx = { data, quick: true };

  assert.equal(indexProblem.name, 'index');
  assert.equal(indexProblem.primaryMetric, 'speedup_vs_bs');
  assert.equal(indexProblem.maxConcurrency, 1);
  const names = indexProblem.solvers.map((s) => s.info.name);
  assert.equal(new Set(names).size, names.length);
  assert.ok(names.includes(indexProblem.baseline));
  for (const n of ['binary-search', 'branchless-binary-search', 'eytzinger', 'k-ary-search', 'radix-binary-search', 'btree']) assert.ok(names.includes(n), n);
  assert.ok(indexProblem.metrics.some((m) => m.name === indexProblem.primaryMetric));

  const ids = indexProblem.listInstances(ctx).map((r) => r.id);
  assert.deepEqual(ids, ['uniform_dense_200K_uint64', 'uniform_sparse_200K_uint64', 'normal_200K_uint64', 'lognormal_200K_uint64', 'ipv4_range_starts_386K_uint32']);
  assert.equal(indexProblem.listInstances({ data, quick: false })[0]!.id, 'uniform_dense_1M_uint64');

  const gen = indexProblem.resolveInstance('normal_dup2_3K_uint32', ctx);
  assert.equal(gen.source, 'generated');
  const loaded = indexProblem.load(gen) as KeySet;
  assert.equal(loaded.n, 3000);
  assert.equal(loaded.type, 'uint32');

  const real = indexProblem.resolveInstance('ipv4_range_starts_386K_uint32', ctx);
  assert.equal(real.source, 'real');
  assert.equal((indexProblem.load(real) as KeySet).n, 4);

  const file = join(root, 'mine_uint32');
  writeSosd(file, fromUint32(Uint32Array.from([3, 4])));
  const f = indexProblem.resolveInstance(file, ctx);
  assert.equal(f.source, 'file');
  assert.equal(f.id, 'mine_uint32');
  assert.equal((indexProblem.load(f) as KeySet).n, 2);

  assert.throws(() => indexProblem.resolveInstance('lognormal_1M_uint46', ctx), /unknown instance 'lognormal_1M_uint46' \(did you mean lognormal_1M_uint64\?\)/);
  assert.throws(() => indexProblem.resolveInstance('flights_ts_3M_uint64', ctx), /dataset 'flights_ts_3M_uint64' is not on the data path/);
  // A generated id that names no key set is refused by its own name: _dup0 was recorded as the
  // set without duplicates (lognormal_1K_uint64) and failed only when its cells ran, as did 0 keys.
  assert.throws(() => indexProblem.resolveInstance('lognormal_dup0_1K_uint64', ctx), /duplicate factor 0 \(at generated instance lognormal_dup0_1K_uint64\)/);
  assert.throws(() => indexProblem.resolveInstance('normal_0_uint64', ctx), /key count 0 \(at generated instance normal_0_uint64\); expected an integer in \[1, 2\^31\)/);
  assert.throws(() => indexProblem.resolveInstance('normal_5000M_uint64', ctx), /key count 5000000000 \(at generated instance normal_5000M_uint64\)/);
  const noSuffix = join(root, 'keys.bin');
  writeFileSync(noSuffix, new Uint8Array(8));
  assert.throws(() => indexProblem.resolveInstance(noSuffix, ctx), /cannot tell the key type of 'keys.bin'/);
  // a path that is no file says so (it was "unknown instance" and a list of every id)
  assert.throws(() => indexProblem.resolveInstance(join(root, 'nope_uint64'), ctx), new RegExp(`no such file '${join(root, 'nope_uint64')}' \\(at index instance\\)`));
  assert.throws(() => indexProblem.resolveInstance('./nope_uint64', ctx), /no such file '\.\/nope_uint64'/);
  assert.throws(() => indexProblem.resolveInstance('~/nope_uint64', ctx), /no such file '~\/nope_uint64' .*\(~ is not expanded here/);

  // The problem's evaluate is the evaluator.
  const small = indexProblem.load(indexProblem.resolveInstance('uniform_sparse_2000_uint64', ctx)) as KeySet;
  const m = indexProblem.evaluate(small, new BinarySearchIndex(small), evalCtx()) as Record<string, number>;
  assert.ok(m.lookup_ns! > 0);
});

test("a user's key file named as a dataset or a generated instance is refused; the dataset's own file is that dataset", () => {
  // /x/flights_ts_3M_uint64 (the user's own keys) was recorded as instance flights_ts_3M_uint64,
  // its rows among the real dataset's in the store and the report.
  const root = tempDir('selfopt-index-collide-');
  mkdirSync(join(root, 'index'));
  mkdirSync(join(root, 'mine'));
  const real = join(root, 'index', 'ipv4_range_starts_386K_uint32');
  writeSosd(real, fromUint32(Uint32Array.from([1, 5, 9, 300])));
  const ctx = { data: new DataPath({ dataDir: root, env: {}, cwd: root }), quick: true };
  const other = join(root, 'mine', 'ipv4_range_starts_386K_uint32');
  writeSosd(other, fromUint32(Uint32Array.from([2, 3])));
  const refused = (name: string, pattern: RegExp) => assert.throws(() => indexProblem.resolveInstance(name, ctx), (e: unknown) => {
    assert.ok(e instanceof SelfoptError, String(e));
    assert.match(e.message, pattern);
    return true;
  });
  refused(other, new RegExp(`^key file ${other} has the name of dataset ipv4_range_starts_386K_uint32 but is another file than ${real} \\(at --instances \\(problem index\\)\\); expected a key file whose name is no dataset's \\(rename it, e\\.g\\. my_ipv4_range_starts_386K_uint32\\)`));
  // named as a dataset that is not on the data path: its rows would still meet the dataset's elsewhere
  const flights = join(root, 'mine', 'flights_ts_3M_uint64');
  writeSosd(flights, generateKeys({ dist: 'uniform_dense', n: 10, type: 'uint64', dup: 1, seed: 42 }));
  refused(flights, /has the name of dataset flights_ts_3M_uint64 \(not on the data path\).*--data DIR with the file at DIR\/index\/flights_ts_3M_uint64/);
  const gen = join(root, 'mine', 'normal_10_uint64');
  writeSosd(gen, generateKeys({ dist: 'normal', n: 10, type: 'uint64', dup: 1, seed: 42 }));
  refused(gen, /has the name of generated instance normal_10_uint64 .*rename it, e\.g\. my_normal_10_uint64/);
  // the dataset's file named by its path is the dataset, recorded as it always is
  const same = indexProblem.resolveInstance(join(root, 'mine', '..', 'index', 'ipv4_range_starts_386K_uint32'), ctx);
  assert.deepEqual(same, indexProblem.resolveInstance('ipv4_range_starts_386K_uint32', ctx));
  assert.equal(same.source, 'real');
});

test("a user's key file carries its size and content hash, in the cell's config hash", () => {
  // --resume took a changed key file for the one it recorded: its contents were in no hash.
  const root = tempDir('selfopt-index-contents-');
  const ctx = { data: new DataPath({ env: {}, cwd: root }), quick: true };
  const file = join(root, 'mine_uint32');
  writeSosd(file, fromUint32(Uint32Array.from([3, 4])));
  const a = indexProblem.resolveInstance(file, ctx);
  assert.match(a.contents ?? '', /^16 bytes, sha256 [0-9a-f]{16}$/);
  writeSosd(file, fromUint32(Uint32Array.from([3, 5])));
  const b = indexProblem.resolveInstance(file, ctx);
  assert.equal(a.id, b.id);
  assert.notEqual(a.contents, b.contents, 'same size, other bytes');
  assert.equal(indexProblem.resolveInstance('normal_10_uint64', ctx).contents, undefined, 'generated instances keep their hashes');
});

test("a user's key file that holds no keys is refused by its path before any cell; a file too short for the header is left to the loader", () => {
  // An empty SOSD file (count 0) failed only in its first cell, with "cannot time lookups on an
  // empty key set (at index problem evaluate, cell index/empty_uint64/...)", naming no file.
  const root = tempDir('selfopt-index-empty-');
  const ctx = { data: new DataPath({ env: {}, cwd: root }), quick: true };
  const empty = join(root, 'empty_uint64');
  writeSosd(empty, generateKeys({ dist: 'uniform_dense', n: 0, type: 'uint64', dup: 1, seed: 42 }));
  assert.throws(() => indexProblem.resolveInstance(empty, ctx), (e: unknown) => {
    assert.ok(e instanceof SelfoptError, String(e));
    assert.equal(e.message, `key file ${empty} holds no keys (its header's key count is 0) (at --instances (problem index)); expected a SOSD key file with at least one key (lookups need a key to find)`);
    return true;
  });
  // 0 bytes: no header to read here; loading it says what is wrong with the file, by its path.
  const short = join(root, 'short_uint64');
  writeFileSync(short, new Uint8Array(0));
  const ref = indexProblem.resolveInstance(short, ctx);
  assert.throws(() => indexProblem.load(ref), new RegExp(`file is 0 bytes, too short for the 8-byte key count \\(at ${short}, byte 0\\)`));
});
