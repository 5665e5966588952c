import { readFileSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDashboard } from './support/build.ts';
import { launchChromium, screenshot, watchErrors } from './support/browser.ts';
import { startFakeDaemon, type FakeDaemon } from './support/fake-daemon.ts';
import { className, makeResult, mixtureSpectrum, referenceOf, testSpectrum } from './support/spectra.ts';

/**
 * The built dashboard in real headless Chromium against a stand-in daemon (HTTP API + socket.io emitting real
 * ResultMessages of benchmark spectra): live answers and plots, alerts, history filters, export, labelling with and
 * without the token, retraining. Screenshots go to test-artifacts/dashboard/.
 */

const TOKEN = 'op-secret-token';
let built: Awaited<ReturnType<typeof buildDashboard>>;
let daemon: FakeDaemon;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let errors: string[];

beforeAll(async () => {
  built = await buildDashboard();
  daemon = await startFakeDaemon({
    distDir: built.dir,
    token: TOKEN,
    references: new Map([0, 1, 2, 3].map((c) => [className(c), referenceOf(c)])),
  });
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1440, height: 900 }, acceptDownloads: true });
  page = await context.newPage();
  errors = watchErrors(page);
  daemon.adapterState({ name: 'inbox', kind: 'folder', state: 'up', since: new Date(Date.now() - 60_000).toISOString() });
  daemon.adapterState({ name: 'mqtt', kind: 'mqtt-in', state: 'down', detail: 'connection refused', since: new Date().toISOString() });
  await page.goto(daemon.url);
  await page.waitForSelector('.conn[data-state="live"]', { timeout: 15_000 });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await daemon?.close();
  built?.remove();
});

const feedItem = (id: string): string => `.feed li[data-result-id="${id}"]`;

