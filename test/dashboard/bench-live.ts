/**
 * `npm run bench:dashboard`: the live view in headless Chromium while the stand-in daemon pushes results at a steady
 * rate (each with a stored 5000-point benchmark spectrum the page may fetch to plot). Measures, per rate: results
 * shown, time from emit to the result's row in the feed (p50/p99), frames per second, main-thread long tasks,
 * spectra fetched, JS heap. Prints a table and writes bench/results/dashboard.json.
 *
 *   node bin/run-ts.js test/dashboard/bench-live.ts [--seconds 10] [--rates 20,100]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildDashboard } from './support/build.ts';
import { launchChromium } from './support/browser.ts';
import { startFakeDaemon } from './support/fake-daemon.ts';
import { className, makeResult, referenceOf, testSpectrum } from './support/spectra.ts';

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
};
const seconds = Number(arg('seconds', '10'));
const rates = arg('rates', '20,100').split(',').map(Number);

const classes = [0, 1, 2, 3, 4, 5, 6, 7];
const spectra = new Map(classes.map((c) => [c, testSpectrum(c)]));

interface Row {
  rate: number;
  seconds: number;
  emitted: number;
  shown: number;
  p50Ms: number;
  p99Ms: number;
  fps: number;
  longTaskMs: number;
  spectraFetched: number;
  heapMB: number;
}

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : Number.NaN;
};

const PROBE = `
  window.seen = {}; window.frames = 0; window.longMs = 0;
  new MutationObserver(() => {
    document.querySelectorAll('.feed li[data-result-id]').forEach((li) => {
      const id = li.getAttribute('data-result-id');
      if (!(id in window.seen)) window.seen[id] = Date.now();
    });
  }).observe(document.body, { childList: true, subtree: true });
  (function tick() { window.frames++; requestAnimationFrame(tick); })();
  new PerformanceObserver((list) => list.getEntries().forEach((e) => { window.longMs += e.duration; })).observe({ type: 'longtask' });
`;
const READ = `({ seen: window.seen, frames: window.frames, longMs: window.longMs, heap: performance.memory ? performance.memory.usedJSHeapSize : NaN })`;

const built = await buildDashboard();
const browser = await launchChromium();
const rows: Row[] = [];
try {
  for (const rate of rates) {
    const daemon = await startFakeDaemon({ distDir: built.dir, token: 't', references: new Map(classes.map((c) => [className(c), referenceOf(c)])) });
    const page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
    await page.goto(daemon.url);
    await page.waitForSelector('.conn[data-state="live"]');
    // In-page probes: when each result's row first appears, frames drawn, long tasks.
    // A string, not a function: tsx's name-keeping helpers would not exist inside the page.
    await page.evaluate(PROBE);
    const emittedAt = new Map<string, number>();
    const total = Math.round(rate * seconds);
    const start = Date.now();
    for (let i = 0; i < total; i++) {
      const due = start + (i * 1000) / rate;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const cls = classes[i % classes.length];
      const r = makeResult({ status: i % 10 === 9 ? 'unknown' : 'identified', cls, score: 0.95 });
      emittedAt.set(r.id, Date.now());
      daemon.publish({ id: r.id, y: spectra.get(cls) as number[], result: r });
    }
    await new Promise((r) => setTimeout(r, 1000));
    const elapsed = (Date.now() - start) / 1000;
    const probe = (await page.evaluate(READ)) as { seen: Record<string, number>; frames: number; longMs: number; heap: number };
    // The feed shows the newest 60; a result pushed out between two frames was never on screen, so only those seen count.
    const delays = [...emittedAt].flatMap(([id, t]) => (probe.seen[id] ? [probe.seen[id] - t] : []));
    rows.push({
      rate, seconds, emitted: total, shown: delays.length,
      p50Ms: Math.round(quantile(delays, 0.5)), p99Ms: Math.round(quantile(delays, 0.99)),
      fps: Math.round(probe.frames / elapsed), longTaskMs: Math.round(probe.longMs),
      spectraFetched: daemon.requests.filter((r) => r.path.startsWith('/api/spectra/')).length,
      heapMB: Math.round((probe.heap / 1048576) * 10) / 10,
    });
    await page.context().close();
    await daemon.close();
  }
} finally {
  await browser.close();
  built.remove();
}

console.log('\nDashboard live view under load (headless Chromium, stand-in daemon)\n');
console.table(rows);
const out = fileURLToPath(new URL('../../bench/results/', import.meta.url));
mkdirSync(out, { recursive: true });
writeFileSync(`${out}dashboard.json`, JSON.stringify({ when: new Date().toISOString(), node: process.version, rows }, null, 2) + '\n');
console.log('wrote bench/results/dashboard.json');
