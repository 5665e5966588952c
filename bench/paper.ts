import { Command } from 'commander';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Encoder } from '../core/encoder/types.ts';
import type { DistanceDistributions, EncoderProvider, MixtureResult, TrainRequest, UnseenResult } from './lib/protocols.ts';
import { portablePath } from './support/portable-path.ts';
import type { ReproduceReport } from './paper-reproduce.ts';

/**
 * `npm run bench:paper`: every protocol of Vorozhtsov & Kitina (2024) with the paper's number beside ours, written to
 * bench/results/paper.json and docs/RESULTS.md (rewritten on each run), plus the Figure-1 distance plot as SVG;
 * `npm run bench:paper-merge`: runs of different protocols merged into one report.
 */

interface PaperOptions {
  quick?: boolean;
  seeds: string;
  encoder: string;
  arch: string;
  epochs: string;
  classes?: string;
  only?: string;
  out: string;
  doc: string;
  model: string;
  saveModels?: string;
  perClass?: string;
  reproduce?: boolean;
}

const PAPER_JSON = 'bench/results/paper.json';

const PROTOCOLS = ['single', 'unseen', 'mixtures', 'challenge', 'figure'] as const;

function paperProgram(): Command {
  const bench = new Command().name('bench/paper.ts').description('benchmarks that reproduce published results').showHelpAfterError();
  const paper = bench
    .command('paper')
    .description("run the paper's protocols (single compound, unseen classes, mixtures, challenge, unknowns, Figure 1)")
    .option('--quick', 'smoke run: few classes, a tiny short training (CI, about 1-2 minutes)')
    .option('--seeds <n|list>', 'repeat with seeds 1..n (or the listed seeds, e.g. 2,3, or a range, e.g. 2-2, to extend an earlier run with paper-merge) and report mean ± std', '1')
    .option('--encoder <kind>', 'trained: train an encoder per protocol with core/training; smoothed: the untrained smoothed-spectrum baseline; model: one fixed model (--model) for every protocol', 'trained')
    .option('--model <DIR|NAME>', 'model directory or bundled model name for --encoder model', 'default')
    .option('--arch <name>', 'architecture to train', 'seed')
    .option('--epochs <n>', 'training epochs per protocol', '20')
    .option('--classes <n>', 'benchmark classes used (default 500; --quick: 20)')
    .option('--only <list>', `comma-separated subset of ${PROTOCOLS.join(',')}`)
    .option('--per-class <list>', 'spectra per class of the single-compound protocol (default 50,20,5; --quick 50,5)')
    .option('--save-models <dir>', 'save each encoder trained here as a model directory <dir>/<protocol>-seed<s> (with --encoder trained)')
    .option('--reproduce', 'measure every headline row whose encoder is committed (models/paper, bench/lib/paper-encoders.ts) and check it against the docs; list the others with their from-scratch command; writes bench/results/reproduce.json unless --out is given; --only takes encoder ids here (e.g. unseen-seed1)');
  reportOptions(paper).action(async (opts: PaperOptions) => {
    if (opts.reproduce) {
      const { runReproduce } = await import('./paper-reproduce.ts');
      const out = opts.out === PAPER_JSON ? 'bench/results/reproduce.json' : opts.out;
      const report = await runReproduce({ out, ...(opts.only ? { only: opts.only.split(',').map((s) => s.trim()) } : {}) });
      if (report.checked.some((c) => c.status === 'mismatch') || report.refused.length) process.exitCode = 1;
      return;
    }
    await runPaper(opts);
  });
  const merge = bench
    .command('paper-merge')
    .description('merge results of `bench:paper` runs of different protocols (e.g. run side by side with --only) into one report')
    .argument('<files...>', 'paper.json files written by bench:paper');
  reportOptions(merge).action(async (files: string[], opts: { out: string; doc: string }) => {
    await mergePaper(files, opts);
  });
  return bench;
}

/** Where a run's results go: both commands write the same two files. */
function reportOptions(command: Command): Command {
  return command
    .option('--out <file>', 'results JSON', PAPER_JSON)
    .option('--doc <file>', 'Markdown report to rewrite', 'docs/RESULTS.md');
}

