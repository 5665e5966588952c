import { SpectrumInputError } from '../errors.ts';
import { calibrate, classStatistics, confidence, logDistance, perClassConfidence, predictionSetCut, type Calibration } from './knn/calibration.ts';
import type { ClassRank, LibraryMatrix, ReferenceLibrary } from './knn/library.ts';
import { beamMixtureSearch, hybridMixtureSearch, memberMargins, nnls, type MixtureFit } from './mixture/mixture.ts';
import { addProfile, profileDim, spectralProfile } from './mixture/profile.ts';
import { reconstructionMixtureFit, referenceProfilesFor, type ReferenceProfiles } from './mixture/mixture-spectral.ts';
import { unexplainedCalibrationFor } from './mixture/mixture-unknown.ts';
import { countThresholdsFor, decideComponentCount } from './mixture/mixture-count.ts';
import { classPeakTemplate, decideConfusablePair, type PairDecisionOptions } from './peaks/confusable-pairs.ts';
import { spectralAnswer, type SpectralRankingOptions } from './spectral/spectral-ranking.ts';
import { openSetFit, unknownScoreCap } from './mixture/open-set.ts';
import { membersWithoutPattern, type MemberCheckOptions } from './mixture/member-peaks.ts';
import type { Candidate, DecidedBy, Identification, MixtureComponent } from './types.ts';

export interface IdentifyQuery {
  /** Unit-norm embedding from the library's encoder. */
  readonly embedding: Float32Array;
  /** The preprocessed spectrum on the model grid, when at hand: mixture fractions are then fitted in spectral space. */
  readonly spectrum?: Float32Array;
}

export interface IdentifyOptions {
  /** Neighbours searched (default 3); with meanOfBest: false they vote, as in the paper. */
  readonly k?: number;
  /** Thresholds from calibrate(library); computed once per library state and cached when absent. */
  readonly calibration?: Calibration;
  /** Look for mixtures (default true). */
  readonly mixtures?: boolean;
  /** Most components considered (default 5). */
  readonly maxComponents?: number;
  /** Exactly this many components (a protocol where the count is known); skips the mixture decision. */
  readonly components?: number;
  readonly beamWidth?: number;
  /** A top class scoring below this is low-confidence (default 0.5). */
  readonly lowConfidenceScore?: number;
  /** Candidates listed (default 5). */
  readonly candidates?: number;
  /**
   * Per-reference spectral profiles for the mixture reconstruction search (mixture-spectral.ts); default: built from
   * the library's kept reference spectra; null: none (the profile hybrid search is used).
   */
  readonly referenceProfiles?: ReferenceProfiles | null;
  /**
   * Share of a mixture's signal left unexplained above which it holds an unknown component (reconstruction search
   * only); default: calibrated on query-like mixtures synthesized from the library (mixture-unknown.ts).
   */
  readonly unknownComponentShare?: number;
  /**
   * Who decides the component count when none is given: 'reconstruction' (default, when the spectrum and reference
   * profiles are at hand; mixture-count.ts) or 'embedding' (the beam search's gains, decideMixture; always without
   * them). On the benchmark the embedding called 94-100 % of 2-4-component mixtures single (RESULTS-MIXTURES.md).
   */
  readonly mixtureCount?: 'reconstruction' | 'embedding';
  /**
   * When the kNN's top two classes are a confusable pair (their references overlap in embedding space) and the query
   * comes with its spectrum, their peaks decide between them (confusable-pairs.ts); false: the class ranking alone.
   */
  readonly pairDecision?: PairDecisionOptions | false;
  /** Rank classes by the mean of their m best similarities (default DEFAULT_MEAN_OF_BEST); false: the paper's k-vote. */
  readonly meanOfBest?: number | false;
  /** Probability that the prediction set holds the true class (default DEFAULT_PREDICTION_SET_COVERAGE). */
  readonly predictionSetCoverage?: number;
  /**
   * Library search beside the embedding (spectral-ranking.ts; the technique's preset from spectralRankingFor(grid)):
   * with the query's spectrum and every class's reference spectra at hand, the single-compound answer, candidates
   * (with spectralMatch) and status come from the HQI combined with the embedding. Absent or false: embedding only.
   * No mixture search then (it is calibrated on the synthetic benchmark's embeddings, not yet on real spectra).
   */
  readonly spectral?: SpectralRankingOptions | false;
  /**
   * The open-set test's spectral half (open-set.ts), when the spectrum and reference spectra are at hand: a named
   * class (or mixture) leaving more of the spectrum unexplained than this share is not claimed. Default: calibrated
   * from the library (mixture-unknown.ts singleThreshold); false: the embedding's cut alone.
   */
  readonly openSetShare?: number | false;
  /**
   * The open-set test's mixture half at full resolution (member-peaks.ts): every member of a mixture must show its own
   * peaks, not only its main one; false: not checked. Only where the spectral half judges (openSetShare, openSetMinClasses).
   */
  readonly memberPeaks?: MemberCheckOptions | false;
  /** Fewest library classes for the spectral half to judge (open-set.ts OPEN_SET_MIN_CLASSES; tests of small libraries lower it). */
  readonly openSetMinClasses?: number;
}

