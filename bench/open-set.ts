/**
 * `npm run bench:open-set`: the daemon's identification path (the identify stage of config/default.yaml: bundled model,
 * demo library of 20 references per class from seed 2, mixture 'auto') run in-process on VALIDATION spectra, never on
 * the published test split: test-like spectra (generateTestLikeSplit: the test's kind of variation, other random draws)
 * of known classes, and of classes left out of the library (the --absent protocol: library 0-399, queries of 400-499).
 * It is where the unknown gate and the mixture-vs-unknown boundary are tuned; bench:operator (the real daemon on the
 * test split) then judges them. Per query it writes the answer and the evidence behind it (standardized similarity of
 * the named class, the named class's spectral fit, the count decision's unexplained shares) to a JSON file.
 *
 *   npm run bench:open-set [-- --seed 11] [-- --per-class 4] [-- --refs 20] [-- --absent] [-- --model DIR] [-- --out FILE]
 *
 * --model: another encoder than the bundled one (a candidate for models/default), judged on the same validation data.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { createRng } from '../core/math/rng.ts';
import { gaussianKernel } from '../core/math/gaussian-kernel.ts';
import { generateRandomSplit, generateTestLikeSplit, loadDefinition, testVariantPlan, type Dataset } from '../core/benchmark/index.ts';
import { loadInferenceEncoder } from '../core/engine/onnx.ts';
import type { Encoder } from '../core/encoder/types.ts';
import { ReferenceLibrary } from '../core/identify/knn/library.ts';
import { calibrationFor } from '../core/identify/identify.ts';
import { classStatistics, logDistance, predictionSetCut } from '../core/identify/knn/calibration.ts';
import { profileMixtureSearch, referenceProfilesFor } from '../core/identify/mixture/mixture-spectral.ts';
import { containmentScores } from '../core/identify/mixture/mixture-templates.ts';
import { unexplainedCalibrationFor } from '../core/identify/mixture/mixture-unknown.ts';
import { openSetFit } from '../core/identify/mixture/open-set.ts';
import { memberAmplitude, memberPeakPresence } from '../core/identify/mixture/member-peaks.ts';
import { findPeaks } from '../core/identify/peaks/peak-features.ts';
import { classPeakTemplate } from '../core/identify/peaks/confusable-pairs.ts';
import { preprocess } from '../core/preprocess/index.ts';
import { createSpectrum } from '../core/spectrum.ts';
import { identificationSchema, preprocessingSchema } from '../config/schema.ts';
import { createIdentifyStage } from '../pipelines/identify-stage.ts';
import { REPO_ROOT } from './support/daemon-bench.ts';

const { values: opts } = parseArgs({
  options: {
    seed: { type: 'string', default: '11' },
    'per-class': { type: 'string', default: '4' },
    // References per library class (the first N of the demo's 20): the gate on small libraries.
    refs: { type: 'string', default: '20' },
    absent: { type: 'boolean', default: false },
    mixtures: { type: 'string', default: '0' },
    ends: { type: 'boolean', default: false },
    model: { type: 'string', default: 'models/default' },
    out: { type: 'string' },
  },
  strict: true,
});
const seed = Number(opts.seed);
const perClass = Number(opts['per-class']);
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
const libraryClasses = opts.absent ? range(0, 400) : range(0, 500);
const mixtureTruth: string[][] = [];
const concatF = (a: Float32Array, b: Float32Array) => {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
};
const log = (m: string) => console.error(`[open-set] ${m}`);

const def = loadDefinition('benchmark');
const { encoder } = await loadInferenceEncoder(resolve(REPO_ROOT, opts.model!), { batchSize: 32 });
const chain = preprocessingSchema.parse({});
const prep = (y: Float32Array) => preprocess(createSpectrum({ y, xUnit: 'index' }), encoder.grid, chain);
const P = encoder.grid.points;

/** Preprocessed rows and their embeddings, cached on disk by name (the encoder is the slow part). */
async function embedded(name: string, data: () => Dataset): Promise<{ x: Float32Array; e: Float32Array; y: Int32Array }> {
  const dir = join(tmpdir(), 'spectrad-open-set', encoder.version);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.bin`);
  if (existsSync(file)) {
    const buf = readFileSync(file);
    const n = buf.readInt32LE(0);
    const f = new Float32Array(buf.buffer.slice(buf.byteOffset + 4, buf.byteOffset + 4 + n * (P + encoder.dim + 1) * 4));
    return { x: f.slice(0, n * P), e: f.slice(n * P, n * (P + encoder.dim)), y: Int32Array.from(f.slice(n * (P + encoder.dim))) };
  }
  const d = data();
  const x = new Float32Array(d.n * P);
  for (let r = 0; r < d.n; r++) x.set(prep(d.x.subarray(r * d.points, (r + 1) * d.points)), r * P);
  const e = await embedAll(encoder, x, d.n);
  const head = Buffer.alloc(4);
  head.writeInt32LE(d.n, 0);
  const body = new Float32Array(d.n * (P + encoder.dim + 1));
  body.set(x, 0);
  body.set(e, d.n * P);
  body.set(Float32Array.from(d.y), d.n * (P + encoder.dim));
  writeFileSync(file, Buffer.concat([head, Buffer.from(body.buffer)]));
  return { x, e, y: d.y };
}

async function embedAll(enc: Encoder, x: Float32Array, n: number): Promise<Float32Array> {
  const out = new Float32Array(n * enc.dim);
  for (let i = 0; i < n; i += 256) {
    const m = Math.min(256, n - i);
    out.set(await enc.embed(x.subarray(i * P, (i + m) * P), m), i * enc.dim);
    if (i % 2560 === 0) log(`embedded ${i} / ${n}`);
  }
  return out;
}

const t0 = performance.now();
const refs = await embedded('demo-500x20-s2', () => generateRandomSplit(def, { split: 'train', perClass: 20, seed: 2 }));
const lib = new ReferenceLibrary({ dim: encoder.dim, points: P, modelVersion: encoder.version });
const inLibrary = new Set(libraryClasses);
for (const c of libraryClasses) {
  const rows = range(0, refs.y.length).filter((r) => refs.y[r] === c).slice(0, Number(opts.refs));
  const emb = new Float32Array(rows.length * encoder.dim);
  const spectra = new Float32Array(rows.length * P);
  rows.forEach((r, k) => {
    emb.set(refs.e.subarray(r * encoder.dim, (r + 1) * encoder.dim), k * encoder.dim);
    spectra.set(refs.x.subarray(r * P, (r + 1) * P), k * P);
  });
  lib.addReferences(String(c), emb, spectra);
}
const singlesSet = opts.ends
  ? await embedded(`ends-500x${perClass}-s${seed}`, () => endsSplit(perClass, seed))
  : await embedded(`testlike-500x${perClass}-s${seed}`, () => generateTestLikeSplit(def, { perClass, seed }));
const mixtureCount = Number(opts.mixtures);
/** Mixtures of 2-4 test-like spectra of distinct library classes, random weights 0.5-1.5, scaled to max 1 (bench:operator's recipe). */
const recipeRng = createRng(seed);
const recipes = Array.from({ length: mixtureCount }, (_, i) => {
  const classes = new Set<number>();
  while (classes.size < 2 + (i % 3)) classes.add(libraryClasses[recipeRng.int(0, libraryClasses.length)]);
  return [...classes].map((c) => ({ c, w: recipeRng.uniform(0.5, 1.5) }));
});
mixtureTruth.push(...recipes.map((r) => r.map(({ c }) => String(c))));
const mixtureSet = await embedded(`mixtures-${mixtureCount}-s${seed}-${libraryClasses.length}`, () => {
  const raw = generateTestLikeSplit(def, { perClass: 1, seed: seed + 1000 });
  const x = new Float32Array(mixtureCount * raw.points);
  recipes.forEach((recipe, i) => {
    const row = x.subarray(i * raw.points, (i + 1) * raw.points);
    for (const { c, w } of recipe) for (let p = 0; p < raw.points; p++) row[p] += w * raw.x[c * raw.points + p];
    let max = 0;
    for (const v of row) max = Math.max(max, Math.abs(v));
    for (let p = 0; p < raw.points; p++) row[p] /= max;
  });
  return { x, y: new Int32Array(mixtureCount).fill(-2), n: mixtureCount, points: raw.points };
});
const queries = {
  x: concatF(singlesSet.x, mixtureSet.x),
  e: concatF(singlesSet.e, mixtureSet.e),
  y: Int32Array.from([...singlesSet.y, ...mixtureSet.y]),
};
log(`library ${lib.classCount} classes, ${queries.y.length} queries, ${((performance.now() - t0) / 1000).toFixed(0)} s`);

const settings = identificationSchema.parse(parseYamlIdentification());
const stage = createIdentifyStage(encoder, () => lib, settings);
// The stage embeds again; its answers are the daemon's. Batches of 32, as the pipeline's micro-batch.
const answers = [];
const t1 = performance.now();
for (let i = 0; i < queries.y.length; i += 32) {
  const n = Math.min(32, queries.y.length - i);
  const vectors = range(i, i + n).map((r) => queries.x.subarray(r * P, (r + 1) * P));
  answers.push(...(await stage(vectors)));
  if (i % 640 === 0) log(`${i} / ${queries.y.length} answered`);
}
log(`answered in ${((performance.now() - t1) / 1000).toFixed(0)} s`);

// The evidence behind each answer, for the gate's study: the named (or closest) class's standardized similarity and
// its one-component spectral fit, and the best one-component fit among the screen's shortlist.
const cal = calibrationFor(lib);
const pc = cal.perClass!;
const index = referenceProfilesFor(lib, lib.matrix())!;
const unexplainedCal = unexplainedCalibrationFor(index);
const indexOf = new Map(index.classNames().map((n, i) => [n, i]));
const features = answers.map((a, i) => {
  const named = a.class ?? a.candidates[0]?.class;
  const q = queries.e.subarray(i * encoder.dim, (i + 1) * encoder.dim);
  const knn = lib.knn(q, { k: 3, topClasses: 5, meanOfBest: 5 });
  const r = knn.ranking.find((x) => x.class === named) ?? knn.ranking[0];
  const st = classStatistics(pc, r.classIndex, r.class, lib.embeddingsOf(r.class).length / lib.dim);
  const u = (logDistance(r.similarity) - st.center) / st.spread;
  const profile = index.profileOf(queries.x.subarray(i * P, (i + 1) * P));
  const k = indexOf.get(r.class) ?? -1;
  // The gate's own fit (open-set.ts), and the mixture search's templates (one shift less) for comparison.
  const namedFit = openSetFit(index, queries.x.subarray(i * P, (i + 1) * P), r.class)?.unexplained ?? 1;
  const searchFit = k >= 0 ? round(profileMixtureSearch(index, profile, 1, { shortlist: [k] }).unexplained) : 1;
  const best = profileMixtureSearch(index, profile, 1);
  let signal = 0;
  for (const v of profile) signal += Math.max(0, v);
  const scores = containmentScores(index, profile, { window: index.templates().containmentWindow });
  const contained = (a.components ?? []).map((c) => round(scores[indexOf.get(c.class) ?? 0] / (c.fraction * signal * (a.fitQuality ?? 1))));
  const spectrumRow = queries.x.subarray(i * P, (i + 1) * P);
  let rowMax = 0;
  for (const v of spectrumRow) rowMax = Math.max(rowMax, v);
  const heights = findPeaks(spectrumRow).reduce((s, p) => s + p.height * rowMax, 0);
  // The mixture half at full resolution (member-peaks.ts, identify()'s defaults): each member's (or the named class's)
  // presence at its best shift.
  const judged = (a.status === 'mixture' ? (a.components ?? []).map((c) => ({ name: c.class, share: c.fraction * (a.fitQuality ?? 1) })) : named !== undefined ? [{ name: named, share: a.fitQuality ?? 1 }] : [])
    .map(({ name, share }) => ({ name, share, template: classPeakTemplate(lib, name) }))
    .filter((m) => m.template !== null)
    .map(({ share, template }) => ({ template: template!, ...memberPeakPresence(spectrumRow, template!, { maxShift: 40, tolerance: 15, amplitude: memberAmplitude(share, heights, template!) }) }));
  const memberPeaks = judged.map((m) => round(Math.min(99, m.presence)));
  return { memberPeaks, searchFit, u: round(u), namedFit: round(namedFit), bestFit: round(best.unexplained), bestFitClass: index.classNames()[best.classIndices[0]], contained };
});
log(`unexplained threshold ${unexplainedCal.threshold.toFixed(3)}, single ${unexplainedCal.singleThreshold?.toFixed(3)} (max of ${unexplainedCal.singleShares?.length}: ${unexplainedCal.singleShares?.at(-1)?.toFixed(3)}), componentGain ${unexplainedCal.componentGain?.toFixed(3)}, count threshold ${unexplainedCal.countThreshold?.toFixed(3)}, unknown cut ${pc.cut.toFixed(2)}, with the spectrum ${predictionSetCut(pc, 0.999)?.toFixed(2)}`);
const rows = answers.map((a, i) => {
  const mixture = i >= singlesSet.y.length ? mixtureTruth[i - singlesSet.y.length] : undefined;
  return { truth: mixture ? mixture.join('+') : String(queries.y[i]), known: mixture ? false : inLibrary.has(queries.y[i]), mixture: mixture !== undefined, ...a, ...features[i] };
});
const tally = (known: boolean) => {
  const rs = rows.filter((r) => r.known === known && !r.mixture);
  const c = { n: rs.length, right: 0, wrong: 0, low: 0, unknown: 0, mixture: 0, setCovered: 0, setSize: 0, identifiedEmptySet: 0, identifiedNotInSet: 0, unknownNonEmptySet: 0 };
  for (const r of rs) {
    const set = r.predictionSet ?? [];
    c.setSize += set.length;
    if (set.includes(r.truth)) c.setCovered++;
    if (r.status === 'identified') {
      if (r.class === r.truth) c.right++;
      else c.wrong++;
      if (!set.length) c.identifiedEmptySet++;
      if (r.class !== undefined && !set.includes(r.class)) c.identifiedNotInSet++;
    } else if (r.status === 'low-confidence') c.low++;
    else if (r.status === 'unknown') {
      c.unknown++;
      if (set.length) c.unknownNonEmptySet++;
    } else if (r.status === 'mixture') c.mixture++;
  }
  return c;
};
const mixRows = rows.filter((r) => r.mixture);
const exact = mixRows.filter((r) => {
  const truth = r.truth.split('+');
  const parts = (r.components ?? []).map((c) => c.class);
  return r.status === 'mixture' && parts.length === truth.length && parts.every((p) => truth.includes(p));
}).length;
const summary = {
  known: tally(true),
  absent: opts.absent ? tally(false) : undefined,
  mixtures: mixRows.length ? { n: mixRows.length, exact, calledMixture: mixRows.filter((r) => r.status === 'mixture').length, unknown: mixRows.filter((r) => r.status === 'unknown').length } : undefined,
};
console.log(JSON.stringify(summary, null, 1));
const out = opts.out ?? join(REPO_ROOT, `bench/results/open-set${opts.absent ? '-absent' : ''}.json`);
writeFileSync(out, JSON.stringify({ command: `npm run bench:open-set -- ${process.argv.slice(2).join(' ')}`.trim(), seed, perClass, summary, rows }) + '\n');
log(`wrote ${out}`);
await encoder.dispose();
process.exit(0);

/**
 * --ends: test-like spectra at the ends of the test's shift range (the generator's documented magnitudes,
 * variants.ts: two thirds of the test split's variants move every peak by the class's full shift), with a random
 * common height change within the class's range and the test blur; random draws of another stream, not test spectra.
 */
function endsSplit(n: number, s: number): Dataset {
  const rng = createRng(s * 7919 + 17);
  const points = def.points;
  const kernel = gaussianKernel(2);
  const half = (kernel.length - 1) / 2;
  const x = new Float32Array(500 * n * points);
  const y = new Int32Array(500 * n);
  for (let c = 0; c < 500; c++) {
    const plan = testVariantPlan('benchmark', c);
    const { peakPositions, peakHeights } = def.classes[c];
    for (let j = 0; j < n; j++) {
      const row = x.subarray((c * n + j) * points, (c * n + j + 1) * points);
      const shift = (j % 2 === 0 ? -1 : 1) * plan.positionShift;
      const delta = rng.uniform(-plan.heightChange, plan.heightChange);
      peakPositions.forEach((p0, k) => {
        const p = Math.min(points - 1, Math.max(0, p0 + shift));
        const h = peakHeights[k] === 1 ? 1 : Math.max(0, peakHeights[k] + delta);
        for (let t = 0; t < kernel.length; t++) {
          const at = p + t - half;
          if (at >= 0 && at < points) row[at] += h * kernel[t];
        }
      });
      y[c * n + j] = c;
    }
  }
  return { x, y, n: 500 * n, points };
}

function round(v: number): number {
  return Math.round(v * 1e4) / 1e4;
}

function parseYamlIdentification(): Record<string, unknown> {
  // config/default.yaml's identification block over the schema's defaults: what `npm start` runs.
  return (parseYaml(readFileSync(join(REPO_ROOT, 'config/default.yaml'), 'utf8')) as { identification?: Record<string, unknown> }).identification ?? {};
}
