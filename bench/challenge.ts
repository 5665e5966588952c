/**
 * Research runs on the Schuetzke et al. (2023) challenge set (27 classes in 9 hard triplets): each experiment trains
 * an encoder on the challenge's own train split (50 per class), picks its epoch and is compared on a validation split
 * drawn from the same (train) distribution, and is measured once on the fixed test split (162 spectra). Recipes are
 * chosen by validation accuracy only; the test column is reported, never tuned on. docs/RESULTS-CHALLENGE.md reads
 * the results.
 *
 * `npm run bench:challenge -- [--only id,id] [--seed S] [--quick] [--list] [--infer]` (--infer: inference speed per
 * architecture, side by side)
 * Results merge into bench/results/challenge.json by experiment id and seed (runs of different experiments made one
 * after another, or side by side, add up).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs as parseNodeArgs } from 'node:util';
import { generateRandomSplit, generateTestLikeSplit, generateTestSplit, loadDefinition } from '../core/benchmark/index.ts';
import '../core/encoder/architectures.ts';
import { buildEncoderModel, embeddingDim, getArchitecture } from '../core/encoder/architectures.ts';
import { BENCHMARK_GRID, embedRows, INPUT_PREPROCESSING, loadModelDir, MODEL_FORMAT, saveModelDir } from '../core/encoder/model-files.ts';
import { concatEmbeddings, ruleAccuracies, type Embedded } from './challenge-rules.ts';
import { initEngine, tf } from '../core/engine/index.ts';
import { CHALLENGE_RECIPE, libraryFrom, WHOLE_SPECTRUM_SHIFT, type ChallengeRecipe } from './lib/protocols.ts';
import { decideConfusablePair } from '../core/identify/peaks/confusable-pairs.ts';
import { DEFAULT_MEAN_OF_BEST } from '../core/identify/identify.ts';
import type { Encoder } from '../core/encoder/types.ts';
import type { Dataset } from '../core/benchmark/index.ts';
import { DEFAULT_AUGMENT, describeClasses, knnPredict, LIGHT_AUGMENT, NO_AUGMENT, train, type AugmentOptions, type TrainResult } from '../core/training/index.ts';
import { portablePath } from './support/portable-path.ts';

interface Experiment {
  readonly id: string;
  readonly what: string;
  readonly recipe: ChallengeRecipe;
}

const OUT = 'bench/results/challenge.json';
/** Test-like validation spectra per class (generateTestLikeSplit): 540 in all. */
const TEST_LIKE_PER_CLASS = 20;

/**
 * Accuracy (percent) of identify()'s class decision as bench:paper's protocol runs it (library of the train split,
 * the query's spectrum at hand), per ranking (k = 3 vote or mean of the best DEFAULT_MEAN_OF_BEST) with and without
 * the confusable-pair decision by peaks (confusable-pairs.ts).
 */
async function identificationPaths(encoder: Encoder, train: Dataset, queries: Dataset, emb: Float32Array): Promise<Record<string, number>> {
  const lib = await libraryFrom(encoder, train);
  const x = normalizeRowsCopy(queries.x, queries.n, queries.points);
  const out: Record<string, number> = {};
  for (const [name, meanOfBest] of [['vote3', undefined], [`best${DEFAULT_MEAN_OF_BEST}`, DEFAULT_MEAN_OF_BEST]] as const) {
    let plain = 0;
    let paired = 0;
    for (let i = 0; i < queries.n; i++) {
      const embedding = emb.subarray(i * encoder.dim, (i + 1) * encoder.dim);
      const r = lib.knn(embedding, { k: 3, topClasses: 2, ...(meanOfBest ? { meanOfBest } : {}) });
      if (r.ranking[0].class === String(queries.y[i])) plain++;
      const decided = decideConfusablePair(lib, r.ranking, { spectrum: x.subarray(i * queries.points, (i + 1) * queries.points), embedding }).ranking;
      if (decided[0].class === String(queries.y[i])) paired++;
    }
    out[name] = (100 * plain) / queries.n;
    out[`${name}+pairs`] = (100 * paired) / queries.n;
  }
  return out;
}
/** The test split's variation: the whole spectrum moves +-30 points; a matching augmentation shifts at least that far. */
const SHIFT_ONLY: AugmentOptions = WHOLE_SPECTRUM_SHIFT;
const BASE: ChallengeRecipe = { arch: 'tiny', epochs: 3, augment: 'full' };

