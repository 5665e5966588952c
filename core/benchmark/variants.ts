import type { BenchmarkName } from './definitions.ts';

/**
 * The fixed variants of the deterministic test splits, as the published generators build them
 * (spectra_from_config.py for 'benchmark', challenge_dataset.py for 'challenge'):
 * every peak moved by the same shift (-1, 0, +1 times the class's shift), every height changed by the same
 * delta (-1, 0, +1 times the class's height change, a height of exactly 1.0 never changes), then sigma 2 blur.
 */
export interface TestVariant {
  /** -1, 0 or +1: multiplies the class's position shift. */
  readonly shift: -1 | 0 | 1;
  /** -1, 0 or +1: multiplies the class's height change. */
  readonly height: -1 | 0 | 1;
}

export interface TestVariantPlan {
  readonly positionShift: number;
  readonly heightChange: number;
  readonly variants: readonly TestVariant[];
}

/** Test blur width of both published generators. */
export const TEST_SIGMA = 2;

const v = (shift: -1 | 0 | 1, height: -1 | 0 | 1): TestVariant => ({ shift, height });

/** Benchmark: 9 variants per class: exact, -shift, +shift, each with heights unchanged, raised, lowered. */
const BENCHMARK_VARIANTS: readonly TestVariant[] = [
  v(0, 0), v(-1, 0), v(1, 0),
  v(0, 1), v(-1, 1), v(1, 1),
  v(0, -1), v(-1, -1), v(1, -1),
];
/** Classes whose peaks lie closer than 30 points to a neighbour class's peaks: the generator shifts them 17. */
const BENCHMARK_SMALL_SHIFT = new Set([8, 318]);
/** Classes whose heights would overlap a neighbour class's with 0.04: the generator changes them 0.025. */
const BENCHMARK_SMALL_HEIGHT = new Set([164, 219, 281, 347]);

/**
 * Challenge: 6 variants per class (shift 30, height change 0.03), chosen so that no test variant moves a class
 * towards its triplet neighbours (challenge_dataset.py):
 * - minor-peak triplets (classes 0-8): exact, -30, +30 at unchanged heights and at lowered heights (a raised minor
 *   peak would only make it easier);
 * - position-overlap triplets (9-17; the members' peaks lie 70 apart in ascending order): the first member never
 *   moves left, the last never right, the middle one never stays put, each at unchanged/raised/lowered heights;
 * - height-overlap triplets (18-26; the members' minor heights ascend by 0.075): all three positions, the lowest
 *   member at unchanged and raised heights, the highest at unchanged and lowered, the middle at lowered and raised.
 */
const CHALLENGE_VARIANTS: Record<string, readonly TestVariant[]> = {
  minorPeak: [v(0, 0), v(-1, 0), v(1, 0), v(0, -1), v(-1, -1), v(1, -1)],
  positionFirst: [v(0, 0), v(1, 0), v(0, 1), v(1, 1), v(0, -1), v(1, -1)],
  positionMiddle: [v(-1, 0), v(1, 0), v(-1, 1), v(1, 1), v(-1, -1), v(1, -1)],
  positionLast: [v(0, 0), v(-1, 0), v(0, 1), v(-1, 1), v(0, -1), v(-1, -1)],
  heightLowest: [v(0, 0), v(-1, 0), v(1, 0), v(0, 1), v(-1, 1), v(1, 1)],
  heightMiddle: [v(0, -1), v(-1, -1), v(1, -1), v(0, 1), v(-1, 1), v(1, 1)],
  heightHighest: [v(0, 0), v(-1, 0), v(1, 0), v(0, -1), v(-1, -1), v(1, -1)],
};

function challengeVariants(classIndex: number): readonly TestVariant[] {
  const member = classIndex % 3;
  if (classIndex < 9) return CHALLENGE_VARIANTS.minorPeak;
  if (classIndex < 18) return [CHALLENGE_VARIANTS.positionFirst, CHALLENGE_VARIANTS.positionMiddle, CHALLENGE_VARIANTS.positionLast][member];
  return [CHALLENGE_VARIANTS.heightLowest, CHALLENGE_VARIANTS.heightMiddle, CHALLENGE_VARIANTS.heightHighest][member];
}

/** Number of test variants per class. */
export function testVariantsPerClass(name: BenchmarkName): number {
  return name === 'benchmark' ? BENCHMARK_VARIANTS.length : 6;
}

export function testVariantPlan(name: BenchmarkName, classIndex: number): TestVariantPlan {
  if (name === 'benchmark') {
    return {
      positionShift: BENCHMARK_SMALL_SHIFT.has(classIndex) ? 17 : 30,
      heightChange: BENCHMARK_SMALL_HEIGHT.has(classIndex) ? 0.025 : 0.04,
      variants: BENCHMARK_VARIANTS,
    };
  }
  return { positionShift: 30, heightChange: 0.03, variants: challengeVariants(classIndex) };
}
