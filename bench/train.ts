/**
 * Training/inference speed per architecture and engine, measured side by side in one run (the machine is shared, so
 * only same-run ratios mean much). `npm run bench:train -- --quick` measures per-step timings only (< 3 minutes);
 * without --quick it also checks wasm-vs-cpu gradients at the full input length and runs the wall-time-to-99 %
 * training run through core/training's train().
 *
 * Options: --quick, --batch N (default 64), --reps N (timed repetitions, default 5), --arch a,b (default: seed,lite,tiny; all: every architecture),
 * --engines wasm,wasm-no-training-paths,wasm-before,wasm-stock,cpu (default: all but wasm-no-training-paths;
 * wasm-no-training-paths: our kernels without the training paths (fused training batch norm, SIMD LeakyReLU, AdamW,
 * PadV2); wasm-before: also without the kernel fast paths (leading-axis Sum/Mean as average pools, SIMD max-pool
 * gradient and transpose), for before/after ratios in one run), --time-arch a,b (which architectures get the time-to-99 % run;
 * default: all measured), --skip-time-to-99 (full mode without the training run), --cpu-batch N (default 4: cpu is ~50-100x slower). With --quick the
 * cpu engine measures inference only (one seed-model cpu training step alone takes minutes at batch 4).
 * Writes bench/results/train.json (--out FILE: elsewhere, e.g. a full run beside the quick table).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ALL_PATHS, initEngine, setWasmPaths, STOCK_KERNELS, tf, WITHOUT_FAST_PATHS, WITHOUT_TRAINING_PATHS, type WasmPaths } from '../core/engine/index.ts';
import { AdamW } from '../core/training/adamw.ts';
import { PAPER_LOSS, tripletLoss } from '../core/training/loss.ts';
import { trainStep } from '../core/training/step.ts';

interface Args {
  quick: boolean;
  skipTimeTo99: boolean;
  batch: number;
  cpuBatch: number;
  reps: number;
  archs?: string[];
  /** Architectures that get the (long) time-to-99 % training run; default: all measured ones. */
  timeArchs?: string[];
  engines: string[];
  /** Where the JSON goes (default bench/results/train.json). */
  out: string;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { quick: false, skipTimeTo99: false, batch: 64, cpuBatch: 4, reps: 5, engines: ['wasm', 'wasm-before', 'wasm-stock', 'cpu'], out: path.join('bench', 'results', 'train.json') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--quick') args.quick = true;
    else if (a === '--skip-time-to-99') args.skipTimeTo99 = true;
    else if (a === '--batch') args.batch = Number(next());
    else if (a === '--cpu-batch') args.cpuBatch = Number(next());
    else if (a === '--reps') args.reps = Number(next());
    else if (a === '--arch') args.archs = next().split(',');
    else if (a === '--time-arch') args.timeArchs = next().split(',');
    else if (a === '--engines') args.engines = next().split(',');
    else if (a === '--out') args.out = next();
    else throw new Error(`unknown option ${a}`);
  }
  return args;
}

/** The architectures: the paper's seed and our two; `--arch all` measures every registered one. */
const DEFAULT_ARCHS = ['seed', 'lite', 'tiny'];

interface ArchEntry {
  name: string;
  points: number;
  build: () => tf.LayersModel;
}

/** Architectures from core/encoder when it is there; otherwise the seed model built here (test/engine's copy). */
async function loadArchitectures(): Promise<ArchEntry[]> {
  try {
    const enc = await import('../core/encoder/architectures.ts');
    return Object.values(enc.ARCHITECTURES).map((spec) => ({ name: spec.name, points: spec.inputPoints, build: () => enc.buildEncoderModel(spec, 1) }));
  } catch (err) {
    console.log(`core/encoder/architectures.ts unavailable (${(err as Error).message.split('\n')[0]}); using the built-in seed model`);
    const { buildSeedModel } = await import('../support/seed-model.ts');
    return [{ name: 'seed', points: 5000, build: () => buildSeedModel(5000, 1) }];
  }
}

type LossFn = (emb: tf.Tensor2D, labels: Int32Array) => tf.Scalar;

const LOSS_NAME = 'core/training tripletLoss (batch-all, paper margin/threshold)';
const paperLoss: LossFn = (e, y) => tripletLoss(e, y, { mining: 'batch-all' });

interface Row {
  arch: string;
  engine: string;
  batch: number;
  inferMsPerSpectrum: number;
  trainMsPerSpectrum: number | null;
  trainOverInfer: number | null;
  /** The same ratio on this process's CPU time: less distorted by other processes' load than wall time. */
  trainOverInferCpu: number | null;
  note?: string;
}

function labelsFor(batch: number): Int32Array {
  // P x K with K = 4, as the training sampler does.
  return Int32Array.from({ length: batch }, (_, i) => Math.floor(i / 4));
}

/** This process's CPU time in ms (wasm computes on the main thread). */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

