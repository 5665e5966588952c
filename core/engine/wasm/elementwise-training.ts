/**
 * Element-wise training kernels on our SIMD module (simd/training-kernels.ts):
 *
 * - `LeakyRelu` forward (replaces the stock kernel, a scalar loop at ~6 ns per element: 15 ms for lite's first
 *   layer at batch 64) and its gradient `dx = x > 0 ? dy : alpha dy` as one pass (tfjs-core: Step, Cast, Multiply);
 * - AdamW: the new weight, first and second moments of one variable in one pass (`SpectradAdamW`, three outputs),
 *   where core/training/adamw.ts composes ~13 element-wise ops per variable.
 *
 * Lengths that are not a multiple of 4 finish their last 1-3 elements in JS with the same formula. The results are
 * fresh tensors: nothing is updated in place (XNNPACK caches packed weights by tensor id, docs/ENGINE.md).
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { allocate, asWasm, heapView } from './heap.ts';
import { stockKernel } from './kernel-utils.ts';
import { heapAddress, simdKernels } from './simd/kernels.ts';
import { ADAMW_CONSTS, f32Bits } from './simd/training-kernels.ts';
import { wasmPaths } from './paths.ts';

export const LEAKY_RELU_GRAD = 'SpectradLeakyReluGrad';
export const ADAMW = 'SpectradAdamW';

const size = (t: TensorInfo) => t.shape.reduce((a, b) => a * b, 1);
const addr = (wasm: BackendWasm, t: TensorInfo) => heapAddress(wasm, t.dataId);
/** Bytes of the whole 4-element vectors of n float32 values. */
const vectorBytes = (n: number) => 16 * Math.floor(n / 4);

export function leakyReluConfig(backendName: string): KernelConfig {
  const stock = stockKernel('LeakyRelu', backendName);
  if (!stock) throw new Error(`LeakyRelu: no stock kernel on ${backendName}`);
  const kernelFunc: KernelFunc = (args) => {
    const x = args.inputs.x as TensorInfo;
    const wasm = asWasm(args.backend);
    const simd = simdKernels(wasm);
    if (!wasmPaths.simdElementwise || !simd || x.dtype !== 'float32') return stock(args);
    const alpha = Math.fround((args.attrs as { alpha: number }).alpha);
    const out = allocate(wasm, x.shape.slice(), 'float32');
    const n = size(x);
    simd.training.leakyRelu(addr(wasm, x), addr(wasm, out), vectorBytes(n), f32Bits(alpha));
    if (n % 4) {
      const xs = heapView(wasm, x) as Float32Array;
      const ys = heapView(wasm, out) as Float32Array;
      for (let i = n - (n % 4); i < n; i++) ys[i] = xs[i] < 0 ? Math.fround(alpha * xs[i]) : xs[i];
    }
    return out;
  };
  return { kernelName: 'LeakyRelu', backendName, kernelFunc };
}

function leakyReluGradConfig(backendName: string): KernelConfig {
  const kernelFunc: KernelFunc = ({ inputs, backend, attrs }) => {
    const wasm = asWasm(backend);
    const x = inputs.x as TensorInfo;
    const dy = inputs.dy as TensorInfo;
    const alpha = Math.fround((attrs as { alpha: number }).alpha);
    const out = allocate(wasm, x.shape.slice(), 'float32');
    const n = size(x);
    simdKernels(wasm)!.training.leakyReluGrad(addr(wasm, x), addr(wasm, dy), addr(wasm, out), vectorBytes(n), f32Bits(alpha));
    if (n % 4) {
      const [xs, ds, dx] = [x, dy, out].map((t) => heapView(wasm, t) as Float32Array);
      for (let i = n - (n % 4); i < n; i++) dx[i] = xs[i] > 0 ? ds[i] : Math.fround(alpha * ds[i]);
    }
    return out;
  };
  return { kernelName: LEAKY_RELU_GRAD, backendName, kernelFunc };
}

export interface AdamWStep {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  /** 1 - beta1^t and 1 - beta2^t. */
  readonly correction1: number;
  readonly correction2: number;
  readonly lr: number;
  /** Decoupled weight decay for this variable (0: none). */
  readonly weightDecay: number;
}

