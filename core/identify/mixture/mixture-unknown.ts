import { mulberry32 } from '../knn/calibration.ts';
import { SpectrumInputError } from '../../errors.ts';
import { profileMixtureSearch, ReferenceProfiles, REFINE_SWAPS } from './mixture-spectral.ts';
import { ClassTemplates } from './mixture-templates.ts';

/**
 * "When a mixture leaves a residual that no library class explains, say so" (issue 4). The reconstruction search
 * reports the share of the query's signal that no fitted component comes near (SpectralFit.unexplained); a mixture
 * holds an unknown component when that share is larger than mixtures of library classes leave. The threshold is the
 * (1 - rate) quantile over mixtures synthesized from the library alone, each searched with its true component count.
 *
 * What the synthesized mixtures are made of decides whether the threshold fits the queries. A query component is the
 * class's spectrum moved as a whole, with its own peak heights; the library knows the class only through its template,
 * an estimate from finite references. So (source 'templates', the default) each component is the class's template with
 * each peak's height moved by the spread the references show peak by peak (estimateHeightSpread), moved as a whole by
 * the search's largest shift either way, at a random weight; and the mixture is searched in a twin of the library
 * whose templates are estimated again from each class's reference mean plus one draw of that mean's noise (the
 * difference of two random halves of its references, scaled to the whole mean's spread). The clean template then
 * stands for the class, the twin's templates for the library's estimates of it.
 * Source 'references' (the previous calibration) sums one random reference per class: right when queries are measured
 * like the references, but on the benchmark the references move every peak by up to +-50 points, so they leave 0.14-
 * 0.18 of their signal unexplained at the median against 0.03 for the test spectra, and its threshold (0.33) flagged
 * only 41 / 11 / 1 % of mixtures with an absent component at 2 / 3 / 4 components (docs/RESULTS-MIXTURES.md).
 */

export interface UnexplainedCalibrationOptions {
  /** Mixtures synthesized (default 200: the 99th percentile of 120 moved by 0.01-0.015 from seed to seed). */
  readonly mixtures?: number;
  /** Largest component count synthesized (default 5; the counts cycle from 2). */
  readonly maxComponents?: number;
  /** Share of library mixtures allowed to be called incomplete (default 0.01). */
  readonly rate?: number;
  /**
   * The threshold is the (1 - rate) quantile of the synthesized shares times 1 + margin (default 0.25 with source
   * 'templates', 0 with 'references'). Measured on the benchmark (100 classes, 50 references each): the draws' 99th
   * percentile is 0.051-0.060 from seed to seed, the test mixtures' of library classes 0.049-0.058 from one set of
   * component counts to another (max 0.074), and mixtures with an absent class leave 0.095 or more at their 5th
   * percentile at 4 components: a quarter more keeps a seed's low draw from flagging more than the rate, at no cost.
   */
  readonly margin?: number;
  readonly seed?: number;
  /** What the synthesized mixtures are made of: 'templates' (default, query-like) or 'references' (see above). */
  readonly source?: 'templates' | 'references';
  /** Per-peak height spread of a component, in units of its tallest peak (default: estimateHeightSpread). */
  readonly heightSpread?: number;
  /** Single components drawn after the mixtures, for the count decision's gain (default 50). */
  readonly singles?: number;
  /** Further single components drawn for the open-set bar (singleThreshold) alone (default 150). */
  readonly openSetSingles?: number;
}

