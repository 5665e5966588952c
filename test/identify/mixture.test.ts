import { describe, expect, it } from 'vitest';
import {
  beamMixtureSearch,
  binomial,
  exhaustiveMemoryBytes,
  exhaustiveMixtureSearch,
  memberMargins,
  nnls,
  setSimilarity,
} from '../../core/identify/mixture/mixture.ts';
import { gaussian, makeWorld, mix, unit } from './synthetic.ts';
import { mulberry32 } from '../../core/identify/knn/calibration.ts';

function flat(vectors: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(vectors.length * vectors[0].length);
  vectors.forEach((v, i) => out.set(v, i * v.length));
  return out;
}

function pick(rng: () => number, n: number, m: number): number[] {
  const s = new Set<number>();
  while (s.size < m) s.add(Math.floor(rng() * n));
  return [...s].sort((a, b) => a - b);
}

describe('mixture search', () => {
  it('finds planted components of 2 to 5 classes among 200 with the beam search', () => {
    const world = makeWorld(200, 64, 11);
    const centroids = flat(world.centroids);
    const rng = mulberry32(5);
    let right = 0;
    let total = 0;
    for (let m = 2; m <= 5; m++) {
      for (let t = 0; t < 10; t++) {
        const truth = pick(rng, 200, m);
        const q = mix(truth.map((c) => world.sample(c, 0.2)));
        const fits = beamMixtureSearch(centroids, 64, q, { maxComponents: 5 });
        expect(fits).toHaveLength(5);
        total++;
        if (fits[m - 1].classIndices.join() === truth.join()) right++;
      }
    }
    expect(right / total).toBeGreaterThanOrEqual(0.95);
  });

  it('agrees with the exhaustive search (the paper) and never beats the optimum', () => {
    // A crowded space (dim 12) so that near-ties exist and the beam has something to get wrong.
    const world = makeWorld(40, 12, 3);
    const centroids = flat(world.centroids);
    const rng = mulberry32(9);
    let same = 0;
    const trials = 60;
    for (let t = 0; t < trials; t++) {
      const m = 2 + (t % 3);
      const q = mix(pick(rng, 40, m).map((c) => world.sample(c, 0.5)));
      const exact = exhaustiveMixtureSearch(centroids, 12, q, m);
      const beam = beamMixtureSearch(centroids, 12, q, { maxComponents: m })[m - 1];
      expect(beam.similarity).toBeLessThanOrEqual(exact.similarity + 1e-6);
      expect(exact.similarity).toBeCloseTo(setSimilarity(centroids, 12, q, exact.classIndices), 6);
      if (beam.classIndices.join() === exact.classIndices.join()) same++;
    }
    expect(same / trials).toBeGreaterThanOrEqual(0.95);
  });

  it('scores sets by the cosine of the normalized sum', () => {
    const world = makeWorld(5, 8, 2);
    const centroids = flat(world.centroids);
    const q = world.random();
    const set = [1, 3, 4];
    const sum = mix(set.map((c) => world.centroids[c]));
    const cos = sum.reduce((s, v, j) => s + v * q[j], 0);
    expect(setSimilarity(centroids, 8, q, set)).toBeCloseTo(cos, 6);
    expect(exhaustiveMixtureSearch(centroids, 8, q, 5).classIndices).toEqual([0, 1, 2, 3, 4]);
  });

  it('gives true members a clear margin and a wrong member a negative one', () => {
    const world = makeWorld(50, 64, 4);
    const centroids = flat(world.centroids);
    const q = mix([world.centroids[3], world.centroids[17]]);
    const good = memberMargins(centroids, 64, q, [3, 17]);
    expect(Math.min(...good)).toBeGreaterThan(0.1);
    const bad = memberMargins(centroids, 64, q, [3, 25]);
    expect(bad[1]).toBeLessThan(0);
  });

  it('counts the memory the paper’s stored sums would need', () => {
    expect(binomial(100, 4)).toBe(3921225);
    expect(binomial(500, 2)).toBe(124750);
    expect(exhaustiveMemoryBytes(100, 4, 64)).toBe(3921225 * 64 * 4);
  });
});

describe('nnls', () => {
  it('recovers non-negative weights exactly and clamps a component that would go negative', () => {
    const rng = mulberry32(1);
    const cols = [0, 1, 2].map(() => Float64Array.from({ length: 30 }, () => gaussian(rng)));
    const b = new Float64Array(30).map((_, i) => 0.5 * cols[0][i] + 2 * cols[2][i]);
    const w = nnls(cols, b);
    expect(w[0]).toBeCloseTo(0.5, 9);
    expect(w[1]).toBeCloseTo(0, 9);
    expect(w[2]).toBeCloseTo(2, 9);
    const neg = new Float64Array(30).map((_, i) => cols[0][i] - 3 * cols[1][i]);
    const w2 = nnls(cols, neg);
    expect(Math.min(...w2)).toBeGreaterThanOrEqual(0);
    expect(w2[1]).toBe(0);
  });

  it('returns zeros when b points away from every column', () => {
    const cols = [unit(Float32Array.of(1, 0, 0)), unit(Float32Array.of(0, 1, 0))];
    expect(nnls(cols, [-1, -1, 0])).toEqual([0, 0]);
  });
});
