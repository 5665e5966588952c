import { describe, expect, it } from 'vitest';
import { parseSpectrumFile, type ParsedBlock } from '../../core/formats/index.ts';
import { xyBlock } from './helpers.ts';

/**
 * Tolerant JCAMP-DX reading: a file that breaks the standard in a way whose meaning is clear is read and the
 * spectrum carries meta.warnings; with strict set it is refused as the standard demands. Where the meaning is not
 * clear it is refused either way. xyBlock: ##TITLE= on line 1 ... ##NPOINTS= line 9, ##XYDATA= line 10, data from 11.
 */

const TEN = ['100 1 2 3 4 5', '105 6 7 8 9 10'];

function one(text: string, strict = false): ParsedBlock {
  const blocks = parseSpectrumFile(text, { fileName: 'f.jdx', strict });
  expect(blocks).toHaveLength(1);
  return blocks[0];
}

function readWith(text: string, code: string): ParsedBlock['spectrum'] {
  const b = one(text);
  expect(b.error?.message).toBeUndefined();
  expect(b.spectrum?.meta.warnings?.map((w) => w.code)).toContain(code);
  return b.spectrum;
}

function refused(text: string, strict = false): string | undefined {
  try {
    return one(text, strict).error?.code;
  } catch (error) {
    return (error as { code?: string }).code;
  }
}

