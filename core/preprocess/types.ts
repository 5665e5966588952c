/**
 * The preprocessing chain as configuration: plain data, so the daemon can validate it (zod) and store it.
 * Steps run in the order listed, on the part of the model grid the spectrum covers; the result is then zero-filled
 * to the whole grid and normalized to max |y| = 1 (the paper's normalization).
 */
export type PreprocessStep = SavitzkyGolayStep | AirPLSStep | RollingBallStep;

/** Savitzky-Golay smoothing (ml-savitzky-golay-generalized); window and order in grid points. */
export interface SavitzkyGolayStep {
  readonly kind: 'savitzkyGolay';
  /** Odd number of grid points, >= 3; default 9. */
  readonly windowSize?: number;
  /** Polynomial order, below windowSize; default 3. */
  readonly polynomial?: number;
}

/** Baseline removal by adaptive iteratively reweighted penalized least squares (ml-airpls; Zhang et al. 2010). */
export interface AirPLSStep {
  readonly kind: 'airPLS';
  /** Smoothness of the baseline: larger follows the data less; default 1000. */
  readonly lambda?: number;
  /** Default 100. */
  readonly maxIterations?: number;
  /** Stop criterion as a fraction of sum |y|; default 0.001. */
  readonly tolerance?: number;
}

/** Baseline removal by rolling ball (ml-rolling-ball-baseline; Kneen & Annegarn 1996); windows in grid points. */
export interface RollingBallStep {
  readonly kind: 'rollingBall';
  /** Window of the min/max passes; default 4 % of the covered points. */
  readonly windowM?: number;
  /** Window of the smoothing pass; default 8 % of the covered points. */
  readonly windowS?: number;
}

export type ResampleMethod = 'auto' | 'linear' | 'smooth';

export interface PreprocessConfig {
  /** Ordered steps between resampling and normalization; none by default. */
  readonly steps?: readonly PreprocessStep[];
  /**
   * How to bring the spectrum onto the grid: 'linear' interpolates at the grid points; 'smooth' averages the
   * spectrum over each grid cell (trapezoid integral / step, xyEquallySpaced), which avoids aliasing when the
   * spectrum is much denser than the grid; 'auto' (default) takes 'smooth' when the spectrum has at least
   * two points per grid step and 'linear' otherwise (so a spectrum already on the grid passes unchanged).
   */
  readonly resample?: ResampleMethod;
  /**
   * Smallest fraction of the grid's x range the spectrum must cover; default 0.5 on an index grid, 0.08 on a
   * physical one (cm-1, nm, ...), where the uncovered part is masked: a far-IR file's 350-700 cm-1 still meets
   * the references over that range.
   */
  readonly minOverlap?: number;
  /** Fewest measured points accepted; default 16. */
  readonly minPoints?: number;
  /**
   * Spectra without a known x unit ('other', '' - e.g. a bare two-column file) are taken to be in the grid's unit
   * when true (default), rejected when false. Known units that differ from the grid's are always rejected.
   */
  readonly acceptUnknownXUnit?: boolean;
}

export const PREPROCESS_DEFAULTS = {
  resample: 'auto',
  minOverlap: 0.5,
  minOverlapPhysical: 0.08,
  minPoints: 16,
  acceptUnknownXUnit: true,
  savitzkyGolay: { windowSize: 9, polynomial: 3 },
  airPLS: { lambda: 1000, maxIterations: 100, tolerance: 0.001 },
  rollingBall: { windowMFraction: 0.04, windowSFraction: 0.08 },
} as const;
