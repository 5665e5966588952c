import { gaussianKernel } from '../../math/gaussian-kernel.ts';
import { SpectrumInputError } from '../../errors.ts';
import { setSimilarity, type MixtureFit } from './mixture.ts';
import { ClassTemplates, containmentRanking, type ContainmentOptions } from './mixture-templates.ts';
import type { ProfileSpec } from './profile-dictionary.ts';
import { accumulateProfile } from './profile.ts';

/**
 * Mixture search in spectral space, by reconstruction (issue 4 allows "non-negative least squares in embedding or
 * spectral space, verification by reconstructing the spectrum from reference spectra"). A mixture spectrum is a
 * non-negative sum of its components' spectra, so it is fitted by NNLS on the INDIVIDUAL reference spectra of a
 * shortlist of classes (pooled and blurred so peaks that moved a few tens of points still overlap; several
 * references of one class together also cover shifted peaks). A class's weight is the signal its references carry
 * in the fit; the m heaviest classes are then verified by refitting the spectrum with them alone and swapping a
 * member for any other shortlisted class while that lowers the residual.
 *
 * Nothing here enumerates combinations: cost is shortlist x references-per-class columns, independent of m's
 * binomial growth.
 */

/** Pool 10 with a 1.5-bin blur: a 15-point sigma covers the benchmark's test shifts (30 points) within two sigmas. */
export const DEFAULT_PROFILE_SPEC: ProfileSpec = { pool: 10, sigma: 1.5 };

export function spectralProfileDim(points: number, spec: ProfileSpec = DEFAULT_PROFILE_SPEC): number {
  return Math.ceil(points / spec.pool);
}

const kernels = new Map<number, Float64Array>();
function kernelFor(sigma: number): Float64Array {
  let k = kernels.get(sigma);
  if (!k) {
    k = sigma > 0 ? Float64Array.from(gaussianKernel(sigma)) : Float64Array.of(1);
    kernels.set(sigma, k);
  }
  return k;
}

/** Pooled, blurred profile of one spectrum written into out (linear: a mixture's profile is the sum of its parts'). */
export function profileInto(spectrum: ArrayLike<number>, out: Float32Array | Float64Array, spec: ProfileSpec = DEFAULT_PROFILE_SPEC): void {
  out.fill(0);
  accumulateProfile(spectrum, out, spec.pool, kernelFor(spec.sigma));
}

/** Per-reference spectral profiles of every class, the dictionary the reconstruction fits with. */
export class ReferenceProfiles {
  readonly points: number;
  readonly spec: ProfileSpec;
  readonly dim: number;
  private readonly names: string[] = [];
  private readonly rows: Float32Array[] = [];
  private meanCache: Float32Array | null = null;
  private templateCache: ClassTemplates | null = null;

  constructor(points: number, spec: ProfileSpec = DEFAULT_PROFILE_SPEC) {
    if (!(Number.isInteger(points) && points > 0)) throw new SpectrumInputError('bad-points', `points must be a positive integer, got ${points}`);
    if (!(Number.isInteger(spec.pool) && spec.pool >= 1) || !(spec.sigma >= 0)) {
      throw new SpectrumInputError('bad-profile-spec', `profile pool must be an integer >= 1 and sigma >= 0, got pool ${spec.pool}, sigma ${spec.sigma}`);
    }
    this.points = points;
    this.spec = spec;
    this.dim = spectralProfileDim(points, spec);
  }

  get classCount(): number {
    return this.names.length;
  }

  classNames(): readonly string[] {
    return this.names;
  }

  /** Adds count reference spectra ([count, points], scaled like the queries) to a class (created when new). */
  add(name: string, spectra: Float32Array, count: number): void {
    if (spectra.length !== count * this.points) {
      throw new SpectrumInputError('library-shape', `class "${name}": ${spectra.length} values is not ${count} spectra of ${this.points} points`);
    }
    const block = new Float32Array(count * this.dim);
    const row = new Float64Array(this.dim);
    for (let r = 0; r < count; r++) {
      profileInto(spectra.subarray(r * this.points, (r + 1) * this.points), row, this.spec);
      block.set(row, r * this.dim);
    }
    this.addProfiles(name, block, count);
  }

  /** Adds count reference profiles already in profile space ([count, dim], this spec) to a class (created when new). */
  addProfiles(name: string, block: Float32Array, count: number): void {
    if (!(Number.isInteger(count) && count >= 0) || block.length !== count * this.dim) {
      throw new SpectrumInputError('library-shape', `class "${name}": ${block.length} values is not ${count} profiles of ${this.dim} bins`);
    }
    const at = this.names.indexOf(name);
    if (at < 0) {
      this.names.push(name);
      this.rows.push(block);
    } else {
      const merged = new Float32Array(this.rows[at].length + block.length);
      merged.set(this.rows[at]);
      merged.set(block, this.rows[at].length);
      this.rows[at] = merged;
    }
    this.meanCache = null;
    this.templateCache = null;
  }

