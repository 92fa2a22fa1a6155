/**
 * The dashboard as an engineer reads a real run in a browser: filters changed while an answer is
 * on its way, a run still being written, the numbers `selfopt report` prints, and the layout at a
 * laptop's and a narrow window's width. Tiny benches fill a temp store and `serve` serves the
 * built app (dashboard-fixture.ts); Debian's headless Chromium (playwright-core) loads it. Skips
 * visibly without /usr/bin/chromium or the built app.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatRatio } from '../../src/bench/table.js';
import { PROJECT_ROOT } from '../../src/core/version.js';
import { inChromium, skipBrowser } from './chromium.js';
import { servedDashboard } from './dashboard-fixture.js';

/** The page's global, inside functions that playwright runs in the browser. */
declare const document: { querySelectorAll(s: string): ArrayLike<unknown> };

// The repository's shipped checkpoints' curves are shown, as `selfopt serve` shows them (Decima's below).
let base: string, partitionRun: string, schedulingRun: string;
servedDashboard({ shippedCurves: true }, (d) => ({ base, runId: partitionRun, drawnRunId: schedulingRun } = d));

test('in headless Chromium: an answer for a problem left while it was on its way is not drawn under the problem chosen since', { skip: skipBrowser, timeout: 120_000 }, async (t) => {
  await inChromium(t, 1280, async (page, errors) => {
    await page.goto(`${base}#problem=scheduling`);
    await page.waitForSelector('#results tbody tr[data-solver="fifo"]');
    // Partition's summary is slow (a big run's bootstrap takes seconds): held until released.
    let release!: () => void;
    const held = new Promise<void>((ok) => (release = ok));
    let answered!: () => void;
    const partitionAnswered = new Promise<void>((ok) => (answered = ok));
    await page.route('**/api/summary?problem=partition*', async (r) => {
      const res = await r.fetch();
      await held;
      await r.fulfill({ response: res });
      answered();
    });
    await page.selectOption('#f-problem', 'partition');
    await page.locator('#status', { hasText: 'loading…' }).waitFor();
    // The engineer goes back before partition's answer came.
    await page.selectOption('#f-problem', 'scheduling');
    await page.waitForSelector('#results tbody tr[data-solver="fifo"]');
    release();
    await partitionAnswered;
    await page.waitForTimeout(300);
    assert.equal(await page.inputValue('#f-problem'), 'scheduling');
    assert.match((await page.textContent('#run h2')) ?? '', new RegExp(schedulingRun), 'the run shown is the chosen problem\'s');
    assert.doesNotMatch((await page.textContent('#run h2')) ?? '', new RegExp(partitionRun));
    assert.deepEqual(await page.$$eval('#results tbody tr[data-solver]', (trs) => trs.map((tr) => tr.getAttribute('data-solver'))), ['fifo', 'fair']);
    assert.equal(await page.textContent('#status'), '');
    assert.deepEqual(errors, []);
  });
});

test('in headless Chromium: a problem that the unfinished run has yet to reach says so, and does not ask for another bench', { skip: skipBrowser, timeout: 120_000 }, async (t) => {
  await inChromium(t, 1280, async (page, errors) => {
    // `npx selfopt bench` of every problem, still running: scheduling done, chip still to come.
    const realRuns = (await (await fetch(new URL('api/runs', base))).json()) as any[];
    const running = realRuns.map((r) => (r.runId === schedulingRun ? { ...r, command: 'bench', finishedAt: null, options: { ...r.options, problems: ['scheduling', 'chip'] } } : r));
    await page.route('**/api/runs', (r) => r.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(running) }));
    await page.goto(`${base}#problem=chip`);
    await page.locator('#status', { hasText: /chip/ }).waitFor();
    const text = (await page.textContent('#status')) ?? '';
    assert.match(text, new RegExp(`^run ${schedulingRun} \\(unfinished, started [^)]+\\) is to run chip and has recorded none of its cells yet \\(\\d+ cells of scheduling so far\\)`), text);
    assert.match(text, /`npx selfopt bench --resume` runs the rest$/, text);
    assert.doesNotMatch(text, /--quick|no recorded runs/, 'no second bench is asked for while one runs');
    assert.equal(await page.textContent('#f-problem option[value="chip"]'), 'chip (no results yet)');
    assert.equal(await page.textContent('#f-problem option[value="compiler"]'), 'compiler (no results)', 'a problem no run is to reach keeps its word');
    assert.deepEqual(errors, []);
  });
});

