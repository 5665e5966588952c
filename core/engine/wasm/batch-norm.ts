/**
 * FusedBatchNorm (forward) for the per-channel case: y = x * a[c] + b[c] with a = scale / sqrt(var + eps) and
 * b = offset - mean * a, one pass over the heap. The stock wasm kernel is several times slower at this; any other
 * parameter shape goes to it.
 */
import { util } from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { allocate, asWasm, heapView } from './heap.ts';
import { stockKernel } from './kernel-utils.ts';

export function fusedBatchNormConfig(backendName: string): KernelConfig {
  const stock = stockKernel('FusedBatchNorm', backendName);
  if (!stock) throw new Error(`FusedBatchNorm: no stock kernel on ${backendName}`);
  const kernelFunc: KernelFunc = (args) => {
    const { x, mean, variance, offset, scale } = args.inputs as Record<string, TensorInfo | undefined>;
    if (!x || !mean || !variance) return stock(args);
    const c = x.shape[x.shape.length - 1];
    const perChannel = (t: TensorInfo | undefined) => t === undefined || (t.dtype === 'float32' && t.shape.length === 1 && t.shape[0] === c);
    if (x.dtype !== 'float32' || ![mean, variance, offset, scale].every(perChannel)) return stock(args);
    const eps = (args.attrs?.varianceEpsilon ?? 0.001) as number;
    const wasm = asWasm(args.backend);
    const out = allocate(wasm, x.shape.slice(), 'float32');
    const m = heapView(wasm, mean);
    const v = heapView(wasm, variance);
    const g = scale ? heapView(wasm, scale) : undefined;
    const o = offset ? heapView(wasm, offset) : undefined;
    const a = new Float32Array(c);
    const b = new Float32Array(c);
    for (let d = 0; d < c; d++) {
      a[d] = (g ? g[d] : 1) / Math.sqrt(v[d] + eps);
      b[d] = (o ? o[d] : 0) - m[d] * a[d];
    }
    const xs = heapView(wasm, x) as Float32Array;
    const ys = heapView(wasm, out) as Float32Array;
    const rows = util.sizeFromShape(x.shape) / c;
    for (let r = 0, i = 0; r < rows; r++) {
      for (let d = 0; d < c; d++, i++) ys[i] = xs[i] * a[d] + b[d];
    }
    return out;
  };
  return { kernelName: 'FusedBatchNorm', backendName, kernelFunc };
}
