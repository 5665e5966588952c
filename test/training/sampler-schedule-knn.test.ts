import { describe, expect, it } from 'vitest';
import { createRng } from '../../core/math/rng.ts';
import { knnAccuracy, knnPredict } from '../../core/training/knn.ts';
import { PkSampler } from '../../core/training/sampler.ts';
import { learningRateAt } from '../../core/training/schedule.ts';

describe('PkSampler', () => {
  const labels = Int32Array.from({ length: 60 }, (_, i) => i % 10); // 10 classes x 6

  it('draws P distinct classes with K samples each, labels matching the rows', () => {
    const s = new PkSampler(labels, 4, 3, createRng(1));
    for (let step = 0; step < 20; step++) {
      const { indices, labels: l } = s.next();
      expect(indices.length).toBe(12);
      const classes = new Set<number>();
      for (let i = 0; i < 12; i++) {
        expect(labels[indices[i]]).toBe(l[i]);
        classes.add(l[i]);
      }
      expect(classes.size).toBe(4);
      for (const c of classes) expect(Array.from(l).filter((x) => x === c).length).toBe(3);
      // within one class no sample repeats while the class has enough samples
      for (const c of classes) {
        const rows = Array.from(indices).filter((_, i) => l[i] === c);
        expect(new Set(rows).size).toBe(3);
      }
    }
  });

  it('shows every sample equally often over whole decks', () => {
    const s = new PkSampler(labels, 5, 3, createRng(2));
    const seen = new Int32Array(60);
    // 10 classes x 6 samples: 4 steps of 5x3 use each class deck of 6 exactly... 20 steps = 300 draws = 5 per sample
    for (let step = 0; step < 20; step++) for (const i of s.next().indices) seen[i]++;
    expect(Math.min(...seen)).toBe(5);
    expect(Math.max(...seen)).toBe(5);
    expect(s.stepsPerEpoch(60)).toBe(4);
  });

  it('repeats exactly with the same seed and differs with another', () => {
    const a = new PkSampler(labels, 4, 2, createRng(3)).next().indices;
    const b = new PkSampler(labels, 4, 2, createRng(3)).next().indices;
    const c = new PkSampler(labels, 4, 2, createRng(4)).next().indices;
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
  });

  it('refuses batches that cannot hold positives and negatives', () => {
    expect(() => new PkSampler(labels, 1, 4, createRng(1))).toThrow(/P must/);
    expect(() => new PkSampler(labels, 4, 1, createRng(1))).toThrow(/K must/);
    expect(() => new PkSampler(new Int32Array(5), 4, 2, createRng(1))).toThrow(/2 classes/);
  });
});

describe('learningRateAt', () => {
  const opts = { peak: 1e-3, totalSteps: 100, warmupSteps: 10, finalFraction: 0.1 };
  it('warms up linearly, peaks, then decays by a cosine to the floor', () => {
    expect(learningRateAt(0, opts)).toBeCloseTo(1e-4, 10);
    expect(learningRateAt(9, opts)).toBeCloseTo(1e-3, 10);
    expect(learningRateAt(10, opts)).toBeCloseTo(1e-3, 10);
    expect(learningRateAt(55, opts)).toBeCloseTo(1e-4 + 0.5 * 9e-4, 10);
    expect(learningRateAt(100, opts)).toBeCloseTo(1e-4, 10);
    for (let s = 11; s < 100; s++) expect(learningRateAt(s, opts)).toBeLessThanOrEqual(learningRateAt(s - 1, opts));
  });
});

describe('knnAccuracy (cosine, majority of k)', () => {
  // references on the unit circle: class 0 near angle 0, class 1 near 90 degrees
  const at = (deg: number) => [Math.cos((deg * Math.PI) / 180), Math.sin((deg * Math.PI) / 180)];
  const train = new Float32Array([...at(0), ...at(10), ...at(80), ...at(90), ...at(100)]);
  const trainY = [0, 0, 1, 1, 1];

  it('votes over the k nearest', () => {
    const test = new Float32Array([...at(5), ...at(85), ...at(40)]);
    expect(Array.from(knnPredict(train, trainY, test, 3, 1))).toEqual([0, 1, 0]);
    // at 40 degrees the 3 nearest are 10, 0 and 80: class 0 by 2 votes to 1
    expect(Array.from(knnPredict(train, trainY, test, 3, 3))).toEqual([0, 1, 0]);
    // k = 5: class 1 has 3 of 5 votes everywhere
    expect(Array.from(knnPredict(train, trainY, test, 3, 5))).toEqual([1, 1, 1]);
    expect(knnAccuracy(train, trainY, test, [0, 1, 1], 3)).toBeCloseTo(2 / 3, 10);
  });

  it('breaks a tie in votes by summed similarity', () => {
    const two = new Float32Array([...at(0), ...at(90)]);
    expect(Array.from(knnPredict(two, [0, 1], new Float32Array(at(50)), 1, 2))).toEqual([1]);
    expect(Array.from(knnPredict(two, [0, 1], new Float32Array(at(40)), 1, 2))).toEqual([0]);
  });

  it('rejects mismatched sizes', () => {
    expect(() => knnAccuracy(train, trainY, new Float32Array(3), [0], 3)).toThrow(/do not match/);
  });
});

describe('describeClasses', () => {
  it('compresses class lists into ranges for cards and descriptions', async () => {
    const { describeClasses } = await import('../../core/training/data.ts');
    expect(describeClasses([3, 0, 1, 2, 7, 9, 8, 20])).toBe('0-3,7-9,20');
    expect(describeClasses([5])).toBe('5');
  });
});
