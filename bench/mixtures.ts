/**
 * npm run bench:mixtures -- --model DIR [--components 2,3,4] [--limit N] [--classes 500] [--methods LIST] [--no-full]
 *   [--false-mixture] [--unknown] [--unknown-library N] [--count-free] [--out FILE]
 *
 * Mixture search methods side by side on the SAME mixtures, as protocols.ts `mixtures()` builds them: encoder from
 * --model (trained on classes L..N-1, L = N/5), library of classes 0..L-1 (and of all N) from their seed-1 training
 * spectra (50 per class), m-component mixtures of the classes' test spectra. Prints at-least-n-of-m (percent) and
 * ms/query per method and library; writes bench/results/mixtures.json. Methods: 'identify' (identify() with the
 * reference profiles, what `bench:paper` scores), 'spectral' (the reconstruction search alone: containment screen,
 * class templates), 'spectral-refs' (the previous session's: cosine screen, 8 individual references per class),
 * 'spectral+emb', 'hybrid', 'embedding'; wall and process-CPU ms per query. --refs N / --shortlist N tune the
 * reconstruction search. Memory: RSS and heap
 * after the libraries, after warming the templates, and the peak RSS of the query loops (process.resourceUsage).
 * --unknown: mixtures of m library classes against the same plus one class absent from the library (the next L
 * classes), asked for m components: how often identify() reports unknownComponent, and the AUROC of the unexplained
 * share, with the threshold calibrated both ways (source 'references', before, and 'templates'); --unknown-library N
 * runs it on a library of classes 0..N-1 (absent classes N..2N-1, at most 499).
 * --count-free: single test spectra (m = 1, spread over the classes) and the m-component mixtures through identify()
 * with no component count, as the daemon asks: percent called a mixture, percent with the right count, percent
 * exactly right (single: the right class and not a mixture; mixture: called one with exactly the m right classes),
 * unknown-component flags, and CPU ms per query; count decided by the embedding, by the reconstruction, and as the
 * daemon's mixture mode 'auto' asks (the reconstruction only where the single answer is not 'identified').
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { generateRandomSplit, generateTestSplit, loadDefinition, makeMixtures, normalizeDataset } from '../core/benchmark/index.ts';
import { initEngine } from '../core/engine/index.ts';
import { loadEncoder } from '../core/encoder/model-files.ts';
import type { Encoder } from '../core/encoder/types.ts';
import { calibrationFor, identify } from '../core/identify/identify.ts';
import { ReferenceLibrary } from '../core/identify/knn/library.ts';
import { beamMixtureSearch } from '../core/identify/mixture/mixture.ts';
import { ReferenceProfiles, spectralMixtureSearch, profileRanking } from '../core/identify/mixture/mixture-spectral.ts';
import { calibrateUnexplained, unexplainedCalibrationFor } from '../core/identify/mixture/mixture-unknown.ts';
import { embedAll } from './lib/protocols.ts';
import { portablePath } from './support/portable-path.ts';

/** Library embeddings cached per encoder and chunk, so reruns skip the encoding (git-ignored). */
const CACHE_DIR = path.join('.cache', 'bench-mixtures');

interface Args {
  model: string;
  components: number[];
  limit: number;
  classes: number;
  methods: string[];
  full: boolean;
  seed: number;
  /** Reconstruction-search options (references per class, shortlist size) for side-by-side tuning. */
  refs?: number;
  /** Also: percent of single test spectra that identify() (mixture decision on) calls a mixture. */
  falseMixture?: boolean;
  shortlist?: number;
  unknown?: boolean;
  /** Mixtures and single spectra through identify() with no component count (the daemon's path). */
  countFree?: boolean;
  /** Where the rows go (default bench/results/mixtures.json). */
  out?: string;
  /** --unknown with a library of classes 0..N-1 instead of the small library (absent classes: N..2N-1, at most 499). */
  unknownLibrary?: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { model: '', components: [2, 3, 4], limit: 0, classes: 500, methods: ['embedding', 'hybrid', 'spectral', 'spectral+emb'], full: true, seed: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i] ?? '';
    if (a === '--model') args.model = next();
    else if (a === '--components') args.components = next().split(',').map(Number);
    else if (a === '--limit') args.limit = Number(next());
    else if (a === '--classes') args.classes = Number(next());
    else if (a === '--methods') args.methods = next().split(',').filter(Boolean);
    else if (a === '--no-full') args.full = false;
    else if (a === '--seed') args.seed = Number(next());
    else if (a === '--refs') args.refs = Number(next());
    else if (a === '--false-mixture') args.falseMixture = true;
    else if (a === '--shortlist') args.shortlist = Number(next());
    else if (a === '--unknown') args.unknown = true;
    else if (a === '--count-free') args.countFree = true;
    else if (a === '--out') args.out = next();
    else if (a === '--unknown-library') args.unknownLibrary = Number(next());
    else if (a !== '--') throw new Error(`unknown argument ${a}`);
  }
  if (!args.model) {
    throw new Error('--model DIR is required: an encoder trained on classes 100-499, e.g. DIR/mixtures-seed1 as saved by `npm run bench:paper -- --only mixtures --seeds 1-1 --save-models DIR`');
  }
  return args;
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

