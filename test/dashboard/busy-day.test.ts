import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ulid } from '../../daemon/store/ids.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertMessage } from '../../core/messages.ts';
import type { Daemon } from '../../daemon/run.ts';
import { Store } from '../../daemon/store/store.ts';
import { dropFile, jcampText } from '../../support/daemon-process.ts';
import { ARTIFACTS, openPage } from './support/browser.ts';
import { startDashboardDaemon, type DashboardDaemon } from './support/daemon.ts';

/**
 * A busy day on the real daemon (in this process, real HTTP + socket.io) with the built dashboard in headless
 * Chromium: the daemon restarts under an open page (the page lets it stop at once and shows the next daemon's results
 * without a reload), and a thousand alerts are counted, paged, filtered and acknowledged in one request.
 */
const TOKEN = 'busy-day-token';
let env: DashboardDaemon;
let inbox: string;
let daemon: Daemon | undefined;
let browser: Browser;
let page: Page;
let errors: string[];

beforeAll(async () => {
  // The site's default name is used by no input: it must not show up as an instrument.
  env = await startDashboardDaemon({ name: 'busy-day', token: TOKEN, instrument: 'site-default' });
  ({ inbox, daemon } = env);
  ({ browser, page, errors } = await openPage({ width: 1440, height: 900 }));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await env?.close();
});

