/**
 * `npm run bench:single-errors`: what the single-compound (and unseen-class) errors of saved encoders are, and what
 * identification-side changes that need no retraining do to them, all on the same embeddings in one run:
 * kNN variants (k, weighting), spectral re-ranking of the kNN's top classes, test-time shift augmentation, and an
 * ensemble of several encoders (averaged cosine similarities).
 *
 *   node bin/run-ts.js bench/single-errors.ts --models DIR[,DIR...] [--per-class 50] [--protocol single|unseen]
 *
 * Embeddings are cached under --cache (default .cache/single-errors, git-ignored) keyed by model version and data, so variants
 * can be re-run in seconds. --protocol challenge: the challenge set (27 classes, its own train split as references). Writes bench/results/single-errors.json.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { generateRandomSplit, generateTestSplit, loadDefinition, normalizeDataset, type Dataset } from '../core/benchmark/index.ts';
import type { Encoder } from '../core/encoder/types.ts';
import { embedAll } from './lib/protocols.ts';
import { rerankBySpectrum, spectralReferenceIndex, type RerankOptions, type SpectralReferenceIndex } from './lib/rerank.ts';
import { openEncoder } from '../daemon/commands/library.ts';
import { decideConfusablePair, type PairDecisionOptions } from '../core/identify/peaks/confusable-pairs.ts';
import { ReferenceLibrary } from '../core/identify/knn/library.ts';
import { DEFAULT_MEAN_OF_BEST } from '../core/identify/identify.ts';
import { findPeaks, type Peak } from '../core/identify/peaks/peak-features.ts';
import { createRng } from '../core/math/rng.ts';
import { portablePath } from './support/portable-path.ts';

const { values: args } = parseArgs({
  options: {
    models: { type: 'string' },
    'per-class': { type: 'string', default: '50' },
    protocol: { type: 'string', default: 'single' },
    seed: { type: 'string', default: '1' },
    cache: { type: 'string', default: '.cache/single-errors' },
    tta: { type: 'string', default: '' },
    out: { type: 'string', default: 'bench/results/single-errors.json' },
    /** Re-ranking settings to compare: pool:sigma:maxShiftBins:mean|best, comma-separated. */
    rerank: { type: 'string', default: '5:1:8:best' },
    candidates: { type: 'string', default: '2,3,5' },
    /** Peak pair-decision settings to compare: gate:maxShift:shiftSpread, comma-separated (confusable-pairs.ts). */
    pairs: { type: 'string', default: 'library:40:20' },
    /**
     * Queries: 'test' (the benchmark's test split) or 'val-shifted' (the val split, 10 per class from the training
     * distribution, each moved wholesale by a random whole shift within +-40 points, the training's shift
     * augmentation), or 'test-like' (the generator's test-like validation split): settings are chosen on these,
     * then the test figure is read once.
     */
    queries: { type: 'string', default: 'test' },
    /** Ranking before the pair decision: 'best5' (identify()'s default, the mean of a class's best 5) or 'vote' (k = 3). */
    'pair-rank': { type: 'string', default: 'best5' },
    /** Only the k = 3 vote and the pair decisions (fast iteration). */
    'pairs-only': { type: 'boolean', default: false },
  },
});
if (!args.models) throw new Error('--models DIR[,DIR...] is required');
const modelDirs = args.models.split(',');
const perClass = Number(args['per-class']);
const seed = Number(args.seed);
const protocol = args.protocol;
const ttaShifts = args.tta ? args.tta.split(',').map(Number) : [];

