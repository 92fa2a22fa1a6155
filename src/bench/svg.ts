/**
 * The report's SVG, drawn as strings by our own code (no chart library, no external requests):
 * horizontal bars with 95% whiskers, ratios on a log axis around 1, learning curves, and the frame
 * of the problems' own pictures (`pictureHead`, `pictureFigures`). Every string of ours that
 * reaches the markup goes through `esc`; a problem's picture is its own SVG, inlined as it is.
 */
import type { Better, SolverKind } from '../core/problem.js';

export const KIND_COLORS: Record<SolverKind, string> = {
  baseline: '#64748b',
  heuristic: '#2563eb',
  peer: '#0d9488',
  learned: '#ea580c',
};

/** Escapes text for HTML/SVG content and attribute values. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/**
 * A problem's drawings of its solutions (Problem.picture: the problem draws, the page only frames
 * them), one card each, named by its instance and solver: the HTML report's and the dashboard's.
 * The drawing's own first line (pictureHead) is its caption, `instance · solver · seed 1`; a
 * figcaption above it said the same again.
 */
export function pictureFigures(pictures: readonly { instance: string; solver: string; svg: string }[]): string {
  return pictures.map((p) => pictureFigure(p, p.svg)).join('');
}

/** One card of pictureFigures holding `inner` (markup): the drawing, or what stands for it until it comes. */
export function pictureFigure(p: { instance: string; solver: string }, inner: string): string {
  return `<figure class="card picture" data-instance="${esc(p.instance)}" data-solver="${esc(p.solver)}" aria-label="${esc(p.instance)} · ${esc(p.solver)}">${inner}</figure>`;
}

/**
 * The first lines of a problem's picture: the svg element (viewBox from the origin), the cell's
 * caption, and one line of the figures the drawing shows. Both are cut (…) where they would run
 * past the width: at about 5.2 px a character of 11 px sans-serif (6 px at 12 px), measured in
 * Chromium with room to spare.
 */