const EXPERIMENTS: readonly Experiment[] = [
  { id: 'baseline', what: 'bench:paper before this work: tiny, 3 epochs, full augmentation (noise 1 %, baseline 5 %)', recipe: BASE },
  { id: 'e30-full', what: 'tiny, 30 epochs, full augmentation', recipe: { ...BASE, epochs: 30 } },
  { id: 'e30-none', what: 'tiny, 30 epochs, no augmentation', recipe: { ...BASE, epochs: 30, augment: NO_AUGMENT } },
  { id: 'e30-light', what: 'tiny, 30 epochs, light augmentation (shift 10, broadening, gain)', recipe: { ...BASE, epochs: 30, augment: LIGHT_AUGMENT } },
  { id: 'e30-shift', what: 'tiny, 30 epochs, whole-spectrum shift +-40 only (the test variation), p 0.8', recipe: { ...BASE, epochs: 30, augment: SHIFT_ONLY } },
  { id: 'wide-shift', what: 'wide (k25, k15), 30 epochs, shift +-40', recipe: { arch: 'wide', epochs: 30, augment: SHIFT_ONLY } },
  { id: 'deep-shift', what: 'deep (4 conv blocks), 30 epochs, shift +-40', recipe: { arch: 'deep', epochs: 30, augment: SHIFT_ONLY } },
  { id: 'tiny-log-shift', what: 'tiny-log (log-compressed input), 30 epochs, shift +-40', recipe: { arch: 'tiny-log', epochs: 30, augment: SHIFT_ONLY } },
  { id: 'wide-log-shift', what: 'wide-log (log-compressed input), 30 epochs, shift +-40', recipe: { arch: 'wide-log', epochs: 30, augment: SHIFT_ONLY } },
  { id: 'wide-logmild-shift', what: 'wide-log-mild (log compression, floor 1e-2), 30 epochs, shift +-40', recipe: { arch: 'wide-log-mild', epochs: 30, augment: SHIFT_ONLY } },
  { id: 'wlm-e60', what: 'wide-log-mild, 60 epochs, shift +-40', recipe: { arch: 'wide-log-mild', epochs: 60, augment: SHIFT_ONLY } },
  { id: 'wlm-p14k8', what: 'wide-log-mild, 30 epochs, shift +-40, batches of 14 classes x 8 spectra', recipe: { arch: 'wide-log-mild', epochs: 30, augment: SHIFT_ONLY, batch: { p: 14, k: 8 } } },
  { id: 'wlm-lr3', what: 'wide-log-mild, 30 epochs, shift +-40, peak learning rate 3e-3', recipe: { arch: 'wide-log-mild', epochs: 30, augment: SHIFT_ONLY, lr: 3e-3 } },
  { id: 'wlm-lr5', what: 'wide-log-mild, 30 epochs, shift +-40, peak learning rate 5e-3', recipe: { arch: 'wide-log-mild', epochs: 30, augment: SHIFT_ONLY, lr: 5e-3 } },
  { id: 'wlm-lr3-e60', what: 'wide-log-mild, 60 epochs, shift +-40, peak learning rate 3e-3', recipe: { arch: 'wide-log-mild', epochs: 60, augment: SHIFT_ONLY, lr: 3e-3 } },
  {
    id: 'protocol-random-val',
    what: 'the earlier challenge recipe: wide-log-mild, 60 epochs, shift +-40, lr 3e-3, best epoch on the random val split (10/class)',
    recipe: { arch: 'wide-log-mild', epochs: 60, augment: SHIFT_ONLY, lr: 3e-3, valPerClass: 10 },
  },
  { id: 'protocol', what: 'the challenge protocol recipe (CHALLENGE_RECIPE = wlm-lr3-e60-tl)', recipe: CHALLENGE_RECIPE },
  {
    id: 'wlm-lr3-e60-tl',
    what: 'wide-log-mild, 60 epochs, shift +-40, lr 3e-3, best epoch on the test-like validation split (20/class)',
    recipe: { arch: 'wide-log-mild', epochs: 60, augment: SHIFT_ONLY, lr: 3e-3, validation: 'test-like', valPerClass: TEST_LIKE_PER_CLASS },
  },
];

