import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResultMessage } from '../../core/messages.ts';
import type { Daemon } from '../../daemon/run.ts';
import { pearson } from '../../daemon/http/hits.ts';
import { ulid } from '../../daemon/store/ids.ts';
import type { IngestCommit } from '../../pipelines/ports.ts';
import { dropFile, jcampText } from '../../support/daemon-process.ts';
import { openPage, screenshot } from './support/browser.ts';
import { startDashboardDaemon, type DashboardDaemon } from './support/daemon.ts';

/**
 * The spectrum view as vendor search software users expect it, Live at 25 spectra/s, and History at 10 000 results,
 * on the real daemon (in this process: real HTTP, socket.io, SQLite store, demo library and model) with the built
 * dashboard in headless Chromium.
 */
let env: DashboardDaemon;
let inbox: string;
const TOKEN = 'dashview-token';
let daemon: Daemon;
let browser: Browser;
let page: Page;
let errors: string[];

beforeAll(async () => {
  env = await startDashboardDaemon({ name: 'dashview', token: TOKEN });
  ({ inbox, daemon } = env);
  ({ browser, page, errors } = await openPage({ width: 1440, height: 900 }));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await env?.close();
});

/** A fresh document at the hash (a hash-only goto would keep the old page, an open dialog included). */
async function open(hash: string): Promise<void> {
  await page.goto('about:blank');
  await page.goto(`${daemon.url}/${hash}`);
}

const feedItem = (file: string) => page.locator('.feed li[data-result-id]', { hasText: file });
const series = (scope: string) => page.locator(`${scope} .plot-host`).getAttribute('data-series');

async function dropAndWait(file: string, cls: number, v = 0): Promise<string> {
  dropFile(inbox, file, jcampText(file, cls, v));
  await feedItem(file).waitFor({ timeout: 30_000 });
  return (await feedItem(file).getAttribute('data-result-id')) as string;
}

/** Drags across the plot from 30% to 60% of its width: uPlot's x zoom. */
async function dragZoom(scope: string): Promise<void> {
  const box = (await page.locator(`${scope} .u-over`).boundingBox())!;
  const y = box.y + box.height / 2;
  await page.mouse.move(box.x + box.width * 0.3, y);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.45, y, { steps: 4 });
  await page.mouse.move(box.x + box.width * 0.6, y, { steps: 4 });
  await page.mouse.up();
}