describe('live view', () => {
  it('shows an identified spectrum as it arrives, with its plot and the reference overlaid', async () => {
    const result = { ...makeResult({ status: 'identified', cls: 1, score: 0.97 }), predictionSet: [className(1)], coverage: 0.95, decidedBy: 'peaks' as const };
    daemon.publish({ id: result.id, y: testSpectrum(1), result });

    await page.waitForSelector(feedItem(result.id), { timeout: 10_000 });
    const answer = page.locator(`.answer-host .answer[data-result-id="${result.id}"]`);
    await answer.waitFor();
    expect(await answer.locator('.answer-title').textContent()).toBe(className(1));
    expect(await answer.locator('.answer-score').textContent()).toBe('97.0%');
    expect(await answer.getAttribute('class')).toContain('st-ok');
    // The evidence beside the answer: each candidate's confidence and embedding similarity, the prediction set and
    // what decided.
    const row = answer.locator(`.candidates tr[data-class="${className(1)}"] td`);
    expect(await row.allTextContents()).toEqual([className(1), '97.0%', '0.985']);
    expect(await answer.locator('[data-role="prediction-set"]').textContent()).toBe(`Prediction set (95%): ${className(1)} alone`);
    expect(await answer.locator('[data-role="decided-by"]').textContent()).toContain('peaks');

    // uPlot draws all 5000 points with the class reference as a second series.
    const plot = page.locator('.answer-host + .spectrum-panel .plot-host');
    await page.waitForFunction(() => document.querySelector('.live-main .plot-host')?.getAttribute('data-series')?.includes('reference'), null, { timeout: 10_000 });
    expect(await plot.getAttribute('data-points')).toBe('5000');
    expect(await plot.getAttribute('data-series')).toBe(`measured|reference ${className(1)}|residual`);
    const inked = await page.evaluate(() => {
      const canvas = document.querySelector('.live-main .plot-host canvas') as HTMLCanvasElement | null;
      if (!canvas) return 0;
      const data = (canvas.getContext('2d') as CanvasRenderingContext2D).getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
      return n / (canvas.width * canvas.height);
    });
    expect(inked).toBeGreaterThan(0.01);

    // Instrument tile and adapter chips from health and adapter-state events.
    await page.waitForSelector('.tile[data-instrument="raman-1"]');
    expect(await page.locator('.chip[data-adapter="mqtt"]').getAttribute('data-state')).toBe('down');
    expect(await page.locator('.chip[data-adapter="inbox"]').getAttribute('data-state')).toBe('up');
    await page.waitForFunction(() => document.querySelector('[data-role="model-version"]')?.textContent?.includes('seed-1.0.0'));
  });

  it('shows a mixture with its components, fractions and the summed references', async () => {
    const parts = [{ cls: 2, fraction: 0.7, score: 0.9 }, { cls: 3, fraction: 0.3, score: 0.8 }];
    const result = makeResult({ status: 'mixture', score: 0.88, components: parts, instrument: 'ir-2' });
    daemon.publish({ id: result.id, y: mixtureSpectrum(parts), result });

    const answer = page.locator(`.answer-host .answer[data-result-id="${result.id}"]`);
    await answer.waitFor({ timeout: 10_000 });
    expect(await answer.getAttribute('class')).toContain('st-mix');
    expect(await answer.locator('.answer-title').textContent()).toBe(`${className(2)} + ${className(3)}`);
    const rows = await answer.locator('table.components tbody tr').allTextContents();
    expect(rows).toHaveLength(2);
    expect(rows[0]).toContain('70%');
    expect(rows[1]).toContain('30%');
    await page.waitForFunction(() => document.querySelector('.live-main .plot-host')?.getAttribute('data-series')?.includes('mixture model'), null, { timeout: 10_000 });
    expect(await page.locator('.live-main .plot-host').getAttribute('data-series')).toBe(`measured|${className(2)} × 70%|${className(3)} × 30%|mixture model|residual`);
    await screenshot(page, 'live-mixture');
  });

  it('colours unknown, low-confidence and rejected results and keeps the newest on top', async () => {
    const t = Date.now();
    const low = makeResult({ status: 'low-confidence', cls: 0, score: 0.55, at: new Date(t) });
    const unknown = makeResult({ status: 'unknown', score: 0.12, candidates: [{ cls: 3, score: 0.12 }], at: new Date(t + 1) });
    const rejected = makeResult({ status: 'rejected', at: new Date(t + 2), error: { code: 'bad-number', message: 'line 14: "1,2.3" is not a number' } });
    daemon.publish({ id: low.id, y: testSpectrum(0, 4), result: low });
    daemon.publish({ id: unknown.id, y: testSpectrum(7), result: unknown });
    const lines = ['##TITLE=broken', '##JCAMP-DX=4.24', '##XYPOINTS=(XY..XY)', ...Array.from({ length: 10 }, (_, i) => `${i}, ${i / 10}`), '1,2.3 4', '14, 0.2', '##END='];
    daemon.publish({ id: rejected.id, y: [], result: rejected, payload: lines.join('\n') });
    await page.waitForSelector(feedItem(rejected.id));
    const order = await page.locator('.feed li').evaluateAll((lis) => lis.slice(0, 3).map((li) => li.getAttribute('data-status')));
    expect(order).toEqual(['rejected', 'unknown', 'low-confidence']);
    expect(await page.locator(feedItem(low.id)).getAttribute('class')).toContain('st-warn');
    expect(await page.locator(feedItem(unknown.id)).getAttribute('class')).toContain('st-bad');
    await page.waitForSelector(`.answer-host .answer[data-result-id="${rejected.id}"] .error-box`);
    expect(await page.locator('.answer-host .error-box').textContent()).toContain('is not a number');
    // No curve to plot: the file's text instead, with the line the parser stopped at marked.
    await page.waitForSelector('.live-main [data-role="payload"] .bad-line');
    expect(await page.locator('.live-main .bad-line').textContent()).toBe('   14 1,2.3 4');
    expect(await page.locator('.live-main [data-role="payload"] pre').textContent()).toContain('   15 14, 0.2\n   16 ##END=');
    await screenshot(page, 'live-rejected');

    // Picking an older one stops following; the plot switches to it.
    await page.click(feedItem(unknown.id));
    await page.waitForSelector(`.answer-host .answer[data-result-id="${unknown.id}"]`);
    await page.waitForFunction(() => document.querySelector('.live-main .plot-host')?.getAttribute('data-series') === 'measured|reference class-3|residual');
    expect(await page.locator('.plot-note').textContent()).toContain('closest class class-3');
    await screenshot(page, 'live-unknown');
  });
});