const QUICK_EPOCHS = 2;
const KS = [1, 3, 5, 9, 15] as const;
/** Triplet groups of the challenge set (core/benchmark/variants.ts). */
const GROUPS = [
  { name: 'minor peaks (0-8)', from: 0, to: 9 },
  { name: 'peak positions (9-17)', from: 9, to: 18 },
  { name: 'peak heights (18-26)', from: 18, to: 27 },
] as const;

interface Row {
  id: string;
  what: string;
  seed: number;
  arch: string;
  epochs: number;
  recipe: ChallengeRecipe;
  bestEpoch: number;
  trainSeconds: number;
  inferMsPerSpectrum: number;
  /** Percent, kNN with the train split as references, k -> accuracy. */
  val: Record<string, number>;
  test: Record<string, number>;
  /** Test accuracy (k = 3) per triplet group. */
  testGroups: Record<string, number>;
  /** Test accuracy of the nearest class centroid (mean train embedding), for comparison with kNN. */
  testCentroid: number;
  valCentroid: number;
  /** Percent per decision rule (challenge-rules.ts) on the random val split, the test-like val split and the test split. */
  rules?: Record<string, Record<string, number>>;
  quick: boolean;
  load: number[];
}

function parseArgs(argv: string[]) {
  const { values } = parseNodeArgs({
    args: argv,
    options: {
      only: { type: 'string' },
      seed: { type: 'string', default: '1' },
      quick: { type: 'boolean', default: false },
      list: { type: 'boolean', default: false },
      infer: { type: 'boolean', default: false },
      eval: { type: 'string' },
      'save-models': { type: 'string' },
    },
  });
  const args = { only: values.only?.split(','), seed: Number(values.seed), quick: values.quick, list: values.list, infer: values.infer, eval: values.eval?.split(','), saveModels: values['save-models'] };
  if (!Number.isSafeInteger(args.seed)) throw new Error('--seed must be an integer');
  return args;
}

function accuracy(pred: Int32Array, truth: ArrayLike<number>, from = 0, to = truth.length): number {
  let hit = 0;
  let n = 0;
  for (let i = 0; i < truth.length; i++) {
    if (truth[i] < from || truth[i] >= to) continue;
    n++;
    if (pred[i] === truth[i]) hit++;
  }
  return n === 0 ? 0 : (100 * hit) / n;
}

function centroidPredict(refEmb: Float32Array, refY: Int32Array, queryEmb: Float32Array, nQuery: number, dim: number, classes: number): Int32Array {
  const c = new Float64Array(classes * dim);
  for (let r = 0; r < refY.length; r++) for (let d = 0; d < dim; d++) c[refY[r] * dim + d] += refEmb[r * dim + d];
  for (let k = 0; k < classes; k++) {
    let s = 0;
    for (let d = 0; d < dim; d++) s += c[k * dim + d] ** 2;
    const inv = 1 / Math.sqrt(s || 1);
    for (let d = 0; d < dim; d++) c[k * dim + d] *= inv;
  }
  const out = new Int32Array(nQuery);
  for (let q = 0; q < nQuery; q++) {
    let best = -Infinity;
    for (let k = 0; k < classes; k++) {
      let s = 0;
      for (let d = 0; d < dim; d++) s += c[k * dim + d] * queryEmb[q * dim + d];
      if (s > best) {
        best = s;
        out[q] = k;
      }
    }
  }
  return out;
}

