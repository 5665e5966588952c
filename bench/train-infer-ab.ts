/**
 * `npm run bench:train-infer-ab`: one model per architecture in one process, our fast paths switched on and off in
 * turn (on, off, on, off), inference timed alone and right after training steps, and the step; so the train/infer
 * ratio is taken against the same model's steady inference, not against an inference measured on another model build
 * (bench:train measures each engine on its own build, and its 'wasm-before' inference read faster for seed and lite
 * in some runs, an artefact this bench does not show). Prints a table, writes bench/results/train-infer-ab.json.
 * Usage: npm run bench:train-infer-ab [-- --arch seed,lite,tiny]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { buildEncoderModel, getArchitecture } from '../core/encoder/architectures.ts';
import { initEngine, setFastPathsEnabled, tf } from '../core/engine/index.ts';
import { AdamW } from '../core/training/adamw.ts';
import { PAPER_LOSS } from '../core/training/loss.ts';
import { trainStep } from '../core/training/step.ts';

const { values } = parseArgs({ options: { arch: { type: 'string', default: 'seed,lite,tiny' } } });
const BATCH = 64;
await initEngine({ backend: 'wasm' });
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const rows: Array<{ arch: string; fastPaths: boolean; inferAloneMs: number; inferAfterStepsMs: number; stepMs: number; ratio: number }> = [];
const loadBefore = os.loadavg();
for (const name of values.arch.split(',')) {
  const arch = getArchitecture(name);
  const model = buildEncoderModel(arch, 1);
  const x = tf.randomNormal([BATCH, arch.inputPoints, 1], 0, 1, 'float32', 42);
  const xv = x.dataSync() as Float32Array;
  const labels = Int32Array.from({ length: BATCH }, (_, i) => Math.floor(i / 4));
  const optimizer = new AdamW({ weightDecay: 1e-4 });
  const trainable = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const infer = () => {
    const t = performance.now();
    tf.tidy(() => void (model.predict(x) as tf.Tensor).dataSync());
    return (performance.now() - t) / BATCH;
  };
  const step = () => {
    const t = performance.now();
    trainStep({ model, trainable, optimizer, x: xv, points: arch.inputPoints, labels, loss: { ...PAPER_LOSS, mining: 'batch-all' }, lr: 1e-4 });
    return (performance.now() - t) / BATCH;
  };
  for (const fastPaths of [true, false, true, false]) {
    setFastPathsEnabled(fastPaths);
    infer();
    step();
    const alone = median([infer(), infer(), infer(), infer(), infer()]);
    const st = median([step(), step(), step()]);
    const after = median([infer(), infer(), infer()]);
    rows.push({ arch: name, fastPaths, inferAloneMs: alone, inferAfterStepsMs: after, stepMs: st, ratio: st / alone });
  }
  setFastPathsEnabled(true);
  x.dispose();
  optimizer.dispose();
  model.dispose();
}
console.log('| arch | fast paths | infer ms/spectrum (alone) | infer after steps | train step ms/spectrum | step / infer |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const r of rows) console.log(`| ${r.arch} | ${r.fastPaths ? 'on' : 'off'} | ${r.inferAloneMs.toFixed(2)} | ${r.inferAfterStepsMs.toFixed(2)} | ${r.stepMs.toFixed(2)} | ${r.ratio.toFixed(2)}x |`);
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/train-infer-ab.json', JSON.stringify({ when: new Date().toISOString(), batch: BATCH, loadBefore, loadAfter: os.loadavg(), rows }, null, 2) + '\n');
console.log('wrote bench/results/train-infer-ab.json');
