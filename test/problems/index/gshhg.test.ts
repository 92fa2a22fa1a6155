import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SelfoptError } from '../../../src/core/errors.js';
import { NetcdfClassic, binnedVertices } from '../../../src/problems/index/gshhg.js';
import { s2LeafCellIds } from '../../../src/problems/index/s2-cell.js';

test('S2 leaf cell ids equal the S2 library\'s (nodes2ts 4.0.2) at face centres, poles, edges and cities', () => {
  const cases: [number, number, bigint][] = [
    [0, 0, 0x1000000000000001n],
    [90, 0, 0x5000000000000001n],
    [-90, 0, 0xb000000000000001n],
    [45, 45, 0x4054545155144101n],
    [37.7749, -122.4194, 0x8085809e8e8d8c61n],
    [-33.8688, 151.2093, 0x6b12ae3ff6290055n],
    [-85.99999, -155.201, 0xa55b8588a14de045n],
    [0, 180, 0x6fffffffffffffffn],
  ];
  const ids = s2LeafCellIds(Float64Array.from(cases, (c) => c[0]), Float64Array.from(cases, (c) => c[1]));
  cases.forEach(([lat, lng, id], k) => assert.equal(ids[k], id, `${lat}, ${lng}`));
  // a leaf id ends in 1 and its top 3 bits are the face (0..5)
  for (const id of ids) assert.ok((id & 1n) === 1n && id >> 61n <= 5n);
});

/** A classic netCDF file (CDF-1, or CDF-2 with 64-bit offsets) of fixed-size int and short variables. */
function netcdf(vars: { name: string; type: 'int' | 'short'; values: number[] }[], version: 1 | 2, recordDim = false): Uint8Array {
  const bytes: number[] = [];
  const u32 = (v: number) => bytes.push((v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
  const name = (s: string) => { u32(s.length); for (const ch of s) bytes.push(ch.charCodeAt(0)); while (bytes.length % 4) bytes.push(0); };
  bytes.push(67, 68, 70, version); u32(0);
  u32(10); u32(vars.length); // one dimension per variable
  vars.forEach((v, k) => { name(`d${k}`); u32(recordDim && k === 0 ? 0 : v.values.length); });
  u32(0); u32(0); // no global attributes
  u32(11); u32(vars.length);
  const size = (v: (typeof vars)[number]) => ((v.values.length * (v.type === 'int' ? 4 : 2)) + 3) & ~3;
  const offsetAt: number[] = [];
  vars.forEach((v, k) => {
    name(v.name); u32(1); u32(k); u32(0); u32(0); u32(v.type === 'int' ? 4 : 3); u32(size(v));
    offsetAt.push(bytes.length);
    if (version === 2) u32(0);
    u32(0); // begin, patched below
  });
  let at = bytes.length;
  vars.forEach((v, k) => {
    const o = offsetAt[k]! + (version === 2 ? 4 : 0);
    bytes[o] = (at >>> 24) & 255; bytes[o + 1] = (at >>> 16) & 255; bytes[o + 2] = (at >>> 8) & 255; bytes[o + 3] = at & 255;
    at += size(v);
  });
  for (const v of vars) {
    for (const x of v.values) if (v.type === 'int') u32(x); else bytes.push((x >>> 8) & 255, x & 255);
    while (bytes.length % 4) bytes.push(0);
  }
  return Uint8Array.from(bytes);
}

test('the classic netCDF reader reads int and short variables of CDF-1 and CDF-2 files, and refuses what it cannot read with one error', () => {
  for (const version of [1, 2] as const) {
    const nc = new NetcdfClassic(netcdf([{ name: 'counts', type: 'int', values: [7, -1, 1 << 30] }, { name: 'offsets', type: 'short', values: [0, 65535, 32768] }], version), 'f.nc');
    assert.deepEqual([...nc.ints('counts')], [7, -1, 1 << 30]);
    assert.deepEqual([...nc.ushorts('offsets')], [0, 65535, 32768], 'shorts read as unsigned 16-bit');
    assert.throws(() => nc.ints('offsets'), /no int variable offsets \(at f.nc\)/);
  }
  const hdf5 = Uint8Array.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.throws(() => new NetcdfClassic(hdf5, 'n4.nc'), (e: unknown) => e instanceof SelfoptError && /not a classic netCDF file \(at n4.nc, byte 0\); expected a classic or 64-bit-offset netCDF file \(nccopy -k 64-bit-offset/.test(e.message));
  assert.throws(() => new NetcdfClassic(netcdf([{ name: 'r', type: 'int', values: [1] }], 1, true), 'rec.nc'), /variable r is a record variable/);
  const whole = netcdf([{ name: 'big', type: 'int', values: [1, 2, 3, 4] }], 2);
  assert.throws(() => new NetcdfClassic(whole.subarray(0, whole.length - 4), 'cut.nc'), /variable big's data lies beyond the file/);
});

test('GMT binned vertices: each point is its bin\'s south-west corner plus its offsets in 1/65535 of the bin; longitudes past 180 wrap', () => {
  // 1-degree bins, 360 a row; bin 0 is (lon 0..1, lat 89..90), bin 359 (lon 359..360), bin 360 the next row down.
  const bins = 64800;
  const firstSegment = new Array<number>(bins).fill(3), segments = new Array<number>(bins).fill(0);
  firstSegment[0] = 0; segments[0] = 2; // two segments in bin 0
  firstSegment[359] = 2; segments[359] = 1; // one in bin 359
  const nc = new NetcdfClassic(netcdf([
    { name: 'Bin_size_in_minutes', type: 'int', values: [60] },
    { name: 'N_bins_in_360_longitude_range', type: 'int', values: [360] },
    { name: 'Id_of_first_segment_in_a_bin', type: 'int', values: firstSegment },
    { name: 'N_segments_in_a_bin', type: 'short', values: segments },
    { name: 'Id_of_first_point_in_a_segment', type: 'int', values: [0, 2, 3] },
    { name: 'Relative_longitude_from_SW_corner_of_bin', type: 'short', values: [0, 65535, 32768, 13107] },
    { name: 'Relative_latitude_from_SW_corner_of_bin', type: 'short', values: [0, 65535, 0, 65535] },
  ], 2), 'binned.nc');
  const { lon, lat } = binnedVertices(nc);
  assert.deepEqual([...lat], [89, 90, 89, 90]);
  assert.equal(lon[0], 0);
  assert.equal(lon[1], 1);
  assert.ok(Math.abs(lon[2]! - 32768 / 65535) < 1e-15);
  assert.ok(Math.abs(lon[3]! - (359 + 13107 / 65535 - 360)) < 1e-12, 'bin 359 lies at -1..0');
});
