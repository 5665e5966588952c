import { describe, expect, it } from 'vitest';
import { identify } from '../../core/identify/identify.ts';
import { makeLibrary, makeWorld, mix } from './synthetic.ts';

describe('candidate ordering', () => {
  it('lists candidates best score first, and an answer that is not the best-scored candidate is never identified', () => {
    const world = makeWorld(12, 32, 5, 0.3);
    const lib = makeLibrary(world, 6);
    let disagreements = 0;
    for (let i = 0; i < 200; i++) {
      const c = i % 12;
      // Queries between two classes make the vote and the scores disagree now and then.
      const q = i % 2 === 0 ? world.sample(c, 0.5) : mix([world.sample(c), world.sample((c + 1) % 12)], [1, 0.8]);
      const r = identify({ embedding: q }, lib, { mixtures: false, candidates: 5 });
      const scores = r.candidates.map((x) => x.score);
      expect(scores).toEqual([...scores].sort((a, b) => b - a));
      if (r.status === 'identified') {
        expect(r.class).toBe(r.candidates[0].class);
        expect(r.score).toBe(r.candidates[0].score);
      }
      if (r.class !== undefined && r.class !== r.candidates[0].class) disagreements++;
      if (r.class !== undefined) expect(r.candidates.some((x) => x.class === r.class && x.score === r.score)).toBe(true);
    }
    expect(disagreements).toBeLessThan(200);
  });
});

describe('vote and score disagree', () => {
  it('puts the best-scored class first and does not call the vote winner identified', async () => {
    const { ReferenceLibrary } = await import('../../core/identify/knn/library.ts');
    const dim = 16;
    const vec = (pairs: [number, number][]) => {
      const v = new Float32Array(dim);
      for (const [i, x] of pairs) v[i] = x;
      const n = Math.hypot(...v);
      return v.map((x) => x / n);
    };
    const lib = new ReferenceLibrary({ dim, points: 0, modelVersion: 'synthetic' });
    const refs = (vs: Float32Array[]) => {
      const e = new Float32Array(vs.length * dim);
      vs.forEach((v, i) => e.set(v, i * dim));
      return e;
    };
    // Two references of A at moderate similarity outvote one very close reference of B (k = 3).
    lib.addReferences('A', refs([vec([[0, 1], [1, 0.5]]), vec([[0, 1], [2, 0.5]])]));
    lib.addReferences('B', refs([vec([[0, 1], [3, 0.2]]), vec([[3, 1], [4, 1]])]));
    lib.addReferences('C', refs([vec([[5, 1]]), vec([[5, 1], [6, 0.2]])]));
    const r = identify({ embedding: vec([[0, 1]]) }, lib, { mixtures: false, k: 3 });
    const scores = r.candidates.map((x) => x.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expect(r.candidates[0].class).toBe('B');
    expect(r.status).not.toBe('identified');
  });
});
