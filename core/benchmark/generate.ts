import { SpectrumInputError } from '../errors.ts';
import { gaussianKernel } from '../math/gaussian-kernel.ts';
import { addBlurredPeaks, placeDeltas } from './blur.ts';
import type { BenchmarkDefinition, BenchmarkName, ClassDefinition } from './definitions.ts';
import { deriveRng, type Rng } from '../math/rng.ts';
import { TEST_SIGMA, testVariantPlan, testVariantsPerClass } from './variants.ts';

/** Spectra with their class labels; x is row-major [n, points]. */
export interface Dataset {
  x: Float32Array;
  y: Int32Array;
  n: number;
  points: number;
}

export type RandomSplit = 'train' | 'val';

export interface RandomSplitOptions {
  split: RandomSplit;
  perClass: number;
  seed: number;
  /** Class indices to generate, in this order; all classes when absent. */
  classes?: number[];
}

/** Random variation of the published generators (train and validation samples). */
export const RANDOM_VARIATION = {
  /** Each peak moves by an integer drawn from [-50, 50). */
  shiftRange: 50,
  /** Each height changes by a uniform draw from [-0.05, 0.05). */
  heightRange: 0.05,
  sigmaMin: 2,
  sigmaMax: 5,
  maxHeight: 2,
} as const;

/** Published sample counts per class (the paper's full-size training). */
export const PUBLISHED_PER_CLASS = { train: 50, val: 10 } as const;

const NAME_TAG: Record<BenchmarkName, number> = { benchmark: 1, challenge: 2 };
const SPLIT_TAG: Record<RandomSplit, number> = { train: 1, val: 2 };

const clip = (value: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, value));

function resolveClasses(def: BenchmarkDefinition, classes: number[] | undefined): number[] {
  if (classes === undefined) return def.classes.map((_, i) => i);
  const seen = new Set<number>();
  for (const c of classes) {
    if (!Number.isInteger(c) || c < 0 || c >= def.classes.length) {
      throw new SpectrumInputError('bad-class', `class ${c} does not exist in ${def.name} (classes 0-${def.classes.length - 1})`, { field: 'classes' });
    }
    if (seen.has(c)) throw new SpectrumInputError('bad-class', `class ${c} is listed twice`, { field: 'classes' });
    seen.add(c);
  }
  return [...classes];
}

/** Blurs the delta peaks of one sample into row `row` of x (float32). */
function writeSample(
  x: Float32Array,
  row: number,
  points: number,
  positions: number[],
  heights: number[],
  sigma: number,
  scratch: Float64Array,
): void {
  scratch.fill(0);
  const deltas = placeDeltas(positions, heights);
  addBlurredPeaks(scratch, deltas.positions, deltas.heights, gaussianKernel(sigma));
  x.set(scratch, row * points);
}

/**
 * The deterministic test split of the published generators: for each class (in the given order) its fixed
 * variants (9 for 'benchmark', 6 for 'challenge'), class-major and variant-minor. No randomness, no normalization.
 */
export function generateTestSplit(def: BenchmarkDefinition, opts: { classes?: number[] } = {}): Dataset {
  const classes = resolveClasses(def, opts.classes);
  const { points } = def;
  return buildSplit(def, classes, testVariantsPerClass(def.name), function* (c) {
    const { peakPositions, peakHeights } = def.classes[c];
    const plan = testVariantPlan(def.name, c);
    for (const variant of plan.variants) {
      yield {
        positions: peakPositions.map((p) => clip(p + variant.shift * plan.positionShift, 0, points - 1)),
        heights: peakHeights.map((h) => (h === 1 ? h : clip(h + variant.height * plan.heightChange, 0, RANDOM_VARIATION.maxHeight))),
        sigma: TEST_SIGMA,
      };
    }
  });
}

/**
 * One random sample of a class, drawn in the published order: all positions, then all heights, then sigma.
 * The challenge generator keeps a height of exactly 1.0; the benchmark generator varies it too.
 */
interface Sample {
  readonly positions: number[];
  readonly heights: number[];
  readonly sigma: number;
}

function drawSample(cls: ClassDefinition, name: BenchmarkName, points: number, rng: Rng): Sample {
  const { shiftRange, heightRange, sigmaMin, sigmaMax, maxHeight } = RANDOM_VARIATION;
  const positions = cls.peakPositions.map((p) => clip(rng.int(p - shiftRange, p + shiftRange), 0, points - 1));
  const heights = cls.peakHeights.map((h) =>
    name === 'challenge' && h === 1 ? h : clip(rng.uniform(h - heightRange, h + heightRange), 0, maxHeight),
  );
  const sigma = rng.uniform(sigmaMin, sigmaMax);
  return { positions, heights, sigma };
}

