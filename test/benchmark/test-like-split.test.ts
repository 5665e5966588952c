import { describe, expect, it } from 'vitest';
import { generateTestLikeSplit, generateTestSplit, loadDefinition, testVariantPlan } from '../../core/benchmark/index.ts';
import { gaussianKernel } from '../../core/math/gaussian-kernel.ts';
import { addBlurredPeaks, placeDeltas } from '../../core/benchmark/blur.ts';
import { SpectrumInputError } from '../../core/errors.ts';

const challenge = loadDefinition('challenge');
const benchmark = loadDefinition('benchmark');

function render(points: number, positions: number[], heights: number[]): Float64Array {
  const out = new Float64Array(points);
  const d = placeDeltas(positions, heights);
  addBlurredPeaks(out, d.positions, d.heights, gaussianKernel(2));
  return out;
}

/**
 * Recovers (shift, delta) of a test-like sample: for every whole shift in range, the best common height delta by
 * least squares (the spectrum is linear in the heights); returns the best fit and its largest residual.
 */
function fitVariant(def: typeof challenge, c: number, row: Float32Array, maxShift: number) {
  const { peakPositions, peakHeights } = def.classes[c];
  const clip = (p: number) => Math.min(def.points - 1, Math.max(0, p));
  let best = { shift: 0, delta: 0, residual: Infinity };
  for (let s = -maxShift; s <= maxShift; s++) {
    const pos = peakPositions.map((p) => clip(p + s));
    const base = render(def.points, pos, peakHeights.map((h) => (h === 1 ? 1 : h)));
    const unit = render(def.points, pos, peakHeights.map((h) => (h === 1 ? 0 : 1)));
    let num = 0;
    let den = 0;
    for (let j = 0; j < def.points; j++) {
      num += (row[j] - base[j]) * unit[j];
      den += unit[j] * unit[j];
    }
    const delta = den > 0 ? num / den : 0;
    let residual = 0;
    for (let j = 0; j < def.points; j++) residual = Math.max(residual, Math.abs(row[j] - base[j] - delta * unit[j]));
    if (residual < best.residual) best = { shift: s, delta, residual };
  }
  return best;
}

describe('generateTestLikeSplit', () => {
  it('draws each sample as the class definition with one whole-spectrum shift and one common height delta within the test magnitudes', () => {
    const classes = [0, 4, 10, 19, 25];
    const set = generateTestLikeSplit(challenge, { perClass: 4, seed: 7, classes });
    expect(set.n).toBe(20);
    expect(Array.from(set.y)).toEqual(classes.flatMap((c) => [c, c, c, c]));
    const shifts = new Set<number>();
    for (let i = 0; i < set.n; i++) {
      const c = set.y[i];
      const plan = testVariantPlan('challenge', c);
      const fit = fitVariant(challenge, c, set.x.subarray(i * set.points, (i + 1) * set.points), plan.positionShift);
      expect(fit.residual).toBeLessThan(1e-5);
      expect(Math.abs(fit.delta)).toBeLessThanOrEqual(plan.heightChange + 1e-6);
      shifts.add(fit.shift);
    }
    // Random draws, not the test split's three fixed shifts.
    expect(shifts.size).toBeGreaterThan(3);
  });

  it('is a function of the seed, and a class draws the same samples whichever classes are generated with it', () => {
    const a = generateTestLikeSplit(challenge, { perClass: 3, seed: 11, classes: [2, 20] });
    const b = generateTestLikeSplit(challenge, { perClass: 3, seed: 11, classes: [20] });
    const c = generateTestLikeSplit(challenge, { perClass: 3, seed: 12, classes: [20] });
    const rowsOf20 = a.x.subarray(3 * a.points);
    expect(Buffer.from(rowsOf20.buffer, rowsOf20.byteOffset, rowsOf20.byteLength).equals(Buffer.from(b.x.buffer))).toBe(true);
    expect(Buffer.from(b.x.buffer).equals(Buffer.from(c.x.buffer))).toBe(false);
  });

  it('uses the benchmark set\'s own test magnitudes (a class with the small 17-point shift stays within 17)', () => {
    const set = generateTestLikeSplit(benchmark, { perClass: 6, seed: 3, classes: [8] });
    for (let i = 0; i < set.n; i++) {
      const fit = fitVariant(benchmark, 8, set.x.subarray(i * set.points, (i + 1) * set.points), 30);
      expect(fit.residual).toBeLessThan(1e-5);
      expect(Math.abs(fit.shift)).toBeLessThanOrEqual(17);
    }
  });

  it('never reproduces the test split row for row', () => {
    const test = generateTestSplit(challenge, { classes: [0] });
    const like = generateTestLikeSplit(challenge, { perClass: 6, seed: 1, classes: [0] });
    expect(Buffer.from(test.x.buffer).equals(Buffer.from(like.x.buffer))).toBe(false);
  });

  it('rejects a bad count or seed with a SpectrumInputError', () => {
    expect(() => generateTestLikeSplit(challenge, { perClass: 0, seed: 1 })).toThrow(SpectrumInputError);
    expect(() => generateTestLikeSplit(challenge, { perClass: 2, seed: 1.5 })).toThrow(SpectrumInputError);
    expect(() => generateTestLikeSplit(challenge, { perClass: 2, seed: 1, classes: [27] })).toThrow(SpectrumInputError);
  });
});
