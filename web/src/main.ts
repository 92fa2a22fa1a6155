/**
 * The selfopt dashboard: reads the results store through `selfopt serve`'s JSON API and draws,
 * per problem, the solvers x instances table (mean with 95% interval, learned vs best
 * heuristic), bar charts with the intervals as whiskers, learning curves, and the problem's
 * drawings of its solutions, one instance at a time (gallery.ts). A section of many instances
 * shows its first few and folds the rest (fold.ts); the bar on top, the filters and a jump to each
 * section, stays as the page scrolls. The filters live in the URL hash, so a view can be linked.
 * Charts and number formats are the HTML report's own (src/bench/svg.ts, src/bench/table.ts), so
 * both read the same. A run still being written (a
 * `selfopt bench` going on) is read again every LIVE_MS while it is shown, and so is the list of
 * runs while the latest run is shown, or while the problem has no run yet.
 */
import { rowCommand, shellQuote } from '../../src/bench/command.js';
import { barChart, esc, KIND_COLORS, ratioChart, type RatioGroup } from '../../src/bench/svg.js';
import { formatInterval, formatMeanCi, formatQuantity, formatRatio, geomeanLines, solverBars } from '../../src/bench/table.js';
import type { Comparison, Summary, SummaryRow } from '../../src/bench/summary.js';
import { api, type Curves, type PictureInfo, type ProblemInfo, type RunMeta } from './api.js';
import { drawCurves } from './curves.js';
import { clearGallery, drawGallery } from './gallery.js';
import { foldedPart, foldLine, plural, split, wireFolds } from './fold.js';

