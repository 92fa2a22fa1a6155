import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SelfoptError } from '../../../src/core/errors.js';
import { encodeSosd, formatCount, generateKeys, generatedId, loadSosd, ndtri, parseGeneratedId, writeSosd, type GenSpec } from '../../../src/problems/index/instances.js';
import { firstUnsorted, fromBigUint64, fromFloat64, fromUint32, keyAt, type KeySet } from '../../../src/problems/index/keys.js';
import { tempDir } from '../../tmp.js';

const dir = tempDir('selfopt-index-');

function sameKeys(a: KeySet, b: KeySet): void {
  assert.equal(a.type, b.type);
  assert.equal(a.n, b.n);
  assert.deepEqual(a.hi, b.hi);
  assert.deepEqual(a.lo, b.lo);
  assert.deepEqual(a.x, b.x);
  assert.equal(a.exactX, b.exactX);
}

/** A raw SOSD file: header count, then the given body bytes. */
function rawFile(name: string, count: number, body: Uint8Array): string {
  const out = new Uint8Array(8 + body.length);
  new DataView(out.buffer).setUint32(0, count % 4294967296, true);
  new DataView(out.buffer).setUint32(4, Math.floor(count / 4294967296), true);
  out.set(body, 8);
  const path = join(dir, name);
  writeFileSync(path, out);
  return path;
}

function throwsSelfopt(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof SelfoptError, `expected a SelfoptError, got ${String(e)}`);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

test('SOSD round trip for uint32, uint64 and f64 keys', () => {
  const u32 = fromUint32(Uint32Array.from([0, 1, 1, 7, 4294967295]));
  const u64 = fromBigUint64(BigUint64Array.from([0n, 5n, 2n ** 53n + 1n, 2n ** 60n + 3n, 2n ** 60n + 3n, 2n ** 64n - 1n]));
  const f64 = fromFloat64(Float64Array.from([-Infinity, -180, -1e-300, 0, 0.5, 179.99998, Infinity]));
  for (const [name, keys] of [['a_uint32', u32], ['b_uint64', u64], ['c_f64', f64]] as const) {
    const path = join(dir, name);
    writeSosd(path, keys);
    sameKeys(loadSosd(path), keys);
  }
  // The bytes are the SOSD layout: count, then the keys little-endian.
  const bytes = encodeSosd(u64);
  assert.equal(bytes.length, 8 + 6 * 8);
  const dv = new DataView(bytes.buffer);
  assert.equal(dv.getBigUint64(0, true), 6n);
  assert.equal(dv.getBigUint64(8 + 3 * 8, true), 2n ** 60n + 3n);
  // An empty file (count 0) is a valid, empty set.
  writeSosd(join(dir, 'empty_uint64'), fromBigUint64(new BigUint64Array(0)));
  assert.equal(loadSosd(join(dir, 'empty_uint64')).n, 0);
});

test('writeSosd refuses a name whose suffix does not match the key type', () => {
  throwsSelfopt(() => writeSosd(join(dir, 'x_uint32'), fromBigUint64(BigUint64Array.from([1n]))), /says _uint32 but the keys are uint64/);
});

test('bad key files: one clear error each, saying what, where and what was expected', () => {
  const keys4 = new Uint8Array(new Uint32Array([1, 2, 3, 4]).buffer);
  // Unknown suffix.
  throwsSelfopt(() => loadSosd(rawFile('keys.bin', 4, keys4)), /cannot tell the key type of 'keys.bin'/, /_uint32, _uint64 or _f64/);
  // Missing file.
  throwsSelfopt(() => loadSosd(join(dir, 'missing_uint64')), /cannot read key file/, /missing_uint64/);
  // Shorter than the header.
  const short = join(dir, 'short_uint64');
  writeFileSync(short, new Uint8Array(5));
  throwsSelfopt(() => loadSosd(short), /5 bytes, too short for the 8-byte key count/, /byte 0/);
  // uint32 keys in a file labelled _uint64: truncated for uint64, and the size fits _uint32.
  throwsSelfopt(() => loadSosd(rawFile('mislabeled_uint64', 4, keys4)), /truncated/, /size fits _uint32 with count 4/, /mislabeled/, /expected 8 \+ count x 8 = 40 bytes/);
  // uint64 keys labelled _uint32: trailing bytes, and the size fits _uint64 or _f64.
  const keys8 = new Uint8Array(new BigUint64Array([1n, 2n]).buffer);
  throwsSelfopt(() => loadSosd(rawFile('wide_uint32', 2, keys8)), /8 bytes after the 2 uint32 keys/, /size fits _uint64 with count 2 or _f64 with count 2/);
  // A truncated download: the last key is cut short.
  throwsSelfopt(() => loadSosd(rawFile('cut_uint64', 2, keys8.subarray(0, 13))), /truncated/, /3 bytes missing, about 1 of the keys/, /byte 21/);
  // An absurd count (e.g. a raw key dump with no header).
  throwsSelfopt(() => loadSosd(rawFile('huge_uint64', 2 ** 40, keys8)), /key count 1099511627776 in the header is absurd/, /header missing/);
  // Unsorted keys: the position and both keys.
  const unsorted = new Uint8Array(new BigUint64Array([1n, 5n, 2n ** 60n + 1n, 2n ** 60n]).buffer);
  throwsSelfopt(() => loadSosd(rawFile('unsorted_uint64', 4, unsorted)),
    /not sorted ascending: key 2 is 1152921504606846977 but key 3 is 1152921504606846976/, /key position 3 \(byte 32\)/);
  const f = new Uint8Array(new Float64Array([1, 2, NaN, 3]).buffer);
  throwsSelfopt(() => loadSosd(rawFile('nan_f64', 4, f)), /key 2 is NaN/, /key position 2 \(byte 24\)/);
  // +0 then -0 is sorted as doubles (std::sort may leave them so), but here -0 is the smaller key:
  // the message shows -0 as -0 (it said "key 1 is 0 but key 2 is 0") and says which comes first.
  const zeros = new Uint8Array(new Float64Array([-1, 0, -0, 1]).buffer);
  throwsSelfopt(() => loadSosd(rawFile('zeros_f64', 4, zeros)), /key 1 is 0 but key 2 is -0/, /-0 before \+0/);
});

