import { afterEach, describe, expect, it } from 'vitest';
import { calibrate, mulberry32, synthesizeMixtureEmbeddings, withMixtureEmbeddings, type Calibration } from '../../core/identify/knn/calibration.ts';
import { ReferenceLibrary } from '../../core/identify/knn/library.ts';
import { LibraryService } from '../../daemon/library.ts';
import { runInWorkerThread, type CalibrationRunner, type CalibrationSettings } from '../../daemon/workers/off-thread-calibration.ts';
import { Store } from '../../daemon/store/store.ts';
import { createIdentifyStage } from '../../pipelines/identify-stage.ts';
import { gaussian, projectionEncoder } from '../identify/synthetic.ts';
import { waitFor } from '../../support/servers.ts';

/**
 * A new library state (enrollment, undo, a promoted model's library) is calibrated before it replaces the current
 * one, in a worker thread: the state that takes over is calibrated, the calibration is the one the main thread would
 * compute, identification answers with it, and until it is ready the previous state keeps answering. How long the
 * main thread stalls is measured by `npm run bench:retrain`, not here.
 */

const POINTS = 64;
const DIM = 16;
const SETTINGS: CalibrationSettings = { targetFalseUnknownRate: 0.01, maxComponents: 3, mixture: 'auto' };
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const rng = mulberry32(11);
/** Per class a fixed random spectrum; its references are noisy copies scaled to max 1 like preprocessed spectra. */
const prototypes = Array.from({ length: 12 }, () => Float32Array.from({ length: POINTS }, () => Math.max(0, gaussian(rng))));

function spectrumOf(c: number, noise = 0.05): Float32Array {
  const v = prototypes[c].map((x) => Math.max(0, x + noise * gaussian(rng)));
  const max = v.reduce((m, x) => Math.max(m, x), 0);
  return v.map((x) => x / max);
}

const stores: Store[] = [];
afterEach(() => stores.splice(0).forEach((s) => s.close()));

/** A store with classes 0..classes-1, six references each, and a LibraryService over it. */
function libraryWith(classes: number, runner?: CalibrationRunner, log: typeof quiet = quiet) {
  const store = new Store(':memory:');
  stores.push(store);
  for (let c = 0; c < classes; c++) store.addReferences(`c${c}`, 'demo', Array.from({ length: 6 }, () => ({ vector: spectrumOf(c) })));
  const encoder = projectionEncoder(POINTS, DIM);
  const service = new LibraryService(store, encoder, (y) => y, log);
  service.calibrateBeforeUse(SETTINGS, runner);
  return { store, encoder, service };
}

/** The thresholds that decide a status, side by side. */
function decisive(cal: Calibration) {
  return {
    unknownThreshold: cal.unknownThreshold,
    confidentThreshold: cal.confidentThreshold,
    unknownComponentThreshold: cal.unknownComponentThreshold,
    logistic: cal.logistic,
    cut: cal.perClass?.cut,
    classNames: cal.perClass?.classNames,
    center: Array.from(cal.perClass?.center ?? []),
    spread: Array.from(cal.perClass?.spread ?? []),
  };
}

