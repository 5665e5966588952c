import { mulberry32 } from '../../core/identify/knn/calibration.ts';
import { ReferenceLibrary } from '../../core/identify/knn/library.ts';
import type { Encoder, InputGrid } from '../../core/encoder/types.ts';

/** Synthetic embedding worlds for tests: random unit class centroids, references as noisy copies. */
export interface World {
  readonly dim: number;
  readonly centroids: Float32Array[];
  readonly rng: () => number;
  /** A noisy unit sample of class c (noise: per-coordinate sd relative to the unit vector). */
  sample(c: number, noise?: number): Float32Array;
  /** A unit vector pointing nowhere in particular (an unseen compound). */
  random(): Float32Array;
}

export function gaussian(rng: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
}

export function unit(v: Float32Array): Float32Array {
  let s = 0;
  for (const x of v) s += x * x;
  const n = Math.sqrt(s);
  return v.map((x) => x / n);
}

export function makeWorld(classes: number, dim = 32, seed = 1, refNoise = 0.3): World {
  const rng = mulberry32(seed);
  const random = () => unit(Float32Array.from({ length: dim }, () => gaussian(rng)));
  const centroids = Array.from({ length: classes }, random);
  const sample = (c: number, noise = refNoise) =>
    unit(centroids[c].map((x) => x + (noise * gaussian(rng)) / Math.sqrt(dim)));
  return { dim, centroids, rng, sample, random };
}

export function makeLibrary(world: World, refsPerClass: number, prefix = 'class-'): ReferenceLibrary {
  const lib = new ReferenceLibrary({ dim: world.dim, points: 0, modelVersion: 'synthetic' });
  world.centroids.forEach((_, c) => {
    const e = new Float32Array(refsPerClass * world.dim);
    for (let r = 0; r < refsPerClass; r++) e.set(world.sample(c), r * world.dim);
    lib.addReferences(`${prefix}${c}`, e);
  });
  return lib;
}

/** Normalized sum of vectors with the given weights (a mixture in embedding space). */
export function mix(vectors: readonly Float32Array[], weights?: readonly number[]): Float32Array {
  const out = new Float32Array(vectors[0].length);
  vectors.forEach((v, i) => v.forEach((x, j) => (out[j] += x * (weights?.[i] ?? 1))));
  return unit(out);
}

/**
 * A tiny deterministic encoder for tests: a fixed random projection of the spectrum, then L2 normalization.
 * Similar spectra map to similar embeddings, which is all the library code relies on.
 */
export function projectionEncoder(points: number, dim: number, seed = 3, version = `projection-${seed}`): Encoder {
  const rng = mulberry32(seed);
  const w = Float32Array.from({ length: points * dim }, () => gaussian(rng));
  const grid: InputGrid = { points, xStart: 0, xEnd: points - 1, xUnit: 'index' };
  return {
    grid,
    dim,
    version,
    async embed(batch: Float32Array, n: number): Promise<Float32Array> {
      const out = new Float32Array(n * dim);
      for (let i = 0; i < n; i++) {
        const row = out.subarray(i * dim, (i + 1) * dim);
        for (let j = 0; j < points; j++) {
          const x = batch[i * points + j];
          if (x === 0) continue;
          for (let d = 0; d < dim; d++) row[d] += x * w[j * dim + d];
        }
        row.set(unit(row));
      }
      return out;
    },
    dispose() {},
  };
}

/** A spectrum of Gaussian peaks on `points` points, max 1. */
export function peaks(points: number, positions: readonly number[], width = 3, shift = 0): Float32Array {
  const y = new Float32Array(points);
  for (const p of positions) for (let j = 0; j < points; j++) y[j] += Math.exp(-(((j - p - shift) / width) ** 2) / 2);
  const max = Math.max(...y);
  return y.map((v) => v / max);
}
