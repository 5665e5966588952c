import { gaussianKernel } from '../../math/gaussian-kernel.ts';
import { SpectrumInputError } from '../../errors.ts';
import type { ProfileDictionary } from './profile-dictionary.ts';

/**
 * Per-class spectral templates for the reconstruction search, and the containment screen that shortlists classes
 * for it (issue 4, mixtures on a 500-class library).
 *
 * Why templates: a class's reference spectra each carry their own peak jitter (the benchmark's training spectra move
 * every peak independently by up to +-50 points), so a non-negative combination of a few references fits a query's
 * component only roughly, and with 500 classes a wrong set often fits as well as the true one. The mean of a class's
 * references is its spectrum blurred by that jitter (a box of +-jitter); undoing the box by Richardson-Lucy
 * deconvolution (non-negative by construction) gives a sharp template per class. A query component is then the
 * template moved as a whole by a few bins (the instrument's calibration shift), which the fit covers with one column
 * per shift.
 *
 * Why containment: every component of a mixture lies under the mixture (all parts add, none subtracts). A class whose
 * significant bins all find signal in the query within the allowed displacement scores high; one with a peak where the
 * query is empty scores near 0. Unlike the cosine of mean profiles, it does not dilute as components are added.
 */

export interface TemplateOptions {
  /**
   * Half-width, in points, of the references' own peak jitter that the mean profile is deconvolved by; default:
   * estimated from the library (estimateJitterBins).
   */
  readonly jitter?: number;
  /** Richardson-Lucy iterations (default 100). */
  readonly iterations?: number;
  /** Whole-template shifts fitted each way, in profile bins; default: from the estimated jitter (see the constructor). */
  readonly shifts?: number;
}

export interface ContainmentOptions {
  /** How far, in profile bins, a class's signal may sit from the query's (default 7: jitter 50 + shift 30 points, pool 10, rounded up). */
  readonly window?: number;
  /** Bins of a class's mean profile below this share of its maximum do not count (default 0.1). */
  readonly floor?: number;
}

/** Deconvolved class templates of one ReferenceProfiles, computed per class on first use. */
export class ClassTemplates {
  readonly dim: number;
  readonly shifts: number;
  private readonly index: ProfileDictionary;
  private readonly halfBox: number;
  private readonly kernel: Float64Array;
  private readonly iterations: number;
  private readonly blur: Float64Array;
  private readonly cache: (Template | undefined)[] = [];

  constructor(index: ProfileDictionary, options: TemplateOptions = {}) {
    const estimated = options.jitter === undefined || options.shifts === undefined ? estimateJitterBins(index) : 0;
    const jitter = options.jitter ?? (estimated + JITTER_MARGIN_BINS) * index.spec.pool;
    const iterations = options.iterations ?? 100;
    // A query is one draw of the variation the references span among themselves: let it move by one standard
    // deviation of their jitter (a uniform +-h has sd h / sqrt 3; 3 bins = 30 points on the benchmark, whose test
    // spectra move by exactly 30), and one bin more: a template's peaks sit only near the class's own (the mean of n
    // jittered peaks is off by about h / sqrt(3 n) bins: 0.6 at 20 references), and a query moved by the full 30
    // points then needs 4. Measured on the embedded default (20 references a class, 500 classes, count not given,
    // bench:mixtures-default, 150 validation mixtures each): whole moves of +-30 points 78.7 % exactly right with 3
    // bins, 94.7 % with 4, 94.7 % with 5; moves uniform within +-30: 97.3 / 96.7 % with 3 / 4. (With 50 references
    // and the residual alone deciding, 4 bins had cost 3 points at 4 components, docs/RESULTS-MIXTURES.md.)
    const shifts = options.shifts ?? Math.max(1, Math.ceil(estimated / Math.sqrt(3))) + 1;
    if (!(jitter >= 0) || !(Number.isInteger(iterations) && iterations >= 0) || !(Number.isInteger(shifts) && shifts >= 0)) {
      throw new SpectrumInputError('bad-template-options', `templates need jitter >= 0 and integer iterations, shifts >= 0; got jitter ${jitter}, iterations ${iterations}, shifts ${shifts}`);
    }
    this.index = index;
    this.dim = index.dim;
    this.shifts = shifts;
    this.halfBox = jitter / index.spec.pool;
    this.kernel = jitterKernel(this.halfBox);
    this.iterations = iterations;
    this.blur = index.spec.sigma > 0 ? Float64Array.from(gaussianKernel(index.spec.sigma)) : Float64Array.of(1);
  }

