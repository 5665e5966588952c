import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';

/** The stock kernel we replace, kept so an override can hand it the cases it does not specialise. */
export function stockKernel(kernelName: string, backendName: string): KernelFunc | undefined {
  return tf.getKernel(kernelName, backendName)?.kernelFunc;
}

/** Replaces (or adds) a kernel for one backend without tfjs's "already registered" warning. */
export function replaceKernel(config: KernelConfig): void {
  if (tf.getKernel(config.kernelName, config.backendName)) tf.unregisterKernel(config.kernelName, config.backendName);
  tf.registerKernel(config);
}

/**
 * Kernels receive the op's input Tensors (engine.runKernel passes them through); composing tfjs ops on them needs
 * real Tensor objects, so an override that gets bare TensorInfos (never seen in practice) hands them to the stock
 * kernel instead.
 */
export function asTensors<T extends string>(inputs: NamedTensorInfoMap, names: readonly T[]): Record<T, tf.Tensor> | undefined {
  const out = {} as Record<T, tf.Tensor>;
  for (const name of names) {
    const t: TensorInfo | undefined = inputs[name];
    if (!(t instanceof tf.Tensor)) return undefined;
    out[name] = t;
  }
  return out;
}
