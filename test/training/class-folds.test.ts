import { describe, expect, it } from 'vitest';
import { classFold, fnv1a32, isHeldOut } from '../../core/training/class-folds.ts';

describe('class folds', () => {
  it('hashes with FNV-1a 32-bit (reference values)', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('puts each name in one stable fold and spreads names over all folds', () => {
    const names = Array.from({ length: 1000 }, (_, i) => `mineral-${i}`);
    const counts = [0, 0, 0, 0, 0];
    for (const name of names) {
      const fold = classFold(name);
      expect(classFold(name)).toBe(fold);
      expect(isHeldOut(name, fold)).toBe(true);
      counts[fold]! += 1;
    }
    for (const count of counts) expect(count).toBeGreaterThan(150);
  });

  it('refuses fewer than two folds', () => {
    expect(() => classFold('x', 1)).toThrow(RangeError);
  });
});
