/**
 * Feature dump for the validation studies of the ranking and the unknown statistic on the RRUFF dev corpus: per
 * sample (the library's own leave-one-out samples as the product fits on them, and the queries of one part), the
 * top classes of the spectral screen with their HQI under several views, the embedding's similarities and the
 * hubness terms, and the query's embedding statistics. Analysed outside the product (logistic models and rank fusions over these rows); the product never
 * reads it. Usage: node bin/run-ts.js bench/real/features.ts --dataset raman-532 --model models/raman-532-fold0
 * --part validation --out FILE
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadEncoder } from '../../core/encoder/model-files.ts';
import { initEngine } from '../../core/engine/index.ts';
import { ReferenceLibrary } from '../../core/identify/knn/library.ts';
import { hitQuality, matchProfile, rollingMinBaseline, viewCorrelation, type MatchOptions, type MatchProfile } from '../../core/identify/spectral/spectral-match.ts';
import { findPeaks, type Peak } from '../../core/identify/peaks/peak-features.ts';
import { strongBandOffset } from '../../core/identify/spectral/unknown-evidence.ts';
import { libraryEmbeddingSims, spectralIndexFor, spectralRankingFor, spectralScores } from '../../core/identify/spectral/spectral-ranking.ts';
import { preprocess } from '../../core/preprocess/index.ts';
import { classFold } from '../../core/training/class-folds.ts';
import { loadRealDataset, splitBySample, type RealDataset } from './corpus.ts';

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: '../shared/data/rruff-dev' },
    dataset: { type: 'string', default: 'raman-532' },
    model: { type: 'string' },
    part: { type: 'string', default: 'validation' },
    top: { type: 'string', default: '20' },
    out: { type: 'string', default: '/dev/stdout' },
  },
});
const dataset = values.dataset as RealDataset;
const split = splitBySample(loadRealDataset(values.data!, dataset), { seed: 1 });
await initEngine();
const encoder = await loadEncoder(values.model ?? (dataset === 'ir' ? 'models/ir-fold0' : 'models/raman-532-fold0'));
const grid = encoder.grid;
const g = (s: Parameters<typeof preprocess>[0]) => {
  try {
    return preprocess(s, grid);
  } catch {
    return null;
  }
};
const library = new ReferenceLibrary({ dim: encoder.dim, points: grid.points, modelVersion: encoder.version });
const spectraRows: Float32Array[] = [];
for (const [mineral, list] of split.references) {
  const rows = list.map((r) => g(r.spectrum)).filter((r): r is Float32Array => r !== null);
  if (!rows.length) continue;
  const stacked = new Float32Array(rows.length * grid.points);
  rows.forEach((r, i) => stacked.set(r, i * grid.points));
  spectraRows.push(...rows);
  await library.enroll(mineral, stacked, encoder);
}
const options = spectralRankingFor(grid)!;
const simsOf = libraryEmbeddingSims(library);
const index = spectralIndexFor(library, options, simsOf)!;
const matrix = library.matrix();
const names = matrix.classNames;
const step = (grid.xEnd - grid.xStart) / (grid.points - 1);
const pts = (w: number) => Math.max(1, Math.round(w / step));
// Extra views, exact HQI on the top classes only.
const VIEWS: Record<string, MatchOptions> = {
  rollmin: { views: [{ baseline: 'rollingMin', baselineWindow: pts(dataset === 'ir' ? 200 : 100) }] },
  sqrtDeriv: { views: [{ baseline: 'rollingMin', baselineWindow: pts(100), transform: 'sqrt' }, { baseline: 'none', transform: 'derivative', smooth: pts(10) }] },
  deriv: { views: [{ baseline: 'none', transform: 'derivative', smooth: pts(10) }] },
  pow25: { views: [{ baseline: 'rollingMin', baselineWindow: pts(100), transform: 'sqrt', power: 0.25 }] },
  sqrtBlur: { views: [{ baseline: 'rollingMin', baselineWindow: pts(100), transform: 'sqrt', blur: pts(4) | 1 }] },
  sqrt: { views: [{ baseline: 'rollingMin', baselineWindow: pts(100), transform: 'sqrt' }] },
  rmDeriv: { views: [{ baseline: 'rollingMin', baselineWindow: pts(dataset === 'ir' ? 200 : 100), transform: 'derivative', smooth: pts(10) }] },
  raw: { views: [{ baseline: 'none' }] },
};
const refProfiles: Record<string, MatchProfile[][]> = {};
const classRows: number[][] = names.map(() => []);
for (let r = 0; r < matrix.labels.length; r++) classRows[matrix.labels[r]].push(r);
for (const [name, o] of Object.entries(VIEWS)) refProfiles[name] = classRows.map((rows) => rows.map((r) => matchProfile(spectraRows[r], o)));
// Embedding hubness per reference row: mean of its 10 best cosines with other classes' rows.
const dim = matrix.dim;
const E = matrix.embeddings;
const R = matrix.labels.length;
const embHub = new Float64Array(R);
for (let a = 0; a < R; a++) {
  const xs: number[] = [];
  for (let b = 0; b < R; b++) {
    if (matrix.labels[b] === matrix.labels[a]) continue;
    let s = 0;
    for (let j = 0; j < dim; j++) s += E[a * dim + j] * E[b * dim + j];
    xs.push(s);
  }
  xs.sort((x, y) => y - x);
  const top = xs.slice(0, 10);
  embHub[a] = top.reduce((x, y) => x + y, 0) / top.length;
}
// Per class, the t of every pair of its references (embedding cosine, and the sqrt view's HQI): a class's own
// spread, for the per-class standardized statistics (identify's embedding path standardizes so).
const pairT = (rows: number[], k: number, f: (a: number, b: number) => number) => {
  const left = rows.filter((_, i) => i !== k);
  return left.map((a) => Math.max(...left.filter((b) => b !== a).map((b) => t(f(a, b)))));
};
const cosRows = (a: number, b: number) => {
  let s = 0;
  for (let j = 0; j < dim; j++) s += E[a * dim + j] * E[b * dim + j];
  return s;
};
const sqrtRowProfile = (r: number) => refProfiles.sqrt[matrix.labels[r]][classRows[matrix.labels[r]].indexOf(r)];
const hqiRows = (a: number, b: number) => hitQuality(sqrtRowProfile(a), sqrtRowProfile(b), VIEWS.sqrt);
const TOP = Number(values.top);
/** Peaks of the baseline-removed spectrum, positions in grid points. */
const peaksOf = (y: Float32Array): Peak[] => {
  const base = rollingMinBaseline(y, pts(100));
  return findPeaks(Float32Array.from(y, (v, i) => Math.max(0, v - base[i])), { minHeight: 0.03, halfWindow: 3 });
};
const refPeaks = spectraRows.map(peaksOf);
/** Height-weighted share of a's peaks with a peak of b within tol points, and the weighted mean |offset| of those. */
function peakMatch(a: Peak[], b: Peak[], tol: number): [number, number] {
  let w = 0, hit = 0, off = 0;
  for (const p of a) {
    let best = Infinity;
    for (const q of b) best = Math.min(best, Math.abs(q.position - p.position));
    w += p.height;
    if (best <= tol) { hit += p.height; off += p.height * best; }
  }
  return [w ? hit / w : 0, hit ? off / hit : tol];
}
const t = (s: number) => -Math.log(Math.max(1e-6, 1 - s));

