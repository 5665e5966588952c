import type { Encoder, InputGrid } from '../../core/encoder/types.ts';
import { gaussianKernel } from '../../core/math/gaussian-kernel.ts';

/**
 * A fixed, untrained reference encoder: Gaussian blur (so peaks shifted by tens of points still overlap), then
 * average pooling, then L2 normalization. It is what library search does without learning (cosine on smoothed
 * spectra), so the benchmark can show what the trained CNN adds, and it lets every protocol run before a trained
 * model exists. It is never the product's model.
 */
export function smoothedSpectrumEncoder(points: number, options: { sigma?: number; stride?: number } = {}): Encoder {
  const sigma = options.sigma ?? 15;
  const stride = options.stride ?? 10;
  const kernel = gaussianKernel(sigma);
  const radius = (kernel.length - 1) / 2;
  const dim = Math.ceil(points / stride);
  const grid: InputGrid = { points, xStart: 0, xEnd: points - 1, xUnit: 'index' };
  return {
    grid,
    dim,
    version: `smoothed-spectrum-s${sigma}-p${stride}`,
    async embed(batch: Float32Array, n: number): Promise<Float32Array> {
      const out = new Float32Array(n * dim);
      const blurred = new Float64Array(points);
      for (let i = 0; i < n; i++) {
        blurred.fill(0);
        const row = batch.subarray(i * points, (i + 1) * points);
        for (let j = 0; j < points; j++) {
          const v = row[j];
          if (v === 0) continue;
          const lo = Math.max(0, j - radius);
          const hi = Math.min(points - 1, j + radius);
          for (let t = lo; t <= hi; t++) blurred[t] += v * kernel[t - j + radius];
        }
        const e = out.subarray(i * dim, (i + 1) * dim);
        for (let j = 0; j < points; j++) e[Math.floor(j / stride)] += blurred[j];
        let s = 0;
        for (let d = 0; d < dim; d++) s += e[d] * e[d];
        const norm = Math.sqrt(s) || 1;
        for (let d = 0; d < dim; d++) e[d] /= norm;
      }
      return out;
    },
    dispose() {},
  };
}
