import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ArchitectureSpec } from '../../core/encoder/architectures.ts';
import type { ModelCardHeader } from '../../core/encoder/model-files.ts';
import type { InputGrid } from '../../core/encoder/types.ts';
import { SpectrumInputError } from '../../core/errors.ts';
import type { FileFormat } from '../../core/formats/index.ts';
import type { TechniqueProfile } from '../../core/synthetic/physical.ts';
import { classFold } from '../../core/training/class-folds.ts';
import type { AugmentOptions, PhysicalAugment, TrainProgress } from '../../core/training/index.ts';
import { deriveGrid, isFullGrid, parseGrid, samplesPerClass, splitBySample, type CorpusEntry } from '../../core/training/lab-corpus.ts';
import { loadLabCorpus, toGridRows, type LoadedSpectrum } from './train-data.ts';

/**
 * `spectrad train --data`: trains an encoder on a lab's own labelled spectra on a physical grid. Stages:
 * 1. read the corpus (folders, manifest or header field), put it on the grid with the product's preprocessing;
 * 2. drop the classes of the held-out folds (class-folds.ts), split the rest by sample (one specimen per class
 *    with >= 2 held out for validation);
 * 3. pretrain on synthetic spectra of the technique rendered on the same grid (core/synthetic), unless off;
 * 4. fine-tune on the lab's spectra with augmentations in physical units; keep the best-validating epoch;
 * 5. measure: validation top-1 (1-nearest neighbour, unseen specimens of training classes) and, with
 *    --holdout-fold, top-1 on classes never trained on (one reference specimen each, queries the others);
 * 6. write the model directory with a card (technique, grid, data hash, figures).
 * Both training stages checkpoint after every epoch and `--resume` continues either.
 */

export interface LabTrainOptions {
  data: string;
  classField?: string;
  sampleField?: string;
  format: string;
  grid?: string;
  technique: string;
  minOverlap: number;
  arch: string;
  out: string;
  epochs: number;
  seed: number;
  resume?: boolean;
  batch: { p: number; k: number };
  lr: number;
  mining: 'batch-all' | 'batch-hard';
  augmentScale: number;
  /** Share of each fine-tuning batch's classes drawn as near neighbours of the others (0 = off). */
  hardNegatives: number;
  /** Foreign-band augmentation height (fraction of the tallest band); undefined keeps the technique's preset. */
  foreignBands?: number;
  patience?: number;
  pretrainClasses: number;
  pretrainPerClass: number;
  pretrainEpochs: number;
  /** Scale of the technique's physical augmentations on the synthetic spectra too (0 = the fixed samples only). */
  pretrainAugment: number;
  /** Overrides of the technique's synthetic profile, `key=value,...` (core/synthetic/physical.ts overrideProfile). */
  pretrainProfile?: string;
  holdoutFold?: number;
  excludeFolds?: string;
  folds: number;
  backend: string;
  version?: string;
}

/** Hard-negative batches draw a neighbour among each class's this many nearest classes. */
const HARD_NEIGHBOURS = 5;

const pct = (v: number): string => `${(v * 100).toFixed(2)} %`;

function parseFoldList(text: string | undefined, folds: number): number[] {
  if (text === undefined || text.trim() === '') return [];
  return text.split(',').map((t) => {
    const n = Number(t.trim());
    if (!Number.isInteger(n) || n < 0 || n >= folds) throw new SpectrumInputError('bad-fold', `fold "${t}" must be an integer from 0 to ${folds - 1}`, { field: 'exclude-folds' });
    return n;
  });
}

/** The data path as a card may state it: relative to the working folder, never an absolute machine path. */
function describePath(p: string): string {
  const rel = path.relative(process.cwd(), path.resolve(p));
  return rel.startsWith('/') ? path.basename(p) : rel || '.';
}

/** Rows scaled to unit L2 norm (a zero row stays zero). */
function unitRows(m: Float32Array, dim: number): Float32Array {
  const out = new Float32Array(m);
  for (let r = 0; r < out.length / dim; r++) {
    let s = 0;
    for (let i = 0; i < dim; i++) s += out[r * dim + i] ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let i = 0; i < dim; i++) out[r * dim + i] *= inv;
  }
  return out;
}

