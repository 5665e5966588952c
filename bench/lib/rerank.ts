import { SpectrumInputError } from '../../core/errors.ts';
import { profileInto } from '../../core/identify/mixture/mixture-spectral.ts';
import type { ProfileSpec } from '../../core/identify/mixture/profile-dictionary.ts';

/**
 * Spectral re-ranking of the kNN's best classes. The encoder ranks classes by embedding; near-duplicate classes
 * (a few peaks moved by a few tens of points) can swap places there while the spectra themselves still say which
 * is which. Here the query's coarse profile (pooled, blurred: profile.ts) is compared with each candidate class's
 * reference profiles, allowing one common x-axis offset (an instrument's calibration drift moves every peak alike),
 * and the candidates are re-ordered by that spectral score. Only the few classes the embedding already put on top
 * are compared, so the cost does not grow with the library. Measured: worse than the embedding's own order on the
 * benchmark (see SHIFT_TOLERANT_DEFAULTS).
 */

export interface RerankOptions {
  /** Profile pooling and blur (points per bin, sigma in bins). */
  readonly spec: ProfileSpec;
  /** Largest common offset tried, in bins, each way (the profile of the query slides against the references). */
  readonly maxShiftBins: number;
  /**
   * 'mean': cosine with the class's mean profile; 'best': the best cosine over the class's individual references
   * (a reference that happens to sit where the query's peaks are says more than the blurred average).
   */
  readonly against: 'mean' | 'best';
}

/**
 * The settings bench/single-errors.ts compares first. Measured there at 500 classes (docs/RESULTS.notes.md): ordering
 * the kNN's top 3 by this score alone LOSES accuracy against the embedding (96.4-98.7 % vs 99.36 %): the training
 * references jitter every peak independently by up to 50 points, so their profiles cannot tell classes whose peaks
 * differ by less than that, which the encoder can. Not used by identify(); kept as the measured baseline.
 */
const SHIFT_TOLERANT_DEFAULTS: RerankOptions = { spec: { pool: 5, sigma: 1 }, maxShiftBins: 8, against: 'best' };

/** Per class: the unit-norm profiles of its references and their unit-norm mean. */
export interface SpectralReferenceIndex {
  readonly points: number;
  readonly spec: ProfileSpec;
  readonly dim: number;
  readonly classes: ReadonlyMap<string, { readonly references: Float32Array; readonly count: number; readonly mean: Float32Array }>;
}

/**
 * Builds the index from reference spectra (row-major [n, points], scaled like the queries) and their class names.
 * The spec must match the options the index is queried with.
 */
export function spectralReferenceIndex(
  spectra: Float32Array,
  n: number,
  points: number,
  labels: readonly string[],
  spec: ProfileSpec = SHIFT_TOLERANT_DEFAULTS.spec,
): SpectralReferenceIndex {
  if (spectra.length !== n * points || labels.length !== n) {
    throw new SpectrumInputError('library-shape', `${spectra.length} values and ${labels.length} labels do not make ${n} spectra of ${points} points`);
  }
  const dim = Math.ceil(points / spec.pool);
  const rowsOf = new Map<string, number[]>();
  labels.forEach((l, i) => rowsOf.set(l, [...(rowsOf.get(l) ?? []), i]));
  const classes = new Map<string, { references: Float32Array; count: number; mean: Float32Array }>();
  const row = new Float64Array(dim);
  for (const [name, rows] of rowsOf) {
    const references = new Float32Array(rows.length * dim);
    const mean = new Float32Array(dim);
    rows.forEach((r, k) => {
      profileInto(spectra.subarray(r * points, (r + 1) * points), row, spec);
      for (let j = 0; j < dim; j++) mean[j] += row[j];
      unitInto(row, references.subarray(k * dim, (k + 1) * dim));
    });
    unitInto(mean, mean);
    classes.set(name, { references, count: rows.length, mean });
  }
  return { points, spec, dim, classes };
}

export interface SpectralScore {
  readonly class: string;
  /** Best cosine between the query's profile and the class's (mean or best reference), over the offsets tried. */
  readonly spectralSimilarity: number;
  /** The query's offset from the references (bins, positive: towards higher x) at which it was reached. */
  readonly shiftBins: number;
}

/**
 * Re-orders candidate classes by their spectral similarity to the query, best first. Classes absent from the index
 * keep their place after the scored ones (score -Infinity), so a caller never loses a candidate.
 */
export function rerankBySpectrum(
  index: SpectralReferenceIndex,
  spectrum: ArrayLike<number>,
  candidates: readonly string[],
  options: RerankOptions = SHIFT_TOLERANT_DEFAULTS,
): SpectralScore[] {
  if (spectrum.length !== index.points) {
    throw new SpectrumInputError('query-points', `spectrum has ${spectrum.length} points, the reference index expects ${index.points}`);
  }
  if (options.spec.pool !== index.spec.pool || options.spec.sigma !== index.spec.sigma) {
    throw new SpectrumInputError('rerank-spec', 'the re-ranking options and the reference index use different profile specs');
  }
  const dim = index.dim;
  const raw = new Float64Array(dim);
  profileInto(spectrum, raw, index.spec);
  const q = unitInto(raw, new Float32Array(dim));
  const S = Math.max(0, Math.floor(options.maxShiftBins));
  const scores = candidates.map((name) => {
    const entry = index.classes.get(name);
    if (!entry) return { class: name, spectralSimilarity: -Infinity, shiftBins: 0 };
    let best = -Infinity;
    let bestShift = 0;
    const rows = options.against === 'mean' ? 1 : entry.count;
    const block = options.against === 'mean' ? entry.mean : entry.references;
    for (let s = -S; s <= S; s++) {
      // The query taken as offset by s bins from the references: q[j + s] against reference[j]. An offset loses the
      // profile's edge, never gains it.
      const lo = Math.max(0, -s);
      const hi = Math.min(dim, dim - s);
      for (let r = 0; r < rows; r++) {
        const base = r * dim;
        let dot = 0;
        for (let j = lo; j < hi; j++) dot += q[j + s] * block[base + j];
        if (dot > best) {
          best = dot;
          bestShift = s;
        }
      }
    }
    return { class: name, spectralSimilarity: best, shiftBins: bestShift };
  });
  // Stable: equal scores keep the embedding's order.
  return scores.map((s, i) => ({ s, i })).sort((a, b) => b.s.spectralSimilarity - a.s.spectralSimilarity || a.i - b.i).map((x) => x.s);
}

function unitInto(v: Float64Array | Float32Array, out: Float32Array): Float32Array {
  let s = 0;
  for (const x of v) s += x * x;
  const norm = Math.sqrt(s) || 1;
  for (let j = 0; j < v.length; j++) out[j] = v[j] / norm;
  return out;
}
