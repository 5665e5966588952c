/**
 * The fused training batch norm (core/engine/wasm/batch-norm-training.ts) against tfjs-layers' own training call on
 * the cpu backend: outputs, moving statistics and gradients for odd row counts, batch 1, several float64 blocks,
 * rank 3 and 4, data far from zero, a constant channel, and the cases that must fall back (channels not a multiple
 * of 4, inference).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ALL_PATHS, setWasmPaths, tf, WITHOUT_TRAINING_PATHS } from '../../core/engine/index.ts';
import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD } from '../../core/engine/wasm/batch-norm-training.ts';
import { BLOCK_ROWS } from '../../core/engine/wasm/simd/training-kernels.ts';
import { onBackend, randomValues, relativeError, runBoth, useWasmEngine } from './compare.ts';

beforeAll(useWasmEngine);

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

interface Case {
  readonly name: string;
  readonly shape: number[];
  /** Added to every input value: batch norm must stay accurate far from zero. */
  readonly offset?: number;
  /** Input values lie in offset + [-spread, spread]. */
  readonly spread?: number;
  /** Channel 0 holds one value everywhere (variance 0). */
  readonly constantChannel?: boolean;
}

function inputValues(c: Case, seed: number): Float32Array {
  const v = randomValues(size(c.shape), seed, { lo: -(c.spread ?? 1), hi: c.spread ?? 1 });
  const ch = c.shape[c.shape.length - 1];
  for (let i = 0; i < v.length; i++) {
    v[i] += c.offset ?? 0;
    if (c.constantChannel && i % ch === 0) v[i] = 0.25;
  }
  return v;
}

/**
 * One training call of a BatchNormalization layer with random gamma, beta and moving statistics, twice (so the
 * moving averages are updated twice), and the gradients of sum(y * r) with respect to x, gamma and beta.
 * Returns [y, gradients (x, gamma, beta), moving mean, moving variance].
 */
function layerTraining(c: Case, seed: number): tf.Tensor[] {
  const ch = c.shape[c.shape.length - 1];
  const layer = tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5 });
  const x = tf.variable(tf.tensor(inputValues(c, seed), c.shape), true, `bn-x-${seed}-${tf.getBackend()}`);
  layer.build(c.shape);
  layer.setWeights([
    tf.tensor1d(randomValues(ch, seed + 1, { lo: 0.5, hi: 1.5 })),
    tf.tensor1d(randomValues(ch, seed + 2)),
    tf.tensor1d(randomValues(ch, seed + 3)),
    tf.tensor1d(randomValues(ch, seed + 4, { lo: 0.5, hi: 2 })),
  ]);
  const r = tf.tensor(randomValues(size(c.shape), seed + 5), c.shape);
  const [gamma, beta] = layer.trainableWeights.map((w) => w.read() as tf.Variable);
  let y: tf.Tensor | undefined;
  const { grads } = tf.variableGrads(() => {
    y = tf.keep(layer.apply(x, { training: true }) as tf.Tensor);
    return tf.sum(tf.mul(y, r));
  }, [x, gamma, beta]);
  tf.tidy(() => {
    layer.apply(x, { training: true });
  });
  const [, , movingMean, movingVariance] = layer.getWeights().map((w) => tf.clone(w));
  const out = [y!, grads[x.name], grads[gamma.name], grads[beta.name], movingMean, movingVariance];
  x.dispose();
  layer.weights.forEach((w) => w.dispose());
  return out;
}

const cases: Case[] = [
  { name: 'odd row count, rank 3', shape: [3, 37, 8] },
  { name: 'batch 1, one row per channel block', shape: [1, 5, 4] },
  { name: `several ${BLOCK_ROWS}-row blocks and a remainder`, shape: [5, 77, 12] },
  { name: 'rank 4 (the conv2d layout), 16 channels', shape: [2, 9, 1, 16] },
  { name: 'rank 2', shape: [70, 32] },
  { name: 'far from zero (mean 300, spread 0.5)', shape: [4, 50, 8], offset: 300, spread: 0.5 },
  { name: 'a constant channel (variance 0)', shape: [2, 40, 8], constantChannel: true },
];

