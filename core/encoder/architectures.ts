import * as tf from '@tensorflow/tfjs';
import { SpectrumInputError } from '../errors.ts';
import { DerivativeChannel, RollingBaseline, SignedPower } from './input-transforms.ts';
import { L2Normalize } from './layers.ts';

/**
 * Encoder architectures as plain data, so the model card can record exactly what was built and an exporter (ONNX)
 * can walk the same list. Only layers an exporter is expected to map are allowed here.
 */
export type LayerSpec =
  | { readonly kind: 'conv1d'; readonly filters: number; readonly kernelSize: number; readonly padding: 'same' | 'valid'; readonly activation?: 'relu' }
  | { readonly kind: 'maxPool1d'; readonly poolSize: number }
  | { readonly kind: 'avgPool1d'; readonly poolSize: number }
  | { readonly kind: 'leakyReLU'; readonly alpha: number }
  | { readonly kind: 'batchNorm' }
  | { readonly kind: 'flatten' }
  | { readonly kind: 'dense'; readonly units: number; readonly activation?: 'relu' }
  | { readonly kind: 'dropout'; readonly rate: number }
  | { readonly kind: 'globalAvgPool1d' }
  | { readonly kind: 'globalMaxPool1d' }
  | { readonly kind: 'l2Normalize' }
  /** y -> sign(y) log(1 + |y|/floor) / log(1 + 1/floor): peaks far below the tallest become visible (see LogCompress). */
  | { readonly kind: 'logCompress'; readonly floor: number }
  /** y -> sign(y) |y|^exponent (SignedPower): 0.5 is the classic hit-quality index's square root. */
  | { readonly kind: 'signedPower'; readonly exponent: number }
  /** y -> y minus its rolling-minimum baseline over `window` points (RollingBaseline, the spectral match's). */
  | { readonly kind: 'rollingBaseline'; readonly window: number }
  /** [n, w, 1] -> [n, w, 2]: the input and its smoothed first derivative times `scale` (DerivativeChannel). */
  | { readonly kind: 'derivativeChannel'; readonly smooth: number; readonly scale: number };

export interface ArchitectureSpec {
  readonly name: string;
  readonly description: string;
  readonly inputPoints: number;
  readonly layers: readonly LayerSpec[];
}

const BENCHMARK_POINTS = 5000;

/**
 * Fixed (weightless) logarithmic compression of the max-normalized input: sign(y) log(1 + |y|/floor) / log(1 + 1/floor),
 * so 0 -> 0, +-1 -> +-1 and a peak at 0.5 % of the tallest reaches ~0.26 (floor 1e-3) instead of 0.005. The challenge
 * set tells classes apart by peaks of 0.5-3.5 % height beside peaks of 100 %; a linear first conv layer sees those
 * only at the scale of its own weight noise. Registered for model.json, like L2Normalize.
 */
export class LogCompress extends tf.layers.Layer {
  static readonly className = 'LogCompress';
  private readonly floor: number;

  constructor(config: { floor?: number; name?: string } = {}) {
    super({ name: config.name });
    const floor = config.floor ?? 1e-3;
    if (!(floor > 0 && floor < 1)) throw new SpectrumInputError('bad-architecture', `logCompress floor must lie in (0, 1), got ${floor}`, { field: 'arch' });
    this.floor = floor;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const scale = 1 / Math.log1p(1 / this.floor);
      return tf.mul(tf.sign(x), tf.mul(tf.log1p(tf.div(tf.abs(x), this.floor)), scale));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), floor: this.floor };
  }
}

tf.serialization.registerClass(LogCompress);
/** PyTorch's nn.LeakyReLU default; the paper's code is PyTorch. */
const TORCH_LEAKY_SLOPE = 0.01;

const convBlock = (filters: number, kernelSize: number, padding: 'same' | 'valid', poolSize = 2): LayerSpec[] => [
  { kind: 'conv1d', filters, kernelSize, padding },
  { kind: 'maxPool1d', poolSize },
  { kind: 'leakyReLU', alpha: TORCH_LEAKY_SLOPE },
  { kind: 'batchNorm' },
];

