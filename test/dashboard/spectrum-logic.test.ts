import { describe, expect, it } from 'vitest';
import { hitReferences, pearson } from '../../daemon/http/hits.ts';
import { resultCsvRow, resultsCsvHeader } from '../../daemon/http/results-export.ts';
import { matchClasses, naturalSort } from '../../dashboard/src/class-picker.ts';
import { exportUrl, filterFromQuery, filterToQuery } from '../../dashboard/src/filter.ts';
import { formatDateTime, zoneLabel } from '../../dashboard/src/format.ts';
import { axisLabel, findPeaks, fitScale, residual, scaled, stack } from '../../dashboard/src/plot-data.ts';
import { readSpectrum } from '../../dashboard/src/shapes.ts';
import { makeResult } from './support/spectra.ts';

/** The pure parts behind the spectrum view, History at speed and the class picker, in Node. */

describe('spectrum view numbers', () => {
  it('titles the x axis from the unit as files and grids spell it', () => {
    expect(axisLabel('cm-1')).toBe('Wavenumber / Raman shift (cm⁻¹)');
    expect(axisLabel('1/CM')).toBe('Wavenumber / Raman shift (cm⁻¹)');
    expect(axisLabel('2theta')).toBe('2θ (°)');
    expect(axisLabel('index')).toBe('Grid point (index)');
    expect(axisLabel('nm')).toBe('Wavelength (nm)');
    expect(axisLabel(undefined)).toBe('x (unit not given)');
    expect(axisLabel('cm-1', false)).toBe('Point (index)');
    expect(axisLabel('furlongs')).toBe('furlongs');
  });

  it('scales the reference to the query by least squares, and the residual is what it leaves', () => {
    const r = [0, 1, 2, 1, 0];
    const q = [0.1, 2, 4, 2, 0.1];
    const a = fitScale(q, r);
    expect(a).toBeCloseTo(2, 6);
    expect(residual(q, scaled(r, a)).map((v) => Number(v!.toFixed(6)))).toEqual([0.1, 0, 0, 0, 0.1]);
    // A reference that only explains by a negative amount explains nothing.
    expect(fitScale([1, 0], [-1, 0])).toBe(0);
    expect(residual([1, null], [0.5, 1])).toEqual([0.5, null]);
  });

  it('stacks mixture parts so each band sits on the ones below', () => {
    expect(stack([[1, 2, null], [0.5, 0.5, 1]])).toEqual([[1, 2, 0], [1.5, 2.5, 1]]);
  });

  it('finds the strongest separated peaks, strongest first', () => {
    const x = Array.from({ length: 100 }, (_, i) => 100 + i * 10);
    const y = x.map((_, i) => Math.exp(-((i - 20) ** 2) / 4) + 0.5 * Math.exp(-((i - 70) ** 2) / 4) + 0.02 * Math.exp(-((i - 45) ** 2) / 4));
    const peaks = findPeaks(x, y);
    expect(peaks.map((p) => p.x)).toEqual([300, 800]);
    expect(peaks[1].y).toBeCloseTo(0.5, 2);
  });

  it('reads the hits and the file of a spectrum record', () => {
    const r = makeResult({ status: 'identified', cls: 1, score: 0.9 });
    const s = readSpectrum({ id: 'a', source: '/in/q.jdx', title: 'Quartz', preprocessed: { x: [0, 1], y: [0, 1], xUnit: 'cm-1' }, hits: [{ rank: 1, class: 'k', score: 0.9, correlation: 0.97, references: 4, y: [0, 1] }, { rank: 2 }], result: r });
    expect(s.source).toBe('/in/q.jdx');
    expect(s.title).toBe('Quartz');
    expect(s.preprocessed?.xUnit).toBe('cm-1');
    expect(s.hits).toEqual([{ rank: 1, class: 'k', score: 0.9, correlation: 0.97, references: 4, y: [0, 1] }]);
  });
});

