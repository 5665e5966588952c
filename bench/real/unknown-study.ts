/**
 * Validation study of the unknown model's features on the RRUFF dev corpus, from a bench/real/features.ts dump: each
 * feature set's logistic model (core/identify/spectral/unknown-model.ts) fitted on the library's own leave-one-out samples, as
 * the product fits it, judged on the dump's queries (AUROC known vs query-only minerals; false-unknown and unknown
 * called unknown at the 5 % quantile of the library's known samples). Also top-1 of a few rank fusions.
 * Usage: node bin/run-ts.js bench/real/features.ts --dataset raman-532 --part validation --out F.json
 *        node bin/run-ts.js bench/real/unknown-study.ts F.json [--fold N] [--weight 0.25]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { auroc } from '../../core/identify/metrics.ts';
import { fitUnknownModel, unknownLogOdds } from '../../core/identify/spectral/unknown-model.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { fold: { type: 'string' }, weight: { type: 'string', default: '0.25' } } });
interface Cand { c: number; hqi: number; z: number; csls: number; es: number; ecsls: number; qOff: number; rOff: number; pm: number; strongOffset: number; [view: string]: number }
interface Row { set: 'libK' | 'libU' | 'q'; known?: boolean; truth: number; fold: number; cands: Cand[]; eMeanT: number; eSdT: number; viewNull: Record<string, [number, number, number, number]> }
const { rows } = JSON.parse(readFileSync(positionals[0], 'utf8')) as { rows: Row[] };
const w = Number(values.weight);
const t = (s: number) => -Math.log(Math.max(1e-6, 1 - s));
const shipped = (c: Cand) => c.hqi + w * c.es;
const topOf = (r: Row, score = shipped) => r.cands.reduce((a, b) => (score(b) > score(a) ? b : a));
const secondOf = (r: Row, score = shipped) => [...r.cands].sort((a, b) => score(b) - score(a))[1] ?? topOf(r, score);
/** A candidate's HQI under one dumped view as a z against the query's null over every class in that view. */
const viewZ = (r: Row, c: Cand, view: string) => (t(c[view]) - r.viewNull[view][0]) / r.viewNull[view][1];
const embeddingZ = (r: Row, c: Cand) => (t(c.es) - r.eMeanT) / (r.eSdT || 1e-6);
const FEATURES: Record<string, (r: Row) => number> = {
  z: (r) => topOf(r).z,
  csls: (r) => topOf(r).csls,
  embeddingCsls: (r) => topOf(r).ecsls,
  embeddingZ: (r) => (t(topOf(r).es) - r.eMeanT) / (r.eSdT || 1e-6),
  peakOffset: (r) => topOf(r).qOff + topOf(r).rOff,
  // Candidates beyond the shipped four (none moved the validation AUROC by more than 0.004):
  gap: (r) => t(topOf(r).hqi) - t(secondOf(r).hqi),
  hqi: (r) => topOf(r).hqi,
  zPow25: (r) => viewZ(r, topOf(r), 'pow25'),
  zDerivative: (r) => viewZ(r, topOf(r), 'deriv'),
  strongBandOffset: (r) => topOf(r).strongOffset,
  bandMatch: (r) => topOf(r).pm,
  // Agreement of the query's t over every other class with the best reference's (neighbourhood profile).
  // (JSON null where not computed: the dump computes it for the screen's first 5 classes.)
  neighbourProfile: (r) => (topOf(r).prof as number | null) ?? 0.75,
};
const queries = rows.filter((r) => r.set === 'q' && (values.fold === undefined || r.fold === Number(values.fold)));
const libKnown = rows.filter((r) => r.set === 'libK');
const libUnknown = rows.filter((r) => r.set === 'libU');
const known = queries.filter((r) => r.known);
const unknown = queries.filter((r) => !r.known);
console.log(`library leave-one-out: ${libKnown.length} known, ${libUnknown.length} pseudo-unknown; queries: ${known.length} known, ${unknown.length} unknown${values.fold ? ` (fold ${values.fold})` : ''}`);
const pct = (a: number, b: number) => ((100 * a) / b).toFixed(1);
for (const name of Object.keys(FEATURES)) {
  const f = FEATURES[name];
  console.log(`feature ${name.padEnd(14)} library AUROC ${auroc(libKnown.map(f), libUnknown.map(f)).toFixed(3)}  queries ${auroc(known.map(f), unknown.map(f)).toFixed(3)}`);
}
const BEFORE = ['z', 'csls', 'embeddingCsls', 'peakOffset'];
const SHIPPED = [...BEFORE, 'gap', 'hqi', 'strongBandOffset', 'bandMatch'];
const SETS = [
  ['z'], ['z', 'csls'], ['z', 'csls', 'embeddingCsls'], ['z', 'csls', 'peakOffset'], BEFORE, ['z', 'csls', 'embeddingZ', 'peakOffset'], ['z', 'embeddingCsls', 'peakOffset'],
  ...['gap', 'hqi', 'zPow25', 'zDerivative', 'strongBandOffset', 'bandMatch', 'neighbourProfile'].map((f) => [...BEFORE, f]),
  [...BEFORE, 'gap', 'hqi'],
  SHIPPED,
  [...SHIPPED, 'zPow25', 'zDerivative', 'neighbourProfile'],
];
for (const set of SETS) {
  const x = (r: Row) => set.map((n) => FEATURES[n](r));
  const model = fitUnknownModel(libKnown.map(x), libUnknown.map(x));
  const s = (r: Row) => unknownLogOdds(model, x(r));
  const lk = libKnown.map(s).sort((a, b) => a - b);
  const cut = lk[Math.floor(0.05 * lk.length)];
  const k = known.map(s);
  const u = unknown.map(s);
  console.log(`model ${set.join(' + ').padEnd(42)} library AUROC ${auroc(lk, libUnknown.map(s)).toFixed(3)}  queries ${auroc(k, u).toFixed(3)}  false-unknown ${pct(k.filter((v) => v < cut).length, k.length)} %  unknown called unknown ${pct(u.filter((v) => v < cut).length, u.length)} %`);
}
const FUSIONS: Record<string, (c: Cand) => number> = {
  'HQI alone': (c) => c.hqi,
  [`HQI + ${w} embedding`]: (c) => c.hqi + w * c.es,
  [`HQI + ${w} embedding + ${w} embedding CSLS`]: (c) => c.hqi + w * c.es + w * c.ecsls,
  [`HQI + 0.3 derivative HQI + ${w} embedding`]: (c) => c.hqi + 0.3 * c.deriv + w * c.es,
  [`HQI^0.25 + ${w} embedding`]: (c) => c.pow25 + w * c.es,
  [`sqrt + derivative views + ${w} embedding`]: (c) => c.sqrtDeriv + w * c.es,
  // References of a class: best HQI (the product) against their mean, and the best per-reference HQI + 0.25 cosine.
  [`mean HQI over the class's references + ${w} embedding`]: (c) => c.hqiMean + w * c.es,
  'best over references of HQI + 0.25 cosine': (c) => c.perRef,
  // The paired-band offset (cm-1 summed both ways) as a ranking penalty, and the share of bands paired within 3 cm-1.
  ...Object.fromEntries([0.005, 0.01, 0.02, 0.04].map((l) => [`HQI + ${w} embedding - ${l} x band offset`, (c: Cand) => c.hqi + w * c.es - l * (c.qOff + c.rOff)])),
  [`HQI + ${w} embedding + 0.05 x paired share`]: (c) => c.hqi + w * c.es + 0.05 * (c.qHit3 + c.rHit3),
  // Band-position match (share of bands within 5 cm-1 both ways, best reference) as a bonus.
  ...Object.fromEntries([0.05, 0.1, 0.2].map((l) => [`HQI + ${w} embedding + ${l} x band-position match`, (c: Cand) => c.hqi + w * c.es + l * c.pm])),
};
for (const [name, score] of Object.entries(FUSIONS)) {
  const right = known.filter((r) => topOf(r, score).c === r.truth).length;
  console.log(`ranking ${name.padEnd(44)} top-1 ${pct(right, known.length)} % of ${known.length}`);
}
// Fusion of views as z against each view's own null (per query), plus the embedding's z: the weights that did best
// on the Raman validation part, printed to show how little any of them moves top-1.
const Z_FUSIONS: [string, string, number, number][] = [['sqrt', 'pow25', 0.25, 0.5], ['sqrt', 'deriv', 0.5, 0.5], ['sqrt', 'rollmin', 0.25, 0.5], ['sqrt', 'raw', 0.25, 0.5], ['rollmin', 'deriv', 1, 0.5], ['sqrt', 'deriv', 0, 0.5]];
for (const [a, b, wb, we] of Z_FUSIONS) {
  const right = known.filter((r) => topOf(r, (c) => viewZ(r, c, a) + wb * viewZ(r, c, b) + we * embeddingZ(r, c)).c === r.truth).length;
  console.log(`ranking z(${a}) + ${wb} z(${b}) + ${we} z(embedding)`.padEnd(52) + ` top-1 ${pct(right, known.length)} % of ${known.length}`);
}
// Where the unknown statistic's ceiling is: the shipped model's AUROC with the known queries split by whether their
// top class is right (a known query named as another mineral looks like an unknown one), and without the query-only
// minerals whose spectrum is also filed under an enrolled name (top HQI > 0.995).
{
  const x = (r: Row) => SHIPPED.map((n) => FEATURES[n](r));
  const model = fitUnknownModel(libKnown.map(x), libUnknown.map(x));
  const s = (r: Row) => unknownLogOdds(model, x(r));
  const right = known.filter((r) => topOf(r).c === r.truth);
  const wrong = known.filter((r) => topOf(r).c !== r.truth);
  const distinct = unknown.filter((r) => topOf(r).hqi <= 0.995);
  console.log(`shipped model AUROC: all ${auroc(known.map(s), unknown.map(s)).toFixed(3)}; known named right (${right.length}) vs unknown ${auroc(right.map(s), unknown.map(s)).toFixed(3)}; known named wrong (${wrong.length}) vs unknown ${auroc(wrong.map(s), unknown.map(s)).toFixed(3)}; right vs unknown without duplicates (${distinct.length}) ${auroc(right.map(s), distinct.map(s)).toFixed(3)}`);
}
