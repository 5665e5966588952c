/**
 * Delimited text: what spectrometer software exports as "CSV", "TXT", "XY", "DAT" or "ASC".
 *
 * - Delimiter: tab, ';', ',' or blanks, decided on the first data row and then held for the whole file.
 *   With tab, ';' or blank delimiters a comma inside a number is a decimal comma ("1234,5;0,123", "1234,5 0,123").
 *   A row that is only "a,b" is read as two columns (x = a, y = b), never as one European decimal.
 * - One column: y only, x is the point index. Two columns: x, y. More: rejected (which one is y is a guess), except
 *   a file whose only data row holds many values: those are y (one spectrum per line, as serial instruments send).
 * - Lines before the first data row are headers: `key: value` / `key = value` go to meta (xUnit, yUnit, title,
 *   sampleId, acquiredAt, instrument are recognised; others land in meta.extra), anything else is taken as
 *   column names (units such as "Wavenumber (cm-1)" are picked up). Lines starting with '#', '%' or '//' are
 *   comments anywhere; `# key: value` comments are kept like headers. `##KEY=value` headers (RRUFF and other
 *   database exports) are headers too, and a `##END=` line ends the data.
 * - RRUFF exports (`##NAMES=` the mineral, `##RRUFFID=` the sample): meta.extra.class is the mineral and
 *   meta.extra.sample the RRUFF ID (also meta.sampleId), so training and enrollment can label by them.
 * - x may run up or down; the result is ascending. Blank lines are skipped.
 * - Memory: the rows are counted on the text before any array is built, so a file with more rows than
 *   limits.maxPoints is refused without building them; accepted rows go into typed arrays sized by that count.
 */
import type { InputLocation } from '../../errors.ts';
import type { Spectrum, SpectrumMeta, XUnit } from '../../spectrum.ts';
import { finishSeries } from '../axis.ts';
import { inputError } from '../fail.ts';
import type { ParseLimits } from '../limits.ts';
import { countLines, parseDecimal, splitLines } from '../numbers.ts';
import { parseJcampDate } from '../jcamp/meta.ts';
import { normalizeXUnit, normalizeYUnit, xUnitFromColumnName, yUnitFromColumnName } from '../units.ts';

type Delimiter = '\t' | ';' | ',' | ' ';

interface Layout {
  readonly delimiter: Delimiter;
  readonly decimalComma: boolean;
  readonly columns: number;
}