/** Cosine similarities [queries x refs]. */
function cosines(refs: Float32Array, nRefs: number, queries: Float32Array, nQueries: number, dim: number): Float32Array {
  const R = unitRows(refs, dim);
  const Q = unitRows(queries, dim);
  const sims = new Float32Array(nQueries * nRefs);
  for (let q = 0; q < nQueries; q++) {
    for (let r = 0; r < nRefs; r++) {
      let s = 0;
      for (let i = 0; i < dim; i++) s += Q[q * dim + i] * R[r * dim + i];
      sims[q * nRefs + r] = s;
    }
  }
  return sims;
}

/** Top-1 of a similarity matrix: the label of each query's most similar reference. */
function top1Of(sims: Float32Array, refY: ArrayLike<number>, qY: ArrayLike<number>): number {
  const nR = refY.length;
  let hits = 0;
  for (let q = 0; q < qY.length; q++) {
    let best = -Infinity;
    let label = -1;
    for (let r = 0; r < nR; r++) {
      if (sims[q * nR + r] > best) {
        best = sims[q * nR + r];
        label = refY[r];
      }
    }
    if (label === qY[q]) hits++;
  }
  return qY.length ? hits / qY.length : 0;
}

/** Encoder top-1, square-root-cosine top-1 and the top-1 of their mean similarity (does the encoder add to it?). */
export function compareTop1(refEmb: Float32Array, refX: Float32Array, refY: Int32Array, qEmb: Float32Array, qX: Float32Array, qY: Int32Array, dim: number, points: number) {
  const e = cosines(refEmb, refY.length, qEmb, qY.length, dim);
  const c = cosines(sqrtRows(refX), refY.length, sqrtRows(qX), qY.length, points);
  const mean = e.map((v, i) => (v + c[i]) / 2);
  return { top1: top1Of(e, refY, qY), sqrtCosineTop1: top1Of(c, refY, qY), meanWithSqrtCosineTop1: top1Of(mean, refY, qY) };
}

/** sqrt of the positive part of every value: the classic library search's favourite intensity transform. */
const sqrtRows = (x: Float32Array): Float32Array => x.map((v) => (v > 0 ? Math.sqrt(v) : 0));

