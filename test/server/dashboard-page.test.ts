/**
 * The dashboard page in Debian's headless Chromium (driven by playwright-core): it must show the
 * table rows the store holds, narrow them by its filters, draw the charts (coloured bar pixels in a
 * screenshot of the chart area), the learning curves and the drawings, follow links (an unknown
 * problem or run named, a link followed in a tab already open) and say what failed. Over a real
 * tiny bench's store (dashboard-fixture.ts); skips visibly when /usr/bin/chromium or the built app
 * is missing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KIND_COLORS } from '../../src/bench/svg.js';
import { inChromium, skipBrowser } from './chromium.js';
import { countColor, decodePng } from './png.js';
import { INSTANCES, SOLVERS, getJsonAt, servedDashboard } from './dashboard-fixture.js';

/** The page's global, inside functions that playwright runs in the browser. */
declare const document: { querySelectorAll(s: string): ArrayLike<{ getAttribute(n: string): string | null }> & Iterable<{ getAttribute(n: string): string | null }> };

let dir: string, base: string, runId: string, undrawnRunId: string;
servedDashboard({}, (d) => ({ dir, base, runId, undrawnRunId } = d));
const getJson = (path: string) => getJsonAt(base, path);

test('in headless Chromium: the table shows the store, a filter narrows it, a chart is drawn', { skip: skipBrowser, timeout: 120_000 }, async (t) => {
  await inChromium(t, 1280, async (page, errors) => {
    page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
    // The page opens on the first problem with results (scheduling here); the hash picks one.
    await page.goto(`${base}#problem=partition`);
    await page.waitForSelector('#results tbody tr[data-solver]');
    assert.equal(await page.inputValue('#f-problem'), 'partition');

    const { summary } = (await getJson('api/summary?problem=partition')).body;
    const rowsOf = () => page.$$eval('#results tbody tr[data-solver]', (trs) => trs.map((tr) => ({
      instance: tr.getAttribute('data-instance'),
      solver: tr.getAttribute('data-solver'),
      mean: Number(tr.querySelector('td[data-mean]')!.getAttribute('data-mean')),
      text: tr.textContent ?? '',
      command: tr.querySelector('a.cmd-link')!.getAttribute('title'),
    })));
    const all = await rowsOf();
    assert.equal(all.length, INSTANCES.length * SOLVERS.length);
    for (const r of all) {
      const want = summary.rows.find((x: any) => x.instance === r.instance && x.solver === r.solver && x.metric === 'edge_cut');
      assert.equal(r.mean, want.mean, `${r.instance}/${r.solver}`);
      assert.equal(r.command, `npx selfopt bench partition --instances ${r.instance} --solvers ${r.solver} --quick --seeds 2`);
    }
    // A row's link shows the command that re-runs that row.
    await page.click(`#results tbody tr[data-solver="${all[1]!.solver}"][data-instance="${all[1]!.instance}"] a.cmd-link`);
    assert.equal(await page.textContent('#run-command'), all[1]!.command);

    // Filter: one instance.
    await page.selectOption('#f-instance', 'mesh_2k_k2');
    await page.waitForFunction(() => [...document.querySelectorAll('#results tbody tr[data-instance]')].every((tr) => tr.getAttribute('data-instance') === 'mesh_2k_k2'));
    const narrowed = await rowsOf();
    assert.deepEqual(narrowed.map((r) => r.solver).sort(), [...SOLVERS].sort());
    assert.equal(await page.$$eval('#charts figure', (fs) => fs.length), 1);
    assert.match(page.url(), /instance=mesh_2k_k2/);
    // And one solver.
    await page.selectOption('#f-solver', 'multilevel');
    await page.waitForFunction(() => document.querySelectorAll('#results tbody tr[data-solver]').length === 1);
    assert.equal((await rowsOf())[0]!.solver, 'multilevel');
    await page.selectOption('#f-solver', '');
    await page.waitForFunction(() => document.querySelectorAll('#results tbody tr[data-solver]').length === 3);

    // The bar chart is drawn: its screenshot holds bars in the solver kinds' colours.
    const shot = decodePng(await (await page.$('#charts'))!.screenshot());
    const heuristic = countColor(shot, KIND_COLORS.heuristic);
    const baseline = countColor(shot, KIND_COLORS.baseline);
    assert.ok(heuristic > 200 && baseline > 100, `bar pixels: heuristic ${heuristic}, baseline ${baseline} of ${shot.width}x${shot.height}`);
    // And the learning curve.
    assert.equal(await page.$$eval('#curves figure path', (ps) => ps.length), 1);
    const curve = decodePng(await (await page.$('#curves figure'))!.screenshot());
    assert.ok(countColor(curve, '#ea580c') > 50, 'the curve line is drawn');
    // Partition's drawings of its run; a run that drew nothing says so; scheduling's appear when it is chosen.
    assert.deepEqual(await page.$$eval('#pictures figure', (fs) => fs.map((f) => `${f.getAttribute('data-instance')} · ${f.getAttribute('data-solver')}`)), SOLVERS.map((v) => `mesh_2k_k2 · ${v}`), 'the instance filter holds for the drawings too');
    await page.selectOption('#f-problem', 'index');
    await page.waitForSelector('#pictures p.muted');
    assert.equal(await page.textContent('#pictures'), 'index draws no solutions in this run');
    await page.selectOption('#f-problem', 'scheduling');
    await page.waitForSelector('#pictures figure svg');
    // Scheduling ran one seed: no '± 0' and no [x, x] interval, and no ratio marked good or bad.
    const fair = (await page.textContent('#results tbody tr[data-solver="fair"]')) ?? '';
    assert.ok(!/\d ± \d/.test(fair) && !/\[\d/.test(fair) && fair.includes('(n=1)'), fair);
    assert.equal(await page.$$eval('#results tbody .good, #results tbody .bad', (es) => es.length), 0);
    assert.deepEqual(await page.$$eval('#pictures figure', (fs) => fs.map((f) => `${f.getAttribute('data-instance')} · ${f.getAttribute('data-solver')}`)), ['synthetic_batch6_10exec · fifo', 'synthetic_batch6_10exec · fair']);
    await page.selectOption('#f-solver', 'fair');
    await page.waitForFunction(() => document.querySelectorAll('#pictures figure').length === 1);
    assert.deepEqual(errors, []);
  });
});

test('in headless Chromium: the drawings are shown one instance at a time, each fetched when shown, below the learning curves (all of partition\'s 253 made the page 49,000 px tall, the curves under them)', { skip: skipBrowser, timeout: 120_000 }, async (t) => {
  await inChromium(t, 1280, async (page, errors) => {
    const asked: string[] = [];
    page.on('request', (r) => {
      const u = new URL(r.url());
      if (u.pathname === '/api/picture') asked.push(`${u.searchParams.get('instance')} · ${u.searchParams.get('solver')}`);
    });
    const cards = () => page.$$eval('#pictures figure', (fs) => fs.map((f) => `${f.getAttribute('data-instance')} · ${f.getAttribute('data-solver')}`));
    await page.goto(`${base}#problem=partition`);
    await page.waitForFunction(() => document.querySelectorAll('#pictures figure svg').length === 3);
    // Every instance, but only the first one's drawings: the summary lists them sorted by instance.
    const [first, second] = [...INSTANCES].sort();
    assert.deepEqual(await cards(), SOLVERS.map((v) => `${first} · ${v}`));
    assert.deepEqual(asked.sort(), SOLVERS.map((v) => `${first} · ${v}`).sort(), 'only the drawings on screen are fetched');
    assert.equal(await page.textContent('#g-count'), '1 of 2 instances with drawings');
    const top = (sel: string) => page.$eval(sel, (e) => e.getBoundingClientRect().top);
    assert.ok((await top('#curves')) < (await top('#pictures')), 'the learning curves come before the drawings');
    // The next instance's, fetched then; and back, from what the page kept.
    await page.click('#g-next');
    await page.waitForFunction((i) => [...document.querySelectorAll('#pictures figure')].every((f) => f.getAttribute('data-instance') === i), second);
    await page.waitForFunction(() => document.querySelectorAll('#pictures figure svg').length === 3);
    assert.deepEqual(await cards(), SOLVERS.map((v) => `${second} · ${v}`));
    await page.selectOption('#g-instance', first!);
    await page.waitForFunction(() => document.querySelectorAll('#pictures figure svg').length === 3);
    assert.deepEqual(await cards(), SOLVERS.map((v) => `${first} · ${v}`));
    assert.equal(asked.length, 6, `each drawing fetched once: ${asked.join(', ')}`);
    // The instance chosen is in the link: opened anew, the link shows its drawings.
    await page.click('#g-next');
    await page.waitForFunction(`new URLSearchParams(location.hash.slice(1)).get('picture') === ${JSON.stringify(second)}`);
    const link = page.url();
    await page.goto('about:blank');
    await page.goto(link);
    await page.waitForFunction(() => document.querySelectorAll('#pictures figure svg').length === 3);
    assert.deepEqual(await cards(), SOLVERS.map((v) => `${second} · ${v}`));
    assert.equal(await page.textContent('#g-count'), '2 of 2 instances with drawings');
    assert.deepEqual(errors, []);
  });
});

test('in headless Chromium: a request that fails after the first view is said in the status line, not left as "loading…"', { skip: skipBrowser, timeout: 120_000 }, async (t) => {
  await inChromium(t, 1280, async (page, errors) => {
    await page.goto(`${base}#problem=partition`);
    await page.waitForSelector('#results tbody tr[data-solver]');
    // What the API answers while a `selfopt bench` holds the store (dashboard.ts, withStore).
    const busy = 'the results store is in use by another process (PID 4242) (at results.duckdb); expected one selfopt process per store at a time';
    await page.route('**/api/summary?problem=scheduling*', (r) => r.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ error: { code: 'store_busy', message: busy } }) }));
    await page.selectOption('#f-problem', 'scheduling');
    await page.waitForSelector('#status.error');
    assert.equal(await page.textContent('#status'), busy);
    assert.equal(await page.$$eval('#results tbody tr', (trs) => trs.length), 0, "partition's rows are not left under scheduling");
    assert.deepEqual(errors, []);
    // Once the store is free again, choosing again shows the results.
    await page.unroute('**/api/summary?problem=scheduling*');
    await page.selectOption('#f-problem', 'partition');
    await page.selectOption('#f-problem', 'scheduling');
    await page.waitForSelector('#results tbody tr[data-solver="fifo"]');
    assert.equal(await page.textContent('#status'), '');
  });
});

