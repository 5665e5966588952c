import type { ClassRank, LibraryMatrix, ReferenceLibrary } from '../knn/library.ts';
import { findPeaks, peakLogLikelihood, peakTemplate, pooledModel, type Peak, type PeakTemplate } from './peak-features.ts';

/**
 * Deciding between two near-duplicate classes from their peaks. The encoder ranks near-duplicate classes (peaks
 * 10-70 points apart, or one differing height ratio) almost at random between themselves: its pooling and its
 * training against per-peak jitter throw away exactly the difference. When the kNN's top two classes are such a pair
 * (decided from the library alone: their references overlap in embedding space), the spectrum's peak list decides
 * between them by likelihood under each class's peak template (peak-features.ts), fitted from the references only,
 * so it works for classes enrolled without retraining as well.
 */

export interface PairDecisionOptions {
  /**
   * Largest whole-spectrum shift of a query against the references, in grid points (default 0.8 % of the grid, at
   * least 1: 40 points at the benchmark's 5000, the training's shift augmentation).
   */
  readonly maxShift?: number;
  /**
   * Spread of that shift in grid points: how much a whole shift costs against per-peak jitter. Default maxShift / sqrt(3),
   * the standard deviation of a shift uniform within +-maxShift (the training's shift augmentation). Chosen on
   * validation spectra, not the test split (docs/RESULTS.notes.md): 10-40 points tie, a flat cost (any shift free)
   * loses where two classes differ only by where their peaks sit.
   */
  readonly shiftSpread?: number;
  /**
   * Which top pairs the peaks decide: 'library' pairs whose reference clouds overlap in embedding space,
   * a class reaching as far as its farthest reference or 2.25 standard deviations of its references' similarity
   * below their mean, whichever is farther (about the farthest of 50 references, so a class with few references
   * is not held to the few it has); 'farthest': its farthest reference only; 'reach' (default): those pairs, and
   * any top two where the query lies within the runner-up's own reach or outside the winner's (needs the query's
   * embedding; without it, 'library'); 'always': any top two. Chosen on validation spectra (docs/RESULTS.notes.md):
   * errors of 5000 at 50 / 20 / 5 per class, library 57 / 71 / 148, reach 52 / 62 / 93, always 64 / 79 / 99.
   */
  readonly gate?: 'library' | 'farthest' | 'reach' | 'always';
}

export interface PairDecision {
  /** The ranking, its first two classes swapped when the peaks prefer the runner-up. */
  readonly ranking: readonly ClassRank[];
  /** The top two were a confusable pair and both had peak templates, so the peaks decided. */
  readonly decided: boolean;
  readonly swapped: boolean;
  /** Log-likelihood of the first class minus the second's, as ranked before (when decided). */
  readonly margin?: number;
}

interface PairCache {
  /** rows[c] = the reference rows of class c (the matrix lays classes out in blocks, but this does not rely on it). */
  readonly rows: Int32Array[];
  readonly templates: Map<string, PeakTemplate | null>;
  readonly radius: Map<string, number>;
  readonly confusable: Map<string, boolean>;
}
const caches = new WeakMap<LibraryMatrix, PairCache>();

function cacheFor(matrix: LibraryMatrix): PairCache {
  let cache = caches.get(matrix);
  if (!cache) {
    const counts = new Int32Array(matrix.classNames.length);
    for (const label of matrix.labels) counts[label]++;
    const rows = Array.from(counts, (n) => new Int32Array(n));
    const filled = new Int32Array(counts.length);
    matrix.labels.forEach((label, row) => (rows[label][filled[label]++] = row));
    cache = { rows, templates: new Map(), radius: new Map(), confusable: new Map() };
    caches.set(matrix, cache);
  }
  return cache;
}

/** A class's peak template from its references, or null when some reference came without a spectrum. */
export function classPeakTemplate(library: ReferenceLibrary, name: string): PeakTemplate | null {
  const cache = cacheFor(library.matrix());
  if (!cache.templates.has(name)) {
    const peaks = library.peaksOf(name);
    // Pairing scales: the benchmark's per-peak jitter (~30 points of 5000) relative to the grid, and a height step.
    const scales = { position: Math.max(1, 0.006 * library.points), height: 0.05 };
    cache.templates.set(name, peaks ? peakTemplate(peaks, scales) : null);
  }
  return cache.templates.get(name) ?? null;
}

