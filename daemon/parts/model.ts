import type { Logger } from 'pino';
import type { ResolvedConfig } from '../../config/load.ts';
import type { Encoder } from '../../core/encoder/types.ts';
import type { EngineChoice, InferenceEncoderOptions } from '../../core/engine/onnx.ts';
import type { FormatName } from '../../core/formats/types.ts';
import type { Spectrum } from '../../core/spectrum.ts';
import type { ParsedPart } from '../../pipelines/domain.ts';
import type { PreparedBlock, SpectrumPreparation } from '../../pipelines/spectrum-preparation.ts';
import { modelDirAtStart } from '../models/daemon-models.ts';
import { exportInWorkerThread } from '../workers/off-thread-export.ts';
import { logPhaseMemory, setWasmHeapProbe } from '../startup-memory.ts';
import { started, type DaemonPart } from './part.ts';

type InferenceLoading = Pick<InferenceEncoderOptions, 'exporter' | 'initTfjs'>;

/**
 * The model the daemon identifies with, and the one parse-and-preprocess path every spectrum takes to its grid
 * (inputs, uploads, enrollment). A model switch (daemon/retrain) installs a new encoder here between micro-batches.
 */
export class ModelPart implements DaemonPart {
  readonly name = 'model';
  private current?: Encoder;
  private choice?: EngineChoice;
  private preparation?: SpectrumPreparation;
  private grid?: number[];
  /**
   * How models are loaded for inference, at start and at a switch: the ONNX export and the self-check's tfjs side run
   * in a worker thread, so this thread imports tfjs only when tfjs serves (forced, or onnx failed). tfjs here costs
   * ~120 MB of resident memory that never comes back (its modules, a wasm heap that only grows, the weights).
   */
  readonly inferenceLoading: InferenceLoading;

  constructor(
    private readonly config: ResolvedConfig,
    private readonly log: Logger,
  ) {
    this.inferenceLoading = {
      exporter: exportInWorkerThread(config.model.engine),
      initTfjs: async () => {
        const { initEngine, tf } = await import('../../core/engine/index.ts');
        await initEngine({ backend: config.model.engine, logger: (msg) => log.info(msg) });
        setWasmHeapProbe(() => {
          // The wasm heap is a WebAssembly.Memory: it grows and never shrinks, so its size is part of the steady RSS.
          const backend = tf.getBackend() === 'wasm' ? (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }) : undefined;
          return backend?.wasm?.HEAPU8?.buffer.byteLength;
        });
        logPhaseMemory(log, 'engine (tfjs on this thread)');
      },
    };
  }

  /** The encoder in use now (a switch replaces it). */
  get encoder(): Encoder {
    return started(this.current, 'the model');
  }

  /** The encoder in use, or undefined before the start (health and metrics ask at any time). */
  get loaded(): Encoder | undefined {
    return this.current;
  }

  /** The inference engine of the model loaded at start; a model switch chooses again (DaemonModels.engine()). */
  get engineAtStart(): EngineChoice | undefined {
    return this.choice;
  }

  /** x of the model grid (preprocessed spectra lie on it); undefined before the start. */
  get gridX(): number[] | undefined {
    return this.grid;
  }

  /** The model grid's x unit (index, cm-1, ...): the dashboard labels its axis with it. */
  get gridXUnit(): string | undefined {
    return this.current?.grid.xUnit;
  }

  install(encoder: Encoder): void {
    this.current = encoder;
  }

  /** Every spectrum in a file (format: the input's `format` option, default auto). */
  parse(payload: Buffer, fileName?: string, format?: FormatName): ParsedPart[] {
    return started(this.preparation, 'the model').parse(payload, fileName, format);
  }

  /** Validated and put on the current model's grid (max |y| = 1); throws SpectrumInputError. */
  preprocess(spectrum: Spectrum): Float32Array {
    return started(this.preparation, 'the model').preprocess(spectrum);
  }

  /** Every block of a file on the current model's grid; throws the first block's refusal (enrollment takes files whole). */
  prepareFile(payload: Buffer, fileName?: string, format?: FormatName): PreparedBlock[] {
    return started(this.preparation, 'the model').prepareFile(payload, fileName, format);
  }

  async start(): Promise<void> {
    const { config, log } = this;
    logPhaseMemory(log, 'store');
    const [{ loadInferenceEncoder }, { spectrumPreparation }, pre] = await Promise.all([
      import('../../core/engine/onnx.ts'),
      import('../../pipelines/spectrum-preparation.ts'),
      import('../../core/preprocess/index.ts'),
    ]);
    const loaded = await loadInferenceEncoder(modelDirAtStart(config, log), {
      engine: config.model.inference,
      threads: config.model.inferenceThreads,
      // The micro-batch is what identification embeds at once; larger calls (library builds) are split to it.
      batchSize: config.pipeline.batchSize,
      logger: (msg) => log.info(msg),
      onPhase: (p) => logPhaseMemory(log, `model: ${p}`),
      ...this.inferenceLoading,
    });
    const encoder = loaded.encoder;
    this.current = encoder;
    this.choice = loaded.choice;
    log.info({ dir: config.model.dir, version: encoder.version, points: encoder.grid.points, dim: encoder.dim, inference: loaded.choice.engine }, 'model loaded');
    // The same path as `spectrad library add`; the current encoder's grid: after a switch, the new model's.
    this.preparation = spectrumPreparation({ strict: config.formats.strict, chain: config.preprocessing, grid: () => this.encoder.grid });
    this.grid = Array.from(pre.gridX(encoder.grid));
  }

  async stop(): Promise<void> {
    await this.current?.dispose();
  }
}