  /** Half-width, in bins (fractional), of the jitter box the templates are deconvolved by. */
  get jitterBins(): number {
    return this.halfBox;
  }

  /**
   * How far a class's mean-profile signal may sit from the query's for the containment screen: the jitter box plus the
   * shifts, less the blur that both profiles already share (7 bins on the benchmark: 5.25 + 3 - 1.5, rounded).
   */
  get containmentWindow(): number {
    return Math.max(0, Math.round(this.halfBox + this.shifts - this.index.spec.sigma));
  }

  /** Columns per class in the fit: one per shift. */
  get columnsPerClass(): number {
    return 2 * this.shifts + 1;
  }

  /** The template of class index c (profile bins, same blur as the query's profile). */
  of(c: number): Template {
    let t = this.cache[c];
    if (!t) {
      t = this.build(c);
      this.cache[c] = t;
    }
    return t;
  }

  /**
   * Template c blurred back by the jitter box: the reference mean it accounts for. The unknown-component calibration
   * (mixture-unknown.ts) adds the noise of that mean to it and deconvolves again: another estimate of the class, as
   * good as the template, with an independent error.
   */
  blurredBack(c: number): Float64Array {
    const t = Float64Array.from(this.of(c).values);
    if (this.kernel.length <= 1) return t;
    const out = new Float64Array(this.dim);
    convolveInto(t, this.kernel, out);
    return out;
  }

  /** The options that rebuild these templates' deconvolution and shifts for another index (without re-estimating). */
  get options(): Required<TemplateOptions> {
    return { jitter: this.halfBox * this.index.spec.pool, iterations: this.iterations, shifts: this.shifts };
  }

  private build(c: number): Template {
    const dim = this.dim;
    const block = this.index.referencesOf(c);
    const count = block.length / dim;
    if (!Number.isInteger(count) || count < 1) throw new SpectrumInputError('library-shape', `class ${c} has no reference profiles`);
    const mean = new Float64Array(dim);
    for (let r = 0; r < count; r++) for (let j = 0; j < dim; j++) mean[j] += block[r * dim + j];
    for (let j = 0; j < dim; j++) mean[j] = Math.max(0, mean[j] / count);
    // The reference profiles already carry the query's blur; deconvolving only the jitter box leaves the template
    // blurred exactly like a query profile. The box is odd so the template stays centred.
    const values = this.kernel.length > 1 && this.iterations > 0 ? richardsonLucy(mean, this.kernel, this.iterations) : mean;
    const bins: number[] = [];
    let max = 0;
    for (const v of values) max = Math.max(max, v);
    let area = 0;
    for (let j = 0; j < dim; j++) {
      area += values[j];
      if (values[j] > 1e-6 * max) bins.push(j);
    }
    const nz = Int32Array.from(bins);
    return { values: Float32Array.from(values), nonzero: nz, nonzeroValues: Float64Array.from(nz, (j) => values[j]), area };
  }
}

export interface Template {
  /** Dense template, dim bins. */
  readonly values: Float32Array;
  /** Bins holding signal (above 1e-6 of the maximum), ascending, and their values: the fit's products skip the rest. */
  readonly nonzero: Int32Array;
  readonly nonzeroValues: Float64Array;
  /** Sum of the values: the signal a unit coefficient carries. */
  readonly area: number;
}

/**
 * Margin, in bins, added to the estimated jitter. Measured on the benchmark (500 classes, 150 mixtures of 4 components,
 * integer boxes): one bin too narrow cost 15 points of accuracy, one bin too wide 3 (the fit's neighbouring shift
 * columns widen a too-sharp template; nothing narrows a too-wide one), so the estimate errs half a bin wide.
 */
const JITTER_MARGIN_BINS = 0.5;

/**
 * The blur that a uniform jitter of +-half bins gives a pooled profile: weight of offset k = overlap of
 * [k - 1/2, k + 1/2] with [-half, half], normalized; a delta for half < 1/2.
 */
export function jitterKernel(half: number): Float64Array {
  const K = Math.max(0, Math.ceil(half - 0.5));
  const k = new Float64Array(2 * K + 1);
  let total = 0;
  for (let i = -K; i <= K; i++) {
    const w = Math.max(0, Math.min(i + 0.5, half) - Math.max(i - 0.5, -half));
    k[i + K] = w;
    total += w;
  }
  if (!(total > 0)) return Float64Array.of(1);
  for (let i = 0; i < k.length; i++) k[i] /= total;
  return k;
}

