/**
 * Terminal tables of a Summary: plain text, padded to the terminal's width.
 *
 * For the primary metric, one block per instance: every solver's mean ± half the 95% interval,
 * n, its ratio to the baseline, and for learned solvers the ratio to the instance's best
 * heuristic (marked `*`), each with its interval; then the geometric means across instances.
 * A mean or ratio of one value (n = 1) is shown without an interval: it has none.
 * The other metrics follow as compact matrices (solvers x instances, means only).
 *
 * Colour only when asked for (the default asks when stdout is a TTY and NO_COLOR is unset); it
 * never carries meaning the text lacks.
 */
import type { Better } from '../core/problem.js';
import type { BarDatum } from './svg.js';
import { hasOneValueStat, type Comparison, type Summary, type SummaryRow } from './summary.js';

export interface TableOptions {
  /** Target width in columns (default: the terminal's, else 120). */
  width?: number;
  /** ANSI colour (default: stdout is a TTY and NO_COLOR is unset). */
  color?: boolean;
}

type Tone = 'good' | 'bad' | 'strong' | 'dim';
interface Cell {
  text: string;
  tone?: Tone;
}
type Align = 'l' | 'r';

/** The whole terminal report of one problem. */
export function formatSummaryTable(s: Summary, opts: TableOptions = {}): string {
  // Piped output has no terminal to wrap it: 120 columns then.
  const width = Math.max(40, opts.width ?? (process.stdout.isTTY ? process.stdout.columns : undefined) ?? 120);
  const color = opts.color ?? (process.stdout.isTTY === true && !process.env.NO_COLOR);
  const out: string[] = [];
  const pm = s.meta.metrics.find((m) => m.name === s.meta.primaryMetric);
  const seeds = s.meta.seeds.length;
  out.push(paint(`${s.problem}: ${s.meta.primaryMetric}${pm ? ` [${pm.unit || 'no unit'}, ${pm.better} is better]` : ''}`, 'strong', color));
  out.push(`runs ${s.meta.runIds.join(', ') || '-'} · code ${s.meta.codeVersions.join(', ') || '-'} · ${seeds} seed${seeds === 1 ? '' : 's'}`);
  if (s.rows.length === 0) {
    out.push('no results recorded for this problem');
    return out.join('\n') + '\n';
  }

  for (const inst of s.meta.instances) {
    const rows = s.rows.filter((r) => r.instance === inst.id && r.metric === s.meta.primaryMetric);
    if (rows.length === 0) continue;
    out.push('', paint(`${inst.id}${inst.split === 'train' ? ' (train split)' : ''}`, 'strong', color));
    out.push(...primaryBlock(s, inst.id, rows, width, color));
  }

  const lines = geomeanLines(s).flatMap((l) => wrap(l, width, '    '));
  if (lines.length > 0) out.push('', ...lines);
  if (pm) {
    const better = pm.better === 'lower' ? 'below' : 'above';
    const note = `* best heuristic on the instance. Ratios are solver / reference (geometric mean over paired seeds, 95% bootstrap CI); ${better} 1 is better.${hasOneValueStat(s) ? ' A mean or ratio of one seed (n=1) has no interval.' : ''}`;
    out.push(...wrap(note, width, '  ').map((l) => paint(l, 'dim', color)));
  }

  for (const m of s.meta.metrics) {
    if (m.name === s.meta.primaryMetric) continue;
    const unit = columnFormat(s.rows.filter((r) => r.metric === m.name).map((r) => r.mean), m.unit).label;
    out.push('', paint(`${m.name}${unit ? ` [${unit}]` : ''}, ${m.better} is better, mean over seeds`, 'strong', color));
    out.push(...metricMatrix(s, m.name, width, color));
  }
  for (const w of s.meta.warnings) out.push(paint(`note: ${w}`, 'dim', color));
  return out.join('\n') + '\n';
}

