import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRng } from '../../core/math/rng.ts';
import { augmentInto, DEFAULT_AUGMENT, NO_AUGMENT, normalizeRows, type AugmentOptions } from '../../core/training/augment.ts';

const N = 400;
function peaks(): Float32Array {
  const y = new Float32Array(N);
  for (let i = 0; i < N; i++) y[i] = 0.2 * Math.exp(-((i - 120) ** 2) / 18) + 0.1 * Math.exp(-((i - 260) ** 2) / 8);
  return y;
}
const argmax = (v: Float32Array) => v.reduce((best, x, i) => (x > v[best] ? i : best), 0);
const maxAbs = (v: Float32Array) => v.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
const only = (o: Partial<AugmentOptions>): AugmentOptions => ({ ...NO_AUGMENT, probability: 1, ...o });

describe('augmentInto', () => {
  it('without augmentation only scales to max |y| = 1', () => {
    const src = peaks();
    const out = augmentInto(src, new Float32Array(N), NO_AUGMENT, createRng(1));
    for (let i = 0; i < N; i++) expect(out[i]).toBeCloseTo(src[i] / 0.2, 5);
  });

  it('never modifies its input, always returns finite values of max |y| = 1', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e6 }), (seed) => {
        const src = peaks();
        const copy = Float32Array.from(src);
        const out = augmentInto(src, new Float32Array(N), { ...DEFAULT_AUGMENT, probability: 1 }, createRng(seed));
        expect(src).toEqual(copy);
        expect(out.every(Number.isFinite)).toBe(true);
        expect(maxAbs(out)).toBeCloseTo(1, 5);
      }),
      { numRuns: 40 },
    );
  });

  it('warp moves peaks far apart by different amounts, each within maxWarp, keeping their height', () => {
    const src = new Float32Array(2000);
    const centres = [300, 1700];
    for (let i = 0; i < src.length; i++) for (const c of centres) src[i] += Math.exp(-((i - c) ** 2) / 18);
    const peakNear = (v: Float32Array, c: number) => c - 60 + argmax(v.subarray(c - 60, c + 60));
    let differed = 0;
    for (let seed = 0; seed < 20; seed++) {
      const out = augmentInto(src, new Float32Array(src.length), only({ maxWarp: 40, warpSpacing: 400 }), createRng(seed));
      const moves = centres.map((c) => peakNear(out, c) - c);
      for (const m of moves) expect(Math.abs(m)).toBeLessThanOrEqual(40);
      if (moves[0] !== moves[1]) differed++;
      for (const c of centres) expect(out[peakNear(out, c)]).toBeGreaterThan(0.9);
    }
    expect(differed).toBeGreaterThan(15);
  });

  it('shift moves the peak by at most maxShift and keeps its shape', () => {
    const src = peaks();
    const shifts = new Set<number>();
    for (let seed = 0; seed < 30; seed++) {
      const out = augmentInto(src, new Float32Array(N), only({ maxShift: 7 }), createRng(seed));
      const s = argmax(out) - argmax(src);
      expect(Math.abs(s)).toBeLessThanOrEqual(7);
      shifts.add(s);
      for (let i = 20; i < N - 20; i++) expect(out[i]).toBeCloseTo(src[i - s] / 0.2, 5);
    }
    expect(shifts.size).toBeGreaterThan(5);
  });

  it('broadening keeps the peak position and area but lowers and widens it', () => {
    const src = peaks();
    const out = augmentInto(src, new Float32Array(N), only({ maxBroaden: 4 }), createRng(3));
    const raw = out.map((v) => v); // normalized: compare shapes relative to the tallest peak
    expect(argmax(raw)).toBe(argmax(src));
    const ratioBefore = src[260] / src[120];
    const ratioAfter = raw[260] / raw[120];
    // the narrow peak (sigma 2) loses more height than the wide one (sigma 3)
    expect(ratioAfter).toBeLessThan(ratioBefore);
  });

  it('noise and baseline change the spectrum only by their stated amplitude', () => {
    const src = peaks();
    const clean = normalizeRows(src, 1, N);
    const noisy = augmentInto(src, new Float32Array(N), only({ noise: 0.01 }), createRng(5));
    const diff = noisy.map((v, i) => v - clean[i]);
    const rms = Math.sqrt(diff.reduce((s, d) => s + d * d, 0) / N);
    expect(rms).toBeGreaterThan(0);
    expect(rms).toBeLessThan(0.02);
    const based = augmentInto(src, new Float32Array(N), only({ baseline: 0.05 }), createRng(6));
    const offset = based.map((v, i) => v - clean[i]);
    expect(Math.max(...offset.map(Math.abs))).toBeLessThan(0.1);
  });

  it('repeats exactly with the same seed', () => {
    const a = augmentInto(peaks(), new Float32Array(N), { ...DEFAULT_AUGMENT, probability: 1 }, createRng(9));
    const b = augmentInto(peaks(), new Float32Array(N), { ...DEFAULT_AUGMENT, probability: 1 }, createRng(9));
    expect(a).toEqual(b);
  });

  it('rejects a destination of the wrong length', () => {
    expect(() => augmentInto(peaks(), new Float32Array(N - 1), NO_AUGMENT, createRng(1))).toThrow(/points/);
  });
});

