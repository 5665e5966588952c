/**
 * Runs the same computation on the wasm backend (with our overrides) and on tfjs's reference cpu backend, and says
 * how far apart the results are. Inputs are plain arrays, so each backend builds its own tensors.
 */
import { expect } from 'vitest';
import { initEngine, tf } from '../../core/engine/index.ts';

export async function useWasmEngine(): Promise<void> {
  const info = await initEngine({ backend: 'wasm' });
  expect(info.backend).toBe('wasm');
}

/** Deterministic uniform(-1, 1) values (mulberry32), so a failing case can be replayed. */
export function randomValues(n: number, seed: number, { lo = -1, hi = 1 } = {}): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    out[i] = lo + (hi - lo) * u;
  }
  return out;
}

export function onBackend<T>(name: 'wasm' | 'cpu', fn: () => T): T {
  const before = tf.getBackend();
  void tf.setBackend(name);
  try {
    return fn();
  } finally {
    void tf.setBackend(before);
  }
}

type Result = tf.Tensor | tf.Tensor[] | Record<string, tf.Tensor>;

function read(result: Result): Float32Array[] {
  const list = result instanceof tf.Tensor ? [result] : Array.isArray(result) ? result : Object.keys(result).sort().map((k) => result[k]);
  return list.map((t) => Float32Array.from(t.dataSync()));
}

/** Values of fn's tensors on wasm and on cpu, in the same order; fn's tensors are disposed. */
export function runBoth(fn: () => Result): { wasm: Float32Array[]; cpu: Float32Array[] } {
  const run = (name: 'wasm' | 'cpu') => onBackend(name, () => tf.tidy(() => read(fn())));
  return { wasm: run('wasm'), cpu: run('cpu') };
}

/** max |a - b| relative to the larger of max |b| and `floor` (so all-zero references compare absolutely). */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-6): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = floor;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= diff)) diff = d; // NaN-safe: a NaN difference becomes the error
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

export function expectClose(fn: () => Result, tolerance = 2e-5): void {
  const { wasm, cpu } = runBoth(fn);
  expect(wasm.length).toBe(cpu.length);
  wasm.forEach((w, i) => {
    const err = relativeError(w, cpu[i]);
    expect(err, `output ${i} (${w.length} values): relative error ${err}`).toBeLessThanOrEqual(tolerance);
  });
}