function adamwConfig(backendName: string): KernelConfig {
  const kernelFunc: KernelFunc = ({ inputs, backend, attrs }) => {
    const wasm = asWasm(backend);
    const [w, g, m, v] = (['w', 'g', 'm', 'v'] as const).map((k) => inputs[k] as TensorInfo);
    const a = attrs as unknown as AdamWStep;
    const outs = [w, m, v].map((t) => allocate(wasm, t.shape.slice(), 'float32'));
    const consts = allocate(wasm, [ADAMW_CONSTS.length], 'float32');
    const values: Record<(typeof ADAMW_CONSTS)[number], number> = {
      beta1: a.beta1,
      oneMinusBeta1: 1 - a.beta1,
      beta2: a.beta2,
      oneMinusBeta2: 1 - a.beta2,
      correction1: a.correction1,
      correction2: a.correction2,
      epsilon: a.epsilon,
      lr: a.lr,
      lrTimesDecay: a.lr * a.weightDecay,
    };
    const c = heapView(wasm, consts) as Float32Array;
    ADAMW_CONSTS.forEach((name, i) => (c[i] = values[name]));
    const n = size(w);
    const [wOut, mOut, vOut] = outs;
    simdKernels(wasm)!.training.adamw(addr(wasm, w), addr(wasm, g), addr(wasm, m), addr(wasm, v), addr(wasm, consts), addr(wasm, wOut), addr(wasm, mOut), addr(wasm, vOut), vectorBytes(n));
    if (n % 4) {
      const [ws, gs, ms, vs, wo, mo, vo] = [w, g, m, v, wOut, mOut, vOut].map((t) => heapView(wasm, t) as Float32Array);
      const f = Math.fround;
      const [b1, ob1, b2, ob2, c1, c2, eps, lr, lrwd] = Array.from(c);
      for (let i = n - (n % 4); i < n; i++) {
        const mi = f(f(ms[i] * b1) + f(gs[i] * ob1));
        const vi = f(f(vs[i] * b2) + f(f(gs[i] * gs[i]) * ob2));
        mo[i] = mi;
        vo[i] = vi;
        const update = f(f(mi / c1) / f(f(Math.sqrt(f(vi / c2))) + eps));
        wo[i] = f(f(ws[i] - f(update * lr)) - f(ws[i] * lrwd));
      }
    }
    wasm.disposeData(consts.dataId);
    return outs;
  };
  return { kernelName: ADAMW, backendName, kernelFunc };
}

export function elementwiseTrainingConfigs(backendName: string): KernelConfig[] {
  return [leakyReluGradConfig(backendName), adamwConfig(backendName)];
}

/** Whether our SIMD element-wise kernels run for float32 tensors on the active backend. */
function simdApplies(...ts: tf.Tensor[]): boolean {
  if (!wasmPaths.simdElementwise || tf.getBackend() !== 'wasm' || ts.some((t) => t.dtype !== 'float32')) return false;
  return simdKernels(asWasm(tf.backend())) !== undefined && tf.getKernel(ADAMW, 'wasm') !== undefined;
}

/** dy * (x > 0 ? 1 : alpha) in one SIMD pass, or undefined where it does not apply (the caller composes it). */
export function leakyReluGradient(x: tf.Tensor, dy: tf.Tensor, alpha: number): tf.Tensor | undefined {
  if (!simdApplies(x, dy) || !tf.util.arraysEqual(x.shape, dy.shape)) return undefined;
  return tf.engine().runKernel(LEAKY_RELU_GRAD, { x, dy }, { alpha }) as tf.Tensor;
}

/**
 * One AdamW step of one variable: [new weight, new m, new v] as fresh tensors, or undefined where the SIMD kernel
 * does not apply (not wasm, not float32, shapes differ, switched off): the caller composes the ops then.
 */
export function adamwUpdate(w: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, step: AdamWStep): [tf.Tensor, tf.Tensor, tf.Tensor] | undefined {
  if (!simdApplies(w, g, m, v) || ![g, m, v].every((t) => tf.util.arraysEqual(t.shape, w.shape))) return undefined;
  return tf.engine().runKernel(ADAMW, { w, g, m, v }, { ...step }) as [tf.Tensor, tf.Tensor, tf.Tensor];
}
