import { describe, expect, it } from 'vitest';
import { createRng } from '../../core/math/rng.ts';
import { crossFittedCut, fitUnknownModel, unknownLogOdds } from '../../core/identify/spectral/unknown-model.ts';

describe('unknown model (logistic over hit-list statistics)', () => {
  it('separates known from pseudo-unknown samples and weighs the informative feature', () => {
    const rng = createRng(5);
    // Feature 0 separates the groups, feature 1 is noise.
    const known = Array.from({ length: 60 }, () => [3 + rng.normal(), rng.normal()]);
    const unknown = Array.from({ length: 300 }, () => [rng.normal(), rng.normal()]);
    const model = fitUnknownModel(known, unknown);
    expect(unknownLogOdds(model, [4, 0])).toBeGreaterThan(0);
    expect(unknownLogOdds(model, [-1, 0])).toBeLessThan(0);
    expect(Math.abs(model.weights[0])).toBeGreaterThan(5 * Math.abs(model.weights[1]));
    // Balanced groups: the boundary sits between the groups' means despite 5x more unknowns.
    const boundary = -model.weights[2] / model.weights[0] * model.spread[0] + model.mean[0];
    expect(boundary).toBeGreaterThan(1);
    expect(boundary).toBeLessThan(2);
  });

  it('cuts from out-of-fold scores: a small sample with many features keeps the false-unknown rate near its target', () => {
    const rng = createRng(11);
    // One informative feature and six of noise; 20 known samples (a library of ~20 references), 100 pseudo-unknowns.
    const row = (shift: number) => [shift + rng.normal(), ...Array.from({ length: 6 }, () => rng.normal())];
    const target = 0.05;
    let inSampleRate = 0;
    let crossRate = 0;
    const trials = 20;
    for (let trial = 0; trial < trials; trial++) {
      const known = Array.from({ length: 20 }, () => row(2));
      const unknown = Array.from({ length: 100 }, () => row(0));
      const model = fitUnknownModel(known, unknown);
      const inSample = known.map((r) => unknownLogOdds(model, r)).sort((a, b) => a - b)[Math.floor(target * known.length)];
      const groupOf = { known: known.map((_, i) => i), unknown: unknown.map((_, i) => i) };
      const cross = crossFittedCut(known, unknown, target, groupOf);
      // New known queries from the same distribution: the share the cut calls unknown.
      const fresh = Array.from({ length: 400 }, () => unknownLogOdds(model, row(2)));
      inSampleRate += fresh.filter((v) => v < inSample).length / fresh.length / trials;
      crossRate += fresh.filter((v) => v < cross).length / fresh.length / trials;
    }
    // The in-sample quantile is optimistic (the model fitted those very samples); out-of-fold scores are not.
    expect(inSampleRate).toBeGreaterThan(1.5 * target);
    expect(crossRate).toBeLessThan(inSampleRate);
    expect(Math.abs(crossRate - target)).toBeLessThan(Math.abs(inSampleRate - target));
  });

  it('cross-fitted cut agrees with the in-sample one when samples are many and features few', () => {
    const rng = createRng(3);
    const known = Array.from({ length: 400 }, () => [2 + rng.normal()]);
    const unknown = Array.from({ length: 400 }, () => [rng.normal()]);
    const model = fitUnknownModel(known, unknown);
    const inSample = known.map((r) => unknownLogOdds(model, r)).sort((a, b) => a - b)[Math.floor(0.05 * known.length)];
    const cross = crossFittedCut(known, unknown, 0.05, { known: known.map((_, i) => i % 37), unknown: unknown.map((_, i) => i % 41) });
    expect(Math.abs(cross - inSample)).toBeLessThan(0.15);
  });

  it('refuses to fit without both groups', () => {
    expect(() => fitUnknownModel([[1]], [])).toThrow(/both known and unknown/);
  });
});
