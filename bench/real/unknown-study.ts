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
import { crossFittedCut, fitUnknownModel, unknownLogOdds } from '../../core/identify/spectral/unknown-model.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { fold: { type: 'string' }, weight: { type: 'string', default: '0.25' }, kappa: { type: 'string', default: '4' }, 'cross-fit': { type: 'boolean', default: false }, only: { type: 'string' } } });
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
const NEIGHBOUR_SETS = [
  ['z', 'csls', 'embeddingCsls', 'peakOffset', 'gap', 'hqi', 'strongBandOffset', 'bandMatch', 'neighbourProfile'],
  ['z', 'csls', 'embeddingCsls', 'peakOffset', 'gap', 'hqi', 'strongBandOffset', 'bandMatch', 'neighbourProfile', 'zDerivative'],
  ['z', 'csls', 'embeddingCsls', 'peakOffset', 'gap', 'hqi', 'strongBandOffset', 'bandMatch', 'neighbourProfile', 'zPow25'],
  ['z', 'csls', 'embeddingCsls', 'peakOffset', 'gap', 'hqi', 'strongBandOffset', 'bandMatch', 'zPow25', 'zDerivative'],
  ['z', 'gap'], ['z', 'hqi'], ['z', 'bandMatch'], ['z', 'neighbourProfile'], ['z', 'gap', 'neighbourProfile'],
];
// Per-class standardized statistics (identify's embedding path standardizes its similarity so): the candidate's t
// less its class's own center, over its spread, both from the class's leave-one-out samples (each remaining
// reference's best t to the others, dumped as eIntra / hIntra) shrunk towards the library's pooled prior by kappa
// pseudo-samples. A class left with one reference has the prior alone (as every library known sample's class does).
const KAPPA = Number(values.kappa);
/** The dumped leave-one-out samples of a candidate's class (arrays beside the Cand's numbers). */
const intra = (c: Cand, key: 'eIntra' | 'hIntra') => (c as unknown as Record<string, number[] | undefined>)[key] ?? [];
const pooled = (key: 'eIntra' | 'hIntra') => {
  const seen = new Map<number, number[]>();
  for (const r of rows) if (r.set === 'q') for (const c of r.cands) if (intra(c, key).length && !seen.has(c.c)) seen.set(c.c, intra(c, key));
  const xs = [...seen.values()].flat();
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return { mean: m, sd: Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length) };
};
const PRIOR = { eIntra: pooled('eIntra'), hIntra: pooled('hIntra') };
const classZ = (c: Cand, key: 'eIntra' | 'hIntra', value: number) => {
  const xs = intra(c, key);
  const p = PRIOR[key];
  const n = xs.length;
  const mean = (xs.reduce((a, b) => a + b, 0) + KAPPA * p.mean) / (n + KAPPA);
  const ss = xs.reduce((a, b) => a + (b - mean) ** 2, 0);
  const sd = Math.sqrt((ss + KAPPA * p.sd * p.sd) / (Math.max(n - 1, 0) + KAPPA));
  return (t(value) - mean) / Math.max(sd, 1e-3);
};
FEATURES.embeddingClassZ = (r) => classZ(topOf(r), 'eIntra', topOf(r).es);
FEATURES.hqiClassZ = (r) => classZ(topOf(r), 'hIntra', topOf(r).hqi);
FEATURES.embeddingZ = (r) => embeddingZ(r, topOf(r));
// Band alignment: the correlation gained by moving the best reference up to 8 points, how far, and the share of
// bands paired within 3 cm-1 (a relative's bands sit several cm-1 off, unevenly).
FEATURES.shiftGain = (r) => topOf(r).shiftGain;
FEATURES.absShift = (r) => Math.abs(topOf(r).shiftAt);
FEATURES.paired3 = (r) => topOf(r).qHit3 + topOf(r).rHit3;
FEATURES.embedding = (r) => topOf(r).es;
const queries = rows.filter((r) => r.set === 'q' && (values.fold === undefined || r.fold === Number(values.fold)));
const libKnown = rows.filter((r) => r.set === 'libK');
const libUnknown = rows.filter((r) => r.set === 'libU');
const known = queries.filter((r) => r.known);
const unknown = queries.filter((r) => !r.known);
// The class of each library sample (folds by class, as the product's crossFittedCut): the dump writes a class's
// samples together, each reference's same-class sample (libK) before its pseudo-unknown (libU); a libU row after
// another libU row is a class of one reference.
const groupOfRow = new Map<Row, number>();
{
  let next = -1;
  rows.forEach((r, i) => {
    if (r.set === 'libK') groupOfRow.set(r, r.truth);
    else if (r.set === 'libU') groupOfRow.set(r, rows[i - 1]?.set === 'libK' ? rows[i - 1].truth : next--);
  });
}
/** The product's cut (out-of-fold scores, folds by class) for library samples k, u under features x. */
const crossFitCut = (k: Row[], u: Row[], x: (r: Row) => number[]) =>
  crossFittedCut(k.map(x), u.map(x), 0.05, { known: k.map((r) => groupOfRow.get(r)!), unknown: u.map((r) => groupOfRow.get(r)!) });
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
SETS.push(
  [...SHIPPED, 'embeddingClassZ'], [...SHIPPED, 'hqiClassZ'], [...SHIPPED, 'embeddingZ'], [...SHIPPED, 'embeddingClassZ', 'hqiClassZ'],
  ...NEIGHBOUR_SETS,
  ...['shiftGain', 'absShift', 'paired3', 'embedding'].map((f) => [...SHIPPED, f]),
  [...SHIPPED, 'shiftGain', 'absShift', 'paired3'],
  // The encoder's per-class standardized statistic (identify's embedding path) in place of its CSLS.
  SHIPPED.map((f) => (f === 'embeddingCsls' ? 'embeddingClassZ' : f)),
  [...SHIPPED.map((f) => (f === 'embeddingCsls' ? 'embeddingClassZ' : f)), 'hqiClassZ'],
  [...SHIPPED.map((f) => (f === 'embeddingCsls' ? 'embeddingClassZ' : f)), 'neighbourProfile'],
  ['z', 'csls', 'embeddingClassZ', 'peakOffset'], ['z', 'embeddingClassZ'], ['z', 'hqiClassZ'], ['embeddingClassZ'], ['hqiClassZ'],
);
for (const set of SETS.filter((x) => !values.only || x.join('+') === values.only)) {
  const x = (r: Row) => set.map((n) => FEATURES[n](r));
  const model = fitUnknownModel(libKnown.map(x), libUnknown.map(x));
  const s = (r: Row) => unknownLogOdds(model, x(r));
  const lk = libKnown.map(s).sort((a, b) => a - b);
  const cut = values['cross-fit'] ? crossFitCut(libKnown, libUnknown, x) : lk[Math.floor(0.05 * lk.length)];
  const k = known.map(s);
  const u = unknown.map(s);
  console.log(`model ${set.join(' + ').padEnd(42)} library AUROC ${auroc(lk, libUnknown.map(s)).toFixed(3)}  queries ${auroc(k, u).toFixed(3)}  false-unknown ${pct(k.filter((v) => v < cut).length, k.length)} %  unknown called unknown ${pct(u.filter((v) => v < cut).length, u.length)} %`);
}
// Candidate-level features (any listed class, not only the top one): regularisation, sign constraints and the
// statistic over the first K candidates (a known query whose own mineral ranks second is still a known one).
const CAND: Record<string, (r: Row, c: Cand) => number> = {
  z: (_, c) => c.z,
  csls: (_, c) => c.csls,
  embeddingCsls: (_, c) => c.ecsls,
  peakOffset: (_, c) => c.qOff + c.rOff,
  gap: (r, c) => t(c.hqi) - Math.max(...r.cands.filter((o) => o !== c).map((o) => t(o.hqi))),
  hqi: (_, c) => c.hqi,
  strongBandOffset: (_, c) => c.strongOffset,
  bandMatch: (_, c) => c.pm,
  embeddingClassZ: (_, c) => classZ(c, 'eIntra', c.es),
  hqiClassZ: (_, c) => classZ(c, 'hIntra', c.hqi),
};
const SIGNS: Record<string, number> = { z: 1, csls: 1, embeddingCsls: 1, peakOffset: -1, gap: 1, hqi: 1, strongBandOffset: -1, bandMatch: 1, embeddingClassZ: 1, hqiClassZ: 1 };
const ranked = (r: Row) => [...r.cands].sort((a, b) => shipped(b) - shipped(a));
function study(label: string, set: string[], l2: number, signed: boolean, topK: number, hardFloor = -1) {
  const x = (r: Row, c = topOf(r)) => set.map((n) => CAND[n](r, c));
  // hardFloor: fit on the pseudo-unknowns whose top class's HQI is at least this (those with a close relative).
  const hard = libUnknown.filter((r) => topOf(r).hqi >= hardFloor);
  const model = fitUnknownModel(libKnown.map((r) => x(r)), hard.map((r) => x(r)), l2, 2000, signed ? set.map((n) => SIGNS[n]) : undefined);
  const s = (r: Row) => Math.max(...ranked(r).slice(0, topK).map((c) => unknownLogOdds(model, x(r, c))));
  const lk = libKnown.map(s).sort((a, b) => a - b);
  const cut = lk[Math.floor(0.05 * lk.length)];
  const k = known.map(s);
  const u = unknown.map(s);
  const right = known.filter((r) => topOf(r).c === r.truth);
  console.log(`${label.padEnd(60)} library AUROC ${auroc(lk, libUnknown.map(s)).toFixed(3)}  queries ${auroc(k, u).toFixed(3)}  false-unknown ${pct(k.filter((v) => v < cut).length, k.length)} %  unknown called unknown ${pct(u.filter((v) => v < cut).length, u.length)} %  right-vs-unknown ${auroc(right.map(s), u).toFixed(3)}  w ${model.weights.map((v) => v.toFixed(2)).join(' ')}`);
}
for (const [name, set] of [['shipped', SHIPPED], ['shipped + embeddingClassZ', [...SHIPPED, 'embeddingClassZ']], ['shipped + both classZ', [...SHIPPED, 'embeddingClassZ', 'hqiClassZ']]] as const) {
  for (const l2 of [0.01, 0.1, 1]) for (const signed of [false, true]) study(`${name} l2 ${l2}${signed ? ' signed' : ''}`, [...set], l2, signed, 1);
  for (const k of [2, 3, 5]) study(`${name} max over top ${k}`, [...set], 0.01, false, k);
  for (const k of [2, 3]) study(`${name} no gap, max over top ${k}`, set.filter((f) => f !== 'gap'), 0.01, false, k);
  for (const q of [0.25, 0.5, 0.75]) {
    const hqis = libUnknown.map((r) => topOf(r).hqi).sort((a, b) => a - b);
    const floor = hqis[Math.floor(q * hqis.length)];
    study(`${name} pseudo-unknowns above their ${q * 100} % HQI quantile (${floor.toFixed(3)})`, [...set], 0.01, false, 1, floor);
  }
}
// A small library fits the model on few leave-one-out samples: random subsets of the library's samples (n known,
// the pseudo-unknowns in the same proportion as the whole library's), each prefix of the shipped feature list, judged
// on the same queries (mean over 20 draws). How many features a given number of known samples carries.
{
  const { createRng } = await import('../../core/math/rng.ts');
  for (const n of [20, 40, 80, libKnown.length]) {
    const draws = n === libKnown.length ? 1 : 20;
    const line: string[] = [];
    for (let p = 1; p <= SHIPPED.length; p++) {
      const set = SHIPPED.slice(0, p);
      const x = (r: Row) => set.map((f) => FEATURES[f](r));
      let aurocSum = 0;
      let fuSum = 0;
      let uuSum = 0;
      for (let d = 0; d < draws; d++) {
        const rng = createRng(1000 + d);
        const pick = <T>(xs: T[], m: number) => xs.map((v) => ({ v, k: rng.next() })).sort((a, b) => a.k - b.k).slice(0, m).map((o) => o.v);
        const k = pick(libKnown, n);
        const u = pick(libUnknown, Math.round((n * libUnknown.length) / libKnown.length));
        const model = fitUnknownModel(k.map(x), u.map(x));
        const sc = (r: Row) => unknownLogOdds(model, x(r));
        const cut = values['cross-fit'] ? crossFitCut(k, u, x) : k.map(sc).sort((a, b) => a - b)[Math.floor(0.05 * k.length)];
        const ks = known.map(sc);
        const us = unknown.map(sc);
        aurocSum += auroc(ks, us);
        fuSum += ks.filter((v) => v < cut).length / ks.length;
        uuSum += us.filter((v) => v < cut).length / us.length;
      }
      line.push(`${p}: ${(aurocSum / draws).toFixed(3)} ${((100 * fuSum) / draws).toFixed(1)}/${((100 * uuSum) / draws).toFixed(1)}`);
    }
    console.log(`small library, ${n} known samples: features AUROC FU%/UU% | ${line.join(' | ')}`);
  }
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