function normalizeRowsCopy(x: Float32Array, n: number, points: number): Float32Array {
  const out = Float32Array.from(x);
  for (let i = 0; i < n; i++) {
    const row = out.subarray(i * points, (i + 1) * points);
    let m = 0;
    for (const v of row) m = Math.max(m, Math.abs(v));
    if (m > 0) for (let j = 0; j < points; j++) row[j] /= m;
  }
  return out;
}

async function runExperiment(exp: Experiment, seed: number, quick: boolean, log: (m: string) => void, saveDir?: string): Promise<Row> {
  const def = loadDefinition('challenge');
  const classes = def.classes.map((_, i) => i);
  const trainSet = generateRandomSplit(def, { split: 'train', perClass: 50, seed, classes });
  const r = exp.recipe;
  const randomVal = generateRandomSplit(def, { split: 'val', perClass: 10, seed, classes });
  const testLike = generateTestLikeSplit(def, { perClass: TEST_LIKE_PER_CLASS, seed, classes });
  const valSet = r.validation === 'test-like' ? testLike : randomVal;
  const testSet = generateTestSplit(def, { classes });
  const epochs = quick ? Math.min(QUICK_EPOCHS, r.epochs) : r.epochs;
  const arch = getArchitecture(r.arch);
  log(`${exp.id}: training ${arch.name}, ${epochs} epochs, seed ${seed}`);
  const result = await train({
    train: trainSet,
    val: valSet,
    arch,
    epochs,
    seed,
    augment: r.augment === 'full' ? undefined : r.augment,
    batch: r.batch,
    lr: r.lr,
    mining: r.mining,
    k: r.k,
    onProgress: (p) => {
      if (p.kind === 'epoch') log(`${exp.id}: epoch ${p.record.epoch + 1}/${p.epochs} loss ${p.record.loss.toFixed(4)} val ${(100 * (p.record.valAccuracy ?? 0)).toFixed(2)} % (${p.record.seconds.toFixed(0)} s)`);
    },
  });
  const dim = result.model.outputs[0].shape[1] as number;
  const points = def.points;
  const valEmb = await embedRows(result.model, result.valData.x, result.valData.n, points, dim);
  const testX = normalizeRowsCopy(testSet.x, testSet.n, points);
  const t0 = performance.now();
  const testEmb = await embedRows(result.model, testX, testSet.n, points, dim);
  const inferMs = (performance.now() - t0) / testSet.n;
  const refs = result.trainEmbeddings;
  const val: Record<string, number> = {};
  const test: Record<string, number> = {};
  for (const k of KS) {
    val[k] = accuracy(knnPredict(refs, result.trainData.y, valEmb, valSet.n, k), valSet.y);
    test[k] = accuracy(knnPredict(refs, result.trainData.y, testEmb, testSet.n, k), testSet.y);
  }
  const refSet: Embedded = { emb: refs, y: result.trainData.y, n: result.trainData.n };
  const rules: Row['rules'] = {};
  for (const [name, set] of [['val', randomVal], ['testLike', testLike], ['test', testSet]] as const) {
    const e = set === testSet ? testEmb : await embedRows(result.model, normalizeRowsCopy(set.x, set.n, points), set.n, points, dim);
    rules[name] = ruleAccuracies(refSet, { emb: e, y: set.y, n: set.n }, dim);
  }
  if (saveDir) {
    const dir = path.join(saveDir, `${exp.id}-seed${seed}${quick ? '-quick' : ''}`);
    await saveChallengeModel(result, dir, seed, r);
    log(`saved ${dir}`);
  }
  const pred3 = knnPredict(refs, result.trainData.y, testEmb, testSet.n, 3);
  const testGroups: Record<string, number> = {};
  for (const g of GROUPS) testGroups[g.name] = accuracy(pred3, testSet.y, g.from, g.to);
  const row: Row = {
    id: exp.id,
    what: exp.what,
    seed,
    arch: arch.name,
    epochs,
    recipe: r,
    bestEpoch: result.bestEpoch + 1,
    trainSeconds: result.wallSeconds,
    inferMsPerSpectrum: inferMs,
    val,
    test,
    testGroups,
    testCentroid: accuracy(centroidPredict(refs, result.trainData.y, testEmb, testSet.n, dim, classes.length), testSet.y),
    valCentroid: accuracy(centroidPredict(refs, result.trainData.y, valEmb, valSet.n, dim, classes.length), valSet.y),
    rules,
    quick,
    load: os.loadavg().map((v) => Math.round(v * 10) / 10),
  };
  result.model.dispose();
  return row;
}