function primaryBlock(s: Summary, instance: string, rows: SummaryRow[], width: number, color: boolean): string[] {
  const best = s.meta.bestHeuristic[instance];
  const find = (solver: string, vs: Comparison['vs']) => s.comparisons.find((c) => c.instance === instance && c.solver === solver && c.vs === vs);
  const hasLearned = rows.some((r) => r.kind === 'learned');
  const header = ['', 'solver', 'kind', 'n', 'mean ± 95% CI', `vs ${s.meta.baseline}`, ...(hasLearned ? ['vs best heuristic'] : [])];
  const align: Align[] = ['l', 'l', 'l', 'r', 'r', 'r', 'r'];
  const build = (withCi: boolean) =>
    rows.map((r): Cell[] => {
      const base = find(r.solver, 'baseline');
      const vsBest = find(r.solver, 'best-heuristic');
      return [
        { text: r.solver === best ? '*' : ' ', tone: 'strong' },
        { text: r.solver, ...(r.solver === best ? { tone: 'strong' as const } : {}) },
        { text: r.kind },
        { text: String(r.n) },
        { text: formatMeanCi(r.mean, r.ci95, r.unit) },
        r.solver === s.meta.baseline ? { text: '1', tone: 'dim' } : ratioCell(base, withCi),
        ...(hasLearned ? [r.kind === 'learned' ? ratioCell(vsBest, true) : { text: '' }] : []),
      ];
    });
  // Drop the intervals of the baseline ratios first when the block does not fit.
  let grid = renderGrid(header.map((text) => ({ text })), build(true), align, color);
  if (Math.max(...grid.map(visibleLength)) > width) grid = renderGrid(header.map((text) => ({ text })), build(false), align, color);
  return grid;
}

function ratioCell(c: Comparison | undefined, withCi: boolean): Cell {
  if (!c) return { text: '-', tone: 'dim' };
  const text = withCi ? `${formatRatio(c.ratio)} ${formatInterval(c.ci95, c.ratio)}` : formatRatio(c.ratio);
  const tone = verdict(c.ci95, c.better);
  return tone ? { text, tone } : { text };
}

/** 'good' when the whole interval is on the better side of 1, 'bad' when on the worse side; no interval, no verdict. */
function verdict(ci: [number, number] | null, better: Better): Tone | undefined {
  if (ci === null) return undefined;
  const below = ci[1] < 1;
  const above = ci[0] > 1;
  if (!below && !above) return undefined;
  return below === (better === 'lower') ? 'good' : 'bad';
}

/** The geometric means across instances, one line per reference, as `selfopt report` prints them and the dashboard shows them. */
export function geomeanLines(s: Summary): string[] {
  const out: string[] = [];
  for (const vs of ['baseline', 'best-heuristic'] as const) {
    const gs = s.geomeans.filter((g) => g.vs === vs);
    if (gs.length === 0) continue;
    const ref = vs === 'baseline' ? s.meta.baseline : 'the best heuristic';
    const n = Math.max(...gs.map((g) => g.instances.length));
    const some = (k: number) => ` (${k} test instance${k === 1 ? '' : 's'})`;
    out.push(`geomean vs ${ref} over ${n === 1 ? '1 instance' : `${n} instances`}: ${gs.map((g) => `${g.solver} ${formatRatio(g.ratio)}${g.instances.length !== n ? some(g.instances.length) : ''}`).join(', ')}`);
  }
  return out;
}

function metricMatrix(s: Summary, metric: string, width: number, color: boolean): string[] {
  const instances = s.meta.instances.map((i) => i.id).filter((id) => s.rows.some((r) => r.instance === id && r.metric === metric));
  const solvers = s.meta.solvers.filter((sv) => s.rows.some((r) => r.solver === sv.name && r.metric === metric));
  const mine = s.rows.filter((r) => r.metric === metric);
  const fmt = columnFormat(mine.map((r) => r.mean), mine[0]?.unit ?? '');
  const value = (solver: string, instance: string) => {
    const r = mine.find((x) => x.instance === instance && x.solver === solver);
    return r ? fmt.format(r.mean) : '-';
  };
  // Split the instance columns into chunks that fit the width, repeating the solver column.
  const solverWidth = Math.max(6, ...solvers.map((sv) => sv.name.length));
  const colWidth = (id: string) => Math.max(id.length, ...solvers.map((sv) => value(sv.name, id).length)) + 2;
  const chunks: string[][] = [];
  let cur: string[] = [];
  let used = solverWidth + 2;
  for (const id of instances) {
    const w = colWidth(id);
    if (cur.length > 0 && used + w > width) {
      chunks.push(cur);
      cur = [];
      used = solverWidth + 2;
    }
    cur.push(id);
    used += w;
  }
  if (cur.length > 0) chunks.push(cur);
  const out: string[] = [];
  for (const chunk of chunks) {
    if (out.length > 0) out.push('');
    const header: Cell[] = [{ text: 'solver' }, ...chunk.map((text) => ({ text }))];
    const rows = solvers.map((sv): Cell[] => [{ text: sv.name }, ...chunk.map((id) => ({ text: value(sv.name, id) }))]);
    out.push(...renderGrid(header, rows, ['l', ...chunk.map((): Align => 'r')], color));
  }
  return out;
}

