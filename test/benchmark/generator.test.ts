import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type Dataset,
  generateRandomSplit,
  generateTestSplit,
  loadDefinition,
  testVariantPlan,
} from '../../core/benchmark/index.ts';
import { gaussianKernel } from '../../core/math/gaussian-kernel.ts';
import { addBlurredPeaks, placeDeltas } from '../../core/benchmark/blur.ts';
import { SpectrumInputError } from '../../core/errors.ts';
import { firstDifference } from './bytes.ts';

const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));

const benchmark = loadDefinition('benchmark');
const challenge = loadDefinition('challenge');

function row(ds: Dataset, i: number): Float32Array {
  return ds.x.subarray(i * ds.points, (i + 1) * ds.points);
}

function bytes(ds: Dataset): Buffer {
  return Buffer.from(ds.x.buffer, ds.x.byteOffset, ds.x.byteLength);
}

describe('definitions', () => {
  it('loads 500 benchmark and 27 challenge classes of 5000 points, tallest peak 1.0', () => {
    expect(benchmark.classes.length).toBe(500);
    expect(challenge.classes.length).toBe(27);
    for (const def of [benchmark, challenge]) {
      expect(def.points).toBe(5000);
      for (const cls of def.classes) {
        expect(cls.peakPositions.length).toBe(cls.peakHeights.length);
        expect(Math.max(...cls.peakHeights)).toBe(1);
      }
    }
    expect(challenge.classes[4]).toEqual({ peakPositions: [923, 1112, 1500], peakHeights: [1, 0.4, 0.035] });
  });

  it('rejects an unknown benchmark name', () => {
    expect(() => loadDefinition('nope' as 'benchmark')).toThrow(SpectrumInputError);
  });
});

describe('gaussian blur as scipy gaussian_filter1d(mode=constant, truncate=4)', () => {
  interface BlurCase { sigma: number; positions: number[]; heights: number[]; nonzero: number[]; y: number[] }
  for (const c of fixture('blur-cases.json') as BlurCase[]) {
    it(`matches scipy for sigma ${c.sigma} at ${c.positions.join(', ')}`, () => {
      const out = new Float64Array(5000);
      const deltas = placeDeltas(c.positions, c.heights);
      addBlurredPeaks(out, deltas.positions, deltas.heights, gaussianKernel(c.sigma));
      const expected = new Float64Array(5000);
      c.nonzero.forEach((p, i) => (expected[p] = c.y[i]));
      let worst = 0;
      for (let p = 0; p < 5000; p++) worst = Math.max(worst, Math.abs(out[p] - expected[p]));
      expect(worst).toBeLessThan(1e-12);
    });
  }

  it('uses radius int(4 sigma + 0.5) and weights summing to 1', () => {
    expect(gaussianKernel(2).length).toBe(17);
    expect(gaussianKernel(2.37).length).toBe(2 * 9 + 1);
    expect(gaussianKernel(4.99).length).toBe(2 * 20 + 1);
    expect(gaussianKernel(3.3).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 14);
    expect(() => gaussianKernel(0)).toThrow(RangeError);
  });
});