interface View {
  problem: string;
  run: string;
  instance: string;
  solver: string;
  metric: string;
  /** The instance whose drawings the gallery shows ('' = the first with drawings). */
  picture: string;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const ALL = '';

let problems: ProblemInfo[] = [];
let runs: RunMeta[] = [];
let view: View = { problem: '', run: '', instance: ALL, solver: ALL, metric: '', picture: '' };
let loaded: { key: string; run: RunMeta; summary: Summary; pictures: PictureInfo[] } | undefined;
let curves: { problem: string } & Curves | undefined;

/** How often an unfinished run on screen is read again. */
const LIVE_MS = 10_000;
let liveTimer: number | undefined;

function readHash(): Partial<View> {
  const p = new URLSearchParams(location.hash.slice(1));
  const out: Partial<View> = {};
  for (const k of ['problem', 'run', 'instance', 'solver', 'metric', 'picture'] as const) {
    const v = p.get(k);
    if (v !== null) out[k] = v;
  }
  return out;
}

/** The problem a view without one shows: the first with results. */
function firstProblem(): ProblemInfo | undefined {
  return problems.find((p) => runs.some((r) => r.problems.includes(p.name))) ?? problems[0];
}

/**
 * The view a URL hash names. What it leaves out is the default, not what the tab showed before,
 * so a link shows the same in a tab already on the dashboard as in a new one.
 */
function viewOf(h: Partial<View>): View {
  return { problem: h.problem ?? firstProblem()?.name ?? '', run: h.run ?? '', instance: h.instance ?? ALL, solver: h.solver ?? ALL, metric: h.metric ?? '', picture: h.picture ?? '' };
}

function writeHash(): void {
  const p = new URLSearchParams();
  const token = new URLSearchParams(location.hash.slice(1)).get('token');
  if (token) p.set('token', token);
  for (const [k, v] of Object.entries(view)) if (v) p.set(k, v);
  history.replaceState(null, '', `#${p.toString()}`);
}

function status(text: string, error = false): void {
  const s = $('status');
  s.textContent = text;
  s.className = error ? 'error' : '';
}

function options(select: HTMLSelectElement, items: { value: string; label: string }[], value: string): void {
  select.innerHTML = items.map((i) => `<option value="${esc(i.value)}"${i.value === value ? ' selected' : ''}>${esc(i.label)}</option>`).join('');
  select.value = value;
}

async function main(): Promise<void> {
  status('loading…');
  [problems, runs] = await Promise.all([api.problems(), api.runs()]);
  view = viewOf(readHash());
  for (const [id, key] of [['f-problem', 'problem'], ['f-run', 'run'], ['f-instance', 'instance'], ['f-solver', 'solver'], ['f-metric', 'metric']] as const) {
    $<HTMLSelectElement>(id).addEventListener('change', (e) => {
      view[key] = (e.target as HTMLSelectElement).value;
      // A new problem or run starts with every instance and solver shown.
      if (key === 'problem') Object.assign(view, { run: '', instance: ALL, solver: ALL, metric: '', picture: '' });
      if (key === 'run') Object.assign(view, { instance: ALL, solver: ALL, picture: '' });
      rerender();
    });
  }
  for (const b of document.querySelectorAll<HTMLButtonElement>('#toc button[data-section]')) b.addEventListener('click', () => jumpTo(b.dataset.section!));
  rerender();
}

/**
 * Scrolls section `id` to the top, under the filters bar that stays there. Not an #anchor: the
 * URL's hash holds the filters and the gallery's instance, and a jump must keep them.
 */
function jumpTo(id: string): void {
  const section = $(id);
  section.style.scrollMarginTop = `${$('bar').offsetHeight + 8}px`;
  section.scrollIntoView({ block: 'start' });
}

/**
 * Renders after a change of filter or hash. A failed request (the store held by a running
 * `selfopt bench`, a server gone) is said in the status line, and the previous view's results are
 * cleared rather than left under the newly chosen filters; choosing again retries.
 */
function rerender(): void {
  const ticket = renders + 1; // the number render() is about to take
  render().catch((e: unknown) => {
    if (ticket === renders) failed(e);
  });
}

/**
 * Renders started so far. A render waits for the server (a big run's summary takes seconds), and
 * the filters may change meanwhile: one that is no longer the latest draws nothing, or a slow
 * answer for the problem left drew its results under the problem chosen since (and, for a
 * finished run, stayed there).
 */
let renders = 0;

function failed(e: unknown): void {
  clearTimeout(liveTimer);
  loaded = undefined;
  clearResults();
  status(e instanceof Error ? e.message : String(e), true);
}

async function render(): Promise<void> {
  const ticket = ++renders;
  const superseded = () => ticket !== renders;
  // A link naming no known problem (a typo, a renamed problem) shows the first problem with results
  // and says so; left as it was, the select showed the first problem while nothing was drawn.
  // Likewise a run that is not one of the problem's (another store's, a typo): the latest is shown, and said.
  const notes: string[] = [];
  if (problems.length > 0 && !problems.some((p) => p.name === view.problem)) {
    notes.push(`no problem '${view.problem}' (named in the URL); showing ${viewOf({}).problem}`);
    view = viewOf({});
  }
  const problem = problems.find((p) => p.name === view.problem);
  options($('f-problem'), problems.map((p) => ({ value: p.name, label: `${p.name}${runs.some((r) => r.problems.includes(p.name)) ? '' : pendingRun(p.name) ? ' (no results yet)' : ' (no results)'}` })), view.problem);
  if (!problem) return status('no problems', true);
  const mine = runs.filter((r) => r.problems.includes(problem.name)).reverse();
  if (view.run && !mine.some((r) => r.runId === view.run)) {
    if (mine.length > 0) notes.push(`no run '${view.run}' of ${problem.name} (named in the URL); showing the latest`);
    view.run = '';
  }
  options($('f-run'), [{ value: '', label: 'latest' }, ...mine.map((r) => ({ value: r.runId, label: `${r.runId}${r.finishedAt ? '' : ' (unfinished)'}` }))], view.run);
  if (!view.metric || !problem.metrics.some((m) => m.name === view.metric)) view.metric = problem.primaryMetric;
  options($('f-metric'), problem.metrics.map((m) => ({ value: m.name, label: `${m.name} (${m.unit}, ${m.better} is better)${m.name === problem.primaryMetric ? ' ★' : ''}` })), view.metric);

  const curvesReady = curves?.problem === problem.name ? Promise.resolve() : api.curves(problem.name).then((c) => void (curves = { problem: problem.name, ...c }));
  curvesReady.catch(() => {}); // awaited below; a failure of the summary first must not leave it unhandled
  if (mine.length === 0) {
    loaded = undefined;
    clearResults();
    const coming = pendingRun(problem.name);
    const message = coming ? pendingMessage(coming, problem.name) : await noRunsMessage(problem.name);
    if (superseded()) return;
    status(message);
  } else {
    const key = `${problem.name}\0${view.run}`;
    if (loaded?.key !== key) {
      status('loading…');
      const r = await api.summary(problem.name, view.run || undefined);
      if (superseded()) return;
      loaded = { key, ...r };
    }
    status(notes.join('; '), notes.length > 0);
    drawResults(problem, loaded.run, loaded.summary, loaded.pictures);
  }
  await curvesReady;
  if (superseded()) return;
  drawCurves(problem.name, view.solver, curves ?? { curves: [], leftOut: [] });
  writeHash();
  scheduleLive();
}

/**
 * The latest unfinished run that is to run `problem` (its options name it) but has recorded no
 * cell of it yet: a `selfopt bench` of every problem reaches the last ones hours after it started.
 */
function pendingRun(problem: string): RunMeta | undefined {
  return runs.filter((r) => !r.finishedAt && Array.isArray(r.options.problems) && r.options.problems.includes(problem)).at(-1);
}

/**
 * What the page says of a problem that an unfinished run has yet to reach. It said "no recorded
 * runs of P: run `npx selfopt bench P --quick --store ...`" while that bench was running, which
 * invites a second bench (refused: one bench writes a store at a time) for a quick, smaller grid.
 */
function pendingMessage(run: RunMeta, problem: string): string {
  const recorded = run.problems.length ? ` (${run.cells} cells of ${run.problems.join(', ')} so far)` : '';
  return `run ${run.runId} (unfinished, started ${run.startedAt}) is to run ${problem} and has recorded none of its cells yet${recorded}: they show here as they are recorded, read again every ${LIVE_MS / 1000} s. If that bench was stopped, \`npx selfopt ${run.command} --resume\` runs the rest`;
}

/**
 * What the page says when `problem` has no run: which store it read (it said only "no recorded
 * runs"), and the bench command that fills that store (with --store when it is not the default).
 */
async function noRunsMessage(problem: string): Promise<string> {
  const store = await api.store();
  const bench = `\`npx selfopt bench ${problem} --quick${store.isDefault ? '' : ` --store ${shellQuote(store.path)}`}\``;
  return store.exists ? `no recorded runs of ${problem} in ${store.path}: run ${bench}` : `no recorded runs of ${problem}: there is no results store at ${store.path} yet; run ${bench}`;
}

/**
 * While the run on screen is unfinished, the view is the latest run, or the problem has no run yet
 * (a bench started after the page was opened makes a newer one, or the first), reads the runs
 * again later. With no run the page was never read again: a bench started later did not appear.
 */
function scheduleLive(): void {
  clearTimeout(liveTimer);
  if (!loaded || !loaded.run.finishedAt || !view.run) liveTimer = window.setTimeout(() => void refreshLive(), LIVE_MS);
}

/**
 * Reads the runs again and redraws if the run on screen gained cells or finished, or (when the
 * latest run is shown, or none yet) a newer run started. A failed read keeps the view and says
 * so: the next tick tries again.
 */
async function refreshLive(): Promise<void> {
  const shown = loaded;
  const before = renders;
  try {
    runs = await api.runs();
    if (shown) {
      const now = runs.find((r) => r.runId === shown.run.runId);
      const latest = runs.filter((r) => r.problems.includes(view.problem)).at(-1);
      const changed = !now || now.cells !== shown.run.cells || now.finishedAt !== shown.run.finishedAt || (!view.run && latest?.runId !== shown.run.runId);
      if (changed && loaded === shown) loaded = undefined;
    }
    await render();
  } catch (e) {
    if (renders > before + 1) return; // the filters changed meanwhile: that render is in charge now
    // The summary read failed after the run on screen was marked stale: without it back,
    // scheduleLive saw nothing loaded and the page never read the run again.
    loaded ??= shown;
    status(`${e instanceof Error ? e.message : String(e)} (reading ${!shown || shown.run.finishedAt ? 'the runs' : 'the unfinished run'} again in ${LIVE_MS / 1000} s)`, true);
    scheduleLive();
  }
}

function clearResults(): void {
  for (const id of ['run', 'charts', 'ratios']) $(id).innerHTML = '';
  clearGallery();
  $('results').querySelector('thead')!.innerHTML = '';
  tableBody('');
  options($('f-instance'), [{ value: ALL, label: 'all' }], ALL);
  options($('f-solver'), [{ value: ALL, label: 'all' }], ALL);
}

function drawResults(problem: ProblemInfo, run: RunMeta, summary: Summary, pictures: PictureInfo[]): void {
  const command = `npx selfopt ${run.command}`;
  // The run's count alone read as this problem's: index showed "2913 cells · unfinished" of the
  // main job, all of its own cells long done. A cell records the primary metric once.
  const own = summary.rows.filter((r) => r.metric === summary.meta.primaryMetric).reduce((a, r) => a + r.n, 0);
  const cells = run.problems.length > 1 ? `${run.cells} cells in the run, <span id="own-cells">${own} of ${esc(problem.name)}</span>` : `${run.cells} cells`;
  $('run').innerHTML = `<h2>Run <span class="mono">${esc(run.runId)}</span></h2>
    <p class="sub">${esc(problem.title)} · code ${esc(run.codeVersion)} · ${esc(run.machine)} · started ${esc(run.startedAt)} · ${cells}${run.finishedAt ? '' : ` · <b>unfinished</b> <span id="live">(read again every ${LIVE_MS / 1000} s)</span>`}</p>
    <code class="cmd" id="run-command">${esc(command)}</code>`;
  // A queued run's cells come from its workers' machines: timings compare only within one kind.
  if (summary.meta.machines.length > 1) {
    $('run').insertAdjacentHTML('beforeend', `<p class="sub" id="machines">cells ran on ${summary.meta.machines.length} machines: ${summary.meta.machines.map(esc).join('; ')}</p>`);
  }
  // The run's headline, as \`selfopt report\` and the HTML report put it above the tables: each
  // solver's geometric mean ratio across instances (the page showed only the per-instance ratios).
  const geomeans = geomeanLines(summary);
  if (geomeans.length > 0) {
    $('run').insertAdjacentHTML('beforeend', `<ul class="geomeans" id="geomeans">${geomeans.map((g) => `<li>${esc(g)} (${esc(summary.meta.primaryMetric)})</li>`).join('')}</ul>`);
  }
  // Why a ratio is missing (no baseline rows, no shared seed, a value that is not positive): the
  // HTML report and the tables say it under the results; the page showed only a '–'.
  if (summary.meta.warnings.length > 0) {
    $('run').insertAdjacentHTML('beforeend', `<ul class="warnings" id="warnings">${summary.meta.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul>`);
  }
  const instances = summary.meta.instances;
  const solvers = summary.meta.solvers;
  if (view.instance && !instances.some((i) => i.id === view.instance)) view.instance = ALL;
  if (view.solver && !solvers.some((s) => s.name === view.solver)) view.solver = ALL;
  options($('f-instance'), [{ value: ALL, label: 'all' }, ...instances.map((i) => ({ value: i.id, label: `${i.id} (${i.split})` }))], view.instance);
  options($('f-solver'), [{ value: ALL, label: 'all' }, ...solvers.map((s) => ({ value: s.name, label: `${s.name} (${s.kind})` }))], view.solver);

  const metric = summary.meta.metrics.find((m) => m.name === view.metric) ?? summary.meta.metrics[0]!;
  const shown = (r: { instance: string; solver: string }) => (!view.instance || r.instance === view.instance) && (!view.solver || r.solver === view.solver);
  const rows = summary.rows.filter((r) => r.metric === metric.name && shown(r));
  const vsBest = new Map(summary.comparisons.filter((c) => c.vs === 'best-heuristic').map((c) => [`${c.instance}\0${c.solver}`, c]));
  const vsBase = new Map(summary.comparisons.filter((c) => c.vs === 'baseline').map((c) => [`${c.instance}\0${c.solver}`, c]));

  // The table: one group per instance, one row per solver, each row linked to the command that
  // re-runs it (the run's command narrowed to that instance and solver).
  $('results').querySelector('thead')!.innerHTML = `<tr><th class="inst">instance</th><th>solver</th><th>kind</th><th class="num">n</th><th class="num">${esc(metric.name)} (${esc(metric.unit)}, ${metric.better} is better): mean ± 95% CI</th><th class="num">vs ${esc(summary.meta.baseline)} (${esc(summary.meta.primaryMetric)})</th><th class="num">learned / best heuristic</th><th>command</th></tr>`;
  const groups: string[][] = [];
  for (const inst of instances) {
    const mineRows = rows.filter((r) => r.instance === inst.id);
    if (mineRows.length === 0) continue;
    const best = summary.meta.bestHeuristic[inst.id];
    const body: string[] = [];
    groups.push(body);
    body.push(`<tr class="group"><td colspan="8">${esc(inst.id)} <span class="muted">${inst.split}${best ? ` · best heuristic: ${esc(best)}` : ''}</span></td></tr>`);
    for (const r of mineRows) {
      const k = `${r.instance}\0${r.solver}`;
      const rerun = rowCommand(run.command, problem.name, r.instance, r.solver, Object.keys(problem.options));
      body.push(`<tr data-instance="${esc(r.instance)}" data-solver="${esc(r.solver)}"${r.solver === best ? ' class="best"' : ''}>
        <td class="muted inst">${esc(r.instance)}</td>
        <td class="solver"><i class="dot" style="background:${KIND_COLORS[r.kind]}"></i>${esc(r.solver)}</td>
        <td>${r.kind}</td><td class="num">${r.n}</td>
        <td class="num" data-mean="${r.mean}">${esc(formatMeanCi(r.mean, r.ci95, r.unit))} <span class="ci">${r.ci95 ? `[${esc(formatQuantity(r.ci95[0], r.unit))}, ${esc(formatQuantity(r.ci95[1], r.unit))}]` : '–'}</span></td>
        <td class="num">${ratioCell(vsBase.get(k))}</td>
        <td class="num">${ratioCell(vsBest.get(k))}</td>
        <td><a class="cmd-link" href="#" data-command="${esc(rerun)}" title="${esc(rerun)}">selfopt bench …</a></td></tr>`);
    }
  }
  const [shownGroups, folded] = split(groups);
  const foldedRows = folded.reduce((n, g) => n + g.length - 1, 0); // a group's first row is its heading
  tableBody(`<tbody>${shownGroups.flat().join('') || '<tr><td colspan="8" class="muted">no rows match the filters</td></tr>'}</tbody>`
    + (folded.length ? `<tbody ${foldedPart('table')}>${folded.flat().join('')}</tbody><tbody class="fold-line"><tr><td colspan="8">${foldLine('table', `${plural(folded.length, 'more instance')} (${plural(foldedRows, 'row')})`)}</td></tr></tbody>` : ''));
  wireFolds($('results'));
  for (const a of $('results').querySelectorAll<HTMLAnchorElement>('a.cmd-link')) {
    a.addEventListener('click', (e) => {
      e.preventDefault();
      const box = $('run-command');
      box.textContent = a.dataset.command ?? command;
      box.scrollIntoView({ block: 'center' });
      void navigator.clipboard?.writeText(a.dataset.command ?? '').catch(() => {});
    });
  }
  drawBars(summary, rows, metric);
  drawRatios(summary, shown);
  drawGallery({
    run: run.runId, problem: problem.name, pictures, instance: view.instance, solver: view.solver, picture: view.picture,
    // Only the link changes: the tables and charts do not depend on the gallery's instance.
    onChoose: (i) => { view.picture = i; writeHash(); },
  });
}

/** The table's rows (its <tbody> elements), in place of those it had. */
function tableBody(html: string): void {
  const table = $('results');
  for (const b of table.querySelectorAll('tbody')) b.remove();
  table.insertAdjacentHTML('beforeend', html || '<tbody></tbody>');
}


function ratioCell(c: Comparison | undefined): string {
  if (!c) return '<span class="muted">–</span>';
  // One pair has no interval (ci95 null), so no verdict either.
  const good = c.ci95 !== null && (c.better === 'lower' ? c.ci95[1] < 1 : c.ci95[0] > 1);
  const bad = c.ci95 !== null && (c.better === 'lower' ? c.ci95[0] > 1 : c.ci95[1] < 1);
  return `<span class="${good ? 'good' : bad ? 'bad' : ''}" title="${esc(c.solver)} / ${esc(c.baseline)}, ${c.n} paired seeds">${esc(formatRatio(c.ratio))}</span> <span class="ci">${esc(formatInterval(c.ci95, c.ratio))}</span>`;
}

function drawBars(summary: Summary, rows: SummaryRow[], metric: { name: string; unit: string; better: string }): void {
  const charts: string[] = [];
  for (const inst of summary.meta.instances) {
    const data = rows.filter((r) => r.instance === inst.id);
    if (data.length === 0) continue;
    const best = summary.meta.bestHeuristic[inst.id];
    const svg = barChart({
      data: solverBars(data, (r) => r.solver === best && metric.name === summary.meta.primaryMetric),
      axisLabel: `${metric.name} (${metric.unit}) — ${metric.better} is better`,
      tick: (v) => formatQuantity(v, metric.unit),
      ariaLabel: `${metric.name} on ${inst.id}`,
    });
    charts.push(`<figure class="chart" data-instance="${esc(inst.id)}"><h3>${esc(inst.id)}</h3>${svg}</figure>`);
  }
  const [first, folded] = split(charts);
  $('charts').innerHTML = (first.join('') || '<p class="muted">nothing to draw</p>')
    + (folded.length ? `<div class="charts" ${foldedPart('charts')}>${folded.join('')}</div>${foldLine('charts', `charts of ${plural(folded.length, 'more instance')}`)}` : '');
  wireFolds($('charts'));
}

function drawRatios(summary: Summary, shown: (r: { instance: string; solver: string }) => boolean): void {
  const groups: RatioGroup[] = [];
  for (const inst of summary.meta.instances) {
    const cs = summary.comparisons.filter((c) => c.vs === 'best-heuristic' && c.instance === inst.id && shown(c));
    if (cs.length === 0) continue;
    groups.push({
      title: `${inst.id} (vs ${cs[0]!.baseline})`,
      items: cs.map((c) => ({ label: c.solver, kind: c.kind, ratio: c.ratio, lo: c.ci95?.[0] ?? c.ratio, hi: c.ci95?.[1] ?? c.ratio, valueLabel: formatRatio(c.ratio), tooltip: `${c.solver} / ${c.baseline}: ${formatRatio(c.ratio)} ${formatInterval(c.ci95, c.ratio)}` })),
    });
  }
  const better = summary.meta.metrics.find((m) => m.name === summary.meta.primaryMetric)?.better ?? 'lower';
  const chart = (part: [number, number]) => ratioChart({ groups, better, part, axisLabel: `${summary.meta.primaryMetric}: learned / best heuristic (log scale)`, ariaLabel: 'learned vs best heuristic' });
  const [first, folded] = split(groups);
  $('ratios').innerHTML = groups.length === 0 ? '<p class="muted">no learned solver in this view</p>'
    : chart([0, first.length]) + (folded.length ? `<div ${foldedPart('ratios')}>${chart([first.length, groups.length])}</div>${foldLine('ratios', plural(folded.length, 'more instance'))}` : '');
  wireFolds($('ratios'));
}

window.addEventListener('hashchange', () => {
  const next = viewOf(readHash());
  if (Object.entries(next).some(([k, v]) => view[k as keyof View] !== v)) {
    view = next;
    rerender();
  }
});

main().catch(failed);
