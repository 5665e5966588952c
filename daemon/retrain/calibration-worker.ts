import { parentPort, workerData } from 'node:worker_threads';
import { calibrate, withMixtureEmbeddings } from '../../core/identify/calibration.ts';
import { ReferenceLibrary } from '../../core/identify/library.ts';
import type { CalibrationAnswer, CalibrationJob } from './calibration-protocol.ts';

// Runs in a worker_thread (loaded through worker-bootstrap.mjs): the per-class thresholds of a new library state take
// seconds for a large library, which on the main thread would stall every instrument's identification.
const job = (workerData as { job: CalibrationJob }).job;
const started = performance.now();
let answer: CalibrationAnswer;
try {
  const library = new ReferenceLibrary({ dim: job.dim, points: job.points, modelVersion: job.modelVersion });
  // Embeddings alone: calibration reads the library matrix (embeddings, centroids), never the spectra or profiles.
  for (const c of job.classes) library.addReferences(c.name, c.embeddings, null);
  let calibration = calibrate(library, { targetFalseUnknownRate: job.targetFalseUnknownRate, maxComponents: job.maxComponents });
  if (job.mixtureEmbeddings && job.mixtureEmbeddings.length > 0) {
    calibration = withMixtureEmbeddings(calibration, library, job.mixtureEmbeddings, job.maxComponents);
  }
  answer = { ok: true, calibration, ms: performance.now() - started };
} catch (err) {
  answer = { ok: false, message: err instanceof Error ? err.message : String(err) };
}
parentPort?.postMessage(answer);
