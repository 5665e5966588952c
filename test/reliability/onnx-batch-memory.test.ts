import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadInferenceEncoder } from '../../core/engine/onnx.ts';

/**
 * The daemon loads its encoder with batchSize = pipeline.batchSize, so onnxruntime's memory arena (which keeps its
 * largest allocation) is sized by the micro-batch, not by the 1500-spectrum library build: with the seed model that
 * was 900 MB of resident memory instead of ~600 (bench:daemon). Splitting must not change a single embedding.
 */
const BUNDLED = path.resolve(import.meta.dirname, '../../models/default');

describe('onnx encoder batch size', () => {
  it('splits large calls into batches of batchSize with identical embeddings', async () => {
    const whole = await loadInferenceEncoder(BUNDLED, { engine: 'onnx' });
    const split = await loadInferenceEncoder(BUNDLED, { engine: 'onnx', batchSize: 7 });
    try {
      const points = whole.encoder.grid.points;
      const n = 20;
      const x = new Float32Array(n * points);
      for (let i = 0; i < n; i++) for (let j = 0; j < points; j++) x[i * points + j] = Math.exp(-(((j - 200 - i * 211) / (3 + i)) ** 2));
      const a = await whole.encoder.embed(x, n);
      const b = await split.encoder.embed(x, n);
      expect(b.length).toBe(n * whole.encoder.dim);
      let diff = 0;
      for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i] - b[i]));
      expect(diff).toBeLessThan(1e-5);
    } finally {
      whole.encoder.dispose();
      split.encoder.dispose();
    }
  }, 120_000);

  it('refuses a batch size that is not a positive integer', async () => {
    await expect(loadInferenceEncoder(BUNDLED, { engine: 'onnx', batchSize: 0 })).rejects.toMatchObject({ code: 'bad-batch' });
  }, 120_000);
});