export function pictureHead(width: number, height: number, caption: string, figures: string): string[] {
  const cut = (t: string, max: number) => (t.length > max ? `${t.slice(0, max - 1)}…` : t);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<text x="2" y="14" font-size="12">${esc(cut(caption, Math.floor(width / 6)))}</text>`,
    `<text x="2" y="30">${esc(cut(figures, Math.floor(width / 5.2)))}</text>`,
  ];
}

/**
 * The runs of neighbouring cells of one shade along each row of a rows x cols grid, so that a heat
 * map is drawn as one path per shade with one shape per run: emit(row, first column, end column,
 * shade) for every run whose shade is not `blank`.
 */
export function shadeRuns(rows: number, cols: number, shadeOf: (r: number, c: number) => number, blank: number, emit: (r: number, c0: number, c1: number, shade: number) => void): void {
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols;) {
      const s = shadeOf(r, c);
      let e = c + 1;
      while (e < cols && shadeOf(r, e) === s) e++;
      if (s !== blank) emit(r, c, e, s);
      c = e;
    }
  }
}

export interface BarDatum {
  label: string;
  kind: SolverKind;
  mean: number;
  lo: number;
  hi: number;
  /** Shown at the end of the bar. */
  valueLabel: string;
  /** Hover text. */
  tooltip: string;
  /** Drawn bold with a marker (the best heuristic). */
  emphasis?: boolean;
}

export interface BarChartSpec {
  data: BarDatum[];
  /** Under the axis, e.g. `lookup_ns (ns) — lower is better`. */
  axisLabel: string;
  /** Tick text from a value in the data's units. */
  tick: (v: number) => string;
  width?: number;
  ariaLabel: string;
}

const FONT = "font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif\"";
const ROW = 22;
const CHAR = 6.6; // average glyph width at 12px, for laying out labels
// Bold text is about 13% wider (sans-serif at 12 px, measured in Chromium): a bold label laid out
// at CHAR ran past the chart's left edge and was cut.
const BOLD_CHAR = CHAR * 1.15;

/** Horizontal bars from 0 (or the lowest value when negative) with 95% CI whiskers. */
export function barChart(spec: BarChartSpec): string {
  const width = spec.width ?? 540;
  const labelW = labelWidth(spec.data.map((d) => ({ text: d.label + (d.emphasis ? ' *' : ''), bold: d.emphasis ?? false })), width);
  const valueW = Math.min(110, Math.max(40, ...spec.data.map((d) => d.valueLabel.length * CHAR + 10)));
  const top = 6;
  const plotH = spec.data.length * ROW;
  const height = top + plotH + 40;
  const x0 = labelW;
  const x1 = width - valueW;
  const lo = Math.min(0, ...spec.data.map((d) => d.lo));
  const hi = Math.max(0, ...spec.data.map((d) => d.hi));
  const ticks = niceTicks(lo, hi === lo ? lo + 1 : hi, 5);
  const dLo = Math.min(lo, ticks[0]!);
  const dHi = Math.max(hi, ticks[ticks.length - 1]!);
  const sx = (v: number) => x0 + ((v - dLo) / (dHi - dLo || 1)) * (x1 - x0);
  const base = Math.min(Math.max(0, dLo), dHi); // bars grow from 0

  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${esc(spec.ariaLabel)}" ${FONT} font-size="12">`);
  for (const t of ticks) {
    const x = r1(sx(t));
    parts.push(`<line x1="${x}" x2="${x}" y1="${top}" y2="${top + plotH}" stroke="#e5e7eb"/>`);
    parts.push(`<text x="${x}" y="${top + plotH + 15}" text-anchor="middle" fill="#6b7280" font-size="11">${esc(spec.tick(t))}</text>`);
  }
  spec.data.forEach((d, i) => {
    const y = top + i * ROW;
    const cy = y + ROW / 2;
    const color = KIND_COLORS[d.kind];
    const a = sx(base);
    const b = sx(d.mean);
    parts.push(`<g><title>${esc(d.tooltip)}</title>`);
    parts.push(`<text x="${x0 - 8}" y="${cy + 4}" text-anchor="end" fill="#111827"${d.emphasis ? ' font-weight="700"' : ''}>${labelMarkup(d.label, d.emphasis ? ' *' : '', d.emphasis ?? false, labelW)}</text>`);
    parts.push(`<rect x="${r1(Math.min(a, b))}" y="${y + 4}" width="${r1(Math.max(1, Math.abs(b - a)))}" height="${ROW - 8}" rx="2" fill="${color}" fill-opacity="0.85"/>`);
    if (d.hi > d.lo) {
      const wl = r1(sx(d.lo));
      const wh = r1(sx(d.hi));
      parts.push(`<path d="M${wl} ${cy}H${wh}M${wl} ${cy - 5}V${cy + 5}M${wh} ${cy - 5}V${cy + 5}" stroke="#111827" stroke-width="1.3" fill="none"/>`);
    }
    parts.push(`<text x="${r1(Math.max(sx(d.hi), a, b) + 6)}" y="${cy + 4}" fill="#374151" font-size="11">${esc(d.valueLabel)}</text>`);
    parts.push('</g>');
  });
  parts.push(`<line x1="${r1(sx(base))}" x2="${r1(sx(base))}" y1="${top}" y2="${top + plotH}" stroke="#9ca3af"/>`);
  parts.push(`<text x="${r1((x0 + x1) / 2)}" y="${height - 6}" text-anchor="middle" fill="#374151" font-size="11">${esc(spec.axisLabel)}</text>`);
  parts.push('</svg>');
  return parts.join('');
}

export interface RatioItem {
  label: string;
  kind: SolverKind;
  ratio: number;
  lo: number;
  hi: number;
  valueLabel: string;
  tooltip: string;
}

export interface RatioGroup {
  title: string;
  items: RatioItem[];
}

export interface RatioChartSpec {
  groups: RatioGroup[];
  better: Better;
  axisLabel: string;
  width?: number;
  ariaLabel: string;
  /**
   * Only groups [from, to) are drawn, on the scale and label width that all of them need: a chart
   * cut in two (the dashboard folds a long one) reads as one.
   */
  part?: [number, number];
}

