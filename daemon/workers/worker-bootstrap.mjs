// Worker threads start without the main thread's tsx loader, so a TypeScript worker module is loaded through this
// plain-ESM entry: it registers tsx in the worker and imports the module named in workerData.module.
import { register } from 'tsx/esm/api';
import { workerData } from 'node:worker_threads';

register();
await import(workerData.module);
