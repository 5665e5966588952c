/**
 * Identity for wasm shares the input's memory (a reference count, as the cpu backend does) instead of copying it:
 * tensors are immutable, so a copy buys nothing. Gradients route dy through Identity on every step.
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { asWasm } from './heap.ts';
import { stockKernel } from './kernel-utils.ts';

export function identityConfig(backendName: string): KernelConfig {
  const stock = stockKernel('Identity', backendName);
  const kernelFunc: KernelFunc = (args) => {
    const x = args.inputs.x as TensorInfo | undefined;
    if (!x || x.dtype === 'string') {
      if (!stock) throw new Error('Identity: no stock kernel for this case');
      return stock(args);
    }
    asWasm(args.backend).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
  return { kernelName: 'Identity', backendName, kernelFunc };
}
