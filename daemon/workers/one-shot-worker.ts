import { Worker } from 'node:worker_threads';

const BOOTSTRAP = new URL('./worker-bootstrap.mjs', import.meta.url);

export interface OneShotWorkerOptions {
  /** What the worker does, for the error when it exits without answering ('onnx export', 'calibration'). */
  readonly name: string;
  /** End the worker as soon as it has answered (it may keep handles open that would hold its memory). */
  readonly terminateOnAnswer?: boolean;
  /** A daemon stopping meanwhile does not wait for this worker. */
  readonly unref?: boolean;
}

/**
 * Runs one job in a worker_thread of its own (the module loaded through worker-bootstrap.mjs, so it may be
 * TypeScript) and settles with its first message; an error or an exit before any message rejects.
 */
export function runOneShotWorker<Answer>(moduleUrl: string, job: unknown, options: OneShotWorkerOptions): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    const worker = new Worker(BOOTSTRAP, { workerData: { module: moduleUrl, job } });
    if (options.unref) worker.unref();
    worker.once('message', (answer: Answer) => {
      if (options.terminateOnAnswer) void worker.terminate();
      resolve(answer);
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`${options.name} worker exited (code ${code}) without an answer`)));
  });
}
