import { describe, expect, it } from 'vitest';
import { generateRandomSplit, generateTestSplit, loadDefinition, normalizeDataset } from '../../core/benchmark/index.ts';
import { SpectrumInputError } from '../../core/errors.ts';
import { identify } from '../../core/identify/identify.ts';
import { ReferenceLibrary } from '../../core/identify/knn/library.ts';
import { ReferenceProfiles, spectralMixtureSearch } from '../../core/identify/mixture/mixture-spectral.ts';
import { calibrateUnexplained, estimateHeightSpread, peakRegions, unexplainedCalibrationFor, unexplainedCalibrationInSteps, unexplainedCalibrationUnlessPending } from '../../core/identify/mixture/mixture-unknown.ts';
import { projectionEncoder } from './synthetic.ts';

const def = loadDefinition('benchmark');
const KNOWN = Array.from({ length: 30 }, (_, i) => i);
const ABSENT = Array.from({ length: 10 }, (_, i) => 30 + i);
const PER_CLASS = 20;

const train = normalizeDataset(generateRandomSplit(def, { split: 'train', perClass: PER_CLASS, seed: 1, classes: KNOWN }));
const index = new ReferenceProfiles(def.points);
for (const c of KNOWN) index.add(String(c), train.x.subarray(c * PER_CLASS * def.points, (c + 1) * PER_CLASS * def.points), PER_CLASS);
const test = generateTestSplit(def, { classes: [...KNOWN, ...ABSENT] });
/** Test spectrum (variant v of 9) of class c; the split holds KNOWN then ABSENT, 9 rows each. */
const row = (c: number, v: number) => test.x.subarray((c * 9 + v) * def.points, (c * 9 + v + 1) * def.points);

function mixture(parts: ReadonlyArray<readonly [number, number]>): Float32Array {
  const out = new Float32Array(def.points);
  for (const [c, v] of parts) row(c, v).forEach((x, j) => (out[j] += x));
  const max = Math.max(...out);
  return out.map((x) => x / max);
}

describe('calibrateUnexplained', () => {
  it('sets the threshold at the chosen quantile of library mixtures’ unexplained shares', () => {
    const cal = calibrateUnexplained(index, { mixtures: 40, rate: 0.1, maxComponents: 3, margin: 0 });
    expect(cal.shares).toHaveLength(40);
    expect([...cal.shares]).toEqual([...cal.shares].sort((a, b) => a - b));
    expect(cal.threshold).toBe(cal.shares[35]);
    // The default margin for the template draws: a quarter more.
    expect(calibrateUnexplained(index, { mixtures: 40, rate: 0.1, maxComponents: 3 }).threshold).toBeCloseTo(1.25 * cal.shares[35], 12);
    expect(cal.threshold).toBeGreaterThan(0);
    expect(cal.threshold).toBeLessThan(1);
    expect(unexplainedCalibrationFor(index)).toBe(unexplainedCalibrationFor(index)); // once per library state
  }, 120_000);

  it('in steps: pauses after every synthesized mixture, gives the same calibration and fills the same cache', async () => {
    const small = new ReferenceProfiles(def.points);
    for (const c of KNOWN.slice(0, 8)) small.add(String(c), train.x.subarray(c * PER_CLASS * def.points, (c + 1) * PER_CLASS * def.points), PER_CLASS);
    let pauses = 0;
    let seenPending: unknown = 'not asked';
    const stepped = await unexplainedCalibrationInSteps(small, async () => {
      // While it is being made, the open-set gate's lookup does without rather than making a second copy.
      if (pauses === 0) seenPending = unexplainedCalibrationUnlessPending(small);
      pauses++;
      await new Promise((r) => setImmediate(r));
    });
    expect(pauses).toBe(266); // the height-spread estimate, 200 mixtures, 50 singles, 150 open-set singles by tens
    expect(stepped).toEqual(calibrateUnexplained(small));
    expect(unexplainedCalibrationFor(small)).toBe(stepped);
    expect(seenPending).toBeUndefined();
    expect(unexplainedCalibrationUnlessPending(small)).toBe(stepped);
  }, 180_000);

  it('refuses bad options and a library too small for a mixture', () => {
    expect(() => calibrateUnexplained(index, { rate: 1 })).toThrow(SpectrumInputError);
    expect(() => calibrateUnexplained(index, { mixtures: 0 })).toThrow(SpectrumInputError);
    expect(() => calibrateUnexplained(index, { source: 'queries' as 'templates' })).toThrow(SpectrumInputError);
    expect(() => calibrateUnexplained(index, { heightSpread: 1 })).toThrow(SpectrumInputError);
    expect(() => calibrateUnexplained(index, { margin: -0.1 })).toThrow(SpectrumInputError);
    const one = new ReferenceProfiles(def.points);
    one.add('0', train.x.subarray(0, def.points), 1);
    expect(() => calibrateUnexplained(one)).toThrow(SpectrumInputError);
  });
});

