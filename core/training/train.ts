import * as tf from '@tensorflow/tfjs';
import { buildEncoderModel, embeddingDim, getArchitecture, type ArchitectureSpec } from '../encoder/architectures.ts';
import { joinPath, type FileIO } from '../encoder/file-io.ts';
import { embedRows, loadModelDir } from '../encoder/model-files.ts';
import { nodeFileIO } from '../encoder/node-file-io.ts';
import { AdamW, type AdamWState } from './adamw.ts';
import { augmentInto, DEFAULT_AUGMENT, type AugmentOptions } from './augment.ts';
import { epochRng, prepareDataset, type Dataset, type DatasetSpec, type PreparedData } from './data.ts';
import { knnAccuracy } from './knn.ts';
import { PAPER_LOSS, type Mining } from './loss.ts';
import { nearestClasses } from './class-neighbours.ts';
import { PkSampler, type NeighbourBatches } from './sampler.ts';
import { learningRateAt } from './schedule.ts';
import { trainStep } from './step.ts';

export interface TrainOptions {
  /** Training spectra (any row-major Dataset) or a benchmark split to generate. Rows are max-normalized here. */
  readonly train: Dataset | DatasetSpec;
  /** Validation spectra; default: the same benchmark's val split, 5 per class, same classes and seed. */
  readonly val?: Dataset | DatasetSpec;
  readonly arch: string | ArchitectureSpec;
  readonly epochs: number;
  /** P classes x K spectra per step (default 32 x 4). */
  readonly batch?: { readonly p: number; readonly k: number };
  /** Peak learning rate (default 1e-3), reached after warm-up and decayed by a cosine to 2 % of it. */
  readonly lr?: number;
  readonly warmupEpochs?: number;
  readonly weightDecay?: number;
  readonly mining?: Mining;
  readonly margin?: number;
  readonly threshold?: number;
  /** false: no augmentation. */
  readonly augment?: AugmentOptions | false;
  /**
   * Hard-negative batches: `share` of each batch's classes are among the `neighbours` nearest classes (square-root
   * cosine of the training spectra, class-neighbours.ts) of another class in the batch. Absent or share 0: off.
   */
  readonly hardNegatives?: { readonly share: number; readonly neighbours: number };
  readonly seed: number;
  /** Neighbours of the validation kNN (default 3). */
  readonly k?: number;
  /** Stop after this many epochs without a better validation accuracy (default: never). */
  readonly patience?: number;
  /** Stop as soon as validation accuracy reaches this. */
  readonly targetAccuracy?: number;
  /** Validate every n epochs (default 1); the last epoch is always validated. */
  readonly validateEvery?: number;
  /** Where checkpoints go (outDir/checkpoint after each epoch); none when absent. */
  readonly outDir?: string;
  /** A checkpoint directory to continue from (same options; the run continues after its last epoch). */
  readonly resumeFrom?: string;
  /** A model directory whose weights start the run (e.g. retraining the deployed model in the background). */
  readonly initialWeights?: string;
  readonly io?: FileIO;
  readonly onProgress?: (p: TrainProgress) => void;
  readonly signal?: AbortSignal;
}

export interface EpochRecord {
  readonly epoch: number;
  /** Mean training loss over the epoch's steps. */
  readonly loss: number;
  /** Learning rate at the epoch's last step. */
  readonly lr: number;
  readonly valAccuracy?: number;
  readonly seconds: number;
}

export type TrainProgress =
  | { readonly kind: 'step'; readonly epoch: number; readonly epochs: number; readonly step: number; readonly steps: number; readonly loss: number; readonly lr: number; readonly elapsedMs: number }
  | { readonly kind: 'epoch'; readonly epochs: number; readonly record: EpochRecord; readonly best: boolean };

