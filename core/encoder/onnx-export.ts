/**
 * Exports a trained tfjs encoder (a Sequential of the layer kinds in architectures.ts) to an ONNX ModelProto, so
 * onnxruntime can run it (core/engine/onnx.ts).
 *
 * Layout: tfjs keeps 1D feature maps channels-last [n, w, c]; ONNX Conv/Pool want [n, c, w]. The graph therefore
 * works in [n, c, w] throughout: conv kernels are transposed from [k, cin, cout] to [cout, cin, k], and the dense
 * layer after a Flatten gets its rows permuted (tfjs flattens as w*C + c, ONNX as c*W + w), so no Transpose node runs.
 * Graph input "spectrum" [N, points] (the Encoder's row-major batch), output "embedding" [N, dim].
 */
import * as tf from '@tensorflow/tfjs';
import { SpectrumInputError } from '../errors.ts';
import { encodeOnnxModel, type OnnxInitializer, type OnnxNode } from './onnx/onnx-proto.ts';

/** Opset 13: every op used here exists in it with attribute (not input) axes for ReduceSumSquare. */
const ONNX_OPSET = 13;
/** The IR version that goes with opset 13. */
const ONNX_IR_VERSION = 7;
const ONNX_INPUT = 'spectrum';
const ONNX_OUTPUT = 'embedding';

export interface OnnxExportOptions {
  /** Written into the model's metadata (e.g. the Encoder's version) so an .onnx file says what it came from. */
  readonly version?: string;
}

type Shape = { readonly rank: 3; readonly c: number; readonly w: number } | { readonly rank: 2; readonly features: number; readonly flattenedFrom?: { readonly c: number; readonly w: number } };

function unsupported(layer: tf.layers.Layer, why: string): SpectrumInputError {
  return new SpectrumInputError('onnx-unsupported', `cannot export layer "${layer.name}" (${layer.getClassName()}) to ONNX: ${why}`, { field: 'model' });
}

function single(value: unknown): number {
  const v = Array.isArray(value) ? value : [value];
  if (v.length !== 1 || typeof v[0] !== 'number') throw new TypeError(`expected one number, got ${JSON.stringify(value)}`);
  return v[0];
}

/** The layer's weights by their short name (kernel, bias, gamma, beta, moving_mean, moving_variance). */
function weightsOf(layer: tf.layers.Layer): Map<string, { shape: number[]; data: Float32Array }> {
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  const values = layer.getWeights();
  layer.weights.forEach((w, i) => {
    const short = w.originalName.split('/').pop() ?? w.originalName;
    out.set(short, { shape: values[i].shape, data: values[i].dataSync() as Float32Array });
  });
  return out;
}

class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxInitializer[] = [];
  private counter = 0;

  fresh(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  add(op: string, inputs: string[], attributes?: OnnxNode['attributes'], name = this.fresh(op)): string {
    const output = `${name}_out`;
    this.nodes.push({ op, inputs, outputs: [output], name, attributes });
    return output;
  }

  constant(name: string, dims: number[], float: Float32Array): string {
    this.initializers.push({ name, dims, float });
    return name;
  }

  int64(name: string, values: number[]): string {
    this.initializers.push({ name, dims: [values.length], int64: values });
    return name;
  }

  scalar(value: number): string {
    return this.constant(this.fresh('const'), [], Float32Array.of(value));
  }
}

function activation(g: GraphBuilder, x: string, layer: tf.layers.Layer, name: unknown): string {
  if (name === undefined || name === 'linear') return x;
  if (name === 'relu') return g.add('Relu', [x]);
  throw unsupported(layer, `activation "${String(name)}"`);
}