/**
 * The wasm paths of each engine, before/after in one run. wasm-before: our kernels without the kernel fast paths
 * (nor the training paths); wasm-no-training-paths: the kernel fast paths on, the training paths off; wasm-stock:
 * tfjs's stock kernels and gradients. wasm and cpu: every path (cpu never reads them).
 */
const PATHS_OF_ENGINE: Record<string, WasmPaths> = {
  'wasm-before': WITHOUT_FAST_PATHS,
  'wasm-no-training-paths': WITHOUT_TRAINING_PATHS,
  'wasm-stock': STOCK_KERNELS,
};

async function measure(arch: ArchEntry, engine: string, batch: number, reps: number, inferOnly: boolean): Promise<Row> {
  const backend = engine === 'cpu' ? 'cpu' : 'wasm';
  await tf.setBackend(backend);
  setWasmPaths(PATHS_OF_ENGINE[engine] ?? ALL_PATHS);
  const model = arch.build();
  const x = tf.tidy(() => tf.randomNormal([batch, arch.points, 1], 0, 1, 'float32', 42));
  const labels = labelsFor(batch);
  const xValues = x.dataSync() as Float32Array;
  // The step train() runs: core/training's trainStep (paper triplet loss, batch-all, our AdamW).
  const opt = new AdamW({ weightDecay: 1e-4 });
  const trainable = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const infer = () => tf.tidy(() => void (model.predict(x) as tf.Tensor).dataSync());
  const step = () => void trainStep({ model, trainable, optimizer: opt, x: xValues, points: arch.points, labels, loss: { ...PAPER_LOSS, mining: 'batch-all' }, lr: 1e-4 });
  let note: string | undefined;
  let canTrain = !inferOnly;
  if (inferOnly) note = 'inference only (--quick)';
  // Warm-up (JIT, XNNPACK operator caches) except on cpu, whose single timed run is long enough to need none.
  try {
    if (backend !== 'cpu') infer();
    // Three steps: the wasm heap grows during the first ones (tens of ms per growth, once per process).
    if (canTrain && backend !== 'cpu') for (let i = 0; i < 3; i++) step();
  } catch (err) {
    canTrain = false;
    note = `training does not run: ${(err as Error).message.split('\n')[0].slice(0, 80)}`;
  }
  const inferTimes: number[] = [];
  const trainTimes: number[] = [];
  const inferCpu: number[] = [];
  const trainCpu: number[] = [];
  // Interleaved, so load changes on the shared machine hit both alike; the median resists outliers.
  for (let r = 0; r < reps; r++) {
    // After a step every weight is a new tensor, and XNNPACK re-packs a filter or matrix the first time it sees one
    // (seed's dense matrix: ~30 ms per batch): an untimed inference first, so the timed one is steady inference.
    if (canTrain && r > 0) infer();
    let t = performance.now();
    let c = cpuMs();
    infer();
    inferTimes.push((performance.now() - t) / batch);
    inferCpu.push(cpuMs() - c);
    if (canTrain) {
      t = performance.now();
      c = cpuMs();
      step();
      trainTimes.push((performance.now() - t) / batch);
      trainCpu.push(cpuMs() - c);
    }
  }
  x.dispose();
  opt.dispose();
  model.dispose();
  setWasmPaths(ALL_PATHS);
  const inferMs = median(inferTimes);
  const trainMs = canTrain ? median(trainTimes) : null;
  // Ratio of adjacent measurements, then the median: load swings between repetitions cancel out.
  const ratio = canTrain ? median(trainTimes.map((t, i) => t / inferTimes[i])) : null;
  const ratioCpu = canTrain ? median(trainCpu.map((t, i) => t / inferCpu[i])) : null;
  return { arch: arch.name, engine, batch, inferMsPerSpectrum: inferMs, trainMsPerSpectrum: trainMs, trainOverInfer: ratio, trainOverInferCpu: ratioCpu, note };
}

/** Whole-model gradients at the full input length, wasm (ours) vs cpu: max relative error per weight. */
function gradientCheck(arch: ArchEntry, loss: LossFn): { maxRelativeError: number; maxAbsGradient: number } {
  const batch = 4;
  // Two classes of two: every anchor has a positive and negatives, so the loss (and its gradient) is not zero.
  const labels = Int32Array.from({ length: batch }, (_, i) => i % 2);
  const model = arch.build();
  const xs = tf.tidy(() => tf.randomNormal([batch, arch.points, 1], 0, 1, 'float32', 7).dataSync() as Float32Array);
  const grads = (backend: string) => {
    void tf.setBackend(backend);
    return tf.tidy(() => {
      const x = tf.tensor3d(xs, [batch, arch.points, 1]);
      const { grads: g } = tf.variableGrads(() => loss(model.apply(x, { training: true }) as tf.Tensor2D, labels));
      return Object.keys(g)
        .sort()
        .map((k) => Float32Array.from(g[k].dataSync()));
    });
  };
  const w = grads('wasm');
  const c = grads('cpu');
  void tf.setBackend('wasm');
  model.dispose();
  let worst = 0;
  let largest = 0;
  w.forEach((gw, i) => {
    let diff = 0;
    let scale = 1e-12;
    for (let j = 0; j < gw.length; j++) {
      diff = Math.max(diff, Math.abs(gw[j] - c[i][j]));
      scale = Math.max(scale, Math.abs(c[i][j]));
    }
    worst = Math.max(worst, diff / scale);
    largest = Math.max(largest, scale);
  });
  return { maxRelativeError: worst, maxAbsGradient: largest };
}

