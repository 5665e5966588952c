import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { firstValueFrom, filter, take, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/load.ts';
import type { ResultMessage } from '../../core/messages.ts';
import { startDaemon, type Daemon } from '../../daemon/run.ts';
import { toCsv } from '../../core/formats/index.ts';
import { createSpectrum } from '../../core/spectrum.ts';
import { benchmarkY, jcampText } from '../../support/daemon-process.ts';

/**
 * The whole daemon on the bundled model with a real watched folder: a JCAMP-DX file dropped in the inbox comes out
 * identified in the store and over the HTTP API, and the file is moved to processed/.
 */
const root = mkdtempSync(path.join(tmpdir(), 'spectrad-e2e-'));
const inbox = path.join(root, 'inbox');
const csvInbox = path.join(root, 'csv-inbox');
const classes = [17, 250, 499];
let daemon: Daemon;

function testFile(cls: number, variant: number): string {
  return jcampText(`class ${cls} #${variant}`, cls, variant);
}

beforeAll(async () => {
  mkdirSync(inbox);
  mkdirSync(csvInbox);
  // A file that arrived while the daemon was down is picked up at start.
  writeFileSync(path.join(inbox, 'early-250-1.jdx'), testFile(250, 1));
  const config = parseConfig(
    [
      `dataDir: ${root}/data`,
      'instrument: ftir-e2e',
      'inputs:',
      `  - { type: folder, name: inbox, paths: [${inbox}], stabilityMs: 100 }`,
      // An instrument whose CSV exports carry a .jdx name: the input's format option says what they hold.
      `  - { type: folder, name: csv-inbox, paths: [${csvInbox}], stabilityMs: 100, format: csv }`,
      'outputs: [{ type: socketio }]',
      'http: { host: 127.0.0.1, port: 0, token: e2e-token }',
      `library: { demo: true, demoClasses: [${classes.join(', ')}], demoPerClass: 3, demoSeed: 1 }`,
      'pipeline: { batchSize: 8, windowMs: 10 }',
    ].join('\n'),
    path.join(root, 'spectrad.yaml'),
    { env: {} },
  );
  daemon = await startDaemon(config, { logger: pino({ level: 'silent' }) });
}, 120_000);

afterAll(async () => {
  await daemon?.stop();
});

describe('end to end: watched folder -> store -> API', () => {
  it('identifies a file that was waiting at start and a file dropped while running', async () => {
    const results: ResultMessage[] = [];
    const sub = daemon.pipeline.results$.subscribe((r) => results.push(r));
    const dropped = firstValueFrom(daemon.pipeline.results$.pipe(filter((r) => r.source.endsWith('17-4.jdx')), take(1)));
    writeFileSync(path.join(inbox, '17-4.jdx'), testFile(17, 4));
    const r = await dropped;
    sub.unsubscribe();
    expect(r).toMatchObject({ class: '17', instrument: 'ftir-e2e', modelVersion: daemon.health().modelVersion });
    expect(['identified', 'low-confidence']).toContain(r.status);

    // In the store, and moved to processed/ once committed.
    const stored = daemon.store.getSpectrum(r.id)!;
    expect(stored.result?.class).toBe('17');
    expect(stored.raw.toString()).toContain('##TITLE=class 17 #4');
    await waitFor(() => existsSync(path.join(inbox, 'processed', '17-4.jdx')));
    await waitFor(() => existsSync(path.join(inbox, 'processed', 'early-250-1.jdx')));
    expect(readdirSync(inbox).filter((f) => f.endsWith('.jdx'))).toEqual([]);
    const early = daemon.store.listResults({ q: 'early-250-1.jdx' }).items;
    expect(early.map((e) => e.class)).toEqual(['250']);

    // Over the HTTP API on the real socket.
    const base = daemon.url!;
    const health = await fetch(`${base}/api/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', ready: true, library: { classes: 3, references: 9 } });
    const page = (await (await fetch(`${base}/api/results?instrument=ftir-e2e`)).json()) as { items: ResultMessage[] };
    expect(page.items.map((i) => i.class).sort()).toEqual(['17', '250']);
    const spectrum = (await (await fetch(`${base}/api/spectra/${r.id}`)).json()) as { preprocessed: { y: number[] }; raw: { y: number[] }; reference: { class: string } };
    expect(spectrum.preprocessed.y).toHaveLength(5000);
    expect(spectrum.raw.y).toHaveLength(5000);
    expect(spectrum.reference.class).toBe('17');
  });

  it('rejects a broken file into failed/ with a rejected result and an alert, and goes on', async () => {
    const rejected = firstValueFrom(daemon.pipeline.results$.pipe(filter((r) => r.source.endsWith('broken.jdx')), take(1)));
    writeFileSync(path.join(inbox, 'broken.jdx'), '##TITLE=broken\n##XYDATA=(X++(Y..Y))\n1 2 x\n');
    const r = await rejected;
    expect(r.status).toBe('rejected');
    expect(r.error?.message).toMatch(/broken\.jdx/);
    await waitFor(() => existsSync(path.join(inbox, 'failed', 'broken.jdx')));
    expect(daemon.store.listAlerts().some((a) => a.kind === 'rejected' && a.resultId === r.id)).toBe(true);
  });

  it('identifies an upload over POST /api/identify without recording it, and enrolls a class with the token', async () => {
    const before = daemon.store.counts().spectra;
    const res = await fetch(`${daemon.url}/api/identify?filename=x.jdx`, { method: 'POST', body: testFile(499, 2), headers: { 'content-type': 'chemical/x-jcamp-dx' } });
    expect(res.status).toBe(200);
    const { items } = (await res.json()) as { items: Array<{ class?: string }> };
    expect(items.map((i) => i.class)).toEqual(['499']);
    expect(daemon.store.counts().spectra).toBe(before);

    const enroll = await fetch(`${daemon.url}/api/classes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer e2e-token' },
      body: JSON.stringify({ name: 'new-compound', files: [{ name: '3-0.jdx', content: testFile(3, 0) }, { name: '3-1.jdx', content: testFile(3, 1) }] }),
    });
    expect(enroll.status).toBe(201);
    expect(await enroll.json()).toMatchObject({ class: 'new-compound', created: true, added: 2 });
    const next = firstValueFrom(daemon.pipeline.results$.pipe(filter((r) => r.source.endsWith('3-5.jdx')), take(1)));
    writeFileSync(path.join(inbox, '3-5.jdx'), testFile(3, 5));
    expect((await next).class).toBe('new-compound');
  });

  it('reads a file that bends JCAMP-DX with a warning in its result (kept in the store); an input with format: csv reads CSV under any name', async () => {
    const bent = firstValueFrom(daemon.pipeline.results$.pipe(filter((r) => r.source.endsWith('bare-end.jdx')), take(1)));
    writeFileSync(path.join(inbox, 'bare-end.jdx'), testFile(250, 2).replace('##END=', '##END'));
    const r = await bent;
    expect(r.class).toBe('250');
    expect(r.warnings).toEqual([expect.objectContaining({ code: 'jcamp-bare-end', field: 'END' })]);
    const stored = (await (await fetch(`${daemon.url}/api/spectra/${r.id}`)).json()) as { result?: ResultMessage };
    expect(stored.result?.warnings?.[0].code).toBe('jcamp-bare-end');

    const csv = firstValueFrom(daemon.pipeline.results$.pipe(filter((r) => r.source.endsWith('export-499.jdx')), take(1)));
    writeFileSync(path.join(csvInbox, 'export-499.jdx'), toCsv(createSpectrum({ y: benchmarkY(499, 3), xUnit: 'index' })));
    expect((await csv).class).toBe('499');
  });

  it('enrolls the good uploaded files and answers 207 with each refused one; allOrNothing refuses them all', async () => {
    const files = [{ name: '5-0.jdx', content: testFile(5, 0) }, { name: 'empty.csv', content: 'no numbers here' }];
    const post = (body: object) =>
      fetch(`${daemon.url}/api/classes`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer e2e-token' }, body: JSON.stringify(body) });
    const partial = await post({ name: 'partial', files });
    expect(partial.status).toBe(207);
    expect(await partial.json()).toMatchObject({ class: 'partial', added: 1, refused: [{ file: 'empty.csv', code: 'csv-no-data' }] });
    const whole = await post({ name: 'whole', files, allOrNothing: true });
    expect(whole.status).toBe(422);
    expect(daemon.store.listClasses().some((c) => c.name === 'whole')).toBe(false);
  });

  it('on stop, finishes every spectrum already taken and closes the store', async () => {
    const burst = firstValueFrom(daemon.pipeline.results$.pipe(filter((r) => r.source.includes('burst-')), take(6), toArray()));
    for (let i = 0; i < 6; i++) writeFileSync(path.join(inbox, `burst-${i}.jdx`), testFile(classes[i % 3], i));
    await burst;
    await daemon.stop();
    expect(daemon.store.db.open).toBe(false);
    expect(daemon.pipeline.stats()).toMatchObject({ inMemory: 0, ingesting: 0 });
  });
});

async function waitFor(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
