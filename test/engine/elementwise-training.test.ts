/**
 * Our SIMD LeakyReLU (forward kernel and gradient) and fused AdamW update (core/engine/wasm/elementwise-training.ts)
 * against the cpu backend: lengths with 0-3 elements past the last whole vector (the JS tail), zeros, signed zeros,
 * NaN and infinities, and three optimizer steps with and without weight decay.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ALL_PATHS, setWasmPaths, tf, WITHOUT_TRAINING_PATHS } from '../../core/engine/index.ts';
import { ADAMW, LEAKY_RELU_GRAD } from '../../core/engine/wasm/elementwise-training.ts';
import { AdamW } from '../../core/training/adamw.ts';
import { onBackend, randomValues, relativeError, runBoth, useWasmEngine } from './compare.ts';

beforeAll(useWasmEngine);

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
/** Random values with the special ones mixed in at fixed places. */
function specialValues(n: number, seed: number): Float32Array {
  const v = randomValues(n, seed, { lo: -3, hi: 3 });
  const special = [0, -0, NaN, Infinity, -Infinity, 1e-30, -1e-30];
  for (let i = 0; i < n; i += 5) v[i] = special[(i / 5) % special.length];
  return v;
}

/**
 * NaN where NaN, the same infinities and signed zeros, other values within one float32 rounding (cpu multiplies by
 * alpha in float64 and rounds once; float32 SIMD rounds alpha first, so alpha x may differ in the last bit).
 */
function expectIdentical(a: Float32Array, b: Float32Array, what: string): void {
  expect(a.length, what).toBe(b.length);
  for (let i = 0; i < a.length; i++) {
    const same = Object.is(a[i], b[i]) || (Number.isFinite(b[i]) && b[i] !== 0 && Math.abs(a[i] - b[i]) <= 2 ** -22 * Math.abs(b[i]));
    if (!same) expect.fail(`${what}[${i}]: ${a[i]} vs ${b[i]}`);
  }
}

const shapes: number[][] = [[16], [17], [2, 9], [3, 5], [1], [2, 3, 1, 4], [64, 13, 8]];

describe('LeakyRelu on wasm (SIMD) vs cpu', () => {
  shapes.forEach((shape, i) => {
    it(`forward and gradient, shape ${shape.join('x')} (${size(shape) % 4} past the last vector)`, () => {
      const { wasm, cpu } = runBoth(() => {
        const x = tf.tensor(specialValues(size(shape), 10 + i), shape);
        const r = tf.tensor(randomValues(size(shape), 20 + i), shape);
        const y = tf.leakyRelu(x, 0.01);
        const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.leakyRelu(t, 0.01), r)))(x);
        // A finite input: the gradient's sum then has no NaN from the special values.
        const xf = tf.tensor(randomValues(size(shape), 30 + i), shape);
        const dyOnly = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.leakyRelu(t, 0.2), r)))(xf);
        return [y, dx, dyOnly];
      });
      expectIdentical(wasm[0], cpu[0], 'y');
      expectIdentical(wasm[1], cpu[1], 'dx');
      expectIdentical(wasm[2], cpu[2], 'dx (alpha 0.2)');
    });
  });

  it('the SIMD gradient kernel is what ran, and switched off the composed ops give the same', async () => {
    const x = onBackend('wasm', () => tf.tensor(randomValues(4 * 9, 5), [4, 9]));
    const grad = () => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.leakyRelu(t, 0.01), t)))(x);
    const on = await onBackend('wasm', () => tf.profile(() => grad()));
    expect(on.kernelNames).toContain(LEAKY_RELU_GRAD);
    const fast = onBackend('wasm', () => tf.tidy(() => Float32Array.from(grad().dataSync())));
    setWasmPaths(WITHOUT_TRAINING_PATHS);
    try {
      const off = await onBackend('wasm', () => tf.profile(() => grad()));
      expect(off.kernelNames).not.toContain(LEAKY_RELU_GRAD);
      expectIdentical(fast, onBackend('wasm', () => tf.tidy(() => Float32Array.from(grad().dataSync()))), 'dx switched off');
    } finally {
      setWasmPaths(ALL_PATHS);
      x.dispose();
    }
  });
});

/** Three AdamW steps on variables of awkward lengths, a kernel (decayed) among them; returns weights, m and v. */
async function threeAdamWSteps(backend: 'wasm' | 'cpu'): Promise<Float32Array[]> {
  const before = tf.getBackend();
  await tf.setBackend(backend);
  try {
    const shapes = [[1], [3], [4], [7], [5, 33], [9, 4, 8]];
    const vars = shapes.map((s, i) => tf.variable(tf.tensor(randomValues(size(s), 40 + i), s), true, `adamw-test-${backend}-${i}${i === 4 ? '/kernel' : '/bias'}`));
    const opt = new AdamW({ weightDecay: 0.05, epsilon: 1e-7 });
    for (let step = 0; step < 3; step++) {
      const grads: tf.NamedTensorMap = {};
      // Gradients of very different sizes, zeros included: Adam's step does not depend on the scale.
      vars.forEach((v, i) => (grads[v.name] = tf.tensor(randomValues(v.size, 100 * step + i, { lo: -(10 ** (i - 3)), hi: 10 ** (i - 3) }), v.shape).mul(i === 1 ? 0 : 1)));
      opt.apply(vars, grads, 1e-2 * (step + 1));
      tf.dispose(Object.values(grads));
    }
    const state = await opt.getState();
    const out = [...vars.map((v) => Float32Array.from(v.dataSync())), ...state.moments.flatMap((m) => [m.m, m.v])];
    opt.dispose();
    vars.forEach((v) => v.dispose());
    return out;
  } finally {
    await tf.setBackend(before);
  }
}

describe('AdamW update on wasm (one SIMD pass per variable) vs cpu (composed ops)', () => {
  it('three steps give the same weights and moments', async () => {
    const wasm = await threeAdamWSteps('wasm');
    const cpu = await threeAdamWSteps('cpu');
    expect(wasm.length).toBe(cpu.length);
    wasm.forEach((w, i) => {
      const err = relativeError(w, cpu[i], 1e-9);
      expect(err, `output ${i}: relative error ${err}`).toBeLessThanOrEqual(2e-6);
    });
  });

  it('the fused kernel is what ran on wasm, and switched off gives the same', async () => {
    const info = await tf.profile(() => threeAdamWSteps('wasm'));
    expect(info.kernelNames).toContain(ADAMW);
    expect(info.kernelNames).not.toContain('Sqrt');
    const fast = await threeAdamWSteps('wasm');
    setWasmPaths(WITHOUT_TRAINING_PATHS);
    try {
      const composed = await threeAdamWSteps('wasm');
      composed.forEach((w, i) => expect(relativeError(w, fast[i], 1e-9), `output ${i}`).toBeLessThanOrEqual(2e-6));
    } finally {
      setWasmPaths(ALL_PATHS);
    }
  });
});