/**
 * Prediction sets hold the true class of a query like the library's own references with this probability. 99 %, the
 * unknown gate's level (1 - the default targetFalseUnknownRate): an answer is only `identified` when its class is in
 * its set, and at 95 % one right answer in twenty would have to be left out of its own set (docs/CALIBRATION.md).
 */
export const DEFAULT_PREDICTION_SET_COVERAGE = 0.99;

/**
 * The answer is the class whose m best reference similarities have the highest mean, m = 5 (a class with fewer
 * references: the mean of all it has). Against the paper's k = 3 vote on the same embeddings (docs/RESULTS.notes.md,
 * bench/decision-rules.ts, bench:challenge --eval): single compound 50/class 58 -> 47 errors over 3 seeds, 20/class
 * 37 -> 36, 5/class 88 -> 83, unseen 5 -> 4, challenge set (27 classes in overlapping triplets) 82.7 -> 87.7 % on
 * seed 1, chosen on a test-like validation split there. A vote of 3 follows the few references nearest to the
 * query, which in overlapping classes are as often the neighbour's; the mean of a class's best 5 is steadier, and
 * unlike a class centroid it still follows a class's local shape (centroids lose on the 500-class protocols).
 */
export const DEFAULT_MEAN_OF_BEST = 5;

/**
 * How often the peaks name the right class of a confusable pair they decide: 360 of 363 decided pairs (99.2 %) among
 * validation spectra of the embedded default (bench:open-set: test-like draws of seed 11, and the same at the ends of
 * the test's shift range, --ends; never the published test split), the truth one of the pair in all 363.
 */
export const PAIR_DECISION_ACCURACY = 0.99;

const calibrationCache = new WeakMap<LibraryMatrix, Calibration>();

/** The library's calibration for its current state, computed on first use. */
export function calibrationFor(library: ReferenceLibrary): Calibration {
  const matrix = library.matrix();
  let cal = calibrationCache.get(matrix);
  if (!cal) {
    cal = calibrate(library);
    calibrationCache.set(matrix, cal);
  }
  return cal;
}

/**
 * Identifies one spectrum from its embedding: classes ranked by the mean of their best DEFAULT_MEAN_OF_BEST reference
 * similarities (the paper's k-vote with meanOfBest: false) for the single-compound answer, a confusable top pair decided
 * by its peaks when the spectrum is at hand, the mixture search (spectral reconstruction with the spectrum, else a beam
 * search over normalized sums of class embeddings), and calibrated thresholds for the status.
 */