export interface UnexplainedCalibration {
  /** A mixture fit leaving more than this share unexplained holds an unknown component. */
  readonly threshold: number;
  /** The synthesized mixtures' unexplained shares, ascending (for reports). */
  readonly shares: readonly number[];
  readonly source?: 'templates' | 'references';
  /** The per-peak height spread the components were drawn with (source 'templates'). */
  readonly heightSpread?: number;
  /**
   * A component added to a fit must lower the unexplained share by more than this to count (mixture-count.ts): the
   * same quantile and margin over what one component too many lowers it by in the synthesized mixtures and singles.
   */
  readonly componentGain?: number;
  /** Those spurious gains, ascending. */
  readonly gains?: readonly number[];
  /**
   * The same quantile (no margin) over the unexplained shares of the synthesized single compounds fitted with one
   * component: a spectrum that its named class (or a mixture its members) explains worse than this is no spectrum of
   * them (open-set.ts). Absent when no singles were drawn.
   */
  readonly singleThreshold?: number;
  /** Those single shares, ascending. */
  readonly singleShares?: readonly number[];
  /**
   * For the count decision (mixture-count.ts): the (1 - rate) quantile of the unexplained share over the synthesized
   * mixtures and singles whose search found exactly the drawn classes, without the margin. A draw the search got wrong
   * leaves signal unexplained because a member is wrong, not because one is missing; counted in (as in threshold) those
   * failures set the quantile: with 20 references a class 14 % of the draws, and a threshold of 0.21 against the 0.04-0.08
   * that right fits of validation mixtures leave, which stopped most 4-component mixtures at 3.
   */
  readonly countThreshold?: number;
  /** Likewise: the quantile of the spurious gains of draws whose search at their true count was right. */
  readonly countGain?: number;
  /**
   * For the count decision (mixture-count.ts): the rate quantile from below of the weakest member's support
   * (SpectralFit.support) over the synthesized mixtures whose search found exactly the drawn classes. A mixture with a
   * member under it claims a peak the query lacks.
   */
  readonly supportCut?: number;
}

