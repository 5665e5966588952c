import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/load.ts';
import { readJcamp } from '../../core/formats/jcamp/reader.ts';
import { DEFAULT_PARSE_LIMITS } from '../../core/formats/limits.ts';
import type { ResultMessage } from '../../core/messages.ts';
import { startDaemon, type Daemon } from '../../daemon/run.ts';
import { dropFile, jcampText } from '../../support/daemon-process.ts';
import { waitFor } from '../../support/servers.ts';

/**
 * History's bulk JCAMP-DX export on the real daemon (folder input, SQLite store, demo library and model): the file a
 * filter downloads is read back with spectrad's own JCAMP-DX reader, one block per spectrum, each titled by its
 * result and holding the same curve the spectrum API gives.
 */
const root = mkdtempSync(path.join(tmpdir(), 'spectrad-export-jcamp-'));
const inbox = path.join(root, 'inbox');
let daemon: Daemon;

interface SpectrumRecord { preprocessed?: { x: number[]; y: number[] }; raw?: { x?: number[]; y: number[] }; result: ResultMessage }

beforeAll(async () => {
  mkdirSync(inbox);
  const config = parseConfig(
    [
      `dataDir: ${root}/data`,
      'inputs:',
      `  - { type: folder, name: inbox, instrument: raman-1, paths: [${inbox}], stabilityMs: 50 }`,
      'http: { host: 127.0.0.1, port: 0 }',
      'library: { demo: true, demoClasses: [3, 17, 42], demoPerClass: 3 }',
    ].join('\n'),
    path.join(root, 'spectrad.yaml'),
    { env: {} },
  );
  daemon = await startDaemon(config, { logger: pino({ level: 'silent' }) });
  dropFile(inbox, 'quartz-a.jdx', jcampText('quartz-a', 17, 1));
  dropFile(inbox, 'calcite-b.jdx', jcampText('calcite-b', 42, 2));
  dropFile(inbox, 'mystery-c.jdx', jcampText('mystery-c', 300, 0));
  dropFile(inbox, 'broken-d.jdx', '##TITLE=broken\n##JCAMP-DX=5.01\n##XYDATA=(X++(Y..Y))\nnot numbers\n##END=\n');
  await waitFor('the four files recorded', () => Array.from(daemon.store.iterateResults({})).length >= 4, 60_000, 100);
}, 120_000);

afterAll(async () => {
  await daemon?.stop();
  rmSync(root, { recursive: true, force: true });
});

async function exportText(query: string): Promise<{ text: string; type: string | null; disposition: string | null }> {
  const res = await fetch(`${daemon.url}/api/results/export?${query}`);
  expect(res.status).toBe(200);
  return { text: await res.text(), type: res.headers.get('content-type'), disposition: res.headers.get('content-disposition') };
}

describe('GET /api/results/export?format=jcamp', () => {
  it('streams one block per spectrum of the filter, titled by id, source and answer, with the preprocessed curve', async () => {
    const results = Array.from(daemon.store.iterateResults({}));
    expect(results).toHaveLength(4);
    const readable = results.filter((r) => r.status !== 'rejected');
    expect(readable).toHaveLength(3);

    const { text, type, disposition } = await exportText('format=jcamp');
    expect(type).toMatch(/^chemical\/x-jcamp-dx/);
    expect(disposition).toMatch(/filename="spectrad-results-.*\.jdx"/);
    const blocks = readJcamp(text, DEFAULT_PARSE_LIMITS, 'export.jdx', true);
    // The rejected file has no curve and no block; the others in the page's order (newest first).
    expect(blocks.map((b) => b.error?.message)).toEqual([undefined, undefined, undefined]);
    expect(blocks.map((b) => b.spectrum!.meta.extra?.['$SPECTRAD ID'])).toEqual(readable.map((r) => r.id));
    for (const [i, r] of readable.entries()) {
      const s = blocks[i].spectrum!;
      const answer = r.status === 'unknown' ? 'unknown' : r.class!;
      expect(s.meta.title).toBe(`${r.id} ${r.source} ${answer}`);
      expect(s.meta.extra?.$STATUS).toBe(r.status);
      const record = (await (await fetch(`${daemon.url}/api/spectra/${r.id}`)).json()) as SpectrumRecord;
      const { x, y } = record.preprocessed!;
      expect(s.y.length).toBe(y.length);
      expect(Array.from(s.x)).toEqual(x);
      // DIF compression: within 5e-10 of the largest ordinate (the writer's stated bound).
      const peak = y.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      let worst = 0;
      for (let k = 0; k < y.length; k++) worst = Math.max(worst, Math.abs(s.y[k] - y[k]));
      expect(worst).toBeLessThanOrEqual(peak * 1e-9);
    }
    expect(readable.map((r) => r.source.split('/').pop()).sort()).toEqual(['calcite-b.jdx', 'mystery-c.jdx', 'quartz-a.jdx']);
  });

  it('follows the filter, and writes the file as read with curve=raw', async () => {
    const known = Array.from(daemon.store.iterateResults({ class: '17' }));
    expect(known).toHaveLength(1);
    const { text } = await exportText('format=jcamp&class=17&curve=raw');
    const blocks = readJcamp(text, DEFAULT_PARSE_LIMITS, 'export.jdx', true);
    expect(blocks).toHaveLength(1);
    expect(blocks[0].spectrum!.meta.extra?.$ANSWER).toBe('17');
    const record = (await (await fetch(`${daemon.url}/api/spectra/${known[0].id}`)).json()) as SpectrumRecord;
    const raw = record.raw!;
    expect(blocks[0].spectrum!.y.length).toBe(raw.y.length);
    const peak = raw.y.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    for (let k = 0; k < raw.y.length; k += 97) expect(Math.abs(blocks[0].spectrum!.y[k] - raw.y[k])).toBeLessThanOrEqual(peak * 1e-9);
    if (raw.x) expect(Array.from(blocks[0].spectrum!.x)).toEqual(raw.x);
  });

  it('refuses an unknown format or curve with 400', async () => {
    expect((await fetch(`${daemon.url}/api/results/export?format=spc`)).status).toBe(400);
    expect((await fetch(`${daemon.url}/api/results/export?format=jcamp&curve=smoothed`)).status).toBe(400);
  });
});
