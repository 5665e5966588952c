/**
 * Byte-level comparison of typed arrays: vitest's deep toEqual walks element by element and takes seconds on the
 * 10^5-10^6-element arrays here. Returns -1 when equal, else the first differing byte (or the shorter length).
 */
export function firstDifference(a: ArrayBufferView, b: ArrayBufferView): number {
  const x = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  const y = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (x.equals(y)) return -1;
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return i;
  return n;
}