const def = loadDefinition('benchmark');
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
let train: Dataset;
let test: Dataset;
if (protocol === 'single') {
  train = generateRandomSplit(def, { split: 'train', perClass, seed, classes: range(0, 500) });
  test = generateTestSplit(def, { classes: range(0, 500) });
} else if (protocol === 'unseen') {
  // The unseen protocol's final library: classes 0-399 and the enrolled 400-499, both from seed's train split.
  train = generateRandomSplit(def, { split: 'train', perClass: 50, seed, classes: range(0, 500) });
  test = generateTestSplit(def, { classes: range(400, 500) });
} else if (protocol === 'challenge') {
  const challengeDef = loadDefinition('challenge');
  train = generateRandomSplit(challengeDef, { split: 'train', perClass: 50, seed, classes: range(0, 27) });
  test = generateTestSplit(challengeDef, { classes: range(0, 27) });
} else throw new Error(`--protocol single|unseen|challenge, got ${protocol}`);
if (args.queries === 'val-shifted') {
  const valDef = protocol === 'challenge' ? loadDefinition('challenge') : def;
  const valClasses = protocol === 'unseen' ? range(400, 500) : protocol === 'challenge' ? range(0, 27) : range(0, 500);
  const val = generateRandomSplit(valDef, { split: 'val', perClass: 10, seed, classes: valClasses });
  const rng = createRng(seed * 7919 + 17);
  const x = new Float32Array(val.x.length);
  for (let i = 0; i < val.n; i++) {
    const by = Math.floor(rng.next() * 81) - 40;
    const row = val.x.subarray(i * val.points, (i + 1) * val.points);
    const o = x.subarray(i * val.points, (i + 1) * val.points);
    for (let j = 0; j < val.points; j++) {
      const src = j - by;
      o[j] = src >= 0 && src < val.points ? row[src] : 0;
    }
  }
  test = { ...val, x };
} else if (args.queries === 'test-like') {
  // The generator's test-like validation split (class definitions with random whole shifts and height changes of
  // the test's size, not the test split), where the generator has it.
  const benchmark = (await import('../core/benchmark/index.ts')) as Record<string, unknown>;
  const testLike = benchmark.generateTestLikeSplit as ((d: typeof def, o: { perClass: number; seed: number; classes: number[] }) => Dataset) | undefined;
  if (!testLike) throw new Error('this build has no generateTestLikeSplit');
  const valDef = protocol === 'challenge' ? loadDefinition('challenge') : def;
  const valClasses = protocol === 'unseen' ? range(400, 500) : protocol === 'challenge' ? range(0, 27) : range(0, 500);
  test = testLike(valDef, { perClass: 10, seed, classes: valClasses });
} else if (args.queries !== 'test') throw new Error(`--queries test|val-shifted|test-like, got ${args.queries}`);
const queryKey = args.queries === 'test' ? '' : `-${args.queries}-s${seed}`;
const trainN = normalizeDataset(train);
const testN = normalizeDataset(test);

function shifted(data: Dataset, by: number): Float32Array {
  const out = new Float32Array(data.x.length);
  const p = data.points;
  for (let i = 0; i < data.n; i++) {
    const row = data.x.subarray(i * p, (i + 1) * p);
    const o = out.subarray(i * p, (i + 1) * p);
    for (let j = 0; j < p; j++) {
      const src = j - by;
      o[j] = src >= 0 && src < p ? row[src] : 0;
    }
  }
  return out;
}

async function cachedEmbed(encoder: Encoder, key: string, x: Float32Array, n: number): Promise<Float32Array> {
  mkdirSync(args.cache!, { recursive: true });
  const file = path.join(args.cache!, `${encoder.version.replace(/[^\w.@-]/g, '_')}-${key}.f32`);
  if (existsSync(file)) {
    const b = readFileSync(file);
    return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4).slice();
  }
  const e = await embedAll(encoder, x, n);
  writeFileSync(file, Buffer.from(e.buffer, e.byteOffset, e.byteLength));
  return e;
}

const started = performance.now();
const models: Array<{ dir: string; version: string; dim: number; ref: Float32Array; query: Float32Array; queryTta: Float32Array[] }> = [];
for (const dir of modelDirs) {
  const encoder = await openEncoder(dir);
  const ref = await cachedEmbed(encoder, `train-${protocol}-${perClass}-s${seed}`, trainN.x, train.n);
  console.error(`${path.basename(dir)}: references embedded`);
  const query = await cachedEmbed(encoder, `test-${protocol}${queryKey}`, testN.x, test.n);
  const queryTta: Float32Array[] = [];
  for (const s of ttaShifts) queryTta.push(await cachedEmbed(encoder, `test-${protocol}-shift${s}`, shifted(testN, s), test.n));
  models.push({ dir, version: encoder.version, dim: encoder.dim, ref, query, queryTta });
  encoder.dispose();
}
console.error(`embedded in ${((performance.now() - started) / 1000).toFixed(0)} s`);

