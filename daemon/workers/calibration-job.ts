import { calibrate, withMixtureEmbeddings } from '../../core/identify/knn/calibration.ts';
import { ReferenceLibrary } from '../../core/identify/knn/library.ts';
import type { CalibrationAnswer, CalibrationJob } from './calibration-protocol.ts';

/**
 * The thresholds of one library state from its embeddings (and the synthesized mixtures' embeddings): what the
 * calibration worker runs, and what the daemon runs on its own thread at start, before anything identifies.
 */
export function runCalibrationJob(job: CalibrationJob): CalibrationAnswer {
  const started = performance.now();
  try {
    const library = new ReferenceLibrary({ dim: job.dim, points: job.points, modelVersion: job.modelVersion });
    // Embeddings alone: calibration reads the library matrix (embeddings, centroids), never the spectra or profiles.
    for (const c of job.classes) library.addReferences(c.name, c.embeddings, null);
    let calibration = calibrate(library, { targetFalseUnknownRate: job.targetFalseUnknownRate, maxComponents: job.maxComponents });
    if (job.mixtureEmbeddings && job.mixtureEmbeddings.length > 0) {
      calibration = withMixtureEmbeddings(calibration, library, job.mixtureEmbeddings, job.maxComponents);
    }
    return { ok: true, calibration, ms: performance.now() - started };
  } catch (err) {
    return { ok: false, message: err instanceof Error ? err.message : String(err) };
  }
}