async function mergePaper(files: string[], opts: { out: string; doc: string }): Promise<void> {
  const protocols = await import('./lib/protocols.ts');
  const reports = files.map((f) => {
    const r = JSON.parse(readFileSync(f, 'utf8')) as Partial<Report>;
    if (!Array.isArray(r.perSeed)) throw new Error(`${f} has no perSeed values (written by an older bench:paper): cannot merge it`);
    return r as Report;
  });
  const first = reports[0];
  for (const r of reports) {
    if (r.classes !== first.classes || r.quick !== first.quick) throw new Error('cannot merge runs with different --classes or --quick');
  }
  const bySeed = new Map<number, SeedResult>();
  for (const r of reports) {
    for (const s of r.perSeed) {
      const had = bySeed.get(s.seed);
      // single holds one value per spectra-per-class count: runs of different counts add up.
      bySeed.set(s.seed, { ...had, ...s, ...(had?.single || s.single ? { single: { ...had?.single, ...s.single } } : {}) });
    }
  }
  const perSeed = [...bySeed.values()].sort((a, b) => a.seed - b.seed);
  // A merged report's encoder already lists several (' | '): list each once however often it is merged again.
  const encoders = [...new Set(reports.flatMap((r) => r.encoder.split(' | ')))];
  const report = summarize(perSeed, protocols.PAPER, {
    quick: first.quick,
    classes: first.classes,
    seeds: perSeed.length,
    encoder: encoders.join(' | '),
    // The runs went side by side: the merged run took as long as the longest one.
    wallSeconds: Math.max(...reports.map((r) => r.wallSeconds)),
    complete: reports.every((r) => r.complete),
  });
  mkdirSync(path.dirname(opts.out), { recursive: true });
  writeFileSync(opts.out, JSON.stringify(report, null, 2) + '\n');
  const svgPath = path.join(path.dirname(opts.out), 'paper-figure1.svg');
  writeFileSync(opts.doc, renderMarkdown(report, existsSync(svgPath) ? path.relative(path.dirname(opts.doc), svgPath) : undefined, opts.doc, readReproduce(opts.out)));
  console.log(renderTable(report));
}

interface SeedResult {
  seed: number;
  single?: Record<string, number>;
  unseen?: UnseenResult;
  mixtures?: MixtureResult[];
  challenge?: number;
}

