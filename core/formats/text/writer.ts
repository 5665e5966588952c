import type { Spectrum } from '../../spectrum.ts';
import { formatNumber } from '../numbers.ts';

/**
 * Two-column text that spectrad's own reader (and any spreadsheet) reads back: `# key: value` comment lines for
 * the meta (title, xUnit, yUnit, acquiredAt, sampleId, instrument, extra fields), a header row "x,y", then one row
 * per point in shortest round-trip decimal.
 */
export interface CsvWriteOptions {
  readonly delimiter?: ',' | ';' | '\t';
  /** Write decimal commas (only with ';' or tab delimiters, as European spreadsheets expect). */
  readonly decimalComma?: boolean;
  /** Leave out the comment lines and header row: bare numbers only. */
  readonly bare?: boolean;
}

export function toCsv(spectrum: Spectrum, options: CsvWriteOptions = {}): string {
  const delimiter = options.delimiter ?? ',';
  if (options.decimalComma && delimiter === ',') throw new RangeError('decimal commas need a ";" or tab delimiter');
  const num = options.decimalComma ? (v: number) => formatNumber(v).replace('.', ',') : formatNumber;
  const lines: string[] = [];
  if (!options.bare) {
    const { meta } = spectrum;
    const comment = (key: string, value: string | undefined): void => {
      if (value !== undefined) lines.push(`# ${key}: ${value.replace(/[\r\n]+/g, ' ')}`);
    };
    comment('title', meta.title);
    comment('xUnit', spectrum.xUnit);
    comment('yUnit', spectrum.yUnit);
    comment('acquiredAt', meta.acquiredAt);
    comment('sampleId', meta.sampleId);
    comment('instrument', meta.instrument);
    for (const [key, value] of Object.entries(meta.extra ?? {})) {
      if (/^[A-Za-z][\w .()/-]{0,60}$/.test(key) && key !== 'columns') comment(key, value);
    }
    lines.push(`x${delimiter}y`);
  }
  const { x, y } = spectrum;
  for (let i = 0; i < y.length; i++) lines.push(`${num(x[i])}${delimiter}${num(y[i])}`);
  return lines.join('\n') + '\n';
}