/** A model directory for a trained challenge encoder (bench:challenge --eval and `npm run bench:paper -- --encoder model` read it). */
async function saveChallengeModel(result: TrainResult, dir: string, seed: number, r: ChallengeRecipe): Promise<void> {
  const today = new Date().toISOString().slice(0, 10).replaceAll('-', '');
  await saveModelDir(
    result.model,
    {
      format: MODEL_FORMAT,
      version: `challenge-${result.arch.name}-${path.basename(dir)}-${today}`,
      createdAt: new Date().toISOString(),
      architecture: result.arch,
      embeddingDim: embeddingDim(result.arch),
      inputGrid: BENCHMARK_GRID,
      preprocessing: INPUT_PREPROCESSING,
      engine: { backend: tf.getBackend(), tfjs: tf.version.tfjs },
      training: {
        description: result.trainData.description,
        dataset: 'challenge',
        perClass: 50,
        classes: describeClasses(Array.from({ length: result.trainData.classCount }, (_, i) => i)),
        classCount: result.trainData.classCount,
        samples: result.trainData.n,
        dataSha256: result.trainData.sha256,
        seed,
        epochs: result.epochsRun,
        batch: r.batch ?? { p: 32, k: 4 },
        learningRate: r.lr ?? 1e-3,
        mining: r.mining ?? 'batch-all',
        loss: 'cosine-distance triplet, margin 1, mean over triplets with loss > 0.3 (Vorozhtsov & Kitina 2024)',
        augment: r.augment === 'full' ? { preset: 'full', ...DEFAULT_AUGMENT } : { preset: 'recipe', ...r.augment },
        wallSeconds: Math.round(result.wallSeconds),
        stoppedBecause: result.stoppedBecause,
      },
      metrics: { k: 3, valKnnAccuracy: result.bestValAccuracy },
    },
    dir,
  );
}

function readRows(): Row[] {
  if (!existsSync(OUT)) return [];
  return (JSON.parse(readFileSync(OUT, 'utf8')) as { rows: Row[] }).rows;
}

function table(rows: readonly Row[]): string {
  const head = '| id | seed | arch | epochs (best) | val k=3 | test k=3 | test k=1/5/9 | test centroid | minor / position / height (test) | train s | infer ms/spectrum |';
  const lines = [head, '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |'];
  for (const r of rows) {
    const g = Object.values(r.testGroups).map((v) => v.toFixed(1)).join(' / ');
    lines.push(
      `| ${r.id}${r.quick ? ' (quick)' : ''} | ${r.seed} | ${r.arch} | ${r.epochs} (${r.bestEpoch}) | ${r.val[3].toFixed(2)} | ${r.test[3].toFixed(2)} | ` +
        `${[1, 5, 9].map((k) => r.test[k].toFixed(1)).join(' / ')} | ${r.testCentroid.toFixed(2)} | ${g} | ${r.trainSeconds.toFixed(0)} | ${r.inferMsPerSpectrum.toFixed(2)} |`,
    );
  }
  return lines.join('\n');
}


/**
 * Every decision rule on saved challenge encoders (model directories), each with the train split of its own seed
 * as references, on the random validation split, the test-like validation split and the test split; with several
 * directories also their ensemble (mean cosine). Writes bench/results/challenge-rules.json.
 */
