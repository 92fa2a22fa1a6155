/**
 * Key sets for the learned-index problem: the SOSD binary format (loader and writer), SOSD's
 * synthetic generators, and the real sets found on the data path.
 *
 * SOSD format (learnedsystems/SOSD `util::load_data`): a little-endian uint64 key count, then the
 * keys, little-endian, sorted ascending. The key width comes from the file-name suffix:
 * `_uint32` (4 bytes per key; the header is still 8 bytes), `_uint64` or `_f64` (8 bytes).
 */
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { basename } from 'node:path';
import { endianness } from 'node:os';
import { SelfoptError } from '../../core/errors.js';
import { writeFileAtomic } from '../../core/files.js';
import { Rng } from '../../core/rng.js';
import type { Dataset } from '../../core/problem.js';
import { fromHalves, fromFloat64, firstUnsorted, showKey, type KeySet, type KeyType } from './keys.js';

const TWO32 = 4294967296;
/** Positions are stored in Int32Arrays (answers, tables), so a key set holds fewer than 2^31 keys. */
export const MAX_KEYS = 2147483647;

const WIDTH: Record<KeyType, number> = { uint32: 4, uint64: 8, f64: 8 };

/** The key type named by a SOSD file name's suffix, or undefined. */
export function sosdKeyType(path: string): KeyType | undefined {
  const name = basename(path);
  if (name.endsWith('_uint32')) return 'uint32';
  if (name.endsWith('_uint64')) return 'uint64';
  if (name.endsWith('_f64')) return 'f64';
  return undefined;
}

function requireKeyType(path: string): KeyType {
  const type = sosdKeyType(path);
  if (type === undefined) {
    throw new SelfoptError(`cannot tell the key type of '${basename(path)}' from its name`, path,
      'a SOSD key file whose name ends in _uint32, _uint64 or _f64 (e.g. books_200M_uint64)');
  }
  return type;
}

/** Loads a SOSD key file. Every malformed input is one SelfoptError saying what, where and what was expected. */
export function loadSosd(path: string): KeySet {
  if (endianness() !== 'LE') throw new SelfoptError('big-endian host', 'loadSosd', 'a little-endian machine (SOSD files are little-endian)');
  const type = requireKeyType(path);
  const width = WIDTH[type];
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new SelfoptError(`cannot read key file: ${(e as Error).message}`, path, 'a readable SOSD key file');
  }
  if (buf.length < 8) {
    throw new SelfoptError(`file is ${buf.length} bytes, too short for the 8-byte key count`, `${path}, byte 0`,
      'a little-endian uint64 key count, then the keys');
  }
  const count = headerCount(buf);
  const body = buf.length - 8;
  if (count > MAX_KEYS) {
    throw new SelfoptError(`key count ${count} in the header is absurd`, `${path}, byte 0 (header)`,
      `a count below 2^31 matching the file size (the ${body} bytes after the header would hold ` +
      `${Math.floor(body / 8)} 8-byte or ${Math.floor(body / 4)} 4-byte keys); is the 8-byte count header missing?`);
  }
  if (body !== count * width) {
    const fits: string[] = [];
    for (const t of ['uint32', 'uint64', 'f64'] as KeyType[]) {
      if (t !== type && WIDTH[t] !== width && count * WIDTH[t] === body) fits.push(`_${t} with count ${count}`);
    }
    const what = body < count * width
      ? `file is truncated: the header says ${count} ${type} keys (${count * width} bytes) but only ${body} bytes follow it ` +
        `(${count * width - body} bytes missing, about ${Math.ceil((count * width - body) / width)} of the keys)`
      : `file has ${body - count * width} bytes after the ${count} ${type} keys the header announces`;
    const hint = fits.length > 0 ? `; the size fits ${fits.join(' or ')}, so the file may be mislabeled` : '';
    throw new SelfoptError(what + hint, `${path}, byte ${8 + Math.min(body, count * width)}`,
      `8 + count x ${width} = ${8 + count * width} bytes for a _${type} file`);
  }
  const keys = decodeBody(buf, type, count, path);
  const bad = firstUnsorted(keys);
  if (bad >= 0) {
    throw new SelfoptError(
      `keys are not sorted ascending: key ${bad - 1} is ${showKey(keys, bad - 1)} but key ${bad} is ${showKey(keys, bad)}`,
      `${path}, key position ${bad} (byte ${8 + bad * width})`,
      `keys sorted ascending (duplicates allowed${type === 'f64' ? '; -0 before +0, as their bits order them' : ''})`);
  }
  return keys;
}