/** How far a class reaches in embedding space: a cosine to its centroid (see PairDecisionOptions.gate). */
function classRadius(matrix: LibraryMatrix, cache: PairCache, classIndex: number, rule: 'library' | 'farthest'): number {
  const key = `${rule}:${classIndex}`;
  let r = cache.radius.get(key);
  if (r === undefined) {
    const { dim, embeddings, centroids } = matrix;
    const sims = Array.from(cache.rows[classIndex], (row) => dot(embeddings, row * dim, centroids, classIndex * dim, dim));
    r = Math.min(...sims);
    if (rule === 'library' && sims.length > 1) {
      const mean = sims.reduce((a, v) => a + v, 0) / sims.length;
      const sd = Math.sqrt(sims.reduce((a, v) => a + (v - mean) ** 2, 0) / (sims.length - 1));
      r = Math.min(r, mean - 2.25 * sd);
    }
    cache.radius.set(key, r);
  }
  return r;
}

/** Highest cosine of any reference of class `from` to the centroid of class `to`. */
function reachInto(matrix: LibraryMatrix, cache: PairCache, from: number, to: number): number {
  const { dim, embeddings, centroids } = matrix;
  let best = -Infinity;
  for (const row of cache.rows[from]) best = Math.max(best, dot(embeddings, row * dim, centroids, to * dim, dim));
  return best;
}

/**
 * Two classes are confusable when a reference of one lies within the other's own reach around its centroid
 * (classRadius): their reference clouds overlap, so the kNN vote between them is close to chance. Symmetric, from
 * the library alone.
 */
export function confusable(library: ReferenceLibrary, a: number, b: number, rule: 'library' | 'farthest' = 'library'): boolean {
  const matrix = library.matrix();
  const cache = cacheFor(matrix);
  const key = `${rule}:${a < b ? `${a}:${b}` : `${b}:${a}`}`;
  let v = cache.confusable.get(key);
  if (v === undefined) {
    v = reachInto(matrix, cache, b, a) >= classRadius(matrix, cache, a, rule) || reachInto(matrix, cache, a, b) >= classRadius(matrix, cache, b, rule);
    cache.confusable.set(key, v);
  }
  return v;
}

/**
 * Decides the top two of a kNN ranking by their peaks when they are a confusable pair. The query's spectrum must be
 * on the library's grid; without one, or without peak templates, the ranking is returned as it is.
 */
export interface PairQuery {
  /** The preprocessed spectrum on the library's grid. */
  readonly spectrum?: Float32Array;
  /** Its unit-norm embedding (the 'reach' gate). */
  readonly embedding?: Float32Array;
  /** Its peaks, when already found (findPeaks of the spectrum). */
  readonly peaks?: readonly Peak[];
}

export function decideConfusablePair(
  library: ReferenceLibrary,
  ranking: readonly ClassRank[],
  query: PairQuery,
  options: PairDecisionOptions = {},
): PairDecision {
  const unchanged: PairDecision = { ranking, decided: false, swapped: false };
  const { spectrum } = query;
  if (ranking.length < 2 || !spectrum || spectrum.length !== library.points) return unchanged;
  const [first, second] = ranking;
  const gate = options.gate ?? 'reach';
  if (gate !== 'always' && !confusable(library, first.classIndex, second.classIndex, gate === 'farthest' ? 'farthest' : 'library')) {
    // 'reach': the embedding is no help either when the query reaches the runner-up as its own references do, or
    // falls outside the winner's reach (the winner does not claim it as one of its own).
    const e = query.embedding;
    if (gate !== 'reach' || !e || !(withinReach(library, e, second.classIndex) || !withinReach(library, e, first.classIndex))) return unchanged;
  }
  const ta = classPeakTemplate(library, first.class);
  const tb = classPeakTemplate(library, second.class);
  if (!ta || !tb) return unchanged;
  const peaks = query.peaks ?? findPeaks(spectrum);
  if (!peaks.length) return unchanged;
  const maxShift = options.maxShift ?? Math.max(1, Math.round(0.008 * library.points));
  const model = pooledModel(ta, tb, { maxShift, shiftSpread: options.shiftSpread ?? maxShift / Math.sqrt(3) });
  const margin = peakLogLikelihood(ta, peaks, model) - peakLogLikelihood(tb, peaks, model);
  if (margin >= 0) return { ranking, decided: true, swapped: false, margin };
  return { ranking: [second, first, ...ranking.slice(2)], decided: true, swapped: true, margin };
}

/** The query is as close to the class's centroid as the class's own references reach. */
function withinReach(library: ReferenceLibrary, embedding: Float32Array, classIndex: number): boolean {
  const matrix = library.matrix();
  if (embedding.length !== matrix.dim) return false;
  return dot(embedding, 0, matrix.centroids, classIndex * matrix.dim, matrix.dim) >= classRadius(matrix, cacheFor(matrix), classIndex, 'library');
}

function dot(a: Float32Array, ai: number, b: Float32Array, bi: number, n: number): number {
  let s = 0;
  for (let j = 0; j < n; j++) s += a[ai + j] * b[bi + j];
  return s;
}
