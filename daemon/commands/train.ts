import { type Command, Option } from 'commander';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { BENCHMARK_NAMES, loadDefinition, parseClassList, type BenchmarkName } from '../../core/benchmark/index.ts';
import { SpectrumInputError } from '../../core/errors.ts';
import { fraction, integer, positiveInt, positiveNumber } from './arguments.ts';
import type { LabTrainOptions } from './train-lab.ts';

/**
 * `spectrad train`: trains an encoder on a benchmark split with core/training, measures test-split kNN accuracy
 * (train split as references) and writes a model directory (model.json, weights.bin, model-card.json).
 */

/** The lab-training options (train-lab.ts) plus the benchmark ones; the CLI gives some of them as text or leaves them out. */
interface TrainCliOptions extends Omit<LabTrainOptions, 'data' | 'arch' | 'epochs' | 'batch'> {
  dataset: string;
  data?: string;
  perClass: number;
  arch?: string;
  epochs?: number;
  classes?: string;
  batch: string;
  augment: 'full' | 'light' | 'none';
  target?: number;
  valPerClass: number;
}





export function parseBatch(text: string): { p: number; k: number } {
  const m = /^(\d+)x(\d+)$/.exec(text.trim());
  if (!m || Number(m[1]) < 2 || Number(m[2]) < 2) {
    throw new SpectrumInputError('bad-batch', `batch must be PxK with P, K >= 2 (e.g. 32x4), got "${text}"`, { field: 'batch' });
  }
  return { p: Number(m[1]), k: Number(m[2]) };
}

