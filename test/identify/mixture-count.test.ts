import { describe, expect, it } from 'vitest';
import { generateRandomSplit, generateTestSplit, loadDefinition, normalizeDataset } from '../../core/benchmark/index.ts';
import { SpectrumInputError } from '../../core/errors.ts';
import { identify } from '../../core/identify/identify.ts';
import { ReferenceLibrary } from '../../core/identify/knn/library.ts';
import { countThresholdsFor, decideComponentCount } from '../../core/identify/mixture/mixture-count.ts';
import { ReferenceProfiles } from '../../core/identify/mixture/mixture-spectral.ts';
import { calibrateUnexplained, unexplainedCalibrationFor } from '../../core/identify/mixture/mixture-unknown.ts';
import { projectionEncoder } from './synthetic.ts';

const def = loadDefinition('benchmark');
const CLASSES = Array.from({ length: 30 }, (_, i) => i);
const PER_CLASS = 20;
const train = normalizeDataset(generateRandomSplit(def, { split: 'train', perClass: PER_CLASS, seed: 1, classes: CLASSES }));
const index = new ReferenceProfiles(def.points);
for (const c of CLASSES) index.add(String(c), train.x.subarray(c * PER_CLASS * def.points, (c + 1) * PER_CLASS * def.points), PER_CLASS);
const test = generateTestSplit(def, { classes: CLASSES });
const row = (c: number, v: number) => test.x.subarray((c * 9 + v) * def.points, (c * 9 + v + 1) * def.points);
const encoder = projectionEncoder(def.points, 16, 5);

function mixture(parts: ReadonlyArray<readonly [number, number]>): Float32Array {
  const out = new Float32Array(def.points);
  for (const [c, v] of parts) row(c, v).forEach((x, j) => (out[j] += x));
  const max = Math.max(...out);
  return out.map((x) => x / max);
}

async function library(): Promise<ReferenceLibrary> {
  const lib = new ReferenceLibrary({ dim: 16, points: def.points, modelVersion: encoder.version });
  for (const c of CLASSES) await lib.enroll(String(c), train.x.slice(c * PER_CLASS * def.points, (c + 1) * PER_CLASS * def.points), encoder);
  return lib;
}

/** Test mixtures of m classes, the t-th of a fixed, spread-out sequence. */
function parts(t: number, m: number): Array<[number, number]> {
  return Array.from({ length: m }, (_, k) => [CLASSES[(7 * t + 11 * k) % 30], (t + 4 * k) % 9] as [number, number]);
}

