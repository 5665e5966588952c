/**
 * Library search beside the embedding: every class gets its spectral hit-quality index (spectral-match.ts, best over
 * its references), the ranking adds the embedding similarity with a weight chosen per technique on a validation
 * split, and unknown / low-confidence come from how far the top class stands above the query's null distribution:
 * its scores against the other classes and against synthetic decoy spectra, in t = -ln(1 - score). A library holds
 * 1-3 spectra per compound, too few for per-class spreads; the null is the query's own, so one cut serves every
 * class, and the decoys give a one-class library a null too. The cut is calibrated on the library (leave-one-out
 * same-class matches, for a target false-unknown rate) shrunk towards a prior chosen on the RRUFF dev corpus. With
 * the preset's `hubness` (Raman) the unknown statistic is a logistic model over that z, the hubness-corrected HQI
 * (CSLS: references with close relatives in the library claim queries of unenrolled relatives) and the preset's
 * further features (the encoder's CSLS, the offset of paired bands: unknown-evidence.ts), fitted on the library's
 * own leave-one-out queries (unknown-model.ts).
 */
import { deriveRng } from '../../math/rng.ts';
import type { InputGrid } from '../../encoder/types.ts';
import { techniqueOfGrid } from '../../preprocess/grids.ts';
import type { LibraryMatrix, ReferenceLibrary } from '../knn/library.ts';
import { hitQuality, matchProfile, type MatchOptions, type MatchProfile, type MatchView, type MatchViewOptions } from './spectral-match.ts';
import type { Peak } from '../peaks/peak-features.ts';
import type { Candidate } from '../types.ts';
import { bandMatch, bandPeaks, embeddingCsls, embeddingHubness, peakOffset, strongBandOffset, type UnknownFeature } from './unknown-evidence.ts';
import { crossFittedCut, fitUnknownModel, unknownLogOdds, type UnknownModel } from './unknown-model.ts';

export interface SpectralRankingOptions {
  readonly match: MatchOptions;
  /** Weight of the embedding's class similarity added to the HQI in the ranking (0: HQI alone). */
  readonly embeddingWeight: number;
  /** Prior cut on the top class's null z below which the answer is unknown, and how many samples it weighs. */
  readonly priorCut: number;
  readonly priorWeight: number;
  /**
   * Below `smallLibrary` classes (default 20) the null is mostly decoys, so a top HQI under this floor is unknown
   * too: the 5 % quantile of correct top HQIs on the dev corpus's validation queries.
   */
  readonly hqiFloor: number;
  readonly smallLibrary?: number;
  /** False-unknown rate the library's own cut aims at. Default 0.05. */
  readonly targetFalseUnknown?: number;
  /** Synthetic decoy spectra in every query's null. Default 64. */
  readonly decoys?: number;
  /** Typical band width of the technique in grid points (decoys). */
  readonly bandWidth: number;
  /** Classes scored exactly after the fast screen (the others keep the screen's score). Default 48. */
  readonly shortlist?: number;
  /**
   * Hubness-corrected unknown statistic (CSLS, as in cross-lingual retrieval): a reference that correlates well
   * with many other classes' references (a mineral with close relatives) loses `weight` times the mean of its `k`
   * best such correlations, and the unknown statistic becomes a logistic model over the top class's null z and that
   * corrected score, fitted on the library alone (leave-one-reference-out = known, leave-one-class-out =
   * pseudo-unknown; unknown-model.ts). Absent: the null z alone.
   */
  readonly hubness?: { readonly k: number; readonly weight: number };
  /**
   * Features of the top class the unknown model is fitted on (unknown-evidence.ts); default with `hubness`:
   * z and csls. `embeddingCsls` and `peakOffset` add the encoder's hubness-corrected similarity and the distance
   * of paired bands (within `peakTolerance` grid points) to the class's best reference.
   */
  readonly unknownFeatures?: readonly UnknownFeature[];
  readonly peakTolerance?: number;
  /** Cap of the strong-band offset (strongBandOffset) and tolerance of the band match (bandMatch), grid points. */
  readonly strongBandCap?: number;
  readonly bandMatchTolerance?: number;
  /**
   * Folds (by class) of the out-of-fold scores the unknown model's cut is the quantile of (default 5); below 2 the
   * quantile of the scores of the very samples the model was fitted on, which cuts too high in a small library.
   */
  readonly cutFolds?: number;
}

