import { describe, expect, it } from 'vitest';
import { generateRandomSplit, generateTestSplit, loadDefinition, makeMixtures, normalizeDataset } from '../../core/benchmark/index.ts';
import { SpectrumInputError } from '../../core/errors.ts';
import { nnls } from '../../core/identify/mixture/mixture.ts';
import { ReferenceProfiles, nnlsCoordinateDescent, profileInto, spectralMixtureSearch } from '../../core/identify/mixture/mixture-spectral.ts';
import { mulberry32 } from '../../core/identify/knn/calibration.ts';

const def = loadDefinition('benchmark');
const CLASSES = Array.from({ length: 30 }, (_, i) => i);

/** Reference profiles of benchmark classes 0..29 from 20 training spectra each (the protocol's seed-1 split). */
function referenceIndex(): ReferenceProfiles {
  const train = normalizeDataset(generateRandomSplit(def, { split: 'train', perClass: 20, seed: 1, classes: CLASSES }));
  const index = new ReferenceProfiles(def.points);
  for (const c of CLASSES) {
    const rows = [...train.y.keys()].filter((i) => train.y[i] === c);
    index.add(String(c), train.x.slice(rows[0] * def.points, (rows.at(-1)! + 1) * def.points), rows.length);
  }
  return index;
}

const index = referenceIndex();
const test = generateTestSplit(def, { classes: CLASSES });

function allRight(m: number, count: number): number {
  const set = makeMixtures(test, { components: m, seed: 7 + m, count });
  let right = 0;
  for (let i = 0; i < set.n; i++) {
    const fit = spectralMixtureSearch(index, set.x.subarray(i * set.points, (i + 1) * set.points), m);
    const truth = new Set(Array.from(set.components.subarray(i * m, (i + 1) * m), String));
    if (fit.classIndices.every((c) => truth.has(index.classNames()[c]))) right++;
  }
  return right / set.n;
}

describe('spectralMixtureSearch on benchmark mixtures (test spectra, references from the training split)', () => {
  it('names every component of most 2- and 3-component mixtures', () => {
    expect(allRight(2, 40)).toBeGreaterThanOrEqual(0.85);
    expect(allRight(3, 30)).toBeGreaterThanOrEqual(0.75);
  }, 120_000);

  it('finds a single test spectrum as a one-component fit with a small residual', () => {
    let right = 0;
    for (let i = 0; i < test.n; i += 9) {
      const fit = spectralMixtureSearch(index, test.x.subarray(i * test.points, (i + 1) * test.points), 1);
      if (index.classNames()[fit.classIndices[0]] === String(test.y[i])) right++;
      expect(fit.fractions).toEqual([1]);
      expect(fit.residual).toBeLessThan(0.5);
    }
    expect(right).toBeGreaterThanOrEqual(28);
  }, 120_000);

  it('refines by unexplained share: never leaves more unexplained than the residual swaps alone, names at least as many mixtures right', () => {
    const m = 3;
    const set = makeMixtures(test, { components: m, seed: 21, count: 20 });
    let plainRight = 0;
    let refinedRight = 0;
    for (let i = 0; i < set.n; i++) {
      const x = set.x.subarray(i * set.points, (i + 1) * set.points);
      const truth = new Set(Array.from(set.components.subarray(i * m, (i + 1) * m), String));
      const plain = spectralMixtureSearch(index, x, m);
      const refined = spectralMixtureSearch(index, x, m, { refine: 3 });
      expect(refined.unexplained).toBeLessThanOrEqual(plain.unexplained + 1e-12);
      if (plain.classIndices.every((c) => truth.has(index.classNames()[c]))) plainRight++;
      if (refined.classIndices.every((c) => truth.has(index.classNames()[c]))) refinedRight++;
    }
    expect(refinedRight).toBeGreaterThanOrEqual(plainRight);
    expect(refinedRight).toBeGreaterThanOrEqual(16);
  }, 120_000);

  it('gives fractions that follow the mixing weights', () => {
    const a = test.x.subarray(0, def.points); // class 0, exact variant
    const b = test.x.subarray(9 * 5 * def.points, (9 * 5 + 1) * def.points); // class 5, exact variant
    const mix = a.map((v, j) => 0.75 * v + 0.25 * b[j]);
    const fit = spectralMixtureSearch(index, mix, 2);
    const names = fit.classIndices.map((c) => index.classNames()[c]);
    expect(names).toEqual(['0', '5']);
    const areaA = a.reduce((s, v) => s + v, 0) * 0.75;
    const areaB = b.reduce((s, v) => s + v, 0) * 0.25;
    expect(fit.fractions[0]).toBeCloseTo(areaA / (areaA + areaB), 1);
    expect(fit.fractions[0] + fit.fractions[1]).toBeCloseTo(1, 9);
  });

  it('only considers the shortlist it is given', () => {
    const set = makeMixtures(test, { components: 2, seed: 3, count: 1 });
    const fit = spectralMixtureSearch(index, set.x.subarray(0, set.points), 2, { shortlist: [10, 11, 12] });
    for (const c of fit.classIndices) expect([10, 11, 12]).toContain(c);
  });

  it('refuses bad input with SpectrumInputError', () => {
    expect(() => spectralMixtureSearch(index, new Float32Array(10), 2)).toThrow(SpectrumInputError);
    expect(() => spectralMixtureSearch(index, test.x.subarray(0, def.points), 0)).toThrow(SpectrumInputError);
    expect(() => spectralMixtureSearch(index, test.x.subarray(0, def.points), 31)).toThrow(SpectrumInputError);
    expect(() => spectralMixtureSearch(index, test.x.subarray(0, def.points), 3, { shortlist: [1, 2] })).toThrow(SpectrumInputError);
    expect(() => new ReferenceProfiles(100, { pool: 0, sigma: 1 })).toThrow(SpectrumInputError);
    expect(() => new ReferenceProfiles(100).add('x', new Float32Array(150), 2)).toThrow(SpectrumInputError);
  });
});

