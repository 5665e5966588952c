import { describe, expect, it } from 'vitest';
import type { Dataset } from '../../core/benchmark/index.ts';
import { smoothedSpectrumEncoder } from '../../bench/lib/baseline-encoder.ts';
import { CHALLENGE_RECIPE, SHIFT_FINISH, singleCompound, trainingPlan, unseenAndUnknown, type TrainRequest } from '../../bench/lib/protocols.ts';

const data: Dataset = { x: new Float32Array(0), y: new Int32Array(0), n: 0, points: 5000 };
const request = (perClass: number, recipe?: TrainRequest['recipe']): TrainRequest => ({
  name: 'r',
  benchmark: recipe ? 'challenge' : 'benchmark',
  classes: [0, 1],
  perClass,
  seed: 1,
  train: data,
  ...(recipe ? { recipe } : {}),
});

describe('trainingPlan', () => {
  it('runs the challenge recipe as bench:challenge chose it: every epoch, 20 test-like validation spectra per class', () => {
    const plan = trainingPlan(request(50, CHALLENGE_RECIPE), { arch: 'tiny', epochs: 12 });
    expect(plan.arch).toBe(CHALLENGE_RECIPE.arch);
    expect(plan.epochs).toBe(CHALLENGE_RECIPE.epochs);
    expect(plan.valPerClass).toBe(20);
    expect(plan.validation).toBe('test-like');
    expect(trainingPlan(request(50), { arch: 'tiny', epochs: 12 }).validation).toBeUndefined();
    // bench:paper's default early stop (5 epochs) would cut the recipe short: bench:challenge's best epochs were 28-48.
    expect(plan.patience).toBeUndefined();
    expect(plan.augment).toEqual(CHALLENGE_RECIPE.augment);
    expect(plan.lr).toBe(CHALLENGE_RECIPE.lr);
  });

  it('caps a recipe at the smoke run’s epochs only with quick', () => {
    expect(trainingPlan(request(50, CHALLENGE_RECIPE), { arch: 'tiny', epochs: 3, quick: true }).epochs).toBe(3);
    expect(trainingPlan(request(50, CHALLENGE_RECIPE), { arch: 'tiny', epochs: 3 }).epochs).toBe(60);
  });

  it('without a recipe: the defaults, epochs and patience scaled up for fewer spectra per class (at most 5x)', () => {
    expect(trainingPlan(request(50), { arch: 'tiny', epochs: 12 })).toEqual({ arch: 'tiny', epochs: 12, valPerClass: 5, patience: 5 });
    expect(trainingPlan(request(20), { arch: 'tiny', epochs: 12 })).toMatchObject({ epochs: 30, patience: 13 });
    expect(trainingPlan(request(5), { arch: 'lite', epochs: 12 })).toMatchObject({ arch: 'lite', epochs: 60, patience: 25 });
  });

  it('a recipe that asks for early stopping and full augmentation gets them', () => {
    const plan = trainingPlan(request(50, { arch: 'tiny', epochs: 30, augment: 'full', patience: 4 }), { arch: 'seed', epochs: 12 });
    expect(plan).toMatchObject({ arch: 'tiny', epochs: 30, patience: 4, valPerClass: 5 });
    expect(plan.augment).toBeUndefined();
  });

  it('scales a finishing stage to the same number of steps as one epoch at 50 per class', () => {
    const plan = (perClass: number) => trainingPlan({ ...request(perClass), finish: SHIFT_FINISH }, { arch: 'tiny', epochs: 12 });
    expect(plan(50).finish).toEqual(SHIFT_FINISH);
    expect(plan(20).finish?.epochs).toBe(3);
    expect(plan(5).finish?.epochs).toBe(10);
    expect(plan(50).epochs).toBe(12);
    expect(trainingPlan(request(50), { arch: 'tiny', epochs: 12 }).finish).toBeUndefined();
    // Shift only: nothing that changes height ratios or adds noise.
    expect(SHIFT_FINISH.augment).toMatchObject({ maxBroaden: 0, intensityJitter: 0, noise: 0, baseline: 0 });
    expect(SHIFT_FINISH.augment.maxShift).toBeGreaterThanOrEqual(30);
  });

  it('the single-compound and unseen protocols ask for the finishing stage', async () => {
    const requests: TrainRequest[] = [];
    const encoder = smoothedSpectrumEncoder(5000);
    const ctx = { seed: 1, classes: 10, encoderFor: async (r: TrainRequest) => (requests.push(r), encoder) };
    await singleCompound(ctx, 5);
    await unseenAndUnknown(ctx);
    expect(requests.map((r) => [r.name, r.finish])).toEqual([
      ['single-5', SHIFT_FINISH],
      ['unseen', SHIFT_FINISH],
    ]);
  }, 120_000);
});
