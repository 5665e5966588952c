/**
 * `npm run bench:real`: spectrad against classic library search on real RRUFF spectra (Raman 532 nm and IR; Lafuente
 * B., Downs R. T., Yang H., Stone N. (2015) "The power of databases: the RRUFF project", Highlights in Mineralogical
 * Crystallography, 1-30), same split and queries for every method, in one run.
 *
 * Split (bench/real/corpus.ts, seed 1): minerals with >= 2 samples (RRUFF IDs); a seeded 20 % of them query-only
 * (unknown); of the others 1-2 samples enrolled (one fewer than the mineral has), the rest queried. Reported on the
 * test part (minerals of class fold 0, core/training/class-folds.ts: never in a fold model's training) and, labelled,
 * the validation part (folds 1-4, where the settings were chosen: bench/real/tune.ts).
 * Methods: spectrad as the product runs it (file reader, preprocess onto the model's physical grid, encoder,
 * identify() with the technique's spectral ranking and its library-calibrated unknown cut) and classic HQI (Pearson
 * on the same grid, best reference per class) in four variants: raw, baseline-removed (rolling minimum),
 * square-root intensities (after it), first derivative; unknown by a top-HQI cut calibrated the same way
 * (leave-one-out same-class matches of the library, 5 % false-unknown target).
 * Also: identify() ms per query against a 1500-class Raman library on one thread.
 * Usage: npm run bench:real [-- --data ../shared/data/rruff-dev] [-- --raman-model DIR] [-- --ir-model DIR]
 * Writes bench/results/real.json.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { loadEncoder } from '../core/encoder/model-files.ts';
import type { Encoder, InputGrid } from '../core/encoder/types.ts';
import { initEngine } from '../core/engine/index.ts';
import { smoothedSpectrumEncoder } from './lib/baseline-encoder.ts';
import { identify, type IdentifyOptions } from '../core/identify/identify.ts';
import { ReferenceLibrary } from '../core/identify/knn/library.ts';
import { auroc } from '../core/identify/metrics.ts';
import { hitQuality, matchProfile, type MatchOptions, type MatchProfile } from '../core/identify/spectral/spectral-match.ts';
import { spectralRankingFor } from '../core/identify/spectral/spectral-ranking.ts';
import { TECHNIQUE_GRIDS } from '../core/preprocess/grids.ts';
import { preprocess } from '../core/preprocess/index.ts';
import { loadRealDataset, splitBySample, type RealDataset, type RealSpectrum } from './real/corpus.ts';

const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: '../shared/data/rruff-dev' },
    // Fold models: trained without the minerals of class fold 0, the test part here.
    'raman-model': { type: 'string', default: 'models/raman-532-fold0' },
    'ir-model': { type: 'string', default: 'models/ir-fold0' },
    weights: { type: 'string' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string', default: 'bench/results/real.json' },
    'speed-queries': { type: 'string', default: '200' },
    'speed-only': { type: 'boolean', default: false },
    // A smaller library (more minerals query-only) and no 1500-class speed run: the unknown cut in a small library.
    'query-only-share': { type: 'string', default: '0.2' },
    'skip-speed': { type: 'boolean', default: false },
    dump: { type: 'string' },
  },
});
const log = (m: string) => console.error(`[real] ${m}`);
const pct = (a: number, b: number) => (b ? Math.round((1000 * a) / b) / 10 : Number.NaN);

const CLASSIC: Readonly<Record<string, MatchOptions>> = {
  'HQI raw': { views: [{ baseline: 'none' }] },
  'HQI baseline-removed': { views: [{ baseline: 'rollingMin', baselineWindow: 100 }] },
  'HQI sqrt': { views: [{ baseline: 'rollingMin', baselineWindow: 100, transform: 'sqrt' }] },
  'HQI first derivative': { views: [{ baseline: 'none', transform: 'derivative' }] },
};

async function encoderFor(dataset: RealDataset): Promise<{ encoder: Encoder; model: string; trained: boolean }> {
  const dir = dataset === 'ir' ? args['ir-model']! : args['raman-model']!;
  if (existsSync(dir)) {
    await initEngine();
    const encoder = await loadEncoder(dir);
    // Named as the repository names it (models/<name>) with the card's version, never by a machine path.
    return { encoder, model: `models/${basename(dir)} (${encoder.version})`, trained: true };
  }
  // No trained model for the technique: the untrained smoothed-spectrum encoder on its grid (the ranking's
  // embedding weight is 0 where no trained model was measured, so the answer is the spectral ranking's).
  const grid: InputGrid = TECHNIQUE_GRIDS[dataset];
  const base = smoothedSpectrumEncoder(grid.points, { sigma: 3, stride: 4 });
  return { encoder: { ...base, grid, embed: base.embed.bind(base), dispose: () => base.dispose() }, model: `none (untrained ${base.version} on the ${dataset} grid)`, trained: false };
}

interface MethodResult {
  method: string;
  part: 'test' | 'validation';
  knownQueries: number;
  unknownQueries: number;
  refused: number;
  top1: number;
  top5: number;
  unknownAuroc: number;
  falseUnknown: number;
  unknownCalledUnknown: number;
  msPerQuery: number;
}

interface Answer {
  ranked: string[];
  score: number;
  unknown: boolean;
}

function summarize(method: string, part: 'test' | 'validation', rows: { known: boolean; mineral: string; answer: Answer | null }[], ms: number): MethodResult {
  const known = rows.filter((r) => r.known);
  const unknown = rows.filter((r) => !r.known);
  const rank = (r: (typeof rows)[number]) => (r.answer ? r.answer.ranked.indexOf(r.mineral) : -1);
  const scoreOf = (r: (typeof rows)[number]) => r.answer?.score ?? -Infinity;
  return {
    method,
    part,
    knownQueries: known.length,
    unknownQueries: unknown.length,
    refused: rows.filter((r) => !r.answer).length,
    top1: pct(known.filter((r) => rank(r) === 0).length, known.length),
    top5: pct(known.filter((r) => rank(r) >= 0 && rank(r) < 5).length, known.length),
    unknownAuroc: Math.round(1000 * auroc(known.map(scoreOf), unknown.map(scoreOf))) / 1000,
    falseUnknown: pct(known.filter((r) => !r.answer || r.answer.unknown).length, known.length),
    unknownCalledUnknown: pct(unknown.filter((r) => !r.answer || r.answer.unknown).length, unknown.length),
    msPerQuery: Math.round(ms * 100) / 100,
  };
}

/** Classic library search: best HQI per class; unknown below the library's leave-one-out 5 % quantile of top HQI. */
function classicSearch(references: Map<string, Float32Array[]>, options: MatchOptions) {
  const refs: { mineral: string; profile: MatchProfile }[] = [];
  for (const [mineral, rows] of references) for (const row of rows) refs.push({ mineral, profile: matchProfile(row, options) });
  const search = (query: MatchProfile, skip?: number): [string, number][] => {
    const best = new Map<string, number>();
    refs.forEach((r, i) => {
      if (i !== skip) best.set(r.mineral, Math.max(best.get(r.mineral) ?? -2, hitQuality(query, r.profile, options)));
    });
    return [...best.entries()].sort((a, b) => b[1] - a[1]);
  };
  const own: number[] = [];
  refs.forEach((r, i) => {
    if (refs.filter((o) => o.mineral === r.mineral).length < 2) return;
    const ranked = search(r.profile, i);
    if (ranked[0][0] === r.mineral) own.push(ranked[0][1]);
  });
  own.sort((a, b) => a - b);
  const cut = own.length ? own[Math.floor(0.05 * own.length)] : 0.9;
  return (query: Float32Array): Answer => {
    const ranked = search(matchProfile(query, options));
    return { ranked: ranked.map(([m]) => m), score: ranked[0][1], unknown: ranked[0][1] < cut };
  };
}

