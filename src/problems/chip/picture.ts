/**
 * A placement as SVG: the canvas and its grid, each cell shaded by its density (white 0 -> red at 1
 * and above), the clusters as light outlines, the hard macros as filled blue rectangles (a notch
 * marks each one's orientation: the corner its N-frame lower-left corner went to), ports as small
 * squares. y grows upward on a chip, so the picture is flipped. Shapes of one style share one path
 * or group, which keeps a placement of a thousand macros to a few tens of KB.
 */
import { pictureHead, shadeRuns } from '../../bench/svg.js';
import type { ChipInstance } from './instances.js';
import { ProxyCostEvaluator, legality, orientOffset } from './cost.js';
import type { Placement } from './plc.js';

export function placementSvg(inst: ChipInstance, pl: Placement, title: string, px = 640): string {
  const { nl, settings: s } = inst;
  const ev = new ProxyCostEvaluator(nl, s);
  const c = ev.evaluate(pl, inst.weights);
  const leg = legality(nl, pl, s);
  const k = px / Math.max(s.width, s.height);
  const W = s.width * k, H = s.height * k;
  const X = (x: number): string => (x * k).toFixed(2);
  const Y = (y: number): string => ((s.height - y) * k).toFixed(2);
  // The header above, the canvas below it (a tall chip leaves the right of the picture empty).
  const top = 40;
  const out = pictureHead(px, Math.ceil(H) + top, title,
    `proxy ${c.proxy.toFixed(4)} = WL ${c.wirelengthCost.toFixed(4)} + ${inst.weights.density}·density ${c.densityCost.toFixed(4)} + ${inst.weights.congestion}·congestion ${c.congestionCost.toFixed(4)}; ${leg.legal ? 'legal' : `ILLEGAL (overlap ${leg.overlapArea.toFixed(0)} µm², ${leg.outside.length} outside${leg.blocked.length > 0 ? `, ${leg.blocked.length} on a blockage` : ''})`}`);
  out.push(`<g transform="translate(0,${top})">`);
  // The grid: one path per shade (density d is drawn rgb(255, s, s), s = 255 (1 - d) rounded), a
  // run of neighbouring cells of one shade in a row one rectangle; empty cells are the white canvas.
  const gw = s.width / s.columns, gh = s.height / s.rows;
  const shadeOf = (r: number, q: number) => Math.round(255 * (1 - Math.min(1, ev.density[r * s.columns + q]!)));
  const byShade = new Map<number, string[]>();
  shadeRuns(s.rows, s.columns, shadeOf, 255, (r, q, e, shade) => {
    if (!byShade.has(shade)) byShade.set(shade, []);
    byShade.get(shade)!.push(`M${X(q * gw)} ${Y((r + 1) * gh)}H${X(e * gw)}V${Y(r * gh)}H${X(q * gw)}z`);
  });
  out.push(`<rect x="0" y="0" width="${W.toFixed(2)}" height="${H.toFixed(2)}" fill="#fff"/>`);
  for (const [shade, d] of [...byShade].sort((a, b) => b[0] - a[0])) out.push(`<path d="${d.join('')}" fill="rgb(255,${shade},${shade})"/>`);
  const lines: string[] = [];
  for (let q = 1; q < s.columns; q++) lines.push(`M${X(q * gw)} 0V${H.toFixed(2)}`);
  for (let r = 1; r < s.rows; r++) lines.push(`M0 ${Y(r * gh)}H${W.toFixed(2)}`);
  out.push(`<path d="${lines.join('')}" stroke="#ddd" stroke-width="0.5"/>`);
  // Clusters as one path of rectangles (x, y: a macro's centre).
  const clusters = Array.from(nl.softMacros, (i) =>
    `M${X(pl.x[i]! - nl.w[i]! / 2)} ${Y(pl.y[i]! + nl.h[i]! / 2)}h${(nl.w[i]! * k).toFixed(2)}v${(nl.h[i]! * k).toFixed(2)}h${(-nl.w[i]! * k).toFixed(2)}z`);
  if (clusters.length) out.push(`<path d="${clusters.join('')}" fill="none" stroke="#2a9d4b" stroke-width="0.6" opacity="0.7"/>`);
  // Hard macros one element each, so that where two overlap (an illegal placement) the blue is darker.
  out.push(`<g fill="#3366cc" fill-opacity="0.75" stroke="#123" stroke-width="0.6">${Array.from(nl.hardMacros, (i) =>
    `<rect x="${X(pl.x[i]! - nl.w[i]! / 2)}" y="${Y(pl.y[i]! + nl.h[i]! / 2)}" width="${(nl.w[i]! * k).toFixed(2)}" height="${(nl.h[i]! * k).toFixed(2)}"/>`).join('')}</g>`);
  // Orientation notches: the corner N's lower-left corner went to, turned as the pins are
  // (FN: lower-right, S: upper-right, FS: upper-left; E, FE, W, FW as a square macro turns).
  const dot = (cx: number, cy: number, r: number) => `M${(Number(X(cx)) - r).toFixed(2)} ${Y(cy)}a${r.toFixed(2)} ${r.toFixed(2)} 0 1 0 ${(2 * r).toFixed(2)} 0a${r.toFixed(2)} ${r.toFixed(2)} 0 1 0 ${(-2 * r).toFixed(2)} 0z`;
  const notches = Array.from(nl.hardMacros, (i) => {
    const [sx, sy] = orientOffset(-1, -1, pl.orient[i]!);
    const m = Math.min(nl.w[i]!, nl.h[i]!);
    return dot(pl.x[i]! + (sx * nl.w[i]!) / 2 - sx * m * 0.15, pl.y[i]! + (sy * nl.h[i]!) / 2 - sy * m * 0.15, m * 0.08 * k);
  });
  if (notches.length) out.push(`<path d="${notches.join('')}" fill="#fff"/>`);
  // Ports as 3-pixel squares: at that size a square reads as a dot, in a third of a circle's bytes.
  if (nl.ports.length) out.push(`<path d="${Array.from(nl.ports, (i) => `M${(Number(X(pl.x[i]!)) - 1.5).toFixed(1)} ${(Number(Y(pl.y[i]!)) - 1.5).toFixed(1)}h3v3h-3z`).join('')}" fill="#c60"/>`);
  out.push(`<rect x="0" y="0" width="${W.toFixed(2)}" height="${H.toFixed(2)}" fill="none" stroke="#000"/>`);
  out.push('</g>', '</svg>');
  return out.join('\n') + '\n';
}
