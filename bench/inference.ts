/**
 * Inference speed per architecture: tfjs on wasm (our kernels) vs onnxruntime-node (1 and 2 intra-op threads),
 * ms per spectrum at batch 1 and 64, measured side by side in one run: each repetition runs every engine once in
 * turn, so a change of machine load hits them all alike (the machine is shared: only same-run ratios mean much).
 * Also checks each exported model against tfjs (max |difference| of the embeddings).
 *
 * npm run bench:inference [-- --quick] [-- --arch seed,lite,tiny] [-- --reps N] [-- --out FILE]
 * Writes bench/results/inference.json (or FILE).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initEngine, tf } from '../core/engine/index.ts';
import { buildEncoderModel, getArchitecture } from '../core/encoder/architectures.ts';
import { MODEL_FORMAT, TfjsEncoder, type ModelCard } from '../core/encoder/model-files.ts';
import type { Encoder } from '../core/encoder/types.ts';
import { maxEmbeddingDifference, OnnxEncoder, probeSpectra } from '../core/engine/onnx.ts';

interface Args {
  quick: boolean;
  reps: number;
  archs: string[];
  out: string;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { quick: false, reps: 5, archs: ['seed', 'lite', 'tiny'], out: path.join('bench', 'results', 'inference.json') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--quick') args.quick = true;
    else if (a === '--reps') args.reps = Number(next());
    else if (a === '--arch') args.archs = next().split(',');
    else if (a === '--out') args.out = next();
    else throw new Error(`unknown option ${a}`);
  }
  if (args.quick) args.reps = Math.min(args.reps, 2);
  return args;
}

const BATCHES = [1, 64];
/** Calls per timed repetition at batch 1, so one repetition is not a single sub-millisecond call. */
const CALLS_AT_BATCH_1 = 16;

interface Row {
  arch: string;
  engine: string;
  batch: number;
  msPerSpectrum: number;
  /** Every repetition's ms/spectrum, for the spread. */
  samples: number[];
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function timeOnce(encoder: Encoder, x: Float32Array, batch: number): Promise<number> {
  const calls = batch === 1 ? CALLS_AT_BATCH_1 : 1;
  const t0 = performance.now();
  for (let c = 0; c < calls; c++) await encoder.embed(x, batch);
  return (performance.now() - t0) / (calls * batch);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const engineInfo = await initEngine({ backend: 'wasm' });
  const rows: Row[] = [];
  const checks: Array<{ arch: string; maxDifference: number }> = [];
  for (const arch of args.archs) {
    const spec = getArchitecture(arch);
    const model = buildEncoderModel(spec, 1);
    const dim = model.outputs[0].shape[1] as number;
    const grid = { points: spec.inputPoints, xStart: 0, xEnd: spec.inputPoints - 1, xUnit: 'index' };
    const card = { format: MODEL_FORMAT, version: `bench-${arch}`, createdAt: new Date().toISOString(), architecture: spec, embeddingDim: dim, inputGrid: grid, preprocessing: '', engine: { backend: 'wasm', tfjs: tf.version.tfjs } } satisfies ModelCard;
    const tfjs = new TfjsEncoder(model, card);
    const engines: Array<[string, Encoder]> = [
      ['tfjs-wasm', tfjs],
      ['onnx-1t', await OnnxEncoder.fromTfjs(tfjs, { threads: 1 })],
      ['onnx-2t', await OnnxEncoder.fromTfjs(tfjs, { threads: 2 })],
    ];
    const diff = await maxEmbeddingDifference(engines[1][1], tfjs);
    checks.push({ arch, maxDifference: diff });
    for (const batch of BATCHES) {
      const x = probeSpectra(spec.inputPoints, batch);
      for (const [, enc] of engines) await enc.embed(x, batch); // warm-up: first-call allocations, JIT
      const samples = new Map<string, number[]>(engines.map(([name]) => [name, []]));
      for (let r = 0; r < args.reps; r++) {
        for (const [name, enc] of engines) samples.get(name)!.push(await timeOnce(enc, x, batch));
      }
      for (const [name] of engines) {
        const s = samples.get(name)!;
        rows.push({ arch, engine: name, batch, msPerSpectrum: median(s), samples: s });
      }
    }
    for (const [, enc] of engines) enc.dispose();
  }

  const table = args.archs.flatMap((arch) =>
    BATCHES.map((batch) => {
      const get = (engine: string): number => rows.find((r) => r.arch === arch && r.batch === batch && r.engine === engine)!.msPerSpectrum;
      const t = get('tfjs-wasm');
      return { arch, batch, tfjs: t, onnx1: get('onnx-1t'), onnx2: get('onnx-2t'), speedup1: t / get('onnx-1t'), speedup2: t / get('onnx-2t') };
    }),
  );
  console.log('\nms per spectrum (median of repetitions; same run, engines interleaved)');
  console.log('arch                     batch  tfjs-wasm  onnx-1t  onnx-2t  tfjs/onnx-1t  tfjs/onnx-2t');
  for (const t of table) {
    console.log(
      `${t.arch.padEnd(24)} ${String(t.batch).padStart(5)}  ${t.tfjs.toFixed(3).padStart(9)}  ${t.onnx1.toFixed(3).padStart(7)}  ${t.onnx2.toFixed(3).padStart(7)}  ${t.speedup1.toFixed(2).padStart(12)}  ${t.speedup2.toFixed(2).padStart(12)}`,
    );
  }
  console.log('\nonnx vs tfjs, max |embedding difference| on probe spectra: ' + checks.map((c) => `${c.arch} ${c.maxDifference.toExponential(2)}`).join(', '));

  const out = {
    benchmark: 'inference',
    date: new Date().toISOString(),
    quick: args.quick,
    reps: args.reps,
    callsAtBatch1: CALLS_AT_BATCH_1,
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, loadAverage: os.loadavg(), node: process.version },
    engines: { tfjs: `tfjs ${tf.version.tfjs}, backend ${engineInfo.backend}, ${engineInfo.threads} thread(s)`, onnx: 'onnxruntime-node CPU provider, intra-op 1 or 2 threads' },
    table,
    rows,
    selfCheck: checks,
  };
  const file = args.out;
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
  console.log(`wrote ${file}`);
}

await main();
