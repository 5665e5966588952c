import type { PipelineLogger } from '../pipelines/ports.ts';

/**
 * Where the daemon's resident memory goes while it starts (issue 5: <= 600 MB from the first second). Each start-up
 * phase (and each step of a library state's preparation, also after enrollment or a model switch) logs one
 * `phase memory` line; bench:startup-memory pairs them with RSS sampled from /proc between the lines
 * (a line only sees the moment it is written, the sampler sees the peaks in between).
 */
export interface MemorySample {
  readonly rssMb: number;
  readonly heapUsedMb: number;
  readonly externalMb: number;
  readonly arrayBuffersMb: number;
  /** The tfjs-wasm heap (its WebAssembly.Memory): it only grows, so a peak in it stays resident. */
  readonly wasmHeapMb?: number;
}

let wasmHeapBytes: (() => number | undefined) | undefined;

/** Tells memorySample how to read the wasm heap (set once the engine is initialised; absent on other backends). */
export function setWasmHeapProbe(probe: () => number | undefined): void {
  wasmHeapBytes = probe;
}

const mb = (bytes: number): number => Math.round((bytes / 1048576) * 10) / 10;

function memorySample(): MemorySample {
  const m = process.memoryUsage();
  let wasm: number | undefined;
  try {
    wasm = wasmHeapBytes?.();
  } catch {
    // A disposed backend: the line goes without it rather than failing a start-up step.
  }
  return {
    rssMb: mb(m.rss),
    heapUsedMb: mb(m.heapUsed),
    externalMb: mb(m.external),
    arrayBuffersMb: mb(m.arrayBuffers),
    ...(wasm !== undefined ? { wasmHeapMb: mb(wasm) } : {}),
  };
}

/** One `phase memory` log line for the phase just finished. */
export function logPhaseMemory(log: PipelineLogger, phase: string, extra: Record<string, unknown> = {}): void {
  log.info({ phase, memory: memorySample(), ...extra }, 'phase memory');
}
