/**
 * A partition as SVG, the view of the sparse-matrix literature (a partitioner orders a matrix by
 * its parts): the adjacency matrix with the vertices ordered by part, then by id, binned into a
 * grid of at most 64 x 64 cells. Edges inside a part fall in the diagonal blocks (blue), cut edges
 * off them (red). Each cell is shaded by the edge weight in it on a log scale fixed by the graph
 * alone (its mean cell weight), so two solvers' pictures of one instance compare cell for cell.
 * Beside each diagonal block, its part's weight against the average and METIS's 1.03 bound.
 */
import { pictureHead, shadeRuns } from '../../bench/svg.js';
import { edgeCount, type CsrGraph } from '../../core/graph.js';
import { balance, edgeCut, normalizedCut } from './evaluate.js';
import type { PartitionInstance } from './instances.js';

const MAX_CELLS = 64;
/** Shades per colour: cells are grouped by shade into one path each, which keeps the SVG small. */
const SHADES = 8;
/** METIS's default imbalance bound (ufactor 30), drawn beside the part weights. */
const UB = 1.03;

/** The adjacency matrix in part order, binned. */
export interface PartitionMatrix {
  n: number;
  k: number;
  /** Grid cells per side. */
  cells: number;
  /** Edge weight per cell, row-major; each edge counted in both directions, so both are symmetric. */
  internal: Float64Array;
  cut: Float64Array;
  /** Where each part begins in the order (k + 1 entries, the last n). */
  partStart: Int32Array;
  partWeight: Float64Array;
}

export function partitionMatrix(g: CsrGraph, k: number, part: Int32Array, maxCells = MAX_CELLS): PartitionMatrix {
  const n = g.n, G = Math.max(1, Math.min(n, maxCells));
  const partStart = new Int32Array(k + 1), partWeight = new Float64Array(k);
  for (let v = 0; v < n; v++) { partStart[part[v]! + 1]!++; partWeight[part[v]!]! += g.vwgt[v]!; }
  for (let p = 0; p < k; p++) partStart[p + 1]! += partStart[p]!;
  // A counting sort by part keeps each part's vertices in id order; a vertex's cell is its rank's.
  const next = partStart.slice(0, k);
  const cellOf = new Int32Array(n);
  for (let v = 0; v < n; v++) cellOf[v] = Math.floor((next[part[v]!]!++ * G) / n);
  const internal = new Float64Array(G * G), cut = new Float64Array(G * G);
  for (let v = 0; v < n; v++) {
    const row = cellOf[v]! * G, pv = part[v]!;
    for (let e = g.xadj[v]!; e < g.xadj[v + 1]!; e++) {
      const u = g.adjncy[e]!;
      (part[u] === pv ? internal : cut)[row + cellOf[u]!]! += g.adjwgt[e]!;
    }
  }
  return { n, k, cells: G, internal, cut, partStart, partWeight };
}

const plural = (x: number, one: string, many: string) => `${x.toLocaleString('en-US')} ${x === 1 ? one : many}`;

