import type { Spectrum, SpectrumMeta, XUnit } from '../spectrum.ts';
import type { InputLocation } from '../errors.ts';
import { inputError } from './fail.ts';

/**
 * The last step of every reader: checks that the numbers make a spectrum (finite, x strictly monotonic) and
 * returns it with x ascending, as the Spectrum contract promises.
 */
export interface RawSeries {
  x: Float64Array;
  y: Float64Array;
  xUnit: XUnit;
  yUnit: string;
  meta: SpectrumMeta;
  /** Line of each point in the source, when known, so errors can point at it. */
  lineOf?: (index: number) => number | undefined;
}

export function finishSeries(series: RawSeries, where: InputLocation): Spectrum {
  const { x, y } = series;
  const n = y.length;
  if (n === 0) throw inputError('too-few-points', 'the spectrum has no data points', where);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(x[i]) || !Number.isFinite(y[i])) {
      const axis = Number.isFinite(x[i]) ? 'y' : 'x';
      throw inputError('non-finite', `${axis} of point ${i} is ${String(axis === 'x' ? x[i] : y[i])}`, {
        ...where,
        line: series.lineOf?.(i) ?? where.line,
        index: i,
      });
    }
  }
  let direction = 0;
  for (let i = 1; i < n; i++) {
    const step = Math.sign(x[i] - x[i - 1]);
    if (step === 0 || (direction !== 0 && step !== direction)) {
      const what = step === 0 ? `repeats x = ${x[i]}` : `turns back at x = ${x[i]} after ${x[i - 1]}`;
      throw inputError('non-monotonic-x', `x must be strictly increasing or decreasing; point ${i} ${what}`, {
        ...where,
        line: series.lineOf?.(i) ?? where.line,
        index: i,
      });
    }
    direction = step;
  }
  if (direction < 0) {
    x.reverse();
    y.reverse();
  }
  // The arrays are fresh from the reader, so they are handed over without the copy createSpectrum would make.
  return { x, y, xUnit: series.xUnit, yUnit: series.yUnit, meta: series.meta };
}