describe('alerts', () => {
  it('lists alerts with the parse error and refuses to acknowledge without the token', async () => {
    const rejected = makeResult({ status: 'rejected', error: { code: 'truncated', message: 'file ends inside ##XYDATA' } });
    daemon.publish({ id: rejected.id, y: [], result: rejected });
    daemon.alert({ id: 'al-1', kind: 'rejected', instrument: 'raman-1', at: new Date().toISOString(), message: 'rejected input', resultId: rejected.id });
    daemon.alert({ id: 'al-2', kind: 'adapter-down', instrument: 'raman-1', at: new Date().toISOString(), message: 'mqtt: connection refused' });
    await page.waitForFunction(() => document.querySelector('[data-role="alert-count"]')?.textContent === '2');

    await page.click('a[data-route="alerts"]');
    const alert = page.locator('.alert[data-alert-id="al-1"]');
    await alert.waitFor();
    expect(await alert.locator('.error-box').textContent()).toContain('file ends inside ##XYDATA');

    const before = daemon.requests.length;
    await alert.locator('[data-action="ack"]').click();
    await page.waitForSelector('dialog.signin[open]');
    await page.click('dialog.signin [data-action="cancel"]');
    await page.waitForSelector('.toast-bad');
    expect(daemon.requests.slice(before).filter((r) => r.method !== 'GET')).toEqual([]);

    await alert.locator('[data-action="ack"]').click();
    await page.fill('dialog.signin input[name="token"]', TOKEN);
    await page.click('dialog.signin [data-action="sign-in"]');
    await page.waitForSelector('.alert[data-alert-id="al-1"]', { state: 'detached' });
    const ack = daemon.requests.find((r) => r.method === 'POST' && r.path === '/api/alerts/al-1/ack');
    expect(ack?.authorization).toBe(`Bearer ${TOKEN}`);
    expect(await page.locator('[data-role="alert-count"]').textContent()).toBe('1');
    await screenshot(page, 'alerts');
    // Sign out again so the labelling tests start read-only.
    await page.click('[data-action="auth"][data-signed-in="true"]');
  });
});