/**
 * Centred, zero-padded convolution with an odd, symmetric kernel. A jitterKernel (equal inner taps, equal end taps)
 * runs on prefix sums in O(n) whatever its width: the templates' deconvolution and the jitter estimate convolve
 * thousands of times per library.
 */
function convolveInto(x: Float64Array, kernel: Float64Array, out: Float64Array): void {
  const n = x.length;
  const K = (kernel.length - 1) / 2;
  if (K >= 1 && isBoxWithEnds(kernel)) {
    const inner = kernel[K];
    const end = kernel[0];
    let prefix = 0;
    const sums = boxScratch(n + 1);
    sums[0] = 0;
    for (let i = 0; i < n; i++) sums[i + 1] = prefix += x[i];
    for (let i = 0; i < n; i++) {
      const lo = Math.max(0, i - K + 1);
      const hi = Math.min(n, i + K);
      out[i] = inner * (sums[hi] - sums[lo]) + end * ((i - K >= 0 ? x[i - K] : 0) + (i + K < n ? x[i + K] : 0));
    }
    return;
  }
  for (let i = 0; i < n; i++) {
    let s = 0;
    const lo = Math.max(-K, -i);
    const hi = Math.min(K, n - 1 - i);
    for (let t = lo; t <= hi; t++) s += kernel[t + K] * x[i + t];
    out[i] = s;
  }
}

let scratch = new Float64Array(0);
function boxScratch(length: number): Float64Array {
  if (scratch.length < length) scratch = new Float64Array(length);
  return scratch;
}

function isBoxWithEnds(kernel: Float64Array): boolean {
  const K = (kernel.length - 1) / 2;
  for (let i = 1; i < kernel.length - 1; i++) if (Math.abs(kernel[i] - kernel[K]) > 1e-15) return false;
  return Math.abs(kernel[0] - kernel[kernel.length - 1]) <= 1e-15;
}

/** Richardson-Lucy deconvolution by a symmetric kernel: t >= 0 with kernel * t = y, from t = y. */
export function richardsonLucy(y: Float64Array, kernel: Float64Array, iterations: number): Float64Array {
  const n = y.length;
  let t = Float64Array.from(y, (v) => v + 1e-12);
  const blurred = new Float64Array(n);
  const ratio = new Float64Array(n);
  const back = new Float64Array(n);
  for (let it = 0; it < iterations; it++) {
    convolveInto(t, kernel, blurred);
    for (let i = 0; i < n; i++) ratio[i] = blurred[i] > 1e-300 ? y[i] / blurred[i] : 0;
    convolveInto(ratio, kernel, back); // symmetric: the adjoint is the kernel itself
    const next = new Float64Array(n);
    for (let i = 0; i < n; i++) next[i] = t[i] * back[i];
    t = next;
  }
  return t;
}

/**
 * Containment score of every class: area of its mean profile times the largest scale at which every significant bin
 * of that mean stays under the query's local maximum (max over +-window bins). High: the class could be a component.
 */
export function containmentScores(index: ProfileDictionary, profile: ArrayLike<number>, options: ContainmentOptions = {}): Float64Array {
  const window = options.window ?? 7;
  const floor = options.floor ?? 0.1;
  if (!(Number.isInteger(window) && window >= 0) || !(floor >= 0 && floor < 1)) {
    throw new SpectrumInputError('bad-containment-options', `containment needs an integer window >= 0 and 0 <= floor < 1, got window ${window}, floor ${floor}`);
  }
  const dim = index.dim;
  if (profile.length !== dim) throw new SpectrumInputError('query-dim', `profile has ${profile.length} bins, the references have ${dim}`);
  const reach = localMax(profile, window);
  const support = supportOf(index, floor);
  const scores = new Float64Array(index.classCount);
  for (let c = 0; c < index.classCount; c++) {
    const { bins, values, area } = support[c];
    let scale = Infinity;
    for (let k = 0; k < bins.length && scale > 0; k++) scale = Math.min(scale, reach[bins[k]] / values[k]);
    scores[c] = bins.length ? scale * area : 0;
  }
  return scores;
}

