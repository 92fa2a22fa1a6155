/**
 * Learning curves: each training run's logged keys as small multiples, one small chart per key on
 * its own y scale, all sharing the run's x axis. On one y axis, keys of different scales flattened
 * one another: Decima's imitation label counts (2,166-3,517) beside its loss (0.06-1.98) left the
 * loss a flat line at the bottom.
 */
import { esc, lineChart } from '../../src/bench/svg.js';
import type { Curve, CurvePoint, Curves } from './api.js';

const CURVE_COLORS = ['#ea580c', '#2563eb', '#0d9488', '#7c3aed', '#db2777', '#65a30d'];
/** What a point is counted by, first found first, before any other key that counts up. */
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
    return `${head}${smallMultiples(c)}</figure>`;
  });
  // A shipped checkpoint whose curve is not shown says why: left out in silence, its model looked untrained.
  const notes = leftOut.length ? `<ul class="warnings" id="curves-left-out">${leftOut.map((l) => `<li>${esc(`${l.record} ${l.reason}`)}: its curve is not shown</li>`).join('')}</ul>` : '';
  document.getElementById('curves')!.innerHTML = notes + (out.join('') || `<p class="muted">no training logs for ${esc(problem)} (selfopt train writes them under .selfopt/train; a shipped checkpoint's, under checkpoints/)</p>`);
}

/**
 * One small chart per key that moves, each on its own y scale, against its phase's counter; the
 * keys that hold one value throughout (a flag, a fixed alpha) are one line under them: a chart
 * each was a flat line taking the room of a curve (Decima's stream run: 5 of its 18).
 *
 * A log may have phases, each counted by its own key (the compiler's PPO run: demonstrations by
 * demoPrograms, cloning by bcEpoch, PPO by step). Against the point index, those counters were
 * charts of their own and each phase a slice of one shared x axis. So each point is counted by the
 * first of X_KEYS it carries, else by the first key it carries that counts up (see countingKeys),
 * else by its index ('point'); the keys of the points one key counts are charted against it, in a
 * row of their own. Where that counter starts over (a second round of cloning), each round is a
 * line of its own in the same chart.
 */
function smallMultiples(c: Curve): string {
  const counting = countingKeys(c.points);
  const phases = new Map<string, { p: CurvePoint; x: number; round: number }[]>();
  c.points.forEach((p, j) => {
    const xKey = X_KEYS.find((k) => k in p) ?? Object.keys(p).find((k) => counting.has(k)) ?? '';
    const phase = phases.get(xKey) ?? phases.set(xKey, []).get(xKey)!;
    const x = xKey ? p[xKey]! : j;
    const last = phase[phase.length - 1];
    phase.push({ p, x, round: !last ? 0 : x < last.x ? last.round + 1 : last.round });
  });
  const fixed = new Map<string, string>();
  const oneX = new Map<string, string[]>();
  let i = 0;
  const rows = [...phases].map(([xKey, phase]) => {
    const all = phase.map((q) => q.x);
    const xDomain: [number, number] = [Math.min(...all, 0), Math.max(...all, Math.min(...all, 0) + 1)];
    const rounds = phase[phase.length - 1]!.round + 1;
    const xLabel = xKey || 'point';
    const keys = [...new Set(phase.flatMap((q) => Object.keys(q.p)))].filter((k) => k !== 't' && k !== xKey);
    const charts = keys.flatMap((k) => {
      const ys = phase.flatMap((q) => (k in q.p ? [q.p[k]!] : []));
      const [lo, hi] = [Math.min(...ys), Math.max(...ys)];
      // A curve of one point has nothing that moves: its keys keep their charts (a dot each).
      if (lo === hi && c.points.length > 1) {
        fixed.set(`${k} ${short(lo)}`, k);
        return [];
      }
      // A key logged at one x only (the compiler's demonstration count on its validation lines, both at
      // step 0) is no curve against x: charted, it was an upright line at one tick. Its values are said.
      const xs = phase.flatMap((q) => (k in q.p ? [q.x] : []));
      if (xs.every((x) => x === xs[0]) && c.points.length > 1) {
        const at = `${xLabel} ${short(xs[0]!)}`;
        oneX.set(at, [...(oneX.get(at) ?? []), `<span data-key="${esc(k)}">${esc(`${k} ${ys.map(short).join(', ')}`)}</span>`]);
        return [];
      }
      const range = lo === hi ? `${short(lo)} throughout` : `${short(lo)} to ${short(hi)}`;
      const color = CURVE_COLORS[i++ % CURVE_COLORS.length]!;
      const line = (r: number) => phase.flatMap((q) => (q.round === r && k in q.p ? [{ x: q.x, y: q.p[k]! }] : []));
      // Rounds are told apart by colour, round n the same colour in every chart; the first legend names the key.
      const series = rounds === 1
        ? [{ label: `${k}: ${range}`, color, points: line(0) }]
        : Array.from({ length: rounds }, (_, r) => ({ label: `round ${r + 1}`, color: CURVE_COLORS[r % CURVE_COLORS.length]!, points: line(r) }))
          .filter((s) => s.points.length > 0)
          .map((s, n) => (n === 0 ? { ...s, label: `${k} ${s.label}` } : s));
      const svg = lineChart({ series, xLabel, yLabel: k, xDomain, ...SMALL, ariaLabel: `learning curve ${c.name}: ${k} against ${xLabel}, ${range}` });
      return [`<div class="multiple" data-key="${esc(k)}" data-x="${esc(xLabel)}" data-range="${esc(range)}">${svg}</div>`];
    });
    return charts.length ? `<div class="multiples">${charts.join('')}</div>` : '';
  });
  const line = fixed.size ? `<p class="muted constant-keys">the same throughout: ${[...fixed].map(([text, k]) => `<span data-key="${esc(k)}">${esc(text)}</span>`).join(', ')}</p>` : '';
  const once = [...oneX].map(([at, spans]) => `<p class="muted at-one-x">at ${esc(at)} only: ${spans.join('; ')}</p>`).join('');
  return rows.join('') + line + once;
}

/**
 * The keys that count something up, so that a phase may be charted against them: whole numbers
 * that rise at every point, each run of them (a counter may start over, a phase run again) at
 * least 3 points long. A quantity in whole numbers (states per program) goes down as often as up.
 */
function countingKeys(points: CurvePoint[]): Set<string> {
  const out = new Set<string>();
  for (const k of new Set(points.flatMap((p) => Object.keys(p)))) {
    const vs = points.flatMap((p) => (k in p ? [p[k]!] : []));
    if (k === 't' || !vs.every(Number.isInteger) || vs.some((v, j) => j > 0 && v === vs[j - 1])) continue;
    // Where each run starts: the first value, and each value below the one before it.
    const starts = vs.flatMap((v, j) => (j === 0 || v < vs[j - 1]! ? [j] : []));
    if ([...starts, vs.length].every((s, n) => n === 0 || s - starts[n - 1]! >= 3)) out.add(k);
  }
  return out;
}
