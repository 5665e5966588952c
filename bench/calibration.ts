/**
 * Calibration and confidence on the benchmark, the global method (before) and the per-class one (after) side by side
 * in one run, same encoder, library and queries:
 *  - single: library = train split (20/class, seed 1, 500 classes), queries = the 4500 test spectra: share identified /
 *    low-confidence / unknown / mixture, accuracy among identified, false-unknown rate, daemon 'auto' policy accuracy;
 *  - unseen: library of classes 0-399, queries of 400-499 must come out unknown (AUROC of score and similarity, share
 *    unknown, share wrongly identified), with the encoder trained on 0-399 (--unseen-model; without it, --model, which
 *    may have seen those classes). Such an encoder is what `npm run bench:paper -- --only unseen --seeds 1-1
 *    --save-models DIR` leaves in DIR/unseen-seed1;
 *  - mixtures: binary / ternary test mixtures must come out 'mixture'; single spectra must not (false-mixture rate);
 *  - single-reference enrollment: 50 classes with ONE reference (calibrated with them, and enrolled after calibration);
 *  - reliability: score bins vs observed accuracy (test split; unseen protocol's known + unseen queries).
 * Usage: npm run bench:calibration [-- --model DIR] [-- --unseen-model DIR] [-- --quick]
 * Prints a table, writes bench/results/calibration.json.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { generateRandomSplit, generateTestSplit, loadDefinition, makeMixtures, normalizeDataset, type Dataset } from '../core/benchmark/index.ts';
import { loadEncoder } from '../core/encoder/model-files.ts';
import type { Encoder } from '../core/encoder/types.ts';
import { initEngine } from '../core/engine/index.ts';
import { calibrate, synthesizeMixtureEmbeddings, type Calibration } from '../core/identify/knn/calibration.ts';
import { identify } from '../core/identify/identify.ts';
import { ReferenceLibrary } from '../core/identify/knn/library.ts';
import { auroc } from '../core/identify/metrics.ts';
import { embedAll, libraryFrom } from './lib/protocols.ts';
import type { Identification } from '../core/identify/types.ts';
import { portablePath } from './support/portable-path.ts';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'models/default' },
    'unseen-model': { type: 'string' },
    quick: { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench/results/calibration.json' },
  },
});
const quick = args.quick;
const unseenModel = args['unseen-model'];
if (unseenModel !== undefined && !existsSync(unseenModel)) throw new Error(`--unseen-model ${unseenModel}: no such model directory`);
const METHODS = ['global', 'per-class'] as const;
type Method = (typeof METHODS)[number];
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
const pct = (a: number, b: number) => (b ? (100 * a) / b : Number.NaN);
const log = (m: string) => console.error(`[calibration] ${m}`);

const def = loadDefinition('benchmark');
const CLASSES = quick ? 100 : 500;
const SEEN = Math.round(CLASSES * 0.8);

function subset(data: Dataset, keep: (y: number, i: number) => boolean): Dataset {
  const rows = range(0, data.n).filter((i) => keep(data.y[i], i));
  const x = new Float32Array(rows.length * data.points);
  rows.forEach((r, k) => x.set(data.x.subarray(r * data.points, (r + 1) * data.points), k * data.points));
  return { x, y: Int32Array.from(rows.map((r) => data.y[r])), n: rows.length, points: data.points };
}

function timed<T>(fn: () => T): [T, number] {
  const t0 = performance.now();
  const v = fn();
  return [v, performance.now() - t0];
}

interface Answered {
  readonly r: Identification;
  readonly truth: string | null;
}
const right = (a: Answered) => a.truth !== null && a.r.class === a.truth;

function run(emb: Float32Array, dim: number, labels: ArrayLike<number> | null, lib: ReferenceLibrary, cal: Calibration, mixtures: boolean): Answered[] {
  const n = emb.length / dim;
  const out: Answered[] = [];
  for (let i = 0; i < n; i++) {
    const r = identify({ embedding: emb.subarray(i * dim, (i + 1) * dim) }, lib, { calibration: cal, mixtures });
    out.push({ r, truth: labels ? String(labels[i]) : null });
  }
  return out;
}

function shares(answers: readonly Answered[]) {
  const n = answers.length;
  const count = (s: string) => answers.filter((a) => a.r.status === s).length;
  const identified = answers.filter((a) => a.r.status === 'identified');
  const correctTop = answers.filter((a) => a.truth !== null && a.r.candidates[0]?.class === a.truth);
  return {
    n,
    identified: pct(count('identified'), n),
    lowConfidence: pct(count('low-confidence'), n),
    unknown: pct(count('unknown'), n),
    mixture: pct(count('mixture'), n),
    accuracyAmongIdentified: pct(identified.filter(right).length, identified.length),
    /** Of the answers whose top class is right, the share shown as 'identified'. */
    correctIdentified: pct(correctTop.filter((a) => a.r.status === 'identified').length, correctTop.length),
  };
}