test('in headless Chromium: a link naming an unknown problem shows the first problem with results and says so', { skip: skipBrowser, timeout: 120_000 }, async (t) => {
  await inChromium(t, 1280, async (page, errors) => {
    await page.goto(`${base}#problem=partitoin&solver=multilevel`);
    await page.waitForSelector('#results tbody tr[data-solver]');
    const shown = await page.inputValue('#f-problem');
    const first = (await getJson('api/problems')).body.map((p: { name: string }) => p.name).find((n: string) => ['partition', 'scheduling', 'index'].includes(n));
    assert.equal(shown, first);
    assert.equal(await page.textContent('#status'), `no problem 'partitoin' (named in the URL); showing ${shown}`);
    assert.match(page.url(), new RegExp(`#problem=${shown}&metric=`));
    assert.deepEqual(errors, []);
  });
});

test('in headless Chromium: a link followed in a tab already on the dashboard shows what it names, not the filters the tab had', { skip: skipBrowser, timeout: 120_000 }, async (t) => {
  await inChromium(t, 1280, async (page, errors) => {
    await page.goto(`${base}#problem=partition&instance=mesh_2k_k2&solver=multilevel`);
    await page.waitForFunction(() => document.querySelectorAll('#results tbody tr[data-solver]').length === 1);
    // Only the hash changes: the page is not reloaded, the hashchange handler reads the link.
    await page.goto(`${base}#problem=partition`);
    await page.waitForFunction((n) => document.querySelectorAll('#results tbody tr[data-solver]').length === n, INSTANCES.length * SOLVERS.length);
    assert.equal(await page.inputValue('#f-instance'), '');
    assert.equal(await page.inputValue('#f-solver'), '');
    assert.doesNotMatch(page.url(), /instance=|solver=/);
    assert.deepEqual(errors, []);
  });
});