test('in headless Chromium: the run\'s geometric means across instances are shown, as `selfopt report` prints them', { skip: skipBrowser, timeout: 120_000 }, async (t) => {
  const { summary } = (await (await fetch(new URL('api/summary?problem=partition', base))).json()) as any;
  const vsRandom = summary.geomeans.filter((g: any) => g.vs === 'baseline');
  assert.deepEqual(vsRandom.map((g: any) => g.solver), ['graph-growing', 'multilevel']);
  await inChromium(t, 1280, async (page, errors) => {
    await page.goto(`${base}#problem=partition`);
    await page.waitForSelector('#results tbody tr[data-solver]');
    const lines = await page.$$eval('#geomeans li', (lis) => lis.map((li) => li.textContent));
    const want = `geomean vs random over 2 instances: ${vsRandom.map((g: any) => `${g.solver} ${formatRatio(g.ratio)}`).join(', ')} (edge_cut)`;
    assert.deepEqual(lines, [want]);
    assert.deepEqual(errors, []);
  });
});

/**
 * Partition's summary with the index test split's longest names (an instance of 29 characters, a
 * solver of 24): the widths a real run's table has to hold.
 */
async function withLongNames(page: import('playwright-core').Page): Promise<void> {
  await page.route('**/api/summary?problem=partition*', async (r) => {
    const res = await r.fetch();
    const body = (await res.text()).replaceAll('rgg_2k_k2', 'ipv4_range_starts_386K_uint32').replaceAll('graph-growing', 'branchless-binary-search');
    await r.fulfill({ response: res, body });
  });
}

/** How far the results table runs past its box (0 when it fits). */
const tableOverflow = (page: import('playwright-core').Page) => page.$eval('.table-wrap', (w) => w.scrollWidth - w.clientWidth);

test('in headless Chromium: at a laptop\'s width (1400 px) the table of a real run\'s names fits its box, with no scroll bar of its own', { skip: skipBrowser, timeout: 120_000 }, async (t) => {
  await inChromium(t, 1400, async (page, errors) => {
    await withLongNames(page);
    await page.goto(`${base}#problem=partition`);
    await page.waitForSelector('#results tbody tr[data-solver="branchless-binary-search"]');
    assert.equal(await tableOverflow(page), 0);
    assert.deepEqual(errors, []);
  });
});

test('in headless Chromium: at a narrow window (800 px) the table fits, and the page does not scroll sideways', { skip: skipBrowser, timeout: 120_000 }, async (t) => {
  await inChromium(t, 800, async (page, errors) => {
    await withLongNames(page);
    await page.goto(`${base}#problem=partition`);
    await page.waitForSelector('#results tbody tr[data-solver="branchless-binary-search"]');
    assert.equal(await tableOverflow(page), 0);
    const width = await page.evaluate(() => (document as any).documentElement.scrollWidth as number);
    assert.ok(width <= 800, `the page is ${width} px wide in an 800 px window`);
    const right = await page.$$eval('#results th, #results td', (cells) => Math.max(...cells.map((c) => c.getBoundingClientRect().right)));
    assert.ok(right <= 800, `the table reaches ${right} px`);
    // Solver names are not broken at their hyphens, one word a line.
    const heights = await page.$$eval('#results tbody tr[data-solver] td:nth-child(2)', (tds) => tds.map((td) => td.getBoundingClientRect().height));
    assert.ok(heights.length > 0 && Math.max(...heights) < 2 * Math.min(...heights), `solver cell heights ${heights}`);
    assert.deepEqual(errors, []);
  });
});

test('in headless Chromium: at 1400 px the bar charts stand side by side, not one a row with half the page empty', { skip: skipBrowser, timeout: 120_000 }, async (t) => {
  await inChromium(t, 1400, async (page, errors) => {
    await page.goto(`${base}#problem=partition`);
    await page.waitForSelector('#charts figure svg');
    const boxes = await page.$$eval('#charts figure', (fs) => fs.map((f) => f.getBoundingClientRect()).map((b) => ({ top: b.top, left: b.left, right: b.right })));
    assert.equal(boxes.length, 2);
    assert.equal(boxes[1]!.top, boxes[0]!.top, `the second chart is beside the first: ${JSON.stringify(boxes)}`);
    assert.ok(boxes[1]!.left >= boxes[0]!.right, JSON.stringify(boxes));
    assert.deepEqual(errors, []);
  });
});

