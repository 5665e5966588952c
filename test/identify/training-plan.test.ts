import { describe, expect, it } from 'vitest';
import type { Dataset } from '../../core/benchmark/index.ts';
import { CHALLENGE_RECIPE, trainingPlan, type TrainRequest } from '../../core/identify/protocols.ts';

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
  it('runs the challenge recipe as bench:challenge chose it: every epoch, 10 validation spectra per class', () => {
    const plan = trainingPlan(request(50, CHALLENGE_RECIPE), { arch: 'tiny', epochs: 12 });
    expect(plan.arch).toBe(CHALLENGE_RECIPE.arch);
    expect(plan.epochs).toBe(CHALLENGE_RECIPE.epochs);
    expect(plan.valPerClass).toBe(10);
    // bench paper's default early stop (5 epochs) would cut the recipe short: bench:challenge's best epochs were 28-48.
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
});
