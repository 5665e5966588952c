/**
 * Evidence for the unknown decision of the spectral ranking beyond the HQI (spectral-ranking.ts fits a logistic
 * model over the features a preset names, on the library's own leave-one-out samples):
 * - `embeddingCsls`: the encoder's view, hubness-corrected. The best cosine of the query's embedding to one of the
 *   class's references, less half of that reference's hubness (the mean of its k best cosines with other classes'
 *   references), as CSLS in cross-lingual retrieval: a mineral with close relatives claims their queries less.
 * - `gap`: the class's t = -ln(1 - HQI) less that of the best-ranked other class (top-1 against top-2), and `hqi`
 *   the class's HQI itself: both already at hand, each nudged the validation AUROC up (docs/RESULTS-REAL.md).
 * - `strongBandOffset`: the height-weighted distance of each side's 8 strongest bands to the nearest band of the
 *   other (capped), both ways summed: the band offset of the bands that carry the correlation.
 * - `bandMatch`: the mineralogist's band-list comparison, the mean of the height-weighted shares of each side's bands
 *   with a band of the other within a tolerance, best over the class's references.
 * - `peakOffset`: where the bands sit. Same mineral, another specimen: the bands of the query and of the class's
 *   best reference pair up within 1-2 cm-1; a relative (the same structure with another cation) has them several
 *   cm-1 apart, while its whole-spectrum correlation stays high. The height-weighted mean distance of paired bands
 *   (both ways, within a tolerance) measures that.
 */
import { findPeaks, type Peak } from '../peaks/peak-features.ts';
import { rollingMinBaseline } from './spectral-match.ts';

export type UnknownFeature = 'z' | 'csls' | 'embeddingCsls' | 'peakOffset' | 'gap' | 'hqi' | 'strongBandOffset' | 'bandMatch';

/** Peaks of an on-grid spectrum after a rolling-minimum baseline removal (positions in grid points). */
export function bandPeaks(spectrum: ArrayLike<number>, baselineWindow: number): Peak[] {
  const base = rollingMinBaseline(spectrum, baselineWindow);
  const y = Float32Array.from({ length: spectrum.length }, (_, i) => Math.max(0, spectrum[i] - base[i]));
  // Bands above 3 % of the strongest; a half window of 3 points keeps close bands apart on a ~1 cm-1 grid.
  return findPeaks(y, { minHeight: 0.03, halfWindow: 3 });
}

/** Distance from a peak to the nearest peak of a list (Infinity for an empty list). */
function nearestDistance(p: Peak, b: readonly Peak[]): number {
  let best = Infinity;
  for (const q of b) best = Math.min(best, Math.abs(q.position - p.position));
  return best;
}

/**
 * Height-weighted mean over peaks of `value(distance to b's nearest peak)`, counting only the peaks `counts` admits;
 * `empty` when none count. The band features below differ only in these three choices.
 */
function weightedOverPeaks(
  a: readonly Peak[],
  b: readonly Peak[],
  value: (distance: number) => number,
  counts: (distance: number) => boolean,
  empty: number,
): number {
  let weight = 0;
  let sum = 0;
  for (const p of a) {
    const d = nearestDistance(p, b);
    if (!counts(d)) continue;
    weight += p.height;
    sum += p.height * value(d);
  }
  return weight ? sum / weight : empty;
}

/** Height-weighted mean |offset| of a's peaks that have a peak of b within `tolerance` points (tolerance if none). */
function pairedOffset(a: readonly Peak[], b: readonly Peak[], tolerance: number): number {
  return weightedOverPeaks(a, b, (d) => d, (d) => d <= tolerance, tolerance);
}

/** The peak offset feature: paired-band distance from the query's bands and from the reference's, summed. */
export function peakOffset(query: readonly Peak[], reference: readonly Peak[], tolerance: number): number {
  return pairedOffset(query, reference, tolerance) + pairedOffset(reference, query, tolerance);
}

/** Height-weighted mean distance of a's 8 strongest peaks to the nearest peak of b, each at most `cap` points. */
function strongOffset(a: readonly Peak[], b: readonly Peak[], cap: number): number {
  const strong = [...a].sort((x, y) => y.height - x.height).slice(0, 8);
  return weightedOverPeaks(strong, b, (d) => Math.min(cap, d), () => true, cap);
}

/** The strong-band offset feature: both ways summed. */
export function strongBandOffset(query: readonly Peak[], reference: readonly Peak[], cap: number): number {
  return strongOffset(query, reference, cap) + strongOffset(reference, query, cap);
}

/** Height-weighted share of a's peaks with a peak of b within `tolerance` points. */
function pairedShare(a: readonly Peak[], b: readonly Peak[], tolerance: number): number {
  return weightedOverPeaks(a, b, (d) => (d <= tolerance ? 1 : 0), () => true, 0);
}

/** The band-match feature against one reference: the mean of both ways' paired shares, in [0, 1]. */
export function bandMatch(query: readonly Peak[], reference: readonly Peak[], tolerance: number): number {
  return 0.5 * (pairedShare(query, reference, tolerance) + pairedShare(reference, query, tolerance));
}

/**
 * Per reference row of a [rows x dim] embedding matrix: the mean of its k best cosines with rows of other classes
 * (quadratic in rows: ~2000 references take well under a second, once per library state).
 */
export function embeddingHubness(embeddings: Float32Array, labels: Int32Array, dim: number, k = 10): Float64Array {
  const rows = labels.length;
  const best: number[][] = Array.from({ length: rows }, () => []);
  const keep = (list: number[], v: number) => {
    if (list.length < k) list.push(v);
    else if (v > list[list.length - 1]) list[list.length - 1] = v;
    else return;
    list.sort((x, y) => y - x);
  };
  for (let a = 0; a < rows; a++) {
    const at = a * dim;
    for (let b = a + 1; b < rows; b++) {
      if (labels[a] === labels[b]) continue;
      let s = 0;
      const bt = b * dim;
      for (let j = 0; j < dim; j++) s += embeddings[at + j] * embeddings[bt + j];
      keep(best[a], s);
      keep(best[b], s);
    }
  }
  return Float64Array.from(best, (list) => (list.length ? list.reduce((x, y) => x + y, 0) / list.length : 0));
}

/**
 * The embedding CSLS of one class: best over its reference rows [from, to) (less `skipRow`) of the query's cosine
 * minus half the row's hubness; -1 when no row is left.
 */
export function embeddingCsls(query: Float32Array, embeddings: Float32Array, dim: number, hubs: Float64Array, from: number, to: number, skipRow?: number): number {
  let best = -Infinity;
  for (let r = from; r < to; r++) {
    if (r === skipRow) continue;
    let s = 0;
    const at = r * dim;
    for (let j = 0; j < dim; j++) s += embeddings[at + j] * query[j];
    best = Math.max(best, s - 0.5 * hubs[r]);
  }
  return Number.isFinite(best) ? best : -1;
}
