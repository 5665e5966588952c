import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';

describe('worker thread engine', () => {
  it('initEngine starts the wasm backend inside a worker_thread', async () => {
    const worker = new Worker(new URL('../../daemon/workers/worker-bootstrap.mjs', import.meta.url), {
      workerData: { module: new URL('../support/engine-probe-worker.ts', import.meta.url).href },
    });
    const message = await new Promise<unknown>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    expect(message).toEqual({ backend: 'wasm' });
  }, 60_000);
});
