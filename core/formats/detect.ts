import type { FileFormat } from './types.ts';

/**
 * Which reader a file needs. The content decides first (a JCAMP-DX record, a JSON bracket), because lab exports
 * are often misnamed (.txt holding JCAMP-DX); the file name or content type (RawInput.formatHint, e.g. 'a.jdx',
 * 'application/json') decides only when the content does not; anything else is delimited text.
 */
const SNIFF_CHARS = 8192;

export function detectFormat(input: Buffer | string, fileName?: string): FileFormat {
  const head = sniffText(input);
  const firstContent = head.replace(/^\uFEFF/, '').trimStart();
  if (firstContent.startsWith('{') || firstContent.startsWith('[')) return 'json';
  if (/^\s*##[^\r\n]*=/m.test(head)) return 'jcamp';
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
