import { describe, expect, it } from 'vitest';
import { generateTestSplit, loadDefinition } from '../../core/benchmark/index.ts';
import type { InputGrid } from '../../core/encoder/types.ts';
import { SpectrumInputError } from '../../core/errors.ts';
import {
  checkPreprocessConfig,
  gridX,
  normalizeMaxAbs,
  type PreprocessConfig,
  preprocess,
  preprocessBatch,
  removeBaselineAirPLS,
  removeBaselineRollingBall,
  resampleToGrid,
  smoothSavitzkyGolay,
  validateSpectrum,
} from '../../core/preprocess/index.ts';
import { createSpectrum, type Spectrum } from '../../core/spectrum.ts';
import { firstDifference } from '../benchmark/bytes.ts';

const INDEX_GRID: InputGrid = { points: 5000, xStart: 0, xEnd: 4999, xUnit: 'index' };
const IR_GRID: InputGrid = { points: 3001, xStart: 500, xEnd: 3500, xUnit: 'cm-1' };

const gauss = (x: number, mu: number, sigma: number): number => Math.exp(-((x - mu) ** 2) / (2 * sigma * sigma));
/** A smooth test function with known values everywhere. */
const irShape = (x: number): number => gauss(x, 1200, 40) + 0.6 * gauss(x, 2900, 80) + 0.3 * gauss(x, 1700, 15);

function linspace(from: number, to: number, n: number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => from + ((to - from) * i) / (n - 1));
}

function irSpectrum(x: Float64Array, meta: Spectrum['meta'] = {}): Spectrum {
  return createSpectrum({ x, y: Array.from(x, irShape), xUnit: 'cm-1', meta });
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof SpectrumInputError) return err.code;
    throw err;
  }
  return 'accepted';
}

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / Math.sqrt(na * nb);
}

describe('preprocess: resampling and normalization', () => {
  it('passes a benchmark spectrum already on the grid through unchanged except for the max normalization', () => {
    const split = generateTestSplit(loadDefinition('benchmark'), { classes: [3] });
    const row = split.x.subarray(4 * 5000, 5 * 5000);
    const max = row.reduce((m, v) => Math.max(m, v), 0);
    const out = preprocess(createSpectrum({ y: row }), INDEX_GRID);
    expect(out).toBeInstanceOf(Float32Array);
    expect(out.length).toBe(5000);
    let worst = 0;
    out.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - row[i] / max))));
    expect(worst).toBeLessThan(1e-6);
  });

  it('interpolates a known function from a coarser, offset axis onto the grid', () => {
    // 1.7 cm-1 spacing, range 450..3600: wider than the grid, so every grid point is measured.
    const out = preprocess(irSpectrum(linspace(450, 3600, 1854)), IR_GRID, { resample: 'linear' });
    const gx = gridX(IR_GRID);
    const truth = Array.from(gx, irShape);
    const truthMax = Math.max(...truth);
    let worst = 0;
    out.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - truth[i] / truthMax))));
    // Linear interpolation error is bounded by h^2/8 max|f''|; for the narrowest peak (sigma 15, h 1.7) about 0.0016.
    expect(worst).toBeLessThan(0.003);
    expect(Math.max(...out)).toBeCloseTo(1, 6);
  });

  it('averages a much denser spectrum over each grid cell (auto picks smooth) and stays faithful', () => {
    const x = linspace(500, 3500, 30001); // 10 points per grid step
    const noisy = createSpectrum({ x, y: Array.from(x, (v, i) => irShape(v) + (i % 2 === 0 ? 0.05 : -0.05)), xUnit: 'cm-1' });
    const auto = preprocess(noisy, IR_GRID);
    const linear = preprocess(noisy, IR_GRID, { resample: 'linear' });
    const truth = Array.from(gridX(IR_GRID), irShape);
    const rms = (a: Float32Array) => Math.sqrt(a.reduce((s, v, i) => s + (v - truth[i]) ** 2, 0) / a.length);
    // The alternating +-0.05 noise cancels in cell averages but not in point samples.
    expect(rms(auto)).toBeLessThan(0.01);
    expect(rms(linear)).toBeGreaterThan(0.03);
  });

  it('reads a descending axis the same as the ascending one', () => {
    const x = linspace(400, 3600, 2000);
    const up = preprocess(irSpectrum(x), IR_GRID);
    const down = preprocess(createSpectrum({ x: x.slice().reverse(), y: Array.from(x, irShape).reverse(), xUnit: 'cm-1' }), IR_GRID);
    expect(firstDifference(down, up)).toBe(-1);
  });

  it('fills the grid with 0 outside the measured range', () => {
    const out = preprocess(irSpectrum(linspace(1000, 3600, 2600)), IR_GRID);
    const gx = gridX(IR_GRID);
    for (let i = 0; i < gx.length; i++) {
      if (gx[i] < 1000) expect(out[i]).toBe(0);
    }
    expect(out[gx.findIndex((v) => v >= 1200)]).toBeCloseTo(1, 2);
  });

  it('leaves its input untouched', () => {
    const s = irSpectrum(linspace(3600, 400, 1500));
    const x = s.x.slice();
    const y = s.y.slice();
    preprocess(s, IR_GRID, { steps: [{ kind: 'savitzkyGolay' }, { kind: 'rollingBall' }, { kind: 'airPLS' }] });
    expect(firstDifference(s.x, x)).toBe(-1);
    expect(firstDifference(s.y, y)).toBe(-1);
  });
});

