import { describe, expect, it } from 'vitest';
import { generateRandomSplit, generateTestSplit, loadDefinition, makeMixtures, normalizeDataset } from '../../core/benchmark/index.ts';
import { SpectrumInputError } from '../../core/errors.ts';
import { ReferenceProfiles, profileMixtureSearch, spectralMixtureSearch } from '../../core/identify/mixture/mixture-spectral.ts';
import { ClassTemplates, containmentRanking, containmentScores, estimateJitterBins, jitterKernel, richardsonLucy } from '../../core/identify/mixture/mixture-templates.ts';

const def = loadDefinition('benchmark');
const CLASSES = Array.from({ length: 40 }, (_, i) => i);

/** Reference profiles of benchmark classes 0..39 from 20 seed-1 training spectra each (peaks jitter by +-50 points). */
function referenceIndex(): ReferenceProfiles {
  const train = normalizeDataset(generateRandomSplit(def, { split: 'train', perClass: 20, seed: 1, classes: CLASSES }));
  const index = new ReferenceProfiles(def.points);
  for (const c of CLASSES) index.add(String(c), train.x.subarray(c * 20 * def.points, (c + 1) * 20 * def.points), 20);
  return index;
}

const index = referenceIndex();
const test = generateTestSplit(def, { classes: CLASSES });

function convolve(x: Float64Array, k: Float64Array): Float64Array {
  const K = (k.length - 1) / 2;
  return x.map((_, i) => {
    let s = 0;
    for (let t = -K; t <= K; t++) if (i + t >= 0 && i + t < x.length) s += k[t + K] * x[i + t];
    return s;
  });
}

describe('jitterKernel', () => {
  it('is the pooled box of a uniform jitter: normalized, a delta below half a bin, half-weight ends', () => {
    expect(Array.from(jitterKernel(0.3))).toEqual([1]);
    const k = jitterKernel(5);
    expect(k.length).toBe(11);
    expect(k.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 12);
    expect(k[0]).toBeCloseTo(0.05, 12);
    expect(k[5]).toBeCloseTo(0.1, 12);
    expect(Array.from(k)).toEqual(Array.from(k).reverse());
  });
});

describe('richardsonLucy', () => {
  it('sharpens a box-blurred pair of peaks back to two narrow peaks at the right bins', () => {
    const t = new Float64Array(120);
    t[40] = 1;
    t[75] = 0.5;
    const kernel = jitterKernel(5);
    const y = convolve(t, kernel);
    const out = richardsonLucy(y, kernel, 300);
    const argmaxIn = (lo: number, hi: number) => {
      let best = lo;
      for (let i = lo; i < hi; i++) if (out[i] > out[best]) best = i;
      return best;
    };
    expect(Math.abs(argmaxIn(20, 60) - 40)).toBeLessThanOrEqual(1);
    expect(Math.abs(argmaxIn(60, 100) - 75)).toBeLessThanOrEqual(1);
    // Much sharper than the blurred input, signal conserved, never negative.
    expect(Math.max(...out.subarray(20, 60))).toBeGreaterThan(3 * Math.max(...y.subarray(20, 60)));
    expect(out.reduce((s, v) => s + v, 0)).toBeCloseTo(1.5, 2);
    expect(out.every((v) => v >= 0)).toBe(true);
  });
});

describe('estimateJitterBins', () => {
  it('reads the training split’s +-50-point peak jitter (5 bins at pool 10) from the references', () => {
    const h = estimateJitterBins(index);
    expect(h).toBeGreaterThanOrEqual(4);
    expect(h).toBeLessThanOrEqual(5.5);
  }, 120_000);

  it('finds no jitter when every reference of a class is the same spectrum', () => {
    const same = new ReferenceProfiles(def.points);
    for (const c of [0, 1, 2, 3]) {
      const row = test.x.subarray(c * 9 * def.points, (c * 9 + 1) * def.points);
      const block = new Float32Array(5 * def.points);
      for (let r = 0; r < 5; r++) block.set(row, r * def.points);
      same.add(String(c), block, 5);
    }
    expect(estimateJitterBins(same)).toBeLessThanOrEqual(0.5);
  });
});

describe('containment screen', () => {
  it('ranks a mixture’s true components near the top of the library, however many there are', () => {
    for (const m of [2, 4]) {
      const set = makeMixtures(test, { components: m, seed: 40 + m, count: 15 });
      for (let i = 0; i < set.n; i++) {
        const ranking = containmentRanking(index, index.profileOf(set.x.subarray(i * set.points, (i + 1) * set.points)), { window: 7 });
        for (const c of set.components.subarray(i * m, (i + 1) * m)) expect(ranking.indexOf(CLASSES.indexOf(c))).toBeLessThan(12 + 3 * m);
      }
    }
  }, 120_000);

  it('scores a class whose peaks the query lacks near zero', () => {
    const single = index.profileOf(test.x.subarray(0, def.points)); // class 0, exact variant
    const scores = containmentScores(index, single, { window: 7 });
    const others = [...scores.slice(1)].sort((a, b) => b - a);
    expect(scores[0]).toBeGreaterThan(5 * others[Math.floor(others.length / 2)]);
  });

  it('refuses bad options and a profile of the wrong length', () => {
    expect(() => containmentScores(index, new Float64Array(3))).toThrow(SpectrumInputError);
    expect(() => containmentScores(index, new Float64Array(index.dim), { window: -1 })).toThrow(SpectrumInputError);
    expect(() => containmentScores(index, new Float64Array(index.dim), { floor: 1 })).toThrow(SpectrumInputError);
    expect(() => new ClassTemplates(index, { shifts: 1.5 })).toThrow(SpectrumInputError);
  }, 120_000);
});

describe('class templates in the reconstruction', () => {
  it('fit a shifted test spectrum of a class better with its own template than with any other class', () => {
    for (let c = 0; c < 10; c++) {
      for (const v of [1, 2]) {
        // variants 1 and 2: every peak moved by -30 / +30 points
        const row = test.x.subarray((c * 9 + v) * def.points, (c * 9 + v + 1) * def.points);
        const own = spectralMixtureSearch(index, row, 1, { shortlist: [c] }).residual;
        const others = CLASSES.filter((o) => o !== c).map((o) => spectralMixtureSearch(index, row, 1, { shortlist: [o] }).residual);
        expect(own).toBeLessThan(0.5);
        expect(own).toBeLessThan(Math.min(...others) - 0.1);
      }
    }
  }, 120_000);

  it('names every component of 4-component mixtures more often than the reference dictionary with the cosine screen', () => {
    const set = makeMixtures(test, { components: 4, seed: 9, count: 25 });
    let templates = 0;
    let references = 0;
    for (let i = 0; i < set.n; i++) {
      const profile = index.profileOf(set.x.subarray(i * set.points, (i + 1) * set.points));
      const truth = new Set(Array.from(set.components.subarray(i * 4, (i + 1) * 4), String));
      const allRight = (classes: number[]) => classes.every((c) => truth.has(index.classNames()[c]));
      if (allRight(profileMixtureSearch(index, profile, 4).classIndices)) templates++;
      if (allRight(profileMixtureSearch(index, profile, 4, { dictionary: 'references', screen: 'cosine' }).classIndices)) references++;
    }
    expect(templates / set.n).toBeGreaterThanOrEqual(0.9);
    expect(templates).toBeGreaterThan(references);
  }, 120_000);
});
