import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ReferenceLibrary, deserializeLibrary, serializeLibrary } from '../../core/identify/knn/library.ts';
import { SpectrumInputError } from '../../core/errors.ts';
import { makeLibrary, makeWorld, peaks, projectionEncoder } from './synthetic.ts';

/** The textbook kNN: every similarity, full sort, majority vote of the k first, ties to the nearest. */
function naiveKnn(lib: ReferenceLibrary, q: Float32Array, k: number) {
  const rows: Array<{ cls: string; sim: number }> = [];
  for (const name of lib.classNames()) {
    const e = lib.embeddingsOf(name);
    for (let r = 0; r < e.length / lib.dim; r++) {
      let s = 0;
      for (let j = 0; j < lib.dim; j++) s += e[r * lib.dim + j] * q[j];
      rows.push({ cls: name, sim: s });
    }
  }
  rows.sort((a, b) => b.sim - a.sim);
  const top = rows.slice(0, k);
  const votes = new Map<string, number>();
  for (const t of top) votes.set(t.cls, (votes.get(t.cls) ?? 0) + 1);
  const bestOf = (c: string) => rows.find((r) => r.cls === c)!.sim;
  const winner = [...votes.keys()].sort((a, b) => votes.get(b)! - votes.get(a)! || bestOf(b) - bestOf(a))[0];
  return { top, winner };
}

describe('ReferenceLibrary kNN', () => {
  it('agrees with a naive kNN on random libraries and queries', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 7 }), (seed, k) => {
        const world = makeWorld(12, 8, seed, 1.5);
        const lib = makeLibrary(world, 4);
        const q = world.random();
        const fast = lib.knn(q, { k });
        const slow = naiveKnn(lib, q, k);
        expect(fast.neighbors.map((n) => n.similarity)).toEqual(
          slow.top.map((t) => expect.closeTo(t.sim, 5)),
        );
        expect(fast.ranking[0].class).toBe(slow.winner);
      }),
      { numRuns: 60 },
    );
  });

  it('ranks the voted class first and lists the others by best similarity', () => {
    const world = makeWorld(30, 16, 5);
    const lib = makeLibrary(world, 5);
    const res = lib.knn(world.sample(7, 0.2), { topClasses: 6 });
    expect(res.ranking[0].class).toBe('class-7');
    expect(res.ranking[0].votes).toBe(3);
    const rest = res.ranking.slice(1).map((r) => r.similarity);
    expect([...rest].sort((a, b) => b - a)).toEqual(rest);
  });

  it('rejects a query of the wrong dimension with a SpectrumInputError', () => {
    const lib = makeLibrary(makeWorld(3, 8), 2);
    expect(() => lib.knn(new Float32Array(5))).toThrow(SpectrumInputError);
  });
});

