/**
 * Batch normalisation in TRAINING mode as two fused kernels on wasm, instead of tfjs-layers' op chain.
 *
 * tfjs-layers normalises a training batch with `moments` (Mean, Sub, Square, Mean) and `batchNorm`, and the tape
 * differentiates that chain op by op: ~15 full-size passes per layer per step (Sub, Square, Multiply, Add, Tile,
 * Sum, ...). Here the forward is three passes (per-channel sum; sum of squared deviations; y = (x - mean) s + t)
 * and the gradient two (sums of dy and dy (x - mean); dx = dy a + (x - mean) b + c), our SIMD kernels
 * (simd/training-kernels.ts) with float64 block totals. The math is the layer's exactly: biased batch variance,
 * y = (x - mean) / sqrt(var + eps) * gamma + beta, the gradient through the batch statistics, and the moving
 * mean/variance updated as tfjs-layers does. Weights, names and saved models are untouched: only the layer's
 * training-mode `call` changes, and only on wasm for per-channel (last-axis) normalisation with gamma and beta and
 * channels a multiple of 4; everything else (inference, cpu, other layouts) runs tfjs-layers' own code.
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { allocate, asWasm, heapView } from './heap.ts';
import { heapAddress, simdKernels } from './simd/kernels.ts';
import { wasmPaths } from './paths.ts';

export const BATCH_NORM_TRAIN = 'SpectradBatchNormTrain';
export const BATCH_NORM_TRAIN_GRAD = 'SpectradBatchNormTrainGrad';

interface Channels {
  readonly rows: number;
  readonly c: number;
}

const channels = (t: TensorInfo): Channels => {
  const c = t.shape[t.shape.length - 1];
  const size = t.shape.reduce((a, b) => a * b, 1);
  return { rows: size / c, c };
};

/** Float64 totals written by the sum kernels: `count` values at an 8-byte-aligned address inside `t`. */
function float64Totals(wasm: BackendWasm, t: TensorInfo, count: number): Float64Array {
  const addr = alignedTo8(heapAddress(wasm, t.dataId));
  return new Float64Array((heapView(wasm, t) as Float32Array).buffer, addr, count);
}
const alignedTo8 = (addr: number): number => (addr + 7) & ~7;

/** Scratch for the sum kernels: float32 block sums (terms x C) and float64 totals (terms x C, plus alignment). */
function scratch(wasm: BackendWasm, c: number, terms: number): { blk: TensorInfo; tot: TensorInfo; dispose(): void } {
  const blk = allocate(wasm, [terms * c], 'float32');
  const tot = allocate(wasm, [2 * terms * c + 2], 'float32');
  return { blk, tot, dispose: () => [blk, tot].forEach((t) => wasm.disposeData(t.dataId)) };
}

/** Forward: inputs x [..., C], scale [C], offset [C]; outputs y, the batch mean [C] and biased variance [C]. */
function forward(wasm: BackendWasm, x: TensorInfo, scale: TensorInfo, offset: TensorInfo, eps: number): TensorInfo[] {
  const simd = simdKernels(wasm)!.training;
  const { rows, c } = channels(x);
  const cb = 4 * c;
  const y = allocate(wasm, x.shape.slice(), 'float32');
  const mean = allocate(wasm, [c], 'float32');
  const variance = allocate(wasm, [c], 'float32');
  const effScale = allocate(wasm, [c], 'float32');
  const s = scratch(wasm, c, 1);
  const addr = (t: TensorInfo) => heapAddress(wasm, t.dataId);
  const totAddr = alignedTo8(addr(s.tot));
  simd.sum(addr(x), 0, 0, rows, cb, addr(s.blk), totAddr);
  const meanView = heapView(wasm, mean) as Float32Array;
  let tot = float64Totals(wasm, s.tot, c);
  for (let i = 0; i < c; i++) meanView[i] = tot[i] / rows;
  simd.sumSqDev(addr(x), 0, addr(mean), rows, cb, addr(s.blk), totAddr);
  tot = float64Totals(wasm, s.tot, c);
  const varView = heapView(wasm, variance) as Float32Array;
  const gamma = heapView(wasm, scale) as Float32Array;
  const eff = heapView(wasm, effScale) as Float32Array;
  for (let i = 0; i < c; i++) {
    varView[i] = tot[i] / rows;
    eff[i] = gamma[i] / Math.sqrt(varView[i] + eps);
  }
  simd.bnApply(addr(x), addr(mean), addr(effScale), addr(offset), addr(y), rows, cb);
  s.dispose();
  wasm.disposeData(effScale.dataId);
  return [y, mean, variance];
}

