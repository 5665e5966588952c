export type IdentificationStatus = 'identified' | 'low-confidence' | 'unknown' | 'mixture';

export interface Candidate {
  readonly class: string;
  /** Calibrated confidence in [0, 1]. */
  readonly score: number;
  /** Cosine similarity of the query to this class's nearest references, for diagnostics. */
  readonly similarity?: number;
  /**
   * Spectral hit-quality index of the query against this class's references (Pearson on the common grid after
   * baseline removal and the technique's intensity transform, best reference; spectral-match.ts), in [-1, 1].
   */
  readonly spectralMatch?: number;
}

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
}
