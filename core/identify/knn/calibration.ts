import { SpectrumInputError } from '../../errors.ts';
import type { Encoder } from '../../encoder/types.ts';
import type { LibraryMatrix, ReferenceLibrary } from './library.ts';
import { beamMixtureSearch } from '../mixture/mixture.ts';

/**
 * Thresholds and score calibration learned from the library itself, no labelled queries needed.
 * Leave-one-out over the references gives two distributions (the paper's Figure 1):
 *  - same class: a held-out reference's best similarity to the rest of its class (what a known compound scores);
 *  - different class: its best similarity to any other class (what a compound missing from the library scores:
 *    the second-ranked class as a decoy, as target-decoy FDR control in mass spectrometry does).
 * The unknown threshold is the same-class quantile at the target false-unknown rate; the confident threshold is the
 * different-class quantile at 1 - fdr; a logistic model of (top similarity, margin over the runner-up) gives the score.
 */

export interface CalibrationOptions {
  /** Share of known compounds that may come out unknown (default 0.01). */
  readonly targetFalseUnknownRate?: number;
  /** Share of unseen compounds that may come out identified rather than low-confidence (default 0.01). */
  readonly fdr?: number;
  /** Share of single compounds that may be called mixtures (default 0.01). */
  readonly falseMixtureRate?: number;
  /** References sampled for leave-one-out (default 2000; all when fewer). */
  readonly maxSamples?: number;
  /** References sampled for the mixture-gain null (default 300). */
  readonly maxMixtureSamples?: number;
  readonly maxComponents?: number;
  /**
   * Embeddings of mixtures of library classes (row-major [n, dim]), e.g. from synthesizeMixtureEmbeddings: their fit
   * similarity sets the threshold below which a mixture is said to hold an unknown component.
   */
  readonly mixtureEmbeddings?: Float32Array;
  readonly seed?: number;
  /**
   * 'per-class' (default): per-class unknown thresholds from each class's own spread in log-distance space, shrunk
   * towards a pooled prior (classes with one or two references use the prior alone), a logistic score on the
   * standardized similarity and the log-distance margin, mixture gains in log-distance. 'global': one threshold for
   * every class in raw cosine (the method before; kept to measure against).
   */
  readonly method?: 'per-class' | 'global';
  /** Prior strength of the pooled spread, in references (default 4). */
  readonly priorReferences?: number;
  /** Share of queries assumed to come from classes absent from the library when fitting the score (default 0.1). */
  readonly unknownPrior?: number;
}

export interface Logistic {
  readonly bias: number;
  readonly similarity: number;
  readonly margin: number;
}

export interface Calibration {
  /** Best similarity below this: unknown. */
  readonly unknownThreshold: number;
  /** Best similarity below this (but above unknownThreshold): low-confidence, since unseen compounds reach it. */
  readonly confidentThreshold: number;
  /** A mixture must beat the best fit with one component fewer by this much cosine similarity. */
  readonly mixtureGain: number;
  /** A mixture fit below this similarity leaves a residual no library class explains. */
  readonly unknownComponentThreshold: number;
  readonly logistic: Logistic;
  readonly targetFalseUnknownRate: number;
  readonly fdr: number;
  /** Leave-one-out samples behind the thresholds. */
  readonly samples: number;
  /** Leave-one-out accuracy of the nearest reference on the library itself (own class's best similarity the highest). */
  readonly looAccuracy: number;
  /** Per-class calibration (method 'per-class'); absent: the global thresholds above apply to every class. */
  readonly perClass?: PerClassCalibration;
}

/**
 * Per-class calibration in log-distance space, t(cos) = -ln(1 - cos): a trained encoder packs embeddings into a
 * narrow cone (same-class cosines 0.999+), where raw-cosine quantiles, differences and a logistic are squeezed against
 * 1; t spreads them out (0.999 -> 6.9, 0.9999 -> 9.2) so gains and margins become comparable across the library.
 */