/** Ratios with 95% whiskers on a log axis, a rule at 1, grouped (one group per instance). */
export function ratioChart(spec: RatioChartSpec): string {
  const width = spec.width ?? 720;
  const items = spec.groups.flatMap((g) => g.items);
  const labelW = labelWidth([...items.map((d) => d.label), ...spec.groups.map((g) => g.title)].map((s) => ({ text: s.slice(0, 40), bold: false })), width);
  const valueW = 60;
  const top = 26;
  const drawn = spec.part ? spec.groups.slice(...spec.part) : spec.groups;
  const rows = drawn.reduce((n, g) => n + 1 + g.items.length, 0);
  const plotH = rows * ROW;
  const height = top + plotH + 40;
  const x0 = labelW;
  const x1 = width - valueW;
  const vals = items.flatMap((d) => [d.lo, d.hi, d.ratio]).filter((v) => v > 0 && Number.isFinite(v));
  const lo = Math.min(1, ...vals) / 1.15;
  const hi = Math.max(1, ...vals) * 1.15;
  const ticks = logTicks(lo, hi);
  const L = (v: number) => Math.log(v);
  const sx = (v: number) => x0 + ((L(Math.min(hi, Math.max(lo, v))) - L(lo)) / (L(hi) - L(lo))) * (x1 - x0);
  const one = r1(sx(1));

  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${esc(spec.ariaLabel)}" ${FONT} font-size="12">`);
  // Shade the better side of 1 so the reading needs no legend.
  const [bx, bw] = spec.better === 'lower' ? [x0, one - x0] : [one, x1 - one];
  parts.push(`<rect x="${r1(bx)}" y="${top}" width="${r1(bw)}" height="${plotH}" fill="#ecfdf5"/>`);
  parts.push(`<text x="${spec.better === 'lower' ? one - 6 : one + 6}" y="${top - 9}" text-anchor="${spec.better === 'lower' ? 'end' : 'start'}" fill="#047857" font-size="11">${spec.better === 'lower' ? '← better' : 'better →'}</text>`);
  for (const t of ticks) {
    const x = r1(sx(t));
    parts.push(`<line x1="${x}" x2="${x}" y1="${top}" y2="${top + plotH}" stroke="#e5e7eb"/>`);
    parts.push(`<text x="${x}" y="${top + plotH + 15}" text-anchor="middle" fill="#6b7280" font-size="11">${esc(fmtTick(t))}×</text>`);
  }
  parts.push(`<line x1="${one}" x2="${one}" y1="${top - 4}" y2="${top + plotH}" stroke="#111827" stroke-width="1.2" stroke-dasharray="4 3"/>`);
  let row = 0;
  for (const g of drawn) {
    const gy = top + row * ROW;
    parts.push(`<text x="4" y="${gy + ROW / 2 + 4}" fill="#111827" font-weight="600">${esc(g.title)}</text>`);
    parts.push(`<line x1="0" x2="${width}" y1="${gy + 0.5}" y2="${gy + 0.5}" stroke="#d1d5db"/>`);
    row++;
    for (const d of g.items) {
      const cy = top + row * ROW + ROW / 2;
      const color = KIND_COLORS[d.kind];
      parts.push(`<g><title>${esc(d.tooltip)}</title>`);
      parts.push(`<text x="${x0 - 8}" y="${cy + 4}" text-anchor="end" fill="#374151">${labelMarkup(d.label, '', false, labelW)}</text>`);
      if (d.hi > d.lo) {
        const wl = r1(sx(d.lo));
        const wh = r1(sx(d.hi));
        parts.push(`<path d="M${wl} ${cy}H${wh}M${wl} ${cy - 5}V${cy + 5}M${wh} ${cy - 5}V${cy + 5}" stroke="${color}" stroke-width="1.6" fill="none"/>`);
      }
      parts.push(`<circle cx="${r1(sx(d.ratio))}" cy="${cy}" r="4.5" fill="${color}" stroke="#fff" stroke-width="1"/>`);
      parts.push(`<text x="${x1 + 8}" y="${cy + 4}" fill="#374151" font-size="11">${esc(d.valueLabel)}</text>`);
      parts.push('</g>');
      row++;
    }
  }
  parts.push(`<text x="${r1((x0 + x1) / 2)}" y="${height - 6}" text-anchor="middle" fill="#374151" font-size="11">${esc(spec.axisLabel)}</text>`);
  parts.push('</svg>');
  return parts.join('');
}

