import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SelfoptError } from '../../../src/core/errors.js';
import { BUILDERS, TOR_GEOIP, flightTimestamps, ipv4RangeStarts, ipv4Builder, ipv6High64, ipv6RangeStartsHi64, longitudesBuilder } from '../../../src/problems/index/build-data.js';
import { loadSosd } from '../../../src/problems/index/instances.js';
import { keyAt } from '../../../src/problems/index/keys.js';
import { indexProblem } from '../../../src/problems/index/index.js';
import { tempDir } from '../../tmp.js';

const CLI = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));

test('the tor IPv4 table gives its distinct range starts, sorted; a bad line is named by its number', () => {
  const text = '# header\n#\n16777472,16778239,CN\n16777216,16777471,AU\n\n16777472,16777500,CN\n4294967040,4294967295,??\n';
  assert.deepEqual([...ipv4RangeStarts(text, 'geoip')], [16777216, 16777472, 4294967040]);
  assert.throws(() => ipv4RangeStarts('# c\n1,2,AU\n4294967296,4294967297,??\n', 'geoip'), (e: unknown) => e instanceof SelfoptError
    && /'4294967296' is not an IPv4 address as a decimal integer \(at geoip, line 3\)/.test(e.message));
  assert.throws(() => ipv4RangeStarts('1.2.3.4,1.2.3.5,AU\n', 'geoip'), /line 1/);
  assert.throws(() => ipv4RangeStarts('# c\n16777216\n', 'geoip'), /'16777216' is not an IPv4 address as a decimal integer \(at geoip, line 2\)/, 'a line without its range');
  assert.throws(() => ipv6RangeStartsHi64('2001::\n', 'geoip6'), /'2001::' is not a range \(at geoip6, line 1\)/);
});

