import { describe, expect, it } from 'vitest';
import { parseClassList } from '../../core/benchmark/index.ts';
import { createRng, deriveRng } from '../../core/math/rng.ts';
import { SpectrumInputError } from '../../core/errors.ts';

describe('createRng', () => {
  it('repeats a sequence for the same seed and differs for other seeds', () => {
    const draw = (seed: number) => {
      const rng = createRng(seed);
      return Array.from({ length: 8 }, () => rng.next());
    };
    expect(draw(1)).toEqual(draw(1));
    expect(draw(1)).not.toEqual(draw(2));
    expect(draw(0)).not.toEqual(draw(-1));
  });

  it('is uniform on [0, 1) and int() covers [lo, hi) evenly', () => {
    const rng = createRng(2024);
    const bins = new Array<number>(10).fill(0);
    const counts = new Map<number, number>();
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < 20000; i++) {
      const u = rng.next();
      lo = Math.min(lo, u);
      hi = Math.max(hi, u);
      bins[Math.floor(u * 10)]++;
      const k = rng.int(-3, 2);
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThan(1);
    // Expected 2000 per bin, sd ~42: 5 sd is far outside chance.
    for (const b of bins) expect(Math.abs(b - 2000)).toBeLessThan(210);
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual([-3, -2, -1, 0, 1]);
    for (const c of counts.values()) expect(Math.abs(c - 4000)).toBeLessThan(300);
    expect(() => rng.int(2, 2)).toThrow(RangeError);
  });

  it('gives standard normal draws', () => {
    const rng = createRng(5);
    const z = Array.from({ length: 20000 }, () => rng.normal());
    const mean = z.reduce((a, b) => a + b, 0) / z.length;
    const variance = z.reduce((a, b) => a + (b - mean) ** 2, 0) / z.length;
    expect(Math.abs(mean)).toBeLessThan(0.04);
    expect(Math.abs(variance - 1)).toBeLessThan(0.05);
  });

  it('derives independent streams per purpose', () => {
    expect(deriveRng(1, 1, 0).next()).not.toBe(deriveRng(1, 1, 1).next());
    expect(deriveRng(1, 1, 0).next()).toBe(deriveRng(1, 1, 0).next());
    expect(() => createRng(1.5)).toThrow(RangeError);
  });
});

describe('parseClassList', () => {
  it('reads ranges, single indices and comma lists in the order written', () => {
    expect(parseClassList('0-3', 500)).toEqual([0, 1, 2, 3]);
    expect(parseClassList('7', 27)).toEqual([7]);
    expect(parseClassList('10-11, 2,4 - 5', 27)).toEqual([10, 11, 2, 4, 5]);
  });

  it('rejects malformed, backwards, out-of-range and overlapping selections', () => {
    for (const bad of ['', 'a-b', '3-1', '0-27', '1,1', '0-5,3', '-1', '1.5']) {
      expect(() => parseClassList(bad, 27), bad).toThrow(SpectrumInputError);
    }
  });
});
