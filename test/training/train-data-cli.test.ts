import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { readModelCard } from '../../core/encoder/model-files.ts';
import { loadLabCorpus, toGridRows } from '../../daemon/commands/train-data.ts';

/** `spectrad train --data` on eight real RRUFF Raman files (test/fixtures/rruff-mini, README cites RRUFF). */

const run = promisify(execFile);
const bin = path.resolve('bin/spectrad.js');
const spectrad = (...args: string[]) => run(process.execPath, [bin, ...args], { maxBuffer: 1 << 24 });
const FIXTURES = path.resolve('test/fixtures/rruff-mini');
const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.txt')).sort();
const mineralOf = (f: string): string => f.split('__')[0];
const GRID = { xUnit: 'cm-1', xStart: 100, xEnd: 1500, points: 256 };
const failure = async (...args: string[]) => (await spectrad(...args).catch((e: unknown) => e)) as { code: number; stderr: string };

describe('spectrad train --data: corpus layouts', () => {
  it('reads classes and samples from header fields (RRUFF: NAMES, RRUFFID)', async () => {
    const c = await loadLabCorpus(FIXTURES, { classField: 'names', sampleField: 'RRUFFID' }, 'csv');
    expect(c.layout).toBe('class-field');
    expect(c.skipped).toEqual([]);
    expect(c.spectra).toHaveLength(8);
    expect(new Set(c.spectra.map((s) => s.entry.className))).toEqual(new Set(['Boulangerite', 'Chondrodite', 'Hornesite', 'Tilasite']));
    const boulangerite = c.spectra.filter((s) => s.entry.className === 'Boulangerite');
    expect(new Set(boulangerite.map((s) => s.entry.sample)).size).toBe(1);
    const rows = await toGridRows(c.spectra, GRID, 0.3);
    expect(rows.n).toBe(8);
    for (let r = 0; r < rows.n; r++) expect(Math.max(...rows.x.subarray(r * 256, (r + 1) * 256).map(Math.abs))).toBeCloseTo(1, 5);
  });

  it('reads one folder per class, and a CSV manifest with a sample column', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'spectrad-lab-'));
    const folders = path.join(dir, 'folders');
    for (const f of files) {
      mkdirSync(path.join(folders, mineralOf(f)), { recursive: true });
      cpSync(path.join(FIXTURES, f), path.join(folders, mineralOf(f), f));
    }
    const byFolder = await loadLabCorpus(folders, {}, 'csv');
    expect(byFolder.layout).toBe('folders');
    expect(byFolder.spectra.map((s) => s.entry.className).sort()).toEqual(files.map(mineralOf).sort());
    // Without a sample field every file is its own sample.
    expect(new Set(byFolder.spectra.map((s) => s.entry.sample)).size).toBe(8);

    const manifest = path.join(dir, 'manifest.csv');
    writeFileSync(manifest, 'file,class,sample\n' + files.map((f) => `${path.relative(dir, path.join(FIXTURES, f))},${mineralOf(f)},${f.split('__')[1]}`).join('\n') + '\n');
    const byManifest = await loadLabCorpus(manifest, {}, 'csv');
    expect(byManifest.layout).toBe('manifest');
    expect(byManifest.spectra).toHaveLength(8);
    expect(new Set(byManifest.spectra.map((s) => s.entry.sample)).size).toBe(7);

    // A flat folder without --class-field is not a corpus: say how to make it one.
    await expect(loadLabCorpus(FIXTURES, {}, 'csv')).rejects.toThrow(/one folder per class.*--class-field/);
  });
});