describe('fused training batch norm (wasm) vs tfjs-layers on cpu', () => {
  cases.forEach((c, i) => {
    it(c.name, () => {
      const { wasm, cpu } = runBoth(() => layerTraining(c, 100 + 10 * i));
      const names = ['y', 'dx', 'dgamma', 'dbeta', 'moving mean', 'moving variance'];
      wasm.forEach((w, k) => {
        const err = relativeError(w, cpu[k], 1e-3);
        // Far from zero, float32 inputs carry only ~3e-5 of relative precision around 300, so y (a difference of
        // nearly equal numbers, scaled up) and dx agree less closely there; both backends see the same inputs.
        const tolerance = c.offset ? 3e-3 : 5e-5;
        expect(err, `${names[k]}: relative error ${err}`).toBeLessThanOrEqual(tolerance);
      });
    });
  });

  it('the fused kernels are what ran on wasm (forward and gradient)', async () => {
    const info = await tf.profile(() => {
      const out = layerTraining(cases[0], 7);
      tf.dispose(out);
    });
    expect(info.kernelNames).toContain(BATCH_NORM_TRAIN);
    expect(info.kernelNames).toContain(BATCH_NORM_TRAIN_GRAD);
    expect(info.kernelNames).not.toContain('Square');
  });

  it('channels not a multiple of 4, inference and the switched-off path use tfjs-layers (same results)', async () => {
    const odd: Case = { name: 'six channels', shape: [3, 20, 6] };
    const oddRun = runBoth(() => layerTraining(odd, 40));
    oddRun.wasm.forEach((w, k) => expect(relativeError(w, oddRun.cpu[k], 1e-3)).toBeLessThanOrEqual(5e-5));
    const oddInfo = await onBackend('wasm', () => tf.profile(() => tf.dispose(layerTraining(odd, 41))));
    expect(oddInfo.kernelNames).not.toContain(BATCH_NORM_TRAIN);

    setWasmPaths(WITHOUT_TRAINING_PATHS);
    try {
      const offInfo = await onBackend('wasm', () => tf.profile(() => tf.dispose(layerTraining(cases[0], 42))));
      expect(offInfo.kernelNames).not.toContain(BATCH_NORM_TRAIN);
      const offRun = runBoth(() => layerTraining(cases[0], 43));
      offRun.wasm.forEach((w, k) => expect(relativeError(w, offRun.cpu[k], 1e-3)).toBeLessThanOrEqual(5e-5));
    } finally {
      setWasmPaths(ALL_PATHS);
    }

    const inference = runBoth(() => {
      const layer = tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5 });
      const y = layer.apply(tf.tensor(inputValues(cases[0], 44), cases[0].shape)) as tf.Tensor;
      const out = tf.keep(y);
      layer.weights.forEach((w) => w.dispose());
      return out;
    });
    expect(relativeError(inference.wasm[0], inference.cpu[0])).toBeLessThanOrEqual(1e-5);
  });

  it('leaves no more tensors behind than tfjs-layers does', () => {
    const growth = (fused: boolean): number =>
      onBackend('wasm', () => {
        setWasmPaths(fused ? ALL_PATHS : WITHOUT_TRAINING_PATHS);
        try {
          const step = () => {
            const layer = tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5 });
            const x = tf.variable(tf.tensor(inputValues(cases[0], 52), cases[0].shape));
            layer.build(cases[0].shape);
            const [gamma, beta] = layer.trainableWeights.map((w) => w.read() as tf.Variable);
            const { value, grads } = tf.variableGrads(() => tf.sum(layer.apply(x, { training: true }) as tf.Tensor), [x, gamma, beta]);
            tf.dispose([value, grads, x]);
            layer.weights.forEach((w) => w.dispose());
          };
          step();
          const before = tf.memory().numTensors;
          step();
          step();
          return tf.memory().numTensors - before;
        } finally {
          setWasmPaths(ALL_PATHS);
        }
      });
    expect(growth(true)).toBe(growth(false));
  });
});
