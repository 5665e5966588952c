import * as tf from '@tensorflow/tfjs';
import type { AdamW } from './adamw.ts';
import { tripletLoss, type TripletLossOptions } from './loss.ts';

export interface TrainStepInput {
  readonly model: tf.LayersModel;
  /** The variables to train, in model.trainableWeights order (what the optimizer's moments are indexed by). */
  readonly trainable: readonly tf.Variable[];
  readonly optimizer: AdamW;
  /** Row-major spectra [labels.length, points], already augmented. */
  readonly x: Float32Array;
  readonly points: number;
  readonly labels: ArrayLike<number>;
  readonly loss: TripletLossOptions;
  readonly lr: number;
}

/**
 * One optimisation step: embed the batch, the triplet loss, gradients of the trainable variables only (the input
 * spectra get none), one AdamW update. Returns the loss. Shared by train() and bench:train, so the benchmark times
 * exactly the step that training runs.
 */
export function trainStep(s: TrainStepInput): number {
  const n = s.labels.length;
  const { value, grads } = tf.variableGrads(() => {
    const input = tf.tensor3d(s.x.subarray(0, n * s.points), [n, s.points, 1]);
    const emb = s.model.apply(input, { training: true }) as tf.Tensor2D;
    return tripletLoss(emb, s.labels, s.loss);
  }, s.trainable as tf.Variable[]);
  s.optimizer.apply(s.trainable, grads, s.lr);
  const loss = value.dataSync()[0];
  value.dispose();
  tf.dispose(grads);
  return loss;
}
