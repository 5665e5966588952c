/**
 * The product's own training step (core/training trainStep: triplet loss, AdamW) on the product's `tiny` architecture,
 * wasm with all our kernels (SIMD filter gradient incl. widened first layers, SIMD max-pool gradient for pools 2 and
 * 4, leading-axis reductions, SIMD transposes) against the cpu reference backend: same start, three steps, same
 * weights. Shorter inputs than the benchmark's 5000 points keep the cpu side quick; the kernels are shape-generic.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../core/engine/index.ts';
import { buildEncoderModel, TINY, type ArchitectureSpec } from '../../core/encoder/architectures.ts';
import { AdamW } from '../../core/training/adamw.ts';
import { trainStep } from '../../core/training/step.ts';
import { onBackend, randomValues, useWasmEngine } from './compare.ts';

beforeAll(useWasmEngine);

function trainThreeSteps(arch: ArchitectureSpec, backend: 'wasm' | 'cpu', start: Float32Array[], x: Float32Array, labels: Int32Array): Float32Array[] {
  return onBackend(backend, () => {
    const model = buildEncoderModel(arch);
    tf.tidy(() => model.setWeights(start.map((w, i) => tf.tensor(w, model.getWeights()[i].shape))));
    const trainable = model.trainableWeights.map((w) => w.read() as tf.Variable);
    // Adam turns any gradient far above epsilon into a step of ~lr whatever its size, so a weight whose true gradient
    // is ~0 (rounding noise, |g| ~ 1e-7) would step +-lr on a coin flip per backend; epsilon 1e-3 (gradients here are
    // 1e-2..1) keeps such noise at noise level while every real gradient still takes an Adam step.
    const optimizer = new AdamW({ weightDecay: 1e-4, epsilon: 1e-3 });
    // Threshold 0 (every triplet with a positive loss counts): the paper's 0.3 cut could flip a borderline triplet
    // between backends on rounding alone.
    for (let step = 0; step < 3; step++) trainStep({ model, trainable, optimizer, x, points: arch.inputPoints, labels, loss: { margin: 1, threshold: 0, mining: 'batch-all' }, lr: 1e-3 });
    const weights = model.getWeights().map((w) => Float32Array.from(w.dataSync()));
    optimizer.dispose();
    model.dispose();
    return weights;
  });
}

// seed's layer stack is covered by seed-model.test.ts (same kernels, pool 2); its cpu side is too slow to repeat here.
const cases: Array<{ arch: ArchitectureSpec; points: number }> = [
  { arch: TINY, points: 256 }, // AvgPool4, k9 (1 -> 32, widened to 12 taps), pool 4, k7 (32 -> 64), ReLU head
];

describe('trainStep on wasm (our kernels) vs cpu', () => {
  cases.forEach(({ arch, points }) => {
    it(`${arch.name} at ${points} points: three AdamW steps give the same weights`, () => {
      const spec: ArchitectureSpec = { ...arch, name: `${arch.name}-short`, inputPoints: points };
      const batch = 8;
      const start = onBackend('wasm', () => {
        const model = buildEncoderModel(spec, 4);
        const w = model.getWeights().map((t) => Float32Array.from(t.dataSync()));
        model.dispose();
        return w;
      });
      const x = randomValues(batch * points, 300, { lo: 0, hi: 1 });
      const labels = Int32Array.from({ length: batch }, (_, i) => Math.floor(i / 2));
      const wasm = trainThreeSteps(spec, 'wasm', start, x, labels);
      const cpu = trainThreeSteps(spec, 'cpu', start, x, labels);
      expect(wasm.length).toBe(start.length);
      let moved = 0;
      wasm.forEach((w, i) => {
        let maxDiff = 0;
        for (let j = 0; j < w.length; j++) {
          maxDiff = Math.max(maxDiff, Math.abs(w[j] - cpu[i][j]));
          moved = Math.max(moved, Math.abs(w[j] - start[i][j]));
        }
        // A real step is ~lr = 1e-3, so a wrong gradient (sign or size) shows as 1e-4..2e-3.
        expect(maxDiff, `weight ${i} (${w.length} values)`).toBeLessThanOrEqual(5e-5);
      });
      // The comparison means something only if training moved the weights.
      expect(moved).toBeGreaterThan(1e-3);
    }, 120_000);
  });
});
