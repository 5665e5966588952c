/**
 * Inference through onnxruntime-node: the tfjs encoder exported to ONNX (core/encoder/onnx-export.ts) and run by
 * onnxruntime's CPU provider. onnxruntime-node is loaded by dynamic import, so a machine without it (or where its
 * native binary does not load) still runs on tfjs; `loadInferenceEncoder` decides which engine serves a model dir.
 */
import { SpectrumInputError } from '../errors.ts';
// tfjs (the exporter, model files) is imported where it is used, never at load: importing @tensorflow/tfjs costs
// ~60 MB of resident memory, which a process that only runs onnx (the daemon, with an exporter elsewhere) never needs.
import type { TfjsEncoder } from '../encoder/model-files.ts';
import type { FileIO } from '../encoder/file-io.ts';
import { nodeFileIO } from '../encoder/node-file-io.ts';
import type { Encoder, InputGrid } from '../encoder/types.ts';

export type InferenceEngine = 'auto' | 'tfjs' | 'onnx';
export const INFERENCE_ENGINES: readonly InferenceEngine[] = ['auto', 'tfjs', 'onnx'];

/** The largest difference from tfjs the self-check accepts, per embedding element (the Encoder contract: 1e-4). */
export const ONNX_SELF_CHECK_TOLERANCE = 1e-4;

/** The part of onnxruntime-node's API used here (its own types come with the package; this keeps it optional). */
interface OrtTensor {
  readonly data: unknown;
  dispose?(): void;
}
interface OrtSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
interface OrtModule {
  InferenceSession: { create(model: Uint8Array, options: Record<string, unknown>): Promise<OrtSession> };
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensor;
  env: { versions: { node?: string; common?: string } };
}

let ortModule: Promise<OrtModule> | undefined;

/** onnxruntime-node, imported once; rejects with the reason when it is absent or its binary does not load. */
export function loadOnnxRuntime(): Promise<OrtModule> {
  // A variable name keeps TypeScript from tying the build to the optional package.
  const name = 'onnxruntime-node';
  ortModule ??= import(name).then((m: { default?: OrtModule } & Partial<OrtModule>) => {
    const mod = (m.InferenceSession ? m : m.default) as OrtModule | undefined;
    if (!mod?.InferenceSession) throw new Error('onnxruntime-node has no InferenceSession export');
    return mod;
  });
  ortModule.catch(() => {
    ortModule = undefined;
  });
  return ortModule;
}

export interface OnnxEncoderOptions {
  /** onnxruntime intra-op threads (1 or 2 on the 2-core target machine); default 1. */
  readonly threads?: number;
  /** Spectra per session.run; bounds the memory of one call. */
  readonly batchSize?: number;
}

/** An Encoder running an exported ONNX model in onnxruntime. */
export class OnnxEncoder implements Encoder {
  readonly engine = 'onnx';

  private constructor(
    private readonly ort: OrtModule,
    private readonly session: OrtSession,
    readonly grid: InputGrid,
    readonly dim: number,
    readonly version: string,
    readonly threads: number,
    private readonly batchSize: number,
  ) {}

  /** Builds the session from ONNX bytes (e.g. from exportEncoderToOnnx). */
  static async create(onnx: Uint8Array, meta: { grid: InputGrid; dim: number; version: string }, opts: OnnxEncoderOptions = {}): Promise<OnnxEncoder> {
    const threads = opts.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1 || threads > 64) {
      throw new SpectrumInputError('bad-threads', `onnx threads must be an integer 1-64, got ${threads}`, { field: 'threads' });
    }
    const batchSize = opts.batchSize ?? 256;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new SpectrumInputError('bad-batch', `onnx batch size must be a positive integer, got ${batchSize}`, { field: 'batchSize' });
    }
    const ort = await loadOnnxRuntime();
    let session: OrtSession;
    try {
      session = await ort.InferenceSession.create(onnx, {
        executionProviders: ['cpu'],
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
      });
    } catch (err) {
      throw new SpectrumInputError('onnx-invalid', `onnxruntime refused the model: ${(err as Error).message}`, { field: 'model' });
    }
    return new OnnxEncoder(ort, session, meta.grid, meta.dim, meta.version, threads, batchSize);
  }

  /** Exports a loaded tfjs encoder and builds the session; the tfjs encoder is left to the caller. */
  static async fromTfjs(tfjs: TfjsEncoder, opts: OnnxEncoderOptions = {}): Promise<OnnxEncoder> {
    const { exportEncoderToOnnx } = await import('../encoder/onnx-export.ts');
    return OnnxEncoder.create(exportEncoderToOnnx(tfjs.model, { version: tfjs.version }), tfjs, opts);
  }

  async embed(batch: Float32Array, n: number): Promise<Float32Array> {
    const points = this.grid.points;
    if (!Number.isInteger(n) || n < 0 || batch.length !== n * points) {
      throw new SpectrumInputError('bad-batch', `embed: got ${batch.length} values for ${n} spectra of ${points} points`, { field: 'batch' });
    }
    const out = new Float32Array(n * this.dim);
    for (let start = 0; start < n; start += this.batchSize) {
      const m = Math.min(this.batchSize, n - start);
      const input = new this.ort.Tensor('float32', batch.subarray(start * points, (start + m) * points), [m, points]);
      // The exported graph has one input and one output (core/encoder/onnx-export.ts: ONNX_INPUT, ONNX_OUTPUT).
      const result = await this.session.run({ [this.session.inputNames[0]]: input });
      const y = result[this.session.outputNames[0]];
      const data = y.data as Float32Array;
      if (data.length !== m * this.dim) throw new Error(`onnx: expected ${m * this.dim} outputs, got ${data.length}`);
      out.set(data, start * this.dim);
      y.dispose?.();
    }
    return out;
  }

  dispose(): void {
    void this.session.release().catch(() => {});
  }
}

