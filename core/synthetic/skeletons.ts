import type { InputGrid } from '../encoder/types.ts';
import { findPeaks } from '../identify/peaks/peak-features.ts';
import { rollingMinBaseline } from '../identify/spectral/spectral-match.ts';
import type { Band, SyntheticClass } from './physical.ts';

/**
 * The band skeleton of a real on-grid spectrum: its bands above 3 % of the tallest after a rolling-minimum baseline
 * (the product's band finder), each with its height and its width at half height, as a synthetic class. Synthetic
 * relatives of such skeletons (physical.ts, skeletonShare) are new "minerals" whose band layouts are those of real
 * ones, which random band positions are not (real bands cluster where bonds vibrate: lattice modes, SiO4, CO3...).
 */
export function bandSkeleton(y: ArrayLike<number>, grid: InputGrid): SyntheticClass {
  const step = (grid.xEnd - grid.xStart) / (grid.points - 1);
  // 100 cm-1 of rolling minimum, as the Raman spectral match uses: wider than a band, narrower than a baseline's bend.
  const base = rollingMinBaseline(y, Math.max(3, Math.round(100 / step)));
  const z = Float32Array.from({ length: y.length }, (_, i) => Math.max(0, y[i] - base[i]));
  const bands: Band[] = [];
  for (const p of findPeaks(z, { minHeight: 0.03, halfWindow: 3 })) {
    const i = Math.round(p.position);
    const half = z[i] / 2;
    let l = i;
    while (l > 0 && z[l] > half) l--;
    let r = i;
    while (r < z.length - 1 && z[r] > half) r++;
    // Overlapping bands never fall to half height between them: cap the width where that makes it absurd.
    const fwhm = Math.min(80, Math.max(2, (r - l) * step));
    bands.push({ center: grid.xStart + p.position * step, fwhm, height: p.height, eta: 0.5 });
  }
  return { bands };
}

/** Skeletons of the rows of a row-major [n, grid.points] matrix, those with fewer than 2 bands left out. */
export function bandSkeletons(x: Float32Array, n: number, grid: InputGrid): SyntheticClass[] {
  const out: SyntheticClass[] = [];
  for (let r = 0; r < n; r++) {
    const s = bandSkeleton(x.subarray(r * grid.points, (r + 1) * grid.points), grid);
    if (s.bands.length >= 2) out.push(s);
  }
  return out;
}
