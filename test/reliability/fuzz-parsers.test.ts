// Property-based fuzzing of the file parsers: whatever the bytes, parsing either
// succeeds or throws SpectrumInputError — never another error, never a hang.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseSpectra } from '../../core/formats/index.ts';
import { SpectrumInputError } from '../../core/errors.ts';

function onlyInputErrors(input: Buffer | string, fileName?: string): void {
  try {
    parseSpectra(input, fileName === undefined ? {} : { fileName });
  } catch (error) {
    expect(error).toBeInstanceOf(SpectrumInputError);
  }
}

const jcampLine = fc.oneof(
  fc.constantFrom('##TITLE=x', '##JCAMP-DX=4.24', '##XYDATA=(X++(Y..Y))', '##NPOINTS=1e9', '##FIRSTX=0',
    '##LASTX=10', '##XFACTOR=1', '##YFACTOR=1', '##END=', '##PEAK TABLE=(XY..XY)', '##DATA TABLE=(XY..XY), XYDATA'),
  fc.string({ maxLength: 40 }),
  fc.stringMatching(/^[0-9@A-Za-s%J-Rj-r? .,+-]{0,40}$/),
);

describe('parser fuzzing (fixed runs)', () => {
  it('arbitrary bytes throw only SpectrumInputError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2000 }), fc.constantFrom(undefined, 'a.jdx', 'a.csv', 'a.json'),
      (bytes, name) => onlyInputErrors(Buffer.from(bytes), name)), { numRuns: 300 });
  });
  it('JCAMP-shaped text throws only SpectrumInputError', () => {
    fc.assert(fc.property(fc.array(jcampLine, { maxLength: 30 }),
      (lines) => onlyInputErrors(lines.join('\n'), 'f.jdx')), { numRuns: 300 });
  });
  it('CSV-shaped text throws only SpectrumInputError', () => {
    const cell = fc.oneof(fc.double(), fc.constantFrom('NaN', 'Inf', '-', '1e999', ''), fc.string({ maxLength: 6 }));
    fc.assert(fc.property(fc.array(fc.array(cell, { maxLength: 4 }), { maxLength: 50 }), fc.constantFrom(',', ';', '\t'),
      (rows, sep) => onlyInputErrors(rows.map((r) => r.map(String).join(sep)).join('\n'), 'f.csv')), { numRuns: 300 });
  });
  it('JSON-shaped input throws only SpectrumInputError', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }),
      (value) => onlyInputErrors(JSON.stringify(value) ?? 'null', 'f.json')), { numRuns: 300 });
  });
});
