import { parentPort, workerData } from 'node:worker_threads';
import { runCalibrationJob } from './calibration-job.ts';
import type { CalibrationJob } from './calibration-protocol.ts';

// Runs in a worker_thread (loaded through worker-bootstrap.mjs): the per-class thresholds of a new library state take
// seconds for a large library, which on the main thread would stall every instrument's identification.
parentPort?.postMessage(runCalibrationJob((workerData as { job: CalibrationJob }).job));