export function calibrateUnexplained(index: ReferenceProfiles, options: UnexplainedCalibrationOptions = {}): UnexplainedCalibration {
  const steps = calibrationSteps(index, options);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * The calibration one synthesized mixture at a time (each is a full mixture search), so a caller can yield between;
 * with source 'templates' the height-spread estimate is one more step before them.
 */
function* calibrationSteps(index: ReferenceProfiles, options: UnexplainedCalibrationOptions): Generator<void, UnexplainedCalibration> {
  const count = options.mixtures ?? 200;
  const rate = options.rate ?? 0.01;
  const source = options.source ?? 'templates';
  const maxComponents = Math.min(options.maxComponents ?? 5, index.classCount);
  if (!(Number.isInteger(count) && count >= 1) || !(Number.isInteger(options.singles ?? 0) && (options.singles ?? 0) >= 0) || !(rate >= 0 && rate < 1) || (source !== 'templates' && source !== 'references')) {
    throw new SpectrumInputError('bad-calibration-options', `unexplained calibration needs mixtures >= 1, singles >= 0, 0 <= rate < 1 and source 'templates' or 'references', got ${count}, ${String(options.singles)}, ${rate}, ${String(source)}`);
  }
  if (options.heightSpread !== undefined && !(options.heightSpread >= 0 && options.heightSpread < 1)) {
    throw new SpectrumInputError('bad-calibration-options', `heightSpread must be in [0, 1), got ${options.heightSpread}`);
  }
  const margin = options.margin ?? (source === 'templates' ? 0.25 : 0);
  if (!(margin >= 0 && margin <= 10)) throw new SpectrumInputError('bad-calibration-options', `margin must be in [0, 10], got ${margin}`);
  if (maxComponents < 2) throw new SpectrumInputError('library-too-small', `a mixture needs 2 classes, the library has ${index.classCount}`);
  const rng = mulberry32(options.seed ?? 1);
  const dim = index.dim;
  let component: (c: number, out: Float64Array) => void;
  let heightSpread: number | undefined;
  // What the drawn mixtures are searched in: the library itself, or (source 'templates') its re-estimated twin.
  let searched: { index: ReferenceProfiles; templates?: ClassTemplates } = { index };
  if (source === 'references') {
    component = (c, out) => {
      const block = index.referencesOf(c);
      const r = Math.floor(rng() * (block.length / dim));
      for (let j = 0; j < dim; j++) out[j] += block[r * dim + j];
    };
  } else {
    const templates = index.templates();
    const spread = options.heightSpread ?? estimateHeightSpread(index, templates);
    heightSpread = spread;
    yield;
    // The twin library: per class, the reference mean the template accounts for plus one draw of that mean's noise,
    // deconvolved like the library's own templates. Searching clean templates against it has the mismatch a query
    // (the class itself) has against the library's templates (an estimate from finite references); putting the
    // noise on the query side instead doubled the noise in the query and overshot it with 20 references a class.
    const twin = new ReferenceProfiles(index.points, index.spec);
    for (let c = 0; c < index.classCount; c++) {
      const mean = templates.blurredBack(c);
      const noise = halfSplitNoise(index.referencesOf(c), dim, rng);
      twin.addProfiles(index.classNames()[c], Float32Array.from(mean, (v, j) => Math.max(0, v + noise[j])), 1);
      if (c % 25 === 24) yield;
    }
    searched = { index: twin, templates: new ClassTemplates(twin, templates.options) };
    component = (c, out) => queryLikeComponent(templates, c, spread, rng, out);
  }
  const fitOf = (profile: Float64Array, m: number) =>
    profileMixtureSearch(searched.index, profile, m, { refine: REFINE_SWAPS, ...(searched.templates ? { templates: searched.templates } : {}) });
  const search = (profile: Float64Array, m: number) => fitOf(profile, m).unexplained;
  const shares: number[] = [];
  const gains: number[] = [];
  // The same, of the draws whose search found exactly the drawn classes (see countThreshold).
  const rightShares: number[] = [];
  const rightGains: number[] = [];
  const rightSupports: number[] = [];
  const record = (profile: Float64Array, classes: ReadonlySet<number>) => {
    const fit = fitOf(profile, classes.size);
    const before = gains.length;
    spurious(profile, classes.size, fit.unexplained);
    if (fit.classIndices.length === classes.size && fit.classIndices.every((c) => classes.has(c))) {
      rightShares.push(fit.unexplained);
      if (classes.size >= 2) rightSupports.push(Math.min(...fit.support));
      if (gains.length > before) rightGains.push(gains[gains.length - 1]);
    }
    return fit.unexplained;
  };
  // One more component than a drawn mixture holds can only fit what the templates miss: how much that lowers the
  // unexplained share is the null of the count decision (mixture-count.ts). Searched after the shares are drawn, so
  // the threshold does not depend on it.
  // Not past maxComponents: no count decision goes there, and those are the costliest searches.
  const spurious = (profile: Float64Array, m: number, share: number) => {
    if (m + 1 <= maxComponents) gains.push(share - search(profile, m + 1));
  };
  for (let t = 0; t < count; t++) {
    const m = 2 + (t % (maxComponents - 1));
    const classes = new Set<number>();
    while (classes.size < m) classes.add(Math.floor(rng() * index.classCount));
    const profile = new Float64Array(dim);
    for (const c of classes) component(c, profile);
    shares.push(record(profile, classes));
    yield;
  }
  // Single components too: a spectrum of one library class is what the count decision sees most.
  const singles = options.singles ?? 50;
  const singleShares: number[] = [];
  for (let t = 0; t < singles; t++) {
    const profile = new Float64Array(dim);
    const c = Math.floor(rng() * index.classCount);
    component(c, profile);
    singleShares.push(record(profile, new Set([c])));
    yield;
  }
  // More singles for the open-set bar alone (no count-decision search, so componentGain is as before): one
  // component each, a few ms.
  for (let t = 0; t < (options.openSetSingles ?? 150); t++) {
    const profile = new Float64Array(dim);
    component(Math.floor(rng() * index.classCount), profile);
    singleShares.push(search(profile, 1));
    if (t % 10 === 9) yield;
  }
  const quantile = (xs: number[]) => {
    xs.sort((a, b) => a - b);
    return xs.length ? xs[Math.max(0, Math.min(xs.length - 1, Math.ceil((1 - rate) * xs.length) - 1))] : 0;
  };
  const threshold = quantile(shares) * (1 + margin);
  const componentGain = quantile(gains) * (1 + margin);
  // What one library compound leaves unexplained when fitted alone (open-set.ts): the bar for naming any spectrum.
  // No margin: the draws are moved to the ends of the search's shifts, a worse case than queries (on the benchmark's
  // test-like validation spectra, 20 references a class: their 99th percentile 0.095, the draws' 0.11).
  const singleThreshold = singleShares.length ? quantile(singleShares) : undefined;
  const countThreshold = rightShares.length ? quantile(rightShares) : threshold;
  const countGain = rightGains.length ? quantile(rightGains) : componentGain;
  const supportCut = rightSupports.length ? -quantile(rightSupports.map((v) => -v)) : undefined;
  return {
    threshold,
    shares,
    componentGain,
    gains,
    countThreshold,
    countGain,
    ...(supportCut === undefined ? {} : { supportCut }),
    source,
    singleShares,
    ...(singleThreshold === undefined ? {} : { singleThreshold }),
    ...(heightSpread === undefined ? {} : { heightSpread }),
  };
}

/** Adds one query-like draw of class c to out (see the module comment), scaled to a random weight in [0.5, 1.5). */
function queryLikeComponent(templates: ClassTemplates, c: number, heightSpread: number, rng: () => number, out: Float64Array): void {
  const dim = templates.dim;
  const drawn = Float64Array.from(templates.of(c).values);
  let max = 0;
  for (const v of drawn) max = Math.max(max, v);
  if (!(max > 0)) return;
  for (const r of peakRegions(drawn)) {
    const factor = Math.max(0, 1 + (heightSpread * (2 * rng() - 1) * max) / r.top);
    for (let j = r.from; j < r.to; j++) drawn[j] *= factor;
  }
  // Moved as far as the search's shifts reach, either way: the largest whole move a query can make and still be
  // fitted. Measured on the benchmark (100 classes, 120 mixtures, 4 seeds): uniform moves within the range gave
  // thresholds of 0.040-0.055, moves to the ends 0.050-0.053 (part-bin moves, interpolated, are smoother than a
  // query and leave less unexplained), against 0.049-0.058 at the 99th percentile of the test mixtures.
  const shift = (rng() < 0.5 ? -1 : 1) * templates.shifts;
  const weight = (0.5 + rng()) / max;
  for (let j = 0; j < dim; j++) {
    const from = j - shift;
    if (from >= 0 && from < dim) out[j] += weight * drawn[from];
  }
}

/**
 * The noise of a class's reference mean, one draw: the difference of the means of two random halves of its
 * references, scaled so its spread is the whole mean's (for halves of n/2: one half of the difference). Zero for a
 * class of one reference (no second estimate to compare with).
 */
function halfSplitNoise(block: Float32Array, dim: number, rng: () => number): Float64Array {
  const n = block.length / dim;
  const noise = new Float64Array(dim);
  if (n < 2) return noise;
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const nA = n >> 1;
  const nB = n - nA;
  // var(meanA - meanB) = s^2 (1/nA + 1/nB); the whole mean's is s^2 / n.
  const scale = Math.sqrt(1 / n / (1 / nA + 1 / nB));
  for (let k = 0; k < n; k++) {
    const w = (k < nA ? 1 / nA : -1 / nB) * scale;
    const r = order[k];
    for (let j = 0; j < dim; j++) noise[j] += w * block[r * dim + j];
  }
  return noise;
}

interface PeakRegion {
  readonly from: number;
  readonly to: number;
  /** The peak's height. */
  readonly top: number;
  readonly at: number;
}

/** The peaks of a profile (local maxima above 5 % of its maximum), each with its bins up to the minima between them. */
export function peakRegions(x: ArrayLike<number>): PeakRegion[] {
  const n = x.length;
  let max = 0;
  for (let j = 0; j < n; j++) max = Math.max(max, x[j]);
  const peaks: number[] = [];
  for (let j = 0; j < n; j++) {
    if (x[j] > 0.05 * max && (j === 0 || x[j] >= x[j - 1]) && (j === n - 1 || x[j] > x[j + 1])) peaks.push(j);
  }
  const out: PeakRegion[] = [];
  let from = 0;
  peaks.forEach((p, k) => {
    let to = n;
    if (k + 1 < peaks.length) {
      to = p;
      for (let j = p; j <= peaks[k + 1]; j++) if (x[j] < x[to]) to = j;
      to = Math.max(to, p + 1);
    }
    out.push({ from, to, top: x[p], at: p });
    from = to;
  });
  return out;
}

/**
 * How much a class's peak heights vary from reference to reference, in units of its tallest peak (the spread of a
 * uniform +-a, a = sqrt 3 sd): per class (up to maxClasses, evenly spread, with at least 3 references), each template
 * peak with no other peak within twice the jitter box plus 2 bins (a jittered neighbour would move into its window),
 * its height in each reference (the reference's maximum within the jitter box around it) over the reference's area;
 * the median over those peaks of sqrt 3 sd over the references, over the class's mean height of its tallest peak.
 * 0 when no peak qualifies.
 */
export function estimateHeightSpread(index: ReferenceProfiles, templates: ClassTemplates, maxClasses = 48): number {
  const dim = index.dim;
  const J = Math.ceil(templates.jitterBins);
  const spreads: number[] = [];
  const step = Math.max(1, Math.floor(index.classCount / maxClasses));
  for (let c = 0; c < index.classCount; c += step) {
    const block = index.referencesOf(c);
    const n = block.length / dim;
    if (n < 3) continue;
    const peaks = peakRegions(templates.of(c).values);
    if (!peaks.length) continue;
    const tallest = peaks.reduce((a, b) => (b.top > a.top ? b : a));
    const areas = Float64Array.from({ length: n }, (_, r) => {
      let s = 0;
      for (let j = 0; j < dim; j++) s += block[r * dim + j];
      return s;
    });
    const heightsAt = (p: number) =>
      Float64Array.from({ length: n }, (_, r) => {
        let h = 0;
        for (let j = Math.max(0, p - J); j <= Math.min(dim - 1, p + J); j++) h = Math.max(h, block[r * dim + j]);
        return areas[r] > 0 ? h / areas[r] : 0;
      });
    const meanOf = (xs: Float64Array) => xs.reduce((s, v) => s + v, 0) / xs.length;
    const unit = meanOf(heightsAt(tallest.at));
    if (!(unit > 0)) continue;
    for (const p of peaks) {
      if (peaks.some((o) => o !== p && Math.abs(o.at - p.at) <= 2 * J + 2)) continue;
      const h = heightsAt(p.at);
      const mean = meanOf(h);
      const sd = Math.sqrt(h.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1));
      spreads.push((Math.sqrt(3) * sd) / unit);
    }
  }
  if (!spreads.length) return 0;
  spreads.sort((a, b) => a - b);
  return Math.min(0.5, spreads[spreads.length >> 1]);
}