function reliability(answers: readonly Answered[], bins = 10) {
  const rows = Array.from({ length: bins }, (_, b) => ({ from: b / bins, to: (b + 1) / bins, n: 0, right: 0, meanScore: 0 }));
  for (const a of answers) {
    const top = a.r.candidates[0];
    if (!top) continue;
    const b = Math.min(bins - 1, Math.floor(top.score * bins));
    rows[b].n++;
    rows[b].meanScore += top.score;
    if (a.truth !== null && top.class === a.truth) rows[b].right++;
  }
  return rows.map((r) => ({ ...r, meanScore: r.n ? r.meanScore / r.n : Number.NaN, accuracy: pct(r.right, r.n) }));
}

/** Expected calibration error: |accuracy - mean score| averaged over answers. */
function ece(rows: ReturnType<typeof reliability>): number {
  const total = rows.reduce((s, r) => s + r.n, 0);
  return rows.reduce((s, r) => s + (r.n ? (r.n / total) * Math.abs(r.accuracy / 100 - r.meanScore) : 0), 0);
}

async function open(dir: string): Promise<Encoder> {
  if (!existsSync(dir)) throw new Error(`no model at ${dir}`);
  return loadEncoder(dir);
}

async function main(): Promise<void> {
  await initEngine({});
  const started = Date.now();
  const encoder = await open(args.model);
  const dim = encoder.dim;
  const train = generateRandomSplit(def, { split: 'train', perClass: 20, seed: 1, classes: range(0, CLASSES) });
  const test = generateTestSplit(def, { classes: range(0, CLASSES) });
  log(`embedding ${train.n} references and ${test.n} test spectra with ${encoder.version}`);
  const lib = await libraryFrom(encoder, train);
  const testEmb = await embedAll(encoder, normalizeDataset(test).x, test.n);

  // Mixtures of test spectra, with the full library.
  const perM = quick ? 200 : 500;
  const mixtureSets = [2, 3].map((m) => {
    const set = makeMixtures(test, { components: m, seed: 1000 + m, count: perM });
    return { m, set };
  });
  const mixtureEmb = await Promise.all(mixtureSets.map(({ set }) => embedAll(encoder, set.x, set.n)));

  // Single-reference enrollment: the last 50 classes keep only their first training spectrum.
  const singles = range(CLASSES - 50, CLASSES);
  const isSingle = new Set(singles);
  const seen = new Map<number, number>();
  const oneRef = subset(train, (y) => {
    const k = (seen.get(y) ?? 0) + 1;
    seen.set(y, k);
    return !isSingle.has(y) || k === 1;
  });
  const oneRefLib = await libraryFrom(encoder, oneRef);
  const withoutSingles = await libraryFrom(encoder, subset(train, (y) => !isSingle.has(y)));
  const singleTest = subset(test, (y) => isSingle.has(y));
  const singleTestEmb = await embedAll(encoder, normalizeDataset(singleTest).x, singleTest.n);

  // The mixture-embedding synthesis the daemon would run for the unknown-component threshold (cost only).
  const withSpectra = await libraryFrom(encoder, subset(train, (_, i) => i % 4 === 0), true);
  const [synth, synthMs] = await (async () => {
    const t0 = performance.now();
    const e = await synthesizeMixtureEmbeddings(withSpectra, encoder, 200, 4);
    return [e, performance.now() - t0] as const;
  })();

  // Unseen: an encoder that never saw classes SEEN..CLASSES-1, when at hand.
  if (unseenModel === undefined) log('no --unseen-model: the unseen rows use --model, which may have seen classes 400-499');
  const unseenEncoder = unseenModel !== undefined ? await open(unseenModel) : encoder;
  const unseenTrain = subset(train, (y) => y < SEEN);
  const unseenLib = await libraryFrom(unseenEncoder, unseenTrain);
  const knownTest = subset(test, (y) => y < SEEN);
  const freshTest = subset(test, (y) => y >= SEEN);
  const knownEmb = await embedAll(unseenEncoder, normalizeDataset(knownTest).x, knownTest.n);
  const freshEmb = await embedAll(unseenEncoder, normalizeDataset(freshTest).x, freshTest.n);

  const results: Record<string, unknown> = {};
  for (const method of METHODS) {
    log(`method ${method}`);
    const [cal, calMs] = timed(() => calibrate(lib, { method }));
    const [, calMixMs] = timed(() => calibrate(withSpectra, { method, mixtureEmbeddings: synth }));
    const single = run(testEmb, dim, test.y, lib, cal, false);
    const singleMix = run(testEmb, dim, test.y, lib, cal, true);
    // The daemon's mixture 'auto': the single answer when identified, else the full search.
    const auto = single.map((a, i) => (a.r.status === 'identified' ? a : singleMix[i]));
    const autoSearched = single.filter((a) => a.r.status !== 'identified').length;

    const mixtures = mixtureSets.map(({ m, set }, k) => {
      const answers = run(mixtureEmb[k], dim, null, lib, cal, true);
      let all = 0;
      answers.forEach((a, i) => {
        const truth = new Set(Array.from(set.components.subarray(i * m, (i + 1) * m), String));
        if (a.r.status === 'mixture' && (a.r.components ?? []).filter((c) => truth.has(c.class)).length === m) all++;
      });
      return { components: m, n: set.n, calledMixture: pct(answers.filter((a) => a.r.status === 'mixture').length, set.n), allComponentsRight: pct(all, set.n) };
    });

    const uCal = calibrate(unseenLib, { method });
    const known = run(knownEmb, dim, knownTest.y, unseenLib, uCal, false);
    const fresh = run(freshEmb, dim, null, unseenLib, uCal, false);
    const score = (a: Answered) => a.r.candidates[0].score;
    const sim = (a: Answered) => a.r.candidates[0].similarity ?? 0;
    const unseen = {
      aurocScore: auroc(known.map(score), fresh.map(score)),
      aurocSimilarity: auroc(known.map(sim), fresh.map(sim)),
      falseUnknown: pct(known.filter((a) => a.r.status === 'unknown').length, known.length),
      knownIdentified: pct(known.filter((a) => a.r.status === 'identified').length, known.length),
      unseenUnknown: pct(fresh.filter((a) => a.r.status === 'unknown').length, fresh.length),
      unseenWronglyIdentified: pct(fresh.filter((a) => a.r.status === 'identified').length, fresh.length),
    };

    // Single reference: calibrated with the one-reference classes in the library, and enrolled after calibration.
    const oneCal = calibrate(oneRefLib, { method });
    const oneAnswers = run(singleTestEmb, dim, singleTest.y, oneRefLib, oneCal, false);
    const lateCal = calibrate(withoutSingles, { method });
    const late = oneRefLib; // same classes; the calibration knows none of the 50 one-reference classes
    const lateAnswers = run(singleTestEmb, dim, singleTest.y, late, lateCal, false);
    const oneRefSummary = (answers: Answered[]) => ({
      identifiedRight: pct(answers.filter((a) => a.r.status === 'identified' && right(a)).length, answers.length),
      unknown: pct(answers.filter((a) => a.r.status === 'unknown').length, answers.length),
      topRight: pct(answers.filter((a) => a.r.candidates[0].class === a.truth).length, answers.length),
    });

    const relTest = reliability(single);
    const relMixed = reliability([...known, ...fresh]);
    results[method] = {
      calibrateMs: calMs,
      calibrateWithMixtureEmbeddingsMs: calMixMs,
      thresholds: {
        unknownThreshold: cal.unknownThreshold,
        confidentThreshold: cal.confidentThreshold,
        mixtureGain: cal.mixtureGain,
        ...(cal.perClass ? { cut: cal.perClass.cut, mixtureGainT: cal.perClass.mixtureGain, logistic: cal.perClass.logistic } : { logistic: cal.logistic }),
      },
      single: shares(single),
      singleWithMixtureSearch: shares(singleMix),
      auto: { right: pct(auto.filter(right).length, auto.length), searchedShare: pct(autoSearched, single.length) },
      mixtures,
      unseen,
      singleReference: { calibratedWith: oneRefSummary(oneAnswers), enrolledAfterCalibration: oneRefSummary(lateAnswers) },
      reliability: { test: relTest, testEce: ece(relTest), unseenProtocol: relMixed, unseenProtocolEce: ece(relMixed) },
    };
  }

  const report = {
    date: new Date().toISOString(),
    model: portablePath(args.model),
    unseenModel: portablePath(unseenModel ?? args.model),
    classes: CLASSES,
    quick,
    loadavg: loadavg()[0],
    synthesizeMixtureEmbeddingsMs: synthMs,
    wallS: (Date.now() - started) / 1000,
    results,
  };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(args.out, `${JSON.stringify(report, null, 2)}\n`);
  printTable(results as Record<Method, Summary>);
  console.log(`\nwrote ${args.out} (${report.wallS.toFixed(0)} s, load ${report.loadavg.toFixed(1)})`);
  encoder.dispose();
  if (unseenEncoder !== encoder) unseenEncoder.dispose();
}

