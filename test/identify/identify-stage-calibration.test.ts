import { describe, expect, it, vi } from 'vitest';
import { ReferenceLibrary, type LibraryMatrix } from '../../core/identify/knn/library.ts';
import { createIdentifyStage } from '../../pipelines/identify-stage.ts';
import { mulberry32 } from '../../core/identify/knn/calibration.ts';
import { projectionEncoder } from './synthetic.ts';

const points = 64;

/** A class as two peaks at class-specific positions; references differ by small jitter. */
function spectra(c: number, n: number, rng: () => number): Float32Array {
  const out = new Float32Array(n * points);
  for (let r = 0; r < n; r++) {
    for (const p of [(c * 7) % points, (c * 13 + 5) % points]) out[r * points + p] = 0.8 + 0.2 * rng();
    for (let j = 0; j < points; j++) out[r * points + j] += 0.02 * rng();
  }
  return out;
}

/**
 * The encoder, counting the rows of each embed call. A background refinement embeds its synthesized mixtures (200
 * rows) synchronously within the stage call that starts it, so "no refinement was started" is read off the calls at
 * once, with no wait for one that might come.
 */
function countingEmbeds<E extends { embed(batch: Float32Array, n: number): Promise<Float32Array> }>(encoder: E): { encoder: E; rows: number[] } {
  const rows: number[] = [];
  const counted = new Proxy(encoder, {
    get: (t, p) => (p === 'embed' ? (batch: Float32Array, n: number) => (rows.push(n), t.embed(batch, n)) : Reflect.get(t, p, t)),
  });
  return { encoder: counted, rows };
}

describe('identify stage calibration', () => {
  it('answers at once, then refines each library state in the background with synthesized mixtures', async () => {
    const { encoder, rows } = countingEmbeds(projectionEncoder(points, 16, 5));
    const rng = mulberry32(3);
    let lib = new ReferenceLibrary({ dim: 16, points, modelVersion: encoder.version });
    for (let c = 0; c < 8; c++) await lib.enroll(`c${c}`, spectra(c, 4, rng), encoder);
    const refined: LibraryMatrix[] = [];
    const stage = createIdentifyStage(encoder, () => lib, { k: 3, mixture: 'auto', maxComponents: 3, targetFalseUnknownRate: 0.01 }, (m) => refined.push(m));
    const query = spectra(2, 1, rng);
    const first = await stage([query]);
    expect(first[0].candidates[0].class).toBe('c2');
    // Polled, not slept: a loaded machine may take a while to embed the mixtures.
    await vi.waitFor(() => expect(refined.length).toBe(1), { timeout: 10_000, interval: 20 });
    expect(refined[0]).toBe(lib.matrix());
    // Same library state: no second refinement (the call embedded its one query and no mixtures).
    const before = rows.length;
    await stage([query]);
    expect(rows.slice(before)).toEqual([1]);
    expect(refined.length).toBe(1);
    // A new class is a new state: refined again, and the new class is answered.
    const grown = lib;
    await grown.enroll('c8', spectra(8, 1, rng), encoder);
    lib = grown;
    const answer = await stage([spectra(8, 1, rng)]);
    expect(answer[0].candidates[0].class).toBe('c8');
    await vi.waitFor(() => expect(refined.length).toBe(2), { timeout: 10_000, interval: 20 });
    expect(refined[1]).toBe(lib.matrix());
  });

  it('does not synthesize mixtures when the mixture search is off', async () => {
    const { encoder, rows } = countingEmbeds(projectionEncoder(points, 16, 6));
    const rng = mulberry32(4);
    const lib = new ReferenceLibrary({ dim: 16, points, modelVersion: encoder.version });
    for (let c = 0; c < 5; c++) await lib.enroll(`c${c}`, spectra(c, 3, rng), encoder);
    let refinements = 0;
    const stage = createIdentifyStage(encoder, () => lib, { k: 3, mixture: 'off', maxComponents: 3, targetFalseUnknownRate: 0.01 }, () => refinements++);
    const before = rows.length;
    await stage([spectra(1, 1, rng)]);
    // Only the query was embedded: no mixtures were synthesized, so no refinement can come.
    expect(rows.slice(before)).toEqual([1]);
    expect(refinements).toBe(0);
  });
});
