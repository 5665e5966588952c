import { mulberry32 } from '../../core/identify/knn/calibration.ts';

const POINTS = 2000;

/**
 * Peak definitions of a near-duplicate pair and a third compound: A and B are the benchmark's 164 and 281 (the minor
 * peak 42 points further off), C has peaks of its own.
 */
export const PAIR_CLASSES = {
  A: { positions: [774, 1876], heights: [0.24, 1] },
  B: { positions: [780, 1924], heights: [0.273, 1] },
  C: { positions: [300, 1200], heights: [1, 0.5] },
} as const;

/** Gaussian peaks of width sigma at (possibly fractional) positions, scaled to max 1. */
export function spectrumOf(positions: readonly number[], heights: readonly number[], sigma = 3, points = POINTS): Float32Array {
  const x = new Float32Array(points);
  positions.forEach((p, k) => {
    for (let j = Math.max(0, Math.floor(p - 6 * sigma)); j <= Math.min(points - 1, Math.ceil(p + 6 * sigma)); j++) {
      x[j] += heights[k] * Math.exp(-((j - p) ** 2) / (2 * sigma * sigma));
    }
  });
  let max = 0;
  for (const v of x) max = Math.max(max, v);
  return x.map((v) => v / max);
}

/** References as the benchmark's generator makes them: every peak jittered by up to +-jitter, heights by +-0.05. */
export function jitteredReferences(positions: readonly number[], heights: readonly number[], n: number, seed: number, jitter = 50): Float32Array[] {
  const rng = mulberry32(seed);
  return Array.from({ length: n }, () =>
    spectrumOf(
      positions.map((p) => p + Math.floor(rng() * 2 * jitter) - jitter),
      heights.map((h) => (h === 1 ? 1 : h + (rng() - 0.5) * 0.1)),
      2 + 3 * rng(),
    ),
  );
}