export interface TrainResult {
  /** The best-validating weights (the last ones when there was no validation). Caller disposes. */
  readonly model: tf.LayersModel;
  readonly arch: ArchitectureSpec;
  readonly history: readonly EpochRecord[];
  readonly bestEpoch: number;
  readonly bestValAccuracy: number;
  readonly epochsRun: number;
  readonly stoppedBecause: 'epochs' | 'patience' | 'target' | 'aborted';
  readonly wallSeconds: number;
  readonly trainData: PreparedData;
  readonly valData: PreparedData;
  /** The training references' embeddings by the returned model (for a final test evaluation). */
  readonly trainEmbeddings: Float32Array;
}

const CHECKPOINT_DIR = 'checkpoint';

interface CheckpointState {
  readonly format: 'spectrad-checkpoint/1';
  readonly arch: string;
  readonly seed: number;
  readonly epochsDone: number;
  readonly bestEpoch: number;
  readonly bestValAccuracy: number;
  readonly history: EpochRecord[];
  readonly optimizerStep: number;
  readonly weightShapes: number[][];
  readonly momentShapes: number[][];
  readonly trainSha256: string;
}

async function weightsBytes(tensors: readonly tf.Tensor[]): Promise<Float32Array> {
  const parts = await Promise.all(tensors.map((t) => t.data() as Promise<Float32Array>));
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function splitByShapes(flat: Float32Array, shapes: number[][]): Float32Array[] {
  let o = 0;
  return shapes.map((s) => {
    const size = s.reduce((a, b) => a * b, 1);
    const part = flat.subarray(o, o + size);
    o += size;
    return part;
  });
}

const asBytes = (f: Float32Array): Uint8Array => new Uint8Array(f.buffer, f.byteOffset, f.byteLength);
const asFloats = (b: Uint8Array): Float32Array => new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));