/**
 * Settings per technique, chosen on the validation minerals of the RRUFF dev corpus (bench/real/tune.ts; figures in
 * docs/RESULTS-REAL.md), with widths in the grid's x unit (cm-1) so they mean the same on any model's grid. Raman:
 * square-root intensities after a rolling minimum of 100 cm-1; IR: the baseline-removed spectrum (rolling minimum of
 * 200 cm-1) and its first derivative (smoothed over 10 cm-1). Cuts and floors: see SpectralRankingOptions.
 * Embedding weights (bench:real --weights 0,0.25,0.5,1 with the fold-0 models, validation part): the smallest weight
 * whose validation top-1 is within one query of the best: Raman 0.25 (88.2 % at 0, 89.1 at 0.25, 89.4 at 0.5 and 1
 * of 331 queries), IR 0.25 (81.1, 83.0, 83.0, 84.9 of 53).
 */
export const SPECTRAL_PRESETS = {
  'raman-532': {
    views: [{ baseline: 'rollingMin', baselineWidth: 100, transform: 'sqrt' }],
    embeddingWeight: 0.25,
    // Validation AUROC 0.881 -> 0.90 (bench/real/unknown-tune.ts); IR went down (0.830 -> 0.813), so IR has none.
    hubness: { k: 10, weight: 0.5 },
    // Validation AUROC 0.899 -> 0.916 with the encoder's CSLS and the paired-band offset, 0.916 -> 0.921 with the
    // gap to the runner-up, the HQI, the strong-band offset and the band match (0.869 -> 0.884 on class fold 1 with
    // the fold-1 model, minerals it never saw; bench/real/unknown-study.ts).
    unknownFeatures: ['z', 'csls', 'embeddingCsls', 'peakOffset', 'gap', 'hqi', 'strongBandOffset', 'bandMatch'],
    peakTolerance: 8,
    strongBandCap: 12,
    bandMatchTolerance: 5,
    priorCut: 2.4,
    priorWeight: 20,
    hqiFloor: 0.72,
    bandWidth: 8,
  },
  ir: {
    views: [
      { baseline: 'rollingMin', baselineWidth: 200 },
      { baseline: 'none', transform: 'derivative', smoothWidth: 10 },
    ],
    embeddingWeight: 0.25,
    priorCut: 1.8,
    priorWeight: 20,
    hqiFloor: 0.56,
    bandWidth: 16,
  },
} as const satisfies Record<'raman-532' | 'ir', SpectralPreset>;

/** A preset with widths in x units (cm-1); spectralRankingFor turns them into grid points. */
export interface SpectralPreset extends Omit<SpectralRankingOptions, 'match' | 'bandWidth' | 'peakTolerance' | 'strongBandCap' | 'bandMatchTolerance'> {
  /** Paired-band tolerance, strong-band cap and band-match tolerance in x units (cm-1). */
  readonly peakTolerance?: number;
  readonly strongBandCap?: number;
  readonly bandMatchTolerance?: number;
  readonly views: readonly (Omit<MatchViewOptions, 'baselineWindow' | 'smooth'> & { readonly baselineWidth?: number; readonly smoothWidth?: number })[];
  readonly bandWidth: number;
}

const forGrid = new Map<string, SpectralRankingOptions>();

/**
 * The spectral ranking for a model grid: the technique's preset in the grid's points (one object per grid, so a
 * library state's index is built once), or null (the benchmark's index grid, units without a preset).
 */