/** Our embedding head: a ReLU dense layer before the 64-d embedding (Schuetzke et al.: ReLU in dense layers matters). */
const RELU_HEAD: LayerSpec[] = [{ kind: 'flatten' }, { kind: 'dense', units: 128, activation: 'relu' }, { kind: 'dense', units: 64 }, { kind: 'l2Normalize' }];

/** The paper's head: the flattened features straight into the 64-d embedding. */
const LINEAR_HEAD: LayerSpec[] = [{ kind: 'flatten' }, { kind: 'dense', units: 64 }, { kind: 'l2Normalize' }];

/** `tiny`'s feature layers, shared by its variants. */
const TINY_FEATURES: LayerSpec[] = [{ kind: 'avgPool1d', poolSize: 4 }, ...convBlock(32, 9, 'same', 4), ...convBlock(64, 7, 'same', 4)];

/** Vorozhtsov & Kitina 2024, exactly: three conv blocks, flatten, Dense(64), L2. */
export const SEED: ArchitectureSpec = {
  name: 'seed',
  description: 'Vorozhtsov & Kitina 2024: Conv1D(16,k21,same)-MaxPool2-LeakyReLU-BN, Conv1D(32,k11)-MaxPool2-LeakyReLU-BN, Conv1D(64,k5)-MaxPool2-LeakyReLU-BN, Flatten, Dense(64), L2',
  inputPoints: BENCHMARK_POINTS,
  layers: [...convBlock(16, 21, 'same'), ...convBlock(32, 11, 'valid'), ...convBlock(64, 5, 'valid'), ...LINEAR_HEAD],
};

/**
 * Ours: the benchmark's peaks are Gaussians of sigma 2-5 points, so a 4-point average pool first loses little and
 * makes every later layer 4x cheaper; narrower convs after it, then a ReLU dense layer (Schuetzke et al. 2023: ReLU
 * in the dense part matters) and a 64-d embedding.
 */
export const LITE: ArchitectureSpec = {
  name: 'lite',
  description: 'AvgPool4, Conv1D(32,k9,same)-MaxPool2-LeakyReLU-BN, Conv1D(32,k7,same)-MaxPool2-LeakyReLU-BN, Conv1D(64,k5,same)-MaxPool2-LeakyReLU-BN, Flatten, Dense(128,relu), Dense(64), L2',
  inputPoints: BENCHMARK_POINTS,
  layers: [
    { kind: 'avgPool1d', poolSize: 4 },
    ...convBlock(32, 9, 'same'),
    ...convBlock(32, 7, 'same'),
    ...convBlock(64, 5, 'same'),
    ...RELU_HEAD,
  ],
};

/** Cheaper still: pools 4 after the first conv too, leaving a 78-step map for the dense part. */
export const TINY: ArchitectureSpec = {
  name: 'tiny',
  description: 'AvgPool4, Conv1D(32,k9,same)-MaxPool4-LeakyReLU-BN, Conv1D(64,k7,same)-MaxPool4-LeakyReLU-BN, Flatten, Dense(128,relu), Dense(64), L2',
  inputPoints: BENCHMARK_POINTS,
  layers: [...TINY_FEATURES, ...RELU_HEAD],
};

/**
 * `tiny` with the paper's linear head (Flatten, Dense(64), L2; no ReLU dense layer): a mixture is found as the nearest
 * normalized sum of class embeddings, which needs an encoder close to additive, and a ReLU layer before the
 * embedding is the least additive part of `tiny` (bench:paper mixtures: docs/RESULTS.md).
 */
export const TINY_LINEAR_HEAD: ArchitectureSpec = {
  name: 'tiny-lin',
  description: 'AvgPool4, Conv1D(32,k9,same)-MaxPool4-LeakyReLU-BN, Conv1D(64,k7,same)-MaxPool4-LeakyReLU-BN, Flatten, Dense(64), L2',
  inputPoints: BENCHMARK_POINTS,
  layers: [...TINY_FEATURES, ...LINEAR_HEAD],
};

