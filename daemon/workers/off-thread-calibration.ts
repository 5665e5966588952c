import { runOneShotWorker } from './one-shot-worker.ts';
import type { Encoder } from '../../core/encoder/types.ts';
import { calibrate, synthesizeMixtureEmbeddings, withMixtureEmbeddings, type Calibration } from '../../core/identify/knn/calibration.ts';
import type { ReferenceLibrary } from '../../core/identify/knn/library.ts';
import { referenceProfilesFor } from '../../core/identify/mixture/mixture-spectral.ts';
import { unexplainedCalibrationInSteps } from '../../core/identify/mixture/mixture-unknown.ts';
import type { PipelineLogger } from '../../pipelines/ports.ts';
import { logPhaseMemory } from '../startup-memory.ts';
import { runCalibrationJob } from './calibration-job.ts';
import type { CalibrationAnswer, CalibrationJob } from './calibration-protocol.ts';

/** The identification settings a library state is calibrated for (config `identification:`). */
export interface CalibrationSettings {
  readonly targetFalseUnknownRate: number;
  readonly maxComponents: number;
  readonly mixture: 'off' | 'auto' | 'always';
}

/** Runs one calibration job somewhere other than the identification path; tests hand in their own. */
export type CalibrationRunner = (job: CalibrationJob) => Promise<CalibrationAnswer>;

const ENTRY = new URL('./calibration-worker.ts', import.meta.url).href;

/** One worker_thread per job: a library state changes a few times a day, and an idle worker would hold memory. */
export const runInWorkerThread: CalibrationRunner = (job) =>
  // unref: a daemon stopping meanwhile must not wait for a calibration nobody will use.
  runOneShotWorker<CalibrationAnswer>(ENTRY, job, { name: 'calibration', unref: true }).catch((err: Error) => ({ ok: false, message: err.message }));

/**
 * The job on the calling thread: for the daemon's start, when nothing identifies yet, so nothing can stall, and a
 * worker would only add its own memory (an isolate with the TypeScript loader: +40-70 MB) to the start-up peak.
 */
export const runInThisThread: CalibrationRunner = (job) => Promise.resolve(runCalibrationJob(job));

/** Mixtures synthesized from the library need this many encoder rows; embedded 4 at a time (see inSmallSteps). */
const MIXTURE_ROWS = 200;

/**
 * The calibration of a new library state, made before it identifies anything, without blocking the main thread for
 * more than a small step: the synthesized mixtures are embedded 4 rows at a time with a yield to the event loop
 * after each, the thresholds are computed in a worker thread, and the lazily built matrix and reference profiles are
 * built here (tens of ms) so the first batch on the new state finds them ready. Falls back to calibrating on the main
 * thread when the worker fails (logged): a slow switch beats an uncalibrated one.
 */
