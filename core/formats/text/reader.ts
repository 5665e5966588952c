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
 *   comments anywhere; `# key: value` comments are kept like headers.
 * - x may run up or down; the result is ascending. Blank lines are skipped.
 */
import type { InputLocation } from '../../errors.ts';
import type { Spectrum, SpectrumMeta, XUnit } from '../../spectrum.ts';
import { finishSeries } from '../axis.ts';
import { inputError } from '../fail.ts';
import type { ParseLimits } from '../limits.ts';
import { parseDecimal, splitLines } from '../numbers.ts';
import { parseJcampDate } from '../jcamp/meta.ts';
import { normalizeXUnit, normalizeYUnit, xUnitFromColumnName, yUnitFromColumnName } from '../units.ts';

type Delimiter = '\t' | ';' | ',' | ' ';

interface Layout {
  readonly delimiter: Delimiter;
  readonly decimalComma: boolean;
  readonly columns: number;
}

const COMMENT = /^(#|%|\/\/)/;
const KEY_VALUE = /^([A-Za-z][\w .()/-]{0,60}?)\s*[:=]\s*(.*)$/;

export function readDelimited(text: string, limits: ParseLimits, file?: string): Spectrum {
  const lines = splitLines(text);
  const header: Record<string, string> = {};
  const columnNames: string[] = [];
  const xs: number[] = [];
  const ys: number[] = [];
  const lineOfPoint: number[] = [];
  let layout: Layout | undefined;

  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i].trim();
    if (line === '') continue;
    if (COMMENT.test(line)) {
      const kv = KEY_VALUE.exec(line.replace(COMMENT, '').trim());
      if (kv) header[kv[1].trim()] ??= kv[2].trim();
      continue;
    }
    const where: InputLocation = { file, line: lineNo };
    if (layout === undefined) {
      layout = detectLayout(line);
      if (!layout) {
        if (xs.length === 0) {
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
    if (xs.length >= limits.maxPoints) {
      throw inputError('too-many-points', `more than ${limits.maxPoints} rows of data`, where);
    }
    if (values.length === 1) {
      xs.push(xs.length);
      ys.push(values[0]);
    } else {
      xs.push(values[0]);
      ys.push(values[1]);
    }
    lineOfPoint.push(lineNo);
  }
  if (!layout || xs.length === 0) {
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
    { x: Float64Array.from(xs), y: Float64Array.from(ys), xUnit, yUnit, meta, lineOf: (i) => lineOfPoint[i] },
    { file },
  );
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
  const columns = columnNames[columnNames.length - 1];
  // The writer's own plain "x,y" row says nothing; real column names are kept.
  if (columns !== undefined && !/^x\s*[,;\t ]\s*y$/i.test(columns)) extra.columns = columns;
  if (file !== undefined) meta.source = file;
  return { ...meta, ...(Object.keys(extra).length ? { extra } : {}) };
}