/**
 * For the challenge set (docs/RESULTS-CHALLENGE.md): `tiny`'s layout with wider kernels, so each unit after the
 * second conv sees ~230 input points, more than the 100-point per-peak jitter of the training samples.
 */
export const WIDE: ArchitectureSpec = {
  name: 'wide',
  description: 'AvgPool4, Conv1D(32,k25,same)-MaxPool4-LeakyReLU-BN, Conv1D(64,k15,same)-MaxPool4-LeakyReLU-BN, Flatten, Dense(128,relu), Dense(64), L2',
  inputPoints: BENCHMARK_POINTS,
  layers: [
    { kind: 'avgPool1d', poolSize: 4 },
    ...convBlock(32, 25, 'same', 4),
    ...convBlock(64, 15, 'same', 4),
    ...RELU_HEAD,
  ],
};

/** For the challenge set: four conv blocks after the 4-point pool (receptive field ~600 input points), same dense part. */
export const DEEP: ArchitectureSpec = {
  name: 'deep',
  description: 'AvgPool4, 4 x [Conv1D(32|32|64|64,k9,same)-MaxPool2-LeakyReLU-BN], Flatten, Dense(128,relu), Dense(64), L2',
  inputPoints: BENCHMARK_POINTS,
  layers: [
    { kind: 'avgPool1d', poolSize: 4 },
    ...convBlock(32, 9, 'same'),
    ...convBlock(32, 9, 'same'),
    ...convBlock(64, 9, 'same'),
    ...convBlock(64, 9, 'same'),
    ...RELU_HEAD,
  ],
};

/** `wide` behind a log compression of the input (LogCompress, floor 1e-3), for the challenge set's minor peaks. */
export const WIDE_LOG: ArchitectureSpec = {
  name: 'wide-log',
  description: `LogCompress(1e-3), then ${WIDE.description}`,
  inputPoints: BENCHMARK_POINTS,
  layers: [{ kind: 'logCompress', floor: 1e-3 }, ...WIDE.layers],
};

/** `tiny` behind the same log compression: the cheapest way to see minor peaks. */
export const TINY_LOG: ArchitectureSpec = {
  name: 'tiny-log',
  description: `LogCompress(1e-3), then ${TINY.description}`,
  inputPoints: BENCHMARK_POINTS,
  layers: [{ kind: 'logCompress', floor: 1e-3 }, ...TINY.layers],
};

/**
 * `wide` behind a milder log compression (floor 1e-2): a 0.5 % peak still rises 17x (to 0.09), while heights of
 * 0.2-0.35 keep nearly their linear spacing, which the height triplets need (floor 1e-3 squeezes them to 60 %).
 */
export const WIDE_LOG_MILD: ArchitectureSpec = {
  name: 'wide-log-mild',
  description: `LogCompress(1e-2), then ${WIDE.description}`,
  inputPoints: BENCHMARK_POINTS,
  layers: [{ kind: 'logCompress', floor: 1e-2 }, ...WIDE.layers],
};

/**
 * For real spectra on a physical grid of ~1 point per cm-1 (Raman, IR): bands are only 3-10 points wide there, so
 * no average pool first; four conv blocks with max pools of 2, 2, 4, 4 (receptive field ~100 points) give tolerance
 * to shifts of a few cm-1, and a mild log compression of the input (floor 0.03, close to a square root) lets weak
 * bands count beside the strongest, as the square root does for the classic hit-quality index. `inputPoints` is
 * the grid's: `forGrid` sets it.
 */