describe('spectrad train --data (subprocess)', () => {
  const common = ['--data', FIXTURES, '--class-field', 'NAMES', '--sample-field', 'RRUFFID', '--format', 'csv', '--grid', 'cm-1:100:1500:256', '--batch', '4x2', '--pretrain-classes', '8', '--pretrain-per-class', '2', '--pretrain-epochs', '1', '--backend', 'wasm'];

  it('trains, writes a card with technique, grid, data hash and figures, and resumes', async () => {
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'spectrad-lab-')), 'model');
    const first = await spectrad('train', ...common, '--epochs', '1', '--out', out);
    expect(first.stderr).toMatch(/pretraining on 16 synthetic raman spectra/);
    // Three minerals have two specimens: one of each is held out; Boulangerite's two files (one specimen) both train.
    expect(first.stderr).toMatch(/training 5 spectra of 4 classes \(3 with >= 2 samples\), validation 3 spectra/);
    const card = await readModelCard(out);
    expect(card.technique).toBe('raman');
    expect(card.inputGrid).toEqual({ xUnit: 'cm-1', xStart: 100, xEnd: 1500, points: 256 });
    expect(card.architecture).toMatchObject({ name: 'phys-shallow', inputPoints: 256 });
    expect(card.training?.dataSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(card.training?.samples).toBe(5);
    expect(card.metrics?.valKnnAccuracy).toBeGreaterThanOrEqual(0);
    expect(card.metrics?.valKnnAccuracy).toBeLessThanOrEqual(1);
    expect(card.pretraining).toMatchObject({ classes: 8, perClass: 2, epochs: 1 });
    const state = JSON.parse(readFileSync(path.join(out, 'checkpoint', 'state.json'), 'utf8')) as { epochsDone: number };
    expect(state.epochsDone).toBe(1);

    const second = await spectrad('train', ...common, '--epochs', '2', '--resume', '--out', out);
    expect(second.stderr).toMatch(/pretrained encoder found/);
    expect(second.stderr).toMatch(/resuming fine-tuning/);
    expect(second.stderr).not.toMatch(/epoch 1\/2/);
    expect(second.stderr).toMatch(/epoch 2\/2/);
    expect((await readModelCard(out)).training?.epochs).toBe(2);
  }, 300_000);

  it('records hard-negative batches, foreign bands and augmented pretraining in the card', async () => {
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'spectrad-lab-')), 'model');
    const r = await spectrad('train', ...common, '--epochs', '1', '--hard-negatives', '0.5', '--foreign-bands', '0.3', '--pretrain-augment', '1', '--pretrain-profile', 'familyMode=substitution,skeletonShare=0.5,noise=0.005', '--out', out);
    expect(r.stderr).toMatch(/pretraining on 16 synthetic raman spectra/);
    const card = await readModelCard(out);
    expect(card.training).toMatchObject({ hardNegatives: { share: 0.5, neighbours: 5 }, augment: { physical: { extraBand: 0.3 } } });
    expect(card.pretraining).toMatchObject({ augmentScale: 1, profile: { name: 'raman', familyMode: 'substitution', skeletonShare: 0.5, noise: 0.005 } });
    expect(card.pretraining?.skeletons).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/band skeletons of training spectra seed 50.00 %/);
    const bad = await failure('train', ...common, '--hard-negatives', '1.5', '--out', out + '-2');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--hard-negatives.*must be in/);
  }, 300_000);

  it('derives the grid from the data when given only its unit, and asks for one when the files state none', async () => {
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'spectrad-lab-')), 'model');
    const noGrid = common.filter((_, i, a) => a[i] !== '--grid' && a[i - 1] !== '--grid');
    const r = await spectrad('train', ...noGrid, '--grid', 'cm-1', '--pretrain-classes', '0', '--epochs', '1', '--out', out);
    expect(r.stderr).toMatch(/grid derived from the data: cm-1:/);
    const grid = (await readModelCard(out)).inputGrid;
    expect(grid.xUnit).toBe('cm-1');
    // The fixtures' median range and spacing (RRUFF 532 nm files: about 100-1500 cm-1 at about 0.5-1 cm-1).
    expect(grid.xStart).toBeGreaterThan(30);
    expect(grid.xStart).toBeLessThan(250);
    expect(grid.xEnd).toBeGreaterThan(1000);
    expect(grid.points).toBeGreaterThan(1000);
    const failed = await failure('train', ...noGrid, '--out', out + '-2');
    expect(failed.code).toBe(2);
    expect(failed.stderr).toMatch(/state no single x unit.*give --grid UNIT/);
  }, 300_000);

  it('rejects a bad grid, technique or layout with exit code 2 and no stack trace', async () => {
    const out = path.join(tmpdir(), 'spectrad-never');
    for (const [args, why] of [
      [['--grid', 'cm-1:1500:100:256'], /END \(100\) must be greater than START/],
      [['--grid', 'cm-1:100:1500'], /four fields/],
      [['--pretrain-profile', 'colour=red'], /pretrain profile: unknown key "colour"/],
      [['--pretrain-profile', 'fwhm=30-3'], /fwhm must be a range min-max/],
    ] as const) {
      const failed = await failure('train', ...common, ...args, '--out', out);
      expect(failed.code).toBe(2);
      expect(failed.stderr).toMatch(why);
      expect(failed.stderr).not.toMatch(/\n\s+at /);
    }
    const flat = await failure('train', '--data', FIXTURES, '--format', 'csv', '--out', out);
    expect(flat.code).toBe(2);
    expect(flat.stderr).toMatch(/one folder per class/);
    const missing = await failure('train', '--data', path.join(FIXTURES, 'nope'), '--out', out);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no file or folder at/);
  }, 120_000);
});
