import { SpectrumInputError } from '../errors.ts';
import type { Dataset } from './generate.ts';
import { createRng } from '../math/rng.ts';

export interface MixtureOptions {
  /** m: number of distinct classes in each mixture (>= 1). */
  components: number;
  seed: number;
  /** Classes whose rows anchor the mixtures (each row of such a class gets one mixture); all classes of the source when absent. */
  anchorClasses?: number[];
  /** Classes the other m-1 components are drawn from; all classes of the source when absent. */
  poolClasses?: number[];
  /** Number of mixtures; when absent one per anchor row. Anchor rows are used in order, cycling when count exceeds them. */
  count?: number;
}

export interface MixtureSet {
  x: Float32Array;
  n: number;
  points: number;
  /** Row-major [n, m]: the anchor's class first, then the other components in the order drawn. */
  components: Int32Array;
}

function distinctClasses(y: Int32Array): number[] {
  return [...new Set(y)];
}

/**
 * Mixtures as the paper builds its mixture tests: for each anchor row (a spectrum of an anchor class), add one random
 * spectrum of each of m-1 other distinct classes drawn from the pool, then scale the sum to max |y| = 1.
 */
export function makeMixtures(source: Dataset, opts: MixtureOptions): MixtureSet {
  const { components: m, seed } = opts;
  if (!Number.isInteger(m) || m < 1) {
    throw new SpectrumInputError('bad-components', `components must be a positive integer, got ${m}`, { field: 'components' });
  }
  const rowsByClass = new Map<number, number[]>();
  for (let i = 0; i < source.n; i++) {
    const rows = rowsByClass.get(source.y[i]);
    if (rows) rows.push(i);
    else rowsByClass.set(source.y[i], [i]);
  }
  const checkPresent = (classes: number[], field: string): number[] => {
    for (const c of classes) {
      if (!rowsByClass.has(c)) throw new SpectrumInputError('bad-class', `class ${c} has no spectra in the source`, { field });
    }
    return [...new Set(classes)];
  };
  const anchors = checkPresent(opts.anchorClasses ?? distinctClasses(source.y), 'anchorClasses');
  const pool = checkPresent(opts.poolClasses ?? distinctClasses(source.y), 'poolClasses');
  const anchorRows = anchors.flatMap((c) => rowsByClass.get(c) ?? []);
  for (const c of anchors) {
    const others = pool.filter((p) => p !== c).length;
    if (others < m - 1) {
      throw new SpectrumInputError('too-few-classes', `a ${m}-component mixture of class ${c} needs ${m - 1} other classes but the pool has ${others}`, { field: 'poolClasses' });
    }
  }
  const n = opts.count ?? anchorRows.length;
  if (!Number.isInteger(n) || n < 0) throw new SpectrumInputError('bad-count', `count must be a non-negative integer, got ${n}`, { field: 'count' });
  if (n > 0 && anchorRows.length === 0) throw new SpectrumInputError('bad-class', 'no anchor spectra to build mixtures from', { field: 'anchorClasses' });

  const { points } = source;
  const rng = createRng(seed);
  const x = new Float32Array(n * points);
  const componentsOut = new Int32Array(n * m);
  const sum = new Float64Array(points);
  for (let i = 0; i < n; i++) {
    const anchorRow = anchorRows[i % anchorRows.length];
    const anchorClass = source.y[anchorRow];
    const candidates = pool.filter((p) => p !== anchorClass);
    // Partial Fisher-Yates: the first m-1 entries become a uniform draw of distinct classes.
    for (let k = 0; k < m - 1; k++) {
      const j = rng.int(k, candidates.length);
      [candidates[k], candidates[j]] = [candidates[j], candidates[k]];
    }
    sum.fill(0);
    const addRow = (row: number): void => {
      const offset = row * points;
      for (let p = 0; p < points; p++) sum[p] += source.x[offset + p];
    };
    addRow(anchorRow);
    componentsOut[i * m] = anchorClass;
    for (let k = 0; k < m - 1; k++) {
      const rows = rowsByClass.get(candidates[k]) ?? [];
      addRow(rows[rng.int(0, rows.length)]);
      componentsOut[i * m + k + 1] = candidates[k];
    }
    let max = 0;
    for (let p = 0; p < points; p++) max = Math.max(max, Math.abs(sum[p]));
    const scale = max > 0 ? 1 / max : 0;
    for (let p = 0; p < points; p++) x[i * points + p] = sum[p] * scale;
  }
  return { x, n, points, components: componentsOut };
}