test('in headless Chromium: a run of several problems says how many of its cells are the problem\'s on screen (the run\'s count alone read as the problem\'s)', { skip: skipBrowser, timeout: 120_000 }, async (t) => {
  const runs = await (await fetch(new URL('api/runs', base))).json() as { runId: string; cells: number }[];
  const own = runs.find((r) => r.runId === partitionRun)!.cells;
  await inChromium(t, 1400, async (page, errors) => {
    // The partition run as the main job's would be: one of several problems, more cells in all.
    await page.route('**/api/summary?problem=partition*', async (r) => {
      const res = await r.fetch();
      const body = await res.json();
      body.run = { ...body.run, problems: ['index', 'partition'], cells: own + 100 };
      await r.fulfill({ response: res, body: JSON.stringify(body) });
    });
    await page.goto(`${base}#problem=partition`);
    await page.waitForSelector('#own-cells');
    assert.equal(await page.textContent('#own-cells'), `${own} of partition`);
    assert.match((await page.textContent('#run .sub')) ?? '', new RegExp(`${own + 100} cells in the run, ${own} of partition`));
    assert.deepEqual(errors, []);
  });
});

test('in headless Chromium: each key of a learning curve has a small chart of its own y scale, sharing the x axis (Decima\'s label counts in the thousands, on one axis with its loss, flattened the loss)', { skip: skipBrowser, timeout: 120_000 }, async (t) => {
  // The shipped Decima checkpoint's curve, as the repository has it.
  const made = JSON.parse(readFileSync(join(PROJECT_ROOT, 'checkpoints', 'scheduling', 'decima.json'), 'utf8')) as { seed: number; curve: string };
  const points = readFileSync(join(PROJECT_ROOT, made.curve), 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, number>);
  const range = (k: string) => [Math.min(...points.map((p) => p[k]!)), Math.max(...points.map((p) => p[k]!))] as const;
  const keys = Object.keys(points[0]!).filter((k) => k !== 't' && k !== 'iteration');
  // The keys that hold one value throughout (imitation 1, expertAlpha 0.1) are one line, not a flat chart each.
  const constant = keys.filter((k) => points.every((p) => p[k] === points[0]![k]));
  assert.ok(constant.length > 0 && constant.length < keys.length, 'the curve has both kinds of keys');
  const [labelsLo, labelsHi] = range('labels');
  const [lossLo, lossHi] = range('loss');
  assert.ok(labelsLo > 1000 && lossHi < 10, 'the two scales this test is about');
  await inChromium(t, 1400, async (page, errors) => {
    await page.goto(`${base}#problem=scheduling`);
    const curve = `#curves figure[data-curve="scheduling-decima-seed${made.seed}"]`;
    await page.waitForSelector(`${curve} .multiple svg`);
    assert.deepEqual(await page.$$eval(`${curve} .multiple`, (ms) => ms.map((m) => m.getAttribute('data-key'))), keys.filter((k) => !constant.includes(k)), 'one small chart a key that moves; the iteration is the x axis');
    assert.deepEqual(await page.$$eval(`${curve} .constant-keys span`, (ss) => ss.map((s) => s.textContent)), constant.map((k) => `${k} ${Number(points[0]![k]!.toPrecision(4))}`));
    /** A small chart's y ticks (right-aligned) and x axis (its ticks and label) as drawn. */
    const axes = (key: string) => page.$eval(`${curve} .multiple[data-key="${key}"] svg`, (svg, k) => ({
      y: [...svg.querySelectorAll('text[text-anchor="end"]')].map((t) => Number(t.textContent)),
      x: [...svg.querySelectorAll('text[text-anchor="middle"]:not([transform])')].map((t) => t.textContent),
      legend: [...svg.querySelectorAll('text')].map((t) => t.textContent).find((t) => t?.startsWith(`${k}:`)),
    }), key);
    const labels = await axes('labels');
    const loss = await axes('loss');
    for (const [name, ticks, lo, hi] of [['labels', labels.y, labelsLo, labelsHi], ['loss', loss.y, lossLo, lossHi]] as const) {
      const [yLo, yHi] = [Math.min(...ticks), Math.max(...ticks)];
      assert.ok(yLo <= lo && yHi >= hi && yHi - yLo < 3 * (hi - lo), `${name}'s y axis ${yLo}..${yHi} spans its own range ${lo}..${hi}`);
    }
    assert.equal(loss.legend, `loss: ${Number(lossLo.toPrecision(4))} to ${Number(lossHi.toPrecision(4))}`);
    assert.deepEqual(loss.x, labels.x, 'the small charts share the x axis');
    assert.ok(loss.x.includes('iteration'), loss.x.join(' '));
    assert.deepEqual(errors, []);
  });
});