export function spectralRankingFor(grid: InputGrid, overrides: Partial<Pick<SpectralRankingOptions, 'embeddingWeight'>> = {}): SpectralRankingOptions | null {
  const technique = techniqueOfGrid(grid);
  if (technique !== 'raman-532' && technique !== 'ir') return null;
  const key = `${technique}|${grid.xStart}|${grid.xEnd}|${grid.points}|${overrides.embeddingWeight ?? ''}`;
  const known = forGrid.get(key);
  if (known) return known;
  const preset: SpectralPreset = SPECTRAL_PRESETS[technique];
  const step = (grid.xEnd - grid.xStart) / (grid.points - 1);
  const points = (width: number | undefined, min: number) => (width === undefined ? undefined : Math.max(min, Math.round(width / step)));
  const { views, bandWidth, peakTolerance, strongBandCap, bandMatchTolerance, ...rest } = preset;
  const options: SpectralRankingOptions = {
    ...rest,
    ...overrides,
    match: {
      views: views.map(({ baselineWidth, smoothWidth, ...view }) => ({
        ...view,
        ...(baselineWidth !== undefined ? { baselineWindow: points(baselineWidth, 3) } : {}),
        ...(smoothWidth !== undefined ? { smooth: points(smoothWidth, 1) } : {}),
      })),
    },
    bandWidth: bandWidth / step,
    ...(peakTolerance !== undefined ? { peakTolerance: peakTolerance / step } : {}),
    ...(strongBandCap !== undefined ? { strongBandCap: strongBandCap / step } : {}),
    ...(bandMatchTolerance !== undefined ? { bandMatchTolerance: bandMatchTolerance / step } : {}),
  };
  forGrid.set(key, options);
  return options;
}

/** What a library state needs for spectral ranking, built once per state (spectralIndexFor). */
export interface SpectralIndex {
  readonly options: SpectralRankingOptions;
  /** Per class (matrix order), its references' profiles. */
  readonly classes: readonly (readonly MatchProfile[])[];
  readonly decoys: readonly MatchProfile[];
  /** Unknown below this null z of the top class. */
  readonly cut: number;
  /** Scale of the logistic score around the cut. */
  readonly scale: number;
  /** Same-class leave-one-out samples the cut was calibrated on. */
  readonly samples: number;
  /** Per class (matrix order), per reference: its hubness (mean of its k best correlations with other classes). */
  readonly hubs: readonly (readonly number[])[] | null;
  /** The fitted unknown statistic over the features (options.hubness), or null: the null z alone. */
  readonly unknownModel: UnknownModel | null;
  /** What the features beyond z and csls need: per class, per reference, its bands (peakOffset). */
  readonly peaks: readonly (readonly (readonly Peak[])[])[] | null;
  /** Per reference row of the library matrix: its embedding hubness (embeddingCsls), and each class's first row. */
  readonly embeddingHubs: Float64Array | null;
  readonly classRows: Int32Array;
  /** The library's reference embeddings (matrix order) the embedding feature compares a query with. */
  readonly embeddingSource: { readonly embeddings: Float32Array; readonly dim: number } | null;
}

/** What a query brings to the unknown features besides its scores. */
export interface QueryEvidence {
  readonly embedding: Float32Array | null;
  /** The query's bands (bandPeaks), when the features need them. */
  readonly peaks: readonly Peak[] | null;
  /** A library row left out (leave-one-out calibration). */
  readonly skipRow?: number;
}

export interface ClassSpectralScore {
  readonly classIndex: number;
  /** Best HQI of the query against the class's references. */
  readonly hqi: number;
  /** HQI plus the weighted embedding similarity: what the ranking sorts by. */
  readonly combined: number;
  /** Best over the class's references of HQI minus its weighted hubness (options.hubness), else the HQI. */
  readonly csls: number;
  /** The class's reference (its index in the class) with the best HQI. */
  readonly reference: number;
  /**
   * How far the class's HQI stands above the query's null (the other classes' HQIs and the decoys'), in t standard
   * deviations: the unknown statistic. The HQI alone, not the combined score: on the dev corpus's validation
   * queries adding the embedding lowered the unknown AUROC (0.88 -> 0.81 at weight 0.5, docs/RESULTS-REAL.md).
   */
  readonly z: number;
}

/** Per library state, one index per options object (a preset per grid: spectralRankingFor keeps them unique). */
const indexCache = new WeakMap<LibraryMatrix, Map<SpectralRankingOptions, SpectralIndex>>();

