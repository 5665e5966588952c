import type { Dataset } from './generate.ts';

/** A copy of a dataset with each row scaled to max |y| = 1, as preprocessing does for the encoder. */
export function normalizeDataset(data: Dataset): Dataset {
  const x = Float32Array.from(data.x);
  for (let i = 0; i < data.n; i++) {
    const row = x.subarray(i * data.points, (i + 1) * data.points);
    let max = 0;
    for (const v of row) max = Math.max(max, Math.abs(v));
    if (max > 0) for (let j = 0; j < row.length; j++) row[j] /= max;
  }
  return { ...data, x };
}
