import { parentPort, workerData } from 'node:worker_threads';
import { initEngine, type BackendChoice } from '../../core/engine/index.ts';
import { exportWithProbes } from '../../core/engine/onnx.ts';
import { loadEncoder } from '../../core/encoder/model-files.ts';
import { SpectrumInputError } from '../../core/errors.ts';
import type { OnnxExportAnswer } from './off-thread-export.ts';

// Runs in a worker_thread (loaded through worker-bootstrap.mjs): tfjs is loaded here, the model exported to ONNX and
// the self-check's probes embedded, so the daemon's own thread never holds tfjs (~120 MB of resident memory with the
// seed model) when onnxruntime serves; this thread's memory goes away when it ends.
const { dir, backend } = (workerData as { job: { dir: string; backend: BackendChoice } }).job;
let answer: OnnxExportAnswer;
const transfer: ArrayBuffer[] = [];
try {
  await initEngine({ backend });
  const tfjs = await loadEncoder(dir);
  const exported = await exportWithProbes(tfjs);
  tfjs.dispose();
  answer = { ok: true, exported };
  for (const b of new Set([exported.onnx.buffer, exported.probeEmbeddings.buffer])) if (b instanceof ArrayBuffer) transfer.push(b);
} catch (err) {
  answer = { ok: false, message: err instanceof Error ? err.message : String(err), ...(err instanceof SpectrumInputError ? { code: err.code } : {}) };
}
parentPort?.postMessage(answer, transfer);
