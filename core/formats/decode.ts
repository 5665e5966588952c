import { inputError } from './fail.ts';
import type { ParseLimits } from './limits.ts';

/**
 * Bytes to text. Instrument software writes ASCII, UTF-8, Windows-1252 (a degree sign in a title) and, from some
 * Windows exporters, UTF-16 with or without a byte-order mark; all of those are decoded. Anything that still
 * looks like binary (NUL bytes, many control characters) is refused rather than parsed into nonsense.
 */
export interface DecodedText {
  readonly text: string;
  readonly encoding: 'utf-8' | 'utf-16le' | 'utf-16be' | 'windows-1252' | 'string';
}

const SNIFF_BYTES = 4096;

export function decodeInput(input: Buffer | string, limits: ParseLimits, file?: string): DecodedText {
  const bytes = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.length;
  if (bytes > limits.maxBytes) {
    throw inputError('input-too-large', `input is ${bytes} bytes; the limit is ${limits.maxBytes} bytes`, { file });
  }
  const decoded: DecodedText =
    typeof input === 'string' ? { text: input.replace(/^\uFEFF/, ''), encoding: 'string' } : decodeBytes(input);
  if (decoded.text.trim().length === 0) {
    throw inputError('empty-input', 'the input is empty (no characters other than white space)', { file });
  }
  rejectBinary(decoded.text, file);
  return decoded;
}

function decodeBytes(buf: Buffer): DecodedText {
  if (buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) {
    return { text: buf.subarray(3).toString('utf8'), encoding: 'utf-8' };
  }
  if (buf.length >= 2 && buf[0] === 0xff && buf[1] === 0xfe) {
    return { text: decodeUtf16(buf.subarray(2), 'le'), encoding: 'utf-16le' };
  }
  if (buf.length >= 2 && buf[0] === 0xfe && buf[1] === 0xff) {
    return { text: decodeUtf16(buf.subarray(2), 'be'), encoding: 'utf-16be' };
  }
  const bomless = sniffUtf16(buf);
  if (bomless) return { text: decodeUtf16(buf, bomless), encoding: bomless === 'le' ? 'utf-16le' : 'utf-16be' };
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(buf), encoding: 'utf-8' };
  } catch {
    // Not UTF-8: older instrument PCs write Windows-1252, a superset of Latin-1 for printable text.
    return { text: new TextDecoder('windows-1252').decode(buf), encoding: 'windows-1252' };
  }
}

function decodeUtf16(buf: Buffer, order: 'le' | 'be'): string {
  const even = buf.length - (buf.length % 2);
  if (order === 'le') return buf.subarray(0, even).toString('utf16le');
  const swapped = Buffer.from(buf.subarray(0, even));
  swapped.swap16();
  return swapped.toString('utf16le');
}

/** ASCII text saved as UTF-16 without a BOM has a zero in every other byte. */
function sniffUtf16(buf: Buffer): 'le' | 'be' | undefined {
  const n = Math.min(buf.length, SNIFF_BYTES) & ~1;
  if (n < 4) return undefined;
  let zeroEven = 0;
  let zeroOdd = 0;
  for (let i = 0; i < n; i += 2) {
    if (buf[i] === 0) zeroEven++;
    if (buf[i + 1] === 0) zeroOdd++;
  }
  const pairs = n / 2;
  if (zeroOdd >= 0.9 * pairs && zeroEven === 0) return 'le';
  if (zeroEven >= 0.9 * pairs && zeroOdd === 0) return 'be';
  return undefined;
}

function rejectBinary(text: string, file?: string): void {
  const n = Math.min(text.length, SNIFF_BYTES * 4);
  let control = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0) {
      throw inputError('binary-input', `the input holds a NUL character at offset ${i}: binary data, not a text spectrum`, { file });
    }
    // Tab, LF, VT, FF, CR and printable text are normal; other C0 controls and U+FFFD are not.
    if ((c < 32 && (c < 9 || c > 13)) || c === 0xfffd) control++;
  }
  if (control > Math.max(2, n * 0.01)) {
    throw inputError('binary-input', `the input holds ${control} control characters in its first ${n}: binary data, not a text spectrum`, { file });
  }
}
