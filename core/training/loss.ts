import * as tf from '@tensorflow/tfjs';

export type Mining = 'batch-all' | 'batch-hard';

export interface TripletLossOptions {
  /** Margin of the hinge on cosine distances; the paper uses 1. */
  readonly margin?: number;
  /** Only triplets whose loss exceeds this count (paper: 0.3): easy triplets would dilute the mean. */
  readonly threshold?: number;
  readonly mining?: Mining;
}

export const PAPER_LOSS = { margin: 1, threshold: 0.3 } as const;

/**
 * Masks of valid anchor-positive (same class, different sample) and anchor-negative (different class) pairs,
 * computed once per batch in plain JS: labels never need gradients.
 */
export function pairMasks(labels: ArrayLike<number>): { positive: Float32Array; negative: Float32Array } {
  const b = labels.length;
  const positive = new Float32Array(b * b);
  const negative = new Float32Array(b * b);
  for (let i = 0; i < b; i++) {
    for (let j = 0; j < b; j++) {
      if (labels[i] === labels[j]) {
        if (i !== j) positive[i * b + j] = 1;
      } else {
        negative[i * b + j] = 1;
      }
    }
  }
  return { positive, negative };
}

/**
 * For each anchor, its positives as one-hot rows: select[a, q, j] = 1 when j is anchor a's q-th positive. Anchors
 * with fewer positives than the most have padding rows (all zero, and valid[a, q] = 0).
 */
export function positiveSelection(labels: ArrayLike<number>): { select: Float32Array; valid: Float32Array; q: number } {
  const b = labels.length;
  const lists: number[][] = [];
  for (let a = 0; a < b; a++) {
    const list: number[] = [];
    for (let j = 0; j < b; j++) if (j !== a && labels[j] === labels[a]) list.push(j);
    lists.push(list);
  }
  const q = Math.max(1, ...lists.map((l) => l.length));
  const select = new Float32Array(b * q * b);
  const valid = new Float32Array(b * q);
  lists.forEach((list, a) =>
    list.forEach((j, i) => {
      select[(a * q + i) * b + j] = 1;
      valid[a * q + i] = 1;
    }),
  );
  return { select, valid, q };
}

/**
 * The paper's cosine triplet loss with online mining over one batch of unit-norm embeddings [b, d]:
 * distance d(a, x) = 1 - cos(a, x); per triplet l = d(a, p) - d(a, n) + margin; the loss is the mean of l over the
 * triplets with l > threshold (0 when there are none).
 * batch-all: every valid (a, p, n) triplet of the batch; batch-hard: per anchor its farthest positive and nearest
 * negative. The threshold weight comes from tf.step, whose gradient is zero, so it selects without being learned.
 * batch-all works on [b, q, b] (q = most positives of an anchor, K-1 in a P x K batch) rather than [b, b, b]:
 * at b = 128, K = 4 that is 40x less memory traffic for the same triplets.
 */
export function tripletLoss(embeddings: tf.Tensor2D, labels: ArrayLike<number>, opts: TripletLossOptions = {}): tf.Scalar {
  const margin = opts.margin ?? PAPER_LOSS.margin;
  const threshold = opts.threshold ?? PAPER_LOSS.threshold;
  const b = labels.length;
  if (embeddings.shape[0] !== b) {
    throw new RangeError(`tripletLoss: ${embeddings.shape[0]} embeddings but ${b} labels`);
  }
  const { positive, negative } = pairMasks(labels);
  return tf.tidy(() => {
    const dist = tf.sub(1, tf.matMul(embeddings, embeddings, false, true));
    const neg = tf.tensor2d(negative, [b, b]);
    let perTriplet: tf.Tensor;
    let valid: tf.Tensor;
    if ((opts.mining ?? 'batch-all') === 'batch-all') {
      const sel = positiveSelection(labels);
      const select = tf.tensor3d(sel.select, [b, sel.q, b]);
      const dPos = tf.sum(tf.mul(tf.expandDims(dist, 1), select), 2); // [b, q]
      perTriplet = tf.add(tf.sub(tf.expandDims(dPos, 2), tf.expandDims(dist, 1)), margin); // [b, q, b]
      valid = tf.mul(tf.expandDims(tf.tensor2d(sel.valid, [b, sel.q]), 2), tf.expandDims(neg, 1));
    } else {
      const pos = tf.tensor2d(positive, [b, b]);
      // Distances lie in [0, 2]: masking with 0 (positives) and +4 (non-negatives) never changes the max / min.
      const hardestPos = tf.max(tf.mul(dist, pos), 1);
      const hardestNeg = tf.min(tf.add(dist, tf.mul(tf.sub(1, neg), 4)), 1);
      perTriplet = tf.add(tf.sub(hardestPos, hardestNeg), margin);
      valid = tf.cast(tf.greater(tf.sum(pos, 1), 0), 'float32');
    }
    const weight = tf.mul(tf.step(tf.sub(perTriplet, threshold)), valid);
    const count = tf.maximum(tf.sum(weight), 1);
    return tf.div(tf.sum(tf.mul(perTriplet, weight)), count) as tf.Scalar;
  });
}