describe('profileInto', () => {
  it('is linear, so a mixture profile is the sum of its parts', () => {
    const rng = mulberry32(5);
    const a = Float32Array.from({ length: 200 }, () => rng());
    const b = Float32Array.from({ length: 200 }, () => rng());
    const pa = new Float64Array(20);
    const pb = new Float64Array(20);
    const pab = new Float64Array(20);
    profileInto(a, pa);
    profileInto(b, pb);
    profileInto(a.map((v, j) => 2 * v + 3 * b[j]), pab);
    pab.forEach((v, i) => expect(v).toBeCloseTo(2 * pa[i] + 3 * pb[i], 6));
  });
});

describe('nnlsCoordinateDescent', () => {
  it('agrees with the exact active-set nnls, including coefficients clamped at zero', () => {
    const rng = mulberry32(11);
    for (let trial = 0; trial < 20; trial++) {
      const columns = Array.from({ length: 5 }, () => Float64Array.from({ length: 40 }, () => rng()));
      const b = Float64Array.from({ length: 40 }, () => rng() - 0.3);
      const exact = nnls(columns, b);
      const { w, residualSq } = nnlsCoordinateDescent(columns, b, 5000, 1e-20);
      exact.forEach((v, i) => expect(w[i]).toBeCloseTo(v, 4));
      let direct = 0;
      for (let t = 0; t < 40; t++) {
        let fit = 0;
        for (let j = 0; j < 5; j++) fit += w[j] * columns[j][t];
        direct += (fit - b[t]) ** 2;
      }
      expect(residualSq).toBeCloseTo(direct, 8);
    }
  });

  it('recovers known non-negative weights of many columns exactly', () => {
    const rng = mulberry32(2);
    const columns = Array.from({ length: 30 }, () => Float64Array.from({ length: 60 }, () => rng()));
    const truth = Array.from({ length: 30 }, (_, j) => (j % 3 === 0 ? 1 + rng() : 0));
    const b = Float64Array.from({ length: 60 }, (_, t) => truth.reduce((s, v, j) => s + v * columns[j][t], 0));
    const { w, residualSq } = nnlsCoordinateDescent(columns, b, 20000, 1e-24);
    expect(residualSq).toBeLessThan(1e-6);
    truth.forEach((v, j) => expect(w[j]).toBeCloseTo(v, 2));
  });
});

