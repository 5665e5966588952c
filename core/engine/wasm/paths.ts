/**
 * Which of our wasm paths run. The engine always runs with all of them; a benchmark compares a path against the
 * plainer one it replaced in the same process (bench:train's engines, bench:train-infer-ab), and a test checks that a
 * fast path gives the plainer path's numbers, by handing `setWasmPaths` (register.ts) one of the records below.
 */
export interface WasmPaths {
  /** Our kernel overrides registered (false: tfjs's stock wasm kernels, which cannot train: no Conv2DBackpropFilter). */
  readonly overrides: boolean;
  /** Gradients that reuse the forward pass's outputs (lean-gradients.ts); false: tfjs-core's own. */
  readonly leanGradients: boolean;
  /** Leading-axis Sum/Mean as XNNPACK average pools (reduce.ts). */
  readonly leadingReduce: boolean;
  /** The SIMD max-pool gradient (max-pool-grad.ts); false: its JS loops. */
  readonly simdMaxPoolGrad: boolean;
  /** The SIMD first/last-axis transpose (transpose.ts). */
  readonly simdTranspose: boolean;
  /** The conv1d filter gradient on our SIMD kernel (conv2d-backprop.ts); false: the XNNPACK formulation. */
  readonly simdFilterGrad: boolean;
  /** tfjs-layers' BatchNormalization training call as two fused SIMD kernels (batch-norm-training.ts). */
  readonly fusedBatchNormTraining: boolean;
  /** SIMD LeakyReLU forward and gradient and the one-pass AdamW update (elementwise-training.ts). */
  readonly simdElementwise: boolean;
  /** PadV2 as run copies (pad.ts). */
  readonly contiguousPad: boolean;
  /** a x b^T as (b a^T)^T when that moves fewer values (batch-mat-mul.ts). */
  readonly swappedTransposeB: boolean;
}

/** Every path on: what the engine runs. */
export const ALL_PATHS: WasmPaths = {
  overrides: true,
  leanGradients: true,
  leadingReduce: true,
  simdMaxPoolGrad: true,
  simdTranspose: true,
  simdFilterGrad: true,
  fusedBatchNormTraining: true,
  simdElementwise: true,
  contiguousPad: true,
  swappedTransposeB: true,
};

/** Without the training paths (fused training batch norm, SIMD LeakyReLU and AdamW, contiguous PadV2, a x b^T swap). */
export const WITHOUT_TRAINING_PATHS: WasmPaths = { ...ALL_PATHS, fusedBatchNormTraining: false, simdElementwise: false, contiguousPad: false, swappedTransposeB: false };

/** Without any fast path (the training paths, leading-axis reductions, SIMD max-pool gradient, transpose, filter gradient): our plainer kernels. */
export const WITHOUT_FAST_PATHS: WasmPaths = { ...WITHOUT_TRAINING_PATHS, leadingReduce: false, simdMaxPoolGrad: false, simdTranspose: false, simdFilterGrad: false };

/** tfjs's stock wasm kernels and gradients; our added kernels (no stock counterpart) and training paths stay. */
export const STOCK_KERNELS: WasmPaths = { ...ALL_PATHS, overrides: false, leanGradients: false };

const current: { -readonly [K in keyof WasmPaths]: WasmPaths[K] } = { ...ALL_PATHS };

/** The paths in force, read by the kernels on every call. */
export const wasmPaths: Readonly<WasmPaths> = current;

/** Sets the paths a kernel reads; register.ts's setWasmPaths also swaps the registered kernels for `overrides`. */
export function assignWasmPaths(change: Partial<WasmPaths>): void {
  Object.assign(current, change);
}
