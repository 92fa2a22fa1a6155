/**
 * A placement as SVG: the canvas and its grid, each cell shaded by its density (white 0 -> red at 1
 * and above), the clusters as light outlines, the hard macros as filled blue rectangles (a notch
 * marks each one's orientation: the corner its N-frame lower-left corner went to), ports as dots.
 * y grows upward on a chip, so the picture is flipped.
 */
import { esc } from '../../bench/svg.js';
import type { ChipInstance } from './instances.js';
import { ProxyCostEvaluator, legality } from './cost.js';
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
  const out: string[] = [];
  const top = 40;
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 ${-top} ${W.toFixed(0)} ${(H + top).toFixed(0)}" width="${W.toFixed(0)}" height="${(H + top).toFixed(0)}" font-family="sans-serif" font-size="12">`);
  out.push(`<text x="0" y="${-top + 14}">${esc(title)}</text>`);
  out.push(`<text x="0" y="${-top + 30}">proxy ${c.proxy.toFixed(4)} = WL ${c.wirelengthCost.toFixed(4)} + 0.5·density ${c.densityCost.toFixed(4)} + 0.5·congestion ${c.congestionCost.toFixed(4)}; ${leg.legal ? 'legal' : `ILLEGAL (overlap ${leg.overlapArea.toFixed(0)} µm², ${leg.outside.length} outside)`}</text>`);
  const gw = s.width / s.columns, gh = s.height / s.rows;
  for (let r = 0; r < s.rows; r++) {
    for (let q = 0; q < s.columns; q++) {
      const d = Math.min(1, ev.density[r * s.columns + q]!);
      const shade = Math.round(255 * (1 - d));
      out.push(`<rect x="${X(q * gw)}" y="${Y((r + 1) * gh)}" width="${(gw * k).toFixed(2)}" height="${(gh * k).toFixed(2)}" fill="rgb(255,${shade},${shade})" stroke="#ddd" stroke-width="0.5"/>`);
    }
  }
  const rect = (i: number, style: string): void => {
    const x0 = pl.x[i]! - nl.w[i]! / 2, y1 = pl.y[i]! + nl.h[i]! / 2;
    out.push(`<rect x="${X(x0)}" y="${Y(y1)}" width="${(nl.w[i]! * k).toFixed(2)}" height="${(nl.h[i]! * k).toFixed(2)}" ${style}/>`);
  };
  for (const i of nl.softMacros) rect(i, 'fill="none" stroke="#2a9d4b" stroke-width="0.6" opacity="0.7"');
  for (const i of nl.hardMacros) {
    rect(i, 'fill="#3366cc" fill-opacity="0.75" stroke="#123" stroke-width="0.6"');
    // orientation notch: N's lower-left corner after the flip (FN: lower-right, S: upper-right, FS: upper-left)
    const o = pl.orient[i]!;
    const sx = o === 1 || o === 2 ? 1 : -1, sy = o === 2 || o === 3 ? 1 : -1;
    const cx = pl.x[i]! + (sx * nl.w[i]!) / 2 - sx * Math.min(nl.w[i]!, nl.h[i]!) * 0.15;
    const cy = pl.y[i]! + (sy * nl.h[i]!) / 2 - sy * Math.min(nl.w[i]!, nl.h[i]!) * 0.15;
    out.push(`<circle cx="${X(cx)}" cy="${Y(cy)}" r="${(Math.min(nl.w[i]!, nl.h[i]!) * 0.08 * k).toFixed(2)}" fill="#fff"/>`);
  }
  for (const i of nl.ports) out.push(`<circle cx="${X(pl.x[i]!)}" cy="${Y(pl.y[i]!)}" r="1.5" fill="#c60"/>`);
  out.push(`<rect x="0" y="0" width="${W.toFixed(2)}" height="${H.toFixed(2)}" fill="none" stroke="#000"/>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