test('generators are deterministic per seed, sorted, and of the stated size and type', () => {
  for (const dist of ['uniform_dense', 'uniform_sparse', 'normal', 'lognormal'] as const) {
    for (const type of ['uint32', 'uint64'] as const) {
      const spec: GenSpec = { dist, n: 5000, type, seed: 42, dup: 1 };
      const a = generateKeys(spec);
      sameKeys(a, generateKeys(spec));
      assert.equal(a.n, 5000);
      assert.equal(a.type, type);
      assert.equal(firstUnsorted(a), -1, `${dist} ${type} sorted`);
      if (type === 'uint32') assert.ok(a.hi.every((h) => h === 0));
      if (dist !== 'uniform_dense') {
        const distinct = new Set(Array.from({ length: a.n }, (_, i) => keyAt(a, i))).size;
        assert.equal(distinct, a.n, `${dist} ${type} keys distinct`);
      }
    }
  }
  const s1 = generateKeys({ dist: 'uniform_sparse', n: 1000, type: 'uint64', seed: 1, dup: 1 });
  const s2 = generateKeys({ dist: 'uniform_sparse', n: 1000, type: 'uint64', seed: 2, dup: 1 });
  assert.notDeepEqual(s1.lo, s2.lo);
});

test('generators follow SOSD: dense 42..n+41, quantile sets scaled to [0, 2^63] or [0, 2^32-1]', () => {
  const dense = generateKeys({ dist: 'uniform_dense', n: 1000, type: 'uint64', seed: 42, dup: 1 });
  assert.equal(keyAt(dense, 0), 42n);
  assert.equal(keyAt(dense, 999), 1041n);
  for (const dist of ['normal', 'lognormal'] as const) {
    const k64 = generateKeys({ dist, n: 10001, type: 'uint64', seed: 42, dup: 1 });
    assert.equal(keyAt(k64, 0), 0n);
    assert.equal(keyAt(k64, k64.n - 1), 2n ** 63n); // numpy's 2**63 - 1 is 2^63 as a double
    const k32 = generateKeys({ dist, n: 10001, type: 'uint32', seed: 42, dup: 1 });
    assert.equal(keyAt(k32, k32.n - 1), 4294967295n);
    // Shape: the normal set is symmetric, so its median key is near the middle of the range;
    // the lognormal set is skewed, so its median is far below the middle.
    const mid = Number(keyAt(k64, 5000)) / 2 ** 63;
    if (dist === 'normal') assert.ok(Math.abs(mid - 0.5) < 1e-9, `normal median ${mid}`);
    else assert.ok(mid < 0.01, `lognormal median ${mid}`);
  }
  // Sparse uniform keys spread over the whole 64-bit range: quartiles near 1/4, 1/2, 3/4 of 2^64.
  const sparse = generateKeys({ dist: 'uniform_sparse', n: 20000, type: 'uint64', seed: 42, dup: 1 });
  for (const q of [0.25, 0.5, 0.75]) {
    const v = Number(keyAt(sparse, Math.floor(q * sparse.n))) / 2 ** 64;
    assert.ok(Math.abs(v - q) < 0.02, `sparse quantile ${q}: ${v}`);
  }
  // The 64-bit keys are exact integers: the low bits are filled in below 2^53.
  const ln = generateKeys({ dist: 'lognormal', n: 1000, type: 'uint64', seed: 42, dup: 1 });
  assert.ok(Array.from(ln.lo).some((l) => (l & 1) === 1));
});

test('ndtri matches known quantiles of the standard normal', () => {
  assert.equal(ndtri(0.5), 0);
  assert.ok(Math.abs(ndtri(0.975) - 1.959963984540054) < 1e-15);
  assert.ok(Math.abs(ndtri(1e-9) + 5.997807015007687) < 1e-14);
  assert.ok(Math.abs(ndtri(1e-300) + 37.0470962993612) < 1e-12);
});

test('the duplicate parameter gives runs of equal keys averaging dup copies', () => {
  const k = generateKeys({ dist: 'lognormal', n: 8000, type: 'uint64', seed: 7, dup: 8 });
  assert.equal(k.n, 8000);
  assert.equal(firstUnsorted(k), -1);
  const distinct = new Set(Array.from({ length: k.n }, (_, i) => keyAt(k, i))).size;
  assert.ok(distinct <= 1000 && distinct > 900, `distinct ${distinct}`);
});

test('generated instance ids round-trip', () => {
  assert.equal(formatCount(1_000_000), '1M');
  assert.equal(formatCount(200_000), '200K');
  assert.equal(formatCount(1234), '1234');
  const id = generatedId({ dist: 'normal', n: 200_000, type: 'uint32', dup: 4 });
  assert.equal(id, 'normal_dup4_200K_uint32');
  assert.deepEqual(parseGeneratedId(id), { dist: 'normal', n: 200_000, type: 'uint32', dup: 4, seed: 42 });
  assert.equal(parseGeneratedId('lognormal_1M_uint64')?.n, 1_000_000);
  assert.equal(parseGeneratedId('lognormal_1M_f64'), undefined);
  assert.equal(parseGeneratedId('books_200M_uint64'), undefined);
});