function sample(profile: MatchProfile, spectrum: Float32Array, emb: Float32Array, skip?: { classIndex: number; reference?: number }, skipRow?: number) {
  const sims = simsOf(emb, skipRow);
  if (skip && skip.reference === undefined) sims[skip.classIndex] = -Infinity;
  const scores = spectralScores(index, profile, null, skip);
  // Per-row cosines.
  const cos = new Float64Array(R);
  for (let r = 0; r < R; r++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += E[r * dim + j] * emb[j];
    cos[r] = s;
  }
  const skipped = (c: number, k: number) => skip !== undefined && skip.classIndex === c && (skip.reference === undefined || skip.reference === k);
  const finiteSims = Array.from(sims).filter(Number.isFinite);
  const ts = finiteSims.map(t);
  const em = ts.reduce((a, b) => a + b, 0) / ts.length;
  const esd = Math.sqrt(ts.reduce((a, b) => a + (b - em) ** 2, 0) / ts.length);
  const order = Array.from(sims.keys()).sort((a, b) => sims[b] - sims[a]);
  const profiles = Object.fromEntries(Object.entries(VIEWS).map(([n, o]) => [n, matchProfile(spectrum, o)]));
  const qPeaks = peaksOf(spectrum);
  // Per view, the query's null over every class (best whole-grid dot per class): mean and sd of t, and the top value.
  const viewNull: Record<string, [number, number, number, number]> = {};
  const qvec = new Float64Array(names.length).fill(NaN);
  for (const n of Object.keys(VIEWS)) {
    const qv = profiles[n].views;
    let sum = 0, sq = 0, cnt = 0, top = -2, second = -2;
    refProfiles[n].forEach((refs, c) => {
      let best = -2;
      refs.forEach((p, k) => {
        if (skipped(c, k)) return;
        let d = 0;
        for (let v = 0; v < qv.length; v++) {
          const a = qv[v], b = p.views[v];
          const from = Math.max(a.from, b.from), to = Math.min(a.to, b.to);
          for (let i = from; i <= to; i++) d += a.values[i] * b.values[i];
        }
        best = Math.max(best, d / qv.length);
      });
      if (best <= -2) return;
      const tv = t(best);
      if (n === 'sqrt') qvec[c] = tv;
      sum += tv; sq += tv * tv; cnt++;
      if (best > top) { second = top; top = best; } else if (best > second) second = best;
    });
    const mean = sum / cnt;
    viewNull[n] = [mean, Math.sqrt(Math.max(1e-12, sq / cnt - mean * mean)), top, second];
  }
  let TOP_PROFILE = 5;
  const cands = scores.slice(0, TOP).map((s) => {
    const c = s.classIndex;
    const rows = classRows[c];
    let emax = -1;
    let ecsls = -Infinity;
    rows.forEach((r, k) => {
      if (skipped(c, k)) return;
      emax = Math.max(emax, cos[r]);
      ecsls = Math.max(ecsls, cos[r] - 0.5 * embHub[r]);
    });
    const views: Record<string, number> = {};
    for (const [n, o] of Object.entries(VIEWS)) {
      let best = -1;
      refProfiles[n][c].forEach((p, k) => {
        if (!skipped(c, k)) best = Math.max(best, hitQuality(profiles[n], p, o));
      });
      views[n] = best;
    }
    // Peak agreement and shift with the class's best reference (sqrt view).
    let bestK = -1, bestV = -2, sumV = 0, nV = 0, perRef = -Infinity;
    refProfiles.sqrt[c].forEach((p, k) => {
      if (skipped(c, k)) return;
      const v = hitQuality(profiles.sqrt, p, VIEWS.sqrt);
      sumV += v;
      nV++;
      perRef = Math.max(perRef, v + 0.25 * cos[rows[k]]);
      if (v > bestV) { bestV = v; bestK = k; }
    });
    const ref = rows[bestK];
    const [qHit, qOff] = peakMatch(qPeaks, refPeaks[ref], pts(8));
    const [rHit, rOff] = peakMatch(refPeaks[ref], qPeaks, pts(8));
    const [qHit3] = peakMatch(qPeaks, refPeaks[ref], pts(3));
    const [rHit3] = peakMatch(refPeaks[ref], qPeaks, pts(3));
    let shiftBest = bestV, shiftAt = 0;
    for (let sh = -8; sh <= 8; sh++) {
      const v = viewCorrelation(profiles.sqrt.views[0], refProfiles.sqrt[c][bestK].views[0], sh);
      if (v > shiftBest) { shiftBest = v; shiftAt = sh; }
    }
    // Profile agreement: the query's t over every other class against the best reference's (same skips).
    let prof = NaN;
    if (TOP_PROFILE-- > 0) {
      const rp = refProfiles.sqrt[c][bestK].views[0];
      const xs: number[] = [], ys: number[] = [];
      refProfiles.sqrt.forEach((refs, j) => {
        if (j === c || Number.isNaN(qvec[j])) return;
        let best = -2;
        refs.forEach((p, k) => {
          if (skipped(j, k)) return;
          const b = p.views[0];
          const from = Math.max(rp.from, b.from), to = Math.min(rp.to, b.to);
          let d = 0;
          for (let i = from; i <= to; i++) d += rp.values[i] * b.values[i];
          best = Math.max(best, d);
        });
        if (best <= -2) return;
        xs.push(qvec[j]); ys.push(t(best));
      });
      const mx = xs.reduce((a, b) => a + b, 0) / xs.length, my = ys.reduce((a, b) => a + b, 0) / ys.length;
      let sxy = 0, sxx = 0, syy = 0;
      xs.forEach((x, i) => { sxy += (x - mx) * (ys[i] - my); sxx += (x - mx) ** 2; syy += (ys[i] - my) ** 2; });
      prof = sxy / Math.sqrt(sxx * syy);
    }
    // Band-position match (as mineralogists compare band lists): best over the class's references of the mean of
    // the height-weighted shares of each side's bands with a band of the other within 5 cm-1.
    let pm = 0;
    rows.forEach((r, k) => {
      if (skipped(c, k)) return;
      pm = Math.max(pm, 0.5 * (peakMatch(qPeaks, refPeaks[r], pts(5))[0] + peakMatch(refPeaks[r], qPeaks, pts(5))[0]));
    });
    // Offset of the strongest 8 bands of each side to the nearest band of the other (12 cm-1 when none is closer).
    const strongOffset = strongBandOffset(qPeaks, refPeaks[ref], pts(12));
    // The class's own leave-one-out samples (each remaining reference's best t to the others), both views.
    const skipK = skip && skip.classIndex === c && skip.reference !== undefined ? skip.reference : -1;
    const eIntra = rows.length - (skipK >= 0 ? 1 : 0) >= 2 ? pairT(rows, skipK, cosRows) : [];
    const hIntra = rows.length - (skipK >= 0 ? 1 : 0) >= 2 ? pairT(rows, skipK, hqiRows) : [];
    return { c, eIntra, hIntra, prof, pm, strongOffset, hqi: s.hqi, z: s.z, csls: s.csls, es: sims[c], emax, ecsls, ...views, qHit, qOff, rHit, rOff, qHit3, rHit3, shiftGain: shiftBest - bestV, shiftAt, hqiMean: nV ? sumV / nV : -1, perRef };
  });
  return { cands, viewNull, eTop: order[0], eTopSim: sims[order[0]], eSecondSim: sims[order[1]], eMeanT: em, eSdT: esd };
}

