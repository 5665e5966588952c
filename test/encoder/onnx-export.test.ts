import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine, tf } from '../../core/engine/index.ts';
import { buildEncoderModel, getArchitecture } from '../../core/encoder/architectures.ts';
import { exportEncoderToOnnx } from '../../core/encoder/onnx-export.ts';
import { L2Normalize } from '../../core/encoder/layers.ts';
import { SpectrumInputError } from '../../core/errors.ts';
import { OnnxEncoder, probeSpectra } from '../../core/engine/onnx.ts';
import type { InputGrid } from '../../core/encoder/types.ts';

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});

/** Deterministic uniform values in [lo, hi). */
function uniform(n: number, lo: number, hi: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((hi - lo) * s) / 2 ** 32;
  }
  return out;
}

/**
 * Gives every batch-norm layer trained-looking statistics and every bias a non-zero value, so an export that dropped
 * or misordered them (or confused mean with variance) would show in the outputs.
 */
function trainedLooking(model: tf.LayersModel, seed: number): tf.LayersModel {
  const ranges: Record<string, [number, number]> = { gamma: [0.5, 1.5], beta: [-0.2, 0.2], moving_mean: [-0.3, 0.3], moving_variance: [0.3, 2], bias: [-0.1, 0.1] };
  const values = model.weights.map((w, i) => {
    const short = w.originalName.split('/').pop() ?? '';
    const range = ranges[short];
    const shape = w.shape.map((d) => d ?? 1);
    const size = shape.reduce((a, b) => a * b, 1);
    return range ? tf.tensor(uniform(size, range[0], range[1], seed * 1000 + i), shape) : w.read().clone();
  });
  model.setWeights(values);
  tf.dispose(values);
  return model;
}

function gridOf(points: number): InputGrid {
  return { points, xStart: 0, xEnd: points - 1, xUnit: 'index' };
}

/** Benchmark-like rows (peaks, flat, noisy, negative dip) and uniform noise rows, n in all. */
function spectra(points: number, n: number): Float32Array {
  const out = new Float32Array(n * points);
  const probes = probeSpectra(points, Math.min(n, 4));
  out.set(probes);
  out.set(uniform((n - probes.length / points) * points, -1, 1, 7), probes.length);
  return out;
}