export async function runTrainOnData(opts: LabTrainOptions, log: (m: string) => void, onProgress: (p: TrainProgress) => void, stopProgress: () => void): Promise<void> {
  const { getArchitecture, embeddingDim, forGrid } = await import('../../core/encoder/architectures.ts');
  const { initEngine, tf } = await import('../../core/engine/index.ts');
  const { train, physicalAugment } = await import('../../core/training/index.ts');
  const { saveModelDir, embedRows, sha256Hex, modelCardHeader } = await import('../../core/encoder/model-files.ts');

  const { profile, augPreset, gridArg, excluded } = await checkLabTrainOptions(opts);
  const baseArch = getArchitecture(opts.arch);

  // 1. The corpus on the grid.
  log(`train: reading ${opts.data}`);
  const corpus = await loadLabCorpus(opts.data, { classField: opts.classField, sampleField: opts.sampleField }, opts.format as FileFormat | 'auto');
  for (const s of corpus.skipped.slice(0, 5)) log(`train: skipped ${s.file}: ${s.why}`);
  if (corpus.skipped.length > 5) log(`train: ... ${corpus.skipped.length - 5} more skipped`);
  const grid = gridForCorpus(corpus.spectra, gridArg, log);
  const rows = await toGridRows(corpus.spectra, grid, opts.minOverlap);
  for (const r of rows.rejected.slice(0, 5)) log(`train: not on the grid ${r.file}: ${r.why}`);
  if (rows.rejected.length > 5) log(`train: ... ${rows.rejected.length - 5} more not on the grid`);
  const step = (grid.xEnd - grid.xStart) / (grid.points - 1);

  // 2. Folds and the split by sample.
  const held = new Set(opts.holdoutFold === undefined ? [] : [opts.holdoutFold]);
  const isOut = (cls: string): boolean => {
    const f = classFold(cls, opts.folds);
    return held.has(f) || excluded.includes(f);
  };
  const rowOf = new Map<LoadedSpectrum, number>(rows.kept.map((s, i) => [s, i]));
  const trainable = rows.kept.filter((s) => !isOut(s.entry.className));
  const unseen = rows.kept.filter((s) => opts.holdoutFold !== undefined && classFold(s.entry.className, opts.folds) === opts.holdoutFold);
  const split = splitBySample(trainable.map((s) => s.entry), opts.seed);
  const valSet = new Set<CorpusEntry>(split.val);
  const trainRows = trainable.filter((s) => !valSet.has(s.entry));
  const valRows = trainable.filter((s) => valSet.has(s.entry));
  const classNames = [...new Set(trainable.map((s) => s.entry.className))].sort();
  if (classNames.length < 2) throw new SpectrumInputError('empty-corpus', `training needs at least 2 classes, found ${classNames.length}`, { field: 'data' });
  if (valRows.length === 0) throw new SpectrumInputError('no-validation', 'no class has two samples, so nothing can be validated by sample; add a second specimen of some classes or give --sample-field', { field: 'data' });
  const classIndex = new Map(classNames.map((c, i) => [c, i]));
  const gather = (set: readonly LoadedSpectrum[]) => {
    const x = new Float32Array(set.length * grid.points);
    const y = new Int32Array(set.length);
    set.forEach((s, i) => {
      const r = rowOf.get(s)!;
      x.set(rows.x.subarray(r * grid.points, (r + 1) * grid.points), i * grid.points);
      y[i] = classIndex.get(s.entry.className) ?? -1;
    });
    return { x, y, n: set.length, points: grid.points };
  };
  const trainData = gather(trainRows);
  const valData = gather(valRows);
  const spc = samplesPerClass(trainable.map((s) => s.entry));
  log(
    `train: ${rows.kept.length} spectra on ${grid.xUnit} ${grid.xStart}..${grid.xEnd} (${grid.points} points, ${step.toFixed(3)}/point); ` +
      `training ${trainRows.length} spectra of ${classNames.length} classes (${[...spc.values()].filter((v) => v >= 2).length} with >= 2 samples), ` +
      `validation ${valRows.length} spectra (held-out samples), ${rows.kept.length - trainable.length} spectra of held-out folds`,
  );

  const arch = forGrid(baseArch, grid.points);
  const dim = embeddingDim(arch);
  const engine = await initEngine({ backend: opts.backend as 'auto', logger: log });

  // What every model card this run writes shares (the pretrained model and the fine-tuned one alike).
  const cardBase = (version: string) =>
    modelCardHeader({ version, architecture: arch, embeddingDim: dim, inputGrid: grid, engine: { backend: engine.backend, tfjs: tf.version.tfjs }, technique: opts.technique });

  const pretrainAugment = opts.pretrainAugment > 0 ? physicalAugment(augPreset, step, opts.pretrainAugment) : undefined;
  const { initialWeights, pretrainSummary } = await pretrainOnSynthetic({ opts, profile, grid, arch, augment: pretrainAugment, skeletonRows: trainData, cardBase, log, onProgress, stopProgress });

  // 4. Fine-tuning on the lab's spectra.
  const augment = physicalAugment(augPreset, step, opts.augmentScale);
  const checkpoint = path.join(opts.out, 'checkpoint');
  const resumeFrom = opts.resume && existsSync(path.join(checkpoint, 'state.json')) ? checkpoint : undefined;
  if (resumeFrom) log(`train: resuming fine-tuning from ${resumeFrom}`);
  log(`train: fine-tuning ${arch.name} on ${trainData.n} spectra, ${opts.epochs} epochs${initialWeights ? ', from the pretrained encoder' : ', from random weights'}`);
  const result = await train({
    train: trainData,
    val: valData,
    arch,
    epochs: opts.epochs,
    batch: opts.batch,
    lr: opts.lr,
    mining: opts.mining,
    augment: opts.augmentScale > 0 ? augment : false,
    hardNegatives: opts.hardNegatives > 0 ? { share: opts.hardNegatives, neighbours: HARD_NEIGHBOURS } : undefined,
    seed: opts.seed,
    k: 1,
    patience: opts.patience,
    outDir: opts.out,
    resumeFrom,
    initialWeights,
    onProgress,
  });
  stopProgress();

  // 5. Figures.
  const embedAll = (x: Float32Array, n: number): Promise<Float32Array> => embedRows(result.model, x, n, grid.points, dim);
  const valTrainEmb = result.trainEmbeddings;
  const valEmb = await embedAll(valData.x, valData.n);
  const valFigures = compareTop1(valTrainEmb, trainData.x, trainData.y, valEmb, valData.x, valData.y, dim, grid.points);
  const valTop1 = valFigures.top1;
  const valSqrtCosine = valFigures.sqrtCosineTop1;
  const unseenMetrics = unseen.length > 0
    ? await unseenClassFigures({ opts, unseen, classNames, gather, trainData, valData, valTrainEmb, valEmb, embedAll, dim, grid, log })
    : undefined;

  // 6. The model directory.
  const dataSha256 = sha256Hex(trainData.x, trainData.y);
  const today = new Date().toISOString().slice(0, 10).replaceAll('-', '');
  const card = await saveModelDir(
    result.model,
    {
      ...cardBase(opts.version ?? `${opts.technique}-${arch.name}-${grid.points}-s${opts.seed}-${today}`),
      training: {
        description: `${corpus.layout} corpus ${describePath(opts.data)}: ${trainRows.length} training spectra of ${classNames.length} classes, split by sample`,
        dataset: describePath(opts.data),
        classes: `${classNames.length} classes` + (held.size || excluded.length ? `, without folds ${[...held, ...excluded].join(',')} of ${opts.folds}` : ''),
        classCount: classNames.length,
        samples: trainRows.length,
        dataSha256,
        seed: opts.seed,
        epochs: result.epochsRun,
        batch: opts.batch,
        learningRate: opts.lr,
        mining: opts.mining,
        ...(opts.hardNegatives > 0 ? { hardNegatives: { share: opts.hardNegatives, neighbours: HARD_NEIGHBOURS, similarity: 'best square-root cosine between the classes\' training spectra' } } : {}),
        loss: 'cosine-distance triplet, margin 1, mean over triplets with loss > 0.3 (Vorozhtsov & Kitina 2024)',
        augment: { physical: augPreset, scale: opts.augmentScale, xUnit: grid.xUnit },
        wallSeconds: Math.round(result.wallSeconds + Number(pretrainSummary?.wallSeconds ?? 0)),
        stoppedBecause: result.stoppedBecause,
      },
      pretraining: pretrainSummary,
      metrics: {
        k: 1,
        valKnnAccuracy: valTop1,
        valSqrtCosineTop1: valSqrtCosine,
        valMeanWithSqrtCosineTop1: valFigures.meanWithSqrtCosineTop1,
        valDescription: `${valData.n} spectra of held-out specimens of training classes (one per class with >= 2), every training spectrum a reference`,
        unseen: unseenMetrics,
      },
    },
    opts.out,
  );
  result.model.dispose();
  log(`train: validation top-1 ${pct(valTop1)} (sqrt-cosine on the same split ${pct(valSqrtCosine)}, their mean ${pct(valFigures.meanWithSqrtCosineTop1)}), ${result.epochsRun} epochs, best ${result.bestEpoch + 1}`);
  log(`train: wrote ${opts.out} (version ${card.version}, weights sha256 ${card.weightsSha256?.slice(0, 12)})`);
}

