/**
 * The spectral hit-quality index (HQI) of library search, as KnowItAll / OMNIC users know it: the Pearson
 * correlation of the query and a reference on a common grid, after baseline removal and an intensity transform that
 * suits the technique. Real spectra of one compound differ by baseline (fluorescence, scattering), a few cm-1 of
 * calibration shift, relative band heights and range, so a view removes the baseline, a transform tames band
 * heights (square root) or stresses band shapes (first derivative), the correlation runs over the range both
 * spectra cover only and tolerates a small shift. Pure functions over spectra already on one grid (a model's input
 * grid or a technique's match grid, see core/preprocess/grids.ts); uncovered points are 0 at the grid's ends.
 */

export type MatchBaseline = 'none' | 'rollingMin';
export type MatchTransform = 'none' | 'sqrt' | 'derivative';

/** One way of looking at a spectrum for matching. */
export interface MatchViewOptions {
  /** Baseline removal: a rolling minimum (morphological opening, smoothed) under the spectrum; default rollingMin. */
  readonly baseline?: MatchBaseline;
  /** Width of the rolling minimum in grid points; wider than a band, narrower than the baseline's curvature. */
  readonly baselineWindow?: number;
  /** Intensity transform after baseline removal; default none. */
  readonly transform?: MatchTransform;
  /** Exponent of the 'sqrt' transform (0.5 is the square root; smaller tames strong bands more). */
  readonly power?: number;
  /** Moving-average smoothing (points, odd) before a derivative; default 5. */
  readonly smooth?: number;
  /** Moving-average smoothing (points, odd) of the baseline-removed spectrum before any transform; default none. */
  readonly blur?: number;
}

/** How views are compared. */
export interface MatchOptions {
  /** The views whose correlations are averaged (complementary views can beat each alone). */
  readonly views: readonly MatchViewOptions[];
  /** Largest shift tried, in grid points (best correlation over -maxShift..maxShift); default 0. */
  readonly maxShift?: number;
  /** Fewest grid points both spectra must cover for a correlation; below it the score is -1. Default 32. */
  readonly minOverlapPoints?: number;
}

/** A spectrum as one view sees it: zero-mean and unit-norm over its covered range [from, to], 0 elsewhere. */
export interface MatchView {
  readonly values: Float32Array;
  readonly from: number;
  readonly to: number;
}

/** A spectrum's views for a MatchOptions, built once per reference and library state. */
export interface MatchProfile {
  readonly views: readonly MatchView[];
}

/** Index range the measurement covers: the grid's leading and trailing exact zeros are "not measured". */
export function coveredRange(y: ArrayLike<number>): { from: number; to: number } {
  let from = 0;
  while (from < y.length && y[from] === 0) from++;
  let to = y.length - 1;
  while (to > from && y[to] === 0) to--;
  return { from, to };
}

/** Rolling minimum followed by a rolling maximum of the same width (an opening) and a moving average of it. */
export function rollingMinBaseline(y: ArrayLike<number>, window: number): Float64Array {
  const half = Math.max(1, Math.floor(window / 2));
  const eroded = slidingExtreme(y, half, Math.min);
  const opened = slidingExtreme(eroded, half, Math.max);
  return movingAverage(opened, half);
}

/** Sliding min or max over i-half..i+half (monotone deque, O(n)). */
function slidingExtreme(y: ArrayLike<number>, half: number, pick: (a: number, b: number) => number): Float64Array {
  const n = y.length;
  const out = new Float64Array(n);
  const isMin = pick(0, 1) === 0;
  const deque = new Int32Array(n);
  let head = 0;
  let tail = 0;
  let next = 0;
  for (let i = 0; i < n; i++) {
    const right = Math.min(n - 1, i + half);
    while (next <= right) {
      while (tail > head && (isMin ? y[deque[tail - 1]] >= y[next] : y[deque[tail - 1]] <= y[next])) tail--;
      deque[tail++] = next++;
    }
    while (deque[head] < i - half) head++;
    out[i] = y[deque[head]];
  }
  return out;
}

