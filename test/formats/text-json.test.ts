import { describe, expect, it } from 'vitest';
import { detectFormat, parseSpectra, parseSpectrumFile } from '../../core/formats/index.ts';
import { rejection, thrown } from './helpers.ts';

describe('delimited text', () => {
  const variants: Array<[string, string]> = [
    ['comma', '1,10\n2,20\n3,30\n'],
    ['tab', '1\t10\n2\t20\n3\t30\n'],
    ['semicolon', '1;10\n2;20\n3;30\n'],
    ['blanks', '  1   10\n2 20\n3\t 30\n'],
    ['European semicolon with decimal commas', '1,0;10,0\n2,0;20,0\n3,0;30,0\n'],
    ['European tab with decimal commas', '1,0\t10,0\n2\t20\n3\t30,0\n'],
    ['blanks with decimal commas', '1,0 10,0\n2,0 20,0\n3,0 30,0\n'],
    ['quoted fields and a trailing delimiter', '"1","10",\n"2","20",\n"3","30",\n'],
    ['descending x', '3,30\n2,20\n1,10\n'],
    ['blank lines, # comments, CRLF', '# exported\r\n\r\n1,10\r\n# mid comment\r\n2,20\r\n\r\n3,30\r\n'],
    ['exponents and signs', '1e0,1.0E+01\n+2,2e1\n3.0,3E1\n'],
  ];
  for (const [name, text] of variants) {
    it(name, () => {
      const [s] = parseSpectra(text);
      expect(Array.from(s.x)).toEqual([1, 2, 3]);
      expect(Array.from(s.y)).toEqual([10, 20, 30]);
    });
  }

  it('a single column is y on the point index', () => {
    const [s] = parseSpectra('0.5\n0.25\n0.125\n');
    expect(Array.from(s.x)).toEqual([0, 1, 2]);
    expect(Array.from(s.y)).toEqual([0.5, 0.25, 0.125]);
    expect(s.xUnit).toBe('index');
  });

  it('keeps key: value headers as meta and takes units from column names', () => {
    const text = 'Title: PET bottle\nInstrument: Raman-2\nOperator: J. Doe\nDate: 2024-05-03 11:02:00\nRaman shift (cm-1);Intensity (counts)\n100,5;7\n101,5;8\n';
    const [s] = parseSpectra(text, { fileName: 'pet.csv' });
    expect(s.meta).toMatchObject({ title: 'PET bottle', instrument: 'Raman-2', acquiredAt: '2024-05-03T11:02:00', source: 'pet.csv' });
    expect(s.meta.extra).toMatchObject({ Operator: 'J. Doe', columns: 'Raman shift (cm-1);Intensity (counts)' });
    expect(s.xUnit).toBe('cm-1');
    expect(s.yUnit).toBe('counts');
    expect(Array.from(s.x)).toEqual([100.5, 101.5]);
  });

  it('reads xUnit/yUnit from # comments', () => {
    const [s] = parseSpectra('# xUnit: 2theta\n# yUnit: counts\nx,y\n10,1\n11,2\n');
    expect(s.xUnit).toBe('2theta');
    expect(s.yUnit).toBe('counts');
  });

  const rejections: Array<[string, string, string, number | undefined, string | undefined]> = [
    ['a bad number in a data row', '1,2\n2,x3\n3,4\n', 'bad-number', 2, 'y'],
    ['NaN', '1,2\n2,NaN\n', 'non-finite', 2, 'y'],
    ['Infinity in x', '1,2\ninf,3\n', 'non-finite', 2, 'x'],
    ['non-monotonic x', '1,2\n3,4\n2,5\n', 'non-monotonic-x', 3, undefined],
    ['repeated x', '1,2\n1,4\n', 'non-monotonic-x', 2, undefined],
    ['three columns', '1,2,3\n4,5,6\n', 'csv-columns', 1, undefined],
    ['a row with a different column count', '1,2\n3\n', 'bad-number', 2, undefined],
    ['no numeric rows', 'just a note\nanother line\n', 'csv-no-data', undefined, undefined],
    ['a footer after the data', '1,2\n3,4\nEND OF DATA\n', 'bad-number', 3, undefined],
  ];
  for (const [name, text, code, line, field] of rejections) {
    it(`rejects ${name}`, () => {
      const e = rejection(text, { fileName: 'r.csv' });
      expect(e.code).toBe(code);
      expect(e.where.file).toBe('r.csv');
      expect(e.where.line).toBe(line);
      if (field) expect(e.where.field).toBe(field);
    });
  }

  it('rejects more rows than maxPoints', () => {
    expect(thrown('1,1\n2,2\n3,3\n', { limits: { maxPoints: 2 } })).toMatchObject({ code: 'too-many-points', where: { line: 3 } });
  });
});

