import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { initEngine } from '../../core/engine/index.ts';
import { getArchitecture } from '../../core/encoder/architectures.ts';
import { TECHNIQUE_GRIDS } from '../../core/preprocess/grids.ts';
import { saveUntrainedModel, spectrad } from './cli-support.ts';

/**
 * `spectrad library add` / `identify` on real RRUFF Raman files (test/fixtures/rruff, cited there) with a model on
 * the physical Raman grid (cm-1): the files are read with the CSV reader (--format csv), mapped onto the grid, and
 * the answer comes from the spectral ranking (HQI per candidate). The encoder is an untrained seeded fixture: the
 * answers here rest on the spectral match, which is what this test is about.
 */
const root = path.resolve(import.meta.dirname, '../..');
const fixtures = path.join(root, 'test/fixtures/rruff');
const file = (mineral: string, id: string, n: string) => path.join(fixtures, `${mineral}__${id}__Raman__532__0__unoriented__Raman_Data_Processed__${n}.txt`);

let dir: string;
let model: string;

interface Answer {
  status: string;
  class?: string;
  score: number;
  candidates: { class: string; score: number; spectralMatch?: number }[];
}

async function identify(library: string, ...files: string[]): Promise<Answer[]> {
  const r = await spectrad('identify', '--model', model, '--library', library, '--format', 'csv', ...files);
  expect(r.stderr).not.toMatch(/Error/);
  expect(r.code).toBe(0);
  return r.stdout.trim().split('\n').map((line) => JSON.parse(line) as Answer);
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'spectrad-real-cli-'));
  model = path.join(dir, 'model');
  await initEngine({ backend: 'cpu' });
  const grid = TECHNIQUE_GRIDS['raman-532'];
  const arch = { ...getArchitecture('tiny'), inputPoints: grid.points };
  await saveUntrainedModel(model, 'test-tiny-raman-untrained', arch, grid);
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('spectrad on real RRUFF Raman files (physical cm-1 grid)', () => {
  it('enrolls minerals from their files and names another sample of one, with the HQI on every candidate', async () => {
    const lib = path.join(dir, 'minerals.splb');
    const enroll: Record<string, string[]> = {
      Anatase: [file('Anatase', 'R060277', '34006'), file('Anatase', 'R070582', '23053')],
      Aragonite: [file('Aragonite', 'R040078', '15664'), file('Aragonite', 'R060195', '33277')],
      Gypsum: [file('Gypsum', 'R040029', '26332')],
    };
    for (const [mineral, files] of Object.entries(enroll)) {
      const r = await spectrad('library', 'add', '--model', model, '--library', lib, '--class', mineral, '--format', 'csv', ...files);
      expect(r.stderr).not.toMatch(/Error/);
      expect(JSON.parse(r.stdout)).toMatchObject({ class: mineral, added: files.length });
    }
    const [anatase, aragonite, gypsum] = await identify(lib, file('Anatase', 'R120013', '36401'), file('Aragonite', 'R080142', '30673'), file('Gypsum', 'R060509', '10315'));
    for (const [answer, mineral] of [[anatase, 'Anatase'], [aragonite, 'Aragonite'], [gypsum, 'Gypsum']] as const) {
      expect(answer.status).toBe('identified');
      expect(answer.class).toBe(mineral);
      expect(answer.candidates.map((c) => c.class)).toHaveLength(3);
      for (const c of answer.candidates) expect(c.spectralMatch).toBeGreaterThanOrEqual(-1);
      // The named class matches its own references far better than the others, and scores differ.
      expect(answer.candidates[0].spectralMatch!).toBeGreaterThan(answer.candidates[1].spectralMatch! + 0.1);
      expect(new Set(answer.candidates.map((c) => c.score)).size).toBe(answer.candidates.length);
    }
    // A mineral the library lacks.
    const [anhydrite] = await identify(lib, file('Anhydrite', 'R040012', '26318'));
    expect(anhydrite.status).toBe('unknown');
    expect(anhydrite.class).toBeUndefined();
  }, 240_000);

  it('a one-class library still says unknown for another mineral and names its own', async () => {
    const lib = path.join(dir, 'one.splb');
    await spectrad('library', 'add', '--model', model, '--library', lib, '--class', 'Gypsum', '--format', 'csv', file('Gypsum', 'R040029', '26332'));
    const [other, own] = await identify(lib, file('Anatase', 'R120013', '36401'), file('Gypsum', 'R060509', '10315'));
    expect(other.status).toBe('unknown');
    expect(own.status).toBe('identified');
    expect(own.class).toBe('Gypsum');
  }, 240_000);

  it('refuses an XRD pattern on the Raman model with an error that says why', async () => {
    const xrd = path.join(dir, 'pattern.csv');
    const rows = Array.from({ length: 851 }, (_, i) => `${(5 + i * 0.1).toFixed(1)},${(10 + 1000 * Math.exp(-(((5 + i * 0.1 - 29.4) / 0.2) ** 2))).toFixed(2)}`);
    writeFileSync(xrd, `2theta,counts\n${rows.join('\n')}\n`);
    const lib = path.join(dir, 'xrd-check.splb');
    await spectrad('library', 'add', '--model', model, '--library', lib, '--class', 'Gypsum', '--format', 'csv', file('Gypsum', 'R040029', '26332'));
    const r = await spectrad('identify', '--model', model, '--library', lib, xrd);
    expect(r.code).toBe(1);
    const answer = JSON.parse(r.stdout.trim()) as { status: string; error: { code: string; message: string } };
    expect(answer).toMatchObject({ status: 'rejected', error: { code: 'x-unit-mismatch' } });
    expect(answer.error.message).toMatch(/2theta but the model expects cm-1/);
  }, 120_000);
});