async function runPaper(opts: PaperOptions): Promise<void> {
  const protocols = await import('./lib/protocols.ts');
  const quick = Boolean(opts.quick);
  const classes = Number(opts.classes ?? (quick ? 20 : 500));
  const seedList = parseSeeds(opts.seeds);
  const seeds = seedList.length;
  const epochs = Number(quick && opts.epochs === '20' ? 3 : opts.epochs);
  const arch = quick && opts.arch === 'seed' ? 'tiny' : opts.arch;
  const only = new Set((opts.only ?? PROTOCOLS.join(',')).split(',').map((s) => s.trim()));
  for (const [name, v] of [['--classes', classes], ['--epochs', epochs]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer`);
  }
  if (classes < 10 || classes > 500) throw new Error('--classes must be between 10 and 500');
  for (const p of only) if (!(PROTOCOLS as readonly string[]).includes(p)) throw new Error(`unknown protocol "${p}"`);
  const started = Date.now();
  const log = (m: string) => console.error(`[bench:paper ${((Date.now() - started) / 1000).toFixed(0)}s] ${m}`);
  const { provider, describe, disposeAll } = await makeProvider(opts.encoder, arch, epochs, log, opts.model, opts.saveModels, quick);

  const perSeed: SeedResult[] = [];
  let figure: DistanceDistributions | undefined;
  const svgPath = path.join(path.dirname(opts.out), 'paper-figure1.svg');
  // Written after every protocol: a full run takes hours on 2 cores, and finished protocols must survive an interruption.
  const save = (partial: SeedResult | undefined): Report => {
    const done = partial ? [...perSeed, partial] : perSeed;
    const meta = { quick, classes, seeds, encoder: describe, wallSeconds: (Date.now() - started) / 1000, complete: !partial };
    const report = summarize(done, protocols.PAPER, meta);
    mkdirSync(path.dirname(opts.out), { recursive: true });
    writeFileSync(opts.out, JSON.stringify(report, null, 2) + '\n');
    if (figure) writeFileSync(svgPath, histogramSvg(figure));
    mkdirSync(path.dirname(opts.doc), { recursive: true });
    writeFileSync(opts.doc, renderMarkdown(report, figure ? path.relative(path.dirname(opts.doc), svgPath) : undefined, opts.doc, readReproduce(opts.out)));
    return report;
  };
  for (const seed of seedList) {
    const ctx = { encoderFor: provider, seed, classes, log };
    const r: SeedResult = { seed };
    if (only.has('single')) {
      r.single = {};
      const counts = opts.perClass ? opts.perClass.split(',').map(Number) : quick ? [50, 5] : [50, 20, 5];
      if (counts.some((c) => !Number.isInteger(c) || c < 1 || c > 50)) throw new Error('--per-class wants integers in 1..50');
      for (const perClass of counts) {
        r.single[String(perClass)] = await protocols.singleCompound(ctx, perClass);
        log(`seed ${seed}: single compound, ${perClass}/class: ${r.single[String(perClass)].toFixed(2)} %`);
        save(r);
      }
    }
    if (only.has('figure') && seed === seedList[0]) figure = await protocols.distanceDistributions(ctx);
    if (only.has('unseen')) {
      r.unseen = await protocols.unseenAndUnknown(ctx);
      log(`seed ${seed}: unseen ${r.unseen.unseenAccuracy.toFixed(2)} %, unknown AUROC ${r.unseen.unknownAuroc.toFixed(4)}`);
      save(r);
    }
    if (only.has('mixtures')) {
      r.mixtures = await protocols.mixtures(ctx, quick ? [2, 3] : [2, 3, 4]);
      save(r);
    }
    if (only.has('challenge')) {
      r.challenge = await protocols.challenge({ ...ctx, classes: 27 });
      log(`seed ${seed}: challenge ${r.challenge.toFixed(2)} %`);
    }
    perSeed.push(r);
    disposeAll();
    if (seed !== seedList[seedList.length - 1]) save(undefined);
  }

  const report = save(undefined);
  console.log(renderTable(report));
  log(`wrote ${opts.out}, ${opts.doc}${figure ? `, ${svgPath}` : ''}`);
}

/** `--seeds 3` means seeds 1, 2, 3; `--seeds 2,3` exactly those (a later run that paper-merge adds to an earlier one); `--seeds 2-2` seed 2 alone. */
export function parseSeeds(text: string): number[] {
  // A range A-B names seeds A..B: the only way to name one seed other than 1 (e.g. a saved seed-2 model, 2-2).
  const range = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(text);
  if (range) {
    const [from, to] = [Number(range[1]), Number(range[2])];
    if (from < 1 || to < from) throw new Error(`--seeds range must be A-B with 1 <= A <= B, got "${text}"`);
    return Array.from({ length: to - from + 1 }, (_, i) => from + i);
  }
  const parts = text.split(',').map((s) => s.trim());
  const nums = parts.map(Number);
  if (parts.length === 0 || nums.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--seeds wants a positive integer or a list of them, got "${text}"`);
  if (parts.length === 1) return Array.from({ length: nums[0] }, (_, i) => i + 1);
  if (new Set(nums).size !== nums.length) throw new Error(`--seeds lists a seed twice: "${text}"`);
  return nums;
}

// ---------------------------------------------------------------------------------------------------------------
// Encoders

interface Provider {
  provider: EncoderProvider;
  describe: string;
  disposeAll(): void;
}

async function makeProvider(
  kind: string,
  arch: string,
  epochs: number,
  log: (m: string) => void,
  modelDir: string,
  saveDir?: string,
  quick = false,
): Promise<Provider> {
  if (kind === 'model') {
    const { openEncoder } = await import('../daemon/commands/library.ts');
    const encoder = await openEncoder(modelDir);
    return {
      provider: async () => encoder,
      describe: `the fixed model ${portablePath(modelDir)} (${encoder.version}) for every protocol: no per-protocol training, so protocols whose classes it was trained on are not held out`,
      disposeAll: () => {},
    };
  }
  if (kind === 'smoothed') {
    const { smoothedSpectrumEncoder } = await import('./lib/baseline-encoder.ts');
    const cache = new Map<number, Encoder>();
    return {
      provider: async (req) => {
        const points = req.train.points;
        if (!cache.has(points)) cache.set(points, smoothedSpectrumEncoder(points));
        return cache.get(points)!;
      },
      describe: 'smoothed-spectrum baseline (untrained: Gaussian blur sigma 15, pooled by 10, cosine)',
      disposeAll: () => {},
    };
  }
  if (kind !== 'trained') throw new Error(`--encoder must be trained, smoothed or model, got "${kind}"`);
  const { initEngine, tf } = await import('../core/engine/index.ts');
  const training = await import('../core/training/index.ts');
  const benchmark = await import('../core/benchmark/index.ts');
  const protocols = await import('./lib/protocols.ts');
  const engine = await initEngine({ logger: log });
  const cache = new Map<string, Encoder>();
  const provider = async (req: TrainRequest): Promise<Encoder> => {
    const key = `${req.name}:${req.seed}`;
    const hit = cache.get(key);
    if (hit) return hit;
    const def = benchmark.loadDefinition(req.benchmark);
    const plan = protocols.trainingPlan(req, { arch, epochs, quick });
    const valOpts = { perClass: plan.valPerClass, seed: req.seed, classes: [...req.classes] };
    const val = plan.validation === 'test-like' ? benchmark.generateTestLikeSplit(def, valOpts) : benchmark.generateRandomSplit(def, { split: 'val', ...valOpts });
    const runArch = plan.arch;
    log(`training ${runArch} for ${req.name} (seed ${req.seed}, ${req.classes.length} classes x ${req.perClass}, ${plan.epochs} epochs${req.recipe ? ', protocol recipe' : ''}, validation ${plan.valPerClass}/class, ${plan.patience === undefined ? 'every epoch' : `patience ${plan.patience}`})`);
    const { finish, validation: _validation, ...firstStage } = plan;
    let result = await training.train({ train: req.train, val, seed: req.seed, ...firstStage });
    log(`trained ${req.name}: val kNN ${(100 * result.bestValAccuracy).toFixed(2)} % after ${result.epochsRun} epochs, ${result.wallSeconds.toFixed(0)} s`);
    if (finish) {
      // train() starts a run from a model directory's weights: the first stage goes through a temporary one.
      const { mkdtempSync, rmSync } = await import('node:fs');
      const { tmpdir } = await import('node:os');
      const tmp = mkdtempSync(path.join(tmpdir(), 'spectrad-finish-'));
      try {
        await saveTrained(result, req, tmp, engine.backend);
        result.model.dispose();
        result = await training.train({ train: req.train, val, seed: req.seed, arch: runArch, epochs: finish.epochs, lr: finish.lr, augment: finish.augment, warmupEpochs: 0, initialWeights: tmp });
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
      log(`finished ${req.name}: ${finish.epochs} more epoch(s) from those weights, shift-only augmentation, lr ${finish.lr}: val kNN ${(100 * result.bestValAccuracy).toFixed(2)} %`);
    }
    const model = result.model;
    if (saveDir) {
      const dir = path.join(saveDir, `${req.name}-seed${req.seed}`);
      await saveTrained(result, req, dir, engine.backend);
      log(`saved ${dir}`);
    }
    const points = req.train.points;
    const dim = (model.outputs[0].shape[1] as number) ?? 0;
    const encoder: Encoder = {
      grid: { points, xStart: 0, xEnd: points - 1, xUnit: 'index' },
      dim,
      version: `${runArch}-${req.name}-seed${req.seed}`,
      async embed(batch: Float32Array, n: number): Promise<Float32Array> {
        const out = tf.tidy(() => model.predict(tf.tensor3d(batch, [n, points, 1])) as import('@tensorflow/tfjs').Tensor);
        const data = (await out.data()) as Float32Array;
        out.dispose();
        return data;
      },
      dispose: () => model.dispose(),
    };
    cache.set(key, encoder);
    return encoder;
  };
  return {
    provider,
    describe: `${arch} encoder trained per protocol with core/training (${epochs} epochs max at 50 spectra/class, proportionally more for fewer spectra, at most 5x; patience 5 likewise; protocols with their own recipe, e.g. the challenge set, use it; single compound and unseen then train one more epoch at 50/class, proportionally more for fewer, with shift-only augmentation: SHIFT_FINISH), backend ${engine.backend}`,
    disposeAll: () => {
      for (const e of cache.values()) e.dispose();
      cache.clear();
    },
  };
}

/** A model directory for an encoder trained by a protocol, so a good one can become the bundled default. */
async function saveTrained(
  result: import('../core/training/index.ts').TrainResult,
  req: TrainRequest,
  dir: string,
  backend: string,
): Promise<void> {
  const { tf } = await import('../core/engine/index.ts');
  const training = await import('../core/training/index.ts');
  const { saveModelDir, embeddingDimOf, BENCHMARK_GRID, INPUT_PREPROCESSING, MODEL_FORMAT } = await modelFiles();
  const today = new Date().toISOString().slice(0, 10).replaceAll('-', '');
  await saveModelDir(
    result.model,
    {
      format: MODEL_FORMAT,
      version: `${req.benchmark}-${result.arch.name}-${req.name}-s${req.seed}-${today}`,
      createdAt: new Date().toISOString(),
      architecture: result.arch,
      embeddingDim: embeddingDimOf(result.arch),
      inputGrid: BENCHMARK_GRID,
      preprocessing: INPUT_PREPROCESSING,
      engine: { backend, tfjs: tf.version.tfjs },
      training: {
        description: result.trainData.description,
        dataset: req.benchmark,
        perClass: req.perClass,
        classes: training.describeClasses([...req.classes]),
        classCount: result.trainData.classCount,
        samples: result.trainData.n,
        dataSha256: result.trainData.sha256,
        seed: req.seed,
        epochs: result.epochsRun,
        // core/training's defaults unless the protocol's recipe set them.
        batch: req.recipe?.batch ?? { p: 32, k: 4 },
        learningRate: req.recipe?.lr ?? 1e-3,
        mining: req.recipe?.mining ?? 'batch-all',
        loss: 'cosine-distance triplet, margin 1, mean over triplets with loss > 0.3 (Vorozhtsov & Kitina 2024)',
        augment: !req.recipe || req.recipe.augment === 'full' ? { preset: 'full', ...training.DEFAULT_AUGMENT } : { preset: 'recipe', ...req.recipe.augment },
        wallSeconds: Math.round(result.wallSeconds),
        stoppedBecause: result.stoppedBecause,
      },
      metrics: { k: 3, valKnnAccuracy: result.bestValAccuracy },
    },
    dir,
  );
}

async function modelFiles() {
  const files = await import('../core/encoder/model-files.ts');
  const { embeddingDim } = await import('../core/encoder/architectures.ts');
  return { ...files, embeddingDimOf: embeddingDim };
}

// ---------------------------------------------------------------------------------------------------------------
// Aggregation and reports

interface Stat {
  mean: number;
  std: number;
  values: number[];
}

interface Row {
  id: string;
  protocol: string;
  unit: string;
  ours: Stat | null;
  paper: number | string | null;
  target: string;
  met: boolean | null;
}

interface Report {
  date: string;
  quick: boolean;
  classes: number;
  seeds: number;
  encoder: string;
  wallSeconds: number;
  /** false while a run is still going (or was interrupted): some protocols or seeds are missing. */
  complete: boolean;
  /** The raw per-seed values behind the rows, so runs of different protocols can be merged (bench:paper-merge). */
  perSeed: SeedResult[];
  rows: Row[];
  mixtures: Array<{
    components: number;
    atLeast: Stat[];
    atLeastFullLibrary: Stat[];
    atLeastEmbeddingOnly: Stat[];
    paper: number[];
    msPerQueryFullLibrary: number;
    cpuMsPerQueryFullLibrary?: number;
    /** Count not given: exactly the m right classes called a mixture (library of 1/5 of the classes, full library). */
    countFreeExact?: Stat;
    countFreeExactFullLibrary?: Stat;
  }>;
  unknown: { auroc: Stat; falseUnknownRate: Stat; trueUnknownRate: Stat; targetFalseUnknownRate: number } | null;
}

function stat(values: number[]): Stat {
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const std = values.length > 1 ? Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1)) : 0;
  return { mean, std, values };
}

