/**
 * The HTML report: one self-contained file (inline CSS, inline SVG, no script and no external
 * request), written atomically.
 *
 * Per problem: the primary metric for every instance (mean ± 95% CI, ratios to the baseline and,
 * for learned solvers, to the best heuristic), a bar chart per instance, the ratios to the
 * baseline on a log axis, the learned solvers against the best heuristic, and tables of the
 * other metrics. The summaries are also embedded as JSON, so the numbers can be read back.
 * Past the first few instances (fold.ts), the per-instance parts fold behind a <details> line
 * with the counts, as on the dashboard: no script is needed to open them.
 */
import { writeFileAtomic } from '../core/files.js';
import type { SolverKind } from '../core/problem.js';
import type { RunMeta } from './store.js';
import type { Picture } from './pictures.js';
import { hasOneValueStat, type Comparison, type Summary, type SummaryRow } from './summary.js';
import { barChart, esc, KIND_COLORS, pictureFigures, ratioChart, type RatioGroup } from './svg.js';
import { plural, split } from './fold.js';
import { columnFormat, commonScale, formatInterval, formatMeanCi, formatRatio, formatScaled, solverBars } from './table.js';

export interface HtmlProblem {
  summary: Summary;
  /** Human title, e.g. `Learned index structures`. */
  title?: string;
  /** The paper(s) the problem follows. */
  reference?: string;
  /** Solutions drawn by the problem (seed 1 of each solver), shown after the charts. */
  pictures?: Picture[];
}

export interface HtmlReportInput {
  /** Default `selfopt benchmark report`. */
  title?: string;
  problems: HtmlProblem[];
  /** The runs the summaries draw on (their metadata heads the report). */
  runs: RunMeta[];
  /** Default now; fix it for byte-identical output. */
  generatedAt?: Date;
}

const KINDS: SolverKind[] = ['baseline', 'heuristic', 'peer', 'learned'];

