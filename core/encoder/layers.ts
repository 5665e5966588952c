import * as tf from '@tensorflow/tfjs';

/**
 * Scales each row to unit L2 norm, so cosine similarity between embeddings is a plain dot product.
 * A named, serializable layer (not a Lambda) so model.json round-trips and an ONNX exporter can map it.
 */
export class L2Normalize extends tf.layers.Layer {
  static readonly className = 'L2Normalize';
  /** Guards against a zero vector (an all-zero input after ReLU); far below any real squared norm. */
  private readonly epsilon: number;

  constructor(config: { epsilon?: number; name?: string } = {}) {
    super({ name: config.name });
    this.epsilon = config.epsilon ?? 1e-12;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const sumSq = tf.sum(tf.square(x), -1, true);
      return tf.mul(x, tf.rsqrt(tf.maximum(sumSq, this.epsilon)));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), epsilon: this.epsilon };
  }
}

tf.serialization.registerClass(L2Normalize);
