/**
 * Speed and memory of the identification engine, measured side by side in one run:
 *  - brute-force cosine kNN at 500 classes x 50 references and 10x that (dim 64, the seed model's embedding size);
 *  - the mixture search: our beam search vs the paper's exhaustive enumeration, time per query and memory.
 * Synthetic unit embeddings: speed does not depend on what the vectors mean. Prints a table, writes
 * bench/results/identify.json.  Usage: npm run bench:identify [-- --quick]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import {
  ReferenceLibrary,
  beamMixtureSearch,
  binomial,
  exhaustiveMemoryBytes,
  exhaustiveMixtureSearch,
  identify,
  calibrate,
} from '../core/identify/index.ts';
import { mulberry32 } from '../core/identify/knn/calibration.ts';

const quick = process.argv.includes('--quick');
const dim = 64;
const rng = mulberry32(1);
const gauss = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());

function unitVector(base?: Float32Array, noise = 0.3): Float32Array {
  const v = new Float32Array(dim);
  let s = 0;
  for (let j = 0; j < dim; j++) {
    v[j] = base ? base[j] + (noise * gauss()) / Math.sqrt(dim) : gauss();
    s += v[j] * v[j];
  }
  for (let j = 0; j < dim; j++) v[j] /= Math.sqrt(s);
  return v;
}

function buildLibrary(classes: number, refs: number): { lib: ReferenceLibrary; centroids: Float32Array[] } {
  const lib = new ReferenceLibrary({ dim, points: 0, modelVersion: 'bench' });
  const centroids: Float32Array[] = [];
  for (let c = 0; c < classes; c++) {
    const centroid = unitVector();
    centroids.push(centroid);
    const e = new Float32Array(refs * dim);
    for (let r = 0; r < refs; r++) e.set(unitVector(centroid), r * dim);
    lib.addReferences(`c${c}`, e);
  }
  return { lib, centroids };
}

function timeIt(fn: () => void, minMs = 300, maxRuns = 2000): number {
  fn();
  const start = performance.now();
  let runs = 0;
  while (runs < maxRuns && performance.now() - start < minMs) {
    fn();
    runs++;
  }
  return (performance.now() - start) / runs;
}

const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
const rows: Array<Record<string, string | number>> = [];
// The machine is shared: the load average says how far absolute times are inflated; ratios within a run hold.
const results: Record<string, unknown> = { date: new Date().toISOString(), node: process.version, loadAverage: loadavg(), dim, quick };

// --- mixtures: 500 classes, up to 5 components ---
{
  const { lib, centroids } = buildLibrary(500, quick ? 10 : 50);
  const matrix = lib.matrix();
  const pick = (m: number) => {
    const s = new Set<number>();
    while (s.size < m) s.add(Math.floor(rng() * 500));
    return [...s];
  };
  const mixQuery = (set: number[]) => {
    const v = new Float32Array(dim);
    for (const c of set) {
      const e = unitVector(centroids[c], 0.2);
      for (let j = 0; j < dim; j++) v[j] += e[j];
    }
    return unitVector(v, 0);
  };
  const beam: Array<Record<string, number>> = [];
  for (const m of [2, 3, 4, 5]) {
    const cases = Array.from({ length: 40 }, () => pick(m).sort((a, b) => a - b));
    const queries = cases.map(mixQuery);
    let i = 0;
    const ms = timeIt(() => beamMixtureSearch(matrix.centroids, dim, queries[i++ % queries.length], { maxComponents: m }), 500);
    let right = 0;
    queries.forEach((q, t) => {
      const fit = beamMixtureSearch(matrix.centroids, dim, q, { maxComponents: m })[m - 1];
      if (fit.classIndices.join() === cases[t].join()) right++;
    });
    beam.push({ components: m, msPerQuery: ms, exactSetRate: right / queries.length });
    rows.push({ what: `beam search, 500 classes, m=${m}`, 'ms/query': ms.toFixed(2), memory: 'O(beam x dim)', 'planted set found': `${right}/${queries.length}` });
  }
  // Full identify (kNN + calibrated decision + mixture search with up to 5 components), memory measured around it.
  const cal = calibrate(lib, { maxSamples: 500, maxMixtureSamples: 100 });
  const queries = Array.from({ length: 40 }, () => mixQuery(pick(4)));
  global.gc?.();
  const before = process.memoryUsage();
  let peakHeap = before.heapUsed;
  let i = 0;
  const ms = timeIt(() => {
    identify({ embedding: queries[i++ % queries.length] }, lib, { calibration: cal });
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  }, 1000);
  const after = process.memoryUsage();
  results.identifyMixture = {
    classes: 500,
    references: lib.referenceCount,
    components: 4,
    msPerQuery: ms,
    rssMB: mb(after.rss),
    heapGrowthMB: mb(peakHeap - before.heapUsed),
  };
  rows.push({
    what: 'identify() 4-comp mixture, 500 classes',
    'ms/query': ms.toFixed(2),
    memory: `RSS ${mb(after.rss)} MB, heap +${mb(peakHeap - before.heapUsed)} MB`,
  });
  results.beam = beam;

  // With the spectrum: the hybrid search also runs beams over 500-point spectral profiles.
  {
    const points = 5000;
    const peaksOf = Array.from({ length: 500 }, () => Array.from({ length: 6 }, () => 100 + Math.floor(rng() * 4800)));
    const spectrumOf = (set: number[], shift: number) => {
      const y = new Float32Array(points);
      for (const c of set) for (const p of peaksOf[c]) for (let j = Math.max(0, p + shift - 12); j < Math.min(points, p + shift + 13); j++) y[j] += Math.exp(-((j - p - shift) ** 2) / 18);
      let max = 0;
      for (const v of y) max = Math.max(max, v);
      return y.map((v) => v / max);
    };
    const withProfiles = new ReferenceLibrary({ dim, points, modelVersion: 'bench' });
    for (let c = 0; c < 500; c++) {
      const refs = 10;
      const e = new Float32Array(refs * dim);
      const spectra = new Float32Array(refs * points);
      for (let r = 0; r < refs; r++) {
        e.set(unitVector(centroids[c]), r * dim);
        spectra.set(spectrumOf([c], Math.round(rng() * 60 - 30)), r * points);
      }
      withProfiles.addReferences(`c${c}`, e, spectra, false);
    }
    const hcal = calibrate(withProfiles, { maxSamples: 500, maxMixtureSamples: 100 });
    const hq = Array.from({ length: 20 }, () => {
      const set = pick(4);
      return { embedding: mixQuery(set), spectrum: spectrumOf(set, 20) };
    });
    global.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    let peak = heapBefore;
    let h = 0;
    const msHybrid = timeIt(() => {
      identify(hq[h++ % hq.length], withProfiles, { calibration: hcal, components: 4 });
      peak = Math.max(peak, process.memoryUsage().heapUsed);
    }, 1000);
    results.identifyMixtureWithSpectrum = { classes: 500, components: 4, msPerQuery: msHybrid, heapGrowthMB: mb(peak - heapBefore), rssMB: mb(process.memoryUsage().rss) };
    rows.push({ what: 'identify() 4 comps + spectrum (hybrid), 500 classes', 'ms/query': msHybrid.toFixed(2), memory: `RSS ${mb(process.memoryUsage().rss)} MB, heap +${mb(peak - heapBefore)} MB` });
  }

  // The paper: every combination. Timed where it finishes, extrapolated by C(n, m) elsewhere.
  const exhaustive: Array<Record<string, number | boolean>> = [];
  const cases: Array<[number, number]> = quick ? [[100, 2], [100, 3]] : [[100, 2], [100, 3], [100, 4], [500, 2], [500, 3]];
  let nsPerCombination = 0;
  for (const [n, m] of cases) {
    const sub = matrix.centroids.subarray(0, n * dim);
    const q = mixQuery(pick(m).map((c) => c % n));
    const start = performance.now();
    exhaustiveMixtureSearch(sub, dim, q, m);
    const ms = performance.now() - start;
    nsPerCombination = (ms * 1e6) / binomial(n, m);
    exhaustive.push({ classes: n, components: m, combinations: binomial(n, m), ms, measured: true, paperMemoryMB: mb(exhaustiveMemoryBytes(n, m, dim)) });
    rows.push({ what: `exhaustive, ${n} classes, m=${m}`, 'ms/query': ms.toFixed(1), memory: `paper stores ${mb(exhaustiveMemoryBytes(n, m, dim))} MB` });
  }
  for (const m of [4, 5]) {
    const est = (binomial(500, m) * nsPerCombination) / 1e6;
    exhaustive.push({ classes: 500, components: m, combinations: binomial(500, m), ms: est, measured: false, paperMemoryMB: mb(exhaustiveMemoryBytes(500, m, dim)) });
    rows.push({ what: `exhaustive, 500 classes, m=${m} (extrapolated)`, 'ms/query': est.toExponential(2), memory: `paper stores ${mb(exhaustiveMemoryBytes(500, m, dim))} MB` });
  }
  results.exhaustive = exhaustive;
}

// kNN last, so the 10x library does not inflate the mixture run's process memory.
// --- kNN ---
const knn: Array<Record<string, number>> = [];
for (const classes of quick ? [500] : [500, 5000]) {
  const { lib, centroids } = buildLibrary(classes, 50);
  const matrix = lib.matrix();
  const queries = Array.from({ length: 50 }, (_, i) => unitVector(centroids[i % classes]));
  let i = 0;
  const ms = timeIt(() => lib.knn(queries[i++ % queries.length]));
  const entry = { classes, references: lib.referenceCount, msPerQuery: ms, matrixMB: mb(matrix.embeddings.byteLength) };
  knn.push(entry);
  rows.push({ what: `kNN k=3, ${classes} x 50 refs`, 'ms/query': ms.toFixed(3), memory: `${entry.matrixMB} MB matrix` });
}
results.knn = knn;

console.table(rows);
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/identify.json', import.meta.url), JSON.stringify(results, null, 2) + '\n');
console.log('wrote bench/results/identify.json');
