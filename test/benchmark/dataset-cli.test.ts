import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { generateRandomSplit, generateTestSplit, loadDefinition } from '../../core/benchmark/index.ts';
import { parseSpectra } from '../../core/formats/index.ts';
import { decodeNpy } from '../../core/npy.ts';
import { firstDifference } from './bytes.ts';

const run = promisify(execFile);
const CLI = new URL('../../bin/spectrad.js', import.meta.url).pathname;
const work = mkdtempSync(path.join(tmpdir(), 'spectrad-dataset-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function spectrad(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { cwd: work });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const load = (file: string) => decodeNpy(readFileSync(file));

// Each case starts the CLI (tsx compile + command loading): seconds apiece on a loaded 2-core machine.
describe('spectrad dataset', { timeout: 90_000 }, () => {
  it('writes the test split of the selected classes as float32 [n, 5000] and int32 [n] .npy', async () => {
    const out = path.join(work, 'test');
    const res = await spectrad('dataset', 'benchmark', '--split', 'test', '--classes', '0-1,499', '--out', out);
    expect(res.code, res.stderr).toBe(0);
    const x = load(path.join(out, 'x_test.npy'));
    const y = load(path.join(out, 'y_test.npy'));
    expect(x.dtype).toBe('float32');
    expect(x.shape).toEqual([27, 5000]);
    expect(y.dtype).toBe('int32');
    expect(y.shape).toEqual([27]);
    const expected = generateTestSplit(loadDefinition('benchmark'), { classes: [0, 1, 499] });
    expect(firstDifference(x.data, expected.x)).toBe(-1);
    expect(firstDifference(y.data, expected.y)).toBe(-1);
  });

  it('writes a seeded train split that repeats byte for byte', async () => {
    const a = path.join(work, 'a');
    const b = path.join(work, 'b');
    const args = ['dataset', 'challenge', '--split', 'train', '--per-class', '3', '--seed', '1', '--classes', '4-6'];
    const [ra, rb] = await Promise.all([spectrad(...args, '--out', a), spectrad(...args, '--out', b)]);
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code, rb.stderr).toBe(0);
    expect(readdirSync(a).sort()).toEqual(['x_train.npy', 'y_train.npy']);
    expect(readFileSync(path.join(a, 'x_train.npy')).equals(readFileSync(path.join(b, 'x_train.npy')))).toBe(true);
    const x = load(path.join(a, 'x_train.npy'));
    expect(x.shape).toEqual([9, 5000]);
    expect([...load(path.join(a, 'y_train.npy')).data]).toEqual([4, 4, 4, 5, 5, 5, 6, 6, 6]);
    const expected = generateRandomSplit(loadDefinition('challenge'), { split: 'train', perClass: 3, seed: 1, classes: [4, 5, 6] });
    expect(firstDifference(x.data, expected.x)).toBe(-1);
  });

  it('writes one JCAMP-DX or CSV file per spectrum, <class>-<index>, that read back to the generated values', async () => {
    const jdx = path.join(work, 'jdx');
    const csv = path.join(work, 'csv');
    const [rj, rc] = await Promise.all([
      spectrad('dataset', 'challenge', '--split', 'val', '--per-class', '2', '--seed', '4', '--classes', '25-26', '--format', 'jcamp', '--out', jdx),
      spectrad('dataset', 'benchmark', '--split', 'test', '--classes', '7', '--format', 'csv', '--out', csv),
    ]);
    expect(rj.code, rj.stderr).toBe(0);
    expect(rc.code, rc.stderr).toBe(0);
    expect(readdirSync(jdx).sort()).toEqual(['25-0.jdx', '25-1.jdx', '26-0.jdx', '26-1.jdx']);
    expect(readdirSync(csv).sort()).toEqual(Array.from({ length: 9 }, (_, i) => `7-${i}.csv`).sort());
    const val = generateRandomSplit(loadDefinition('challenge'), { split: 'val', perClass: 2, seed: 4, classes: [25, 26] });
    const test = generateTestSplit(loadDefinition('benchmark'), { classes: [7] });
    const cases: [string, Float32Array][] = [
      [path.join(jdx, '26-1.jdx'), val.x.subarray(3 * 5000, 4 * 5000)],
      [path.join(csv, '7-8.csv'), test.x.subarray(8 * 5000, 9 * 5000)],
    ];
    for (const [file, expected] of cases) {
      const [spectrum] = parseSpectra(readFileSync(file), { fileName: file });
      expect(spectrum.y.length).toBe(5000);
      expect(spectrum.x[4999]).toBe(4999);
      let worst = 0;
      spectrum.y.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - expected[i]))));
      expect(worst).toBeLessThan(1e-6);
    }
  });

  it('explains bad arguments and exits non-zero', async () => {
    const [unknown, perClassOnTest, badClasses] = await Promise.all([
      spectrad('dataset', 'nist', '--out', path.join(work, 'x')),
      spectrad('dataset', 'benchmark', '--split', 'test', '--per-class', '3', '--out', path.join(work, 'y')),
      spectrad('dataset', 'challenge', '--split', 'val', '--classes', '20-30', '--out', path.join(work, 'z')),
    ]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/unknown data set "nist"/);
    expect(perClassOnTest.code).toBe(2);
    expect(perClassOnTest.stderr).toMatch(/--per-class applies to train\/val only/);
    expect(badClasses.code).toBe(2);
    expect(badClasses.stderr).toMatch(/class 30 does not exist/);
  });
});