/** The spectral index of a library state, or null when some class keeps no reference spectra. */
export function spectralIndexFor(library: ReferenceLibrary, options: SpectralRankingOptions, embeddingSims?: EmbeddingSims): SpectralIndex | null {
  const matrix = library.matrix();
  const cached = indexCache.get(matrix)?.get(options);
  if (cached) return cached;
  const classes: MatchProfile[][] = [];
  for (const name of matrix.classNames) {
    const spectra = library.spectraOf(name);
    if (!spectra || library.points === 0) return null;
    const rows: MatchProfile[] = [];
    for (let r = 0; r < spectra.length / library.points; r++) rows.push(matchProfile(spectra.subarray(r * library.points, (r + 1) * library.points), options.match));
    classes.push(rows);
  }
  const decoys = decoyProfiles(library.points, options);
  const hubs = options.hubness ? referenceHubness(classes, options.hubness.k) : null;
  const features = unknownFeaturesOf(options);
  let peaks: Peak[][][] | null = null;
  if (features.some((f) => f === 'peakOffset' || f === 'strongBandOffset' || f === 'bandMatch')) {
    const window = options.match.views[0]?.baselineWindow ?? 100;
    peaks = matrix.classNames.map((name) => {
      const spectra = library.spectraOf(name)!;
      return Array.from({ length: spectra.length / library.points }, (_, r) => bandPeaks(spectra.subarray(r * library.points, (r + 1) * library.points), window));
    });
  }
  const embeddingHubs = features.includes('embeddingCsls') ? embeddingHubness(matrix.embeddings, matrix.labels, matrix.dim, options.hubness?.k ?? 10) : null;
  const classRows = new Int32Array(classes.length + 1);
  classes.forEach((refs, c) => (classRows[c + 1] = classRows[c] + refs.length));
  const embeddingSource = embeddingHubs ? { embeddings: matrix.embeddings, dim: matrix.dim } : null;
  const base = { options, classes, decoys, hubs, peaks, embeddingHubs, classRows, embeddingSource, cut: options.priorCut, scale: 1, samples: 0, unknownModel: null };
  const index = { ...base, ...calibrateCut(base, matrix, embeddingSims ?? libraryEmbeddingSims(library)) };
  const perState = indexCache.get(matrix) ?? new Map<SpectralRankingOptions, SpectralIndex>();
  perState.set(options, index);
  indexCache.set(matrix, perState);
  return index;
}

/** The embedding's similarity of a query (or a reference, by row) to every class: mean of its best m. */
export type EmbeddingSims = (query: Float32Array, excludeReference?: number) => Float64Array;

/**
 * Embedding similarities as identify ranks classes: the mean of a class's best m reference cosines (all it has when
 * fewer), straight from the library's matrix (one pass, no sorting of classes).
 */
export function libraryEmbeddingSims(library: ReferenceLibrary, meanOfBest = 5): EmbeddingSims {
  return (query, excludeReference) => {
    const { embeddings, labels, dim, classNames } = library.matrix();
    const classes = classNames.length;
    // Best m per class, kept as a small sorted list (m is 5).
    const best: number[][] = Array.from({ length: classes }, () => []);
    for (let r = 0; r < labels.length; r++) {
      if (r === excludeReference) continue;
      let s = 0;
      const at = r * dim;
      for (let j = 0; j < dim; j++) s += embeddings[at + j] * query[j];
      const list = best[labels[r]];
      if (list.length < meanOfBest) list.push(s);
      else if (s > list[list.length - 1]) list[list.length - 1] = s;
      else continue;
      list.sort((a, b) => b - a);
    }
    const sims = new Float64Array(classes).fill(-1);
    best.forEach((list, c) => {
      if (list.length) sims[c] = list.reduce((a, b) => a + b, 0) / list.length;
    });
    return sims;
  };
}

/**
 * Scores every class for one on-grid query spectrum (embeddingSims: the embedding's class similarities, same order,
 * or null for HQI alone). Sorted by combined score, best first. `skip` leaves one reference out (calibration).
 */
