/**
 * `npm run bench:train-infer-ab`: one model per architecture in one process, our newer paths switched on and off in
 * turn (on, off, on, off), inference timed alone and right after training steps, and the step; so the train/infer
 * ratio is taken against the same model's steady inference, not against an inference measured on another model build
 * (bench:train measures each engine on its own build, and its 'wasm-before' inference read faster for seed and lite
 * in some runs, an artefact this bench does not show). Each time is taken on the wall clock and on this process's CPU
 * time (process.cpuUsage: at a high machine load the wall time of a long step counts other processes' slices).
 *
 * --compare training-paths (default): off = without the training paths (fused training batch norm, SIMD LeakyReLU
 * and AdamW, PadV2, dense dx; WITHOUT_TRAINING_PATHS). --compare all-fast-paths: off = also without the
 * kernel fast paths (leading-axis Sum/Mean, SIMD max-pool gradient, transpose, filter gradient;
 * WITHOUT_FAST_PATHS). Prints a table, writes bench/results/train-infer-ab.json.
 * Usage: npm run bench:train-infer-ab [-- --arch seed,lite,tiny] [--compare training-paths|all-fast-paths] [--out FILE]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { buildEncoderModel, getArchitecture } from '../core/encoder/architectures.ts';
import { ALL_PATHS, initEngine, setWasmPaths, tf, WITHOUT_FAST_PATHS, WITHOUT_TRAINING_PATHS } from '../core/engine/index.ts';
import { AdamW } from '../core/training/adamw.ts';
import { PAPER_LOSS } from '../core/training/loss.ts';
import { trainStep } from '../core/training/step.ts';

const { values } = parseArgs({
  options: {
    arch: { type: 'string', default: 'seed,lite,tiny' },
    compare: { type: 'string', default: 'training-paths' },
    out: { type: 'string', default: 'bench/results/train-infer-ab.json' },
  },
});
if (values.compare !== 'training-paths' && values.compare !== 'all-fast-paths') {
  throw new Error(`--compare must be training-paths or all-fast-paths, got ${values.compare}`);
}
const offPaths = values.compare === 'training-paths' ? WITHOUT_TRAINING_PATHS : WITHOUT_FAST_PATHS;
const setPaths = (on: boolean) => setWasmPaths(on ? ALL_PATHS : offPaths);
const offLabel = values.compare === 'training-paths' ? 'off (no training paths)' : 'off (no fast paths)';

const BATCH = 64;
await initEngine({ backend: 'wasm' });
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
interface Timing {
  wall: number;
  cpu: number;
}
/** ms per spectrum on both clocks. */
function timed(fn: () => void): Timing {
  const w = performance.now();
  const c = cpuMs();
  fn();
  return { wall: (performance.now() - w) / BATCH, cpu: (cpuMs() - c) / BATCH };
}
const medianOf = (ts: Timing[]): Timing => ({ wall: median(ts.map((t) => t.wall)), cpu: median(ts.map((t) => t.cpu)) });
const minCpu = (ts: Timing[]): number => Math.min(...ts.map((t) => t.cpu));

interface Row {
  arch: string;
  paths: 'on' | 'off';
  inferAloneMs: number;
  inferAfterStepsMs: number;
  stepMs: number;
  ratio: number;
  inferCpuMs: number;
  stepCpuMs: number;
  ratioCpu: number;
  /**
   * Fastest step over fastest inference, CPU time: other processes only ever add time (preemption, shared caches),
   * so on a loaded machine the minimum is the steadiest estimate of each one's own cost.
   */
  ratioCpuMin: number;
}
const rows: Row[] = [];
const loadBefore = os.loadavg();
const started = Date.now();
for (const name of values.arch.split(',')) {
  const arch = getArchitecture(name);
  const model = buildEncoderModel(arch, 1);
  const x = tf.randomNormal([BATCH, arch.inputPoints, 1], 0, 1, 'float32', 42);
  const xv = x.dataSync() as Float32Array;
  const labels = Int32Array.from({ length: BATCH }, (_, i) => Math.floor(i / 4));
  const optimizer = new AdamW({ weightDecay: 1e-4 });
  const trainable = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const infer = () => timed(() => tf.tidy(() => void (model.predict(x) as tf.Tensor).dataSync()));
  const step = () => timed(() => trainStep({ model, trainable, optimizer, x: xv, points: arch.inputPoints, labels, loss: { ...PAPER_LOSS, mining: 'batch-all' }, lr: 1e-4 }));
  // The wasm heap grows during the first steps (tens of ms per growth, once per process): not part of a step.
  for (let i = 0; i < 3; i++) step();
  for (const on of [true, false, true, false]) {
    setPaths(on);
    infer();
    step();
    const aloneTimes = Array.from({ length: 7 }, infer);
    const stepTimes = Array.from({ length: 5 }, step);
    const alone = medianOf(aloneTimes);
    const st = medianOf(stepTimes);
    const after = medianOf([infer(), infer(), infer()]);
    rows.push({
      arch: name,
      paths: on ? 'on' : 'off',
      inferAloneMs: alone.wall,
      inferAfterStepsMs: after.wall,
      stepMs: st.wall,
      ratio: st.wall / alone.wall,
      inferCpuMs: alone.cpu,
      stepCpuMs: st.cpu,
      ratioCpu: st.cpu / alone.cpu,
      ratioCpuMin: minCpu(stepTimes) / minCpu(aloneTimes),
    });
  }
  setPaths(true);
  x.dispose();
  optimizer.dispose();
  model.dispose();
}
const loadAfter = os.loadavg();
console.log(`load average before ${loadBefore.map((l) => l.toFixed(1)).join(' ')}, after ${loadAfter.map((l) => l.toFixed(1)).join(' ')}; ${((Date.now() - started) / 1000).toFixed(0)} s`);
console.log('| arch | paths | infer ms/spectrum (alone) | infer after steps | train step ms/spectrum | step / infer (wall) | step / infer (CPU time) | fastest step / fastest infer (CPU time) |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) {
  console.log(`| ${r.arch} | ${r.paths === 'on' ? 'on' : offLabel} | ${r.inferAloneMs.toFixed(2)} | ${r.inferAfterStepsMs.toFixed(2)} | ${r.stepMs.toFixed(2)} | ${r.ratio.toFixed(2)}x | ${r.ratioCpu.toFixed(2)}x | ${r.ratioCpuMin.toFixed(2)}x |`);
}
mkdirSync(path.dirname(values.out), { recursive: true });
writeFileSync(values.out, JSON.stringify({ when: new Date().toISOString(), batch: BATCH, compare: values.compare, off: offLabel, loadBefore, loadAfter, rows }, null, 2) + '\n');
console.log(`wrote ${values.out}`);