test('IPv6 addresses give their upper 64 bits, with :: expanded wherever it stands', () => {
  assert.equal(ipv6High64('2001:4:112::', 'x'), 0x2001_0004_0112_0000n);
  assert.equal(ipv6High64('2001:0:ffff:ffff:ffff:ffff:ffff:ffff', 'x'), 0x2001_0000_ffff_ffffn);
  assert.equal(ipv6High64('::', 'x'), 0n);
  assert.equal(ipv6High64('::ffff:1:2', 'x'), 0n);
  assert.equal(ipv6High64('fe80::1:2:3:4:5:6', 'x'), 0xfe80_0000_0001_0002n);
  assert.equal(ipv6High64('FFFF:FFFF:FFFF:FFFF::', 'x'), 0xffff_ffff_ffff_ffffn);
  for (const bad of ['1::2::3', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', 'g::', '12345::', '1:2:3:4:5:6:7::8']) {
    assert.throws(() => ipv6High64(bad, 'geoip6, line 7'), (e: unknown) => e instanceof SelfoptError && e.message.includes(`'${bad}' is not an IPv6 address (at geoip6, line 7)`), bad);
  }
  // distinct upper halves, sorted, as uint64 (keys above 2^53 stay exact)
  const keys = ipv6RangeStartsHi64('# c\n2c0f:fff0::,2c0f:fff0:ffff::,NG\n2001:2::,2001:2:0:ffff::,JP\n2001:2::8000:0:0,2001:2::ffff:0:0,JP\n', 'geoip6');
  assert.deepEqual([...keys], [0x2001_0002_0000_0000n, 0x2c0f_fff0_0000_0000n]);
});

test('flight times: a parquet TIMESTAMP column read as UTC unix seconds, sorted, duplicates kept; a row without a date is refused', async () => {
  const dir = tempDir('selfopt-flights-');
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  const good = join(dir, 'good.parquet'), holes = join(dir, 'holes.parquet');
  await c.run(`copy (select * from (values (timestamp '2001-01-01 00:01:00', 5), (timestamp '2001-07-01 00:00:00', 1), (timestamp '2001-01-01 00:01:00', 2)) t(date, delay)) to '${good}' (format parquet)`);
  await c.run(`copy (select * from (values (timestamp '2001-01-01 00:01:00'), (null)) t(date)) to '${holes}' (format parquet)`);
  c.closeSync();
  db.closeSync();
  assert.deepEqual([...await flightTimestamps(good)], [978307260n, 978307260n, 993945600n]);
  await assert.rejects(flightTimestamps(holes), /1 rows have no date/);
});

test('the index problem offers its builders through its datasets; `selfopt data build` refuses a name it cannot build, before building anything; `all` names every builder', async () => {
  const built = indexProblem.datasets.filter((d) => d.build).map((d) => d.relPath).sort();
  assert.deepEqual(built, Object.keys(BUILDERS).sort());
  assert.ok(built.includes('index/ipv4_range_starts_386K_uint32'));
  const dir = tempDir('selfopt-databuild-');
  const run = (...args: string[]) => spawnSync(process.execPath, [CLI, 'data', 'build', ...args, '--data', dir], { encoding: 'utf8' });
  const typo = run('ipv4_range_starts_386K_uint3');
  assert.equal(typo.status, 2);
  assert.match(typo.stderr, /^selfopt: error: unknown dataset 'ipv4_range_starts_386K_uint3' \(did you mean ipv4_range_starts_386K_uint32\?\)/);
  assert.match(run('index/flight_ts_3M_uint64').stderr, /\(did you mean index\/flights_ts_3M_uint64\?\)/);
  const noBuilder = run('ipv4_range_starts_386K_uint32', 'tpch_json');
  assert.equal(noBuilder.status, 2);
  assert.match(noBuilder.stderr, /dataset scheduling\/tpch_json has no builder yet/);
  assert.equal(existsSync(join(dir, 'index')), false, 'nothing was built');
  // `all` names every dataset that has a builder (here all are present already, so none is built again)
  const { problems } = await import('../../../src/problems/all.js');
  const every = problems.flatMap((p) => p.datasets).filter((d) => d.build).map((d) => d.relPath);
  for (const rel of every) { mkdirSync(dirname(join(dir, rel)), { recursive: true }); writeFileSync(join(dir, rel), ''); }
  const all = run('all');
  assert.equal(all.status, 0, all.stderr);
  assert.deepEqual(all.stderr.trim().split('\n').map((l) => l.split(':')[0]), every);
  assert.ok(all.stderr.trim().split('\n').every((l) => l.includes('already at')));
});

test('with Debian\'s tor-geoipdb installed, `selfopt data build` writes the IPv4 set into --data, once unless --force', { skip: !existsSync(TOR_GEOIP) && 'tor-geoipdb is not installed' }, () => {
  const dir = tempDir('selfopt-ipv4-cli-');
  const build = (...more: string[]) => spawnSync(process.execPath, [CLI, 'data', 'build', 'ipv4_range_starts_386K_uint32', '--data', dir, ...more], { encoding: 'utf8', cwd: dir });
  const first = build();
  assert.equal(first.status, 0, first.stderr);
  const path = join(dir, 'index', 'ipv4_range_starts_386K_uint32');
  assert.ok(first.stderr.includes(`wrote ${path}`), first.stderr);
  assert.ok(!existsSync(join(dir, 'data')), 'not into ./data when --data is given');
  assert.match(build().stderr, /already at .*--force builds it again/);
  assert.match(build('--force').stderr, /wrote /);
});

test('with Debian\'s tor-geoipdb installed, the IPv4 set builds and loads: distinct, sorted 32-bit keys', { skip: !existsSync(TOR_GEOIP) && 'tor-geoipdb is not installed' }, async () => {
  const dir = tempDir('selfopt-ipv4-');
  const path = join(dir, 'ipv4_range_starts_386K_uint32');
  const log: string[] = [];
  await ipv4Builder.build(path, (l) => log.push(l));
  const keys = loadSosd(path); // refuses unsorted keys
  assert.ok(keys.n > 100_000, `${keys.n} keys`);
  for (let i = 1; i < keys.n; i++) assert.ok(keyAt(keys, i) > keyAt(keys, i - 1), `distinct at ${i}`);
  assert.match(log.at(-1)!, new RegExp(`^${keys.n} distinct IPv4 range starts$`));
});

const gshhg = existsSync('/usr/share/gmt-gshhg/binned_GSHHS_f.nc') && spawnSync('nccopy', [], { encoding: 'utf8' }).error === undefined;
test('with Debian\'s gmt-gshhg-full and netcdf-bin installed, the longitude set builds: every vertex of the three files, distinct and sorted', { skip: !gshhg && 'gmt-gshhg-full or netcdf-bin is not installed' }, async () => {
  const dir = tempDir('selfopt-lon-');
  const path = join(dir, 'gshhg_lon_4.3M_f64');
  const log: string[] = [];
  await longitudesBuilder.build(path, (l) => log.push(l));
  assert.deepEqual(log.slice(0, 3).map((l) => Number(/: (\d+) vertices$/.exec(l)?.[1])), [10_995_687, 2_565_425, 792_182]);
  const keys = loadSosd(path);
  assert.equal(keys.n, 4_262_795); // as PROVENANCE.md gives for gmt-gshhg-full 2.3.7
  assert.ok(keys.x[0]! > -180 && keys.x[keys.n - 1] === 180);
  for (let i = 1; i < keys.n; i++) assert.ok(keys.x[i]! > keys.x[i - 1]!, `distinct at ${i}`);
});

test('a missing tool is named with what to install: the flights builder without tar said to make the npm registry reachable', () => {
  const dir = tempDir('selfopt-notar-');
  // a PATH with an npm that "packs" an empty file, and no tar
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'npm'), '#!/bin/sh\n: > "$4/vega-datasets-3.2.1.tgz"\n', { mode: 0o755 });
  const r = spawnSync(process.execPath, [CLI, 'data', 'build', 'flights_ts_3M_uint64', '--data', join(dir, 'data')], { encoding: 'utf8', env: { ...process.env, PATH: bin } });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /selfopt: error: could not unpack .*: tar is not installed \(at selfopt data build\); expected tar installed \(apt-get install tar\) and a whole package from npm\n$/);
  assert.equal(existsSync(join(dir, 'data', 'index')), false, 'nothing written');
});

