/**
 * The published generator blurs delta peaks with scipy.ndimage.gaussian_filter1d(mode='constant', truncate=4.0).
 * A spectrum holds at most a few dozen peaks, so convolving each delta with the kernel directly (O(peaks x radius))
 * is far cheaper than filtering all 5000 points, and gives the same numbers.
 */

/**
 * Adds the blurred delta peaks into out (zeros outside the axis, as mode='constant'). Positions must be distinct
 * integers within 0..out.length-1; use placeDeltas first when shifted peaks may collide.
 */
export function addBlurredPeaks(
  out: Float64Array,
  positions: ArrayLike<number>,
  heights: ArrayLike<number>,
  kernel: Float64Array,
): void {
  const radius = (kernel.length - 1) >> 1;
  const n = out.length;
  for (let j = 0; j < positions.length; j++) {
    const p = positions[j];
    const h = heights[j];
    if (h === 0) continue;
    const kFrom = Math.max(-radius, -p);
    const kTo = Math.min(radius, n - 1 - p);
    for (let k = kFrom; k <= kTo; k++) out[p + k] += h * kernel[k + radius];
  }
}

/**
 * Resolves peaks that land on the same point the way numpy's `scan[positions] = heights` does: the later peak
 * overwrites the earlier one (no summing). Returns distinct positions with their heights.
 */
export function placeDeltas(positions: ArrayLike<number>, heights: ArrayLike<number>): { positions: number[]; heights: number[] } {
  const at = new Map<number, number>();
  for (let j = 0; j < positions.length; j++) at.set(positions[j], heights[j]);
  return { positions: [...at.keys()], heights: [...at.values()] };
}
