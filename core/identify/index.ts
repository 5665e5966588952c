/** Public API of the identification engine: reference library, calibration, identification, mixture search. */
export type { Candidate, Identification, IdentificationStatus, MixtureComponent } from './types.ts';
export {
  ReferenceLibrary,
  serializeLibrary,
  deserializeLibrary,
  knnSearch,
  type ClassRank,
  type KnnOptions,
  type KnnResult,
  type LibraryClassInfo,
  type LibraryInit,
  type LibraryMatrix,
  type Neighbor,
} from './knn/library.ts';
export {
  calibrate,
  confidence,
  similarityDistributions,
  synthesizeMixtureEmbeddings,
  withMixtureEmbeddings,
  mixtureFitThreshold,
  logDistance,
  classStatistics,
  perClassConfidence,
  quantile,
  type PerClassCalibration,
  type Calibration,
  type CalibrationOptions,
  type SimilarityDistributions,
} from './knn/calibration.ts';
export {
  beamMixtureSearch,
  exhaustiveMixtureSearch,
  exhaustiveMemoryBytes,
  binomial,
  memberMargins,
  nnls,
  setSimilarity,
  type BeamOptions,
  type MixtureFit,
} from './mixture/mixture.ts';
export { identify, identifyBatch, calibrationFor, type IdentifyOptions, type IdentifyQuery } from './identify.ts';
export { auroc } from './metrics.ts';
export { coveredRange, hitQuality, matchProfile, matchView, rollingMinBaseline, viewCorrelation, type MatchOptions, type MatchProfile, type MatchView, type MatchViewOptions } from './spectral/spectral-match.ts';
export { SPECTRAL_PRESETS, spectralAnswer, spectralIndexFor, spectralRankingFor, spectralScores, type SpectralAnswer, type SpectralIndex, type SpectralRankingOptions } from './spectral/spectral-ranking.ts';
