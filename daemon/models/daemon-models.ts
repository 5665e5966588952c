import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ResolvedConfig } from '../../config/load.ts';
import type { Encoder } from '../../core/encoder/types.ts';
import type { EngineChoice, InferenceEncoderOptions } from '../../core/engine/onnx.ts';
import { SpectrumInputError } from '../../core/errors.ts';
import type { PipelineLogger } from '../../pipelines/ports.ts';
import { LibraryService } from '../library.ts';
import type { Store } from '../store/store.ts';
import { BatchGate, SerialQueue } from './batch-gate.ts';
import { ModelManager, type RetrainSettings, type RetrainStatus } from './model-manager.ts';
import { yieldToEventLoop, type CalibrationRunner, type CalibrationSettings } from '../workers/off-thread-calibration.ts';
import { ModelPreparation, referenceIds } from './model-preparation.ts';
import { ModelRegistry } from './versions.ts';

/** Defaults of a background retraining run (config `retrain:`; POST /api/retrain may give epochs and holdOut). */
const RETRAIN_DEFAULTS: Omit<RetrainSettings, 'backend'> = { epochs: 3, holdOut: 0.2, lr: 2e-4, seed: 1, autoPromote: false };

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
  /** The inference engine the model loaded at start runs on (loadInferenceEncoder's choice). */
  readonly engineAtStart?: EngineChoice;
  /** Where a switched-to model is exported and how tfjs starts on this thread (daemon/parts/model.ts: the export in a worker). */
  readonly inferenceLoading?: Pick<InferenceEncoderOptions, 'exporter' | 'initTfjs'>;
}

export interface DaemonModels {
  readonly gate: BatchGate;
  readonly manager: ModelManager;
  /** The registry the manager keeps (one instance: it holds the promotion history in memory). */
  readonly registry: ModelRegistry;
  /** Enrollment, undo and model switches, one at a time (each rewrites the library's embeddings). */
  readonly serial: SerialQueue;
  /** The inference engine the current model runs on, and why (a switch chooses again, like the start). */
  engine(): EngineChoice | undefined;
  /** Where the last switch spent its time (ms per step), for bench:retrain and the logs. */
  lastSwitch(): SwitchProfile | undefined;
}

/** Wall time per step of a model switch; all but `swap` run before it, while the old model keeps identifying. */
export interface SwitchProfile {
  readonly load: number;
  readonly reembed: number;
  readonly library: number;
  readonly swap: number;
  readonly engine: EngineChoice['engine'];
  /** Whether the version had been prepared ahead (ModelPreparation): then `load` is only the wait for it. */
  readonly prepared: boolean;
}

