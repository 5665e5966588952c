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
interface Cand { c: number; hqi: number; z: number; csls: number; es: number; ecsls: number; qOff: number; rOff: number; [view: string]: number }
interface Row { set: 'libK' | 'libU' | 'q'; known?: boolean; truth: number; fold: number; cands: Cand[]; eMeanT: number; eSdT: number }
const { rows } = JSON.parse(readFileSync(positionals[0], 'utf8')) as { rows: Row[] };
const w = Number(values.weight);
const t = (s: number) => -Math.log(Math.max(1e-6, 1 - s));
const topOf = (r: Row, score = (c: Cand) => c.hqi + w * c.es) => r.cands.reduce((a, b) => (score(b) > score(a) ? b : a));
const FEATURES: Record<string, (r: Row) => number> = {
  z: (r) => topOf(r).z,
  csls: (r) => topOf(r).csls,
  embeddingCsls: (r) => topOf(r).ecsls,
  embeddingZ: (r) => (t(topOf(r).es) - r.eMeanT) / (r.eSdT || 1e-6),
  peakOffset: (r) => topOf(r).qOff + topOf(r).rOff,
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
const SETS = [['z'], ['z', 'csls'], ['z', 'csls', 'embeddingCsls'], ['z', 'csls', 'peakOffset'], ['z', 'csls', 'embeddingCsls', 'peakOffset'], ['z', 'csls', 'embeddingZ', 'peakOffset'], ['z', 'embeddingCsls', 'peakOffset']];
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
};
for (const [name, score] of Object.entries(FUSIONS)) {
  const right = known.filter((r) => topOf(r, score).c === r.truth).length;
  console.log(`ranking ${name.padEnd(44)} top-1 ${pct(right, known.length)} % of ${known.length}`);
}
