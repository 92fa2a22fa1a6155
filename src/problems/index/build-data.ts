/**
 * Builders of the real key sets from the registries they came from (Debian's packages, npm), so a
 * machine without ../shared/data makes the same files: `selfopt data build index/<name>`. Each
 * follows the derivation that shared/data/index/PROVENANCE.md gives in words, checks what it
 * reads, and says when its source is not the one our files were made from (the result may differ).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SelfoptError } from '../../core/errors.js';
import { runSourceTool } from '../../core/data.js';
import { inTempDir } from '../../core/files.js';
import type { DatasetBuilder } from '../../core/problem.js';
import { fromBigUint64, fromFloat64, fromUint32 } from './keys.js';
import { NetcdfClassic, binnedVertices } from './gshhg.js';
import { s2LeafCellIds } from './s2-cell.js';
import { writeSosd } from './instances.js';

/** Debian tor-geoipdb's tables: `low,high,country` a line (IPv4 as decimal integers, IPv6 as addresses), `#` comments. */
export const TOR_GEOIP = '/usr/share/tor/geoip';
export const TOR_GEOIP6 = '/usr/share/tor/geoip6';

/** The sha256 prefixes of the tables our files were made from (tor-geoipdb 0.4.9.11-0+deb12u1; PROVENANCE.md). */
const GEOIP_SHA256 = { [TOR_GEOIP]: 'af9ccd06', [TOR_GEOIP6]: '23931246' };

/** vega-datasets' 3M-row flights table: its version and the sha1 of the parquet file (PROVENANCE.md). */
const VEGA = { spec: 'vega-datasets@3.2.1', file: 'package/data/flights-3m.parquet', sha1: 'e02e6d99a8c2c0e71e515b1d66403aaf9d3a2172' };

/** The data lines of a tor geoip table, each with its 1-based line number. */
function* geoipLines(text: string): Generator<[string, number]> {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line !== '' && !line.startsWith('#')) yield [line, i + 1];
  }
}

/** The distinct range starts of a tor IPv4 geoip table (`where` names it in errors), sorted. */
export function ipv4RangeStarts(text: string, where: string): Uint32Array {
  const starts: number[] = [];
  for (const [line, no] of geoipLines(text)) {
    const first = line.split(',')[0]!;
    const v = /^\d+$/.test(first) && line.includes(',') ? Number(first) : NaN;
    if (!(v <= 0xffffffff)) throw new SelfoptError(`'${first}' is not an IPv4 address as a decimal integer`, `${where}, line ${no}`, 'lines `low,high,country` with low and high in [0, 2^32)');
    starts.push(v);
  }
  return distinctSorted(Uint32Array.from(starts));
}

/** The upper 64 bits of the distinct range starts of a tor IPv6 geoip table, sorted. */
export function ipv6RangeStartsHi64(text: string, where: string): BigUint64Array {
  const starts: bigint[] = [];
  for (const [line, no] of geoipLines(text)) {
    if (!line.includes(',')) throw new SelfoptError(`'${line}' is not a range`, `${where}, line ${no}`, 'lines `low,high,country`');
    starts.push(ipv6High64(line.split(',')[0]!, `${where}, line ${no}`));
  }
  return distinctSorted(BigUint64Array.from(starts));
}

/** The upper 64 bits (the first four groups) of an IPv6 address in RFC 5952 text (`::` allowed once). */
export function ipv6High64(addr: string, where: string): bigint {
  const bad = () => new SelfoptError(`'${addr}' is not an IPv6 address`, where, 'eight groups of 1-4 hex digits separated by colons, one :: for a run of zero groups');
  const halves = addr.split('::');
  if (halves.length > 2) throw bad();
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const left = groups(halves[0]!), right = halves.length === 2 ? groups(halves[1]!) : [];
  const zeros = 8 - left.length - right.length;
  if (halves.length === 2 ? zeros < 1 : zeros !== 0) throw bad();
  const all = [...left, ...Array<string>(zeros).fill('0'), ...right];
  let hi = 0n;
  for (const g of all.slice(0, 4)) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw bad();
    hi = (hi << 16n) | BigInt(parseInt(g, 16));
  }
  for (const g of all.slice(4)) if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw bad();
  return hi;
}

