/**
 * Direct access to the wasm backend's heap, for the few kernels that are one cheap pass over memory (max-pool
 * gradient, tile, identity) where a JS loop over a heap view beats composing tfjs ops.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { DataType, KernelBackend, TensorInfo } from '@tensorflow/tfjs';

export type HeapArray = Float32Array | Int32Array | Uint8Array;

export function asWasm(backend: KernelBackend | object): BackendWasm {
  return backend as BackendWasm;
}

/** Allocates an uninitialised output tensor on the wasm heap. */
export function allocate(backend: BackendWasm, shape: number[], dtype: DataType): TensorInfo {
  return backend.makeOutput(shape, dtype);
}

/**
 * A view of a tensor's bytes on the heap. Views go stale when the heap grows, so take them after every allocation
 * a kernel makes, never before.
 */
export function heapView(backend: BackendWasm, t: TensorInfo): HeapArray {
  return backend.typedArrayFromHeap(t);
}