const COMMENT = /^(#+|%|\/\/)/;
/** `##END=` (JCAMP-DX's block end, also written by RRUFF below its rows): nothing after it is data. */
const END_RECORD = /^##\s*END\s*=/i;
const KEY_VALUE = /^([A-Za-z][\w .()/-]{0,60}?)\s*[:=]\s*(.*)$/;

export function readDelimited(text: string, limits: ParseLimits, file?: string): Spectrum {
  const candidates = countNumericRows(text, limits.maxPoints, file);
  const lines = splitLines(text);
  const header: Record<string, string> = {};
  const columnNames: string[] = [];
  let xs = new Float64Array(candidates);
  let ys = new Float64Array(candidates);
  let lineOfPoint = new Int32Array(candidates);
  let count = 0;
  let layout: Layout | undefined;

  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i].trim();
    if (line === '') continue;
    if (END_RECORD.test(line)) break;
    if (COMMENT.test(line)) {
      const kv = KEY_VALUE.exec(line.replace(COMMENT, '').trim());
      if (kv) header[kv[1].trim()] ??= kv[2].trim();
      continue;
    }
    const where: InputLocation = { file, line: lineNo };
    if (layout === undefined) {
      layout = detectLayout(line);
      if (!layout) {
        if (count === 0) {
          const kv = KEY_VALUE.exec(line);
          if (kv && !/[\t;]/.test(kv[2]) && !looksLikeColumnNames(line)) header[kv[1].trim()] ??= kv[2].trim();
          else columnNames.push(line);
        }
        continue;
      }
      if (layout.columns > 2) {
        // One row of many values and no other data is a y vector (a serial instrument's line, a row-wise export);
        // with several such rows which column is y would be a guess.
        if (onlyDataLine(lines, i)) return readSingleRow(line, layout, limits, header, { file, line: lineNo });
        throw inputError('csv-columns', `the data has ${layout.columns} columns; spectrad reads 1 (y) or 2 (x, y)`, where);
      }
    }
    const fields = splitRow(line, layout.delimiter);
    if (fields.length !== layout.columns) {
      throw inputError(
        fields.length > 2 || fields.length < 1 ? 'csv-columns' : 'bad-number',
        `the row has ${fields.length} field(s) where the data started with ${layout.columns}: "${line.slice(0, 60)}"`,
        where,
      );
    }
    // A plain loop, not fields.map(): this runs once per row of files with millions of rows.
    const values: number[] = [];
    for (let c = 0; c < fields.length; c++) {
      const parsed = parseDecimal(unquote(fields[c]), layout.decimalComma);
      if (!parsed.ok) {
        throw inputError(parsed.nonFinite ? 'non-finite' : 'bad-number', `"${fields[c]}" is not a number`, {
          ...where,
          field: layout.columns === 1 || c > 0 ? 'y' : 'x',
        });
      }
      values.push(parsed.value);
    }
    if (count >= xs.length) {
      // The count pass saw fewer rows only for unusual line ends (CR and LF mixed): grow, still within the limit.
      if (count >= limits.maxPoints) throw inputError('too-many-points', `more than ${limits.maxPoints} rows of data`, where);
      const size = Math.min(limits.maxPoints, Math.max(16, xs.length * 2));
      xs = grow(xs, size);
      ys = grow(ys, size);
      lineOfPoint = grow(lineOfPoint, size);
    }
    xs[count] = values.length === 1 ? count : values[0];
    ys[count] = values.length === 1 ? values[0] : values[1];
    lineOfPoint[count] = lineNo;
    count++;
  }
  if (!layout || count === 0) {
    throw inputError('csv-no-data', 'no numeric data rows found (expected "x,y" or "y" per line)', { file });
  }

  const meta = headerMeta(header, columnNames, file);
  const names = columnNames.length ? splitRow(columnNames[columnNames.length - 1], layout.delimiter).map(unquote) : [];
  const singleColumn = layout.columns === 1;
  const xUnit: XUnit =
    normalizeXUnit(headerValue(header, 'xunit')) ??
    (singleColumn ? 'index' : (names.length >= 2 ? xUnitFromColumnName(names[0]) : undefined) ?? 'other');
  const yUnit =
    normalizeYUnit(headerValue(header, 'yunit')) ??
    (names.length ? yUnitFromColumnName(names[names.length - 1]) : undefined) ??
    'arbitrary';
  return finishSeries(
    {
      x: count === xs.length ? xs : xs.slice(0, count),
      y: count === ys.length ? ys : ys.slice(0, count),
      xUnit,
      yUnit,
      meta,
      lineOf: (i) => lineOfPoint[i],
    },
    { file },
  );
}

/**
 * Rows that may be data (their first non-blank character is a digit, sign, point or quote), counted on the text
 * without splitting it into lines, up to the first `##END=`. More than maxPoints is refused here, before any array
 * is built: a 20 MB file of ten million rows costs nothing beyond its text.
 */
