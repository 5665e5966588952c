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
