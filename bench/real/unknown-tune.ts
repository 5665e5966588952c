/**
 * Validation study of the unknown statistic on the RRUFF dev corpus: features of the query's hit list (top HQI in t,
 * its null z, gap to the runner-up, the embedding's similarity of the top class and its gap) and a logistic model over
 * them fitted on the library alone (leave-one-out: a reference against its class without it = known; against the
 * library without its class = pseudo-unknown). Prints the AUROC of every feature and model on validation queries.
 * Usage: node bin/run-ts.js bench/real/unknown-tune.ts [--dataset raman-532|ir] [--part validation|test]
 */
import { parseArgs } from 'node:util';
import { loadEncoder } from '../../core/encoder/model-files.ts';
import { initEngine } from '../../core/engine/index.ts';
import { ReferenceLibrary } from '../../core/identify/knn/library.ts';
import { auroc } from '../../core/identify/metrics.ts';
import { fitUnknownModel, unknownLogOdds } from '../../core/identify/spectral/unknown-model.ts';
import { hitQuality, matchProfile } from '../../core/identify/spectral/spectral-match.ts';
import { decoyScores, libraryEmbeddingSims, spectralIndexFor, spectralRankingFor, spectralScores } from '../../core/identify/spectral/spectral-ranking.ts';
import { preprocess } from '../../core/preprocess/index.ts';
import { loadRealDataset, splitBySample, type RealDataset } from './corpus.ts';

const { values } = parseArgs({ options: { data: { type: 'string', default: '../shared/data/rruff-dev' }, dataset: { type: 'string', default: 'raman-532' }, part: { type: 'string', default: 'validation' }, out: { type: 'string' } } });
const dataset = values.dataset as RealDataset;
const items = loadRealDataset(values.data!, dataset);
const split = splitBySample(items, { seed: 1 });
await initEngine();
const encoder = await loadEncoder(dataset === 'ir' ? 'models/ir-fold0' : 'models/raman-532-fold0');
const grid = encoder.grid;
const g = (s: Parameters<typeof preprocess>[0]) => { try { return preprocess(s, grid); } catch { return null; } };
const library = new ReferenceLibrary({ dim: encoder.dim, points: grid.points, modelVersion: encoder.version });
for (const [mineral, list] of split.references) {
  const rows = list.map((r) => g(r.spectrum)).filter((r): r is Float32Array => r !== null);
  if (!rows.length) continue;
  const stacked = new Float32Array(rows.length * grid.points);
  rows.forEach((r, i) => stacked.set(r, i * grid.points));
  await library.enroll(mineral, stacked, encoder);
}
const options = spectralRankingFor(grid)!;
const simsOf = libraryEmbeddingSims(library);
const index = spectralIndexFor(library, options, simsOf)!;
const names = library.matrix().classNames;
const hitQualityOf = (a: ReturnType<typeof matchProfile>, b: ReturnType<typeof matchProfile>) => hitQuality(a, b, options.match);
const t = (s: number) => -Math.log(Math.max(1e-6, 1 - s));
const FEATURES = ['zt', 't1', 'gapT', 'sim', 'simGap', 'agree', 'zSim', 'overNN', 'zOverNN', 'csls', 'zCsls', 'zCslsD'];
// Per class pair: the best screen correlation between their references (the class's nearest relatives).
const pairBest: Float64Array[] = index.classes.map(() => new Float64Array(index.classes.length).fill(-1));
const dotViews = (a: ReturnType<typeof matchProfile>, b: ReturnType<typeof matchProfile>) => {
  let total = 0;
  for (let v = 0; v < a.views.length; v++) {
    const x = a.views[v], y = b.views[v];
    let s = 0;
    for (let i = Math.max(x.from, y.from); i <= Math.min(x.to, y.to); i++) s += x.values[i] * y.values[i];
    total += s;
  }
  return total / a.views.length;
};
index.classes.forEach((ra, a) => index.classes.forEach((rb, b) => {
  if (b <= a) return;
  let best = -1;
  for (const x of ra) for (const y of rb) best = Math.max(best, dotViews(x, y));
  pairBest[a][b] = pairBest[b][a] = best;
}));
// Per reference: the mean of its 10 best correlations with other classes' references (its hubness, CSLS).
const flat = index.classes.flatMap((rs, c) => rs.map((p) => ({ c, p })));
const hubOf = flat.map((a) => { const xs = flat.filter((b) => b.c !== a.c).map((b) => dotViews(a.p, b.p)).sort((x, y) => y - x).slice(0, 10); return xs.reduce((x, y) => x + y, 0) / xs.length; });
const decoyHub = index.decoys.map((d) => { const xs = flat.map((b) => dotViews(d, b.p)).sort((x, y) => y - x).slice(0, 10); return xs.reduce((x, y) => x + y, 0) / xs.length; });
const nearestOther = (c: number, drop?: number) => Math.max(...Array.from(pairBest[c]).filter((_, o) => o !== c && o !== drop));