describe('ReferenceLibrary editing', () => {
  it('renames and removes classes, and refuses clashes and unknown names', () => {
    const lib = makeLibrary(makeWorld(3, 8), 2);
    lib.renameClass('class-0', 'caffeine');
    expect(lib.classNames()).toEqual(['caffeine', 'class-1', 'class-2']);
    expect(() => lib.renameClass('caffeine', 'class-1')).toThrow(/exists/);
    lib.removeClass('class-1');
    expect(lib.classNames()).toEqual(['caffeine', 'class-2']);
    expect(lib.referenceCount).toBe(4);
    expect(() => lib.removeClass('class-1')).toThrow(SpectrumInputError);
    expect(lib.knn(lib.embeddingsOf('class-2').subarray(0, 8)).ranking[0].class).toBe('class-2');
  });

  it('rejects zero embeddings and mis-sized spectra', () => {
    const lib = new ReferenceLibrary({ dim: 4, points: 10, modelVersion: 'x' });
    expect(() => lib.addReferences('a', new Float32Array(4))).toThrow(/zero or non-finite/);
    expect(() => lib.addReferences('a', Float32Array.of(1, 0, 0, 0), new Float32Array(3))).toThrow(/spectrum values/);
    expect(() => lib.addReferences('', Float32Array.of(1, 0, 0, 0))).toThrow(SpectrumInputError);
  });

  it('enrolls a new class from a few spectra, which changes the answer, without touching the encoder', async () => {
    const points = 200;
    const encoder = projectionEncoder(points, 16);
    const lib = new ReferenceLibrary({ dim: 16, points, modelVersion: encoder.version });
    const classes: Record<string, number[]> = { a: [20, 90], b: [50, 150], c: [120, 180] };
    for (const [name, pos] of Object.entries(classes)) {
      const spectra = new Float32Array(3 * points);
      for (let s = 0; s < 3; s++) spectra.set(peaks(points, pos, 3, s - 1), s * points);
      await lib.enroll(name, spectra, encoder);
    }
    const query = peaks(points, [40, 110, 170], 3, 1);
    const [qe] = [await encoder.embed(query, 1)];
    const before = lib.knn(qe).ranking[0].class;
    expect(['a', 'b', 'c']).toContain(before);
    const newSpectra = new Float32Array(2 * points);
    newSpectra.set(peaks(points, [40, 110, 170]), 0);
    newSpectra.set(peaks(points, [40, 110, 170], 3, -1), points);
    expect(await lib.enroll('d', newSpectra, encoder)).toBe(2);
    expect(lib.knn(qe).ranking[0].class).toBe('d');
  });

  it('re-embeds every reference with a new model from the stored spectra', async () => {
    const points = 100;
    const oldEncoder = projectionEncoder(points, 8, 1);
    const newEncoder = projectionEncoder(points, 12, 2);
    const lib = new ReferenceLibrary({ dim: 8, points, modelVersion: oldEncoder.version });
    const spectra = peaks(points, [30, 60]);
    await lib.enroll('x', spectra, oldEncoder);
    await lib.enroll('y', peaks(points, [10, 80]), oldEncoder);
    await lib.reembed(newEncoder);
    expect(lib.dim).toBe(12);
    expect(lib.modelVersion).toBe(newEncoder.version);
    const expected = await newEncoder.embed(spectra, 1);
    expect(Array.from(lib.embeddingsOf('x'))).toEqual(Array.from(expected).map((v) => expect.closeTo(v, 6)));
    lib.addReferences('no-spectra', Float32Array.from({ length: 12 }, (_, i) => i + 1));
    await expect(lib.reembed(oldEncoder)).rejects.toThrow(/without stored spectra: no-spectra/);
    expect(lib.dim).toBe(12);
  });
});

describe('serializeLibrary / deserializeLibrary', () => {
  it('round-trips classes, embeddings, spectra and metadata exactly', async () => {
    const points = 50;
    const enc = projectionEncoder(points, 6);
    const lib = new ReferenceLibrary({ dim: 6, points, modelVersion: 'model-v7' });
    await lib.enroll('with spectra', Float32Array.from({ length: 2 * points }, (_, i) => Math.sin(i)), enc);
    lib.addReferences('embeddings only ü', Float32Array.from({ length: 18 }, (_, i) => Math.cos(i)));
    const back = deserializeLibrary(serializeLibrary(lib));
    expect(back.dim).toBe(6);
    expect(back.points).toBe(points);
    expect(back.modelVersion).toBe('model-v7');
    expect(back.list()).toEqual(lib.list());
    for (const name of lib.classNames()) {
      expect(back.embeddingsOf(name)).toEqual(lib.embeddingsOf(name));
      expect(back.spectraOf(name)).toEqual(lib.spectraOf(name));
    }
  });

  it('rejects damaged files with library-corrupt', () => {
    const bytes = serializeLibrary(makeLibrary(makeWorld(2, 4), 2));
    const cases = [bytes.subarray(0, 5), bytes.subarray(0, bytes.length - 4), Uint8Array.from([...bytes, 0, 0, 0, 0])];
    const wrongMagic = Uint8Array.from(bytes);
    wrongMagic[0] = 0x41;
    cases.push(wrongMagic);
    for (const c of cases) {
      let err: unknown;
      try {
        deserializeLibrary(c, 'lib.splb');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SpectrumInputError);
      expect((err as SpectrumInputError).code).toBe('library-corrupt');
      expect((err as SpectrumInputError).message).toContain('lib.splb');
    }
  });
});