/** The technique's synthetic profile and augmentations, the --grid, the excluded folds; a clear error for a bad option. */
async function checkLabTrainOptions(opts: LabTrainOptions): Promise<{ profile: TechniqueProfile; augPreset: PhysicalAugment; gridArg: ReturnType<typeof parseGrid> | undefined; excluded: number[] }> {
  const { PHYSICAL_AUGMENT_PRESETS } = await import('../../core/training/index.ts');
  const { TECHNIQUE_PROFILES, overrideProfile } = await import('../../core/synthetic/physical.ts');
  const base = TECHNIQUE_PROFILES[opts.technique];
  let profile = base;
  if (base && opts.pretrainProfile !== undefined) {
    try {
      profile = overrideProfile(base, opts.pretrainProfile);
    } catch (err) {
      throw new SpectrumInputError('bad-pretrain-profile', (err as Error).message, { field: 'pretrain-profile' });
    }
  }
  const preset = PHYSICAL_AUGMENT_PRESETS[opts.technique];
  const augPreset: PhysicalAugment | undefined = preset && opts.foreignBands !== undefined ? { ...preset, extraBand: opts.foreignBands } : preset;
  if (!profile || !augPreset) {
    throw new SpectrumInputError('unknown-technique', `unknown technique "${opts.technique}"; known: ${Object.keys(TECHNIQUE_PROFILES).join(', ')}`, { field: 'technique' });
  }
  if (!['auto', 'csv', 'jcamp', 'json'].includes(opts.format)) {
    throw new SpectrumInputError('unknown-format', `unknown format "${opts.format}" (expected auto, jcamp, csv or json)`, { field: 'format' });
  }
  const gridArg = opts.grid === undefined ? undefined : parseGrid(opts.grid);
  const excluded = parseFoldList(opts.excludeFolds, opts.folds);
  if (opts.holdoutFold !== undefined && (opts.holdoutFold < 0 || opts.holdoutFold >= opts.folds)) {
    throw new SpectrumInputError('bad-fold', `--holdout-fold ${opts.holdoutFold} must be from 0 to ${opts.folds - 1}`, { field: 'holdout-fold' });
  }
  return { profile, augPreset, gridArg, excluded };
}