export function identify(query: IdentifyQuery, library: ReferenceLibrary, options: IdentifyOptions = {}): Identification {
  if (library.classCount === 0) {
    throw new SpectrumInputError('library-empty', 'the reference library has no classes; enroll some first');
  }
  // A physical-grid library with its reference spectra: library search beside the embedding answers (single
  // compounds; spectral-ranking.ts), before any of the embedding-only work below.
  if (options.spectral && query.spectrum && query.spectrum.length === library.points) {
    const answer = spectralAnswer(library, options.spectral, query.spectrum, query.embedding, options.candidates ?? 5);
    if (answer) return answer;
  }
  const matrix = library.matrix();
  const q = query.embedding;
  const cal = options.calibration ?? (library.classCount >= 2 ? calibrationFor(library) : singleClassCalibration());
  const wanted = options.candidates ?? 5;
  const k = options.k ?? 3;
  const m = options.meanOfBest ?? DEFAULT_MEAN_OF_BEST;
  const knn = library.knn(q, { k, topClasses: Math.max(wanted, 2), ...(m ? { meanOfBest: m } : {}) });
  // The mean of a class's best m already treats a class with few references fairly (it averages what it has).
  const voted = m ? knn.ranking : fairVote(knn.ranking, library, k);
  const onGrid = query.spectrum && query.spectrum.length === library.points ? query.spectrum : undefined;
  const pc = cal.perClass;
  // Per class: t of the similarity standardized by the class's own center and spread (calibration.ts).
  const statsOf = (r: ClassRank) => classStatistics(pc!, r.classIndex, r.class, library.embeddingsOf(r.class).length / library.dim);
  const standardized = (r: ClassRank) => {
    const stats = statsOf(r);
    return (logDistance(r.similarity) - stats.center) / stats.spread;
  };
  /** The unknown gate: the class's own references do not claim the query. */
  const unclaimed = (r: ClassRank) => (pc ? standardized(r) < statsOf(r).cut : r.similarity < cal.unknownThreshold);
  const pairFound = options.pairDecision === false ? null : decideConfusablePair(library, voted, { spectrum: onGrid, embedding: q }, options.pairDecision ?? {});
  // The peaks may only name a class the embedding would name too: a runner-up its own references do not claim (far
  // below the winner) is no twin of it, whatever its peaks say, and naming it made answers contradict their lists.
  const pair = pairFound?.decided && !(pairFound.swapped && unclaimed(voted[1])) ? pairFound : null;
  const ranking = pair ? pair.ranking : voted;
  const sims = ranking.map((r) => r.similarity);
  /** A class's calibrated score: how well its own references claim the query, and its margin over `next`. */
  const scoreAbove = (r: ClassRank, next: number) =>
    pc ? perClassConfidence(pc, standardized(r), logDistance(r.similarity) - logDistance(next)) : confidence(cal, r.similarity, r.similarity - next);
  const embeddingScore = (r: ClassRank, i: number) => {
    const others = sims.filter((_, j) => j !== i);
    return scoreAbove(r, others.length ? Math.max(...others) : r.similarity - 1);
  };
  const scores = ranking.slice(0, wanted).map(embeddingScore);
  if (pair && scores.length >= 2) {
    // The embedding cannot tell a confusable pair apart, the peaks can. So the embedding judges the pair as one class:
    // how well its leader's own references claim the query (standardized t) and how far it stands above the best
    // class outside the pair; the peaks decide within it. The class they chose takes that score times the peaks'
    // accuracy in a decided pair, the other the rest. Summing the twins' own scores (each scored against the other as
    // its runner-up, a margin near zero) understated the pair: every low-confidence answer on validation spectra was a
    // right one decided by the peaks (docs/CALIBRATION.md).
    const lead = voted[0];
    const outside = ranking.slice(2);
    const joint = scoreAbove(lead, outside.length ? Math.max(...outside.map((r) => r.similarity)) : lead.similarity - 1);
    scores[0] = joint * PAIR_DECISION_ACCURACY;
    scores[1] = joint * (1 - PAIR_DECISION_ACCURACY);
    // A class outside the pair ranks below it by the embedding: its score never lifts it above the pair's choice
    // (a flat calibration, fitted on one or two references per class, scored every class alike and so put every
    // outsider above the chosen class's joint score times the peaks' accuracy).
    for (let i = 2; i < scores.length; i++) scores[i] = Math.min(scores[i], scores[0]);
  }
  const coverage = options.predictionSetCoverage ?? DEFAULT_PREDICTION_SET_COVERAGE;
  const setCut = pc ? predictionSetCut(pc, coverage) : undefined;
  const entries = ranking.slice(0, wanted).map((r, i) => ({ r, rank: i, score: scores[i] }));
  // One answer rule: the list is sorted by the score that decided, and the answer is its first entry.
  entries.sort((x, y) => y.score - x.score || x.rank - y.rank);
  const candidates: Candidate[] = entries.map(({ r, score }) => ({ class: r.class, score: round(score), similarity: round(r.similarity) }));
  const named = entries[0];
  const decidedBy: DecidedBy = pair && named.rank <= 1 ? 'peaks' : 'embedding';
  // Split conformal (calibration.ts predictionSetCut): every listed class its standardized t admits, best score first.
  const predictionSet = setCut === undefined ? undefined : entries.filter(({ r }) => standardized(r) >= setCut).map(({ r }) => r.class);
  const evidence = {
    decidedBy,
    ...(predictionSet ? { predictionSet, coverage } : {}),
  };
  // The embedding's (or the pair's) first class and the best score disagree: an ambiguous answer, never 'identified'.
  const rankAgreesWithScore = named.rank === 0;
  const top = candidates[0];
  const best = named.r.similarity;
  // Built once per library state (the daemon builds them at start for the mixture calibration).
  const referencesFor = () => (onGrid ? (options.referenceProfiles === undefined ? referenceProfilesFor(library, matrix) : options.referenceProfiles) : null);
  // The open-set test's spectral half (open-set.ts): how much of the spectrum the named class leaves unexplained.
  const gateIndex = onGrid && options.openSetShare !== false ? referencesFor() : null;
  const openSet = gateIndex && onGrid ? openSetFit(gateIndex, onGrid, named.r.class, options.openSetShare === false ? undefined : options.openSetShare, options.openSetMinClasses) : undefined;
  // With the spectral half at hand, the embedding half only rejects what lies below the cut at a tenth of the
  // false-unknown rate (the 99.9 % conformal cut for a 1 % rate): the spectrum tells absent compounds apart better than
  // the embedding's edge does (validation, bench:open-set --ends, cut -2.35 -> -2.67: known spectra called unknown
  // 0.69 -> 0.50 %, absent ones 97.75 % either way). A class known only through the prior keeps its own cut.
  const relaxedCut = pc && openSet ? predictionSetCut(pc, 1 - cal.targetFalseUnknownRate / 10) : undefined;
  const unclaimedWithSpectrum = (r: ClassRank) => {
    if (!pc || relaxedCut === undefined) return unclaimed(r);
    const own = statsOf(r).cut;
    return standardized(r) < (own === pc.cut ? Math.min(own, relaxedCut) : own);
  };
  // Unknown: nothing named, the set empty, and no candidate scores above what an unclaimed class can be worth.
  const unknownAnswer = (extra: Partial<Identification> = {}): Identification => {
    const cap = unknownScoreCap(cal.targetFalseUnknownRate);
    const capped = candidates.map((c) => ({ ...c, score: round(Math.min(c.score, cap)) }));
    return {
      status: 'unknown',
      score: capped[0].score,
      candidates: capped,
      decidedBy,
      ...(predictionSet ? { predictionSet: [], coverage } : {}),
      ...(openSet ? { fitQuality: round(Math.max(0, 1 - openSet.unexplained)) } : {}),
      ...extra,
    };
  };

  const mixturesOn = (options.mixtures ?? true) && library.classCount >= 2;
  if (mixturesOn) {
    const maxComponents = options.components ?? options.maxComponents ?? 5;
    const fits = beamMixtureSearch(matrix.centroids, matrix.dim, q, { maxComponents, beamWidth: options.beamWidth ?? 16 });
    const spectrum = onGrid;
    // No count given, spectrum at hand: the reconstruction may decide how many components (mixture-count.ts).
    const countWith = options.components === undefined && options.mixtureCount !== 'embedding' ? referencesFor() : null;
    const counted =
      spectrum && countWith
        ? decideComponentCount(countWith, matrix, q, spectrum, maxComponents, countThresholdsFor(countWith, options.unknownComponentShare), fits).fit
        : null;
    const chosen = options.components !== undefined ? fits[Math.min(options.components, fits.length) - 1] : counted ?? decideMixture(fits, cal);
    if (chosen && chosen.classIndices.length >= 2) {
      const references = countWith ?? referencesFor();
      const reconstruction = counted ?? (spectrum && references ? reconstructionMixtureFit(references, matrix, q, spectrum, chosen.classIndices) : null);
      const final =
        reconstruction
          ? reconstruction
          : spectrum && matrix.profiles
          ? hybridMixtureSearch(matrix.centroids, matrix.dim, q, matrix.profiles, matrix.profileDim, spectralProfile(spectrum), chosen.classIndices.length, {
              beamWidth: options.beamWidth ?? 16,
              embeddingStart: chosen,
            })
          : chosen;
      const components = describeComponents(final, matrix, q, cal, library, spectrum, reconstruction?.fractions);
      // With the reconstruction, the signal no member comes near decides (mixture-unknown.ts); the embedding fit is
      // the fallback (our encoders are not additive, so it says little about a spectrum's parts).
      const unknownComponent =
        reconstruction && references
          ? reconstruction.unexplained > (options.unknownComponentShare ?? unexplainedCalibrationFor(references).threshold)
          : chosen.similarity < cal.unknownComponentThreshold;
      // A mixture is only claimed when its members explain the spectrum as well as one library compound explains its
      // own spectra (the open-set bar) and no part is left that no member explains: a compound missing from the
      // library, fitted by a few library classes that each cover some of its peaks, is unknown, not their mixture.
      // (With a count given, the caller asked for that many components: the answer stays a mixture.)
      const bar = options.components === undefined && reconstruction && openSet ? openSet.cut : undefined;
      // Nor is it a mixture when a member shows its main peak without the rest of its own pattern (member-peaks.ts):
      // the spectrum is then judged as one compound, as if no mixture had been found (a compound the library lacks is
      // called unknown there, a single one the search split is named).
      const lacking =
        bar !== undefined && reconstruction && spectrum && options.memberPeaks !== false
          ? membersWithoutPattern(
              spectrum,
              components.map((c) => ({ class: c.class, share: c.fraction * Math.max(0, 1 - reconstruction.unexplained) })),
              (name) => classPeakTemplate(library, name),
              options.memberPeaks,
            )
          : [];
      if (lacking.length) {
        // fall through to the single-compound answer below
      } else if (reconstruction && (unknownComponent || (bar !== undefined && reconstruction.unexplained > bar)) && options.components === undefined) {
        return unknownAnswer({ components, unknownComponent: true, fitQuality: round(Math.max(0, 1 - reconstruction.unexplained)) });
      } else return {
        status: 'mixture',
        score: round(Math.min(...components.map((c) => c.score))),
        candidates,
        components,
        unknownComponent,
        ...(reconstruction ? { fitQuality: round(Math.max(0, 1 - reconstruction.unexplained)) } : {}),
        ...evidence,
      };
    }
  }

  // The gate judges the class that was named, on the evidence that named it: its own references must claim the
  // query (embedding) and its template must explain the spectrum (open-set.ts).
  // With the spectral half at work, the named class must also show its own pattern at full resolution (member-peaks.ts,
  // as a mixture's members must): a class whose peaks sit near an absent compound's at the profile's resolution but
  // not at one shift at the spectrum's (absent 482 named 15, their two peaks 71 points apart; a twin's test spectrum
  // named as the other twin) does not claim it.
  const lacksPattern = () =>
    onGrid !== undefined && options.memberPeaks !== false && openSet !== undefined
      ? membersWithoutPattern(onGrid, [{ class: named.r.class, share: Math.max(0, 1 - openSet.unexplained) }], (name) => classPeakTemplate(library, name), options.memberPeaks).length > 0
      : false;
  if (openSet !== undefined ? openSet.unexplained > openSet.cut || unclaimedWithSpectrum(named.r) || lacksPattern() : unclaimed(named.r)) return unknownAnswer();
  // Per class, the score already weighs the top class's own spread and the runner-up decoy; the global rule also
  // asks for a similarity no different-class pair reaches.
  // An identified answer's class is in its prediction set. With the spectrum at hand the gate's two tests together
  // claim the class even when its similarity alone sits just under the set's cut, and the set then holds it (so the
  // set covers at least its level; measured in docs/CALIBRATION.md); without it, such an answer is low-confidence.
  const claimedSet = predictionSet && openSet && !predictionSet.includes(top.class) ? [top.class, ...predictionSet] : predictionSet;
  const lowConfidence =
    !rankAgreesWithScore ||
    top.score < (options.lowConfidenceScore ?? 0.5) ||
    (!pc && best < cal.confidentThreshold) ||
    (claimedSet !== undefined && !claimedSet.includes(top.class));
  return {
    status: lowConfidence ? 'low-confidence' : 'identified',
    class: top.class,
    score: top.score,
    candidates,
    ...evidence,
    ...(claimedSet ? { predictionSet: claimedSet } : {}),
    ...(openSet ? { fitQuality: round(Math.max(0, 1 - openSet.unexplained)) } : {}),
  };
}

