import { describe, expect, it } from 'vitest';
import { createRng } from '../../core/math/rng.ts';
import { getArchitecture } from '../../core/encoder/architectures.ts';
import { smoothedSpectrumEncoder } from '../../bench/lib/baseline-encoder.ts';
import { challenge, CHALLENGE_RECIPE, type TrainRequest } from '../../bench/lib/protocols.ts';
import { augmentInto, type AugmentOptions } from '../../core/training/index.ts';

describe('challenge protocol recipe', () => {
  it('hands CHALLENGE_RECIPE to the encoder provider with the challenge train split (27 x 50)', async () => {
    const requests: TrainRequest[] = [];
    const encoder = smoothedSpectrumEncoder(5000);
    const acc = await challenge({ seed: 1, classes: 27, encoderFor: async (r) => (requests.push(r), encoder) });
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ name: 'challenge', benchmark: 'challenge', perClass: 50 });
    expect(requests[0].train.n).toBe(27 * 50);
    expect(requests[0].recipe).toBe(CHALLENGE_RECIPE);
    expect(acc).toBeGreaterThanOrEqual(0);
    expect(acc).toBeLessThanOrEqual(100);
  });

  it('names an architecture that exists', () => {
    expect(getArchitecture(CHALLENGE_RECIPE.arch).name).toBe(CHALLENGE_RECIPE.arch);
  });

  it('augmentation only moves the whole spectrum (the test split\u2019s variation): a 0.5 % peak survives unchanged', () => {
    const augment = CHALLENGE_RECIPE.augment as AugmentOptions;
    const points = 5000;
    const src = new Float32Array(points);
    src[3000] = 1;
    src[1800] = 0.005;
    src[700] = 0.7;
    const rng = createRng(42);
    const dst = new Float32Array(points);
    const shifts = new Set<number>();
    for (let trial = 0; trial < 200; trial++) {
      augmentInto(src, dst, augment, rng);
      const at = dst.indexOf(1);
      const shift = at - 3000;
      expect(Math.abs(shift)).toBeLessThanOrEqual(augment.maxShift);
      // Every peak moved by the same shift, heights exactly kept: nothing else was added.
      expect(dst[1800 + shift]).toBeCloseTo(0.005, 7);
      expect(dst[700 + shift]).toBeCloseTo(0.7, 6);
      expect(dst.reduce((s, v) => s + v, 0)).toBeCloseTo(1.705, 5);
      shifts.add(shift);
    }
    // Shifts cover both directions, and some samples stay put (probability < 1).
    expect([...shifts].some((s) => s < -20) && [...shifts].some((s) => s > 20) && shifts.has(0)).toBe(true);
  });
});
