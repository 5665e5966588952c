import { describe, expect, it } from 'vitest';
import { parseSpectra, parseSpectrumFile } from '../../core/formats/index.ts';
import { expected, fixture, xyBlock } from './helpers.ts';

// One ordinate series, 100..109 on x, written by hand in every ASDF form of JCAMP-DX 4.24 §5.9.
const Y = [1000, 1020, 1040, 1040, 1040, 1000, 950, -20, -20, 5];
const FORMS: Record<string, string[]> = {
  AFFN: ['100 1000 1020 1040 1040 1040', '105 1000 950 -20 -20 5'],
  'AFFN with commas and exponents': ['100,1.0E+03,1020,1.04e+3,1040,1040', '105,1000,950.0,-2E+01,-20,+5'],
  PAC: ['100+1000+1020+1040+1040+1040', '105+1000+950-20-20+5'],
  SQZ: ['100A000A020A040A040A040', '105A000I50b0b0E'],
  'SQZ+DUP': ['100A000A020A040U', '105A000I50b0TE'],
  // DIF lines end in DIF form, so each next line repeats the last ordinate (the Y check) and a last check line follows.
  DIF: ['100A000K0K0%%m0', '105A000n0r70%K5', '109E'],
  'DIF+DUP': ['100A000K0T%Tm0', '105A000n0r70%K5', '109E'],
  'DIF in one line with blanks between tokens': ['100 A000 K0 K0 % % m0 n0 r70 % K5'],
  'mixed forms on one line': ['100 1000+1020A040%T', '105 A000 I50 b0 T 5'],
};

