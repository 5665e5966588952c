import { describe, expect, it } from 'vitest';
import { classPeakTemplate, confusable, decideConfusablePair } from '../../core/identify/peaks/confusable-pairs.ts';
import { identify } from '../../core/identify/identify.ts';
import { ReferenceLibrary, deserializeLibrary, serializeLibrary } from '../../core/identify/knn/library.ts';
import { PAIR_CLASSES, jitteredReferences, spectrumOf } from './peak-spectra.ts';
import { gaussian, unit } from './synthetic.ts';
import { mulberry32 } from '../../core/identify/knn/calibration.ts';

const POINTS = 2000;
const DIM = 16;

/**
 * Classes A and B are near-duplicates (the benchmark's 164 and 281: the minor peak 42 points further off), so an
 * encoder puts their references in one cloud; C is another compound with its own cloud.
 */
function buildLibrary(withSpectra = true): { library: ReferenceLibrary; cloud: (c: 'A' | 'B' | 'C') => Float32Array } {
  const rng = mulberry32(5);
  const shared = unit(Float32Array.from({ length: DIM }, () => gaussian(rng)));
  const other = unit(Float32Array.from({ length: DIM }, () => gaussian(rng)));
  const cloud = (c: 'A' | 'B' | 'C') => unit((c === 'C' ? other : shared).map((x) => x + (0.2 * gaussian(rng)) / Math.sqrt(DIM)));
  const library = new ReferenceLibrary({ dim: DIM, points: POINTS, modelVersion: 'test' });
  (['A', 'B', 'C'] as const).forEach((name, k) => {
    const refs = jitteredReferences(PAIR_CLASSES[name].positions, PAIR_CLASSES[name].heights, 40, 10 + k);
    const e = new Float32Array(refs.length * DIM);
    const x = new Float32Array(refs.length * POINTS);
    refs.forEach((s, r) => {
      e.set(cloud(name), r * DIM);
      x.set(s, r * POINTS);
    });
    library.addReferences(name, e, withSpectra ? x : null, false);
  });
  return { library, cloud };
}

function testSpectrum(name: keyof typeof PAIR_CLASSES, shift: number): Float32Array {
  return spectrumOf(
    PAIR_CLASSES[name].positions.map((p) => p + shift),
    PAIR_CLASSES[name].heights,
    2,
  );
}