/** Pads cells into aligned columns, two spaces apart, a rule under the header. */
function renderGrid(header: Cell[], rows: Cell[][], align: Align[], color: boolean): string[] {
  const ncol = header.length;
  const widths = Array.from({ length: ncol }, (_, j) => Math.max(visibleLength(header[j]!.text), ...rows.map((r) => visibleLength(r[j]?.text ?? ''))));
  const line = (cells: Cell[], toneAll?: Tone) =>
    cells
      .map((c, j) => {
        const padded = (align[j] ?? 'l') === 'r' ? c.text.padStart(widths[j]!) : c.text.padEnd(widths[j]!);
        return paint(padded, c.tone ?? toneAll, color);
      })
      .join('  ')
      .trimEnd();
  const rule = widths.map((w, j) => (header[j]!.text === '' ? ' ' : '-').repeat(w)).join('  ');
  return ['  ' + line(header, 'dim'), '  ' + paint(rule, 'dim', color), ...rows.map((r) => '  ' + line(r))];
}

/** Word-wraps `text` to `width`, continuation lines indented. */
function wrap(text: string, width: number, indent: string): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      out.push(line);
      line = indent + word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') out.push(line);
  return out;
}

const ANSI: Record<Tone, [string, string]> = {
  good: ['\x1b[32m', '\x1b[39m'],
  bad: ['\x1b[31m', '\x1b[39m'],
  strong: ['\x1b[1m', '\x1b[22m'],
  dim: ['\x1b[2m', '\x1b[22m'],
};

function paint(text: string, tone: Tone | undefined, color: boolean): string {
  if (!color || !tone || text.trim() === '') return text;
  return ANSI[tone][0] + text + ANSI[tone][1];
}

