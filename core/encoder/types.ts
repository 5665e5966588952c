/** The x grid a model was trained on: spectra are resampled onto it before encoding. */
export interface InputGrid {
  readonly points: number;
  /** x of the first and last grid point, in xUnit. For the synthetic benchmark: 0 .. 4999, unit 'index'. */
  readonly xStart: number;
  readonly xEnd: number;
  readonly xUnit: string;
}

/**
 * Maps preprocessed spectra (each exactly grid.points long, max |y| = 1) to unit-norm embeddings.
 * Implementations: tfjs (wasm / node / cpu) and onnxruntime; all give the same numbers within 1e-4.
 */
export interface Encoder {
  readonly grid: InputGrid;
  readonly dim: number;
  /** Identifies the weights (model card hash + version): results carry it as modelVersion. */
  readonly version: string;
  /** Row-major [n, grid.points] in, row-major [n, dim] out, each row of unit L2 norm. */
  embed(batch: Float32Array, n: number): Promise<Float32Array>;
  dispose(): void;
}