type PaperTable = typeof import('./lib/protocols.ts').PAPER;

function summarize(
  perSeed: SeedResult[],
  paper: PaperTable,
  meta: { quick: boolean; classes: number; seeds: number; encoder: string; wallSeconds: number; complete: boolean },
): Report {
  const rows: Row[] = [];
  const collect = (pick: (r: SeedResult) => number | undefined) =>
    perSeed.map(pick).filter((v): v is number => v !== undefined);
  const add = (id: string, protocol: string, values: number[], paperValue: number | string | null, target: number, higherBetter = true, unit = '%') => {
    const ours = values.length ? stat(values) : null;
    rows.push({
      id,
      protocol,
      unit,
      ours,
      paper: paperValue,
      target: `${higherBetter ? '>=' : '<='} ${target}`,
      // Targets are for the full 500-class protocols: a reduced run says nothing about them.
      met: ours && meta.classes === 500 && !meta.quick ? (higherBetter ? ours.mean >= target : ours.mean <= target) : null,
    });
  };
  const paperStr = (v: { paper: number; paperStd?: number }) => (v.paperStd ? `${v.paper} ± ${v.paperStd}` : v.paper);
  add('single50', 'single compound, 50 spectra/class, test split', collect((r) => r.single?.['50']), paperStr(paper.single50), paper.single50.target);
  add('single20', 'single compound, 20 spectra/class', collect((r) => r.single?.['20']), paperStr(paper.single20), paper.single20.target);
  add('single5', 'single compound, 5 spectra/class', collect((r) => r.single?.['5']), paperStr(paper.single5), paper.single5.target);
  add('unseen', 'unseen classes (last 20 %) enrolled, their test split', collect((r) => r.unseen?.unseenAccuracy), paper.unseen.paper, paper.unseen.target);
  for (const m of [2, 3, 4] as const) {
    const key = `mixture${m}` as const;
    add(key, `mixtures of ${m}, all components right, library of 1/5 of the classes`, collect((r) => r.mixtures?.find((x) => x.components === m)?.atLeast[m - 1]), paper[key].paper[m - 1], paper[key].target);
  }
  add('challenge', 'challenge set, 27 classes', collect((r) => r.challenge), paper.challenge.paper, paper.challenge.target);
  add('unknownAuroc', 'unknown detection AUROC (last 20 % of classes absent)', collect((r) => r.unseen?.unknownAuroc), null, paper.unknownAuroc.target, true, '');
  add('falseUnknown', 'false-unknown rate on known classes at the threshold', collect((r) => r.unseen?.falseUnknownRate), null, paper.unknownFalseUnknownRate.target, false);

  const mixtures: Report['mixtures'] = [];
  for (const m of [2, 3, 4] as const) {
    const runs = perSeed.map((r) => r.mixtures?.find((x) => x.components === m)).filter((x): x is MixtureResult => Boolean(x));
    if (!runs.length) continue;
    mixtures.push({
      components: m,
      atLeast: Array.from({ length: m }, (_, i) => stat(runs.map((x) => x.atLeast[i]))),
      atLeastFullLibrary: Array.from({ length: m }, (_, i) => stat(runs.map((x) => x.atLeastFullLibrary[i]))),
      atLeastEmbeddingOnly: Array.from({ length: m }, (_, i) => stat(runs.map((x) => x.atLeastEmbeddingOnly[i]))),
      paper: [...paper[`mixture${m}`].paper],
      msPerQueryFullLibrary: stat(runs.map((x) => x.msPerQueryFullLibrary)).mean,
      ...(runs.every((x) => x.cpuMsPerQueryFullLibrary !== undefined) ? { cpuMsPerQueryFullLibrary: stat(runs.map((x) => x.cpuMsPerQueryFullLibrary!)).mean } : {}),
      ...(runs.every((x) => x.countFreeExact !== undefined && x.countFreeExactFullLibrary !== undefined)
        ? { countFreeExact: stat(runs.map((x) => x.countFreeExact!)), countFreeExactFullLibrary: stat(runs.map((x) => x.countFreeExactFullLibrary!)) }
        : {}),
    });
  }
  const unseen = perSeed.map((r) => r.unseen).filter((x): x is UnseenResult => Boolean(x));
  return {
    date: new Date().toISOString(),
    ...meta,
    perSeed,
    rows,
    mixtures,
    unknown: unseen.length
      ? {
          auroc: stat(unseen.map((u) => u.unknownAuroc)),
          falseUnknownRate: stat(unseen.map((u) => u.falseUnknownRate)),
          trueUnknownRate: stat(unseen.map((u) => u.trueUnknownRate)),
          targetFalseUnknownRate: unseen[0].targetFalseUnknownRate,
        }
      : null,
  };
}

