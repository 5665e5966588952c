/**
 * The paper's seed encoder built directly with tfjs layers, so engine tests and the training benchmark do not depend
 * on the encoder module: Conv1D(16,k21,same)-MaxPool2-LeakyReLU-BN, Conv1D(32,k11)-..., Conv1D(64,k5)-..., Flatten,
 * Dense(64), L2-normalise. The input length is a parameter: the kernels are shape-generic, so tests use short inputs.
 */
import { tf } from '../core/engine/index.ts';

export function buildSeedModel(points: number, seed = 1): tf.LayersModel {
  const input = tf.input({ shape: [points, 1] });
  let h: tf.SymbolicTensor = input;
  const blocks: Array<[number, number, 'same' | 'valid']> = [
    [16, 21, 'same'],
    [32, 11, 'valid'],
    [64, 5, 'valid'],
  ];
  blocks.forEach(([filters, kernelSize, padding], i) => {
    const init = tf.initializers.glorotUniform({ seed: seed * 100 + i });
    h = tf.layers.conv1d({ filters, kernelSize, padding, kernelInitializer: init, biasInitializer: tf.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: seed * 100 + 50 + i }) }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.maxPooling1d({ poolSize: 2 }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.leakyReLU({ alpha: 0.01 }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5 }).apply(h) as tf.SymbolicTensor;
  });
  h = tf.layers.flatten().apply(h) as tf.SymbolicTensor;
  h = tf.layers.dense({ units: 64, kernelInitializer: tf.initializers.glorotUniform({ seed: seed * 100 + 9 }) }).apply(h) as tf.SymbolicTensor;
  const output = new L2Normalize().apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: output });
}

/** Unit L2 norm per row; a plain tfjs op chain so its gradient is tfjs-core's. */
class L2Normalize extends tf.layers.Layer {
  static readonly className = 'TestL2Normalize';
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return tf.tidy(() => tf.div(x, tf.sqrt(tf.maximum(tf.sum(tf.square(x), -1, true), 1e-12))));
  }
}
