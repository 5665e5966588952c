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
 *
 * Ensembles of encoders: --ensemble DIR,DIR,... (repeatable) scores each listed set by the mean of its members'
 * cosines (the same as the dot product of their concatenated embeddings, each L2-normalised, over sqrt(N)); --pool
 * DIR,DIR,... --sizes 1,2,3,5 --draws 5 --seed 1 adds, per size, that many random member sets drawn from the pool
 * (size 1: every member alone; size >= pool: the whole pool), so members are not picked by their score here. All
 * sets share one HQI computation. Members must share the input grid (the HQI preset and the preprocessing follow it).
 * Cost: each member's single-spectrum embedding time, as a query pays it, summed over the set.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadEncoder } from '../../core/encoder/model-files.ts';
import { initEngine } from '../../core/engine/index.ts';
import { hitQuality, matchProfile } from '../../core/identify/spectral/spectral-match.ts';
import { spectralRankingFor } from '../../core/identify/spectral/spectral-ranking.ts';
import { preprocess } from '../../core/preprocess/index.ts';
import { classFold } from '../../core/training/class-folds.ts';
import { loadRealDataset, type RealDataset, type RealSpectrum } from './corpus.ts';
// The calibration's seeded generator (mulberry32): a --seed names the same random member sets on every run.
import { mulberry32 } from '../../core/identify/knn/calibration.ts';

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: '../shared/data/rruff-dev' },
    dataset: { type: 'string', default: 'raman-532' },
    model: { type: 'string' },
    ensemble: { type: 'string', multiple: true },
    pool: { type: 'string' },
    sizes: { type: 'string', default: '1,2,3,5' },
    draws: { type: 'string', default: '5' },
    seed: { type: 'string', default: '1' },
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
const dirList = (text: string): string[] => text.split(',').map((t) => t.trim()).filter((t) => t !== '');


interface MemberSet {
  readonly name: string;
  readonly dirs: readonly string[];
}
const sets: MemberSet[] = [];
(values.ensemble ?? []).forEach((e, i) => sets.push({ name: `ensemble ${i + 1}`, dirs: dirList(e) }));
if (values.pool) {
  const pool = [...new Set(dirList(values.pool))];
  const random = mulberry32(Number(values.seed));
  for (const k of values.sizes!.split(',').map(Number)) {
    if (k === 1) pool.forEach((d, i) => sets.push({ name: `single ${i + 1}`, dirs: [d] }));
    else if (k >= pool.length) sets.push({ name: `all ${pool.length}`, dirs: pool });
    else {
      const seen = new Set<string>();
      for (let draw = 0; draw < Number(values.draws); draw++) {
        let pick: string[];
        do {
          const order = pool.map((d) => ({ d, r: random() })).sort((x, y) => x.r - y.r);
          pick = order.slice(0, k).map((o) => o.d);
        } while (seen.has([...pick].sort().join('|')));
        seen.add([...pick].sort().join('|'));
        sets.push({ name: `random ${k} #${draw + 1}`, dirs: pick });
      }
    }
  }
}
if (sets.length === 0) sets.push({ name: 'model', dirs: [values.model ?? `models/${dataset}-fold${fold}`] });

await initEngine();
const encoders = new Map<string, Awaited<ReturnType<typeof loadEncoder>>>();
for (const dir of new Set(sets.flatMap((s) => s.dirs))) encoders.set(dir, await loadEncoder(dir));
const first = encoders.values().next().value!;
const grid = first.grid;
for (const [dir, e] of encoders) {
  if (JSON.stringify(e.grid) !== JSON.stringify(grid)) {
    throw new RangeError(`${dir}: input grid ${JSON.stringify(e.grid)} differs from ${JSON.stringify(grid)}; ensemble members must share one grid`);
  }
}
const ranking = spectralRankingFor(grid);
if (!ranking) throw new RangeError(`no spectral preset for the model's grid ${JSON.stringify(grid)}`);

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