test('in headless Chromium: the summary\'s warnings (why a ratio is missing) are shown, as the HTML report shows them', { skip: skipBrowser, timeout: 120_000 }, async (t) => {
  await inChromium(t, 1280, async (page, errors) => {
    // The run's real summary, with the warning a run without the baseline solver gets (summary.ts).
    const real = (await getJson('api/summary?problem=partition')).body;
    const warning = "no rows for the baseline solver 'x': no ratios vs baseline";
    real.summary.meta.warnings = [warning];
    await page.route('**/api/summary?problem=partition*', (r) => r.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(real) }));
    await page.goto(`${base}#problem=partition`);
    await page.waitForSelector('#results tbody tr[data-solver]');
    assert.deepEqual(await page.$$eval('#warnings li', (lis) => lis.map((li) => li.textContent)), [warning]);
    assert.deepEqual(errors, []);
  });
});

test('in headless Chromium: a solver filter shows that solver\'s learning curves, not those of a solver whose name it begins', { skip: skipBrowser, timeout: 120_000 }, async (t) => {
  // As compiler's ppo and ppo-guided-search: both train, into compiler-ppo-seed1 and compiler-ppo-guided-search-seed1.
  const other = join(dir, 'train', 'partition-multilevel-kway-seed1');
  mkdirSync(other);
  writeFileSync(join(other, 'curve.jsonl'), JSON.stringify({ t: 1, step: 1, return: -3 }) + '\n');
  try {
    await inChromium(t, 1280, async (page, errors) => {
      await page.goto(`${base}#problem=partition&solver=multilevel`);
      await page.waitForSelector('#curves figure');
      assert.deepEqual(await page.$$eval('#curves figure', (fs) => fs.map((f) => f.getAttribute('data-curve'))), ['partition-multilevel-seed1']);
      await page.selectOption('#f-solver', '');
      await page.waitForFunction(() => document.querySelectorAll('#curves figure').length === 2);
      assert.deepEqual(errors, []);
    });
  } finally {
    rmSync(other, { recursive: true, force: true });
  }
});