export interface PerClassCalibration {
  readonly classNames: readonly string[];
  /** Per class (library order): expected t of a same-class query's best similarity, shrunk towards the prior. */
  readonly center: Float64Array;
  /** Per class: spread (standard deviation) of that t. */
  readonly spread: Float64Array;
  /** References per class when calibrated. */
  readonly references: Int32Array;
  /** Pooled prior by reference count m (index m - 1): mean and sd of t of the best of m same-class references. */
  readonly priorCenter: Float64Array;
  readonly priorSpread: Float64Array;
  /** Unknown cut in standard units: a query with (t - center) / spread below it is unknown. */
  readonly cut: number;
  /**
   * Cut for a class known only through the prior, by reference count m (index m - 1): the target quantile of the
   * standardized best-of-m distribution itself, whose low tail is longer than that of classes with their own spread.
   */
  readonly priorCut: Float64Array;
  /** Logistic on (standardized t of the top class, t margin over the runner-up). */
  readonly logistic: Logistic;
  /**
   * Conformity samples, ascending: each reference's leave-one-out standardized t against the rest of its class (what
   * a query of that class scores for its own class). Their quantiles are the split-conformal cuts of prediction sets
   * (predictionSetCut).
   */
  readonly conformity?: Float64Array;
  /** Mixture gain null in t: a component must add this much t. */
  readonly mixtureGain: number;
}

/** Log-distance: spreads the narrow cone of cosines near 1 (1 - cos floored at 1e-7). */
export function logDistance(similarity: number): number {
  return -Math.log(Math.max(1 - similarity, 1e-7));
}

export interface SimilarityDistributions {
  /** Per sampled reference: best similarity to another reference of its class. */
  readonly same: Float32Array;
  /** Per sampled reference: best similarity to a reference of another class. */
  readonly different: Float32Array;
  /** Per sampled reference: similarity of the runner-up class when its own class is present (for the margin). */
  readonly runnerUp: Float32Array;
  /** Whether the class with the best similarity was its own class. */
  readonly topCorrect: Uint8Array;
  /** Per sampled reference: the second-best other class (the runner-up if its own class were absent). */
  readonly secondDifferent: Float32Array;
  /** Per sample: its reference row, and the class index of its best other class. */
  readonly rows: Int32Array;
  readonly differentClass: Int32Array;
}

/** Leave-one-out distributions over a sample of references (classes with one reference have no same-class value). */
export function similarityDistributions(library: ReferenceLibrary, maxSamples = 2000, seed = 1): SimilarityDistributions {
  const matrix = library.matrix();
  const rows = sampleRows(matrix, maxSamples, seed);
  const same: number[] = [];
  const different: number[] = [];
  const runnerUp: number[] = [];
  const topCorrect: number[] = [];
  const secondDifferent: number[] = [];
  const sampledRows: number[] = [];
  const differentClass: number[] = [];
  const classCount = matrix.classNames.length;
  const best = new Float32Array(classCount);
  for (const r of rows) {
    bestPerClassExcluding(matrix, r, best);
    const own = matrix.labels[r];
    if (!(best[own] > -Infinity)) continue;
    let firstOther = -Infinity;
    let secondOther = -Infinity;
    let firstClass = -1;
    for (let c = 0; c < classCount; c++) {
      if (c === own) continue;
      if (best[c] > firstOther) {
        [secondOther, firstOther] = [firstOther, best[c]];
        firstClass = c;
      } else if (best[c] > secondOther) secondOther = best[c];
    }
    sampledRows.push(r);
    differentClass.push(firstClass);
    same.push(best[own]);
    different.push(firstOther);
    runnerUp.push(best[own] >= firstOther ? firstOther : Math.max(best[own], secondOther));
    topCorrect.push(best[own] >= firstOther ? 1 : 0);
    secondDifferent.push(secondOther > -Infinity ? secondOther : firstOther - 1);
  }
  return {
    same: Float32Array.from(same),
    different: Float32Array.from(different),
    runnerUp: Float32Array.from(runnerUp),
    topCorrect: Uint8Array.from(topCorrect),
    secondDifferent: Float32Array.from(secondDifferent),
    rows: Int32Array.from(sampledRows),
    differentClass: Int32Array.from(differentClass),
  };
}

