import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { initEngine } from '../../core/engine/index.ts';
import { getArchitecture } from '../../core/encoder/architectures.ts';
import { BENCHMARK_GRID } from '../../core/encoder/model-files.ts';
import { saveUntrainedModel, spectrad } from './cli-support.ts';
import { peaks } from './synthetic.ts';

let dir: string;
let model: string;
let lib: string;

function csv(name: string, positions: number[], shift = 0): string {
  const y = peaks(5000, positions, 4, shift);
  const file = path.join(dir, name);
  writeFileSync(file, Array.from(y, (v, i) => `${i}\t${v.toFixed(6)}`).join('\n') + '\n');
  return file;
}

const CLASSES: Record<string, number[]> = {
  caffeine: [400, 1200, 3300],
  aspirin: [800, 2100, 2600, 4100],
  paracetamol: [1500, 1550, 3900],
};

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'spectrad-identify-cli-'));
  model = path.join(dir, 'model');
  lib = path.join(dir, 'refs.splb');
  // An untrained (seeded) encoder fixture: random conv features still map near-identical spectra close together.
  await initEngine({ backend: 'cpu' });
  const arch = getArchitecture('tiny');
  await saveUntrainedModel(model, 'test-tiny-untrained', arch, BENCHMARK_GRID);
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('spectrad library / identify (subprocess)', () => {
  it('enrolls classes, identifies spectra as JSON lines, and rejects a bad file without stopping', async () => {
    for (const [name, pos] of Object.entries(CLASSES)) {
      const r = await spectrad('library', 'add', '--model', model, '--library', lib, '--class', name, csv(`${name}-1.csv`, pos), csv(`${name}-2.csv`, pos, 2));
      expect(r.stderr).not.toMatch(/Error/);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ class: name, added: 2, references: 2 });
    }
    const bad = path.join(dir, 'bad.csv');
    writeFileSync(bad, 'not a spectrum at all\n');
    const query = csv('query.csv', CLASSES.aspirin, 1);
    const r = await spectrad('identify', '--model', model, '--library', lib, query, bad);
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    expect(lines[0].file).toBe(query);
    expect(lines[0].candidates[0].class).toBe('aspirin');
    expect(['identified', 'low-confidence', 'unknown', 'mixture']).toContain(lines[0].status);
    expect(lines[0].score).toBeGreaterThanOrEqual(0);
    expect(lines[0].score).toBeLessThanOrEqual(1);
    expect(lines[1]).toMatchObject({ file: bad, status: 'rejected' });
    expect(lines[1].error.code).toEqual(expect.any(String));
  }, 480_000);

  it('lists, renames and removes classes', async () => {
    const list = await spectrad('library', 'list', '--library', lib, '--json');
    expect(list.stdout.trim().split('\n').map((l) => JSON.parse(l).name)).toEqual(Object.keys(CLASSES));
    expect((await spectrad('library', 'rename', '--library', lib, '--class', 'aspirin', '--to', 'ASA')).code).toBe(0);
    expect((await spectrad('library', 'remove', '--library', lib, '--class', 'caffeine')).code).toBe(0);
    const after = await spectrad('library', 'list', '--library', lib);
    expect(after.stdout).toMatch(/^2 classes, 4 references/);
    expect(after.stdout).toContain('ASA\t2');
    const missing = await spectrad('library', 'remove', '--library', lib, '--class', 'caffeine');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('library-unknown-class');
  }, 400_000);

  it('library add enrolls the readable files, reports each refused one and exits 3; --all-or-nothing enrolls none', async () => {
    const part = path.join(dir, 'partial.lib');
    const bad = path.join(dir, 'notes.csv');
    writeFileSync(bad, 'measured on Tuesday\n');
    const good = [csv('p-1.csv', [500, 1500]), csv('p-2.csv', [500, 1500], 2)];
    const none = await spectrad('library', 'add', '--model', model, '--library', part, '--class', 'p', '--all-or-nothing', ...good, bad);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(`refused ${bad}: csv-no-data`);
    const partial = await spectrad('library', 'add', '--model', model, '--library', part, '--class', 'p', ...good, bad);
    expect(partial.code).toBe(3);
    expect(JSON.parse(partial.stdout)).toMatchObject({ class: 'p', added: 2, refused: [{ file: bad, code: 'csv-no-data' }] });
    expect(partial.stderr).toContain(`refused ${bad}: csv-no-data`);
    const list = await spectrad('library', 'list', '--library', part, '--json');
    expect(JSON.parse(list.stdout.trim())).toMatchObject({ name: 'p', references: 2 });
  }, 400_000);
});
