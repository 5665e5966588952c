/**
 * Band statistics of real spectra beside those of the synthetic pretraining profile, to fit the profile to the
 * technique's real spectra (docs/RESULTS-REAL.md, "Training the encoder for unseen minerals"). Real: every spectrum of
 * the class folds given by --folds-used (default 2,3,4: neither the test part, fold 0, nor the validation fold 1), on
 * the Raman model grid. Synthetic: the profile (with --pretrain-profile overrides) rendered on the same grid. Per
 * spectrum after a 100-point rolling-minimum baseline: the number of bands above 3 % / 10 % of the tallest (the
 * product's band finder), their FWHM in x units (half-height crossings), the share of the spectrum's area the
 * baseline carries, and the noise level relative to the tallest band. Prints quantiles.
 * Usage: node bin/run-ts.js bench/real/band-stats.ts [--dataset raman-532] [--folds-used 2,3,4] [--pretrain-profile k=v,...]
 */
import { parseArgs } from 'node:util';
import type { InputGrid } from '../../core/encoder/types.ts';
import { findPeaks, noiseLevel } from '../../core/identify/peaks/peak-features.ts';
import { rollingMinBaseline } from '../../core/identify/spectral/spectral-match.ts';
import { preprocess } from '../../core/preprocess/index.ts';
import { generatePhysicalSet, overrideProfile, TECHNIQUE_PROFILES } from '../../core/synthetic/physical.ts';
import { classFold } from '../../core/training/class-folds.ts';
import { loadRealDataset, type RealDataset } from './corpus.ts';

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: '../shared/data/rruff-dev' },
    dataset: { type: 'string', default: 'raman-532' },
    'folds-used': { type: 'string', default: '2,3,4' },
    'pretrain-profile': { type: 'string', default: '' },
    synthetic: { type: 'string', default: '600' },
  },
});
const dataset = values.dataset as RealDataset;
const grid: InputGrid = dataset === 'ir' ? { xUnit: 'cm-1', xStart: 400, xEnd: 4000, points: 1800 } : { xUnit: 'cm-1', xStart: 100, xEnd: 1500, points: 1400 };
const step = (grid.xEnd - grid.xStart) / (grid.points - 1);
const used = new Set(values['folds-used']!.split(',').map(Number));

interface Stats {
  bands3: number[];
  bands10: number[];
  fwhm: number[];
  baselineShare: number[];
  noise: number[];
  heights: number[];
}
const empty = (): Stats => ({ bands3: [], bands10: [], fwhm: [], baselineShare: [], noise: [], heights: [] });

/** FWHM in x units of the band at `i` (half-height crossings, linear between points), NaN when it runs off the grid. */
function fwhmAt(y: Float32Array, i: number): number {
  const half = y[i] / 2;
  let l = i;
  while (l > 0 && y[l] > half) l--;
  let r = i;
  while (r < y.length - 1 && y[r] > half) r++;
  if (y[l] > half || y[r] > half) return NaN;
  const left = l + (half - y[l]) / (y[l + 1] - y[l]);
  const right = r - (half - y[r]) / (y[r - 1] - y[r]);
  return (right - left) * step;
}

function measure(row: Float32Array, s: Stats): void {
  const base = rollingMinBaseline(row, 100);
  const y = Float32Array.from(row, (v, i) => Math.max(0, v - base[i]));
  let area = 0;
  let baseArea = 0;
  for (let i = 0; i < row.length; i++) {
    area += Math.max(0, row[i]);
    baseArea += Math.max(0, base[i]);
  }
  const peaks = findPeaks(y, { minHeight: 0.03, halfWindow: 3 });
  s.bands3.push(peaks.length);
  s.bands10.push(peaks.filter((p) => p.height >= 0.1).length);
  for (const p of peaks) {
    s.heights.push(p.height);
    if (p.height >= 0.1) {
      const w = fwhmAt(y, Math.round(p.position));
      if (Number.isFinite(w)) s.fwhm.push(w);
    }
  }
  s.baselineShare.push(area > 0 ? baseArea / area : 0);
  let max = 0;
  for (const v of y) max = Math.max(max, v);
  s.noise.push(max > 0 ? noiseLevel(y) / max : 0);
}

const q = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};
function report(name: string, s: Stats): void {
  const line = (label: string, xs: number[], digits: number): string =>
    `| ${name} | ${label} | ${[0.05, 0.25, 0.5, 0.75, 0.95].map((p) => q(xs, p).toFixed(digits)).join(' | ')} | ${(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(digits)} |`;
  console.log(line('bands > 3 %', s.bands3, 0));
  console.log(line('bands > 10 %', s.bands10, 0));
  console.log(line('FWHM of bands > 10 % (x units)', s.fwhm, 1));
  console.log(line('band height (of tallest)', s.heights, 3));
  console.log(line('baseline share of area', s.baselineShare, 3));
  console.log(line('noise sd (of tallest band)', s.noise, 4));
}

const real = empty();
let n = 0;
for (const sp of loadRealDataset(values.data!, dataset)) {
  if (!used.has(classFold(sp.mineral, 5))) continue;
  try {
    measure(preprocess(sp.spectrum, grid), real);
    n++;
  } catch {
    // Spectra the grid refuses are not training material either.
  }
}
const profile = overrideProfile(TECHNIQUE_PROFILES[dataset === 'ir' ? 'ir' : 'raman'], values['pretrain-profile']!);
const synthN = Number(values.synthetic);
const set = generatePhysicalSet(profile, grid, { classes: synthN, perClass: 1, seed: 1 });
const synth = empty();
for (let r = 0; r < set.n; r++) measure(set.x.subarray(r * grid.points, (r + 1) * grid.points), synth);
console.log(`${dataset}: ${n} real spectra of folds ${[...used].join(',')}; ${set.n} synthetic (${JSON.stringify(profile)})`);
console.log('| set | statistic | 5 % | 25 % | median | 75 % | 95 % | mean |\n| --- | --- | --- | --- | --- | --- | --- | --- |');
report('real', real);
report('synthetic', synth);