/**
 * Trains an encoder with the paper's cosine triplet loss, online mining over P x K batches, on-the-fly augmentation,
 * AdamW with warm-up + cosine decay, kNN validation each epoch, early stopping, checkpoints and resume.
 * The backend must be initialised by the caller (initEngine); everything random derives from opts.seed.
 */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  const t0 = performance.now();
  const io = opts.io ?? nodeFileIO;
  const arch = typeof opts.arch === 'string' ? getArchitecture(opts.arch) : opts.arch;
  const trainData = prepareDataset(opts.train, 'train', 'training');
  const valSource = opts.val ?? (isSpec(opts.train) ? { ...opts.train, perClass: 5 } : undefined);
  if (!valSource) throw new RangeError('train: give val spectra when train is a Dataset');
  const valData = prepareDataset(valSource, 'val', 'validation');
  if (trainData.points !== arch.inputPoints || valData.points !== arch.inputPoints) {
    throw new RangeError(`architecture ${arch.name} takes ${arch.inputPoints} points; data has ${trainData.points} (train) / ${valData.points} (val)`);
  }
  if (!Number.isInteger(opts.epochs) || opts.epochs < 1) throw new RangeError(`epochs must be a positive integer, got ${opts.epochs}`);
  const { p, k } = opts.batch ?? { p: 32, k: 4 };
  const points = arch.inputPoints;
  const dim = embeddingDim(arch);
  const knnK = opts.k ?? 3;
  const augment = opts.augment === false ? undefined : (opts.augment ?? DEFAULT_AUGMENT);
  const lossOpts = { margin: opts.margin ?? PAPER_LOSS.margin, threshold: opts.threshold ?? PAPER_LOSS.threshold, mining: opts.mining ?? 'batch-all' };

  const model = buildEncoderModel(arch, opts.seed);
  const optimizer = new AdamW({ weightDecay: opts.weightDecay ?? 1e-4 });
  let history: EpochRecord[] = [];
  let startEpoch = 0;
  let bestEpoch = -1;
  let bestValAccuracy = -1;
  let bestWeights: Float32Array | undefined;
  const weightShapes = model.getWeights().map((w) => w.shape);

  if (opts.initialWeights) {
    const { model: init } = await loadModelDir(opts.initialWeights, io);
    model.setWeights(init.getWeights());
    init.dispose();
  }
  if (opts.resumeFrom) {
    const dir = opts.resumeFrom;
    const state = JSON.parse(new TextDecoder().decode(await io.readFile(joinPath(dir, 'state.json')))) as CheckpointState;
    if (state.format !== 'spectrad-checkpoint/1' || state.arch !== arch.name) {
      throw new RangeError(`checkpoint ${dir} is for architecture "${state.arch}", not "${arch.name}"`);
    }
    if (state.trainSha256 !== trainData.sha256) throw new RangeError(`checkpoint ${dir} was trained on different data (hash differs)`);
    const weights = splitByShapes(asFloats(await io.readFile(joinPath(dir, 'weights.bin'))), state.weightShapes);
    tf.tidy(() => model.setWeights(weights.map((w, i) => tf.tensor(w, state.weightShapes[i]))));
    const moments = splitByShapes(asFloats(await io.readFile(joinPath(dir, 'optimizer.bin'))), state.momentShapes);
    const half = moments.length / 2;
    const optState: AdamWState = {
      step: state.optimizerStep,
      moments: moments.slice(0, half).map((m, i) => ({ m, v: moments[half + i], shape: state.momentShapes[i] })),
    };
    optimizer.setState(optState);
    if (await io.exists(joinPath(dir, 'best-weights.bin'))) bestWeights = asFloats(await io.readFile(joinPath(dir, 'best-weights.bin')));
    history = state.history;
    startEpoch = state.epochsDone;
    bestEpoch = state.bestEpoch;
    bestValAccuracy = state.bestValAccuracy;
  }

  const trainable = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const hard: NeighbourBatches | undefined =
    opts.hardNegatives && opts.hardNegatives.share > 0
      ? { share: opts.hardNegatives.share, neighbours: nearestClasses(trainData.x, trainData.y, points, opts.hardNegatives.neighbours) }
      : undefined;
  const probeSampler = new PkSampler(trainData.y, p, k, epochRng(opts.seed, 0));
  const stepsPerEpoch = probeSampler.stepsPerEpoch(trainData.n);
  const totalSteps = stepsPerEpoch * opts.epochs;
  const warmupSteps = Math.min(Math.round((opts.warmupEpochs ?? 1) * stepsPerEpoch), Math.floor(totalSteps / 5)) || 1;
  const peakLr = opts.lr ?? 1e-3;
  const xBatch = new Float32Array(probeSampler.p * k * points);
  const scratch = new Float32Array(points);
  let stoppedBecause: TrainResult['stoppedBecause'] = 'epochs';
  let sinceBest = 0;
  let trainEmbeddings: Float32Array | undefined;

  for (let epoch = startEpoch; epoch < opts.epochs; epoch++) {
    const epochStart = performance.now();
    const rng = epochRng(opts.seed, epoch);
    const sampler = new PkSampler(trainData.y, p, k, rng, hard);
    let lossSum = 0;
    let lr = peakLr;
    for (let step = 0; step < stepsPerEpoch; step++) {
      if (opts.signal?.aborted) break;
      const { indices, labels } = sampler.next();
      for (let r = 0; r < indices.length; r++) {
        const src = trainData.x.subarray(indices[r] * points, (indices[r] + 1) * points);
        const dst = xBatch.subarray(r * points, (r + 1) * points);
        if (augment) augmentInto(src, dst, augment, rng, scratch);
        else dst.set(src);
      }
      lr = learningRateAt(epoch * stepsPerEpoch + step, { peak: peakLr, totalSteps, warmupSteps });
      const loss = trainStep({ model, trainable, optimizer, x: xBatch, points, labels, loss: lossOpts, lr });
      lossSum += loss;
      opts.onProgress?.({ kind: 'step', epoch, epochs: opts.epochs, step: step + 1, steps: stepsPerEpoch, loss, lr, elapsedMs: performance.now() - t0 });
    }
    if (opts.signal?.aborted) {
      stoppedBecause = 'aborted';
      break;
    }
    const last = epoch === opts.epochs - 1;
    let valAccuracy: number | undefined;
    let best = false;
    if (last || (epoch + 1 - startEpoch) % (opts.validateEvery ?? 1) === 0) {
      trainEmbeddings = await embedRows(model, trainData.x, trainData.n, points, dim);
      const valEmb = await embedRows(model, valData.x, valData.n, points, dim);
      valAccuracy = knnAccuracy(trainEmbeddings, trainData.y, valEmb, valData.y, knnK);
      if (valAccuracy > bestValAccuracy) {
        best = true;
        bestValAccuracy = valAccuracy;
        bestEpoch = epoch;
        bestWeights = await weightsBytes(model.getWeights());
        sinceBest = 0;
      } else {
        sinceBest++;
      }
    }
    const record: EpochRecord = { epoch, loss: lossSum / stepsPerEpoch, lr, valAccuracy, seconds: (performance.now() - epochStart) / 1000 };
    history.push(record);
    opts.onProgress?.({ kind: 'epoch', epochs: opts.epochs, record, best });
    if (opts.outDir) {
      await writeCheckpoint(io, joinPath(opts.outDir, CHECKPOINT_DIR), {
        format: 'spectrad-checkpoint/1',
        arch: arch.name,
        seed: opts.seed,
        epochsDone: epoch + 1,
        bestEpoch,
        bestValAccuracy,
        history,
        optimizerStep: optimizer.step,
        weightShapes,
        momentShapes: [],
        trainSha256: trainData.sha256,
      }, model, optimizer, bestWeights);
    }
    if (opts.targetAccuracy !== undefined && valAccuracy !== undefined && valAccuracy >= opts.targetAccuracy) {
      stoppedBecause = 'target';
      break;
    }
    if (opts.patience !== undefined && sinceBest >= opts.patience) {
      stoppedBecause = 'patience';
      break;
    }
  }

  // Hand back the best-validating weights; their reference embeddings are needed for the test evaluation.
  const lastIsBest = history.length > 0 && history[history.length - 1].epoch === bestEpoch;
  if (bestWeights && !lastIsBest) {
    const parts = splitByShapes(bestWeights, weightShapes);
    tf.tidy(() => model.setWeights(parts.map((w, i) => tf.tensor(w, weightShapes[i]))));
    trainEmbeddings = undefined;
  }
  trainEmbeddings ??= await embedRows(model, trainData.x, trainData.n, points, dim);
  optimizer.dispose();
  return {
    model,
    arch,
    history,
    bestEpoch,
    bestValAccuracy,
    epochsRun: history.length,
    stoppedBecause,
    wallSeconds: (performance.now() - t0) / 1000,
    trainData,
    valData,
    trainEmbeddings,
  };
}

