/**
 * Validation sweep of the spectral match (HQI) settings on the RRUFF dev corpus's validation minerals (class folds
 * 1-4; fold 0 is the test part, read only by bench:real). Prints top-1 / top-5 / unknown AUROC per variant.
 * Usage: node bin/run-ts.js bench/real/tune.ts [--data ../shared/data/rruff-dev] [--dataset raman-532|ir] [--part validation|test]
 */
import { parseArgs } from 'node:util';
import type { InputGrid } from '../../core/encoder/types.ts';
import { auroc } from '../../core/identify/metrics.ts';
import { hitQuality, matchProfile, type MatchOptions, type MatchProfile } from '../../core/identify/spectral/spectral-match.ts';
import { preprocess } from '../../core/preprocess/index.ts';
import { loadRealDataset, splitBySample, type RealDataset } from './corpus.ts';

const { values } = parseArgs({ options: { data: { type: 'string', default: '../shared/data/rruff-dev' }, dataset: { type: 'string', default: 'raman-532' }, part: { type: 'string', default: 'validation' }, seed: { type: 'string', default: '1' }, only: { type: 'string' } } });
const dataset = values.dataset as RealDataset;
const items = loadRealDataset(values.data!, dataset);
const split = splitBySample(items, { seed: Number(values.seed) });

interface Variant { name: string; grid: InputGrid; match: MatchOptions }
const G = (xStart: number, xEnd: number, step: number): InputGrid => ({ xUnit: 'cm-1', xStart, xEnd, points: Math.round((xEnd - xStart) / step) + 1 });
const grids = dataset === 'ir' ? { g2: G(350, 4000, 2), g4: G(350, 4000, 4) } : { g1: G(80, 1500, 1), g2: G(80, 1500, 2) };
const base = values.only === 'g4' ? G(350, 4000, 4) : grids.g2;
const S = (o: object = {}) => ({ baseline: 'rollingMin' as const, transform: 'sqrt' as const, ...o });
const D = (o: object = {}) => ({ baseline: 'rollingMin' as const, transform: 'derivative' as const, ...o });
// Every variant tried (validation figures in docs/RESULTS-REAL.md). N: no baseline removal.
const N = (o: object = {}) => ({ baseline: 'none' as const, ...o });
const R = (o: object = {}) => ({ baseline: 'rollingMin' as const, ...o });
const variants: Variant[] = [
  { name: 'raw', grid: base, match: { views: [N()] } },
  { name: 'rollmin100', grid: base, match: { views: [R({ baselineWindow: 100 })] } },
  { name: 'rollmin50', grid: base, match: { views: [R({ baselineWindow: 50 })] } },
  { name: 'rollmin200', grid: base, match: { views: [R({ baselineWindow: 200 })] } },
  { name: 'sqrt', grid: base, match: { views: [S()] } },
  { name: 'sqrt w50', grid: base, match: { views: [S({ baselineWindow: 50 })] } },
  { name: 'sqrt w200', grid: base, match: { views: [S({ baselineWindow: 200 })] } },
  { name: 'pow0.35', grid: base, match: { views: [S({ power: 0.35 })] } },
  { name: 'pow0.25', grid: base, match: { views: [S({ power: 0.25 })] } },
  { name: 'pow0.35 w50', grid: base, match: { views: [S({ power: 0.35, baselineWindow: 50 })] } },
  { name: 'sqrt w50 blur3', grid: base, match: { views: [S({ baselineWindow: 50, blur: 3 })] } },
  { name: 'sqrt w50 blur5', grid: base, match: { views: [S({ baselineWindow: 50, blur: 5 })] } },
  { name: 'sqrt shift2', grid: base, match: { views: [S()], maxShift: 2 } },
  { name: 'sqrt w50 shift1', grid: base, match: { views: [S({ baselineWindow: 50 })], maxShift: 1 } },
  { name: 'deriv', grid: base, match: { views: [N({ transform: 'derivative' })] } },
  { name: 'deriv-s9', grid: base, match: { views: [N({ transform: 'derivative', smooth: 9 })] } },
  { name: 'rollmin deriv-s9', grid: base, match: { views: [D({ smooth: 9 })] } },
  { name: 'sqrt+deriv', grid: base, match: { views: [S(), N({ transform: 'derivative' })] } },
  { name: 'rollmin+deriv', grid: base, match: { views: [R(), N({ transform: 'derivative' })] } },
  { name: 'rollmin+deriv blur3', grid: base, match: { views: [R({ blur: 3 }), N({ transform: 'derivative' })] } },
  { name: 'rollmin w50+deriv', grid: base, match: { views: [R({ baselineWindow: 50 }), N({ transform: 'derivative' })] } },
  { name: 'rollmin+rollmin deriv-s9', grid: base, match: { views: [R(), D({ smooth: 9 })] } },
  { name: 'sqrt+rollmin deriv-s9', grid: base, match: { views: [S(), D({ smooth: 9 })] } },
  { name: 'pow.35+rollmin', grid: base, match: { views: [S({ power: 0.35 }), R()] } },
  { name: 'sqrt+rollmin+rollmin deriv-s9', grid: base, match: { views: [S(), R(), D({ smooth: 9 })] } },
  { name: 'sqrt+deriv shift2', grid: base, match: { views: [S(), N({ transform: 'derivative' })], maxShift: 2 } },
  { name: 'sqrt+deriv shift4', grid: base, match: { views: [S(), N({ transform: 'derivative' })], maxShift: 4 } },
  { name: 'fine grid sqrt', grid: Object.values(grids)[0], match: { views: [S()] } },
];

