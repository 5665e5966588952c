/**
 * The seed encoder end to end: whole-model gradients and a few Adam steps on wasm (our kernels) agree with the cpu
 * reference backend.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../core/engine/index.ts';
import { onBackend, randomValues, relativeError, useWasmEngine } from './compare.ts';
import { buildSeedModel } from '../../support/seed-model.ts';

beforeAll(useWasmEngine);

/** Cosine triplet-style loss over consecutive rows, so the L2-normalised output gets a realistic gradient. */
function tripletLoss(emb: tf.Tensor2D): tf.Scalar {
  const n = emb.shape[0];
  const a = tf.slice(emb, [0, 0], [n - 2, -1]);
  const p = tf.slice(emb, [1, 0], [n - 2, -1]);
  const q = tf.slice(emb, [2, 0], [n - 2, -1]);
  const dPos = tf.sub(1, tf.sum(tf.mul(a, p), 1));
  const dNeg = tf.sub(1, tf.sum(tf.mul(a, q), 1));
  return tf.mean(tf.relu(tf.add(tf.sub(dPos, dNeg), 1)));
}

function modelGradients(model: tf.LayersModel, xs: Float32Array, shape: [number, number, number]): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.tensor3d(xs, shape);
    const { grads } = tf.variableGrads(() => tripletLoss(model.apply(x, { training: true }) as tf.Tensor2D), model.trainableWeights.map((w) => w.read() as tf.Variable));
    return Object.keys(grads)
      .sort()
      .map((k) => Float32Array.from(grads[k].dataSync()));
  });
}

describe('seed model (Conv1D-MaxPool-LeakyReLU-BN x3, Dense(64), L2) on wasm vs cpu', () => {
  // The kernels are shape-generic and cpu's reference convolutions are slow, so 800 points keep this short;
  // `npm run bench:train` checks the same at the full 5000.
  it('whole-model gradients agree within 1e-4 relative', () => {
    const points = 800;
    const batch = 3;
    const model = buildSeedModel(points, 3);
    const xs = randomValues(batch * points, 7);
    const wasm = onBackend('wasm', () => modelGradients(model, xs, [batch, points, 1]));
    const cpu = onBackend('cpu', () => modelGradients(model, xs, [batch, points, 1]));
    expect(wasm.length).toBe(model.trainableWeights.length);
    wasm.forEach((g, i) => {
      const err = relativeError(g, cpu[i]);
      expect(err, `weight ${model.trainableWeights[i]?.name}: ${err}`).toBeLessThanOrEqual(1e-4);
    });
    model.dispose();
  }, 120_000);

  it('three Adam steps give the same weights on both backends', () => {
    const points = 300;
    const batch = 6;
    const xs = randomValues(batch * points, 11);
    const train = (backend: 'wasm' | 'cpu'): Float32Array[] =>
      onBackend(backend, () => {
        const model = buildSeedModel(points, 5);
        const opt = tf.train.adam(1e-3);
        const x = tf.tensor3d(xs, [batch, points, 1]);
        for (let step = 0; step < 3; step++) {
          opt.minimize(() => tripletLoss(model.apply(x, { training: true }) as tf.Tensor2D))?.dispose();
        }
        const weights = model.getWeights().map((w) => Float32Array.from(w.dataSync()));
        x.dispose();
        opt.dispose();
        model.dispose();
        return weights;
      });
    const wasm = train('wasm');
    const cpu = train('cpu');
    expect(wasm.length).toBeGreaterThan(0);
    wasm.forEach((w, i) => {
      let maxDiff = 0;
      for (let j = 0; j < w.length; j++) maxDiff = Math.max(maxDiff, Math.abs(w[j] - cpu[i][j]));
      // Adam's first steps are about lr * sign(g) = 1e-3 per weight, so one wrong gradient sign moves a weight by
      // ~2e-3; gradients that are pure rounding noise (|g| ~ Adam's epsilon) may differ by a fraction of a step.
      expect(maxDiff, `weight ${i}`).toBeLessThanOrEqual(2e-4);
    });
  }, 120_000);

  it('training on wasm leaks no tensors per step', () => {
    const model = buildSeedModel(200, 1);
    const opt = tf.train.adam(1e-3);
    const x = tf.tensor3d(randomValues(6 * 200, 3), [6, 200, 1]);
    const step = () => opt.minimize(() => tripletLoss(model.apply(x, { training: true }) as tf.Tensor2D))?.dispose();
    step();
    const before = tf.memory().numTensors;
    step();
    step();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    opt.dispose();
    model.dispose();
  });
});
