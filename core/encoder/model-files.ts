import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { SpectrumInputError } from '../errors.ts';
import type { ArchitectureSpec } from './architectures.ts';
import { joinPath, type FileIO } from './file-io.ts';
import './layers.ts'; // registers L2Normalize, which model.json refers to
import './architectures.ts'; // registers LogCompress (challenge architectures), which model.json may refer to
import { nodeFileIO } from './node-file-io.ts';
import type { Encoder, InputGrid } from './types.ts';

export const MODEL_FORMAT = 'spectrad-model/1';
export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';
export const MODEL_CARD = 'model-card.json';

/** The benchmark's grid: 5000 points indexed 0..4999. */
export const BENCHMARK_GRID: InputGrid = { points: 5000, xStart: 0, xEnd: 4999, xUnit: 'index' };

export interface TrainingDescription {
  /** e.g. "benchmark train split (Schuetzke 2023), 20 per class, classes 0-499, seed 1". */
  readonly description: string;
  readonly dataset: string;
  readonly perClass?: number;
  readonly classes: string;
  readonly classCount: number;
  readonly samples: number;
  /** sha256 of the training spectra (float32 little-endian) followed by the labels (int32). */
  readonly dataSha256: string;
  readonly seed: number;
  readonly epochs: number;
  readonly batch: { readonly p: number; readonly k: number };
  readonly learningRate: number;
  readonly mining: string;
  readonly loss: string;
  readonly augment: unknown;
  readonly wallSeconds: number;
  readonly stoppedBecause: string;
}

export interface ModelMetrics {
  readonly k: number;
  readonly valKnnAccuracy?: number;
  /** Real-data training: nearest neighbour by cosine of square-root intensities on the same validation split. */
  readonly valSqrtCosineTop1?: number;
  /** Same split, ranked by the mean of the encoder's and the square-root cosine's similarity. */
  readonly valMeanWithSqrtCosineTop1?: number;
  readonly valDescription?: string;
  /** Real-data training with a held-out fold: top-1 on classes never trained on (see its description). */
  readonly unseen?: Readonly<Record<string, unknown>>;
  /** Test split, the training split as references. */
  readonly testKnnAccuracy?: number;
  readonly testDescription?: string;
}

export interface ModelCard {
  readonly format: typeof MODEL_FORMAT;
  /** Human-readable version, e.g. "benchmark-tiny-20pc-s1-20261128"; the Encoder's version adds the weights hash. */
  readonly version: string;
  readonly createdAt: string;
  readonly architecture: ArchitectureSpec;
  readonly embeddingDim: number;
  readonly inputGrid: InputGrid;
  /** The measuring technique the model was trained for (e.g. raman, ir); absent for the synthetic benchmark. */
  readonly technique?: string;
  /** Synthetic pretraining before the training described below (generator profile, classes, epochs, figures). */
  readonly pretraining?: Readonly<Record<string, unknown>>;
  /** What the encoder expects its input to have been through. */
  readonly preprocessing: string;
  readonly engine: { readonly backend: string; readonly tfjs: string };
  readonly training?: TrainingDescription;
  readonly metrics?: ModelMetrics;
  /** sha256 of weights.bin, filled in when saved. */
  readonly weightsSha256?: string;
}

export const INPUT_PREPROCESSING = 'resampled onto inputGrid, scaled to max |y| = 1';

export type ModelCardHeader = Pick<ModelCard, 'format' | 'version' | 'createdAt' | 'architecture' | 'embeddingDim' | 'inputGrid' | 'preprocessing' | 'engine' | 'technique'>;

/** The fields every trained model's card starts with (what it is, its input, what it ran on); technique only when given. */
export function modelCardHeader(p: { version: string; architecture: ArchitectureSpec; embeddingDim: number; inputGrid: InputGrid; engine: ModelCard['engine']; technique?: string }): ModelCardHeader {
  return {
    format: MODEL_FORMAT,
    version: p.version,
    createdAt: new Date().toISOString(),
    architecture: p.architecture,
    embeddingDim: p.embeddingDim,
    inputGrid: p.inputGrid,
    preprocessing: INPUT_PREPROCESSING,
    engine: p.engine,
    ...(p.technique !== undefined ? { technique: p.technique } : {}),
  };
}

export function sha256Hex(...parts: ArrayBufferView[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
  return h.digest('hex');
}

/** Writes model.json + weights.bin (tfjs layers format) and the card; returns the card as written. */
export async function saveModelDir(model: tf.LayersModel, card: ModelCard, dir: string, io: FileIO = nodeFileIO): Promise<ModelCard> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save({
    save: async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    },
  });
  if (!artifacts?.weightData || !artifacts.weightSpecs) throw new Error('model.save produced no weights');
  const weights = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData));
  const modelJson = {
    format: 'layers-model',
    generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
    convertedBy: null,
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs }],
  };
  const written: ModelCard = { ...card, weightsSha256: sha256Hex(weights) };
  await io.mkdir(dir);
  await io.writeFile(joinPath(dir, WEIGHTS_BIN), weights);
  await io.writeFile(joinPath(dir, MODEL_JSON), JSON.stringify(modelJson));
  await io.writeFile(joinPath(dir, MODEL_CARD), JSON.stringify(written, null, 2) + '\n');
  return written;
}