/**
 * A class with fewer than k references can never win a plain k-vote against a full class (one reference, one vote
 * against two), so a compound enrolled from a single spectrum would never be named. Votes count as a share of what
 * the class could cast, min(k, references); with k or more references in every class this is the plain vote.
 */
function fairVote(ranking: readonly ClassRank[], library: ReferenceLibrary, k: number): readonly ClassRank[] {
  const share = (r: ClassRank) => r.votes / Math.min(k, library.embeddingsOf(r.class).length / library.dim);
  if (!ranking.some((r) => r.votes > 0 && library.embeddingsOf(r.class).length / library.dim < k)) return ranking;
  return [...ranking].sort((a, b) => share(b) - share(a) || b.similarity - a.similarity);
}

/** Identifies a batch: row-major embeddings [n, dim], with the matching spectra [n, points] when at hand. */
export function identifyBatch(
  embeddings: Float32Array,
  library: ReferenceLibrary,
  options: IdentifyOptions = {},
  spectra?: Float32Array,
): Identification[] {
  const dim = library.dim;
  if (embeddings.length % dim !== 0) {
    throw new SpectrumInputError('query-dim', `${embeddings.length} embedding values is not a multiple of dim ${dim}`);
  }
  const n = embeddings.length / dim;
  const points = library.points;
  const cal = options.calibration ?? (library.classCount >= 2 ? calibrationFor(library) : undefined);
  const out: Identification[] = [];
  for (let i = 0; i < n; i++) {
    out.push(
      identify(
        {
          embedding: embeddings.subarray(i * dim, (i + 1) * dim),
          spectrum: spectra ? spectra.subarray(i * points, (i + 1) * points) : undefined,
        },
        library,
        { ...options, calibration: cal },
      ),
    );
  }
  return out;
}

