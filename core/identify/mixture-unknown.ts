import { mulberry32 } from './calibration.ts';
import { SpectrumInputError } from '../errors.ts';
import { profileMixtureSearch, type ReferenceProfiles } from './mixture-spectral.ts';

/**
 * "When a mixture leaves a residual that no library class explains, say so" (issue 4). The reconstruction search
 * reports the share of the query's signal that no fitted component comes near (SpectralFit.unexplained); a mixture
 * holds an unknown component when that share is larger than mixtures of library classes leave. The threshold is the
 * (1 - rate) quantile over mixtures synthesized from the library's own reference profiles (one random reference per
 * class, 2..maxComponents classes, equal weights: profiles are linear, so the sum of the references' profiles is the
 * profile of their mixture), each searched with its true component count.
 */

export interface UnexplainedCalibrationOptions {
  /** Mixtures synthesized (default 120). */
  readonly mixtures?: number;
  /** Largest component count synthesized (default 5; the counts cycle from 2). */
  readonly maxComponents?: number;
  /** Share of library mixtures allowed to be called incomplete (default 0.01). */
  readonly rate?: number;
  readonly seed?: number;
}

export interface UnexplainedCalibration {
  /** A mixture fit leaving more than this share unexplained holds an unknown component. */
  readonly threshold: number;
  /** The synthesized mixtures' unexplained shares, ascending (for reports). */
  readonly shares: readonly number[];
}

export function calibrateUnexplained(index: ReferenceProfiles, options: UnexplainedCalibrationOptions = {}): UnexplainedCalibration {
  const steps = calibrationSteps(index, options);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** The calibration one synthesized mixture at a time (each is a full mixture search), so a caller can yield between. */
function* calibrationSteps(index: ReferenceProfiles, options: UnexplainedCalibrationOptions): Generator<void, UnexplainedCalibration> {
  const count = options.mixtures ?? 120;
  const rate = options.rate ?? 0.01;
  const maxComponents = Math.min(options.maxComponents ?? 5, index.classCount);
  if (!(Number.isInteger(count) && count >= 1) || !(rate >= 0 && rate < 1)) {
    throw new SpectrumInputError('bad-calibration-options', `unexplained calibration needs mixtures >= 1 and 0 <= rate < 1, got ${count}, ${rate}`);
  }
  if (maxComponents < 2) throw new SpectrumInputError('library-too-small', `a mixture needs 2 classes, the library has ${index.classCount}`);
  const rng = mulberry32(options.seed ?? 1);
  const dim = index.dim;
  const shares: number[] = [];
  for (let t = 0; t < count; t++) {
    const m = 2 + (t % (maxComponents - 1));
    const classes = new Set<number>();
    while (classes.size < m) classes.add(Math.floor(rng() * index.classCount));
    const profile = new Float64Array(dim);
    for (const c of classes) {
      const block = index.referencesOf(c);
      const r = Math.floor(rng() * (block.length / dim));
      for (let j = 0; j < dim; j++) profile[j] += block[r * dim + j];
    }
    shares.push(profileMixtureSearch(index, profile, m).unexplained);
    yield;
  }
  shares.sort((a, b) => a - b);
  const at = Math.min(shares.length - 1, Math.ceil((1 - rate) * shares.length) - 1);
  return { threshold: shares[Math.max(0, at)], shares };
}

const cache = new WeakMap<Float32Array, UnexplainedCalibration>();

/** calibrateUnexplained with the defaults, once per state of the index (keyed by its current unitMeans array). */
export function unexplainedCalibrationFor(index: ReferenceProfiles): UnexplainedCalibration {
  const key = index.unitMeans();
  let cal = cache.get(key);
  if (!cal) {
    cal = calibrateUnexplained(index);
    cache.set(key, cal);
  }
  return cal;
}

/**
 * unexplainedCalibrationFor, awaiting `pause` after each synthesized mixture: the daemon prepares a new library state
 * with it while identification goes on (all 120 searches at once held its event loop 1.2-1.9 s at 200 classes).
 */
export async function unexplainedCalibrationInSteps(index: ReferenceProfiles, pause: () => Promise<void>): Promise<UnexplainedCalibration> {
  const key = index.unitMeans();
  const cached = cache.get(key);
  if (cached) return cached;
  const steps = calibrationSteps(index, {});
  for (;;) {
    const step = steps.next();
    if (step.done) {
      cache.set(key, step.value);
      return step.value;
    }
    await pause();
  }
}