async function evaluateSaved(dirs: readonly string[]): Promise<void> {
  await initEngine({});
  const def = loadDefinition('challenge');
  const points = def.points;
  const test = generateTestSplit(def);
  const rows: Array<{ model: string; seed: number; split: string; acc: Record<string, number> }> = [];
  const perModel: Array<{ seed: number; emb: Record<string, Float32Array>; dim: number }> = [];
  for (const dir of dirs) {
    const { model, card } = await loadModelDir(dir);
    const seed = card.training?.seed ?? 1;
    const sets = {
      train: generateRandomSplit(def, { split: 'train', perClass: 50, seed }),
      val: generateRandomSplit(def, { split: 'val', perClass: 10, seed }),
      testLike: generateTestLikeSplit(def, { perClass: TEST_LIKE_PER_CLASS, seed }),
      test,
    };
    const dim = card.embeddingDim;
    const emb: Record<string, Float32Array> = {};
    for (const [name, set] of Object.entries(sets)) emb[name] = await embedRows(model, normalizeRowsCopy(set.x, set.n, points), set.n, points, dim);
    const encoder: Encoder = {
      grid: card.inputGrid,
      dim,
      version: card.version,
      embed: (batch, n) => embedRows(model, batch, n, points, dim),
      dispose: () => model.dispose(),
    };
    const pipeline: Record<string, Record<string, number>> = {};
    for (const split of ['val', 'testLike', 'test'] as const) pipeline[split] = await identificationPaths(encoder, sets.train, sets[split], emb[split]);
    rows.push({ model: portablePath(dir), seed, split: 'identify() paths', acc: Object.fromEntries(Object.entries(pipeline).flatMap(([split, r]) => Object.entries(r).map(([k, v]) => [`${split} ${k}`, v]))) });
    model.dispose();
    perModel.push({ seed, emb, dim });
    const refs: Embedded = { emb: emb.train, y: sets.train.y, n: sets.train.n };
    for (const split of ['val', 'testLike', 'test'] as const) {
      const acc = ruleAccuracies(refs, { emb: emb[split], y: sets[split].y, n: sets[split].n }, dim);
      rows.push({ model: portablePath(dir), seed, split, acc });
    }
  }
  // Ensembles only make sense over encoders trained on the same train split (same seed).
  const sameSeed = perModel.length > 1 && perModel.every((m) => m.seed === perModel[0].seed);
  if (sameSeed) {
    const seed = perModel[0].seed;
    const sets = {
      train: generateRandomSplit(def, { split: 'train', perClass: 50, seed }),
      val: generateRandomSplit(def, { split: 'val', perClass: 10, seed }),
      testLike: generateTestLikeSplit(def, { perClass: TEST_LIKE_PER_CLASS, seed }),
      test,
    };
    const dim = perModel[0].dim * perModel.length;
    const cat = (name: keyof typeof sets) => concatEmbeddings(perModel.map((m) => m.emb[name]), sets[name].n, perModel[0].dim);
    const refs: Embedded = { emb: cat('train'), y: sets.train.y, n: sets.train.n };
    for (const split of ['val', 'testLike', 'test'] as const) {
      rows.push({ model: `ensemble of ${perModel.length}`, seed, split, acc: ruleAccuracies(refs, { emb: cat(split), y: sets[split].y, n: sets[split].n }, dim) });
    }
  }
  for (const r of rows.filter((r) => r.split === 'identify() paths')) {
    console.log(`${r.model}: ${Object.entries(r.acc).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}`);
  }
  const ruleRows = rows.filter((r) => r.split !== 'identify() paths');
  rows.length = 0;
  rows.push(...ruleRows);
  const names = Object.keys(rows[0].acc);
  console.log(`| model | seed | split | ${names.join(' | ')} |\n| --- | --- | --- |${names.map(() => ' --- |').join('')}`);
  for (const r of rows) console.log(`| ${r.model} | ${r.seed} | ${r.split} | ${names.map((n) => r.acc[n].toFixed(1)).join(' | ')} |`);
  const out = 'bench/results/challenge-rules.json';
  const previous = existsSync(out) ? (JSON.parse(readFileSync(out, 'utf8')) as { rows: typeof rows }).rows : [];
  const merged = [...previous.filter((p) => !rows.some((r) => r.model === p.model && r.split === p.split && r.seed === p.seed)), ...rows];
  writeFileSync(out, JSON.stringify({ note: 'percent correct per decision rule (bench/challenge-rules.ts); refs = the seed\'s train split', rows: merged }, null, 2) + '\n');
}