interface Built {
  library: ReferenceLibrary;
  profiles: ReferenceProfiles;
}

/** Library + per-reference profiles of some classes, built in chunks (500 x 50 spectra would be 500 MB at once). */
async function build(encoder: Encoder, classes: number[], seed: number, cacheKey: string): Promise<Built> {
  const def = loadDefinition('benchmark');
  const library = new ReferenceLibrary({ dim: encoder.dim, points: def.points, modelVersion: encoder.version });
  const profiles = new ReferenceProfiles(def.points);
  for (let start = 0; start < classes.length; start += 25) {
    const chunk = classes.slice(start, start + 25);
    const data = normalizeDataset(generateRandomSplit(def, { split: 'train', perClass: 50, seed, classes: chunk }));
    const file = path.join(CACHE_DIR, `${cacheKey}-${chunk[0]}-${chunk.length}.f32`);
    let emb: Float32Array;
    if (existsSync(file)) emb = new Float32Array(readFileSync(file).buffer.slice(0));
    else {
      emb = await embedAll(encoder, data.x, data.n);
      mkdirSync(CACHE_DIR, { recursive: true });
      writeFileSync(file, Buffer.from(emb.buffer));
    }
    for (const c of chunk) {
      const rows: number[] = [];
      for (let i = 0; i < data.n; i++) if (data.y[i] === c) rows.push(i);
      const e = new Float32Array(rows.length * encoder.dim);
      const s = new Float32Array(rows.length * def.points);
      rows.forEach((r, k) => {
        e.set(emb.subarray(r * encoder.dim, (r + 1) * encoder.dim), k * encoder.dim);
        s.set(data.x.subarray(r * def.points, (r + 1) * def.points), k * def.points);
      });
      library.addReferences(String(c), e, s, false);
      profiles.add(String(c), s, rows.length);
    }
  }
  return { library, profiles };
}

