/**
 * MaxPoolGrad for wasm. The stock kernel is WRONG: it starts each window's running maximum at the smallest positive
 * float instead of -Infinity, so a window of negative values routes no gradient at all (whole-model gradients were
 * off by up to 60 %). This one pass over the heap finds each window's first maximum exactly like the cpu backend
 * (strict >, from -Infinity) and adds dy there; overlapping windows accumulate.
 */
import { backend_util } from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { allocate, asWasm, heapView } from './heap.ts';
import { heapAddress, simdKernels } from './simd/kernels.ts';
import { wasmPaths } from './paths.ts';

interface PoolAttrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * The encoders' pools (size k = stride k along one axis, no padding: k = 2 in seed, 4 in tiny): windows tile the row,
 * so every dx element is written exactly once (no zero-fill pass first). First maximum on ties, and the exact cpu
 * rule for NaN/-Infinity (a value wins only if it is > the running max that starts at -Infinity).
 */
function tiledWindowGrad(xs: Float32Array, dys: Float32Array, dx: Float32Array, rows: number, inWidth: number, outWidth: number, c: number, k: number): void {
  const rowIn = inWidth * c;
  const used = outWidth * k * c;
  let o = 0;
  for (let row = 0; row < rows; row++) {
    const base = row * rowIn;
    if (k === 2) {
      let i = base;
      for (let yC = 0; yC < outWidth; yC++, i += c) {
        for (let d = 0; d < c; d++, o++, i++) {
          const v0 = xs[i];
          const v1 = xs[i + c];
          const firstCounts = v0 > -Infinity;
          const second = firstCounts ? v1 > v0 : v1 > -Infinity;
          const g = dys[o];
          dx[i] = !second && firstCounts ? g : 0;
          dx[i + c] = second ? g : 0;
        }
      }
    } else {
      for (let yC = 0; yC < outWidth; yC++) {
        const w0 = base + yC * k * c;
        for (let d = 0; d < c; d++, o++) {
          let best = -Infinity;
          let at = -1;
          for (let t = 0, i = w0 + d; t < k; t++, i += c) {
            const v = xs[i];
            if (v > best) {
              best = v;
              at = i;
            }
            dx[i] = 0;
          }
          if (at >= 0) dx[at] = dys[o];
        }
      }
    }
    // Input columns past the last full window (inWidth not a multiple of k) get no gradient.
    dx.fill(0, base + used, base + rowIn);
  }
}

/**
 * The tiled case on our SIMD kernel (channels a multiple of 4): whole rows of windows in one call when they cover
 * the row, else one call per row and the leftover columns zeroed. False when the kernel cannot run here.
 */
function tiledWindowGradSimd(wasm: BackendWasm, x: TensorInfo, dy: TensorInfo, out: TensorInfo, rows: number, inWidth: number, outWidth: number, c: number, k: number): boolean {
  const simd = simdKernels(wasm);
  if (!simd || c < 4 || c % 4 !== 0 || outWidth === 0 || rows === 0) return false;
  const [px, pd, po] = [x, dy, out].map((t) => heapAddress(wasm, t.dataId));
  if (inWidth === outWidth * k) {
    simd.poolGrad(px, pd, po, rows * outWidth, c, k);
    return true;
  }
  const rowBytes = inWidth * c * 4;
  for (let row = 0; row < rows; row++) simd.poolGrad(px + row * rowBytes, pd + row * outWidth * c * 4, po + row * rowBytes, outWidth, c, k);
  const dx = heapView(wasm, out) as Float32Array;
  for (let row = 0; row < rows; row++) dx.fill(0, (row * inWidth + outWidth * k) * c, (row + 1) * inWidth * c);
  return true;
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
    const { batchSize, inHeight, inWidth, inChannels: c, outHeight, outWidth, strideHeight, strideWidth, filterHeight, filterWidth } = info;
    const padTop = info.padInfo.top;
    const padLeft = info.padInfo.left;
    if (padTop === 0 && padLeft === 0) {
      // Pool k / stride k along width ([N, 1, W, C], conv2d-style) or along height with width 1 ([N, W, 1, C], how
      // tfjs-layers' maxPooling1d lays out a 1-D pool): both are rows of tiled windows in memory.
      if (filterHeight === 1 && strideHeight === 1 && filterWidth === strideWidth && filterWidth > 1) {
        if (wasmPaths.simdMaxPoolGrad && tiledWindowGradSimd(wasm, x, dy, out, batchSize * inHeight, inWidth, outWidth, c, filterWidth)) return out;
        tiledWindowGrad(xs, dys, dx, batchSize * inHeight, inWidth, outWidth, c, filterWidth);
        return out;
      }
      if (inWidth === 1 && filterWidth === 1 && filterHeight === strideHeight && filterHeight > 1) {
        if (wasmPaths.simdMaxPoolGrad && tiledWindowGradSimd(wasm, x, dy, out, batchSize, inHeight, outHeight, c, filterHeight)) return out;
        tiledWindowGrad(xs, dys, dx, batchSize, inHeight, outHeight, c, filterHeight);
        return out;
      }
    }
    dx.fill(0);
    // Per output element: scan its window at stride c (one channel), keep the first strict maximum. No temporary
    // arrays, so the JIT keeps everything in registers; this is one read of x and dy and one write of dx.
    let o = 0;
    for (let b = 0; b < batchSize; b++) {
      for (let yR = 0; yR < outHeight; yR++) {
        const r0 = yR * strideHeight - padTop;
        const rMin = r0 < 0 ? 0 : r0;
        const rMax = Math.min(inHeight, r0 + filterHeight);
        for (let yC = 0; yC < outWidth; yC++) {
          const c0 = yC * strideWidth - padLeft;
          const cMin = c0 < 0 ? 0 : c0;
          const cMax = Math.min(inWidth, c0 + filterWidth);
          for (let d = 0; d < c; d++, o++) {
            let best = -Infinity;
            let at = -1;
            for (let r = rMin; r < rMax; r++) {
              let i = ((b * inHeight + r) * inWidth + cMin) * c + d;
              for (let col = cMin; col < cMax; col++, i += c) {
                const v = xs[i];
                if (v > best) {
                  best = v;
                  at = i;
                }
              }
            }
            if (at >= 0) dx[at] += dys[o];
          }
        }
      }
    }
    return out;
  };
  return { kernelName: 'MaxPoolGrad', backendName, kernelFunc };
}
