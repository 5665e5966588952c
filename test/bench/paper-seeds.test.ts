import { describe, expect, it } from 'vitest';
import { parseSeeds } from '../../bench/paper.ts';

describe('bench:paper --seeds', () => {
  it('reads a count as seeds 1..n and a list as exactly those seeds', () => {
    expect(parseSeeds('1')).toEqual([1]);
    expect(parseSeeds('3')).toEqual([1, 2, 3]);
    expect(parseSeeds('2,3')).toEqual([2, 3]);
    expect(parseSeeds(' 4 , 2 ')).toEqual([4, 2]);
  });

  it('reads a range A-B as seeds A..B, so one seed other than 1 can run alone', () => {
    expect(parseSeeds('2-2')).toEqual([2]);
    expect(parseSeeds('2-4')).toEqual([2, 3, 4]);
    for (const bad of ['0-2', '3-2']) expect(() => parseSeeds(bad), bad).toThrow(/--seeds/);
  });

  it('refuses what is not a positive integer, and repeated seeds', () => {
    for (const bad of ['0', '-1', '1.5', 'x', '', '2,,3', '2,2']) expect(() => parseSeeds(bad), bad).toThrow(/--seeds/);
  });
});