describe('preprocess: smoothing and baseline steps', () => {
  const x = linspace(500, 3500, 3001);
  const clean = Array.from(x, irShape);
  const baseline = Array.from(x, (v) => 0.4 + 0.2 * Math.sin(v / 900) + 0.0001 * (v - 500));

  it('Savitzky-Golay smoothing reduces noise and keeps the peaks', () => {
    const noise = Array.from(x, (_, i) => 0.03 * Math.sin(i * 2.39996) * Math.cos(i * 0.7)); // deterministic, high frequency
    const noisy = createSpectrum({ x, y: clean.map((v, i) => v + noise[i]), xUnit: 'cm-1' });
    const smoothed = smoothSavitzkyGolay(noisy, { windowSize: 11, polynomial: 3 });
    const err = (y: ArrayLike<number>) => Math.sqrt(Array.from(y).reduce((s, v, i) => s + (v - clean[i]) ** 2, 0) / clean.length);
    expect(err(smoothed.y)).toBeLessThan(err(noisy.y) * 0.6);
    expect(Math.max(...smoothed.y)).toBeGreaterThan(0.97);
  });

  for (const step of [{ kind: 'airPLS' }, { kind: 'rollingBall' }] as const) {
    it(`${step.kind} removes a slow baseline under the peaks`, () => {
      const raw = createSpectrum({ x, y: clean.map((v, i) => v + baseline[i]), xUnit: 'cm-1' });
      const withoutStep = preprocess(raw, IR_GRID);
      const out = preprocess(raw, IR_GRID, { steps: [step] });
      expect(cosine(out, clean)).toBeGreaterThan(0.97);
      expect(cosine(withoutStep, clean)).toBeLessThan(0.8);
      // Far from any peak the corrected spectrum is close to zero.
      const i = 2300 - 500;
      expect(Math.abs(out[i])).toBeLessThan(0.1);
    });
  }

  it('exposes each step as a pure Spectrum filter', () => {
    const raw = createSpectrum({ x, y: clean.map((v, i) => v + baseline[i]), xUnit: 'cm-1' });
    for (const filter of [removeBaselineAirPLS, removeBaselineRollingBall, smoothSavitzkyGolay, normalizeMaxAbs]) {
      const before = raw.y.slice();
      const out = filter(raw);
      expect(out.y.length).toBe(raw.y.length);
      expect(out.x).toBe(raw.x);
      expect(firstDifference(raw.y, before)).toBe(-1);
    }
  });

  it('applies the steps in the configured order', () => {
    const raw = createSpectrum({ x, y: clean.map((v, i) => v + baseline[i]), xUnit: 'cm-1' });
    const a = preprocess(raw, IR_GRID, { steps: [{ kind: 'rollingBall' }, { kind: 'savitzkyGolay', windowSize: 31 }] });
    const b = preprocess(raw, IR_GRID, { steps: [{ kind: 'savitzkyGolay', windowSize: 31 }, { kind: 'rollingBall' }] });
    expect(a).not.toEqual(b);
  });
});