export interface LineSeries {
  label: string;
  color: string;
  points: { x: number; y: number }[];
}

export interface LineChartSpec {
  series: LineSeries[];
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  /** The x axis's span (default: the points', from 0): small multiples share one. */
  xDomain?: [number, number];
  ariaLabel: string;
}

/** Learning curves: one polyline per series on linear axes, with a legend above the plot. */
export function lineChart(spec: LineChartSpec): string {
  const width = spec.width ?? 540;
  const height = spec.height ?? 260;
  const top = 26;
  const left = 56;
  const right = 12;
  const bottom = 40;
  const pts = spec.series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const xs = pts.map((p) => p.x);
  const ys = pts.map((p) => p.y);
  const xLo = spec.xDomain?.[0] ?? Math.min(...xs, 0);
  const xHi = spec.xDomain?.[1] ?? Math.max(...xs, xLo + 1);
  const yMin = Math.min(...ys);
  const yMax = Math.max(...ys);
  const pad = (yMax - yMin) * 0.05 || Math.abs(yMax) * 0.05 || 1;
  // Padded, a key that is never negative (a loss, a share from 0 to 1) had an axis from -0.5.
  // (A key that is 0 throughout keeps its padding on both sides.)
  const yLo = yMin >= 0 && yMax > 0 ? Math.max(0, yMin - pad) : yMin - pad;
  const yHi = yMax <= 0 && yMin < 0 ? Math.min(0, yMax + pad) : yMax + pad;
  const xt = niceTicks(xLo, xHi, 5);
  const yt = niceTicks(yLo, yHi, 5);
  const [x0v, x1v] = [Math.min(xLo, xt[0]!), Math.max(xHi, xt[xt.length - 1]!)];
  const [y0v, y1v] = [Math.min(yLo, yt[0]!), Math.max(yHi, yt[yt.length - 1]!)];
  const sx = (v: number) => left + ((v - x0v) / (x1v - x0v || 1)) * (width - left - right);
  const sy = (v: number) => height - bottom - ((v - y0v) / (y1v - y0v || 1)) * (height - top - bottom);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${esc(spec.ariaLabel)}" ${FONT} font-size="12">`);
  for (const t of xt) {
    const x = r1(sx(t));
    parts.push(`<line x1="${x}" x2="${x}" y1="${top}" y2="${height - bottom}" stroke="#e5e7eb"/><text x="${x}" y="${height - bottom + 15}" text-anchor="middle" fill="#6b7280" font-size="11">${esc(fmtTick(t))}</text>`);
  }
  for (const t of yt) {
    const y = r1(sy(t));
    parts.push(`<line x1="${left}" x2="${width - right}" y1="${y}" y2="${y}" stroke="#e5e7eb"/><text x="${left - 6}" y="${y + 4}" text-anchor="end" fill="#6b7280" font-size="11">${esc(fmtTick(t))}</text>`);
  }
  let lx = left;
  for (const s of spec.series) {
    parts.push(`<rect x="${lx}" y="8" width="10" height="10" fill="${esc(s.color)}"/><text x="${lx + 14}" y="17" fill="#374151" font-size="11">${esc(s.label)}</text>`);
    lx += 24 + s.label.length * CHAR;
    const d = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y)).map((p, i) => `${i === 0 ? 'M' : 'L'}${r1(sx(p.x))} ${r1(sy(p.y))}`).join('');
    if (d) parts.push(`<path d="${d}" fill="none" stroke="${esc(s.color)}" stroke-width="1.8" stroke-linejoin="round"/>`);
  }
  parts.push(`<text x="${r1((left + width - right) / 2)}" y="${height - 6}" text-anchor="middle" fill="#374151" font-size="11">${esc(spec.xLabel)}</text>`);
  parts.push(`<text x="12" y="${r1((top + height - bottom) / 2)}" text-anchor="middle" fill="#374151" font-size="11" transform="rotate(-90 12 ${r1((top + height - bottom) / 2)})">${esc(spec.yLabel)}</text>`);
  parts.push('</svg>');
  return parts.join('');
}