export const PHYS: ArchitectureSpec = {
  name: 'phys',
  description: 'LogCompress(0.03), Conv1D(32,k7,same)-MaxPool2-LeakyReLU-BN, Conv1D(32,k7,same)-MaxPool2-LeakyReLU-BN, Conv1D(64,k5,same)-MaxPool4-LeakyReLU-BN, Conv1D(64,k5,same)-MaxPool4-LeakyReLU-BN, Flatten, Dense(128,relu), Dense(64), L2',
  inputPoints: 1400,
  layers: [
    { kind: 'logCompress', floor: 0.03 },
    ...convBlock(32, 7, 'same'),
    ...convBlock(32, 7, 'same'),
    ...convBlock(64, 5, 'same', 4),
    ...convBlock(64, 5, 'same', 4),
    ...RELU_HEAD,
  ],
};

/** `phys` with a narrower dense part (Flatten, Dense(64), L2): fewer weights for small corpora. */
export const PHYS_LIN: ArchitectureSpec = {
  name: 'phys-lin',
  description: PHYS.description.replace('Dense(128,relu), ', ''),
  inputPoints: 1400,
  layers: [...PHYS.layers.slice(0, -RELU_HEAD.length), ...LINEAR_HEAD],
};

/**
 * A shallow encoder for real spectra: a plain cosine of square-root intensities at 8 cm-1 resolution identifies
 * as well as at 1 cm-1 on RRUFF Raman, so this keeps close to a linear map of the (compressed, pooled) input - two
 * conv blocks, no ReLU dense layer - with a 128-d embedding, learning tolerance to shifts and band ratios without
 * discarding what makes a cosine work on minerals it never saw.
 */
export const PHYS_SHALLOW: ArchitectureSpec = {
  name: 'phys-shallow',
  description: 'LogCompress(0.03), AvgPool2, Conv1D(32,k7,same)-MaxPool2-LeakyReLU-BN, Conv1D(64,k5,same)-MaxPool4-LeakyReLU-BN, Flatten, Dense(128), L2',
  inputPoints: 1400,
  layers: [
    { kind: 'logCompress', floor: 0.03 },
    { kind: 'avgPool1d', poolSize: 2 },
    ...convBlock(32, 7, 'same'),
    ...convBlock(64, 5, 'same', 4),
    { kind: 'flatten' },
    { kind: 'dense', units: 128 },
    { kind: 'l2Normalize' },
  ],
};

/**
 * Variants of `phys-shallow` for minerals never seen in training (docs/RESULTS-REAL.md, "Training the encoder for
 * unseen minerals"), each changing one thing: the input transform (the spectral match's square root, with or without
 * its rolling-minimum baseline of 100 points = 100 cm-1 on the 1 cm-1 Raman grid), the first average pool (off keeps
 * 1 cm-1 resolution), a third conv block (wider receptive field), global pooling in place of flatten, a 64-d embedding,
 * a derivative channel beside the input.
 */
interface PhysShallowOptions {
  readonly input: readonly LayerSpec[];
  readonly inputText: string;
  readonly avgPool?: boolean;
  readonly thirdBlock?: boolean;
  readonly pooling?: 'flatten' | 'globalMax';
  readonly dim?: number;
}

function physShallowVariant(name: string, o: PhysShallowOptions): ArchitectureSpec {
  const avgPool = o.avgPool ?? true;
  const dim = o.dim ?? 128;
  const parts = [o.inputText, ...(avgPool ? ['AvgPool2'] : []), 'Conv1D(32,k7,same)-MaxPool2-LeakyReLU-BN', 'Conv1D(64,k5,same)-MaxPool4-LeakyReLU-BN'];
  if (o.thirdBlock) parts.push('Conv1D(64,k5,same)-MaxPool2-LeakyReLU-BN');
  parts.push(o.pooling === 'globalMax' ? 'Conv1D(128,k5,same)-LeakyReLU-BN, GlobalMaxPool' : 'Flatten', `Dense(${dim})`, 'L2');
  return {
    name,
    description: parts.join(', '),
    inputPoints: 1400,
    layers: [
      ...o.input,
      ...(avgPool ? [{ kind: 'avgPool1d', poolSize: 2 } as const] : []),
      ...convBlock(32, 7, 'same'),
      ...convBlock(64, 5, 'same', 4),
      ...(o.thirdBlock ? convBlock(64, 5, 'same') : []),
      ...(o.pooling === 'globalMax'
        ? [{ kind: 'conv1d', filters: 128, kernelSize: 5, padding: 'same' } as const, { kind: 'leakyReLU', alpha: TORCH_LEAKY_SLOPE } as const, { kind: 'batchNorm' } as const, { kind: 'globalMaxPool1d' } as const]
        : [{ kind: 'flatten' } as const]),
      { kind: 'dense', units: dim },
      { kind: 'l2Normalize' },
    ],
  };
}