/** What the operator sees (the viewport, not the whole 100-alert page), kept under test-artifacts/dashboard/. */
async function screenshot(p: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await p.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

/** What shows that a view holds the store's data, so a check of its layout never measures an empty page. */
const FILLED: Record<string, string> = {
  live: '.feed li[data-result-id]',
  alerts: 'article.alert',
  history: 'tr[data-result-id]',
  label: 'tr[data-result-id]',
  retrain: 'tr[data-version]',
  instruments: 'tr[data-instrument]',
};

/** Opens a view and waits until it is shown (its tab active), drawn with data and done with its requests. */
async function showView(view: string): Promise<void> {
  await page.goto(`${daemon!.url}/#/${view}`);
  await page.waitForSelector(`nav a.active[data-route="${view}"]`);
  await page.waitForSelector(`#view ${FILLED[view]}`, { timeout: 15_000 });
  await page.waitForLoadState('networkidle');
}

/** The page's width once its layout has settled at the viewport's (a poll: the resize relays out in later frames). */
async function settledScrollWidth(max: number): Promise<number> {
  let width = Infinity;
  await expect.poll(async () => (width = await page.evaluate(() => document.documentElement.scrollWidth)), { timeout: 5_000 }).toBeLessThanOrEqual(max).catch(() => undefined);
  return width;
}

function feedItem(file: string) {
  return page.locator('.feed li[data-result-id]', { hasText: file });
}

describe('a daemon restart under an open page', () => {
  it('stops without waiting for the page, and the page shows the next daemon’s results with no reload', async () => {
    const d = daemon!;
    await page.goto(`${d.url}/#/live`);
    await page.waitForSelector('.conn[data-state="live"]', { timeout: 15_000 });
    dropFile(inbox, 'before-restart.jdx', jcampText('before-restart', 17, 0));
    await feedItem('before-restart.jdx').waitFor({ timeout: 20_000 });

    const t0 = Date.now();
    const logged = env.log.length;
    await env.stop();
    daemon = undefined;
    const stopMs = Date.now() - t0;
    // With a page open the HTTP close used to wait for its websocket until the 30 s step timeout: every step stops by
    // itself, none fails or is cut off by its timeout. (How long the stop took is a figure, kept in the artefact below.)
    expect(env.log.slice(logged).filter((line) => /"msg":"stopping \S+ failed/.test(line))).toEqual([]);
    // The page knows: not a green "live" under a red banner.
    await page.waitForSelector('.conn:not([data-state="live"])', { timeout: 15_000 });
    await screenshot(page, 'busy-day-daemon-stopped');

    // An alert the page can only learn of from the reconnect backfill: recorded while no daemon runs, never emitted.
    const offline = new Store(env.config.store.path);
    offline.addAlert({ id: ulid(), kind: 'rejected', instrument: 'raman-1', at: new Date().toISOString(), message: 'Could not read while-down.jdx: empty file' }, { queue: false });
    offline.close();

    daemon = await env.start();
    const ready = Date.now();
    // The page reconnects by itself (socket.io retries at most 2 s apart, dashboard/src/live.ts); the times it took are
    // figures for the artefact, not assertions, so a loaded machine cannot fail the test.
    await page.waitForSelector('.conn[data-state="live"]', { timeout: 20_000 });
    const liveMs = Date.now() - ready;
    dropFile(inbox, 'after-restart.jdx', jcampText('after-restart', 42, 1));
    await feedItem('after-restart.jdx').waitFor({ timeout: 20_000 });
    const shownMs = Date.now() - ready;
    writeFileSync(path.join(ARTIFACTS, 'busy-day-restart.json'), JSON.stringify({ stopWithPageOpenMs: stopMs, liveAgainAfterReadyMs: liveMs, newResultShownAfterReadyMs: shownMs }, null, 2));
    expect(await feedItem('before-restart.jdx').count()).toBe(1); // same page: nothing reloaded
    // The backfill brought the alerts and their count too, not only results.
    await page.waitForFunction(() => document.querySelector('[data-role="alert-count"]')?.getAttribute('title') === '1 open alert', null, { timeout: 5_000 });
    await screenshot(page, 'busy-day-after-restart');
    // Chromium logs each refused reconnect attempt while no daemon listens: expected here, and nothing else.
    expect(errors.filter((e) => !/ERR_CONNECTION_REFUSED/.test(e))).toEqual([]);
    errors.length = 0;
  }, 90_000);
});

describe('alerts at volume', () => {
  it('counts 1 100 alerts on the daemon, filters them and acknowledges one instrument’s in one request', async () => {
    const d = daemon!;
    const t = Date.now() - 3_600_000;
    const kinds: AlertMessage['kind'][] = ['unknown', 'low-confidence', 'rejected'];
    for (let i = 0; i < 1100; i++) {
      const instrument = i % 3 === 0 ? 'ir-2' : 'raman-1';
      d.store.addAlert({ id: ulid(t + i * 1000), kind: kinds[i % 3], instrument, at: new Date(t + i * 1000).toISOString(), message: `/srv/spectra/inbox/sample-${i}.jdx: not in the library (score 0.0044)` });
    }
    const before = (await (await fetch(`${d.url}/api/alerts?limit=1`)).json()) as { counts: { open: number; openByInstrument: Record<string, number> } };
    const open = before.counts.open;
    const irOpen = before.counts.openByInstrument['ir-2'];
    expect(open).toBeGreaterThanOrEqual(1100);
    expect(irOpen).toBe(367);

    await page.goto(`${d.url}/#/alerts`);
    await page.reload();
    await page.waitForSelector('article.alert');
    // The badge counts the daemon's open alerts, not the page's newest 200.
    await page.waitForFunction((n) => document.querySelector('[data-role="alert-count"]')?.getAttribute('title') === `${n} open alerts`, open);
    expect(await page.locator('[data-role="alert-summary"]').textContent()).toContain(`${open} open of`);
    expect(await page.locator('article.alert').count()).toBe(100); // one page
    await page.click('[data-action="more-alerts"]');
    await page.waitForFunction(() => document.querySelectorAll('article.alert').length === 200);
    // Messages in words: no server path, no raw score.
    const msg = await page.locator('article.alert .alert-msg').first().textContent();
    expect(msg).not.toContain('/srv/');
    expect(msg).not.toContain('score');
    await screenshot(page, 'busy-day-alerts-1440');

    await page.selectOption('select[data-filter="instrument"]', 'ir-2');
    await page.waitForFunction(() => Array.from(document.querySelectorAll("article.alert .alert-meta")).every((m) => m.textContent?.startsWith('ir-2')));
    expect(await page.locator('[data-action="ack-all"]').textContent()).toBe(`Acknowledge all ${irOpen}`);

    const writes: string[] = [];
    page.on('request', (r) => {
      if (r.method() === 'POST' && r.url().includes('/api/alerts')) writes.push(r.url());
    });
    page.once('dialog', (dlg) => void dlg.accept());
    await page.click('[data-action="ack-all"]');
    await page.waitForSelector('dialog.signin[open]');
    await page.fill('dialog.signin input[name="token"]', TOKEN);
    await page.click('dialog.signin [data-action="sign-in"]');
    await page.waitForFunction((n) => document.querySelector('[data-role="alert-count"]')?.getAttribute('title') === `${n} open alerts`, open - irOpen, { timeout: 15_000 });
    expect(writes).toEqual([`${d.url}/api/alerts/ack`]);
    const after = (await (await fetch(`${d.url}/api/alerts?limit=1`)).json()) as { counts: { open: number; openByInstrument: Record<string, number> } };
    expect(after.counts.openByInstrument['ir-2'] ?? 0).toBe(0);
    expect(after.counts.open).toBe(open - irOpen);
    await page.waitForSelector('.empty-state');

    // A phone: the list reads as cards, nothing scrolls sideways.
    await page.selectOption('select[data-filter="instrument"]', '');
    await page.waitForSelector('article.alert');
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await settledScrollWidth(390)).toBeLessThanOrEqual(390);
    const box = await page.locator('article.alert').first().locator('[data-action="ack"]').boundingBox();
    expect(box && box.x + box.width).toBeLessThanOrEqual(390);
    await screenshot(page, 'busy-day-alerts-390');
    await page.setViewportSize({ width: 1440, height: 900 });
    expect(errors).toEqual([]);
  }, 90_000);
});

describe('a phone (390 x 844)', () => {
  it('shows every view without sideways scrolling, tables as cards, and the arrivals right under the answer', async () => {
    const d = daemon!;
    for (let i = 0; i < 4; i++) dropFile(inbox, `phone-${i}-with-a-rather-long-instrument-file-name.jdx`, jcampText(`phone-${i}`, i % 2 ? 300 : 17, i));
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${d.url}/#/live`);
    await feedItem('phone-3-with').waitFor({ timeout: 30_000 });
    const widths: Record<string, number> = {};
    for (const view of ['live', 'alerts', 'history', 'label', 'retrain', 'instruments']) {
      await showView(view);
      widths[view] = await settledScrollWidth(390);
      await screenshot(page, `busy-day-${view}-390`);
      if (view === 'live') {
        // The arrivals follow the answer card directly, above the plot, and start on the first screen (844 px high):
        // not ~1100 px down. How tall the answer is depends on which of the four files arrived last (an unknown's
        // card is taller than an identified one's), so the check is its bottom edge, not a fixed height.
        const feedTop = (await page.locator('.live-side').boundingBox())!.y;
        const answer = (await page.locator('.answer-host').boundingBox())!;
        const plotTop = (await page.locator('.spectrum-panel').boundingBox())!.y;
        expect(feedTop).toBeLessThan(plotTop);
        expect(feedTop - (answer.y + answer.height)).toBeGreaterThanOrEqual(0);
        expect(feedTop - (answer.y + answer.height)).toBeLessThanOrEqual(24);
        expect(feedTop).toBeLessThan(844 - 60);
      }
      if (view === 'history' || view === 'label') {
        // The answer and the source are on screen, labelled, not cut off.
        const row = page.locator('tr[data-result-id]').first();
        await row.waitFor();
        for (const cell of ['td.cls', 'td.src']) {
          const box = (await row.locator(cell).boundingBox())!;
          expect(box.x + box.width, `${view} ${cell}`).toBeLessThanOrEqual(390);
        }
        expect(await row.locator('td.src').getAttribute('data-label')).toBe('Source');
      }
      if (view === 'instruments') await page.locator('tr[data-instrument="raman-1"]').waitFor();
    }
    expect(widths).toEqual({ live: 390, alerts: 390, history: 390, label: 390, retrain: 390, instruments: 390 });
    await page.setViewportSize({ width: 1440, height: 900 });
    for (const view of ['live', 'history', 'instruments']) {
      await showView(view);
      await screenshot(page, `busy-day-${view}-1440`);
    }
    expect(errors).toEqual([]);
  }, 90_000);
});

describe('an input that goes down and comes back', () => {
  it('turns its instrument tile red with the cause, files the alert under that instrument, and closes it when the input is back', async () => {
    const d = daemon!;
    await page.setViewportSize({ width: 1440, height: 900 });
    await page.goto(`${d.url}/#/live`);
    dropFile(inbox, 'tile-check.jdx', jcampText('tile-check', 300, 2));
    await feedItem('tile-check.jdx').waitFor({ timeout: 20_000 });
    await page.waitForSelector('.tile[data-instrument="raman-1"][data-state="up"]', { timeout: 10_000 });
    // The last answer was unknown (class 300 is not in the library): the tile still shows a healthy instrument.
    expect(await page.locator('.tile[data-instrument="raman-1"]').getAttribute('class')).toContain('st-ok');
    expect(await page.locator('.tile[data-instrument="site-default"]').count()).toBe(0);

    renameSync(inbox, `${inbox}-away`);
    await page.waitForSelector('.tile[data-instrument="raman-1"][data-state="down"]', { timeout: 15_000 });
    expect(await page.locator('.tile[data-instrument="raman-1"]').getAttribute('class')).toContain('st-bad');
    expect(await page.locator('.tile[data-instrument="raman-1"] [data-role="input-down"]').textContent()).toContain('inbox');
    await page.waitForFunction(() => document.querySelector('.banner')?.textContent?.startsWith('Degraded: folder "inbox" is down'));
    await screenshot(page, 'busy-day-input-down-1440');
    const down = (await (await fetch(`${d.url}/api/alerts?kind=adapter-down&state=open`)).json()) as { items: Array<{ id: string; instrument: string; message: string }> };
    expect(down.items).toHaveLength(1);
    expect(down.items[0].instrument).toBe('raman-1');
    expect(down.items[0].message).toMatch(/^Folder input inbox is down: folder missing: …\/inbox$/);

    renameSync(`${inbox}-away`, inbox);
    await page.waitForSelector('.tile[data-instrument="raman-1"][data-state="up"]', { timeout: 15_000 });
    const closed = (await (await fetch(`${d.url}/api/alerts?kind=adapter-down&state=all`)).json()) as { items: Array<{ id: string; acknowledgedAt?: string; note?: string }>; counts: { openByKind: Record<string, number> } };
    expect(closed.items[0].id).toBe(down.items[0].id);
    expect(closed.items[0].note).toMatch(/^closed: inbox came back/);
    expect(closed.counts.openByKind['adapter-down'] ?? 0).toBe(0);
    await page.waitForSelector('.banner', { state: 'hidden', timeout: 10_000 });

    // Trends come from the store: every result of the hour, those before the restart included.
    const results = (await (await fetch(`${d.url}/api/results?instrument=raman-1&limit=500`)).json()) as { items: unknown[] };
    const trends = (await (await fetch(`${d.url}/api/instruments/trends?minutes=60&bucketS=60`)).json()) as { items: Array<{ instrument: string; buckets: Array<{ n: number }> }> };
    const raman = trends.items.find((i) => i.instrument === 'raman-1')!;
    expect(raman.buckets.reduce((a, b) => a + b.n, 0)).toBe(results.items.length);
    expect(results.items.length).toBeGreaterThanOrEqual(1);
    await page.reload();
    await page.waitForSelector('.tile[data-instrument="raman-1"] [data-role="throughput-spark"]', { timeout: 20_000 });
    expect(Number(await page.locator('.tile[data-instrument="raman-1"] [data-role="throughput-spark"]').getAttribute('data-points'))).toBeGreaterThan(0);
    await page.goto(`${d.url}/#/instruments`);
    await page.waitForSelector('.trend-card[data-instrument="raman-1"] [data-role="latency-p95"]', { timeout: 20_000 });
    expect(await page.locator('.trend-card[data-instrument="raman-1"] .status-mix').getAttribute('aria-label')).toMatch(/(identified|unknown) \d+ %/);
    await screenshot(page, 'busy-day-instruments-trends-1440');
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await screenshot(page, 'busy-day-instruments-trends-390');
    await page.setViewportSize({ width: 1440, height: 900 });
    expect(errors).toEqual([]);
  }, 60_000);
});

describe('accessibility basics (axe-core is MPL-2.0, so these checks are the page’s own)', () => {
  it('has one heading, one small live region, named table columns and AA contrast for pills and primary buttons in both themes', async () => {
    for (const colorScheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme });
      for (const view of ['live', 'history', 'label', 'alerts', 'retrain', 'instruments']) {
        await showView(view);
        const report = await page.evaluate(() => {
          const rgb = (c: string) => (c.match(/[\d.]+/g) ?? []).map(Number);
          const lum = ([r, g, b]: number[]) => {
            const f = (v: number) => (v / 255 <= 0.03928 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4);
            return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
          };
          /** The colour behind an element: its own or its ancestors' (alpha blended over what lies beneath). */
          const background = (el: Element | null): number[] => {
            const layers: number[][] = [];
            for (let e = el; e; e = e.parentElement) {
              const c = rgb(getComputedStyle(e).backgroundColor);
              if (c.length >= 3 && (c[3] ?? 1) > 0) {
                layers.push(c);
                if ((c[3] ?? 1) >= 1) break;
              }
            }
            let out = [255, 255, 255];
            for (const c of layers.reverse()) out = out.map((v, i) => c[i] * (c[3] ?? 1) + v * (1 - (c[3] ?? 1)));
            return out;
          };
          const ratio = (el: Element) => {
            const fg = rgb(getComputedStyle(el).color);
            const [a, b] = [lum(fg), lum(background(el))].sort((x, y) => y - x);
            return (a + 0.05) / (b + 0.05);
          };
          const low = [...Array.from(document.querySelectorAll('.pill, .btn-primary, .badge, .alert-kind, .muted'))]
            .filter((el) => (el as HTMLElement).offsetParent !== null && el.textContent?.trim())
            .map((el) => ({ what: `${el.className}: ${el.textContent?.trim().slice(0, 30)}`, ratio: Math.round(ratio(el) * 100) / 100 }))
            .filter((x) => x.ratio < 4.5);
          return {
            h1: document.querySelectorAll('h1').length,
            live: Array.from(document.querySelectorAll('[aria-live]'), (e) => e.getAttribute('data-role') ?? e.id ?? e.className),
            appLive: document.getElementById('app')?.hasAttribute('aria-live'),
            emptyHeads: Array.from(document.querySelectorAll('th')).filter((th) => !th.textContent?.trim() && !th.querySelector('[aria-label]')).length,
            low,
          };
        });
        expect(report, `${view} ${colorScheme}`).toMatchObject({ h1: 1, appLive: false, emptyHeads: 0, low: [] });
        expect(report.live, `${view} ${colorScheme}`).toEqual(['announcer']);
      }
    }
    await page.emulateMedia({ colorScheme: 'light' });
    expect(errors).toEqual([]);
  }, 90_000);
});

