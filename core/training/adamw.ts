import * as tf from '@tensorflow/tfjs';
import { adamwUpdate } from '../engine/index.ts';

/**
 * Adam with decoupled weight decay (Loshchilov & Hutter, AdamW). Ours rather than tf.train.adam because the
 * learning rate changes every step (schedule) and the moments must be saved in checkpoints for an exact resume.
 */
export interface AdamWOptions {
  readonly beta1?: number;
  readonly beta2?: number;
  readonly epsilon?: number;
  /** Decay applied to kernels only (names ending in /kernel); biases and batch-norm parameters are not decayed. */
  readonly weightDecay?: number;
}

export interface AdamWState {
  step: number;
  /** First and second moments per trainable variable, in the model's trainableWeights order. */
  moments: Array<{ m: Float32Array; v: Float32Array; shape: number[] }>;
}

/** Kernel variables are decayed; tfjs may suffix a name with _N when another model in the process used it. */
const KERNEL_NAME = /\/kernel(_\d+)?$/;

export class AdamW {
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly epsilon: number;
  private readonly weightDecay: number;
  // Positional (trainableWeights order), not by name: variable names differ between processes.
  private m: tf.Variable[] = [];
  private v: tf.Variable[] = [];
  step = 0;

  constructor(opts: AdamWOptions = {}) {
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.epsilon = opts.epsilon ?? 1e-7;
    this.weightDecay = opts.weightDecay ?? 0;
  }

  apply(variables: readonly tf.Variable[], grads: tf.NamedTensorMap, lr: number): void {
    this.step++;
    const b1 = this.beta1;
    const b2 = this.beta2;
    const correction1 = 1 - b1 ** this.step;
    const correction2 = 1 - b2 ** this.step;
    tf.tidy(() => {
      variables.forEach((variable, i) => {
        const g = grads[variable.name];
        if (!g) return;
        const m = this.moment(this.m, i, variable);
        const v = this.moment(this.v, i, variable);
        const decay = this.weightDecay > 0 && KERNEL_NAME.test(variable.name) ? this.weightDecay : 0;
        // One SIMD pass on wasm (core/engine); the same formula composed of tfjs ops everywhere else.
        const fused = adamwUpdate(variable, g, m, v, { beta1: b1, beta2: b2, epsilon: this.epsilon, correction1, correction2, lr, weightDecay: decay });
        if (fused) {
          const [nextW, nextM, nextV] = fused;
          m.assign(nextM);
          v.assign(nextV);
          variable.assign(nextW);
          return;
        }
        m.assign(tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1)));
        v.assign(tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2)));
        const update = tf.div(tf.div(m, correction1), tf.add(tf.sqrt(tf.div(v, correction2)), this.epsilon));
        let next = tf.sub(variable, tf.mul(update, lr));
        if (decay > 0) next = tf.sub(next, tf.mul(variable, lr * decay));
        variable.assign(next);
      });
    });
  }

  private moment(store: tf.Variable[], i: number, variable: tf.Variable): tf.Variable {
    if (!store[i]) store[i] = tf.variable(tf.zerosLike(variable), false);
    return store[i];
  }

  async getState(): Promise<AdamWState> {
    const moments: AdamWState['moments'] = [];
    for (let i = 0; i < this.m.length; i++) {
      moments.push({ m: (await this.m[i].data()) as Float32Array, v: (await this.v[i].data()) as Float32Array, shape: this.m[i].shape });
    }
    return { step: this.step, moments };
  }

  setState(state: AdamWState): void {
    this.dispose();
    this.step = state.step;
    this.m = state.moments.map(({ m, shape }) => tf.variable(tf.tensor(m, shape), false));
    this.v = state.moments.map(({ v, shape }) => tf.variable(tf.tensor(v, shape), false));
  }

  dispose(): void {
    for (const t of [...this.m, ...this.v]) t.dispose();
    this.m = [];
    this.v = [];
  }
}
