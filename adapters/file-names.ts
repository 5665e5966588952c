/**
 * File names the folder input must handle whatever their bytes: names written by older Windows software in Latin-1 to
 * a share are not valid UTF-8, and Node's string paths cannot name them (readdir gives U+FFFD, which names no file);
 * names near the file system's 255-byte limit cannot take a suffix (`.error.txt`, `-1`).
 */
import { createHash } from 'node:crypto';
import { extname } from 'node:path';

/** The longest file name (one path segment) in bytes on ext4, xfs, btrfs, NTFS (as UTF-16 units: stricter) and tmpfs. */
export const MAX_NAME_BYTES = 255;

/** True when the bytes decode as UTF-8 and encode back to the same bytes (Node's string paths can name the file). */
export function isUtf8Name(name: Buffer): boolean {
  return Buffer.from(name.toString('utf8'), 'utf8').equals(name);
}

/**
 * The name as UTF-8 text, losslessly: valid UTF-8 sequences as they are, every other byte as %XX (Latin-1
 * `Messung_\xe4.jdx` -> `Messung_%E4.jdx`), then fitted to MAX_NAME_BYTES.
 */
export function escapeUndecodable(name: Buffer): string {
  let out = '';
  let i = 0;
  while (i < name.length) {
    const b = name[i];
    const len = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    const seq = len > 0 && i + len <= name.length ? name.subarray(i, i + len) : undefined;
    if (seq && isUtf8Name(seq) && !(len === 1 && b === 0x25)) {
      out += seq.toString('utf8');
      i += len;
    } else {
      // '%' itself is escaped too, so the escaped form is unambiguous.
      out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
      i++;
    }
  }
  return fitName(out);
}

/**
 * `name + suffix` within MAX_NAME_BYTES: when too long, the stem is shortened (on a character boundary) and a short
 * hash of the whole name keeps shortened names apart; the extension and the suffix stay.
 */
export function fitName(name: string, suffix = ''): string {
  if (Buffer.byteLength(name + suffix) <= MAX_NAME_BYTES) return name + suffix;
  const ext = extname(name).length <= 16 ? extname(name) : '';
  const tag = `~${createHash('sha256').update(name).digest('hex').slice(0, 8)}`;
  const room = MAX_NAME_BYTES - Buffer.byteLength(tag + ext + suffix);
  let stem = name.slice(0, name.length - ext.length);
  while (Buffer.byteLength(stem) > room) stem = Array.from(stem).slice(0, -1).join('');
  // Never end on half an escape (%E4 -> %E).
  stem = stem.replace(/%[0-9A-F]?$/, '');
  return stem + tag + ext + suffix;
}