type Method = (i: number) => string[];

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  await initEngine({});
  const encoder = await loadEncoder(args.model);
  const cacheKey = createHash('sha1').update(`${args.model}:${encoder.version}:${args.seed}`).digest('hex').slice(0, 12);
  const def = loadDefinition('benchmark');
  const L = Math.round(args.classes / 5);
  const target = range(0, L);
  const t0 = performance.now();
  const small = await build(encoder, target, args.seed, cacheKey);
  const full = args.full ? await build(encoder, range(0, args.classes), args.seed, cacheKey) : null;
  console.log(`libraries built in ${((performance.now() - t0) / 1000).toFixed(0)} s; ${memory()}`);
  const t1 = performance.now();
  for (const built of [small, full]) {
    if (!built) continue;
    for (let c = 0; c < built.profiles.classCount; c++) built.profiles.templates().of(c);
    unexplainedCalibrationFor(built.profiles);
  }
  const profileBytes = (p: ReferenceProfiles) => p.classNames().reduce((s, _, c) => s + p.referencesOf(c).byteLength, 0) + p.unitMeans().byteLength;
  console.log(
    `templates and unknown-component calibration in ${((performance.now() - t1) / 1000).toFixed(1)} s; ${memory()}; reference profiles of the full library ${((profileBytes((full ?? small).profiles)) / 2 ** 20).toFixed(1)} MB, templates ${(((full ?? small).profiles.classCount * (full ?? small).profiles.dim * 4) / 2 ** 20).toFixed(1)} MB`,
  );
  const test = generateTestSplit(def, { classes: target });
  const rows: Array<Record<string, unknown>> = [];
  for (const m of args.components) {
    const set = makeMixtures(test, { components: m, seed: args.seed * 1000 + m, anchorClasses: target, poolClasses: target });
    const n = args.limit > 0 ? Math.min(args.limit, set.n) : set.n;
    const spectra = normalizeDataset({ x: set.x.subarray(0, n * set.points), y: new Int32Array(n), n, points: set.points }).x;
    const emb = await embedAll(encoder, spectra, n);
    const embOf = (i: number) => emb.subarray(i * encoder.dim, (i + 1) * encoder.dim);
    const specOf = (i: number) => spectra.subarray(i * set.points, (i + 1) * set.points);
    for (const built of [small, full]) {
      if (!built) continue;
      const { library, profiles } = built;
      calibrationFor(library);
      const matrix = library.matrix();
      const names = matrix.classNames;
      const profileIndex = new Map(profiles.classNames().map((name, i) => [name, i]));
      const tuning = { referencesPerClass: args.refs, shortlistSize: args.shortlist };
      const methods: Record<string, Method> = {
        embedding: (i) => (identify({ embedding: embOf(i) }, library, { components: m, candidates: 1 }).components ?? []).map((c) => c.class),
        hybrid: (i) => (identify({ embedding: embOf(i), spectrum: specOf(i) }, library, { components: m, candidates: 1 }).components ?? []).map((c) => c.class),
        spectral: (i) => spectralMixtureSearch(profiles, specOf(i), m, tuning).classIndices.map((c) => profiles.classNames()[c]),
        identify: (i) =>
          (identify({ embedding: embOf(i), spectrum: specOf(i) }, library, { components: m, candidates: 1, referenceProfiles: profiles }).components ?? []).map((c) => c.class),
        'spectral-refs': (i) =>
          spectralMixtureSearch(profiles, specOf(i), m, { ...tuning, dictionary: 'references', screen: 'cosine' }).classIndices.map((c) => profiles.classNames()[c]),
        'spectral+emb': (i) => {
          const fits = beamMixtureSearch(matrix.centroids, matrix.dim, embOf(i), { maxComponents: m, beamWidth: 16 });
          const fromEmb = (fits[m - 1]?.classIndices ?? []).map((c) => profileIndex.get(names[c]) ?? -1);
          const shortlist = [...fromEmb, ...profileRanking(profiles, profiles.profileOf(specOf(i))).slice(0, 12 + 3 * m)];
          return spectralMixtureSearch(profiles, specOf(i), m, { ...tuning, shortlist }).classIndices.map((c) => profiles.classNames()[c]);
        },
      };
      for (const method of args.methods) {
        const fn = methods[method];
        if (!fn) throw new Error(`unknown method ${method}`);
        const counts = new Array(m + 1).fill(0);
        const start = performance.now();
        const cpuStart = process.cpuUsage();
        for (let i = 0; i < n; i++) {
          const truth = new Set(Array.from(set.components.subarray(i * m, (i + 1) * m), String));
          counts[fn(i).filter((c) => truth.has(c)).length]++;
        }
        const ms = (performance.now() - start) / n;
        // CPU time of the process (all its threads, GC included) per query: what the query costs, far less sensitive
        // than wall time to the other processes on a shared machine.
        const cpu = process.cpuUsage(cpuStart);
        const cpuMs = (cpu.user + cpu.system) / 1000 / n;
        const atLeast = range(1, m + 1).map((k) => (100 * counts.slice(k).reduce((s: number, v: number) => s + v, 0)) / n);
        rows.push({ components: m, library: library.classCount, method, mixtures: n, atLeast, msPerQuery: ms, cpuMsPerQuery: cpuMs, loadAverage: os.loadavg()[0] });
        console.log(`m=${m} library=${library.classCount} ${method.padEnd(14)} ${atLeast.map((v) => v.toFixed(1).padStart(5)).join(' ')}   ${ms.toFixed(1)} ms/query wall, ${cpuMs.toFixed(1)} ms CPU (${n} mixtures, load ${os.loadavg()[0].toFixed(1)}); ${memory()}`);
      }
    }
  }
  if (args.falseMixture) {
    const n = args.limit > 0 ? Math.min(args.limit, test.n) : test.n;
    const singles = normalizeDataset(test).x;
    const emb = await embedAll(encoder, singles.subarray(0, n * test.points), n);
    for (const built of [small, full]) {
      if (!built) continue;
      const { library, profiles } = built;
      let mixtureCalls = 0;
      let rightSingle = 0;
      const start = performance.now();
      for (let i = 0; i < n; i++) {
        const r = identify({ embedding: emb.subarray(i * encoder.dim, (i + 1) * encoder.dim), spectrum: singles.subarray(i * test.points, (i + 1) * test.points) }, library, { referenceProfiles: profiles });
        if (r.status === 'mixture') mixtureCalls++;
        else if (r.class === String(test.y[i])) rightSingle++;
      }
      const ms = (performance.now() - start) / n;
      rows.push({ singles: n, library: library.classCount, falseMixtureRate: (100 * mixtureCalls) / n, rightAsSingle: (100 * rightSingle) / n, msPerQuery: ms });
      console.log(`single test spectra, library=${library.classCount}: called a mixture ${((100 * mixtureCalls) / n).toFixed(1)} %, right single answer ${((100 * rightSingle) / n).toFixed(1)} %, ${ms.toFixed(1)} ms/query (${n} spectra)`);
    }
  }
  if (args.countFree) rows.push(...(await countFree(args, encoder, [small, full].filter((b): b is Built => b !== null), test)));
  if (args.unknown) rows.push(...(await unknownComponents(args, encoder, small, cacheKey)));
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(args.out ?? 'bench/results/mixtures.json', JSON.stringify({ model: portablePath(args.model), classes: args.classes, seed: args.seed, refs: args.refs, shortlist: args.shortlist, date: new Date().toISOString(), rows }, null, 2) + '\n');
}