/**
 * A random train or validation split: perClass samples of each class, class-major.
 * Each class draws from its own stream deriveRng(seed, benchmark, split, class), so a class's samples do not
 * depend on which other classes are generated, and the first k samples are the same for any perClass >= k.
 */
export function generateRandomSplit(def: BenchmarkDefinition, opts: RandomSplitOptions): Dataset {
  const { split, perClass, seed } = opts;
  if (split !== 'train' && split !== 'val') {
    throw new SpectrumInputError('bad-split', `split must be train or val, got "${String(split)}"`, { field: 'split' });
  }
  if (!Number.isInteger(perClass) || perClass < 1) {
    throw new SpectrumInputError('bad-per-class', `per-class count must be a positive integer, got ${perClass}`, { field: 'perClass' });
  }
  if (!Number.isSafeInteger(seed)) {
    throw new SpectrumInputError('bad-seed', `seed must be an integer, got ${seed}`, { field: 'seed' });
  }
  return buildSplit(def, resolveClasses(def, opts.classes), perClass, function* (c) {
    const rng = deriveRng(seed, NAME_TAG[def.name], SPLIT_TAG[split], c);
    for (let j = 0; j < perClass; j++) yield drawSample(def.classes[c], def.name, def.points, rng);
  });
}

export interface TestLikeSplitOptions {
  perClass: number;
  seed: number;
  /** Class indices to generate, in this order; all classes when absent. */
  classes?: number[];
}

/** Split tag of the test-like stream, apart from train (1) and val (2). */
const TEST_LIKE_TAG = 3;

/**
 * A validation split with the test split's kind of variation, drawn at random (not the test split): each sample is
 * the class definition itself with the whole spectrum shifted by an integer uniform in [-s, s] and every height
 * below 1.0 changed by one common delta uniform in [-h, h) (s, h: the class's test shift and height change,
 * variants.ts), blurred at the test sigma. The random train/val splits instead jitter every peak independently by
 * up to 50 points and draw sigma from [2, 5), so they cannot tell which training recipes or decision rules hold up
 * under the test's variation (docs/RESULTS-CHALLENGE.md); this split can, without using a test spectrum.
 */
export function generateTestLikeSplit(def: BenchmarkDefinition, opts: TestLikeSplitOptions): Dataset {
  const { perClass, seed } = opts;
  if (!Number.isInteger(perClass) || perClass < 1) {
    throw new SpectrumInputError('bad-per-class', `per-class count must be a positive integer, got ${perClass}`, { field: 'perClass' });
  }
  if (!Number.isSafeInteger(seed)) {
    throw new SpectrumInputError('bad-seed', `seed must be an integer, got ${seed}`, { field: 'seed' });
  }
  const { points } = def;
  return buildSplit(def, resolveClasses(def, opts.classes), perClass, function* (c) {
    const rng = deriveRng(seed, NAME_TAG[def.name], TEST_LIKE_TAG, c);
    const { peakPositions, peakHeights } = def.classes[c];
    const plan = testVariantPlan(def.name, c);
    for (let j = 0; j < perClass; j++) {
      const shift = rng.int(-plan.positionShift, plan.positionShift + 1);
      const delta = rng.uniform(-plan.heightChange, plan.heightChange);
      yield {
        positions: peakPositions.map((p) => clip(p + shift, 0, points - 1)),
        heights: peakHeights.map((h) => (h === 1 ? h : clip(h + delta, 0, RANDOM_VARIATION.maxHeight))),
        sigma: TEST_SIGMA,
      };
    }
  });
}

/** Class-major rows: each class's samples, in order, blurred into x. */
function buildSplit(def: BenchmarkDefinition, classes: number[], perClass: number, samplesOf: (c: number) => Iterable<Sample>): Dataset {
  const { points } = def;
  const n = classes.length * perClass;
  const x = new Float32Array(n * points);
  const y = new Int32Array(n);
  const scratch = new Float64Array(points);
  let row = 0;
  for (const c of classes) {
    for (const sample of samplesOf(c)) {
      writeSample(x, row, points, sample.positions, sample.heights, sample.sigma, scratch);
      y[row++] = c;
    }
  }
  if (row !== n) throw new Error(`generator wrote ${row} rows, expected ${n}`);
  return { x, y, n, points };
}
