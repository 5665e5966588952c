/**
 * Our wasm kernel and gradient overrides, registered once. They make training on the wasm backend correct
 * (MaxPoolGrad, Conv2DBackpropFilter) and fast (the rest); docs/ENGINE.md says why each exists.
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig } from '@tensorflow/tfjs';
import { batchMatMulConfig, fusedMatMulConfig } from './batch-mat-mul.ts';
import { fusedBatchNormConfig } from './batch-norm.ts';
import { batchNormTrainingConfigs, installFusedBatchNormTraining } from './batch-norm-training.ts';
import { conv2dBackpropFilterConfig, conv2dBackpropInputConfig } from './conv2d-backprop.ts';
import { elementwiseTrainingConfigs, leakyReluConfig } from './elementwise-training.ts';
import { identityConfig } from './identity.ts';
import { padConfig } from './pad.ts';
import { registerLeanGradients } from './lean-gradients.ts';
import { maxPoolGradConfig } from './max-pool-grad.ts';
import { meanConfig, sumConfig } from './reduce.ts';
import { tileConfig } from './tile.ts';
import { transposeConfig } from './transpose.ts';
import { assignWasmPaths, wasmPaths, type WasmPaths } from './paths.ts';
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
 * Which of our paths run (paths.ts: ALL_PATHS, WITHOUT_TRAINING_PATHS, WITHOUT_FAST_PATHS, STOCK_KERNELS, or single
 * fields), for before/after benchmarks and tests in one process; the engine always runs with ALL_PATHS. `overrides`
 * swaps our registered kernels for tfjs's stock ones and back (only once initEngine registered them for wasm).
 */
export function setWasmPaths(change: Partial<WasmPaths>): void {
  if (change.overrides !== undefined && change.overrides !== wasmPaths.overrides) {
    if (!registered) throw new Error('wasm overrides are not registered (initEngine with the wasm backend first)');
    for (const c of registered.ours) if (tf.getKernel(c.kernelName, BACKEND)) tf.unregisterKernel(c.kernelName, BACKEND);
    for (const c of change.overrides ? registered.ours : registered.stock) tf.registerKernel(c);
  }
  assignWasmPaths(change);
}
