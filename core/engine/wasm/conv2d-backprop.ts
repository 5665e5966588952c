/**
 * Conv2D gradients on wasm, both expressed as FORWARD convolutions so XNNPACK does the work:
 *  - dx: the stock Conv2DBackpropInput is scalar C++ loops. dx is the full correlation of dy (zero-dilated by the
 *    stride) with the spatially reversed, in/out-swapped filter.
 *  - dW: wasm has no Conv2DBackpropFilter at all. dW[t, ci, co] = sum_{n,o} x[n, o*s + t - pad, ci] dy[n, o, co] is a
 *    convolution of x (batch moved into the channel axis) with dy (as a filter), the forward stride becoming a
 *    dilation.
 * Cases outside NHWC with unit dilation go to the stock kernel (dx) or tfjs-core's generic composition (dW).
 */
import * as tf from '@tensorflow/tfjs';
import { backend_util } from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { allocate, asWasm, heapView } from './heap.ts';
import { asTensors, stockKernel } from './kernel-utils.ts';
import { heapAddress, simdKernels } from './simd/kernels.ts';
import { wasmPaths } from './paths.ts';

type Pad = 'valid' | 'same' | number | backend_util.ExplicitPadding;

interface ConvAttrs {
  strides: [number, number] | number;
  pad: Pad;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** Per spatial axis: [before, after], either possibly negative (= crop that many). */
type Margins = [[number, number], [number, number]];

function convInfoOf(xShape: number[], filterShape: number[], attrs: ConvAttrs): backend_util.Conv2DInfo {
  return backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
}

/** Applies crops for negative margins (slice), returns the non-negative rest as explicit conv padding. */
function cropToPadding(t: tf.Tensor4D, m: Margins): { t: tf.Tensor4D; pad: backend_util.ExplicitPadding } {
  const [n, h, w, c] = t.shape;
  const cropTop = Math.max(0, -m[0][0]);
  const cropBottom = Math.max(0, -m[0][1]);
  const cropLeft = Math.max(0, -m[1][0]);
  const cropRight = Math.max(0, -m[1][1]);
  const cropped =
    cropTop || cropBottom || cropLeft || cropRight
      ? tf.slice(t, [0, cropTop, cropLeft, 0], [n, h - cropTop - cropBottom, w - cropLeft - cropRight, c])
      : t;
  const pad: backend_util.ExplicitPadding = [
    [0, 0],
    [Math.max(0, m[0][0]), Math.max(0, m[0][1])],
    [Math.max(0, m[1][0]), Math.max(0, m[1][1])],
    [0, 0],
  ];
  return { t: cropped, pad };
}

/** Inserts stride-1 zeros between rows/columns of dy (none after the last), the transpose of a strided read. */
function dilate(dy: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  if (sh === 1 && sw === 1) return dy;
  const [n, ho, wo, c] = dy.shape;
  let full: tf.Tensor4D = dy;
  if (sh > 1) {
    const spread = tf.pad(tf.reshape(full, [n * ho, 1, wo, c]), [[0, 0], [0, sh - 1], [0, 0], [0, 0]]);
    full = tf.reshape(spread, [n, ho * sh, wo, c]);
  }
  if (sw > 1) {
    const rows = full.shape[1];
    const spread = tf.pad(tf.reshape(full, [n * rows, wo, 1, c]), [[0, 0], [0, 0], [0, sw - 1], [0, 0]]);
    full = tf.reshape(spread, [n, rows, wo * sw, c]);
  }
  return tf.slice(full, [0, 0, 0, 0], [n, (ho - 1) * sh + 1, (wo - 1) * sw + 1, c]);
}

function conv2dBackpropInputFast(dy: tf.Tensor4D, filter: tf.Tensor4D, inputShape: number[], attrs: ConvAttrs): tf.Tensor4D {
  const info = convInfoOf(inputShape, filter.shape, attrs);
  const [kh, kw] = [info.filterHeight, info.filterWidth];
  const dyd = dilate(dy, info.strideHeight, info.strideWidth);
  const margins: Margins = [
    [kh - 1 - info.padInfo.top, info.inHeight + info.padInfo.top - dyd.shape[1]],
    [kw - 1 - info.padInfo.left, info.inWidth + info.padInfo.left - dyd.shape[2]],
  ];
  const { t, pad } = cropToPadding(dyd, margins);
  const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
  return tf.conv2d(t, flipped, 1, pad, 'NHWC');
}

function conv2dBackpropFilterFast(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: number[], attrs: ConvAttrs): tf.Tensor4D {
  const info = convInfoOf(x.shape, filterShape, attrs);
  const [kh, kw] = [info.filterHeight, info.filterWidth];
  const [sh, sw] = [info.strideHeight, info.strideWidth];
  const margins: Margins = [
    [info.padInfo.top, kh + (info.outHeight - 1) * sh - info.inHeight - info.padInfo.top],
    [info.padInfo.left, kw + (info.outWidth - 1) * sw - info.inWidth - info.padInfo.left],
  ];
  const batchAsChannels = tf.transpose(x, [3, 1, 2, 0]) as tf.Tensor4D; // [Cin, H, W, N]
  const { t, pad } = cropToPadding(batchAsChannels, margins);
  const dyAsFilter = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D; // [Ho, Wo, N, Cout]
  const dw = tf.conv2d(t, dyAsFilter, 1, pad, 'NHWC', [sh, sw]); // [Cin, kh, kw, Cout]
  return tf.transpose(dw, [1, 2, 0, 3]);
}

function isPlainNhwc(attrs: NamedAttrMap): boolean {
  return (attrs.dataFormat ?? 'NHWC') === 'NHWC';
}

export function conv2dBackpropInputConfig(backendName: string): KernelConfig {
  const stock = stockKernel('Conv2DBackpropInput', backendName);
  const kernelFunc: KernelFunc = (args) => {
    const attrs = args.attrs ?? {};
    const t = asTensors(args.inputs, ['dy', 'filter'] as const);
    if (!t || !isPlainNhwc(attrs) || t.dy.rank !== 4) {
      if (!stock) throw new Error('Conv2DBackpropInput: unsupported case and no stock kernel');
      return stock(args);
    }
    const inputShape = attrs.inputShape as number[];
    return tf.tidy(() => conv2dBackpropInputFast(t.dy as tf.Tensor4D, t.filter as tf.Tensor4D, inputShape, attrs as unknown as ConvAttrs)) as TensorInfo;
  };
  return { kernelName: 'Conv2DBackpropInput', backendName, kernelFunc };
}

/** Positions per chunk of the SIMD filter gradient: x and dy of one chunk (~40 KB for seed) stay in cache. */
const FILTER_GRAD_CHUNK = 128;

/**
 * The conv1d filter gradient (x [N, 1, W, Cin], filter [1, k, Cin, Cout], stride 1) on our SIMD kernel, which blocks
 * the reduction over positions (XNNPACK's formulation re-streams it per output tile: 1.2-2.6x the forward conv).
 * 'same' padding becomes a zero-padded copy of x. The kernel takes 4 filter rows (k * Cin values) at a time; with one
 * input channel (a first layer: k = 21 or 9) the filter is widened to a multiple of 4 taps over 3 more zeros of
 * padding, and the extra taps' rows are dropped. Undefined when the case or the sizes (Cout a multiple of 8) do not fit.
 */
function conv1dFilterGradSimd(wasm: BackendWasm, x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: number[], attrs: ConvAttrs): TensorInfo | undefined {
  const [kh, k, cin, cout] = filterShape;
  if (!wasmPaths.simdFilterGrad || x.dtype !== 'float32' || dy.dtype !== 'float32' || x.shape[1] !== 1 || kh !== 1 || cout % 8 !== 0) return undefined;
  const taps = (k * cin) % 4 === 0 ? k : cin === 1 ? Math.ceil(k / 4) * 4 : 0;
  if (taps === 0) return undefined;
  const info = convInfoOf(x.shape, filterShape, attrs);
  if (info.strideHeight !== 1 || info.strideWidth !== 1 || info.padInfo.top !== 0 || info.padInfo.bottom !== 0) return undefined;
  const simd = simdKernels(wasm);
  if (!simd) return undefined;
  const { left, right } = info.padInfo;
  const [n, , w] = x.shape;
  const wo = dy.shape[2];
  // The kernel's loops run at least once: empty batches or outputs take the other path.
  if (n < 1 || wo < 1 || cin < 1 || left < 0 || right < 0 || w + left + right - k + 1 !== wo || dy.shape[0] !== n || dy.shape[1] !== 1 || dy.shape[3] !== cout) return undefined;
  const extra = taps - k;
  const padded = left || right || extra ? tf.pad(x, [[0, 0], [0, 0], [left, right + extra], [0, 0]]) : x;
  const wide = allocate(wasm, [1, taps, cin, cout], 'float32');
  (heapView(wasm, wide) as Float32Array).fill(0);
  simd.filterGrad(heapAddress(wasm, padded.dataId), heapAddress(wasm, dy.dataId), heapAddress(wasm, wide.dataId), n, w + left + right + extra, cin, wo, taps * cin, cout, FILTER_GRAD_CHUNK);
  if (padded !== x) padded.dispose();
  if (extra === 0) return wide;
  const out = allocate(wasm, filterShape.slice(), 'float32');
  (heapView(wasm, out) as Float32Array).set((heapView(wasm, wide) as Float32Array).subarray(0, k * cin * cout));
  wasm.disposeData(wide.dataId);
  return out;
}

export function conv2dBackpropFilterConfig(backendName: string): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const attrs = args.attrs ?? {};
    const t = asTensors(args.inputs, ['x', 'dy'] as const);
    if (!t || !isPlainNhwc(attrs)) {
      throw new Error('Conv2DBackpropFilter on wasm: only NHWC tensors are supported');
    }
    const filterShape = attrs.filterShape as number[];
    if (t.x.rank === 4 && t.dy.rank === 4) {
      const fast = conv1dFilterGradSimd(asWasm(args.backend), t.x as tf.Tensor4D, t.dy as tf.Tensor4D, filterShape, attrs as unknown as ConvAttrs);
      if (fast) return fast;
    }
    return tf.tidy(() => conv2dBackpropFilterFast(t.x as tf.Tensor4D, t.dy as tf.Tensor4D, filterShape, attrs as unknown as ConvAttrs)) as TensorInfo;
  };
  return { kernelName: 'Conv2DBackpropFilter', backendName, kernelFunc };
}
