/**
 * The dashboard's browser tests' one way to open a page: Debian's headless Chromium driven by
 * playwright-core (no downloaded browser), in a fresh profile, with the page's uncaught errors
 * collected. Tests skip visibly, with `skipBrowser` as the reason, without Chromium or the built app.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultWebDir } from '../../src/server/dashboard.js';
import { stopsAfter } from '../stops.js';

export const CHROMIUM = '/usr/bin/chromium';
/** Whether the dashboard's web app is built (npm run build:web). */
export const built = existsSync(join(defaultWebDir(), 'index.html'));
export const skipBrowser: string | false = !existsSync(CHROMIUM) ? `${CHROMIUM} is not installed on this machine` : !built ? 'the dashboard is not built (npm run build:web)' : false;

/**
 * A page `width` px wide in a fresh headless Chromium profile (playwright passes it as
 * --user-data-dir), for test `t`; the browser and profile are gone afterwards, and after the test
 * if it timed out first (node:test abandons a timed-out body, whose finally does not run then: the
 * browser kept the file's process alive).
 */
export async function inChromium(t: TestContext, width: number, fn: (page: import('playwright-core').Page, errors: string[]) => Promise<void>): Promise<void> {
  const stopLater = stopsAfter(t);
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'selfopt-chromium-'));
  stopLater(() => rmSync(profile, { recursive: true, force: true }));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width, height: 1000 },
  });
  stopLater(() => browser.close());
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await fn(page, errors);
  } finally {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  }
}