/** Model versions, background retraining and atomic model switches for the running daemon. */
export async function startDaemonModels(o: DaemonModelsOptions): Promise<DaemonModels> {
  const registry = modelRegistryOf(o.config);
  const { encoder } = o.current();
  const { loadInferenceEncoder } = await import('../../core/engine/onnx.ts');
  if (registry.list().length === 0) {
    // The card's JSON alone: core/encoder/model-files.ts would import tfjs, which this thread otherwise never needs.
    const card = await readFile(path.join(o.config.model.dir, 'model-card.json'), 'utf8')
      .then((text) => JSON.parse(text) as { metrics?: { valKnnAccuracy?: number } })
      .catch(() => undefined);
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
  let engine = o.engineAtStart;
  let lastSwitch: SwitchProfile | undefined;
  const load = async (dir: string) => {
    // The same engine selection as at start (auto: onnx after its self-check, else tfjs with the reason logged).
    const loaded = await loadInferenceEncoder(dir, {
      engine: o.config.model.inference,
      threads: o.config.model.inferenceThreads,
      batchSize: o.config.pipeline.batchSize,
      logger: (msg) => o.log.info({ dir }, msg),
      ...o.inferenceLoading,
    });
    const next = loaded.encoder;
    const before = o.current().encoder;
    if (next.grid.points !== before.grid.points || next.grid.xStart !== before.grid.xStart || next.grid.xEnd !== before.grid.xEnd) {
      next.dispose();
      throw new SpectrumInputError('model-grid', `model ${dir} takes another input grid than the daemon's model; it cannot replace it`, { file: dir });
    }
    return loaded;
  };
  const newLibrary = (encoder: Encoder) => {
    const library = new LibraryService(o.store, encoder, o.preprocessVector, o.log);
    library.calibrateBeforeUse(calibration, o.calibrationRunner);
    return library;
  };
  const preparation = new ModelPreparation(o.store, o.log, load, newLibrary);
  const switchTo = (dir: string): Promise<string> =>
    serial.run(async () => {
      const t0 = performance.now();
      // A version prepared ahead (loaded, library embedded and calibrated while the old model identified) needs only
      // its embeddings stored and, when the library changed meanwhile, the new references embedded.
      const ready = await preparation.take(dir);
      // Otherwise export, session and self-check happen here, still while the old model keeps identifying.
      const loaded = ready?.loaded ?? (await load(dir));
      const next = loaded.encoder;
      const t1 = performance.now();
      const before = o.current().encoder;
      // The library is re-embedded and calibrated with the new model before the switch; the batches meanwhile use the
      // old pair, and the switch itself only swaps references between two micro-batches.
      // Re-embedding is also the new engine's warm-up (its first runs allocate and optimise), off the identification path.
      if (ready) await storeInSmallSteps(o.store, next.version, ready.embeddings);
      await reembedInSmallSteps(o.store, next);
      const t2 = performance.now();
      let library = ready?.library;
      if (library) {
        // The store now holds this model's embeddings of every reference: the library reads and writes it from here on.
        library.adopt();
        // References enrolled or undone since the preparation: rebuilt like an enrollment, with the prepared
        // calibration carried over at once and the library's own computed in the background (LibraryService.load).
        if (ready!.references !== referenceIds(o.store)) await library.load();
      } else {
        library = newLibrary(next);
        await library.load();
      }
      const t3 = performance.now();
      const chosen = library;
      await gate.switchBetweenBatches(() => {
        o.install(next, chosen);
        engine = loaded.choice;
        return next.version;
      });
      const t4 = performance.now();
      before.dispose();
      const ms = (a: number, b: number) => Math.round(b - a);
      lastSwitch = { load: ms(t0, t1), reembed: ms(t1, t2), library: ms(t2, t3), swap: ms(t3, t4), engine: loaded.choice.engine, prepared: ready !== undefined };
      o.log.info({ version: next.version, inference: loaded.choice.engine, reason: loaded.choice.reason, ms: lastSwitch }, 'model switched');
      return next.version;
    });
  const manager = new ModelManager(
    registry,
    {
      points: encoder.grid.points,
      references: () => o.store.references().map((r) => ({ class: r.class, vector: r.vector })),
      switchTo,
      prepare: (dir) => preparation.prepare(dir),
      engine: () => engine,
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
  return { gate, manager, registry, serial, engine: () => engine, lastSwitch: () => lastSwitch };
}

/**
 * Embeds the store's references with a new model a few rows at a time, storing each chunk's embeddings in its own
 * small transaction and yielding to the event loop after each, so the pipeline's micro-batches keep running between
 * them: 16 rows of tfjs-wasm took 100-200 ms and one 600-row transaction 300 ms (fsync) on a loaded machine, each a
 * stall of identification. A reference keeps its old embedding until its chunk is stored (the row's model_version
 * says which); LibraryService.load() then finds nothing stale.
 */
async function storeInSmallSteps(store: Store, modelVersion: string, embeddings: ReadonlyMap<number, Float32Array>, chunk = 64): Promise<void> {
  const rows = [...embeddings].map(([id, embedding]) => ({ id, embedding }));
  for (let start = 0; start < rows.length; start += chunk) {
    store.setEmbeddings(modelVersion, rows.slice(start, start + chunk));
    await yieldToEventLoop();
  }
}

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
