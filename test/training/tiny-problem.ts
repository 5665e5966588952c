import { createRng } from '../../core/math/rng.ts';
import type { ArchitectureSpec } from '../../core/encoder/architectures.ts';
import type { Dataset } from '../../core/training/index.ts';

export const POINTS = 128;

/** A small encoder for fast tests: same layer kinds as the real ones, 128-point input, 16-d embedding. */
export const TEST_ARCH: ArchitectureSpec = {
  name: 'test-small',
  description: 'test: Conv(8,k5)-MaxPool2-LeakyReLU-BN, Conv(16,k5)-MaxPool2-LeakyReLU, Flatten, Dense(32,relu), Dense(16), L2',
  inputPoints: POINTS,
  layers: [
    { kind: 'conv1d', filters: 8, kernelSize: 5, padding: 'same' },
    { kind: 'maxPool1d', poolSize: 2 },
    { kind: 'leakyReLU', alpha: 0.01 },
    { kind: 'batchNorm' },
    { kind: 'conv1d', filters: 16, kernelSize: 5, padding: 'same' },
    { kind: 'maxPool1d', poolSize: 2 },
    { kind: 'leakyReLU', alpha: 0.01 },
    { kind: 'flatten' },
    { kind: 'dense', units: 32, activation: 'relu' },
    { kind: 'dense', units: 16 },
    { kind: 'l2Normalize' },
  ],
};

/**
 * Classes that differ only in the heights of three peaks at shared positions, each sample shifted by up to +-6
 * points with jittered heights and widths: position alone says nothing, so the encoder has to learn height ratios.
 */
export function tinyProblem(perClass: number, seed: number, classes = 6): Dataset {
  const rng = createRng(seed);
  const centres = [30, 64, 98];
  // the six orderings of heights (1, 0.75, 0.55): close enough that width and height jitter blur them
  const orders = [[1, 0.75, 0.55], [0.55, 0.75, 1], [0.75, 1, 0.55], [1, 0.55, 0.75], [0.75, 0.55, 1], [0.55, 1, 0.75]];
  if (classes > orders.length) throw new RangeError(`at most ${orders.length} classes`);
  const patterns = orders.slice(0, classes);
  const n = classes * perClass;
  const x = new Float32Array(n * POINTS);
  const y = new Int32Array(n);
  for (let c = 0; c < classes; c++) {
    for (let s = 0; s < perClass; s++) {
      const row = c * perClass + s;
      y[row] = c;
      const shift = rng.int(-6, 7);
      for (let j = 0; j < 3; j++) {
        const h = patterns[c][j] * rng.uniform(0.88, 1.12);
        const sigma = rng.uniform(2, 4);
        const mu = centres[j] + shift;
        for (let i = 0; i < POINTS; i++) x[row * POINTS + i] += h * Math.exp(-((i - mu) ** 2) / (2 * sigma * sigma));
      }
    }
  }
  return { x, y, n, points: POINTS };
}