/** How a clone reproduces the table: the paragraph under the run's description. */
const REPRODUCING = [
  '- Reproducing: `npm run bench:reproduce` (`npm run bench:paper -- --reproduce`, minutes per row on 2 cores) measures',
  '  every row whose encoder is committed (`models/paper/<protocol>-seed<s>`, `models/default` for 20/class; list in',
  '  `bench/lib/paper-encoders.ts`) on the published protocol, checks it against the figure these docs give for that',
  '  encoder (the last column; the same count of errors: 0.01 points, AUROC 1e-4) and writes',
  '  `bench/results/reproduce.json`; for every other row it prints the from-scratch command that trains its encoder',
  '  again, saves it in `models/paper/` and measures it (17-20 minutes per 500-class training on a quiet 2-core',
  '  machine, 1-2 hours when shared; the challenge set 7-10 minutes). The `ours` column was measured with encoders',
  '  that are not in the repository (`MODELS/...` above; notes below); where a committed encoder gives another',
  '  figure, the last column shows it. `npm run bench:paper -- --arch tiny --epochs 12 --seeds 3` trains every',
  '  protocol\'s encoder again (hours). What a clone measures on the bundled `models/default` through the daemon is',
  '  `npm run bench:operator` (notes below).',
];

const fmt = (s: Stat | null, digits = 2) => (s ? (s.values.length > 1 ? `${s.mean.toFixed(digits)} ± ${s.std.toFixed(digits)}` : s.mean.toFixed(digits)) : 'not run');