/** The key count of a SOSD header, read as two 32-bit words: no BigInt, exact up to 2^53. */
function headerCount(header: Buffer): number {
  return header.readUInt32LE(0) + header.readUInt32LE(4) * TWO32;
}

/**
 * The key count a SOSD file's header announces, from its first 8 bytes alone (a file of 200M keys
 * is not read), or undefined when the file is shorter than the header (loadSosd says why).
 */
export function sosdHeaderKeyCount(path: string): number | undefined {
  const header = Buffer.alloc(8);
  const fd = openSync(path, 'r');
  try {
    return readSync(fd, header, 0, 8, 0) === 8 ? headerCount(header) : undefined;
  } finally {
    closeSync(fd);
  }
}

function decodeBody(buf: Buffer, type: KeyType, n: number, path: string): KeySet {
  // A large file gets its own ArrayBuffer at offset 0, so the body is aligned and can be viewed
  // in place; copy only when it is not.
  const start = buf.byteOffset + 8;
  const aligned = start % 8 === 0;
  const ab = aligned ? buf.buffer : buf.buffer.slice(start, start + n * WIDTH[type]);
  const off = aligned ? start : 0;
  if (type === 'uint32') {
    const lo = new Uint32Array(n);
    lo.set(new Uint32Array(ab, off, n));
    return fromHalves('uint32', new Uint32Array(n), lo);
  }
  const words = new Uint32Array(ab, off, 2 * n);
  if (type === 'uint64') {
    const hi = new Uint32Array(n);
    const lo = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      lo[i] = words[2 * i]!;
      hi[i] = words[2 * i + 1]!;
    }
    return fromHalves('uint64', hi, lo);
  }
  for (let i = 0; i < n; i++) {
    const h = words[2 * i + 1]!;
    if ((h & 0x7ff00000) === 0x7ff00000 && ((h & 0xfffff) !== 0 || words[2 * i]! !== 0)) {
      throw new SelfoptError(`key ${i} is NaN`, `${path}, key position ${i} (byte ${8 + 8 * i})`, 'finite or infinite doubles, never NaN (NaN has no order)');
    }
  }
  return fromFloat64(new Float64Array(ab, off, n));
}

/** The SOSD bytes of a key set: uint64 count, then the keys in the set's own width. */
export function encodeSosd(keys: KeySet): Uint8Array {
  const width = WIDTH[keys.type];
  const out = new Uint8Array(8 + keys.n * width);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, keys.n, true);
  dv.setUint32(4, 0, true);
  for (let i = 0; i < keys.n; i++) {
    if (keys.type === 'uint32') {
      dv.setUint32(8 + 4 * i, keys.lo[i]!, true);
    } else if (keys.type === 'uint64') {
      dv.setUint32(8 + 8 * i, keys.lo[i]!, true);
      dv.setUint32(12 + 8 * i, keys.hi[i]!, true);
    } else {
      dv.setFloat64(8 + 8 * i, keys.x[i]!, true);
    }
  }
  return out;
}

/** Writes a SOSD key file atomically; the file name's suffix must match the key type. */
export function writeSosd(path: string, keys: KeySet): void {
  const type = requireKeyType(path);
  if (type !== keys.type) {
    throw new SelfoptError(`file name says _${type} but the keys are ${keys.type}`, path, `a name ending in _${keys.type}`);
  }
  writeFileAtomic(path, encodeSosd(keys));
}

// ---------------------------------------------------------------------------------------------
// Generators, as SOSD's gen_uniform.py and gen_norm.py define them.

export type Distribution = 'uniform_dense' | 'uniform_sparse' | 'normal' | 'lognormal';
export const DISTRIBUTIONS: readonly Distribution[] = ['uniform_dense', 'uniform_sparse', 'normal', 'lognormal'];

export interface GenSpec {
  dist: Distribution;
  n: number;
  type: 'uint32' | 'uint64';
  /** SOSD seeds its generators with 42. */
  seed: number;
  /**
   * Duplicates: 1 = none (SOSD's sets). k > 1 draws ceil(n/k) distinct keys from `dist`, then
   * gives each of the n rows one of them uniformly at random, so runs average k copies.
   */
  dup: number;
}

