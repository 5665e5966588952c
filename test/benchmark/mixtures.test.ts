import { describe, expect, it } from 'vitest';
import { type Dataset, generateTestSplit, loadDefinition, makeMixtures } from '../../core/benchmark/index.ts';
import { SpectrumInputError } from '../../core/errors.ts';
import { firstDifference } from './bytes.ts';

const source: Dataset = generateTestSplit(loadDefinition('challenge'), { classes: [0, 3, 6, 9, 12, 15, 18, 21] });

function rowsOf(ds: Dataset, cls: number): number[] {
  return [...ds.y.keys()].filter((i) => ds.y[i] === cls);
}

/** True when mixture row i equals the normalized sum of some choice of one source row per component class. */
function isNormalizedSumOf(mix: ReturnType<typeof makeMixtures>, i: number, anchorRow: number): boolean {
  const m = mix.components.length / mix.n;
  const others = [...mix.components.subarray(i * m + 1, (i + 1) * m)];
  const points = mix.points;
  const tryRows = (k: number, sum: Float64Array): boolean => {
    if (k === others.length) {
      let max = 0;
      for (const v of sum) max = Math.max(max, Math.abs(v));
      for (let p = 0; p < points; p++) if (Math.abs(sum[p] / max - mix.x[i * points + p]) > 1e-6) return false;
      return true;
    }
    return rowsOf(source, others[k]).some((r) => {
      const next = Float64Array.from(sum);
      for (let p = 0; p < points; p++) next[p] += source.x[r * points + p];
      return tryRows(k + 1, next);
    });
  };
  return tryRows(0, Float64Array.from(source.x.subarray(anchorRow * points, (anchorRow + 1) * points)));
}

describe('makeMixtures', () => {
  it('builds one mixture per anchor row of m distinct classes, the anchor first, normalized to max 1', () => {
    const mix = makeMixtures(source, { components: 3, seed: 5, anchorClasses: [0, 3] });
    const anchorRows = [...rowsOf(source, 0), ...rowsOf(source, 3)];
    expect(mix.n).toBe(anchorRows.length);
    expect(mix.components.length).toBe(mix.n * 3);
    for (let i = 0; i < mix.n; i++) {
      const comps = [...mix.components.subarray(i * 3, i * 3 + 3)];
      expect(comps[0]).toBe(source.y[anchorRows[i]]);
      expect(new Set(comps).size).toBe(3);
      let max = 0;
      for (let p = 0; p < mix.points; p++) max = Math.max(max, Math.abs(mix.x[i * mix.points + p]));
      expect(max).toBeCloseTo(1, 6);
      expect(isNormalizedSumOf(mix, i, anchorRows[i])).toBe(true);
    }
  });

  it('draws the other components from the pool only and covers the pool', () => {
    const pool = [6, 9, 12];
    const mix = makeMixtures(source, { components: 2, seed: 1, anchorClasses: [0], poolClasses: pool, count: 60 });
    expect(mix.n).toBe(60);
    const seen = new Set<number>();
    for (let i = 0; i < mix.n; i++) {
      expect(mix.components[i * 2]).toBe(0);
      expect(pool).toContain(mix.components[i * 2 + 1]);
      seen.add(mix.components[i * 2 + 1]);
    }
    expect(seen).toEqual(new Set(pool));
  });

  it('cycles through the anchor rows when count exceeds them', () => {
    const mix = makeMixtures(source, { components: 2, seed: 2, anchorClasses: [21], count: 13 });
    const anchorRows = rowsOf(source, 21);
    for (let i = 0; i < mix.n; i++) expect(isNormalizedSumOf(mix, i, anchorRows[i % anchorRows.length])).toBe(true);
  });

  it('repeats with the same seed and changes with another', () => {
    const a = makeMixtures(source, { components: 4, seed: 11 });
    const b = makeMixtures(source, { components: 4, seed: 11 });
    const c = makeMixtures(source, { components: 4, seed: 12 });
    expect(firstDifference(a.x, b.x)).toBe(-1);
    expect(firstDifference(a.components, b.components)).toBe(-1);
    expect(Buffer.from(a.components.buffer).equals(Buffer.from(c.components.buffer))).toBe(false);
  });

  it('rejects impossible requests with specific codes', () => {
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        expect(err).toBeInstanceOf(SpectrumInputError);
        return (err as SpectrumInputError).code;
      }
      return 'no error';
    };
    expect(code(() => makeMixtures(source, { components: 0, seed: 1 }))).toBe('bad-components');
    expect(code(() => makeMixtures(source, { components: 3, seed: 1, anchorClasses: [0], poolClasses: [0, 3] }))).toBe('too-few-classes');
    expect(code(() => makeMixtures(source, { components: 2, seed: 1, anchorClasses: [1] }))).toBe('bad-class');
    expect(code(() => makeMixtures(source, { components: 2, seed: 1, count: -1 }))).toBe('bad-count');
  });
});