const LOG_INPUT = { input: [{ kind: 'logCompress', floor: 0.03 }], inputText: 'LogCompress(0.03)' } as const;
const SQRT_INPUT = { input: [{ kind: 'signedPower', exponent: 0.5 }], inputText: 'SignedPower(0.5)' } as const;
const LOG_DERIVATIVE_INPUT = { input: [{ kind: 'logCompress', floor: 0.03 }, { kind: 'derivativeChannel', smooth: 5, scale: 5 }], inputText: 'LogCompress(0.03), DerivativeChannel(smooth 5, x5)' } as const;
const BASELINE_SQRT_INPUT = { input: [{ kind: 'rollingBaseline', window: 100 }, { kind: 'signedPower', exponent: 0.5 }], inputText: 'RollingBaseline(100), SignedPower(0.5)' } as const;

const PHYS_SHALLOW_VARIANTS: readonly ArchitectureSpec[] = [
  physShallowVariant('phys-shallow-sqrt', SQRT_INPUT),
  physShallowVariant('phys-shallow-bsqrt', BASELINE_SQRT_INPUT),
  physShallowVariant('phys-shallow-full', { ...LOG_INPUT, avgPool: false }),
  physShallowVariant('phys-shallow-bsqrt-full', { ...BASELINE_SQRT_INPUT, avgPool: false }),
  physShallowVariant('phys-shallow-3', { ...LOG_INPUT, thirdBlock: true }),
  physShallowVariant('phys-shallow-bsqrt-3', { ...BASELINE_SQRT_INPUT, thirdBlock: true }),
  physShallowVariant('phys-shallow-gmax', { ...LOG_INPUT, pooling: 'globalMax' }),
  physShallowVariant('phys-shallow-64', { ...LOG_INPUT, dim: 64 }),
  physShallowVariant('phys-shallow-deriv', LOG_DERIVATIVE_INPUT),
  physShallowVariant('phys-shallow-bsqrt-64', { ...BASELINE_SQRT_INPUT, dim: 64 }),
];

/** The architecture with its input length set to a grid's point count (the benchmark ones are built for 5000). */
export function forGrid(arch: ArchitectureSpec, points: number): ArchitectureSpec {
  if (!Number.isInteger(points) || points < 16) throw new SpectrumInputError('bad-grid', `a grid needs at least 16 points, got ${points}`, { field: 'grid' });
  return { ...arch, inputPoints: points };
}

export const ARCHITECTURES: Readonly<Record<string, ArchitectureSpec>> = { seed: SEED, lite: LITE, tiny: TINY, 'tiny-lin': TINY_LINEAR_HEAD, wide: WIDE, deep: DEEP, 'wide-log': WIDE_LOG, 'tiny-log': TINY_LOG, 'wide-log-mild': WIDE_LOG_MILD, phys: PHYS, 'phys-lin': PHYS_LIN, 'phys-shallow': PHYS_SHALLOW,
  ...Object.fromEntries(PHYS_SHALLOW_VARIANTS.map((a) => [a.name, a])),
};

export function architectureNames(): string[] {
  return Object.keys(ARCHITECTURES);
}

export function getArchitecture(name: string): ArchitectureSpec {
  const spec = ARCHITECTURES[name];
  if (!spec) {
    throw new SpectrumInputError('unknown-architecture', `unknown architecture "${name}"; known: ${architectureNames().join(', ')}`, { field: 'arch' });
  }
  return spec;
}