  /** Deconvolved class templates (mixture-templates.ts) with the default options, built per class on first use. */
  templates(): ClassTemplates {
    this.templateCache ??= new ClassTemplates(this);
    return this.templateCache;
  }

  /** Reference profiles of class index c, row-major [references, dim]. */
  referencesOf(c: number): Float32Array {
    return this.rows[c];
  }

  /** Unit-norm mean profile per class, row-major [classes, dim]. */
  unitMeans(): Float32Array {
    if (this.meanCache) return this.meanCache;
    const out = new Float32Array(this.names.length * this.dim);
    this.rows.forEach((block, c) => {
      const mean = out.subarray(c * this.dim, (c + 1) * this.dim);
      for (let i = 0; i < block.length; i++) mean[i % this.dim] += block[i];
      let s = 0;
      for (const v of mean) s += v * v;
      const norm = Math.sqrt(s) || 1;
      for (let j = 0; j < mean.length; j++) mean[j] /= norm;
    });
    this.meanCache = out;
    return out;
  }

  /** The query's profile, same spec. */
  profileOf(spectrum: ArrayLike<number>): Float64Array {
    if (spectrum.length !== this.points) {
      throw new SpectrumInputError('query-points', `spectrum has ${spectrum.length} points, the reference profiles expect ${this.points}`);
    }
    const out = new Float64Array(this.dim);
    profileInto(spectrum, out, this.spec);
    return out;
  }
}

/**
 * Swaps by unexplained share after the search's swaps by residual (SpectralSearchOptions.refine): the 3 best swaps by
 * residual per member. On the embedded default's validation mixtures (bench:mixtures-default, 150, moves uniform
 * within +-30 points) 90.0 % exactly right without, 97.3 % with; the unknown-component calibration searches the same way.
 */
export const REFINE_SWAPS = 3;

export interface SpectralSearchOptions {
  /** Classes considered; default: the shortlistSize best classes of the screen. */
  readonly shortlist?: readonly number[];
  /** Classes shortlisted when no shortlist is given (default 12 + 3m). */
  readonly shortlistSize?: number;
  /**
   * How classes are shortlisted: 'containment' (default; mixture-templates.ts: every significant bin of the class lies
   * under the query) or 'cosine' (of the class-mean profile with the query's, the previous session's screen).
   */
  readonly screen?: 'containment' | 'cosine';
  readonly containment?: ContainmentOptions;
  /**
   * What a class is fitted with: 'templates' (default; its deconvolved template at 2 * shifts + 1 whole shifts) or
   * 'references' (its referencesPerClass individual reference profiles most aligned with the query).
   */
  readonly dictionary?: 'templates' | 'references';
  /** Templates other than the index's defaults (index.templates()). */
  readonly templates?: ClassTemplates;
  /** References per class put into the fit with dictionary 'references' (default 8). */
  readonly referencesPerClass?: number;
  /** Swap rounds of the verification (default 3; 0 keeps the first fit's heaviest classes). */
  readonly swapRounds?: number;
  /**
   * After the swaps by residual, swaps by the unexplained share (SpectralFit.unexplained): for each member, the
   * `refine` shortlisted classes whose swap in fits best by residual are tried, and a swap is kept while it lowers the
   * share (default 0: none). Why: with few references a class (20) the templates miss peaks' exact places by a bin or
   * so, the residual at bin resolution is 0.15-0.4 even for the true set, and a look-alike class can fit it as well;
   * the share forgives displacement within the class's own jitter and counts only signal no member comes near. On
   * validation mixtures of the embedded default (bench:mixtures-default), the true set left less unexplained than the
   * search's wrong answer in 9 of its 10 wrong answers at the true count.
   */
  readonly refine?: number;
}

export interface SpectralFit {
  /** Class indices (into ReferenceProfiles' class order), heaviest first. */
  readonly classIndices: number[];
  /** Each member's share of the reconstructed signal, summing to 1, same order. */
  readonly fractions: number[];
  /** ||profile - reconstruction|| / ||profile|| of the final fit with the members alone (0 = exact). */
  readonly residual: number;
  /**
   * Share of the query's signal the members leave unexplained: sum of max(0, profile - reconstruction) over the sum of
   * the profile (0 = all explained). A component the library lacks leaves its peaks here.
   */
  readonly unexplained: number;
  /**
   * Per member, same order: the share of the member's part of the reconstruction that the query holds (memberSupport;
   * 1 = every peak it brings is in the query).
   */
  readonly support: readonly number[];
  /** The classes considered. */
  readonly shortlist: readonly number[];
}

/** Classes ranked by cosine of their mean profile with the query profile, best first. */
export function profileRanking(index: ReferenceProfiles, profile: Float64Array): number[] {
  const means = index.unitMeans();
  const dim = index.dim;
  const scores = new Float64Array(index.classCount);
  for (let c = 0; c < index.classCount; c++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += means[c * dim + j] * profile[j];
    scores[c] = s;
  }
  return [...scores.keys()].sort((a, b) => scores[b] - scores[a]);
}