/** Round ticks covering [lo, hi]: steps of 1, 2 or 5 times a power of ten. */
export function niceTicks(lo: number, hi: number, count: number): number[] {
  const span = hi - lo;
  const raw = span / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * mag).find((s) => span / s <= count) ?? 10 * mag;
  // Each tick is a whole multiple of the step: summing steps left float residue where a tick
  // should be 0 (-0.015 + 3 x 0.005 drew "1.73e-18" on the compiler's pgLoss chart).
  const first = Math.floor(lo / step);
  const last = Math.ceil(hi / step - 1e-9);
  const out: number[] = [];
  for (let k = first; k <= last; k++) out.push(Number((k * step).toPrecision(12)));
  return out;
}

/** Ticks for a log axis: 1, 2, 5 per decade, thinned to 1 per decade when the range is wide. */
export function logTicks(lo: number, hi: number): number[] {
  const pick = (mults: number[]) => {
    const out: number[] = [];
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
      for (const m of mults) {
        const v = Number((m * 10 ** e).toPrecision(6));
        if (v >= lo && v <= hi) out.push(v);
      }
    }
    return out;
  };
  let t = pick([1, 2, 5]);
  if (t.length > 9) t = pick([1]);
  if (t.length < 4) t = pick([1, 1.5, 2, 3, 5, 7]);
  if (t.length < 3) t = pick([1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8, 9]);
  return t;
}

function fmtTick(v: number): string {
  return Number(v.toPrecision(3)).toString();
}

/**
 * The width of a column of labels (drawn right-aligned 8 px before its edge), bold ones wider:
 * as wide as its longest label asks, up to 40% of the chart's `width` (at least 220 px) so the
 * plot keeps its room; a label longer than that is cut by labelMarkup.
 */
function labelWidth(labels: { text: string; bold: boolean }[], width: number): number {
  const most = Math.max(220, 0.4 * width);
  return Math.round(Math.min(most, Math.max(60, ...labels.map((l) => textWidth(l.text, l.bold) + 16))));
}

/**
 * A glyph's width at 12 px, by its class: an average glyph for every letter let a name in
 * capitals (W, M are nearly twice an average glyph) run past the chart's edge. Rounded up from
 * DejaVu Sans, what Debian's browsers draw system-ui with; other sans faces are narrower.
 */
function glyphWidth(c: string): number {
  if ('WMmw'.includes(c)) return 11.4;
  if (c >= 'A' && c <= 'Z') return 8.7;
  if (c >= '0' && c <= '9') return 7.6;
  if ("iljI.,:;!|'".includes(c)) return 3.6;
  if ('ftr -()/[]'.includes(c)) return 4.9;
  if (c >= 'a' && c <= 'z') return CHAR;
  return 7.2;
}

function textWidth(text: string, bold: boolean): number {
  let w = 0;
  for (const c of text) w += glyphWidth(c);
  return bold ? w * (BOLD_CHAR / CHAR) : w;
}

/**
 * A label's markup in a column `columnW` px wide, then `suffix` (the best heuristic's ' *'): a
 * label too long for the column is cut with … (it ran past the chart's left edge and lost its
 * start), and its full text is the text's <title>, shown on hover.
 */
function labelMarkup(label: string, suffix: string, bold: boolean, columnW: number): string {
  if (textWidth(label + suffix, bold) <= columnW - 16) return esc(label + suffix);
  // The longest start that leaves room for the ellipsis (about two average glyphs) and the suffix.
  const room = columnW - 16 - textWidth(suffix, bold) - 2 * (bold ? BOLD_CHAR : CHAR);
  let n = 0;
  for (let w = 0; n < label.length && (w += textWidth(label[n]!, bold)) <= room; n++);
  return `<title>${esc(label)}</title>${esc(`${label.slice(0, Math.max(1, n))}…${suffix}`)}`;
}

function r1(v: number): number {
  return Math.round(v * 10) / 10;
}