describe('JSON', () => {
  it('an object with x, y, units and meta', () => {
    const [s] = parseSpectra(JSON.stringify({ x: [3, 2, 1], y: [30, 20, 10], xUnit: '1/CM', meta: { title: 't', sampleId: 'S1', operator: 'jd', extra: { a: 'b', n: 1 } } }));
    expect(Array.from(s.x)).toEqual([1, 2, 3]);
    expect(Array.from(s.y)).toEqual([10, 20, 30]);
    expect(s.xUnit).toBe('cm-1');
    expect(s.meta).toMatchObject({ title: 't', sampleId: 'S1', extra: { a: 'b', n: '1', operator: 'jd' } });
  });

  it('y only, and an array of spectra with one bad item', () => {
    expect(parseSpectra('{"y":[1,2,3]}')[0].xUnit).toBe('index');
    const blocks = parseSpectrumFile('[{"y":[1,2]},{"y":[1,null]},{"x":[1],"y":[1,2]}]', { fileName: 'a.json' });
    expect(blocks[0].spectrum?.y.length).toBe(2);
    expect(blocks[1].error).toMatchObject({ code: 'non-finite', where: { file: 'a.json', block: 2, field: '[1].y', index: 1 } });
    expect(blocks[2].error).toMatchObject({ code: 'json-schema', where: { block: 3, field: '[2].x' } });
  });

  const bad: Array<[string, string, string]> = [
    ['syntax', '{"y":[1,2,}', 'json-syntax'],
    ['no y', '{"x":[1,2]}', 'json-schema'],
    ['y not an array', '{"y":"1,2"}', 'json-schema'],
    ['a string in y', '{"y":[1,"2"]}', 'json-schema'],
    ['empty y', '{"y":[]}', 'too-few-points'],
    ['an empty array', '[]', 'no-spectrum'],
    ['meta not an object', '{"y":[1],"meta":3}', 'json-schema'],
    ['non-monotonic x', '{"x":[1,3,2],"y":[1,2,3]}', 'non-monotonic-x'],
  ];
  for (const [name, text, code] of bad) {
    it(`rejects ${name}`, () => {
      expect(rejection(text).code).toBe(code);
    });
  }

  it('a number at the root is a one-point text spectrum unless JSON is asked for', () => {
    expect(parseSpectra('42')[0].y.length).toBe(1);
    expect(rejection('42', { format: 'json' }).code).toBe('json-schema');
  });

  it('refuses absurdly deep nesting without a stack overflow', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    expect(rejection(`{"y":[1],"meta":{"a":${deep}}}`).code).toBe('json-schema');
    expect(rejection('['.repeat(200_000)).code).toBe('json-syntax');
  });

  it('syntax errors give the line when the engine reports a position', () => {
    const e = rejection('{\n"y":[1,2,\n]\n}');
    expect(e.code).toBe('json-syntax');
    if (e.where.line !== undefined) expect(e.where.line).toBe(3);
  });
});

describe('detectFormat', () => {
  it('looks at the content first, then the name or content type', () => {
    expect(detectFormat('##TITLE=a\n')).toBe('jcamp');
    expect(detectFormat('$$ comment\n##TITLE=a\n', 'a.txt')).toBe('jcamp');
    expect(detectFormat(' {"y":[1]}')).toBe('json');
    expect(detectFormat('[{"y":[1]}]', 'x.csv')).toBe('json');
    expect(detectFormat('1,2\n', 'a.jdx')).toBe('jcamp');
    expect(detectFormat('1,2\n', 'application/json')).toBe('json');
    expect(detectFormat('1,2\n', 'a.csv')).toBe('csv');
    expect(detectFormat(Buffer.from('\ufeff##TITLE=a\n', 'utf16le'))).toBe('jcamp');
  });
});

