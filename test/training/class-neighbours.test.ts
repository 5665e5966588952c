import { describe, expect, it } from 'vitest';
import { createRng } from '../../core/math/rng.ts';
import { nearestClasses } from '../../core/training/class-neighbours.ts';
import { PkSampler } from '../../core/training/sampler.ts';

/** A row of `points` zeros with unit peaks at the given positions. */
function row(points: number, peaks: readonly number[]): number[] {
  const r = new Array<number>(points).fill(0);
  for (const p of peaks) r[p] = 1;
  return r;
}

describe('nearestClasses', () => {
  // Classes 0 and 1 share two of three bands (relatives), 2 and 3 share one band with each other, nothing with 0/1.
  const points = 20;
  const rows = [row(points, [1, 5, 9]), row(points, [1, 5, 10]), row(points, [14, 16]), row(points, [14, 18]), row(points, [1, 5, 11])];
  const y = Int32Array.from([0, 1, 2, 3, 1]);
  const x = Float32Array.from(rows.flat());

  it('ranks the classes that share the most bands first, by their best member', () => {
    const near = nearestClasses(x, y, points, 2);
    expect(near.get(0)?.[0]).toBe(1);
    expect(near.get(1)?.[0]).toBe(0);
    expect(near.get(2)?.[0]).toBe(3);
    expect(near.get(3)?.[0]).toBe(2);
    for (const [c, list] of near) {
      expect(list).not.toContain(c);
      expect(list.length).toBe(2);
    }
  });

  it('refuses sizes that do not match', () => {
    expect(() => nearestClasses(x, y, points + 1, 2)).toThrow(/rows of/);
    expect(() => nearestClasses(x, y, points, 0)).toThrow(/count/);
  });
});

describe('PkSampler with neighbour batches', () => {
  // 40 classes x 2; each class's only neighbour is its partner c ^ 1.
  const labels = Int32Array.from({ length: 80 }, (_, i) => i % 40);
  const neighbours = new Map(Array.from({ length: 40 }, (_, c) => [c, [c ^ 1]] as [number, number[]]));

  it('puts the asked share of classes beside a neighbour, still P distinct classes of K', () => {
    const share = (hard?: number): number => {
      const s = new PkSampler(labels, 8, 2, createRng(5), hard === undefined ? undefined : { neighbours, share: hard });
      let pairs = 0;
      for (let step = 0; step < 50; step++) {
        const { labels: l } = s.next();
        const classes = new Set(l);
        expect(classes.size).toBe(8);
        for (const c of classes) if (c % 2 === 0 && classes.has(c + 1)) pairs++;
      }
      return pairs / 50;
    };
    // Random batches of 8 of 40 classes hold a partner pair now and then; half the classes as neighbours, 4 pairs.
    expect(share()).toBeLessThan(1.5);
    expect(share(0.5)).toBeGreaterThanOrEqual(4);
  });

  it('refuses a share outside [0, 1)', () => {
    expect(() => new PkSampler(labels, 8, 2, createRng(1), { neighbours, share: 1 })).toThrow(/share/);
  });
});