function conv1d(g: GraphBuilder, x: string, shape: Shape, layer: tf.layers.Layer): { x: string; shape: Shape } {
  if (shape.rank !== 3) throw unsupported(layer, 'a convolution needs a [n, w, c] input');
  const cfg = layer.getConfig();
  const k = single(cfg.kernelSize);
  if (single(cfg.strides ?? 1) !== 1 || single(cfg.dilationRate ?? 1) !== 1) throw unsupported(layer, 'only stride 1 and dilation 1');
  if (cfg.dataFormat !== undefined && cfg.dataFormat !== 'channelsLast') throw unsupported(layer, `data format ${String(cfg.dataFormat)}`);
  const w = weightsOf(layer);
  const kernel = w.get('kernel');
  if (!kernel) throw unsupported(layer, 'no kernel');
  const [kk, cin, cout] = kernel.shape;
  if (kk !== k || cin !== shape.c) throw unsupported(layer, `kernel [${kernel.shape.join(', ')}] does not fit input channels ${shape.c}`);
  // [k, cin, cout] -> [cout, cin, k]
  const onnxKernel = new Float32Array(kernel.data.length);
  for (let t = 0; t < k; t++) for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++) onnxKernel[(o * cin + i) * k + t] = kernel.data[(t * cin + i) * cout + o];
  const name = g.fresh('conv');
  const inputs = [x, g.constant(`${name}_W`, [cout, cin, k], onnxKernel)];
  const bias = w.get('bias');
  if (bias) inputs.push(g.constant(`${name}_B`, [cout], bias.data));
  let pads: number[];
  let outW: number;
  if (cfg.padding === 'same') {
    // TensorFlow's 'same' at stride 1: k - 1 zeros in all, the odd one at the end.
    pads = [Math.floor((k - 1) / 2), Math.ceil((k - 1) / 2)];
    outW = shape.w;
  } else if (cfg.padding === 'valid') {
    pads = [0, 0];
    outW = shape.w - k + 1;
  } else {
    throw unsupported(layer, `padding "${String(cfg.padding)}"`);
  }
  const y = g.add('Conv', inputs, { kernel_shape: { ints: [k] }, pads: { ints: pads }, strides: { ints: [1] }, dilations: { ints: [1] } }, name);
  return { x: activation(g, y, layer, cfg.activation), shape: { rank: 3, c: cout, w: outW } };
}

function pool1d(g: GraphBuilder, x: string, shape: Shape, layer: tf.layers.Layer, op: 'MaxPool' | 'AveragePool'): { x: string; shape: Shape } {
  if (shape.rank !== 3) throw unsupported(layer, 'pooling needs a [n, w, c] input');
  const cfg = layer.getConfig();
  const size = single(cfg.poolSize);
  const stride = single(cfg.strides ?? size);
  if (cfg.padding !== 'valid') throw unsupported(layer, `padding "${String(cfg.padding)}"`);
  const y = g.add(op, [x], { kernel_shape: { ints: [size] }, strides: { ints: [stride] }, pads: { ints: [0, 0] } });
  return { x: y, shape: { rank: 3, c: shape.c, w: Math.floor((shape.w - size) / stride) + 1 } };
}

function batchNorm(g: GraphBuilder, x: string, shape: Shape, layer: tf.layers.Layer): string {
  const cfg = layer.getConfig();
  const channels = shape.rank === 3 ? shape.c : shape.features;
  if (cfg.axis !== undefined && single(cfg.axis) !== -1 && single(cfg.axis) !== (shape.rank === 3 ? 2 : 1)) throw unsupported(layer, `axis ${String(cfg.axis)}`);
  const w = weightsOf(layer);
  const mean = w.get('moving_mean');
  const variance = w.get('moving_variance');
  if (!mean || !variance) throw unsupported(layer, 'no moving mean/variance');
  const gamma = w.get('gamma')?.data ?? new Float32Array(channels).fill(1);
  const beta = w.get('beta')?.data ?? new Float32Array(channels);
  const epsilon = typeof cfg.epsilon === 'number' ? cfg.epsilon : 1e-3;
  if (shape.rank === 3) {
    const name = g.fresh('bn');
    return g.add(
      'BatchNormalization',
      [x, g.constant(`${name}_scale`, [channels], gamma), g.constant(`${name}_B`, [channels], beta), g.constant(`${name}_mean`, [channels], mean.data), g.constant(`${name}_var`, [channels], variance.data)],
      { epsilon: { float: epsilon } },
      name,
    );
  }
  // On [n, features] (after a dense layer): the same affine map as Mul + Add, in the flattened feature order.
  const scale = new Float32Array(channels);
  const shift = new Float32Array(channels);
  for (let i = 0; i < channels; i++) {
    scale[i] = gamma[i] / Math.sqrt(variance.data[i] + epsilon);
    shift[i] = beta[i] - mean.data[i] * scale[i];
  }
  const name = g.fresh('bn');
  return g.add('Add', [g.add('Mul', [x, g.constant(`${name}_s`, [channels], scale)]), g.constant(`${name}_t`, [channels], shift)]);
}

function dense(g: GraphBuilder, x: string, shape: Shape, layer: tf.layers.Layer): { x: string; shape: Shape } {
  if (shape.rank !== 2) throw unsupported(layer, 'dense on a feature map needs a Flatten before it');
  const cfg = layer.getConfig();
  const w = weightsOf(layer);
  const kernel = w.get('kernel');
  if (!kernel || kernel.shape[0] !== shape.features) throw unsupported(layer, `kernel does not fit ${shape.features} input features`);
  const units = kernel.shape[1];
  let rows = kernel.data;
  const from = shape.flattenedFrom;
  if (from) {
    // tfjs row w*C + c becomes ONNX row c*W + w.
    rows = new Float32Array(kernel.data.length);
    for (let pos = 0; pos < from.w; pos++) {
      for (let c = 0; c < from.c; c++) rows.set(kernel.data.subarray((pos * from.c + c) * units, (pos * from.c + c + 1) * units), (c * from.w + pos) * units);
    }
  }
  const name = g.fresh('dense');
  const inputs = [x, g.constant(`${name}_W`, [shape.features, units], rows)];
  const bias = w.get('bias');
  if (bias) inputs.push(g.constant(`${name}_B`, [units], bias.data));
  const y = g.add('Gemm', inputs, undefined, name);
  return { x: activation(g, y, layer, cfg.activation), shape: { rank: 2, features: units } };
}

