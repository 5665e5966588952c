/**
 * The Gaussian kernel of scipy.ndimage.gaussian_filter1d: the benchmark generator blurs its peaks with it (and must
 * match scipy to the bit), and identification smooths spectral profiles and class templates with it.
 */

/** scipy's kernel: radius int(4 sigma + 0.5), weights exp(-x^2 / (2 sigma^2)) normalized to sum 1. */
export function gaussianKernel(sigma: number, truncate = 4.0): Float64Array {
  if (!(sigma > 0) || !Number.isFinite(sigma)) throw new RangeError(`sigma must be a positive number, got ${sigma}`);
  const radius = Math.trunc(truncate * sigma + 0.5);
  const weights = new Float64Array(2 * radius + 1);
  const c = -0.5 / (sigma * sigma);
  let sum = 0;
  for (let k = -radius; k <= radius; k++) {
    const w = Math.exp(c * k * k);
    weights[k + radius] = w;
    sum += w;
  }
  for (let i = 0; i < weights.length; i++) weights[i] /= sum;
  return weights;
}
