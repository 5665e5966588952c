import type { InputGrid } from '../encoder/types.ts';

/** The x value of every grid point (xStart + i * step). */
export function gridX(grid: InputGrid): Float64Array {
  checkGrid(grid);
  const step = (grid.xEnd - grid.xStart) / (grid.points - 1);
  const x = new Float64Array(grid.points);
  for (let i = 0; i < x.length; i++) x[i] = grid.xStart + i * step;
  return x;
}

/** A grid comes from a model card, not from input: a malformed one is a programming error. */
export function checkGrid(grid: InputGrid): void {
  if (!Number.isInteger(grid.points) || grid.points < 2 || !Number.isFinite(grid.xStart) || !Number.isFinite(grid.xEnd) || !(grid.xEnd > grid.xStart)) {
    throw new RangeError(`invalid input grid: ${JSON.stringify(grid)} (need points >= 2 and xStart < xEnd)`);
  }
}

/** Units that say nothing about the axis: treated as compatible with any grid unless configured otherwise. */
export function isUnknownXUnit(unit: string): boolean {
  return unit === '' || unit === 'other' || unit === 'unknown' || unit === 'arbitrary';
}