function l2Normalize(g: GraphBuilder, x: string, shape: Shape, layer: tf.layers.Layer): string {
  if (shape.rank !== 2) throw unsupported(layer, 'L2 normalization needs [n, features]');
  const epsilon = Number(layer.getConfig().epsilon ?? 1e-12);
  // Same formula as L2Normalize.call: x * rsqrt(max(sum x^2, eps)), so a zero vector stays zero (no NaN).
  const sumSq = g.add('ReduceSumSquare', [x], { axes: { ints: [1] }, keepdims: { int: 1 } });
  const norm = g.add('Sqrt', [g.add('Max', [sumSq, g.scalar(epsilon)])]);
  return g.add('Div', [x, norm]);
}

function logCompress(g: GraphBuilder, x: string, layer: tf.layers.Layer): string {
  const floor = Number(layer.getConfig().floor);
  if (!(floor > 0 && floor < 1)) throw unsupported(layer, `floor ${floor}`);
  // sign(x) * log(1 + |x| / floor) / log(1 + 1 / floor), as LogCompress.call.
  const log = g.add('Log', [g.add('Add', [g.add('Mul', [g.add('Abs', [x]), g.scalar(1 / floor)]), g.scalar(1)])]);
  return g.add('Mul', [g.add('Sign', [x]), g.add('Mul', [log, g.scalar(1 / Math.log1p(1 / floor))])]);
}

function signedPower(g: GraphBuilder, x: string, layer: tf.layers.Layer): string {
  const exponent = Number(layer.getConfig().exponent);
  if (!(exponent > 0 && exponent <= 1)) throw unsupported(layer, `exponent ${exponent}`);
  // sign(x) * |x|^exponent, as SignedPower.call.
  return g.add('Mul', [g.add('Sign', [x]), g.add('Pow', [g.add('Abs', [x]), g.scalar(exponent)])]);
}

function rollingBaseline(g: GraphBuilder, x: string, shape: Shape, layer: tf.layers.Layer): string {
  if (shape.rank !== 3) throw unsupported(layer, 'a rolling baseline needs a [n, w, c] input');
  const window = Number(layer.getConfig().window);
  if (!(Number.isInteger(window) && window >= 3)) throw unsupported(layer, `window ${window}`);
  const half = Math.floor(window / 2);
  // Stride-1 pools padded by half on each side; MaxPool ignores the padding, AveragePool leaves it out of the count
  // (count_include_pad 0), as tfjs's 'same' pools do.
  const attrs = { kernel_shape: { ints: [2 * half + 1] }, strides: { ints: [1] }, pads: { ints: [half, half] } };
  const eroded = g.add('Neg', [g.add('MaxPool', [g.add('Neg', [x])], attrs)]);
  const baseline = g.add('AveragePool', [g.add('MaxPool', [eroded], attrs)], { ...attrs, count_include_pad: { int: 0 } });
  return g.add('Sub', [x, baseline]);
}

function derivativeChannel(g: GraphBuilder, x: string, shape: Shape, layer: tf.layers.Layer): { x: string; shape: Shape } {
  if (shape.rank !== 3 || shape.c !== 1) throw unsupported(layer, 'a derivative channel needs a [n, w, 1] input');
  const k = (layer as unknown as { kernel(): Float32Array }).kernel();
  const half = (k.length - 1) / 2;
  const name = g.fresh('deriv');
  // The fixed kernel as a 1 -> 1 channel Conv (zero pads, as tfjs 'same'), then the two channels side by side (NCW).
  const derivative = g.add('Conv', [x, g.constant(`${name}_W`, [1, 1, k.length], k)], { kernel_shape: { ints: [k.length] }, pads: { ints: [half, half] } }, name);
  return { x: g.add('Concat', [x, derivative], { axis: { int: 1 } }), shape: { rank: 3, c: 2, w: shape.w } };
}

/** The class of the next layer after `index` that is not a Dropout (identity at inference). */
function nextWeighted(layers: readonly tf.layers.Layer[], index: number): string | undefined {
  return layers.slice(index + 1).find((l) => l.getClassName() !== 'Dropout')?.getClassName();
}