/** Features of the top class of a hit list, with class `drop` removed (pseudo-unknown). */
function features(profile: ReturnType<typeof matchProfile>, sims: Float64Array, skip?: { classIndex: number; reference: number }, drop?: number): number[] {
  const scores = spectralScores(index, profile, sims, skip).filter((s) => s.classIndex !== drop);
  const dts = decoyScores(index, profile).map(t);
  const [top] = scores;
  const ts = scores.map((s) => t(s.hqi));
  const nullTs = [...ts.slice(1), ...dts];
  const mean = nullTs.reduce((a, b) => a + b, 0) / nullTs.length;
  const sd = Math.sqrt(nullTs.reduce((a, b) => a + (b - mean) ** 2, 0) / nullTs.length) || 1e-6;
  const secondT = Math.max(...ts.slice(1));
  const simList = Array.from(sims).map((v, c) => (c === drop ? -Infinity : v));
  const simTop = sims[top.classIndex];
  const simOther = Math.max(...simList.filter((_, c) => c !== top.classIndex));
  const simArgmax = simList.indexOf(Math.max(...simList));
  const finite = simList.filter(Number.isFinite);
  const sm = finite.reduce((a, b) => a + b, 0) / finite.length;
  const ssd = Math.sqrt(finite.reduce((a, b) => a + (b - sm) ** 2, 0) / finite.length) || 1e-6;
  const nn = t(nearestOther(top.classIndex, drop));
  // CSLS per class: best over its references of HQI - 0.5 hub (screen correlations), null = other classes + decoys.
  const u = new Float64Array(index.classes.length).fill(-Infinity);
  let k = 0;
  index.classes.forEach((rs, c) => rs.forEach((p, r) => { const i = k++; if (c === drop || (skip && skip.classIndex === c && skip.reference === r)) return; u[c] = Math.max(u[c], (c === top.classIndex ? hitQualityOf(profile, p) : dotViews(profile, p)) - 0.5 * hubOf[i]); }));
  const uTop = u[top.classIndex];
  const uOthers = Array.from(u).filter((v, c) => Number.isFinite(v) && c !== top.classIndex);
  const zOf = (x: number, xs: number[]) => { const m = xs.reduce((a, b) => a + b, 0) / xs.length; const s = Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length) || 1e-6; return (x - m) / s; };
  const dU = decoyScores(index, profile).map((v, i) => v - 0.5 * decoyHub[i]);
  return [(ts[0] - mean) / sd, ts[0], ts[0] - secondT, simTop, simTop - simOther, simArgmax === top.classIndex ? 1 : 0, (simTop - sm) / ssd, ts[0] - nn, (ts[0] - mean) / sd - (nn - mean) / sd, uTop, zOf(uTop, uOthers), zOf(uTop, [...uOthers, ...dU])];
}

// Library leave-one-out samples.
const matrix = library.matrix();
const libKnown: number[][] = [];
const libUnknown: number[][] = [];
let row = 0;
index.classes.forEach((refs, c) => {
  refs.forEach((profile, r) => {
    const at = row + r;
    const emb = matrix.embeddings.subarray(at * matrix.dim, (at + 1) * matrix.dim);
    const sims = simsOf(emb, at);
    if (refs.length >= 2) libKnown.push(features(profile, sims, { classIndex: c, reference: r }));
    libUnknown.push(features(profile, sims, undefined, c));
  });
  row += refs.length;
});
console.error(`library LOO: ${libKnown.length} known, ${libUnknown.length} pseudo-unknown`);
const queries = split.queries.filter((q) => q.part === values.part);
const qKnown: number[][] = [];
const qUnknown: number[][] = [];
for (const q of queries) {
  const y = g(q.item.spectrum);
  if (!y) continue;
  const emb = await encoder.embed(y, 1);
  const f = features(matchProfile(y, options.match), simsOf(emb));
  (q.known ? qKnown : qUnknown).push(f);
}
void names;
const out = { features: FEATURES, libKnown, libUnknown, qKnown, qUnknown };
if (values.out) (await import('node:fs')).writeFileSync(values.out, JSON.stringify(out));
for (let i = 0; i < FEATURES.length; i++) {
  console.log(`${FEATURES[i].padEnd(8)} library AUROC ${auroc(libKnown.map((f) => f[i]), libUnknown.map((f) => f[i])).toFixed(3)}  ${values.part} AUROC ${auroc(qKnown.map((f) => f[i]), qUnknown.map((f) => f[i])).toFixed(3)}`);
}
// Logistic models over feature sets, fitted on the library's own samples only (as the product fits them), judged on
// the queries; cut = the 5 % quantile of the library's known samples (false-unk / unk->unk at it).
const SETS: Record<string, string[]> = {
  'z alone': ['zt'], csls: ['csls'], 'z + csls (shipped for Raman)': ['zt', 'csls'], 'z + gap': ['zt', 'gapT'], 'z + csls + gap': ['zt', 'csls', 'gapT'],
  'z + embedding sim': ['zt', 'sim'], 'z, t, gap, sim, sim gap': ['zt', 't1', 'gapT', 'sim', 'simGap'], 'z + nearest relative': ['zt', 'overNN'], 'all': FEATURES,
};
const pct = (a: number, b: number) => ((100 * a) / b).toFixed(1);
for (const [name, fs] of Object.entries(SETS)) {
  const idx = fs.map((f) => FEATURES.indexOf(f));
  const sel = (x: number[]) => idx.map((i) => x[i]);
  const model = fitUnknownModel(libKnown.map(sel), libUnknown.map(sel));
  const score = (x: number[]) => unknownLogOdds(model, sel(x));
  const lk = libKnown.map(score).sort((a, b) => a - b);
  const cut = lk[Math.floor(0.05 * lk.length)];
  const k = qKnown.map(score);
  const u = qUnknown.map(score);
  console.log(`model ${name.padEnd(28)} library AUROC ${auroc(lk, libUnknown.map(score)).toFixed(3)}  ${values.part} AUROC ${auroc(k, u).toFixed(3)}  false-unk ${pct(k.filter((v) => v < cut).length, k.length)} %  unk->unk ${pct(u.filter((v) => v < cut).length, u.length)} %`);
}
encoder.dispose();