describe('history', () => {
  it('filters by status and instrument through the API and opens a spectrum with export', async () => {
    await page.click('a[data-route="history"]');
    await page.waitForSelector('table.results tbody tr[data-result-id]');
    const all = await page.locator('table.results tbody tr[data-result-id]').count();
    expect(all).toBeGreaterThanOrEqual(6);

    await page.click('.chip-toggle:has(input[value="unknown"])');
    await page.waitForFunction(() => Array.from(document.querySelectorAll('table.results tbody tr[data-result-id]')).every((tr) => tr.getAttribute('data-status') === 'unknown'));
    const last = daemon.requests.filter((r) => r.path === '/api/results').at(-1);
    expect(last?.query.get('status')).toBe('unknown');
    expect(await page.locator('table.results tbody tr[data-result-id]').count()).toBe(1);
    expect(await page.evaluate(() => location.hash)).toBe('#/history?status=unknown');

    await page.click('.chip-toggle:has(input[value="unknown"])');
    await page.selectOption('select[name="instrument"]', 'ir-2');
    await page.waitForFunction(() => {
      const rows = Array.from(document.querySelectorAll('table.results tbody tr[data-result-id]'));
      return rows.length === 1 && rows[0].getAttribute('data-status') === 'mixture';
    });
    expect(daemon.requests.filter((r) => r.path === '/api/results').at(-1)?.query.get('instrument')).toBe('ir-2');

    // Open the mixture and export it.
    await page.click('table.results tbody tr[data-result-id]');
    await page.waitForSelector('dialog.spectrum-dialog[open] .plot-host[data-points="5000"]');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('dialog.spectrum-dialog [data-action="export-jdx"]')]);
    const jdx = readFileSync(await download.path(), 'utf8');
    expect(jdx).toMatch(/^##TITLE=/);
    expect(jdx).toContain('##NPOINTS=5000');
    expect(jdx).toContain('##$SPECTRAD STATUS=mixture');
    expect(jdx.trimEnd().endsWith('##END=')).toBe(true);
    const [csvDownload] = await Promise.all([page.waitForEvent('download'), page.click('dialog.spectrum-dialog [data-action="export-csv"]')]);
    const csv = readFileSync(await csvDownload.path(), 'utf8').trimEnd().split('\n');
    expect(csv[0]).toBe('x,y');
    expect(csv).toHaveLength(5001);
    await screenshot(page, 'history-spectrum');
    await page.click('dialog.spectrum-dialog [data-action="close"]');
    await page.click('[data-action="reset"]');
  });

  it('still searches what the page received when the history API fails', async () => {
    daemon.failResults(500);
    try {
      await page.click('.chip-toggle:has(input[value="low-confidence"])');
      await page.waitForFunction(() => document.querySelector('[data-role="summary"]')?.textContent?.includes('received by this page'));
      const statuses = await page.locator('table.results tbody tr[data-result-id]').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-status')));
      expect(statuses).toEqual(['low-confidence']);
    } finally {
      daemon.failResults(0);
      await page.click('[data-action="reset"]');
    }
  });
});

describe('history paging', () => {
  it('shows the daemon\'s total and loads further rows by offset as the table scrolls', async () => {
    const t = Date.now() - 3_600_000;
    for (let i = 0; i < 130; i++) {
      const r = makeResult({ status: 'identified', cls: 0, score: 0.9, instrument: 'bulk', at: new Date(t + i * 1000) });
      daemon.publish({ id: r.id, y: testSpectrum(0), result: r });
    }
    await page.goto(`${daemon.url}/#/history?instrument=bulk`);
    await page.waitForFunction(() => document.querySelector('[data-role="summary"]')?.textContent === '130 results');
    await page.waitForSelector('table.results tbody tr[data-result-id]');
    // Only the rows in view (and a margin) are drawn; scrolling to the end fetches the second page.
    expect(await page.locator('table.results tbody tr[data-result-id]').count()).toBeLessThan(100);
    await page.locator('[data-role="history-scroll"]').evaluate((el) => { el.scrollTop = el.scrollHeight; });
    await page.waitForSelector('table.results tbody tr[aria-rowindex="131"][data-result-id]');
    const offsets = daemon.requests.filter((r) => r.path === '/api/results' && r.query.get('instrument') === 'bulk').map((r) => r.query.get('offset'));
    expect(offsets[0]).toBeNull();
    expect(offsets).toContain('100');
  });
});

