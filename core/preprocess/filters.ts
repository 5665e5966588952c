import airPLS from 'ml-airpls';
import { rollingBall } from 'ml-rolling-ball-baseline';
import { sgg } from 'ml-savitzky-golay-generalized';
import { SpectrumInputError } from '../errors.ts';
import type { Spectrum } from '../spectrum.ts';
import { type AirPLSStep, PREPROCESS_DEFAULTS, type RollingBallStep, type SavitzkyGolayStep } from './types.ts';
import { whereOf } from './validate.ts';

/** Pure filters over a Spectrum (matchms style): each returns a new spectrum and leaves its input untouched. */

const withValues = (spectrum: Spectrum, y: ArrayLike<number>): Spectrum => ({
  ...spectrum,
  y: y instanceof Float64Array ? y : Float64Array.from(y),
});

/** Savitzky-Golay smoothing; the window is in points, so on a grid it means the same for every instrument. */
export function smoothSavitzkyGolay(spectrum: Spectrum, step: Omit<SavitzkyGolayStep, 'kind'> = {}): Spectrum {
  const windowSize = step.windowSize ?? PREPROCESS_DEFAULTS.savitzkyGolay.windowSize;
  const polynomial = step.polynomial ?? PREPROCESS_DEFAULTS.savitzkyGolay.polynomial;
  if (spectrum.y.length < windowSize) {
    throw new SpectrumInputError(
      'spectrum-too-short',
      `Savitzky-Golay smoothing over ${windowSize} points needs at least that many points on the model grid; the spectrum covers ${spectrum.y.length}`,
      whereOf(spectrum),
    );
  }
  // Equally spaced after resampling: the spacing is one number.
  const dx = spectrum.x.length > 1 ? spectrum.x[1] - spectrum.x[0] : 1;
  return withValues(spectrum, sgg(spectrum.y, dx, { windowSize, polynomial, derivative: 0 }));
}

/** Subtracts an airPLS baseline (Zhang, Chen & Liang, Analyst 2010). */
export function removeBaselineAirPLS(spectrum: Spectrum, step: Omit<AirPLSStep, 'kind'> = {}): Spectrum {
  const { lambda, maxIterations, tolerance } = { ...PREPROCESS_DEFAULTS.airPLS, ...definedOnly(step) };
  const result = airPLS(spectrum.x, spectrum.y, { lambda, maxIterations, tolerance });
  return withValues(spectrum, result.corrected);
}

/** Subtracts a rolling-ball baseline (Kneen & Annegarn 1996); default windows 4 % / 8 % of the points. */
export function removeBaselineRollingBall(spectrum: Spectrum, step: Omit<RollingBallStep, 'kind'> = {}): Spectrum {
  const n = spectrum.y.length;
  const windowM = step.windowM ?? Math.max(2, Math.round(n * PREPROCESS_DEFAULTS.rollingBall.windowMFraction));
  const windowS = step.windowS ?? Math.max(2, Math.round(n * PREPROCESS_DEFAULTS.rollingBall.windowSFraction));
  const baseline = rollingBall(spectrum.y, { windowM, windowS });
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) y[i] = spectrum.y[i] - baseline[i];
  return withValues(spectrum, y);
}

/**
 * Scales to max |y| = 1, as the paper normalizes. A spectrum without signal left (e.g. a straight line that the
 * baseline step removed) cannot be scaled and is rejected.
 */
export function normalizeMaxAbs(spectrum: Spectrum): Spectrum {
  let max = 0;
  for (const v of spectrum.y) max = Math.max(max, Math.abs(v));
  if (!(max > 0) || !Number.isFinite(max)) {
    throw new SpectrumInputError('no-signal', 'nothing but zeros is left on the model grid after preprocessing', whereOf(spectrum, { field: 'y' }));
  }
  const y = new Float64Array(spectrum.y.length);
  for (let i = 0; i < y.length; i++) y[i] = spectrum.y[i] / max;
  return withValues(spectrum, y);
}

function definedOnly<T extends object>(obj: T): Partial<T> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as Partial<T>;
}
