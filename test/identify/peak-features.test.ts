import { describe, expect, it } from 'vitest';
import { SpectrumInputError } from '../../core/errors.ts';
import { findPeaks, noiseLevel, peakLogLikelihood, peakTemplate, pooledModel, type PeakTemplate } from '../../core/identify/peaks/peak-features.ts';
import { mulberry32 } from '../../core/identify/knn/calibration.ts';
import { jitteredReferences, spectrumOf } from './peak-spectra.ts';

function templateOf(positions: readonly number[], heights: readonly number[], n = 50, seed = 1): PeakTemplate {
  const t = peakTemplate(jitteredReferences(positions, heights, n, seed).map((s) => findPeaks(s)));
  if (!t) throw new Error('no template');
  return t;
}

describe('findPeaks', () => {
  it('finds every peak above the floor, positions refined between grid points, heights relative to the maximum', () => {
    const peaks = findPeaks(spectrumOf([300.4, 900, 1500.7], [1, 0.5, 0.002]));
    expect(peaks).toHaveLength(2); // the 0.2 % peak is under the default 0.5 % floor
    expect(peaks[0].position).toBeCloseTo(300.4, 0);
    expect(Math.abs(peaks[0].position - 300.4)).toBeLessThan(0.1);
    expect(peaks[0].height).toBeCloseTo(1, 5);
    expect(peaks[1].position).toBeCloseTo(900, 1);
    expect(peaks[1].height).toBeCloseTo(0.5, 2);
    expect(findPeaks(spectrumOf([300.4, 900, 1500.7], [1, 0.5, 0.002]), { minHeight: 0.001 })).toHaveLength(3);
  });

  it('returns nothing for a flat or empty spectrum and rejects bad options', () => {
    expect(findPeaks(new Float32Array(100))).toEqual([]);
    expect(findPeaks(new Float32Array(0))).toEqual([]);
    expect(() => findPeaks(spectrumOf([100], [1]), { halfWindow: 0 })).toThrow(SpectrumInputError);
    expect(() => findPeaks(spectrumOf([100], [1]), { minHeight: Number.NaN })).toThrow(SpectrumInputError);
  });

  it('ignores the maxima of noise, judged by the noise the spectrum itself shows', () => {
    const rng = mulberry32(4);
    const noisy = spectrumOf([300, 900], [1, 0.5]).map((v) => v + 0.02 * (rng() - 0.5));
    expect(noiseLevel(noisy)).toBeGreaterThan(0.002);
    expect(noiseLevel(spectrumOf([300, 900], [1, 0.5]))).toBe(0);
    expect(findPeaks(noisy).map((p) => Math.round(p.position))).toEqual([300, 900]);
    expect(findPeaks(noisy, { noiseMultiple: 0 }).length).toBeGreaterThan(10);
  });

  it('counts a flat top once', () => {
    const x = new Float32Array(50);
    x[20] = 1;
    x[21] = 1;
    expect(findPeaks(x)).toHaveLength(1);
  });
});

describe('peakTemplate', () => {
  it('averages the references to the class definition, within the jitter of a mean of 50', () => {
    const t = templateOf([400, 1200], [0.3, 1]);
    expect(t.references).toBe(50);
    expect(t.peaks.map((p) => p.position)).toEqual([expect.closeTo(400, -1), expect.closeTo(1200, -1)]);
    expect(Math.abs(t.peaks[0].position - 400)).toBeLessThan(12);
    expect(Math.abs(t.peaks[0].height - 0.3)).toBeLessThan(0.03);
    // Uniform jitter of +-50 has a standard deviation of about 29.
    expect(Math.sqrt(t.peaks[0].positionVariance)).toBeGreaterThan(20);
    expect(Math.sqrt(t.peaks[0].positionVariance)).toBeLessThan(38);
  });

  it('keeps two peaks that swap places under jitter apart by their heights', () => {
    // 20 points apart, jitter +-50: they swap order in about 4 references of 10; sorting by position would mix them.
    const t = templateOf([1000, 1020], [1, 0.08]);
    const heights = t.peaks.map((p) => p.height).sort((a, b) => a - b);
    expect(heights[1]).toBeGreaterThan(0.95);
    expect(heights[0]).toBeLessThan(0.15);
  });

  it('is null without any peak', () => {
    expect(peakTemplate([[], []])).toBeNull();
  });
});

describe('peakLogLikelihood', () => {
  // Two near-duplicates as the benchmark has them (its classes 164 and 281): the minor peak 42 points further off.
  const a = templateOf([2774, 3876].map((p) => p - 2000), [0.24, 1], 50, 2);
  const b = templateOf([2780, 3924].map((p) => p - 2000), [0.273, 1], 50, 3);
  const model = pooledModel(a, b, { maxShift: 40, shiftSpread: 20 });

  it('prefers the right class of a near-duplicate pair, also with the whole spectrum shifted', () => {
    for (const shift of [-30, 0, 30]) {
      const qa = findPeaks(spectrumOf([774 + shift, 1876 + shift], [0.24, 1], 2));
      const qb = findPeaks(spectrumOf([780 + shift, 1924 + shift], [0.273, 1], 2));
      expect(peakLogLikelihood(a, qa, model)).toBeGreaterThan(peakLogLikelihood(b, qa, model));
      expect(peakLogLikelihood(b, qb, model)).toBeGreaterThan(peakLogLikelihood(a, qb, model));
    }
  });

  it('charges a missing major peak more than a missing minor one', () => {
    const t = templateOf([300, 900, 1500], [1, 0.6, 0.05]);
    const m = pooledModel(t, t, { maxShift: 40, shiftSpread: 20 });
    const full = peakLogLikelihood(t, findPeaks(spectrumOf([300, 900, 1500], [1, 0.6, 0.05])), m);
    const noMinor = peakLogLikelihood(t, findPeaks(spectrumOf([300, 900], [1, 0.6])), m);
    const noMajor = peakLogLikelihood(t, findPeaks(spectrumOf([300, 1500], [1, 0.05])), m);
    expect(full).toBeGreaterThan(noMinor);
    expect(noMinor).toBeGreaterThan(noMajor + 50);
  });

  it('lets two template peaks closer than the merge distance match one query peak', () => {
    // The references hold the pair apart (jitter), the query shows it merged: no missing-peak charge for that.
    const t = templateOf([500, 1505, 1509], [1, 0.15, 0.55]);
    const m = pooledModel(t, t, { maxShift: 40, shiftSpread: 20 });
    const merged = findPeaks(spectrumOf([500, 1505, 1509], [1, 0.15, 0.55], 2));
    expect(merged).toHaveLength(2);
    const withMerge = peakLogLikelihood(t, merged, m);
    const withoutMerge = peakLogLikelihood(t, merged, { ...m, mergeDistance: 0 });
    expect(withMerge).toBeGreaterThan(withoutMerge + 5);
  });

  it('does not pair peaks beyond the largest whole shift plus the jitter', () => {
    const t = templateOf([500, 1500], [1, 0.5]);
    const m = pooledModel(t, t, { maxShift: 40, shiftSpread: 20 });
    const near = peakLogLikelihood(t, findPeaks(spectrumOf([530, 1530], [1, 0.5])), m);
    const far = peakLogLikelihood(t, findPeaks(spectrumOf([800, 1800], [1, 0.5])), m);
    expect(near).toBeGreaterThan(far + 20);
  });
});
