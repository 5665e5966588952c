/**
 * The one TensorFlow.js instance of spectrad and the choice of its backend. Everybody imports `tf` from here, so
 * kernels registered below (the fast, correct wasm training kernels) apply to every model in the process.
 */
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { SpectrumInputError } from '../errors.ts';
import { registerWasmOverrides } from './wasm/register.ts';

export { tf };
export { adamwUpdate, type AdamWStep } from './wasm/elementwise-training.ts';
export { setWasmPaths } from './wasm/register.ts';
export { ALL_PATHS, STOCK_KERNELS, WITHOUT_FAST_PATHS, WITHOUT_TRAINING_PATHS, type WasmPaths } from './wasm/paths.ts';

export type BackendChoice = 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

export interface EngineInfo {
  /** The tfjs backend name in use: 'tensorflow' (tfjs-node or tfjs-node-gpu), 'wasm' or 'cpu'. */
  readonly backend: string;
  /** Which of the choices it came from ('tensorflow-gpu' and 'tensorflow' both run as backend 'tensorflow'). */
  readonly choice: Exclude<BackendChoice, 'auto'>;
  /** Threads the backend computes on (wasm under Node: always 1, see docs/ENGINE.md). */
  readonly threads: number;
  /** Our kernel and gradient overrides registered for this backend, as 'Kernel' or 'Kernel (gradient)'. */
  readonly kernels: readonly string[];
}

export interface EngineOptions {
  readonly backend?: BackendChoice;
  readonly logger?: (msg: string) => void;
}

let current: Promise<EngineInfo> | undefined;

/**
 * Picks and initialises the backend once per process. auto: tfjs-node-gpu, then tfjs-node (when the user installed
 * them), else wasm, else cpu. A second call returns the same info; asking for a different forced backend afterwards
 * is an error, since models already built live on the first one.
 */
export function initEngine(opts: EngineOptions = {}): Promise<EngineInfo> {
  const wanted = opts.backend ?? 'auto';
  if (!BACKEND_CHOICES.includes(wanted)) {
    return Promise.reject(
      new SpectrumInputError('unknown-backend', `unknown backend "${String(wanted)}"; known: ${BACKEND_CHOICES.join(', ')}`, { field: 'backend' }),
    );
  }
  if (current) {
    if (wanted === 'auto') return current;
    return current.then((info) => {
      if (info.choice === wanted) return info;
      throw new SpectrumInputError('backend-already-chosen', `engine already initialised with backend "${info.choice}", cannot switch to "${wanted}"`, { field: 'backend' });
    });
  }
  const log = opts.logger ?? (() => {});
  current = choose(wanted, log).then((info) => {
    log(`engine: backend ${info.backend} (${info.choice}), ${info.threads} thread(s)` + (info.kernels.length ? `, our kernels: ${info.kernels.join(', ')}` : ''));
    return info;
  });
  current.catch(() => {
    current = undefined;
  });
  return current;
}

/** The engine's info if initEngine has completed, else undefined. */
export async function engineInfo(): Promise<EngineInfo | undefined> {
  return current;
}

async function choose(wanted: BackendChoice, log: (msg: string) => void): Promise<EngineInfo> {
  const order: Array<Exclude<BackendChoice, 'auto'>> = wanted === 'auto' ? ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] : [wanted];
  const failures: string[] = [];
  for (const choice of order) {
    try {
      return await start(choice);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      failures.push(`${choice}: ${why}`);
      if (wanted === 'auto') log(`engine: ${choice} unavailable (${why.split('\n')[0]})`);
    }
  }
  throw new SpectrumInputError('backend-unavailable', `no usable backend: ${failures.join('; ')}`, { field: 'backend' });
}

async function start(choice: Exclude<BackendChoice, 'auto'>): Promise<EngineInfo> {
  switch (choice) {
    case 'tensorflow-gpu':
    case 'tensorflow': {
      // A variable name keeps TypeScript (and bundlers) from requiring these optional, user-installed packages.
      const moduleName = choice === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
      await import(moduleName);
      await setBackendOrThrow('tensorflow');
      return { backend: 'tensorflow', choice, threads: tensorflowThreads(), kernels: [] };
    }
    case 'wasm': {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      wasm.setWasmPaths(wasmDistFolder());
      await setBackendOrThrow('wasm');
      const kernels = registerWasmOverrides();
      return { backend: 'wasm', choice, threads: wasm.getThreadsCount(), kernels };
    }
    case 'cpu':
      await setBackendOrThrow('cpu');
      return { backend: 'cpu', choice, threads: 1, kernels: [] };
  }
}

async function setBackendOrThrow(name: string): Promise<void> {
  const ok = await tf.setBackend(name);
  if (!ok || tf.getBackend() !== name) throw new Error(`tf.setBackend('${name}') failed`);
  await tf.ready();
}

/** The folder that holds the .wasm binaries, as a file path with a trailing separator (Node reads it with fs). */
export function wasmDistFolder(): string {
  const require = createRequire(import.meta.url);
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + path.sep;
}

/** TensorFlow's intra-op pool defaults to one thread per core. */
function tensorflowThreads(): number {
  const env = Number(process.env.TF_NUM_INTRAOP_THREADS);
  return Number.isInteger(env) && env > 0 ? env : os.availableParallelism();
}
