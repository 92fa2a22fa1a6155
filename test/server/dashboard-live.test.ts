/**
 * The dashboard page keeps up with a bench while it runs, in Debian's headless Chromium with the
 * page's clock driven by the test: an unfinished run on screen is read again every 10 s and redrawn
 * when it changes, a problem with no run yet is read again until one appears, and a read that
 * fails is said and tried again. Over a real tiny bench's store (dashboard-fixture.ts), the API's
 * answers changed by the test where a bench would change them; skips visibly when
 * /usr/bin/chromium or the built app is missing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inChromium, skipBrowser } from './chromium.js';
import { getJsonAt, servedDashboard } from './dashboard-fixture.js';

/** The page's global, inside functions that playwright runs in the browser. */
declare const document: { querySelectorAll(s: string): ArrayLike<{ getAttribute(n: string): string | null }> & Iterable<{ getAttribute(n: string): string | null }> };

let base: string, runId: string;
servedDashboard({}, (d) => ({ base, runId } = d));
const getJson = (path: string) => getJsonAt(base, path);

test('in headless Chromium: an unfinished run on screen is read again and redrawn when it gains cells or finishes; the latest view moves to a newer run', { skip: skipBrowser, timeout: 120_000 }, async (t) => {
  await inChromium(t, 1280, async (page, errors) => {
    // The partition run as a bench still writing it would show it: unfinished, fewer cells.
    const realRuns = (await getJson('api/runs')).body as any[];
    const real = (await getJson('api/summary?problem=partition')).body;
    const full = real.run.cells as number;
    let state = { cells: full - 4, finishedAt: null as string | null };
    const asNow = (r: any) => (r.runId === runId ? { ...r, ...state } : r);
    let summaryReads = 0;
    await page.route('**/api/runs', (r) => r.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(realRuns.map(asNow)) }));
    await page.route('**/api/summary?problem=partition*', (r) => {
      summaryReads++;
      r.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ ...real, run: asNow(real.run) }) });
    });
    await page.clock.install();
    await page.goto(`${base}#problem=partition`);
    await page.waitForSelector('#live');
    assert.match((await page.textContent('#run .sub'))!, new RegExp(`· ${full - 4} cells · unfinished`));
    assert.equal(summaryReads, 1);

    // Nothing new: the tick reads the runs but not the summary again.
    await page.clock.runFor(10_000);
    await page.waitForTimeout(200);
    assert.equal(summaryReads, 1, 'an unchanged run is not read again');

    // The bench recorded its last cells and finished: the next tick redraws, and stops reading.
    state = { cells: full, finishedAt: real.run.finishedAt ?? new Date().toISOString() };
    await page.clock.runFor(10_000);
    await page.waitForFunction(() => !document.querySelectorAll('#live').length);
    assert.match((await page.textContent('#run .sub'))!, new RegExp(`· ${full} cells`));
    assert.equal(summaryReads, 2);
    await page.clock.runFor(30_000);
    await page.waitForTimeout(200);
    assert.equal(summaryReads, 2, 'a finished run is not read again');

    // A bench started after the page opened: the latest run on screen becomes the new one.
    const newer = { ...real.run, runId: '29991231T000000000Z-beef', startedAt: '2999-12-31T00:00:00.000Z', finishedAt: null, cells: 2 };
    realRuns.push(newer);
    real.run = newer;
    await page.clock.runFor(10_000);
    await page.waitForFunction(() => document.querySelectorAll('#live').length === 1);
    assert.match((await page.textContent('#run h2'))!, /29991231T000000000Z-beef/);
    assert.equal(summaryReads, 3);
    assert.deepEqual(errors, []);
  });
});

test('in headless Chromium: with no run of the problem yet, the page reads the runs again every 10 s, and a bench started later appears (it was never read again)', { skip: skipBrowser, timeout: 120_000 }, async (t) => {
  await inChromium(t, 1280, async (page, errors) => {
    const realRuns = (await getJson('api/runs')).body as any[];
    let benchStarted = false;
    let runsReads = 0;
    await page.route('**/api/runs', (r) => {
      runsReads++;
      r.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(benchStarted ? realRuns : []) });
    });
    await page.clock.install();
    await page.goto(`${base}#problem=partition`);
    await page.locator('#status', { hasText: 'no recorded runs of partition' }).waitFor();
    assert.equal(runsReads, 1);

    // Nothing yet: the tick reads the runs, and the page still says there is none.
    await page.clock.runFor(10_000);
    await page.waitForTimeout(200);
    assert.equal(runsReads, 2, 'the runs are read again after 10 s');
    assert.match((await page.textContent('#status'))!, /no recorded runs of partition/);

    // A bench started: the next tick shows its run.
    benchStarted = true;
    await page.clock.runFor(10_000);
    await page.waitForSelector('#results tbody tr[data-solver]');
    assert.match((await page.textContent('#run h2'))!, new RegExp(runId));
    assert.equal(runsReads, 3);
    assert.deepEqual(errors, []);
  });
});

test('in headless Chromium: a summary read of the unfinished run that fails is said, and the next tick reads it again (the page stopped reading)', { skip: skipBrowser, timeout: 120_000 }, async (t) => {
  await inChromium(t, 1280, async (page, errors) => {
    const realRuns = (await getJson('api/runs')).body as any[];
    const real = (await getJson('api/summary?problem=partition')).body;
    const full = real.run.cells as number;
    let cells = full - 4;
    let finishedAt: string | null = null;
    const asNow = (r: any) => (r.runId === runId ? { ...r, cells, finishedAt } : r);
    let summaryReads = 0;
    let busy = false;
    let runsBusy = false;
    await page.route('**/api/runs', (r) => runsBusy
      ? r.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ error: { code: 'store_busy', message: 'the results store is in use by another process (PID 4242)' } }) })
      : r.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(realRuns.map(asNow)) }));
    await page.route('**/api/summary?problem=partition*', (r) => {
      summaryReads++;
      if (busy) return r.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ error: { code: 'store_busy', message: 'the results store is in use by another process (PID 4242)' } }) });
      r.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ ...real, run: asNow(real.run) }) });
    });
    await page.clock.install();
    await page.goto(`${base}#problem=partition`);
    await page.waitForSelector('#live');

    // The run gained cells, but the summary read fails (a store held by another program).
    cells = full - 2;
    busy = true;
    await page.clock.runFor(10_000);
    await page.waitForSelector('#status.error');
    assert.match((await page.textContent('#status'))!, /PID 4242.*reading the unfinished run again in 10 s/);
    assert.equal(summaryReads, 2);

    // The store is free again: the next tick reads the run and draws it.
    busy = false;
    await page.clock.runFor(10_000);
    await page.locator('#run .sub', { hasText: `· ${full - 2} cells · unfinished` }).waitFor({ timeout: 5_000 });
    assert.equal(summaryReads, 3);
    assert.equal(await page.textContent('#status'), '');

    // Finished, and still the latest: the page goes on reading the runs (for a newer one), and a
    // failed read says that, not 'the unfinished run'.
    finishedAt = new Date(0).toISOString();
    await page.clock.runFor(10_000);
    await page.waitForFunction(() => !document.querySelectorAll('#live').length);
    runsBusy = true;
    await page.clock.runFor(10_000);
    await page.waitForSelector('#status.error');
    assert.match((await page.textContent('#status'))!, /PID 4242\) \(reading the runs again in 10 s\)/);
    assert.deepEqual(errors, []);
  });
});