/** The count-not-given protocol (see --count-free above), for each library built. */
async function countFree(args: Args, encoder: Encoder, libraries: readonly Built[], test: ReturnType<typeof generateTestSplit>): Promise<Array<Record<string, unknown>>> {
  const rows: Array<Record<string, unknown>> = [];
  const target = range(0, Math.round(args.classes / 5));
  for (const m of [1, ...args.components]) {
    let x: Float32Array;
    let truthOf: (i: number) => string[];
    let n: number;
    const points = test.points;
    if (m === 1) {
      // Every class's variants alike: spread over the whole test split rather than its first classes.
      n = args.limit > 0 ? Math.min(args.limit, test.n) : test.n;
      const step = test.n / n;
      const rowsTaken = Array.from({ length: n }, (_, i) => Math.floor(i * step));
      const all = normalizeDataset(test).x;
      x = new Float32Array(n * points);
      rowsTaken.forEach((r, i) => x.set(all.subarray(r * points, (r + 1) * points), i * points));
      truthOf = (i) => [String(test.y[rowsTaken[i]])];
    } else {
      const set = makeMixtures(test, { components: m, seed: args.seed * 1000 + m, anchorClasses: target, poolClasses: target });
      n = args.limit > 0 ? Math.min(args.limit, set.n) : set.n;
      x = normalizeDataset({ x: set.x.subarray(0, n * points), y: new Int32Array(n), n, points }).x;
      truthOf = (i) => Array.from(set.components.subarray(i * m, (i + 1) * m), String);
    }
    const emb = await embedAll(encoder, x, n);
    for (const [{ library, profiles }, decision] of libraries.flatMap((b) => (['embedding', 'reconstruction', 'daemon-auto'] as const).map((d) => [b, d] as const))) {
      calibrationFor(library);
      unexplainedCalibrationFor(profiles);
      let mixtureCalls = 0;
      let countRight = 0;
      let exact = 0;
      let flagged = 0;
      const counts = new Map<number, number>();
      const cpuStart = process.cpuUsage();
      const start = performance.now();
      for (let i = 0; i < n; i++) {
        const query = { embedding: emb.subarray(i * encoder.dim, (i + 1) * encoder.dim), spectrum: x.subarray(i * points, (i + 1) * points) };
        // 'daemon-auto': as the daemon's identification stage in mixture mode 'auto' (pipelines/identify-stage.ts):
        // the single answer first, the mixture step only where it is not 'identified'.
        const single = decision === 'daemon-auto' ? identify(query, library, { candidates: 1, mixtures: false }) : null;
        const r =
          single && single.status === 'identified'
            ? single
            : identify(query, library, { candidates: 1, referenceProfiles: profiles, mixtureCount: decision === 'embedding' ? 'embedding' : 'reconstruction' });
        const answer = r.status === 'mixture' ? (r.components ?? []).map((c) => c.class) : r.class ? [r.class] : [];
        const called = r.status === 'mixture' ? answer.length : 1;
        counts.set(called, (counts.get(called) ?? 0) + 1);
        if (r.status === 'mixture') mixtureCalls++;
        if (r.unknownComponent) flagged++;
        if (called === m) countRight++;
        const truth = new Set(truthOf(i));
        if (called === m && answer.length === m && answer.every((c) => truth.has(c))) exact++;
      }
      const ms = (performance.now() - start) / n;
      const cpu = process.cpuUsage(cpuStart);
      const cpuMs = (cpu.user + cpu.system) / 1000 / n;
      const pct = (v: number) => (100 * v) / n;
      const row = {
        countFree: m,
        decision,
        library: library.classCount,
        queries: n,
        calledMixture: pct(mixtureCalls),
        countRight: pct(countRight),
        exactlyRight: pct(exact),
        unknownComponentFlagged: pct(flagged),
        calledCounts: Object.fromEntries([...counts].sort((a, b) => a[0] - b[0])),
        msPerQuery: ms,
        cpuMsPerQuery: cpuMs,
        loadAverage: os.loadavg()[0],
      };
      rows.push(row);
      console.log(
        `count not given (${decision.padEnd(14)}), m=${m}, library=${library.classCount}: called a mixture ${row.calledMixture.toFixed(1)} %, count right ${row.countRight.toFixed(1)} %, exactly right ${row.exactlyRight.toFixed(1)} %, unknown component ${row.unknownComponentFlagged.toFixed(1)} %; counts called ${JSON.stringify(row.calledCounts)}; ${ms.toFixed(1)} ms/query wall, ${cpuMs.toFixed(1)} ms CPU (${n} queries, load ${os.loadavg()[0].toFixed(1)})`,
      );
    }
  }
  // Single spectra of classes the small library lacks: an unknown compound should not come out a mixture of others.
  const small = libraries[0];
  const L = small.library.classCount;
  const def = loadDefinition('benchmark');
  const absentClasses = range(L, Math.min(def.classes.length, 2 * L));
  const absentTest = generateTestSplit(def, { classes: absentClasses });
  const n = args.limit > 0 ? Math.min(args.limit, absentTest.n) : absentTest.n;
  const step = absentTest.n / n;
  const all = normalizeDataset(absentTest).x;
  const x = new Float32Array(n * absentTest.points);
  for (let i = 0; i < n; i++) x.set(all.subarray(Math.floor(i * step) * absentTest.points, (Math.floor(i * step) + 1) * absentTest.points), i * absentTest.points);
  const emb = await embedAll(encoder, x, n);
  for (const decision of ['embedding', 'reconstruction'] as const) {
    const statuses: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const r = identify({ embedding: emb.subarray(i * encoder.dim, (i + 1) * encoder.dim), spectrum: x.subarray(i * absentTest.points, (i + 1) * absentTest.points) }, small.library, { candidates: 1, referenceProfiles: small.profiles, mixtureCount: decision });
      const key = r.status === 'mixture' && r.unknownComponent ? 'mixture+unknown' : r.status;
      statuses[key] = (statuses[key] ?? 0) + 1;
    }
    const shares = Object.fromEntries(Object.entries(statuses).map(([k, v]) => [k, (100 * v) / n]));
    rows.push({ countFreeAbsentSingles: n, decision, library: L, statuses: shares });
    console.log(`count not given (${decision.padEnd(14)}), single spectra of classes absent from the library ${L}: ${Object.entries(shares).map(([k, v]) => `${k} ${v.toFixed(1)} %`).join(', ')} (${n} spectra)`);
  }
  return rows;
}

