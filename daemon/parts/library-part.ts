import type { Logger } from 'pino';
import type { ResolvedConfig } from '../../config/load.ts';
import type { Encoder } from '../../core/encoder/types.ts';
import type { Identification } from '../../core/identify/types.ts';
import { createIdentifyStage } from '../../pipelines/identify-stage.ts';
import type { StageTimes } from '../../pipelines/stage-times.ts';
import { benchmarkSpectrum, LibraryService } from '../library.ts';
import type { RetrainStatus } from '../models/model-manager.ts';
import { startDaemonModels, type DaemonModels } from '../models/daemon-models.ts';
import { logPhaseMemory } from '../startup-memory.ts';
import type { ModelPart } from './model.ts';
import { started, type DaemonPart } from './part.ts';
import type { StorePart } from './store-part.ts';

export interface LibraryPartDeps {
  readonly config: ResolvedConfig;
  readonly log: Logger;
  readonly store: StorePart;
  readonly model: ModelPart;
  readonly stageTimes: StageTimes;
  /** Background retraining reports its progress (the dashboard's live feed). */
  readonly emitRetrainStatus: (status: RetrainStatus) => void;
}

/**
 * The reference library and what identifies against it: loaded (or the demo made) from the store, calibrated and
 * warmed up before any input starts, then the model versions and background retraining (daemon/retrain) that may
 * switch model and library between micro-batches.
 */
export class LibraryPart implements DaemonPart {
  readonly name = 'library';
  private service?: LibraryService;
  private identifyStage?: (vectors: readonly Float32Array[]) => Promise<Identification[]>;
  private daemonModels?: DaemonModels;

  constructor(private readonly deps: LibraryPartDeps) {}

  /** The library in use now (a model switch replaces it). */
  get library(): LibraryService {
    return started(this.service, 'the library');
  }

  /** The library in use, or undefined before the start (health and metrics ask at any time). */
  get loaded(): LibraryService | undefined {
    return this.service;
  }

  /** Model versions, retraining and switches between micro-batches; undefined until the library started. */
  get models(): DaemonModels | undefined {
    return this.daemonModels;
  }

  /** The version results carry: the one the batch gate runs, once it exists. */
  get modelVersion(): string {
    return this.daemonModels?.gate.version ?? this.deps.model.encoder.version;
  }

  /** Encodes and identifies a micro-batch; a model switch waits for it (and it for a switch). */
  identify(vectors: readonly Float32Array[]): Promise<Identification[]> {
    const stage = started(this.identifyStage, 'the library');
    return this.daemonModels ? this.daemonModels.gate.run(() => stage(vectors)) : stage(vectors);
  }

  async start(): Promise<void> {
    const { config, log, model, stageTimes } = this.deps;
    const store = this.deps.store.store;
    const encoder = model.encoder;
    const preprocessVector = (y: Float32Array) => model.preprocess(benchmarkSpectrum(y));
    this.service = new LibraryService(store, encoder, preprocessVector, log);
    await this.service.load();
    logPhaseMemory(log, 'library: loaded from the store');
    // The demo library is generated benchmark spectra on the index grid: meaningless for a model on a physical grid
    // (Raman, IR in cm-1), whose library a lab enrolls from its own files.
    if (config.library.demo && encoder.grid.xUnit !== 'index') {
      log.info({ xUnit: encoder.grid.xUnit }, 'no demo library: the model takes a physical grid; enroll references from files');
    } else if (config.library.demo) {
      await this.service.ensureDemo({ classes: config.library.demoClasses, perClass: config.library.demoPerClass, seed: config.library.demoSeed });
    }
    const lib = this.service.library;
    log.info({ classes: lib.classCount, references: lib.referenceCount }, 'library ready');
    // The encoder's share of identify is timed on its own, so kNN/mixture search and the model can be told apart.
    // embed and dispose reach the encoder in use, which a model switch replaces.
    const timedEncoder: Encoder = {
      grid: encoder.grid,
      dim: encoder.dim,
      version: encoder.version,
      embed: (batch, n) => stageTimes.timeAsync('encode', n, () => model.encoder.embed(batch, n)),
      dispose: () => model.encoder.dispose(),
    };
    this.identifyStage = createIdentifyStage(timedEncoder, () => this.library.library, config.identification, undefined, (l) => this.library.calibrationFor(l));
    if (lib.classCount > 0) {
      // The start's library state is calibrated before the inputs start, on this thread (see calibrateNow).
      await this.service.calibrateNow({
        targetFalseUnknownRate: config.identification.targetFalseUnknownRate,
        maxComponents: config.identification.maxComponents,
        mixture: config.identification.mixture,
      });
      // Warm-up: the first call sets up the model's session and the identify path (seconds on a loaded machine);
      // done here, the first real spectrum does not pay for it. The probe is the store's first reference, taken from
      // the library's kept spectra: store.references() would read every reference (30 MB for the demo) for one.
      const t0 = Date.now();
      const first = lib.classNames()[0];
      const kept = first === undefined ? null : lib.spectraOf(first);
      const probe = kept ? kept.slice(0, encoder.grid.points) : store.references()[0]?.vector;
      if (probe) await this.identifyStage([probe]);
      log.info({ ms: Date.now() - t0 }, 'encoder and calibration warmed up');
      logPhaseMemory(log, 'warm-up');
    }
    this.daemonModels = await startDaemonModels({
      config,
      store,
      log,
      current: () => ({ encoder: model.encoder, library: this.library }),
      install: (e, l) => {
        model.install(e);
        this.service = l;
      },
      preprocessVector,
      emitStatus: this.deps.emitRetrainStatus,
      engineAtStart: model.engineAtStart,
      inferenceLoading: model.inferenceLoading,
    });
    logPhaseMemory(log, 'models');
  }

  async stop(): Promise<void> {
    await this.daemonModels?.manager.stop();
  }
}