describe('challenge test split', () => {
  const split = generateTestSplit(challenge);
  const expected = fixture('challenge-test-summary.json') as {
    rows: { class: number; variant: number; sum: number; max: number; argmax: number; sumsq: number }[];
    full: { class: number; variant: number; y: number[] }[];
  };

  it('has 6 variants per class, class-major', () => {
    expect(split.n).toBe(162);
    expect([...split.y]).toEqual(Array.from({ length: 162 }, (_, i) => Math.floor(i / 6)));
  });

  it('matches the numpy/scipy rendering of every row', () => {
    const bad: string[] = [];
    expected.rows.forEach((e, i) => {
      const r = row(split, i);
      let sum = 0;
      let sumsq = 0;
      let max = -Infinity;
      let argmax = -1;
      r.forEach((v, p) => {
        sum += v;
        sumsq += v * v;
        if (v > max) [max, argmax] = [v, p];
      });
      if (Math.abs(sum - e.sum) > 1e-6 || Math.abs(max - e.max) > 1e-6 || Math.abs(sumsq - e.sumsq) > 1e-6 || argmax !== e.argmax) {
        bad.push(`row ${i} (class ${e.class} variant ${e.variant})`);
      }
    });
    expect(bad).toEqual([]);
    for (const f of expected.full) {
      const r = row(split, f.class * 6 + f.variant);
      let worst = 0;
      r.forEach((v, p) => (worst = Math.max(worst, Math.abs(v - f.y[p]))));
      expect(worst).toBeLessThan(1e-6);
    }
  });

  it('never moves a position-overlap class towards its triplet neighbours', () => {
    // Peaks of classes 9, 10, 11 lie 70 apart in ascending order: the first never shifts left, the last never right.
    const shifts = (c: number) => new Set(testVariantPlan('challenge', c).variants.map((v) => v.shift));
    expect(shifts(9).has(-1)).toBe(false);
    expect(shifts(11).has(1)).toBe(false);
    expect(shifts(10).has(0)).toBe(false);
    // Minor-peak classes are only ever lowered, height-overlap triplets move away from their neighbours.
    expect(testVariantPlan('challenge', 1).variants.some((v) => v.height === 1)).toBe(false);
    expect(testVariantPlan('challenge', 18).variants.some((v) => v.height === -1)).toBe(false);
    expect(testVariantPlan('challenge', 20).variants.some((v) => v.height === 1)).toBe(false);
  });
});

describe('test split options', () => {
  it('generates a class subset in the given order with the same rows as the full split', () => {
    const full = generateTestSplit(benchmark);
    const sub = generateTestSplit(benchmark, { classes: [318, 8, 164] });
    expect([...sub.y]).toEqual([318, 318, 318, 318, 318, 318, 318, 318, 318, 8, 8, 8, 8, 8, 8, 8, 8, 8, 164, 164, 164, 164, 164, 164, 164, 164, 164]);
    for (let i = 0; i < sub.n; i++) {
      const c = sub.y[i];
      expect(firstDifference(row(sub, i), row(full, c * 9 + (i % 9)))).toBe(-1);
    }
  });

  it('rejects classes that do not exist or repeat', () => {
    expect(() => generateTestSplit(benchmark, { classes: [500] })).toThrow(SpectrumInputError);
    expect(() => generateTestSplit(benchmark, { classes: [1.5] })).toThrow(SpectrumInputError);
    expect(() => generateTestSplit(challenge, { classes: [3, 3] })).toThrow(SpectrumInputError);
  });
});