describe('labelling', () => {
  it('opens the label view from an unknown answer with that spectrum selected', async () => {
    const u = makeResult({ status: 'unknown', score: 0.05, candidates: [{ cls: 1, score: 0.05 }] });
    daemon.publish({ id: u.id, y: testSpectrum(99), result: u });
    await page.click('a[data-route="live"]');
    await page.waitForSelector(`.answer-host .answer[data-result-id="${u.id}"]`);
    await page.click('.answer-host [data-action="label"]');
    await page.waitForSelector(`tr[data-result-id="${u.id}"] input[type="checkbox"]:checked`);
    expect(await page.evaluate(() => location.hash)).toBe(`#/label?ids=${u.id}`);
    expect(await page.locator('[data-role="selected-count"]').textContent()).toBe('1');
    await page.uncheck(`tr[data-result-id="${u.id}"] input[type="checkbox"]`);
  });

  it('refuses to send without a token, enrolls with it, and undoes', async () => {
    const t = Date.now() + 10_000;
    const u1 = makeResult({ status: 'unknown', score: 0.1, candidates: [{ cls: 2, score: 0.1 }], at: new Date(t) });
    const u2 = makeResult({ status: 'unknown', score: 0.08, candidates: [{ cls: 2, score: 0.08 }], at: new Date(t + 1) });
    daemon.publish({ id: u1.id, y: testSpectrum(42, 0), result: u1 });
    daemon.publish({ id: u2.id, y: testSpectrum(42, 1), result: u2 });

    await page.click('a[data-route="label"]');
    await page.waitForSelector(`tr[data-result-id="${u2.id}"]`);
    await page.check(`tr[data-result-id="${u1.id}"] input[type="checkbox"]`);
    await page.check(`tr[data-result-id="${u2.id}"] input[type="checkbox"]`);
    expect(await page.locator('[data-role="selected-count"]').textContent()).toBe('2');
    await page.fill('input[name="class-name"]', 'caffeine');

    // No token: the sign-in dialog asks; cancelling sends nothing and says why.
    const before = daemon.requests.length;
    await page.click('[data-action="enroll"]');
    await page.waitForSelector('dialog.signin[open]');
    await screenshot(page, 'label-signin');
    await page.click('dialog.signin [data-action="cancel"]');
    await page.waitForFunction(() => document.querySelector('[data-role="label-problem"]')?.textContent?.includes('needs the operator token'));
    expect(daemon.requests.slice(before).filter((r) => r.method === 'POST')).toEqual([]);

    // A wrong token is refused by the daemon; the page asks again and the right one goes through.
    await page.click('[data-action="enroll"]');
    await page.fill('dialog.signin input[name="token"]', 'wrong-token');
    await page.click('dialog.signin [data-action="sign-in"]');
    await page.waitForSelector('dialog.signin[open] .form-error');
    await page.fill('dialog.signin input[name="token"]', TOKEN);
    await page.click('dialog.signin [data-action="sign-in"]');
    await page.waitForSelector('.toast-ok');
    const posts = daemon.requests.filter((r) => r.method === 'POST' && r.path === '/api/classes');
    expect(posts.map((p) => p.authorization)).toEqual(['Bearer wrong-token', `Bearer ${TOKEN}`]);
    expect(posts[1].body).toEqual({ name: 'caffeine', spectrumIds: [u2.id, u1.id] });
    expect(daemon.classes.has('caffeine')).toBe(true);
    await page.waitForSelector(`tr[data-result-id="${u1.id}"]`, { state: 'detached' });
    expect(await page.evaluate(() => sessionStorage.getItem('spectrad.token'))).toBe(TOKEN);
    await screenshot(page, 'label-enrolled');

    // Undo removes the new class again, with the token, and the spectra return to the list.
    await page.click('.enrollments [data-action="undo"]');
    await page.waitForSelector('.enrollments li.undone');
    const del = daemon.requests.find((r) => r.method === 'DELETE');
    // The refused attempt created nothing, so the first enrollment the daemon made is this one.
    expect(del?.path).toBe('/api/enrollments/en-1');
    expect(del?.authorization).toBe(`Bearer ${TOKEN}`);
    expect(daemon.classes.has('caffeine')).toBe(false);
    await page.waitForSelector(`tr[data-result-id="${u1.id}"]`);
  });

  it('assigns to an existing class and rejects bad names before sending', async () => {
    const u = makeResult({ status: 'low-confidence', cls: 1, score: 0.5 });
    daemon.publish({ id: u.id, y: testSpectrum(1, 3), result: u });
    await page.waitForSelector(`tr[data-result-id="${u.id}"]`);
    await page.check(`tr[data-result-id="${u.id}"] input[type="checkbox"]`);
    const before = daemon.requests.filter((r) => r.method === 'POST').length;
    await page.fill('input[name="class-name"]', '.hidden');
    await page.click('[data-action="enroll"]');
    await page.waitForFunction(() => document.querySelector('[data-role="label-problem"]')?.textContent?.includes('dot'));
    expect(daemon.requests.filter((r) => r.method === 'POST').length).toBe(before);

    await page.selectOption('select[name="existing-class"]', className(1));
    await page.click('[data-action="enroll"]');
    await page.waitForFunction((id) => !document.querySelector(`tr[data-result-id="${id}"]`), u.id);
    const post = daemon.requests.filter((r) => r.method === 'POST' && r.path === '/api/classes').at(-1);
    expect(post?.body).toEqual({ name: className(1), spectrumIds: [u.id] });
  });
});

