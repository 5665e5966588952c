import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { initEngine } from '../../core/engine/index.ts';
import { loadInferenceEncoder, OnnxEncoder, type OnnxExporter } from '../../core/engine/onnx.ts';
import { SpectrumInputError } from '../../core/errors.ts';
import { exportInWorkerThread } from '../../daemon/workers/off-thread-export.ts';

/**
 * The daemon loads its model for onnxruntime with the export and the self-check's tfjs side in a worker thread
 * (issue 5: tfjs on the daemon's own thread cost ~120 MB of resident memory for good). These tests check that the
 * worker's export serves the same embeddings as an export on this thread, that this thread then never loads tfjs
 * (no 'tfjs-loaded' phase, initTfjs never called), and every fallback: an exporter that fails otherwise, a model that
 * cannot be exported, tfjs forced.
 */

const BUNDLED = fileURLToPath(new URL('../../models/default', import.meta.url));
const startTfjs = async (): Promise<void> => void (await initEngine({ backend: 'wasm' }));

/** Deterministic spectra on the bundled model's grid (smooth peaks, scaled to max 1). */
function spectra(points: number, n: number): Float32Array {
  const x = new Float32Array(points * n);
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < points; i++) {
      x[r * points + i] = Math.exp(-0.5 * ((i - ((r * 997) % points)) / (20 + r)) ** 2) + 0.3 * Math.exp(-0.5 * ((i - ((r * 331 + 1500) % points)) / 9) ** 2);
    }
  }
  return x;
}

describe('onnx export in a worker thread', () => {
  it('serves onnx with the same embeddings as an export on this thread, and this thread never loads tfjs', async () => {
    const phases: string[] = [];
    let tfjsStarted = 0;
    const worker = await loadInferenceEncoder(BUNDLED, {
      exporter: exportInWorkerThread('wasm'),
      initTfjs: async () => {
        tfjsStarted++;
        await startTfjs();
      },
      onPhase: (p) => phases.push(p),
    });
    const here = await loadInferenceEncoder(BUNDLED, { initTfjs: startTfjs });
    try {
      expect(worker.choice.engine).toBe('onnx');
      expect(worker.choice.reason).toMatch(/^auto: onnxruntime, 1 thread\(s\), self-check passed/);
      expect(worker.choice.maxDifference).toBeLessThan(1e-4);
      expect(worker.encoder).toBeInstanceOf(OnnxEncoder);
      expect(phases).toEqual(['onnx-export', 'onnx-session', 'self-check']);
      expect(tfjsStarted).toBe(0);
      expect(here.choice.engine).toBe('onnx');
      expect(worker.encoder.version).toBe(here.encoder.version);
      const points = worker.encoder.grid.points;
      const x = spectra(points, 5);
      // Same weights, same exporter, same onnxruntime: the same numbers, not merely close ones.
      expect(Array.from(await worker.encoder.embed(x, 5))).toEqual(Array.from(await here.encoder.embed(x, 5)));
      // The self-check compared against tfjs's probe embeddings made in the worker: its difference is the in-thread one.
      expect(worker.choice.maxDifference).toBe(here.choice.maxDifference);
    } finally {
      worker.encoder.dispose();
      here.encoder.dispose();
    }
  }, 120_000);

  it('an exporter that fails (worker crash, unreadable model) is logged and the export made on this thread', async () => {
    const logs: string[] = [];
    let tfjsStarted = 0;
    const failing: OnnxExporter = () => Promise.reject(new Error('onnx export worker exited (code 1) without an answer'));
    const loaded = await loadInferenceEncoder(BUNDLED, { exporter: failing, initTfjs: async () => {
        tfjsStarted++;
        await startTfjs();
      }, logger: (m) => logs.push(m) });
    try {
      expect(loaded.choice.engine).toBe('onnx');
      expect(logs[0]).toBe('engine: onnx export elsewhere failed (onnx export worker exited (code 1) without an answer), exporting on this thread');
      expect(tfjsStarted).toBe(1);
    } finally {
      loaded.encoder.dispose();
    }
  }, 120_000);

  it('a model that cannot be exported is served by tfjs, started on this thread only then', async () => {
    let tfjsStarted = 0;
    const unsupported: OnnxExporter = () => Promise.reject(new SpectrumInputError('onnx-unsupported', 'layer Conv1D with strides 2 cannot be exported'));
    const loaded = await loadInferenceEncoder(BUNDLED, { exporter: unsupported, initTfjs: async () => {
        tfjsStarted++;
        await startTfjs();
      } });
    try {
      expect(loaded.choice).toEqual({ engine: 'tfjs', reason: 'onnx unavailable (layer Conv1D with strides 2 cannot be exported), using tfjs' });
      expect(tfjsStarted).toBe(1);
      expect((await loaded.encoder.embed(spectra(loaded.encoder.grid.points, 1), 1)).length).toBe(loaded.encoder.dim);
    } finally {
      loaded.encoder.dispose();
    }
  }, 120_000);

  it('tfjs forced: the exporter is not asked', async () => {
    let asked = 0;
    const counting: OnnxExporter = (dir) => {
      asked++;
      return exportInWorkerThread('wasm')(dir);
    };
    const loaded = await loadInferenceEncoder(BUNDLED, { engine: 'tfjs', exporter: counting, initTfjs: startTfjs });
    try {
      expect(loaded.choice).toEqual({ engine: 'tfjs', reason: 'forced' });
      expect(asked).toBe(0);
    } finally {
      loaded.encoder.dispose();
    }
  }, 120_000);

  it('a missing model is refused with its own error, not hidden by the worker', async () => {
    await expect(loadInferenceEncoder('/nonexistent/model-dir', { exporter: exportInWorkerThread('wasm'), initTfjs: startTfjs })).rejects.toBeInstanceOf(SpectrumInputError);
  }, 120_000);
});