describe('random splits', () => {
  const classes = [0, 5, 77, 499];

  it('gives the same bytes for the same seed and different bytes for another seed or split', () => {
    const a = generateRandomSplit(benchmark, { split: 'train', perClass: 5, seed: 42, classes });
    const b = generateRandomSplit(benchmark, { split: 'train', perClass: 5, seed: 42, classes });
    const c = generateRandomSplit(benchmark, { split: 'train', perClass: 5, seed: 43, classes });
    const v = generateRandomSplit(benchmark, { split: 'val', perClass: 5, seed: 42, classes });
    expect(bytes(a).equals(bytes(b))).toBe(true);
    expect(bytes(a).equals(bytes(c))).toBe(false);
    expect(bytes(a).equals(bytes(v))).toBe(false);
    expect([...a.y]).toEqual(classes.flatMap((k) => [k, k, k, k, k]));
  });

  it('draws each class independently of the others and keeps a prefix for larger per-class counts', () => {
    const all = generateRandomSplit(challenge, { split: 'val', perClass: 3, seed: 7 });
    const one = generateRandomSplit(challenge, { split: 'val', perClass: 5, seed: 7, classes: [13] });
    for (let j = 0; j < 3; j++) expect(firstDifference(row(one, j), row(all, 13 * 3 + j))).toBe(-1);
    // Distinct samples within a class.
    expect(firstDifference(row(one, 0), row(one, 1))).not.toBe(-1);
  });

  it('distinguishes the benchmark and the challenge streams and seeds that share their low 32 bits', () => {
    const a = generateRandomSplit(benchmark, { split: 'train', perClass: 1, seed: 1, classes: [0] });
    const b = generateRandomSplit(benchmark, { split: 'train', perClass: 1, seed: 1 + 2 ** 32, classes: [0] });
    const n = generateRandomSplit(benchmark, { split: 'train', perClass: 1, seed: -1, classes: [0] });
    expect(bytes(a).equals(bytes(b))).toBe(false);
    expect(bytes(a).equals(bytes(n))).toBe(false);
  });

  it('varies positions in [p-50, p+50), heights in [h-0.05, h+0.05) and sigma in [2, 5)', () => {
    // Class 5: peaks at 1034 (0.58) and 2977 (1.0), far apart, so each blurred peak can be measured on its own.
    const samples = generateRandomSplit(benchmark, { split: 'train', perClass: 400, seed: 3, classes: [5] });
    const measure = (r: Float32Array, p: number) => {
      let sum = 0;
      let max = 0;
      let at = -1;
      for (let i = p - 75; i < p + 75; i++) {
        sum += r[i];
        if (r[i] > max) [max, at] = [r[i], i];
      }
      // A blurred delta keeps its height as area; its top is height * kernel[centre] ~ height / (sigma sqrt(2 pi)).
      return { shift: at - p, height: sum, sigma: sum / (max * Math.sqrt(2 * Math.PI)) };
    };
    const shifts: number[] = [];
    const heights: number[] = [];
    const sigmas: number[] = [];
    for (let i = 0; i < samples.n; i++) {
      const r = row(samples, i);
      const tall = measure(r, 2977);
      const small = measure(r, 1034);
      shifts.push(tall.shift, small.shift);
      heights.push(small.height);
      sigmas.push(tall.sigma);
      // The benchmark generator varies a height of 1.0 too (the challenge generator keeps it).
      expect(tall.height).toBeGreaterThanOrEqual(0.95 - 1e-6);
      expect(tall.height).toBeLessThan(1.05 + 1e-6);
    }
    expect(Math.min(...shifts)).toBe(-50);
    expect(Math.max(...shifts)).toBe(49);
    const meanShift = shifts.reduce((a, b) => a + b, 0) / shifts.length;
    expect(Math.abs(meanShift + 0.5)).toBeLessThan(3); // uniform on -50..49 has mean -0.5, sd ~29, n = 800
    expect(Math.min(...heights)).toBeGreaterThanOrEqual(0.53 - 1e-6);
    expect(Math.max(...heights)).toBeLessThan(0.63 + 1e-6);
    expect(Math.max(...heights) - Math.min(...heights)).toBeGreaterThan(0.09);
    expect(Math.min(...sigmas)).toBeGreaterThan(1.99);
    expect(Math.max(...sigmas)).toBeLessThan(5.01);
    expect(Math.max(...sigmas) - Math.min(...sigmas)).toBeGreaterThan(2.8);
  });

  it('keeps a height of exactly 1.0 in the challenge set', () => {
    const samples = generateRandomSplit(challenge, { split: 'train', perClass: 20, seed: 9, classes: [0] });
    for (let i = 0; i < samples.n; i++) {
      const r = row(samples, i);
      let area = 0;
      for (let p = 2900; p < 3100; p++) area += r[p];
      expect(area).toBeCloseTo(1, 5);
    }
  });

  it('rejects bad options with specific codes', () => {
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return (err as SpectrumInputError).code;
      }
      return 'no error';
    };
    expect(code(() => generateRandomSplit(benchmark, { split: 'train', perClass: 0, seed: 1 }))).toBe('bad-per-class');
    expect(code(() => generateRandomSplit(benchmark, { split: 'train', perClass: 2.5, seed: 1 }))).toBe('bad-per-class');
    expect(code(() => generateRandomSplit(benchmark, { split: 'test' as 'train', perClass: 1, seed: 1 }))).toBe('bad-split');
    expect(code(() => generateRandomSplit(benchmark, { split: 'val', perClass: 1, seed: 0.5 }))).toBe('bad-seed');
    expect(code(() => generateRandomSplit(benchmark, { split: 'val', perClass: 1, seed: 1, classes: [-1] }))).toBe('bad-class');
  });
});