/** The report as one HTML string. */
export function renderHtmlReport(input: HtmlReportInput): string {
  const title = input.title ?? 'selfopt benchmark report';
  const at = (input.generatedAt ?? new Date()).toISOString();
  const body: string[] = [];
  body.push(`<header><h1>${esc(title)}</h1><p class="sub">generated ${esc(fmtTime(at))}</p></header>`);
  body.push(runsSection(input.runs));
  if (input.problems.length > 1) {
    body.push(`<nav><span>Problems:</span> ${input.problems.map((p) => `<a href="#${anchor(p.summary.problem)}">${esc(p.summary.problem)}</a>`).join(' ')}</nav>`);
  }
  for (const p of input.problems) body.push(problemSection(p));
  const data = JSON.stringify(input.problems.map((p) => p.summary)).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
${body.join('\n')}
</main>
<script type="application/json" id="selfopt-summaries">${data}</script>
</body>
</html>
`;
}

/** Renders and writes the report atomically; returns the path. */
export function writeHtmlReport(path: string, input: HtmlReportInput): string {
  writeFileAtomic(path, renderHtmlReport(input));
  return path;
}

function runsSection(runs: RunMeta[]): string {
  if (runs.length === 0) return '<section class="runs"><h2>Runs</h2><p class="muted">No run metadata.</p></section>';
  const rows = runs.map(
    (r) => `<tr><td class="mono">${esc(r.runId)}</td><td>${esc(fmtTime(r.startedAt))}</td><td>${r.finishedAt ? esc(fmtDuration(Date.parse(r.finishedAt) - Date.parse(r.startedAt))) : '<span class="warn">unfinished</span>'}</td><td class="mono">${esc(r.codeVersion)}</td><td class="wrap">${esc(r.machine)}</td><td class="mono wrap">selfopt ${esc(r.command)}</td><td class="num">${r.cells}</td></tr>`,
  );
  return `<section class="runs"><h2>Runs</h2><div class="scroll"><table><thead><tr><th>run</th><th>started (UTC)</th><th>took</th><th>code version</th><th>machine</th><th>command</th><th class="num">cells</th></tr></thead><tbody>${rows.join('')}</tbody></table></div></section>`;
}

function problemSection(p: HtmlProblem): string {
  const s = p.summary;
  const pm = s.meta.metrics.find((m) => m.name === s.meta.primaryMetric);
  const out: string[] = [];
  out.push(`<section class="problem" id="${anchor(s.problem)}">`);
  out.push(`<h2>${esc(s.problem)}${p.title ? ` <span class="title">${esc(p.title)}</span>` : ''}</h2>`);
  if (p.reference) out.push(`<p class="ref">${esc(p.reference)}</p>`);
  const seeds = s.meta.seeds.length;
  out.push(`<p class="facts">${s.meta.instances.length} instances · ${s.meta.solvers.length} solvers · ${seeds} seed${seeds === 1 ? '' : 's'} · baseline <b>${esc(s.meta.baseline)}</b> · code ${s.meta.codeVersions.map((v) => `<span class="mono">${esc(v)}</span>`).join(', ')}</p>`);
  if (s.rows.length === 0 || !pm) {
    out.push('<p class="muted">No results recorded for this problem.</p></section>');
    return out.join('\n');
  }
  out.push(legend(s));
  out.push(headline(s));

  out.push(`<h3>${esc(pm.name)} <span class="unit">${esc(pm.unit)}, ${pm.better} is better</span></h3>`);
  out.push(primaryTable(s));
  out.push(`<p class="note">Mean over seeds ± half the 95% bootstrap interval. Ratios are solver / reference: the geometric mean of per-seed ratios, paired by seed, with a 95% bootstrap interval; ${pm.better === 'lower' ? 'below' : 'above'} 1 is better. <b>*</b> marks each instance's best heuristic (best mean among baseline, heuristic and peer solvers).${hasOneValueStat(s) ? ' A mean or ratio of one seed (n=1) has no interval.' : ''}</p>`);

  const cards: string[] = [];
  for (const inst of s.meta.instances) {
    const rows = s.rows.filter((r) => r.instance === inst.id && r.metric === pm.name);
    if (rows.length === 0) continue;
    const best = s.meta.bestHeuristic[inst.id];
    const scale = commonScale(rows.flatMap((r) => [r.mean, r.ci95?.[1] ?? r.mean]), pm.unit);
    const chart = barChart({
      data: solverBars(rows, (r) => r.solver === best),
      axisLabel: `${pm.name}${scale.suffix.trim() ? ` (${scale.suffix.trim()})` : ''}, ${pm.better} is better`,
      tick: (v) => String(Number((v / scale.factor).toPrecision(4))),
      ariaLabel: `${pm.name} by solver on ${inst.id}`,
    });
    cards.push(`<figure class="card"><figcaption>${esc(inst.id)}${inst.split === 'train' ? ' <span class="tag">train split</span>' : ''}</figcaption>${chart}</figure>`);
  }
  const [shownCards, foldedCards] = split(cards);
  out.push(`<div class="charts">${shownCards.join('')}</div>`);
  if (foldedCards.length) out.push(folded(`charts of ${plural(foldedCards.length, 'more instance')}`, `<div class="charts">${foldedCards.join('')}</div>`));

  if (p.pictures?.length) {
    out.push(`<h3>Solutions <span class="unit">seed 1 of each solver, as the problem draws them</span></h3>`);
    const byInstance = new Map<string, Picture[]>();
    for (const pic of p.pictures) {
      const mine = byInstance.get(pic.instance);
      if (mine) mine.push(pic);
      else byInstance.set(pic.instance, [pic]);
    }
    const [shownPics, foldedPics] = split([...byInstance.values()]);
    out.push(`<div class="pictures">${pictureFigures(shownPics.flat())}</div>`);
    if (foldedPics.length) out.push(folded(`drawings of ${plural(foldedPics.length, 'more instance')}`, `<div class="pictures">${pictureFigures(foldedPics.flat())}</div>`));
  }

  const vsBase = ratioGroups(s, 'baseline');
  if (vsBase.length > 0) {
    out.push(`<h3>Ratio to the baseline <span class="unit">${esc(pm.name)} of solver / ${esc(s.meta.baseline)}, log scale</span></h3>`);
    out.push(ratioFigures((part) => ratioChart({ width: 960, groups: vsBase, better: pm.better, part, axisLabel: `ratio to ${s.meta.baseline} (log scale), 95% CI`, ariaLabel: `ratios to ${s.meta.baseline}` }), vsBase.length));
  }
  const vsBest = ratioGroups(s, 'best-heuristic');
  if (vsBest.length > 0) {
    out.push(`<h3>Learned solvers against the best heuristic <span class="unit">${esc(pm.name)} of learned / best heuristic of the instance, log scale</span></h3>`);
    out.push(ratioFigures((part) => ratioChart({ width: 960, groups: vsBest, better: pm.better, part, axisLabel: 'ratio to the best heuristic (log scale), 95% CI', ariaLabel: 'learned solvers against the best heuristic' }), vsBest.length));
  }

  const others = s.meta.metrics.filter((m) => m.name !== pm.name);
  if (others.length > 0) {
    // As many metric tables side by side as fit, each as wide as its instance columns need.
    const minW = Math.min(1180, 170 + 150 * s.meta.instances.length);
    out.push(`<h3>Other metrics <span class="unit">mean over seeds</span></h3><div class="others" style="grid-template-columns:repeat(auto-fill,minmax(min(100%,${minW}px),1fr))">`);
    for (const m of others) out.push(metricMatrix(s, m.name));
    out.push('</div>');
  }
  if (s.meta.warnings.length > 0) out.push(`<ul class="warnings">${s.meta.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul>`);
  out.push('</section>');
  return out.join('\n');
}

