import type { BackendChoice } from '../../core/engine/index.ts';
import type { OnnxExport, OnnxExporter } from '../../core/engine/onnx.ts';
import { SpectrumInputError } from '../../core/errors.ts';
import { runOneShotWorker } from './one-shot-worker.ts';

/** What the export worker answers (daemon/workers/onnx-export-worker.ts). */
export type OnnxExportAnswer = { readonly ok: true; readonly exported: OnnxExport } | { readonly ok: false; readonly message: string; readonly code?: string };

const ENTRY = new URL('./onnx-export-worker.ts', import.meta.url).href;

/**
 * An OnnxExporter that loads tfjs in a worker thread of its own, one per model: the daemon's thread then never
 * imports tfjs while onnxruntime serves (importing and initialising it, and the seed model's weights, cost ~120 MB of
 * resident memory that a wasm heap and V8 never give back), and a switch's export no longer runs between its batches.
 */
export function exportInWorkerThread(backend: BackendChoice): OnnxExporter {
  return async (dir) => {
    // Answered: the worker's tfjs may keep handles open; its memory is what this is for, so it ends at once.
    const a = await runOneShotWorker<OnnxExportAnswer>(ENTRY, { dir, backend }, { name: 'onnx export', terminateOnAnswer: true });
    if (a.ok) return a.exported;
    throw a.code ? new SpectrumInputError(a.code, a.message) : new Error(a.message);
  };
}
