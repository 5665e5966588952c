import { describe, expect, it } from 'vitest';
import { SpectrumInputError } from '../../core/errors.ts';
import { deriveGrid, fieldValue, headerFields, parseGrid, parseManifestCsv, splitBySample, type CorpusEntry } from '../../core/training/lab-corpus.ts';

describe('parseGrid', () => {
  it('reads UNIT:START:END:POINTS and a bare unit', () => {
    expect(parseGrid('cm-1:100:1500:1400')).toEqual({ xUnit: 'cm-1', xStart: 100, xEnd: 1500, points: 1400 });
    expect(parseGrid(' 2theta:5:90:2048 ')).toEqual({ xUnit: '2theta', xStart: 5, xEnd: 90, points: 2048 });
    expect(parseGrid('nm')).toEqual({ xUnit: 'nm' });
  });

  it.each([
    ['cm-1:100:1500', /four fields/],
    ['cm-1:1500:100:1400', /greater than START/],
    ['cm-1:a:1500:1400', /must be numbers/],
    ['cm-1:100:1500:14.5', /POINTS must be an integer/],
    ['cm-1:100:1500:8', /POINTS must be an integer from 16/],
    [':100:1500:1400', /unit is empty/],
    ['', /empty/],
  ])('rejects %s with a clear message', (text, why) => {
    const err = (() => {
      try {
        parseGrid(text);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(SpectrumInputError);
    expect((err as SpectrumInputError).code).toBe('bad-grid');
    expect((err as Error).message).toMatch(why);
  });
});

describe('deriveGrid', () => {
  it('spans the median range at the median spacing', () => {
    const g = deriveGrid(
      [
        { first: 100, last: 1500, points: 1401 },
        { first: 110, last: 1490, points: 1381 },
        { first: 50, last: 4000, points: 3951 },
      ],
      'cm-1',
    );
    expect(g).toEqual({ xUnit: 'cm-1', xStart: 100, xEnd: 1500, points: 1401 });
    expect(deriveGrid([{ first: 0, last: 10000, points: 100001 }], 'cm-1', 2048).points).toBe(2048);
  });
});

describe('header fields', () => {
  it('reads ##KEY=value and KEY: value lines before the data, case-insensitively', () => {
    const f = headerFields('##NAMES=Quartz\r\n##RRUFFID=R040031\n# Sample: S-1\n100, 1\n##AFTER=ignored\n');
    expect(fieldValue(f, 'names')).toBe('Quartz');
    expect(fieldValue(f, 'RruffID')).toBe('R040031');
    expect(fieldValue(f, 'sample')).toBe('S-1');
    expect(fieldValue(f, 'after')).toBeUndefined();
    expect(fieldValue(f, 'MINERAL,NAMES')).toBe('Quartz');
  });
});

describe('parseManifestCsv', () => {
  it('reads file,class[,sample] with an optional header and quotes', () => {
    const e = parseManifestCsv('file,class,sample\na.txt,Quartz,S1\n"b, 2.txt","Calcite",\n# comment\nc.txt,Quartz\n');
    expect(e).toEqual([
      { file: 'a.txt', className: 'Quartz', sample: 'S1' },
      { file: 'b, 2.txt', className: 'Calcite', sample: 'b, 2.txt' },
      { file: 'c.txt', className: 'Quartz', sample: 'c.txt' },
    ]);
  });

  it('names the line of a bad row', () => {
    expect(() => parseManifestCsv('a.txt,Quartz\njust-a-file\n', 'm.csv')).toThrow(/line 2: expected "file,class"/);
    expect(() => parseManifestCsv('file,class\n')).toThrow(/lists no files/);
  });
});

describe('splitBySample', () => {
  const entries: CorpusEntry[] = [
    { file: 'q1a', className: 'Quartz', sample: 'Q1' },
    { file: 'q1b', className: 'Quartz', sample: 'Q1' },
    { file: 'q2', className: 'Quartz', sample: 'Q2' },
    { file: 'q3', className: 'Quartz', sample: 'Q3' },
    { file: 'c1a', className: 'Calcite', sample: 'C1' },
    { file: 'c1b', className: 'Calcite', sample: 'C1' },
    { file: 'g1', className: 'Gypsum', sample: 'G1' },
    { file: 'g2', className: 'Gypsum', sample: 'G2' },
  ];

  it('never puts one sample on both sides and holds out one sample per class with >= 2', () => {
    for (let seed = 0; seed < 20; seed++) {
      const { train, val } = splitBySample(entries, seed);
      expect(train.length + val.length).toBe(entries.length);
      const trainSamples = new Set(train.map((e) => e.sample));
      for (const v of val) expect(trainSamples.has(v.sample)).toBe(false);
      // Calcite has two files of ONE sample: it stays whole in training.
      expect(val.some((e) => e.className === 'Calcite')).toBe(false);
      expect(new Set(val.filter((e) => e.className === 'Quartz').map((e) => e.sample)).size).toBe(1);
      expect(new Set(val.filter((e) => e.className === 'Gypsum').map((e) => e.sample)).size).toBe(1);
    }
  });

  it('is deterministic for a seed', () => {
    expect(splitBySample(entries, 4)).toEqual(splitBySample(entries, 4));
    const chosen = new Set(Array.from({ length: 20 }, (_, s) => splitBySample(entries, s).val.find((e) => e.className === 'Quartz')?.sample));
    expect(chosen.size).toBeGreaterThan(1);
  });
});