describe('component count when none is given', () => {
  it('decides on a two-class library without a refit that would leave too few classes (a 2-component fit with an outside member)', async () => {
    const two = new ReferenceProfiles(def.points);
    for (const c of [3, 17]) two.add(String(c), train.x.subarray(c * PER_CLASS * def.points, (c + 1) * PER_CLASS * def.points), PER_CLASS);
    const lib = new ReferenceLibrary({ dim: 16, points: def.points, modelVersion: encoder.version });
    for (const c of [3, 17]) await lib.enroll(String(c), train.x.slice(c * PER_CLASS * def.points, (c + 1) * PER_CLASS * def.points), encoder);
    // A spectrum of a third class: every gain counts, so the count tries 2 components and finds a member not under it.
    const spectrum = row(25, 0);
    const decision = decideComponentCount(two, lib.matrix(), await encoder.embed(spectrum, 1), spectrum, 4, { threshold: 0, componentGain: 0 });
    expect(decision.count).toBeGreaterThanOrEqual(1);
    expect(decision.count).toBeLessThanOrEqual(2);
  });

  it('calibrates the gain one component too many brings: positive, below what a real component adds', () => {
    const cal = unexplainedCalibrationFor(index);
    expect(cal.componentGain).toBeGreaterThan(0);
    // One component too many for the 150 mixtures of 2-4 classes (5 is the most ever counted) and the 50 singles.
    expect(cal.gains?.length).toBe(200);
    expect(cal.componentGain).toBeLessThan(cal.threshold * 2);
    // The count decision reads the null of right fits: the draws the search got right, no margin (mixture-unknown.ts).
    expect(cal.countThreshold).toBeGreaterThan(0);
    expect(cal.countThreshold).toBeLessThanOrEqual(cal.threshold);
    expect(cal.countGain).toBeGreaterThan(0);
    expect(cal.countGain).toBeLessThanOrEqual(cal.componentGain!);
    const thresholds = countThresholdsFor(index);
    expect(thresholds).toEqual({ threshold: cal.countThreshold, componentGain: cal.countGain, fitLimit: cal.countThreshold! * 1.25, supportCut: cal.supportCut! * 0.5 });
    // Right fits of drawn mixtures: every member's peaks lie in the query, so the weakest member keeps most of its signal.
    expect(cal.supportCut).toBeGreaterThan(0.2);
    expect(cal.supportCut).toBeLessThanOrEqual(1);
    expect(countThresholdsFor(index, 0.5).threshold).toBe(0.5);
  }, 120_000);

  it('counts singles, 2- and 3-component test mixtures right and names their classes', async () => {
    const lib = await library();
    const matrix = lib.matrix();
    const thresholds = countThresholdsFor(index);
    let right = 0;
    let total = 0;
    for (const m of [1, 2, 3]) {
      for (let t = 0; t < 6; t++) {
        const p = parts(t, m);
        const spectrum = mixture(p);
        const decision = decideComponentCount(index, matrix, await encoder.embed(spectrum, 1), spectrum, 5, thresholds);
        expect(decision.unexplained[0]).toBeGreaterThanOrEqual(0);
        expect(decision.fit.fractions.reduce((s, f) => s + f, 0)).toBeCloseTo(1, 6);
        const truth = new Set(p.map(([c]) => String(c)));
        total++;
        if (decision.count === m && decision.fit.classIndices.every((c) => truth.has(matrix.classNames[c]))) right++;
      }
    }
    expect(right).toBeGreaterThanOrEqual(total - 2);
  }, 120_000);

  it('stops at one component when the thresholds say nothing more is needed, and grows when every gain counts', async () => {
    const lib = await library();
    const matrix = lib.matrix();
    const spectrum = mixture(parts(1, 3));
    const embedding = await encoder.embed(spectrum, 1);
    expect(decideComponentCount(index, matrix, embedding, spectrum, 5, { threshold: 1, componentGain: 0 }).count).toBe(1);
    expect(decideComponentCount(index, matrix, embedding, spectrum, 5, { threshold: 0, componentGain: 1 }).count).toBe(1);
    // Every gain counting, the count still stops at the 3 classes mixed: a 4th would not lie under the query.
    const greedy = decideComponentCount(index, matrix, embedding, spectrum, 5, { threshold: 0, componentGain: -1 });
    expect(greedy.count).toBe(3);
    expect(greedy.unexplained).toHaveLength(4);
    expect(() => decideComponentCount(index, matrix, embedding, spectrum, 0, { threshold: 0, componentGain: 0 })).toThrow(SpectrumInputError);
    // A fit limit no mixture meets turns the mixture down: count 1, the mixture it reached reported as rejected.
    const limited = decideComponentCount(index, matrix, embedding, spectrum, 5, { threshold: 0, componentGain: -1, fitLimit: 0 });
    expect(limited.count).toBe(1);
    expect(limited.rejected?.classIndices).toHaveLength(3);
    expect(limited.rejected?.unexplained).toBe(greedy.fit.unexplained);
    expect(decideComponentCount(index, matrix, embedding, spectrum, 5, { threshold: 0, componentGain: -1, fitLimit: 1 }).count).toBe(3);
    // The true members' support is high; a support cut no member meets turns the mixture down the same way.
    expect(Math.min(...greedy.fit.support!)).toBeGreaterThan(0.5);
    expect(greedy.fit.support!.every((v) => v <= 1)).toBe(true);
    const unsupported = decideComponentCount(index, matrix, embedding, spectrum, 5, { threshold: 0, componentGain: -1, supportCut: 1.01 });
    expect(unsupported.count).toBe(1);
    expect(unsupported.rejected?.classIndices).toHaveLength(3);
    expect(decideComponentCount(index, matrix, embedding, spectrum, 5, { threshold: 0, componentGain: -1, supportCut: 0.3 }).count).toBe(3);
  }, 120_000);

  it('identify() with no count calls a test mixture a mixture of its classes and a single spectrum a single', async () => {
    const lib = await library();
    let mixturesRight = 0;
    let singlesRight = 0;
    for (let t = 0; t < 5; t++) {
      const p = parts(t, 2);
      const spectrum = mixture(p);
      const r = identify({ embedding: await encoder.embed(spectrum, 1), spectrum }, lib, { referenceProfiles: index, mixtureCount: 'reconstruction' });
      const named = new Set((r.components ?? []).map((c) => c.class));
      if (r.status === 'mixture' && named.size === 2 && p.every(([c]) => named.has(String(c)))) mixturesRight++;
      const single = mixture([p[0]]);
      const s = identify({ embedding: await encoder.embed(single, 1), spectrum: single }, lib, { referenceProfiles: index, mixtureCount: 'reconstruction' });
      if (s.status !== 'mixture') singlesRight++;
    }
    expect(mixturesRight).toBeGreaterThanOrEqual(4);
    expect(singlesRight).toBeGreaterThanOrEqual(4);
    // The embedding's decision stays reachable; a given count skips any decision.
    const spectrum = mixture(parts(2, 3));
    const embedding = await encoder.embed(spectrum, 1);
    expect(['mixture', 'identified', 'low-confidence', 'unknown']).toContain(identify({ embedding, spectrum }, lib, { referenceProfiles: index, mixtureCount: 'embedding' }).status);
    expect(identify({ embedding, spectrum }, lib, { referenceProfiles: index, components: 3 }).components).toHaveLength(3);
  }, 180_000);

  it('keeps an unknown compound single: library classes that explain fragments of it do not lie under it', async () => {
    const lib = await library();
    const matrix = lib.matrix();
    const absent = generateTestSplit(def, { classes: Array.from({ length: 10 }, (_, i) => 30 + i) });
    // Every gain counting, so only the containment of the members can stop the count.
    const thresholds = { threshold: 0, componentGain: -1 };
    let single = 0;
    for (let i = 0; i < 10; i++) {
      const spectrum = absent.x.slice((i * 9 + (i % 9)) * def.points, (i * 9 + (i % 9) + 1) * def.points);
      const decision = decideComponentCount(index, matrix, await encoder.embed(spectrum, 1), spectrum, 5, thresholds);
      if (decision.count === 1) single++;
    }
    expect(single).toBeGreaterThanOrEqual(9);
  }, 120_000);

  it('refuses a bad singles option', () => {
    expect(() => calibrateUnexplained(index, { singles: -1 })).toThrow(SpectrumInputError);
    expect(() => calibrateUnexplained(index, { singles: 1.5 })).toThrow(SpectrumInputError);
  });
});
