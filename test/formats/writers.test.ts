import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SpectrumInputError } from '../../core/errors.ts';
import { parseSpectra, parseSpectrumFile, toCsv, toJcamp } from '../../core/formats/index.ts';
import { createSpectrum, type Spectrum } from '../../core/spectrum.ts';
import { fixture } from './helpers.ts';

function ir(n = 500): Spectrum {
  return createSpectrum({
    x: Array.from({ length: n }, (_, i) => 400 + i * 1.928),
    y: Array.from({ length: n }, (_, i) => 0.05 + Math.exp(-0.5 * ((i - 200) / 9) ** 2) - 0.3 * Math.exp(-0.5 * ((i - 350) / 4) ** 2)),
    xUnit: 'cm-1',
    yUnit: 'absorbance',
    meta: { title: 'Ethanol ATR', acquiredAt: '2024-03-15T14:22:05.250Z', sampleId: 'S-17', extra: { ORIGIN: 'lab 3', OPERATOR: 'jd' } },
  });
}

function maxAbs(a: Float64Array): number {
  return a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
}

describe('toJcamp', () => {
  it('AFFN round-trips exactly, meta included', () => {
    const s = ir();
    const text = toJcamp(s, { compression: 'AFFN' });
    expect(text.split('\n').every((l) => l.length <= 80)).toBe(true);
    const [r] = parseSpectra(text);
    expect(Array.from(r.y)).toEqual(Array.from(s.y));
    r.x.forEach((v, i) => expect(Math.abs(v - s.x[i])).toBeLessThan(1e-9));
    expect(r.xUnit).toBe('cm-1');
    expect(r.yUnit).toBe('absorbance');
    expect(r.meta).toMatchObject({ title: 'Ethanol ATR', acquiredAt: '2024-03-15T14:22:05.250Z', sampleId: 'S-17' });
    expect(r.meta.extra).toMatchObject({ ORIGIN: 'lab 3', OPERATOR: 'jd' });
  });

  it('DIF is smaller, within 5e-10 of max|y|, and uses the Y check', () => {
    const s = ir();
    const dif = toJcamp(s, { compression: 'DIF' });
    expect(dif.length).toBeLessThan(toJcamp(s, { compression: 'AFFN' }).length);
    expect(dif).toMatch(/^##XYDATA=\(X\+\+\(Y\.\.Y\)\)$/m);
    const [r] = parseSpectra(dif);
    const tolerance = 5e-10 * maxAbs(s.y) * 1.0001;
    r.y.forEach((v, i) => expect(Math.abs(v - s.y[i])).toBeLessThanOrEqual(tolerance));
  });

  it('DIF keeps integer data (counts) exact and compresses runs with DUP', () => {
    const s = createSpectrum({ x: Array.from({ length: 40 }, (_, i) => 10 + i * 0.02), y: Array.from({ length: 40 }, (_, i) => (i < 20 ? 5 : 5 + (i - 20) * 3)), xUnit: '2theta', yUnit: 'counts' });
    const text = toJcamp(s);
    expect(text).toMatch(/##YFACTOR=1\n/);
    expect(text).toMatch(/[S-Zs]/);
    const [r] = parseSpectra(text);
    expect(Array.from(r.y)).toEqual(Array.from(s.y));
    expect(r.xUnit).toBe('2theta');
  });

  it('unevenly spaced x is written as XYPOINTS and read back exactly', () => {
    const s = createSpectrum({ x: [1, 2.5, 2.75, 10], y: [4, 3, 2, 1], xUnit: 'm/z', yUnit: 'relative abundance' });
    const text = toJcamp(s, { compression: 'DIF' });
    expect(text).toMatch(/##XYPOINTS=\(XY\.\.XY\)/);
    const [r] = parseSpectra(text);
    expect(Array.from(r.x)).toEqual([1, 2.5, 2.75, 10]);
    expect(Array.from(r.y)).toEqual([4, 3, 2, 1]);
  });

  it('re-writes an instrument file so that it reads back the same', () => {
    const [s] = parseSpectra(fixture('opus-ir-difdup.jdx'));
    const [r] = parseSpectra(toJcamp(s, { compression: 'AFFN' }));
    expect(Array.from(r.y)).toEqual(Array.from(s.y));
    expect(r.meta.extra?.['$RESOLUTION']).toBe('4.000000');
    expect(r.meta.acquiredAt).toBe(s.meta.acquiredAt);
  });

  it('defuses text that would start a record or a comment', () => {
    const s = createSpectrum({ y: [1, 2, 3], meta: { title: 'a $$ b', extra: { NOTE: 'line1\n##END=\nline3' } } });
    const blocks = parseSpectrumFile(toJcamp(s));
    expect(blocks).toHaveLength(1);
    expect(blocks[0].spectrum?.y.length).toBe(3);
    expect(blocks[0].spectrum?.meta.title).toBe('a $ $ b');
  });
});

describe('toCsv', () => {
  it('round-trips exactly with units and meta', () => {
    const s = ir(50);
    const [r] = parseSpectra(toCsv(s));
    expect(Array.from(r.x)).toEqual(Array.from(s.x));
    expect(Array.from(r.y)).toEqual(Array.from(s.y));
    expect(r.xUnit).toBe('cm-1');
    expect(r.yUnit).toBe('absorbance');
    expect(r.meta).toMatchObject({ title: 'Ethanol ATR', acquiredAt: '2024-03-15T14:22:05.250Z', sampleId: 'S-17' });
  });

  it('European form (semicolon, decimal comma) round-trips', () => {
    const s = ir(20);
    const text = toCsv(s, { delimiter: ';', decimalComma: true });
    expect(text).toMatch(/^400;0,05/m);
    expect(Array.from(parseSpectra(text)[0].y)).toEqual(Array.from(s.y));
  });
});

describe('properties', () => {
  const units = fc.constantFrom('cm-1', '2theta', 'ppm', 'nm', 'um', 'Hz', 'eV', 's', 'm/z', 'index');
  const finite = fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true });
  const evenSpectrum = fc
    .record({
      n: fc.integer({ min: 1, max: 300 }),
      x0: fc.double({ min: -1e4, max: 1e4, noNaN: true }),
      dx: fc.double({ min: 1e-3, max: 100, noNaN: true }),
      descending: fc.boolean(),
      ys: fc.array(finite, { minLength: 300, maxLength: 300 }),
      xUnit: units,
      title: fc.string({ unit: fc.constantFrom(...'abcXYZ 09-_.()'), minLength: 1, maxLength: 30 }).map((t) => t.trim()).filter((t) => t !== ''),
    })
    .map(({ n, x0, dx, descending, ys, xUnit, title }) =>
      createSpectrum({
        x: Array.from({ length: n }, (_, i) => (descending ? x0 + (n - 1 - i) * dx : x0 + i * dx)).sort((a, b) => a - b),
        y: ys.slice(0, n),
        xUnit,
        yUnit: 'arbitrary',
        meta: { title },
      }),
    );

  it('random spectra round-trip through toJcamp (AFFN exact, DIF within 5e-10 of max|y|) and toCsv', () => {
    fc.assert(
      fc.property(evenSpectrum, (s) => {
        const n = s.y.length;
        const span = Math.abs(s.x[n - 1] - s.x[0]) + Math.abs(s.x[0]);
        for (const compression of ['AFFN', 'DIF'] as const) {
          const [r] = parseSpectra(toJcamp(s, { compression }));
          expect(r.y.length).toBe(n);
          expect(r.xUnit).toBe(s.xUnit);
          expect(r.meta.title).toBe(s.meta.title);
          const yTol = compression === 'AFFN' ? 0 : 5e-10 * maxAbs(s.y) * 1.0001;
          let yErr = 0;
          let xErr = 0;
          for (let i = 0; i < n; i++) {
            yErr = Math.max(yErr, Math.abs(r.y[i] - s.y[i]));
            xErr = Math.max(xErr, Math.abs(r.x[i] - s.x[i]));
          }
          expect(yErr).toBeLessThanOrEqual(yTol);
          expect(xErr).toBeLessThanOrEqual(1e-9 * span + 1e-12);
        }
        // Text has no negative zero; otherwise CSV is exact.
        const [c] = parseSpectra(toCsv(s));
        expect(Array.from(c.y, (v) => v + 0)).toEqual(Array.from(s.y, (v) => v + 0));
        expect(Array.from(c.x, (v) => v + 0)).toEqual(Array.from(s.x, (v) => v + 0));
      }),
      { numRuns: 100 },
    );
  });

  it('random bytes and random text never throw anything but SpectrumInputError', () => {
    const check = (input: Buffer | string) => {
      try {
        const blocks = parseSpectrumFile(input);
        for (const b of blocks) expect(b.spectrum !== undefined || b.error instanceof SpectrumInputError).toBe(true);
      } catch (error) {
        if (!(error instanceof SpectrumInputError)) throw error;
      }
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => check(Buffer.from(bytes))), { numRuns: 300 });
    // Text built from JCAMP-DX and CSV pieces reaches deep into the readers.
    const piece = fc.constantFrom('##TITLE=a\n', '##END=\n', '##XYDATA=(X++(Y..Y))\n', '##NPOINTS=3\n', '##FIRSTX=1\n', '##LASTX=3\n',
      '##XYPOINTS=(XY..XY)\n', '##PEAK TABLE=(XY..XY)\n', '##NTUPLES=X\n', '##PAGE=N=1\n', '##DATA TABLE=(X++(Y..Y)), XYDATA\n',
      '##SYMBOL=X, Y\n', '##BLOCKS=2\n', '##DATA TYPE=LINK\n', '1A0J%T\n', '1 2 3 4\n', '2,3;4,5\n', '?', 's9999', 'e+', '{"y":[1,', '1,2\n', '\u00e9', '\t', '$$');
    fc.assert(fc.property(fc.array(piece, { maxLength: 40 }), (parts) => check(parts.join(''))), { numRuns: 500 });
  });

  it('instrument files with random deletions, insertions and truncations never throw anything else', () => {
    const files = ['opus-ir-difdup.jdx', 'nmr-ntuples.jdx', 'link-ir-ms.jdx', 'gcms-ntuples.jdx', 'omnic-raman-pac.jdx'].map(fixture);
    const edit = fc.tuple(fc.nat(), fc.nat(3), fc.string({ maxLength: 3 }));
    fc.assert(
      fc.property(fc.nat(files.length - 1), fc.array(edit, { maxLength: 8 }), (which, edits) => {
        let text = files[which];
        for (const [pos, kind, str] of edits) {
          const p = pos % (text.length + 1);
          if (kind === 0) text = text.slice(0, p) + text.slice(p + 1);
          else if (kind === 1) text = text.slice(0, p) + str + text.slice(p);
          else if (kind === 2) text = text.slice(0, p);
          else text = text.slice(0, p) + str + text.slice(p + str.length);
        }
        try {
          for (const b of parseSpectrumFile(text)) expect(b.spectrum !== undefined || b.error instanceof SpectrumInputError).toBe(true);
        } catch (error) {
          if (!(error instanceof SpectrumInputError)) throw error;
        }
      }),
      { numRuns: 400 },
    );
  });
});