describe('spectrum view', () => {
  it('overlays hit 1, 2 or 3 with the residual, labels the axis with its unit, zooms with a hint and resets, is titled by the file, and has a text alternative', async () => {
    await open('#/live');
    await page.waitForSelector('.conn[data-state="live"]', { timeout: 15_000 });
    const id = await dropAndWait('quartz-run-7.jdx', 17, 2);

    // The API gives the first three candidates' nearest library spectra on the grid, and the grid's unit.
    const record = (await (await fetch(`${daemon.url}/api/spectra/${id}`)).json()) as {
      hits: Array<{ rank: number; class: string; correlation: number; references: number; y: number[] }>;
      preprocessed: { x: number[]; xUnit?: string };
      result: ResultMessage;
    };
    expect(record.preprocessed.xUnit).toBe('index');
    expect(record.hits.map((x) => x.rank)).toEqual([1, 2, 3]);
    expect(record.hits.map((x) => x.class)).toEqual(record.result.candidates.slice(0, 3).map((c) => c.class));
    expect(record.hits[0].class).toBe('17');
    expect(record.hits[0].references).toBe(5);
    expect(record.hits[0].y).toHaveLength(record.preprocessed.x.length);
    // Each hit is its class's reference nearest to the query (Pearson), not the class mean.
    const query = (await (await fetch(`${daemon.url}/api/spectra/${id}`)).json() as { preprocessed: { y: number[] } }).preprocessed.y;
    for (const hit of record.hits) {
      const rs = daemon.store.classReferenceVectors(hit.class).map((v) => pearson(query, v));
      expect(hit.correlation).toBeCloseTo(Math.max(...rs), 3);
      const nearest = daemon.store.classReferenceVectors(hit.class)[rs.indexOf(Math.max(...rs))];
      const peak = nearest.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      expect(hit.y[100]).toBeCloseTo(nearest[100] / peak, 4);
    }

    await feedItem('quartz-run-7.jdx').click();
    await page.click('.answer-host [data-action="open"]');
    const dlg = 'dialog.spectrum-dialog[open]';
    await page.waitForSelector(`${dlg} .plot-host[data-points="5000"]`);
    // Titled by the file, not by the daemon's id (the id is still there, small).
    await page.waitForFunction((x) => document.querySelector('dialog.spectrum-dialog [data-role="dialog-sub"]')?.textContent?.includes(`id ${x}`), id);
    expect(await page.locator(`${dlg} [data-role="dialog-title"]`).textContent()).toBe('quartz-run-7.jdx');
    expect(await page.locator(dlg).getAttribute('aria-label')).toBe('Spectrum quartz-run-7.jdx');
    // The x axis says what x is.
    expect(await page.locator(`${dlg} .plot-host`).getAttribute('data-x-label')).toBe('Grid point (index)');

    // Hit 1 overlaid (its nearest library spectrum) with the residual in its own band.
    await page.waitForFunction(() => document.querySelector('dialog.spectrum-dialog .plot-host')?.getAttribute('data-series')?.endsWith('|residual'));
    expect(await series(dlg)).toBe('measured|reference 17|residual');
    expect(await page.locator(`${dlg} .hits [data-hit]`).count()).toBe(3);
    expect(await page.locator(`${dlg} .hits [data-hit="1"]`).getAttribute('aria-pressed')).toBe('true');
    // Hit 2 by click, hit 3 by key.
    await page.click(`${dlg} .hits [data-hit="2"]`);
    await page.waitForFunction((c) => document.querySelector('dialog.spectrum-dialog .plot-host')?.getAttribute('data-series') === `measured|reference ${c}|residual`, record.hits[1].class);
    expect(await page.locator(`${dlg} .plot-note`).textContent()).toContain(`hit 2 ${record.hits[1].class}`);
    await page.keyboard.press('3');
    await page.waitForFunction((c) => document.querySelector('dialog.spectrum-dialog .plot-host')?.getAttribute('data-series') === `measured|reference ${c}|residual`, record.hits[2].class);
    expect(await page.locator(`${dlg} .hits [data-hit="3"]`).getAttribute('aria-pressed')).toBe('true');
    await page.keyboard.press('1');
    await page.waitForFunction(() => document.querySelector('dialog.spectrum-dialog .plot-host')?.getAttribute('data-series') === 'measured|reference 17|residual');

    // Zoom: a visible hint, Reset zoom (disabled until zoomed), double-click and the 0 key.
    const reset = page.locator(`${dlg} [data-action="reset-zoom"]`);
    expect(await page.locator(`${dlg} [data-role="zoom-hint"]`).textContent()).toBe('Drag across the plot to zoom');
    expect(await reset.isDisabled()).toBe(true);
    await dragZoom(dlg);
    await page.waitForSelector(`${dlg} .spectrum-panel[data-zoomed="true"]`);
    expect(await reset.isEnabled()).toBe(true);
    expect(await page.locator(`${dlg} [data-role="zoom-hint"]`).textContent()).toContain('double-click or Reset zoom');
    await screenshot(page, 'dashview-spectrum-zoomed');
    await reset.click();
    await page.waitForSelector(`${dlg} .spectrum-panel[data-zoomed="false"]`);
    expect(await reset.isDisabled()).toBe(true);
    await dragZoom(dlg);
    await page.waitForSelector(`${dlg} .spectrum-panel[data-zoomed="true"]`);
    await page.locator(`${dlg} .u-over`).dblclick();
    await page.waitForSelector(`${dlg} .spectrum-panel[data-zoomed="false"]`);
    await dragZoom(dlg);
    await page.waitForSelector(`${dlg} .spectrum-panel[data-zoomed="true"]`);
    await page.keyboard.press('0');
    await page.waitForSelector(`${dlg} .spectrum-panel[data-zoomed="false"]`);

    // r: the raw data (references stay in the model-input view), r again: back.
    await page.keyboard.press('r');
    await page.waitForFunction(() => document.querySelector('dialog.spectrum-dialog .plot-host')?.getAttribute('data-series') === 'measured');
    expect(await page.locator(`${dlg} .segmented .seg.on`).last().textContent()).toBe('Raw');
    await page.keyboard.press('r');
    await page.waitForFunction(() => document.querySelector('dialog.spectrum-dialog .plot-host')?.getAttribute('data-series') === 'measured|reference 17|residual');

    // The plot in words: the canvas is an image described by the peaks and hits.
    const textId = await page.locator(`${dlg} .plot-host`).getAttribute('aria-describedby');
    const text = (await page.locator(`${dlg} #${textId}`).textContent()) ?? '';
    expect(await page.locator(`${dlg} .plot-host`).getAttribute('role')).toBe('img');
    expect(text).toMatch(/Strongest peaks at \d+ \(100%\)/);
    expect(text).toContain('Hit 1: 17, confidence');
    expect(text).toContain(`Hit 2: ${record.hits[1].class}`);
    expect(text).toMatch(/Residual: largest \d+%/);
    await screenshot(page, 'dashview-spectrum-hits');
    await page.keyboard.press('Escape');
    await page.waitForSelector(dlg, { state: 'detached' });
    expect(errors).toEqual([]);
  }, 120_000);

  it('draws a mixture as stacked component bands with the model and the fit residual', async () => {
    // A mixture answer as the daemon stores it, over a spectrum made of two demo classes' references.
    const [a, b] = [daemon.store.classReferenceVectors('17')[0], daemon.store.classReferenceVectors('42')[0]];
    const mixed = new Float32Array(a.length).map((_, i) => 0.6 * a[i] + 0.4 * b[i]);
    const max = mixed.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const id = ulid();
    const at = new Date().toISOString();
    const result: ResultMessage = {
      id, instrument: 'raman-1', source: '/lab/inbox/tablet-blend-3.jdx', receivedAt: at, status: 'mixture', score: 0.9,
      candidates: [{ class: '17', score: 0.6 }, { class: '42', score: 0.4 }],
      components: [{ class: '17', score: 0.9, fraction: 0.6 }, { class: '42', score: 0.85, fraction: 0.4 }], fitQuality: 0.97, latencyMs: 12, modelVersion: 'test',
    };
    daemon.store.db.transaction(() => {
      daemon.store.commitIngest({ spectra: [{ id, adapter: 'inbox', source: result.source, instrument: 'raman-1', receivedAt: at, block: 0, raw: Buffer.from(jcampText('blend', 17)), formatHint: 'blend.jdx', preprocessed: mixed.map((v) => v / max) }], results: [], alerts: [] });
      daemon.store.commitResults([result], []);
    })();
    await open('#/history?status=mixture');
    await page.click(`tr[data-result-id="${id}"]`);
    const dlg = 'dialog.spectrum-dialog[open]';
    await page.waitForFunction(() => document.querySelector('dialog.spectrum-dialog .plot-host')?.getAttribute('data-series')?.includes('mixture model'));
    expect(await series(dlg)).toBe('measured|17 × 60%|42 × 40%|mixture model|residual');
    expect(await page.locator(`${dlg} [data-role="dialog-title"]`).textContent()).toBe('tablet-blend-3.jdx');
    expect(await page.locator(`${dlg} .plot-note`).textContent()).toContain('Stacked bands');
    // No hit switch for a mixture: its parts are the answer.
    expect(await page.locator(`${dlg} .hits`).isHidden()).toBe(true);
    // The legend shows each component's own part under the cursor, not the running sum it is drawn at.
    // Where both parts are large, on a peak the two classes share (over a few neighbouring points: the cursor lands within a pixel).
    // The page draws the components from the classes' mean references (GET /api/classes/:name/reference).
    const meanOf = async (cls: string): Promise<number[]> => ((await (await fetch(`${daemon.url}/api/classes/${cls}/reference`)).json()) as { y: number[] }).y;
    const [ma, mb] = [await meanOf('17'), await meanOf('42')];
    const peakOf = (y: number[]): number => y.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const [ka, kb] = [0.6 / peakOf(ma), 0.4 / peakOf(mb)];
    let where = 0;
    let bestMin = -Infinity;
    for (let i = 3; i < ma.length - 3; i++) {
      let lo = Infinity;
      for (let k = -3; k <= 3; k++) lo = Math.min(lo, ma[i + k] * ka, mb[i + k] * kb);
      if (lo > bestMin) { bestMin = lo; where = i; }
    }
    expect(bestMin).toBeGreaterThan(0.02);
    const box = (await page.locator(`${dlg} .u-over`).boundingBox())!;
    await page.mouse.move(box.x + (box.width * where) / (mixed.length - 1), box.y + box.height / 2);
    const legend = await page.locator(`${dlg} .u-legend .u-series`).evaluateAll((rows) => rows.map((r) => r.querySelector('.u-value')?.textContent ?? ''));
    // x, measured, part 17, part 42, model, residual: the model is the sum of the two parts.
    const [, , p17, p42, model] = legend.map(Number);
    expect(p17).toBeGreaterThan(0.005);
    expect(p42).toBeGreaterThan(0.005);
    // Not the running sum (the band's top edge) but each part's own value: together they make the model.
    expect(p17 + p42).toBeCloseTo(model, 2);
    const text = (await page.locator(`${dlg} [data-role="plot-text"]`).textContent()) ?? '';
    expect(text).toContain('Mixture model: 17 60%, 42 40%; it explains 97% of the signal.');
    expect(text).toMatch(/Residual: largest \d+%/);
    await screenshot(page, 'dashview-mixture');
    await page.keyboard.press('Escape');
  }, 60_000);
});

