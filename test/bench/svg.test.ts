/**
 * The report's and the dashboard's SVG charts (src/bench/svg.ts). Where the layout is estimated
 * from text lengths, the charts are drawn in Debian's headless Chromium and the text measured
 * there; those tests skip visibly when /usr/bin/chromium is missing.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { barChart, ratioChart, pictureFigures, pictureHead } from '../../src/bench/svg.js';
import { problems } from '../../src/problems/all.js';
import { stopsAfter } from '../stops.js';

const CHROMIUM = '/usr/bin/chromium';
const skipBrowser = existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed on this machine`;
/** The page's global, inside functions that playwright runs in the browser. */
declare const document: { querySelectorAll(s: string): Iterable<{ textContent: string | null; getBBox(): { x: number; width: number } }> };

/**
 * The left edge and width of every text of `selector` in `html`, as Chromium lays them out, for
 * test `t`: the browser is gone afterwards, and after the test if it timed out first (its body
 * abandoned, a finally does not run; the browser kept the file's process alive).
 */
async function textBoxes(t: TestContext, html: string, selector: string): Promise<{ text: string; x: number; width: number }[]> {
  const stopLater = stopsAfter(t);
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'selfopt-chromium-'));
  stopLater(() => rmSync(profile, { recursive: true, force: true }));
  const browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  stopLater(() => browser.close());
  try {
    const page = await browser.newPage();
    await page.setContent(`<!doctype html><body>${html}</body>`);
    return await page.evaluate((sel) => [...document.querySelectorAll(sel)].map((t) => ({ text: t.textContent ?? '', x: t.getBBox().x, width: t.getBBox().width })), selector);
  } finally {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

test('in headless Chromium: a bar chart\'s bold label (the best heuristic) fits inside the chart, for every solver name (it was laid out at the width of normal text and cut at the left edge)', { skip: skipBrowser, timeout: 60_000 }, async (t) => {
  const names = [...new Set(problems.flatMap((p) => p.solvers.map((s) => s.info.name)))];
  // One chart per name, that name the emphasised one: the label column is as wide as it asks.
  const charts = names.map((label) => barChart({
    data: [{ label, kind: 'heuristic', mean: 2, lo: 1, hi: 3, valueLabel: '2 s', tooltip: label, emphasis: true }],
    axisLabel: 'avg JCT (s)',
    tick: String,
    ariaLabel: label,
  }));
  const boxes = await textBoxes(t, charts.join(''), 'text[font-weight="700"]');
  assert.equal(boxes.length, names.length);
  for (const b of boxes) assert.ok(b.x >= 0, `'${b.text}' starts at x = ${b.x.toFixed(1)}, outside the chart (${b.width.toFixed(1)} px wide)`);
});

/** Solver labels longer than the label column holds (a name with its options, as a user may give). */
const LONG_LABELS = ['tuned-rank-weighted-fair+decima-finetuned-seed-3', 'branchless-binary-search-with-prefetch-and-radix-table', 'sa'];

function longLabelCharts(): string[] {
  const bars = LONG_LABELS.map((label, i) => ({ label, kind: 'heuristic' as const, mean: 2 + i, lo: 1, hi: 4 + i, valueLabel: `${2 + i} s`, tooltip: `${label}: ${2 + i} s`, emphasis: i === 0 }));
  return [
    barChart({ data: bars, axisLabel: 'avg JCT (s)', tick: String, ariaLabel: 'long labels' }),
    ratioChart({ groups: [{ title: 'tpch_10', items: bars.map((b) => ({ ...b, ratio: 1.1, lo: 0.9, hi: 1.3, valueLabel: '1.1×' })) }], better: 'lower', axisLabel: 'ratio', ariaLabel: 'long labels' }),
  ];
}

test('a solver label longer than the label column is cut with … and keeps its full name in a <title> (it ran past the chart\'s left edge)', () => {
  for (const svg of longLabelCharts()) {
    const labels = [...svg.matchAll(/<g><title>[^<]*<\/title><text [^>]*>(.*?)<\/text>/g)].map((m) => m[1]!);
    assert.equal(labels.length, LONG_LABELS.length, svg);
    for (const [i, full] of LONG_LABELS.entries()) {
      if (full.length < 10) {
        assert.ok(labels[i]!.startsWith(full), labels[i]); // a short one is drawn whole, with no title of its own
        continue;
      }
      const m = /^<title>(.*)<\/title>(.*)…( \*)?$/.exec(labels[i]!);
      assert.ok(m, `label ${i} is not cut with a title: ${labels[i]}`);
      assert.equal(m[1], full);
      assert.ok(full.startsWith(m[2]!) && m[2]!.length >= 20, m[2]);
    }
  }
});

test('in headless Chromium: a long solver label, bold or not, starts inside the chart', { skip: skipBrowser, timeout: 60_000 }, async (t) => {
  const boxes = await textBoxes(t, longLabelCharts().join(''), 'g > text[text-anchor="end"]');
  assert.equal(boxes.length, 2 * LONG_LABELS.length);
  for (const b of boxes) assert.ok(b.x >= 0, `'${b.text}' starts at x = ${b.x.toFixed(1)}, outside the chart (${b.width.toFixed(1)} px wide)`);
});

test('in headless Chromium: a label in capitals (W and M nearly twice an average glyph) starts inside the chart, whole or cut', { skip: skipBrowser, timeout: 60_000 }, async (t) => {
  const labels = ['W'.repeat(44), 'MWMWMWMWMWMWMWMW', 'TUNED-RANK-WEIGHTED-FAIR', 'Decima-SIGCOMM-2019'];
  const bars = labels.map((label, i) => ({ label, kind: 'learned' as const, mean: 2 + i, lo: 1, hi: 4 + i, valueLabel: `${2 + i} s`, tooltip: label, emphasis: i === 1 }));
  const charts = [
    barChart({ data: bars, axisLabel: 'avg JCT (s)', tick: String, ariaLabel: 'capitals' }),
    ratioChart({ groups: [{ title: 'tpch_10', items: bars.map((b) => ({ ...b, ratio: 1.1, lo: 0.9, hi: 1.3, valueLabel: '1.1x' })) }], better: 'lower', axisLabel: 'ratio', ariaLabel: 'capitals' }),
  ];
  const boxes = await textBoxes(t, charts.join(''), 'g > text[text-anchor="end"]');
  assert.equal(boxes.length, 2 * labels.length);
  for (const b of boxes) assert.ok(b.x >= 0, `'${b.text}' starts at x = ${b.x.toFixed(1)}, outside the chart (${b.width.toFixed(1)} px wide)`);
});

test('a framed picture shows its caption once: the drawing\'s own first line (a figcaption above it said the same again)', () => {
  // The caption as a bench cell gives it to Problem.picture (bench/run-cell.ts), drawn by the head every picture starts with.
  const instance = 'rgg_2k_k2', solver = 'multilevel';
  const svg = [...pictureHead(640, 80, `${instance} · ${solver} · seed 1`, 'cut 12 · imbalance 1.01'), '</svg>'].join('');
  const html = pictureFigures([{ instance, solver, svg }]);
  const visible = html.replace(/<[^>]*>/g, ' ');
  assert.equal(visible.split(`${instance} · ${solver}`).length - 1, 1, html);
  assert.match(html, /^<figure class="card picture" data-instance="rgg_2k_k2" data-solver="multilevel"/);
});
