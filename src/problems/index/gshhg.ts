/**
 * GSHHG's vertices (Wessel & Smith; Debian's gmt-gshhg-full) for the index builders: a reader of
 * classic netCDF files (the format `nccopy -k 64-bit-offset` turns GMT's netCDF-4 files into), and
 * the decoding of GMT's binned shoreline format that shared/data/index/PROVENANCE.md describes.
 */
import { readFileSync } from 'node:fs';
import { SelfoptError } from '../../core/errors.js';

/** A variable of a classic netCDF file: its type, element count and where its data starts. */
interface NcVar { type: number; count: number; begin: number }

const NC_DIMENSION = 10, NC_VARIABLE = 11, NC_ATTRIBUTE = 12;
/** Bytes per element of the classic types: byte, char, short, int, float, double. */
const TYPE_SIZE: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 4, 6: 8 };

/**
 * The fixed-size variables of a classic (CDF-1) or 64-bit-offset (CDF-2) netCDF file, by name
 * (record variables are refused: GMT's binned files have none). Data is big-endian.
 */
export class NetcdfClassic {
  readonly vars = new Map<string, NcVar>();
  private readonly dv: DataView;

  constructor(readonly bytes: Uint8Array, readonly where: string) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const bad = (what: string, at: number) => new SelfoptError(what, `${where}, byte ${at}`, 'a classic or 64-bit-offset netCDF file (nccopy -k 64-bit-offset makes one from netCDF-4)');
    if (bytes.length < 8 || String.fromCharCode(bytes[0]!, bytes[1]!, bytes[2]!) !== 'CDF') throw bad('not a classic netCDF file', 0);
    const version = bytes[3]!;
    if (version !== 1 && version !== 2) throw bad(`netCDF format version ${version}`, 3);
    let p = 8; // magic, numrecs
    const u32 = () => { if (p + 4 > bytes.length) throw bad('the header ends early', p); const v = this.dv.getUint32(p); p += 4; return v; };
    const name = () => { const n = u32(); const s = new TextDecoder().decode(bytes.subarray(p, p + n)); p += (n + 3) & ~3; return s; };
    const list = (tag: number, each: () => void) => {
      const t = u32(), n = u32();
      if (t === 0 && n === 0) return;
      if (t !== tag) throw bad(`list tag ${t}, expected ${tag}`, p - 8);
      for (let k = 0; k < n; k++) each();
    };
    const dims: number[] = [];
    const attrs = () => list(NC_ATTRIBUTE, () => { name(); const type = u32(), n = u32(); p += (n * (TYPE_SIZE[type] ?? 1) + 3) & ~3; });
    list(NC_DIMENSION, () => { name(); dims.push(u32()); });
    attrs();
    list(NC_VARIABLE, () => {
      const varName = name();
      const nd = u32();
      let count = 1;
      for (let d = 0; d < nd; d++) {
        const len = dims[u32()];
        if (len === undefined) throw bad(`variable ${varName} names a dimension the file lacks`, p - 4);
        if (len === 0) throw bad(`variable ${varName} is a record variable`, p - 4);
        count *= len;
      }
      attrs();
      const type = u32();
      u32(); // vsize
      const begin = version === 2 ? u32() * 2 ** 32 + u32() : u32();
      if (!TYPE_SIZE[type] || begin + count * TYPE_SIZE[type]! > bytes.length) throw bad(`variable ${varName}'s data lies beyond the file`, p - 4);
      this.vars.set(varName, { type, count, begin });
    });
  }

  static read(path: string): NetcdfClassic {
    return new NetcdfClassic(readFileSync(path), path);
  }

  private need(name: string, type: number): NcVar {
    const v = this.vars.get(name);
    if (!v || v.type !== type) throw new SelfoptError(`no ${type === 3 ? 'short' : 'int'} variable ${name}`, this.where, `GMT's binned shoreline variables (${[...this.vars.keys()].slice(0, 4).join(', ')}, ...)`);
    return v;
  }

  /** An int variable, whole. */
  ints(name: string): Int32Array {
    const v = this.need(name, 4);
    const out = new Int32Array(v.count);
    for (let k = 0; k < v.count; k++) out[k] = this.dv.getInt32(v.begin + 4 * k);
    return out;
  }

  /** A short variable, read as unsigned 16-bit (GMT stores 0..65535 offsets in them). */
  ushorts(name: string): Uint16Array {
    const v = this.need(name, 3);
    const out = new Uint16Array(v.count);
    for (let k = 0; k < v.count; k++) out[k] = this.dv.getUint16(v.begin + 2 * k);
    return out;
  }
}

/**
 * Every vertex of a GMT binned file, in file order (bin by bin, segment by segment): longitudes
 * in (-180, 180] and latitudes in degrees. A point is stored as its offset from its bin's
 * south-west corner in units of 1/65535 of the bin's side.
 */
export function binnedVertices(nc: NetcdfClassic): { lon: Float64Array; lat: Float64Array } {
  const binMinutes = nc.ints('Bin_size_in_minutes')[0]!;
  const binsLon = nc.ints('N_bins_in_360_longitude_range')[0]!;
  const firstSegment = nc.ints('Id_of_first_segment_in_a_bin');
  const segments = nc.ushorts('N_segments_in_a_bin');
  const firstPoint = nc.ints('Id_of_first_point_in_a_segment');
  const dx = nc.ushorts('Relative_longitude_from_SW_corner_of_bin');
  const dy = nc.ushorts('Relative_latitude_from_SW_corner_of_bin');
  const side = binMinutes / 60;
  const nPoints = dx.length;
  const lon = new Float64Array(nPoints), lat = new Float64Array(nPoints);
  let m = 0;
  for (let b = 0; b < firstSegment.length; b++) {
    const west = (b % binsLon) * side, south = 90 - (Math.floor(b / binsLon) + 1) * side;
    for (let s = firstSegment[b]!, end = s + segments[b]!; s < end; s++) {
      const to = s + 1 < firstPoint.length ? firstPoint[s + 1]! : nPoints;
      for (let q = firstPoint[s]!; q < to; q++) {
        const x = west + dx[q]! * (side / 65535);
        lon[m] = x > 180 ? x - 360 : x;
        lat[m++] = south + dy[q]! * (side / 65535);
      }
    }
  }
  if (m !== nPoints) throw new SelfoptError(`the bins' segments cover ${m} of ${nPoints} points`, nc.where, 'segments that cover every point once');
  return { lon, lat };
}