/** The smallest number of components after which one more no longer beats the calibrated gain. */
function decideMixture(fits: readonly MixtureFit[], cal: Calibration): MixtureFit | undefined {
  const gain = (a: number, b: number) => (cal.perClass ? logDistance(a) - logDistance(b) : a - b);
  const needed = cal.perClass ? cal.perClass.mixtureGain : cal.mixtureGain;
  let m = 1;
  while (m < fits.length && gain(fits[m].similarity, fits[m - 1].similarity) > needed) m++;
  return fits[m - 1];
}

function describeComponents(
  fit: MixtureFit,
  matrix: LibraryMatrix,
  q: Float32Array,
  cal: Calibration,
  library: ReferenceLibrary,
  spectrum?: Float32Array,
  fittedFractions?: readonly number[],
): MixtureComponent[] {
  const { dim, centroids } = matrix;
  const margins = memberMargins(centroids, dim, q, fit.classIndices);
  // The reconstruction's own fractions when it ran (its fit, not a refit on class means).
  const spectralWeights =
    fittedFractions && fittedFractions.length === fit.classIndices.length
      ? [...fittedFractions]
      : spectrum
        ? spectralFractions(fit.classIndices, matrix, library, spectrum)
        : null;
  const weights =
    spectralWeights ??
    nnls(
      fit.classIndices.map((c) => centroids.subarray(c * dim, (c + 1) * dim)),
      q,
    );
  const total = weights.reduce((s, w) => s + w, 0);
  // A member's margin is how much better the fit is with it than with its best replacement; at a margin equal to the
  // calibrated mixture gain the member is as doubtful as the mixture call itself (score 0.5). Per class in t.
  const memberScore = (margin: number) => {
    if (!cal.perClass) return Math.max(0, margin) / (Math.max(0, margin) + cal.mixtureGain);
    const gain = Math.max(0, logDistance(fit.similarity) - logDistance(fit.similarity - Math.max(0, margin)));
    return gain / (gain + cal.perClass.mixtureGain);
  };
  return fit.classIndices
    .map((c, i) => ({
      class: matrix.classNames[c],
      score: round(memberScore(margins[i])),
      fraction: round(total > 0 ? weights[i] / total : 1 / fit.classIndices.length),
    }))
    .sort((a, b) => b.fraction - a.fraction);
}

