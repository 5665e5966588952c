/**
 * npm run bench:mixtures-default -- [--mixtures N] [--singles N] [--seed S] [--shifts uniform|ends] [--diagnose] [--curves]
 *   [--out FILE]
 *
 * The count-free mixture decision as `npm start` makes it, in one process and on validation data only: the bundled
 * model (models/default), the demo library the daemon builds at first start (20 references per class of all 500
 * classes, benchmark train split, seed 2, scaled to max 1 as preprocessing does), and the daemon's identification
 * stage (pipelines/identify-stage.ts, mixture mode 'auto', at most 4 components, micro-batches of 32). The queries are
 * NOT the published test split: test-like spectra (generateTestLikeSplit: each class's definition moved as a whole,
 * heights changed together, as the test variants are; seed --seed, default 11) and mixtures of 2-4 of them with random
 * weights 0.5-1.5 scaled to max 1, as bench:operator builds them from the test split. The published test split
 * judges (bench:operator); this is what a decision is tuned on.
 *
 * Prints exactly-right per component count, single spectra called a mixture, single answers right, ms per query;
 * --diagnose also the count decision's unexplained share per count for each wrong mixture; --curves writes the
 * unexplained share at every count 1-4 (no stopping rule) per query, true count first, beside the JSON.
 * Library embeddings are cached under .cache/ (git-ignored).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { generateRandomSplit, generateTestLikeSplit, loadDefinition, RANDOM_VARIATION } from '../core/benchmark/index.ts';
import { addBlurredPeaks, placeDeltas } from '../core/benchmark/blur.ts';
import { gaussianKernel } from '../core/math/gaussian-kernel.ts';
import { TEST_SIGMA, testVariantPlan } from '../core/benchmark/variants.ts';
import { createRng } from '../core/math/rng.ts';
import { initEngine } from '../core/engine/index.ts';
import { loadEncoder } from '../core/encoder/model-files.ts';
import { ReferenceLibrary } from '../core/identify/knn/library.ts';
import { profileMixtureSearch, referenceProfilesFor } from '../core/identify/mixture/mixture-spectral.ts';
import { containmentRanking } from '../core/identify/mixture/mixture-templates.ts';
import { countThresholdsFor, decideComponentCount } from '../core/identify/mixture/mixture-count.ts';
import { embedAll } from './lib/protocols.ts';
import { normalizeDataset } from '../core/benchmark/normalize.ts';
import type { Identification } from '../core/identify/types.ts';
import { createIdentifyStage } from '../pipelines/identify-stage.ts';

const { values: opts } = parseArgs({
  options: {
    mixtures: { type: 'string', default: '150' },
    singles: { type: 'string', default: '500' },
    seed: { type: 'string', default: '11' },
    model: { type: 'string', default: 'models/default' },
    'per-class': { type: 'string', default: '20' },
    diagnose: { type: 'boolean', default: false },
    shifts: { type: 'string', default: 'uniform' },
    absent: { type: 'boolean', default: false },
    curves: { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench/results/mixtures-default.json' },
  },
  strict: true,
});

const CACHE_DIR = path.join('.cache', 'bench-mixtures-default');
const def = loadDefinition('benchmark');
const P = def.points;
const seed = Number(opts.seed);
const perClass = Number(opts['per-class']);
if (seed === 1) console.warn('seed 1 is the test-like seed some benches use; validation seeds other than the test split are the point here');

await initEngine({});
const encoder = await loadEncoder(opts.model);
const t0 = performance.now();
const library = new ReferenceLibrary({ dim: encoder.dim, points: P, modelVersion: encoder.version });
// --absent: the library of classes 0-399 (library.demoClasses), and single spectra of the absent classes 400-499.
for (let start = 0; start < (opts.absent ? 400 : 500); start += 50) {
  const classes = Array.from({ length: 50 }, (_, i) => start + i);
  const data = normalizeDataset(generateRandomSplit(def, { split: 'train', perClass, seed: 2, classes }));
  const file = path.join(CACHE_DIR, `${encoder.version}-s2-pc${perClass}-${start}.f32`);
  let emb: Float32Array;
  if (existsSync(file)) emb = new Float32Array(readFileSync(file).buffer.slice(0));
  else {
    emb = await embedAll(encoder, data.x, data.n);
    mkdirSync(CACHE_DIR, { recursive: true });
    writeFileSync(file, Buffer.from(emb.buffer));
  }
  for (let k = 0; k < classes.length; k++) {
    const rows = perClass;
    library.addReferences(
      String(classes[k]),
      emb.slice(k * rows * encoder.dim, (k + 1) * rows * encoder.dim),
      data.x.slice(k * rows * P, (k + 1) * rows * P),
    );
  }
}
console.log(`library: ${library.classCount} classes x ${perClass} in ${((performance.now() - t0) / 1000).toFixed(0)} s`);

// Validation queries: test-like spectra of another seed, 2 per class. --shifts ends: each moved by -s, 0 or +s (the
// class's test shift, as the test variants are), heights changed by a uniform common delta; uniform (default): by a
// shift drawn uniformly in [-s, s] (generateTestLikeSplit).
const testLike = opts.shifts === 'ends' ? shiftedToEnds(seed) : generateTestLikeSplit(def, { perClass: 2, seed });
function shiftedToEnds(s: number) {
  const r = createRng(s * 104729 + 17);
  const x = new Float32Array(500 * 2 * P);
  const y = new Int32Array(500 * 2);
  const kernel = gaussianKernel(TEST_SIGMA);
  for (let c = 0; c < 500; c++) {
    const { peakPositions, peakHeights } = def.classes[c];
    const plan = testVariantPlan('benchmark', c);
    for (let v = 0; v < 2; v++) {
      const shift = plan.positionShift * (r.int(0, 3) - 1);
      const delta = r.uniform(-plan.heightChange, plan.heightChange);
      const row = new Float64Array(P);
      const deltas = placeDeltas(
        peakPositions.map((p) => Math.min(P - 1, Math.max(0, p + shift))),
        peakHeights.map((h) => (h === 1 ? h : Math.min(RANDOM_VARIATION.maxHeight, Math.max(0, h + delta)))),
      );
      addBlurredPeaks(row, deltas.positions, deltas.heights, kernel);
      x.set(row, (c * 2 + v) * P);
      y[c * 2 + v] = c;
    }
  }
  return { x, y, n: 1000, points: P };
}
const rowOf = (c: number, v: number) => testLike.x.subarray((c * 2 + v) * P, (c * 2 + v + 1) * P);
interface Query {
  readonly truth: readonly number[];
  readonly y: Float32Array;
}
const scaled = (y: Float32Array) => {
  let max = 0;
  for (const v of y) max = Math.max(max, Math.abs(v));
  return y.map((v) => v / max);
};
const rng = createRng(seed * 7919 + 3);
const mixtures: Query[] = Array.from({ length: Number(opts.mixtures) }, (_, i) => {
  const m = 2 + (i % 3);
  const classes = new Set<number>();
  while (classes.size < m) classes.add(rng.int(0, 500));
  const sum = new Float32Array(P);
  for (const c of classes) {
    const y = rowOf(c, rng.int(0, 2));
    const w = rng.uniform(0.5, 1.5);
    for (let p = 0; p < P; p++) sum[p] += w * y[p];
  }
  return { truth: [...classes], y: scaled(sum) };
});
const singleCount = Number(opts.singles);
const singles: Query[] = Array.from({ length: singleCount }, (_, i) => {
  const r = Math.floor((i * testLike.n) / singleCount);
  return { truth: [testLike.y[r]], y: scaled(testLike.x.slice(r * P, (r + 1) * P)) };
});

const stage = createIdentifyStage(encoder, () => library, { k: 3, mixture: 'auto', maxComponents: 4, targetFalseUnknownRate: 0.01 });
// The calibrations the daemon makes before its first answer (thresholds, templates, unknown-component share).
const t1 = performance.now();
await stage([singles[0].y]);
const profiles = referenceProfilesFor(library, library.matrix())!;
const thresholds = countThresholdsFor(profiles);
console.log(`calibrated in ${((performance.now() - t1) / 1000).toFixed(1)} s: unexplained threshold ${thresholds.threshold.toFixed(4)}, component gain ${thresholds.componentGain.toFixed(4)}`);

async function run(queries: readonly Query[]): Promise<{ answers: Identification[]; ms: number[]; cpuMs: number }> {
  const answers: Identification[] = [];
  const ms: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let s = 0; s < queries.length; s += 32) {
    const part = queries.slice(s, s + 32);
    for (const q of part) {
      const t = performance.now();
      answers.push(...(await stage([q.y])));
      ms.push(performance.now() - t);
    }
  }
  const cpu = process.cpuUsage(cpu0);
  // Process CPU per query (encoder included): far steadier than wall time on a shared machine.
  return { answers, ms, cpuMs: (cpu.user + cpu.system) / 1000 / Math.max(queries.length, 1) };
}
const pct = (a: number, b: number) => ((100 * a) / Math.max(b, 1)).toFixed(2);
const exact = (q: Query, r: Identification) => {
  const parts = (r.components ?? []).map((c) => c.class);
  return r.status === 'mixture' && parts.length === q.truth.length && q.truth.every((c) => parts.includes(String(c)));
};
const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(0.99 * xs.length) - 1)];

if (opts.absent) {
  const absent: Query[] = Array.from({ length: singleCount }, (_, i) => {
    const r = 800 + Math.floor((i * 200) / singleCount);
    return { truth: [testLike.y[r]], y: scaled(testLike.x.slice(r * P, (r + 1) * P)) };
  });
  const res = await run(absent);
  const count = (f: (r: Identification) => boolean) => res.answers.filter(f).length;
  const row = {
    n: absent.length,
    unknown: count((r) => r.status === 'unknown'),
    identified: count((r) => r.status === 'identified'),
    lowConfidence: count((r) => r.status === 'low-confidence'),
    mixture: count((r) => r.status === 'mixture'),
    mixtureFlagged: count((r) => r.status === 'mixture' && r.unknownComponent === true),
  };
  console.log(`absent classes 400-499 (library 0-399): ${JSON.stringify(row)}`);
  writeFileSync(opts.out, JSON.stringify({ when: new Date().toISOString(), command: `npm run bench:mixtures-default -- ${process.argv.slice(2).join(' ')}`.trim(), thresholds, absent: row }, null, 2) + '\n');
  process.exit(0);
}
const mix = await run(mixtures);
const byM: Record<string, string> = {};
for (const m of [2, 3, 4]) {
  const idx = mixtures.map((q, i) => [q, i] as const).filter(([q]) => q.truth.length === m);
  byM[`m${m}`] = `${idx.filter(([q, i]) => exact(q, mix.answers[i])).length}/${idx.length}`;
}
const mixExact = mixtures.filter((q, i) => exact(q, mix.answers[i])).length;
console.log(`mixtures: exactly right ${mixExact}/${mixtures.length} (${pct(mixExact, mixtures.length)} %) ${JSON.stringify(byM)}; p99 ${p99(mix.ms).toFixed(0)} ms wall, ${mix.cpuMs.toFixed(0)} ms CPU per query`);
const sing = await run(singles);
const calledMixture = sing.answers.filter((r) => r.status === 'mixture').length;
const rightSingle = singles.filter((q, i) => sing.answers[i].status === 'identified' && sing.answers[i].class === String(q.truth[0])).length;
console.log(`singles: called a mixture ${calledMixture}/${singles.length} (${pct(calledMixture, singles.length)} %), identified right ${pct(rightSingle, singles.length)} %; p99 ${p99(sing.ms).toFixed(0)} ms wall, ${sing.cpuMs.toFixed(0)} ms CPU per query`);

if (opts.curves) {
  // Unexplained share at every count 1-4 (no stopping rule), and whether the fit at the true count is the truth.
  const matrix = library.matrix();
  const free = { threshold: -1, componentGain: -Infinity };
  const rows: string[] = [];
  for (const q of [...mixtures, ...singles.slice(0, 60)]) {
    const d = decideComponentCount(profiles, matrix, new Float32Array(encoder.dim), q.y, 4, free);
    rows.push(`${q.truth.length} ${d.unexplained.map((u) => u.toFixed(4)).join(' ')}`);
  }
  writeFileSync(opts.out.replace(/\.json$/, '-curves.txt'), rows.join('\n') + '\n');
}
const wrong: Record<string, unknown>[] = [];
if (opts.diagnose) {
  const matrix = library.matrix();
  mixtures.forEach((q, i) => {
    const r = mix.answers[i];
    if (exact(q, r)) return;
    const d = decideComponentCount(profiles, matrix, new Float32Array(encoder.dim), q.y, 4, thresholds);
    // Search miss (the true set fits better than the answer) or model miss (the answer fits better).
    const byName = new Map(profiles.classNames().map((name, k) => [name, k]));
    const truthFit = profileMixtureSearch(profiles, profiles.profileOf(q.y), q.truth.length, { shortlist: q.truth.map((c) => byName.get(String(c))!) });
    const answerFit = d.count === q.truth.length ? profileMixtureSearch(profiles, profiles.profileOf(q.y), d.count, { shortlist: d.fit.classIndices.map((c) => byName.get(matrix.classNames[c])!) }) : null;
    const row = {
      truth: q.truth.join('+'),
      status: r.status,
      answer: r.status === 'mixture' ? (r.components ?? []).map((c) => c.class).join('+') : r.class ?? r.candidates[0]?.class,
      fitQuality: r.fitQuality,
      unexplained: d.unexplained.map((u) => Number(u.toFixed(4))),
      truthFit: { residual: Number(truthFit.residual.toFixed(4)), unexplained: Number(truthFit.unexplained.toFixed(4)) },
      ...(answerFit ? { answerFit: { residual: Number(answerFit.residual.toFixed(4)), unexplained: Number(answerFit.unexplained.toFixed(4)) } } : {}),
      containmentRanks: q.truth.map((c) => containmentRanking(profiles, profiles.profileOf(q.y), { window: profiles.templates().containmentWindow }).indexOf(byName.get(String(c))!)),
    };
    wrong.push(row);
    console.log(JSON.stringify(row));
  });
}
mkdirSync('bench/results', { recursive: true });
writeFileSync(
  opts.out,
  JSON.stringify(
    {
      when: new Date().toISOString(),
      command: `npm run bench:mixtures-default -- ${process.argv.slice(2).join(' ')}`.trim(),
      loadAverage: os.loadavg()[0],
      thresholds,
      mixtures: { n: mixtures.length, exact: mixExact, ...byM, p99Ms: p99(mix.ms), cpuMsPerQuery: mix.cpuMs },
      singles: { n: singles.length, calledMixture, rightSingle, p99Ms: p99(sing.ms), cpuMsPerQuery: sing.cpuMs },
      wrong,
    },
    null,
    2,
  ) + '\n',
);
process.exit(0);