describe('query-like calibration (source templates)', () => {
  it('measures the per-peak height spread of the references: the benchmark draws +-0.05; identical references none', () => {
    const spread = estimateHeightSpread(index, index.templates());
    expect(spread).toBeGreaterThan(0.03);
    expect(spread).toBeLessThan(0.08);
    // Every reference the same exact test spectrum (variant 0): nothing varies from one to the next.
    const same = new ReferenceProfiles(def.points);
    for (const c of KNOWN.slice(0, 12)) {
      const copies = new Float32Array(5 * def.points);
      for (let r = 0; r < 5; r++) copies.set(row(c, 0), r * def.points);
      same.add(String(c), copies, 5);
    }
    expect(estimateHeightSpread(same, same.templates())).toBeLessThan(1e-6);
  }, 60_000);

  it('blurs a template back into the reference mean it was deconvolved from', () => {
    const templates = index.templates();
    const cosine = (a: ArrayLike<number>, b: ArrayLike<number>) => {
      let dot = 0;
      let aa = 0;
      let bb = 0;
      for (let j = 0; j < a.length; j++) {
        dot += a[j] * b[j];
        aa += a[j] * a[j];
        bb += b[j] * b[j];
      }
      return dot / Math.sqrt(aa * bb);
    };
    for (const c of [0, 7, 19]) {
      const block = index.referencesOf(c);
      const mean = new Float64Array(index.dim);
      for (let i = 0; i < block.length; i++) mean[i % index.dim] += block[i];
      const back = cosine(templates.blurredBack(c), mean);
      expect(back).toBeGreaterThan(0.95);
      // The sharp template itself is not the mean: the blur is what brings it back.
      expect(back).toBeGreaterThan(cosine(templates.of(c).values, mean) + 0.02);
    }
  });

  it('finds each peak with its bins up to the minima between peaks', () => {
    const x = [0, 1, 3, 1, 0.5, 2, 0.2, 0, 0, 0.01];
    const regions = peakRegions(x);
    expect(regions.map((r) => [r.at, r.from, r.to, r.top])).toEqual([
      [2, 0, 4, 3],
      [5, 4, x.length, 2],
    ]);
    expect(peakRegions([0, 0, 0])).toEqual([]);
  });

  it('sets a threshold that test mixtures of library classes stay under and mixtures with an absent class exceed', () => {
    // The previous source (one jittered reference per class) sits far above what clean test mixtures leave.
    const templatesCal = calibrateUnexplained(index, { mixtures: 80, rate: 0.0125, seed: 3 }); // default margin
    const referencesCal = calibrateUnexplained(index, { mixtures: 80, rate: 0.0125, seed: 3, source: 'references' });
    expect(templatesCal.source).toBe('templates');
    expect(templatesCal.heightSpread).toBeGreaterThan(0);
    expect(templatesCal.threshold).toBeLessThan(referencesCal.threshold / 2);
    let knownOver = 0;
    let absentOver = 0;
    for (let t = 0; t < 12; t++) {
      const parts: Array<[number, number]> = [
        [KNOWN[(7 * t) % 30], t % 9],
        [KNOWN[(7 * t + 11) % 30], (t + 4) % 9],
        [KNOWN[(7 * t + 23) % 30], (t + 2) % 9],
      ];
      const m = 2 + (t % 2);
      const known = spectralMixtureSearch(index, mixture(parts.slice(0, m)), m).unexplained;
      const withAbsent = spectralMixtureSearch(index, mixture([...parts.slice(0, m), [ABSENT[t % 10], (t + 5) % 9]]), m).unexplained;
      if (known > templatesCal.threshold) knownOver++;
      if (withAbsent > templatesCal.threshold) absentOver++;
    }
    expect(knownOver).toBeLessThanOrEqual(1);
    expect(absentOver).toBeGreaterThanOrEqual(9);
  }, 180_000);
});

