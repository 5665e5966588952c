import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../config/load.ts';
import { BENCHMARK_GRID } from '../../core/encoder/model-files.ts';
import type { Encoder, InputGrid } from '../../core/encoder/types.ts';
import { SpectrumInputError } from '../../core/errors.ts';
import { parseSpectra } from '../../core/formats/index.ts';
import { preprocess } from '../../core/preprocess/index.ts';
import { prepareEachFile } from '../../daemon/commands/library.ts';
import { spectrumPreparation } from '../../pipelines/spectrum-preparation.ts';

/**
 * `spectrad library add` and the daemon prepare spectra on one path (pipelines/spectrum-preparation.ts): on the
 * default configuration a file gives the same vectors either way, and the same as the command line gave before it
 * shared the daemon's path (parseSpectra, then preprocess with the default chain).
 */

const root = path.resolve(import.meta.dirname, '../..');
const RAMAN_GRID: InputGrid = { points: 1400, xStart: 100, xEnd: 1500, xUnit: 'cm-1' };
const filesIn = (dir: string) => readdirSync(path.join(root, dir)).filter((f) => !f.endsWith('.md')).map((f) => path.join(root, dir, f)).sort();
const cases: Array<{ name: string; grid: InputGrid; files: string[] }> = [
  { name: 'benchmark samples', grid: BENCHMARK_GRID, files: [...filesIn('samples/known'), ...filesIn('samples/new-compound')] },
  { name: 'RRUFF Raman exports', grid: RAMAN_GRID, files: filesIn('test/fixtures/rruff-mini') },
];
const encoderOn = (grid: InputGrid) => ({ grid }) as unknown as Encoder;

describe('one parse-and-preprocess path for the daemon and library add', () => {
  const config = loadConfig();
  for (const { name, grid, files } of cases) {
    it(`${name}: the command line's vectors equal the daemon's on its default config, and the former command line's`, async () => {
      expect(files.length).toBeGreaterThan(2);
      const { prepared, refused } = await prepareEachFile(files, encoderOn(grid));
      expect(refused).toEqual([]);
      const daemon = spectrumPreparation({ strict: config.formats.strict, chain: config.preprocessing, grid: () => grid });
      const daemonRows = files.flatMap((f) => daemon.prepareFile(readFileSync(f), f).map((b) => b.values));
      const formerRows = files.flatMap((f) => parseSpectra(readFileSync(f), { fileName: f, format: 'auto', strict: false }).map((s) => preprocess(s, grid)));
      expect(prepared.length).toBe(formerRows.length);
      prepared.forEach((p, i) => {
        expect(p.values.length).toBe(grid.points);
        expect(Array.from(p.values)).toEqual(Array.from(daemonRows[i]));
        expect(Array.from(p.values)).toEqual(Array.from(formerRows[i]));
      });
    });
  }

  const refusalOf = async (content: string) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'spectrad-preparation-'));
    try {
      const file = path.join(dir, 'two-blocks.json');
      writeFileSync(file, content);
      const { prepared, refused } = await prepareEachFile([file], encoderOn(BENCHMARK_GRID));
      expect(prepared).toEqual([]);
      expect(refused).toHaveLength(1);
      const daemon = spectrumPreparation({ strict: config.formats.strict, chain: config.preprocessing, grid: () => BENCHMARK_GRID });
      let thrown: unknown;
      try {
        daemon.prepareFile(readFileSync(file), file);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(SpectrumInputError);
      const error = thrown as SpectrumInputError;
      expect(error.code).toBe(refused[0].error.code);
      expect(error.message).toBe(refused[0].error.message);
      return error;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  // 500 points over the benchmark grid's whole range (0 .. 4999), a smooth non-zero signal.
  const wholeRange = () => {
    const x = Array.from({ length: 500 }, (_, i) => i * 10);
    return `{"x": [${x.join(',')}], "y": [${x.map((v) => (Math.sin(v / 300) + 1.5).toFixed(4)).join(',')}]}`;
  };

  it('a file with one unreadable block is refused whole, with the same reason on both sides', async () => {
    const error = await refusalOf(`[${wholeRange()}, {"x": [1, 2], "y": [1]}]`);
    expect(error.code).toBe('json-schema');
    expect(error.where.block).toBe(2);
  });

  it('the first block in file order gives the reason: one refused by preprocessing before an unreadable one', async () => {
    // Block 1 covers 64 of the grid's 5000 points (under minOverlap); block 2 cannot be read.
    const short = `{"x": [${Array.from({ length: 64 }, (_, i) => i).join(',')}], "y": [${Array.from({ length: 64 }, (_, i) => i + 1).join(',')}]}`;
    const error = await refusalOf(`[${short}, {"x": [1, 2], "y": [1]}]`);
    expect(error.code).toBe('insufficient-overlap');
  });
});