describe('confusable pairs', () => {
  it('calls two classes confusable only when their reference clouds overlap', () => {
    const { library } = buildLibrary();
    const index = (n: string) => library.classNames().indexOf(n);
    expect(confusable(library, index('A'), index('B'))).toBe(true);
    expect(confusable(library, index('B'), index('A'))).toBe(true);
    expect(confusable(library, index('A'), index('C'))).toBe(false);
  });

  it('keeps peak templates from the references even when their spectra are not stored', () => {
    const { library } = buildLibrary();
    expect(library.spectraOf('A')).toBeNull();
    expect(classPeakTemplate(library, 'A')?.peaks).toHaveLength(2);
    expect(classPeakTemplate(buildLibrary(false).library, 'A')).toBeNull();
  });

  it('rebuilds the peak lists of a saved library that kept its spectra, and adds those of later references', () => {
    const { library } = buildLibrary();
    const kept = new ReferenceLibrary({ dim: DIM, points: POINTS, modelVersion: 'test' });
    const spectra = jitteredReferences(PAIR_CLASSES.A.positions, PAIR_CLASSES.A.heights, 4, 7);
    const x = new Float32Array(4 * POINTS);
    spectra.forEach((s, r) => x.set(s, r * POINTS));
    const e = library.embeddingsOf('A').slice(0, 4 * DIM);
    kept.addReferences('A', e, x, true);
    const restored = deserializeLibrary(serializeLibrary(kept));
    expect(restored.peaksOf('A')).toEqual(kept.peaksOf('A'));
    expect(restored.peaksOf('A')).toHaveLength(4);
    restored.addReferences('A', e.slice(0, DIM), x.slice(0, POINTS), false);
    expect(restored.peaksOf('A')).toHaveLength(5);
    restored.addReferences('A', e.slice(0, DIM));
    expect(restored.peaksOf('A')).toBeNull();
  });

  it('decides a confusable top pair by the peaks, whichever of the two the kNN put first', () => {
    const { library, cloud } = buildLibrary();
    let decided = 0;
    for (const truth of ['A', 'B'] as const) {
      for (const shift of [-30, 0, 30]) {
        const ranking = library.knn(cloud(truth), { k: 3, topClasses: 3 }).ranking;
        expect(new Set([ranking[0].class, ranking[1].class])).toEqual(new Set(['A', 'B']));
        const d = decideConfusablePair(library, ranking, { spectrum: testSpectrum(truth, shift) });
        expect(d.decided).toBe(true);
        expect(d.ranking[0].class).toBe(truth);
        expect(d.swapped).toBe(ranking[0].class !== truth);
        decided++;
      }
    }
    expect(decided).toBe(6);
  });

  it('leaves the ranking alone without a spectrum, with a spectrum off the grid, or for a pair that is not confusable', () => {
    const { library, cloud } = buildLibrary();
    const ranking = library.knn(cloud('A'), { k: 3, topClasses: 3 }).ranking;
    expect(decideConfusablePair(library, ranking, {})).toMatchObject({ decided: false, ranking });
    expect(decideConfusablePair(library, ranking, { spectrum: new Float32Array(10) })).toMatchObject({ decided: false, ranking });
    const withC = [ranking.find((r) => r.class === 'C')!, ranking.find((r) => r.class === 'A')!];
    expect(decideConfusablePair(library, withC, { spectrum: testSpectrum('A', 0) })).toMatchObject({ decided: false, ranking: withC });
    // The default gate with the query's embedding: one far from both classes (neither claims it) lets the peaks
    // decide a pair that is not confusable; one inside the winner's own cloud does not.
    const far = unit(Float32Array.from({ length: DIM }, (_, j) => (j % 2 ? 1 : -1)));
    expect(decideConfusablePair(library, withC, { spectrum: testSpectrum('A', 0), embedding: far }).ranking[0].class).toBe('A');
    expect(decideConfusablePair(library, withC, { spectrum: testSpectrum('A', 0), embedding: cloud('C') })).toMatchObject({ decided: false });
    expect(decideConfusablePair(library, withC, { spectrum: testSpectrum('A', 0), embedding: far }, { gate: 'library' })).toMatchObject({ decided: false });
    // 'always' decides any top two: A's spectrum beats C's template.
    expect(decideConfusablePair(library, withC, { spectrum: testSpectrum('A', 0) }, { gate: 'always' }).ranking[0].class).toBe('A');
  });
});

describe('identify() with a confusable pair', () => {
  it("names the class the peaks pick and lists it first; pairDecision false keeps the kNN's answer", () => {
    const { library, cloud } = buildLibrary();
    let fixedByPeaks = 0;
    for (let i = 0; i < 20; i++) {
      const truth = i % 2 ? 'A' : 'B';
      const embedding = cloud(truth);
      const spectrum = testSpectrum(truth, [-30, 0, 30][i % 3]);
      const r = identify({ embedding, spectrum }, library, { mixtures: false });
      const plain = identify({ embedding, spectrum }, library, { mixtures: false, pairDecision: false });
      expect(r.class ?? r.candidates[0].class).toBe(truth);
      expect(r.candidates[0].class).toBe(truth);
      if ((plain.class ?? plain.candidates[0].class) !== truth) fixedByPeaks++;
    }
    // The embeddings cannot tell A from B, so the kNN alone is wrong about half the time.
    expect(fixedByPeaks).toBeGreaterThan(3);
  });
});

describe('identify() with a confusable pair and a flat calibration', () => {
  it('keeps the class the peaks pick first even when every class scores alike (one or two references per class)', async () => {
    const { calibrate } = await import('../../core/identify/knn/calibration.ts');
    const { library, cloud } = buildLibrary();
    const fitted = calibrate(library);
    // What a library of one or two references per class can fit: both weights held at zero, one score for all.
    const flat = { bias: -3, similarity: 0, margin: 0 };
    const calibration = { ...fitted, logistic: flat, ...(fitted.perClass ? { perClass: { ...fitted.perClass, logistic: flat } } : {}) };
    let decided = 0;
    for (let i = 0; i < 10; i++) {
      const truth = i % 2 ? 'A' : 'B';
      const r = identify({ embedding: cloud(truth), spectrum: testSpectrum(truth, 0) }, library, { mixtures: false, calibration });
      expect(r.candidates[0].class).toBe(truth);
      const scores = r.candidates.map((c) => c.score);
      expect(scores).toEqual([...scores].sort((a, b) => b - a));
      if (r.decidedBy === 'peaks') decided++;
    }
    expect(decided).toBeGreaterThan(0);
  });
});