function renderTable(report: Report): string {
  const lines = report.rows.map(
    (r) => `${r.protocol.padEnd(58)} ours ${fmt(r.ours, r.unit ? 2 : 4).padEnd(16)} paper ${String(r.paper ?? '-').padEnd(14)} target ${r.target}`,
  );
  return lines.join('\n');
}

/** The last `--reproduce` run beside a results file (bench/results/reproduce.json), for the table's committed-encoder column. */
function readReproduce(out: string): ReproduceReport | undefined {
  const file = path.join(path.dirname(out), 'reproduce.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as ReproduceReport) : undefined;
}

/** A row's figures measured with the committed encoders (one per seed), or why there are none. */
function committedCell(row: Row, reproduce: ReproduceReport | undefined): string {
  const checked = reproduce?.checked.filter((c) => c.row === row.id) ?? [];
  if (!checked.length) return reproduce?.notCommitted.some((n) => n.rows.includes(row.id)) ? 'not committed' : '-';
  const value = (v: number) => (row.unit ? `${v.toFixed(2)} %` : v.toFixed(4));
  return checked.map((c) => `${value(c.measured)}${checked.length > 1 || c.seed !== 1 ? ` (seed ${c.seed})` : ''}${c.status === 'met' ? '' : ' **not as recorded**'}`).join(', ');
}

function renderMarkdown(report: Report, svg: string | undefined, docPath: string, reproduce?: ReproduceReport): string {
  const scale = report.classes === 500 ? 'the full benchmark (500 classes)' : `a reduced benchmark of ${report.classes} classes (class counts in the protocols scale with it)`;
  const out: string[] = [];
  out.push('# Results against the paper');
  out.push('');
  out.push('Rewritten by `npm run bench:paper` (source: `bench/paper.ts`, protocols in `bench/lib/protocols.ts`);');
  out.push('the numbers are in `bench/results/paper.json`. Paper: Vorozhtsov & Kitina, *Mendeleev Commun.* 2024, on the');
  out.push('Schuetzke et al. 2023 universal synthetic benchmark.');
  out.push('');
  out.push(`- Run: ${report.date}, ${report.quick ? '**quick smoke run** (not comparable with the paper)' : 'full run'}, ${scale}, ${report.seeds} seed(s), ${report.wallSeconds.toFixed(0)} s wall${report.complete ? '' : ' so far: **run still going or interrupted, some protocols or seeds missing**'}.`);
  out.push(`- Encoder: ${report.encoder}.`);
  for (const line of REPRODUCING) out.push(line);
  if (reproduce) {
    const protocolOf = (id: string) => report.rows.find((r) => r.id === id)?.protocol ?? id;
    const committed = [...new Set(reproduce.checked.map((c) => c.row))];
    const scratch = [...new Set(reproduce.notCommitted.flatMap((n) => n.rows))].filter((r) => !committed.includes(r));
    const partly = [...new Set(reproduce.notCommitted.flatMap((n) => n.rows))].filter((r) => committed.includes(r));
    out.push(`- A clone reproduces in minutes (\`npm run bench:reproduce\`: ${(reproduce.wallSeconds / 60).toFixed(0)} min on the shared 2-core machine): ${committed.map(protocolOf).join('; ') || 'no row'}${partly.length ? ` (seeds not committed: ${partly.map(protocolOf).join('; ')})` : ''}.`);
    out.push(`  From scratch only (hours; the commands are in \`bench/results/reproduce.json\` and \`bench/lib/paper-encoders.ts\`): ${scratch.map(protocolOf).join('; ') || 'no row'}.`);
  }
  out.push('- At 500 classes the protocols are exactly the paper\'s: test split of 4500 spectra; unseen = classes 400-499 enrolled');
  out.push('  after training on 0-399 (900 test spectra); mixtures = encoder trained on 100-499, library 0-99, 900 mixtures per m;');
  out.push('  unknowns = library 0-399, queries from 400-499. Smaller runs scale these splits (first 80 %, first 20 %).');
  out.push('- Single compound, unseen and challenge rows: classes ranked by the mean of their best 5 reference similarities');
  out.push('  (the paper\'s criterion is the k = 3 vote, docs/RESULTS.notes.md compares them on the same embeddings), and when');
  out.push('  its top two classes are a confusable pair (their references overlap in embedding space) their peak templates decide');
  out.push('  between them (`core/identify/peaks/confusable-pairs.ts`), as the product\'s `identify()` does by default when the spectrum is');
  out.push('  at hand; `identify()` names that class unless it calls the spectrum unknown (see the false-unknown row). Other k,');
  out.push('  centroids, test-time shifts, an ensemble and spectral re-ranking were measured and not adopted (notes below,');
  out.push('  `npm run bench:single-errors`).');
  out.push('');
  out.push('| protocol | ours | paper | target | met | committed encoder (`npm run bench:reproduce`) |');
  out.push('| --- | --- | --- | --- | --- | --- |');
  for (const r of report.rows) {
    out.push(`| ${r.protocol} | ${fmt(r.ours, r.unit ? 2 : 4)}${r.ours && r.unit ? ' %' : ''} | ${r.paper ?? '-'}${r.paper !== null && r.unit ? ' %' : ''} | ${r.target}${r.unit ? ' %' : ''} | ${r.met === null ? (r.ours ? 'n/a: reduced run' : '-') : r.met ? 'yes' : 'no'} | ${committedCell(r, reproduce)} |`);
  }
  if (report.mixtures.length) {
    out.push('');
    out.push('## Mixtures: at least n of m components right (%)');
    out.push('');
    out.push('Component count given, as in the paper. Ours: the spectrum is reconstructed from the library (NNLS of its pooled,');
    out.push("blurred profile on each shortlisted class's template, deconvolved from its references, at whole shifts; shortlist by");
    out.push('containment; then swaps while the residual drops; `core/identify/mixture/mixture-spectral.ts`, `mixture-templates.ts`,');
    out.push('[RESULTS-MIXTURES.md](RESULTS-MIXTURES.md)); never enumerates combinations.');
    out.push('"Embedding only": a beam search over normalized sums of class embeddings without the spectrum (the paper\'s criterion). "Full library": the same mixtures');
    out.push("against a library of every class, which the paper's exhaustive method cannot hold in memory (`bench/results/identify.json`).");
    out.push('');
    out.push('| m | n | ours, library of 1/5 of the classes | paper | ours, embedding only | ours, full library |');
    out.push('| --- | --- | --- | --- | --- | --- |');
    for (const m of report.mixtures) {
      m.atLeast.forEach((s, i) =>
        out.push(`| ${m.components} | ${i + 1} | ${fmt(s, 1)} | ${m.paper[i]} | ${fmt(m.atLeastEmbeddingOnly[i], 1)} | ${fmt(m.atLeastFullLibrary[i], 1)} |`),
      );
    }
    out.push('');
    const free = report.mixtures.filter((m) => m.countFreeExact && m.countFreeExactFullLibrary);
    if (free.length) {
      out.push(
        `Count not given (identify() decides how many components, as the daemon asks): exactly the m right classes called a mixture, library of 1/5 of the classes / full library: ${free.map((m) => `${m.components} components ${fmt(m.countFreeExact!, 1)} / ${fmt(m.countFreeExactFullLibrary!, 1)}`).join(', ')} (%).`,
      );
      out.push('');
    }
    out.push(`Mean time per mixture query against the full library: ${report.mixtures.map((m) => `${m.components} components ${m.msPerQueryFullLibrary.toFixed(1)} ms${m.cpuMsPerQueryFullLibrary !== undefined ? ` (${m.cpuMsPerQueryFullLibrary.toFixed(1)} ms CPU)` : ''}`).join(', ')}${report.mixtures.some((m) => m.cpuMsPerQueryFullLibrary !== undefined) ? '; wall time, and in brackets the process CPU time, which the load of a shared machine inflates far less' : ''}.`);
  }
  if (report.unknown) {
    out.push('');
    out.push('## Unknown detection');
    out.push('');
    out.push(`Library of the first 80 % of the classes; test spectra of the rest must come out unknown. Threshold calibrated`);
    out.push(`from the library alone (per class, from each class's leave-one-out spread, at a ${report.unknown.targetFalseUnknownRate} % target false-unknown rate;`);
    out.push('how, and how it behaves: [CALIBRATION.md](CALIBRATION.md)).');
    out.push('');
    out.push(`- AUROC (top similarity, known vs absent): ${fmt(report.unknown.auroc, 4)}`);
    out.push(`- false-unknown rate on known classes: ${fmt(report.unknown.falseUnknownRate)} %`);
    out.push(`- absent classes called unknown: ${fmt(report.unknown.trueUnknownRate)} %`);
  }
  if (svg) {
    out.push('');
    out.push('## Figure 1: same-class vs different-class distances');
    out.push('');
    out.push(`![cosine distance histograms](${svg.split(path.sep).join('/')})`);
  }
  const notes = path.join(path.dirname(docPath), 'RESULTS.notes.md');
  if (existsSync(notes)) {
    out.push('');
    out.push(readFileSync(notes, 'utf8').trim());
  }
  out.push('');
  return out.join('\n');
}

/** Two overlaid histograms of cosine distance, hand-written SVG (no plotting dependency). */
export function histogramSvg(d: DistanceDistributions, bins = 50): string {
  const width = 640;
  const height = 360;
  const m = { left: 50, right: 20, top: 30, bottom: 45 };
  const max = Math.max(...d.same, ...d.different, 1e-6);
  const hist = (v: Float32Array) => {
    const h = new Array(bins).fill(0);
    for (const x of v) h[Math.min(bins - 1, Math.floor((x / max) * bins))]++;
    return h.map((c) => c / v.length);
  };
  const hs = hist(d.same);
  const hd = hist(d.different);
  const top = Math.max(...hs, ...hd);
  const w = (width - m.left - m.right) / bins;
  const bar = (h: number[], color: string) =>
    h
      .map((v, i) => {
        const bh = (v / top) * (height - m.top - m.bottom);
        return `<rect x="${(m.left + i * w).toFixed(1)}" y="${(height - m.bottom - bh).toFixed(1)}" width="${w.toFixed(1)}" height="${bh.toFixed(1)}" fill="${color}" fill-opacity="0.6"/>`;
      })
      .join('');
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => `<text x="${m.left + f * (width - m.left - m.right)}" y="${height - m.bottom + 18}" font-size="11" text-anchor="middle">${Number((f * max).toPrecision(2))}</text>`)
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="${width / 2}" y="18" font-size="14" text-anchor="middle">Cosine distance between test embeddings (${d.same.length} pairs each)</text>
${bar(hd, '#d62728')}${bar(hs, '#1f77b4')}
<line x1="${m.left}" y1="${height - m.bottom}" x2="${width - m.right}" y2="${height - m.bottom}" stroke="black"/>
${ticks}
<text x="${width / 2}" y="${height - 8}" font-size="12" text-anchor="middle">cosine distance (1 - cos)</text>
<rect x="${width - 190}" y="36" width="12" height="12" fill="#1f77b4" fill-opacity="0.6"/><text x="${width - 172}" y="46" font-size="12">same class</text>
<rect x="${width - 190}" y="54" width="12" height="12" fill="#d62728" fill-opacity="0.6"/><text x="${width - 172}" y="64" font-size="12">different class</text>
</svg>
`;
}

// Run as a script (node bin/run-ts.js bench/paper.ts paper|paper-merge ...); imported by tests, it only exports.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await paperProgram().parseAsync(process.argv);
