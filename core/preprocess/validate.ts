import { type InputLocation, SpectrumInputError } from '../errors.ts';
import type { Spectrum } from '../spectrum.ts';
import { PREPROCESS_DEFAULTS } from './types.ts';

export function whereOf(spectrum: Spectrum, extra: InputLocation = {}): InputLocation {
  return spectrum.meta.source ? { file: spectrum.meta.source, ...extra } : extra;
}

/**
 * Checks a spectrum before preprocessing and returns it with ascending x (reversed when the instrument wrote it
 * descending). Rejects: empty, fewer than minPoints, x and y of different lengths, NaN/Inf, repeated or unordered x,
 * constant intensity.
 */
export function validateSpectrum(spectrum: Spectrum, opts: { minPoints?: number } = {}): Spectrum {
  const minPoints = opts.minPoints ?? PREPROCESS_DEFAULTS.minPoints;
  const { x, y } = spectrum;
  if (y.length === 0) throw new SpectrumInputError('empty-spectrum', 'the spectrum has no points', whereOf(spectrum));
  if (x.length !== y.length) {
    throw new SpectrumInputError('length-mismatch', `x has ${x.length} values but y has ${y.length}`, whereOf(spectrum));
  }
  if (y.length < minPoints) {
    throw new SpectrumInputError('spectrum-too-short', `the spectrum has ${y.length} points; at least ${minPoints} are needed`, whereOf(spectrum));
  }
  for (let i = 0; i < y.length; i++) {
    if (!Number.isFinite(y[i])) {
      throw new SpectrumInputError('non-finite-value', `intensity ${y[i]} is not a finite number`, whereOf(spectrum, { field: 'y', index: i }));
    }
    if (!Number.isFinite(x[i])) {
      throw new SpectrumInputError('non-finite-value', `x value ${x[i]} is not a finite number`, whereOf(spectrum, { field: 'x', index: i }));
    }
  }
  const descending = x[1] < x[0];
  for (let i = 1; i < x.length; i++) {
    const step = descending ? x[i - 1] - x[i] : x[i] - x[i - 1];
    if (!(step > 0)) {
      const why = step === 0 ? `x value ${x[i]} repeats` : `x turns back at ${x[i]} (after ${x[i - 1]})`;
      throw new SpectrumInputError('x-not-monotonic', `${why}; x must rise or fall strictly`, whereOf(spectrum, { field: 'x', index: i }));
    }
  }
  let min = y[0];
  let max = y[0];
  for (const v of y) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (max === min) {
    throw new SpectrumInputError('constant-spectrum', `every intensity equals ${min}: there is no signal to identify`, whereOf(spectrum, { field: 'y' }));
  }
  if (!descending) return spectrum;
  return { ...spectrum, x: x.slice().reverse(), y: y.slice().reverse() };
}