describe('JCAMP-DX (X++(Y..Y)) in every compression form', () => {
  for (const [form, lines] of Object.entries(FORMS)) {
    it(form, () => {
      const [s] = parseSpectra(xyBlock(lines));
      expect(Array.from(s.y)).toEqual(Y);
      expect(Array.from(s.x)).toEqual([100, 101, 102, 103, 104, 105, 106, 107, 108, 109]);
      expect(s.xUnit).toBe('cm-1');
      expect(s.yUnit).toBe('absorbance');
    });
  }

  it('reads the worked example of the 4.24 standard in AFFN, PAC, SQZ, DIF, DIFDUP and SQZ+DUP', () => {
    const exp = expected<{ forms: string[]; y: number[] }>('spec-examples.jdx');
    const blocks = parseSpectrumFile(fixture('spec-examples.jdx'));
    expect(blocks).toHaveLength(exp.forms.length);
    for (const [i, b] of blocks.entries()) {
      expect(b.error).toBeUndefined();
      expect(b.block).toBe(i + 1);
      expect(b.spectrum?.meta.title).toBe(`JCAMP-DX 4.24 example, ${exp.forms[i]}`);
      expect(Array.from(b.spectrum?.y ?? [])).toEqual(exp.y);
    }
  });

  it('applies XFACTOR and YFACTOR, and DUP repeats a difference rather than a value', () => {
    const [s] = parseSpectra(xyBlock(['10000A0JU', '10300A3'], { XFACTOR: 0.01, YFACTOR: 0.5, FIRSTX: 100, LASTX: 103, NPOINTS: 4 }));
    expect(Array.from(s.y)).toEqual([5, 5.5, 6, 6.5]);
    expect(Array.from(s.x)).toEqual([100, 101, 102, 103]);
  });

  it('returns x ascending for descending files and reverses y with it', () => {
    const [s] = parseSpectra(xyBlock(['109 1 2 3 4 5', '104 6 7 8 9 10'], { FIRSTX: 109, LASTX: 100 }));
    expect(Array.from(s.x)).toEqual([100, 101, 102, 103, 104, 105, 106, 107, 108, 109]);
    expect(Array.from(s.y)).toEqual([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
  });

  it('reads a DIF file from a writer that does not repeat the Y check value', () => {
    const [s] = parseSpectra(xyBlock(['100A000K0K0%%m0', '106I50r70%K5'], {}));
    expect(Array.from(s.y)).toEqual(Y);
  });

  it('ignores $$ comments, blank lines and CRLF line ends', () => {
    const text = xyBlock(['100 1000 1020 1040 1040 1040 $$ first line', '', '105 1000 950 -20 -20 5']).replace(/\n/g, '\r\n');
    const [s] = parseSpectra(`$$ exported by a test\r\n${text}`);
    expect(Array.from(s.y)).toEqual(Y);
  });
});

describe('instrument-style JCAMP-DX files (fixtures written by an independent Python encoder)', () => {
  type Exp = { x: [number, number]; yAt: Record<string, number>; points: number };
  const files: Array<[string, string, string]> = [
    ['opus-ir-difdup.jdx', 'cm-1', 'absorbance'],
    ['perkinelmer-ir-affn.jdx', 'cm-1', 'transmittance'],
    ['omnic-raman-pac.jdx', 'cm-1', 'counts'],
    ['uvvis-sqzdup.jdx', 'nm', 'absorbance'],
    ['xrd-dif.jdx', '2theta', 'counts'],
  ];
  for (const [name, xUnit, yUnit] of files) {
    it(name, () => {
      const exp = expected<Exp>(name);
      const [s] = parseSpectra(fixture(name), { fileName: name });
      expect(s.y.length).toBe(exp.points);
      expect(s.xUnit).toBe(xUnit);
      expect(s.yUnit).toBe(yUnit);
      const [first, last] = exp.x;
      const ascending = first < last;
      expect(s.x[0]).toBeCloseTo(Math.min(first, last), 9);
      expect(s.x[s.x.length - 1]).toBeCloseTo(Math.max(first, last), 9);
      for (const [i, v] of Object.entries(exp.yAt)) {
        const index = ascending ? Number(i) : exp.points - 1 - Number(i);
        expect(s.y[index]).toBeCloseTo(v, 9);
      }
      expect(s.meta.source).toBe(name);
    });
  }

  it('keeps OPUS header fields as meta and reads ##DATE/##TIME into acquiredAt', () => {
    const [s] = parseSpectra(fixture('opus-ir-difdup.jdx'));
    expect(s.meta.title).toBe('Polystyrene film reference 50um');
    expect(s.meta.acquiredAt).toBe('2023-11-07T09:41:12');
    expect(s.meta.extra).toMatchObject({
      ORIGIN: 'Bruker Optik GmbH',
      OWNER: 'QC laboratory',
      'SPECTROMETER/DATA SYSTEM': 'INVENIO-R',
      '$RESOLUTION': '4.000000',
      'JCAMP-DX': '4.24',
      'DATA CLASS': 'XYDATA',
    });
  });

  it('reads 5.01 ##LONGDATE and 4.24 two-digit-year ##DATE', () => {
    expect(parseSpectra(fixture('perkinelmer-ir-affn.jdx'))[0].meta.acquiredAt).toBe('2024-02-29T16:05:33');
    expect(parseSpectra(fixture('omnic-raman-pac.jdx'))[0].meta.acquiredAt).toBe('2024-05-03T11:02:00');
    expect(parseSpectra(fixture('nmr-ntuples.jdx'))[0].meta.acquiredAt).toBe('2022-09-14T08:15:00+02:00');
  });
});

describe('XYPOINTS, PEAK TABLE, LINK and NTUPLES', () => {
  it('XYPOINTS (XY..XY) with factors, unevenly spaced', () => {
    const exp = expected<{ x: number[]; y: number[] }>('xrd-xypoints.jdx');
    const [s] = parseSpectra(fixture('xrd-xypoints.jdx'));
    expect(Array.from(s.x).map((v) => +v.toFixed(9))).toEqual(exp.x);
    expect(Array.from(s.y)).toEqual(exp.y);
    expect(s.xUnit).toBe('2theta');
  });

  it('PEAK TABLE (XYW..XYW) keeps x and y, separated by ";" and blanks', () => {
    const text = '##TITLE=p\n##JCAMP-DX=5.01\n##XUNITS=M/Z\n##YUNITS=RELATIVE ABUNDANCE\n##PEAK TABLE=(XYW..XYW)\n10,5,1; 20,6,1\n30,7,2\n##END=\n';
    const [s] = parseSpectra(text);
    expect(Array.from(s.x)).toEqual([10, 20, 30]);
    expect(Array.from(s.y)).toEqual([5, 6, 7]);
    expect(s.meta.extra?.['DATA CLASS']).toBe('PEAK TABLE');
  });

  it('LINK: one result per data block, the structure block is skipped', () => {
    const exp = expected<{ ir: { x: number[]; y: number[] }; ms: { x: number[]; y: number[] } }>('link-ir-ms.jdx');
    const blocks = parseSpectrumFile(fixture('link-ir-ms.jdx'));
    expect(blocks.map((b) => b.block)).toEqual([1, 2]);
    const [ir, ms] = blocks.map((b) => b.spectrum);
    expect(Array.from(ir?.x ?? [])).toEqual(exp.ir.x);
    expect(Array.from(ir?.y ?? []).map((v) => +v.toFixed(12))).toEqual(exp.ir.y.map((v) => +v.toFixed(12)));
    expect(ir?.meta.title).toBe('Acetophenone IR (band excerpt)');
    expect(Array.from(ms?.x ?? [])).toEqual(exp.ms.x);
    expect(Array.from(ms?.y ?? [])).toEqual(exp.ms.y);
    expect(ms?.xUnit).toBe('m/z');
  });

  it('NTUPLES NMR: the real page is read, the imaginary page skipped', () => {
    const exp = expected<{ x: [number, number]; yAt: Record<string, number>; points: number }>('nmr-ntuples.jdx');
    const blocks = parseSpectrumFile(fixture('nmr-ntuples.jdx'));
    expect(blocks).toHaveLength(1);
    const s = blocks[0].spectrum;
    expect(s?.y.length).toBe(exp.points);
    expect(s?.xUnit).toBe('Hz');
    expect(s?.x[0]).toBeCloseTo(exp.x[1], 9);
    expect(s?.x[exp.points - 1]).toBeCloseTo(exp.x[0], 9);
    for (const [i, v] of Object.entries(exp.yAt)) expect(s?.y[exp.points - 1 - Number(i)]).toBe(v);
    expect(s?.meta.extra).toMatchObject({ PAGE: 'N=1', 'VAR NAME': 'SPECTRUM/REAL', '.OBSERVE FREQUENCY': '400.13' });
  });

  it('NTUPLES MS: one block per page, each sorted by m/z', () => {
    const exp = expected<{ pages: Array<{ x: number[]; y: number[] }> }>('gcms-ntuples.jdx');
    const blocks = parseSpectrumFile(fixture('gcms-ntuples.jdx'));
    expect(blocks.map((b) => b.block)).toEqual([1, 2, 3]);
    blocks.forEach((b, i) => {
      expect(Array.from(b.spectrum?.x ?? [])).toEqual(exp.pages[i].x);
      expect(Array.from(b.spectrum?.y ?? [])).toEqual(exp.pages[i].y);
      expect(b.spectrum?.xUnit).toBe('m/z');
      expect(b.spectrum?.yUnit).toBe('relative abundance');
    });
    expect(blocks[1].spectrum?.meta.extra?.PAGE).toBe('T=61.6');
  });

  it('concatenated plain blocks give one result each; a broken block does not hide the good ones', () => {
    const good = xyBlock(['100 1 2 3 4 5 6 7 8 9 10']);
    const bad = xyBlock(['100 1 2 3 4 5 6 7 8 9']);
    const blocks = parseSpectrumFile(good + bad + good, { fileName: 'multi.jdx' });
    expect(blocks.map((b) => [b.block, b.spectrum !== undefined, b.error?.code])).toEqual([
      [1, true, undefined],
      [2, false, 'jcamp-npoints-mismatch'],
      [3, true, undefined],
    ]);
    expect(blocks[1].error?.where).toMatchObject({ file: 'multi.jdx', block: 2 });
  });
});

describe('units and text encodings', () => {
  const units: Array<[string, string]> = [
    ['1/CM', 'cm-1'],
    ['CM-1', 'cm-1'],
    ['2THETA', '2theta'],
    ['DEGREES 2THETA', '2theta'],
    ['PPM', 'ppm'],
    ['NANOMETERS', 'nm'],
    ['MICROMETERS', 'um'],
    ['HZ', 'Hz'],
    ['SECONDS', 's'],
    ['M/Z', 'm/z'],
    ['Kelvin', 'Kelvin'],
    // "No unit" spellings are an unknown unit, which preprocessing accepts by default (not a unit mismatch).
    ['ARBITRARY UNITS', 'arbitrary'],
    ['ARB. UNITS', 'arbitrary'],
    ['A.U.', 'arbitrary'],
    ['ARBITRARY UNITS (INDEX)', 'index'],
  ];
  for (const [raw, unit] of units) {
    it(`##XUNITS=${raw} -> ${unit}`, () => {
      expect(parseSpectra(xyBlock(['100 1 2 3 4 5 6 7 8 9 10'], { XUNITS: raw }))[0].xUnit).toBe(unit);
    });
  }

  const text = xyBlock(['100 1 2 3 4 5 6 7 8 9 10'], { TITLE: 'Quarz 25 °C' });
  it('decodes UTF-16 LE and BE with a BOM and UTF-16 LE without one', () => {
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    const be = Buffer.from(le);
    be.swap16();
    for (const input of [le, be, Buffer.from(text, 'utf16le')]) {
      const [s] = parseSpectra(input);
      expect(s.meta.title).toBe('Quarz 25 °C');
      expect(s.y.length).toBe(10);
    }
  });

  it('decodes UTF-8 with BOM and Windows-1252', () => {
    expect(parseSpectra(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]))[0].meta.title).toBe('Quarz 25 °C');
    expect(parseSpectra(Buffer.from(text, 'latin1'))[0].meta.title).toBe('Quarz 25 °C');
  });
});
