export type IdentificationStatus = 'identified' | 'low-confidence' | 'unknown' | 'mixture';

export interface Candidate {
  readonly class: string;
  /** Calibrated probability in [0, 1] that this class is the answer: the score candidates are sorted by. */
  readonly score: number;
  /** Embedding similarity: cosine of the query to this class's nearest reference. */
  readonly similarity?: number;
  /**
   * Spectral hit-quality index of the query against this class's references (Pearson on the common grid after
   * baseline removal and the technique's intensity transform, best reference; spectral-match.ts), in [-1, 1].
   */
  readonly spectralMatch?: number;
}

/**
 * What decided the answer: 'embedding' (the calibrated embedding scores), or 'peaks' (the top two were a confusable
 * pair, and the spectrum's peaks split their joint score; the named class may rank below its twin by similarity).
 */
export type DecidedBy = 'embedding' | 'peaks';

export interface MixtureComponent {
  readonly class: string;
  readonly score: number;
  /** Estimated share of the spectrum, the fractions summing to 1. */
  readonly fraction: number;
}

export interface Identification {
  readonly status: IdentificationStatus;
  /** The identified class (single compound); absent when unknown or a mixture. */
  readonly class?: string;
  readonly score: number;
  readonly candidates: readonly Candidate[];
  readonly components?: readonly MixtureComponent[];
  /** True when a mixture leaves a residual that no library class explains. */
  readonly unknownComponent?: boolean;
  /**
   * Share of the spectrum's signal the named class (alone, its template at whole shifts) or a mixture's components
   * explain, in [0, 1] (1 - the unexplained share); present when the spectrum and the reference spectra were at hand.
   */
  readonly fitQuality?: number;
  readonly decidedBy?: DecidedBy;
  /**
   * Conformal prediction set: the listed classes that hold the true class with probability `coverage`, best score
   * first. One class: a confident answer; several: the real alternatives; none: unknown to the library.
   */
  readonly predictionSet?: readonly string[];
  /** The prediction set's configured coverage, in (0, 1). */
  readonly coverage?: number;
}