export function spectralScores(
  index: Pick<SpectralIndex, 'options' | 'classes' | 'decoys'> & Partial<Pick<SpectralIndex, 'hubs'>>,
  query: MatchProfile,
  embeddingSims: Float64Array | null,
  skip?: { classIndex: number; reference?: number },
): ClassSpectralScore[] {
  const { options, classes, decoys } = index;
  const hubs = index.hubs ?? null;
  const hubWeight = options.hubness?.weight ?? 0;
  // `skip` without a reference leaves the whole class out (a pseudo-unknown query in calibration).
  const skipped = (c: number, r: number) => skip !== undefined && skip.classIndex === c && (skip.reference === undefined || skip.reference === r);
  const csls = new Float64Array(classes.length).fill(-Infinity);
  const corrected = (c: number, r: number, v: number) => {
    const u = hubs ? v - hubWeight * hubs[c][r] : v;
    if (u > csls[c]) csls[c] = u;
  };
  const w = embeddingSims ? options.embeddingWeight : 0;
  // Fast screen: the dot product of the views over the whole grid (exact Pearson when both cover the same range),
  // then the exact overlap correlation for the shortlist.
  const screen = new Float64Array(classes.length).fill(-2);
  const bestRef = new Int32Array(classes.length);
  for (let c = 0; c < classes.length; c++) {
    const refs = classes[c];
    for (let r = 0; r < refs.length; r++) {
      if (skipped(c, r)) continue;
      const v = screenScore(query, refs[r]);
      if (v > screen[c]) {
        screen[c] = v;
        bestRef[c] = r;
      }
      corrected(c, r, v);
    }
  }
  const combinedOf = (c: number, hqi: number) => hqi + (w && embeddingSims ? w * embeddingSims[c] : 0);
  const order = Array.from(screen.keys()).sort((a, b) => combinedOf(b, screen[b]) - combinedOf(a, screen[a]));
  const hqi = Float64Array.from(screen);
  for (const c of order.slice(0, options.shortlist ?? 48)) {
    if (screen[c] <= -2) continue;
    let best = -1;
    csls[c] = -Infinity;
    classes[c].forEach((ref, r) => {
      if (skipped(c, r)) return;
      const v = hitQuality(query, ref, options.match);
      if (v > best) {
        best = v;
        bestRef[c] = r;
      }
      corrected(c, r, v);
    });
    hqi[c] = best;
  }
  // The null: every class but the one judged, and the decoys (one pass, one object per class: this runs per query).
  const ts = new Float64Array(classes.length);
  let sum = 0;
  let sumSq = 0;
  let n = 0;
  const add = (t: number) => {
    sum += t;
    sumSq += t * t;
    n++;
  };
  for (let c = 0; c < classes.length; c++) {
    if (hqi[c] <= -2) continue;
    ts[c] = logDistance(hqi[c]);
    add(ts[c]);
  }
  for (const d of decoys) add(logDistance(screenScore(query, d)));
  // Leave the judged class out of its own null.
  const m = n - 1;
  const scored: ClassSpectralScore[] = [];
  for (let c = 0; c < classes.length; c++) {
    if (hqi[c] <= -2) continue;
    const mean = (sum - ts[c]) / m;
    const sd = Math.sqrt(Math.max(1e-12, (sumSq - ts[c] * ts[c]) / m - mean * mean));
    scored.push({ classIndex: c, hqi: hqi[c], combined: combinedOf(c, hqi[c]), csls: csls[c], reference: bestRef[c], z: (ts[c] - mean) / sd });
  }
  return scored.sort((x, y) => y.combined - x.combined);
}

/** The query's fast-screen correlations with the synthetic decoys (part of its null). */
export function decoyScores(index: Pick<SpectralIndex, 'decoys'>, query: MatchProfile): number[] {
  return index.decoys.map((d) => screenScore(query, d));
}

/** t = -ln(1 - s): spreads scores near 1, where the decisions are. */
function logDistance(s: number): number {
  return -Math.log(Math.max(1e-6, 1 - s));
}

/** Mean over views of the views' dot products over the whole grid. */
function screenScore(query: MatchProfile, reference: MatchProfile): number {
  let total = 0;
  for (let v = 0; v < query.views.length; v++) total += dot(query.views[v], reference.views[v]);
  return total / query.views.length;
}

/**
 * Dot product over the range both views cover. Four running sums: the screen runs it for every reference of every
 * query (half of identify's time at 1500 classes), and independent sums let the CPU overlap the additions (about
 * 1.4 times faster than one sum in V8, which does not vectorize this loop).
 */
function dot(a: MatchView, b: MatchView): number {
  const from = Math.max(a.from, b.from);
  const to = Math.min(a.to, b.to);
  const x = a.values;
  const y = b.values;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = from;
  for (; i + 3 <= to; i += 4) {
    s0 += x[i] * y[i];
    s1 += x[i + 1] * y[i + 1];
    s2 += x[i + 2] * y[i + 2];
    s3 += x[i + 3] * y[i + 3];
  }
  for (; i <= to; i++) s0 += x[i] * y[i];
  return s0 + s1 + s2 + s3;
}