export function calibrate(library: ReferenceLibrary, options: CalibrationOptions = {}): Calibration {
  const targetFalseUnknownRate = options.targetFalseUnknownRate ?? 0.01;
  const fdr = options.fdr ?? 0.01;
  for (const [name, v] of [['targetFalseUnknownRate', targetFalseUnknownRate], ['fdr', fdr]] as const) {
    if (!(v > 0 && v < 0.5)) throw new SpectrumInputError('calibration-rate', `${name} must be in (0, 0.5), got ${v}`);
  }
  if (library.classCount < 2) {
    throw new SpectrumInputError('calibration-small', 'calibration needs at least two classes in the library');
  }
  const dist = similarityDistributions(library, options.maxSamples ?? 2000, options.seed ?? 1);
  const matrix = library.matrix();
  const perClassBase = (options.method ?? 'per-class') === 'per-class' ? calibratePerClass(matrix, dist, options) : undefined;
  // Without same-class pairs (one reference per class) the different-class distribution alone sets the bar.
  const hasSame = dist.same.length >= 10;
  const unknownThreshold = hasSame
    ? quantile(dist.same, targetFalseUnknownRate)
    : quantile(dist.different, 1 - fdr);
  const confidentThreshold = quantile(dist.different, 1 - fdr);

  // Logistic samples: a held-out reference with its class present (label: top class right) and with its class
  // absent (label 0: whatever comes first is wrong).
  const features: Array<[number, number, number]> = [];
  for (let i = 0; i < dist.same.length; i++) {
    const top = Math.max(dist.same[i], dist.different[i]);
    features.push([top, top - dist.runnerUp[i], dist.topCorrect[i]]);
  }
  // The same held-out references with their class absent: the best other class is the (wrong) top answer.
  for (let i = 0; i < dist.different.length; i++) features.push([dist.different[i], dist.different[i] - dist.secondDifferent[i], 0]);
  const logistic = fitMonotoneLogistic(features);

  const gains = mixtureGains(matrix, options);
  const rate = options.falseMixtureRate ?? 0.01;
  const mixtureGain = gains.raw.length ? Math.max(quantile(gains.raw, 1 - rate), 1e-3) : 0.05;
  const perClass = perClassBase && {
    ...perClassBase,
    // A floor of 0.05 in t (5 % less distance) keeps a near-degenerate null from calling every small gain a mixture.
    mixtureGain: gains.t.length ? Math.max(quantile(gains.t, 1 - rate), 0.05) : 0.5,
  };
  const unknownComponentThreshold = options.mixtureEmbeddings
    ? (mixtureFitThreshold(matrix, options.mixtureEmbeddings, targetFalseUnknownRate, options.maxComponents) ?? unknownThreshold)
    : unknownThreshold;

  return {
    unknownThreshold,
    confidentThreshold: Math.max(confidentThreshold, unknownThreshold),
    mixtureGain,
    unknownComponentThreshold,
    logistic,
    targetFalseUnknownRate,
    fdr,
    samples: dist.same.length,
    looAccuracy: dist.topCorrect.length ? dist.topCorrect.reduce((s, v) => s + v, 0) / dist.topCorrect.length : 0,
    ...(perClass ? { perClass } : {}),
  };
}

/**
 * The fit similarity below which a mixture holds a component the library lacks: the target quantile of the best fits
 * of mixtures of library classes (e.g. synthesizeMixtureEmbeddings). Undefined with fewer than 10 mixtures.
 */
export function mixtureFitThreshold(matrix: LibraryMatrix, mixtureEmbeddings: Float32Array, rate: number, maxComponents = 5): number | undefined {
  if (mixtureEmbeddings.length < matrix.dim * 10) return undefined;
  const fits: number[] = [];
  const n = mixtureEmbeddings.length / matrix.dim;
  for (let i = 0; i < n; i++) {
    const q = mixtureEmbeddings.subarray(i * matrix.dim, (i + 1) * matrix.dim);
    const all = beamMixtureSearch(matrix.centroids, matrix.dim, q, { maxComponents, beamWidth: 8 });
    fits.push(Math.max(...all.map((f) => f.similarity)));
  }
  return quantile(Float32Array.from(fits), rate);
}

