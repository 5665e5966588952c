import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine, tf } from '../../core/engine/index.ts';
import { DerivativeChannel, RollingBaseline, SignedPower } from '../../core/encoder/input-transforms.ts';
import { buildEncoderModel, getArchitecture } from '../../core/encoder/architectures.ts';
import { rollingMinBaseline } from '../../core/identify/spectral/spectral-match.ts';
import { SpectrumInputError } from '../../core/errors.ts';

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});

/** A sloped fluorescence-like baseline under a broad and a narrow band, with a ripple. */
function spectrum(n: number): number[] {
  return Array.from({ length: n }, (_, i) => 0.3 + 0.001 * i + Math.exp(-((i - 100) ** 2) / 20) + 0.5 * Math.exp(-((i - 250) ** 2) / 8) + 0.05 * Math.sin(i));
}

describe('SignedPower', () => {
  it('is sign(y) |y|^p: the square root keeps the sign, 0 and +-1', () => {
    const out = (new SignedPower({ exponent: 0.5 }).apply(tf.tensor1d([-4, -1, 0, 0.25, 1])) as tf.Tensor).arraySync() as number[];
    [-2, -1, 0, 0.5, 1].forEach((v, i) => expect(out[i]).toBeCloseTo(v, 6));
  });

  it('refuses an exponent outside (0, 1]', () => {
    expect(() => new SignedPower({ exponent: 0 })).toThrow(SpectrumInputError);
    expect(() => new SignedPower({ exponent: 1.5 })).toThrow(SpectrumInputError);
  });
});

describe('RollingBaseline', () => {
  it('subtracts the spectral match\'s rolling-minimum baseline, ends included (batch of 2)', () => {
    const n = 300;
    const a = spectrum(n);
    const b = a.map((v, i) => v * 0.5 + 0.002 * (n - i));
    const out = (new RollingBaseline({ window: 40 }).apply(tf.tensor3d([...a, ...b], [2, n, 1])) as tf.Tensor).dataSync();
    for (const [row, y] of [a, b].entries()) {
      const base = rollingMinBaseline(y, 40);
      for (let i = 0; i < n; i++) expect(Math.abs(out[row * n + i] - (y[i] - base[i]))).toBeLessThan(1e-5);
    }
  });

  it('flattens a slope and keeps a narrow band', () => {
    const n = 400;
    const y = Array.from({ length: n }, (_, i) => 0.5 + i / n + Math.exp(-((i - 200) ** 2) / 10));
    const out = (new RollingBaseline({ window: 60 }).apply(tf.tensor3d(y, [1, n, 1])) as tf.Tensor).dataSync();
    expect(out[200]).toBeGreaterThan(0.9);
    expect(Math.abs(out[50])).toBeLessThan(0.02);
  });

  it('refuses a window below 3 or not an integer', () => {
    expect(() => new RollingBaseline({ window: 2 })).toThrow(SpectrumInputError);
    expect(() => new RollingBaseline({ window: 10.5 })).toThrow(SpectrumInputError);
  });
});

describe('DerivativeChannel', () => {
  it('puts the input and scale x the central difference of its 5-point moving average side by side', () => {
    const n = 120;
    const y = spectrum(n + 40).slice(40);
    const out = (new DerivativeChannel({ smooth: 5, scale: 5 }).apply(tf.tensor3d(y, [1, n, 1])) as tf.Tensor).arraySync() as number[][][];
    expect(out[0].length).toBe(n);
    const avg = (i: number): number => [-2, -1, 0, 1, 2].reduce((s, m) => s + (y[i + m] ?? 0), 0) / 5; // zeros past the ends
    for (let i = 0; i < n; i++) {
      expect(out[0][i][0]).toBeCloseTo(y[i], 6);
      expect(out[0][i][1]).toBeCloseTo((5 * (avg(i + 1) - avg(i - 1))) / 2, 5);
    }
  });

  it('refuses an even smoothing width and a non-positive scale', () => {
    expect(() => new DerivativeChannel({ smooth: 4 })).toThrow(SpectrumInputError);
    expect(() => new DerivativeChannel({ scale: 0 })).toThrow(SpectrumInputError);
  });
});

describe('phys-shallow variants', () => {
  it('build on the 1400-point grid with the embedding size they name, and round-trip through model.json', async () => {
    for (const [name, dim] of [['phys-shallow-sqrt', 128], ['phys-shallow-bsqrt', 128], ['phys-shallow-full', 128], ['phys-shallow-bsqrt-3', 128], ['phys-shallow-gmax', 128], ['phys-shallow-64', 64], ['phys-shallow-deriv', 128]] as const) {
      const model = buildEncoderModel(getArchitecture(name), 1);
      expect(model.outputs[0].shape).toEqual([null, dim]);
      const x = tf.tensor3d(Float32Array.from({ length: 1400 }, (_, i) => Math.exp(-((i - 700) ** 2) / 30)), [1, 1400, 1]);
      const before = (model.predict(x) as tf.Tensor).dataSync();
      const saved = await new Promise<tf.io.ModelArtifacts>((resolve) => void model.save(tf.io.withSaveHandler(async (a) => (resolve(a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }))));
      const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved));
      const after = (loaded.predict(x) as tf.Tensor).dataSync();
      for (let i = 0; i < dim; i++) expect(after[i]).toBeCloseTo(before[i], 5);
      x.dispose();
      model.dispose();
      loaded.dispose();
    }
  }, 60_000);
});
