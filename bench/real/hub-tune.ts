/**
 * Validation study of hubness reduction in the spectral ranking (CSLS: a reference that correlates well with many
 * other classes' references loses part of that mean from its HQI), with and without the embedding term.
 * Usage: node bin/run-ts.js bench/real/hub-tune.ts [--dataset raman-532|ir] [--part validation|test]
 */
import { parseArgs } from 'node:util';
import { loadEncoder } from '../../core/encoder/model-files.ts';
import { initEngine } from '../../core/engine/index.ts';
import { ReferenceLibrary } from '../../core/identify/knn/library.ts';
import { auroc } from '../../core/identify/metrics.ts';
import { hitQuality, matchProfile, type MatchProfile } from '../../core/identify/spectral/spectral-match.ts';
import { libraryEmbeddingSims, spectralRankingFor } from '../../core/identify/spectral/spectral-ranking.ts';
import { preprocess } from '../../core/preprocess/index.ts';
import { loadRealDataset, splitBySample, type RealDataset } from './corpus.ts';

const { values } = parseArgs({ options: { data: { type: 'string', default: '../shared/data/rruff-dev' }, dataset: { type: 'string', default: 'raman-532' }, part: { type: 'string', default: 'validation' } } });
const dataset = values.dataset as RealDataset;
const split = splitBySample(loadRealDataset(values.data!, dataset), { seed: 1 });
await initEngine();
const encoder = await loadEncoder(dataset === 'ir' ? 'models/ir-fold0' : 'models/raman-532-fold0');
const grid = encoder.grid;
const g = (s: Parameters<typeof preprocess>[0]) => { try { return preprocess(s, grid); } catch { return null; } };
const library = new ReferenceLibrary({ dim: encoder.dim, points: grid.points, modelVersion: encoder.version });
const refs: { c: number; p: MatchProfile }[] = [];
const options = spectralRankingFor(grid)!;
for (const [mineral, list] of split.references) {
  const rows = list.map((r) => g(r.spectrum)).filter((r): r is Float32Array => r !== null);
  if (!rows.length) continue;
  const c = library.classCount;
  const stacked = new Float32Array(rows.length * grid.points);
  rows.forEach((r, i) => { stacked.set(r, i * grid.points); refs.push({ c, p: matchProfile(r, options.match) }); });
  await library.enroll(mineral, stacked, encoder);
}
const names = library.matrix().classNames;
const simsOf = libraryEmbeddingSims(library);
// Per reference: its HQIs with other classes' references, sorted high to low.
const hub = refs.map((a) => refs.filter((b) => b.c !== a.c).map((b) => hitQuality(a.p, b.p, options.match)).sort((x, y) => y - x));
const t = (s: number) => -Math.log(Math.max(1e-6, 1 - s));
const variants: { name: string; k: number; alpha: number; w: number; inT: boolean }[] = [];
for (const w of [0, 0.25]) for (const inT of [false, true]) for (const k of [1, 3, 10]) for (const alpha of [0, 0.25, 0.5]) if (alpha || (k === 1)) variants.push({ name: `w${w} ${inT ? 't' : 'r'} k${k} a${alpha}`, k, alpha, w, inT });
const stats = variants.map(() => ({ top1: 0, known: 0, pos: [] as number[], neg: [] as number[] }));
const hubTerm = (i: number, k: number, inT: boolean) => { const h = hub[i].slice(0, k); return h.reduce((a, b) => a + (inT ? t(b) : b), 0) / h.length; };
for (const q of split.queries.filter((x) => x.part === values.part)) {
  const y = g(q.item.spectrum);
  if (!y) continue;
  const qp = matchProfile(y, options.match);
  const sims = simsOf(await encoder.embed(y, 1));
  const h = refs.map((r) => hitQuality(qp, r.p, options.match));
  variants.forEach((v, vi) => {
    const best = new Float64Array(names.length).fill(-Infinity);
    refs.forEach((r, i) => { const s = (v.inT ? t(h[i]) : h[i]) - v.alpha * hubTerm(i, v.k, v.inT); if (s > best[r.c]) best[r.c] = s; });
    const comb = Array.from(best, (b, c) => b + v.w * sims[c] * (v.inT ? 5 : 1));
    let top = 0;
    comb.forEach((s, c) => { if (s > comb[top]) top = c; });
    const st = stats[vi];
    if (q.known) { st.known++; if (names[top] === q.item.mineral) st.top1++; st.pos.push(best[top]); } else st.neg.push(best[top]);
  });
}
variants.forEach((v, i) => console.log(`${v.name.padEnd(18)} top1 ${((100 * stats[i].top1) / stats[i].known).toFixed(1)} auroc(top score) ${auroc(stats[i].pos, stats[i].neg).toFixed(3)}`));
encoder.dispose();