export async function prepareCalibration(
  library: ReferenceLibrary,
  encoder: Encoder,
  settings: CalibrationSettings,
  log: PipelineLogger,
  run: CalibrationRunner = runInWorkerThread,
  options: PrepareOptions = {},
): Promise<Calibration | undefined> {
  if (library.classCount < 2) return undefined; // core has its own rule for one class
  // Each of these steps runs on the main thread in one piece; their times are logged to find what stalls a switch.
  const mainThreadMs: Record<string, number> = {};
  let t = performance.now();
  const lap = (step: string) => {
    const now = performance.now();
    mainThreadMs[step] = Math.round(now - t);
    t = now;
    logPhaseMemory(log, `calibration: ${step}`);
  };
  let afterThresholds = (): Promise<void> | void => {};
  const matrix = library.matrix();
  const profiles = referenceProfilesFor(library, matrix);
  lap('profiles');
  await yieldToEventLoop();
  if (profiles && settings.mixture !== 'off') {
    // The mixture search's class templates and its unknown-component threshold are built on first use; built here,
    // the first mixture query on this state does not hold a micro-batch for seconds (500 classes: ~1 s + ~2 s).
    t = performance.now();
    profiles.templates();
    lap('templates');
    await yieldToEventLoop();
    // 120 mixture searches: one per step, the event loop free between (at once they held it 1.2-1.9 s at 200 classes).
    const unexplained = async (): Promise<number> => {
      let s0 = performance.now();
      let longest = 0;
      await unexplainedCalibrationInSteps(profiles, async () => {
        longest = Math.max(longest, performance.now() - s0);
        await yieldToEventLoop();
        s0 = performance.now();
      });
      logPhaseMemory(log, 'calibration: unexplained');
      return Math.round(Math.max(longest, performance.now() - s0));
    };
    if (options.unexplainedInBackground) {
      // Started once the thresholds are made: run alongside, its searches would take turns with their steps.
      afterThresholds = () => {
        const ready = unexplained()
          .then((longestStepMs) => log.info({ classes: library.classCount, longestStepMs }, 'unknown-component calibration ready'))
          .catch((err: unknown) => log.warn({ err }, 'unknown-component calibration failed; the first mixture query makes it'));
        return options.awaitUnexplained ? ready : undefined;
      };
    } else {
      mainThreadMs.unexplainedLongestStep = await unexplained();
    }
    t = performance.now();
  }
  log.info({ classes: library.classCount, mainThreadMs }, 'calibration steps on the main thread');
  const mixtureEmbeddings =
    settings.mixture === 'off'
      ? undefined
      : await synthesizeMixtureEmbeddings(library, options.unexplainedInBackground ? encoder : inSmallSteps(encoder), MIXTURE_ROWS, Math.min(4, settings.maxComponents)).catch(() => undefined);
  const job: CalibrationJob = {
    dim: library.dim,
    points: library.points,
    modelVersion: library.modelVersion,
    classes: library.classNames().map((name) => ({ name, embeddings: library.embeddingsOf(name) })),
    targetFalseUnknownRate: settings.targetFalseUnknownRate,
    maxComponents: settings.maxComponents,
    ...(mixtureEmbeddings && mixtureEmbeddings.length > 0 ? { mixtureEmbeddings } : {}),
  };
  logPhaseMemory(log, 'calibration: mixtures embedded');
  const answer = await run(job);
  logPhaseMemory(log, 'calibration: thresholds');
  await afterThresholds();
  if (answer.ok) {
    log.info({ classes: library.classCount, ms: Math.round(answer.ms), thread: run === runInThisThread ? 'this' : 'worker' }, 'library calibrated');
    return answer.calibration;
  }
  log.warn({ reason: answer.message }, 'calibration worker failed; calibrating on the main thread (identification waits meanwhile)');
  const cal = calibrate(library, { targetFalseUnknownRate: settings.targetFalseUnknownRate, maxComponents: settings.maxComponents });
  return mixtureEmbeddings && mixtureEmbeddings.length > 0 ? withMixtureEmbeddings(cal, library, mixtureEmbeddings, settings.maxComponents) : cal;
}

export interface PrepareOptions {
  /**
   * Resolve once the thresholds are ready and let the unknown-component calibration (120 mixture searches, one per
   * event-loop turn; 2 s on a quiet machine at 500 classes, 20 s at a load of 10) start then and finish behind: the
   * daemon's start, which would otherwise not answer health for that long (nothing identifies before, so the mixtures
   * are also embedded in one call rather than 4 rows a step). A mixture query that comes first makes it itself.
   */
  readonly unexplainedInBackground?: boolean;
  /**
   * With unexplainedInBackground: still resolve only once the unknown-component calibration is made (after the
   * thresholds, in steps): the daemon's start, whose first answers' open-set test needs its bar
   * (core/identify/mixture/open-set.ts), while the mixtures are embedded in one call as nothing identifies yet.
   */
  readonly awaitUnexplained?: boolean;
}

/**
 * The encoder, embedding at most `chunk` rows per call with a yield to the event loop between calls (tfjs-wasm runs
 * on the main thread: 16 rows took 100-200 ms on a loaded machine, 4 rows a quarter of that).
 */
function inSmallSteps(encoder: Encoder, chunk = 4): Encoder {
  return {
    grid: encoder.grid,
    dim: encoder.dim,
    version: encoder.version,
    dispose: () => undefined,
    embed: async (batch, n) => {
      const points = encoder.grid.points;
      const out = new Float32Array(n * encoder.dim);
      for (let start = 0; start < n; start += chunk) {
        const rows = Math.min(chunk, n - start);
        out.set(await encoder.embed(batch.subarray(start * points, (start + rows) * points), rows), start * encoder.dim);
        await yieldToEventLoop();
      }
      return out;
    },
  };
}

export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
