import { parentPort } from 'node:worker_threads';
import { initEngine } from '../../core/engine/index.ts';

// Proves the tfjs wasm engine starts inside a worker thread (where background retraining runs).
const info = await initEngine();
parentPort?.postMessage({ backend: info.backend });
