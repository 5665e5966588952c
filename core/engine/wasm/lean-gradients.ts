/**
 * Leaner gradients for batch normalisation and LeakyReLU. Gradients are registered per kernel, not per backend, so
 * each one checks the active backend and hands every other backend tfjs-core's own gradient unchanged.
 *
 * - FusedBatchNorm: tfjs-core tiles 1/sqrt(var) to the full tensor size (wasm Tile is slow) and recomputes
 *   (x - mean) and dy * scale several times. Here: two reductions (sum dy, sum dy*(x-mean)) and one multiply give all
 *   five gradients.
 * - LeakyRelu: tfjs-core builds a bool mask, a scaled copy and a select (three full passes); our SIMD kernel
 *   (elementwise-training.ts) is one, else dy * step(x, alpha) is two, and step's x > 0 ? 1 : alpha is the same
 *   rule as the mask's (alpha at x = 0).
 */
import * as tf from '@tensorflow/tfjs';
import type { GradConfig, NamedAttrMap } from '@tensorflow/tfjs';
import { leakyReluGradient } from './elementwise-training.ts';
import { wasmPaths } from './paths.ts';

type GradFunc = GradConfig['gradFunc'];

function replaceGradient(kernelName: string, backendName: string, lean: GradFunc, leanApplies: (saved: tf.Tensor[]) => boolean): void {
  const stock = tf.getGradient(kernelName);
  if (!stock) throw new Error(`no gradient registered for ${kernelName}`);
  const gradFunc: GradFunc = (dy, saved, attrs) =>
    wasmPaths.leanGradients && tf.getBackend() === backendName && leanApplies(saved)
      ? lean(dy, saved, attrs)
      : stock.gradFunc(dy, saved, attrs);
  tf.unregisterGradient(kernelName);
  tf.registerGradient({ ...stock, gradFunc });
}

/** Lean only when mean, variance and scale are all per-channel vectors matching x's last axis (the layers case). */
function batchNormIsPerChannel(saved: tf.Tensor[]): boolean {
  const [x, mean, variance, scale] = saved;
  const c = x.shape[x.rank - 1];
  const isVec = (t: tf.Tensor | undefined) => t === undefined || t === null || (t.rank === 1 && t.shape[0] === c);
  return x.rank >= 2 && mean.rank === 1 && mean.shape[0] === c && isVec(variance) && isVec(scale);
}

const leanBatchNorm: GradFunc = (dy, saved, attrs: NamedAttrMap) => {
  const [x, mean, variance, scale] = saved as [tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D | undefined];
  const eps = attrs.varianceEpsilon as number;
  const dyT = dy as tf.Tensor;
  const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
  // Shared by several outputs, so computed here: tfjs runs each output's thunk in its own tidy, which would dispose
  // anything one thunk cached for another.
  const r = tf.rsqrt(tf.add(variance, eps));
  const k = scale ? tf.mul(scale, r) : r;
  const sumDy = tf.sum(dyT, axes) as tf.Tensor1D;
  const sumDyXmm = tf.sum(tf.mul(dyT, tf.sub(x, mean)), axes) as tf.Tensor1D;
  const sDy = () => sumDy;
  const sDyXmm = () => sumDyXmm;
  return {
    x: () => tf.reshape(tf.mul(dyT, k), x.shape),
    mean: () => tf.neg(tf.mul(k, sDy())),
    variance: () => tf.mul(tf.mul(tf.mul(tf.mul(r, r), k), -0.5), sDyXmm()),
    scale: () => tf.mul(sDyXmm(), r),
    offset: () => tf.reshape(sDy(), mean.shape),
  };
};

const leanLeakyRelu: GradFunc = (dy, saved, attrs: NamedAttrMap) => {
  const [x] = saved;
  const alpha = attrs.alpha as number;
  return { x: () => leakyReluGradient(x, dy as tf.Tensor, alpha) ?? tf.mul(dy as tf.Tensor, tf.step(x, alpha)) };
};

/** dy of a reduction, reshaped so that it broadcasts over the reduced axes of x. */
function expandedDy(dy: tf.Tensor, x: tf.Tensor, attrs: NamedAttrMap): tf.Tensor {
  const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x.shape);
  const shape = x.shape.slice();
  for (const a of axes) shape[a] = 1;
  return tf.reshape(dy, shape);
}

/**
 * Sum and Mean: tfjs-core multiplies dy by a ones tensor of x's full size, filled in JS and copied onto the heap on
 * every step (batch-norm's moments make two such reductions per layer: a third of the seed step's time outside
 * kernels). Broadcasting dy (our Tile: row copies) writes the same values in one pass.
 */
const leanSum: GradFunc = (dy, saved, attrs: NamedAttrMap) => {
  const [x] = saved;
  return { x: () => tf.broadcastTo(expandedDy(dy as tf.Tensor, x, attrs), x.shape) };
};

const leanMean: GradFunc = (dy, saved, attrs: NamedAttrMap) => {
  const [x] = saved;
  return {
    x: () => {
      const small = expandedDy(dy as tf.Tensor, x, attrs);
      // Divide the small tensor, not the broadcast one: reduceSize is what tfjs-core divides by.
      return tf.broadcastTo(tf.div(small, x.size / small.size), x.shape);
    },
  };
};

/** Lean only for float32 x (the ones tensor tfjs-core multiplies by is float32, so results match). */
const isFloat = (saved: tf.Tensor[]): boolean => saved[0].dtype === 'float32';

export function registerLeanGradients(backendName: string): string[] {
  replaceGradient('FusedBatchNorm', backendName, leanBatchNorm, batchNormIsPerChannel);
  replaceGradient('LeakyRelu', backendName, leanLeakyRelu, () => true);
  replaceGradient('Sum', backendName, leanSum, isFloat);
  replaceGradient('Mean', backendName, leanMean, isFloat);
  return ['FusedBatchNorm (gradient)', 'LeakyRelu (gradient)', 'Sum (gradient)', 'Mean (gradient)'];
}