/** The unknown features a ranking's model uses (none without options.hubness: the null z alone). */
function unknownFeaturesOf(options: SpectralRankingOptions): readonly UnknownFeature[] {
  return options.hubness ? (options.unknownFeatures ?? ['z', 'csls']) : [];
}

/**
 * The unknown features of one scored class; `other` is the best-ranked other class (the runner-up of the top one),
 * for the gap. A query without an embedding gets the library's mean of the embedding feature (no evidence either
 * way once standardized), one without bands the same for the band features.
 */
function unknownFeatures(index: Omit<SpectralIndex, 'cut' | 'scale' | 'samples'>, score: ClassSpectralScore, other: ClassSpectralScore | undefined, evidence: QueryEvidence): number[] {
  const features = unknownFeaturesOf(index.options);
  const matrixless = (i: number) => index.unknownModel?.mean[i] ?? 0;
  const { options } = index;
  return features.map((f, i) => {
    if (f === 'z') return score.z;
    if (f === 'csls') return score.csls;
    if (f === 'hqi') return score.hqi;
    if (f === 'gap') return logDistance(score.hqi) - (other ? logDistance(other.hqi) : 0);
    const c = score.classIndex;
    if (f === 'embeddingCsls') {
      if (!evidence.embedding || !index.embeddingHubs || !index.embeddingSource) return matrixless(i);
      const { embeddings, dim } = index.embeddingSource;
      return embeddingCsls(evidence.embedding, embeddings, dim, index.embeddingHubs, index.classRows[c], index.classRows[c + 1], evidence.skipRow);
    }
    if (!evidence.peaks || !index.peaks) return matrixless(i);
    const bands = index.peaks[c];
    if (f === 'strongBandOffset') return strongBandOffset(evidence.peaks, bands[score.reference], options.strongBandCap ?? 12);
    if (f === 'bandMatch') {
      // Best over the class's references (less the one left out in calibration).
      let best = 0;
      bands.forEach((ref, r) => {
        if (evidence.skipRow !== index.classRows[c] + r) best = Math.max(best, bandMatch(evidence.peaks!, ref, options.bandMatchTolerance ?? 5));
      });
      return best;
    }
    return peakOffset(evidence.peaks, bands[score.reference], options.peakTolerance ?? 8);
  });
}

/**
 * The unknown statistic of a scored class: the fitted model's log-odds when the index has one, else its null z.
 * `other`: the best-ranked other class (the gap feature).
 */
export function unknownStatistic(index: SpectralIndex, score: ClassSpectralScore, other: ClassSpectralScore | undefined, evidence: QueryEvidence): number {
  return index.unknownModel ? unknownLogOdds(index.unknownModel, unknownFeatures(index, score, other, evidence)) : score.z;
}

/** Fewest known and pseudo-unknown leave-one-out samples the unknown model is fitted on (else the z alone). */
const MIN_MODEL_SAMPLES = 20;

/**
 * The cut from the library: each reference of a class with another reference is queried against the library
 * without itself (as a query meets a class of 1-2 references); the target quantile of its top class's statistic.
 * With options.hubness, every reference is also queried against the library without its class (a pseudo-unknown)
 * and the unknown model is fitted on both groups; its cut is the quantile of the known samples' out-of-fold scores.
 * Without it the cut on z is shrunk towards the prior by their sample counts. At most 200 references per group
 * (evenly spread).
 */
