import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Daemon } from '../../daemon/run.ts';
import { dropFile, jcampText } from '../../support/daemon-process.ts';
import { waitFor } from '../../support/servers.ts';
import { ARTIFACTS, openPage, screenshot } from './support/browser.ts';
import { startDashboardDaemon, type DashboardDaemon } from './support/daemon.ts';

/**
 * The built dashboard in headless Chromium against the real daemon (in this process, real HTTP + socket.io): the
 * Models panel retrains in the background, asks for the token (a wrong one is refused), shows the before/after
 * numbers, promotes the candidate (results then carry its modelVersion) and rolls back; the Instruments tab shows the
 * instrument's health. Screenshots go to test-artifacts/dashboard/.
 */
let env: DashboardDaemon;
let inbox: string;
const TOKEN = 'models-ui-token';
let daemon: Daemon;
let browser: Browser;
let page: Page;
let errors: string[];
const dialogs: string[] = [];
let dismissNext = false;

beforeAll(async () => {
  env = await startDashboardDaemon({ name: 'models-ui', token: TOKEN, instrument: 'raman-1', inbox: {} });
  ({ inbox, daemon } = env);
  ({ browser, page, errors } = await openPage({ width: 1280, height: 900 }));
  // Promote and roll back ask first (and "worse on the held-out spectra: promote anyway?"): the test answers.
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void (dismissNext ? d.dismiss() : d.accept());
    dismissNext = false;
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await env?.close();
});

async function signIn(token: string): Promise<void> {
  await page.waitForSelector('dialog.signin[open]');
  await page.fill('dialog.signin input[name="token"]', token);
  await page.click('dialog.signin [data-action="sign-in"]');
}

describe('Models panel on the real daemon', () => {
  it('retrains with live progress, promotes the candidate and rolls back', async () => {
    await page.goto(`${daemon.url}/#/retrain`);
    await page.waitForSelector('tr[data-version="v1"].active');
    expect(await page.locator('[data-action="rollback"]').isHidden()).toBe(true);

    await page.click('[data-action="retrain"]');
    await signIn('not-the-token');
    await page.waitForSelector('dialog.signin[open] .form-error'); // refused by the daemon (401): asked again
    await signIn(TOKEN);
    await page.waitForSelector('.retrain[data-state="training"]', { timeout: 10_000 });
    expect(await page.locator('[data-action="cancel-retrain"]').isVisible()).toBe(true);
    await page.waitForSelector('.retrain[data-state="kept"]', { timeout: 60_000 });
    expect(await page.locator('tr[data-metric="accuracy"] td').count()).toBe(4);
    await screenshot(page, 'models-kept');

    const models = (await (await fetch(`${daemon.url}/api/models`)).json()) as { items: Array<{ version: string; modelVersion: string }> };
    const v1 = models.items.find((m) => m.version === 'v1')!.modelVersion;
    const v2 = models.items.find((m) => m.version === 'v2')!.modelVersion;
    expect(await page.locator('tr[data-version="v2"] .small').textContent()).toBe(v2);

    // Like with like: v2 against v1 on the same held-out spectra; v1's model-card figure is marked as measured elsewhere.
    const v2Accuracy = await page.locator('tr[data-version="v2"] [data-role="version-accuracy"]').textContent();
    expect(v2Accuracy).toMatch(/against v1's [\d.]+ % on the same \d+ held-out spectra/);
    expect(await page.locator('tr[data-version="v1"] [data-role="version-accuracy"]').textContent()).toContain('model-card');
    // What the run trained on: the labelled library, not "N new labels".
    expect(await page.locator('[data-role="training-data"]').textContent()).toMatch(/v2 was fine-tuned from v1 on \d+ labelled spectra, with \d+ more held out/);
    expect(await page.locator('[data-action="rollback"]').isHidden()).toBe(true); // nothing to roll back to yet

    // Promote asks first; "no" changes nothing.
    dismissNext = true;
    const asked = dialogs.length;
    await page.click('tr[data-version="v2"] [data-action="activate"]');
    await expect.poll(() => dialogs.length, { timeout: 10_000 }).toBeGreaterThan(asked);
    expect(dialogs.at(-1)).toMatch(/^Promote v2 in place of v1\?/);
    expect(daemon.health().modelVersion).toBe(v1);

    await page.click('tr[data-version="v2"] [data-action="activate"]');
    await page.waitForSelector('tr[data-version="v2"].active', { timeout: 30_000 });
    // The state matches the daemon: no "candidate v2 saved" once v2 is active.
    await page.waitForFunction(() => /v2 promoted/.test(document.querySelector('.retrain-state')?.textContent ?? ''), null, { timeout: 10_000 });
    expect(await page.locator('.retrain-state').textContent()).not.toContain('saved');
    expect(await page.locator('[data-action="rollback"]').textContent()).toBe('Roll back to v1');
    expect(daemon.health().modelVersion).toBe(v2);
    dropFile(inbox, 'after-promote.jdx', jcampText('after-promote', 17, 2));
    const promoted = await waitFor('result', () => daemon.store.listResults({ q: 'after-promote' }).items[0], 20_000);
    expect(promoted.modelVersion).toBe(v2);
    await screenshot(page, 'models-promoted');

    await page.click('[data-action="rollback"]');
    await page.waitForSelector('tr[data-version="v1"].active', { timeout: 30_000 });
    expect(dialogs.at(-1)).toMatch(/^Roll back from v2 to v1\?/);
    await page.waitForFunction(() => /rolled back from v2 to v1/.test(document.querySelector('.retrain-state')?.textContent ?? ''));
    expect(await page.locator('.retrain-state .pill').textContent()).not.toBe('promoted');
    expect(daemon.health().modelVersion).toBe(v1);
    // Back at the first version: nothing left to roll back to, so it is not offered (the daemon would answer 409).
    await page.waitForSelector('[data-action="rollback"]', { state: 'hidden', timeout: 10_000 });
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.screenshot({ path: `${ARTIFACTS}models-390.png` });
    await page.setViewportSize({ width: 1280, height: 900 });
  }, 100_000);

  it('shows instrument health', async () => {
    await page.click('a[data-route="instruments"]');
    const row = page.locator('tr[data-instrument="raman-1"]');
    await row.waitFor();
    await page.waitForFunction(() => Number(document.querySelector('tr[data-instrument="raman-1"] [data-count="results"]')?.textContent) >= 1, null, { timeout: 10_000 });
    expect(await row.getAttribute('data-state')).toBe('up');
    expect(await row.locator('.chip[data-adapter="inbox"]').getAttribute('data-state')).toBe('up');
    await screenshot(page, 'instruments');
    expect(errors).toEqual([]);
  });
});
