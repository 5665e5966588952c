import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { generateRandomSplit, generateTestSplit, loadDefinition } from '../../core/benchmark/index.ts';
import { decodeNpy } from '../../core/npy.ts';

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

describe('spectrad dataset', () => {
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
    expect(x.data).toEqual(expected.x);
    expect(y.data).toEqual(expected.y);
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
    expect(x.data).toEqual(expected.x);
  });

  it('explains bad arguments and exits non-zero', async () => {
    const unknown = await spectrad('dataset', 'nist', '--out', path.join(work, 'x'));
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/unknown data set "nist"/);
    const perClassOnTest = await spectrad('dataset', 'benchmark', '--split', 'test', '--per-class', '3', '--out', path.join(work, 'y'));
    expect(perClassOnTest.code).toBe(2);
    expect(perClassOnTest.stderr).toMatch(/--per-class applies to train\/val only/);
    const badClasses = await spectrad('dataset', 'challenge', '--split', 'val', '--classes', '20-30', '--out', path.join(work, 'z'));
    expect(badClasses.code).toBe(2);
    expect(badClasses.stderr).toMatch(/class 30 does not exist/);
  });
});
