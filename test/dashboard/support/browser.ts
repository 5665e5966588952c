import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's Chromium, headless; a missing binary fails the test (scripts/ensure-test-servers.sh installs it). */
export const CHROMIUM = '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--headless'],
  });
}

export const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/dashboard/', import.meta.url));

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Collects page errors so a test can assert the page ran without throwing. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) errors.push(m.text());
  });
  return errors;
}

/** A headless Chromium with one page of the given viewport, its errors collected. */
export async function openPage(viewport: { width: number; height: number }): Promise<{ browser: Browser; page: Page; errors: string[] }> {
  const browser = await launchChromium();
  const page = await (await browser.newContext({ viewport })).newPage();
  return { browser, page, errors: watchErrors(page) };
}

/** A headless Chromium on the dashboard at url, its errors collected, once the page shows its live connection. */
export async function openLiveDashboard(url: string, viewport: { width: number; height: number }): Promise<{ browser: Browser; page: Page; errors: string[] }> {
  const { browser, page, errors } = await openPage(viewport);
  await page.goto(url);
  await page.waitForSelector('.conn[data-state="live"]', { timeout: 15_000 });
  return { browser, page, errors };
}