/** The default screen's ranking of every class for a query profile (see SpectralSearchOptions.screen). */
export function screenRanking(index: ReferenceProfiles, profile: Float64Array, options: SpectralSearchOptions = {}): number[] {
  if (options.screen === 'cosine') return profileRanking(index, profile);
  const window = options.containment?.window ?? (options.templates ?? index.templates()).containmentWindow;
  return containmentRanking(index, profile, { ...options.containment, window });
}

/** Fits the query with m classes of the index by NNLS in profile space (see the module comment). */
export function spectralMixtureSearch(index: ReferenceProfiles, spectrum: ArrayLike<number>, m: number, options: SpectralSearchOptions = {}): SpectralFit {
  return profileMixtureSearch(index, index.profileOf(spectrum), m, options);
}

/** spectralMixtureSearch of a query already in profile space (profileInto / ReferenceProfiles.profileOf). */
export function profileMixtureSearch(index: ReferenceProfiles, profile: Float64Array, m: number, options: SpectralSearchOptions = {}): SpectralFit {
  if (!(Number.isInteger(m) && m >= 1)) throw new SpectrumInputError('mixture-size', `components must be a positive integer, got ${m}`);
  if (index.classCount < m) throw new SpectrumInputError('mixture-size', `cannot choose ${m} of ${index.classCount} classes`);
  if (profile.length !== index.dim) throw new SpectrumInputError('query-dim', `profile has ${profile.length} bins, the references have ${index.dim}`);
  const shortlist = options.shortlist
    ? [...new Set(options.shortlist)].filter((c) => c >= 0 && c < index.classCount)
    : screenRanking(index, profile, options).slice(0, options.shortlistSize ?? 12 + 3 * m);
  if (shortlist.length < m) throw new SpectrumInputError('mixture-size', `the shortlist has ${shortlist.length} classes, fewer than ${m}`);
  const system =
    options.dictionary === 'references'
      ? buildSystem(index, shortlist, profile, options.referencesPerClass ?? 8)
      : buildTemplateSystem(options.templates ?? index.templates(), shortlist, profile);

  const first = fitClasses(system, shortlist.map((_, k) => k));
  let members = [...first.weights.keys()].sort((a, b) => first.weights[b] - first.weights[a]).slice(0, m);
  let best = fitClasses(system, members);
  // The swaps of a round that changed nothing, per member: the refinement's candidates (below) without refitting them.
  let settled: { trial: number[]; fit: ClassFit }[][] | null = null;
  for (let round = 0; round < (options.swapRounds ?? 3); round++) {
    let improved = false;
    const tried: { trial: number[]; fit: ClassFit }[][] = members.map(() => []);
    for (let p = 0; p < members.length; p++) {
      for (let k = 0; k < shortlist.length; k++) {
        if (members.includes(k)) continue;
        const trial = members.map((x, i) => (i === p ? k : x));
        const fit = fitClasses(system, trial);
        tried[p].push({ trial, fit });
        if (fit.residualSq < best.residualSq - 1e-12) {
          members = trial;
          best = fit;
          improved = true;
        }
      }
    }
    if (!improved) {
      settled = tried;
      break;
    }
  }
  const window = options.dictionary === 'references' ? 0 : Math.ceil((options.templates ?? index.templates()).jitterBins);
  const smoothed = new SmoothedColumns(system, profile, window);
  let unexplained = unexplainedShare(system, best, profile, window, smoothed);
  const tries = options.refine ?? 0;
  // Each member's best swaps by residual in the refinement's last round: with no swap kept there, they are swaps
  // against the final members, and pairs of them are tried next.
  const lastSwaps: { trial: number[]; fit: ClassFit }[][] = [];
  let settledRefinement = false;
  for (let round = 0; tries > 0 && round < 3; round++) {
    let improved = false;
    const from = settled;
    settled = null;
    for (let p = 0; p < members.length; p++) {
      // Swaps against the current members: those of the residual's last round while no refinement swap moved them.
      const candidates =
        from && !improved
          ? from[p]
          : shortlist
              .map((_, k) => k)
              .filter((k) => !members.includes(k))
              .map((k) => {
                const trial = members.map((x, i) => (i === p ? k : x));
                return { trial, fit: fitClasses(system, trial) };
              });
      const swaps = [...candidates].sort((a, b) => a.fit.residualSq - b.fit.residualSq).slice(0, tries);
      lastSwaps[p] = swaps;
      for (const { trial, fit } of swaps) {
        const u = unexplainedShare(system, fit, profile, window, smoothed);
        if (u < unexplained - 1e-9) {
          members = trial;
          best = fit;
          unexplained = u;
          improved = true;
        }
      }
    }
    if (!improved) {
      settledRefinement = true;
      break;
    }
  }
  // Two members wrong at once (4-component validation mixtures: two look-alikes in place of two true classes, the true
  // set leaving a third of the answer's unexplained share) need both swapped together: one swap alone fits worse.
  if (settledRefinement && members.length >= 3) {
    const base = members;
    let pairBest: { trial: number[]; fit: ClassFit; u: number } | null = null;
    for (let p = 0; p < base.length; p++) {
      for (let q = p + 1; q < base.length; q++) {
        for (const a of lastSwaps[p] ?? []) {
          for (const b of lastSwaps[q] ?? []) {
            const ka = a.trial[p];
            const kb = b.trial[q];
            if (ka === kb) continue;
            const trial = base.map((x, i) => (i === p ? ka : i === q ? kb : x));
            const fit = fitClasses(system, trial);
            const u = unexplainedShare(system, fit, profile, window, smoothed);
            if (u < (pairBest?.u ?? unexplained) - 1e-9) pairBest = { trial, fit, u };
          }
        }
      }
    }
    if (pairBest) {
      members = pairBest.trial;
      best = pairBest.fit;
      unexplained = pairBest.u;
    }
  }
  const total = best.weights.reduce((s, w) => s + w, 0);
  const order = [...members.keys()].sort((a, b) => best.weights[b] - best.weights[a]);
  const support = memberSupport(system, best, members, smoothed);
  return {
    classIndices: order.map((i) => shortlist[members[i]]),
    fractions: order.map((i) => (total > 0 ? best.weights[i] / total : 1 / m)),
    support: order.map((i) => support[i]),
    residual: Math.sqrt(Math.max(0, best.residualSq) / Math.max(system.bb, 1e-300)),
    unexplained,
    shortlist,
  };
}

