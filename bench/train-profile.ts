/**
 * Where one training step's time goes, per kernel, on wasm: every kernel registered for the wasm backend is wrapped
 * with a timer that keeps SELF time (a kernel of ours that runs other kernels is charged only for its own work).
 * Time outside all kernels (tape bookkeeping, tensor creation, JS glue) is reported as "(outside kernels)". Only the
 * steps' kernels are tallied; the inference the ratio divides by is timed on steady weights (an untimed inference
 * after each step absorbs XNNPACK's re-packing of the updated weights).
 * The step is core/training's trainStep (the triplet loss, AdamW), batch P x K = 16 x 4 by default.
 * --clock cpu (default) times with this process's CPU time (process.cpuUsage): on the shared, oversubscribed machine
 * wall time inflates long kernels (preempted many times) far more than short ones, CPU time much less so.
 *
 *   npm run bench:train-profile -- [--arch seed,tiny] [--batch 64] [--reps 3] [--top 15] [--clock cpu|user|wall]
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { initEngine, tf } from '../core/engine/index.ts';
import { buildEncoderModel, getArchitecture } from '../core/encoder/architectures.ts';
import { AdamW } from '../core/training/adamw.ts';
import { PAPER_LOSS } from '../core/training/loss.ts';
import { trainStep } from '../core/training/step.ts';

const { values } = parseArgs({
  options: {
    arch: { type: 'string', default: 'seed,tiny' },
    batch: { type: 'string', default: '64' },
    reps: { type: 'string', default: '3' },
    top: { type: 'string', default: '15' },
    // Kernels to break down by input shapes (e.g. Conv2D,MaxPoolGrad).
    shapes: { type: 'string', default: '' },
    clock: { type: 'string', default: 'cpu' },
  },
});

if (!['cpu', 'user', 'wall'].includes(values.clock)) throw new Error(`--clock must be cpu, user or wall, got ${values.clock}`);
/** Milliseconds on the chosen clock ('user': CPU time without the kernel's, e.g. page faults on fresh heap pages). */
const now: () => number =
  values.clock === 'cpu'
    ? () => {
        const u = process.cpuUsage();
        return (u.user + u.system) / 1000;
      }
    : values.clock === 'user'
      ? () => process.cpuUsage().user / 1000
      : () => performance.now();

interface Tally {
  calls: number;
  selfMs: number;
}

const tallies = new Map<string, Tally>();
/** Kernels are tallied only inside training steps. */
let collecting = false;
const byShape = new Set(values.shapes.split(',').filter(Boolean));
/** Time spent in child kernels of the kernel now running, per nesting level. */
const childMs: number[] = [];

function instrument(): void {
  for (const config of tf.getKernelsForBackend('wasm')) {
    const inner = config.kernelFunc;
    const kernelName = config.kernelName;
    tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel({
      ...config,
      kernelFunc: (args) => {
        if (!collecting) return inner(args);
        const name = byShape.has(kernelName) ? `${kernelName} ${Object.values(args.inputs).map((t) => t?.shape.join('x')).join(', ')}` : kernelName;
        childMs.push(0);
        const t0 = now();
        try {
          return inner(args);
        } finally {
          const total = now() - t0;
          const children = childMs.pop() ?? 0;
          if (childMs.length) childMs[childMs.length - 1] += total;
          const t = tallies.get(name) ?? { calls: 0, selfMs: 0 };
          t.calls++;
          t.selfMs += total - children;
          tallies.set(name, t);
        }
      },
    });
  }
}

function deterministic(n: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    out[i] = a / 4294967296 - 0.5;
  }
  return out;
}

async function main(): Promise<void> {
  await initEngine({ backend: 'wasm' });
  instrument();
  const batch = Number(values.batch);
  const reps = Number(values.reps);
  for (const name of values.arch.split(',')) {
    const arch = getArchitecture(name);
    const model = buildEncoderModel(arch, 1);
    const trainable = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const optimizer = new AdamW({ weightDecay: 1e-4 });
    const x = deterministic(batch * arch.inputPoints, 3);
    const labels = Int32Array.from({ length: batch }, (_, i) => Math.floor(i / 4));
    const step = () => trainStep({ model, trainable, optimizer, x, points: arch.inputPoints, labels, loss: { ...PAPER_LOSS, mining: 'batch-all' }, lr: 1e-4 });
    const infer = () => tf.tidy(() => void (model.predict(tf.tensor3d(x, [batch, arch.inputPoints, 1])) as tf.Tensor).dataSync());
    // The wasm heap grows during the first steps (tens of ms per growth, once per process): not part of a step.
    for (let i = 0; i < 3; i++) step();
    infer();
    tallies.clear();
    let stepMs = 0;
    let inferMs = 0;
    for (let r = 0; r < reps; r++) {
      collecting = true;
      let t0 = now();
      step();
      stepMs += now() - t0;
      collecting = false;
      // After a step every weight is a new tensor and XNNPACK re-packs filters and matrices on first use: untimed.
      infer();
      t0 = now();
      infer();
      inferMs += now() - t0;
    }
    const rows = [...tallies.entries()].map(([k, t]) => ({ kernel: k, calls: t.calls / reps, ms: t.selfMs / reps }));
    const kernelMs = rows.reduce((s, r) => s + r.ms, 0);
    const perStep = stepMs / reps;
    rows.push({ kernel: '(outside kernels)', calls: 0, ms: perStep - kernelMs });
    rows.sort((a, b) => b.ms - a.ms);
    console.log(`\n${name}: batch ${batch}, ${values.clock} clock, load ${os.loadavg()[0].toFixed(1)}, train step ${perStep.toFixed(0)} ms (${(perStep / batch).toFixed(2)} ms/spectrum), inference ${(inferMs / reps).toFixed(0)} ms, ratio ${(stepMs / inferMs).toFixed(2)}x`);
    console.log('| kernel | calls/step | self ms/step | share |');
    console.log('| --- | --- | --- | --- |');
    for (const r of rows.slice(0, Number(values.top))) console.log(`| ${r.kernel} | ${r.calls.toFixed(0)} | ${r.ms.toFixed(1)} | ${((100 * r.ms) / perStep).toFixed(1)} % |`);
    optimizer.dispose();
    model.dispose();
  }
}

await main();