const fmtDuration = (s: number): string => (s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`);

async function runTrain(opts: TrainCliOptions): Promise<void> {
  if (opts.data !== undefined) return runTrainLab(opts);
  if (!BENCHMARK_NAMES.includes(opts.dataset as BenchmarkName)) {
    throw new SpectrumInputError('unknown-benchmark', `unknown data set "${opts.dataset}"; expected ${BENCHMARK_NAMES.join(' or ')}`, { field: 'dataset' });
  }
  const name = opts.dataset as BenchmarkName;
  const epochs = opts.epochs ?? 20;
  const def = loadDefinition(name);
  const classes = opts.classes === undefined ? undefined : parseClassList(opts.classes, def.classes.length);
  const batch = parseBatch(opts.batch);
  const { getArchitecture, embeddingDim } = await import('../../core/encoder/architectures.ts');
  const arch = getArchitecture(opts.arch ?? 'tiny');
  const { initEngine, tf } = await import('../../core/engine/index.ts');
  const { train, prepareTestSplit, knnAccuracy, describeClasses, AUGMENT_PRESETS } = await import('../../core/training/index.ts');
  const { saveModelDir, embedRows, BENCHMARK_GRID, modelCardHeader } = await import('../../core/encoder/model-files.ts');

  const log = (msg: string): void => void process.stderr.write(msg + '\n');
  const engine = await initEngine({ backend: opts.backend as 'auto', logger: log });
  const checkpoint = path.join(opts.out, 'checkpoint');
  const resumeFrom = opts.resume && existsSync(path.join(checkpoint, 'state.json')) ? checkpoint : undefined;
  if (opts.resume && !resumeFrom) log(`train: no checkpoint in ${checkpoint}, starting fresh`);
  if (resumeFrom) log(`train: resuming from ${resumeFrom}`);

  const progress = await progressReporter(epochs, log);
  const trainSpec = { name, perClass: opts.perClass, seed: opts.seed, classes };
  const result = await train({
    train: trainSpec,
    val: { ...trainSpec, perClass: opts.valPerClass },
    arch,
    epochs,
    batch,
    lr: opts.lr,
    mining: opts.mining,
    augment: opts.augment === 'none' ? false : AUGMENT_PRESETS[opts.augment],
    seed: opts.seed,
    patience: opts.patience,
    targetAccuracy: opts.target,
    outDir: opts.out,
    resumeFrom,
    onProgress: progress.update,
  });
  progress.stop();

  log('train: measuring test-split kNN accuracy (train split as references)');
  const test = prepareTestSplit(name, classes);
  const dim = embeddingDim(arch);
  const testEmb = await embedRows(result.model, test.x, test.n, test.points, dim);
  const testAccuracy = knnAccuracy(result.trainEmbeddings, result.trainData.y, testEmb, test.y, 3);
  const today = new Date().toISOString().slice(0, 10).replaceAll('-', '');
  const card = await saveModelDir(
    result.model,
    {
      ...modelCardHeader({
        version: opts.version ?? `${name}-${arch.name}-${opts.perClass}pc-s${opts.seed}-${today}`,
        architecture: arch,
        embeddingDim: dim,
        inputGrid: BENCHMARK_GRID,
        engine: { backend: engine.backend, tfjs: tf.version.tfjs },
      }),
      training: {
        description: result.trainData.description,
        dataset: name,
        perClass: opts.perClass,
        classes: describeClasses(classes ?? def.classes.map((_, i) => i)),
        classCount: result.trainData.classCount,
        samples: result.trainData.n,
        dataSha256: result.trainData.sha256,
        seed: opts.seed,
        epochs: result.epochsRun,
        batch,
        learningRate: opts.lr,
        mining: opts.mining,
        loss: 'cosine-distance triplet, margin 1, mean over triplets with loss > 0.3 (Vorozhtsov & Kitina 2024)',
        augment: { preset: opts.augment, ...AUGMENT_PRESETS[opts.augment] },
        wallSeconds: Math.round(result.wallSeconds),
        stoppedBecause: result.stoppedBecause,
      },
      metrics: {
        k: 3,
        valKnnAccuracy: result.bestValAccuracy,
        testKnnAccuracy: testAccuracy,
        testDescription: test.description,
      },
    },
    opts.out,
  );
  result.model.dispose();
  log(
    `train: ${arch.name} on ${result.trainData.n} spectra, ${result.epochsRun} epochs (${result.stoppedBecause}), best epoch ${result.bestEpoch + 1}, ` +
      `val kNN ${(result.bestValAccuracy * 100).toFixed(2)} %, test kNN ${(testAccuracy * 100).toFixed(2)} %, ${fmtDuration(result.wallSeconds)}`,
  );
  log(`train: wrote ${opts.out} (version ${card.version}, weights sha256 ${card.weightsSha256?.slice(0, 12)})`);
}

async function runTrainLab(opts: TrainCliOptions): Promise<void> {
  const { runTrainOnData } = await import('./train-lab.ts');
  const log = (msg: string): void => void process.stderr.write(msg + '\n');
  const total = { epochs: Math.max(opts.epochs ?? 30, opts.pretrainEpochs) };
  let progress = await progressReporter(total.epochs, log);
  await runTrainOnData(
    { ...opts, epochs: opts.epochs ?? 30, data: opts.data!, arch: opts.arch ?? 'phys-shallow', batch: parseBatch(opts.batch) },
    log,
    (p) => progress.update(p),
    () => {
      progress.stop();
      // A fresh bar for the next stage.
      void progressReporter(total.epochs, log).then((next) => (progress = next));
    },
  );
}

type Progress = import('../../core/training/index.ts').TrainProgress;

/** A cli-progress bar with ETA on a terminal; plain lines (one per epoch, a few per long epoch) otherwise. */
async function progressReporter(epochs: number, log: (m: string) => void): Promise<{ update: (p: Progress) => void; stop: () => void }> {
  const epochLine = (p: Extract<Progress, { kind: 'epoch' }>): string => {
    const r = p.record;
    const val = r.valAccuracy === undefined ? '' : ` val kNN ${(r.valAccuracy * 100).toFixed(2)} %${p.best ? ' (best)' : ''}`;
    return `epoch ${r.epoch + 1}/${p.epochs} loss ${r.loss.toFixed(4)} lr ${r.lr.toExponential(2)}${val} ${r.seconds.toFixed(1)} s`;
  };
  if (!process.stderr.isTTY) {
    let lastLine = 0;
    return {
      update(p) {
        if (p.kind === 'epoch') return log(epochLine(p));
        if (p.elapsedMs - lastLine > 60_000) {
          lastLine = p.elapsedMs;
          log(`  epoch ${p.epoch + 1} step ${p.step}/${p.steps} loss ${p.loss.toFixed(4)}`);
        }
      },
      stop() {},
    };
  }
  const { default: cliProgress } = await import('cli-progress');
  const bar = new cliProgress.SingleBar(
    { format: 'train [{bar}] {percentage}% | epoch {epoch}/{epochs} step {step}/{steps} | loss {loss} | ETA {eta_formatted}', stream: process.stderr, etaBuffer: 50 },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(p) {
      if (p.kind === 'epoch') {
        bar.stop();
        log(epochLine(p));
        started = false;
        return;
      }
      const payload = { epoch: p.epoch + 1, epochs: p.epochs, step: p.step, steps: p.steps, loss: p.loss.toFixed(4) };
      const total = p.steps * (p.epochs || epochs);
      const value = p.epoch * p.steps + p.step;
      if (!started) {
        bar.start(total, value, payload);
        started = true;
      } else bar.update(value, payload);
    },
    stop: () => bar.stop(),
  };
}

export function register(program: Command): void {
  program
    .command('train')
    .description('Train an encoder with the cosine triplet loss on your own labelled spectra (--data) or a benchmark split, and write a model directory.')
    .addOption(new Option('--dataset <name>', 'benchmark data set (without --data)').choices([...BENCHMARK_NAMES]).default('benchmark'))
    .option('--data <DIR|MANIFEST>', 'your labelled spectra: a folder with one folder per class, a CSV manifest file,class[,sample], or a folder of files naming their class in a header field (--class-field)')
    .option('--class-field <NAMES>', 'header field(s) naming the class, comma-separated, case-insensitive (RRUFF: NAMES)')
    .option('--sample-field <NAMES>', 'header field(s) naming the physical sample; the split holds out whole samples (RRUFF: RRUFFID). Without it each file is a sample')
    .addOption(new Option('--format <name>', 'file format of --data files').choices(['auto', 'csv', 'jcamp', 'json']).default('auto'))
    .option('--grid <UNIT:START:END:POINTS>', 'input grid of the model, e.g. cm-1:100:1500:1400; a bare UNIT derives range and points from the data')
    .addOption(new Option('--technique <name>', 'technique of --data: picks the synthetic pretraining profile and the physical augmentation').choices(['raman', 'ir']).default('raman'))
    .option('--min-overlap <f>', 'with --data: smallest fraction of the grid a file must cover to be used', fraction, 0.3)
    .option('--augment-scale <s>', 'with --data: scale of the physical augmentations (0 = off)', (v: string) => (v.trim() === '0' ? 0 : positiveNumber(v)), 1)
    .option('--hard-negatives <share>', 'with --data: share of each fine-tuning batch\'s classes drawn among the 5 nearest classes (square-root cosine) of another class in it (0 = off)', (v: string) => (v.trim() === '0' ? 0 : fraction(v)), 0)
    .option('--foreign-bands <fraction>', 'with --data: augment with 1-3 foreign bands (inclusions, a second phase) up to this fraction of the tallest band (0 = off; default: the technique\'s preset)', (v: string) => (v.trim() === '0' ? 0 : fraction(v)))
    .option('--pretrain-classes <n>', 'with --data: synthetic classes to pretrain on (0 = no pretraining)', (v: string) => (v.trim() === '0' ? 0 : positiveInt(v)), 2000)
    .option('--pretrain-per-class <n>', 'with --data: synthetic spectra per class', positiveInt, 4)
    .option('--pretrain-epochs <n>', 'with --data: pretraining epochs', positiveInt, 4)
    .option('--pretrain-augment <s>', 'with --data: scale of the physical augmentations on the synthetic spectra too (0 = off)', (v: string) => (v.trim() === '0' ? 0 : positiveNumber(v)), 0)
    .option('--pretrain-profile <key=value,...>', 'with --data: overrides of the technique\'s synthetic pretraining profile, e.g. familyMode=substitution,familyShiftRange=2-8,familyShare=0.7,peaks=3-25,fwhm=3-30 (recorded in the model card)')
    .option('--holdout-fold <k>', 'with --data: never train on the classes of fold k (classFold of the class name) and report top-1 on them', integer)
    .option('--exclude-folds <list>', 'with --data: also leave these folds out (not evaluated), e.g. 0 when tuning on fold 1')
    .option('--folds <n>', 'with --data: number of class folds', positiveInt, 5)
    .option('--per-class <n>', 'training spectra per class', positiveInt, 20)
    .option('--arch <name>', 'architecture: seed (the paper), lite, tiny (ours); with --data phys-shallow (default), phys, phys-lin or a phys-shallow-* variant (docs/RESULTS-REAL.md)')
    .requiredOption('--out <dir>', 'model directory to write (checkpoints go to <dir>/checkpoint)')
    .option('--epochs <n>', 'epochs (one epoch shows every training spectrum about once; default 20, with --data 30)', positiveInt)
    .option('--classes <list>', 'train a subset of classes, e.g. 0-399 or 0-9,20 (default: all)')
    .option('--seed <s>', 'seed of data, initial weights, batches and augmentation (same seed, same run)', integer, 1)
    .option('--resume', 'continue from <out>/checkpoint when there is one')
    .option('--batch <PxK>', 'P classes x K spectra per step', '32x4')
    .option('--lr <rate>', 'peak learning rate (AdamW, warm-up then cosine decay)', positiveNumber, 1e-3)
    .addOption(new Option('--mining <kind>', 'online triplet mining').choices(['batch-all', 'batch-hard']).default('batch-all'))
    .addOption(new Option('--augment <preset>', 'on-the-fly augmentation: full (shift, broadening, gain, noise, baseline), light (no noise/baseline), none').choices(['full', 'light', 'none']).default('light'))
    .option('--patience <n>', 'stop after n epochs without better validation accuracy', positiveInt)
    .option('--target <acc>', 'stop once validation kNN accuracy reaches this (0-1]', fraction)
    .option('--val-per-class <n>', 'validation spectra per class (val split)', positiveInt, 5)
    .option('--backend <name>', 'auto | tensorflow-gpu | tensorflow | wasm | cpu', 'auto')
    .option('--version <text>', 'version string for the model card (default: <dataset>-<arch>-<n>pc-s<seed>-<date>)')
    .action(async (opts: TrainCliOptions) => {
      try {
        await runTrain(opts);
      } catch (err) {
        if (!(err instanceof SpectrumInputError || err instanceof RangeError)) throw err;
        process.stderr.write(`spectrad train: ${err.message}${err instanceof SpectrumInputError ? ` [${err.code}]` : ''}\n`);
        process.exitCode = 2;
      }
    });
}