/** The --grid when complete, else one derived from the files (in the --grid's unit, or the one unit they all state). */
function gridForCorpus(spectra: readonly LoadedSpectrum[], gridArg: ReturnType<typeof parseGrid> | undefined, log: (m: string) => void): InputGrid {
  let grid: InputGrid;
  if (gridArg && isFullGrid(gridArg)) grid = gridArg;
  else {
    const units = new Set(spectra.map((s) => s.spectrum.xUnit));
    const unit = gridArg?.xUnit ?? (units.size === 1 && ![...units][0].match(/^(other|unknown|arbitrary|index|)$/) ? [...units][0] : undefined);
    if (!unit) throw new SpectrumInputError('bad-grid', `the files state no single x unit (${[...units].join(', ')}); give --grid UNIT or UNIT:START:END:POINTS`, { field: 'grid' });
    grid = deriveGrid(spectra.map((s) => ({ first: s.spectrum.x[0], last: s.spectrum.x[s.spectrum.x.length - 1], points: s.spectrum.x.length })), unit);
    log(`train: grid derived from the data: ${grid.xUnit}:${grid.xStart}:${grid.xEnd}:${grid.points}`);
  }
  return grid;
}

interface PretrainContext {
  readonly opts: LabTrainOptions;
  readonly profile: TechniqueProfile;
  readonly grid: InputGrid;
  readonly arch: ArchitectureSpec;
  /**
   * The physical augmentations in grid points, applied to the synthetic samples as well: each epoch then shows new
   * variants of a class's few rendered samples, so the task does not become memorising them. Absent: off.
   */
  readonly augment?: AugmentOptions;
  /** The training spectra on the grid: their band skeletons seed profile.skeletonShare of the synthetic classes. */
  readonly skeletonRows: GridRows;
  /** The card fields every model of this run shares. */
  readonly cardBase: (version: string) => ModelCardHeader;
  readonly log: (m: string) => void;
  readonly onProgress: (p: TrainProgress) => void;
  readonly stopProgress: () => void;
}