const R = train.n;
const TOP = 50;
/** Per query: the TOP most similar references (indices, similarities), similarity averaged over the given models. */
function neighbours(useModels: number[], tta: boolean): { idx: Int32Array; sim: Float32Array } {
  const idx = new Int32Array(test.n * TOP);
  const sim = new Float32Array(test.n * TOP);
  const row = new Float32Array(R);
  for (let q = 0; q < test.n; q++) {
    row.fill(0);
    for (const m of useModels) {
      const { dim, ref } = models[m];
      const queries = [models[m].query, ...(tta ? models[m].queryTta : [])];
      // TTA: average the query's embeddings over its shifted copies, renormalized.
      const qv = new Float32Array(dim);
      for (const Q of queries) for (let j = 0; j < dim; j++) qv[j] += Q[q * dim + j];
      let norm = 0;
      for (const v of qv) norm += v * v;
      norm = Math.sqrt(norm) || 1;
      for (let r = 0; r < R; r++) {
        let s = 0;
        const base = r * dim;
        for (let j = 0; j < dim; j++) s += ref[base + j] * qv[j];
        row[r] += s / norm / useModels.length;
      }
    }
    const order = selectTopIndices(row, TOP);
    order.forEach((r, i) => {
      idx[q * TOP + i] = r;
      sim[q * TOP + i] = row[r];
    });
  }
  return { idx, sim };
}

function selectTopIndices(row: Float32Array, n: number): number[] {
  const out: number[] = [];
  let floor = -Infinity;
  for (let r = 0; r < row.length; r++) {
    if (out.length < n || row[r] > floor) {
      let p = out.length < n ? out.length : n - 1;
      if (out.length < n) out.push(r);
      while (p > 0 && row[out[p - 1]] < row[r]) {
        out[p] = out[p - 1];
        p--;
      }
      out[p] = r;
      floor = row[out[out.length - 1]];
    }
  }
  return out;
}

type Ranker = (q: number, nb: { idx: Int32Array; sim: Float32Array }) => number[];
/** The paper's k-vote (ties by best similarity), as ReferenceLibrary.knn ranks classes. */
const vote =
  (k: number, weighted = false): Ranker =>
  (q, nb) => {
    const votes = new Map<number, number>();
    const best = new Map<number, number>();
    for (let i = 0; i < TOP; i++) {
      const c = train.y[nb.idx[q * TOP + i]];
      const s = nb.sim[q * TOP + i];
      if (!best.has(c)) best.set(c, s);
      if (i < k) votes.set(c, (votes.get(c) ?? 0) + (weighted ? s : 1));
    }
    return [...best.keys()].sort((a, b) => (votes.get(b) ?? 0) - (votes.get(a) ?? 0) || best.get(b)! - best.get(a)!);
  };

/**
 * Class-level scores over ALL references of each class (not only the TOP neighbours): 'centroid' = cosine with the
 * class's mean embedding; 'top-m' = mean of the class's m best similarities.
 */
function classScoreRanker(m: number, mode: 'centroid' | 'top-m', useModels: number[]): Ranker {
  const classes = Math.max(...train.y) + 1;
  const rankings: number[][] = [];
  const centroids = useModels.map((mi) => {
    const { dim, ref } = models[mi];
    const cent = new Float64Array(classes * dim);
    for (let r = 0; r < R; r++) for (let j = 0; j < dim; j++) cent[train.y[r] * dim + j] += ref[r * dim + j];
    return cent;
  });
  for (let q = 0; q < test.n; q++) {
    const score = new Float64Array(classes);
    for (const [u, mi] of useModels.entries()) {
      const { dim, ref, query } = models[mi];
      const qv = query.subarray(q * dim, (q + 1) * dim);
      if (mode === 'centroid') {
        const cent = centroids[u];
        for (let c = 0; c < classes; c++) {
          let dot = 0;
          let nn = 0;
          for (let j = 0; j < dim; j++) {
            dot += cent[c * dim + j] * qv[j];
            nn += cent[c * dim + j] ** 2;
          }
          score[c] += dot / (Math.sqrt(nn) || 1);
        }
      } else {
        const best: number[][] = Array.from({ length: classes }, () => []);
        for (let r = 0; r < R; r++) {
          let dot = 0;
          for (let j = 0; j < dim; j++) dot += ref[r * dim + j] * qv[j];
          const b = best[train.y[r]];
          b.push(dot);
          if (b.length > m) {
            b.sort((x, y) => y - x);
            b.length = m;
          }
        }
        for (let c = 0; c < classes; c++) score[c] += best[c].reduce((a, v) => a + v, 0) / Math.max(1, best[c].length);
      }
    }
    rankings.push([...score.keys()].sort((a, b) => score[b] - score[a]).slice(0, 10));
  }
  return (q) => rankings[q];
}

