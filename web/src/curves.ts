/**
 * Learning curves: each training run's logged keys as small multiples, one small chart per key on
 * its own y scale, all sharing the run's x axis. On one y axis, keys of different scales flattened
 * one another: Decima's imitation label counts (2,166-3,517) beside its loss (0.06-1.98) left the
 * loss a flat line at the bottom.
 */
import { esc, lineChart } from '../../src/bench/svg.js';
import type { Curve, CurvePoint, Curves } from './api.js';

const CURVE_COLORS = ['#ea580c', '#2563eb', '#0d9488', '#7c3aed', '#db2777', '#65a30d'];
/** What a point may be counted by, first found first: every point must have it. */
const X_KEYS = ['step', 'iteration', 'update'];
/** One small chart's size: four to a row in the page's 1200 px column. */
const SMALL = { width: 290, height: 150 };

/** A number as a range label shows it: four significant digits (one more than the ticks). */
const short = (v: number) => Number(v.toPrecision(4)).toString();

export function drawCurves(problem: string, solver: string, { curves: list, leftOut }: Curves): void {
  // A run's folder is <problem>-<solver>-seed<n>: a prefix test alone gave solver ppo the curves of ppo-guided-search too.
  const prefix = `${problem}-${solver}-`;
  const shown = list.filter((c) => !solver || (c.name.startsWith(prefix) && /^seed\d+$/.test(c.name.slice(prefix.length))));
  const out = shown.map((c) => {
    // The run that made a shipped checkpoint, read from checkpoints/ (a clean clone has no .selfopt/train).
    const whose = c.shipped ? ` (shipped: ${c.shipped})` : '';
    const note = c.total > c.points.length ? ` (${c.points.length} of ${c.total} points)` : '';
    const head = `<figure class="chart curve" data-curve="${esc(c.name)}"${c.shipped ? ' data-shipped' : ''}><h3>${esc(c.name)}${esc(whose)}${esc(note)}</h3>`;
    // A run that has just started has an empty curve.jsonl: drawn, it was a bare frame with no y axis.
    if (c.points.length === 0) return `${head}<p class="muted">no points yet: the training run has logged none (it may have just started)</p></figure>`;
    return `${head}<div class="multiples">${smallMultiples(c)}</div></figure>`;
  });
  // A shipped checkpoint whose curve is not shown says why: left out in silence, its model looked untrained.
  const notes = leftOut.length ? `<ul class="warnings" id="curves-left-out">${leftOut.map((l) => `<li>${esc(`${l.record} ${l.reason}`)}: its curve is not shown</li>`).join('')}</ul>` : '';
  document.getElementById('curves')!.innerHTML = notes + (out.join('') || `<p class="muted">no training logs for ${esc(problem)} (selfopt train writes them under .selfopt/train; a shipped checkpoint's, under checkpoints/)</p>`);
}

/**
 * One small chart per key of `c` that moves, each on its own y scale, over the same x span; the
 * keys that hold one value throughout (a flag, a fixed alpha) are one line under them: a chart
 * each was a flat line taking the room of a curve (Decima's stream run: 5 of its 18).
 */
function smallMultiples(c: Curve): string {
  const xKey = X_KEYS.find((k) => c.points.every((p) => k in p)) ?? '';
  const xOf = (p: CurvePoint, j: number) => (xKey ? p[xKey]! : j);
  const xs = c.points.map(xOf);
  const xDomain: [number, number] = [Math.min(...xs, 0), Math.max(...xs, Math.min(...xs, 0) + 1)];
  const keys = [...new Set(c.points.flatMap((p) => Object.keys(p)))].filter((k) => k !== 't' && k !== xKey);
  const series = keys.map((k) => {
    const points = c.points.flatMap((p, j) => (k in p ? [{ x: xOf(p, j), y: p[k]! }] : []));
    const ys = points.map((p) => p.y);
    return { k, points, lo: Math.min(...ys), hi: Math.max(...ys) };
  });
  // A curve of one point has nothing that moves: its keys keep their charts (a dot each).
  const fixed = c.points.length > 1 ? series.filter((s) => s.lo === s.hi) : [];
  const charts = series.filter((s) => !fixed.includes(s)).map(({ k, points, lo, hi }, i) => {
    const range = lo === hi ? `${short(lo)} throughout` : `${short(lo)} to ${short(hi)}`;
    const svg = lineChart({
      series: [{ label: `${k}: ${range}`, color: CURVE_COLORS[i % CURVE_COLORS.length]!, points }],
      xLabel: xKey || 'point',
      yLabel: k,
      xDomain,
      ...SMALL,
      ariaLabel: `learning curve ${c.name}: ${k}, ${range}`,
    });
    return `<div class="multiple" data-key="${esc(k)}" data-range="${esc(range)}">${svg}</div>`;
  }).join('');
  const line = fixed.length ? `<p class="muted constant-keys">the same throughout: ${fixed.map((s) => `<span data-key="${esc(s.k)}">${esc(`${s.k} ${short(s.lo)}`)}</span>`).join(', ')}</p>` : '';
  return charts + line;
}