describe('unknown component of a mixture', () => {
  it('leaves far more signal unexplained when a component is absent from the library', () => {
    let separated = 0;
    for (let t = 0; t < 10; t++) {
      const a = KNOWN[(3 * t) % 30];
      const b = KNOWN[(3 * t + 7) % 30];
      const known = spectralMixtureSearch(index, mixture([[a, t % 9], [b, (t + 4) % 9]]), 2).unexplained;
      const withAbsent = spectralMixtureSearch(index, mixture([[a, t % 9], [b, (t + 4) % 9], [ABSENT[t], (t + 2) % 9]]), 2).unexplained;
      if (withAbsent > known + 0.05) separated++;
    }
    expect(separated).toBeGreaterThanOrEqual(9);
  }, 120_000);

  it('identify() says so for a mixture mostly made of absent classes, and not for one of library classes', async () => {
    const encoder = projectionEncoder(def.points, 16, 5);
    const lib = new ReferenceLibrary({ dim: 16, points: def.points, modelVersion: encoder.version });
    for (const c of KNOWN) await lib.enroll(String(c), train.x.slice(c * PER_CLASS * def.points, (c + 1) * PER_CLASS * def.points), encoder);
    let knownFlagged = 0;
    let absentFlagged = 0;
    for (let t = 0; t < 8; t++) {
      const a = KNOWN[(5 * t) % 30];
      const b = KNOWN[(5 * t + 11) % 30];
      const knownMix = mixture([[a, t % 9], [b, (t + 3) % 9]]);
      const absentMix = mixture([[a, t % 9], [b, (t + 3) % 9], [ABSENT[t], t % 9], [ABSENT[(t + 1) % 10], (t + 5) % 9]]);
      for (const [spectrum, isAbsent] of [[knownMix, false], [absentMix, true]] as const) {
        const r = identify({ embedding: await encoder.embed(spectrum, 1), spectrum }, lib, { components: 2, referenceProfiles: index });
        expect(r.status).toBe('mixture');
        expect(typeof r.unknownComponent).toBe('boolean');
        if (r.unknownComponent) {
          if (isAbsent) absentFlagged++;
          else knownFlagged++;
        }
      }
    }
    expect(knownFlagged).toBeLessThanOrEqual(1);
    expect(absentFlagged).toBeGreaterThanOrEqual(6);
    // An operator's own threshold replaces the calibrated one.
    const spectrum = mixture([[0, 0], [11, 3]]);
    const embedding = await encoder.embed(spectrum, 1);
    expect(identify({ embedding, spectrum }, lib, { components: 2, referenceProfiles: index, unknownComponentShare: 0 }).unknownComponent).toBe(true);
    expect(identify({ embedding, spectrum }, lib, { components: 2, referenceProfiles: index, unknownComponentShare: 1 }).unknownComponent).toBe(false);
  }, 120_000);
});