/** A folded part: a line with what it holds, which opens it. */
function folded(what: string, inner: string): string {
  return `<details class="fold"><summary>show ${esc(what)}</summary>${inner}</details>`;
}

/** A ratio chart of `n` instance groups, those past the first few folded; `chart(part)` draws groups [from, to) on the whole chart's scale. */
function ratioFigures(chart: (part: [number, number]) => string, n: number): string {
  const [shown, rest] = split(Array.from({ length: n }, (_, i) => i));
  const first = `<figure class="card wide">${chart([0, shown.length])}</figure>`;
  return rest.length ? first + folded(plural(rest.length, 'more instance'), `<figure class="card wide">${chart([shown.length, n])}</figure>`) : first;
}

function legend(s: Summary): string {
  const kinds = KINDS.filter((k) => s.meta.solvers.some((x) => x.kind === k));
  return `<p class="legend">${kinds.map((k) => `<span><i style="background:${KIND_COLORS[k]}"></i>${k}</span>`).join('')}</p>`;
}

/** The geometric means across instances, as the section's first line of evidence. */
function headline(s: Summary): string {
  if (s.geomeans.length === 0) return '';
  const line = (vs: Comparison['vs'], ref: string) => {
    const gs = s.geomeans.filter((g) => g.vs === vs);
    if (gs.length === 0) return '';
    const items = gs.map((g) => `<span class="gm"><i style="background:${KIND_COLORS[g.kind]}"></i>${esc(g.solver)} <b>${esc(formatRatio(g.ratio))}</b><small>${g.instances.length}</small></span>`);
    return `<div class="gmline"><span class="gmref">geomean vs ${esc(ref)}</span><div class="gmitems">${items.join('')}</div></div>`;
  };
  return `<div class="headline">${line('baseline', s.meta.baseline)}${line('best-heuristic', 'best heuristic')}<p class="note">Geometric mean of the per-instance ratios; the small number is how many instances enter it (learned solvers: test-split instances only).</p></div>`;
}

function primaryTable(s: Summary): string {
  const pm = s.meta.primaryMetric;
  const hasLearned = s.meta.solvers.some((x) => x.kind === 'learned');
  const cols = hasLearned ? 7 : 6;
  const find = (inst: string, solver: string, vs: Comparison['vs']) => s.comparisons.find((c) => c.instance === inst && c.solver === solver && c.vs === vs);
  const groups: string[][] = [];
  for (const inst of s.meta.instances) {
    const rs = s.rows.filter((r) => r.instance === inst.id && r.metric === pm);
    if (rs.length === 0) continue;
    const best = s.meta.bestHeuristic[inst.id];
    const rows: string[] = [];
    groups.push(rows);
    rows.push(`<tr class="group"><th colspan="${cols}">${esc(inst.id)}${inst.split === 'train' ? ' <span class="tag">train split</span>' : ''}</th></tr>`);
    for (const r of rs) {
      const isBest = r.solver === best;
      const base = r.solver === s.meta.baseline ? '<span class="muted">1</span>' : ratioHtml(find(inst.id, r.solver, 'baseline'));
      const vsBest = r.kind === 'learned' ? ratioHtml(find(inst.id, r.solver, 'best-heuristic')) : '';
      rows.push(
        `<tr${isBest ? ' class="best"' : ''}><td><i class="dot" style="background:${KIND_COLORS[r.kind]}"></i>${esc(r.solver)}${isBest ? ' <b>*</b>' : ''}</td><td class="kind">${r.kind}</td><td class="num">${r.n}</td><td class="num">${esc(formatMeanCi(r.mean, r.ci95, r.unit))}</td><td class="num muted">${esc(ciText(r))}</td><td class="num">${base}</td>${hasLearned ? `<td class="num">${vsBest}</td>` : ''}</tr>`,
      );
    }
  }
  const table = (rows: string[][]) => `<div class="scroll"><table class="primary"><thead><tr><th>solver</th><th>kind</th><th class="num">n</th><th class="num">mean ± CI</th><th class="num">95% CI</th><th class="num">vs ${esc(s.meta.baseline)}</th>${hasLearned ? '<th class="num">vs best heuristic</th>' : ''}</tr></thead><tbody>${rows.flat().join('')}</tbody></table></div>`;
  const [shown, rest] = split(groups);
  // Each group is the instance's heading row and a row per solver.
  return table(shown) + (rest.length ? folded(`${plural(rest.length, 'more instance')} (${plural(rest.flat().length - rest.length, 'row')})`, table(rest)) : '');
}