/** The class's references most aligned (cosine) with the query profile: those whose peak shifts fit it best. */
function alignedReferences(index: ReferenceProfiles, c: number, profile: Float64Array, n: number): Float32Array[] {
  const block = index.referencesOf(c);
  const dim = index.dim;
  const count = block.length / dim;
  const score = new Float64Array(count);
  for (let r = 0; r < count; r++) {
    let qr = 0;
    let rr = 0;
    for (let j = 0; j < dim; j++) {
      const v = block[r * dim + j];
      qr += v * profile[j];
      rr += v * v;
    }
    score[r] = qr / Math.sqrt(rr || 1);
  }
  return [...score.keys()]
    .sort((a, b) => score[b] - score[a])
    .slice(0, n)
    .map((r) => block.subarray(r * dim, (r + 1) * dim));
}

/**
 * The normal equations of every shortlisted column, computed once per query: each candidate set's fit then reads a
 * sub-block (the swaps try m x shortlist sets, and the Gram products are the expensive part).
 */
interface NormalSystem {
  /** Columns per shortlisted class, as index ranges into the Gram: class k owns [start[k], start[k + 1]). */
  readonly start: number[];
  readonly gram: Float64Array;
  readonly atb: Float64Array;
  /** |column|_1: the signal a unit coefficient carries. */
  readonly area: Float64Array;
  readonly size: number;
  readonly bb: number;
  /** Column j's values as (bin, value) pairs: the reconstruction of a fit, for the unexplained share. */
  readonly column: (j: number) => { readonly bins: ArrayLike<number>; readonly values: ArrayLike<number>; readonly offset: number };
}

function buildSystem(index: ReferenceProfiles, shortlist: readonly number[], b: Float64Array, perClass: number): NormalSystem {
  const columns: Float32Array[] = [];
  const start: number[] = [0];
  for (const c of shortlist) {
    columns.push(...alignedReferences(index, c, b, perClass));
    start.push(columns.length);
  }
  const { gram, atb, bb } = normalEquations(columns, b);
  const area = Float64Array.from(columns, (col) => col.reduce((s, v) => s + v, 0));
  const bins = Int32Array.from({ length: index.dim }, (_, j) => j);
  return { start, gram, atb, area, size: columns.length, bb, column: (j) => ({ bins, values: columns[j], offset: 0 }) };
}

/**
 * The normal equations of every shortlisted class's template at each whole shift s in -S..S. Columns live on the
 * profile axis extended by S bins each side (the query is 0 there), so no shifted template is ever cut and every
 * product is a cross-correlation of two templates at lag s1 - s2: 4S + 1 lags per class pair over the templates'
 * nonzero bins, instead of (2S + 1)^2 full products.
 */
