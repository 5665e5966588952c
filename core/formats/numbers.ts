/**
 * Strict decimal number parsing shared by the readers. Number() alone accepts '', '0x1F', ' 12 ' and 'Infinity';
 * instrument files must not be read that loosely.
 */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const NON_FINITE = /^[+-]?(?:nan|inf|infinity|1\.#inf|1\.#qnan|1\.#ind)$/i;

export type NumberParse = { ok: true; value: number } | { ok: false; nonFinite: boolean };

export function parseDecimal(text: string, decimalComma = false): NumberParse {
  const t = decimalComma ? text.replace(',', '.') : text;
  if (DECIMAL.test(t)) {
    const value = Number(t);
    // '1e999' matches the grammar but overflows to Infinity.
    return Number.isFinite(value) ? { ok: true, value } : { ok: false, nonFinite: true };
  }
  return { ok: false, nonFinite: NON_FINITE.test(t) };
}

/** Shortest text that reads back as exactly the same double (JavaScript's own number-to-string). */
export function formatNumber(value: number): string {
  return Object.is(value, -0) ? '0' : String(value);
}

/** Lines of a text with LF, CRLF or CR ends; a string split is much faster than a regular-expression split. */
export function splitLines(text: string): string[] {
  if (!text.includes('\r')) return text.split('\n');
  return text.replace(/\r\n?/g, '\n').split('\n');
}

/**
 * Counts the lines whose first non-blank character `counts` accepts, on the text itself (no line array is built),
 * stopping at a line that matches `end` (tested on its first 16 characters when they start with '#') or as soon
 * as the count passes `limit`: then `over` is set and lineNo is the line that passed it. Readers call it before
 * they allocate, so a file with more rows than the point limit is refused at the cost of one pass over its text.
 */
export function countLines(text: string, limit: number, counts: (charCode: number) => boolean, end?: RegExp): { count: number; lineNo: number; over: boolean } {
  let count = 0;
  let lineNo = 0;
  let at = 0;
  const len = text.length;
  // Old Mac exports end lines with CR alone; CRLF and LF files are split at LF.
  const eol = text.includes('\r') && !text.includes('\n') ? '\r' : '\n';
  while (at < len) {
    lineNo++;
    let nl = text.indexOf(eol, at);
    if (nl < 0) nl = len;
    let i = at;
    while (i < nl) {
      const c = text.charCodeAt(i);
      if (c !== 32 && c !== 9 && c !== 13 && c !== 0xfeff) break;
      i++;
    }
    if (i < nl) {
      const c = text.charCodeAt(i);
      if (counts(c)) {
        if (++count > limit) return { count, lineNo, over: true };
      } else if (end && c === 35 && end.test(text.slice(i, Math.min(nl, i + 16)))) break;
    }
    at = nl + 1;
  }
  return { count, lineNo, over: false };
}