/**
 * Hook for the full run: wall time until the kNN (k=3) accuracy on the benchmark test split reaches 99 % when trained
 * on 20 spectra per class, via core/training's train() (validation on the val split each epoch, target 0.99).
 */
async function timeTo99(archName: string): Promise<Record<string, unknown>> {
  const training = await import('../core/training/index.ts');
  const t0 = performance.now();
  const result = await training.train({
    train: { name: 'benchmark', perClass: 20, seed: 1 },
    arch: archName,
    epochs: 60,
    seed: 1,
    targetAccuracy: 0.99,
    onProgress: (p) => {
      if (p.kind === 'epoch') console.log(`  epoch ${p.record.epoch}: val accuracy ${p.record.valAccuracy ?? '-'}, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    },
  });
  const test = training.prepareTestSplit('benchmark');
  const { embedRows } = await import('../core/encoder/model-files.ts');
  const dim = result.trainEmbeddings.length / result.trainData.n;
  const testEmb = await embedRows(result.model, test.x, test.n, test.points, dim);
  const accuracy = training.knnAccuracy(result.trainEmbeddings, result.trainData.y, testEmb, test.y, 3);
  result.model.dispose();
  return { arch: archName, wallSeconds: (performance.now() - t0) / 1000, epochs: result.epochsRun, stoppedBecause: result.stoppedBecause, testAccuracy: accuracy };
}

function printTable(rows: Row[]): void {
  const header = ['arch', 'engine', 'batch', 'infer ms/spectrum', 'train ms/spectrum', 'train/infer', 'train/infer (cpu time)', 'note'];
  const cells = rows.map((r) => [
    r.arch,
    r.engine,
    String(r.batch),
    r.inferMsPerSpectrum.toFixed(2),
    r.trainMsPerSpectrum === null ? 'n/a' : r.trainMsPerSpectrum.toFixed(2),
    r.trainOverInfer === null ? 'n/a' : r.trainOverInfer.toFixed(2) + 'x',
    r.trainOverInferCpu === null ? 'n/a' : r.trainOverInferCpu.toFixed(2) + 'x',
    r.note ?? '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => '| ' + c.map((v, i) => v.padEnd(widths[i])).join(' | ') + ' |';
  console.log(line(header));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  cells.forEach((c) => console.log(line(c)));
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  const info = await initEngine({ backend: 'wasm', logger: (m) => console.log(m) });
  const wanted = args.archs ?? DEFAULT_ARCHS;
  const archs = (await loadArchitectures()).filter((a) => wanted.includes('all') || wanted.includes(a.name));
  console.log(`loss: ${LOSS_NAME}; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.cpus().length} cores`);
  const rows: Row[] = [];
  for (const arch of archs) {
    for (const engine of args.engines) {
      const batch = engine === 'cpu' ? args.cpuBatch : args.batch;
      const reps = engine === 'cpu' ? 1 : args.reps;
      const row = await measure(arch, engine, batch, reps, args.quick && engine === 'cpu');
      rows.push(row);
      console.log(`  ${arch.name} ${engine}: infer ${row.inferMsPerSpectrum.toFixed(2)} ms, train ${row.trainMsPerSpectrum?.toFixed(2) ?? 'n/a'} ms per spectrum`);
    }
  }
  await tf.setBackend('wasm');
  printTable(rows);
  const out: Record<string, unknown> = {
    generatedAt: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    loadAverage: os.loadavg(),
    engine: info,
    loss: LOSS_NAME,
    optimizer: 'core/training AdamW (weight decay 1e-4)',
    quick: args.quick,
    results: rows,
  };
  if (!args.quick) {
    out.gradientCheck = archs.map((a) => ({ arch: a.name, points: a.points, batch: 4, ...gradientCheck(a, paperLoss) }));
    console.log('gradient check (wasm vs cpu, full input length):', JSON.stringify(out.gradientCheck));
    out.timeTo99 = [];
    for (const a of args.skipTimeTo99 ? [] : archs.filter((x) => !args.timeArchs || args.timeArchs.includes(x.name))) {
      try {
        (out.timeTo99 as unknown[]).push(await timeTo99(a.name));
      } catch (err) {
        (out.timeTo99 as unknown[]).push({ arch: a.name, error: (err as Error).message.split('\n')[0] });
      }
    }
    console.log('time to 99 %:', JSON.stringify(out.timeTo99));
  }
  out.benchSeconds = (performance.now() - t0) / 1000;
  const file = args.out;
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
  console.log(`wrote ${file} in ${(out.benchSeconds as number).toFixed(0)} s`);
}

await main();
