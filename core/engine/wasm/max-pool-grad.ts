/**
 * MaxPoolGrad for wasm. The stock kernel is WRONG: it starts each window's running maximum at the smallest positive
 * float instead of -Infinity, so a window of negative values routes no gradient at all (whole-model gradients were
 * off by up to 60 %). This one pass over the heap finds each window's first maximum exactly like the cpu backend
 * (strict >, from -Infinity) and adds dy there; overlapping windows accumulate.
 */
import { backend_util } from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { allocate, asWasm, heapView } from './heap.ts';

interface PoolAttrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

export function maxPoolGradConfig(backendName: string): KernelConfig {
  const kernelFunc: KernelFunc = ({ inputs, backend, attrs }) => {
    const wasm = asWasm(backend);
    const dy = inputs.dy as TensorInfo;
    const x = inputs.input as TensorInfo;
    const a = attrs as unknown as PoolAttrs;
    const info = backend_util.computePool2DInfo(x.shape as [number, number, number, number], a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
    const out = allocate(wasm, x.shape.slice(), 'float32');
    const dx = heapView(wasm, out) as Float32Array;
    const xs = heapView(wasm, x) as Float32Array;
    const dys = heapView(wasm, dy) as Float32Array;
    dx.fill(0);
    const { batchSize, inHeight, inWidth, inChannels: c, outHeight, outWidth, strideHeight, strideWidth, filterHeight, filterWidth } = info;
    const padTop = info.padInfo.top;
    const padLeft = info.padInfo.left;
    const best = new Float32Array(c);
    const where = new Int32Array(c);
    let o = 0;
    for (let b = 0; b < batchSize; b++) {
      for (let yR = 0; yR < outHeight; yR++) {
        const r0 = yR * strideHeight - padTop;
        const rMin = Math.max(0, r0);
        const rMax = Math.min(inHeight, r0 + filterHeight);
        for (let yC = 0; yC < outWidth; yC++, o += c) {
          const c0 = yC * strideWidth - padLeft;
          const cMin = Math.max(0, c0);
          const cMax = Math.min(inWidth, c0 + filterWidth);
          best.fill(-Infinity);
          where.fill(-1);
          for (let r = rMin; r < rMax; r++) {
            for (let col = cMin; col < cMax; col++) {
              const base = ((b * inHeight + r) * inWidth + col) * c;
              for (let d = 0; d < c; d++) {
                const v = xs[base + d];
                if (v > best[d]) {
                  best[d] = v;
                  where[d] = base + d;
                }
              }
            }
          }
          for (let d = 0; d < c; d++) {
            if (where[d] >= 0) dx[where[d]] += dys[o + d];
          }
        }
      }
    }
    return out;
  };
  return { kernelName: 'MaxPoolGrad', backendName, kernelFunc };
}
