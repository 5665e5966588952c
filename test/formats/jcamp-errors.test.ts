import { describe, expect, it } from 'vitest';
import { parseSpectrumFile } from '../../core/formats/index.ts';
import { fixture, rejection, thrown, xyBlock } from './helpers.ts';

// xyBlock puts 9 header records on lines 1-9, ##XYDATA= on line 10 and data from line 11.
const DATA_LINE = 11;
const GOOD = ['100A000K0T%Tm0', '105A000n0r70%K5', '109E'];

describe('whole-file rejections', () => {
  it('empty and blank input', () => {
    expect(thrown('', { fileName: 'e.jdx' })).toMatchObject({ code: 'empty-input', where: { file: 'e.jdx' } });
    expect(thrown(Buffer.from(' \n\r\n\t ')).code).toBe('empty-input');
  });

  it('binary garbage and NUL bytes', () => {
    const garbage = Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7919 + 13) % 256));
    expect(thrown(garbage, { fileName: 'x.jdx' })).toMatchObject({ code: 'binary-input', where: { file: 'x.jdx' } });
    expect(thrown(Buffer.from('##TITLE=a\u0000b\n')).code).toBe('binary-input');
    expect(thrown(Buffer.from('1,2\n\u0001\u0002\u0003\u0004\u0005\u0006\u0007\n')).code).toBe('binary-input');
  });

  it('input over maxBytes, before decoding', () => {
    const e = thrown(xyBlock(GOOD), { limits: { maxBytes: 100 } });
    expect(e.code).toBe('input-too-large');
    expect(e.message).toMatch(/limit is 100 bytes/);
  });

  it('no JCAMP-DX block at all, and blocks without data', () => {
    expect(thrown('1,2\n3,4\n', { format: 'jcamp' }).code).toBe('jcamp-no-block');
    expect(thrown('##TITLE=structure only\n##JCAMP-DX=5.01\n##MOLFORM=C 6 H 6\n##END=\n').code).toBe('no-spectrum');
  });

  it('an unknown format option', () => {
    expect(thrown('1,2', { format: 'xml' as 'csv' }).code).toBe('unknown-format');
  });

  it('more blocks than maxBlocks', () => {
    const block = xyBlock(GOOD);
    expect(thrown(block.repeat(4), { limits: { maxBlocks: 3 } }).code).toBe('too-many-blocks');
    expect(parseSpectrumFile(block.repeat(3), { limits: { maxBlocks: 3 } })).toHaveLength(3);
  });
});