function distinctSorted<T extends Uint32Array | BigUint64Array | Float64Array>(a: T): T {
  a.sort();
  let m = 0;
  for (let i = 0; i < a.length; i++) if (i === 0 || a[i] !== a[m - 1]) a[m++] = a[i]!;
  return a.slice(0, m) as T;
}

/**
 * The bytes of the source file `path`, refused with what to install when absent, and a note when
 * its sha256 does not begin with `sha256` (PROVENANCE.md's): another version than our files were
 * made from, so the keys will differ.
 */
function readSource(path: string, sha256: string, install: string, log: (line: string) => void): Buffer {
  if (!existsSync(path)) throw new SelfoptError(`${path} not found`, 'selfopt data build', `${install} installed`);
  const bytes = readFileSync(path);
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (!sha.startsWith(sha256)) log(`note: ${path} (sha256 ${sha.slice(0, 8)}…) is another version than our files were made from (sha256 ${sha256}…): the keys will differ`);
  return bytes;
}

function readGeoip(path: typeof TOR_GEOIP | typeof TOR_GEOIP6, log: (line: string) => void): string {
  return readSource(path, GEOIP_SHA256[path], "Debian's tor-geoipdb (apt-get install tor-geoipdb)", log).toString('utf8');
}

export const ipv4Builder: DatasetBuilder = {
  needs: 'apt-get install tor-geoipdb',
  build(path, log) {
    const keys = ipv4RangeStarts(readGeoip(TOR_GEOIP, log), TOR_GEOIP);
    writeSosd(path, fromUint32(keys));
    log(`${keys.length} distinct IPv4 range starts`);
  },
};

export const ipv6Builder: DatasetBuilder = {
  needs: 'apt-get install tor-geoipdb',
  build(path, log) {
    const keys = ipv6RangeStartsHi64(readGeoip(TOR_GEOIP6, log), TOR_GEOIP6);
    writeSosd(path, fromBigUint64(keys));
    log(`${keys.length} distinct upper halves of IPv6 range starts`);
  },
};

/**
 * Column `date` of a flights parquet file (TIMESTAMP, minute resolution, no time zone) as unix
 * seconds read as UTC, sorted, duplicates kept. DuckDB (the results store's engine) reads parquet.
 */
