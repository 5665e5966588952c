import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { firstValueFrom, filter, take, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/load.ts';
import type { ResultMessage } from '../../core/messages.ts';
import { startDaemon, type Daemon } from '../../daemon/run.ts';

/**
 * The daemon on real spectra as a lab runs it: the bundled `raman-532` model, an empty library filled through the
 * API with RRUFF Raman files as downloaded (test/fixtures/rruff, cited there), the same kind of files dropped in a
 * watched folder. The answers name the right mineral with the spectral match (HQI) on every candidate, and a
 * mineral the library lacks comes out unknown.
 */
const fixtures = path.resolve(import.meta.dirname, '../fixtures/rruff');
const file = (mineral: string, id: string, n: string) => `${mineral}__${id}__Raman__532__0__unoriented__Raman_Data_Processed__${n}.txt`;
const root = mkdtempSync(path.join(tmpdir(), 'spectrad-e2e-real-'));
const inbox = path.join(root, 'inbox');
let daemon: Daemon;

const ENROLLED: Record<string, string[]> = {
  Anatase: [file('Anatase', 'R060277', '34006'), file('Anatase', 'R070582', '23053')],
  Aragonite: [file('Aragonite', 'R040078', '15664'), file('Aragonite', 'R060195', '33277')],
  Gypsum: [file('Gypsum', 'R040029', '26332')],
};
/** Other specimens (RRUFF IDs) of the enrolled minerals, and one of a mineral the library lacks. */
const QUERIES: Record<string, string> = {
  Anatase: file('Anatase', 'R120013', '36401'),
  Aragonite: file('Aragonite', 'R080142', '30673'),
  Gypsum: file('Gypsum', 'R060509', '10315'),
  unknown: file('Anhydrite', 'R040012', '26318'),
};

beforeAll(async () => {
  mkdirSync(inbox);
  const config = parseConfig(
    [
      `dataDir: ${root}/data`,
      'instrument: raman-e2e',
      'model: { dir: raman-532 }',
      'inputs:',
      `  - { type: folder, name: inbox, paths: [${inbox}], stabilityMs: 100 }`,
      'outputs: [{ type: socketio }]',
      'http: { host: 127.0.0.1, port: 0, token: e2e-token }',
      'library: { demo: false }',
      'pipeline: { batchSize: 4, windowMs: 10 }',
    ].join('\n'),
    path.join(root, 'spectrad.yaml'),
    { env: {} },
  );
  daemon = await startDaemon(config, { logger: pino({ level: 'silent' }) });
}, 60_000);

afterAll(async () => {
  await daemon?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('end to end on real RRUFF Raman files with the bundled raman-532 model', () => {
  it('enrolls minerals over the API, names other specimens dropped in the folder, and calls an unenrolled mineral unknown', async () => {
    for (const [mineral, files] of Object.entries(ENROLLED)) {
      const res = await fetch(`${daemon.url}/api/classes`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer e2e-token' },
        body: JSON.stringify({ name: mineral, files: files.map((name) => ({ name, content: readFileSync(path.join(fixtures, name), 'utf8') })) }),
      });
      expect(res.status).toBe(201);
      expect(await res.json()).toMatchObject({ class: mineral, created: true, added: files.length });
    }
    const health = (await (await fetch(`${daemon.url}/api/health`)).json()) as { library: { classes: number; references: number }; modelVersion: string };
    expect(health.library).toMatchObject({ classes: 3, references: 5 });
    expect(health.modelVersion).toMatch(/^raman-/);

    const names = Object.values(QUERIES);
    const answers = firstValueFrom(daemon.pipeline.results$.pipe(filter((r) => names.some((n) => r.source.endsWith(n))), take(names.length), toArray()));
    for (const name of names) writeFileSync(path.join(inbox, name), readFileSync(path.join(fixtures, name)));
    const bySource = new Map<string, ResultMessage>((await answers).map((r) => [path.basename(r.source), r]));

    for (const [mineral, name] of Object.entries(QUERIES)) {
      const r = bySource.get(name)!;
      expect(r, name).toBeDefined();
      // The spectral match (HQI) rides on every candidate, and the hit list's scores never tie.
      expect(r.candidates.length).toBe(3);
      for (const c of r.candidates) expect(c.spectralMatch, `${name} ${c.class}`).toBeGreaterThanOrEqual(-1);
      expect(new Set(r.candidates.map((c) => c.score)).size).toBe(r.candidates.length);
      if (mineral === 'unknown') {
        expect(r.status, name).toBe('unknown');
        expect(r.class).toBeUndefined();
      } else {
        expect(r.status, name).toBe('identified');
        expect(r.class).toBe(mineral);
        expect(r.candidates[0].spectralMatch!).toBeGreaterThan(r.candidates[1].spectralMatch! + 0.1);
      }
    }
    // Stored and served as any other result.
    const page = (await (await fetch(`${daemon.url}/api/results?instrument=raman-e2e`)).json()) as { items: ResultMessage[] };
    expect(page.items.map((i) => i.class ?? 'unknown').sort()).toEqual(['Anatase', 'Aragonite', 'Gypsum', 'unknown']);
  }, 60_000);
});
