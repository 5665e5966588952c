/**
 * Sum and Mean over every axis but the last (per-channel reductions: batch-norm moments, bias and batch-norm
 * gradients). The stock wasm kernels first transpose the reduced axes to the end (a full copy); a single pass that
 * accumulates each channel in float64 is faster and, like the cpu backend, more exact than float32 accumulation.
 * Any other reduction goes to the stock kernel.
 */
import { backend_util, util } from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { allocate, asWasm, heapView } from './heap.ts';
import { stockKernel } from './kernel-utils.ts';

/** True when `axes` (any order, negative allowed) are exactly 0 .. rank-2. */
function reducesAllButLast(axis: number | number[], shape: number[]): boolean {
  const rank = shape.length;
  if (rank < 2) return false;
  const axes = util.parseAxisParam(axis, shape);
  if (axes.length !== rank - 1) return false;
  const set = new Set(axes);
  for (let i = 0; i < rank - 1; i++) if (!set.has(i)) return false;
  return true;
}

function reductionConfig(kernelName: 'Sum' | 'Mean', backendName: string): KernelConfig {
  const stock = stockKernel(kernelName, backendName);
  if (!stock) throw new Error(`${kernelName}: no stock kernel on ${backendName}`);
  const kernelFunc: KernelFunc = (args) => {
    const x = args.inputs.x as TensorInfo;
    const { axis, keepDims } = (args.attrs ?? {}) as { axis: number | number[]; keepDims: boolean };
    if (x.dtype !== 'float32' || !reducesAllButLast(axis, x.shape)) return stock(args);
    const wasm = asWasm(args.backend);
    const c = x.shape[x.shape.length - 1];
    const rows = util.sizeFromShape(x.shape) / c;
    const outShape = keepDims ? backend_util.expandShapeToKeepDim([c], util.parseAxisParam(axis, x.shape)) : [c];
    const out = allocate(wasm, outShape, 'float32');
    const xs = heapView(wasm, x) as Float32Array;
    const acc = new Float64Array(c);
    for (let r = 0, i = 0; r < rows; r++) {
      for (let d = 0; d < c; d++, i++) acc[d] += xs[i];
    }
    const scale = kernelName === 'Mean' ? 1 / rows : 1;
    const res = heapView(wasm, out) as Float32Array;
    for (let d = 0; d < c; d++) res[d] = acc[d] * scale;
    return out;
  };
  return { kernelName, backendName, kernelFunc };
}

export const sumConfig = (backendName: string) => reductionConfig('Sum', backendName);
export const meanConfig = (backendName: string) => reductionConfig('Mean', backendName);