function ciText(r: SummaryRow): string {
  if (r.ci95 === null) return '–';
  const sc = commonScale([r.mean], r.unit);
  return `[${formatScaled(r.ci95[0], sc)}, ${formatScaled(r.ci95[1], sc)}]`;
}

function ratioHtml(c: Comparison | undefined): string {
  if (!c) return '<span class="muted">–</span>';
  const good = c.ci95 !== null && (c.better === 'lower' ? c.ci95[1] < 1 : c.ci95[0] > 1);
  const bad = c.ci95 !== null && (c.better === 'lower' ? c.ci95[0] > 1 : c.ci95[1] < 1);
  const cls = good ? 'good' : bad ? 'bad' : 'even';
  return `<span class="${cls}">${esc(formatRatio(c.ratio))}</span> <span class="ci">${esc(formatInterval(c.ci95, c.ratio))}</span>`;
}

function ratioGroups(s: Summary, vs: Comparison['vs']): RatioGroup[] {
  const groups: RatioGroup[] = [];
  for (const inst of s.meta.instances) {
    const cs = s.comparisons.filter((c) => c.instance === inst.id && c.vs === vs);
    if (cs.length === 0) continue;
    const title = vs === 'best-heuristic' ? `${inst.id} (vs ${cs[0]!.baseline})` : inst.id;
    groups.push({
      title: inst.split === 'train' ? `${title} · train split` : title,
      items: cs.map((c) => ({
        label: c.solver,
        kind: c.kind,
        ratio: c.ratio,
        lo: c.ci95?.[0] ?? c.ratio,
        hi: c.ci95?.[1] ?? c.ratio,
        valueLabel: formatRatio(c.ratio),
        tooltip: `${c.solver} / ${c.baseline} on ${c.instance}: ${formatRatio(c.ratio)} ${formatInterval(c.ci95, c.ratio)}, ${c.n} paired seeds`,
      })),
    });
  }
  return groups;
}

function metricMatrix(s: Summary, metric: string): string {
  const info = s.meta.metrics.find((m) => m.name === metric)!;
  const mine = s.rows.filter((r) => r.metric === metric);
  const instances = s.meta.instances.filter((i) => mine.some((r) => r.instance === i.id));
  const solvers = s.meta.solvers.filter((x) => mine.some((r) => r.solver === x.name));
  const fmt = columnFormat(mine.map((r) => r.mean), info.unit);
  const unit = fmt.label;
  const head = `<tr><th>solver</th>${instances.map((i) => `<th class="num">${breakable(i.id)}</th>`).join('')}</tr>`;
  const body = solvers.map((x) => {
    const cells = instances.map((i) => {
      const r = mine.find((y) => y.instance === i.id && y.solver === x.name);
      return r ? `<td class="num" title="${esc(formatMeanCi(r.mean, r.ci95, r.unit))}, n=${r.n}">${esc(fmt.format(r.mean))}</td>` : '<td class="num muted">–</td>';
    });
    return `<tr><td><i class="dot" style="background:${KIND_COLORS[x.kind]}"></i>${esc(x.name)}</td>${cells.join('')}</tr>`;
  });
  return `<div class="metric"><h4>${esc(metric)} <span class="unit">${unit ? `${esc(unit)}, ` : ''}${info.better} is better</span></h4><div class="scroll"><table>${head}${body.join('')}</table></div></div>`;
}