function buildTemplateSystem(templates: ClassTemplates, shortlist: readonly number[], b: Float64Array): NormalSystem {
  const S = templates.shifts;
  const P = 2 * S + 1;
  const dim = templates.dim;
  const size = shortlist.length * P;
  const ts = shortlist.map((c) => templates.of(c));
  const gram = new Float64Array(size * size);
  const atb = new Float64Array(size);
  const area = new Float64Array(size);
  const start = shortlist.map((_, k) => k * P);
  start.push(size);
  const lags = new Float64Array(4 * S + 1);
  for (let a = 0; a < ts.length; a++) {
    const ta = ts[a];
    for (let si = 0; si < P; si++) {
      const s = si - S;
      let v = 0;
      for (let k = 0; k < ta.nonzero.length; k++) {
        const j = ta.nonzero[k] + s;
        if (j >= 0 && j < dim) v += ta.nonzeroValues[k] * b[j];
      }
      atb[a * P + si] = v;
      area[a * P + si] = ta.area;
    }
    for (let c = a; c < ts.length; c++) {
      const tc = ts[c].values;
      // lags[L + 2S] = sum_i ta[i] tc[i + L]
      lags.fill(0);
      for (let k = 0; k < ta.nonzero.length; k++) {
        const i = ta.nonzero[k];
        const va = ta.nonzeroValues[k];
        const lo = Math.max(-2 * S, -i);
        const hi = Math.min(2 * S, dim - 1 - i);
        for (let L = lo; L <= hi; L++) lags[L + 2 * S] += va * tc[i + L];
      }
      // <shift(ta, s1), shift(tc, s2)> = sum_i ta[i] tc[i + s1 - s2]
      for (let s1 = 0; s1 < P; s1++) {
        for (let s2 = 0; s2 < P; s2++) {
          const g = lags[s1 - s2 + 2 * S];
          gram[(a * P + s1) * size + c * P + s2] = g;
          gram[(c * P + s2) * size + a * P + s1] = g;
        }
      }
    }
  }
  let bb = 0;
  for (let j = 0; j < dim; j++) bb += b[j] * b[j];
  return {
    start,
    gram,
    atb,
    area,
    size,
    bb,
    column: (j) => {
      const t = ts[Math.floor(j / P)];
      return { bins: t.nonzero, values: t.nonzeroValues, offset: (j % P) - S };
    },
  };
}

interface ClassFit {
  readonly weights: number[];
  readonly residualSq: number;
  /** Columns of the fit (system indices) and their coefficients. */
  readonly cols: readonly number[];
  readonly w: Float64Array;
}

/** NNLS with the columns of the listed shortlist positions; per class, the signal its columns carry. */
function fitClasses(system: NormalSystem, classes: readonly number[]): ClassFit {
  const cols: number[] = [];
  const owner: number[] = [];
  classes.forEach((k, i) => {
    for (let j = system.start[k]; j < system.start[k + 1]; j++) {
      cols.push(j);
      owner.push(i);
    }
  });
  const n = cols.length;
  const gram = new Float64Array(n * n);
  const atb = new Float64Array(n);
  for (let a = 0; a < n; a++) {
    atb[a] = system.atb[cols[a]];
    const row = cols[a] * system.size;
    for (let b = 0; b < n; b++) gram[a * n + b] = system.gram[row + cols[b]];
  }
  const { w, residualSq } = activeSetNnls(gram, atb, system.bb);
  const weights = new Array<number>(classes.length).fill(0);
  for (let a = 0; a < n; a++) if (w[a] > 0) weights[owner[a]] += w[a] * system.area[cols[a]];
  return { weights, residualSq, cols, w };
}

/**
 * sum max(0, K b - K R) / sum K b, K a box of +-window bins and R the members' columns refitted (NNLS) to K b in that
 * smoothed space: the query's signal that no member accounts for nearby. Comparing and refitting local sums rather
 * than bins forgives peaks that moved within a class's own jitter (a reference moves each peak by up to that much,
 * and a fit at bin resolution then lowers the member's height to split the difference), so only signal away from
 * every member's peaks counts.
 */
function unexplainedShare(system: NormalSystem, fit: ClassFit, b: Float64Array, window: number, cache = new SmoothedColumns(system, b, window)): number {
  const n = b.length;
  const { w } = smoothedRefit(fit, cache);
  const cols = fit.cols;
  const k = cols.length;
  const target = cache.target;
  const r = new Float64Array(n);
  for (let a = 0; a < k; a++) {
    if (!(w[a] > 0)) continue;
    const col = cache.column(cols[a]);
    for (let j = 0; j < n; j++) r[j] += w[a] * col[j];
  }
  let left = 0;
  let total = 0;
  for (let j = 0; j < n; j++) {
    if (target[j] > r[j]) left += target[j] - r[j];
    total += target[j];
  }
  return total > 0 ? left / total : 0;
}

/** The NNLS of a fit's columns to the smoothed query, in the smoothed space (unexplainedShare). */
function smoothedRefit(fit: ClassFit, cache: SmoothedColumns): { readonly w: Float64Array } {
  const cols = fit.cols;
  const k = cols.length;
  const gram = new Float64Array(k * k);
  const atb = new Float64Array(k);
  for (let a = 0; a < k; a++) {
    atb[a] = cache.dotTarget(cols[a]);
    for (let c = a; c < k; c++) gram[a * k + c] = gram[c * k + a] = cache.dot(cols[a], cols[c]);
  }
  return activeSetNnls(gram, atb, cache.targetSq);
}

