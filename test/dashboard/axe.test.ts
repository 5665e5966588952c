import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Daemon } from '../../daemon/run.ts';
import { dropFile, jcampText } from '../../support/daemon-process.ts';
import { waitFor } from '../../support/servers.ts';
import { ARTIFACTS, launchChromium, screenshot, watchErrors } from './support/browser.ts';
import { startDashboardDaemon, type DashboardDaemon } from './support/daemon.ts';

/**
 * axe-core (the page's accessibility rules as browsers expose them) on every view of the built dashboard, served by
 * the real daemon with results and alerts in its store, at desktop and phone size in the light and dark themes (the
 * dashboard follows prefers-color-scheme). Any serious or critical violation fails, listed by view, rule and element.
 */
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
let env: DashboardDaemon;
let daemon: Daemon;
let browser: Browser;

interface Violation { id: string; impact: string | null; help: string; nodes: Array<{ target: unknown[]; failureSummary?: string }> }

beforeAll(async () => {
  env = await startDashboardDaemon({ name: 'axe', token: 'axe-token' });
  daemon = env.daemon;
  const inbox = env.inbox;
  browser = await launchChromium();
  // A known spectrum (identified), an unknown one (an alert) and an unreadable file (a rejected alert).
  dropFile(inbox, 'quartz-1.jdx', jcampText('quartz-1', 17, 1));
  dropFile(inbox, 'mystery-1.jdx', jcampText('mystery-1', 300, 0));
  dropFile(inbox, 'broken-1.jdx', '##TITLE=broken\n##XYDATA=(X++(Y..Y))\nnot numbers\n');
  // Each file by name: the list also holds the unreadable file's rejected record, so counting rows would not do.
  await waitFor('the two readable files identified', async () => {
    const { items } = (await (await fetch(`${daemon.url}/api/results?limit=10`)).json()) as { items: Array<{ source: string }> };
    return ['quartz-1.jdx', 'mystery-1.jdx'].every((file) => items.some((r) => r.source.endsWith(`/${file}`)));
  }, 60_000, 200);
}, 120_000);

afterAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(path.join(ARTIFACTS, 'axe-moderate-minor.txt'), lesser.join('\n') + '\n');
  await browser?.close();
  await env?.close();
});

/** Every view's lesser (moderate, minor) findings, kept as an artefact to look at; they do not fail the test. */
const lesser: string[] = [];

async function axeViolations(page: Page, where: string): Promise<Violation[]> {
  await page.addScriptTag({ path: AXE });
  const found = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, o: object): Promise<{ violations: Violation[] }> } }).axe;
    return (await axe.run(document, { resultTypes: ['violations'] })).violations;
  });
  const serious = found.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  lesser.push(...describeViolations(where, found.filter((v) => !serious.includes(v))));
  return serious;
}

function describeViolations(where: string, vs: Violation[]): string[] {
  return vs.map((v) => `${where}: ${v.impact} ${v.id} (${v.help}) on ${v.nodes.slice(0, 4).map((n) => n.target.join(' ')).join(', ')}${v.nodes.length > 4 ? ` and ${v.nodes.length - 4} more` : ''}`);
}

/** Colours are checked at rest: every finite CSS animation or transition of the page has finished. */
async function animationsDone(page: Page): Promise<void> {
  await page.waitForFunction(() => document.getAnimations().every((a) => a.playState !== 'running' || a.effect?.getComputedTiming().endTime === Infinity), null, { timeout: 10_000 });
}

const VIEWS = ['live', 'alerts', 'history', 'label', 'retrain', 'instruments'] as const;
const SIZES = [{ width: 1440, height: 900 }, { width: 390, height: 844 }] as const;

describe('axe on every view', () => {
  for (const colorScheme of ['light', 'dark'] as const) {
    for (const viewport of SIZES) {
      it(`has no serious or critical violation at ${viewport.width}x${viewport.height} in the ${colorScheme} theme`, async () => {
        const context = await browser.newContext({ viewport, colorScheme });
        const page = await context.newPage();
        const errors = watchErrors(page);
        const problems: string[] = [];
        try {
          for (const view of VIEWS) {
            await page.goto('about:blank');
            await page.goto(`${daemon.url}/#/${view}`);
            await page.waitForSelector('.conn[data-state="live"]', { timeout: 15_000 });
            await page.waitForLoadState('networkidle');
            await animationsDone(page);
            const where = `${view} ${viewport.width}px ${colorScheme}`;
            problems.push(...describeViolations(where, await axeViolations(page, where)));
            await screenshot(page, `axe-${view}-${viewport.width}-${colorScheme}`);
          }
          // History offers the filter as CSV, JSON and JCAMP-DX.
          await page.goto('about:blank');
          await page.goto(`${daemon.url}/#/history`);
          expect(await page.locator('[data-action="export-all-jcamp"]').getAttribute('href')).toBe('/api/results/export?format=jcamp');
          // The spectrum dialog of a readable file (plot, hit switch, curve switch), opened from History.
          await page.locator('tr[data-result-id]', { hasText: 'quartz-1.jdx' }).click();
          await page.waitForSelector('dialog.spectrum-dialog[open] .plot-host[data-points][data-series*="reference"]', { timeout: 15_000 });
          await page.waitForLoadState('networkidle');
          await animationsDone(page);
          const dialog = `spectrum dialog ${viewport.width}px ${colorScheme}`;
          problems.push(...describeViolations(dialog, await axeViolations(page, dialog)));
          await screenshot(page, `axe-dialog-${viewport.width}-${colorScheme}`);
        } finally {
          await context.close();
        }
        expect(problems, problems.join('\n')).toEqual([]);
        expect(errors).toEqual([]);
      }, 120_000);
    }
  }
});
