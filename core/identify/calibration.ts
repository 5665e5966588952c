import { SpectrumInputError } from '../errors.ts';
import type { Encoder } from '../encoder/types.ts';
import type { LibraryMatrix, ReferenceLibrary } from './library.ts';
import { beamMixtureSearch } from './mixture.ts';

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
  /** Leave-one-out accuracy of the kNN vote on the library itself. */
  readonly looAccuracy: number;
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
  const classCount = matrix.classNames.length;
  const best = new Float32Array(classCount);
  for (const r of rows) {
    bestPerClassExcluding(matrix, r, best);
    const own = matrix.labels[r];
    if (!(best[own] > -Infinity)) continue;
    let firstOther = -Infinity;
    let secondOther = -Infinity;
    for (let c = 0; c < classCount; c++) {
      if (c === own) continue;
      if (best[c] > firstOther) [secondOther, firstOther] = [firstOther, best[c]];
      else if (best[c] > secondOther) secondOther = best[c];
    }
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
  const logistic = fitLogistic(features);

  const mixtureGain = calibrateMixtureGain(matrix, options);
  let unknownComponentThreshold = unknownThreshold;
  if (options.mixtureEmbeddings && options.mixtureEmbeddings.length >= matrix.dim * 10) {
    const fits: number[] = [];
    const n = options.mixtureEmbeddings.length / matrix.dim;
    for (let i = 0; i < n; i++) {
      const q = options.mixtureEmbeddings.subarray(i * matrix.dim, (i + 1) * matrix.dim);
      const all = beamMixtureSearch(matrix.centroids, matrix.dim, q, { maxComponents: options.maxComponents ?? 5, beamWidth: 8 });
      fits.push(Math.max(...all.map((f) => f.similarity)));
    }
    unknownComponentThreshold = quantile(Float32Array.from(fits), targetFalseUnknownRate);
  }

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
  };
}

/** Calibrated confidence in [0, 1] that the top class is right, from its similarity and its margin over the next. */
export function confidence(cal: Calibration, similarity: number, margin: number): number {
  const z = cal.logistic.bias + cal.logistic.similarity * similarity + cal.logistic.margin * margin;
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
 * these call a mixture.
 */
function calibrateMixtureGain(matrix: LibraryMatrix, options: CalibrationOptions): number {
  const rate = options.falseMixtureRate ?? 0.01;
  const rows = sampleRows(matrix, options.maxMixtureSamples ?? 300, (options.seed ?? 1) + 1);
  const { dim } = matrix;
  const gains: number[] = [];
  const sums = classSums(matrix);
  for (const r of rows) {
    const own = matrix.labels[r];
    const centroids = Float32Array.from(matrix.centroids);
    const c = centroids.subarray(own * dim, (own + 1) * dim);
    let norm = 0;
    for (let j = 0; j < dim; j++) {
      c[j] = sums[own * dim + j] - matrix.embeddings[r * dim + j];
      norm += c[j] * c[j];
    }
    // A class with a single reference has nothing left: the query then only tells how unseen compounds behave.
    if (norm < 1e-12) continue;
    for (let j = 0; j < dim; j++) c[j] /= Math.sqrt(norm);
    const q = matrix.embeddings.subarray(r * dim, (r + 1) * dim);
    const fits = beamMixtureSearch(centroids, dim, q, { maxComponents: 2, beamWidth: 4 });
    if (fits.length === 2) gains.push(fits[1].similarity - fits[0].similarity);
  }
  if (!gains.length) return 0.05;
  return Math.max(quantile(gains, 1 - rate), 1e-3);
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

/** Ridge-regularized logistic regression by Newton steps on 3 parameters; the ridge keeps separable data finite. */
function fitLogistic(samples: Array<[number, number, number]>): Logistic {
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
    for (const [s, m, y] of samples) {
      const x = [1, s, m];
      const p = 1 / (1 + Math.exp(-(w[0] + w[1] * s + w[2] * m)));
      for (let a = 0; a < 3; a++) {
        grad[a] += (p - y) * x[a];
        for (let b = 0; b < 3; b++) hess[a][b] += p * (1 - p) * x[a] * x[b];
      }
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