interface Summary {
  calibrateMs: number;
  single: ReturnType<typeof shares>;
  singleWithMixtureSearch: ReturnType<typeof shares>;
  auto: { right: number; searchedShare: number };
  mixtures: Array<{ components: number; calledMixture: number; allComponentsRight: number }>;
  unseen: Record<string, number>;
  singleReference: Record<'calibratedWith' | 'enrolledAfterCalibration', ReturnType<typeof Object>>;
  reliability: { test: ReturnType<typeof reliability>; testEce: number; unseenProtocol: ReturnType<typeof reliability>; unseenProtocolEce: number };
}

function printTable(r: Record<Method, Summary>): void {
  const f = (v: number, d = 2) => (Number.isFinite(v) ? v.toFixed(d) : '-');
  const row = (name: string, get: (s: Summary) => string) => console.log(`| ${name} | ${METHODS.map((m) => get(r[m])).join(' | ')} |`);
  console.log(`| measure | ${METHODS.join(' | ')} |`);
  console.log(`| --- | ${METHODS.map(() => '---').join(' | ')} |`);
  row('test split: identified %', (s) => f(s.single.identified));
  row('test split: low-confidence %', (s) => f(s.single.lowConfidence));
  row('test split: unknown % (false-unknown)', (s) => f(s.single.unknown));
  row('test split: accuracy among identified %', (s) => f(s.single.accuracyAmongIdentified));
  row('test split: right answers shown identified %', (s) => f(s.single.correctIdentified));
  row('test split, mixture search on: false-mixture %', (s) => f(s.singleWithMixtureSearch.mixture));
  row("daemon 'auto': right % / searched for mixtures %", (s) => `${f(s.auto.right)} / ${f(s.auto.searchedShare)}`);
  for (const k of [0, 1]) {
    row(`${r['per-class'].mixtures[k].components}-component mixtures: called mixture % / all right %`, (s) => `${f(s.mixtures[k].calledMixture)} / ${f(s.mixtures[k].allComponentsRight)}`);
  }
  row('unseen: AUROC of score / of similarity', (s) => `${f(s.unseen.aurocScore, 4)} / ${f(s.unseen.aurocSimilarity, 4)}`);
  row('unseen: known called unknown %', (s) => f(s.unseen.falseUnknown));
  row('unseen: known identified %', (s) => f(s.unseen.knownIdentified));
  row('unseen: unseen called unknown %', (s) => f(s.unseen.unseenUnknown));
  row('unseen: unseen wrongly identified %', (s) => f(s.unseen.unseenWronglyIdentified));
  const one = (s: Summary, k: 'calibratedWith' | 'enrolledAfterCalibration') => s.singleReference[k] as { identifiedRight: number; unknown: number };
  row('one reference (in calibration): identified right % / unknown %', (s) => `${f(one(s, 'calibratedWith').identifiedRight)} / ${f(one(s, 'calibratedWith').unknown)}`);
  row('one reference (enrolled later): identified right % / unknown %', (s) => `${f(one(s, 'enrolledAfterCalibration').identifiedRight)} / ${f(one(s, 'enrolledAfterCalibration').unknown)}`);
  row('reliability ECE: test split / unseen protocol', (s) => `${f(s.reliability.testEce, 4)} / ${f(s.reliability.unseenProtocolEce, 4)}`);
  row('calibrate() ms', (s) => f(s.calibrateMs, 0));
  console.log('\nreliability (test split, then unseen protocol): score bin | n / accuracy % per method');
  for (const key of ['test', 'unseenProtocol'] as const) {
    console.log(`\n| score bin | ${METHODS.map((m) => `${m}: n / mean score / accuracy %`).join(' | ')} |`);
    console.log(`| --- | ${METHODS.map(() => '---').join(' | ')} |`);
    r.global.reliability[key].forEach((bin, b) => {
      console.log(
        `| ${bin.from.toFixed(1)}-${bin.to.toFixed(1)} | ${METHODS.map((m) => {
          const x = r[m].reliability[key][b];
          return `${x.n} / ${f(x.meanScore, 3)} / ${f(x.accuracy, 1)}`;
        }).join(' | ')} |`,
      );
    });
  }
}

await main();
