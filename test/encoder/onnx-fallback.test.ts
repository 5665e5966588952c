import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { initEngine } from '../../core/engine/index.ts';
import { TfjsEncoder } from '../../core/encoder/model-files.ts';
import { loadInferenceEncoder, loadOnnxRuntime } from '../../core/engine/onnx.ts';

// As an onnxruntime-node that loads but is not what we expect (e.g. a broken or incompatible install).
vi.mock('onnxruntime-node', () => ({ default: {}, InferenceSession: undefined }));

const BUNDLED = fileURLToPath(new URL('../../models/default', import.meta.url));

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});

describe('onnxruntime missing or broken', () => {
  it('loading it rejects with the reason', async () => {
    await expect(loadOnnxRuntime()).rejects.toThrow(/no InferenceSession/);
  });

  for (const engine of ['auto', 'onnx'] as const) {
    it(`${engine}: falls back to tfjs and logs why`, async () => {
      const logs: string[] = [];
      const { encoder, choice } = await loadInferenceEncoder(BUNDLED, { engine, logger: (m) => logs.push(m) });
      try {
        expect(encoder).toBeInstanceOf(TfjsEncoder);
        expect(choice.engine).toBe('tfjs');
        expect(choice.reason).toMatch(/^onnx unavailable \(onnxruntime-node has no InferenceSession export\), using tfjs$/);
        expect(logs).toEqual([`engine: ${choice.reason}`]);
        expect((await encoder.embed(new Float32Array(encoder.grid.points).fill(0.5), 1)).length).toBe(encoder.dim);
      } finally {
        encoder.dispose();
      }
    });
  }
});