/** Deterministic probe spectra for the self-check: smooth peaks, a flat line, noise and a negative excursion. */
export function probeSpectra(points: number, count = 4): Float32Array {
  const x = new Float32Array(points * count);
  let state = 12345;
  const rand = (): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
  for (let r = 0; r < count; r++) {
    const row = x.subarray(r * points, (r + 1) * points);
    if (r === 1) {
      row.fill(0.5);
      continue;
    }
    for (let p = 0; p < 6; p++) {
      const centre = rand() * points;
      const sigma = 2 + rand() * 6;
      const height = rand();
      for (let i = 0; i < points; i++) row[i] += height * Math.exp(-0.5 * ((i - centre) / sigma) ** 2);
    }
    if (r === 2) for (let i = 0; i < points; i++) row[i] += 0.05 * (rand() - 0.5);
    if (r === 3) for (let i = 0; i < points; i++) row[i] -= 0.3 * Math.exp(-0.5 * ((i - points / 2) / 40) ** 2);
    let max = 0;
    for (const v of row) max = Math.max(max, Math.abs(v));
    if (max > 0) for (let i = 0; i < points; i++) row[i] /= max;
  }
  return x;
}

/** Largest |a - b| over the embeddings of the probe spectra: how far the two encoders disagree. */
export async function maxEmbeddingDifference(a: Encoder, b: Encoder, probes = probeSpectra(a.grid.points)): Promise<number> {
  const n = probes.length / a.grid.points;
  const [ea, eb] = await Promise.all([a.embed(probes, n), b.embed(probes, n)]);
  return maxDifference(ea, eb);
}

function maxDifference(ea: Float32Array, eb: Float32Array): number {
  if (ea.length !== eb.length) return Infinity;
  let diff = 0;
  for (let i = 0; i < ea.length; i++) diff = Math.max(diff, Math.abs(ea[i] - eb[i]));
  // NaN anywhere must fail the check, and Math.max would carry it as NaN: say so explicitly.
  return Number.isNaN(diff) ? Infinity : diff;
}

/** What an onnx encoder is built from: the tfjs model's export, and tfjs's embeddings of the self-check's probes. */
export interface OnnxExport {
  readonly onnx: Uint8Array;
  readonly grid: InputGrid;
  readonly dim: number;
  readonly version: string;
  /** The tfjs model's embeddings of probeSpectra(grid.points): what the onnx session is checked against. */
  readonly probeEmbeddings: Float32Array;
}

/**
 * Exports a model directory and embeds the probes with tfjs somewhere else than the calling thread (the daemon: a
 * worker thread, whose tfjs memory goes away with it). Rejects with the reason when it cannot; a SpectrumInputError
 * with code onnx-unsupported means the model cannot be exported at all.
 */
export type OnnxExporter = (dir: string) => Promise<OnnxExport>;

/** The export of a loaded tfjs encoder with its probe embeddings, on this thread (what an OnnxExporter runs). */
export async function exportWithProbes(tfjs: TfjsEncoder): Promise<OnnxExport> {
  const { exportEncoderToOnnx } = await import('../encoder/onnx-export.ts');
  const onnx = exportEncoderToOnnx(tfjs.model, { version: tfjs.version });
  const probes = probeSpectra(tfjs.grid.points);
  const probeEmbeddings = await tfjs.embed(probes, probes.length / tfjs.grid.points);
  return { onnx, grid: tfjs.grid, dim: tfjs.dim, version: tfjs.version, probeEmbeddings };
}

export interface InferenceEncoderOptions {
  /** auto: onnx when onnxruntime loads and the exported model passes the self-check, else tfjs. Default auto. */
  readonly engine?: InferenceEngine;
  /** onnxruntime intra-op threads; default 1. */
  readonly threads?: number;
  /**
   * Spectra per session.run (default 256). onnxruntime's memory arena keeps its largest allocation for good, so this
   * bounds the process's resident memory: the seed model at 256 holds ~300 MB more than at 32 (and is slower there).
   */
  readonly batchSize?: number;
  readonly logger?: (msg: string) => void;
  readonly io?: FileIO;
  /** Called after each step (tfjs loaded, onnx exported, session built, self-check), e.g. to sample memory. */
  readonly onPhase?: (phase: 'tfjs-loaded' | 'onnx-export' | 'onnx-session' | 'self-check') => void;
  /**
   * Where the export and tfjs's probe embeddings are made when onnx is wanted; default this thread. With one, this
   * thread loads tfjs only when tfjs serves (forced, or a fallback). An exporter failing for any other reason than
   * an unexportable model (onnx-unsupported) is logged and the export made on this thread after all.
   */
  readonly exporter?: OnnxExporter;
  /** Initialises tfjs on this thread before its first use here; default initEngine() (auto, or the engine already chosen). */
  readonly initTfjs?: () => Promise<unknown>;
}