function movingAverage(y: ArrayLike<number>, half: number): Float64Array {
  const n = y.length;
  const prefix = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) prefix[i + 1] = prefix[i] + y[i];
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const lo = Math.max(0, i - half);
    const hi = Math.min(n - 1, i + half);
    out[i] = (prefix[hi + 1] - prefix[lo]) / (hi - lo + 1);
  }
  return out;
}

/** One view of an on-grid spectrum (see MatchViewOptions); the covered range is found from the zeros at its ends. */
export function matchView(spectrum: ArrayLike<number>, options: MatchViewOptions = {}): MatchView {
  const { from, to } = coveredRange(spectrum);
  const points = spectrum.length;
  const values = new Float32Array(points);
  if (to - from < 2) return { values, from, to };
  let y: Float64Array = Float64Array.from({ length: to - from + 1 }, (_, i) => spectrum[from + i]);
  if ((options.baseline ?? 'rollingMin') === 'rollingMin') {
    const base = rollingMinBaseline(y, options.baselineWindow ?? 100);
    y = y.map((v, i) => v - base[i]);
  }
  if (options.blur && options.blur > 1) y = movingAverage(y, Math.floor(options.blur / 2));
  const transform = options.transform ?? 'none';
  if (transform === 'sqrt') {
    const power = options.power ?? 0.5;
    y = y.map((v) => Math.max(0, v) ** power);
  } else if (transform === 'derivative') {
    const smoothed = movingAverage(y, Math.floor((options.smooth ?? 5) / 2));
    y = smoothed.map((_, i) => (smoothed[Math.min(y.length - 1, i + 1)] - smoothed[Math.max(0, i - 1)]) / 2);
  }
  let mean = 0;
  for (const v of y) mean += v;
  mean /= y.length;
  let norm = 0;
  for (const v of y) norm += (v - mean) ** 2;
  norm = Math.sqrt(norm);
  if (norm > 0) for (let i = 0; i < y.length; i++) values[from + i] = (y[i] - mean) / norm;
  return { values, from, to };
}

/** Every view of one spectrum. */
export function matchProfile(spectrum: ArrayLike<number>, options: MatchOptions): MatchProfile {
  return { views: options.views.map((v) => matchView(spectrum, v)) };
}

/**
 * Pearson correlation of two views over the range both cover, the reference moved by `shift` points (query[i] against
 * reference[i + shift]). Exact over the overlap (the views are re-centred there), -1 below minOverlap points.
 */
export function viewCorrelation(query: MatchView, reference: MatchView, shift = 0, minOverlap = 32): number {
  const from = Math.max(query.from, reference.from - shift);
  const to = Math.min(query.to, reference.to - shift);
  const n = to - from + 1;
  if (n < minOverlap) return -1;
  const a = query.values;
  const b = reference.values;
  let sa = 0;
  let sb = 0;
  let saa = 0;
  let sbb = 0;
  let sab = 0;
  for (let i = from; i <= to; i++) {
    const x = a[i];
    const y = b[i + shift];
    sa += x;
    sb += y;
    saa += x * x;
    sbb += y * y;
    sab += x * y;
  }
  const va = saa - (sa * sa) / n;
  const vb = sbb - (sb * sb) / n;
  if (!(va > 0) || !(vb > 0)) return -1;
  return (sab - (sa * sb) / n) / Math.sqrt(va * vb);
}

/**
 * The hit-quality index of a query against one reference: the mean over views of each view's correlation, at the
 * shift (one for all views) that maximises it, in [-1, 1].
 */
export function hitQuality(query: MatchProfile, reference: MatchProfile, options: Pick<MatchOptions, 'maxShift' | 'minOverlapPoints'> = {}): number {
  const maxShift = options.maxShift ?? 0;
  const minOverlap = options.minOverlapPoints ?? 32;
  let best = -1;
  for (let s = -maxShift; s <= maxShift; s++) {
    let sum = 0;
    for (let v = 0; v < query.views.length; v++) sum += viewCorrelation(query.views[v], reference.views[v], s, minOverlap);
    best = Math.max(best, sum / query.views.length);
  }
  return best;
}
