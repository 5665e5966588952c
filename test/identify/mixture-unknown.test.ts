import { describe, expect, it } from 'vitest';
import { generateRandomSplit, generateTestSplit, loadDefinition } from '../../core/benchmark/index.ts';
import { SpectrumInputError } from '../../core/errors.ts';
import { identify } from '../../core/identify/identify.ts';
import { ReferenceLibrary } from '../../core/identify/library.ts';
import { ReferenceProfiles, spectralMixtureSearch } from '../../core/identify/mixture-spectral.ts';
import { calibrateUnexplained, unexplainedCalibrationFor, unexplainedCalibrationInSteps } from '../../core/identify/mixture-unknown.ts';
import { normalizeRows } from '../../core/identify/protocols.ts';
import { projectionEncoder } from './synthetic.ts';

const def = loadDefinition('benchmark');
const KNOWN = Array.from({ length: 30 }, (_, i) => i);
const ABSENT = Array.from({ length: 10 }, (_, i) => 30 + i);
const PER_CLASS = 20;

const train = normalizeRows(generateRandomSplit(def, { split: 'train', perClass: PER_CLASS, seed: 1, classes: KNOWN }));
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
    const cal = calibrateUnexplained(index, { mixtures: 40, rate: 0.1, maxComponents: 3 });
    expect(cal.shares).toHaveLength(40);
    expect([...cal.shares]).toEqual([...cal.shares].sort((a, b) => a - b));
    expect(cal.threshold).toBe(cal.shares[35]);
    expect(cal.threshold).toBeGreaterThan(0);
    expect(cal.threshold).toBeLessThan(1);
    expect(unexplainedCalibrationFor(index)).toBe(unexplainedCalibrationFor(index)); // once per library state
  }, 120_000);

  it('in steps: pauses after every synthesized mixture, gives the same calibration and fills the same cache', async () => {
    const small = new ReferenceProfiles(def.points);
    for (const c of KNOWN.slice(0, 8)) small.add(String(c), train.x.subarray(c * PER_CLASS * def.points, (c + 1) * PER_CLASS * def.points), PER_CLASS);
    let pauses = 0;
    const stepped = await unexplainedCalibrationInSteps(small, async () => {
      pauses++;
      await new Promise((r) => setImmediate(r));
    });
    expect(pauses).toBe(120);
    expect(stepped).toEqual(calibrateUnexplained(small));
    expect(unexplainedCalibrationFor(small)).toBe(stepped);
  }, 180_000);

  it('refuses bad options and a library too small for a mixture', () => {
    expect(() => calibrateUnexplained(index, { rate: 1 })).toThrow(SpectrumInputError);
    expect(() => calibrateUnexplained(index, { mixtures: 0 })).toThrow(SpectrumInputError);
    const one = new ReferenceProfiles(def.points);
    one.add('0', train.x.subarray(0, def.points), 1);
    expect(() => calibrateUnexplained(one)).toThrow(SpectrumInputError);
  });
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