describe('RRUFF and other exports with ## headers', () => {
  const rruff = (eol: string) =>
    ['##NAMES=Adamite', '##RRUFFID=R050020', '##IDEAL CHEMISTRY=Zn^2+^_2_As^5+^O_4_(OH)', '##LOCALITY=Mina Ojuela, Mapimi, Durango, Mexico', '##STATUS=confirmed, Σ=2',
      '150.1, 0.0000000E+00', '150.6, 38.2', '151.1, 66.0', '##END=', '', ''].join(eol);

  it('is detected as delimited text, not JCAMP-DX, and read up to ##END=', () => {
    for (const eol of ['\n', '\r\n']) {
      expect(detectFormat(rruff(eol), 'Adamite__R050020.txt')).toBe('csv');
      const [s] = parseSpectra(rruff(eol) + '9, 9\n', { fileName: 'a.txt' });
      expect(Array.from(s.x)).toEqual([150.1, 150.6, 151.1]);
      expect(Array.from(s.y)).toEqual([0, 38.2, 66]);
    }
  });

  it('keeps the mineral as meta.extra.class and the RRUFF ID as meta.extra.sample (and sampleId)', () => {
    const [s] = parseSpectra(rruff('\n'));
    expect(s.meta).toMatchObject({ title: 'Adamite', sampleId: 'R050020', extra: { class: 'Adamite', sample: 'R050020', LOCALITY: 'Mina Ojuela, Mapimi, Durango, Mexico' } });
    expect(parseSpectra(rruff('\n'), { format: 'rruff' })[0].meta.extra?.class).toBe('Adamite');
  });

  it('reads "# key: value" and "##key=value" headers above two columns; JCAMP-DX labels still make JCAMP-DX', () => {
    const [s] = parseSpectra('# Instrument: XploRA\n#XUNITS=1/CM\n##sample=quartz\n100\t5\n101\t6\n');
    expect(s.xUnit).toBe('cm-1');
    expect(s.meta).toMatchObject({ instrument: 'XploRA', sampleId: 'quartz' });
    expect(detectFormat('##TITLE=x\n##XUNITS=1/CM\n1,2\n')).toBe('jcamp');
    expect(detectFormat('##ORIGIN=lab\n##NPOINTS=2\n##XYPOINTS=(XY..XY)\n1,2\n3,4\n##END=\n')).toBe('jcamp');
    // ## records and no rows: JCAMP-DX (refused for what it lacks, as before).
    expect(detectFormat('##\n##=\n##X=1\n##END=\n')).toBe('jcamp');
  });
});

describe('memory bounds of delimited text', () => {
  it('counts the rows before it builds any array: more rows than maxPoints are refused without parsing one', () => {
    // The second line is not a number. A reader that parses as it goes stops there with bad-number; counting first,
    // the file is refused for its size, at the row that passes the limit, before any row is parsed or stored.
    const rows = ['1,1', 'x,y', ...Array.from({ length: 1000 }, (_, i) => `${i + 2},1`)];
    const e = rejection(rows.join('\n'), { limits: { maxPoints: 1000 }, fileName: 'big.csv' });
    expect(e.code).toBe('too-many-points');
    expect(e.where).toMatchObject({ file: 'big.csv', line: 1002 }); // the 1001st numeric row ("x,y" is no number row)
    // At the limit the file is read (and the bad row then reported).
    expect(rejection(rows.slice(0, 1000).join('\n'), { limits: { maxPoints: 1000 } }).code).toBe('bad-number');
    expect(parseSpectra(rows.filter((r) => r !== 'x,y').slice(0, 1000).join('\n'), { limits: { maxPoints: 1000 } })[0].y.length).toBe(1000);
  });

  it('ten million one-value rows (20 MB) are refused by count at the default limit', () => {
    const text = '1\n'.repeat(10_000_000);
    const e = rejection(text, { fileName: 'ten-million.csv' });
    expect(e.code).toBe('too-many-points');
    expect(e.where.line).toBe(4 * 1024 * 1024 + 1);
  });

  it('JCAMP-DX: more data lines than points allow are refused on a count of the text', () => {
    const head = '##TITLE=t\n##JCAMP-DX=5.01\n##XYPOINTS=(XY..XY)\n';
    const e = rejection(head + '1,2\n'.repeat(1100) + '##END=\n', { limits: { maxPoints: 1000, maxBlocks: 10 } });
    expect(e.code).toBe('too-many-points');
    expect(e.where.line).toBe(3 + 1011);
  });
});