describe('augmentation presets', () => {
  it('light moves and reshapes peaks but adds no noise or baseline', async () => {
    const { AUGMENT_PRESETS } = await import('../../core/training/augment.ts');
    expect(AUGMENT_PRESETS.light.noise).toBe(0);
    expect(AUGMENT_PRESETS.light.baseline).toBe(0);
    expect(AUGMENT_PRESETS.light.maxShift).toBeGreaterThan(0);
    const src = peaks();
    // without noise, flat regions far from any peak stay exactly zero
    const out = augmentInto(src, new Float32Array(N), { ...AUGMENT_PRESETS.light, probability: 1 }, createRng(4));
    expect(out[N - 5]).toBe(0);
    expect(AUGMENT_PRESETS.none.probability).toBe(0);
  });
});

describe('physical augmentations', () => {
  it('turns x-unit amplitudes into grid points', async () => {
    const { physicalAugment, RAMAN_AUGMENT } = await import('../../core/training/augment.ts');
    const at1 = physicalAugment(RAMAN_AUGMENT, 1);
    const at2 = physicalAugment(RAMAN_AUGMENT, 2);
    expect(at1.maxShift).toBe(RAMAN_AUGMENT.shift);
    expect(at2.maxShift).toBe(Math.round(RAMAN_AUGMENT.shift / 2));
    expect(at2.maxBroaden).toBeCloseTo(RAMAN_AUGMENT.broaden / 2, 9);
    expect(at2.localGainSpacing).toBe(Math.round(RAMAN_AUGMENT.gainSpacing / 2));
    const off = physicalAugment(RAMAN_AUGMENT, 1, 0);
    expect(off.probability).toBe(0);
    expect(() => physicalAugment(RAMAN_AUGMENT, 0)).toThrow(/step/);
  });

  it('changes band ratios with the local gain but not band positions', async () => {
    const { augmentInto, NO_AUGMENT } = await import('../../core/training/augment.ts');
    const { createRng } = await import('../../core/math/rng.ts');
    const n = 1000;
    const src = new Float32Array(n);
    for (const c of [200, 700]) for (let i = -3; i <= 3; i++) src[c + i] = Math.exp(-(i * i) / 2);
    const dst = new Float32Array(n);
    const ratios = new Set<string>();
    const rng = createRng(9);
    for (let t = 0; t < 20; t++) {
      augmentInto(src, dst, { ...NO_AUGMENT, maxLocalGain: 0.8, localGainSpacing: 100, probability: 1 }, rng);
      expect(dst.indexOf(Math.max(...dst.subarray(0, 500)))).toBe(200);
      expect(500 + dst.subarray(500).indexOf(Math.max(...dst.subarray(500)))).toBe(700);
      ratios.add((dst[200] / dst[700]).toFixed(3));
    }
    expect(ratios.size).toBeGreaterThan(10);
  });

  it('adds foreign bands only where the spectrum was measured, no taller than asked', () => {
    const n = 600;
    // Measured from point 100 to 499 (zero outside, as the preprocessing leaves an uncovered range), one band at 300.
    const src = new Float32Array(n);
    for (let i = 100; i < 500; i++) src[i] = 0.01 + Math.exp(-((i - 300) ** 2) / 8);
    const dst = new Float32Array(n);
    const rng = createRng(11);
    let changed = 0;
    for (let t = 0; t < 30; t++) {
      augmentInto(src, dst, only({ maxExtraBand: 0.25, extraBandWidth: [3, 10] }), rng);
      for (let i = 0; i < 100; i++) expect(dst[i]).toBe(0);
      for (let i = 500; i < n; i++) expect(dst[i]).toBe(0);
      // At most 3 bands of up to 0.25 each (they may overlap): the original band stays the tallest.
      expect(argmax(dst)).toBe(300);
      const added = dst.reduce((m, v, i) => (Math.abs(i - 300) > 30 ? Math.max(m, v - src[i] / maxAbs(src)) : m), 0);
      expect(added).toBeLessThan(3 * 0.25 + 0.01);
      if (added > 0.02) changed++;
    }
    expect(changed).toBeGreaterThan(10);
  });

  it('states foreign bands in x units and scales them with the grid step', async () => {
    const { physicalAugment, RAMAN_AUGMENT } = await import('../../core/training/augment.ts');
    const aug = physicalAugment({ ...RAMAN_AUGMENT, extraBand: 0.3, extraBandWidth: [4, 20] }, 2);
    expect(aug.maxExtraBand).toBeCloseTo(0.3, 9);
    expect(aug.extraBandWidth).toEqual([2, 10]);
    expect(physicalAugment({ ...RAMAN_AUGMENT, extraBand: 0 }, 2).maxExtraBand).toBeUndefined();
  });
});