/**
 * Why `spec` names no key set that can be generated, as the error to throw at `where`, or
 * undefined. `minKeys` is 1 for an instance (lookups need a key), 0 for a test's empty set.
 */
export function genSpecDefect(spec: GenSpec, where: string, minKeys = 0): SelfoptError | undefined {
  const { n, dup } = spec;
  if (!(Number.isInteger(n) && n >= minKeys && n <= MAX_KEYS)) return new SelfoptError(`key count ${n}`, where, `an integer in [${minKeys}, 2^31)`);
  if (!(Number.isInteger(dup) && dup >= 1)) return new SelfoptError(`duplicate factor ${dup}`, where, 'an integer >= 1 (_dup2 and up; no _dup for distinct keys)');
  return undefined;
}

/** Generates a sorted key set (a test helper and the generated instances). */
export function generateKeys(spec: GenSpec): KeySet {
  const { dist, n, type, dup } = spec;
  const defect = genSpecDefect(spec, 'generateKeys');
  if (defect) throw defect;
  const rng = new Rng(spec.seed);
  const m = dup === 1 ? n : Math.ceil(n / dup);
  const hi = new Uint32Array(m);
  const lo = new Uint32Array(m);
  if (dist === 'uniform_dense') uniformDense(m, type, lo, hi);
  else if (dist === 'uniform_sparse') uniformSparse(m, type, rng, hi, lo);
  else quantileKeys(dist, m, type, hi, lo);
  if (dup === 1) return fromHalves(type, hi, lo);
  // Row r gets distinct key d[r]; counting the draws and emitting in order keeps rows sorted.
  const count = new Uint32Array(m);
  for (let r = 0; r < n; r++) count[rng.int(m)]!++;
  const H = new Uint32Array(n);
  const L = new Uint32Array(n);
  let r = 0;
  for (let d = 0; d < m; d++) {
    for (let c = count[d]!; c > 0; c--, r++) { H[r] = hi[d]!; L[r] = lo[d]!; }
  }
  return fromHalves(type, H, L);
}

/** 42 ... n+41 (SOSD starts dense keys at 42 so that none is 0). */
function uniformDense(n: number, type: 'uint32' | 'uint64', lo: Uint32Array, hi: Uint32Array): void {
  if (type === 'uint32' && n + 41 > TWO32 - 1) throw new SelfoptError(`${n} dense uint32 keys`, 'uniform_dense', 'n + 41 <= 2^32 - 1');
  for (let i = 0; i < n; i++) {
    const v = i + 42;
    hi[i] = Math.floor(v / TWO32);
    lo[i] = v >>> 0;
  }
}

/**
 * Uniform random keys in [0, 2^w - 2] (numpy's randint excludes its upper bound 2^w - 1), sorted.
 * SOSD keeps the rare duplicates; we redraw them so that the set has n distinct keys.
 */
function uniformSparse(n: number, type: 'uint32' | 'uint64', rng: Rng, hi: Uint32Array, lo: Uint32Array): void {
  if (type === 'uint32' && n > TWO32 / 2) throw new SelfoptError(`${n} sparse uint32 keys`, 'uniform_sparse', 'n <= 2^31 (distinct keys)');
  // Sorting a BigUint64Array is native and needs no BigInt per key; its words are (lo, hi) pairs.
  let have = 0;
  let vals = new BigUint64Array(n);
  while (have < n) {
    const words = new Uint32Array(vals.buffer);
    for (let i = have; i < n; i++) {
      if (type === 'uint32') {
        words[2 * i] = rng.int(TWO32 - 1);
        words[2 * i + 1] = 0;
      } else {
        let h: number, l: number;
        do { h = rng.nextU32(); l = rng.nextU32(); } while (h === 0xffffffff && l === 0xffffffff);
        words[2 * i] = l;
        words[2 * i + 1] = h;
      }
    }
    vals.sort();
    // Keep distinct values (compared as word pairs); redraw the rest in the next pass.
    let w = 0;
    for (let i = 0; i < n; i++) {
      const l = words[2 * i]!, h = words[2 * i + 1]!;
      if (w > 0 && l === words[2 * w - 2] && h === words[2 * w - 1]) continue;
      words[2 * w] = l;
      words[2 * w + 1] = h;
      w++;
    }
    have = w;
    if (have < n) {
      const next = new BigUint64Array(n);
      next.set(vals.subarray(0, have));
      vals = next;
    }
  }
  const words = new Uint32Array(vals.buffer);
  for (let i = 0; i < n; i++) { lo[i] = words[2 * i]!; hi[i] = words[2 * i + 1]!; }
}