/** Stage 3: pretraining on synthetic spectra of the technique on the grid (or the pretrained encoder a --resume finds). */
async function pretrainOnSynthetic(c: PretrainContext): Promise<{ initialWeights?: string; pretrainSummary?: Record<string, unknown> }> {
  const { opts, profile, grid, arch, augment, skeletonRows, cardBase, log, onProgress, stopProgress } = c;
  const { train } = await import('../../core/training/index.ts');
  const { bandSkeletons } = await import('../../core/synthetic/skeletons.ts');
  const { saveModelDir, MODEL_CARD } = await import('../../core/encoder/model-files.ts');
  const { generatePhysicalSet } = await import('../../core/synthetic/physical.ts');
  let initialWeights: string | undefined;
  const pretrainDir = path.join(opts.out, 'pretrain');
  let pretrainSummary: Record<string, unknown> | undefined;
  if (opts.pretrainClasses > 0 && opts.pretrainEpochs > 0) {
    if (opts.resume && existsSync(path.join(pretrainDir, MODEL_CARD))) {
      log(`train: pretrained encoder found in ${pretrainDir}, skipping pretraining`);
    } else {
      // One more sample per class than trained on: the extra sample of the first 200 classes validates.
      const skeletons = (profile.skeletonShare ?? 0) > 0 ? bandSkeletons(skeletonRows.x, skeletonRows.n, grid) : undefined;
      if (skeletons) log(`train: ${skeletons.length} band skeletons of training spectra seed ${pct(profile.skeletonShare ?? 0)} of the synthetic classes`);
      const all = generatePhysicalSet(profile, grid, { classes: opts.pretrainClasses, perClass: opts.pretrainPerClass + 1, seed: opts.seed, skeletons });
      const per = opts.pretrainPerClass + 1;
      const valClasses = Math.min(200, opts.pretrainClasses);
      const pre = { x: new Float32Array(opts.pretrainClasses * opts.pretrainPerClass * grid.points), y: new Int32Array(opts.pretrainClasses * opts.pretrainPerClass), n: opts.pretrainClasses * opts.pretrainPerClass, points: grid.points };
      const vx = new Float32Array(valClasses * grid.points);
      const vy = new Int32Array(valClasses);
      const valN = valClasses;
      for (let c = 0, o = 0; c < opts.pretrainClasses; c++) {
        for (let s = 0; s < per; s++) {
          const src = all.x.subarray((c * per + s) * grid.points, (c * per + s + 1) * grid.points);
          if (s === per - 1) {
            if (c < valClasses) {
              vx.set(src, c * grid.points);
              vy[c] = c;
            }
          } else {
            pre.x.set(src, o * grid.points);
            pre.y[o++] = c;
          }
        }
      }
      log(`train: pretraining on ${pre.n} synthetic ${profile.name} spectra (${opts.pretrainClasses} classes x ${opts.pretrainPerClass}), ${opts.pretrainEpochs} epochs`);
      const preCheckpoint = path.join(pretrainDir, 'checkpoint');
      const preResume = opts.resume && existsSync(path.join(preCheckpoint, 'state.json')) ? preCheckpoint : undefined;
      const preResult = await train({
        train: { x: pre.x, y: pre.y, n: pre.n, points: pre.points },
        val: { x: vx, y: vy, n: valN, points: grid.points },
        arch,
        epochs: opts.pretrainEpochs,
        batch: opts.batch,
        lr: opts.lr,
        mining: opts.mining,
        augment: augment ?? false,
        seed: opts.seed,
        k: 1,
        outDir: pretrainDir,
        resumeFrom: preResume,
        onProgress,
      });
      stopProgress();
      pretrainSummary = {
        profile,
        classes: opts.pretrainClasses,
        perClass: opts.pretrainPerClass,
        epochs: preResult.epochsRun,
        ...(augment ? { augmentScale: opts.pretrainAugment } : {}),
        ...(skeletons ? { skeletons: skeletons.length } : {}),
        valTop1: preResult.bestValAccuracy,
        wallSeconds: Math.round(preResult.wallSeconds),
      };
      await saveModelDir(
        preResult.model,
        {
          ...cardBase(`synthetic-${profile.name}-${arch.name}-s${opts.seed}`),
          metrics: { k: 1, valKnnAccuracy: preResult.bestValAccuracy },
          pretraining: pretrainSummary,
        },
        pretrainDir,
      );
      preResult.model.dispose();
      log(`train: pretraining done, synthetic val top-1 ${pct(preResult.bestValAccuracy)}`);
    }
    initialWeights = pretrainDir;
    if (!pretrainSummary) {
      const { readModelCard } = await import('../../core/encoder/model-files.ts');
      pretrainSummary = (await readModelCard(pretrainDir)).pretraining;
    }
  }
  return { initialWeights, pretrainSummary };
}

