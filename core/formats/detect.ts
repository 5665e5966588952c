import { normalizeLabel } from './jcamp/ldr.ts';
import type { FileFormat } from './types.ts';

/**
 * Which reader a file needs. The content decides first (a JCAMP-DX record, a JSON bracket), because lab exports
 * are often misnamed (.txt holding JCAMP-DX); the file name or content type (RawInput.formatHint, e.g. 'a.jdx',
 * 'application/json') decides only when the content does not; anything else is delimited text.
 *
 * `##KEY=value` lines alone do not make a file JCAMP-DX: the RRUFF database and other two-column exports write such
 * headers above plain `x, y` rows. A file is JCAMP-DX when its `##` records include one only JCAMP-DX has (##TITLE=,
 * ##JCAMP-DX=, a data table or its axis fields), or when it has no numeric rows that delimited text could read.
 */
const SNIFF_CHARS = 8192;

/** Labels that only JCAMP-DX writes; one of them in the head decides the format. */
const JCAMP_LABELS: ReadonlySet<string> = new Set([
  'TITLE', 'JCAMPDX', 'JCAMPCS', 'DATATYPE', 'DATACLASS', 'XYDATA', 'XYPOINTS', 'PEAKTABLE', 'NTUPLES', 'DATATABLE',
  'PAGE', 'NPOINTS', 'FIRSTX', 'LASTX', 'DELTAX', 'XFACTOR', 'YFACTOR', 'XUNITS', 'YUNITS', 'BLOCKS', 'BLOCKID',
  'VARNAME', 'SYMBOL',
]);

/** A row of two numbers separated by a comma, semicolon, tab or blanks (a delimited-text data row). */
const XY_ROW = /^[ \t]*[+-]?(?:\d+[.,]?\d*|[.,]\d+)(?:[eE][+-]?\d+)?[ \t]*[,;\t ][ \t]*[+-]?(?:\d+[.,]?\d*|[.,]\d+)(?:[eE][+-]?\d+)?[ \t,;]*$/m;

export function detectFormat(input: Buffer | string, fileName?: string): FileFormat {
  const head = sniffText(input);
  const firstContent = head.replace(/^\uFEFF/, '').trimStart();
  if (firstContent.startsWith('{') || firstContent.startsWith('[')) return 'json';
  const labels = [...head.matchAll(/^\s*##([^=\r\n]*)=/gm)].map((m) => normalizeLabel(m[1].trim()));
  if (labels.length > 0) {
    if (labels.some((l) => JCAMP_LABELS.has(l))) return 'jcamp';
    // Only `##KEY=value` headers of other writers (RRUFF): plain x, y rows below them make it delimited text.
    if (XY_ROW.test(head.replace(/^\s*#.*$/gm, ''))) return 'csv';
    return 'jcamp';
  }
  const hint = (fileName ?? '').toLowerCase();
  if (/\.(jdx|dx|jcamp|jcm)$|chemical\/x-jcamp/.test(hint)) return 'jcamp';
  if (/\.json$|\/json\b|\+json\b/.test(hint)) return 'json';
  return 'csv';
}

function sniffText(input: Buffer | string): string {
  if (typeof input === 'string') return input.slice(0, SNIFF_CHARS);
  const head = input.subarray(0, SNIFF_CHARS);
  // UTF-16 (with or without BOM): drop the zero bytes so the ASCII structure shows.
  const zeros = head.reduce((count, b) => count + (b === 0 ? 1 : 0), 0);
  if (zeros > head.length / 4) return Buffer.from(head.filter((b) => b !== 0 && b !== 0xff && b !== 0xfe)).toString('latin1');
  return head.toString('latin1');
}