async function readJson(io: FileIO, path: string, what: string): Promise<unknown> {
  let bytes: Uint8Array;
  try {
    bytes = await io.readFile(path);
  } catch (err) {
    throw new SpectrumInputError('model-missing', `cannot read ${what}: ${(err as Error).message}`, { file: path });
  }
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new SpectrumInputError('model-corrupt', `${what} is not valid JSON: ${(err as Error).message}`, { file: path });
  }
}

export async function readModelCard(dir: string, io: FileIO = nodeFileIO): Promise<ModelCard> {
  const path = joinPath(dir, MODEL_CARD);
  const card = (await readJson(io, path, 'model card')) as Partial<ModelCard>;
  if (card.format !== MODEL_FORMAT) {
    throw new SpectrumInputError('model-format', `model card format is "${String(card.format)}", expected "${MODEL_FORMAT}"`, { file: path, field: 'format' });
  }
  const grid = card.inputGrid;
  if (!grid || !Number.isInteger(grid.points) || grid.points < 1 || typeof card.embeddingDim !== 'number' || typeof card.version !== 'string') {
    throw new SpectrumInputError('model-card-invalid', 'model card lacks inputGrid.points, embeddingDim or version', { file: path });
  }
  return card as ModelCard;
}

/** Loads the tfjs model of a model directory; checks the weights against the card's hash when it has one. */
export async function loadModelDir(dir: string, io: FileIO = nodeFileIO): Promise<{ model: tf.LayersModel; card: ModelCard }> {
  const card = await readModelCard(dir, io);
  const jsonPath = joinPath(dir, MODEL_JSON);
  const modelJson = (await readJson(io, jsonPath, 'model.json')) as { modelTopology?: object; weightsManifest?: Array<{ weights: tf.io.WeightsManifestEntry[] }> };
  if (!modelJson.modelTopology || !modelJson.weightsManifest) {
    throw new SpectrumInputError('model-corrupt', 'model.json lacks modelTopology or weightsManifest', { file: jsonPath });
  }
  const weightsPath = joinPath(dir, WEIGHTS_BIN);
  let weights: Uint8Array;
  try {
    weights = await io.readFile(weightsPath);
  } catch (err) {
    throw new SpectrumInputError('model-missing', `cannot read weights: ${(err as Error).message}`, { file: weightsPath });
  }
  if (card.weightsSha256 && sha256Hex(weights) !== card.weightsSha256) {
    throw new SpectrumInputError('model-corrupt', 'weights.bin does not match the sha256 in the model card', { file: weightsPath });
  }
  const weightData = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer;
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs: modelJson.weightsManifest.flatMap((g) => g.weights), weightData }),
  );
  return { model, card };
}

/** The Encoder over a tfjs model: batches inside embed, frees every intermediate tensor. */
export class TfjsEncoder implements Encoder {
  readonly grid: InputGrid;
  readonly dim: number;
  readonly version: string;

  constructor(
    readonly model: tf.LayersModel,
    readonly card: ModelCard,
    private readonly batchSize = 128,
  ) {
    this.grid = card.inputGrid;
    this.dim = card.embeddingDim;
    this.version = card.weightsSha256 ? `${card.version}@${card.weightsSha256.slice(0, 12)}` : card.version;
  }

  async embed(batch: Float32Array, n: number): Promise<Float32Array> {
    return embedRows(this.model, batch, n, this.grid.points, this.dim, this.batchSize);
  }

  dispose(): void {
    this.model.dispose();
  }
}

/** Runs the model over row-major [n, points] spectra in chunks; returns row-major [n, dim]. */
export async function embedRows(model: tf.LayersModel, x: Float32Array, n: number, points: number, dim: number, batchSize = 128): Promise<Float32Array> {
  if (!Number.isInteger(n) || n < 0 || x.length !== n * points) {
    throw new SpectrumInputError('bad-batch', `embed: got ${x.length} values for ${n} spectra of ${points} points`, { field: 'batch' });
  }
  const out = new Float32Array(n * dim);
  for (let start = 0; start < n; start += batchSize) {
    const m = Math.min(batchSize, n - start);
    const y = tf.tidy(() => model.predict(tf.tensor3d(x.subarray(start * points, (start + m) * points), [m, points, 1])) as tf.Tensor);
    try {
      out.set((await y.data()) as Float32Array, start * dim);
    } finally {
      y.dispose();
    }
  }
  return out;
}

/** Loads a model directory as an Encoder (the daemon's and `spectrad embed`'s entry point). */
export async function loadEncoder(dir: string, io: FileIO = nodeFileIO): Promise<TfjsEncoder> {
  const { model, card } = await loadModelDir(dir, io);
  return new TfjsEncoder(model, card);
}