/**
 * SOSD's normal and lognormal keys: the inverse CDF at the evenly spaced quantiles
 * i/(n+1), i = 1..n (numpy's linspace(0, 1, n+2)[1:-1]), min-max scaled to [0, 1], multiplied by
 * 2^63 - 1 (uint64) or 2^32 - 1 (uint32) in float64, then truncated to an integer. Lognormal is
 * lognormal(0, sigma=2) for uint64 and sigma=1 for uint32 (SOSD: sigma 2 gives too many uint32
 * duplicates). In float64 numpy's 2**63 - 1 rounds to 2^63, so the largest uint64 key is 2^63;
 * we reproduce that. The split into 32-bit halves is exact: every double >= 2^53 is an integer,
 * d / 2^32 is exact, and d - hi * 2^32 is an integer below 2^32, hence representable and exact.
 */
function quantileKeys(dist: 'normal' | 'lognormal', n: number, type: 'uint32' | 'uint64', hi: Uint32Array, lo: Uint32Array): void {
  if (n === 0) return;
  const sigma = type === 'uint64' ? 2 : 1;
  const step = 1 / (n + 1);
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const z = ndtri((i + 1) * step);
    v[i] = dist === 'normal' ? z : Math.exp(sigma * z);
  }
  // The inverse CDF is increasing, so the min is the first value and the max the last.
  const vmin = v[0]!, range = v[n - 1]! - v[0]!;
  const scale = type === 'uint64' ? 2 ** 63 : TWO32 - 1;
  for (let i = 0; i < n; i++) {
    const t = range > 0 ? (v[i]! - vmin) / range : 0;
    const d = Math.floor(t * scale);
    const h = Math.floor(d / TWO32);
    hi[i] = h;
    lo[i] = d - h * TWO32;
  }
}

/**
 * The standard normal inverse CDF: Wichura's algorithm AS 241 (PPND16, Applied Statistics 1988),
 * relative error about 1e-16, the same method as scipy's ndtri accuracy class.
 */
export function ndtri(p: number): number {
  const q = p - 0.5;
  if (Math.abs(q) <= 0.425) {
    const r = 0.180625 - q * q;
    return q * (((((((2509.0809287301226727 * r + 33430.575583588128105) * r + 67265.770927008700853) * r + 45921.953931549871457) * r + 13731.693765509461125) * r + 1971.5909503065514427) * r + 133.14166789178437745) * r + 3.387132872796366608)
      / (((((((5226.495278852545925 * r + 28729.085735721942674) * r + 39307.89580009271061) * r + 21213.794301586595867) * r + 5394.1960214247511077) * r + 687.1870074920579083) * r + 42.313330701600911252) * r + 1);
  }
  let r = Math.sqrt(-Math.log(q < 0 ? p : 1 - p));
  let v: number;
  if (r <= 5) {
    r -= 1.6;
    v = (((((((7.7454501427834140764e-4 * r + 0.0227238449892691845833) * r + 0.24178072517745061177) * r + 1.27045825245236838258) * r + 3.64784832476320460504) * r + 5.7694972214606914055) * r + 4.6303378461565452959) * r + 1.42343711074968357734)
      / (((((((1.05075007164441684324e-9 * r + 5.475938084995344946e-4) * r + 0.0151986665636164571966) * r + 0.14810397642748007459) * r + 0.68976733498510000455) * r + 1.6763848301838038494) * r + 2.05319162663775882187) * r + 1);
  } else {
    r -= 5;
    v = (((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r + 0.0012426609473880784386) * r + 0.026532189526576123093) * r + 0.29656057182850489123) * r + 1.7848265399172913358) * r + 5.4637849111641143699) * r + 6.6579046435011037772)
      / (((((((2.04426310338993978564e-15 * r + 1.4215117583164458887e-7) * r + 1.8463183175100546818e-5) * r + 7.868691311456132591e-4) * r + 0.0148753612908506148525) * r + 0.13692988092273580531) * r + 0.59983220655588793769) * r + 1);
  }
  return q < 0 ? -v : v;
}

