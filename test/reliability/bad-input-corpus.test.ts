import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SpectrumInputError } from '../../core/errors.ts';
import { parseSpectra, parseSpectrumFile } from '../../core/formats/index.ts';
import { MALFORMED, VALID_FORMS } from '../fixtures/malformed/corpus.ts';

/**
 * Every file of the malformed corpus is refused by the readers with its expected code and a message that says where
 * (the file name at least), never with another kind of error; the valid compression forms beside them still read.
 */
const FILES = path.join(import.meta.dirname, '../fixtures/malformed/files');

function refusal(bytes: Buffer, name: string): SpectrumInputError {
  try {
    parseSpectra(bytes, { fileName: name });
  } catch (err) {
    if (err instanceof SpectrumInputError) return err;
    throw new Error(`${name}: threw ${String(err)} instead of a SpectrumInputError`);
  }
  throw new Error(`${name}: accepted, but it is malformed`);
}

describe('malformed corpus through the format readers', () => {
  it.each(MALFORMED.map((c) => [c.name, c] as const))('%s is refused with a clear code', (_name, c) => {
    const err = refusal(c.bytes, c.name);
    expect(c.codes, `${c.name} (${c.why}): ${err.message}`).toContain(err.code);
    expect(err.where.file).toBe(c.name);
    expect(err.message.startsWith(`${c.name}`)).toBe(true);
    // The message says more than its location: what is wrong.
    expect(err.message.length).toBeGreaterThan(c.name.length + 20);
  });

  it('the valid compression forms (AFFN, PAC, SQZ, DIF, DUP) all read the same 16 ordinates', () => {
    for (const v of VALID_FORMS) {
      const [s] = parseSpectra(v.bytes, { fileName: v.name });
      expect(Array.from(s.y), v.name).toEqual(Array.from({ length: 16 }, (_, i) => 10 + i));
    }
  });

  it('the committed files/ are what generate.ts writes from the corpus', () => {
    const index = JSON.parse(readFileSync(path.join(FILES, 'INDEX.json'), 'utf8')) as { malformed: Array<{ file: string; codes: string[] }> };
    expect(index.malformed.map((m) => m.file)).toEqual(MALFORMED.map((c) => c.name));
    for (const c of [...MALFORMED, ...VALID_FORMS]) expect(readFileSync(path.join(FILES, c.name)).equals(c.bytes), c.name).toBe(true);
  });

  it('a billion-point claim costs no billion-point allocation, and the corpus leaves memory bounded', () => {
    const before = process.memoryUsage();
    for (let round = 0; round < 5; round++) for (const c of MALFORMED) refusal(c.bytes, c.name);
    const after = process.memoryUsage();
    // 1e9 float64 ordinates would be 8 GB; the whole corpus is under 1 MB. 64 MB leaves room for the GC's timing.
    expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(64 * 1024 * 1024);
    expect(after.rss - before.rss).toBeLessThan(256 * 1024 * 1024);
  });

  it('an input over maxBytes is refused before it is decoded', () => {
    const big = Buffer.alloc(2 * 1024 * 1024, 0x31);
    expect(() => parseSpectrumFile(big, { fileName: 'big.csv', limits: { maxBytes: 1024 * 1024 } })).toThrow(
      expect.objectContaining({ code: 'input-too-large' }),
    );
  });
});

describe('a single row of many values (serial line framing) is one spectrum', () => {
  it('reads the row as y values with x the point index', () => {
    const [s] = parseSpectra('0.5,1.5,2.5,3.5,4.5\n', { fileName: 'serial.csv' });
    expect(Array.from(s.y)).toEqual([0.5, 1.5, 2.5, 3.5, 4.5]);
    expect(Array.from(s.x)).toEqual([0, 1, 2, 3, 4]);
    expect(s.xUnit).toBe('index');
  });
  it('with semicolons and decimal commas, trailing comments allowed', () => {
    const [s] = parseSpectra('# title: row\n1,5;2,5;3,5\n# end\n', { fileName: 'row.txt' });
    expect(Array.from(s.y)).toEqual([1.5, 2.5, 3.5]);
  });
  it('a row with a word in it is not data; a row longer than maxPoints is refused', () => {
    expect(() => parseSpectra('1,2,x,4\n', { fileName: 'serial.csv' })).toThrow(expect.objectContaining({ code: 'csv-no-data' }));
    expect(() => parseSpectra('1,2,3,4,5,6\n', { fileName: 'serial.csv', limits: { maxPoints: 5 } })).toThrow(expect.objectContaining({ code: 'too-many-points' }));
  });
});
