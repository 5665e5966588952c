/**
 * Speed of the benchmark generator, the .npy writer, `spectrad dataset` end to end, and the preprocessing chain,
 * measured side by side in one run (the machine is shared: compare ratios, not absolute times).
 * Prints a table, writes bench/results/dataset.json.  Usage: npm run bench:dataset [-- --quick]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateRandomSplit, generateTestSplit, loadDefinition } from '../core/benchmark/index.ts';
import { encodeNpy } from '../core/npy.ts';
import { type PreprocessConfig, preprocess } from '../core/preprocess/index.ts';
import { createSpectrum, type Spectrum } from '../core/spectrum.ts';

const quick = process.argv.includes('--quick');
const reps = quick ? 1 : 3;

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function timeMs(fn: () => void, repeat = reps): number {
  const times: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  return median(times);
}

const rows: { what: string; ms: number; note: string }[] = [];
const record = (what: string, ms: number, note = '') => rows.push({ what, ms: Math.round(ms * 100) / 100, note });

const benchmark = loadDefinition('benchmark');
const test = generateTestSplit(benchmark);
record('generateTestSplit(benchmark)', timeMs(() => generateTestSplit(benchmark)), '4500 x 5000');
const perClass = quick ? 5 : 20;
record(`generateRandomSplit(train, ${perClass}/class)`, timeMs(() => generateRandomSplit(benchmark, { split: 'train', perClass, seed: 1 })), `${500 * perClass} x 5000`);
record('encodeNpy(x_test)', timeMs(() => encodeNpy(test.x, [test.n, test.points])), '90 MB');

const out = mkdtempSync(path.join(os.tmpdir(), 'spectrad-bench-dataset-'));
const cli = new URL('../bin/spectrad.js', import.meta.url).pathname;
const cliMs = timeMs(() => execFileSync(process.execPath, [cli, 'dataset', 'benchmark', '--split', 'test', '--out', out], { stdio: 'ignore' }));
record('spectrad dataset benchmark --split test', cliMs, 'subprocess wall time, goal < 30 000 ms');
const helpMs = timeMs(() => execFileSync(process.execPath, [cli, '--help'], { stdio: 'ignore' }));
record('spectrad --help (startup only)', helpMs, 'CLI start-up share of the line above');
rmSync(out, { recursive: true, force: true });

const grid = { points: 5000, xStart: 0, xEnd: 4999, xUnit: 'index' };
const count = quick ? 10 : 40;
const onGrid: Spectrum[] = Array.from({ length: count }, (_, r) =>
  createSpectrum({ y: Array.from(test.x.subarray(r * 5000, (r + 1) * 5000), (v, i) => v + 0.05 + 0.02 * Math.sin(i / 700)) }),
);
const dense: Spectrum[] = onGrid.map((s) => createSpectrum({ x: Float64Array.from({ length: 20000 }, (_, i) => i / 4), y: Float64Array.from({ length: 20000 }, (_, i) => s.y[Math.floor(i / 4)]) }));
const chains: [string, PreprocessConfig, Spectrum[]][] = [
  ['resample + normalize (5000 -> 5000)', {}, onGrid],
  ['resample + normalize (20000 -> 5000, cell average)', {}, dense],
  ['+ savitzkyGolay', { steps: [{ kind: 'savitzkyGolay' }] }, onGrid],
  ['+ rollingBall', { steps: [{ kind: 'rollingBall' }] }, onGrid],
  ['+ airPLS', { steps: [{ kind: 'airPLS' }] }, onGrid],
];
for (const [name, chain, spectra] of chains) {
  for (const s of spectra.slice(0, 3)) preprocess(s, grid, chain); // warm-up
  const ms = timeMs(() => spectra.forEach((s) => preprocess(s, grid, chain)), 1) / spectra.length;
  record(`preprocess ${name}`, ms, 'per spectrum');
}

const width = Math.max(...rows.map((r) => r.what.length));
console.log(`${'what'.padEnd(width)}  ${'ms'.padStart(10)}  note`);
for (const r of rows) console.log(`${r.what.padEnd(width)}  ${r.ms.toFixed(2).padStart(10)}  ${r.note}`);

mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(
  new URL('./results/dataset.json', import.meta.url),
  JSON.stringify({ date: new Date().toISOString(), quick, cpus: os.cpus().length, node: process.version, rows }, null, 2) + '\n',
);