/** What serves a model and why: returned next to the encoder so callers can log or report it. */
export interface EngineChoice {
  readonly engine: 'tfjs' | 'onnx';
  readonly reason: string;
  /** Self-check difference from tfjs when onnx was tried. */
  readonly maxDifference?: number;
}

/**
 * Loads a model directory as the Encoder of the chosen inference engine (the daemon's, `spectrad embed`'s and
 * `identify`'s entry point). The tfjs model is the source of the export and the reference of the self-check (on
 * this thread, or where opts.exporter makes them). onnx (forced or auto) falls back to tfjs, with the reason logged,
 * when onnxruntime is absent or cannot run the export; a failed self-check falls back under auto only (forced onnx
 * logs it and keeps onnx).
 */
export async function loadInferenceEncoder(dir: string, opts: InferenceEncoderOptions = {}): Promise<{ encoder: Encoder; choice: EngineChoice }> {
  const engine = opts.engine ?? 'auto';
  if (!INFERENCE_ENGINES.includes(engine)) {
    throw new SpectrumInputError('unknown-engine', `unknown inference engine "${String(engine)}"; known: ${INFERENCE_ENGINES.join(', ')}`, { field: 'engine' });
  }
  const log = opts.logger ?? (() => {});
  const phase = opts.onPhase ?? (() => {});
  const loadTfjs = async (): Promise<TfjsEncoder> => {
    const [{ initEngine }, { loadEncoder }] = await Promise.all([import('./index.ts'), import('../encoder/model-files.ts')]);
    await (opts.initTfjs ?? (() => initEngine()))();
    const tfjs = await loadEncoder(dir, opts.io ?? nodeFileIO);
    phase('tfjs-loaded');
    return tfjs;
  };
  // Without an exporter the tfjs model is loaded here first (its errors, e.g. a missing model, are the caller's).
  const here = engine === 'tfjs' || !opts.exporter ? await loadTfjs() : undefined;
  if (engine === 'tfjs') return { encoder: here!, choice: { engine: 'tfjs', reason: 'forced' } };
  const tfjsFallback = async (reason: string, maxDifference?: number) => {
    log(`engine: ${reason}`);
    return { encoder: here ?? (await loadTfjs()), choice: { engine: 'tfjs' as const, reason, ...(maxDifference !== undefined ? { maxDifference } : {}) } };
  };
  let exported: OnnxExport;
  let onnx: OnnxEncoder;
  try {
    if (here) {
      exported = await exportWithProbes(here);
    } else {
      try {
        exported = await opts.exporter!(dir);
      } catch (err) {
        if (err instanceof SpectrumInputError && err.code === 'onnx-unsupported') throw err;
        log(`engine: onnx export elsewhere failed (${(err as Error).message.split('\n')[0]}), exporting on this thread`);
        return loadInferenceEncoder(dir, { ...opts, exporter: undefined });
      }
    }
    phase('onnx-export');
    onnx = await OnnxEncoder.create(exported.onnx, exported, { threads: opts.threads, batchSize: opts.batchSize });
  } catch (err) {
    if (err instanceof SpectrumInputError && (err.code === 'bad-threads' || err.code === 'bad-batch')) {
      here?.dispose();
      throw err;
    }
    return tfjsFallback(`onnx unavailable (${(err as Error).message.split('\n')[0]}), using tfjs`);
  }
  phase('onnx-session');
  const probes = probeSpectra(exported.grid.points);
  const diff = maxDifference(await onnx.embed(probes, probes.length / exported.grid.points), exported.probeEmbeddings);
  phase('self-check');
  if (diff > ONNX_SELF_CHECK_TOLERANCE && engine === 'auto') {
    onnx.dispose();
    return tfjsFallback(`onnx self-check failed (max difference from tfjs ${diff.toExponential(2)} > ${ONNX_SELF_CHECK_TOLERANCE}), using tfjs`, diff);
  }
  here?.dispose();
  const passed = diff <= ONNX_SELF_CHECK_TOLERANCE;
  const reason = `${engine === 'auto' ? 'auto' : 'forced'}: onnxruntime, ${onnx.threads} thread(s), self-check ${passed ? 'passed' : 'FAILED'} (max difference from tfjs ${diff.toExponential(2)})`;
  log(`engine: ${reason}`);
  return { encoder: onnx, choice: { engine: 'onnx', reason, maxDifference: diff } };
}
