import * as tf from '@tensorflow/tfjs';
import { SpectrumInputError } from '../errors.ts';

/**
 * Weightless input transforms for encoders of real spectra: the classic library search on RRUFF Raman works best on
 * square-root intensities after a rolling-minimum baseline (core/identify/spectral/spectral-match.ts), so an encoder
 * can start from the same view. Named, serializable layers (not Lambdas) so model.json round-trips and the ONNX
 * exporter can map them.
 */

/** y -> sign(y) |y|^exponent: exponent 0.5 is the square root of the classic hit-quality index, sign kept for noise. */
export class SignedPower extends tf.layers.Layer {
  static readonly className = 'SignedPower';
  readonly exponent: number;

  constructor(config: { exponent?: number; name?: string } = {}) {
    super({ name: config.name });
    const exponent = config.exponent ?? 0.5;
    if (!(exponent > 0 && exponent <= 1)) throw new SpectrumInputError('bad-architecture', `signedPower exponent must lie in (0, 1], got ${exponent}`, { field: 'arch' });
    this.exponent = exponent;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      return tf.mul(tf.sign(x), tf.pow(tf.abs(x), this.exponent));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), exponent: this.exponent };
  }
}

/**
 * y -> y - baseline(y), the baseline a rolling minimum followed by a rolling maximum of the same width (a
 * morphological opening) and a moving average of it, over windows of 2 * floor(window / 2) + 1 points: the
 * rollingMinBaseline of the spectral match, as pooling layers of stride 1. A band narrower than the window stays;
 * fluorescence and slopes wider than it go. Ends: the pools see only the grid (no padding counted).
 */
export class RollingBaseline extends tf.layers.Layer {
  static readonly className = 'RollingBaseline';
  readonly window: number;

  constructor(config: { window?: number; name?: string } = {}) {
    super({ name: config.name });
    const window = config.window ?? 100;
    if (!(Number.isInteger(window) && window >= 3)) throw new SpectrumInputError('bad-architecture', `rollingBaseline window must be an integer >= 3, got ${window}`, { field: 'arch' });
    this.window = window;
  }

  /** Pool width: odd, centred on each point. */
  get poolSize(): number {
    return 2 * Math.floor(this.window / 2) + 1;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      // [n, w, c] as [n, 1, w, c]: the 2-D pools with a 1 x size window are 1-D pools of stride 1.
      const rows = tf.expandDims(x, 1) as tf.Tensor4D;
      const size: [number, number] = [1, this.poolSize];
      const eroded = tf.neg(tf.maxPool(tf.neg(rows), size, 1, 'same'));
      const opened = tf.maxPool(eroded, size, 1, 'same');
      const baseline = tf.squeeze(tf.avgPool(opened, size, 1, 'same'), [1]);
      return tf.sub(x, baseline);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), window: this.window };
  }
}

/**
 * [n, w, 1] -> [n, w, 2]: the input beside its smoothed first derivative (a moving average of `smooth` points, then
 * the central difference), times `scale` so its bands reach the input's order of magnitude. The derivative drops
 * any constant offset and turns a slope into one, as the first-derivative HQI does; the convs see both at once.
 * One fixed convolution (zero-padded ends, like 'same' convs): the kernel is the average's box convolved with
 * [-1/2, 0, 1/2].
 */
export class DerivativeChannel extends tf.layers.Layer {
  static readonly className = 'DerivativeChannel';
  readonly smooth: number;
  readonly scale: number;

  constructor(config: { smooth?: number; scale?: number; name?: string } = {}) {
    super({ name: config.name });
    const smooth = config.smooth ?? 5;
    const scale = config.scale ?? 5;
    if (!(Number.isInteger(smooth) && smooth >= 1 && smooth % 2 === 1)) throw new SpectrumInputError('bad-architecture', `derivativeChannel smooth must be an odd integer >= 1, got ${smooth}`, { field: 'arch' });
    if (!(scale > 0 && Number.isFinite(scale))) throw new SpectrumInputError('bad-architecture', `derivativeChannel scale must be > 0, got ${scale}`, { field: 'arch' });
    this.smooth = smooth;
    this.scale = scale;
  }

  /** The fixed kernel, length smooth + 2, centred. */
  kernel(): Float32Array {
    const k = new Float32Array(this.smooth + 2);
    // out[i] = (avg[i+1] - avg[i-1]) / 2 * scale; as a correlation, kernel[j] weighs x[i + j - (smooth + 1) / 2].
    for (let j = 0; j < this.smooth; j++) {
      k[j + 2] += this.scale / (2 * this.smooth);
      k[j] -= this.scale / (2 * this.smooth);
    }
    return k;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [shape[0], shape[1], 2];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor3D;
      const k = this.kernel();
      const derivative = tf.conv1d(x, tf.tensor3d(k, [k.length, 1, 1]), 1, 'same');
      return tf.concat([x, derivative], 2);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), smooth: this.smooth, scale: this.scale };
  }
}

tf.serialization.registerClass(SignedPower);
tf.serialization.registerClass(DerivativeChannel);
tf.serialization.registerClass(RollingBaseline);