function isSpec(d: Dataset | DatasetSpec): d is DatasetSpec {
  return typeof (d as DatasetSpec).name === 'string';
}

async function writeCheckpoint(io: FileIO, dir: string, state: CheckpointState, model: tf.LayersModel, optimizer: AdamW, bestWeights: Float32Array | undefined): Promise<void> {
  await io.mkdir(dir);
  const opt = await optimizer.getState();
  const momentShapes = [...opt.moments.map((m) => m.shape), ...opt.moments.map((m) => m.shape)];
  const moments = new Float32Array(opt.moments.reduce((s, m) => s + 2 * m.m.length, 0));
  let o = 0;
  for (const m of opt.moments) {
    moments.set(m.m, o);
    o += m.m.length;
  }
  for (const m of opt.moments) {
    moments.set(m.v, o);
    o += m.v.length;
  }
  await io.writeFile(joinPath(dir, 'weights.bin'), asBytes(await weightsBytes(model.getWeights())));
  await io.writeFile(joinPath(dir, 'optimizer.bin'), asBytes(moments));
  if (bestWeights) await io.writeFile(joinPath(dir, 'best-weights.bin'), asBytes(bestWeights));
  // state.json last: a checkpoint without it (crash mid-write) is never resumed from.
  await io.writeFile(joinPath(dir, 'state.json'), JSON.stringify({ ...state, momentShapes }));
}
