/** What the main thread hands the calibration worker, and what it answers (daemon/workers/calibration-worker.ts). */
import type { Calibration } from '../../core/identify/knn/calibration.ts';

export interface CalibrationJob {
  readonly dim: number;
  readonly points: number;
  readonly modelVersion: string;
  /** The library's classes in library order, each with its reference embeddings (row-major [count, dim]). */
  readonly classes: ReadonlyArray<{ readonly name: string; readonly embeddings: Float32Array }>;
  readonly targetFalseUnknownRate: number;
  readonly maxComponents: number;
  /** Embeddings of synthesized mixtures of the library's own spectra: sets the unknown-component threshold. */
  readonly mixtureEmbeddings?: Float32Array;
}

export type CalibrationAnswer = { readonly ok: true; readonly calibration: Calibration; readonly ms: number } | { readonly ok: false; readonly message: string };