describe('preprocess: rejections', () => {
  const good = irSpectrum(linspace(400, 3600, 500));

  it('rejects empty, too short, mismatched, non-finite, unordered and constant spectra', () => {
    expect(codeOf(() => preprocess(createSpectrum({ y: [] }), INDEX_GRID))).toBe('empty-spectrum');
    expect(codeOf(() => preprocess(createSpectrum({ y: [1, 2, 3] }), INDEX_GRID))).toBe('spectrum-too-short');
    expect(codeOf(() => preprocess(createSpectrum({ y: [1, 2, 3] }), INDEX_GRID, { minPoints: 3 }))).toBe('insufficient-overlap');
    expect(codeOf(() => preprocess({ ...good, x: good.x.subarray(1) }, IR_GRID))).toBe('length-mismatch');
    const nanY = good.y.slice();
    nanY[7] = Number.NaN;
    expect(codeOf(() => preprocess({ ...good, y: nanY }, IR_GRID))).toBe('non-finite-value');
    const infX = good.x.slice();
    infX[499] = Number.POSITIVE_INFINITY;
    expect(codeOf(() => preprocess({ ...good, x: infX }, IR_GRID))).toBe('non-finite-value');
    const repeated = good.x.slice();
    repeated[10] = repeated[9];
    expect(codeOf(() => preprocess({ ...good, x: repeated }, IR_GRID))).toBe('x-not-monotonic');
    const zigzag = good.x.slice();
    [zigzag[20], zigzag[21]] = [zigzag[21], zigzag[20]];
    expect(codeOf(() => preprocess({ ...good, x: zigzag }, IR_GRID))).toBe('x-not-monotonic');
    expect(codeOf(() => preprocess({ ...good, y: new Float64Array(500).fill(0.25) }, IR_GRID))).toBe('constant-spectrum');
  });

  it('says where the bad value is', () => {
    const nanY = good.y.slice();
    nanY[42] = Number.NaN;
    try {
      validateSpectrum({ ...good, y: nanY, meta: { source: 'inbox/a.jdx' } });
      throw new Error('accepted');
    } catch (err) {
      const e = err as SpectrumInputError;
      expect(e.where).toEqual({ file: 'inbox/a.jdx', field: 'y', index: 42 });
      expect(e.message).toMatch(/^inbox\/a\.jdx, field y, point 42: intensity NaN/);
    }
  });

  it('rejects another x unit that does not convert, and an unknown unit only when told to', () => {
    expect(codeOf(() => preprocess({ ...good, xUnit: '2theta' }, IR_GRID))).toBe('x-unit-mismatch');
    expect(codeOf(() => preprocess({ ...good, xUnit: 'ppm' }, IR_GRID))).toBe('x-unit-mismatch');
    expect(codeOf(() => preprocess({ ...good, xUnit: 'other' }, IR_GRID))).toBe('accepted');
    expect(codeOf(() => preprocess({ ...good, xUnit: 'other' }, IR_GRID, { acceptUnknownXUnit: false }))).toBe('x-unit-mismatch');
  });

  it('rejects a spectrum that covers too little of the grid, with a configurable fraction', () => {
    const disjoint = irSpectrum(linspace(4000, 5000, 300));
    expect(codeOf(() => preprocess(disjoint, IR_GRID))).toBe('insufficient-overlap');
    const third = irSpectrum(linspace(2500, 3500, 1001)); // covers 1/3 of 500..3500
    expect(codeOf(() => preprocess(third, IR_GRID, { minOverlap: 0.5 }))).toBe('insufficient-overlap');
    expect(codeOf(() => preprocess(third, IR_GRID, { minOverlap: 0.3 }))).toBe('accepted');
    // A physical grid masks what is not covered: a third carries an answer by default, a sliver does not.
    expect(codeOf(() => preprocess(third, IR_GRID))).toBe('accepted');
    expect(codeOf(() => preprocess(irSpectrum(linspace(3300, 3500, 201)), IR_GRID))).toBe('insufficient-overlap');
  });

  it('rejects a spectrum with no signal left on the grid', () => {
    // All the structure lies below 500 cm-1, outside the grid; the covered part is flat.
    const x = linspace(100, 3500, 3401);
    const s = createSpectrum({ x, y: Array.from(x, (v) => (v < 450 ? gauss(v, 300, 20) : 0)), xUnit: 'cm-1' });
    expect(codeOf(() => preprocess(s, IR_GRID))).toBe('no-signal');
    expect(codeOf(() => preprocess(s, IR_GRID, { minOverlap: 0.1, steps: [{ kind: 'savitzkyGolay' }] }))).toBe('no-signal');
    expect(codeOf(() => preprocess(irSpectrum(linspace(100, 3500, 3401)), IR_GRID))).toBe('accepted');
  });

  it('rejects smoothing over more points than the spectrum has on the grid', () => {
    const tiny: InputGrid = { points: 7, xStart: 0, xEnd: 6, xUnit: 'index' };
    const s = createSpectrum({ y: Array.from({ length: 16 }, (_, i) => Math.sin(i)) });
    expect(codeOf(() => preprocess(s, tiny, { steps: [{ kind: 'savitzkyGolay', windowSize: 9 }] }))).toBe('spectrum-too-short');
    expect(codeOf(() => preprocess(s, tiny, { steps: [{ kind: 'savitzkyGolay', windowSize: 5, polynomial: 2 }] }))).toBe('accepted');
  });

  it('rejects an invalid chain with the key path', () => {
    const bad: [PreprocessConfig, string][] = [
      [{ resample: 'cubic' as 'linear' }, 'resample'],
      [{ minOverlap: 0 }, 'minOverlap'],
      [{ minOverlap: 1.5 }, 'minOverlap'],
      [{ minPoints: 1 }, 'minPoints'],
      [{ steps: [{ kind: 'savitzkyGolay', windowSize: 8 }] }, 'steps[0].windowSize'],
      [{ steps: [{ kind: 'savitzkyGolay', windowSize: 5, polynomial: 5 }] }, 'steps[0].polynomial'],
      [{ steps: [{ kind: 'rollingBall' }, { kind: 'airPLS', lambda: -1 }] }, 'steps[1].lambda'],
      [{ steps: [{ kind: 'airPLS', maxIterations: 0 }] }, 'steps[0].maxIterations'],
      [{ steps: [{ kind: 'airPLS', tolerance: Number.NaN }] }, 'steps[0].tolerance'],
      [{ steps: [{ kind: 'rollingBall', windowM: 1 }] }, 'steps[0].windowM'],
      [{ steps: [{ kind: 'wavelet' } as never] }, 'steps[0].kind'],
    ];
    for (const [config, field] of bad) {
      try {
        checkPreprocessConfig(config);
        throw new Error(`accepted ${JSON.stringify(config)}`);
      } catch (err) {
        expect((err as SpectrumInputError).code).toBe('bad-preprocess-config');
        expect((err as SpectrumInputError).where.field).toBe(field);
      }
    }
    expect(codeOf(() => preprocess(good, IR_GRID, { minOverlap: 2 }))).toBe('bad-preprocess-config');
  });

  it('treats a malformed grid as a programming error', () => {
    expect(() => preprocess(good, { points: 1, xStart: 0, xEnd: 1, xUnit: 'cm-1' })).toThrow(RangeError);
    expect(() => resampleToGrid(good, { points: 10, xStart: 5, xEnd: 5, xUnit: 'cm-1' })).toThrow(RangeError);
  });
});