function countNumericRows(text: string, maxPoints: number, file?: string): number {
  const { count, lineNo, over } = countLines(text, maxPoints, (c) => (c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46 || c === 34, END_RECORD);
  if (over) throw inputError('too-many-points', `more than ${maxPoints} rows of data (row ${count} is at this line)`, { file, line: lineNo });
  return count;
}

function grow<T extends Float64Array | Int32Array>(array: T, size: number): T {
  const bigger = new (array.constructor as new (n: number) => T)(size);
  bigger.set(array);
  return bigger;
}

function onlyDataLine(lines: readonly string[], at: number): boolean {
  for (let j = at + 1; j < lines.length; j++) {
    const rest = lines[j].trim();
    if (rest !== '' && !COMMENT.test(rest)) return false;
  }
  return true;
}

/** The fields of the file's one data row as y values, x the point index. */
function readSingleRow(line: string, layout: Layout, limits: ParseLimits, header: Record<string, string>, where: InputLocation): Spectrum {
  const fields = splitRow(line, layout.delimiter);
  if (fields.length > limits.maxPoints) {
    throw inputError('too-many-points', `the row holds ${fields.length} values; the limit is ${limits.maxPoints} points`, where);
  }
  const y = new Float64Array(fields.length);
  for (let c = 0; c < fields.length; c++) {
    const parsed = parseDecimal(unquote(fields[c]), layout.decimalComma);
    if (!parsed.ok) {
      throw inputError(parsed.nonFinite ? 'non-finite' : 'bad-number', `"${fields[c].slice(0, 40)}" is not a number`, { ...where, field: 'y', index: c });
    }
    y[c] = parsed.value;
  }
  const x = Float64Array.from({ length: y.length }, (_, i) => i);
  const xUnit: XUnit = normalizeXUnit(headerValue(header, 'xunit')) ?? 'index';
  const yUnit = normalizeYUnit(headerValue(header, 'yunit')) ?? 'arbitrary';
  return finishSeries({ x, y, xUnit, yUnit, meta: headerMeta(header, [], where.file), lineOf: () => where.line }, { file: where.file });
}

/** Decides delimiter and decimal mark from a row, or undefined when the row is not numeric data. */
function detectLayout(line: string): Layout | undefined {
  const candidates: Array<[Delimiter, boolean]> = [];
  if (line.includes('\t')) candidates.push(['\t', true]);
  if (line.includes(';')) candidates.push([';', true]);
  if (/\s/.test(line) && line.includes(',')) candidates.push([' ', true]);
  if (line.includes(',')) candidates.push([',', false]);
  candidates.push([' ', false]);
  for (const [delimiter, decimalComma] of candidates) {
    const fields = splitRow(line, delimiter);
    if (fields.length === 0) continue;
    const numeric = fields.every((f) => {
      const p = parseDecimal(unquote(f), decimalComma);
      return p.ok || p.nonFinite;
    });
    if (numeric) return { delimiter, decimalComma, columns: fields.length };
  }
  return undefined;
}

function splitRow(line: string, delimiter: Delimiter): string[] {
  let fields: string[];
  if (delimiter === ' ') fields = line.trim().split(/\s+/);
  else {
    fields = line.split(delimiter);
    for (let i = 0; i < fields.length; i++) fields[i] = fields[i].trim();
  }
  // A trailing delimiter ("1.0;2.0;") is common in exports and means nothing.
  if (fields.length > 1 && fields[fields.length - 1] === '') fields.pop();
  return fields;
}

function unquote(field: string): string {
  return field.length >= 2 && field.startsWith('"') && field.endsWith('"') ? field.slice(1, -1).trim() : field;
}

function looksLikeColumnNames(line: string): boolean {
  return /[\t;,]/.test(line) && !/:\s/.test(line);
}

/** RRUFF's own header keys (canonical form): the mineral and the sample's RRUFF ID. */
const RRUFF_CLASS = 'name';
const RRUFF_SAMPLE = 'rruffid';

const META_KEYS: Readonly<Record<string, keyof SpectrumMeta>> = {
  title: 'title',
  name: 'title',
  sampleid: 'sampleId',
  sample: 'sampleId',
  acquiredat: 'acquiredAt',
  date: 'acquiredAt',
  instrument: 'instrument',
};
const UNIT_KEYS = new Set(['xunit', 'yunit']);

function canonicalKey(key: string): string {
  return key.toLowerCase().replace(/[\s_-]/g, '').replace(/s$/, '');
}

function headerValue(header: Record<string, string>, canonical: string): string | undefined {
  for (const [key, value] of Object.entries(header)) if (canonicalKey(key) === canonical) return value;
  return undefined;
}

function headerMeta(header: Record<string, string>, columnNames: string[], file?: string): SpectrumMeta {
  const meta: Record<string, string> = {};
  const extra: Record<string, string> = {};
  for (const [key, value] of Object.entries(header)) {
    const canonical = canonicalKey(key);
    if (UNIT_KEYS.has(canonical)) continue;
    const target = META_KEYS[canonical];
    // acquiredAt promises ISO 8601; a date in another spelling stays in extra as written.
    const accepted = target === 'acquiredAt' ? parseJcampDate(value) : value;
    if (target && target !== 'extra' && accepted && meta[target] === undefined) meta[target] = accepted;
    else extra[key] = value;
  }
  const mineral = headerValue(header, RRUFF_CLASS);
  const rruffId = headerValue(header, RRUFF_SAMPLE);
  if (rruffId !== undefined && rruffId !== '') {
    // Stable keys that training (--data DIR) and enrollment label by: the class and the physical sample.
    if (mineral) extra.class = mineral;
    extra.sample = rruffId;
    meta.sampleId ??= rruffId;
  }
  const columns = columnNames[columnNames.length - 1];
  // The writer's own plain "x,y" row says nothing; real column names are kept.
  if (columns !== undefined && !/^x\s*[,;\t ]\s*y$/i.test(columns)) extra.columns = columns;
  if (file !== undefined) meta.source = file;
  return { ...meta, ...(Object.keys(extra).length ? { extra } : {}) };
}
