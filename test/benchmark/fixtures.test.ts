import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateTestSplit, loadDefinition } from '../../core/benchmark/index.ts';

// Copied from the project's shared fixtures (numpy/scipy output of the published rules; see fixtures/README.md).
const FIXTURES = new URL('./fixtures/', import.meta.url);

interface FullRow { class: number; variant: number; y: number[] }
interface SummaryRow { class: number; variant: number; sum: number; max: number; argmax: number; sumsq: number }

const full = JSON.parse(readFileSync(new URL('benchmark-test-classes-0-1.json', FIXTURES), 'utf8')) as { rows: FullRow[] };
const summary = JSON.parse(readFileSync(new URL('benchmark-test-summary.json', FIXTURES), 'utf8')) as { n: number; rows: SummaryRow[] };

const TOL = 1e-6;

describe('benchmark test split matches the published generator', () => {
  const def = loadDefinition('benchmark');
  const split = generateTestSplit(def);

  it('has 4500 rows, class-major and variant-minor', () => {
    expect(split.n).toBe(4500);
    expect(split.points).toBe(5000);
    expect(split.x.length).toBe(4500 * 5000);
    expect(summary.rows.length).toBe(4500);
    for (let i = 0; i < split.n; i++) {
      expect(split.y[i]).toBe(Math.floor(i / 9));
      expect(summary.rows[i].class * 9 + summary.rows[i].variant).toBe(i);
    }
  });

  it('reproduces the full rows of classes 0 and 1 point by point', () => {
    expect(full.rows.length).toBe(18);
    let worst = 0;
    for (const [i, row] of full.rows.entries()) {
      expect(row.class * 9 + row.variant).toBe(i);
      const offset = i * split.points;
      for (let p = 0; p < split.points; p++) worst = Math.max(worst, Math.abs(split.x[offset + p] - row.y[p]));
    }
    expect(worst).toBeLessThan(TOL);
  });

  it('reproduces sum, max, argmax and sum of squares of all 4500 rows', () => {
    const bad: string[] = [];
    for (let i = 0; i < split.n; i++) {
      const expected = summary.rows[i];
      const offset = i * split.points;
      let sum = 0;
      let sumsq = 0;
      let max = -Infinity;
      let argmax = -1;
      for (let p = 0; p < split.points; p++) {
        const value = split.x[offset + p];
        sum += value;
        sumsq += value * value;
        if (value > max) {
          max = value;
          argmax = p;
        }
      }
      const off = Math.abs(sum - expected.sum) > TOL || Math.abs(max - expected.max) > TOL || Math.abs(sumsq - expected.sumsq) > TOL;
      if (off || argmax !== expected.argmax) {
        bad.push(`row ${i}: sum ${sum} vs ${expected.sum}, max ${max} vs ${expected.max}, argmax ${argmax} vs ${expected.argmax}, sumsq ${sumsq} vs ${expected.sumsq}`);
      }
    }
    expect(bad.slice(0, 5)).toEqual([]);
  });
});
