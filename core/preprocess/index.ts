import type { InputGrid } from '../encoder/types.ts';
import { SpectrumInputError } from '../errors.ts';
import type { Spectrum } from '../spectrum.ts';
import { checkPreprocessConfig } from './config.ts';
import { normalizeMaxAbs, removeBaselineAirPLS, removeBaselineRollingBall, smoothSavitzkyGolay } from './filters.ts';
import { padToGrid, resampleToGrid } from './resample.ts';
import type { PreprocessConfig, PreprocessStep } from './types.ts';
import { validateSpectrum, whereOf } from './validate.ts';

export { checkPreprocessConfig } from './config.ts';
export { normalizeMaxAbs, removeBaselineAirPLS, removeBaselineRollingBall, smoothSavitzkyGolay } from './filters.ts';
export { gridX } from './grid.ts';
export { padToGrid, resampleToGrid, type ResampleOptions } from './resample.ts';
export { PREPROCESS_DEFAULTS } from './types.ts';
export type { AirPLSStep, PreprocessConfig, PreprocessStep, ResampleMethod, RollingBallStep, SavitzkyGolayStep } from './types.ts';
export { validateSpectrum } from './validate.ts';

/** Below this fraction of the input's scale, what the steps leave is rounding noise, not signal. */
const SIGNAL_FLOOR = 1e-9;

export function applyStep(spectrum: Spectrum, step: PreprocessStep): Spectrum {
  switch (step.kind) {
    case 'savitzkyGolay':
      return smoothSavitzkyGolay(spectrum, step);
    case 'airPLS':
      return removeBaselineAirPLS(spectrum, step);
    case 'rollingBall':
      return removeBaselineRollingBall(spectrum, step);
  }
}

const maxAbs = (y: Float64Array): number => y.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/**
 * A spectrum as the encoder takes it: validated, resampled onto the model grid (0 outside the measured range),
 * the configured steps applied in order, normalized to max |y| = 1. Bad input throws a SpectrumInputError.
 */
export function preprocess(spectrum: Spectrum, grid: InputGrid, chain: PreprocessConfig = {}): Float32Array {
  checkPreprocessConfig(chain);
  // Every step is scale-invariant, so scaling to max |y| = 1 first changes no result but keeps intensities like
  // 1e300 or 1e-300 from overflowing or underflowing inside the steps.
  const valid = normalizeMaxAbs(validateSpectrum(spectrum, { minPoints: chain.minPoints }));
  let current = resampleToGrid(valid, grid, chain);
  const scale = maxAbs(current.y);
  for (const step of chain.steps ?? []) current = applyStep(current, step);
  if (maxAbs(current.y) <= SIGNAL_FLOOR * scale) {
    throw new SpectrumInputError('no-signal', 'nothing but (near) zeros is left on the model grid after preprocessing', whereOf(spectrum, { field: 'y' }));
  }
  const out = Float32Array.from(normalizeMaxAbs(padToGrid(current, grid)).y);
  const bad = out.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    // Not expected after the scaling above; a guard so that no NaN ever reaches the encoder.
    throw new SpectrumInputError('non-finite-result', `preprocessing produced ${out[bad]} at grid point ${bad}`, whereOf(spectrum, { index: bad }));
  }
  return out;
}

export interface PreprocessedBatch {
  /** Row-major [n, grid.points]: the accepted spectra only, in input order. */
  x: Float32Array;
  n: number;
  points: number;
  /** indices[r] = position in the input of row r. */
  indices: number[];
  /** The spectra that were rejected, with why. */
  rejected: { index: number; error: SpectrumInputError }[];
}

/** Preprocesses many spectra; a rejected one is reported and skipped, never stops the rest. */
export function preprocessBatch(spectra: readonly Spectrum[], grid: InputGrid, chain: PreprocessConfig = {}): PreprocessedBatch {
  checkPreprocessConfig(chain);
  const rows: Float32Array[] = [];
  const indices: number[] = [];
  const rejected: PreprocessedBatch['rejected'] = [];
  spectra.forEach((spectrum, index) => {
    try {
      rows.push(preprocess(spectrum, grid, chain));
      indices.push(index);
    } catch (error) {
      if (!(error instanceof SpectrumInputError)) throw error;
      rejected.push({ index, error });
    }
  });
  const x = new Float32Array(rows.length * grid.points);
  rows.forEach((row, r) => x.set(row, r * grid.points));
  return { x, n: rows.length, points: grid.points, indices, rejected };
}