export async function flightTimestamps(parquet: string): Promise<BigUint64Array> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  try {
    const file = parquet.replaceAll("'", "''");
    const nulls = (await c.runAndReadAll(`select count(*) - count(date) from read_parquet('${file}')`)).getColumns()[0]![0];
    if (nulls !== 0n) throw new SelfoptError(`${nulls} rows have no date`, parquet, 'a date in every row');
    const col = (await c.runAndReadAll(`select epoch_us(date) // 1000000 from read_parquet('${file}') order by 1`)).getColumns()[0]!;
    return BigUint64Array.from(col as bigint[]);
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

export const flightsBuilder: DatasetBuilder = {
  needs: `the npm registry (npm pack ${VEGA.spec})`,
  async build(path, log) {
    await inTempDir('selfopt-vega-', async (dir) => {
      log(`npm pack ${VEGA.spec}`);
      const doing = `fetch ${VEGA.file} of ${VEGA.spec}`, needs = 'the npm registry reachable by npm';
      // one retry, 30 s a try: offline, npm's defaults wait over a minute before failing. npm's own
      // reason is its `npm error code ...` and message lines, not the pointer to its log file.
      runSourceTool('npm', ['pack', VEGA.spec, '--pack-destination', dir, '--fetch-retries=1', '--fetch-timeout=30000'], doing, needs,
        (stderr) => stderr.split('\n').filter((l) => /^npm error /.test(l) && !/complete log of this run/.test(l)).map((l) => l.slice(10)).slice(0, 2).join('; ') || undefined);
      runSourceTool('tar', ['-xzf', join(dir, 'vega-datasets-3.2.1.tgz'), '-C', dir, VEGA.file], `unpack ${VEGA.file} from the package`, 'tar installed (apt-get install tar) and a whole package from npm');
      const parquet = join(dir, VEGA.file);
      const sha1 = createHash('sha1').update(readFileSync(parquet)).digest('hex');
      if (sha1 !== VEGA.sha1) throw new SelfoptError(`${VEGA.file} has sha1 ${sha1}`, VEGA.spec, `sha1 ${VEGA.sha1}, the file our set was made from`);
      const keys = await flightTimestamps(parquet);
      writeSosd(path, fromBigUint64(keys));
      log(`${keys.length} departure times`);
    });
  },
};

/** GMT's full-resolution binned coastlines, rivers and borders (Debian gmt-gshhg-full 2.3.7), with their sha256 prefixes. */
const GSHHG_FILES: [string, string][] = [['binned_GSHHS_f.nc', '3b0c146b'], ['binned_river_f.nc', '1e0f34b0'], ['binned_border_f.nc', '2c56007e']]
  .map(([f, sha]) => [`/usr/share/gmt-gshhg/${f}`, sha] as [string, string]);

/**
 * Every vertex of the three GSHHG files (14,353,294). They are netCDF-4, so Debian's `nccopy`
 * rewrites each as a classic netCDF file first, which NetcdfClassic reads.
 */
async function gshhgVertices(log: (line: string) => void): Promise<{ lon: Float64Array; lat: Float64Array }> {
  for (const [f, sha] of GSHHG_FILES) readSource(f, sha, "Debian's gmt-gshhg-full (apt-get install gmt-gshhg-full netcdf-bin)", log);
  return inTempDir('selfopt-gshhg-', async (dir) => {
    const parts = GSHHG_FILES.map(([f], k) => {
      const classic = join(dir, `${k}.nc`);
      runSourceTool('nccopy', ['-k', '64-bit-offset', f, classic], `convert ${f} to classic netCDF`, "Debian's netcdf-bin installed (apt-get install netcdf-bin)");
      const v = binnedVertices(NetcdfClassic.read(classic));
      log(`${f}: ${v.lon.length} vertices`);
      return v;
    });
    const n = parts.reduce((a, p) => a + p.lon.length, 0);
    const lon = new Float64Array(n), lat = new Float64Array(n);
    let at = 0;
    for (const p of parts) { lon.set(p.lon, at); lat.set(p.lat, at); at += p.lon.length; }
    return { lon, lat };
  });
}

export const s2CellIdsBuilder: DatasetBuilder = {
  needs: 'apt-get install gmt-gshhg-full netcdf-bin',
  async build(path, log) {
    const { lon, lat } = await gshhgVertices(log);
    // the vertices' level-30 cells, sorted and distinct, then every 2nd (as SOSD's downsample.py, d[::2])
    const ids = distinctSorted(s2LeafCellIds(lat, lon));
    const kept = new BigUint64Array(Math.ceil(ids.length / 2));
    for (let k = 0; k < kept.length; k++) kept[k] = ids[2 * k]!;
    writeSosd(path, fromBigUint64(kept));
    log(`${ids.length} distinct S2 cell ids, every 2nd kept: ${kept.length}`);
  },
};

export const longitudesBuilder: DatasetBuilder = {
  needs: 'apt-get install gmt-gshhg-full netcdf-bin',
  async build(path, log) {
    const keys = distinctSorted((await gshhgVertices(log)).lon);
    writeSosd(path, fromFloat64(keys));
    log(`${keys.length} distinct longitudes`);
  },
};

/** The builders of the index sets, by relPath (index.ts gives them to DATASETS). */
export const BUILDERS: Record<string, DatasetBuilder> = {
  'index/gshhg_s2cellids_6.9M_uint64': s2CellIdsBuilder,
  'index/gshhg_lon_4.3M_f64': longitudesBuilder,
  'index/flights_ts_3M_uint64': flightsBuilder,
  'index/ipv4_range_starts_386K_uint32': ipv4Builder,
  'index/ipv6_range_starts_hi64_269K_uint64': ipv6Builder,
};