describe('live at speed', () => {
  it('holds an alert on the card until it is acknowledged while arrivals go on, and pauses', async () => {
    await open('#/live');
    await page.waitForSelector('.conn[data-state="live"]', { timeout: 15_000 });
    await page.evaluate((t) => sessionStorage.setItem('spectrad.token', t), TOKEN);
    await page.selectOption('select[name="hold"]', '-1');
    // A compound the library lacks: unknown, an alert.
    const unknownId = await dropAndWait('mystery-1.jdx', 300, 0);
    await page.waitForSelector(`.answer-host[data-held="true"] .answer[data-result-id="${unknownId}"]`, { timeout: 10_000 });
    await dropAndWait('after-alert-1.jdx', 3, 1);
    const next2 = await dropAndWait('after-alert-2.jdx', 42, 1);
    // Both arrived in the feed; the card still holds the alert, and says what came meanwhile.
    await page.waitForFunction(() => document.querySelector('[data-role="hold-bar"]')?.textContent?.includes('2 newer arrived'), null, { timeout: 5_000 });
    expect(await page.locator('.answer-host .answer').getAttribute('data-result-id')).toBe(unknownId);
    expect(await page.locator('[data-role="hold-bar"]').textContent()).toContain('until acknowledged');
    await screenshot(page, 'dashview-live-held');
    // The a key acknowledges it on the daemon (one request) and the card follows the newest again.
    await page.keyboard.press('a');
    await page.waitForSelector(`.answer-host[data-held="false"] .answer[data-result-id="${next2}"]`, { timeout: 10_000 });
    const alerts = (await (await fetch(`${daemon.url}/api/alerts?state=all`)).json()) as { items: Array<{ resultId?: string; acknowledgedAt?: string }> };
    expect(alerts.items.find((a) => a.resultId === unknownId)?.acknowledgedAt).toBeTruthy();

    // Pause keeps the card while the feed goes on; p resumes onto the newest.
    await page.click('[data-action="pause"]');
    expect(await page.locator('[data-action="pause"]').textContent()).toBe('Resume');
    const next3 = await dropAndWait('while-paused.jdx', 99, 1);
    await page.waitForTimeout(1_000);
    expect(await page.locator('.answer-host .answer').getAttribute('data-result-id')).toBe(next2);
    await page.keyboard.press('p');
    await page.waitForSelector(`.answer-host .answer[data-result-id="${next3}"]`, { timeout: 5_000 });
    // j: the next older arrival (and no more following); o: its spectrum.
    await page.keyboard.press('j');
    await page.waitForSelector(`.answer-host .answer[data-result-id="${next2}"]`, { timeout: 5_000 });
    expect(await page.locator('[data-action="pause"]').textContent()).toBe('Resume');
    await page.keyboard.press('o');
    await page.waitForFunction(() => document.querySelector('dialog.spectrum-dialog[open] [data-role="dialog-title"]')?.textContent === 'after-alert-2.jdx');
    await page.keyboard.press('Escape');
    await page.keyboard.press('n');
    await page.waitForSelector(`.answer-host .answer[data-result-id="${next3}"]`, { timeout: 5_000 });
    // The shortcut list opens with ? and names the keys.
    await page.keyboard.press('?');
    await page.waitForSelector('dialog.shortcut-help[open]');
    const keys = await page.locator('dialog.shortcut-help td kbd').allTextContents();
    expect(keys).toEqual(expect.arrayContaining(['p or Space', 'a', '1 / 2 / 3', '0', '?']));
    await page.keyboard.press('Escape');
    // g h goes to History.
    await page.keyboard.press('g');
    await page.keyboard.press('h');
    await page.waitForFunction(() => location.hash.startsWith('#/history'));
    await page.evaluate(() => localStorage.removeItem('spectrad.holdOnAlert'));
    expect(errors).toEqual([]);
  }, 120_000);
});