/**
 * A calibration with its unknown-component threshold set from mixture embeddings: the rest of calibrate() does not
 * need the encoder, so a caller can answer at once and add this when the mixtures are embedded (in the background).
 */
export function withMixtureEmbeddings(cal: Calibration, library: ReferenceLibrary, mixtureEmbeddings: Float32Array, maxComponents = 5): Calibration {
  const threshold = mixtureFitThreshold(library.matrix(), mixtureEmbeddings, cal.targetFalseUnknownRate, maxComponents);
  return threshold === undefined ? cal : { ...cal, unknownComponentThreshold: threshold };
}

/** Calibrated confidence in [0, 1] that the top class is right, from its similarity and its margin over the next. */
export function confidence(cal: Calibration, similarity: number, margin: number): number {
  const z = cal.logistic.bias + cal.logistic.similarity * similarity + cal.logistic.margin * margin;
  return 1 / (1 + Math.exp(-z));
}

const nameIndex = new WeakMap<PerClassCalibration, Map<string, number>>();

/**
 * A class's center and spread (t space). A class enrolled or grown since calibration has no statistics of its own
 * yet: it takes the pooled prior for its reference count, so a compound enrolled from one spectrum is recognised at once.
 */
export function classStatistics(
  pc: PerClassCalibration,
  index: number,
  name: string,
  references: number,
): { center: number; spread: number; cut: number } {
  let i = pc.classNames[index] === name ? index : -1;
  if (i < 0) {
    let map = nameIndex.get(pc);
    if (!map) {
      map = new Map(pc.classNames.map((n, k) => [n, k]));
      nameIndex.set(pc, map);
    }
    i = map.get(name) ?? -1;
  }
  if (i >= 0 && pc.references[i] === references) {
    return { center: pc.center[i], spread: pc.spread[i], cut: references >= 2 ? pc.cut : pc.priorCut[0] };
  }
  const m = Math.min(Math.max(references, 1), pc.priorCenter.length) - 1;
  return { center: pc.priorCenter[m], spread: pc.priorSpread[m], cut: m < pc.priorCut.length ? pc.priorCut[m] : pc.cut };
}

/**
 * Split-conformal cut for prediction sets at this coverage: a class belongs to a query's set when its standardized t
 * reaches the cut. The cut is the floor(alpha (n + 1))-th smallest of the n conformity samples, so a query
 * exchangeable with the library's references finds its own class in the set with probability >= coverage
 * (Vovk et al.; Li, Schmidt & Alstrom 2022 for spectral matching). Undefined without samples.
 */
export function predictionSetCut(pc: PerClassCalibration, coverage: number): number | undefined {
  const samples = pc.conformity;
  if (!samples || samples.length === 0) return undefined;
  const rank = Math.floor((1 - coverage) * (samples.length + 1));
  return rank < 1 ? -Infinity : samples[Math.min(rank, samples.length) - 1];
}

/** Calibrated confidence in [0, 1] from the standardized t of a class and its t margin over the next class. */
export function perClassConfidence(pc: PerClassCalibration, standardized: number, marginT: number): number {
  const z = pc.logistic.bias + pc.logistic.similarity * standardized + pc.logistic.margin * marginT;
  return 1 / (1 + Math.exp(-z));
}

/**
 * Embeddings of synthetic mixtures of the library's own reference spectra (2..maxComponents classes, equal parts,
 * summed and scaled to max 1 like a preprocessed spectrum), for calibrating the unknown-component threshold.
 */