function visibleLength(s: string): number {
  // eslint-disable-next-line no-control-regex
  return [...s.replace(/\x1b\[[0-9;]*m/g, '')].length;
}

// --- number formatting (shared with the HTML report) -----------------------------------------

const TIME_UNITS = ['ns', 'µs', 'ms', 's'];
const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
const SI = ['', 'k', 'M', 'G', 'T'];

export interface Scale {
  factor: number;
  /** Text after the number: ' ns', ' MiB', 'k keys', '×'. */
  suffix: string;
}

/** The display scale for `v` in `unit`: ns -> µs -> ms -> s, bytes -> KiB -> MiB, else k/M/G above 10^4. */
export function scaleFor(v: number, unit: string): Scale {
  const a = Math.abs(v);
  const u = unit === 'us' ? 'µs' : unit;
  const t = TIME_UNITS.indexOf(u);
  if (t >= 0) {
    let i = t;
    let f = 1;
    while (i < TIME_UNITS.length - 1 && a / f >= 1000) {
      f *= 1000;
      i++;
    }
    return { factor: f, suffix: ` ${TIME_UNITS[i]}` };
  }
  if (u === 'bytes' || u === 'byte' || u === 'B') {
    let i = 0;
    let f = 1;
    while (i < BYTE_UNITS.length - 1 && a / f >= 1024) {
      f *= 1024;
      i++;
    }
    return { factor: f, suffix: ` ${BYTE_UNITS[i]}` };
  }
  const tail = u === 'x' || u === '×' ? '×' : u === '' || u === 'ratio' ? '' : ` ${u}`;
  let i = 0;
  let f = 1;
  if (a >= 1e4) {
    while (i < SI.length - 1 && a / f >= 1000) {
      f *= 1000;
      i++;
    }
  }
  return { factor: f, suffix: `${SI[i]}${tail}` };
}

/** One scale for a column of values (that of the largest), so that they compare at a glance. */
export function commonScale(values: number[], unit: string): Scale {
  const finite = values.filter(Number.isFinite);
  const max = finite.length > 0 ? Math.max(...finite.map(Math.abs)) : 0;
  return scaleFor(max, unit);
}

/**
 * How to print the values of one metric in a table: on one scale (that of the median value)
 * with the unit in the header, unless they span more than three orders of magnitude across
 * scales; then each value carries its own scale and unit (0.000053 MiB helps nobody).
 */
export function columnFormat(values: number[], unit: string): { label: string; format: (v: number) => string } {
  const mags = values.filter((v) => Number.isFinite(v) && v !== 0).map(Math.abs).sort((a, b) => a - b);
  if (mags.length === 0) return { label: scaleFor(0, unit).suffix.trim(), format: (v) => formatScaled(v, scaleFor(0, unit)) };
  const lo = mags[0]!;
  const hi = mags[mags.length - 1]!;
  if (hi / lo > 1000 && scaleFor(lo, unit).factor !== scaleFor(hi, unit).factor) {
    return { label: '', format: (v) => (v === 0 ? '0' : formatQuantity(v, unit)) };
  }
  // The scale of the typical value, so that most cells read 1..999.
  const sc = scaleFor(mags[Math.floor(mags.length / 2)]!, unit);
  return { label: sc.suffix.trim(), format: (v) => formatScaled(v, sc) };
}

/** A value on a given scale, three significant digits, without its unit. */
export function formatScaled(v: number, sc: Scale): string {
  if (!Number.isFinite(v)) return String(v);
  const x = v / sc.factor;
  return x.toFixed(decimalsFor(x, 3));
}

/** Decimals that show `v` with `sig` significant digits (0..6). */
function decimalsFor(v: number, sig: number): number {
  const a = Math.abs(v);
  if (a === 0 || !Number.isFinite(a)) return 0;
  return Math.min(6, Math.max(0, sig - 1 - Math.floor(Math.log10(a))));
}

/** A value with its unit: `412 ns`, `1.21 MiB`, `12.3k keys`. */
export function formatQuantity(v: number, unit: string): string {
  if (!Number.isFinite(v)) return String(v);
  const sc = scaleFor(v, unit);
  const x = v / sc.factor;
  return `${x.toFixed(decimalsFor(x, 3))}${sc.suffix}`;
}

/**
 * `95.1 ± 2.0 ns`: the mean and half the width of its interval, on the mean's scale; `95.1 ns`
 * when there is no interval (one value: its table shows n beside it).
 */
export function formatMeanCi(mean: number, ci: [number, number] | null, unit: string): string {
  if (!Number.isFinite(mean)) return String(mean);
  if (ci === null) return formatQuantity(mean, unit);
  const sc = scaleFor(mean, unit);
  const m = mean / sc.factor;
  const half = (ci[1] - ci[0]) / 2 / sc.factor;
  let d = decimalsFor(m, 3);
  if (half > 0 && Number(half.toFixed(d)) === 0) d = decimalsFor(half, 1);
  return `${m.toFixed(d)} ± ${half.toFixed(d)}${sc.suffix}`;
}

/** `0.728×`: three significant digits. */
export function formatRatio(r: number): string {
  if (!Number.isFinite(r)) return String(r);
  return `${r.toFixed(decimalsFor(r, 3))}×`;
}

/** `[0.720, 0.740]` with the decimals of the ratio it belongs to; `(n=1)` for a ratio of one pair, which has no interval. */
export function formatInterval(ci: [number, number] | null, ratio: number): string {
  if (ci === null) return NO_INTERVAL;
  const d = Math.max(decimalsFor(ratio, 3), Math.min(decimalsFor(ci[0], 2), decimalsFor(ci[1], 2)));
  return `[${ci[0].toFixed(d)}, ${ci[1].toFixed(d)}]`;
}

/** What stands for the interval of a ratio of one pair. */
export const NO_INTERVAL = '(n=1)';

/** One bar per summary row (mean with its 95% CI as a whisker; none for n = 1), as the HTML report and the dashboard draw them. */
export function solverBars(rows: readonly SummaryRow[], emphasis: (r: SummaryRow) => boolean): BarDatum[] {
  return rows.map((r) => ({
    label: r.solver,
    kind: r.kind,
    mean: r.mean,
    lo: r.ci95?.[0] ?? r.mean,
    hi: r.ci95?.[1] ?? r.mean,
    valueLabel: formatQuantity(r.mean, r.unit),
    tooltip: r.ci95
      ? `${r.solver} (${r.kind}): ${formatMeanCi(r.mean, r.ci95, r.unit)}, 95% CI [${formatQuantity(r.ci95[0], r.unit)}, ${formatQuantity(r.ci95[1], r.unit)}], n=${r.n}`
      : `${r.solver} (${r.kind}): ${formatQuantity(r.mean, r.unit)}, n=${r.n}, no interval`,
    emphasis: emphasis(r),
  }));
}
