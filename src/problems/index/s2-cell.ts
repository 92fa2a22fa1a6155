/**
 * S2 leaf cell ids (level 30) of points on the sphere, as the S2 geometry library defines them:
 * the point's cube face (its largest coordinate), the face coordinates (u, v) taken through the
 * quadratic projection to (s, t) in [0, 1], those scaled to 30-bit integers (i, j), and (i, j)'s
 * position along the face's Hilbert curve. The id is face (3 bits), position (60 bits), then a 1.
 *
 * The arithmetic follows the library's choices to the last bit (the same expressions, so the same
 * rounding): degrees to radians by `x * (PI / 180)`, `i = round(2^30 s - 0.5)` clamped, ties in
 * the largest coordinate going to the later axis.
 */

const LOOKUP_BITS = 4;
const SWAP = 1, INVERT = 2;
const MAX_SIZE = 2 ** 30;
/** The Hilbert curve's sub-cell (i bit, j bit as 2i + j) at each position, for each orientation. */
const POS_TO_IJ = [[0, 1, 3, 2], [0, 2, 3, 1], [3, 2, 0, 1], [3, 1, 0, 2]];
/** How the orientation changes entering the sub-cell at each position. */
const POS_TO_ORIENTATION = [SWAP, 0, 0, INVERT | SWAP];

/**
 * LOOKUP_POS[(i4 << 6) | (j4 << 2) | orientation] = (8 bits of position << 2) | the orientation
 * after those 4 levels, for 4 bits each of i and j: the curve walked 4 levels at a time.
 */
const LOOKUP_POS = new Uint16Array(1 << (2 * LOOKUP_BITS + 2));
function initLookup(level: number, i: number, j: number, origOrientation: number, pos: number, orientation: number): void {
  if (level === LOOKUP_BITS) {
    LOOKUP_POS[(((i << LOOKUP_BITS) + j) << 2) + origOrientation] = (pos << 2) + orientation;
    return;
  }
  for (let sub = 0; sub < 4; sub++) {
    const ij = POS_TO_IJ[orientation]![sub]!;
    initLookup(level + 1, (i << 1) + (ij >>> 1), (j << 1) + (ij & 1), origOrientation, (pos << 2) + sub, orientation ^ POS_TO_ORIENTATION[sub]!);
  }
}
for (const o of [0, SWAP, INVERT, SWAP | INVERT]) initLookup(0, 0, 0, o, 0, o);

/** The quadratic projection from a face coordinate u in [-1, 1] to s in [0, 1]. */
function uvToSt(u: number): number {
  return u >= 0 ? 0.5 * Math.sqrt(1 + 3 * u) : 1 - 0.5 * Math.sqrt(1 - 3 * u);
}

function stToIj(s: number): number {
  return Math.max(0, Math.min(MAX_SIZE - 1, Math.round(MAX_SIZE * s - 0.5)));
}

/**
 * The leaf cell ids of the points at latitudes `lat`, longitudes `lng` (degrees). The ids are
 * written as the 32-bit words of a BigUint64Array (low word first: little-endian hosts, which
 * the SOSD format needs anyway), so no BigInt is made per point.
 */
export function s2LeafCellIds(lat: Float64Array, lng: Float64Array): BigUint64Array {
  const ids = new BigUint64Array(lat.length);
  const words = new Uint32Array(ids.buffer);
  for (let k = 0; k < lat.length; k++) leafCellId(lat[k]!, lng[k]!, words, 2 * k);
  return ids;
}

/** The leaf cell id of one point, as its low and high words at `out[w]`, `out[w + 1]`. */
function leafCellId(latDeg: number, lngDeg: number, out: Uint32Array, w: number): void {
  const phi = latDeg * (Math.PI / 180), theta = lngDeg * (Math.PI / 180);
  const cosPhi = Math.cos(phi);
  const x = Math.cos(theta) * cosPhi, y = Math.sin(theta) * cosPhi, z = Math.sin(phi);
  const ax = Math.abs(x), ay = Math.abs(y), az = Math.abs(z);
  const axis = ax > ay ? (ax > az ? 0 : 2) : (ay > az ? 1 : 2);
  let face: number, u: number, v: number;
  if (axis === 0) face = x < 0 ? 3 : 0;
  else if (axis === 1) face = y < 0 ? 4 : 1;
  else face = z < 0 ? 5 : 2;
  switch (face) {
    case 0: u = y / x; v = z / x; break;
    case 1: u = -x / y; v = z / y; break;
    case 2: u = -x / z; v = -y / z; break;
    case 3: u = z / x; v = y / x; break;
    case 4: u = z / y; v = -x / y; break;
    default: u = -y / z; v = -x / z;
  }
  const i = stToIj(uvToSt(u)), j = stToIj(uvToSt(v));
  // Eight steps of 4 levels, from the top bits of i and j down: steps 7..4 fill the high word of
  // the 61-bit (face, position), under the face's 3 bits; steps 3..0 the low word.
  let n1 = face << 28, n0 = 0;
  let bits = face & SWAP;
  const mask = (1 << LOOKUP_BITS) - 1;
  for (let step = 7; step >= 0; step--) {
    bits += ((i >>> (step * LOOKUP_BITS)) & mask) << (LOOKUP_BITS + 2);
    bits += ((j >>> (step * LOOKUP_BITS)) & mask) << 2;
    const l = LOOKUP_POS[bits]!;
    const part = (l >>> 2) << ((step & 3) * 2 * LOOKUP_BITS);
    if (step >= 4) n1 |= part; else n0 |= part;
    bits = l & (SWAP | INVERT);
  }
  // id = (face, position) << 1 | 1
  out[w] = ((n0 << 1) | 1) >>> 0;
  out[w + 1] = ((n1 << 1) | (n0 >>> 31)) >>> 0;
}