export async function synthesizeMixtureEmbeddings(
  library: ReferenceLibrary,
  encoder: Encoder,
  count = 200,
  maxComponents = 4,
  seed = 7,
): Promise<Float32Array> {
  const names = library.classNames().filter((n) => library.spectraOf(n));
  if (names.length < 2) return new Float32Array(0);
  const rng = mulberry32(seed);
  const points = library.points;
  const batch = new Float32Array(count * points);
  for (let i = 0; i < count; i++) {
    const m = 2 + Math.floor(rng() * (Math.min(maxComponents, names.length) - 1));
    const chosen = new Set<string>();
    while (chosen.size < m) chosen.add(names[Math.floor(rng() * names.length)]);
    const row = batch.subarray(i * points, (i + 1) * points);
    for (const name of chosen) {
      const spectra = library.spectraOf(name) as Float32Array;
      const r = Math.floor(rng() * (spectra.length / points));
      for (let j = 0; j < points; j++) row[j] += spectra[r * points + j];
    }
    let max = 0;
    for (let j = 0; j < points; j++) max = Math.max(max, Math.abs(row[j]));
    if (max > 0) for (let j = 0; j < points; j++) row[j] /= max;
  }
  return encoder.embed(batch, count);
}

export function quantile(values: Float32Array | number[], q: number): number {
  if (!values.length) return 0;
  const sorted = Float64Array.from(values).sort();
  const pos = Math.min(sorted.length - 1, Math.max(0, q * (sorted.length - 1)));
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * The null for the mixture decision: how much a second component improves the fit of a single compound. A held-out
 * reference is matched against centroids that leave it out; gains above the (1 - falseMixtureRate) quantile of
 * these call a mixture. Returned as raw cosine gains and as log-distance gains.
 */
function mixtureGains(matrix: LibraryMatrix, options: CalibrationOptions): { raw: number[]; t: number[] } {
  const rows = sampleRows(matrix, options.maxMixtureSamples ?? 300, (options.seed ?? 1) + 1);
  const { dim } = matrix;
  const raw: number[] = [];
  const t: number[] = [];
  const sums = classSums(matrix);
  // One working copy of the centroids, its own class's row replaced per sample and put back after: a fresh copy per
  // sample (300 x classes x dim floats: 38 MB at 500 classes x 64) was garbage that raised the process's peak memory.
  const centroids = Float32Array.from(matrix.centroids);
  for (const r of rows) {
    const own = matrix.labels[r];
    const c = centroids.subarray(own * dim, (own + 1) * dim);
    let norm = 0;
    for (let j = 0; j < dim; j++) {
      c[j] = sums[own * dim + j] - matrix.embeddings[r * dim + j];
      norm += c[j] * c[j];
    }
    // A class with a single reference has nothing left: the query then only tells how unseen compounds behave.
    if (norm >= 1e-12) {
      for (let j = 0; j < dim; j++) c[j] /= Math.sqrt(norm);
      const q = matrix.embeddings.subarray(r * dim, (r + 1) * dim);
      const fits = beamMixtureSearch(centroids, dim, q, { maxComponents: 2, beamWidth: 4 });
      if (fits.length === 2) {
        raw.push(fits[1].similarity - fits[0].similarity);
        t.push(logDistance(fits[1].similarity) - logDistance(fits[0].similarity));
      }
    }
    c.set(matrix.centroids.subarray(own * dim, (own + 1) * dim));
  }
  return { raw, t };
}

/** The most references per class the pooled prior is tabulated for; larger classes use the last entry. */
const PRIOR_MAX_REFERENCES = 64;
/** Classes up to this many references known only through the prior get the prior's own cut. */
const PRIOR_CUT_MAX = 4;

function weightedQuantile(values: readonly number[], weights: readonly number[], q: number): number {
  if (!values.length) return -3;
  const order = values.map((_, i) => i).sort((a, b) => values[a] - values[b]);
  const total = weights.reduce((s, w) => s + w, 0);
  let acc = 0;
  for (const i of order) {
    acc += weights[i];
    if (acc >= q * total) return values[i];
  }
  return values[order[order.length - 1]];
}

/**
 * Per-class thresholds. Each reference's best similarity to the rest of its class (in t) is one sample of what a
 * same-class query scores; a class's center and spread are its samples' mean and sd shrunk towards the pooled prior
 * (priorReferences pseudo-samples), so a class of one or two references leans on the prior. The prior for a class of
 * m references is the library-wide distribution of the best of m random same-class references, computed exactly from
 * every class with more (a single reference is farther from a new spectrum than the best of 19 are). The cut is the
 * target quantile of leave-one-out standardized samples; the score is a weighted logistic on (standardized t, t
 * margin) fitted on held-out references with their class present (label: top class right) and absent (label 0).
 */
function calibratePerClass(
  matrix: LibraryMatrix,
  dist: SimilarityDistributions,
  options: CalibrationOptions,
): Omit<PerClassCalibration, 'mixtureGain'> | undefined {
  const { dim, embeddings, labels, classNames } = matrix;
  const classCount = classNames.length;
  const kappa = options.priorReferences ?? 4;
  const rowsOf: number[][] = Array.from({ length: classCount }, () => []);
  for (let r = 0; r < labels.length; r++) rowsOf[labels[r]].push(r);
  const maxRefs = Math.max(...rowsOf.map((rows) => rows.length));
  if (maxRefs < 2) return undefined;

  // Same-class leave-one-out: x[row] = t of the best similarity to the rest of its class; prior moments by m.
  const M = Math.min(PRIOR_MAX_REFERENCES, maxRefs - 1);
  const lnFact = new Float64Array(maxRefs + 1);
  for (let i = 1; i <= maxRefs; i++) lnFact[i] = lnFact[i - 1] + Math.log(i);
  const lnC = (a: number, b: number) => lnFact[a] - lnFact[b] - lnFact[a - b];
  const priorSum = new Float64Array(M);
  const priorSq = new Float64Array(M);
  const priorN = new Float64Array(M);
  // Best-of-m values with their probabilities, for the prior cuts of small classes (m <= PRIOR_CUT_MAX).
  const Mq = Math.min(M, PRIOR_CUT_MAX);
  const priorValues: Array<{ v: number[]; w: number[] }> = Array.from({ length: Mq }, () => ({ v: [], w: [] }));
  const x = new Float64Array(labels.length).fill(Number.NaN);
  for (const rows of rowsOf) {
    const n = rows.length;
    if (n < 2) continue;
    const others = new Float64Array(n - 1);
    for (const a of rows) {
      let k = 0;
      for (const b of rows) {
        if (a === b) continue;
        let s = 0;
        for (let j = 0; j < dim; j++) s += embeddings[a * dim + j] * embeddings[b * dim + j];
        others[k++] = logDistance(s);
      }
      others.sort();
      const N = n - 1;
      x[a] = others[N - 1];
      // Best of m distinct random others: P(max = k-th smallest) = C(k-1, m-1) / C(N, m).
      for (let m = 1; m <= Math.min(N, M); m++) {
        let mean = 0;
        let sq = 0;
        const lnDen = lnC(N, m);
        for (let kk = m; kk <= N; kk++) {
          const p = Math.exp(lnC(kk - 1, m - 1) - lnDen);
          mean += p * others[kk - 1];
          sq += p * others[kk - 1] * others[kk - 1];
          if (m <= Mq && p > 1e-9) {
            priorValues[m - 1].v.push(others[kk - 1]);
            priorValues[m - 1].w.push(p);
          }
        }
        priorSum[m - 1] += mean;
        priorSq[m - 1] += sq;
        priorN[m - 1]++;
      }
    }
  }
  const priorCenter = new Float64Array(M);
  const priorSpread = new Float64Array(M);
  for (let m = 0; m < M; m++) {
    const mean = priorSum[m] / priorN[m];
    priorCenter[m] = mean;
    priorSpread[m] = Math.sqrt(Math.max(priorSq[m] / priorN[m] - mean * mean, 1e-6));
  }
  const prior = (m: number) => {
    const i = Math.min(Math.max(m, 1), M) - 1;
    return { mean: priorCenter[i], sd: priorSpread[i] };
  };
  const target = options.targetFalseUnknownRate ?? 0.01;
  const priorCut = Float64Array.from(priorValues, ({ v, w }, i) =>
    weightedQuantile(v.map((x) => (x - priorCenter[i]) / priorSpread[i]), w, target),
  );

  // Shrunk per-class statistics, and each reference's leave-one-out standardized sample.
  const center = new Float64Array(classCount);
  const spread = new Float64Array(classCount);
  const references = new Int32Array(classCount);
  const looCenter = new Float64Array(labels.length);
  const looSpread = new Float64Array(labels.length);
  const residuals: number[] = [];
  for (let c = 0; c < classCount; c++) {
    const rows = rowsOf[c];
    const n = rows.length;
    references[c] = n;
    const p = prior(n - 1);
    if (n < 2) {
      const p1 = prior(1);
      center[c] = p1.mean;
      spread[c] = p1.sd;
      continue;
    }
    let sum = 0;
    let sq = 0;
    for (const r of rows) {
      sum += x[r];
      sq += x[r] * x[r];
    }
    const shrunk = (s: number, q: number, count: number) => {
      const mean = count > 0 ? s / count : 0;
      const ss = count > 0 ? Math.max(q - count * mean * mean, 0) : 0;
      return {
        mean: (s + kappa * p.mean) / (count + kappa),
        sd: Math.max(Math.sqrt((ss + kappa * p.sd * p.sd) / (Math.max(count - 1, 0) + kappa)), 1e-3),
      };
    };
    const full = shrunk(sum, sq, n);
    center[c] = full.mean;
    spread[c] = full.sd;
    for (const r of rows) {
      const loo = shrunk(sum - x[r], sq - x[r] * x[r], n - 1);
      looCenter[r] = loo.mean;
      looSpread[r] = loo.sd;
      residuals.push((x[r] - loo.mean) / loo.sd);
    }
  }
  const cut = residuals.length ? quantile(residuals, target) : priorCut[0];

  // Score samples from the sampled leave-one-out pass (dist): present and absent class.
  const standardized = (c: number, sim: number) => (logDistance(sim) - center[c]) / spread[c];
  const samples: Array<[number, number, number, number]> = [];
  const present: Array<[number, number, number]> = [];
  const absent: Array<[number, number, number]> = [];
  for (let i = 0; i < dist.rows.length; i++) {
    const r = dist.rows[i];
    const other = dist.differentClass[i];
    if (other < 0) continue;
    if (dist.topCorrect[i]) {
      const u = (logDistance(dist.same[i]) - looCenter[r]) / looSpread[r];
      present.push([u, logDistance(dist.same[i]) - logDistance(dist.runnerUp[i]), 1]);
    } else {
      present.push([standardized(other, dist.different[i]), logDistance(dist.different[i]) - logDistance(dist.runnerUp[i]), 0]);
    }
    absent.push([standardized(other, dist.different[i]), logDistance(dist.different[i]) - logDistance(dist.secondDifferent[i]), 0]);
  }
  const unknownPrior = options.unknownPrior ?? 0.1;
  const total = present.length + absent.length;
  for (const [u, m, y] of present) samples.push([u, m, y, ((1 - unknownPrior) * total) / present.length]);
  for (const [u, m, y] of absent) samples.push([u, m, y, (unknownPrior * total) / Math.max(absent.length, 1)]);
  const logistic = fitMonotoneLogistic(samples);
  // Conformity as a query meets it: standardized by its class's own (full) statistics, which hold the reference.
  const conformity = Float64Array.from(
    rowsOf.flatMap((rows, c) => (rows.length >= 2 ? rows.map((r) => (x[r] - center[c]) / spread[c]) : [])),
  ).sort();
  return { classNames: [...classNames], center, spread, references, priorCenter, priorSpread, cut, priorCut, logistic, conformity };
}

function classSums(matrix: LibraryMatrix): Float32Array {
  const { dim } = matrix;
  const sums = new Float32Array(matrix.classNames.length * dim);
  for (let r = 0; r < matrix.labels.length; r++) {
    const base = matrix.labels[r] * dim;
    for (let j = 0; j < dim; j++) sums[base + j] += matrix.embeddings[r * dim + j];
  }
  return sums;
}

function bestPerClassExcluding(matrix: LibraryMatrix, row: number, best: Float32Array): void {
  const { dim, embeddings, labels } = matrix;
  best.fill(-Infinity);
  const qBase = row * dim;
  for (let r = 0; r < labels.length; r++) {
    if (r === row) continue;
    let s = 0;
    const base = r * dim;
    for (let j = 0; j < dim; j++) s += embeddings[base + j] * embeddings[qBase + j];
    if (s > best[labels[r]]) best[labels[r]] = s;
  }
}

/**
 * More similar and farther ahead of the runner-up must never lower the score: a weight the data turns negative (a
 * library of one or two references per class can: its few same-class samples say little) is held at zero and the
 * rest refitted. With both at zero the score is one constant, and the candidates keep the embedding's order.
 */
function fitMonotoneLogistic(samples: ReadonlyArray<readonly [number, number, number, number?]>): Logistic {
  let logistic = fitLogistic(samples);
  if (logistic.similarity < 0 || logistic.margin < 0) {
    logistic = fitLogistic(samples, [false, logistic.similarity < 0, logistic.margin < 0]);
  }
  if (logistic.similarity < 0 || logistic.margin < 0) logistic = fitLogistic(samples, [false, true, true]);
  return logistic;
}

/** Ridge-regularized logistic regression by Newton steps on 3 parameters; the ridge keeps separable data finite. */
function fitLogistic(samples: ReadonlyArray<readonly [number, number, number, number?]>, fixed: readonly boolean[] = [false, false, false]): Logistic {
  let w = [0, 0, 0];
  const lambda = 1e-2;
  for (let iter = 0; iter < 50; iter++) {
    const grad = [0, 0, 0];
    const hess = [
      [lambda, 0, 0],
      [0, lambda, 0],
      [0, 0, lambda],
    ];
    for (let k = 1; k < 3; k++) grad[k] += lambda * w[k];
    for (const [s, m, y, weight] of samples) {
      const x = [1, s, m];
      const p = 1 / (1 + Math.exp(-(w[0] + w[1] * s + w[2] * m)));
      const wt = weight ?? 1;
      for (let a = 0; a < 3; a++) {
        grad[a] += wt * (p - y) * x[a];
        for (let b = 0; b < 3; b++) hess[a][b] += wt * p * (1 - p) * x[a] * x[b];
      }
    }
    // A feature held at zero: its row and column become the identity, its gradient zero, so its step is zero.
    for (let a = 0; a < 3; a++) {
      if (!fixed[a]) continue;
      grad[a] = 0;
      for (let b = 0; b < 3; b++) hess[a][b] = hess[b][a] = a === b ? 1 : 0;
    }
    const step = solve3(hess, grad);
    if (!step) break;
    w = w.map((v, i) => v - step[i]);
    if (Math.hypot(...step) < 1e-8) break;
  }
  return { bias: w[0], similarity: w[1], margin: w[2] };
}

function solve3(a: number[][], b: number[]): number[] | null {
  const det = (m: number[][]) =>
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
    m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
    m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  const d = det(a);
  if (Math.abs(d) < 1e-300) return null;
  return [0, 1, 2].map((col) => det(a.map((row, i) => row.map((v, j) => (j === col ? b[i] : v)))) / d);
}

/** A seeded random sample of reference rows (all rows when there are few). */
function sampleRows(matrix: LibraryMatrix, max: number, seed: number): number[] {
  const total = matrix.labels.length;
  if (total <= max) return [...Array(total).keys()];
  const rng = mulberry32(seed);
  const rows = [...Array(total).keys()];
  for (let i = rows.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [rows[i], rows[j]] = [rows[j], rows[i]];
  }
  return rows.slice(0, max);
}

/** Small seeded PRNG so calibration is repeatable. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
