import { xyEquallySpaced, xyInterpolateLinear } from 'ml-spectra-processing';
import type { InputGrid } from '../encoder/types.ts';
import { SpectrumInputError } from '../errors.ts';
import type { Spectrum } from '../spectrum.ts';
import { checkGrid, gridX, isUnknownXUnit } from './grid.ts';
import { PREPROCESS_DEFAULTS, type ResampleMethod } from './types.ts';
import { whereOf } from './validate.ts';
import { convertXUnit } from './x-units.ts';

export interface ResampleOptions {
  resample?: ResampleMethod;
  minOverlap?: number;
  acceptUnknownXUnit?: boolean;
}

/** Grid points closer than this fraction of a step to the measured range's ends count as inside it. */
const EDGE_TOLERANCE = 1e-9;

/**
 * Resamples a validated spectrum (ascending x) onto the grid points inside its measured range. The result's x are
 * those grid points and its unit the grid's; padToGrid later fills the rest of the grid with 0. Rejects a spectrum
 * in another x unit and one that covers less than minOverlap of the grid's range.
 */
export function resampleToGrid(input: Spectrum, grid: InputGrid, opts: ResampleOptions = {}): Spectrum {
  checkGrid(grid);
  const method = opts.resample ?? PREPROCESS_DEFAULTS.resample;
  // On a physical grid an uncovered part is masked (zeros the spectral match leaves out), so less coverage still
  // carries an answer; the benchmark's index grid keeps its stricter default.
  const minOverlap = opts.minOverlap ?? (grid.xUnit === 'index' ? PREPROCESS_DEFAULTS.minOverlap : PREPROCESS_DEFAULTS.minOverlapPhysical);
  const acceptUnknown = opts.acceptUnknownXUnit ?? PREPROCESS_DEFAULTS.acceptUnknownXUnit;
  const unknownUnit = isUnknownXUnit(input.xUnit);
  // A physical unit that converts to the grid's (um or nm to cm-1, absolute to Raman shift) is converted first.
  const converted = unknownUnit ? (acceptUnknown ? input : null) : convertXUnit(input, grid.xUnit);
  if (!converted) {
    const convertible = unknownUnit ? '' : `, and ${input.xUnit} does not convert to ${grid.xUnit}`;
    throw new SpectrumInputError(
      'x-unit-mismatch',
      `the spectrum's x axis is in ${input.xUnit || '(no unit)'} but the model expects ${grid.xUnit}${convertible}`,
      whereOf(input, { field: 'x' }),
    );
  }
  const spectrum = converted;
  const { x, y } = spectrum;
  const first = x[0];
  const last = x[x.length - 1];
  const span = grid.xEnd - grid.xStart;
  const lo = Math.max(first, grid.xStart);
  const hi = Math.min(last, grid.xEnd);
  const overlap = hi > lo ? (hi - lo) / span : 0;
  const step = span / (grid.points - 1);
  const iFrom = Math.max(0, Math.ceil((lo - grid.xStart) / step - EDGE_TOLERANCE));
  const iTo = Math.min(grid.points - 1, Math.floor((hi - grid.xStart) / step + EDGE_TOLERANCE));
  if (overlap < minOverlap || iTo - iFrom < 1) {
    throw new SpectrumInputError(
      'insufficient-overlap',
      `the spectrum spans ${first}..${last} ${spectrum.xUnit}, covering ${(overlap * 100).toFixed(1)} % of the model's range ` +
        `${grid.xStart}..${grid.xEnd} ${grid.xUnit}; at least ${(minOverlap * 100).toFixed(1)} % is needed to carry an answer (a partly covered range is used with the rest masked)`,
      whereOf(spectrum, { field: 'x' }),
    );
  }
  const targets = gridX(grid).subarray(iFrom, iTo + 1);
  const pointsPerStep = ((x.length - 1) / (last - first)) * step;
  const smooth = method === 'smooth' || (method === 'auto' && pointsPerStep >= 2);
  const values = smooth
    ? xyEquallySpaced({ x, y }, { from: targets[0], to: targets[targets.length - 1], numberOfPoints: targets.length, variant: 'smooth' }).y
    : xyInterpolateLinear({ x, y }, targets);
  return { ...spectrum, x: targets.slice(), y: values instanceof Float64Array ? values : Float64Array.from(values), xUnit: grid.xUnit };
}

/** Places a spectrum whose x are grid points onto the whole grid, 0 where it was not measured. */
export function padToGrid(spectrum: Spectrum, grid: InputGrid): Spectrum {
  checkGrid(grid);
  const step = (grid.xEnd - grid.xStart) / (grid.points - 1);
  const y = new Float64Array(grid.points);
  for (let i = 0; i < spectrum.x.length; i++) {
    const at = (spectrum.x[i] - grid.xStart) / step;
    const index = Math.round(at);
    if (Math.abs(at - index) > 1e-6 || index < 0 || index >= grid.points) {
      throw new RangeError(`padToGrid: x ${spectrum.x[i]} is not a point of the grid`);
    }
    y[index] = spectrum.y[i];
  }
  return { ...spectrum, x: gridX(grid), y, xUnit: grid.xUnit };
}
