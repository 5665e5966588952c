import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertMessage, ResultMessage, ResultStatus } from '../../core/messages.ts';
import type { Daemon } from '../../daemon/run.ts';
import { ulid } from '../../daemon/store/ids.ts';
import type { IngestCommit } from '../../pipelines/ports.ts';
import { ARTIFACTS, launchChromium, watchErrors } from './support/browser.ts';
import { startDashboardDaemon, type DashboardDaemon } from './support/daemon.ts';

/**
 * Main-thread long tasks (PerformanceObserver 'longtask': any task over 50 ms) on every view of the built dashboard,
 * served by the real daemon with 10 000 results and 1 000 alerts in its store, at 1440x900. Each view is loaded on a
 * fresh document, then left for a few seconds and scrolled to its end (on Label two spectra are selected); the longest task before the view is ready
 * (load) and after it is ready are written to test-artifacts/dashboard/long-tasks.json. Times depend on the machine,
 * so they are measured and reported here, never asserted (the Target is in docs/DASHBOARD.md with its figure).
 */
let env: DashboardDaemon;
let daemon: Daemon;
let browser: Browser;

const RESULTS = 10_000;
const ALERTS = 1_000;
const VIEWS = ['live', 'alerts', 'history', 'label', 'retrain', 'instruments'] as const;
/** What shows that a view holds the store's data (so a view that failed to load cannot pass as fast). */
const FILLED: Partial<Record<(typeof VIEWS)[number], string>> = {
  live: '.feed li[data-result-id]',
  alerts: 'article.alert',
  history: 'table.results tbody tr[data-result-id]',
  label: 'tr[data-result-id]',
};

beforeAll(async () => {
  env = await startDashboardDaemon({ name: 'long-tasks', token: 'long-tasks-token', inbox: false });
  daemon = env.daemon;
  // Two instruments over the last ~3 hours, the statuses of a busy day, alerts on the unknown and low-confidence ones.
  const t0 = Date.now() - RESULTS * 1000;
  const statuses: ResultStatus[] = ['identified', 'identified', 'identified', 'unknown', 'low-confidence', 'identified', 'mixture'];
  const commits: IngestCommit[] = [];
  const results: ResultMessage[] = [];
  const alerts: AlertMessage[] = [];
  for (let i = 0; i < RESULTS; i++) {
    const id = ulid(t0 + i * 1000);
    const receivedAt = new Date(t0 + i * 1000).toISOString();
    const instrument = i % 2 === 0 ? 'raman-1' : 'ir-2';
    const source = `/lab/${instrument}/run-${i}.jdx`;
    const status = statuses[i % statuses.length];
    const cls = String([3, 17, 42, 99, 250][i % 5]);
    const score = status === 'identified' ? 0.9 : status === 'unknown' ? 0.1 : 0.5;
    commits.push({ spectra: [{ id, adapter: 'bulk', source, instrument, receivedAt, block: 0, raw: Buffer.from('x') }], results: [], alerts: [] });
    results.push({
      id, instrument, source, receivedAt, status, score, candidates: [{ class: cls, score }, { class: '42', score: score / 2 }], latencyMs: 5 + (i % 80), modelVersion: 'test',
      ...(status === 'identified' || status === 'low-confidence' ? { class: cls } : {}),
      ...(status === 'mixture' ? { components: [{ class: cls, score: 0.9, fraction: 0.6 }, { class: '42', score: 0.8, fraction: 0.4 }], fitQuality: 0.95 } : {}),
    });
    if ((status === 'unknown' || status === 'low-confidence') && alerts.length < ALERTS) {
      alerts.push({ id: ulid(t0 + i * 1000 + 1), kind: status, instrument, at: receivedAt, message: `run-${i}.jdx: ${status}`, resultId: id });
    }
  }
  daemon.store.db.transaction(() => {
    daemon.store.commitIngestMany(commits);
    daemon.store.commitResults(results, []);
  })();
  for (const a of alerts) daemon.store.addAlert(a, { queue: false });
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await env?.close();
});

interface ViewTasks { view: string; readyMs: number; tasksDuringLoad: number; longestDuringLoadMs: number; tasksAfterReady: number; longestAfterReadyMs: number }

describe('long tasks with 10 000 results and 1 000 alerts', () => {
  it('records the longest main-thread task of each view, during load and after it is ready', async () => {
    const history = (await (await fetch(`${daemon.url}/api/results?limit=1`)).json()) as { total: number };
    expect(history.total).toBe(RESULTS);
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    // Before any script of the page: every long task of the document from its start.
    await context.addInitScript(() => {
      const w = window as unknown as { longTasks: Array<{ start: number; duration: number }> };
      w.longTasks = [];
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) w.longTasks.push({ start: e.startTime, duration: e.duration });
      }).observe({ type: 'longtask', buffered: true });
    });
    const page = await context.newPage();
    const errors = watchErrors(page);
    const rows: ViewTasks[] = [];
    for (const view of VIEWS) {
      await page.goto('about:blank');
      await page.goto(`${daemon.url}/#/${view}`);
      await page.waitForSelector('.conn[data-state="live"]', { timeout: 20_000 });
      const filled = FILLED[view];
      if (filled) await page.waitForSelector(filled, { timeout: 20_000 });
      await page.waitForLoadState('networkidle');
      const readyAt = await page.evaluate(() => performance.now());
      // What an operator does next: looks, then scrolls to the end of the page and of History's table.
      await page.waitForTimeout(1_500);
      await page.evaluate(() => {
        window.scrollTo(0, document.body.scrollHeight);
        const scroller = document.querySelector('[data-role="history-scroll"]');
        if (scroller) scroller.scrollTop = scroller.scrollHeight;
      });
      await page.waitForLoadState('networkidle');
      await page.waitForTimeout(1_500);
      // Label: selecting a spectrum (the table redraws its selection).
      if (view === 'label') {
        await page.locator('tr[data-result-id] input[data-action="select"]').first().check();
        await page.locator('tr[data-result-id]').nth(1).locator('input[data-action="select"]').check();
        await page.waitForTimeout(1_000);
      }
      const tasks = await page.evaluate(() => (window as unknown as { longTasks: Array<{ start: number; duration: number }> }).longTasks);
      const before = tasks.filter((t) => t.start < readyAt);
      const after = tasks.filter((t) => t.start >= readyAt);
      rows.push({
        view, readyMs: Math.round(readyAt),
        tasksDuringLoad: before.length, longestDuringLoadMs: Math.round(Math.max(0, ...before.map((t) => t.duration))),
        tasksAfterReady: after.length, longestAfterReadyMs: Math.round(Math.max(0, ...after.map((t) => t.duration))),
      });
    }
    await context.close();
    expect(rows.map((r) => r.view)).toEqual([...VIEWS]);
    expect(errors).toEqual([]);
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(path.join(ARTIFACTS, 'long-tasks.json'), JSON.stringify({ results: RESULTS, alerts: ALERTS, viewport: '1440x900', views: rows }, null, 2));
    console.table(rows);
  }, 180_000);
});
