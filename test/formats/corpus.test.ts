import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseSpectrumFile, type ParsedBlock } from '../../core/formats/index.ts';
// jcampconverter 10.0.2 (MIT; pinned: 11+ is CC-BY-NC-SA), a devDependency for this comparison only.
import { convert } from 'jcampconverter';

/**
 * Real files as instruments, vendor software and the RRUFF database write them (test/fixtures/corpus/README.md):
 * each is read with the point count and x range its header declares (or, for RRUFF, its rows hold), the warnings
 * listed for it, and the same numbers as jcampconverter where that reads the file. With strict set, a file read
 * with warnings is refused.
 */

interface Expected {
  file: string;
  writer: string;
  blocks?: Array<{ points: number; xFirst: number; xLast: number }>;
  refused?: string;
  warnings?: string[];
  /** same: count, x range and y agree; points: the counts agree (it converts Hz to ppm, adds imaginary pages); reads: it reads what spectrad refuses. */
  jcampconverter?: 'same' | 'points' | 'reads';
}

const root = new URL('../fixtures/corpus/', import.meta.url).pathname;
const index = JSON.parse(readFileSync(root + 'INDEX.json', 'utf8')) as { files: Expected[] };

interface JccSpectrum {
  data: { x: number[]; y: number[] };
}
function jcampconverter(text: string): JccSpectrum[] {
  // Its XY spectra carry data.x and data.y (its types say only Record<string, number[]>).
  return convert(text).flatten.flatMap((e) => (e.spectra ?? []) as unknown as JccSpectrum[]);
}

function close(actual: number, expected: number, rel = 1e-9): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(rel * Math.max(1, Math.abs(expected)));
}

function warningCodes(blocks: readonly ParsedBlock[]): string[] {
  return [...new Set(blocks.flatMap((b) => b.spectrum?.meta.warnings?.map((w) => w.code) ?? []))].sort();
}

/** NPOINTS, FIRSTX and LASTX as the header of a single-table file states them, read here without the reader. */
function declared(text: string): { npoints?: number; firstX?: number; lastX?: number } {
  const field = (label: string): number | undefined => {
    const all = [...text.matchAll(new RegExp(`^##${label}=\\s*([-+0-9.eE]+)`, 'gm'))];
    return all.length === 1 ? Number(all[0][1]) : undefined;
  };
  return { npoints: field('NPOINTS'), firstX: field('FIRSTX'), lastX: field('LASTX') };
}