describe('history at 10 000 results', () => {
  it('shows the total, draws only the rows in view, sorts on the daemon, exports the filter and dates each row with its zone', async () => {
    const n = 10_000;
    const t0 = Date.parse('2026-03-01T08:00:00Z');
    const commits: IngestCommit[] = [];
    const results: ResultMessage[] = [];
    for (let i = 0; i < n; i++) {
      const id = ulid(t0 + i * 1000);
      const receivedAt = new Date(t0 + i * 1000).toISOString();
      const score = ((i * 7919) % 10_000) / 10_000;
      commits.push({ spectra: [{ id, adapter: 'bulk', source: `/lab/bulk/run-${i}.jdx`, instrument: 'bulk-7', receivedAt, block: 0, raw: Buffer.from('x') }], results: [], alerts: [] });
      results.push({ id, instrument: 'bulk-7', source: `/lab/bulk/run-${i}.jdx`, receivedAt, status: 'identified', class: String([3, 17, 42][i % 3]), score, candidates: [{ class: String([3, 17, 42][i % 3]), score }], latencyMs: 5 + (i % 50), modelVersion: 'test' });
    }
    daemon.store.db.transaction(() => {
      daemon.store.commitIngestMany(commits);
      daemon.store.commitResults(results, []);
    })();

    await open('#/history?instrument=bulk-7');
    await page.waitForFunction(() => document.querySelector('[data-role="summary"]')?.textContent === '10,000 results', null, { timeout: 15_000 });
    await page.waitForSelector('table.results tbody tr[data-result-id]');
    // A few dozen rows drawn, not 10 000 (nor 21 000 nodes).
    const drawn = await page.locator('table.results tbody tr[data-result-id]').count();
    expect(drawn).toBeGreaterThan(10);
    expect(drawn).toBeLessThan(80);
    const nodes = await page.evaluate(() => document.querySelectorAll('*').length);
    expect(nodes).toBeLessThan(3_000);
    // Newest first, each time with its date; the header names the zone.
    const firstTime = await page.locator('table.results tbody tr[data-result-id] td').first().textContent();
    expect(firstTime).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    expect(await page.locator('th[data-sort="time"]').textContent()).toMatch(/Received \(UTC[+-]\d\d:\d\d/);
    expect(await page.locator('table.results tbody tr[data-result-id]').first().getAttribute('data-result-id')).toBe(results[n - 1].id);

    // To the end by scrolling: the last row (the oldest) is there, fetched by offset, and still few rows are drawn.
    await page.locator('[data-role="history-scroll"]').evaluate((el) => { el.scrollTop = el.scrollHeight; });
    await page.waitForSelector(`tr[data-result-id="${results[0].id}"]`, { timeout: 10_000 });
    expect(await page.locator('table.results tbody tr[data-result-id]').count()).toBeLessThan(80);
    expect(await page.locator(`tr[data-result-id="${results[0].id}"]`).getAttribute('aria-rowindex')).toBe(String(n + 1));
    // The view settles with every row in it fetched (none left "Loading…").
    await page.waitForFunction(() => document.querySelectorAll('table.results tr.v-loading').length === 0, null, { timeout: 10_000 });
    await screenshot(page, 'dashview-history-end');

    // Sort by score on the daemon: best first, then a second click reverses it; the order is in the URL.
    await page.click('[data-action="sort-score"]');
    await page.waitForFunction(() => location.hash.includes('sort=-score'));
    const best = results.reduce((m, r) => (r.score > m.score ? r : m));
    await page.waitForSelector(`table.results tbody tr.v-spacer + tr[data-result-id="${best.id}"]`, { timeout: 10_000 });
    expect(await page.locator('th[data-sort="score"]').getAttribute('aria-sort')).toBe('descending');
    await page.click('[data-action="sort-score"]');
    await page.waitForFunction(() => location.hash.includes('sort=score') && !location.hash.includes('sort=-score'));
    const worst = results.reduce((m, r) => (r.score < m.score ? r : m));
    await page.waitForSelector(`table.results tbody tr.v-spacer + tr[data-result-id="${worst.id}"]`, { timeout: 10_000 });

    // Bulk export of the current filter and order, streamed by the daemon: every row, not a page.
    const csvHref = await page.locator('[data-action="export-all-csv"]').getAttribute('href');
    expect(csvHref).toContain('instrument=bulk-7');
    expect(csvHref).toContain('sort=score');
    const csvRes = await fetch(new URL(csvHref!, daemon.url));
    expect(csvRes.headers.get('content-disposition')).toMatch(/attachment; filename="spectrad-results-.*\.csv"/);
    const csv = (await csvRes.text()).trimEnd().split('\r\n');
    expect(csv).toHaveLength(n + 1);
    expect(csv[0].split(',').slice(0, 6)).toEqual(['id', 'receivedAt', 'instrument', 'source', 'status', 'answer']);
    expect(csv[1].startsWith(`${worst.id},`)).toBe(true);
    const json = (await (await fetch(new URL((await page.locator('[data-action="export-all-json"]').getAttribute('href'))!, daemon.url))).json()) as ResultMessage[];
    expect(json).toHaveLength(n);
    expect(json[0].id).toBe(worst.id);
    expect(json.every((r) => r.instrument === 'bulk-7')).toBe(true);
    // The page's API answer carries the total too.
    const pageJson = (await (await fetch(`${daemon.url}/api/results?instrument=bulk-7&limit=5&offset=9998&sort=-time`)).json()) as { items: ResultMessage[]; total: number };
    expect(pageJson.total).toBe(n);
    expect(pageJson.items.map((r) => r.id)).toEqual([results[1].id, results[0].id]);
    expect(errors).toEqual([]);
  }, 180_000);

  it('finds a class among 500 by typing, in natural order', async () => {
    const vector = daemon.store.classReferenceVectors('3')[0];
    daemon.store.db.transaction(() => {
      for (let i = 1; i <= 500; i++) daemon.store.addReferences(`mineral-${i}`, 'api', [{ vector }]);
    })();
    await open('#/history');
    const input = page.locator('input[name="class"][role="combobox"]');
    await input.click();
    await input.fill('mineral-5');
    await page.waitForSelector('.picker-list:not([hidden]) li[role="option"]');
    const options = await page.locator('.picker-list li[role="option"]').allTextContents();
    // Starts with what was typed, numbers in number order: 5, 50, 51, ..., not 5, 50, 500, 501, ...
    expect(options.slice(0, 4)).toEqual(['mineral-5', 'mineral-50', 'mineral-51', 'mineral-52']);
    expect(options.length).toBeLessThanOrEqual(50);
    expect(options).toContain('mineral-500');
    await input.fill('mineral-1');
    await page.waitForSelector('[data-role="picker-more"]');
    expect(await page.locator('[data-role="picker-more"]').textContent()).toMatch(/^\d+ more: keep typing to narrow$/);
    await input.fill('eral-49');
    await page.waitForFunction(() => document.querySelectorAll('.picker-list li[role="option"]').length === 11);
    await page.keyboard.press('ArrowDown');
    expect(await input.getAttribute('aria-activedescendant')).toBeTruthy();
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => location.hash.includes('class=mineral-49'));
    expect(await input.inputValue()).toBe('mineral-49');
    await screenshot(page, 'dashview-class-picker');

    // Label: the existing classes in natural order, narrowed by the search field; one match left is chosen.
    await open('#/label');
    await page.waitForFunction(() => (document.querySelector('select[name="existing-class"]') as HTMLSelectElement | null)?.options.length === 506);
    const order = await page.locator('select[name="existing-class"] option').evaluateAll((os) => os.slice(1, 5).map((o) => o.textContent));
    expect(order).toEqual(['3', '17', '42', '99']);
    await page.fill('input[name="class-search"]', 'mineral-49');
    await page.waitForFunction(() => (document.querySelector('select[name="existing-class"]') as HTMLSelectElement).options.length === 12);
    expect(await page.locator('select[name="existing-class"] option').nth(1).textContent()).toBe('mineral-49');
    await page.fill('input[name="class-search"]', 'mineral-499');
    await page.waitForFunction(() => (document.querySelector('select[name="existing-class"]') as HTMLSelectElement).value === 'mineral-499');
    expect(errors).toEqual([]);
  }, 60_000);
});