test('`selfopt data build --data FILE` is refused before building: it built the set, then failed with an ENOTDIR stack trace writing it', () => {
  const dir = tempDir('selfopt-datafile-');
  const file = join(dir, 'not-a-dir');
  writeFileSync(file, 'x');
  const r = spawnSync(process.execPath, [CLI, 'data', '--data', file, 'build', 'ipv4_range_starts_386K_uint32'], { encoding: 'utf8' });
  assert.equal(r.stderr, `selfopt: error: ${file} is not a directory (at selfopt data build, --data DIR else ./data); expected a directory to write the datasets into (made if missing)\n`);
  assert.equal(r.status, 2);
});

test('`selfopt data build` into a --data under a file, or over a directory at the dataset\'s path, is refused before building: each built the set, then failed with a stack trace writing it', () => {
  const dir = tempDir('selfopt-data-target-');
  writeFileSync(join(dir, 'a-file'), 'x');
  const under = spawnSync(process.execPath, [CLI, 'data', 'build', 'ipv4_range_starts_386K_uint32', '--data', join(dir, 'a-file', 'sub')], { encoding: 'utf8' });
  assert.equal(under.stderr, `selfopt: error: cannot write index/ipv4_range_starts_386K_uint32 under ${join(dir, 'a-file')}: it is a file (at selfopt data build, --data DIR else ./data); expected a directory the datasets can be written into (made if missing)\n`);
  assert.equal(under.status, 2);
  const path = join(dir, 'data', 'index', 'ipv4_range_starts_386K_uint32');
  mkdirSync(path, { recursive: true });
  const over = spawnSync(process.execPath, [CLI, 'data', 'build', 'ipv4_range_starts_386K_uint32', '--data', join(dir, 'data'), '--force'], { encoding: 'utf8' });
  assert.equal(over.stderr, `selfopt: error: ${path} is a directory (at selfopt data build index/ipv4_range_starts_386K_uint32); expected the dataset's file there, or nothing (move the directory away)\n`);
  assert.equal(over.status, 2);
});