/** A member's peak region: a run of bins over this share of its top (memberSupport). */
const REGION_FLOOR = 0.02;
/** Regions carrying less than this share of a member's signal do not set its support. */
const REGION_WEIGHT = 0.05;

/**
 * Per member (same order as `classes`, shortlist positions): over each peak region of R_i, the member's own part of the
 * smoothed refit (unexplainedShare), sum min(K b, K R_i) / sum R_i, the share of what the member puts there that the
 * query holds; the member's support is its worst region among those carrying 5 % or more of its signal (a region: a
 * run of bins over 2 % of its top). A true member's peaks are all in the query; a look-alike standing in for a
 * compound the library lacks brings a peak the query does not have at all (support 0), where its overall share held
 * still reads 0.8-0.9 (validation, bench:open-set --absent), as true members' weakest do.
 */
function memberSupport(system: NormalSystem, fit: ClassFit, classes: readonly number[], cache: SmoothedColumns): number[] {
  const { w } = smoothedRefit(fit, cache);
  const n = cache.target.length;
  const target = cache.target;
  return classes.map((k) => {
    const r = new Float64Array(n);
    fit.cols.forEach((col, a) => {
      if (!(w[a] > 0) || col < system.start[k] || col >= system.start[k + 1]) return;
      const values = cache.column(col);
      for (let j = 0; j < n; j++) r[j] += w[a] * values[j];
    });
    let put = 0;
    let top = 0;
    for (let j = 0; j < n; j++) {
      put += r[j];
      top = Math.max(top, r[j]);
    }
    if (!(put > 0)) return 1;
    let worst = 1;
    for (let j = 0; j < n; ) {
      if (!(r[j] > REGION_FLOOR * top)) {
        j++;
        continue;
      }
      let held = 0;
      let region = 0;
      for (; j < n && r[j] > REGION_FLOOR * top; j++) {
        held += Math.min(Math.max(0, target[j]), r[j]);
        region += r[j];
      }
      if (region >= REGION_WEIGHT * put) worst = Math.min(worst, held / region);
    }
    return worst;
  });
}

/**
 * The smoothed columns of one search's system and their products, computed on first use: the refinement
 * (SpectralSearchOptions.refine) asks for the unexplained share of many member sets of the same system, which share
 * most of their columns.
 */
class SmoothedColumns {
  readonly target: Float64Array;
  readonly targetSq: number;
  private readonly columns = new Map<number, Float64Array>();
  private readonly products = new Map<number, number>();
  private readonly targetProducts = new Map<number, number>();

  constructor(
    private readonly system: NormalSystem,
    b: Float64Array,
    private readonly window: number,
  ) {
    this.target = this.smooth(Float64Array.from(b, (v) => Math.max(0, v)));
    let s = 0;
    for (const v of this.target) s += v * v;
    this.targetSq = s;
  }

  column(j: number): Float64Array {
    let col = this.columns.get(j);
    if (!col) {
      const { bins, values, offset } = this.system.column(j);
      const n = this.target.length;
      const dense = new Float64Array(n);
      for (let k = 0; k < bins.length; k++) {
        const t = bins[k] + offset;
        if (t >= 0 && t < n) dense[t] += values[k];
      }
      col = this.smooth(dense);
      this.columns.set(j, col);
    }
    return col;
  }

  dot(i: number, j: number): number {
    const key = i < j ? i * this.system.size + j : j * this.system.size + i;
    let v = this.products.get(key);
    if (v === undefined) {
      const a = this.column(i);
      const c = this.column(j);
      v = 0;
      for (let t = 0; t < a.length; t++) v += a[t] * c[t];
      this.products.set(key, v);
    }
    return v;
  }

  dotTarget(j: number): number {
    let v = this.targetProducts.get(j);
    if (v === undefined) {
      const a = this.column(j);
      v = 0;
      for (let t = 0; t < a.length; t++) v += a[t] * this.target[t];
      this.targetProducts.set(j, v);
    }
    return v;
  }

  private smooth(x: Float64Array): Float64Array {
    const n = x.length;
    const w = this.window;
    const prefix = new Float64Array(n + 1);
    for (let j = 0; j < n; j++) prefix[j + 1] = prefix[j] + x[j];
    const out = new Float64Array(n);
    for (let j = 0; j < n; j++) out[j] = prefix[Math.min(n, j + w + 1)] - prefix[Math.max(0, j - w)];
    return out;
  }
}

