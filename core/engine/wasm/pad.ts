/**
 * PadV2 for wasm when the padded tensor copies as long contiguous runs (the zero-padded copy of x that the conv1d
 * filter gradient makes for 'same' layers: [N, 1, W, C] padded along W is N runs of W * C values). The stock kernel
 * computes coordinates per element (lite: 10 ms of a 230 ms training step for three such copies); here the output is
 * filled with the constant and every run copied with one `set` (memcpy). Short runs go to the stock kernel.
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { allocate, asWasm, heapView } from './heap.ts';
import { stockKernel } from './kernel-utils.ts';
import { wasmPaths } from './paths.ts';

/** Runs shorter than this many elements are not worth a JS call each. */
const MIN_RUN = 64;

export function padConfig(backendName: string): KernelConfig {
  const stock = stockKernel('PadV2', backendName);
  if (!stock) throw new Error(`PadV2: no stock kernel on ${backendName}`);
  const kernelFunc: KernelFunc = (args) => {
    const x = args.inputs.x as TensorInfo;
    const { paddings, constantValue } = args.attrs as unknown as { paddings: Array<[number, number]>; constantValue: number };
    const rank = x.shape.length;
    if (!wasmPaths.contiguousPad || !['float32', 'int32'].includes(x.dtype) || paddings.length !== rank || paddings.some(([a, b]) => a < 0 || b < 0)) return stock(args);
    // The innermost padded axis p: everything below it is copied whole, so a run is x.shape[p] * (size below p).
    let p = rank - 1;
    while (p >= 0 && paddings[p][0] === 0 && paddings[p][1] === 0) p--;
    const outShape = x.shape.map((d, i) => d + paddings[i][0] + paddings[i][1]);
    const size = x.shape.reduce((a, b) => a * b, 1);
    if (p < 0 || size === 0) return stock(args);
    const below = x.shape.slice(p + 1).reduce((a, b) => a * b, 1);
    const run = x.shape[p] * below;
    if (run < MIN_RUN) return stock(args);
    const wasm = asWasm(args.backend);
    const out = allocate(wasm, outShape, x.dtype);
    const src = heapView(wasm, x) as Float32Array | Int32Array;
    const dst = heapView(wasm, out) as Float32Array | Int32Array;
    dst.fill(constantValue);
    // Strides of the output above p, and an odometer over the input's outer indices (axes 0..p-1).
    const outStride = new Array<number>(rank).fill(1);
    for (let a = rank - 2; a >= 0; a--) outStride[a] = outStride[a + 1] * outShape[a + 1];
    const index = new Array<number>(p).fill(0);
    const runs = size / run;
    for (let r = 0, inOff = 0; r < runs; r++, inOff += run) {
      let outOff = paddings[p][0] * below;
      for (let a = 0; a < p; a++) outOff += (index[a] + paddings[a][0]) * outStride[a];
      dst.set(src.subarray(inOff, inOff + run), outOff);
      for (let a = p - 1; a >= 0; a--) {
        if (++index[a] < x.shape[a]) break;
        index[a] = 0;
      }
    }
    return out;
  };
  return { kernelName: 'PadV2', backendName, kernelFunc };
}
