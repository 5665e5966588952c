import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../core/engine/index.ts';
import { loadEncoder, TfjsEncoder } from '../../core/encoder/model-files.ts';
import { generateTestSplit, loadDefinition } from '../../core/benchmark/index.ts';
import { loadInferenceEncoder, maxEmbeddingDifference, OnnxEncoder } from '../../core/engine/onnx.ts';

const BUNDLED = fileURLToPath(new URL('../../models/default', import.meta.url));

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});

describe('inference engine choice for a model directory', () => {
  it('auto picks onnx for the bundled model; its embeddings equal tfjs within 1e-4 on benchmark spectra, batch 1 and 64', async () => {
    const logs: string[] = [];
    const { encoder, choice } = await loadInferenceEncoder(BUNDLED, { logger: (m) => logs.push(m) });
    const tfjs = await loadEncoder(BUNDLED);
    try {
      expect(choice.engine).toBe('onnx');
      expect(encoder).toBeInstanceOf(OnnxEncoder);
      expect(choice.maxDifference).toBeLessThan(1e-4);
      expect(logs.join('\n')).toMatch(/onnxruntime, 1 thread\(s\), self-check passed/);
      expect(encoder.version).toBe(tfjs.version);
      expect(encoder.dim).toBe(tfjs.dim);
      // One test spectrum (variant r % 9) of each of 64 classes spread over the 500.
      const classes = Array.from({ length: 64 }, (_, i) => i * 7);
      const split = generateTestSplit(loadDefinition('benchmark'), { classes });
      const points = tfjs.grid.points;
      for (const n of [1, 64]) {
        const x = new Float32Array(n * points);
        for (let r = 0; r < n; r++) x.set(Float32Array.from(split.x.subarray((r * 9 + (r % 9)) * points, (r * 9 + (r % 9) + 1) * points)), r * points);
        let max = 0;
        for (let r = 0; r < n; r++) {
          const row = x.subarray(r * points, (r + 1) * points);
          max = row.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
          for (let i = 0; i < points; i++) row[i] /= max;
        }
        expect(await maxEmbeddingDifference(encoder, tfjs, x)).toBeLessThan(1e-4);
        const e = await encoder.embed(x, n);
        for (let r = 0; r < n; r++) {
          const norm = Math.hypot(...e.subarray(r * encoder.dim, (r + 1) * encoder.dim));
          expect(norm).toBeCloseTo(1, 5);
        }
      }
    } finally {
      encoder.dispose();
      tfjs.dispose();
    }
  }, 120_000);

  it('tfjs forced gives the tfjs encoder; 2 onnx threads give the same numbers as 1', async () => {
    const forced = await loadInferenceEncoder(BUNDLED, { engine: 'tfjs' });
    expect(forced.encoder).toBeInstanceOf(TfjsEncoder);
    expect(forced.choice).toEqual({ engine: 'tfjs', reason: 'forced' });
    const two = await loadInferenceEncoder(BUNDLED, { engine: 'onnx', threads: 2 });
    try {
      expect((two.encoder as OnnxEncoder).threads).toBe(2);
      expect(await maxEmbeddingDifference(two.encoder, forced.encoder)).toBeLessThan(1e-4);
    } finally {
      forced.encoder.dispose();
      two.encoder.dispose();
    }
  }, 60_000);

  it('an unknown engine and bad thread counts are refused with codes', async () => {
    await expect(loadInferenceEncoder(BUNDLED, { engine: 'gpu' as 'auto' })).rejects.toMatchObject({ code: 'unknown-engine' });
    await expect(loadInferenceEncoder(BUNDLED, { engine: 'onnx', threads: 1.5 })).rejects.toMatchObject({ code: 'bad-threads' });
  });
});
