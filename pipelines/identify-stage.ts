import type { Encoder } from '../core/encoder/types.ts';
import {
  calibrate,
  identify,
  identifyBatch,
  spectralRankingFor,
  synthesizeMixtureEmbeddings,
  withMixtureEmbeddings,
  type Calibration,
  type LibraryMatrix,
  type ReferenceLibrary,
} from '../core/identify/index.ts';
import type { Identification } from '../core/identify/types.ts';

export interface IdentifyStageOptions {
  readonly k: number;
  /** 'mean-of-best' (default): a class scores the mean of its meanOfBest best similarities; 'vote': the k-NN vote. */
  readonly rank?: 'mean-of-best' | 'vote';
  readonly meanOfBest?: number;
  /** Near-duplicate top pairs decided by the spectrum's peaks (default true). */
  readonly pairDecision?: boolean;
  /** off: single compounds only; auto: mixture search only when the single answer is not a confident one; always. */
  readonly mixture: 'off' | 'auto' | 'always';
  readonly maxComponents: number;
  readonly targetFalseUnknownRate: number;
  /** Coverage of the answers' conformal prediction sets (default core's DEFAULT_PREDICTION_SET_COVERAGE). */
  readonly predictionSetCoverage?: number;
}

/**
 * Encode + identify for one micro-batch: one encoder call for the whole batch, then kNN per spectrum. The library is
 * read at each batch (a function, not a value) because classes enrolled through the API replace it at runtime.
 */
export function createIdentifyStage(
  encoder: Encoder,
  library: () => ReferenceLibrary,
  options: IdentifyStageOptions,
  /** Called when a library state's calibration gained its unknown-component threshold (tests, logs). */
  onRefined?: (matrix: LibraryMatrix) => void,
  /**
   * A calibration the caller made for this library state off the identification path (mixtures included), asked at
   * every batch; undefined: this stage calibrates the state at its first batch.
   */
  prepared?: (library: ReferenceLibrary) => Calibration | undefined,
): (vectors: readonly Float32Array[]) => Promise<Identification[]> {
  const calibrations = new WeakMap<LibraryMatrix, Calibration>();
  const calibrationOf = (lib: ReferenceLibrary): Calibration | undefined => {
    if (lib.classCount < 2) return undefined; // core has its own rule for one class
    // Asked at every batch: the caller may replace a state's interim calibration by a fresh one.
    const given = prepared?.(lib);
    if (given) return given;
    const matrix = lib.matrix();
    let cal = calibrations.get(matrix);
    if (!cal) {
      cal = calibrate(lib, { targetFalseUnknownRate: options.targetFalseUnknownRate, maxComponents: options.maxComponents });
      calibrations.set(matrix, cal);
      if (options.mixture !== 'off') refineInBackground(lib, matrix, cal);
    }
    return cal;
  };
  // The unknown-component threshold needs mixtures of the library's own spectra embedded by this encoder (about 200
  // encoder rows): done after the first answer so start-up and enrollment never wait for it; until then a mixture's
  // residual is judged by the unknown threshold. A result for a library state that has since changed is dropped.
  const refineInBackground = (lib: ReferenceLibrary, matrix: LibraryMatrix, cal: Calibration): void => {
    const components = Math.min(4, options.maxComponents);
    void synthesizeMixtureEmbeddings(lib, encoder, 200, components)
      .then((mixtures) => {
        if (mixtures.length === 0 || lib.matrix() !== matrix || calibrations.get(matrix) !== cal) return;
        calibrations.set(matrix, withMixtureEmbeddings(cal, lib, mixtures, options.maxComponents));
        onRefined?.(matrix);
      })
      .catch(() => {
        // The encoder was swapped or disposed meanwhile: the calibration keeps its fallback threshold.
      });
  };

  const spectral = spectralRankingFor(encoder.grid);
  return async (vectors) => {
    const points = encoder.grid.points;
    const n = vectors.length;
    const batch = new Float32Array(n * points);
    vectors.forEach((v, i) => {
      if (v.length !== points) throw new RangeError(`spectrum ${i} has ${v.length} points, the model grid ${points}`);
      batch.set(v, i * points);
    });
    const embeddings = await encoder.embed(batch, n);
    const lib = library();
    const calibration = calibrationOf(lib);
    const base = {
      k: options.k,
      calibration,
      maxComponents: options.maxComponents,
      ...(options.rank === 'vote' ? { meanOfBest: false as const } : options.meanOfBest ? { meanOfBest: options.meanOfBest } : {}),
      ...(options.pairDecision === false ? { pairDecision: false as const } : {}),
      ...(options.predictionSetCoverage !== undefined ? { predictionSetCoverage: options.predictionSetCoverage } : {}),
      // A physical-grid model (Raman, IR): the spectral hit-quality index ranks beside the embedding.
      spectral: spectral ?? (false as const),
    };
    if (options.mixture !== 'auto') {
      return identifyBatch(embeddings, lib, { ...base, mixtures: options.mixture === 'always' }, batch);
    }
    // auto: the cheap single-compound answer first; the mixture search only where that answer is not confident.
    const single = identifyBatch(embeddings, lib, { ...base, mixtures: false }, batch);
    const dim = lib.dim;
    return single.map((answer, i) =>
      answer.status === 'identified'
        ? answer
        : identify(
            { embedding: embeddings.subarray(i * dim, (i + 1) * dim), spectrum: batch.subarray(i * points, (i + 1) * points) },
            lib,
            { ...base, mixtures: true },
          ),
    );
  };
}
