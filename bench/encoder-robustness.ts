/**
 * What a real-spectrum encoder adds to a plain library search: minerals it never saw (one class fold held out of its
 * training, classFold), queried as measured and with one instrument difference applied to every query (a shift of
 * the axis, a baseline, noise, changed band ratios), by the encoder's cosine, by the cosine of square-root
 * intensities (the classic hit-quality index's favourite transform) and by the mean of both similarities.
 * Library: the first specimen (by sample id) of each held-out mineral plus every spectrum of the other minerals as
 * distractors; queries: the held-out minerals' other specimens.
 * Usage: npm run bench:encoder-robustness -- --model raman-532-fold0 --data ../shared/data/rruff-dev/raman-532
 *          [--fold 0] [--class-field NAMES] [--sample-field RRUFFID] [--format csv] [--out FILE]
 * Prints a table, writes bench/results/encoder-robustness-<model>.json (or --out).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createRng } from '../core/math/rng.ts';
import { resolveModelRef } from '../core/encoder/bundled-models.ts';
import { loadEncoder } from '../core/encoder/model-files.ts';
import { initEngine } from '../core/engine/index.ts';
import type { FileFormat } from '../core/formats/index.ts';
import { augmentInto, NO_AUGMENT } from '../core/training/augment.ts';
import { classFold } from '../core/training/class-folds.ts';
import { loadLabCorpus, toGridRows, type LoadedSpectrum } from '../daemon/commands/train-data.ts';
import { compareTop1 } from '../daemon/commands/train-lab.ts';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'raman-532-fold0' },
    data: { type: 'string', default: '../shared/data/rruff-dev/raman-532' },
    fold: { type: 'string', default: '0' },
    folds: { type: 'string', default: '5' },
    'class-field': { type: 'string', default: 'NAMES' },
    'sample-field': { type: 'string', default: 'RRUFFID' },
    format: { type: 'string', default: 'csv' },
    out: { type: 'string' },
  },
});

await initEngine();
const modelDir = resolveModelRef(args.model);
const encoder = await loadEncoder(modelDir);
const grid = encoder.grid;
const P = grid.points;
const step = (grid.xEnd - grid.xStart) / (P - 1);
const fold = Number(args.fold);
const folds = Number(args.folds);
const corpus = await loadLabCorpus(args.data, { classField: args['class-field'], sampleField: args['sample-field'] }, args.format as FileFormat);
const rows = await toGridRows(corpus.spectra, grid, 0.3);
const all = rows.kept.map((s, i) => ({ s, i }));
const isHeld = (s: LoadedSpectrum): boolean => classFold(s.entry.className, folds) === fold;
const first = new Map<string, string>();
for (const { s } of all.filter(({ s }) => isHeld(s))) {
  const cur = first.get(s.entry.className);
  if (cur === undefined || s.entry.sample < cur) first.set(s.entry.className, s.entry.sample);
}
const library = all.filter(({ s }) => !isHeld(s) || first.get(s.entry.className) === s.entry.sample);
const queries = all.filter(({ s }) => isHeld(s) && first.get(s.entry.className) !== s.entry.sample);
const names = [...new Set(all.map(({ s }) => s.entry.className))].sort();
const index = new Map(names.map((n, i) => [n, i]));
const gather = (set: typeof all) => {
  const x = new Float32Array(set.length * P);
  const y = new Int32Array(set.length);
  set.forEach(({ s, i }, r) => {
    x.set(rows.x.subarray(i * P, (i + 1) * P), r * P);
    y[r] = index.get(s.entry.className)!;
  });
  return { x, y };
};
const L = gather(library);
const Q = gather(queries);
const libraryEmb = await encoder.embed(L.x, L.y.length);

const renormalize = (v: Float32Array): void => {
  let m = 0;
  for (const a of v) m = Math.max(m, Math.abs(a));
  if (m > 0) for (let i = 0; i < v.length; i++) v[i] /= m;
};

/** Each case rewrites one query row (max |y| = 1 afterwards); every draw is seeded. */
const shiftPoints = Math.max(1, Math.round(5 / step));
const cases: { name: string; apply: (src: Float32Array, dst: Float32Array, row: number, rng: ReturnType<typeof createRng>) => void }[] = [
  { name: 'as measured', apply: (src, dst) => dst.set(src) },
  {
    name: `axis shifted by ${(shiftPoints * step).toFixed(0)} ${grid.xUnit} (alternating sign)`,
    apply: (src, dst, row) => {
      const d = row % 2 ? shiftPoints : -shiftPoints;
      for (let i = 0; i < P; i++) dst[i] = i - d >= 0 && i - d < P ? src[i - d] : 0;
    },
  },
  {
    name: 'sloping baseline, 30 % of the tallest band at its top',
    apply: (src, dst) => {
      for (let i = 0; i < P; i++) dst[i] = src[i] + 0.3 * (0.3 + 0.7 * (i / (P - 1)) ** 2);
      renormalize(dst);
    },
  },
  { name: 'white noise, sigma up to 3 % of the tallest band', apply: (src, dst, _r, rng) => augmentInto(src, dst, { ...NO_AUGMENT, noise: 0.03, probability: 1 }, rng) },
  {
    name: 'band ratios changed, exp(+-0.6) every 60 x units',
    apply: (src, dst, _r, rng) => augmentInto(src, dst, { ...NO_AUGMENT, maxLocalGain: 0.6, localGainSpacing: Math.max(4, Math.round(60 / step)), probability: 1 }, rng),
  },
];

const results = [];
const pct = (v: number): string => `${(v * 100).toFixed(1)} %`;
console.log(`| query | encoder top-1 | square-root cosine top-1 | mean of both |`);
console.log(`| --- | --- | --- | --- |`);
for (const c of cases) {
  const rng = createRng(7);
  const x = new Float32Array(Q.x.length);
  for (let r = 0; r < Q.y.length; r++) c.apply(Q.x.subarray(r * P, (r + 1) * P), x.subarray(r * P, (r + 1) * P), r, rng);
  const queryEmb = await encoder.embed(x, Q.y.length);
  const f = compareTop1(libraryEmb, L.x, L.y, queryEmb, x, Q.y, encoder.dim, P);
  results.push({ query: c.name, ...f });
  console.log(`| ${c.name} | ${pct(f.top1)} | ${pct(f.sqrtCosineTop1)} | ${pct(f.meanWithSqrtCosineTop1)} |`);
}
const summary = {
  model: args.model,
  modelVersion: encoder.version,
  data: args.data,
  fold: `${fold} of ${folds}`,
  heldOutMinerals: first.size,
  queries: Q.y.length,
  libraryEntries: L.y.length,
  loadAverage: loadavg()[0],
  results,
};
console.log(`${Q.y.length} queries of ${new Set(Q.y).size} unseen minerals, library ${L.y.length} spectra (${args.model}, fold ${fold})`);
const out = args.out ?? path.join('bench', 'results', `encoder-robustness-${path.basename(modelDir)}.json`);
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(summary, null, 2) + '\n');
encoder.dispose();