describe('library states calibrated off the identification path', () => {
  it('the state that takes over is calibrated in a worker exactly as the main thread would, mixtures included', async () => {
    const { encoder, service } = libraryWith(8);
    await service.load();
    const lib = service.library;
    expect(lib.classCount).toBe(8);
    const prepared = service.calibrationFor(lib);
    expect(prepared).toBeDefined();
    const mixtures = await synthesizeMixtureEmbeddings(lib, encoder, 200, 3);
    const onMain = withMixtureEmbeddings(calibrate(lib, { targetFalseUnknownRate: 0.01, maxComponents: 3 }), lib, mixtures, 3);
    const a = decisive(prepared!);
    const b = decisive(onMain);
    expect(a.classNames).toEqual(b.classNames);
    expect(a.unknownThreshold).toBeCloseTo(b.unknownThreshold, 5);
    expect(a.confidentThreshold).toBeCloseTo(b.confidentThreshold, 5);
    expect(a.unknownComponentThreshold).toBeCloseTo(b.unknownComponentThreshold, 5);
    expect(a.cut).toBeCloseTo(b.cut!, 5);
    a.center.forEach((v, i) => expect(v).toBeCloseTo(b.center[i], 4));
    a.spread.forEach((v, i) => expect(v).toBeCloseTo(b.spread[i], 4));
    // It belongs to that state only: another library object gets none.
    expect(service.calibrationFor(new ReferenceLibrary({ dim: DIM, points: POINTS, modelVersion: 'other' }))).toBeUndefined();
  }, 120_000);

  it('the identify stage answers with the prepared calibration; an enrolled class is named at once, then calibrated', async () => {
    const { encoder, service } = libraryWith(8);
    await service.load();
    let calibratedOnTheStage = 0;
    const stage = createIdentifyStage(encoder, () => service.library, { k: 3, mixture: 'off', maxComponents: 3, targetFalseUnknownRate: 0.01 }, undefined, (lib) => {
      const cal = service.calibrationFor(lib);
      if (!cal) calibratedOnTheStage++;
      return cal;
    });
    const known = await stage([spectrumOf(3)]);
    expect(known[0]).toMatchObject({ status: 'identified', class: 'c3' });

    const before = service.library;
    const enrolled = await service.enroll('c9', [spectrumOf(9), spectrumOf(9), spectrumOf(9)], 'api');
    expect(enrolled.created).toBe(true);
    expect(service.library).not.toBe(before);
    // At once: the thresholds of the state before carry over (c9 on the pooled prior) ...
    expect((await stage([spectrumOf(9)]))[0]).toMatchObject({ status: 'identified', class: 'c9' });
    // ... and the state's own calibration, c9 with its own statistics, replaces them when the worker is done.
    await service.settled();
    expect(service.calibrationFor(service.library)?.perClass?.classNames).toContain('c9');
    expect((await stage([spectrumOf(9)]))[0]).toMatchObject({ status: 'identified', class: 'c9' });
    expect((await stage([spectrumOf(5)]))[0]).toMatchObject({ status: 'identified', class: 'c5' });
    expect(calibratedOnTheStage).toBe(0);
  }, 120_000);

  it('a state with no thresholds yet (a switched-to model) becomes current only once calibrated; the event loop stays free', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let asked = 0;
    const heldRunner: CalibrationRunner = async (job) => {
      asked++;
      await held;
      return runInWorkerThread(job);
    };
    const { service } = libraryWith(6, heldRunner);
    const empty = service.library;
    let loaded = false;
    const loading = service.load().then(() => (loaded = true));
    // Timers keep firing while the calibration is held: nothing waits on the main thread.
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    await waitFor('the calibration job', () => asked === 1 && ticks >= 3, 60_000);
    clearInterval(timer);
    expect(loaded).toBe(false);
    expect(service.library).toBe(empty);
    release();
    await loading;
    expect(service.library.classCount).toBe(6);
    expect(service.calibrationFor(service.library)).toBeDefined();
  }, 120_000);

  it("at start the state is calibrated on the daemon's own thread, as the main thread would; calibrateBeforeUse then runs no job", async () => {
    const store = new Store(':memory:');
    stores.push(store);
    for (let c = 0; c < 8; c++) store.addReferences(`c${c}`, 'demo', Array.from({ length: 6 }, () => ({ vector: spectrumOf(c) })));
    const encoder = projectionEncoder(POINTS, DIM);
    const infos: string[] = [];
    const service = new LibraryService(store, encoder, (y) => y, { ...quiet, info: (_o: object, msg?: string) => void infos.push(msg ?? '') });
    await service.load();
    const lib = service.library;
    expect(service.calibrationFor(lib)).toBeUndefined();
    await service.calibrateNow(SETTINGS);
    // The unknown-component calibration starts once the thresholds are made and finishes behind (start-up readiness).
    await waitFor('the unknown-component calibration', () => infos.includes('unknown-component calibration ready'), 60_000);
    const prepared = service.calibrationFor(lib);
    expect(prepared).toBeDefined();
    const mixtures = await synthesizeMixtureEmbeddings(lib, encoder, 200, 3);
    const onMain = withMixtureEmbeddings(calibrate(lib, { targetFalseUnknownRate: 0.01, maxComponents: 3 }), lib, mixtures, 3);
    expect(decisive(prepared!)).toEqual(decisive(onMain));
    // The daemon then hands the state to its models (calibrateBeforeUse): the state is calibrated, no job runs ...
    let asked = 0;
    const counting: CalibrationRunner = (job) => {
      asked++;
      return runInWorkerThread(job);
    };
    service.calibrateBeforeUse(SETTINGS, counting);
    await service.settled();
    expect(asked).toBe(0);
    expect(service.calibrationFor(lib)).toBe(prepared);
    // ... and later states (an enrollment) are calibrated through the runner, off the identification path.
    await service.enroll('c9', [spectrumOf(9), spectrumOf(9)], 'api');
    await service.settled();
    expect(asked).toBe(1);
    expect(service.calibrationFor(service.library)?.perClass?.classNames).toContain('c9');
  }, 120_000);

  it('falls back to calibrating on the main thread when the worker fails', async () => {
    const warnings: string[] = [];
    const failing: CalibrationRunner = async () => ({ ok: false, message: 'worker could not start' });
    const { service } = libraryWith(6, failing);
    const log = { ...quiet, warn: (_o: object, msg?: string): void => void warnings.push(msg ?? '') };
  (service as unknown as { log: typeof log }).log = log;
    await service.load();
    const cal = service.calibrationFor(service.library);
    expect(cal).toBeDefined();
    expect(cal!.perClass?.classNames).toHaveLength(6);
    expect(warnings.join('\n')).toMatch(/calibration worker failed/);
  }, 120_000);
});