function calibrateCut(
  index: Omit<SpectralIndex, 'cut' | 'scale' | 'samples'>,
  matrix: LibraryMatrix,
  sims: EmbeddingSims,
): { cut: number; scale: number; samples: number; unknownModel: UnknownModel | null } {
  const { options, classes } = index;
  const all: { c: number; r: number; row: number }[] = [];
  let row = 0;
  classes.forEach((refs, c) => {
    refs.forEach((_, r) => all.push({ c, r, row: row + r }));
    row += refs.length;
  });
  const spread = <T>(xs: T[]) => {
    const step = Math.max(1, xs.length / 200);
    const out: T[] = [];
    for (let i = 0; i < xs.length; i += step) out.push(xs[Math.floor(i)]);
    return out;
  };
  const topOf = ({ c, r, row: at }: (typeof all)[number], wholeClass: boolean) => {
    const embedding = matrix.embeddings.subarray(at * matrix.dim, (at + 1) * matrix.dim);
    const classSims = options.embeddingWeight ? sims(embedding, at) : null;
    if (classSims && wholeClass) classSims[c] = -Infinity;
    const [score, other] = spectralScores(index, classes[c][r], classSims, wholeClass ? { classIndex: c } : { classIndex: c, reference: r });
    const evidence: QueryEvidence = { embedding, peaks: index.peaks?.[c][r] ?? null, skipRow: at };
    return score === undefined ? undefined : { score, other, evidence, classIndex: c };
  };
  // Every same-class query counts, ranked first or not: the false-unknown rate is over all known queries.
  const known = spread(all.filter(({ c }) => classes[c].length >= 2))
    .map((s) => topOf(s, false))
    .filter((s) => s !== undefined);
  const knownScores = known.map((s) => s.score);
  const target = options.targetFalseUnknown ?? 0.05;
  const quantile = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(target * xs.length)];
  if (options.hubness && known.length >= MIN_MODEL_SAMPLES) {
    const unknown = spread(all)
      .map((s) => topOf(s, true))
      .filter((s) => s !== undefined);
    if (unknown.length >= MIN_MODEL_SAMPLES) {
      const features = (s: { score: ClassSpectralScore; other?: ClassSpectralScore; evidence: QueryEvidence }) => unknownFeatures(index, s.score, s.other, s.evidence);
      const knownRows = known.map(features);
      const unknownRows = unknown.map(features);
      const unknownModel = fitUnknownModel(knownRows, unknownRows);
      // The cut from out-of-fold scores (folds by class): the in-sample quantile cuts too high, the more so the
      // smaller the library (unknown-model.ts crossFittedCut).
      const groupOf = { known: known.map((s) => s.classIndex), unknown: unknown.map((s) => s.classIndex) };
      const folds = options.cutFolds ?? 5;
      const cut = folds >= 2 ? crossFittedCut(knownRows, unknownRows, target, groupOf, folds) : quantile(knownRows.map((x) => unknownLogOdds(unknownModel, x)));
      return { cut, scale: 1, samples: known.length, unknownModel };
    }
  }
  const zs = knownScores.map((s) => s.z);
  const own = zs.length ? quantile(zs) : options.priorCut;
  const k = options.priorWeight;
  const cut = (zs.length * own + k * options.priorCut) / (zs.length + k);
  return { cut, scale: 1, samples: zs.length, unknownModel: null };
}

/**
 * Per reference, the mean of its k best screen correlations with other classes' references: how strongly it
 * attracts queries of other minerals (its hubness; high for a mineral with close relatives in the library).
 */
function referenceHubness(classes: readonly (readonly MatchProfile[])[], k: number): number[][] {
  const flat = classes.flatMap((refs, c) => refs.map((profile) => ({ c, profile })));
  const best = flat.map(() => [] as number[]);
  const keep = (list: number[], v: number) => {
    if (list.length < k) list.push(v);
    else if (v > list[list.length - 1]) list[list.length - 1] = v;
    else return;
    list.sort((a, b) => b - a);
  };
  for (let a = 0; a < flat.length; a++) {
    for (let b = a + 1; b < flat.length; b++) {
      if (flat[a].c === flat[b].c) continue;
      const v = screenScore(flat[a].profile, flat[b].profile);
      keep(best[a], v);
      keep(best[b], v);
    }
  }
  const mean = (xs: number[]) => (xs.length ? xs.reduce((x, y) => x + y, 0) / xs.length : 0);
  let i = 0;
  return classes.map((refs) => refs.map(() => mean(best[i++])));
}

/**
 * Synthetic decoys on the grid: sums of Lorentzian bands at random positions, widths around the technique's band
 * width and log-normal heights (seeded, the same for every library on the grid), seen through the same views.
 */