test('in headless Chromium: a log in phases, each with its own counter, charts each phase\'s keys against that counter, a counter that starts over as one line a round, and no counter as a chart of its own (the compiler\'s PPO log, counted by no key in every point, was drawn against the point index: demoPrograms, bcEpoch and step charts of their own, PPO squeezed into the last tenth)', { skip: skipBrowser, timeout: 120_000 }, async (t) => {
  // Two rounds of cloning counted by epoch (not a known counter: it is found counting up), each
  // followed by a validation at step 0 with the examples cloned so far, then RL counted by step.
  const cloning = (round: number) => [1, 2, 3, 4].map((epoch) => ({ epoch, cloneLoss: 2 / (round * epoch) }));
  const points = [
    ...cloning(1), { step: 0, score: 1.1, examples: 40 },
    ...cloning(2), { step: 0, score: 1.12, examples: 90 },
    ...[100, 200, 300, 400].map((step) => ({ step, meanReturn: step / 1000, entropy: 1 - step / 1000 })), { step: 400, score: 1.15 },
  ].map((p, t) => ({ t, ...p }));
  const fixture = { name: 'partition-gap-seed1', problem: 'partition', points, total: points.length };
  /** Each small chart of a curve: its key, what its x axis says, its largest x tick, its legends and lines. */
  const charts = (page: import('playwright-core').Page, name: string) => page.$$eval(`#curves figure[data-curve="${name}"] .multiple`, (ms) => ms.map((m) => {
    const texts = [...m.querySelectorAll('svg text')];
    const xTicks = texts.filter((t) => t.getAttribute('text-anchor') === 'middle' && !t.hasAttribute('transform')).map((t) => t.textContent!);
    return {
      key: m.getAttribute('data-key'),
      x: xTicks[xTicks.length - 1],
      xMax: Math.max(...xTicks.slice(0, -1).map(Number)),
      legend: texts.filter((t) => t.previousElementSibling?.tagName === 'rect').map((t) => t.textContent),
      lines: m.querySelectorAll('svg path').length,
    };
  }));
  await inChromium(t, 1400, async (page, errors) => {
    await page.route('**/api/curves?problem=partition', (r) => r.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ curves: [fixture], leftOut: [] }) }));
    await page.goto(`${base}#problem=partition`);
    await page.waitForSelector('#curves figure[data-curve="partition-gap-seed1"] .multiple svg');
    assert.deepEqual(await charts(page, 'partition-gap-seed1'), [
      { key: 'cloneLoss', x: 'epoch', xMax: 4, legend: ['cloneLoss round 1', 'round 2'], lines: 2 },
      { key: 'score', x: 'step', xMax: 400, legend: ['score: 1.1 to 1.15'], lines: 1 },
      { key: 'meanReturn', x: 'step', xMax: 400, legend: ['meanReturn: 0.1 to 0.4'], lines: 1 },
      { key: 'entropy', x: 'step', xMax: 400, legend: ['entropy: 0.6 to 0.9'], lines: 1 },
    ]);
    // Logged at step 0 alone, the examples are no curve against step: they are said.
    assert.equal(await page.textContent('#curves figure[data-curve="partition-gap-seed1"] .at-one-x'), 'at step 0 only: examples 40, 90');

    // The compiler's PPO log as shipped: every chart against a counter, and no counter a chart.
    await page.unrouteAll();
    await page.goto(`${base}#problem=compiler`);
    await page.waitForSelector('#curves figure[data-curve="compiler-ppo-seed1"] .multiple svg');
    const compiler = await charts(page, 'compiler-ppo-seed1');
    const counters = new Set(compiler.map((c) => c.x));
    assert.deepEqual([...counters], ['demoPrograms', 'bcEpoch', 'step']);
    assert.deepEqual(compiler.filter((c) => counters.has(c.key!)), [], 'no counter is a chart of its own');
    assert.deepEqual(compiler.filter((c) => c.x === 'bcEpoch').map((c) => [c.key, c.legend]), [['bcPolicyLoss', ['bcPolicyLoss round 1', 'round 2']], ['bcValueLoss', ['bcValueLoss round 1', 'round 2']]]);
    assert.deepEqual(errors, []);
  });
});

/**
 * Partition's summary as a full run's: each of the tiny run's 2 instances 20 times (40, as the
 * test split has), each with a learned solver against the best heuristic (multilevel's ratios to
 * random, as if it were one), so the table, the bar charts and the ratio chart each have 40.
 */