/** Gradient: inputs x, dy, the forward's mean and variance, scale; outputs dx, dscale, doffset. */
function backward(wasm: BackendWasm, x: TensorInfo, dy: TensorInfo, mean: TensorInfo, variance: TensorInfo, scale: TensorInfo, eps: number): TensorInfo[] {
  const simd = simdKernels(wasm)!.training;
  const { rows, c } = channels(x);
  const cb = 4 * c;
  const dx = allocate(wasm, x.shape.slice(), 'float32');
  const dScale = allocate(wasm, [c], 'float32');
  const dOffset = allocate(wasm, [c], 'float32');
  const coef = allocate(wasm, [3 * c], 'float32');
  const s = scratch(wasm, c, 2);
  const addr = (t: TensorInfo) => heapAddress(wasm, t.dataId);
  simd.sumDyDev(addr(x), addr(dy), addr(mean), rows, cb, addr(s.blk), alignedTo8(addr(s.tot)));
  const tot = float64Totals(wasm, s.tot, 2 * c);
  const varView = heapView(wasm, variance) as Float32Array;
  const gamma = heapView(wasm, scale) as Float32Array;
  const dS = heapView(wasm, dScale) as Float32Array;
  const dO = heapView(wasm, dOffset) as Float32Array;
  const k = heapView(wasm, coef) as Float32Array;
  for (let i = 0; i < c; i++) {
    const sumDy = tot[i];
    const sumDyDev = tot[c + i];
    const invStd = 1 / Math.sqrt(varView[i] + eps);
    const a = gamma[i] * invStd;
    dS[i] = sumDyDev * invStd;
    dO[i] = sumDy;
    // dx = a (dy - mean(dy) - (x - mean) invStd^2 mean(dy (x - mean))): the gradient through the batch statistics.
    k[i] = a;
    k[c + i] = (-a * invStd * invStd * sumDyDev) / rows;
    k[2 * c + i] = (-a * sumDy) / rows;
  }
  const coefAddr = addr(coef);
  simd.bnBackward(addr(x), addr(dy), addr(mean), coefAddr, coefAddr + cb, coefAddr + 2 * cb, addr(dx), rows, cb);
  s.dispose();
  wasm.disposeData(coef.dataId);
  return [dx, dScale, dOffset];
}

const epsilonOf = (attrs: unknown): number => (attrs as { varianceEpsilon: number }).varianceEpsilon;

export function batchNormTrainingConfigs(backendName: string): KernelConfig[] {
  const fwd: KernelFunc = ({ inputs, backend, attrs }) => forward(asWasm(backend), inputs.x as TensorInfo, inputs.scale as TensorInfo, inputs.offset as TensorInfo, epsilonOf(attrs));
  const grad: KernelFunc = ({ inputs, backend, attrs }) =>
    backward(asWasm(backend), inputs.x as TensorInfo, inputs.dy as TensorInfo, inputs.mean as TensorInfo, inputs.variance as TensorInfo, inputs.scale as TensorInfo, epsilonOf(attrs));
  return [
    { kernelName: BATCH_NORM_TRAIN, backendName, kernelFunc: fwd },
    { kernelName: BATCH_NORM_TRAIN_GRAD, backendName, kernelFunc: grad },
  ];
}

