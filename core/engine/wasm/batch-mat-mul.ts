/**
 * BatchMatMul for wasm. The stock kernel reaches XNNPACK only for untransposed operands (the transposed cases are
 * scalar loops), and it caches XNNPACK's packed copy of the second operand by that operand's tensor id: a reshape
 * shares the id, so the same data used as `b` under another shape silently reads the stale packing. So:
 *  - transposed operands are transposed explicitly (one memory pass) and multiplied on the fast path;
 *  - a `b` whose data was already used under another shape is copied to fresh data first;
 *  - a x b^T with a large b (the dense layer's input gradient dy W^T: [64, 128] x [9984, 128]^T) is computed as
 *    (b a^T)^T: the small a is transposed and packed instead of the whole weight matrix, and the [N, M] result is
 *    transposed back (fewer values moved whenever 2 N K > 2 M K + M N).
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { allocate, asWasm, heapView } from './heap.ts';
import { asTensors, stockKernel } from './kernel-utils.ts';
import { wasmPaths } from './paths.ts';

function swapLastTwo(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  return perm;
}

function matrixShapeKey(shape: readonly number[]): string {
  const rows = shape[shape.length - 2];
  const cols = shape[shape.length - 1];
  const batch = shape.slice(0, -2).reduce((p, d) => p * d, 1);
  return `${batch}x${rows}x${cols}`;
}

/**
 * Guards the stock kernel (BatchMatMul or _FusedMatMul, which share the cache) against the stale-packing bug: a `b`
 * whose data was already used under another shape is copied to fresh data first.
 */
function guardStaleB(stock: KernelFunc): KernelFunc {
  /** The 3-D shape each data buffer was last multiplied under as `b` (keyed by dataId, which reshapes share). */
  const seenAsB = new WeakMap<object, string>();
  const kernelFunc: KernelFunc = (args) => {
    const b = args.inputs.b as TensorInfo;
    const key = matrixShapeKey(b.shape);
    const previous = seenAsB.get(b.dataId);
    if (previous === undefined || previous === key) {
      seenAsB.set(b.dataId, key);
      return stock(args);
    }
    const wasm = asWasm(args.backend);
    const fresh = allocate(wasm, b.shape.slice(), b.dtype);
    heapView(wasm, fresh).set(heapView(wasm, b));
    try {
      return stock({ ...args, inputs: { ...args.inputs, b: fresh } });
    } finally {
      wasm.disposeData(fresh.dataId);
    }
  };
  return kernelFunc;
}

/**
 * For a x b^T with a [M, K] and b [N, K] (rank 2, or rank 3 with batch 1 on both): whether (b a^T)^T moves fewer
 * values (transpose and pack a, transpose the result) than b^T (transpose and pack b).
 */
export function swappedIsCheaper(a: readonly number[], b: readonly number[]): boolean {
  if (!wasmPaths.swappedTransposeB) return false;
  const batchOne = (s: readonly number[]) => s.length === 2 || (s.length === 3 && s[0] === 1);
  if (!batchOne(a) || !batchOne(b) || a.length !== b.length) return false;
  const [m, k] = a.slice(-2);
  const n = b[b.length - 2];
  return 2 * n * k > 2 * m * k + m * n;
}

export function batchMatMulConfig(backendName: string): KernelConfig {
  const stock = stockKernel('BatchMatMul', backendName);
  if (!stock) throw new Error(`BatchMatMul: no stock kernel on ${backendName}`);
  const plain = guardStaleB(stock);
  const kernelFunc: KernelFunc = (args) => {
    const { transposeA, transposeB } = (args.attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean };
    if (transposeA || transposeB) {
      const t = asTensors(args.inputs, ['a', 'b'] as const);
      if (t && transposeB && !transposeA && swappedIsCheaper(t.a.shape, t.b.shape)) {
        return tf.tidy(() => {
          const perm = swapLastTwo(t.a.rank);
          return tf.transpose(tf.matMul(t.b, tf.transpose(t.a, perm)), perm);
        }) as TensorInfo;
      }
      if (t) {
        return tf.tidy(() => {
          const a = transposeA ? tf.transpose(t.a, swapLastTwo(t.a.rank)) : t.a;
          const b = transposeB ? tf.transpose(t.b, swapLastTwo(t.b.rank)) : t.b;
          return tf.matMul(a, b);
        }) as TensorInfo;
      }
    }
    return plain(args);
  };
  return { kernelName: 'BatchMatMul', backendName, kernelFunc };
}

export function fusedMatMulConfig(backendName: string): KernelConfig {
  const stock = stockKernel('_FusedMatMul', backendName);
  if (!stock) throw new Error(`_FusedMatMul: no stock kernel on ${backendName}`);
  return { kernelName: '_FusedMatMul', backendName, kernelFunc: guardStaleB(stock) };
}