/** Classes by containment score, best first. */
export function containmentRanking(index: ProfileDictionary, profile: ArrayLike<number>, options: ContainmentOptions = {}): number[] {
  const scores = containmentScores(index, profile, options);
  return [...scores.keys()].sort((a, b) => scores[b] - scores[a]);
}

function localMax(x: ArrayLike<number>, window: number): Float64Array {
  const n = x.length;
  const out = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let m = 0;
    const hi = Math.min(n - 1, j + window);
    for (let k = Math.max(0, j - window); k <= hi; k++) if (x[k] > m) m = x[k];
    out[j] = m;
  }
  return out;
}

interface Support {
  readonly bins: Int32Array;
  readonly values: Float64Array;
  readonly area: number;
}

const supportCache = new WeakMap<Float32Array, Map<number, Support[]>>();

/** Significant bins of every class's unit mean profile, cached per state of the index (its unitMeans array). */
function supportOf(index: ProfileDictionary, floor: number): Support[] {
  const means = index.unitMeans();
  let byFloor = supportCache.get(means);
  if (!byFloor) {
    byFloor = new Map();
    supportCache.set(means, byFloor);
  }
  const cached = byFloor.get(floor);
  if (cached) return cached;
  const dim = index.dim;
  const out: Support[] = [];
  for (let c = 0; c < index.classCount; c++) {
    const row = means.subarray(c * dim, (c + 1) * dim);
    let max = 0;
    let area = 0;
    for (const v of row) {
      max = Math.max(max, v);
      area += v;
    }
    const bins: number[] = [];
    for (let j = 0; j < dim; j++) if (row[j] > floor * max && row[j] > 0) bins.push(j);
    out.push({ bins: Int32Array.from(bins), values: Float64Array.from(bins, (j) => row[j]), area });
  }
  byFloor.set(floor, out);
  return out;
}

/**
 * Half-width, in profile bins, of the box that the references' peak jitter blurs a class mean with. Per class, the
 * mean profile's autocorrelation at lags 1..4 (normalized by lag 0: the shape of its peaks) is compared with that of
 * a few references each blurred by jitterKernel(h), h = 0..maxBins in quarter bins; the best h per class, and the median
 * over up to maxClasses classes (evenly spread) with at least 3 references (0 when none). The references' own width is measured, not assumed.
 */
export function estimateJitterBins(index: ProfileDictionary, maxBins = 20, maxClasses = 48): number {
  const dim = index.dim;
  const picks: number[] = [];
  const mean = new Float64Array(dim);
  const boxed = new Float64Array(dim);
  const row = new Float64Array(dim);
  const lags = 4;
  // A median needs no more than a few dozen classes: spread evenly over the library.
  const step = Math.max(1, Math.floor(index.classCount / maxClasses));
  for (let c = 0; c < index.classCount; c += step) {
    const block = index.referencesOf(c);
    const count = block.length / dim;
    if (count < 3) continue;
    mean.fill(0);
    for (let i = 0; i < block.length; i++) mean[i % dim] += block[i];
    const target = shapeOf(mean, lags);
    if (!target) continue;
    const probes = Math.min(count, 5);
    let bestH = 0;
    let bestErr = Infinity;
    for (let h = 0; h <= maxBins; h += 0.25) {
      const kernel = jitterKernel(h);
      let err = 0;
      for (let r = 0; r < probes; r++) {
        row.set(block.subarray(r * dim, (r + 1) * dim));
        convolveInto(row, kernel, boxed);
        const shape = shapeOf(boxed, lags);
        if (shape) for (let L = 0; L < lags; L++) err += (shape[L] - target[L]) ** 2;
      }
      if (err < bestErr) [bestErr, bestH] = [err, h];
    }
    picks.push(bestH);
  }
  if (!picks.length) return 0;
  picks.sort((a, b) => a - b);
  return picks[picks.length >> 1];
}

/** Autocorrelation at lags 1..lags over lag 0 (how wide the peaks are); null for an empty profile. */
function shapeOf(x: ArrayLike<number>, lags: number): Float64Array | null {
  const out = new Float64Array(lags);
  let a0 = 0;
  for (let j = 0; j < x.length; j++) a0 += x[j] * x[j];
  if (!(a0 > 0)) return null;
  for (let L = 1; L <= lags; L++) {
    let s = 0;
    for (let j = 0; j + L < x.length; j++) s += x[j] * x[j + L];
    out[L - 1] = s / a0;
  }
  return out;
}
