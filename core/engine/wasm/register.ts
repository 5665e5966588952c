/**
 * Our wasm kernel and gradient overrides, registered once. They make training on the wasm backend correct
 * (MaxPoolGrad, Conv2DBackpropFilter) and fast (the rest); docs/ENGINE.md says why each exists.
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig } from '@tensorflow/tfjs';
import { batchMatMulConfig, fusedMatMulConfig, setSwappedTransposeBEnabled } from './batch-mat-mul.ts';
import { fusedBatchNormConfig } from './batch-norm.ts';
import { batchNormTrainingConfigs, installFusedBatchNormTraining, setFusedBatchNormTrainingEnabled } from './batch-norm-training.ts';
import { conv2dBackpropFilterConfig, conv2dBackpropInputConfig, setSimdFilterGradEnabled } from './conv2d-backprop.ts';
import { elementwiseTrainingConfigs, leakyReluConfig, setSimdElementwiseEnabled } from './elementwise-training.ts';
import { identityConfig } from './identity.ts';
import { padConfig, setContiguousPadEnabled } from './pad.ts';
import { registerLeanGradients, setLeanGradientsEnabled } from './lean-gradients.ts';
export { setLeanReductionGradientsEnabled } from './lean-gradients.ts';
import { maxPoolGradConfig, setSimdMaxPoolGradEnabled } from './max-pool-grad.ts';
import { meanConfig, setLeadingReduceEnabled, sumConfig } from './reduce.ts';
import { tileConfig } from './tile.ts';
import { setSimdTransposeEnabled, transposeConfig } from './transpose.ts';
import { replaceKernel } from './kernel-utils.ts';

const BACKEND = 'wasm';
let registered: { names: string[]; ours: KernelConfig[]; stock: KernelConfig[] } | undefined;

export function registerWasmOverrides(): string[] {
  if (registered) return registered.names;
  // Build every config first: each captures the stock kernel it falls back to before anything is replaced.
  const ours: KernelConfig[] = [
    conv2dBackpropInputConfig(BACKEND),
    conv2dBackpropFilterConfig(BACKEND),
    maxPoolGradConfig(BACKEND),
    batchMatMulConfig(BACKEND),
    fusedMatMulConfig(BACKEND),
    tileConfig(BACKEND),
    identityConfig(BACKEND),
    fusedBatchNormConfig(BACKEND),
    sumConfig(BACKEND),
    meanConfig(BACKEND),
    transposeConfig(BACKEND),
    leakyReluConfig(BACKEND),
    padConfig(BACKEND),
  ];
  const stock = ours.map((c) => tf.getKernel(c.kernelName, BACKEND)).filter((c): c is KernelConfig => c !== undefined);
  ours.forEach(replaceKernel);
  // Kernels of our own (no stock counterpart), called by our training paths only.
  const added = [...batchNormTrainingConfigs(BACKEND), ...elementwiseTrainingConfigs(BACKEND)];
  added.forEach(replaceKernel);
  installFusedBatchNormTraining();
  registered = { names: [...ours.map((c) => c.kernelName), ...added.map((c) => c.kernelName), ...registerLeanGradients(BACKEND), 'BatchNormalization layer (training call)'], ours, stock };
  return registered.names;
}

/**
 * Switches between our overrides and tfjs's stock wasm kernels (stock has no Conv2DBackpropFilter, so training does
 * not run there). For benchmarks and diagnosis only; the engine always runs with the overrides on.
 */
export function setWasmOverridesEnabled(enabled: boolean): void {
  if (!registered) throw new Error('wasm overrides are not registered (initEngine with the wasm backend first)');
  for (const c of registered.ours) if (tf.getKernel(c.kernelName, BACKEND)) tf.unregisterKernel(c.kernelName, BACKEND);
  for (const c of enabled ? registered.ours : registered.stock) tf.registerKernel(c);
  setLeanGradientsEnabled(enabled);
  setTrainingFastPathsEnabled(enabled);
}

/**
 * For before/after benchmarks in one run: false turns off the kernel fast paths (leading-axis Sum/Mean as average
 * pools, the SIMD max-pool gradient, transpose and conv1d filter gradient) and the training paths
 * (setTrainingFastPathsEnabled), leaving our plainer kernels. The engine always runs with them on.
 */
export function setFastPathsEnabled(on: boolean): void {
  setLeadingReduceEnabled(on);
  setSimdMaxPoolGradEnabled(on);
  setSimdTransposeEnabled(on);
  setSimdFilterGradEnabled(on);
  setTrainingFastPathsEnabled(on);
}

/**
 * For before/after benchmarks in one run: false turns off only the training paths (fused training batch norm, SIMD
 * LeakyReLU and AdamW, contiguous PadV2, a x b^T as (b a^T)^T); the kernel fast paths stay on.
 */
export function setTrainingFastPathsEnabled(on: boolean): void {
  setFusedBatchNormTrainingEnabled(on);
  setSimdElementwiseEnabled(on);
  setContiguousPadEnabled(on);
  setSwappedTransposeBEnabled(on);
}