function toLayer(spec: LayerSpec, name: string): tf.layers.Layer {
  switch (spec.kind) {
    case 'conv1d':
      return tf.layers.conv1d({ name, filters: spec.filters, kernelSize: spec.kernelSize, padding: spec.padding, activation: spec.activation ?? 'linear' });
    case 'maxPool1d':
      return tf.layers.maxPooling1d({ name, poolSize: spec.poolSize });
    case 'avgPool1d':
      return tf.layers.averagePooling1d({ name, poolSize: spec.poolSize });
    case 'leakyReLU':
      return tf.layers.leakyReLU({ name, alpha: spec.alpha });
    case 'batchNorm':
      // PyTorch's BatchNorm1d defaults (momentum 0.1 there = 0.9 here, eps 1e-5), to match the paper's code.
      return tf.layers.batchNormalization({ name, momentum: 0.9, epsilon: 1e-5 });
    case 'flatten':
      return tf.layers.flatten({ name });
    case 'dense':
      return tf.layers.dense({ name, units: spec.units, activation: spec.activation ?? 'linear' });
    case 'dropout':
      return tf.layers.dropout({ name, rate: spec.rate });
    case 'globalAvgPool1d':
      return tf.layers.globalAveragePooling1d({ name });
    case 'globalMaxPool1d':
      return tf.layers.globalMaxPooling1d({ name });
    case 'l2Normalize':
      return new L2Normalize({ name });
    case 'logCompress':
      return new LogCompress({ name, floor: spec.floor });
    case 'signedPower':
      return new SignedPower({ name, exponent: spec.exponent });
    case 'rollingBaseline':
      return new RollingBaseline({ name, window: spec.window });
    case 'derivativeChannel':
      return new DerivativeChannel({ name, smooth: spec.smooth, scale: spec.scale });
  }
}

/**
 * Builds the Keras-style model for an architecture; input [n, points, 1], output [n, dim] of unit norm.
 * With a seed, every initializer draws from it, so two builds with the same seed start identical.
 */
export function buildEncoderModel(arch: ArchitectureSpec, seed?: number): tf.LayersModel {
  const model = tf.sequential({ name: `encoder_${arch.name.replace(/[^A-Za-z0-9_]/g, '_')}` });
  model.add(tf.layers.inputLayer({ inputShape: [arch.inputPoints, 1], name: 'spectrum' }));
  arch.layers.forEach((spec, i) => model.add(toLayer(spec, `${spec.kind}_${i}`)));
  if (seed !== undefined) reseedWeights(model, seed);
  return model;
}

/**
 * tfjs-layers initializers draw from an unseeded global RNG; re-drawing every kernel from a seeded glorot-uniform
 * makes runs repeatable. Biases and batch-norm parameters keep their deterministic zeros/ones.
 */
function reseedWeights(model: tf.LayersModel, seed: number): void {
  let k = 0;
  for (const layer of model.layers) {
    const weights = layer.getWeights();
    if (weights.length === 0) continue;
    const isKernelLayer = layer.getClassName() === 'Conv1D' || layer.getClassName() === 'Dense';
    if (!isKernelLayer) continue;
    const [kernel, ...rest] = weights;
    const shape = kernel.shape;
    const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
    const fanIn = shape[shape.length - 2] * receptive;
    const fanOut = shape[shape.length - 1] * receptive;
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    const fresh = tf.randomUniform(shape, -limit, limit, 'float32', seed * 1009 + k++);
    layer.setWeights([fresh, ...rest]);
    fresh.dispose();
  }
}

/** Output embedding size of an architecture: the last dense layer's units. */
export function embeddingDim(arch: ArchitectureSpec): number {
  for (let i = arch.layers.length - 1; i >= 0; i--) {
    const l = arch.layers[i];
    if (l.kind === 'dense') return l.units;
  }
  throw new SpectrumInputError('bad-architecture', `architecture "${arch.name}" has no dense layer`, { field: 'arch' });
}
