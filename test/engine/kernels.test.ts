/**
 * Every wasm kernel and gradient we register, numerically against tfjs's reference cpu backend: random shapes with
 * odd sizes, strides, 'same'/'valid'/explicit padding, and all-negative inputs where the stock kernels went wrong.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { setWasmPaths, tf } from '../../core/engine/index.ts';
import { simdKernels } from '../../core/engine/wasm/simd/kernels.ts';
import { outerSwap } from '../../core/engine/wasm/transpose.ts';
import { swappedIsCheaper } from '../../core/engine/wasm/batch-mat-mul.ts';
import { expectClose, onBackend, randomValues, relativeError, runBoth, useWasmEngine } from './compare.ts';

beforeAll(useWasmEngine);

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const tensor = (shape: number[], seed: number, range?: { lo: number; hi: number }) => tf.tensor(randomValues(size(shape), seed, range), shape);

describe('engine registration', () => {
  it('registers our overrides on wasm only', () => {
    const ours = ['Conv2DBackpropInput', 'Conv2DBackpropFilter', 'MaxPoolGrad', 'BatchMatMul', '_FusedMatMul', 'Tile', 'Identity', 'FusedBatchNorm', 'Sum', 'Mean', 'Transpose', 'LeakyRelu', 'PadV2'];
    for (const name of ours) {
      expect(tf.getKernel(name, 'wasm')?.kernelFunc.name, name).toBe('kernelFunc');
      expect(tf.getKernel(name, 'cpu')?.kernelFunc.name, name).not.toBe('kernelFunc');
    }
  });
});

type PadCase = 'same' | 'valid' | number;
const convCases: Array<{ x: [number, number, number, number]; k: [number, number]; cout: number; strides: [number, number]; pad: PadCase }> = [
  { x: [3, 1, 37, 1], k: [1, 7], cout: 4, strides: [1, 1], pad: 'same' }, // conv1d, first layer (Cin 1)
  { x: [2, 1, 41, 5], k: [1, 6], cout: 3, strides: [1, 1], pad: 'same' }, // even kernel: asymmetric 'same'
  { x: [2, 1, 40, 3], k: [1, 5], cout: 6, strides: [1, 1], pad: 'valid' },
  { x: [2, 1, 43, 3], k: [1, 5], cout: 2, strides: [1, 2], pad: 'valid' }, // stride leaves input columns unused
  { x: [2, 1, 29, 2], k: [1, 4], cout: 3, strides: [1, 3], pad: 'same' },
  { x: [2, 9, 11, 3], k: [3, 2], cout: 4, strides: [2, 1], pad: 'same' }, // true 2-D
  { x: [1, 8, 7, 2], k: [3, 3], cout: 2, strides: [2, 2], pad: 'valid' },
  { x: [2, 6, 9, 2], k: [3, 3], cout: 3, strides: [1, 1], pad: 1 }, // explicit numeric padding
];

describe('Conv2DBackpropInput / Conv2DBackpropFilter (conv2d gradients)', () => {
  convCases.forEach((c, i) => {
    it(`x ${c.x.join('x')}, kernel ${c.k.join('x')}, stride ${c.strides.join(',')}, pad ${c.pad}`, () => {
      expectClose(() => {
        const x = tensor(c.x, 10 + i) as tf.Tensor4D;
        const w = tensor([c.k[0], c.k[1], c.x[3], c.cout], 20 + i) as tf.Tensor4D;
        const y = tf.conv2d(x, w, c.strides, c.pad, 'NHWC', 1, c.pad === 1 ? 'floor' : undefined);
        const r = tensor(y.shape, 30 + i);
        const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad, 'NHWC', 1, c.pad === 1 ? 'floor' : undefined), r)));
        return g([x, w]);
      });
    });
  });

  // Conv1d filter gradients with k * Cin a multiple of 4 and Cout of 8 run on our SIMD kernel (conv2d-backprop.ts):
  // 'same' via a padded copy, several position chunks (Wo > 128), one and several dW tiles.
  const simdConv: Array<{ x: [number, number, number, number]; k: number; cout: number; pad: 'same' | 'valid' }> = [
    { x: [3, 1, 37, 4], k: 3, cout: 8, pad: 'same' },
    { x: [2, 1, 40, 8], k: 5, cout: 16, pad: 'valid' },
    { x: [2, 1, 41, 4], k: 6, cout: 8, pad: 'same' }, // even kernel: asymmetric padding
    { x: [3, 1, 29, 12], k: 1, cout: 24, pad: 'valid' },
    { x: [2, 1, 300, 16], k: 11, cout: 32, pad: 'valid' }, // 290 positions: three chunks
    { x: [2, 1, 333, 32], k: 7, cout: 64, pad: 'same' }, // tiny's second layer, shorter
    { x: [3, 1, 300, 1], k: 21, cout: 16, pad: 'same' }, // seed's first layer: widened to 24 taps
    { x: [2, 1, 77, 1], k: 9, cout: 32, pad: 'same' }, // tiny's first layer: 12 taps
    { x: [2, 1, 50, 1], k: 6, cout: 8, pad: 'valid' }, // 8 taps, no padding asked for
  ];
  simdConv.forEach((c, i) => {
    it(`SIMD filter gradient: x ${c.x.join('x')}, k ${c.k}, Cout ${c.cout}, ${c.pad}`, () => {
      expectClose(() => {
        const x = tensor(c.x, 260 + i) as tf.Tensor4D;
        const w = tensor([1, c.k, c.x[3], c.cout], 270 + i) as tf.Tensor4D;
        const r = tensor(tf.tidy(() => tf.conv2d(x, w, 1, c.pad).shape), 280 + i);
        return tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, c.pad), r)))([x, w]);
      });
    });
  });

  it('SIMD and XNNPACK filter gradients agree at seed layer shapes (batch 4)', () => {
    for (const [w, cin, k, cout] of [
      [5000, 1, 21, 16],
      [2500, 16, 11, 32],
      [1245, 32, 5, 64],
    ]) {
      const grad = (simd: boolean) =>
        onBackend('wasm', () => {
          setWasmPaths({ simdFilterGrad: simd });
          try {
            return tf.tidy(() => {
              const x = tf.tensor(randomValues(4 * w * cin, 290), [4, 1, w, cin]) as tf.Tensor4D;
              const dy = tf.tensor(randomValues(4 * (w - k + 1) * cout, 291), [4, 1, w - k + 1, cout]) as tf.Tensor4D;
              return Float32Array.from((tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', filterShape: [1, k, cin, cout] }) as tf.Tensor).dataSync());
            });
          } finally {
            setWasmPaths({ simdFilterGrad: true });
          }
        });
      const err = relativeError(grad(true), grad(false));
      expect(err, `w ${w}, cin ${cin}`).toBeLessThanOrEqual(2e-5);
    }
  });

  it('conv1d layer shapes with bias (the seed model path)', () => {
    expectClose(() => {
      const x = tensor([4, 50, 3], 41) as tf.Tensor3D;
      const w = tensor([11, 3, 8], 42) as tf.Tensor3D;
      const b = tensor([8], 43);
      const r = tensor([4, 40, 8], 44);
      return tf.grads((a: tf.Tensor, k: tf.Tensor, bias: tf.Tensor) => tf.sum(tf.mul(tf.add(tf.conv1d(a as tf.Tensor3D, k as tf.Tensor3D, 1, 'valid'), bias), r)))([x, w, b]);
    });
  });
});

describe('MaxPoolGrad', () => {
  const cases: Array<{ x: [number, number, number, number]; f: [number, number]; s: [number, number]; pad: 'same' | 'valid'; range: { lo: number; hi: number } }> = [
    { x: [3, 1, 20, 4], f: [1, 2], s: [1, 2], pad: 'valid', range: { lo: -3, hi: -1 } }, // all negative: the stock bug
    { x: [2, 1, 21, 3], f: [1, 2], s: [1, 2], pad: 'valid', range: { lo: -1, hi: 1 } }, // odd length drops the last
    { x: [2, 1, 17, 2], f: [1, 3], s: [1, 2], pad: 'same', range: { lo: -2, hi: 0.5 } }, // overlapping windows
    { x: [2, 7, 9, 3], f: [3, 2], s: [2, 1], pad: 'same', range: { lo: -1, hi: 1 } },
    { x: [1, 6, 6, 2], f: [2, 2], s: [2, 2], pad: 'valid', range: { lo: -5, hi: -4 } },
    { x: [3, 19, 1, 5], f: [2, 1], s: [2, 1], pad: 'valid', range: { lo: -2, hi: 1 } }, // tfjs-layers' maxPooling1d layout
    { x: [2, 12, 1, 3], f: [2, 1], s: [2, 1], pad: 'valid', range: { lo: -3, hi: -2 } },
    { x: [3, 1, 23, 4], f: [1, 4], s: [1, 4], pad: 'valid', range: { lo: -1, hi: 1 } }, // tiny's pool 4; 3 columns left over
    { x: [2, 3, 14, 2], f: [1, 3], s: [1, 3], pad: 'valid', range: { lo: -4, hi: -3 } }, // pool 3, several rows
    { x: [3, 22, 1, 5], f: [4, 1], s: [4, 1], pad: 'valid', range: { lo: -2, hi: 1 } }, // pool 4, maxPooling1d layout
  ];
  cases.forEach((c, i) => {
    it(`x ${c.x.join('x')}, pool ${c.f.join('x')}, stride ${c.s.join(',')}, ${c.pad}, values in [${c.range.lo}, ${c.range.hi}]`, () => {
      expectClose(() => {
        const x = tensor(c.x, 50 + i, c.range) as tf.Tensor4D;
        const y = tf.maxPool(x, c.f, c.s, c.pad);
        const r = tensor(y.shape, 60 + i);
        return tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, c.f, c.s, c.pad), r)))(x);
      }, 1e-6);
    });
  });

  // Channels a multiple of 4 run on our SIMD kernel (simd/kernels.ts), the rest on the JS loops above.
  const simdCases: Array<{ x: [number, number, number, number]; f: [number, number]; range: { lo: number; hi: number } }> = [
    { x: [3, 1, 20, 8], f: [1, 2], range: { lo: -3, hi: -1 } }, // all negative
    { x: [2, 1, 21, 4], f: [1, 2], range: { lo: -1, hi: 1 } }, // odd length: one call per row, last column zeroed
    { x: [3, 1, 23, 8], f: [1, 4], range: { lo: -1, hi: 1 } }, // pool 4, 3 columns left over
    { x: [3, 22, 1, 12], f: [4, 1], range: { lo: -2, hi: 1 } }, // pool 4, maxPooling1d layout, 2 left over
    { x: [2, 30, 1, 16], f: [2, 1], range: { lo: -5, hi: -4 } }, // seed's layout
    { x: [2, 3, 15, 4], f: [1, 3], range: { lo: -1, hi: 1 } }, // pool 3, several rows per sample
  ];
  simdCases.forEach((c, i) => {
    it(`SIMD: x ${c.x.join('x')}, pool ${c.f.join('x')}, values in [${c.range.lo}, ${c.range.hi}]`, () => {
      expectClose(() => {
        const x = tensor(c.x, 200 + i, c.range) as tf.Tensor4D;
        const y = tf.maxPool(x, c.f, c.f, 'valid');
        const r = tensor(y.shape, 210 + i);
        return tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, c.f, c.f, 'valid'), r)))(x);
      }, 1e-6);
    });
  });

  it('SIMD: -Infinity, NaN and ties in every lane exactly like cpu', () => {
    // 12 positions x 4 channels: each channel a different pattern of NaN, -Infinity and ties.
    const column = [
      [-Infinity, -Infinity, NaN, 1, 1, NaN, NaN, NaN, -Infinity, -2, 3, 3],
      [NaN, 2, 2, 2, -1, -1, -Infinity, NaN, 0, 0, 0, 0],
      [-1, -1, -1, -1, 5, 4, 4, 5, NaN, NaN, -Infinity, 7],
      [0, -0, -0, 0, Infinity, Infinity, 1, Infinity, -3, -Infinity, -3, -3],
    ];
    const values = Array.from({ length: 48 }, (_, i) => column[i % 4][Math.floor(i / 4)]);
    const { wasm, cpu } = runBoth(() => {
      const x = tf.tensor4d(values, [1, 1, 12, 4]);
      const r = tf.tensor(randomValues(48, 220), [1, 1, 12, 4]);
      return [2, 3, 4, 6].map((p) => {
        const w = tf.slice(r, [0, 0, 0, 0], [1, 1, 12 / p, 4]);
        return tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, [1, p], [1, p], 'valid'), w)))(x);
      });
    });
    expect(wasm.map((a) => Array.from(a))).toEqual(cpu.map((a) => Array.from(a)));
  });

  it('SIMD and JS loops agree exactly on the encoders\' shapes (pool 2 and 4, 16-64 channels)', () => {
    const shapes: Array<[[number, number, number, number], number]> = [
      [[8, 1000, 1, 16], 2],
      [[8, 497, 1, 32], 2],
      [[8, 250, 1, 32], 4],
      [[8, 63, 1, 64], 4],
    ];
    for (const [shape, k] of shapes) {
      const grad = (simd: boolean) =>
        onBackend('wasm', () => {
          setWasmPaths({ simdMaxPoolGrad: simd });
          try {
            return tf.tidy(() => {
              const x = tf.tensor(randomValues(size(shape), 230), shape) as tf.Tensor4D;
              const rShape = [shape[0], Math.floor(shape[1] / k), 1, shape[3]];
              const r = tf.tensor(randomValues(size(rShape), 231), rShape);
              return Array.from(tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, [k, 1], [k, 1], 'valid'), r)))(x).dataSync());
            });
          } finally {
            setWasmPaths({ simdMaxPoolGrad: true });
          }
        });
      expect(grad(true), shape.join('x')).toEqual(grad(false));
    }
  });

  it('the SIMD kernels load on this backend (else the cases above test only the JS loops)', () => {
    expect(onBackend('wasm', () => simdKernels(tf.backend() as BackendWasm))).toBeDefined();
  });

  it('treats -Infinity and NaN windows exactly like cpu', () => {
    const { wasm, cpu } = runBoth(() => {
      const x = tf.tensor4d([-Infinity, -Infinity, NaN, 1, 1, NaN, NaN, NaN, -Infinity, -2, 3, 3], [1, 1, 12, 1]);
      const xh = tf.reshape(x, [1, 12, 1, 1]) as tf.Tensor4D;
      return [
        ...[2, 3, 4, 5].map((p) => tf.grad((a: tf.Tensor) => tf.sum(tf.maxPool(a as tf.Tensor4D, [1, p], [1, p], 'valid')))(x)),
        tf.grad((a: tf.Tensor) => tf.sum(tf.maxPool(a as tf.Tensor4D, [2, 1], [2, 1], 'valid')))(xh),
      ];
    });
    expect(wasm.map((a) => Array.from(a))).toEqual(cpu.map((a) => Array.from(a)));
  });

  it('routes each window gradient to its first maximum on ties, like cpu', () => {
    const { wasm, cpu } = runBoth(() => {
      const x = tf.tensor4d([-1, -1, 2, 2, 0, 0, -3, -3], [1, 1, 8, 1]);
      return [2, 4].map((p) => tf.grad((a: tf.Tensor) => tf.sum(tf.maxPool(a as tf.Tensor4D, [1, p], [1, p], 'valid')))(x));
    });
    expect(Array.from(wasm[0])).toEqual([1, 0, 1, 0, 1, 0, 1, 0]);
    expect(Array.from(wasm[1])).toEqual([0, 0, 1, 0, 1, 0, 0, 0]);
    expect(wasm.map((a) => Array.from(a))).toEqual(cpu.map((a) => Array.from(a)));
  });
});

describe('BatchMatMul', () => {
  const shapes: Array<[number, number, number]> = [
    [5, 7, 3],
    [64, 33, 17],
    [1, 9, 1],
  ];
  for (const [m, k, n] of shapes) {
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      it(`${m}x${k} @ ${k}x${n}, transposeA ${ta}, transposeB ${tb}, with gradients`, () => {
        expectClose(() => {
          const a = tensor(ta ? [k, m] : [m, k], m + k) as tf.Tensor2D;
          const b = tensor(tb ? [n, k] : [k, n], m * n + 1) as tf.Tensor2D;
          const r = tensor([m, n], 7);
          const f = (p: tf.Tensor, q: tf.Tensor) => tf.matMul(p as tf.Tensor2D, q as tf.Tensor2D, ta, tb);
          return [f(a, b), ...tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(f(p, q), r)))([a, b])];
        });
      });
    }
  }

  it('a x b^T with a large b runs as (b a^T)^T (the dense input gradient), rank 2 and batch-1 rank 3', () => {
    expect(swappedIsCheaper([64, 128], [9984, 128])).toBe(true);
    expect(swappedIsCheaper([64, 128], [32, 128])).toBe(false);
    expect(swappedIsCheaper([2, 64, 128], [2, 9984, 128])).toBe(false);
    for (const [m, k, n] of [
      [8, 16, 200],
      [12, 9, 301],
      [5, 3, 50],
    ]) {
      expect(swappedIsCheaper([m, k], [n, k]), `${m} ${k} ${n}`).toBe(true);
      expectClose(() => {
        const a = tensor([m, k], m + 3) as tf.Tensor2D;
        const b = tensor([n, k], n + 4) as tf.Tensor2D;
        const a3 = tf.reshape(a, [1, m, k]) as tf.Tensor3D;
        const b3 = tf.reshape(b, [1, n, k]) as tf.Tensor3D;
        return [tf.matMul(a, b, false, true), tf.matMul(a3, b3, false, true)];
      });
    }
  });

  it('batched (rank 3) with transposes', () => {
    expectClose(() => {
      const a = tensor([3, 6, 4], 3) as tf.Tensor3D;
      const b = tensor([3, 5, 6], 4) as tf.Tensor3D;
      return tf.matMul(a, b, true, true);
    });
  });

  it('stays right when the same data is the second operand under two shapes (stale XNNPACK packing)', () => {
    expectClose(() => {
      const data = tensor([6, 4], 5);
      const a1 = tensor([3, 6], 6);
      const a2 = tensor([3, 4], 8);
      const first = tf.matMul(a1 as tf.Tensor2D, data as tf.Tensor2D);
      const second = tf.matMul(a2 as tf.Tensor2D, tf.reshape(data, [4, 6]) as tf.Tensor2D);
      const third = tf.matMul(a1 as tf.Tensor2D, data as tf.Tensor2D);
      return [first, second, third];
    }, 1e-6);
  });

  it('dense layer forward (_FusedMatMul with bias and relu) and its gradients', () => {
    expectClose(() => {
      const x = tensor([8, 13], 11) as tf.Tensor2D;
      const w = tensor([13, 5], 12) as tf.Tensor2D;
      const bias = tensor([5], 13);
      const f = (p: tf.Tensor, q: tf.Tensor, c: tf.Tensor) => tf.fused.matMul({ a: p as tf.Tensor2D, b: q as tf.Tensor2D, bias: c, activation: 'relu' });
      return [f(x, w, bias), ...tf.grads((p: tf.Tensor, q: tf.Tensor, c: tf.Tensor) => tf.sum(tf.square(f(p, q, c))))([x, w, bias])];
    });
  });
});

describe('PadV2 (long contiguous runs: our copy; short runs: stock)', () => {
  const padCases: Array<{ shape: number[]; paddings: Array<[number, number]>; value?: number }> = [
    { shape: [3, 1, 37, 8], paddings: [[0, 0], [0, 0], [3, 4], [0, 0]] }, // the filter gradient's 'same' copy
    { shape: [2, 1, 50, 16], paddings: [[0, 0], [0, 0], [0, 5], [0, 0]], value: -1.5 }, // only after, a constant
    { shape: [2, 3, 70], paddings: [[1, 2], [2, 0], [0, 0]] }, // two outer axes padded
    { shape: [5, 100], paddings: [[0, 0], [7, 1]] }, // innermost axis padded: one run per row
    { shape: [130], paddings: [[2, 3]] }, // rank 1
    { shape: [4, 6, 3], paddings: [[1, 1], [0, 2], [1, 0]] }, // short runs: stock kernel
    { shape: [2, 3, 40], paddings: [[0, 0], [0, 0], [0, 0]] }, // nothing padded: stock kernel
  ];
  padCases.forEach((c, i) => {
    it(`${c.shape.join('x')} padded ${JSON.stringify(c.paddings)}${c.value ? ` with ${c.value}` : ''}`, () => {
      expectClose(() => tf.pad(tensor(c.shape, 600 + i), c.paddings, c.value ?? 0), 0);
    });
  });

  it('int32 values and the gradient (a slice) of a padded tensor', () => {
    expectClose(() => tf.cast(tf.pad(tf.cast(tf.mul(tensor([2, 1, 40, 4], 610), 100), 'int32'), [[0, 0], [0, 0], [2, 2], [0, 0]], 7), 'float32'), 0);
    expectClose(() => {
      const x = tensor([2, 1, 40, 4], 611);
      const r = tensor([2, 1, 44, 4], 612);
      return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.pad(t, [[0, 0], [0, 0], [1, 3], [0, 0]]), r)))(x);
    }, 0);
  });
});

describe('Tile', () => {
  const cases: Array<[number[], number[]]> = [
    [[5], [3]],
    [[2, 3], [1, 4]],
    [[3, 1, 4], [2, 5, 1]],
    [[1, 1, 1, 7], [2, 3, 4, 1]],
    [[2, 3, 1, 2], [1, 1, 3, 2]],
  ];
  cases.forEach(([shape, reps], i) => {
    it(`float32 ${shape.join('x')} by ${reps.join('x')}, and its gradient`, () => {
      expectClose(() => {
        const x = tensor(shape, 70 + i);
        const y = tf.tile(x, reps);
        const r = tensor(y.shape, 80 + i);
        return [y, tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.tile(a, reps), r)))(x)];
      }, 1e-6);
    });
  });

  it('int32 and bool tensors', () => {
    const { wasm, cpu } = runBoth(() => [tf.tile(tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3], 'int32'), [3, 2]), tf.tile(tf.tensor1d([true, false], 'bool'), [3])]);
    expect(wasm.map((a) => Array.from(a))).toEqual(cpu.map((a) => Array.from(a)));
  });
});

describe('Identity', () => {
  it('a clone shares nothing observable: it outlives its source', () => {
    const values = tf.tidy(() => {
      const x = tf.tensor1d([1, 2, 3]);
      const y = tf.clone(x);
      x.dispose();
      return Array.from(y.dataSync());
    });
    expect(values).toEqual([1, 2, 3]);
  });

  it('does not leak memory', () => {
    const before = tf.memory().numTensors;
    const x = tf.tensor1d([4, 5]);
    const y = tf.clone(x);
    x.dispose();
    y.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('FusedBatchNorm gradient', () => {
  // Without a scale tensor tfjs-core itself cannot differentiate batchNorm (it clones the missing input), so every
  // case has one, as the layers always pass.
  const cases: Array<{ shape: number[] }> = [{ shape: [7, 5] }, { shape: [3, 11, 4] }, { shape: [2, 1, 9, 6] }];
  cases.forEach((c, i) => {
    it(`x ${c.shape.join('x')}: all five gradients`, () => {
      expectClose(() => {
        const ch = c.shape[c.shape.length - 1];
        const x = tensor(c.shape, 90 + i);
        const mean = tensor([ch], 91 + i);
        const variance = tensor([ch], 92 + i, { lo: 0.2, hi: 2 });
        const offset = tensor([ch], 93 + i);
        const scale = tensor([ch], 94 + i);
        const r = tensor(c.shape, 95 + i);
        const f = (a: tf.Tensor, m: tf.Tensor, v: tf.Tensor, o: tf.Tensor, s: tf.Tensor) => tf.sum(tf.mul(tf.batchNorm(a, m, v, o, s, 1e-3), r));
        return tf.grads(f)([x, mean, variance, offset, scale]);
      });
    });
  });

  it('through batch moments (the layers training path)', () => {
    expectClose(() => {
      const x = tensor([6, 13, 5], 99);
      const r = tensor([6, 13, 5], 100);
      const gamma = tensor([5], 103, { lo: 0.5, hi: 1.5 });
      const beta = tensor([5], 104);
      return tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
        const { mean, variance } = tf.moments(a, [0, 1]);
        return tf.sum(tf.mul(tf.batchNorm(a, mean, variance, b, g, 1e-5), r));
      })([x, gamma, beta]);
    }, 1e-4);
  });
});

// Stock kernels, but on the paths our batch-norm gradient and the layers' moments take.
describe('Sum / Mean over all axes but the last (per-channel)', () => {
  const cases: Array<{ shape: number[]; axis: number[]; keepDims: boolean }> = [
    { shape: [64, 37, 5], axis: [0, 1], keepDims: false },
    { shape: [1, 3, 17, 6], axis: [0, 1, 2], keepDims: true },
    { shape: [9, 4], axis: [0], keepDims: false },
    { shape: [5, 7, 3], axis: [1, 0], keepDims: false }, // any order
    { shape: [5, 7, 3], axis: [-3, -2], keepDims: true }, // negative axes
    { shape: [5, 7, 3], axis: [1, 2], keepDims: false }, // not per-channel: stock kernel
    { shape: [5, 7, 3], axis: [0, 1, 2], keepDims: false }, // full reduction: stock kernel
  ];
  cases.forEach((c, i) => {
    it(`x ${c.shape.join('x')}, axes ${c.axis.join(',')}, keepDims ${c.keepDims}`, () => {
      expectClose(() => {
        const x = tensor(c.shape, 110 + i, { lo: -2, hi: 3 });
        return [tf.sum(x, c.axis, c.keepDims), tf.mean(x, c.axis, c.keepDims)];
      }, 1e-6);
    });
  });

  cases.forEach((c, i) => {
    it(`gradients of sum and mean: x ${c.shape.join('x')}, axes ${c.axis.join(',')}, keepDims ${c.keepDims}`, () => {
      expectClose(() => {
        const x = tensor(c.shape, 140 + i, { lo: -2, hi: 3 });
        const outShape = tf.tidy(() => tf.sum(x, c.axis, c.keepDims).shape);
        // A non-uniform weight per output element, so each broadcast row must carry its own dy.
        const r = tensor(outShape, 150 + i);
        const f = (reduce: typeof tf.sum) => tf.grad((a: tf.Tensor) => tf.sum(tf.mul(reduce(a, c.axis, c.keepDims), r)))(x);
        return [f(tf.sum), f(tf.mean)];
      }, 1e-6);
    });
  });

  it('gradients with a default (all) and a single numeric axis', () => {
    expectClose(() => {
      const x = tensor([4, 6, 3], 160);
      const r = tensor([4, 3], 161);
      return [
        tf.grad((a: tf.Tensor) => tf.mul(tf.sum(a), 3))(x),
        tf.grad((a: tf.Tensor) => tf.mul(tf.mean(a), 3))(x),
        tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.mean(a, 1), r)))(x),
      ];
    }, 1e-6);
  });

  // Leading-axis reductions run as two average pools (reduce.ts): block sizes of one, single-stage views, kept
  // blocks wider than one channel, and long reductions where float32 accumulation would drift.
  const leading: Array<{ shape: number[]; axis: number[]; keepDims: boolean }> = [
    { shape: [64, 1, 5], axis: [0, 1], keepDims: false }, // blocks of one row: a single stage over 64
    { shape: [1, 300, 4], axis: [0, 1], keepDims: true }, // one block
    { shape: [5, 7, 3], axis: [0], keepDims: false }, // kept [7, 3]: 21 values per row
    { shape: [4, 3, 5, 2], axis: [1, 0], keepDims: true }, // two leading axes of four
    { shape: [2, 1, 1], axis: [0, 1], keepDims: false },
    { shape: [7, 20000, 2], axis: [0, 1], keepDims: false }, // 140 000 rows
  ];
  leading.forEach((c, i) => {
    it(`leading-axis sum and mean: x ${c.shape.join('x')}, axes ${c.axis.join(',')}, keepDims ${c.keepDims}`, () => {
      expectClose(() => {
        const x = tensor(c.shape, 170 + i, { lo: 0.5, hi: 3 });
        const out = [tf.sum(x, c.axis, c.keepDims), tf.mean(x, c.axis, c.keepDims)];
        expect(out[0].shape).toEqual(tf.tidy(() => tf.sum(tf.zeros(c.shape), c.axis, c.keepDims).shape));
        return out;
      }, 2e-6);
    });
  });

  it('leading-axis sums of a long, offset column stay within 1e-6 of a float64 sum', () => {
    const rows = 200_000;
    const values = randomValues(rows * 2, 190, { lo: 999, hi: 1001 });
    const exact = [0, 0];
    values.forEach((v, i) => (exact[i % 2] += v));
    const got = onBackend('wasm', () => tf.tidy(() => Array.from(tf.sum(tf.tensor2d(values, [rows, 2]), 0).dataSync())));
    got.forEach((g, d) => expect(Math.abs(g - exact[d]) / exact[d], `channel ${d}`).toBeLessThanOrEqual(1e-6));
  });

  it('NaN and Infinity propagate per channel like cpu', () => {
    const { wasm, cpu } = runBoth(() => {
      const x = tf.tensor3d([1, NaN, 2, 3, Infinity, 4, 5, 6, 7, 8, 9, -Infinity], [2, 2, 3]);
      return [tf.sum(x, [0, 1]), tf.mean(x, [0, 1])];
    });
    expect(wasm.map((a) => Array.from(a))).toEqual(cpu.map((a) => Array.from(a)));
  });

  it('int32 sums still work (stock kernel)', () => {
    const { wasm, cpu } = runBoth(() => tf.sum(tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], 'int32'), 0));
    expect(Array.from(wasm[0])).toEqual(Array.from(cpu[0]));
  });
});

describe('FusedBatchNorm forward', () => {
  it('per-channel parameters, with and without scale/offset, ranks 2-4', () => {
    expectClose(() => {
      const out: tf.Tensor[] = [];
      [[11, 4], [3, 9, 5], [2, 1, 7, 6]].forEach((shape, i) => {
        const ch = shape[shape.length - 1];
        const x = tensor(shape, 120 + i);
        const mean = tensor([ch], 121 + i);
        const variance = tensor([ch], 122 + i, { lo: 0.1, hi: 3 });
        out.push(tf.batchNorm(x, mean, variance, tensor([ch], 123 + i), tensor([ch], 124 + i), 1e-5));
        out.push(tf.batchNorm(x, mean, variance, undefined, undefined, 1e-3));
      });
      return out;
    }, 1e-6);
  });

  it('broadcast (non-vector) parameters fall back to the stock kernel', () => {
    expectClose(() => {
      const x = tensor([2, 3, 4], 130);
      return tf.batchNorm(x, tensor([3, 4], 131), tensor([3, 4], 132, { lo: 0.5, hi: 1 }), tensor([3, 4], 133), tensor([3, 4], 134));
    }, 1e-6);
  });
});

describe('LeakyRelu gradient', () => {
  it('matches cpu, including exactly at zero', () => {
    const { wasm, cpu } = runBoth(() => {
      const x = tf.concat([tensor([50], 101), tf.zeros([3])]);
      const r = tensor([53], 102);
      return tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.leakyRelu(a, 0.01), r)))(x);
    });
    expect(Array.from(wasm[0])).toEqual(Array.from(cpu[0]));
  });
});

describe('Transpose (first and last axes swapped: our SIMD kernel; other cases: stock)', () => {
  const cases: Array<{ shape: number[]; perm: number[] }> = [
    { shape: [8, 1, 37, 12], perm: [3, 1, 2, 0] }, // the filter gradient's x -> [C, 1, W, N]
    { shape: [16, 20], perm: [1, 0] }, // 2-D (the dense layer's weight gradient)
    { shape: [4, 3, 5, 8], perm: [3, 1, 2, 0] }, // two middle axes kept in order
    { shape: [1, 12, 1, 8], perm: [3, 1, 2, 0] }, // unit axes dropped: a 2-D swap
    { shape: [4, 6, 8], perm: [2, 0, 1] }, // another permutation: stock
    { shape: [6, 5, 8], perm: [2, 1, 0] }, // 6 and 8: 6 not a multiple of 4, stock
    { shape: [12, 1, 7], perm: [2, 1, 0] }, // 7: stock
    // The first axis a multiple of 16: four blocks down it per step (the swapped dense dx's [39680, 64] -> [64, 39680]).
    { shape: [1, 160, 8], perm: [0, 2, 1] },
    { shape: [48, 20], perm: [1, 0] },
    { shape: [32, 3, 12], perm: [2, 1, 0] },
    { shape: [16, 4], perm: [1, 0] },
  ];
  cases.forEach((c, i) => {
    it(`x ${c.shape.join('x')}, perm ${c.perm.join(',')}: values and gradient`, () => {
      const { wasm, cpu } = runBoth(() => {
        const x = tensor(c.shape, 240 + i);
        const y = tf.transpose(x, c.perm);
        const r = tensor(y.shape, 250 + i);
        return [y, tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.transpose(a, c.perm), r)))(x)];
      });
      expect(wasm.map((a) => Array.from(a))).toEqual(cpu.map((a) => Array.from(a)));
    });
  });

  it('empty tensors keep their shapes (stock path)', () => {
    const { wasm, cpu } = runBoth(() => [tf.transpose(tf.zeros([0, 4]), [1, 0]), tf.transpose(tf.zeros([4, 0, 8]), [2, 1, 0])]);
    expect(wasm.map((a) => a.length)).toEqual(cpu.map((a) => a.length));
    const shapes = onBackend('wasm', () => tf.tidy(() => [tf.transpose(tf.zeros([0, 4]), [1, 0]).shape, tf.transpose(tf.zeros([4, 0, 8]), [2, 1, 0]).shape]));
    expect(shapes).toEqual([
      [4, 0],
      [8, 0, 4],
    ]);
  });

  it('int32 values move bit for bit', () => {
    const { wasm, cpu } = runBoth(() => tf.transpose(tf.tensor2d(Array.from({ length: 32 }, (_, i) => i * 7919 - 100000), [4, 8], 'int32'), [1, 0]));
    expect(Array.from(wasm[0])).toEqual(Array.from(cpu[0]));
  });

  it('outerSwap recognises only first/last swaps with the middle in order', () => {
    expect(outerSwap([64, 1, 2500, 16], [3, 1, 2, 0])).toEqual({ a: 64, m: 2500, b: 16 });
    expect(outerSwap([5, 7], [1, 0])).toEqual({ a: 5, m: 1, b: 7 });
    expect(outerSwap([2, 3, 4, 5], [3, 2, 1, 0])).toBeUndefined();
    expect(outerSwap([2, 3, 4], [0, 2, 1])).toBeUndefined();
    expect(outerSwap([2, 3, 4], [0, 1, 2])).toBeUndefined();
    expect(outerSwap([1, 1, 4], [2, 1, 0])).toBeUndefined(); // one non-unit axis: nothing to swap
  });
});
