/**
 * Tile for wasm: the stock kernel computes a coordinate per element; this copies whole inner rows and then doubles
 * blocks with copyWithin, so its cost is one memory pass over the output.
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { allocate, asWasm, heapView, type HeapArray } from './heap.ts';
import { stockKernel } from './kernel-utils.ts';

function tileInto(src: HeapArray, inShape: readonly number[], reps: readonly number[], dst: HeapArray): void {
  const rank = inShape.length;
  if (rank === 0) {
    dst[0] = src[0];
    return;
  }
  const outShape = inShape.map((d, i) => d * reps[i]);
  // outBlock[d]: elements of one output slab below axis d (product of outShape[d+1..]).
  const outBlock = new Array<number>(rank).fill(1);
  const inBlock = new Array<number>(rank).fill(1);
  for (let d = rank - 2; d >= 0; d--) {
    outBlock[d] = outBlock[d + 1] * outShape[d + 1];
    inBlock[d] = inBlock[d + 1] * inShape[d + 1];
  }
  const fill = (d: number, inOff: number, outOff: number): void => {
    const n = inShape[d];
    if (d === rank - 1) {
      const row = src.subarray(inOff, inOff + n);
      for (let r = 0; r < reps[d]; r++) dst.set(row, outOff + r * n);
      return;
    }
    for (let i = 0; i < n; i++) fill(d + 1, inOff + i * inBlock[d], outOff + i * outBlock[d]);
    const filled = n * outBlock[d];
    for (let r = 1; r < reps[d]; r++) dst.copyWithin(outOff + r * filled, outOff, outOff + filled);
  };
  fill(0, 0, 0);
}

export function tileConfig(backendName: string): KernelConfig {
  const stock = stockKernel('Tile', backendName);
  const kernelFunc: KernelFunc = (args) => {
    const x = args.inputs.x as TensorInfo;
    const reps = (args.attrs?.reps ?? []) as number[];
    if (x.dtype === 'string' || x.dtype === 'complex64' || reps.length !== x.shape.length) {
      if (!stock) throw new Error(`Tile: unsupported dtype ${x.dtype}`);
      return stock(args);
    }
    const wasm = asWasm(args.backend);
    const out = allocate(wasm, x.shape.map((d, i) => d * reps[i]), x.dtype);
    if (out.shape.some((d) => d === 0)) return out;
    tileInto(heapView(wasm, x), x.shape, reps, heapView(wasm, out));
    return out;
  };
  return { kernelName: 'Tile', backendName, kernelFunc };
}
