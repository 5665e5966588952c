import { describe, expect, it } from 'vitest';
import { createRng } from '../../core/math/rng.ts';
import { fitUnknownModel, unknownLogOdds } from '../../core/identify/spectral/unknown-model.ts';

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

  it('refuses to fit without both groups', () => {
    expect(() => fitUnknownModel([[1]], [])).toThrow(/both known and unknown/);
  });
});