/**
 * NNLS of the spectrum's profile on the components' mean reference profiles (profile.ts is linear, so a mixture's
 * profile is the weighted sum of its components'); null when some class has no profile.
 */
function spectralFractions(
  classes: readonly number[],
  matrix: LibraryMatrix,
  library: ReferenceLibrary,
  spectrum: Float32Array,
): number[] | null {
  const columns: Float64Array[] = [];
  for (const c of classes) {
    const name = matrix.classNames[c];
    const sum = library.profileSumOf(name);
    if (!sum) return null;
    const count = library.embeddingsOf(name).length / library.dim;
    columns.push(sum.map((v) => v / count));
  }
  const b = new Float64Array(profileDim(spectrum.length));
  addProfile(spectrum, b);
  const w = nnls(columns, b);
  return w.some((v) => v > 0) ? w : null;
}

/** A one-class library has no different-class distribution: only near-identical spectra count as that class. */
function singleClassCalibration(): Calibration {
  return {
    unknownThreshold: 0.9,
    confidentThreshold: 0.9,
    mixtureGain: 1,
    unknownComponentThreshold: 0.9,
    logistic: { bias: -45, similarity: 50, margin: 0 },
    targetFalseUnknownRate: 0.01,
    fdr: 0.01,
    samples: 0,
    looAccuracy: 0,
  };
}

function round(v: number): number {
  return Math.round(v * 1e4) / 1e4;
}