/** Whether the fused kernels can normalise x (float32, channels last, C a multiple of 4) on the active backend. */
function fusedBatchNormTrainingApplies(x: tf.Tensor): boolean {
  if (!wasmPaths.fusedBatchNormTraining || tf.getBackend() !== 'wasm' || x.dtype !== 'float32' || x.rank < 2 || x.size === 0) return false;
  const c = x.shape[x.rank - 1];
  if (c < 4 || c % 4 !== 0 || !tf.getKernel(BATCH_NORM_TRAIN, 'wasm')) return false;
  return simdKernels(asWasm(tf.backend())) !== undefined;
}

/**
 * Batch-normalises x over all axes but the last with the batch's own statistics: y is differentiable with respect
 * to x, scale and offset; mean and variance (biased) are for the moving averages and the caller disposes them.
 * Call only where fusedBatchNormTrainingApplies(x).
 */
function batchNormTraining(x: tf.Tensor, scale: tf.Tensor, offset: tf.Tensor, varianceEpsilon: number): { y: tf.Tensor; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  let stats: tf.Tensor1D[] = [];
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xx, g, b] = args as tf.Tensor[];
    const save = args[3] as tf.GradSaveFunc;
    const [y, mean, variance] = tf.engine().runKernel(BATCH_NORM_TRAIN, { x: xx, scale: g, offset: b }, { varianceEpsilon }) as tf.Tensor[];
    save([xx, mean, variance, g]);
    // customGrad runs this in a tidy and returns only y; the statistics leave it kept, and the caller disposes them.
    stats = [tf.keep(mean) as tf.Tensor1D, tf.keep(variance) as tf.Tensor1D];
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sMean, sVar, sScale] = saved;
        return tf.engine().runKernel(BATCH_NORM_TRAIN_GRAD, { x: sx, dy, mean: sMean, variance: sVar, scale: sScale }, { varianceEpsilon }) as tf.Tensor[];
      },
    };
  });
  const y = op(x, scale, offset);
  return { y, mean: stats[0], variance: stats[1] };
}

/** The fields of tfjs-layers' BatchNormalization that its training call uses (not part of its public typings). */
interface BatchNormLayer {
  readonly axis: number;
  readonly momentum: number;
  readonly epsilon: number;
  readonly gamma: tf.LayerVariable | null;
  readonly beta: tf.LayerVariable | null;
  readonly movingMean: tf.LayerVariable;
  readonly movingVariance: tf.LayerVariable;
}

type LayerCall = (this: BatchNormLayer, inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }) => tf.Tensor | tf.Tensor[];

let installed = false;

/**
 * Routes tfjs-layers' BatchNormalization training call through batchNormTraining where it applies (every layer of
 * the class, built or loaded: the serialised layer is unchanged). Idempotent.
 */
export function installFusedBatchNormTraining(): void {
  if (installed) return;
  installed = true;
  const probe = tf.layers.batchNormalization({});
  const proto = Object.getPrototypeOf(probe) as { call: LayerCall };
  const original = proto.call;
  proto.call = function (this: BatchNormLayer, inputs, kwargs) {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const lastAxis = this.axis === -1 || this.axis === x.rank - 1;
    if (kwargs?.training !== true || (Array.isArray(inputs) && inputs.length !== 1) || !lastAxis || !this.gamma || !this.beta || !fusedBatchNormTrainingApplies(x)) {
      return original.call(this, inputs, kwargs);
    }
    return tf.tidy(() => {
      const { y, mean, variance } = batchNormTraining(x, this.gamma!.read(), this.beta!.read(), this.epsilon);
      // The moving averages exactly as tfjs-layers updates them (doMovingAverage).
      for (const [variable, value] of [
        [this.movingMean, mean],
        [this.movingVariance, variance],
      ] as const) {
        const orig = variable.read();
        variable.write(tf.sub(orig, tf.mul(tf.sub(orig, value), 1 - this.momentum)));
      }
      mean.dispose();
      variance.dispose();
      return y;
    });
  };
}
