/**
 * Seeded pseudo-random numbers for the random benchmark splits, mixtures and anything else that must repeat.
 *
 * Algorithm (fixed: changing it changes every generated data set):
 * - generator: sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, 128-bit state, passes PractRand);
 * - seeding: the seed words are absorbed one by one through splitmix32 (s = mix(s ^ word)), then four more
 *   splitmix32 outputs fill the sfc32 state, and the first 15 outputs are discarded;
 * - next(): the 32-bit output divided by 2^32, so uniform on [0, 1) in steps of 2^-32;
 * - int(lo, hi): lo + floor(next() * (hi - lo)) (bias below (hi - lo) / 2^32, negligible for our ranges).
 * A number seed is split into its low and high 32 bits, so every safe integer (negative too) is a distinct seed.
 */
export interface Rng {
  /** Uniform on [0, 1). */
  next(): number;
  /** Uniform integer on [lo, hiExclusive). */
  int(lo: number, hiExclusive: number): number;
  /** Uniform on [lo, hi). */
  uniform(lo: number, hi: number): number;
  /** Standard normal (Box-Muller). */
  normal(): number;
}

const GOLDEN = 0x9e3779b9;

/** One splitmix32 step: advances the state and returns the new state and a well-mixed output. */
function splitmix32(state: number): [next: number, out: number] {
  const next = (state + GOLDEN) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [next, (z ^ (z >>> 16)) >>> 0];
}

function seedWords(seed: number): number[] {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
  const lo = seed >>> 0; // low 32 bits of the two's-complement value, also for negatives
  const hi = Math.floor(seed / 0x1_0000_0000) | 0;
  return [lo, hi];
}

/** An rng from a list of 32-bit words: deriveRng(seed, split, class) gives independent per-class streams. */
function createRngFromWords(words: readonly number[]): Rng {
  let s = 0x6a09e667;
  for (const word of words) s = splitmix32(s ^ (word | 0))[1] | 0;
  const state: number[] = [];
  for (let i = 0; i < 4; i++) {
    let out: number;
    [s, out] = splitmix32(s);
    state.push(out | 0);
  }
  let [a, b, c, d] = state as [number, number, number, number];
  const next32 = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 15; i++) next32();

  let spareNormal: number | undefined;
  const rng: Rng = {
    next: () => next32() / 0x1_0000_0000,
    int(lo, hiExclusive) {
      if (!Number.isInteger(lo) || !Number.isInteger(hiExclusive) || hiExclusive <= lo) {
        throw new RangeError(`int(${lo}, ${hiExclusive}): need integers with lo < hiExclusive`);
      }
      return lo + Math.floor(rng.next() * (hiExclusive - lo));
    },
    uniform: (lo, hi) => lo + rng.next() * (hi - lo),
    normal() {
      if (spareNormal !== undefined) {
        const z = spareNormal;
        spareNormal = undefined;
        return z;
      }
      // 1 - next() lies in (0, 1], so the log is finite.
      const r = Math.sqrt(-2 * Math.log(1 - rng.next()));
      const phi = 2 * Math.PI * rng.next();
      spareNormal = r * Math.sin(phi);
      return r * Math.cos(phi);
    },
  };
  return rng;
}

/** A seeded rng: the same seed always gives the same sequence. */
export function createRng(seed: number): Rng {
  return createRngFromWords(seedWords(seed));
}

/** An rng for one purpose under one seed, e.g. deriveRng(seed, SPLIT_TAG.train, classIndex). */
export function deriveRng(seed: number, ...words: number[]): Rng {
  return createRngFromWords([...seedWords(seed), ...words]);
}