async function runDataset(dataset: RealDataset): Promise<{ meta: object; results: MethodResult[] }> {
  const items = loadRealDataset(args.data!, dataset);
  const split = splitBySample(items, { seed: Number(args.seed), queryOnlyShare: Number(args['query-only-share']) });
  const { encoder, model, trained } = await encoderFor(dataset);
  const grid = encoder.grid;
  log(`${dataset}: ${items.length} files, ${split.references.size} enrolled minerals, ${split.queries.length} queries, model ${model}, grid ${grid.xStart}-${grid.xEnd} ${grid.xUnit} (${grid.points})`);
  const gridded = (item: RealSpectrum): Float32Array | null => {
    try {
      return preprocess(item.spectrum, grid);
    } catch {
      return null;
    }
  };
  // The library as `spectrad library add` builds it: preprocessed references, embedded, spectra kept.
  const library = new ReferenceLibrary({ dim: encoder.dim, points: grid.points, modelVersion: encoder.version });
  const refSpectra = new Map<string, Float32Array[]>();
  for (const [mineral, list] of split.references) {
    const rows = list.map(gridded).filter((r): r is Float32Array => r !== null);
    if (!rows.length) continue;
    refSpectra.set(mineral, rows);
    const stacked = new Float32Array(rows.length * grid.points);
    rows.forEach((r, i) => stacked.set(r, i * grid.points));
    await library.enroll(mineral, stacked, encoder);
  }
  // spectrad as shipped (the preset's embedding weight); --weights adds rows for other weights (validation sweep).
  const extraWeights = (args.weights ?? '').split(',').filter(Boolean).map(Number);
  const variants: { method: string; options: IdentifyOptions }[] = [
    // Without a trained model the untrained encoder's embedding gets no weight.
    { method: 'spectrad', options: { spectral: spectralRankingFor(grid, trained ? {} : { embeddingWeight: 0 }) ?? (false as const) } },
    // The unknown model's cut from the scores of the samples it was fitted on (before the out-of-fold cut).
    ...(spectralRankingFor(grid)?.hubness && trained ? [{ method: 'spectrad in-sample cut', options: { spectral: { ...spectralRankingFor(grid)!, cutFolds: 1 } } }] : []),
    ...extraWeights.map((w) => ({ method: `spectrad w=${w}`, options: { spectral: spectralRankingFor(grid, { embeddingWeight: w }) ?? (false as const) } })),
    { method: 'encoder only', options: { spectral: false as const, mixtures: false } },
  ];
  const queries = split.queries.map((q) => ({ ...q, values: gridded(q.item) }));
  const results: MethodResult[] = [];
  type Row = { part: 'test' | 'validation'; known: boolean; mineral: string; answer: Answer | null };
  const rowsOf = variants.map(() => [] as Row[]);
  const msOf = variants.map(() => 0);
  const first = queries.find((q) => q.values)!;
  const t0 = performance.now();
  // The first identify() builds a library state's spectral index and calibration (once per state), timed apart.
  for (const v of variants) identify({ embedding: (await encoder.embed(first.values!, 1)).slice(), spectrum: first.values! }, library, v.options);
  log(`${dataset}: library state prepared in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  for (const q of queries) {
    const base = { part: q.part, known: q.known, mineral: q.item.mineral };
    if (!q.values) {
      rowsOf.forEach((rows) => rows.push({ ...base, answer: null }));
      continue;
    }
    const e0 = performance.now();
    const embedding = await encoder.embed(q.values, 1);
    const embedMs = performance.now() - e0;
    variants.forEach((v, i) => {
      const s = performance.now();
      const r = identify({ embedding, spectrum: q.values! }, library, v.options);
      msOf[i] += performance.now() - s + embedMs;
      rowsOf[i].push({ ...base, answer: { ranked: r.candidates.map((c) => c.class), score: r.candidates[0]?.score ?? 0, unknown: r.status === 'unknown' } });
      if (i === 0) dumped.push({ dataset, part: q.part, known: q.known, correct: r.candidates[0]?.class === q.item.mineral, status: r.status, score: r.candidates[0]?.score, hqi: r.candidates[0]?.spectralMatch, second: r.candidates[1]?.spectralMatch });
    });
  }
  const answered = queries.filter((q) => q.values).length;
  variants.forEach((v, i) => {
    for (const part of ['test', 'validation'] as const) results.push(summarize(v.method, part, rowsOf[i].filter((r) => r.part === part), msOf[i] / answered));
  });
  const refSpectra2 = refSpectra;
  for (const [name, options] of Object.entries(CLASSIC)) {
    const search = classicSearch(refSpectra2, options);
    const rows: Row[] = [];
    const s = performance.now();
    for (const q of queries) rows.push({ part: q.part, known: q.known, mineral: q.item.mineral, answer: q.values ? search(q.values) : null });
    const ms = (performance.now() - s) / answered;
    for (const part of ['test', 'validation'] as const) results.push(summarize(name, part, rows.filter((r) => r.part === part), ms));
  }
  encoder.dispose();
  const meta = {
    dataset,
    model,
    grid,
    files: items.length,
    enrolledMinerals: split.references.size,
    queryOnlyMinerals: split.queryOnly,
    testMinerals: [...new Set(split.queries.filter((q) => q.part === 'test').map((q) => q.item.mineral))].length,
  };
  return { meta, results };
}

/** identify() against a 1500-class Raman library (every Raman mineral, up to 2 samples each; repeats fill to 1500). */
async function speed(): Promise<object> {
  const items = loadRealDataset(args.data!, 'raman-532');
  const { encoder, model } = await encoderFor('raman-532');
  const grid = encoder.grid;
  const byMineral = new Map<string, Float32Array[]>();
  for (const item of items) {
    const rows = byMineral.get(item.mineral) ?? [];
    if (rows.length >= 2) continue;
    try {
      rows.push(preprocess(item.spectrum, grid));
      byMineral.set(item.mineral, rows);
    } catch {
      // refused spectra are not enrolled
    }
  }
  const library = new ReferenceLibrary({ dim: encoder.dim, points: grid.points, modelVersion: encoder.version });
  const entries = [...byMineral.entries()];
  for (let i = 0; library.classCount < 1500; i++) {
    const [mineral, rows] = entries[i % entries.length];
    const stacked = new Float32Array(rows.length * grid.points);
    rows.forEach((r, j) => stacked.set(r, j * grid.points));
    await library.enroll(i < entries.length ? mineral : `${mineral} (copy ${Math.floor(i / entries.length)})`, stacked, encoder);
  }
  const spectral = spectralRankingFor(grid) ?? false;
  const queries = items.slice(0, Number(args['speed-queries'])).map((item) => preprocess(item.spectrum, grid));
  const embeddings = await Promise.all(queries.map((q) => encoder.embed(q, 1)));
  const prepStart = performance.now();
  identify({ embedding: embeddings[0], spectrum: queries[0] }, library, { spectral });
  const prepareMs = performance.now() - prepStart;
  // CPU time beside wall time: on a shared machine the wall clock counts other processes' turns too.
  const s = performance.now();
  const cpu0 = process.cpuUsage();
  queries.forEach((q, i) => identify({ embedding: embeddings[i], spectrum: q }, library, { spectral }));
  const cpu = process.cpuUsage(cpu0);
  const ms = (performance.now() - s) / queries.length;
  const cpuMs = (cpu.user + cpu.system) / 1000 / queries.length;
  encoder.dispose();
  return { classes: library.classCount, references: library.referenceCount, model, queries: queries.length, identifyMsPerQuery: Math.round(ms * 100) / 100, identifyCpuMsPerQuery: Math.round(cpuMs * 100) / 100, prepareLibraryStateMs: Math.round(prepareMs) };
}

const dumped: object[] = [];
const started = Date.now();
const datasets = [];
for (const dataset of args['speed-only'] ? [] : (['raman-532', 'ir'] as const)) datasets.push(await runDataset(dataset));
const speedResult = args['skip-speed'] ? null : await speed();
const out = {
  command: ['npm run bench:real', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' '),
  source: 'RRUFF (Lafuente B., Downs R. T., Yang H., Stone N. (2015) "The power of databases: the RRUFF project", Highlights in Mineralogical Crystallography, 1-30)',
  seed: Number(args.seed),
  datasets,
  speed: speedResult,
  seconds: Math.round((Date.now() - started) / 1000),
};
mkdirSync('bench/results', { recursive: true });
if (args.dump) writeFileSync(args.dump, JSON.stringify(dumped));
writeFileSync(args.out!, `${JSON.stringify(out, null, 2)}\n`);
for (const d of datasets) {
  console.log(`\n${(d.meta as { dataset: string }).dataset} (model ${(d.meta as { model: string }).model})`);
  console.log('part        method                 known  unk  refused  top-1  top-5  AUROC  false-unk  unk->unk  ms/query');
  for (const r of d.results) {
    console.log(
      `${r.part.padEnd(11)} ${r.method.padEnd(22)} ${String(r.knownQueries).padStart(5)} ${String(r.unknownQueries).padStart(4)} ${String(r.refused).padStart(8)} ${r.top1.toFixed(1).padStart(6)} ${r.top5.toFixed(1).padStart(6)} ${r.unknownAuroc.toFixed(3).padStart(6)} ${r.falseUnknown.toFixed(1).padStart(10)} ${r.unknownCalledUnknown.toFixed(1).padStart(9)} ${r.msPerQuery.toFixed(2).padStart(9)}`,
    );
  }
}
console.log(`\nspeed: ${JSON.stringify(speedResult)}`);
console.log(`wrote ${args.out}`);