const INFER_ARCHS = ['tiny', 'wide', 'deep', 'tiny-log', 'wide-log', 'wide-log-mild'] as const;

/**
 * Inference ms/spectrum of the architectures side by side (batch 128, the 162 test spectra, best of 5 interleaved
 * rounds): the per-experiment timings above ran beside other jobs, so only this table's ratios compare. Writes
 * bench/results/challenge-infer.json.
 */
async function inferenceTable(): Promise<void> {
  await initEngine({});
  const def = loadDefinition('challenge');
  const test = generateTestSplit(def);
  const x = normalizeRowsCopy(test.x, test.n, def.points);
  const models = INFER_ARCHS.map((name) => ({ name, model: buildEncoderModel(getArchitecture(name), 1) }));
  const best = new Map<string, number>();
  for (let round = 0; round < 5; round++) {
    for (const { name, model } of models) {
      const t0 = performance.now();
      await embedRows(model, x, test.n, def.points, 64);
      const ms = (performance.now() - t0) / test.n;
      best.set(name, Math.min(best.get(name) ?? Infinity, ms));
    }
  }
  const rows = models.map(({ name, model }) => ({ arch: name, params: model.countParams(), inferMsPerSpectrum: best.get(name)! }));
  models.forEach(({ model }) => model.dispose());
  writeFileSync('bench/results/challenge-infer.json', JSON.stringify({ batch: 128, spectra: test.n, load: os.loadavg(), rows }, null, 2) + '\n');
  console.log('| arch | parameters | inference ms/spectrum |\n| --- | --- | --- |');
  for (const r of rows) console.log(`| ${r.arch} | ${r.params} | ${r.inferMsPerSpectrum.toFixed(2)} |`);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.infer) {
    await inferenceTable();
    return;
  }
  if (args.eval) {
    await evaluateSaved(args.eval);
    return;
  }
  if (args.list) {
    for (const e of EXPERIMENTS) console.log(`${e.id}: ${e.what}`);
    return;
  }
  const started = Date.now();
  const log = (m: string) => console.error(`[bench challenge ${((Date.now() - started) / 1000).toFixed(0)}s] ${m}`);
  const chosen = args.only ? EXPERIMENTS.filter((e) => args.only!.includes(e.id)) : EXPERIMENTS;
  if (args.only && chosen.length !== args.only.length) throw new Error(`unknown experiment in --only; known: ${EXPERIMENTS.map((e) => e.id).join(', ')}`);
  const engine = await initEngine({ logger: log });
  log(`backend ${engine.backend}`);
  for (const exp of chosen) {
    const row = await runExperiment(exp, args.seed, args.quick, log, args.saveModels);
    log(`${exp.id}: val ${row.val[3].toFixed(2)} %, test ${row.test[3].toFixed(2)} % (k=3), centroid ${row.testCentroid.toFixed(2)} %`);
    // Re-read before writing: other runs of this script may have added rows meanwhile.
    const rows = readRows().filter((r) => !(r.id === row.id && r.seed === row.seed && r.quick === row.quick));
    rows.push(row);
    const order = new Map(EXPERIMENTS.map((e, i) => [e.id, i]));
    rows.sort((a, b) => (order.get(a.id) ?? 99) - (order.get(b.id) ?? 99) || a.seed - b.seed);
    mkdirSync(path.dirname(OUT), { recursive: true });
    writeFileSync(OUT, JSON.stringify({ benchmark: 'challenge (Schuetzke et al. 2023), 27 classes, train 50/class, val 10/class, test 162', rows }, null, 2) + '\n');
  }
  console.log(table(readRows().filter((r) => chosen.some((e) => e.id === r.id) || !args.only)));
}

await main();
