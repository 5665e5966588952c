import type { Stats } from 'node:fs';

/**
 * A file's identity for exactly-once processing: its path, size and mtime. The store ledger records inputs by this
 * key, so a file rewritten in place is a new input while a repeated event for the unchanged file is not.
 */
export function fileSignature(st: Pick<Stats, 'size' | 'mtimeMs'>): string {
  return `${st.size}:${Math.round(st.mtimeMs)}`;
}

export function dedupKeyOf(path: string, st: Pick<Stats, 'size' | 'mtimeMs'>): string {
  return `file:${path}:${fileSignature(st)}`;
}
