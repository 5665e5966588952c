/**
 * Can the second core speed up training? wasm computes on one thread under Node (docs/ENGINE.md, Threads), so the
 * only way is data parallelism: worker threads, each with its own wasm instance and model copy, each computing the
 * gradients of part of the batch; the main thread averages them (all-reduce) and every worker applies the same AdamW
 * update. This measures, side by side in one process (steps interleaved, so load changes hit both alike):
 *   1 x 64: one worker, the whole batch of 64 (the same round trip of gradients, no averaging)
 *   2 x 32: two workers, 32 spectra each, gradients averaged
 * and splits each step into compute (the slowest worker's gradients + update) and communication (copies, averaging).
 * Batch-norm statistics become per-worker in 2 x 32 (a model-quality change this does not measure).
 *
 *   npm run bench:train-parallel -- [--arch tiny,seed] [--steps 6] [--batch 64]   (writes bench/results/train-parallel.json)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import os from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import type * as tfTypes from '@tensorflow/tfjs';

interface Job {
  readonly arch: string;
  readonly shard: number;
  readonly shards: number;
  readonly batch: number;
}

type Request = { kind: 'grads' } | { kind: 'apply'; grads: Float32Array };
type Reply = { kind: 'ready' } | { kind: 'grads'; grads: Float32Array; ms: number } | { kind: 'applied'; ms: number };

async function workerMain(job: Job): Promise<void> {
  const { initEngine, tf } = await import('../core/engine/index.ts');
  const { buildEncoderModel, getArchitecture } = await import('../core/encoder/architectures.ts');
  const { AdamW } = await import('../core/training/adamw.ts');
  const { PAPER_LOSS, tripletLoss } = await import('../core/training/loss.ts');
  await initEngine({ backend: 'wasm' });
  const arch = getArchitecture(job.arch);
  const model = buildEncoderModel(arch, 1);
  const trainable = model.trainableWeights.map((w) => w.read() as tfTypes.Variable);
  const optimizer = new AdamW({ weightDecay: 1e-4 });
  const n = job.batch / job.shards;
  // Deterministic spectra; labels P x K with K = 4, each shard a contiguous run of whole classes.
  const x = new Float32Array(n * arch.inputPoints);
  let seed = 1 + job.shard;
  for (let i = 0; i < x.length; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    x[i] = seed / 4294967296 - 0.5;
  }
  const labels = Int32Array.from({ length: n }, (_, i) => Math.floor((job.shard * n + i) / 4));
  const port = parentPort;
  if (!port) throw new Error('not a worker');
  port.on('message', (req: Request) => {
    const t0 = performance.now();
    if (req.kind === 'grads') {
      const { grads } = tf.variableGrads(() => {
        const input = tf.tensor3d(x, [n, arch.inputPoints, 1]);
        return tripletLoss(model.apply(input, { training: true }) as tfTypes.Tensor2D, labels, { ...PAPER_LOSS, mining: 'batch-all' });
      }, trainable);
      const parts = trainable.map((v) => grads[v.name].dataSync() as Float32Array);
      const flat = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
      let o = 0;
      for (const p of parts) {
        flat.set(p, o);
        o += p.length;
      }
      tf.dispose(grads);
      const reply: Reply = { kind: 'grads', grads: flat, ms: performance.now() - t0 };
      port.postMessage(reply, [flat.buffer]);
    } else {
      const named: Record<string, tfTypes.Tensor> = {};
      let o = 0;
      for (const v of trainable) {
        named[v.name] = tf.tensor(req.grads.subarray(o, o + v.size), v.shape);
        o += v.size;
      }
      optimizer.apply(trainable, named, 1e-4);
      tf.dispose(Object.values(named));
      const reply: Reply = { kind: 'applied', ms: performance.now() - t0 };
      port.postMessage(reply);
    }
  });
  port.postMessage({ kind: 'ready' } satisfies Reply);
}

class Replica {
  private readonly worker: Worker;
  private waiting: ((r: Reply) => void) | undefined;
  constructor(job: Job) {
    this.worker = new Worker(new URL('./worker-boot.mjs', import.meta.url), { workerData: { entry: import.meta.url, job } });
    this.worker.on('message', (r: Reply) => this.waiting?.(r));
    this.worker.on('error', (e) => {
      console.error(`worker failed: ${e.message}`);
      process.exit(1);
    });
  }
  next(): Promise<Reply> {
    return new Promise((resolve) => (this.waiting = resolve));
  }
  async ask(req: Request, transfer: ArrayBuffer[] = []): Promise<Reply> {
    const reply = this.next();
    this.worker.postMessage(req, transfer);
    return reply;
  }
  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

interface StepTiming {
  totalMs: number;
  computeMs: number;
}

/** One data-parallel step over the replicas: gradients, average, update. */
async function step(replicas: Replica[]): Promise<StepTiming> {
  const t0 = performance.now();
  const replies = await Promise.all(replicas.map((r) => r.ask({ kind: 'grads' })));
  const grads = replies.map((r) => (r.kind === 'grads' ? r : undefined)).filter((r) => r !== undefined);
  const avg = grads[0].grads;
  if (grads.length > 1) {
    for (let g = 1; g < grads.length; g++) {
      const other = grads[g].grads;
      for (let i = 0; i < avg.length; i++) avg[i] += other[i];
    }
    const inv = 1 / grads.length;
    for (let i = 0; i < avg.length; i++) avg[i] *= inv;
  }
  // The last replica takes the buffer itself; the others get copies (structured clone).
  const applied = await Promise.all(replicas.map((r, i) => (i === replicas.length - 1 ? r.ask({ kind: 'apply', grads: avg }, [avg.buffer as ArrayBuffer]) : r.ask({ kind: 'apply', grads: avg }))));
  const gradMs = Math.max(...grads.map((g) => g.ms));
  const applyMs = Math.max(...applied.map((a) => (a.kind === 'applied' ? a.ms : 0)));
  return { totalMs: performance.now() - t0, computeMs: gradMs + applyMs };
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { arch: { type: 'string', default: 'tiny,seed' }, steps: { type: 'string', default: '6' }, batch: { type: 'string', default: '64' } } });
  const batch = Number(values.batch);
  const steps = Number(values.steps);
  console.log(`load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.cpus().length} cores`);
  const rows: Array<Record<string, string | number>> = [];
  const loadBefore = os.loadavg();
  console.log('| arch | layout | step ms (median) | ms/spectrum | compute ms | communication ms | speed-up vs 1 x 64 |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const arch of values.arch.split(',')) {
    const layouts: Record<string, Replica[]> = {
      [`1 x ${batch}`]: [new Replica({ arch, shard: 0, shards: 1, batch })],
      [`2 x ${batch / 2}`]: [0, 1].map((shard) => new Replica({ arch, shard, shards: 2, batch })),
    };
    const all = Object.values(layouts).flat();
    await Promise.all(all.map((r) => r.next()));
    const timings: Record<string, StepTiming[]> = {};
    for (let s = 0; s <= steps; s++) {
      for (const [name, replicas] of Object.entries(layouts)) {
        const t = await step(replicas);
        if (s > 0) (timings[name] ??= []).push(t); // step 0 warms up (JIT, XNNPACK caches)
      }
    }
    const base = median(timings[`1 x ${batch}`].map((t) => t.totalMs));
    for (const [name, ts] of Object.entries(timings)) {
      const total = median(ts.map((t) => t.totalMs));
      const compute = median(ts.map((t) => t.computeMs));
      rows.push({ arch, layout: name, stepMs: total, msPerSpectrum: total / batch, computeMs: compute, communicationMs: total - compute, speedupVsOne: base / total });
      console.log(`| ${arch} | ${name} | ${total.toFixed(0)} | ${(total / batch).toFixed(2)} | ${compute.toFixed(0)} | ${(total - compute).toFixed(0)} | ${(base / total).toFixed(2)}x |`);
    }
    await Promise.all(all.map((r) => r.terminate()));
  }
  const file = path.join('bench', 'results', 'train-parallel.json');
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({ generatedAt: new Date().toISOString(), node: process.version, cpus: os.cpus().length, loadAverage: { before: loadBefore, after: os.loadavg() }, batch, steps, results: rows }, null, 2) + '\n');
  console.log(`wrote ${file}`);
}

if (isMainThread) await main();
else await workerMain((workerData as { job: Job }).job);