interface GridRows {
  readonly x: Float32Array;
  readonly y: Int32Array;
  readonly n: number;
  readonly points: number;
}

interface UnseenContext {
  readonly opts: LabTrainOptions;
  /** Spectra of the held-out fold's classes. */
  readonly unseen: readonly LoadedSpectrum[];
  readonly classNames: readonly string[];
  readonly gather: (set: readonly LoadedSpectrum[]) => GridRows;
  readonly trainData: GridRows;
  readonly valData: GridRows;
  readonly valTrainEmb: Float32Array;
  readonly valEmb: Float32Array;
  readonly embedAll: (x: Float32Array, n: number) => Promise<Float32Array>;
  readonly dim: number;
  readonly grid: InputGrid;
  readonly log: (m: string) => void;
}

/** Stage 5, --holdout-fold: top-1 on classes never trained on, every training spectrum a distractor in the library. */
async function unseenClassFigures(c: UnseenContext): Promise<Record<string, unknown>> {
  const { opts, unseen, classNames, gather, trainData, valData, valTrainEmb, valEmb, embedAll, dim, grid, log } = c;
  // One reference specimen per unseen class (the first by name), its other specimens query; every training
  // spectrum stays in the library as a distractor, as in a deployment whose library holds both.
  const unseenSpc = samplesPerClass(unseen.map((s) => s.entry));
  const firstSample = new Map<string, string>();
  for (const s of unseen) {
    const cur = firstSample.get(s.entry.className);
    if (cur === undefined || s.entry.sample < cur) firstSample.set(s.entry.className, s.entry.sample);
  }
  const unseenNames = [...unseenSpc.keys()].sort();
  const uIndex = new Map(unseenNames.map((c, i) => [c, classNames.length + i]));
  const refs = unseen.filter((s) => firstSample.get(s.entry.className) === s.entry.sample);
  const queries = unseen.filter((s) => firstSample.get(s.entry.className) !== s.entry.sample);
  const toXY = (set: readonly LoadedSpectrum[]) => {
    const d = gather(set);
    set.forEach((s, i) => (d.y[i] = uIndex.get(s.entry.className)!));
    return d;
  };
  const R = toXY(refs);
  const Q = toXY(queries);
  const libX = new Float32Array((trainData.n + valData.n + R.n) * grid.points);
  libX.set(trainData.x, 0);
  libX.set(valData.x, trainData.n * grid.points);
  libX.set(R.x, (trainData.n + valData.n) * grid.points);
  const libY = Int32Array.from([...trainData.y, ...valData.y, ...R.y]);
  const libEmb = new Float32Array(libY.length * dim);
  libEmb.set(valTrainEmb, 0);
  libEmb.set(valEmb, trainData.n * dim);
  libEmb.set(await embedAll(R.x, R.n), (trainData.n + valData.n) * dim);
  const qEmb = await embedAll(Q.x, Q.n);
  const unseenMetrics: Record<string, unknown> = {
    holdoutFold: `${opts.holdoutFold} of ${opts.folds} (classFold, FNV-1a of the class name)`,
    classes: unseenNames.length,
    classesWithQueries: [...unseenSpc.values()].filter((v) => v >= 2).length,
    queries: Q.n,
    libraryEntries: libY.length,
    ...compareTop1(libEmb, libX, libY, qEmb, Q.x, Q.y, dim, grid.points),
    description: 'classes never trained on: one reference specimen per class (first RRUFF/sample id by name), the other specimens query; all training spectra stay in the library as distractors',
  };
  log(
    `train: unseen classes (fold ${opts.holdoutFold}): encoder top-1 ${pct(unseenMetrics.top1 as number)}, sqrt-cosine ${pct(unseenMetrics.sqrtCosineTop1 as number)}, ` +
      `their mean ${pct(unseenMetrics.meanWithSqrtCosineTop1 as number)} on ${Q.n} queries`,
  );
  return unseenMetrics;
}