const rerankSettings: RerankOptions[] = args.rerank!.split(',').filter(Boolean).map((t) => {
  const [pool, sigma, shift, against] = t.split(':');
  return { spec: { pool: Number(pool), sigma: Number(sigma) }, maxShiftBins: Number(shift), against: against === 'mean' ? 'mean' : 'best' };
});
const indexes = new Map<string, SpectralReferenceIndex>();
function indexFor(o: RerankOptions): SpectralReferenceIndex {
  const key = `${o.spec.pool}:${o.spec.sigma}`;
  if (!indexes.has(key)) indexes.set(key, spectralReferenceIndex(trainN.x, train.n, train.points, Array.from(train.y, String), o.spec));
  return indexes.get(key)!;
}
const describe = (o: RerankOptions) => `pool ${o.spec.pool} sigma ${o.spec.sigma} shift ${o.maxShiftBins} ${o.against}`;

function evaluate(name: string, rank: Ranker, nb: { idx: Int32Array; sim: Float32Array }, spectral?: { candidates: number; options: RerankOptions }) {
  const t0 = performance.now();
  let right = 0;
  let second = 0;
  let inTop5 = 0;
  const confusions = new Map<string, number>();
  for (let q = 0; q < test.n; q++) {
    let ranking = rank(q, nb);
    if (spectral) {
      const cands = ranking.slice(0, spectral.candidates).map(String);
      const order = rerankBySpectrum(indexFor(spectral.options), testN.x.subarray(q * test.points, (q + 1) * test.points), cands, spectral.options);
      ranking = [...order.map((r) => Number(r.class)), ...ranking.slice(spectral.candidates)];
    }
    const truth = test.y[q];
    if (ranking[0] === truth) right++;
    else {
      if (ranking[1] === truth) second++;
      if (ranking.slice(0, 5).includes(truth)) inTop5++;
      const key = `${truth}->${ranking[0]}`;
      confusions.set(key, (confusions.get(key) ?? 0) + 1);
    }
  }
  const ms = (performance.now() - t0) / test.n;
  const wrong = test.n - right;
  const result = {
    name,
    accuracy: (100 * right) / test.n,
    wrong,
    truthSecond: second,
    truthInTop5: inTop5,
    msPerQueryRanking: ms,
    confusions: [...confusions.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} x${v}`),
  };
  console.log(`${name.padEnd(52)} ${result.accuracy.toFixed(2).padStart(6)} %  wrong ${String(wrong).padStart(3)}  truth 2nd ${String(second).padStart(3)}  top5 ${String(inTop5).padStart(3)}  ${ms.toFixed(3)} ms/q`);
  return result;
}

if (args['pair-rank'] !== 'best5' && args['pair-rank'] !== 'vote') throw new Error(`--pair-rank best5|vote, got ${args['pair-rank']}`);
const meanOfBest = args['pair-rank'] === 'best5' ? DEFAULT_MEAN_OF_BEST : 0;
const pairSettings: PairDecisionOptions[] = args.pairs!.split(',').filter(Boolean).map((t) => {
  const [gate, maxShift, shiftSpread] = t.split(':');
  if (gate !== 'always' && gate !== 'library' && gate !== 'farthest' && gate !== 'reach') throw new Error(`--pairs gate: library|farthest|reach|always, got ${gate}`);
  return { gate, maxShift: Number(maxShift), shiftSpread: Number(shiftSpread) };
});
let queryPeaks: Peak[][] | null = null;
/**
 * The product's path: a ReferenceLibrary of the references (their spectra give the peak templates), its kNN vote,
 * then decideConfusablePair on the query's spectrum, exactly as identify() and the bench:paper protocols run it.
 */
function evaluatePairs(m: number, tag: string): unknown[] {
  const { dim, ref, query } = models[m];
  const library = new ReferenceLibrary({ dim, points: train.points, modelVersion: models[m].version });
  const rowsByClass = new Map<number, number[]>();
  for (let i = 0; i < train.n; i++) rowsByClass.set(train.y[i], [...(rowsByClass.get(train.y[i]) ?? []), i]);
  for (const [c, rows] of rowsByClass) {
    const e = new Float32Array(rows.length * dim);
    const x = new Float32Array(rows.length * train.points);
    rows.forEach((r, k) => {
      e.set(ref.subarray(r * dim, (r + 1) * dim), k * dim);
      x.set(trainN.x.subarray(r * train.points, (r + 1) * train.points), k * train.points);
    });
    library.addReferences(String(c), e, x, false);
  }
  queryPeaks ??= Array.from({ length: test.n }, (_, q) => findPeaks(testN.x.subarray(q * test.points, (q + 1) * test.points)));
  const out: unknown[] = [];
  for (const o of pairSettings) {
    const t0 = performance.now();
    let right = 0;
    let decided = 0;
    let fixed = 0;
    let broken = 0;
    let before = 0;
    const confusions = new Map<string, number>();
    for (let q = 0; q < test.n; q++) {
      const knn = library.knn(query.subarray(q * dim, (q + 1) * dim), { k: 3, topClasses: 2, ...(meanOfBest ? { meanOfBest } : {}) });
      if (knn.ranking[0].class === String(test.y[q])) before++;
      const d = decideConfusablePair(
        library,
        knn.ranking,
        { spectrum: testN.x.subarray(q * test.points, (q + 1) * test.points), embedding: query.subarray(q * dim, (q + 1) * dim), peaks: queryPeaks[q] },
        o,
      );
      const truth = String(test.y[q]);
      if (d.decided) decided++;
      if (d.swapped && d.ranking[0].class === truth) fixed++;
      if (d.swapped && knn.ranking[0].class === truth) broken++;
      if (d.ranking[0].class === truth) right++;
      else confusions.set(`${truth}->${d.ranking[0].class}`, (confusions.get(`${truth}->${d.ranking[0].class}`) ?? 0) + 1);
    }
    const name = `${tag}: ${args['pair-rank']} (${test.n - before} wrong) + peak pair decision (${o.gate}, shift ${o.maxShift}, spread ${o.shiftSpread})`;
    const ms = (performance.now() - t0) / test.n;
    const result = {
      name,
      accuracy: (100 * right) / test.n,
      wrong: test.n - right,
      decided,
      fixed,
      broken,
      msPerQuery: ms,
      confusions: [...confusions.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} x${v}`),
    };
    console.log(
      `${name.padEnd(52)} ${result.accuracy.toFixed(2).padStart(6)} %  wrong ${String(result.wrong).padStart(3)}  decided ${decided}  fixed ${fixed}  broken ${broken}  ${ms.toFixed(3)} ms/q`,
    );
    console.log(`  wrong: ${result.confusions.join(', ')}`);
    out.push(result);
  }
  return out;
}