describe('retraining', () => {
  it('says so when the daemon offers no retraining, and shows progress and before/after numbers when it does', async () => {
    await page.click('a[data-route="retrain"]');
    await page.waitForSelector('[data-role="retrain-missing"]');
    daemon.setRetrain({
      state: 'training', progress: 0.4, epoch: 4, epochs: 10, labelsSinceLast: 12, threshold: 50,
      before: { modelVersion: 'v1', metrics: { accuracy: 0.91, unknownRate: 0.05 } },
      after: { modelVersion: 'v2', metrics: { accuracy: 0.94, unknownRate: 0.07 } },
      activeVersion: 'v1', versions: [{ version: 'v1', createdAt: new Date().toISOString(), active: true }, { version: 'v0', active: false }],
    });
    await page.waitForSelector('.retrain[data-state="training"]', { timeout: 10_000 });
    expect(await page.locator('.progress').getAttribute('aria-valuenow')).toBe('40');
    expect(await page.locator('.progress-text').textContent()).toContain('epoch 4 of 10');
    expect(await page.locator('tr[data-metric="accuracy"] td').last().getAttribute('class')).toContain('better');
    expect(await page.locator('tr[data-metric="unknownRate"] td').last().getAttribute('class')).toContain('worse');
    expect(await page.locator('[data-action="retrain"]').isDisabled()).toBe(true);
    await screenshot(page, 'retrain');
  });
});

describe('page health', () => {
  it('ran without script errors and looks right in dark mode', async () => {
    expect(errors).toEqual([]);
    // The same page, switched: no second page load.
    await page.click('a[data-route="live"]');
    await page.waitForSelector('.live-main .plot-host canvas');
    await page.emulateMedia({ colorScheme: 'dark' });
    // The chart is redrawn in the dark theme's colours: the measured line turns light.
    const lightInk = await page.waitForFunction(() => {
      const canvas = document.querySelector('.live-main .plot-host canvas') as HTMLCanvasElement | null;
      if (!canvas) return 0;
      const d = (canvas.getContext('2d') as CanvasRenderingContext2D).getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 200 && d[i] > 200 && d[i + 1] > 200 && d[i + 2] > 200) n++;
      return n > 50 ? n : 0;
    }, null, { timeout: 5000 });
    expect(await lightInk.jsonValue()).toBeGreaterThan(50);
    await screenshot(page, 'live-dark');
    await page.emulateMedia({ colorScheme: 'light' });

    // A tablet on a lab bench: the feed drops below the answer, nothing overflows sideways.
    await page.setViewportSize({ width: 820, height: 1100 });
    await page.waitForFunction(() => document.documentElement.scrollWidth <= window.innerWidth);
    await screenshot(page, 'live-narrow');
    await page.setViewportSize({ width: 1440, height: 900 });
  });
});