test('in headless Chromium: a training run that has logged no point yet says so under its name, not an empty frame with no y axis', { skip: skipBrowser, timeout: 120_000 }, async (t) => {
  const curves = (await getJson('api/curves?problem=partition')).body as { curves: unknown[] };
  const started = { name: 'partition-gap-seed1', problem: 'partition', points: [], total: 0 };
  await inChromium(t, 1280, async (page, errors) => {
    await page.route('**/api/curves?problem=partition', (r) => r.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ ...curves, curves: [started, ...curves.curves] }) }));
    await page.goto(`${base}#problem=partition`);
    await page.waitForSelector('#curves figure[data-curve="partition-multilevel-seed1"] svg');
    const empty = page.locator('#curves figure[data-curve="partition-gap-seed1"]');
    assert.equal(await empty.locator('svg').count(), 0);
    assert.equal(await empty.locator('p').textContent(), 'no points yet: the training run has logged none (it may have just started)');
    assert.deepEqual(errors, []);
  });
});

test('in headless Chromium: a link naming a run the problem does not have shows the latest run and says so', { skip: skipBrowser, timeout: 120_000 }, async (t) => {
  await inChromium(t, 1280, async (page, errors) => {
    // The index run is not a partition run: a link carried over from another problem or store.
    await page.goto(`${base}#problem=partition&run=${undrawnRunId}`);
    await page.waitForSelector('#results tbody tr[data-solver]');
    assert.equal(await page.textContent('#status'), `no run '${undrawnRunId}' of partition (named in the URL); showing the latest`);
    assert.equal(await page.inputValue('#f-run'), '');
    assert.match((await page.textContent('#run h2')) ?? '', new RegExp(runId));
    assert.doesNotMatch(page.url(), /run=/);
    assert.deepEqual(errors, []);
  });
});
