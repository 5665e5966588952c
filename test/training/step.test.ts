/**
 * First gradients, then several whole training steps (core/training's trainStep: triplet loss, gradients, AdamW) on wasm with our kernels
 * and on tfjs's reference cpu backend, from the same weights on the same batch.
 * This runs every kernel and gradient of ours together (conv gradients, max-pool gradients for pool 2 and 4,
 * batch-norm in training mode through the lean Sum/Mean gradients, LeakyReLU, dense layers).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine, tf } from '../../core/engine/index.ts';
import { buildEncoderModel, type ArchitectureSpec } from '../../core/encoder/architectures.ts';
import { AdamW } from '../../core/training/adamw.ts';
import { normalizeRows } from '../../core/training/augment.ts';
import { PAPER_LOSS, tripletLoss } from '../../core/training/loss.ts';
import { trainStep } from '../../core/training/step.ts';
import { relativeError } from '../engine/compare.ts';
import { POINTS, TEST_ARCH, tinyProblem } from './tiny-problem.ts';

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});

/** tiny's layout in small: average pool, then pool-4 blocks with batch norm, a ReLU dense layer. */
const POOL4_ARCH: ArchitectureSpec = {
  name: 'test-pool4',
  description: 'test: AvgPool2, Conv(8,k7)-MaxPool4-LeakyReLU-BN, Conv(16,k5)-MaxPool4-LeakyReLU-BN, Flatten, Dense(24,relu), Dense(12), L2',
  inputPoints: POINTS,
  layers: [
    { kind: 'avgPool1d', poolSize: 2 },
    { kind: 'conv1d', filters: 8, kernelSize: 7, padding: 'same' },
    { kind: 'maxPool1d', poolSize: 4 },
    { kind: 'leakyReLU', alpha: 0.01 },
    { kind: 'batchNorm' },
    { kind: 'conv1d', filters: 16, kernelSize: 5, padding: 'same' },
    { kind: 'maxPool1d', poolSize: 4 },
    { kind: 'leakyReLU', alpha: 0.01 },
    { kind: 'batchNorm' },
    { kind: 'flatten' },
    { kind: 'dense', units: 24, activation: 'relu' },
    { kind: 'dense', units: 12 },
    { kind: 'l2Normalize' },
  ],
};

const STEPS = 4;
const P = 6;
const K = 4;

function trainOn(backend: 'wasm' | 'cpu', arch: ArchitectureSpec): { losses: number[] } {
  const before = tf.getBackend();
  void tf.setBackend(backend);
  try {
    const data = tinyProblem(K, 11);
    const x = normalizeRows(data.x, data.n, POINTS);
    // Rows of the P x K batch in sampler order (class by class), the same every step: the loss must keep falling.
    const order = Array.from({ length: P * K }, (_, i) => Math.floor(i / K) * K + (i % K));
    const batch = new Float32Array(P * K * POINTS);
    order.forEach((row, i) => batch.set(x.subarray(row * POINTS, (row + 1) * POINTS), i * POINTS));
    const labels = Int32Array.from(order, (row) => data.y[row]);
    const model = buildEncoderModel(arch, 7);
    const trainable = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const optimizer = new AdamW({ weightDecay: 1e-3 });
    const losses: number[] = [];
    for (let s = 0; s < STEPS; s++) {
      losses.push(trainStep({ model, trainable, optimizer, x: batch, points: POINTS, labels, loss: { ...PAPER_LOSS, mining: 'batch-all' }, lr: 5e-3 }));
    }
    optimizer.dispose();
    model.dispose();
    return { losses };
  } finally {
    void tf.setBackend(before);
  }
}

/** Gradients of the paper loss for every trainable variable, on one backend, from the arch's seeded weights. */
function firstGradients(backend: 'wasm' | 'cpu', arch: ArchitectureSpec): Float32Array[] {
  const before = tf.getBackend();
  void tf.setBackend(backend);
  try {
    const data = tinyProblem(K, 11);
    const x = normalizeRows(data.x, data.n, POINTS);
    const model = buildEncoderModel(arch, 7);
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const out = tf.tidy(() => {
      const { grads } = tf.variableGrads(() => tripletLoss(model.apply(tf.tensor3d(x, [data.n, POINTS, 1]), { training: true }) as tf.Tensor2D, data.y, PAPER_LOSS), vars);
      return vars.map((v) => Float32Array.from(grads[v.name].dataSync()));
    });
    model.dispose();
    return out;
  } finally {
    void tf.setBackend(before);
  }
}

describe('trainStep: wasm (our kernels) against cpu', () => {
  it.each([TEST_ARCH, POOL4_ARCH])('$name: every variable\'s gradient agrees within 1e-4 relative', (arch) => {
    const wasm = firstGradients('wasm', arch);
    const cpu = firstGradients('cpu', arch);
    expect(wasm.length).toBe(cpu.length);
    wasm.forEach((g, i) => expect(relativeError(g, cpu[i]), `variable ${i}`).toBeLessThan(1e-4));
  });

  // Adam moves a weight by ~lr whatever its gradient's size, so a gradient that is rounding noise on one backend
  // (~1e-7) may step the other way, and the trajectories drift apart by a few lr: the losses, not the weights, are
  // compared over several steps. A wrong gradient (the stock max-pool bug) moves the loss by far more.
  it.each([TEST_ARCH, POOL4_ARCH])('$name: 4 AdamW steps give the same losses, falling', (arch) => {
    const wasm = trainOn('wasm', arch);
    const cpu = trainOn('cpu', arch);
    expect(wasm.losses[0], 'the first batch has triplets above the threshold').toBeGreaterThan(0.3);
    expect(wasm.losses[STEPS - 1], 'training on one batch lowers its loss').toBeLessThan(wasm.losses[0] - 0.02);
    wasm.losses.forEach((l, s) => expect(Math.abs(l - cpu.losses[s]), `loss at step ${s}: ${l} vs ${cpu.losses[s]}`).toBeLessThan(5e-3));
  });
});
