import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { summarize, type Summary } from '../../src/bench/summary.js';
import { formatSummaryTable, formatMeanCi, formatQuantity, formatRatio, formatInterval } from '../../src/bench/table.js';
import { renderHtmlReport, writeHtmlReport } from '../../src/bench/html.js';
import { esc, logTicks, niceTicks } from '../../src/bench/svg.js';
import type { RunMeta } from '../../src/bench/store.js';
import type { ResultRow } from '../../src/bench/store.js';
import { fakeGrid, row } from './fixtures.js';

const FACTS = { primaryMetric: 'lookup_ns', baseline: 'binary-search' };

/** Baseline 100 ns, a heuristic at exactly 50 ns, a learned solver exactly 2x the baseline; plus a bytes metric. */
function known(instance = 'uniform', solverName = 'pgm'): ResultRow[] {
  const rows: ResultRow[] = [];
  for (let seed = 1; seed <= 3; seed++) {
    rows.push(row({ instance, solver: 'binary-search', solverKind: 'baseline', seed, metric: 'lookup_ns', value: 100 }));
    rows.push(row({ instance, solver: 'rbs', solverKind: 'heuristic', seed, metric: 'lookup_ns', value: 50 }));
    rows.push(row({ instance, solver: solverName, solverKind: 'learned', seed, metric: 'lookup_ns', value: 200 }));
    rows.push(row({ instance, solver: solverName, solverKind: 'learned', seed, metric: 'index_bytes', unit: 'bytes', value: 3 * 1024 * 1024 }));
  }
  return rows;
}

const RUN: RunMeta = {
  runId: '20240102T030405678Z-abcd',
  startedAt: '2024-01-02T03:04:05.678Z',
  finishedAt: '2024-01-02T03:14:05.678Z',
  command: 'bench index --seeds 3',
  gridHash: 'g',
  codeVersion: 'abc123',
  machine: 'test-machine',
  options: {},
  problems: ['index'],
  cells: 9,
};

