/**
 * Sum and Mean over LEADING axes on wasm (per-channel reductions of a channels-last tensor: bias gradients, batch-norm
 * moments and their gradients). The stock kernels transpose the whole tensor so the reduced axes come last, then
 * reduce with a scalar loop. The same means come from XNNPACK's SIMD average pooling over a [A, B, 1, K] view, with
 * no copy: one pool over the B rows of each of A blocks, then one over the A block means (measured per call on
 * [64, 2500, 16]: 5.3 ms stock vs 0.4 ms, CPU time). Two stages keep float32 accumulation short (B and A terms instead
 * of A * B), so the result is closer to a float64 sum than the stock kernel's. Everything else goes to the stock kernel.
 */
import { backend_util, util } from '@tensorflow/tfjs';
import type { KernelBackend, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { allocate, asWasm, heapView } from './heap.ts';
import { stockKernel } from './kernel-utils.ts';
import { wasmPaths } from './paths.ts';

interface ReduceAttrs {
  axis: number | number[];
  keepDims: boolean;
}

export interface LeadingSplit {
  /** Blocks, reduced in the second stage; 1 = a single stage. */
  readonly a: number;
  /** Rows per block. */
  readonly b: number;
  /** Values per row: the product of the kept, trailing axes. */
  readonly k: number;
}

/**
 * The [A, B, K] view when the reduced axes are exactly the leading ones (0..m-1, any order, m < rank) of a tensor
 * with more than one reduced row; undefined otherwise. The R reduced rows are contiguous [R, K] memory, so any
 * R = A * B works: the divisor nearest sqrt(R) keeps both float32 accumulations short (R prime: one stage).
 */
function leadingSplit(shape: readonly number[], axes: readonly number[]): LeadingSplit | undefined {
  const rank = shape.length;
  const sorted = [...new Set(axes)].sort((p, q) => p - q);
  if (sorted.length === 0 || sorted.length >= rank || sorted.some((ax, i) => ax !== i)) return undefined;
  const m = sorted.length;
  const rows = shape.slice(0, m).reduce((p, d) => p * d, 1);
  const k = shape.slice(m).reduce((p, d) => p * d, 1);
  if (rows < 2 || k < 1) return undefined;
  for (let a = Math.floor(Math.sqrt(rows)); a >= 2; a--) {
    // A pool window must be larger than 1, so b = rows / a >= 2 always holds here (a <= sqrt(rows)).
    if (rows % a === 0) return { a, b: rows / a, k };
  }
  return { a: 1, b: rows, k };
}

/** Row means of a [rows, k] float32 view through the stock AvgPool kernel (window rows x 1). Returns a [k] tensor. */
function poolRows(avgPool: KernelFunc, backend: KernelBackend, x: TensorInfo, blocks: number, rows: number, k: number): TensorInfo {
  const view: TensorInfo = { dataId: x.dataId, dtype: 'float32', shape: [blocks, rows, 1, k] };
  return avgPool({ inputs: { x: view }, backend, attrs: { filterSize: [rows, 1], strides: [rows, 1], pad: 'valid' } }) as TensorInfo;
}

function leadingReduceConfig(kernelName: 'Sum' | 'Mean', backendName: string): KernelConfig {
  const stock = stockKernel(kernelName, backendName);
  const avgPool = stockKernel('AvgPool', backendName);
  if (!stock || !avgPool) throw new Error(`${kernelName}: no stock ${stock ? 'AvgPool' : kernelName} kernel on ${backendName}`);
  const kernelFunc: KernelFunc = (args) => {
    const x = args.inputs.x as TensorInfo;
    const { axis, keepDims } = args.attrs as unknown as ReduceAttrs;
    if (!wasmPaths.leadingReduce || x.dtype !== 'float32') return stock(args);
    const axes = util.parseAxisParam(axis, x.shape);
    const split = leadingSplit(x.shape, axes);
    if (!split) return stock(args);
    const wasm = asWasm(args.backend);
    const { a, b, k } = split;
    const blockMeans = poolRows(avgPool, wasm, x, a, b, k);
    const means = a > 1 ? poolRows(avgPool, wasm, blockMeans, 1, a, k) : blockMeans;
    const [kept] = backend_util.computeOutAndReduceShapes(x.shape, axes);
    const outShape = keepDims ? backend_util.expandShapeToKeepDim(kept, axes) : kept;
    const out = allocate(wasm, outShape, 'float32');
    const dst = heapView(wasm, out) as Float32Array;
    const src = heapView(wasm, means) as Float32Array;
    if (kernelName === 'Mean') dst.set(src);
    else {
      const count = a * b;
      for (let i = 0; i < k; i++) dst[i] = src[i] * count;
    }
    if (means !== blockMeans) wasm.disposeData(means.dataId);
    wasm.disposeData(blockMeans.dataId);
    // XNNPACK's output clamp turns a NaN mean into +-Infinity; any non-finite result is redone by the stock kernel,
    // so NaN and Infinity propagate exactly as on cpu (a diverged step stays visibly NaN).
    if (!dst.every(Number.isFinite)) {
      wasm.disposeData(out.dataId);
      return stock(args);
    }
    return out;
  };
  return { kernelName, backendName, kernelFunc };
}

export const sumConfig = (backendName: string): KernelConfig => leadingReduceConfig('Sum', backendName);
export const meanConfig = (backendName: string): KernelConfig => leadingReduceConfig('Mean', backendName);