const cache = new WeakMap<Float32Array, UnexplainedCalibration>();

/** calibrateUnexplained with the defaults, once per state of the index (keyed by its current unitMeans array). */
export function unexplainedCalibrationFor(index: ReferenceProfiles): UnexplainedCalibration {
  const key = index.unitMeans();
  let cal = cache.get(key);
  if (!cal) {
    cal = calibrateUnexplained(index);
    cache.set(key, cal);
  }
  return cal;
}

/**
 * unexplainedCalibrationFor, awaiting `pause` after each step (each synthesized mixture, and the height-spread
 * estimate before them): the daemon prepares a new library state with it while identification goes on (120
 * searches at once held its event loop 1.2-1.9 s at 200 classes).
 */
export async function unexplainedCalibrationInSteps(index: ReferenceProfiles, pause: () => Promise<void>): Promise<UnexplainedCalibration> {
  const key = index.unitMeans();
  const cached = cache.get(key);
  if (cached) return cached;
  const steps = calibrationSteps(index, {});
  pending.add(key);
  try {
    for (;;) {
      const step = steps.next();
      if (step.done) {
        cache.set(key, step.value);
        return step.value;
      }
      await pause();
    }
  } finally {
    pending.delete(key);
  }
}

const pending = new WeakSet<Float32Array>();

/**
 * unexplainedCalibrationFor, except while unexplainedCalibrationInSteps is making it (the daemon, in the background
 * after a library change): undefined then, so a caller that can do without (the open-set gate's spectral half) does
 * not make a second copy on the spot.
 */
export function unexplainedCalibrationUnlessPending(index: ReferenceProfiles): UnexplainedCalibration | undefined {
  const key = index.unitMeans();
  return cache.get(key) ?? (pending.has(key) ? undefined : unexplainedCalibrationFor(index));
}