/** Per member: every spectrum's embedding, and the median time to embed one spectrum alone (as a query does). */
interface Member {
  readonly version: string;
  readonly dim: number;
  readonly embs: Float32Array;
  readonly msPerQuery: number;
}
const members = new Map<string, Member>();
for (const [dir, e] of encoders) {
  const embs = await e.embed(batch, ys.length);
  const times: number[] = [];
  for (let i = 0; i < 21; i++) {
    const t0 = performance.now();
    await e.embed(ys[(i * 37) % ys.length], 1);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  members.set(dir, { version: e.version, dim: e.dim, embs, msPerQuery: times[10] });
}

const profiles = ys.map((y) => matchProfile(y, ranking.match));
const mineralIds = new Map<string, number>();
const mineralOf = items.map((it) => {
  if (!mineralIds.has(it.mineral)) mineralIds.set(it.mineral, mineralIds.size);
  return mineralIds.get(it.mineral)!;
});
const samplesOf = new Map<string, Set<string>>();
for (const it of items) samplesOf.set(it.mineral, (samplesOf.get(it.mineral) ?? new Set()).add(it.sample));
const queries = items.map((_, i) => i).filter((i) => classFold(items[i].mineral, folds) === fold && samplesOf.get(items[i].mineral)!.size >= 2);

type Method = { readonly name: string; readonly score: (hqi: number, cos: number) => number };
const methods: Method[] = [
  { name: 'encoder', score: (_h, c) => c },
  { name: 'HQI', score: (h) => h },
  ...weights.map((w) => ({ name: `HQI + ${w} x encoder`, score: (h: number, c: number) => h + w * c })),
];
const M = methods.length;
const mineralCount = mineralIds.size;
const stats = sets.map(() => methods.map(() => ({ top1: 0, top5: 0, rr: 0, known: [] as number[], unknown: [] as number[] })));

const hqi = new Float64Array(items.length);
const cos = new Float64Array(items.length);
const best = new Float64Array(mineralCount * M);
for (const q of queries) {
  // The query's own spectrum and sample are not references.
  const skip = (j: number): boolean => j === q || (mineralOf[j] === mineralOf[q] && items[j].sample === items[q].sample);
  for (let j = 0; j < items.length; j++) if (!skip(j)) hqi[j] = hitQuality(profiles[q], profiles[j], ranking.match);
  sets.forEach((set, si) => {
    cos.fill(0);
    for (const dir of set.dirs) {
      const { embs, dim } = members.get(dir)!;
      const qo = q * dim;
      for (let j = 0; j < items.length; j++) {
        let s = 0;
        const jo = j * dim;
        for (let k = 0; k < dim; k++) s += embs[qo + k] * embs[jo + k];
        cos[j] += s / set.dirs.length;
      }
    }
    // Per mineral, per method: the best score over its references.
    best.fill(-Infinity);
    for (let j = 0; j < items.length; j++) {
      if (skip(j)) continue;
      const o = mineralOf[j] * M;
      for (let i = 0; i < M; i++) best[o + i] = Math.max(best[o + i], methods[i].score(hqi[j], cos[j]));
    }
    const own = mineralOf[q];
    for (let i = 0; i < M; i++) {
      let rank = 1;
      let topOther = -Infinity;
      for (let m = 0; m < mineralCount; m++) {
        const s = best[m * M + i];
        if (m === own || s === -Infinity) continue;
        if (s > best[own * M + i]) rank++;
        topOther = Math.max(topOther, s);
      }
      const st = stats[si][i];
      if (rank === 1) st.top1++;
      if (rank <= 5) st.top5++;
      st.rr += 1 / rank;
      st.known.push(Math.max(best[own * M + i], topOther));
      st.unknown.push(topOther);
    }
  });
}

/** Probability that a known query's top score exceeds an unknown one's (ties half). */
function auroc(pos: readonly number[], neg: readonly number[]): number {
  let wins = 0;
  for (const p of pos) for (const n of neg) wins += p > n ? 1 : p === n ? 0.5 : 0;
  return wins / (pos.length * neg.length);
}

const n = queries.length;
const scored = sets.map((set, si) => ({
  name: set.name,
  size: set.dirs.length,
  members: set.dirs.map((d) => members.get(d)!.version),
  embedMsPerQuery: set.dirs.reduce((a, d) => a + members.get(d)!.msPerQuery, 0),
  methods: methods.map((m, i) => ({
    method: m.name,
    top1: stats[si][i].top1 / n,
    top5: stats[si][i].top5 / n,
    mrr: stats[si][i].rr / n,
    unknownAuroc: auroc(stats[si][i].known, stats[si][i].unknown),
  })),
}));
const common = {
  dataset,
  fold,
  excludedFolds: [...excluded],
  queries: n,
  minerals: new Set(queries.map((q) => items[q].mineral)).size,
  libraryEntries: items.length,
};
const pct = (x: number): string => (x * 100).toFixed(1);
console.log(`fold ${fold} (never trained on), ${n} queries of ${common.minerals} minerals, library ${items.length} spectra`);
if (sets.length === 1 && sets[0].dirs.length === 1) {
  const only = scored[0];
  console.log(`${only.members[0]}`);
  console.log('| method | top-1 % | top-5 % | MRR | unknown AUROC (top score, own mineral removed) |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const m of only.methods) console.log(`| ${m.method} | ${pct(m.top1)} | ${pct(m.top5)} | ${m.mrr.toFixed(3)} | ${m.unknownAuroc.toFixed(3)} |`);
  if (values.out) writeFileSync(values.out, JSON.stringify({ model: only.members[0], ...common, methods: only.methods }, null, 2) + '\n');
} else {
  const enc = 0;
  const fused = methods.map((m, i) => ({ m, i })).filter(({ m }) => m.name.startsWith('HQI + '));
  console.log(`| set | N | encoder top-1 % | ${fused.map(({ m }) => `${m.name} top-1 %`).join(' | ')} | encoder MRR | encoder unknown AUROC | embed ms/query |`);
  console.log(`| --- | --- | --- | ${fused.map(() => '---').join(' | ')} | --- | --- | --- |`);
  for (const s of scored) {
    console.log(`| ${s.name} | ${s.size} | ${pct(s.methods[enc].top1)} | ${fused.map(({ i }) => pct(s.methods[i].top1)).join(' | ')} | ${s.methods[enc].mrr.toFixed(3)} | ${s.methods[enc].unknownAuroc.toFixed(3)} | ${s.embedMsPerQuery.toFixed(1)} |`);
  }
  // Per size: mean, min and max over the sets of that size (the random draws, or every single member).
  const bySize = [...new Set(scored.map((s) => s.size))].sort((a, b) => a - b).map((size) => {
    const group = scored.filter((s) => s.size === size);
    return {
      size,
      sets: group.length,
      embedMsPerQuery: group.reduce((a, s) => a + s.embedMsPerQuery, 0) / group.length,
      methods: methods.map((m, i) => {
        const agg = (f: (x: (typeof group)[number]['methods'][number]) => number) => {
          const xs = group.map((s) => f(s.methods[i]));
          return { mean: xs.reduce((a, b) => a + b, 0) / xs.length, min: Math.min(...xs), max: Math.max(...xs) };
        };
        return { method: m.name, top1: agg((x) => x.top1), mrr: agg((x) => x.mrr), unknownAuroc: agg((x) => x.unknownAuroc) };
      }),
    };
  });
  console.log('| N | sets | ' + methods.map((m) => `${m.name} top-1 % mean (min-max)`).join(' | ') + ' | embed ms/query |');
  console.log('| --- | --- | ' + methods.map(() => '---').join(' | ') + ' | --- |');
  for (const b of bySize) {
    console.log(`| ${b.size} | ${b.sets} | ${b.methods.map((m) => `${pct(m.top1.mean)} (${pct(m.top1.min)}-${pct(m.top1.max)})`).join(' | ')} | ${b.embedMsPerQuery.toFixed(1)} |`);
  }
  if (values.out) writeFileSync(values.out, JSON.stringify({ ...common, seed: Number(values.seed), sets: scored, bySize }, null, 2) + '\n');
}