/** Rows and x range of a RRUFF export, counted here without the reader: numeric rows before ##END=. */
function rruffRows(text: string): { rows: number; xFirst: number; xLast: number; names?: string; rruffId?: string } {
  const body = text.split(/^##END=/m)[0];
  const xs = body.split(/\r?\n/).filter((l) => /^\s*[-+.\d]/.test(l)).map((l) => Number(l.split(',')[0]));
  return {
    rows: xs.length,
    xFirst: Math.min(xs[0], xs[xs.length - 1]),
    xLast: Math.max(xs[0], xs[xs.length - 1]),
    names: /^##NAMES=(.*)$/m.exec(text)?.[1].trim(),
    rruffId: /^##RRUFFID=(.*)$/m.exec(text)?.[1].trim(),
  };
}

describe('corpus of real files', () => {
  it('holds vendor JCAMP-DX and RRUFF exports', () => {
    expect(index.files.filter((f) => f.file.startsWith('jcamp/')).length).toBeGreaterThanOrEqual(15);
    expect(index.files.filter((f) => f.file.startsWith('rruff/')).length).toBeGreaterThanOrEqual(10);
  });

  for (const entry of index.files.filter((f) => f.file.startsWith('jcamp/'))) {
    it(`${entry.file} (${entry.writer})`, () => {
      const bytes = readFileSync(root + entry.file);
      const blocks = parseSpectrumFile(bytes, { fileName: entry.file });
      const jcc = jcampconverter(bytes.toString('latin1'));
      if (entry.refused) {
        expect(blocks.map((b) => b.error?.code)).toEqual([entry.refused]);
        expect(blocks[0].error?.where).toMatchObject({ file: entry.file, block: 1 });
        expect(blocks[0].error?.where.line).toBeGreaterThan(0);
        if (entry.jcampconverter === 'reads') expect(jcc.length).toBeGreaterThan(0);
        return;
      }
      const expected = entry.blocks ?? [];
      expect(blocks.map((b) => b.error?.message)).toEqual(expected.map(() => undefined));
      blocks.forEach((b, i) => {
        const s = b.spectrum!;
        expect(s.y.length).toBe(expected[i].points);
        close(s.x[0], expected[i].xFirst);
        close(s.x[s.x.length - 1], expected[i].xLast);
      });
      expect(warningCodes(blocks)).toEqual([...(entry.warnings ?? [])].sort());

      // The header's own declaration, read without the reader (single-table files that state them).
      const d = declared(bytes.toString('latin1'));
      const only = blocks.length === 1 ? blocks[0].spectrum! : undefined;
      if (only && d.npoints !== undefined && !entry.warnings?.includes('jcamp-npoints-mismatch')) expect(only.y.length).toBe(d.npoints);
      if (only && d.firstX !== undefined && d.lastX !== undefined) {
        close(only.x[0], Math.min(d.firstX, d.lastX));
        close(only.x[only.x.length - 1], Math.max(d.firstX, d.lastX));
      }

      // What jcampconverter makes of the same file.
      if (entry.jcampconverter === 'same' || entry.jcampconverter === 'points') {
        expect(jcc.length).toBeGreaterThanOrEqual(blocks.length);
        blocks.forEach((b, i) => expect(jcc[i].data.y.length).toBe(b.spectrum!.y.length));
      }
      if (entry.jcampconverter === 'same') {
        expect(jcc.length).toBe(blocks.length);
        blocks.forEach((b, i) => {
          const s = b.spectrum!;
          const { x, y } = jcc[i].data;
          const ascending = x[0] <= x[x.length - 1];
          const jx = ascending ? x : [...x].reverse();
          const jy = ascending ? y : [...y].reverse();
          const scale = Math.max(...jy.map(Math.abs), 1e-300);
          close(s.x[0], jx[0], 1e-9);
          close(s.x[s.x.length - 1], jx[jx.length - 1], 1e-9);
          for (let k = 0; k < jy.length; k++) expect(Math.abs(s.y[k] - jy[k])).toBeLessThanOrEqual(1e-9 * scale);
        });
      }

      // --strict keeps the standard's refusals: a file read with warnings is refused, a clean one read the same.
      const strict = parseSpectrumFile(bytes, { fileName: entry.file, strict: true });
      if (entry.warnings?.length) expect(strict.some((b) => b.error)).toBe(true);
      else expect(strict.map((b) => b.spectrum?.y.length)).toEqual(expected.map((e) => e.points));
    });
  }

  for (const entry of index.files.filter((f) => f.file.startsWith('rruff/'))) {
    it(`${entry.file} (RRUFF): every row, the class and the sample`, () => {
      const bytes = readFileSync(root + entry.file);
      const truth = rruffRows(bytes.toString('utf8'));
      const blocks = parseSpectrumFile(bytes, { fileName: entry.file });
      expect(blocks).toHaveLength(1);
      const s = blocks[0].spectrum!;
      expect(s.y.length).toBe(truth.rows);
      close(s.x[0], truth.xFirst);
      close(s.x[s.x.length - 1], truth.xLast);
      expect(s.meta.extra?.class).toBe(truth.names);
      expect(s.meta.extra?.sample).toBe(truth.rruffId);
      expect(s.meta.sampleId).toBe(truth.rruffId);
      expect(s.meta.warnings).toBeUndefined();
      // Naming the format gives the same spectrum as detection.
      expect(parseSpectrumFile(bytes, { fileName: entry.file, format: 'rruff' })[0].spectrum?.y).toEqual(s.y);
    });
  }
});
