import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { ResultMessage } from '../../core/messages.ts';
import { waitFor } from '../../support/servers.ts';
import { openLiveDashboard } from './support/browser.ts';
import { startDashboardDaemonProcess, type DashboardDaemonProcess } from './support/daemon.ts';

/**
 * The README's Quick start as a new operator follows it: the embedded default config (demo library of all 500
 * benchmark classes, autoToken), the sample spectra in samples/, the `cp` commands copied out of README.md itself and
 * run in a shell, the token read from data/http-token as the README says. Only what a test must change is changed:
 * data folder, inbox and port in a temporary folder, and the freshly built page. If the README's steps stop
 * working (a sample renamed, the demo library learning the "new" compound, the token file moving), this fails.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SHOTS = join(ROOT, 'test-artifacts', 'walkthrough');

let dir: string;
let url: string;
let env: DashboardDaemonProcess;
let browser: Browser;
let page: Page;
let errors: string[];

/** The `cp samples/...` commands of the README's Quick start, in order. */
function readmeCopyCommands(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const quickStart = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('\n## ', readme.indexOf('## Quick start') + 3));
  return [...quickStart.matchAll(/`(cp samples\/[^`]+ inbox\/)`/g)].map((m) => m[1]!);
}

/** Runs one README command in the operator's folder, as a shell would (globs included). */
function runAsOperator(command: string): void {
  execFileSync('sh', ['-c', command], { cwd: dir, stdio: 'pipe' });
}

async function resultsFor(file: string): Promise<ResultMessage> {
  return waitFor(`a result for ${file}`, async () => {
    const res = await fetch(`${url}/api/results?q=${encodeURIComponent(file)}&limit=5`);
    const body = (await res.json()) as { items: ResultMessage[] };
    return body.items.find((r) => r.source.endsWith(`/${file}`));
  }, 30_000, 200);
}

async function shot(name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

beforeAll(async () => {
  // The embedded default itself, with only the folders, the port and the page moved into the test's folder.
  env = await startDashboardDaemonProcess({
    name: 'walkthrough',
    yaml: (at) => {
      const config = parseYaml(readFileSync(join(ROOT, 'config', 'default.yaml'), 'utf8')) as Record<string, unknown> & {
        inputs: Array<Record<string, unknown>>; http: Record<string, unknown>;
      };
      config.dataDir = join(at.root, 'data');
      config.logLevel = 'warn';
      config.inputs[0]!.paths = [at.inbox];
      config.inputs[0]!.stabilityMs = 100;
      config.http.port = at.port;
      config.http.dashboardDir = at.dashboardDir;
      return stringifyYaml(config);
    },
  }, 420_000); // the 500-class demo library is calibrated first: ~150 s on a busy 2-core machine (a deadline, not a figure)
  ({ root: dir, url } = env);
  symlinkSync(join(ROOT, 'samples'), join(dir, 'samples'));
  ({ browser, page, errors } = await openLiveDashboard(url, { width: 1280, height: 800 }));
}, 480_000);

afterAll(async () => {
  await browser?.close();
  await env?.close();
});

describe('the README walkthrough on the embedded default', () => {
  it('README names the copy steps of the story, in order', () => {
    const commands = readmeCopyCommands();
    expect(commands).toHaveLength(3);
    expect(commands[0]).toContain('samples/known/');
    expect(commands[1]).toContain('samples/new-compound/');
    expect(commands[2]).toContain('new-compound-4');
  });

  it('identifies the known samples, labels the new compound on the page, and recognises it next time', async () => {
    const [known, unknown, next] = readmeCopyCommands() as [string, string, string];

    runAsOperator(known);
    for (const [file, cls] of [['benchmark-3.jdx', '3'], ['benchmark-42.jdx', '42'], ['benchmark-300.jdx', '300']] as const) {
      const r = await resultsFor(file);
      expect(r.status, file).toBe('identified');
      expect(r.class, file).toBe(cls);
      await page.locator('.feed li[data-result-id]', { hasText: file }).waitFor({ timeout: 15_000 });
    }
    await shot('1-identified');

    runAsOperator(unknown);
    const files = ['new-compound-1.jdx', 'new-compound-2.jdx', 'new-compound-3.jdx'];
    const firsts = await Promise.all(files.map((f) => resultsFor(f)));
    // The README calls them unknown: the demo library must not already know this compound.
    for (const r of firsts) expect(['unknown', 'low-confidence', 'mixture']).toContain(r.status);
    await page.locator('.feed li[data-result-id]', { hasText: 'new-compound-3.jdx' }).waitFor({ timeout: 15_000 });
    await shot('2-unknown');

    await page.click('a[data-route="label"]');
    for (const r of firsts) {
      const row = page.locator(`tr[data-result-id="${r.id}"]`);
      await row.waitFor({ timeout: 10_000 });
      await row.locator('input[type="checkbox"]').check();
    }
    await page.fill('input[name="class-name"]', 'compound-x');
    expect(await page.locator('[data-role="selected-count"]').textContent()).toBe('3');
    await shot('3-label');
    await page.click('[data-action="enroll"]');
    await page.waitForSelector('dialog.signin[open]');
    // `cat data/http-token`, as the README says: the first start must have written it there.
    const token = readFileSync(join(dir, 'data', 'http-token'), 'utf8').trim();
    expect(token.length).toBeGreaterThan(0);
    await page.fill('dialog.signin input[name="token"]', token);
    await shot('4-token');
    await page.click('dialog.signin [data-action="sign-in"]');
    await page.waitForSelector('.toast-ok', { timeout: 60_000 });

    runAsOperator(next);
    const r4 = await resultsFor('new-compound-4.jdx');
    expect(r4.status).toBe('identified');
    expect(r4.class).toBe('compound-x');
    await page.click('a[data-route="live"]');
    await page.waitForSelector(`.answer-host .answer[data-result-id="${r4.id}"]`, { timeout: 10_000 });
    expect(await page.locator('.answer-host .answer-title').textContent()).toBe('compound-x');
    await shot('5-recognised');
    expect(errors).toEqual([]);
  }, 120_000);
});