describe('per-block rejections say code, block, line and field', () => {
  const cases: Array<{ name: string; text: string; code: string; line?: number; field?: string }> = [
    {
      name: 'a failed DIF Y check',
      text: xyBlock(['100A000K0T%Tm0', '105A001n0r70%K5', '109E']),
      code: 'jcamp-dif-check',
      line: DATA_LINE + 1,
      field: 'XYDATA',
    },
    {
      name: 'a DIF line missing: the next X does not match',
      text: xyBlock(['100A000K0K0', '102A040%%m0', '105A000n0r70%K5', '109E'].filter((_, i) => i !== 1)),
      code: 'jcamp-x-check',
      line: DATA_LINE + 1,
      field: 'XYDATA',
    },
    {
      name: 'an AFFN line missing',
      text: xyBlock(['100 1 2 3', '103 4 5 6', '106 7 8 9 10'].filter((_, i) => i !== 1)),
      code: 'jcamp-x-check',
      line: DATA_LINE + 1,
    },
    { name: 'fewer ordinates than NPOINTS', text: xyBlock(['100 1 2 3 4 5 6 7 8 9']), code: 'jcamp-npoints-mismatch', field: 'NPOINTS' },
    {
      name: 'more ordinates than NPOINTS',
      text: xyBlock(['100 1 2 3 4 5 6 7 8 9 10 11']),
      code: 'jcamp-npoints-mismatch',
      line: DATA_LINE,
      field: 'NPOINTS',
    },
    {
      name: 'a DUP that runs past NPOINTS (no allocation beyond it)',
      text: xyBlock(['100A0s99999999']),
      code: 'jcamp-npoints-mismatch',
      line: DATA_LINE,
    },
    { name: 'an unknown compression character', text: xyBlock(['100 1 2 3 4 5', '105 6 7 ! 9 10']), code: 'jcamp-bad-char', line: DATA_LINE + 1, field: 'XYDATA' },
    { name: 'a DUP with nothing to repeat', text: xyBlock(['100 S 1 2 3 4 5 6 7 8 9']), code: 'jcamp-bad-char', line: DATA_LINE },
    { name: 'a line starting with a DIF character', text: xyBlock(['J 1 2 3 4 5 6 7 8 9 10']), code: 'jcamp-x-check', line: DATA_LINE },
    { name: 'a DIF with no value before it', text: xyBlock(['100 J K L M N O P Q R J']), code: 'jcamp-dif-check', line: DATA_LINE },
    { name: '"?" for a missing value', text: xyBlock(['100 1 2 3 4 ? 6 7 8 9 10']), code: 'non-finite', line: DATA_LINE },
    { name: 'an ordinate that overflows to Infinity', text: xyBlock(['100 1 2 3 4 5E+999 6 7 8 9 10']), code: 'jcamp-bad-char', line: DATA_LINE },
    { name: 'a missing FIRSTX', text: xyBlock(['100 1 2 3 4 5 6 7 8 9 10']).replace('##FIRSTX=100\n', ''), code: 'jcamp-missing-field', field: 'FIRSTX' },
    { name: 'a missing NPOINTS', text: xyBlock(['100 1 2 3 4 5 6 7 8 9 10']).replace('##NPOINTS=10\n', ''), code: 'jcamp-missing-field', field: 'NPOINTS' },
    { name: 'a non-numeric LASTX', text: xyBlock(['100 1 2'], { LASTX: '1O9' }), code: 'jcamp-bad-field', line: 8, field: 'LASTX' },
    { name: 'a fractional NPOINTS', text: xyBlock(['100 1 2'], { NPOINTS: 2.5 }), code: 'jcamp-bad-field', line: 9, field: 'NPOINTS' },
    { name: 'a zero YFACTOR', text: xyBlock(['100 1 2'], { YFACTOR: 0 }), code: 'jcamp-bad-field', line: 6, field: 'YFACTOR' },
    { name: 'a NaN FIRSTX', text: xyBlock(['100 1 2'], { FIRSTX: 'NaN' }), code: 'non-finite', line: 7, field: 'FIRSTX' },
    {
      name: 'a DELTAX that contradicts FIRSTX/LASTX/NPOINTS',
      text: xyBlock(['100 1 2 3 4 5 6 7 8 9 10'], { DELTAX: 2 }),
      code: 'jcamp-deltax-mismatch',
      field: 'DELTAX',
    },
    {
      name: 'a FIRSTY that contradicts the first ordinate',
      text: xyBlock(['100 1 2 3 4 5 6 7 8 9 10'], { FIRSTY: 7 }),
      code: 'jcamp-firsty-mismatch',
      field: 'FIRSTY',
    },
    { name: 'an NPOINTS claim over the limit', text: xyBlock(['100 1'], { NPOINTS: '1e9' }), code: 'too-many-points', line: 9, field: 'NPOINTS' },
    { name: 'an unsupported table form', text: xyBlock(['1 2 3']).replace('(X++(Y..Y))', '(R..R)'), code: 'jcamp-unsupported', line: 10, field: 'XYDATA' },
    {
      name: 'a label line without "="',
      text: xyBlock(['100 1 2 3 4 5 6 7 8 9 10']).replace('##YFACTOR=1', '##YFACTOR 1'),
      code: 'jcamp-bad-label',
      line: 6,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const e = rejection(c.text, { fileName: 'bad.jdx' });
      expect(e.code).toBe(c.code);
      expect(e.where.file).toBe('bad.jdx');
      expect(e.where.block).toBe(1);
      if (c.line !== undefined) expect(e.where.line).toBe(c.line);
      if (c.field !== undefined) expect(e.where.field).toBe(c.field);
      expect(e.message).toContain('bad.jdx, block 1');
    });
  }

  it('a truncated file without ##END=', () => {
    const text = fixture('opus-ir-difdup.jdx');
    const cut = text.split('\n').slice(0, 40).join('\n');
    const e = rejection(cut, { fileName: 'cut.jdx' });
    expect(e.code).toBe('jcamp-missing-end');
    expect(e.where).toMatchObject({ file: 'cut.jdx', block: 1, line: 40, field: 'END' });
  });

  it('a block that runs into the next ##TITLE= without ##END=: refused when strict, read with a warning otherwise', () => {
    const first = xyBlock(['100 1 2 3 4 5 6 7 8 9 10']).replace('##END=\n', '');
    const blocks = parseSpectrumFile(first + xyBlock(['100 1 2 3 4 5 6 7 8 9 10']), { strict: true });
    expect(blocks[0].error?.code).toBe('jcamp-missing-end');
    expect(blocks[0].error?.where.line).toBe(12);
    expect(blocks[1].spectrum?.y.length).toBe(10);
    // MestReNova writes files like this: the next ##TITLE= plainly ends the block, so by default it is read.
    const tolerant = parseSpectrumFile(first + xyBlock(['100 1 2 3 4 5 6 7 8 9 10']));
    expect(tolerant.map((b) => b.spectrum?.y.length)).toEqual([10, 10]);
    expect(tolerant[0].spectrum?.meta.warnings).toEqual([expect.objectContaining({ code: 'jcamp-missing-end', line: 12, field: 'END' })]);
    expect(tolerant[1].spectrum?.meta.warnings).toBeUndefined();
  });

  it('XYPOINTS: non-monotonic x, a bad number, an incomplete tuple, NaN', () => {
    const points = (rows: string, npoints = '') =>
      `##TITLE=t\n##JCAMP-DX=5.01\n##XUNITS=1/CM\n##YUNITS=COUNTS\n${npoints}##XYPOINTS=(XY..XY)\n${rows}\n##END=\n`;
    expect(rejection(points('1,2\n3,4\n2,5')).where).toMatchObject({ line: 8, index: 2 });
    expect(rejection(points('1,2\n3,4\n2,5')).code).toBe('non-monotonic-x');
    expect(rejection(points('1,2\n3,4\n3,5')).code).toBe('non-monotonic-x');
    expect(rejection(points('1,2\n3,4.4.4')).code).toBe('bad-number');
    expect(rejection(points('1,2\n3,4.4.4')).where.line).toBe(7);
    expect(rejection(points('1,2\n3')).code).toBe('jcamp-incomplete-tuple');
    expect(rejection(points('1,2\n3,nan')).code).toBe('non-finite');
    expect(rejection(points('1,2\n3,4', '##NPOINTS=3\n')).code).toBe('jcamp-npoints-mismatch');
  });

  it('LINK: ##BLOCKS= that does not match the nested blocks', () => {
    const text = fixture('link-ir-ms.jdx').replace('##BLOCKS=3', '##BLOCKS=7');
    const blocks = parseSpectrumFile(text);
    expect(blocks.filter((b) => b.spectrum)).toHaveLength(2);
    expect(blocks.find((b) => b.error)?.error).toMatchObject({ code: 'jcamp-blocks-mismatch', where: { line: 4, field: 'BLOCKS' } });
  });

  it('NTUPLES without ##END NTUPLES= and with an unknown symbol', () => {
    const text = fixture('gcms-ntuples.jdx');
    expect(rejection(text.replace('##END NTUPLES=MASS SPECTRUM\n', '')).code).toBe('jcamp-missing-field');
    const e = rejection(text.replace('##SYMBOL=X, Y, T', '##SYMBOL=M, I, T'));
    expect(e).toMatchObject({ code: 'jcamp-missing-field', where: { field: 'SYMBOL' } });
  });

  it('a data line far longer than NPOINTS is refused without buffering it all', () => {
    const e = rejection(xyBlock(['100' + ' 1'.repeat(200_000)]));
    expect(e).toMatchObject({ code: 'jcamp-npoints-mismatch', where: { line: 11 } });
  });

  it('too many points across blocks of one file', () => {
    const block = xyBlock(['100 1 2 3 4 5 6 7 8 9 10']);
    const blocks = parseSpectrumFile(block + block + block, { limits: { maxPoints: 25 } });
    expect(blocks.map((b) => b.error?.code)).toEqual([undefined, undefined, 'too-many-points']);
  });
});
