import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { InputGrid } from '../../core/encoder/types.ts';
import { SpectrumInputError } from '../../core/errors.ts';
import { decodeNpy, encodeNpy } from '../../core/npy.ts';
import { type PreprocessStep, preprocess } from '../../core/preprocess/index.ts';
import { createSpectrum } from '../../core/spectrum.ts';
import { firstDifference } from '../benchmark/bytes.ts';

const GRID: InputGrid = { points: 256, xStart: 0, xEnd: 255, xUnit: 'index' };

const stepArb: fc.Arbitrary<PreprocessStep> = fc.oneof(
  fc.record({ kind: fc.constant('savitzkyGolay' as const), windowSize: fc.constantFrom(5, 9, 15), polynomial: fc.constantFrom(2, 3) }),
  fc.record({ kind: fc.constant('rollingBall' as const) }),
  fc.record({ kind: fc.constant('airPLS' as const), lambda: fc.constantFrom(10, 1000, 1e5) }),
);

describe('preprocess properties', () => {
  it('either rejects with a SpectrumInputError or returns grid.points finite values with max |y| = 1', () => {
    let accepted = 0;
    const rejected = new Set<string>();
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 0, maxLength: 400, size: 'max' }),
        fc.double({ min: -100, max: 100, noNaN: true }),
        fc.double({ min: 0.05, max: 3, noNaN: true }),
        fc.constantFrom(1, 1e-300, 1e300),
        fc.array(stepArb, { maxLength: 2 }),
        (values, offset, spacing, magnitude, steps) => {
          const spectrum = createSpectrum({
            x: values.map((_, i) => offset + i * spacing),
            y: values.map((v) => v * magnitude),
            xUnit: 'index',
          });
          let out: Float32Array;
          try {
            out = preprocess(spectrum, GRID, { steps, minOverlap: 0.2 });
          } catch (err) {
            expect(err).toBeInstanceOf(SpectrumInputError);
            rejected.add((err as SpectrumInputError).code);
            return;
          }
          accepted++;
          expect(out.length).toBe(GRID.points);
          let max = 0;
          for (const v of out) {
            expect(Number.isFinite(v)).toBe(true);
            max = Math.max(max, Math.abs(v));
          }
          expect(max).toBeCloseTo(1, 6);
        },
      ),
      { numRuns: 150, seed: 20240601 },
    );
    // Not vacuous: both outcomes occur often.
    expect(accepted).toBeGreaterThan(30);
    expect([...rejected].sort()).toEqual(['empty-spectrum', 'insufficient-overlap', 'spectrum-too-short']);
  });

  it('is scale-invariant: the same spectrum at 1e-300, 1 and 1e300 gives the same output', () => {
    const y = Array.from({ length: 300 }, (_, i) => Math.exp(-((i - 120) ** 2) / 50) + 0.3 * Math.exp(-((i - 200) ** 2) / 200) + 0.1);
    const steps: PreprocessStep[] = [{ kind: 'savitzkyGolay' }, { kind: 'rollingBall' }];
    const at = (k: number) => preprocess(createSpectrum({ y: y.map((v) => v * k) }), GRID, { steps });
    const ref = at(1);
    for (const k of [1e-300, 1e300]) {
      const out = at(k);
      let worst = 0;
      out.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - ref[i]))));
      expect(worst).toBeLessThan(1e-6);
    }
  });
});

describe('npy properties', () => {
  it('round-trips any C-order float32/float64/int32 array bit for bit', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 4 }),
        fc.constantFrom('float32', 'float64', 'int32'),
        fc.integer(),
        (shape, dtype, seed) => {
          const n = shape.reduce((a, b) => a * b, 1);
          const values = Array.from({ length: n }, (_, i) => ((seed + i * 7919) % 100003) / 7);
          const data =
            dtype === 'float32' ? Float32Array.from(values) : dtype === 'float64' ? Float64Array.from(values) : Int32Array.from(values, Math.round);
          const back = decodeNpy(encodeNpy(data, shape));
          expect(back.shape).toEqual(shape);
          expect(back.dtype).toBe(dtype);
          expect(back.data.constructor).toBe(data.constructor);
          expect(firstDifference(back.data, data)).toBe(-1);
        },
      ),
      { numRuns: 200, seed: 7 },
    );
  });
});