function memory(): string {
  const m = process.memoryUsage();
  return `RSS ${(m.rss / 2 ** 20).toFixed(0)} MB, heap ${(m.heapUsed / 2 ** 20).toFixed(0)} MB, peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`;
}

/**
 * Mixtures of m classes of a library (classes 0..N-1: the small library, or --unknown-library N) against mixtures of
 * the same kind with one more component from a class the library lacks (test spectra of classes N..min(2N, all)-1),
 * both asked for m components through identify(). Side by side, the unknown-component threshold calibrated from
 * mixtures of one reference per class (source 'references', before) and from query-like template draws ('templates',
 * the default; mixture-unknown.ts).
 */
async function unknownComponents(args: Args, encoder: Encoder, small: Built, cacheKey: string): Promise<Array<Record<string, unknown>>> {
  const def = loadDefinition('benchmark');
  const N = args.unknownLibrary ?? small.library.classCount;
  const built = N === small.library.classCount ? small : await build(encoder, range(0, N), args.seed, cacheKey);
  const absent = range(N, Math.min(def.classes.length, 2 * N));
  if (!absent.length) throw new Error(`--unknown-library ${N} leaves no class outside the library`);
  const test = generateTestSplit(def, { classes: range(0, N) });
  const both = generateTestSplit(def, { classes: [...range(0, N), ...absent] });
  const sources = ['references', 'templates'] as const;
  const calibrations = sources.map((source) => {
    const t = performance.now();
    // 'references' with the previous defaults (120 mixtures, 99th percentile, no margin): the threshold before.
    const cal = source === 'templates' ? unexplainedCalibrationFor(built.profiles) : calibrateUnexplained(built.profiles, { source, mixtures: 120, rate: 0.01 });
    console.log(`unknown-component calibration '${source}', library ${N}: threshold ${cal.threshold.toFixed(4)} in ${((performance.now() - t) / 1000).toFixed(1)} s${cal.heightSpread === undefined ? '' : ` (per-peak height spread ${cal.heightSpread.toFixed(4)})`}`);
    return cal;
  });
  const rows: Array<Record<string, unknown>> = [];
  for (const m of args.components) {
    const n = args.limit > 0 ? args.limit : 300;
    const known = makeMixtures(test, { components: m, seed: args.seed * 1000 + m, anchorClasses: range(0, N), poolClasses: range(0, N), count: n });
    const withAbsent = makeMixtures(both, { components: m + 1, seed: args.seed * 2000 + m, anchorClasses: absent, poolClasses: range(0, N), count: n });
    const shares: Record<'known' | 'absent', number[]> = { known: [], absent: [] };
    const flagged = sources.map(() => ({ known: 0, absent: 0 }));
    for (const [kind, set] of [['known', known], ['absent', withAbsent]] as const) {
      const x = normalizeDataset({ x: set.x, y: new Int32Array(set.n), n: set.n, points: set.points }).x;
      const emb = await embedAll(encoder, x, set.n);
      for (let i = 0; i < set.n; i++) {
        const spectrum = x.subarray(i * set.points, (i + 1) * set.points);
        const embedding = emb.subarray(i * encoder.dim, (i + 1) * encoder.dim);
        calibrations.forEach((cal, k) => {
          const r = identify({ embedding, spectrum }, built.library, { components: m, candidates: 1, referenceProfiles: built.profiles, unknownComponentShare: cal.threshold });
          if (r.unknownComponent) flagged[k][kind]++;
        });
        shares[kind].push(spectralMixtureSearch(built.profiles, spectrum, m).unexplained);
      }
    }
    let pairs = 0;
    for (const a of shares.known) for (const b of shares.absent) pairs += b > a ? 1 : b === a ? 0.5 : 0;
    const auroc = pairs / (shares.known.length * shares.absent.length);
    // For comparison only (not available to identify(): it needs the queries' own labels): the threshold at the 99th
    // percentile of these known mixtures' shares.
    const sortedKnown = [...shares.known].sort((a, b) => a - b);
    const oracle = sortedKnown[Math.min(n - 1, Math.ceil(0.99 * n) - 1)];
    const atOracle = (100 * shares.absent.filter((v) => v > oracle).length) / n;
    sources.forEach((source, k) => {
      const row = {
        unknownComponent: m,
        library: N,
        mixtures: n,
        source,
        threshold: calibrations[k].threshold,
        flaggedKnown: (100 * flagged[k].known) / n,
        flaggedWithAbsent: (100 * flagged[k].absent) / n,
        auroc,
        knownP99: oracle,
        flaggedWithAbsentAtKnownP99: atOracle,
      };
      rows.push(row);
      console.log(`unknown component, m=${m} (+1 absent), library=${N}, calibration '${source}': threshold ${row.threshold.toFixed(3)}; flagged ${row.flaggedKnown.toFixed(1)} % of known mixtures, ${row.flaggedWithAbsent.toFixed(1)} % with an absent component; AUROC of the unexplained share ${auroc.toFixed(4)}; at the known mixtures' own 99th percentile (${oracle.toFixed(3)}) ${atOracle.toFixed(1)} % flagged`);
    });
  }
  return rows;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