const results: unknown[] = [];
const all = models.map((_, i) => i);
for (const m of all) {
  const nb = neighbours([m], false);
  const tag = path.basename(models[m].dir);
  results.push(evaluate(`${tag}: k=3 vote (paper)`, vote(3), nb));
  if (pairSettings.length) results.push(...evaluatePairs(m, tag));
  if (args['pairs-only']) continue;
  results.push(evaluate(`${tag}: k=1`, vote(1), nb));
  results.push(evaluate(`${tag}: k=5 vote`, vote(5), nb));
  results.push(evaluate(`${tag}: k=10 weighted`, vote(10, true), nb));
  for (const o of rerankSettings) {
    for (const c of args.candidates!.split(',').map(Number)) results.push(evaluate(`${tag}: rerank top ${c}, ${describe(o)}`, vote(3), nb, { candidates: c, options: o }));
  }
  if (protocol === 'challenge' || models.length === 1) {
    // Class-level scores cost a pass over every reference per query per model: only where they are asked for cheaply.
    results.push(evaluate(`${tag}: nearest centroid`, classScoreRanker(0, 'centroid', [m]), nb));
    for (const mm of [2, 3, 5]) results.push(evaluate(`${tag}: mean of the class's best ${mm}`, classScoreRanker(mm, 'top-m', [m]), nb));
    for (const k of [9, 15]) results.push(evaluate(`${tag}: k=${k} vote`, vote(k), nb));
  }
  if (ttaShifts.length) {
    const nbT = neighbours([m], true);
    results.push(evaluate(`${tag}: k=3, TTA shifts ${ttaShifts.join('/')}`, vote(3), nbT));
  }
}
if (models.length > 1 && !args['pairs-only']) {
  const nb = neighbours(all, false);
  results.push(evaluate(`ensemble of ${models.length}: k=3 vote`, vote(3), nb));
  for (const o of rerankSettings) results.push(evaluate(`ensemble of ${models.length}: rerank top 3, ${describe(o)}`, vote(3), nb, { candidates: 3, options: o }));
}
mkdirSync(path.dirname(args.out!), { recursive: true });
writeFileSync(
  args.out!,
  JSON.stringify({ date: new Date().toISOString(), protocol, perClass, seed, models: models.map((m) => ({ dir: portablePath(m.dir), version: m.version })), ttaShifts, results }, null, 2) + '\n',
);
console.error(`wrote ${args.out}`);