function tfjsEmbed(model: tf.LayersModel, x: Float32Array, n: number, points: number): Float32Array {
  return tf.tidy(() => (model.predict(tf.tensor3d(x, [n, points, 1])) as tf.Tensor).dataSync() as Float32Array);
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

async function onnxOf(model: tf.LayersModel, points: number, batchSize?: number): Promise<OnnxEncoder> {
  const dim = model.outputs[0].shape[1] as number;
  return OnnxEncoder.create(exportEncoderToOnnx(model), { grid: gridOf(points), dim, version: 'test' }, { batchSize });
}

describe('ONNX export equals tfjs within 1e-4', () => {
  for (const arch of ['seed', 'lite', 'tiny', 'tiny-lin', 'deep', 'wide-log', 'phys-shallow-bsqrt', 'phys-shallow-bsqrt-3', 'phys-shallow-gmax', 'phys-shallow-deriv']) {
    it(`${arch}: random weights, batch 1 and 64`, async () => {
      const spec = getArchitecture(arch);
      const model = trainedLooking(buildEncoderModel(spec, 5), 5);
      const onnx = await onnxOf(model, spec.inputPoints);
      try {
        for (const n of [1, 64]) {
          const x = spectra(spec.inputPoints, n);
          const expected = tfjsEmbed(model, x, n, spec.inputPoints);
          const got = await onnx.embed(x, n);
          expect(got.length).toBe(n * onnx.dim);
          expect(maxAbsDiff(got, expected)).toBeLessThan(1e-4);
        }
      } finally {
        onnx.dispose();
        model.dispose();
      }
    }, 120_000);
  }

  /** Small models that reach the exporter's other paths: even 'same' kernels, Flatten without Dense, global pools. */
  const small: Array<[string, () => tf.layers.Layer[]]> = [
    ['even kernel with same padding, conv relu, dense on BN', () => [
      tf.layers.conv1d({ filters: 3, kernelSize: 4, padding: 'same', activation: 'relu' }),
      tf.layers.maxPooling1d({ poolSize: 3 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 8, activation: 'relu' }),
      tf.layers.batchNormalization({ epsilon: 1e-5 }),
      tf.layers.dense({ units: 5 }),
      new L2Normalize(),
    ]],
    ['flatten straight into L2 (transpose path), dropout', () => [
      tf.layers.conv1d({ filters: 4, kernelSize: 3, padding: 'valid' }),
      tf.layers.averagePooling1d({ poolSize: 2 }),
      tf.layers.dropout({ rate: 0.5 }),
      tf.layers.flatten(),
      new L2Normalize(),
    ]],
    ['global average and max pools', () => [
      tf.layers.conv1d({ filters: 6, kernelSize: 5, padding: 'same' }),
      tf.layers.leakyReLU({ alpha: 0.2 }),
      tf.layers.globalMaxPooling1d(),
      tf.layers.dense({ units: 4 }),
      new L2Normalize(),
    ]],
    ['global average pool', () => [tf.layers.conv1d({ filters: 6, kernelSize: 5, padding: 'same' }), tf.layers.reLU(), tf.layers.globalAveragePooling1d(), new L2Normalize()]],
  ];
  for (const [what, layers] of small) {
    it(what, async () => {
      const points = 37;
      const model = tf.sequential({ layers: [tf.layers.inputLayer({ inputShape: [points, 1] }), ...layers()] });
      trainedLooking(model, 9);
      const onnx = await onnxOf(model, points);
      try {
        const n = 10;
        const x = spectra(points, n);
        expect(maxAbsDiff(await onnx.embed(x, n), tfjsEmbed(model, x, n, points))).toBeLessThan(1e-4);
      } finally {
        onnx.dispose();
        model.dispose();
      }
    });
  }

  it('a batch larger than one session run comes back in order (subarray offsets)', async () => {
    const spec = getArchitecture('tiny');
    const model = trainedLooking(buildEncoderModel(spec, 2), 2);
    const whole = await onnxOf(model, spec.inputPoints);
    const chunked = await onnxOf(model, spec.inputPoints, 3);
    try {
      const n = 8;
      const x = spectra(spec.inputPoints, n);
      const a = await whole.embed(x, n);
      const b = await chunked.embed(x, n);
      expect(maxAbsDiff(a, b)).toBe(0);
      expect(maxAbsDiff(a, tfjsEmbed(model, x, n, spec.inputPoints))).toBeLessThan(1e-4);
    } finally {
      whole.dispose();
      chunked.dispose();
      model.dispose();
    }
  });
});

describe('ONNX export refuses what it cannot map, onnxruntime refuses malformed models', () => {
  it('a strided convolution, an LSTM and a 2D input are onnx-unsupported errors', () => {
    const strided = tf.sequential({ layers: [tf.layers.inputLayer({ inputShape: [20, 1] }), tf.layers.conv1d({ filters: 2, kernelSize: 3, strides: 2 }), tf.layers.flatten()] });
    const lstm = tf.sequential({ layers: [tf.layers.inputLayer({ inputShape: [20, 1] }), tf.layers.lstm({ units: 2 })] });
    const flat = tf.sequential({ layers: [tf.layers.inputLayer({ inputShape: [20] }), tf.layers.dense({ units: 2 })] });
    for (const [model, pattern] of [[strided, /stride 1/], [lstm, /LSTM/], [flat, /input \[n, points, 1\]/]] as const) {
      let caught: unknown;
      try {
        exportEncoderToOnnx(model);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(SpectrumInputError);
      expect((caught as SpectrumInputError).code).toBe('onnx-unsupported');
      expect((caught as Error).message).toMatch(pattern);
      model.dispose();
    }
  });

  it('garbage and truncated bytes are onnx-invalid errors, never a crash', async () => {
    const model = buildEncoderModel(getArchitecture('tiny-lin'), 1);
    const good = exportEncoderToOnnx(model);
    model.dispose();
    const meta = { grid: gridOf(5000), dim: 64, version: 'x' };
    for (const bytes of [new Uint8Array(0), Uint8Array.from({ length: 100 }, (_, i) => (i * 37) & 0xff), good.subarray(0, Math.floor(good.length / 2))]) {
      await expect(OnnxEncoder.create(bytes, meta)).rejects.toMatchObject({ code: 'onnx-invalid' });
    }
  });

  it('a batch of the wrong length is a bad-batch error; threads outside 1-64 are refused', async () => {
    const model = buildEncoderModel(getArchitecture('tiny-lin'), 1);
    const bytes = exportEncoderToOnnx(model);
    model.dispose();
    const meta = { grid: gridOf(5000), dim: 64, version: 'x' };
    const onnx = await OnnxEncoder.create(bytes, meta);
    try {
      await expect(onnx.embed(new Float32Array(4999), 1)).rejects.toMatchObject({ code: 'bad-batch' });
      expect((await onnx.embed(new Float32Array(0), 0)).length).toBe(0);
    } finally {
      onnx.dispose();
    }
    await expect(OnnxEncoder.create(bytes, meta, { threads: 0 })).rejects.toMatchObject({ code: 'bad-threads' });
  });
});
