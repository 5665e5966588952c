/**
 * How well an encoder trained without a class fold retrieves that fold's minerals (never seen in training), with
 * every query it allows, to choose training settings with less noise than one split gives. Each spectrum of the
 * fold's minerals with two or more samples (RRUFF IDs) queries a library of every other spectrum of the corpus
 * (folds given by --exclude-folds left out entirely), less the query's own sample; so the query's mineral is there
 * with its other samples, the training minerals stay as distractors. Scores per mineral: the best over its
 * references of the product's Raman/IR spectral match (HQI, core/identify), the embedding cosine, and HQI + w x
 * cosine. Unknown: the same queries against the library without their mineral at all; AUROC of the top score,
 * known vs without. Usage: node bin/run-ts.js bench/real/encoder-unseen.ts --model models/raman-532-fold1 --fold 1
 * --exclude-folds 0 [--dataset raman-532|ir] [--out FILE]
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadEncoder } from '../../core/encoder/model-files.ts';
import { initEngine } from '../../core/engine/index.ts';
import { hitQuality, matchProfile, type MatchProfile } from '../../core/identify/spectral/spectral-match.ts';
import { spectralRankingFor } from '../../core/identify/spectral/spectral-ranking.ts';
import { preprocess } from '../../core/preprocess/index.ts';
import { classFold } from '../../core/training/class-folds.ts';
import { loadRealDataset, type RealDataset, type RealSpectrum } from './corpus.ts';

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: '../shared/data/rruff-dev' },
    dataset: { type: 'string', default: 'raman-532' },
    model: { type: 'string' },
    fold: { type: 'string', default: '1' },
    'exclude-folds': { type: 'string', default: '0' },
    folds: { type: 'string', default: '5' },
    weights: { type: 'string', default: '0.25,0.5,1' },
    out: { type: 'string' },
  },
});
const dataset = values.dataset as RealDataset;
const fold = Number(values.fold);
const folds = Number(values.folds);
const excluded = new Set(values['exclude-folds']!.split(',').filter((t) => t.trim() !== '').map(Number));
if (excluded.has(fold)) throw new RangeError(`--fold ${fold} is also excluded`);
const weights = values.weights!.split(',').map(Number);

await initEngine();
const encoder = await loadEncoder(values.model ?? `models/${dataset}-fold${fold}`);
const grid = encoder.grid;
const ranking = spectralRankingFor(grid);
if (!ranking) throw new RangeError(`no spectral preset for the model's grid ${JSON.stringify(grid)}`);

interface Row {
  readonly item: RealSpectrum;
  readonly profile: MatchProfile;
  readonly emb: Float32Array;
}
const rows: Row[] = [];
const kept = loadRealDataset(values.data!, dataset).filter((s) => !excluded.has(classFold(s.mineral, folds)));
const ys: Float32Array[] = [];
const items: RealSpectrum[] = [];
for (const s of kept) {
  try {
    ys.push(preprocess(s.spectrum, grid));
    items.push(s);
  } catch {
    // Not on the grid (too little overlap): neither query nor reference, as in the product.
  }
}
const batch = new Float32Array(ys.length * grid.points);
ys.forEach((y, i) => batch.set(y, i * grid.points));
const embs = await encoder.embed(batch, ys.length);
items.forEach((item, i) => rows.push({ item, profile: matchProfile(ys[i], ranking.match), emb: embs.subarray(i * encoder.dim, (i + 1) * encoder.dim) }));

const samplesOf = new Map<string, Set<string>>();
for (const r of rows) samplesOf.set(r.item.mineral, (samplesOf.get(r.item.mineral) ?? new Set()).add(r.item.sample));
const queries = rows.filter((r) => classFold(r.item.mineral, folds) === fold && samplesOf.get(r.item.mineral)!.size >= 2);

const cosine = (a: Float32Array, b: Float32Array): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

type Method = { readonly name: string; readonly score: (hqi: number, cos: number) => number };
const methods: Method[] = [
  { name: 'encoder', score: (_h, c) => c },
  { name: 'HQI', score: (h) => h },
  ...weights.map((w) => ({ name: `HQI + ${w} x encoder`, score: (h: number, c: number) => h + w * c })),
];
const stats = methods.map(() => ({ top1: 0, top5: 0, rr: 0, known: [] as number[], unknown: [] as number[] }));

for (const q of queries) {
  // Per mineral, per method: the best score over its references (the query's own sample left out).
  const best = new Map<string, number[]>();
  for (const r of rows) {
    if (r === q || (r.item.mineral === q.item.mineral && r.item.sample === q.item.sample)) continue;
    const h = hitQuality(q.profile, r.profile, ranking.match);
    const c = cosine(q.emb, r.emb);
    const cur = best.get(r.item.mineral) ?? methods.map(() => -Infinity);
    methods.forEach((m, i) => (cur[i] = Math.max(cur[i], m.score(h, c))));
    best.set(r.item.mineral, cur);
  }
  methods.forEach((_, i) => {
    const own = best.get(q.item.mineral)![i];
    let rank = 1;
    let topOther = -Infinity;
    for (const [mineral, s] of best) {
      if (mineral === q.item.mineral) continue;
      if (s[i] > own) rank++;
      topOther = Math.max(topOther, s[i]);
    }
    const st = stats[i];
    if (rank === 1) st.top1++;
    if (rank <= 5) st.top5++;
    st.rr += 1 / rank;
    st.known.push(Math.max(own, topOther));
    st.unknown.push(topOther);
  });
}

/** Probability that a known query's top score exceeds an unknown one's (ties half). */
function auroc(pos: readonly number[], neg: readonly number[]): number {
  let wins = 0;
  for (const p of pos) for (const n of neg) wins += p > n ? 1 : p === n ? 0.5 : 0;
  return wins / (pos.length * neg.length);
}

const n = queries.length;
const result = {
  model: encoder.version,
  dataset,
  fold,
  excludedFolds: [...excluded],
  queries: n,
  minerals: new Set(queries.map((q) => q.item.mineral)).size,
  libraryEntries: rows.length,
  methods: methods.map((m, i) => ({
    method: m.name,
    top1: stats[i].top1 / n,
    top5: stats[i].top5 / n,
    mrr: stats[i].rr / n,
    unknownAuroc: auroc(stats[i].known, stats[i].unknown),
  })),
};
console.log(`${encoder.version}: fold ${fold} (never trained on), ${n} queries of ${result.minerals} minerals, library ${rows.length} spectra`);
console.log('| method | top-1 % | top-5 % | MRR | unknown AUROC (top score, own mineral removed) |');
console.log('| --- | --- | --- | --- | --- |');
for (const m of result.methods) console.log(`| ${m.method} | ${(m.top1 * 100).toFixed(1)} | ${(m.top5 * 100).toFixed(1)} | ${m.mrr.toFixed(3)} | ${m.unknownAuroc.toFixed(3)} |`);
if (values.out) writeFileSync(values.out, JSON.stringify(result, null, 2) + '\n');
