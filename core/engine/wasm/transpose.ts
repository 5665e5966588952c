/**
 * Transpose for wasm when, after dropping size-1 axes, it swaps the first and last axes and keeps the middle ones
 * ([a, m, b] -> [b, m, a]; a 2-D transpose is m = 1): the filter gradient's x -> [C, W, N] and the dense layer's
 * weight gradient take this path every step. Our SIMD kernel moves 4 x 4 blocks with shuffles; the stock kernel
 * computes coordinates per element (seed, [64, 2500, 16] -> [16, 2500, 64]: ~20 ms). Other permutations, other
 * dtypes and sizes not divisible by 4 go to the stock kernel.
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { allocate, asWasm } from './heap.ts';
import { stockKernel } from './kernel-utils.ts';
import { heapAddress, simdKernels } from './simd/kernels.ts';
import { wasmPaths } from './paths.ts';

export interface OuterSwap {
  readonly a: number;
  readonly m: number;
  readonly b: number;
}

/** The [a, m, b] view when `perm` swaps the first and last non-unit axes and keeps the rest in order. */
export function outerSwap(shape: readonly number[], perm: readonly number[]): OuterSwap | undefined {
  const kept = shape.map((d, i) => (d === 1 ? -1 : i)).filter((i) => i >= 0);
  // The permutation restricted to the non-unit axes, in output order.
  const order = perm.filter((p) => shape[p] !== 1);
  const r = kept.length;
  if (r < 2 || order[0] !== kept[r - 1] || order[r - 1] !== kept[0]) return undefined;
  for (let i = 1; i < r - 1; i++) if (order[i] !== kept[i]) return undefined;
  const a = shape[kept[0]];
  const b = shape[kept[r - 1]];
  const m = kept.slice(1, r - 1).reduce((p, i) => p * shape[i], 1);
  return { a, m, b };
}

export function transposeConfig(backendName: string): KernelConfig {
  const stock = stockKernel('Transpose', backendName);
  if (!stock) throw new Error(`Transpose: no stock kernel on ${backendName}`);
  const kernelFunc: KernelFunc = (args) => {
    const x = args.inputs.x as TensorInfo;
    const perm = (args.attrs?.perm ?? []) as number[];
    const swap = wasmPaths.simdTranspose && (x.dtype === 'float32' || x.dtype === 'int32') ? outerSwap(x.shape, perm) : undefined;
    const wasm = asWasm(args.backend);
    // The kernel's loops run at least once, so empty tensors (a size-0 axis) go to the stock kernel.
    const simd = swap && swap.a >= 4 && swap.b >= 4 && swap.m >= 1 && swap.a % 4 === 0 && swap.b % 4 === 0 ? simdKernels(wasm) : undefined;
    if (!swap || !simd) return stock(args);
    const out = allocate(wasm, perm.map((p) => x.shape[p]), x.dtype);
    simd.transposeOuter(heapAddress(wasm, x.dataId), heapAddress(wasm, out.dataId), swap.a, swap.m, swap.b);
    return out;
  };
  return { kernelName: 'Transpose', backendName, kernelFunc };
}