describe('preprocessBatch', () => {
  it('packs the accepted spectra in order and reports the rejected ones', () => {
    const ok1 = irSpectrum(linspace(400, 3600, 800));
    const ok2 = irSpectrum(linspace(500, 3500, 3001));
    const flat = createSpectrum({ x: linspace(500, 3500, 100), y: new Float64Array(100).fill(1), xUnit: 'cm-1' });
    const wrongUnit = { ...ok1, xUnit: '2theta' };
    const batch = preprocessBatch([flat, ok1, wrongUnit, ok2], IR_GRID);
    expect(batch.n).toBe(2);
    expect(batch.points).toBe(3001);
    expect(batch.indices).toEqual([1, 3]);
    expect(batch.rejected.map((r) => [r.index, r.error.code])).toEqual([
      [0, 'constant-spectrum'],
      [2, 'x-unit-mismatch'],
    ]);
    expect(firstDifference(batch.x.subarray(0, 3001), preprocess(ok1, IR_GRID))).toBe(-1);
    expect(firstDifference(batch.x.subarray(3001), preprocess(ok2, IR_GRID))).toBe(-1);
  });

  it('rejects an invalid chain once, up front', () => {
    expect(() => preprocessBatch([], IR_GRID, { minPoints: 0 })).toThrow(SpectrumInputError);
  });
});