function normalEquations(columns: readonly ArrayLike<number>[], b: ArrayLike<number>): { gram: Float64Array; atb: Float64Array; bb: number } {
  const n = columns.length;
  const len = b.length;
  const gram = new Float64Array(n * n);
  const atb = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const ci = columns[i];
    if (ci.length !== len) throw new SpectrumInputError('nnls-shape', `column ${i} has ${ci.length} values, b has ${len}`);
    let s = 0;
    for (let t = 0; t < len; t++) s += ci[t] * b[t];
    atb[i] = s;
    for (let j = i; j < n; j++) {
      const cj = columns[j];
      let g = 0;
      for (let t = 0; t < len; t++) g += ci[t] * cj[t];
      gram[i * n + j] = g;
      gram[j * n + i] = g;
    }
  }
  let bb = 0;
  for (let t = 0; t < len; t++) bb += b[t] * b[t];
  return { gram, atb, bb };
}

/**
 * min ||A w - b||^2, w >= 0, by cyclic coordinate descent on the normal equations: exact per coordinate, converges
 * for any number of columns (the few-column nnls of mixture.ts enumerates active sets and stops at 8).
 */
export function nnlsCoordinateDescent(columns: readonly ArrayLike<number>[], b: ArrayLike<number>, sweeps = 200, tolerance = 1e-10): { w: Float64Array; residualSq: number } {
  const { gram, atb, bb } = normalEquations(columns, b);
  return solveNormal(gram, atb, bb, sweeps, tolerance);
}

function solveNormal(gram: Float64Array, atb: Float64Array, bb: number, sweeps = 200, tolerance = 1e-10): { w: Float64Array; residualSq: number } {
  const n = atb.length;
  const w = new Float64Array(n);
  // grad = G w - A'b, kept up to date as coordinates move.
  const grad = Float64Array.from(atb, (v) => -v);
  for (let sweep = 0; sweep < sweeps; sweep++) {
    let moved = 0;
    for (let i = 0; i < n; i++) {
      const gii = gram[i * n + i];
      if (gii <= 0) continue;
      const next = Math.max(0, w[i] - grad[i] / gii);
      const delta = next - w[i];
      if (delta === 0) continue;
      w[i] = next;
      const row = i * n; // G is symmetric: row i is column i, read contiguously
      for (let j = 0; j < n; j++) grad[j] += delta * gram[row + j];
      moved = Math.max(moved, delta * delta * gii);
    }
    if (moved < tolerance * bb) break;
  }
  // ||Aw - b||^2 = w'Gw - 2 w'A'b + b'b, and G w = grad + A'b.
  let wGw = 0;
  let wAtb = 0;
  for (let i = 0; i < n; i++) {
    wGw += w[i] * (grad[i] + atb[i]);
    wAtb += w[i] * atb[i];
  }
  return { w, residualSq: wGw - 2 * wAtb + bb };
}

/**
 * min ||A w - b||^2, w >= 0, from the normal equations (G = A'A, A'b, b'b) by Lawson and Hanson's active-set method:
 * exact at convergence and fast when few columns end up non-zero (the fits here: tens of columns, a few active), where
 * coordinate descent crawls along the strongly correlated neighbouring-shift columns.
 */
export function activeSetNnls(gram: Float64Array, atb: Float64Array, bb: number): { w: Float64Array; residualSq: number } {
  const n = atb.length;
  const w = new Float64Array(n);
  const passive = new Uint8Array(n);
  const grad = Float64Array.from(atb); // A'b - G w: the negative gradient
  let scale = 0;
  for (let i = 0; i < n; i++) scale = Math.max(scale, Math.abs(atb[i]), gram[i * n + i]);
  const tol = 1e-12 * Math.max(scale, 1e-300);
  let set: number[] = [];
  for (let outer = 0; outer < 3 * n + 10; outer++) {
    let j = -1;
    let best = tol;
    for (let i = 0; i < n; i++) if (!passive[i] && grad[i] > best && gram[i * n + i] > 0) [j, best] = [i, grad[i]];
    if (j < 0) break;
    passive[j] = 1;
    set.push(j);
    for (let inner = 0; inner < 3 * n + 10; inner++) {
      const z = solvePassive(gram, atb, n, set);
      if (!z) {
        // Singular: the new column depends on the passive ones; it cannot lower the residual, leave it out.
        passive[j] = 0;
        set = set.filter((i) => i !== j);
        grad[j] = 0;
        break;
      }
      let alpha = 1;
      let blocked = false;
      set.forEach((i, k) => {
        if (z[k] <= 0) {
          const a = w[i] / (w[i] - z[k]);
          if (a < alpha) alpha = a;
          blocked = true;
        }
      });
      if (!blocked) {
        set.forEach((i, k) => (w[i] = z[k]));
        break;
      }
      set.forEach((i, k) => (w[i] += alpha * (z[k] - w[i])));
      set = set.filter((i) => {
        if (w[i] > 1e-15 * (1 + w[i])) return true;
        w[i] = 0;
        passive[i] = 0;
        return false;
      });
      if (!set.length) break;
    }
    for (let i = 0; i < n; i++) {
      let g = atb[i];
      const row = i * n;
      for (const k of set) g -= gram[row + k] * w[k];
      grad[i] = g;
    }
  }
  let wGw = 0;
  let wAtb = 0;
  for (const i of set) {
    wAtb += w[i] * atb[i];
    for (const k of set) wGw += w[i] * gram[i * n + k] * w[k];
  }
  return { w, residualSq: Math.max(0, wGw - 2 * wAtb + bb) };
}

