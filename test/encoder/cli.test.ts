import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateTestSplit, loadDefinition } from '../../core/benchmark/index.ts';
import { initEngine } from '../../core/engine/index.ts';
import { loadEncoder, readModelCard } from '../../core/encoder/model-files.ts';
import { decodeNpy, encodeNpy } from '../../core/npy.ts';
import { normalizeRows } from '../../core/training/augment.ts';

const run = promisify(execFile);
const bin = path.resolve('bin/spectrad.js');
const spectrad = (...args: string[]) => run(process.execPath, [bin, ...args], { maxBuffer: 1 << 24 });

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});

describe('spectrad train + spectrad embed (subprocesses)', () => {
  it('trains a class subset into a model directory that embed then uses', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'spectrad-cli-'));
    const model = path.join(dir, 'model');
    await spectrad('train', '--dataset', 'benchmark', '--classes', '0-2', '--per-class', '4', '--epochs', '1', '--batch', '3x2', '--arch', 'tiny', '--seed', '3', '--out', model, '--backend', 'wasm');
    const card = await readModelCard(model);
    expect(card.architecture.name).toBe('tiny');
    expect(card.inputGrid).toEqual({ points: 5000, xStart: 0, xEnd: 4999, xUnit: 'index' });
    expect(card.training).toMatchObject({ dataset: 'benchmark', perClass: 4, classes: '0-2', classCount: 3, samples: 12, seed: 3, epochs: 1 });
    expect(card.training?.dataSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(card.metrics?.testKnnAccuracy).toBeGreaterThanOrEqual(0);
    expect(card.metrics?.testKnnAccuracy).toBeLessThanOrEqual(1);
    expect(card.weightsSha256).toMatch(/^[0-9a-f]{64}$/);

    // raw (unnormalized) test spectra of class 0, as `spectrad dataset` writes them
    const test = generateTestSplit(loadDefinition('benchmark'), { classes: [0] });
    writeFileSync(path.join(dir, 'x.npy'), encodeNpy(test.x.subarray(0, 3 * 5000), [3, 5000]));
    await spectrad('embed', '--model', model, '--in', path.join(dir, 'x.npy'), '--out', path.join(dir, 'e.npy'), '--backend', 'wasm');
    const out = decodeNpy(readFileSync(path.join(dir, 'e.npy')));
    expect(out.dtype).toBe('float32');
    expect(out.shape).toEqual([3, 64]);
    const encoder = await loadEncoder(model);
    const expected = await encoder.embed(normalizeRows(test.x.subarray(0, 3 * 5000), 3, 5000), 3);
    encoder.dispose();
    for (let r = 0; r < 3; r++) expect(Math.hypot(...(out.data as Float32Array).subarray(r * 64, (r + 1) * 64))).toBeCloseTo(1, 5);
    for (let i = 0; i < expected.length; i++) expect(out.data[i]).toBeCloseTo(expected[i], 5);

    // spectra on another grid: a clear message and exit code 2, no stack trace
    writeFileSync(path.join(dir, 'bad.npy'), encodeNpy(new Float32Array(2 * 50), [2, 50]));
    const failed = (await spectrad('embed', '--model', model, '--in', path.join(dir, 'bad.npy'), '--out', path.join(dir, 'o.npy')).catch((e: unknown) => e)) as {
      code: number;
      stderr: string;
    };
    expect(failed.code).toBe(2);
    expect(failed.stderr).toMatch(/expected spectra of shape \[n, 5000\]/);
    expect(failed.stderr).not.toMatch(/\n\s+at /);
  }, 400_000);

  it('rejects a bad class list and batch with exit code 2', async () => {
    const failed = (await spectrad('train', '--classes', '0-9999', '--out', path.join(tmpdir(), 'never')).catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(failed.code).toBe(2);
    expect(failed.stderr).toMatch(/class 9999 does not exist/);
  }, 200_000);
});