// ---------------------------------------------------------------------------------------------
// Instance names.

/** `1M`, `200K`, `1500`: the size part of an instance id. */
export function formatCount(n: number): string {
  if (n >= 1e6 && n % 1e6 === 0) return `${n / 1e6}M`;
  if (n >= 1e3 && n % 1e3 === 0) return `${n / 1e3}K`;
  return String(n);
}

/** The id of a generated instance, e.g. `lognormal_1M_uint64`, `normal_dup8_200K_uint32`. */
export function generatedId(spec: Omit<GenSpec, 'seed'>): string {
  const dup = spec.dup > 1 ? `_dup${spec.dup}` : '';
  return `${spec.dist}${dup}_${formatCount(spec.n)}_${spec.type}`;
}

const GENERATED_ID = /^(uniform_dense|uniform_sparse|normal|lognormal)(?:_dup(\d+))?_(\d+(?:\.\d+)?)([KM]?)_(uint32|uint64)$/;

/** Parses a generated id (any size); undefined when the name is not one. */
export function parseGeneratedId(id: string): GenSpec | undefined {
  const m = GENERATED_ID.exec(id);
  if (!m) return undefined;
  const n = Math.round(Number(m[3]) * (m[4] === 'M' ? 1e6 : m[4] === 'K' ? 1e3 : 1));
  return { dist: m[1] as Distribution, dup: m[2] ? Number(m[2]) : 1, n, type: m[5] as 'uint32' | 'uint64', seed: 42 };
}

// ---------------------------------------------------------------------------------------------
// Real data (described in shared/data/index/PROVENANCE.md, summarized here in our own words).

export const DATASETS: Dataset[] = [
  {
    relPath: 'index/gshhg_s2cellids_6.9M_uint64',
    description: 'S2 leaf-cell ids of the GSHHG coastline, river and border vertices, every 2nd distinct id; a clustered, hard-to-fit set like SOSD osm_cellids',
    source: 'GSHHG 2.3.7 (Wessel & Smith), Debian package gmt-gshhg-full',
    license: 'LGPL-3+',
    obtain: 'apt-get install gmt-gshhg-full netcdf-bin; decode the binned_*_f.nc vertices, map each to its level-30 S2 cell id, sort, deduplicate, keep every 2nd (see PROVENANCE.md)',
  },
  {
    relPath: 'index/flights_ts_3M_uint64',
    description: 'departure times (unix seconds, minute resolution) of 3M US flights in 2001, duplicates kept (up to 103 per key); like SOSD wiki_ts',
    source: 'npm vega-datasets 3.2.1, data/flights-3m.parquet (US DOT / BTS)',
    license: 'BSD-3-Clause package; data collected under US DOT rules',
    obtain: 'npm pack vega-datasets@3.2.1; read column `date` of flights-3m.parquet, convert to unix seconds as UTC, sort, keep duplicates',
  },
  {
    relPath: 'index/gshhg_lon_4.3M_f64',
    description: 'every distinct vertex longitude of the GSHHG coastlines, rivers and borders (float64); like ALEX longitudes',
    source: 'GSHHG 2.3.7, Debian package gmt-gshhg-full',
    license: 'LGPL-3+',
    obtain: 'apt-get install gmt-gshhg-full netcdf-bin; decode the vertex longitudes, sort, deduplicate (see PROVENANCE.md)',
  },
  {
    relPath: 'index/ipv4_range_starts_386K_uint32',
    description: 'start addresses of the IPv4 ranges in the Tor geoip table',
    source: 'Debian package tor-geoipdb (/usr/share/tor/geoip), from the IPFire Location database',
    license: 'CC BY-SA 4.0 (IPFire)',
    obtain: 'apt-get install tor-geoipdb; take the first field of each line of /usr/share/tor/geoip, sort, deduplicate',
  },
  {
    relPath: 'index/ipv6_range_starts_hi64_269K_uint64',
    description: 'upper 64 bits of the IPv6 range starts in the Tor geoip6 table; many keys collide as doubles, a uint64 precision test',
    source: 'Debian package tor-geoipdb (/usr/share/tor/geoip6), from the IPFire Location database',
    license: 'CC BY-SA 4.0 (IPFire)',
    obtain: 'apt-get install tor-geoipdb; expand each range start of /usr/share/tor/geoip6, keep its upper 64 bits, sort, deduplicate',
  },
];