/** Escaped, with break opportunities after _ / - so that long instance ids wrap in headers. */
function breakable(id: string): string {
  return esc(id).replace(/([_/-])/g, '$1<wbr>');
}

function anchor(name: string): string {
  return `p-${name.replace(/[^A-Za-z0-9_-]/g, '-')}`;
}

function fmtDuration(ms: number): string {
  if (!(ms >= 0)) return '?';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

function fmtTime(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z').replace(/Z$/, ' UTC');
}

const CSS = `
.pictures{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,420px),1fr));gap:12px}
.picture svg{width:100%;height:auto;display:block}
:root { --fg:#111827; --muted:#6b7280; --line:#e5e7eb; --bg:#f8fafc; --card:#fff; --accent:#1d4ed8; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--fg); font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif; }
main { max-width:1240px; margin:0 auto; padding:28px 28px 60px; }
header h1 { margin:0; font-size:26px; letter-spacing:-0.01em; }
.sub, .ref, .facts { color:var(--muted); margin:4px 0; }
.ref { font-style:italic; }
h2 { font-size:21px; margin:0 0 2px; }
h2 .title { font-weight:400; color:var(--muted); }
h3 { font-size:16px; margin:26px 0 8px; }
h4 { font-size:14px; margin:0 0 6px; }
.unit { font-weight:400; color:var(--muted); font-size:13px; margin-left:6px; }
section { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:20px 22px; margin-top:20px; }
section.runs h2 { font-size:16px; margin-bottom:8px; }
nav { margin-top:14px; } nav a { margin-right:10px; color:var(--accent); }
table { border-collapse:collapse; width:100%; font-variant-numeric:tabular-nums; }
th, td { padding:5px 10px; border-bottom:1px solid var(--line); text-align:left; white-space:nowrap; }
thead th { font-weight:600; color:#374151; border-bottom:2px solid #d1d5db; font-size:13px; }
td.num, th.num { text-align:right; }
tr.group th { background:#f1f5f9; font-weight:600; padding-top:7px; border-bottom:1px solid #d1d5db; }
tr.best td { background:#eff6ff; }
tbody tr:hover td { background:#f9fafb; }
td.kind { color:var(--muted); }
.mono { font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; font-size:12.5px; }
.muted { color:var(--muted); }
.ci { color:var(--muted); font-size:12.5px; }
.good { color:#047857; font-weight:600; } .bad { color:#b91c1c; font-weight:600; } .even { color:var(--fg); }
.warn { color:#b45309; font-weight:600; }
.tag { font-size:11px; font-weight:500; color:#92400e; background:#fef3c7; border-radius:4px; padding:1px 6px; margin-left:6px; }
i.dot, .legend i, .gm i { display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:6px; vertical-align:0; }
.legend { margin:10px 0 4px; color:#374151; } .legend span { margin-right:16px; }
.headline { border:1px solid var(--line); border-radius:8px; padding:10px 14px; margin:12px 0 4px; background:#fcfcfd; }
.gmline { display:flex; align-items:baseline; gap:12px; margin:4px 0; }
.gmitems { display:flex; flex-wrap:wrap; gap:4px 18px; }
.gmref { color:var(--muted); flex:0 0 190px; }
.gm small { color:var(--muted); margin-left:3px; font-size:11px; vertical-align:super; }
.note { color:var(--muted); font-size:12.5px; margin:8px 0 0; }
.charts { display:grid; grid-template-columns:repeat(auto-fill,minmax(560px,1fr)); gap:14px; margin-top:18px; }
figure.card { margin:0; border:1px solid var(--line); border-radius:8px; padding:10px 12px 4px; background:#fff; overflow-x:auto; }
figure.card.wide { display:inline-block; max-width:100%; }
figcaption { font-weight:600; margin-bottom:4px; }
svg { display:block; max-width:100%; height:auto; }
.others { display:grid; gap:18px 28px; }
.metric table { width:auto; min-width:50%; }
.scroll { overflow-x:auto; }
details.fold > summary { cursor:pointer; color:var(--accent); margin:10px 0; }
td.wrap { white-space:normal; min-width:150px; overflow-wrap:anywhere; }
.metric th.num { white-space:normal; vertical-align:bottom; font-size:12.5px; max-width:130px; }
.warnings { color:#b45309; font-size:13px; }
@media print { body { background:#fff; } section { break-inside:avoid-page; border:none; } }
`;
