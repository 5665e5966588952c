import { describe, expect, it } from 'vitest';
import { addProfile, profileDim, spectralProfile } from '../../core/identify/mixture/profile.ts';
import { ReferenceLibrary, deserializeLibrary, serializeLibrary } from '../../core/identify/knn/library.ts';
import { identify } from '../../core/identify/identify.ts';
import { mulberry32 } from '../../core/identify/knn/calibration.ts';
import { peaks, projectionEncoder } from './synthetic.ts';
import type { Encoder } from '../../core/encoder/types.ts';

const points = 600;

/** A deliberately non-additive encoder: squares a linear projection, so sums of spectra do not map to sums. */
function squaringEncoder(): Encoder {
  const inner = projectionEncoder(points, 16, 5);
  return {
    ...inner,
    version: 'squaring',
    async embed(batch, n) {
      const e = await inner.embed(batch, n);
      for (let i = 0; i < n; i++) {
        const row = e.subarray(i * 16, (i + 1) * 16);
        let s = 0;
        for (let j = 0; j < 16; j++) {
          row[j] = row[j] * Math.abs(row[j]) + 0.3 * row[j];
          s += row[j] * row[j];
        }
        for (let j = 0; j < 16; j++) row[j] /= Math.sqrt(s);
      }
      return e;
    },
  };
}

describe('spectral profiles', () => {
  it('are linear: the profile of a weighted sum is the weighted sum of profiles', () => {
    const a = peaks(points, [50, 300]);
    const b = peaks(points, [120, 500], 5);
    const pa = new Float64Array(profileDim(points));
    const pb = new Float64Array(profileDim(points));
    const pm = new Float64Array(profileDim(points));
    addProfile(a, pa);
    addProfile(b, pb);
    addProfile(a.map((v, j) => 0.3 * v + 2 * b[j]), pm);
    pm.forEach((v, i) => expect(v).toBeCloseTo(0.3 * pa[i] + 2 * pb[i], 4));
    const unit = spectralProfile(a);
    expect(Math.hypot(...unit)).toBeCloseTo(1, 6);
  });

  it('survive serialization', async () => {
    const enc = projectionEncoder(points, 8);
    const lib = new ReferenceLibrary({ dim: 8, points, modelVersion: enc.version });
    await lib.enroll('a', peaks(points, [100, 200]), enc, false);
    const back = deserializeLibrary(serializeLibrary(lib));
    expect(back.spectraOf('a')).toBeNull();
    expect(back.list()[0].hasProfile).toBe(true);
    expect(Array.from(back.profileSumOf('a')!)).toEqual(Array.from(lib.profileSumOf('a')!).map((v) => expect.closeTo(v, 5)));
    expect(back.matrix().profiles).not.toBeNull();
  });
});

describe('hybrid mixture search (embedding + spectral profile)', () => {
  it('finds planted components that the embedding space alone misses with a non-additive encoder', async () => {
    const encoder = squaringEncoder();
    const rng = mulberry32(4);
    const lib = new ReferenceLibrary({ dim: 16, points, modelVersion: encoder.version });
    const classes = Array.from({ length: 30 }, () => Array.from({ length: 3 }, () => 20 + Math.floor(rng() * 560)));
    for (let c = 0; c < classes.length; c++) {
      const spectra = new Float32Array(3 * points);
      for (let s = 0; s < 3; s++) spectra.set(peaks(points, classes[c], 3, s - 1), s * points);
      await lib.enroll(`c${c}`, spectra, encoder, false);
    }
    let hybrid = 0;
    let embeddingOnly = 0;
    const trials = 30;
    for (let t = 0; t < trials; t++) {
      const truth = new Set<number>();
      while (truth.size < 3) truth.add(Math.floor(rng() * classes.length));
      const spectrum = new Float32Array(points);
      for (const c of truth) peaks(points, classes[c], 3, 1).forEach((v, j) => (spectrum[j] += v));
      const max = Math.max(...spectrum);
      spectrum.forEach((v, j) => (spectrum[j] = v / max));
      const embedding = await encoder.embed(spectrum, 1);
      const want = [...truth].map((c) => `c${c}`).sort().join();
      const got = (r: ReturnType<typeof identify>) => r.components!.map((c) => c.class).sort().join();
      if (got(identify({ embedding, spectrum }, lib, { components: 3 })) === want) hybrid++;
      if (got(identify({ embedding }, lib, { components: 3 })) === want) embeddingOnly++;
    }
    expect(hybrid / trials).toBeGreaterThanOrEqual(0.9);
    expect(hybrid).toBeGreaterThan(embeddingOnly);
  });
});