describe('tolerant JCAMP-DX reading', () => {
  it('a clean file carries no warnings', () => {
    expect(one(xyBlock(TEN)).spectrum?.meta.warnings).toBeUndefined();
  });

  it('"##END" without "=" ends the block', () => {
    const text = xyBlock(TEN).replace('##END=', '##END');
    const s = readWith(text, 'jcamp-bare-end');
    expect(s?.y.length).toBe(10);
    expect(s?.meta.warnings).toEqual([{ code: 'jcamp-bare-end', message: expect.any(String), line: 13, field: 'END' }]);
    expect(refused(text, true)).toBe('jcamp-bad-label');
    // Any other label without "=" is still refused: its meaning is not clear.
    expect(refused(xyBlock(TEN).replace('##YFACTOR=1', '##YFACTOR 1'))).toBe('jcamp-bad-label');
  });

  it('a ##DELTAX= whose size agrees but whose sign does not', () => {
    const text = xyBlock(TEN, { DELTAX: -1 });
    const s = readWith(text, 'jcamp-deltax-sign');
    expect(Array.from(s!.x)).toEqual([100, 101, 102, 103, 104, 105, 106, 107, 108, 109]);
    expect(s?.meta.warnings?.[0]).toMatchObject({ line: 10, field: 'DELTAX' });
    expect(refused(text, true)).toBe('jcamp-deltax-mismatch');
    expect(refused(xyBlock(TEN, { DELTAX: -2 }))).toBe('jcamp-deltax-mismatch');
  });

  it('line-start X values with their own origin, counted either way, that agree among themselves', () => {
    // Varian: X counts points from 0 in XFACTOR units while FIRSTX..LASTX runs the other way.
    const varian = xyBlock(['0 1 2 3 4 5', '5 6 7 8 9 10'], { FIRSTX: 109, LASTX: 100 });
    const s = readWith(varian, 'jcamp-x-offset');
    expect(Array.from(s!.y)).toEqual([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    expect(refused(varian, true)).toBe('jcamp-x-check');
    // Off by one point throughout (a writer that numbers from 1).
    expect(readWith(xyBlock(['101.0 1 2 3 4 5', '106.0 6 7 8 9 10']), 'jcamp-x-offset')?.y.length).toBe(10);
  });

  it('line-start X values that disagree among themselves, or a table short of NPOINTS, are still refused', () => {
    // The second line is where a point is missing or extra: refused at that line.
    const jump = xyBlock(['0.0 1 2 3 4 5', '6.0 6 7 8 9 10']);
    expect(one(jump).error).toMatchObject({ code: 'jcamp-x-check', where: { line: 11 } });
    // Consistent offsets but a point short: the first disagreeing line is reported.
    expect(one(xyBlock(['0.0 1 2 3 4 5', '5.0 6 7 8 9'])).error).toMatchObject({ code: 'jcamp-x-check', where: { line: 11 } });
    // A line missing after a first line that agrees with FIRSTX: refused as before.
    expect(one(xyBlock(['100 1 2 3', '106 7 8 9 10'])).error?.code).toBe('jcamp-x-check');
  });

  it('no ##NPOINTS= but FIRSTX and DELTAX: the table gives the count', () => {
    const text = xyBlock(TEN, { NPOINTS: '', DELTAX: 1 }).replace('##NPOINTS=\n', '');
    const s = readWith(text, 'jcamp-npoints-missing');
    expect(s?.y.length).toBe(10);
    expect(s?.x[9]).toBe(109);
    expect(refused(text, true)).toBe('jcamp-missing-field');
    // Without DELTAX nothing fixes the step: refused.
    expect(refused(xyBlock(TEN, { NPOINTS: '' }).replace('##NPOINTS=\n', ''))).toBe('jcamp-missing-field');
    // LASTX that contradicts FIRSTX + (n - 1) DELTAX: refused.
    expect(refused(xyBlock(TEN, { NPOINTS: '', DELTAX: 1, LASTX: 120 }).replace('##NPOINTS=\n', ''))).toBe('jcamp-deltax-mismatch');
  });

  it('##NPOINTS= one off while FIRSTX, LASTX, DELTAX and the table agree', () => {
    const text = xyBlock(TEN, { NPOINTS: 11, DELTAX: '1.0' });
    const s = readWith(text, 'jcamp-npoints-mismatch');
    expect(s?.y.length).toBe(10);
    expect(s?.meta.warnings?.[0]).toMatchObject({ line: 9, field: 'NPOINTS' });
    expect(refused(text, true)).toBe('jcamp-deltax-mismatch');
    // Two off, or no DELTAX to vote: refused.
    expect(refused(xyBlock(TEN, { NPOINTS: 12, DELTAX: '1.0' }))).toBe('jcamp-deltax-mismatch');
    expect(refused(xyBlock(TEN, { NPOINTS: 11 }))).toBe('jcamp-npoints-mismatch');
    // DELTAX one point off while the table holds NPOINTS: DELTAX is what is wrong.
    expect(refused(xyBlock(TEN, { LASTX: 110, DELTAX: '1.0' }))).toBe('jcamp-deltax-mismatch');
  });

  it('a file that ends without ##END= is read only when its table holds every declared point', () => {
    const complete = xyBlock(TEN).replace('##END=\n', '');
    const s = readWith(complete, 'jcamp-missing-end');
    expect(s?.y.length).toBe(10);
    expect(refused(complete, true)).toBe('jcamp-missing-end');
    // Cut inside its last line (no line end): that line may be cut short, so refused.
    expect(refused(complete.trimEnd())).toBe('jcamp-missing-end');
    // Cut after a whole line but short of NPOINTS: refused, as cut short.
    expect(refused(xyBlock(['100 1 2 3 4 5']).replace('##END=\n', ''))).toBe('jcamp-missing-end');
    // A point table has no count to prove it complete.
    expect(refused('##TITLE=t\n##JCAMP-DX=5.01\n##XYPOINTS=(XY..XY)\n1,2\n3,4\n')).toBe('jcamp-missing-end');
  });

  it('blocks that run into the next ##TITLE= (MestReNova) are each read', () => {
    const text = xyBlock(TEN).replace('##END=\n', '') + xyBlock(TEN, { TITLE: 'second' });
    const blocks = parseSpectrumFile(text);
    expect(blocks.map((b) => b.spectrum?.meta.title)).toEqual(['test', 'second']);
    expect(blocks[0].spectrum?.meta.warnings?.[0]).toMatchObject({ code: 'jcamp-missing-end', line: 13 });
  });
});

describe('tolerant JCAMP-DX header values', () => {
  it('a header number written with a decimal comma', () => {
    const text = xyBlock(TEN, { FIRSTX: '100,0', LASTX: '109,0' });
    const s = readWith(text, 'jcamp-decimal-comma');
    expect([s!.x[0], s!.x[9]]).toEqual([100, 109]);
    expect(s?.meta.warnings?.map((w) => w.field)).toEqual(['FIRSTX', 'LASTX']);
    expect(refused(text, true)).toBe('jcamp-bad-field');
    // Two numbers in one field is not a decimal comma.
    expect(refused(xyBlock(TEN, { FIRSTX: '100,0,1' }))).toBe('jcamp-bad-field');
  });

  it('descriptive ##XUNITS= spellings name the unit', () => {
    for (const raw of ['Raman Shift (cm-1)', 'WAVENUMBER (CM-1)', 'Wavenumbers / cm^-1']) {
      expect(one(xyBlock(TEN, { XUNITS: raw })).spectrum?.xUnit).toBe('cm-1');
    }
    expect(one(xyBlock(TEN, { XUNITS: 'Kelvin' })).spectrum?.xUnit).toBe('Kelvin');
  });
});

describe('tolerant JCAMP-DX: more habits of real writers', () => {
  it('lines after the first stamped one point early (NIST, Bruker: the previous line\'s last abscissa)', () => {
    const nist = xyBlock(['100.0 1 2 3 4', '103.0 5 6 7', '106.0 8 9 10']);
    const s = readWith(nist, 'jcamp-x-offset');
    expect(Array.from(s!.y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(s?.meta.warnings?.[0]).toMatchObject({ line: 12 });
    expect(refused(nist, true)).toBe('jcamp-x-check');
    // Two points off is a lost or extra point: refused at that line.
    expect(one(xyBlock(['100.0 1 2 3 4', '102.0 5 6 7', '106.0 8 9 10'])).error).toMatchObject({ code: 'jcamp-x-check', where: { line: 12 } });
    // One point off, then back: refused.
    expect(one(xyBlock(['100.0 1 2 3', '102.0 4 5 6', '106.0 7 8 9 10'])).error).toMatchObject({ code: 'jcamp-x-check', where: { line: 13 } });
  });

  it('a ##FIRSTY= cut off after its last digit rather than rounded', () => {
    const text = xyBlock(['100 1290 2 3 4 5 6 7 8 9 10'], { FIRSTY: '1.2', YFACTOR: 0.001 });
    readWith(text, 'jcamp-firsty-truncated');
    expect(refused(text, true)).toBe('jcamp-firsty-mismatch');
    expect(refused(xyBlock(['100 1350 2 3 4 5 6 7 8 9 10'], { FIRSTY: '1.2', YFACTOR: 0.001 }))).toBe('jcamp-firsty-mismatch');
  });

  it('a data table form missing its closing parenthesis', () => {
    const text = xyBlock(TEN).replace('##XYDATA=(X++(Y..Y))', '##XYDATA=(X++(Y..Y)');
    expect(readWith(text, 'jcamp-variable-list')?.y.length).toBe(10);
    expect(refused(text, true)).toBe('jcamp-unsupported');
  });

  it('a private ##$ label without "=" is ignored', () => {
    const text = xyBlock(TEN).replace('##XUNITS=1/CM', '##XUNITS=1/CM\n##$CONTENT');
    expect(readWith(text, 'jcamp-private-label')?.xUnit).toBe('cm-1');
    expect(refused(text, true)).toBe('jcamp-bad-label');
  });
});

describe('tolerant JCAMP-DX: line-start X values on an axis of their own', () => {
  const table = (step: number) =>
    Array.from({ length: 50 }, (_, k) => `${(k * 4 * step).toFixed(3)} ${[1, 2, 3, 4].map((v) => v + k).join(' ')}`);
  const header = { FIRSTX: 0, LASTX: 199, NPOINTS: 200 };

  it('a step 0.6 % off the header (SpinWorks): read when the table holds NPOINTS and the X values lie on one line', () => {
    const text = xyBlock(table(1.006), header);
    const s = readWith(text, 'jcamp-x-drift');
    expect(s?.y.length).toBe(200);
    expect([s!.x[0], s!.x[199]]).toEqual([0, 199]);
    expect(refused(text, true)).toBe('jcamp-x-check');
  });

  it('a step 2 % off, or a lost line, is refused', () => {
    expect(refused(xyBlock(table(1.02), header))).toBe('jcamp-x-check');
    const lost = table(1.006).filter((_, k) => k !== 30);
    expect(refused(xyBlock(lost, header))).toBe('jcamp-x-check');
  });
});