describe('number formatting', () => {
  test('quantities pick a readable scale', () => {
    assert.equal(formatQuantity(412.3, 'ns'), '412 ns');
    assert.equal(formatQuantity(95.14, 'ns'), '95.1 ns');
    assert.equal(formatQuantity(1234, 'ns'), '1.23 µs');
    assert.equal(formatQuantity(2.5e6, 'ms'), '2500 s');
    assert.equal(formatQuantity(3 * 1024 * 1024, 'bytes'), '3.00 MiB');
    assert.equal(formatQuantity(512, 'bytes'), '512 B');
    assert.equal(formatQuantity(12345, 'keys'), '12.3k keys');
    assert.equal(formatQuantity(0.5, ''), '0.500');
    assert.equal(formatQuantity(0, 'ns'), '0 ns');
  });

  test('mean ± half the interval, on the mean\'s scale', () => {
    assert.equal(formatMeanCi(95.1, [93.1, 97.1], 'ns'), '95.1 ± 2.0 ns');
    assert.equal(formatMeanCi(412, [409, 415], 'ns'), '412 ± 3 ns');
    assert.equal(formatMeanCi(412, [411.7, 412.3], 'ns'), '412.0 ± 0.3 ns');
    assert.equal(formatMeanCi(1500, [1400, 1600], 'ns'), '1.50 ± 0.10 µs');
    assert.equal(formatMeanCi(7, [7, 7], 'ms'), '7.00 ± 0.00 ms');
    assert.equal(formatMeanCi(7, null, 'ms'), '7.00 ms', 'one value: no interval, not ± 0');
  });

  test('ratios and intervals', () => {
    assert.equal(formatRatio(2), '2.00×');
    assert.equal(formatRatio(0.7281), '0.728×');
    assert.equal(formatRatio(12.34), '12.3×');
    assert.equal(formatInterval([2, 2], 2), '[2.00, 2.00]');
    assert.equal(formatInterval([0.72, 0.74], 0.728), '[0.720, 0.740]');
    assert.equal(formatInterval(null, 2), '(n=1)');
  });

  test('axis ticks', () => {
    assert.deepEqual(niceTicks(0, 617, 5), [0, 200, 400, 600, 800]);
    assert.deepEqual(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
    // A range below zero: the tick at zero is 0, not the residue of adding steps.
    assert.deepEqual(niceTicks(-0.01032, -0.00006041, 5), [-0.015, -0.01, -0.005, 0]);
    assert.deepEqual(niceTicks(-0.015, 0.001, 5), [-0.015, -0.01, -0.005, 0, 0.005]);
    assert.deepEqual(logTicks(0.25, 1.2), [0.3, 0.5, 0.7, 1]);
    assert.deepEqual(logTicks(0.01, 100), [0.01, 0.1, 1, 10, 100]);
  });
});

describe('terminal table', () => {
  test('shows means, n, the best heuristic and the learned ratio with its CI', () => {
    const s = summarize('index', known(), FACTS, { resamples: 500 });
    const text = formatSummaryTable(s, { width: 120, color: false });
    assert.match(text, /index: lookup_ns \[ns, lower is better\]/);
    assert.match(text, /\*\s+rbs\s+heuristic\s+3\s+50\.0 ± 0\.0 ns/, 'best heuristic marked');
    assert.match(text, /binary-search\s+baseline\s+3\s+100 ± 0 ns\s+1/);
    // pgm: 2x the baseline, 4x the best heuristic, intervals of zero width
    assert.match(text, /pgm\s+learned\s+3\s+200 ± 0 ns\s+2\.00× \[2\.00, 2\.00\]\s+4\.00× \[4\.00, 4\.00\]/);
    assert.match(text, /geomean vs binary-search over 1 instance: rbs 0\.500×, pgm 2\.00×/);
    assert.match(text, /geomean vs the best heuristic over 1 instance: pgm 4\.00×/);
    assert.match(text, /index_bytes \[MiB\], lower is better/);
    assert.match(text, /pgm\s+3\.00/);
    assert.ok(!text.includes('\x1b['), 'no colour when not asked');
  });

  test('one seed (--seeds 1, a stopped run): means and ratios without an interval, and no verdict colour', () => {
    const s = summarize('index', known().filter((r) => r.seed === 1), FACTS, { resamples: 500 });
    const text = formatSummaryTable(s, { width: 120, color: false });
    assert.match(text, /binary-search\s+baseline\s+1\s+100 ns\s+1\n/);
    assert.match(text, /pgm\s+learned\s+1\s+200 ns\s+2\.00× \(n=1\)\s+4\.00× \(n=1\)/);
    assert.ok(!/\d ± \d/.test(text), text);
    assert.ok(!/\[\d/.test(text), `no interval like [2.00, 2.00]: ${text}`);
    assert.match(text, /A mean or ratio of one seed \(n=1\) has no interval\./);
    // A ratio of one pair is not marked good or bad (green/red) as an interval wholly on one side of 1 would be.
    const coloured = formatSummaryTable(s, { width: 120, color: true });
    assert.ok(!coloured.includes('\x1b[32m') && !coloured.includes('\x1b[31m'), 'no verdict colour');
    // Three seeds keep their intervals and no such note.
    assert.ok(!formatSummaryTable(summarize('index', known(), FACTS, { resamples: 200 }), { width: 120, color: false }).includes('has no interval'));
  });

  test('colour only when asked for', () => {
    const s = summarize('index', known(), FACTS, { resamples: 200 });
    assert.ok(formatSummaryTable(s, { color: true, width: 120 }).includes('\x1b['));
  });

  test('width-aware: a wide matrix splits into blocks that fit', () => {
    const s = summarize('index', fakeGrid(2), FACTS, { resamples: 200 });
    const text = formatSummaryTable(s, { width: 60, color: false });
    const matrix = text.slice(text.indexOf('speedup'));
    assert.ok(matrix.split('\n').every((l) => l.length <= 60), 'every matrix line fits 60 columns');
    assert.equal(text.match(/^ {2}solver\s+books_200M/gm)?.length, 4, 'one block per other metric starting with the first instance');
  });

  test('no rows: says so', () => {
    const s = summarize('index', [], FACTS);
    assert.match(formatSummaryTable(s, { color: false }), /no results recorded/);
  });
});

describe('HTML report', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'selfopt-html-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const nasty = '<script>alert("x")</script>';
  const summaries = (): Summary[] => [summarize('index', [...known(), ...known(nasty, 'a&b')], FACTS, { resamples: 300 })];

  test('contains the numbers, the charts and the metadata', () => {
    const html = renderHtmlReport({ problems: [{ summary: summaries()[0]!, title: 'Learned index structures', reference: 'Kraska et al. 2018' }], runs: [RUN], generatedAt: new Date('2024-01-03T00:00:00Z') });
    assert.ok(html.startsWith('<!doctype html>'));
    for (const want of ['Learned index structures', 'Kraska et al. 2018', RUN.runId, 'abc123', 'test-machine', 'selfopt bench index --seeds 3', '2024-01-03 00:00:00 UTC']) {
      assert.ok(html.includes(want), `report mentions ${want}`);
    }
    assert.ok(html.includes('100 ± 0 ns'));
    assert.ok(html.includes('50.0 ± 0.0 ns'));
    assert.ok(html.includes('2.00×'), 'ratio to the baseline');
    assert.ok(html.includes('4.00×'), 'ratio to the best heuristic');
    assert.ok(html.includes('rbs <b>*</b>'), 'best heuristic marked');
    assert.equal(html.match(/<svg /g)?.length, 2 + 2, 'a bar chart per instance, a ratio chart vs baseline and one vs best heuristic');
    assert.ok(html.includes('index_bytes'));
    assert.ok(html.includes('<td class="num" title="3.00 ± 0.00 MiB, n=3">3.00</td>'));
  });

  test('escapes every string and makes no external request', () => {
    const html = renderHtmlReport({ problems: summaries().map((summary) => ({ summary, title: '<b>T</b>' })), runs: [{ ...RUN, command: 'bench "<img src=x>"', machine: "m'&" }] });
    assert.ok(!html.includes(nasty), 'no raw script from an instance name');
    assert.ok(!html.includes('<img'), 'no raw tag from the command');
    assert.ok(!html.includes('<b>T</b>'));
    assert.ok(html.includes(esc(nasty)));
    assert.ok(html.includes('a&amp;b'));
    assert.ok(html.includes('m&#39;&amp;'));
    assert.equal(html.match(/<\/script>/g)?.length, 1, 'only the closing tag of the embedded JSON');
    assert.equal(html.match(/<script/g)?.length, 1, 'only the JSON data block');
    assert.ok(!/\b(src|href)="(https?:)?\/\//.test(html), 'no external resources');
    assert.ok(!/url\(/.test(html), 'no CSS url()');
    assert.ok(!/https?:\/\/(?!www\.w3\.org\/2000\/svg)/.test(html), 'no URL but the SVG namespace');
    // The embedded summary reads back.
    const json = html.slice(html.indexOf('id="selfopt-summaries">') + 'id="selfopt-summaries">'.length, html.lastIndexOf('</script>'));
    const back = JSON.parse(json) as Summary[];
    assert.equal(back[0]!.meta.instances.some((i) => i.id === nasty), true);
  });

  test('writes atomically', () => {
    const path = join(dir, 'out', 'report.html');
    assert.equal(writeHtmlReport(path, { problems: summaries().map((summary) => ({ summary })), runs: [RUN] }), path);
    assert.ok(readFileSync(path, 'utf8').includes('</html>'));
    assert.deepEqual(readdirSync(join(dir, 'out')), ['report.html']);
  });

  test('one seed: no interval in the tables, tooltips or whiskers, and no good/bad mark on a ratio', () => {
    const s = summarize('index', known().filter((r) => r.seed === 1), FACTS, { resamples: 300 });
    const html = renderHtmlReport({ problems: [{ summary: s }], runs: [RUN] });
    assert.ok(html.includes('<td class="num">100 ns</td><td class="num muted">–</td>'), 'mean without ±, a dash for the 95% CI column');
    assert.ok(!/\d ± \d/.test(html), 'no ± 0 anywhere');
    assert.ok(!html.includes('[2.00, 2.00]') && !html.includes('[4.00, 4.00]'));
    assert.ok(html.includes('<span class="even">2.00×</span> <span class="ci">(n=1)</span>'), 'ratio neither good nor bad');
    assert.ok(!html.includes('class="good"') && !html.includes('class="bad"'));
    assert.ok(html.includes('pgm (learned): 200 ns, n=1, no interval'), 'bar tooltip');
    assert.ok(html.includes('title="3.00 MiB, n=1"'));
    assert.ok(html.includes('A mean or ratio of one seed (n=1) has no interval.'));
  });

  test('past the first 6 instances, the table, bar charts, drawings and ratio charts fold behind a <details> line with the counts, in instance order, each ratio chart on one scale', () => {
    const ids = Array.from({ length: 9 }, (_, i) => `inst${i}`);
    const s = summarize('index', ids.flatMap((id) => known(id)), FACTS, { resamples: 300 });
    const pictures = ids.flatMap((instance) => ['rbs', 'pgm'].map((solver) => ({ instance, solver, svg: `<svg data-drawing="${instance}/${solver}"></svg>` })));
    const html = renderHtmlReport({ problems: [{ summary: s, pictures }], runs: [RUN] });
    const folds = [...html.matchAll(/<details class="fold"><summary>show ([^<]*)<\/summary>/g)].map((m) => m[1]);
    assert.deepEqual(folds, ['3 more instances (9 rows)', 'charts of 3 more instances', 'drawings of 3 more instances', '3 more instances', '3 more instances']);
    // What is shown and what is folded: each part holds its own instances, in order.
    const parts = html.split('<details class="fold">');
    const seen = (part: string, re: RegExp) => [...part.matchAll(re)].map((m) => m[1]);
    const heading = /<tr class="group"><th colspan="\d">(inst\d)<\/th><\/tr>/g;
    assert.deepEqual(seen(parts[0]!, heading), ids.slice(0, 6));
    assert.deepEqual(seen(parts[1]!, heading), ids.slice(6));
    const caption = /<figcaption>(inst\d)<\/figcaption>/g;
    assert.deepEqual(seen(parts[1]!, caption), ids.slice(0, 6), 'the first 6 bar charts come after the table\'s fold');
    assert.deepEqual(seen(parts[2]!, caption), ids.slice(6));
    const drawing = /data-drawing="(inst\d)\/pgm"/g;
    assert.deepEqual(seen(parts[2]!, drawing), ids.slice(0, 6));
    assert.deepEqual(seen(parts[3]!, drawing), ids.slice(6));
    // Each ratio chart's two parts (vs the baseline: parts 3 and 4; vs the best heuristic: 4 and 5) share the whole chart's axis.
    const axis = (svg: string) => [...svg.matchAll(/<text x="([\d.]+)" y="[\d.]+" text-anchor="middle"[^>]*>([^<]*)<\/text>/g)].map((m) => `${m[1]} ${m[2]}`).join(', ');
    const last = (part: string) => axis(part.slice(part.lastIndexOf('<svg')));
    const first = (part: string) => axis(part.slice(part.indexOf('<svg'), part.indexOf('</svg>')));
    assert.match(last(parts[3]!), /ratio to binary-search/);
    assert.equal(last(parts[3]!), first(parts[4]!));
    assert.match(last(parts[4]!), /ratio to the best heuristic/);
    assert.equal(last(parts[4]!), first(parts[5]!));
    // Six instances or fewer: nothing folded.
    const few = renderHtmlReport({ problems: [{ summary: summarize('index', ids.slice(0, 6).flatMap((id) => known(id)), FACTS, { resamples: 300 }) }], runs: [RUN] });
    assert.ok(!few.includes('<details'));
  });

  test('a problem without results still renders', () => {
    const html = renderHtmlReport({ problems: [{ summary: summarize('empty', [], FACTS) }], runs: [] });
    assert.ok(html.includes('No results recorded'));
  });
});