/** Solves G[P,P] z = A'b[P] by Cholesky; null when G[P,P] is not positive definite. */
function solvePassive(gram: Float64Array, atb: Float64Array, n: number, set: readonly number[]): Float64Array | null {
  const p = set.length;
  const L = new Float64Array(p * p);
  for (let a = 0; a < p; a++) {
    for (let b = 0; b <= a; b++) {
      let s = gram[set[a] * n + set[b]];
      for (let k = 0; k < b; k++) s -= L[a * p + k] * L[b * p + k];
      if (a === b) {
        if (!(s > 1e-12 * gram[set[a] * n + set[a]])) return null;
        L[a * p + a] = Math.sqrt(s);
      } else L[a * p + b] = s / L[b * p + b];
    }
  }
  const z = new Float64Array(p);
  for (let a = 0; a < p; a++) {
    let s = atb[set[a]];
    for (let k = 0; k < a; k++) s -= L[a * p + k] * z[k];
    z[a] = s / L[a * p + a];
  }
  for (let a = p - 1; a >= 0; a--) {
    let s = z[a];
    for (let k = a + 1; k < p; k++) s -= L[k * p + a] * z[k];
    z[a] = s / L[a * p + a];
  }
  return z;
}

/** Library-shaped source of reference spectra (ReferenceLibrary satisfies it). */
export interface SpectraSource {
  readonly points: number;
  classNames(): string[];
  spectraOf(name: string): Float32Array | null;
}

const indexCache = new WeakMap<object, ReferenceProfiles | null>();

/**
 * The per-reference profiles of a library that keeps its reference spectra (the daemon's does), built once per library
 * state (key: the library's current matrix object, rebuilt on every change); null when some class has no spectra.
 */
export function referenceProfilesFor(library: SpectraSource, stateKey: object): ReferenceProfiles | null {
  if (indexCache.has(stateKey)) return indexCache.get(stateKey) ?? null;
  let index: ReferenceProfiles | null = library.points > 0 ? new ReferenceProfiles(library.points) : null;
  for (const name of library.classNames()) {
    const spectra = index ? library.spectraOf(name) : null;
    if (!index || !spectra) {
      index = null;
      break;
    }
    index.add(name, spectra, spectra.length / library.points);
  }
  indexCache.set(stateKey, index);
  return index;
}

/**
 * The spectral search with a shortlist from both sides: the embedding search's members (library class indices mapped
 * by name) and the screen's best classes (screenRanking). Returns library class indices.
 */
export function spectralMixtureForLibrary(
  index: ReferenceProfiles,
  libraryClassNames: readonly string[],
  spectrum: ArrayLike<number>,
  m: number,
  embeddingMembers: readonly number[] = [],
  options: SpectralSearchOptions = {},
): SpectralFit {
  const byName = new Map(index.classNames().map((name, i) => [name, i]));
  const fromEmbedding = embeddingMembers.map((c) => byName.get(libraryClassNames[c]) ?? -1).filter((c) => c >= 0);
  const ranked = screenRanking(index, index.profileOf(spectrum), options).slice(0, options.shortlistSize ?? 12 + 3 * m);
  const fit = spectralMixtureSearch(index, spectrum, m, { ...options, shortlist: [...fromEmbedding, ...ranked] });
  const toLibrary = new Map(libraryClassNames.map((name, i) => [name, i]));
  return { ...fit, classIndices: fit.classIndices.map((c) => toLibrary.get(index.classNames()[c]) ?? -1) };
}

/**
 * identify()'s mixture step when the spectrum and per-reference profiles are at hand: the reconstruction search for
 * as many components as the embedding search chose, as a MixtureFit over library class indices (similarity: the
 * query embedding's cosine to the found set's normalized centroid sum, as the embedding search reports it).
 */
export function reconstructionMixtureFit(
  index: ReferenceProfiles,
  matrix: { readonly classNames: readonly string[]; readonly centroids: Float32Array; readonly dim: number },
  embedding: Float32Array,
  spectrum: ArrayLike<number>,
  embeddingMembers: readonly number[],
): MixtureFit & { readonly fractions: readonly number[]; readonly residual: number; readonly unexplained: number } {
  const fit = spectralMixtureForLibrary(index, matrix.classNames, spectrum, embeddingMembers.length, embeddingMembers);
  const members = fit.classIndices.filter((c) => c >= 0);
  const fractions = fit.fractions.filter((_, i) => fit.classIndices[i] >= 0);
  return {
    classIndices: members,
    similarity: setSimilarity(matrix.centroids, matrix.dim, embedding, members),
    fractions,
    residual: fit.residual,
    unexplained: fit.unexplained,
  };
}