const out: object[] = [];
let row = 0;
index.classes.forEach((refs, c) => {
  refs.forEach((profile, r) => {
    const rowAt = row + r;
    const emb = E.subarray(rowAt * dim, (rowAt + 1) * dim);
    const spectrum = spectraRows[rowAt];
    if (refs.length >= 2) out.push({ set: 'libK', truth: c, fold: classFold(names[c]), ...sample(profile, spectrum, emb, { classIndex: c, reference: r }, rowAt) });
    out.push({ set: 'libU', truth: -1, fold: classFold(names[c]), ...sample(profile, spectrum, emb, { classIndex: c }, rowAt) });
  });
  row += refs.length;
});
console.error(`library samples ${out.length}`);
for (const q of split.queries.filter((x) => values.part === 'all' || x.part === values.part)) {
  const y = g(q.item.spectrum);
  if (!y) continue;
  const emb = await encoder.embed(y, 1);
  out.push({ set: 'q', known: q.known, truth: q.known ? names.indexOf(q.item.mineral) : -1, fold: classFold(q.item.mineral), part: q.part, ...sample(matchProfile(y, options.match), y, emb) });
}
writeFileSync(values.out!, JSON.stringify({ classes: names.length, rows: out }));
console.error(`wrote ${out.length} samples`);
encoder.dispose();
