/**
 * Our wasm kernel and gradient overrides, registered once. They make training on the wasm backend correct
 * (MaxPoolGrad, Conv2DBackpropFilter) and fast (the rest); docs/ENGINE.md says why each exists.
 */
import type { KernelConfig } from '@tensorflow/tfjs';
import { batchMatMulConfig, fusedMatMulConfig } from './batch-mat-mul.ts';
import { conv2dBackpropFilterConfig, conv2dBackpropInputConfig } from './conv2d-backprop.ts';
import { identityConfig } from './identity.ts';
import { registerLeanGradients } from './lean-gradients.ts';
import { maxPoolGradConfig } from './max-pool-grad.ts';
import { tileConfig } from './tile.ts';
import { replaceKernel } from './kernel-utils.ts';

const BACKEND = 'wasm';
let registered: string[] | undefined;

export function registerWasmOverrides(): string[] {
  if (registered) return registered;
  // Build every config first: each captures the stock kernel it falls back to before anything is replaced.
  const configs: KernelConfig[] = [
    conv2dBackpropInputConfig(BACKEND),
    conv2dBackpropFilterConfig(BACKEND),
    maxPoolGradConfig(BACKEND),
    batchMatMulConfig(BACKEND),
    fusedMatMulConfig(BACKEND),
    tileConfig(BACKEND),
    identityConfig(BACKEND),
  ];
  configs.forEach(replaceKernel);
  registered = [...configs.map((c) => c.kernelName), ...registerLeanGradients(BACKEND)];
  return registered;
}