describe('identify() with the reconstruction search', () => {
  it('uses the library’s kept reference spectra and finds 4-component mixtures that the profile hybrid misses', async () => {
    const { ReferenceLibrary } = await import('../../core/identify/knn/library.ts');
    const { identify } = await import('../../core/identify/identify.ts');
    const { peaks, projectionEncoder } = await import('./synthetic.ts');
    const points = 600;
    const encoder = projectionEncoder(points, 16, 5);
    const rng = mulberry32(9);
    const lib = new ReferenceLibrary({ dim: 16, points, modelVersion: encoder.version });
    const classes = Array.from({ length: 30 }, () => Array.from({ length: 3 }, () => 20 + Math.floor(rng() * 560)));
    for (let c = 0; c < classes.length; c++) {
      const spectra = new Float32Array(5 * points);
      for (let s = 0; s < 5; s++) spectra.set(peaks(points, classes[c], 3, 2 * s - 4), s * points);
      await lib.enroll(`c${c}`, spectra, encoder);
    }
    let reconstruction = 0;
    let hybrid = 0;
    const trials = 25;
    for (let t = 0; t < trials; t++) {
      const truth = new Set<number>();
      while (truth.size < 4) truth.add(Math.floor(rng() * classes.length));
      const spectrum = new Float32Array(points);
      for (const c of truth) peaks(points, classes[c], 3, Math.round(rng() * 6 - 3)).forEach((v, j) => (spectrum[j] += v * (0.5 + rng())));
      const max = Math.max(...spectrum);
      spectrum.forEach((v, j) => (spectrum[j] = v / max));
      const embedding = await encoder.embed(spectrum, 1);
      const want = [...truth].map((c) => `c${c}`).sort().join();
      const got = (r: ReturnType<typeof identify>) => r.components!.map((c) => c.class).sort().join();
      const withReferences = identify({ embedding, spectrum }, lib, { components: 4 });
      expect(withReferences.components!.reduce((s, c) => s + c.fraction, 0)).toBeCloseTo(1, 3);
      if (got(withReferences) === want) reconstruction++;
      if (got(identify({ embedding, spectrum }, lib, { components: 4, referenceProfiles: null })) === want) hybrid++;
    }
    expect(reconstruction / trials).toBeGreaterThanOrEqual(0.9);
    expect(reconstruction).toBeGreaterThan(hybrid);
  }, 120_000);
});

describe('activeSetNnls', () => {
  it('agrees with the exact active-set nnls of mixture.ts on random problems, zeros included', async () => {
    const { activeSetNnls } = await import('../../core/identify/mixture/mixture-spectral.ts');
    const rng = mulberry32(23);
    for (let trial = 0; trial < 30; trial++) {
      const k = 2 + (trial % 6);
      const columns = Array.from({ length: k }, () => Float64Array.from({ length: 50 }, () => rng()));
      const b = Float64Array.from({ length: 50 }, () => rng() - 0.3);
      const gram = new Float64Array(k * k);
      const atb = new Float64Array(k);
      let bb = 0;
      for (let t = 0; t < 50; t++) bb += b[t] * b[t];
      for (let i = 0; i < k; i++) {
        for (let t = 0; t < 50; t++) atb[i] += columns[i][t] * b[t];
        for (let j = 0; j < k; j++) for (let t = 0; t < 50; t++) gram[i * k + j] += columns[i][t] * columns[j][t];
      }
      const { w, residualSq } = activeSetNnls(gram, atb, bb);
      nnls(columns, b).forEach((v, i) => expect(w[i]).toBeCloseTo(v, 8));
      let direct = 0;
      for (let t = 0; t < 50; t++) {
        let fit = 0;
        for (let j = 0; j < k; j++) fit += w[j] * columns[j][t];
        direct += (fit - b[t]) ** 2;
      }
      expect(residualSq).toBeCloseTo(direct, 8);
    }
  });

  it('leaves out a duplicated column instead of failing on the singular system', async () => {
    const { activeSetNnls } = await import('../../core/identify/mixture/mixture-spectral.ts');
    // Columns a, a, c with b = 2a + c: the fit is exact, the duplicate's weight split or dropped.
    const gram = Float64Array.of(2, 2, 1, 2, 2, 1, 1, 1, 3);
    const atb = Float64Array.of(5, 5, 5);
    const { w, residualSq } = activeSetNnls(gram, atb, 15);
    expect(w[0] + w[1]).toBeCloseTo(2, 9);
    expect(w[2]).toBeCloseTo(1, 9);
    expect(residualSq).toBeCloseTo(0, 9);
  });
});