const onGrid = new Map<string, Float32Array | null>();
function gridded(file: string, spectrum: Parameters<typeof preprocess>[0], grid: InputGrid): Float32Array | null {
  const key = `${file}|${grid.points}`;
  if (!onGrid.has(key)) {
    try {
      onGrid.set(key, preprocess(spectrum, grid, { minOverlap: 0.05 }));
    } catch {
      onGrid.set(key, null);
    }
  }
  return onGrid.get(key)!;
}

const queries = split.queries.filter((q) => q.part === values.part);
console.log(`${dataset} ${values.part}: ${split.references.size} enrolled minerals, ${queries.length} queries (${queries.filter((q) => !q.known).length} of query-only minerals)`);
for (const v of variants) {
  if (values.only && !v.name.includes(values.only)) continue;
  const t0 = performance.now();
  const refs: { mineral: string; profile: MatchProfile }[] = [];
  for (const [mineral, list] of split.references) for (const r of list) {
    const y = gridded(r.file, r.spectrum, v.grid);
    if (y) refs.push({ mineral, profile: matchProfile(y, v.match) });
  }
  let top1 = 0, top5 = 0, known = 0, refused = 0;
  const minerals = [...split.references.keys()];
  // Each class's decoy score: the best HQI of any of its references against another class's references.
  const decoy = new Map<string, number>();
  for (const r of refs) for (const o of refs) if (o.mineral !== r.mineral) decoy.set(r.mineral, Math.max(decoy.get(r.mineral) ?? -1, hitQuality(r.profile, o.profile, v.match)));
  const statNames = ['top', 'z', 'tTop', 'tZ', 'overDecoy', 'tOverDecoy', 'zt+od'];
  const pos: number[][] = statNames.map(() => []), neg: number[][] = statNames.map(() => []);
  const t = (s: number) => -Math.log(Math.max(1e-6, 1 - s));
  for (const q of queries) {
    const y = gridded(q.item.file, q.item.spectrum, v.grid);
    if (!y) { refused++; continue; }
    const qp = matchProfile(y, v.match);
    const best = new Map<string, number>();
    for (const r of refs) best.set(r.mineral, Math.max(best.get(r.mineral) ?? -2, hitQuality(qp, r.profile, v.match)));
    const ranked = [...best.entries()].sort((a, b) => b[1] - a[1]);
    if (q.known) {
      known++;
      const at = ranked.findIndex(([m]) => m === q.item.mineral);
      if (at === 0) top1++;
      if (at >= 0 && at < 5) top5++;
    }
    const scores = ranked.map((r) => r[1]);
    const zOf = (xs: number[]) => { const m = xs.reduce((a, b) => a + b, 0) / xs.length; const sd = Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length); return (xs[0] - m) / sd; };
    const ts = scores.map(t);
    const d = decoy.get(ranked[0][0]) ?? 0;
    const stats = [scores[0], zOf(scores), ts[0], zOf(ts), scores[0] - d, ts[0] - t(d), zOf(ts) + 3 * (ts[0] - t(d))];
    stats.forEach((s, i) => (q.known ? pos : neg)[i].push(s));
  }
  void minerals;
  const ms = (performance.now() - t0) / queries.length;
  console.log(`${v.name.padEnd(22)} pts ${String(v.grid.points).padStart(5)} top1 ${((100 * top1) / known).toFixed(1)} top5 ${((100 * top5) / known).toFixed(1)} auroc ${statNames.map((n, i) => `${n} ${auroc(pos[i], neg[i]).toFixed(3)}`).join(' ')} refused ${refused} ms/q ${ms.toFixed(1)}`);
}
