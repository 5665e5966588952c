import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ReferenceLibrary } from '../../core/identify/knn/library.ts';
import { DEFAULT_MEAN_OF_BEST, identify } from '../../core/identify/identify.ts';
import { SpectrumInputError } from '../../core/errors.ts';
import { makeLibrary, makeWorld } from './synthetic.ts';
import { createIdentifyStage } from '../../pipelines/identify-stage.ts';
import type { Encoder } from '../../core/encoder/types.ts';

/** Unit vectors in the plane at the given angles (degrees), row-major [n, 2]. */
const atAngles = (deg: number[]) => Float32Array.from(deg.flatMap((d) => [Math.cos((d * Math.PI) / 180), Math.sin((d * Math.PI) / 180)]));

/** Every class's mean of its m best similarities, by a full sort. */
function naiveMeanOfBest(lib: ReferenceLibrary, q: Float32Array, m: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const name of lib.classNames()) {
    const e = lib.embeddingsOf(name);
    const sims: number[] = [];
    for (let r = 0; r < e.length / lib.dim; r++) {
      let s = 0;
      for (let j = 0; j < lib.dim; j++) s += e[r * lib.dim + j] * q[j];
      sims.push(s);
    }
    sims.sort((a, b) => b - a);
    const top = sims.slice(0, m);
    out.set(name, top.reduce((a, v) => a + v, 0) / top.length);
  }
  return out;
}

describe('ranking classes by the mean of their best m similarities', () => {
  it('agrees with a full sort on random libraries, classes of 1-6 references', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }), (seed, m, per) => {
        const world = makeWorld(10, 8, seed, 1.5);
        const lib = makeLibrary(world, per);
        const q = world.random();
        const fast = lib.knn(q, { k: 3, meanOfBest: m, topClasses: 10 });
        const slow = naiveMeanOfBest(lib, q, m);
        const order = [...slow.entries()].sort((a, b) => b[1] - a[1]);
        expect(fast.ranking[0].meanOfBest).toBeCloseTo(order[0][1], 5);
        // The winner by a full sort (up to float ties).
        expect(slow.get(fast.ranking[0].class)).toBeCloseTo(order[0][1], 5);
        for (const r of fast.ranking) expect(r.meanOfBest).toBeCloseTo(slow.get(r.class)!, 5);
      }),
      { numRuns: 60 },
    );
  });

  // Class a: three references at 0 degrees; class b: one at 10 and three at 90 degrees. A query at 8 degrees has b's
  // reference nearest and a's three next: the 3-vote says a, and so does the mean of the best 2 (a: 8, 8 degrees
  // away; b: 2 and 82); a 1-vote says b.
  const lib = new ReferenceLibrary({ dim: 2, points: 0, modelVersion: 'test' });
  lib.addReferences('a', atAngles([0, 0, 0]));
  lib.addReferences('b', atAngles([10, 90, 90, 90]));
  const q = atAngles([8]);

  it('decides by the class, not by its single nearest reference', () => {
    expect(lib.knn(q, { k: 1 }).ranking[0].class).toBe('b');
    expect(lib.knn(q, { k: 1, meanOfBest: 2 }).ranking[0].class).toBe('a');
    expect(lib.knn(q, { k: 1, meanOfBest: 1 }).ranking[0].class).toBe('b');
  });

  it('identify() uses it by default (m = DEFAULT_MEAN_OF_BEST) and the vote with meanOfBest: false', () => {
    expect(DEFAULT_MEAN_OF_BEST).toBe(5);
    // Class c: five references at 0-4 degrees; class d: one at 7 and four at 30-33. A query at 6 degrees has d's
    // reference nearest (1 degree): a 1-vote says d; c's best five are 2-6 degrees away (mean 4), d's 1 and 24-27
    // (mean 20.6), so the mean of the best 5 ranks c first. The nearest reference is d's, so d scores best: the answer
    // is the top of the list sorted by score (d), and with the ranking against it, never 'identified'.
    const two = new ReferenceLibrary({ dim: 2, points: 0, modelVersion: 'test' });
    two.addReferences('c', atAngles([0, 1, 2, 3, 4]));
    two.addReferences('d', atAngles([7, 30, 31, 32, 33]));
    const at6 = { embedding: atAngles([6]) };
    const byMean = identify(at6, two, { mixtures: false, k: 1 });
    const byVote = identify(at6, two, { mixtures: false, k: 1, meanOfBest: false });
    expect(byMean.class).toBe('d');
    expect(byMean.status).toBe('low-confidence');
    expect(byMean.candidates.map((c) => c.class)).toEqual(['d', 'c']);
    expect(byVote.class).toBe('d');
    expect(byVote.status).not.toBe('low-confidence');
  });

  it('rejects a meanOfBest that is not a positive integer', () => {
    expect(() => lib.knn(q, { meanOfBest: 1.5 })).toThrow(SpectrumInputError);
    expect(() => lib.knn(q, { meanOfBest: -2 })).toThrow(SpectrumInputError);
  });
});

describe("the daemon's identification.rank setting", () => {
  // The geometry of the identify() case above: a query at 6 degrees; mean of the best 5 says c, a 1-vote says d.
  const two = new ReferenceLibrary({ dim: 2, points: 0, modelVersion: 'test' });
  two.addReferences('c', atAngles([0, 1, 2, 3, 4]));
  two.addReferences('d', atAngles([7, 30, 31, 32, 33]));
  // The 'spectrum' is the embedding itself: two points in, the same unit vector out.
  const identityEncoder: Encoder = {
    grid: { points: 2, xStart: 0, xEnd: 1, xUnit: 'index' },
    dim: 2,
    version: 'identity',
    embed: (batch) => Promise.resolve(Float32Array.from(batch)),
    dispose() {},
  };
  const stageWith = (rank: 'mean-of-best' | 'vote' | undefined) =>
    createIdentifyStage(identityEncoder, () => two, { k: 1, mixture: 'off', maxComponents: 3, targetFalseUnknownRate: 0.01, ...(rank ? { rank } : {}) });

  it('ranks by the mean of the best references by default and by the k-vote with rank: vote', async () => {
    const [byDefault] = await stageWith(undefined)([atAngles([6])]);
    const [byMean] = await stageWith('mean-of-best')([atAngles([6])]);
    const [byVote] = await stageWith('vote')([atAngles([6])]);
    // The answer is the best-scored class (d, its reference nearest); the mean of the best 5 ranks c first, so by it
    // the answer is ambiguous (low-confidence), while the 1-vote agrees with the score.
    expect(byDefault.class).toBe('d');
    expect(byDefault.status).toBe('low-confidence');
    expect(byMean.class).toBe('d');
    expect(byMean.status).toBe('low-confidence');
    expect(byVote.class).toBe('d');
    expect(byVote.status).toBe('identified');
  });
});
