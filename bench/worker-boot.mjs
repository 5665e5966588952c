// Starts a TypeScript worker thread: registers tsx (as bin/run-ts.js does for the main thread), then imports the
// module named in workerData.entry (a file URL).
import { register } from 'tsx/esm/api';
import { workerData } from 'node:worker_threads';

register();
await import(workerData.entry);