describe('hits on the daemon', () => {
  it('picks, for each of the first three candidates, the reference nearest to the query', () => {
    const q = new Float32Array([0, 1, 0, 0]);
    const refs: Record<string, Float32Array[]> = {
      a: [new Float32Array([1, 0, 0, 0]), new Float32Array([0, 2, 0.1, 0])],
      b: [new Float32Array([0, 0, 1, 0])],
      c: [new Float32Array([0, 0, 0, 1])],
      d: [new Float32Array([0, 1, 0, 0])],
    };
    const result = makeResult({ status: 'identified', cls: 0, score: 0.9 });
    const withCandidates = { ...result, candidates: ['a', 'b', 'c', 'd'].map((c, i) => ({ class: c, score: 0.5 - i * 0.1 })) };
    const hits = hitReferences(q, withCandidates, (c) => refs[c] ?? []);
    expect(hits.map((x) => [x.rank, x.class, x.references])).toEqual([[1, 'a', 2], [2, 'b', 1], [3, 'c', 1]]);
    // The nearer of a's two references, scaled to max 1.
    expect(hits[0].y).toEqual([0, 1, 0.05, 0]);
    expect(hits[0].correlation).toBeCloseTo(pearson(q, refs.a[1]), 4);
    expect(hitReferences(q, { ...withCandidates, status: 'rejected' }, () => refs.a)).toEqual([]);
  });
});

describe('bulk export rows', () => {
  it('writes one RFC 4180 row per result, quoting commas and defusing formulas', () => {
    const r = { ...makeResult({ status: 'identified', cls: 1, score: 0.91234 }), source: '/in/a,"b".jdx', modelVersion: '=cmd' };
    const header = resultsCsvHeader().trimEnd().split(',');
    const row = resultCsvRow(r);
    expect(row.endsWith('\r\n')).toBe(true);
    expect(row).toContain('"/in/a,""b"".jdx"');
    expect(row).toContain(",'=cmd,");
    expect(row).toContain(',0.9123,');
    expect(header).toHaveLength(16);
  });
});

describe('History at speed', () => {
  it('keeps the sort in the URL and the API query, with offset paging, and exports the same filter', () => {
    const f = filterFromQuery('instrument=r1&sort=-score');
    expect(f).toMatchObject({ instrument: 'r1', sort: '-score' });
    expect(filterToQuery(f, { limit: 100, offset: 300 })).toBe('instrument=r1&sort=-score&offset=300&limit=100');
    // Newest first is the default and is not written; nonsense is dropped.
    expect(filterFromQuery('sort=-time').sort).toBeUndefined();
    expect(filterFromQuery('sort=drop table').sort).toBeUndefined();
    expect(exportUrl(f, 'json')).toBe('/api/results/export?instrument=r1&sort=-score&format=json');
    expect(exportUrl({}, 'csv')).toBe('/api/results/export?format=csv');
  });

  it('dates every time and names the zone', () => {
    expect(formatDateTime('2026-03-01T08:00:05Z')).toMatch(/^2026-03-0[12] \d\d:00:05$/);
    expect(zoneLabel()).toMatch(/^UTC[+-]\d\d:\d\d/);
  });
});

describe('class picker', () => {
  const names = Array.from({ length: 500 }, (_, i) => `mineral-${i + 1}`).concat(['Calcite', 'calcite (synthetic)', 'Magnesian calcite']);

  it('sorts names as numbers read', () => {
    expect(naturalSort(['c10', 'c2', 'C1'])).toEqual(['C1', 'c2', 'c10']);
  });

  it('puts names that start with the text first, then word starts, then the rest, at most 50 with a count of more', () => {
    expect(matchClasses(names, 'calc').items).toEqual(['Calcite', 'calcite (synthetic)', 'Magnesian calcite']);
    expect(matchClasses(names, 'ite').items).toEqual(['Calcite', 'calcite (synthetic)', 'Magnesian calcite']);
    const m = matchClasses(names, 'mineral-1');
    expect(m.items).toHaveLength(50);
    expect(m.items.slice(0, 3)).toEqual(['mineral-1', 'mineral-10', 'mineral-11']);
    expect(m.more).toBe(111 - 50);
    expect(matchClasses(names, '').more).toBe(503 - 50);
  });
});
