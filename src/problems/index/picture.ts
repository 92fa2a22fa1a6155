/**
 * A learned index as SVG, the view of the learned-index papers: above, the sorted keys against
 * their positions (the CDF the model learns, turned on its side so that both panels share the
 * position axis); below, the model's error (predicted minus true position) along the same axis,
 * as the band between the smallest and largest error in each of 300 slices, with the largest
 * absolute error marked. Drawn for indexes with a model (`predict`); classical ones have none.
 */
import { niceTicks, pictureHead } from '../../bench/svg.js';
import type { KeySet } from './keys.js';
import type { ModelIndex } from './search-index.js';

const SLICES = 300;
/** Keys whose error is measured: every key of small sets, about this many of large ones. */
const SAMPLE = 60_000;

/** The model's error over the key set: per slice of positions, the smallest and largest error. */
export interface ErrorProfile {
  n: number;
  slices: number;
  lo: Float64Array;
  hi: Float64Array;
  /** Largest |error| over the measured keys, and the number of keys measured. */
  maxAbs: number;
  measured: number;
}

/** Error = predict(key) - its true position (its first occurrence), at evenly spaced keys. */
export function errorProfile(keys: KeySet, index: ModelIndex): ErrorProfile {
  const n = keys.n, slices = Math.min(SLICES, n);
  const lo = new Float64Array(slices).fill(Infinity), hi = new Float64Array(slices).fill(-Infinity);
  const step = Math.max(1, Math.floor(n / SAMPLE));
  let maxAbs = 0, measured = 0;
  for (let i = 0; i < n; i += step) {
    const e = index.predict(keys, i) - index.lowerBound(keys, i);
    const s = Math.min(slices - 1, Math.floor((i * slices) / n));
    if (e < lo[s]!) lo[s] = e;
    if (e > hi[s]!) hi[s] = e;
    if (Math.abs(e) > maxAbs) maxAbs = Math.abs(e);
    measured++;
  }
  // A slice no sampled key fell in (tiny sets) takes its neighbour's band.
  for (let s = 1; s < slices; s++) if (lo[s] === Infinity) { lo[s] = lo[s - 1]!; hi[s] = hi[s - 1]!; }
  return { n, slices, lo, hi, maxAbs, measured };
}

export function modelSvg(keys: KeySet, index: ModelIndex, caption: string, width = 640): string {
  const p = errorProfile(keys, index);
  const left = 56, right = 10, top = 54, cdfH = 150, gap = 30, errH = 150, bottom = 30;
  const plotW = width - left - right, height = top + cdfH + gap + errH + bottom;
  const n = keys.n;
  const X = (pos: number) => (left + (pos / Math.max(1, n - 1)) * plotW).toFixed(1);
  const out: string[] = [];
  const facts = index.describe ? Object.entries(index.describe()).map(([k, v]) => `${k} ${v}`).join(' · ') : '';
  out.push(...pictureHead(width, height, caption, `${n.toLocaleString('en-US')} keys · ${index.sizeBytes().toLocaleString('en-US')} bytes of index${facts ? ` · ${facts}` : ''}`));
  // The keys against their positions, scaled to [smallest, largest] finite key. A float64 set may
  // hold -Infinity and +Infinity: drawn on the bottom and top edges (scaled by an infinite span,
  // every point of the curve was NaN and the browser drew none).
  let first = 0, last = n - 1;
  while (first < last && !Number.isFinite(keys.x[first]!)) first++;
  while (last > first && !Number.isFinite(keys.x[last]!)) last--;
  const x0 = Number.isFinite(keys.x[first]!) ? keys.x[first]! : 0, x1 = Number.isFinite(keys.x[last]!) ? keys.x[last]! : 0, span = x1 - x0 || 1;
  const pts: string[] = [];
  for (let k = 0; k <= 400; k++) {
    const i = Math.round((k * (n - 1)) / 400);
    const f = Math.min(1, Math.max(0, (keys.x[i]! - x0) / span));
    pts.push(`${X(i)},${(top + cdfH - f * cdfH).toFixed(1)}`);
  }
  out.push(`<path d="M${pts.join('L')}" fill="none" stroke="#2563eb" stroke-width="1.5"/>`);
  out.push(`<rect x="${left}" y="${top}" width="${plotW}" height="${cdfH}" fill="none" stroke="#000" stroke-opacity="0.3"/>`);
  out.push(`<text x="4" y="${top - 6}">key (smallest to largest) against its position</text>`);
  // The error band, on a symmetric axis around 0.
  const e0 = top + cdfH + gap;
  const lim = Math.max(1, p.maxAbs);
  const Y = (e: number) => (e0 + errH / 2 - (e / lim) * (errH / 2) * 0.95).toFixed(1);
  const sx = (s: number) => X(((s + 0.5) / p.slices) * (n - 1));
  const upper: string[] = [], lower: string[] = [];
  for (let s = 0; s < p.slices; s++) {
    upper.push(`${sx(s)},${Y(p.hi[s]!)}`);
    lower.push(`${sx(s)},${Y(p.lo[s]!)}`);
  }
  out.push(`<path d="M${upper.join('L')}L${lower.reverse().join('L')}Z" fill="#ea580c" fill-opacity="0.55" stroke="#ea580c" stroke-width="0.6"/>`);
  for (const v of [-p.maxAbs, 0, p.maxAbs]) {
    out.push(`<line x1="${left}" x2="${left + plotW}" y1="${Y(v)}" y2="${Y(v)}" stroke="#000" stroke-opacity="${v === 0 ? 0.35 : 0.15}"${v === 0 ? '' : ' stroke-dasharray="3 3"'}/><text x="${left - 4}" y="${Number(Y(v)) + 4}" text-anchor="end">${Math.round(v)}</text>`);
  }
  out.push(`<rect x="${left}" y="${e0}" width="${plotW}" height="${errH}" fill="none" stroke="#000" stroke-opacity="0.3"/>`);
  out.push(`<text x="4" y="${e0 - 6}">model error, predicted − true position (band: smallest to largest per slice; ${p.measured.toLocaleString('en-US')} keys measured, largest |error| ${Math.round(p.maxAbs)})</text>`);
  for (const v of niceTicks(0, n, 5)) {
    if (v > n) continue;
    out.push(`<line x1="${X(v)}" x2="${X(v)}" y1="${e0 + errH}" y2="${e0 + errH + 4}" stroke="#000"/><text x="${X(v)}" y="${e0 + errH + 16}" text-anchor="${v > 0.95 * n ? 'end' : 'middle'}">${v >= 1e6 ? `${v / 1e6}M` : v >= 1e3 ? `${v / 1e3}K` : v}</text>`);
  }
  out.push(`<text x="${left + plotW}" y="${height - 2}" text-anchor="end">position</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
