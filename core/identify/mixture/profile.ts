import { gaussianKernel } from '../../math/gaussian-kernel.ts';

/**
 * A spectrum's coarse profile: summed over bins of POOL points, then blurred (sigma PROFILE_SIGMA bins). The map is
 * linear, so the profile of a mixture is exactly the weighted sum of its components' profiles; the blur lets peaks
 * that moved by a few tens of points still overlap. Mixture search uses it to check, in spectral space, sets of
 * classes proposed from the embeddings (an encoder trained on single compounds is only roughly additive).
 */
export const PROFILE_POOL = 10;
const PROFILE_SIGMA = 1.5;
const kernel = gaussianKernel(PROFILE_SIGMA);

export function profileDim(points: number): number {
  return Math.ceil(points / PROFILE_POOL);
}

/** Adds the profile of one spectrum into `out` (length profileDim(spectrum.length)). */
export function addProfile(spectrum: ArrayLike<number>, out: Float64Array | Float32Array): void {
  accumulateProfile(spectrum, out, PROFILE_POOL, kernel);
}

/**
 * Adds the profile of one spectrum, summed over bins of `pool` points and blurred with `blur` (odd length, centred),
 * into `out`: the one pooling and blurring every spectral profile (class means here, individual references in
 * mixture-spectral.ts) is made with.
 */
export function accumulateProfile(spectrum: ArrayLike<number>, out: Float64Array | Float32Array, pool: number, blur: ArrayLike<number>): void {
  const dim = out.length;
  const half = (blur.length - 1) / 2;
  const pooled = new Float64Array(dim);
  for (let j = 0; j < spectrum.length; j++) pooled[Math.floor(j / pool)] += spectrum[j];
  for (let i = 0; i < dim; i++) {
    const v = pooled[i];
    if (v === 0) continue;
    const lo = Math.max(0, i - half);
    const hi = Math.min(dim - 1, i + half);
    for (let t = lo; t <= hi; t++) out[t] += v * blur[t - i + half];
  }
}

/** The unit-norm profile of one spectrum (a query). */
export function spectralProfile(spectrum: ArrayLike<number>): Float32Array {
  const out = new Float32Array(profileDim(spectrum.length));
  addProfile(spectrum, out);
  let s = 0;
  for (const v of out) s += v * v;
  const norm = Math.sqrt(s) || 1;
  for (let i = 0; i < out.length; i++) out[i] /= norm;
  return out;
}
