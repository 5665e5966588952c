import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ResolvedConfig } from '../../config/load.ts';
import type { Encoder } from '../../core/encoder/types.ts';
import { SpectrumInputError } from '../../core/errors.ts';
import type { PipelineLogger } from '../../pipelines/ports.ts';
import { LibraryService } from '../library.ts';
import type { Store } from '../store/store.ts';
import { BatchGate, SerialQueue } from './batch-gate.ts';
import { ModelManager, type RetrainSettings, type RetrainStatus } from './model-manager.ts';
import { yieldToEventLoop, type CalibrationRunner, type CalibrationSettings } from './off-thread-calibration.ts';
import { ModelRegistry } from './versions.ts';

/** Defaults of a background retraining run (config `retrain:`; POST /api/retrain may give epochs and holdOut). */
export const RETRAIN_DEFAULTS: Omit<RetrainSettings, 'backend'> = { epochs: 3, holdOut: 0.2, lr: 2e-4, seed: 1, autoPromote: false };

export function modelRegistryOf(config: ResolvedConfig): ModelRegistry {
  return new ModelRegistry(path.join(config.dataDir, 'models'));
}

/** The model to load at start: the promoted version of the registry, else the configured one. */
export function modelDirAtStart(config: ResolvedConfig, log: PipelineLogger): string {
  const current = modelRegistryOf(config).current();
  if (!current) return config.model.dir;
  if (existsSync(path.join(current.dir, 'model.json'))) return current.dir;
  log.warn({ version: current.version, dir: current.dir }, 'promoted model version is missing on disk; loading the configured model');
  return config.model.dir;
}

export interface DaemonModelsOptions {
  readonly config: ResolvedConfig;
  readonly store: Store;
  readonly log: PipelineLogger;
  /** The encoder and library in use now. */
  readonly current: () => { readonly encoder: Encoder; readonly library: LibraryService };
  /** Makes a new encoder and library the daemon's (called between micro-batches). */
  readonly install: (encoder: Encoder, library: LibraryService) => void;
  readonly preprocessVector: (y: Float32Array) => Float32Array;
  readonly emitStatus: (status: RetrainStatus) => void;
  readonly settings?: Partial<RetrainSettings>;
  /** Where new library states are calibrated (default: a worker thread); tests hand in their own. */
  readonly calibrationRunner?: CalibrationRunner;
}

export interface DaemonModels {
  readonly gate: BatchGate;
  readonly manager: ModelManager;
  /** Enrollment, undo and model switches, one at a time (each rewrites the library's embeddings). */
  readonly serial: SerialQueue;
}

/** Model versions, background retraining and atomic model switches for the running daemon. */
export async function startDaemonModels(o: DaemonModelsOptions): Promise<DaemonModels> {
  const registry = modelRegistryOf(o.config);
  const { encoder } = o.current();
  const { readModelCard, loadEncoder } = await import('../../core/encoder/model-files.ts');
  if (registry.list().length === 0) {
    const card = await readModelCard(o.config.model.dir).catch(() => undefined);
    ModelManager.registerBase(registry, o.config.model.dir, encoder.version, card?.metrics?.valKnnAccuracy ?? 0);
  }
  const gate = new BatchGate(encoder.version);
  const serial = new SerialQueue();
  // Every library state made from now on (enrollment, undo, a switch) is calibrated before it identifies anything,
  // off the identification path: calibrating 500 classes on the main thread stalled every instrument for seconds.
  const calibration: CalibrationSettings = {
    targetFalseUnknownRate: o.config.identification.targetFalseUnknownRate,
    maxComponents: o.config.identification.maxComponents,
    mixture: o.config.identification.mixture,
  };
  o.current().library.calibrateBeforeUse(calibration, o.calibrationRunner);
  const switchTo = (dir: string): Promise<string> =>
    serial.run(async () => {
      const next = await loadEncoder(dir);
      const before = o.current().encoder;
      if (next.grid.points !== before.grid.points || next.grid.xStart !== before.grid.xStart || next.grid.xEnd !== before.grid.xEnd) {
        next.dispose();
        throw new SpectrumInputError('model-grid', `model ${dir} takes another input grid than the daemon's model; it cannot replace it`, { file: dir });
      }
      // The library is re-embedded and calibrated with the new model before the switch; the batches meanwhile use the
      // old pair, and the switch itself only swaps references between two micro-batches.
      await reembedInSmallSteps(o.store, next);
      const library = new LibraryService(o.store, next, o.preprocessVector, o.log);
      library.calibrateBeforeUse(calibration, o.calibrationRunner);
      await library.load();
      await gate.switchBetweenBatches(() => {
        o.install(next, library);
        return next.version;
      });
      before.dispose();
      return next.version;
    });
  const manager = new ModelManager(
    registry,
    {
      points: encoder.grid.points,
      references: () => o.store.references().map((r) => ({ class: r.class, vector: r.vector })),
      switchTo,
    },
    {
      ...RETRAIN_DEFAULTS,
      ...(o.config.retrain ? { epochs: o.config.retrain.epochs, holdOut: o.config.retrain.holdOut, lr: o.config.retrain.learningRate, seed: o.config.retrain.seed, autoPromote: o.config.retrain.autoPromote, afterLabels: o.config.retrain.afterLabels } : {}),
      backend: o.config.model.engine,
      ...o.settings,
    },
    o.emitStatus,
    o.log,
  );
  return { gate, manager, serial };
}

/**
 * Embeds the store's references with a new model a few rows at a time, storing each chunk's embeddings in its own
 * small transaction and yielding to the event loop after each, so the pipeline's micro-batches keep running between
 * them: 16 rows of tfjs-wasm took 100-200 ms and one 600-row transaction 300 ms (fsync) on a loaded machine, each a
 * stall of identification. A reference keeps its old embedding until its chunk is stored (the row's model_version
 * says which); LibraryService.load() then finds nothing stale.
 */
async function reembedInSmallSteps(store: Store, encoder: Encoder, chunk = 4): Promise<void> {
  const points = encoder.grid.points;
  const dim = encoder.dim;
  const stale = store.references().filter((r) => r.modelVersion !== encoder.version || !r.embedding);
  for (let start = 0; start < stale.length; start += chunk) {
    const part = stale.slice(start, start + chunk);
    const x = new Float32Array(part.length * points);
    part.forEach((r, i) => x.set(r.vector.subarray(0, points), i * points));
    const e = await encoder.embed(x, part.length);
    store.setEmbeddings(encoder.version, part.map((r, i) => ({ id: r.id, embedding: e.slice(i * dim, (i + 1) * dim) })));
    await yieldToEventLoop();
  }
}