/**
 * The ONNX bytes of a tfjs encoder model with input [n, points, 1] and output [n, dim]. Throws a SpectrumInputError
 * (code onnx-unsupported) for a layer or option it cannot map, rather than writing a model that computes something else.
 */
export function exportEncoderToOnnx(model: tf.LayersModel, opts: OnnxExportOptions = {}): Uint8Array {
  const inputShape = model.inputs[0]?.shape;
  if (!inputShape || inputShape.length !== 3 || typeof inputShape[1] !== 'number' || inputShape[2] !== 1) {
    throw new SpectrumInputError('onnx-unsupported', `expected a model input [n, points, 1], got [${String(inputShape)}]`, { field: 'model' });
  }
  const points = inputShape[1];
  const g = new GraphBuilder();
  let x = g.add('Reshape', [ONNX_INPUT, g.int64('input_shape', [0, 1, points])], undefined, 'to_ncw');
  let shape: Shape = { rank: 3, c: 1, w: points };
  for (const [index, layer] of model.layers.entries()) {
    const kind = layer.getClassName();
    switch (kind) {
      case 'InputLayer':
      case 'Dropout':
        break;
      case 'Conv1D':
        ({ x, shape } = conv1d(g, x, shape, layer));
        break;
      case 'MaxPooling1D':
        ({ x, shape } = pool1d(g, x, shape, layer, 'MaxPool'));
        break;
      case 'AveragePooling1D':
        ({ x, shape } = pool1d(g, x, shape, layer, 'AveragePool'));
        break;
      case 'LeakyReLU':
        x = g.add('LeakyRelu', [x], { alpha: { float: Number(layer.getConfig().alpha ?? 0.3) } });
        break;
      case 'ReLU':
        x = g.add('Relu', [x]);
        break;
      case 'BatchNormalization':
        x = batchNorm(g, x, shape, layer);
        break;
      case 'Flatten':
        if (shape.rank === 3) {
          if (nextWeighted(model.layers, index) === 'Dense') {
            x = g.add('Flatten', [x], { axis: { int: 1 } });
            shape = { rank: 2, features: shape.c * shape.w, flattenedFrom: { c: shape.c, w: shape.w } };
          } else {
            // Anything else sees the features in tfjs order: transpose back to [n, w, c] first.
            x = g.add('Flatten', [g.add('Transpose', [x], { perm: { ints: [0, 2, 1] } })], { axis: { int: 1 } });
            shape = { rank: 2, features: shape.c * shape.w };
          }
        }
        break;
      case 'GlobalAveragePooling1D':
      case 'GlobalMaxPooling1D': {
        if (shape.rank !== 3) throw unsupported(layer, 'global pooling needs [n, w, c]');
        const pooled = g.add(kind === 'GlobalAveragePooling1D' ? 'GlobalAveragePool' : 'GlobalMaxPool', [x]);
        x = g.add('Flatten', [pooled], { axis: { int: 1 } });
        shape = { rank: 2, features: shape.c };
        break;
      }
      case 'Dense':
        ({ x, shape } = dense(g, x, shape, layer));
        break;
      case 'L2Normalize':
        x = l2Normalize(g, x, shape, layer);
        break;
      case 'LogCompress':
        x = logCompress(g, x, layer);
        break;
      case 'SignedPower':
        x = signedPower(g, x, layer);
        break;
      case 'DerivativeChannel':
        ({ x, shape } = derivativeChannel(g, x, shape, layer));
        break;
      case 'RollingBaseline':
        x = rollingBaseline(g, x, shape, layer);
        break;
      default:
        throw unsupported(layer, 'no ONNX mapping for this layer kind');
    }
  }
  if (shape.rank !== 2) throw new SpectrumInputError('onnx-unsupported', 'the model does not end in [n, dim]', { field: 'model' });
  // Name the last value "embedding" through an Identity, whatever node produced it.
  g.nodes.push({ op: 'Identity', inputs: [x], outputs: [ONNX_OUTPUT], name: 'output' });
  return encodeOnnxModel({
    graphName: model.name,
    nodes: g.nodes,
    initializers: g.initializers,
    inputs: [{ name: ONNX_INPUT, dims: ['N', points] }],
    outputs: [{ name: ONNX_OUTPUT, dims: ['N', shape.features] }],
    opset: ONNX_OPSET,
    irVersion: ONNX_IR_VERSION,
    producerVersion: `tfjs ${tf.version.tfjs}`,
    docString: 'spectrad encoder: max-normalized spectrum on the model grid -> unit-norm embedding',
    metadata: opts.version ? { version: opts.version } : undefined,
  });
}