function decoyProfiles(points: number, options: SpectralRankingOptions): MatchProfile[] {
  const count = options.decoys ?? 64;
  const rng = deriveRng(0xdec0, points);
  const out: MatchProfile[] = [];
  for (let d = 0; d < count; d++) {
    const y = new Float64Array(points);
    const bands = 3 + Math.floor(rng.next() * 25);
    for (let b = 0; b < bands; b++) {
      const center = rng.next() * points;
      const width = options.bandWidth * Math.exp(rng.normal() * 0.5);
      const height = Math.exp(rng.normal());
      for (let i = 0; i < points; i++) y[i] += height / (1 + ((i - center) / width) ** 2);
    }
    const max = y.reduce((m, v) => Math.max(m, v), 0);
    out.push(matchProfile(Float32Array.from(y, (v) => v / max + 1e-6), options.match));
  }
  return out;
}

export interface SpectralAnswer {
  readonly status: 'identified' | 'low-confidence' | 'unknown';
  readonly class?: string;
  readonly score: number;
  readonly candidates: readonly Candidate[];
}

/**
 * identify()'s single-compound answer from the spectral ranking, or null when the library keeps no reference
 * spectra for some class (then the embedding decides alone). Candidates best first by the combined score, each with
 * its HQI (spectralMatch) and embedding similarity; score = logistic(asinh) of the class's null z around the cut, so the
 * top candidate scores >= 0.5 exactly when it is not unknown. Low-confidence: the runner-up also passes the cut
 * within one z of the top.
 */
export function spectralAnswer(
  library: ReferenceLibrary,
  options: SpectralRankingOptions,
  spectrum: Float32Array,
  embedding: Float32Array | null,
  wanted: number,
): SpectralAnswer | null {
  const sims = embedding && options.embeddingWeight ? libraryEmbeddingSims(library) : null;
  const index = spectralIndexFor(library, options, sims ?? undefined);
  if (!index) return null;
  const names = library.matrix().classNames;
  const classSims = sims && embedding ? sims(embedding) : null;
  const scores = spectralScores(index, matchProfile(spectrum, options.match), classSims);
  const evidence: QueryEvidence = { embedding, peaks: index.peaks ? bandPeaks(spectrum, options.match.views[0]?.baselineWindow ?? 100) : null };
  const small = names.length < (options.smallLibrary ?? 20);
  // asinh before the logistic keeps scores apart far from the cut (a plain logistic rounds every distant candidate
  // to 0 or 1, and a hit list of ties says nothing).
  const logistic = (v: number) => 1 / (1 + Math.exp(-Math.asinh(v)));
  // Below the floor a small library's score drops under 0.5 like an unknown's (0.05 HQI per logistic unit).
  const stats = new Map<number, number>();
  const stat = (s: ClassSpectralScore) => {
    let v = stats.get(s.classIndex);
    if (v === undefined) stats.set(s.classIndex, (v = unknownStatistic(index, s, s === scores[0] ? scores[1] : scores[0], evidence)));
    return v;
  };
  const scoreOf = (s: ClassSpectralScore) => Math.min(logistic((stat(s) - index.cut) / index.scale), small ? logistic((s.hqi - options.hqiFloor) / 0.05) : 1);
  const passes = (s: ClassSpectralScore) => stat(s) >= index.cut && (!small || s.hqi >= options.hqiFloor);
  // Scores never rise down the ranking (a class ranked lower by the combined score cannot show more confidence than
  // one above it); six decimals and a step of 1e-6 keep near-equal candidates apart.
  let ceiling = Infinity;
  const candidates: Candidate[] = scores.slice(0, wanted).map((s) => ({
    class: names[s.classIndex],
    score: (ceiling = Math.min(Math.round(scoreOf(s) * 1e6) / 1e6, ceiling - 1e-6)),
    ...(classSims ? { similarity: round(classSims[s.classIndex]) } : {}),
    spectralMatch: round(s.hqi),
  }));
  const [top, second] = scores;
  if (!passes(top)) return { status: 'unknown', score: candidates[0].score, candidates };
  const close = second !== undefined && passes(second) && Math.abs(stat(top) - stat(second)) < index.scale;
  return { status: close ? 'low-confidence' : 'identified', class: candidates[0].class, score: candidates[0].score, candidates };
}

function round(v: number): number {
  return Math.round(v * 1e4) / 1e4;
}