export function partitionSvg(inst: PartitionInstance, part: Int32Array, caption: string, width = 640): string {
  const g = inst.graph, k = inst.k;
  const a = partitionMatrix(g, k, part);
  const G = a.cells, cs = Math.max(1, Math.floor(360 / G)), S = cs * G;
  const left = 10, top = 54, barsX = left + S + 24, barsW = width - barsX - 40, height = top + S + 34;
  let totalW = 0;
  for (let i = 0; i < a.internal.length; i++) totalW += a.internal[i]! + a.cut[i]!;
  const cutW = edgeCut(g, part);
  const out = pictureHead(width, height, caption,
    `edge cut ${cutW.toLocaleString('en-US')} (${totalW > 0 ? ((200 * cutW) / totalW).toFixed(1) : '0.0'}% of edge weight) · balance ${balance(g, k, part).toFixed(3)} · normalized cut ${normalizedCut(g, k, part).toFixed(3)} · ${plural(g.n, 'vertex', 'vertices')}, ${plural(edgeCount(g), 'edge', 'edges')}, k = ${k}`);
  // Shade s of SHADES covers log10(weight / mean cell weight) from -1 to 2: a cell a tenth of the
  // mean is faint, one a hundred times it is full.
  const mean = totalW / (G * G) || 1;
  const shadeOf = (x: number) => (x <= 0 ? -1 : Math.max(0, Math.min(SHADES - 1, Math.floor(((Math.log10(x / mean) + 1) / 3) * SHADES))));
  // One stroked path per shade; a run of neighbouring cells of one shade in a row is one segment.
  const layer = (w: Float64Array, colour: string): void => {
    const paths: string[][] = Array.from({ length: SHADES }, () => []);
    shadeRuns(G, G, (r, c) => shadeOf(w[r * G + c]!), -1, (r, c0, c1, s) => paths[s]!.push(`M${left + c0 * cs} ${top + r * cs + cs / 2}h${(c1 - c0) * cs}`));
    paths.forEach((d, s) => { if (d.length) out.push(`<path d="${d.join('')}" fill="none" stroke="${colour}" stroke-width="${cs}" stroke-opacity="${(0.15 + (0.85 * (s + 1)) / SHADES).toFixed(2)}"/>`); });
  };
  layer(a.internal, '#2563eb');
  layer(a.cut, '#dc2626');
  // Part boundaries, and each part's weight beside its diagonal block.
  const at = (rank: number) => (rank / Math.max(1, a.n)) * S;
  const bounds: string[] = [];
  for (let p = 1; p < k; p++) {
    if (a.partStart[p] === 0 || a.partStart[p] === a.n) continue;
    const o = at(a.partStart[p]!);
    bounds.push(`M${left} ${(top + o).toFixed(1)}h${S}M${(left + o).toFixed(1)} ${top}v${S}`);
  }
  if (bounds.length) out.push(`<path d="${bounds.join('')}" stroke="#000" stroke-opacity="0.35" stroke-width="0.6" fill="none"/>`);
  out.push(`<rect x="${left}" y="${top}" width="${S}" height="${S}" fill="none" stroke="#000" stroke-opacity="0.4"/>`);
  out.push(`<text x="${left}" y="${top - 6}">adjacency matrix, vertices in part order · blue: inside a part, red: cut</text>`);
  // Part weights against the average, on an axis from at most 0.95 to at least 1.05 that holds
  // every part (never below 0): at 1.03 and below, a part is within METIS's bound. An empty part
  // has no rows, hence no bar: the footer counts them.
  let total = 0, lo = 0.95, hi = 1.05, empty = 0;
  for (let p = 0; p < k; p++) total += a.partWeight[p]!;
  const avg = total / k || 1;
  for (let p = 0; p < k; p++) {
    const r = a.partWeight[p]! / avg;
    lo = Math.min(lo, r);
    hi = Math.max(hi, r);
    if (a.partStart[p + 1] === a.partStart[p]) empty++;
  }
  const pad = 0.08 * (hi - lo);
  lo = Math.max(0, lo - pad);
  hi += pad;
  const BX = (r: number) => barsX + ((r - lo) / (hi - lo)) * barsW;
  const bars: string[] = [];
  for (let p = 0; p < k; p++) {
    const y0 = at(a.partStart[p]!), y1 = at(a.partStart[p + 1]!);
    if (y1 - y0 <= 0) continue;
    const gap = Math.min(1, (y1 - y0) / 4);
    bars.push(`M${BX(1).toFixed(1)} ${(top + y0 + gap).toFixed(1)}H${BX(a.partWeight[p]! / avg).toFixed(1)}V${(top + y1 - gap).toFixed(1)}H${BX(1).toFixed(1)}z`);
  }
  if (bars.length) out.push(`<path d="${bars.join('')}" fill="#64748b"/>`);
  out.push(`<line x1="${BX(1).toFixed(1)}" x2="${BX(1).toFixed(1)}" y1="${top}" y2="${top + S}" stroke="#000" stroke-opacity="0.5"/>`);
  out.push(`<line x1="${BX(UB).toFixed(1)}" x2="${BX(UB).toFixed(1)}" y1="${top}" y2="${top + S}" stroke="#dc2626" stroke-dasharray="3 3"/>`);
  out.push(`<rect x="${barsX}" y="${top}" width="${barsW}" height="${S}" fill="none" stroke="#000" stroke-opacity="0.2"/>`);
  out.push(`<text x="${barsX}" y="${top - 6}">part weight / average (red: METIS's bound)</text>`);
  // Ticks: the axis' ends, 1, and 1.03 where it has room beside 1.
  const tick = (r: number, anchor: string, label: string, fill = '#000') => `<text x="${BX(r).toFixed(1)}" y="${top + S + 14}" text-anchor="${anchor}" fill="${fill}">${label}</text>`;
  const ticks = [tick(lo, 'start', lo.toFixed(2)), tick(1, 'middle', '1'), tick(hi, 'end', hi.toFixed(2))];
  if (BX(UB) - BX(1) >= 14 && BX(hi) - BX(UB) >= 40) ticks.push(tick(UB, 'start', String(UB), '#dc2626'));
  out.push(ticks.join(''));
  out.push(`<text x="${left}" y="${height - 4}">${plural(a.n, 'vertex', 'vertices')} in ${G} × ${G} cells; shade: edge weight in a cell, log scale${empty ? ` · ${plural(empty, 'empty part', 'empty parts')}` : ''}</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
