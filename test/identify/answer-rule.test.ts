import { describe, expect, it } from 'vitest';
import { DEFAULT_PREDICTION_SET_COVERAGE, identify } from '../../core/identify/identify.ts';
import { ReferenceLibrary } from '../../core/identify/knn/library.ts';
import { mulberry32 } from '../../core/identify/knn/calibration.ts';
import { PAIR_CLASSES, jitteredReferences, spectrumOf } from './peak-spectra.ts';
import { gaussian, unit } from './synthetic.ts';

const POINTS = 2000;
const DIM = 16;

/**
 * A's references form a tight cloud; B's lie elsewhere (cosine about 0.7 to A's), C's farther still. A query near A
 * but outside A's own reach, whose spectrum carries B's peaks, opens the confusable-pair decision between A and B (the
 * 'reach' gate) though B is far below A: the answer must still be the top of its own list, sorted by score.
 */
function build() {
  const rng = mulberry32(11);
  const a = unit(Float32Array.from({ length: DIM }, () => gaussian(rng)));
  const noise = () => Float32Array.from({ length: DIM }, () => gaussian(rng));
  const b = unit(a.map((x, j) => 0.7 * x + 0.7 * noise()[j]));
  const c = unit(noise());
  const centers = { A: a, B: b, C: c };
  const cloud = (center: Float32Array, spread: number) => unit(center.map((x) => x + (spread * gaussian(rng)) / Math.sqrt(DIM)));
  const library = new ReferenceLibrary({ dim: DIM, points: POINTS, modelVersion: 'test' });
  (['A', 'B', 'C'] as const).forEach((name, k) => {
    const refs = jitteredReferences(PAIR_CLASSES[name].positions, PAIR_CLASSES[name].heights, 20, 10 + k);
    const e = new Float32Array(refs.length * DIM);
    const x = new Float32Array(refs.length * POINTS);
    refs.forEach((s, r) => {
      e.set(cloud(centers[name], 0.1), r * DIM);
      x.set(s, r * POINTS);
    });
    library.addReferences(name, e, x);
  });
  return { library, centers, cloud };
}

describe('one answer rule', () => {
  it('names the top of its own candidate list, sorted by score, even when a confusable-pair decision is opened', () => {
    const { library, centers, cloud } = build();
    let pairOpened = 0;
    for (let i = 0; i < 30; i++) {
      // Queries from A's neighbourhood, some outside its reach, all with B's peaks.
      const q = cloud(centers.A, 0.1 + 0.02 * i);
      const r = identify({ embedding: q, spectrum: spectrumOf(PAIR_CLASSES.B.positions, PAIR_CLASSES.B.heights, 2, POINTS) }, library, { mixtures: false });
      const scores = r.candidates.map((c) => c.score);
      if (process.env.DBG) console.log(i, JSON.stringify(r));
      expect(scores).toEqual([...scores].sort((x, y) => y - x));
      if (r.class !== undefined) expect(r.class).toBe(r.candidates[0].class);
      // B is far below A: the peaks never name it over the embedding's clear winner.
      expect(r.candidates[0].class).toBe('A');
      if (r.decidedBy === 'peaks') pairOpened++;
      expect(r.decidedBy === 'peaks' || r.decidedBy === 'embedding').toBe(true);
    }
    expect(pairOpened).toBe(0);
  });

  it('every answer carries its candidates with embedding similarity, and a prediction set of listed classes', () => {
    const { library, centers, cloud } = build();
    for (let i = 0; i < 30; i++) {
      const name = (['A', 'B', 'C'] as const)[i % 3];
      const r = identify({ embedding: cloud(centers[name], 0.1), spectrum: spectrumOf(PAIR_CLASSES[name].positions, PAIR_CLASSES[name].heights, 2, POINTS) }, library, { mixtures: false });
      for (const c of r.candidates) expect(c.similarity).toBeTypeOf('number');
      expect(r.coverage).toBe(DEFAULT_PREDICTION_SET_COVERAGE);
      expect(r.predictionSet).toBeDefined();
      for (const c of r.predictionSet ?? []) expect(r.candidates.map((x) => x.class)).toContain(c);
    }
  });
});

describe('conformal prediction sets', () => {
  it('hold the true class of fresh queries at the configured coverage, with about one class each', async () => {
    const { makeLibrary, makeWorld } = await import('./synthetic.ts');
    const { calibrate } = await import('../../core/identify/knn/calibration.ts');
    const world = makeWorld(60, 32, 7, 0.3);
    const library = makeLibrary(world, 20);
    const calibration = calibrate(library);
    for (const coverage of [0.8, 0.95]) {
      let covered = 0;
      let size = 0;
      const n = 3000;
      for (let i = 0; i < n; i++) {
        const c = i % 60;
        const r = identify({ embedding: world.sample(c) }, library, { calibration, mixtures: false, predictionSetCoverage: coverage });
        expect(r.coverage).toBe(coverage);
        if (r.predictionSet?.includes(`class-${c}`)) covered++;
        size += r.predictionSet?.length ?? 0;
      }
      // Queries exchangeable with the references: coverage within 2 points of the level (3000 draws: sd 0.4-0.7 points).
      expect(covered / n).toBeGreaterThan(coverage - 0.02);
      expect(covered / n).toBeLessThan(coverage + 0.02);
      expect(size / n).toBeLessThan(1.2);
    }
  });
});

describe('open-set gate and the prediction set (operator rule: identified => its class in the set, unknown => empty set)', () => {
  it("a spectrum its named class does not explain is unknown, whatever the embedding says; the class's own spectrum is identified", () => {
    const { library, centers, cloud } = build();
    let identified = 0;
    for (let i = 0; i < 10; i++) {
      const q = cloud(centers.C, 0.1);
      // C's own peaks: identified as C, C in its set, most of the signal explained.
      // A small library: the daemon's rule leaves the spectral half to libraries of 50 classes or more (open-set.ts).
      const gate = { mixtures: false, openSetMinClasses: 1 } as const;
      const own = identify({ embedding: q, spectrum: spectrumOf(PAIR_CLASSES.C.positions, PAIR_CLASSES.C.heights, 3, POINTS) }, library, gate);
      expect(own.candidates[0].class).toBe('C');
      if (own.status === 'identified') {
        identified++;
        expect(own.predictionSet).toContain('C');
      }
      expect(own.fitQuality).toBeGreaterThan(0.8);
      // The same embedding, but the spectrum holds a tall peak no library class has: no class claims it.
      const other = identify(
        { embedding: q, spectrum: spectrumOf([...PAIR_CLASSES.C.positions, 1600], [...PAIR_CLASSES.C.heights, 1], 3, POINTS) },
        library,
        gate,
      );
      expect(other.status).toBe('unknown');
      expect(other.class).toBeUndefined();
      expect(other.predictionSet).toEqual([]);
      expect(other.fitQuality).toBeLessThan(0.8);
      // Its closest classes are listed, none with a score that looks like a claim (open-set.ts unknownScoreCap).
      for (const c of other.candidates) expect(c.score).toBeLessThan(0.1);
      // Without the spectral half the embedding alone would have named C.
      const embeddingOnly = identify({ embedding: q, spectrum: spectrumOf([...PAIR_CLASSES.C.positions, 1600], [...PAIR_CLASSES.C.heights, 1], 3, POINTS) }, library, { mixtures: false, openSetShare: false });
      expect(embeddingOnly.status).not.toBe('unknown');
    }
    expect(identified).toBeGreaterThanOrEqual(8);
  });
});