async function fortyInstances(page: import('playwright-core').Page): Promise<void> {
  await page.route('**/api/summary?problem=partition*', async (r) => {
    const res = await r.fetch();
    const body = await res.json();
    const s = body.summary;
    const copies = (list: any[]) => Array.from({ length: 20 }, (_, k) => list.map((x) => ({ ...x, instance: `${x.instance}-${k}` }))).flat();
    const learned = s.comparisons.filter((c: any) => c.solver === 'multilevel').map((c: any) => ({ ...c, vs: 'best-heuristic', kind: 'learned', baseline: 'graph-growing' }));
    s.rows = copies(s.rows);
    s.comparisons = copies([...s.comparisons, ...learned]);
    s.meta.instances = Array.from({ length: 20 }, (_, k) => s.meta.instances.map((i: any) => ({ ...i, id: `${i.id}-${k}` }))).flat();
    s.meta.bestHeuristic = Object.fromEntries(s.meta.instances.map((i: any) => [i.id, 'graph-growing']));
    await r.fulfill({ response: res, body: JSON.stringify(body) });
  });
}

test('in headless Chromium: a run of 40 instances shows the first 6 of its table, bar charts and ratio chart, a line with the counts shows the rest, and each section is a jump from the bar on top that keeps the link (partition\'s page was 22,180 px tall at 1400 px, the curves and drawings 19,700 px down)', { skip: skipBrowser, timeout: 120_000 }, async (t) => {
  await inChromium(t, 1400, async (page, errors) => {
    await fortyInstances(page);
    await page.goto(`${base}#problem=partition`);
    await page.waitForSelector('#results tbody tr[data-solver]');
    const shown = (sel: string) => page.$$eval(sel, (es) => es.filter((e) => (e as any).checkVisibility()).length);
    const line = (sel: string) => page.$eval(sel, (b) => [b.textContent, b.getAttribute('aria-expanded')]);
    const height = () => page.evaluate(() => (document as any).documentElement.scrollHeight as number);
    assert.equal(await page.$$eval('#results tbody tr[data-solver]', (trs) => trs.length), 120, 'every row is on the page');
    assert.equal(await shown('#results tbody tr[data-solver]'), 18, 'the first 6 instances\' rows are shown');
    assert.deepEqual(await line('#results button.fold'), ['▸ show 34 more instances (102 rows)', 'false']);
    assert.equal(await shown('#charts figure'), 6);
    assert.deepEqual(await line('#charts button.fold'), ['▸ show charts of 34 more instances', 'false']);
    assert.equal(await shown('#ratios svg'), 1);
    assert.deepEqual(await line('#ratios button.fold'), ['▸ show 34 more instances', 'false']);
    const folded = await height();

    for (const id of ['results', 'charts', 'ratios']) await page.click(`#${id} button.fold`);
    assert.equal(await shown('#results tbody tr[data-solver]'), 120);
    assert.deepEqual(await line('#results button.fold'), ['▾ hide 34 more instances (102 rows)', 'true']);
    assert.equal(await shown('#charts figure'), 40);
    assert.equal(await shown('#ratios svg'), 2);
    // The ratio chart's two parts read as one: the rule at 1 stands at the same x in both.
    const rules = await page.$$eval('#ratios svg line[stroke-dasharray]', (ls) => ls.map((l) => l.getAttribute('x1')));
    assert.equal(rules.length, 2);
    assert.equal(rules[0], rules[1]);
    const open = await height();
    assert.ok(folded < open / 2, `the page is ${folded} px folded, ${open} px open`);

    // Drawn again (another metric), what the reader opened stays open.
    await page.selectOption('#f-metric', 'balance');
    await page.waitForSelector('#results thead th:has-text("balance")');
    assert.equal(await shown('#results tbody tr[data-solver]'), 120);
    await page.click('#results button.fold');
    assert.equal(await shown('#results tbody tr[data-solver]'), 18);

    // A jump puts the section just under the bar, and the link keeps the filters.
    const link = page.url();
    await page.click('#toc button[data-section="s-curves"]');
    const [bar, section] = await page.evaluate(() => ['bar', 's-curves'].map((id) => (document as any).getElementById(id).getBoundingClientRect()));
    assert.ok(Math.abs(section.top - (bar.bottom + 8)) <= 1, `the section starts at ${section.top} px, the bar ends at ${bar.bottom} px`);
    assert.equal(page.url(), link);
    assert.deepEqual(errors, []);
  });
});
