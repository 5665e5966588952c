import { afterEach, describe, expect, it } from 'vitest';
import type { Encoder } from '../../core/encoder/types.ts';
import { mulberry32 } from '../../core/identify/knn/calibration.ts';
import { LibraryService } from '../../daemon/library.ts';
import { ModelPreparation } from '../../daemon/models/model-preparation.ts';
import { runInThisThread, type CalibrationSettings } from '../../daemon/workers/off-thread-calibration.ts';
import { Store } from '../../daemon/store/store.ts';
import { gaussian, projectionEncoder } from '../identify/synthetic.ts';

/**
 * A model version prepared ahead of its activation (a site node, when another node adds a version): loaded once,
 * the library embedded and calibrated with it, while the store's embeddings stay those of the active model (they
 * still serve identification); taken once by the activation; a newer preparation lets go of an older one.
 */
const POINTS = 64;
const DIM = 16;
const SETTINGS: CalibrationSettings = { targetFalseUnknownRate: 0.01, maxComponents: 3, mixture: 'auto' };
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const rng = mulberry32(5);
const prototypes = Array.from({ length: 4 }, () => Float32Array.from({ length: POINTS }, () => Math.max(0, gaussian(rng))));
const spectrumOf = (c: number) => {
  const v = prototypes[c].map((x) => Math.max(0, x + 0.05 * gaussian(rng)));
  const max = v.reduce((m, x) => Math.max(m, x), 0);
  return v.map((x) => x / max);
};

const stores: Store[] = [];
afterEach(() => stores.splice(0).forEach((s) => s.close()));

async function site() {
  const store = new Store(':memory:');
  stores.push(store);
  for (let c = 0; c < 4; c++) store.addReferences(`c${c}`, 'demo', Array.from({ length: 5 }, () => ({ vector: spectrumOf(c) })));
  const active = projectionEncoder(POINTS, DIM, 3);
  await new LibraryService(store, active, (y) => y, quiet).load(); // the active model's embeddings in the store
  const loads: string[] = [];
  const disposed: string[] = [];
  const load = async (dir: string) => {
    loads.push(dir);
    const encoder: Encoder = { ...projectionEncoder(POINTS, DIM, 7 + loads.length, `model-of-${dir}`), dispose: () => void disposed.push(dir) };
    return { encoder, choice: { engine: 'tfjs' as const, reason: 'test' } };
  };
  const newLibrary = (encoder: Encoder) => {
    const library = new LibraryService(store, encoder, (y) => y, quiet);
    library.calibrateBeforeUse(SETTINGS, runInThisThread);
    return library;
  };
  return { store, active, loads, disposed, preparation: new ModelPreparation(store, quiet, load, newLibrary) };
}

describe('a model version prepared ahead of its activation', () => {
  it('is loaded once, its library embedded and calibrated, and the store keeps the active model\'s embeddings', async () => {
    const { store, active, loads, preparation } = await site();
    preparation.prepare('v2');
    preparation.prepare('v2'); // the same version again (a repeated notification): nothing more
    const ready = await preparation.take('v2');
    expect(loads).toEqual(['v2']);
    expect(ready).toBeDefined();
    expect(ready!.embeddings.size).toBe(20);
    expect(ready!.library.library.classCount).toBe(4);
    expect(ready!.library.library.modelVersion).toBe('model-of-v2');
    expect(ready!.library.calibrationFor(ready!.library.library)).toBeDefined();
    expect(ready!.references).toBe(store.references().map((r) => r.id).join(','));
    // Identification still uses the active model's embeddings: none was overwritten.
    expect(new Set(store.references().map((r) => r.modelVersion))).toEqual(new Set([active.version]));
    // Taken once: a second activation of it would load it itself.
    expect(await preparation.take('v2')).toBeUndefined();
  });

  it('a class enrolled after the preparation joins the prepared library at once, with the prepared calibration carried over', async () => {
    const { store, preparation } = await site();
    preparation.prepare('v2');
    const ready = (await preparation.take('v2'))!;
    const prepared = ready.library.calibrationFor(ready.library.library);
    store.addReferences('late', 'enrolled', Array.from({ length: 3 }, () => ({ vector: spectrumOf(3) })));
    expect(ready.references).not.toBe(store.references().map((r) => r.id).join(','));
    // What the switch does: the prepared embeddings stored, the library adopted and rebuilt.
    store.setEmbeddings('model-of-v2', [...ready.embeddings].map(([id, embedding]) => ({ id, embedding })));
    ready.library.adopt();
    await ready.library.load();
    expect(ready.library.library.classCount).toBe(5);
    expect(ready.library.calibrationFor(ready.library.library)).toBe(prepared);
    // From adoption on, the library writes its embeddings to the store: the late references are this model's now.
    expect(new Set(store.references().map((r) => r.modelVersion))).toEqual(new Set(['model-of-v2']));
  });

  it('lets go of an older preparation for a newer one, and answers nothing for a version it did not prepare', async () => {
    const { loads, disposed, preparation } = await site();
    preparation.prepare('v2');
    preparation.prepare('v3');
    expect(await preparation.take('v2')).toBeUndefined();
    const v3 = await preparation.take('v3');
    expect(v3?.library.library.modelVersion).toBe('model-of-v3');
    expect(loads).toEqual(['v2', 'v3']);
    expect(disposed).toEqual(['v2']);
    expect(await preparation.take('v4')).toBeUndefined();
  });

  it('a failed preparation is logged and leaves the activation to load the version itself', async () => {
    const store = new Store(':memory:');
    stores.push(store);
    const warnings: string[] = [];
    const preparation = new ModelPreparation(store, { ...quiet, warn: (_o: object, msg?: string) => void warnings.push(msg ?? '') }, () => Promise.reject(new Error('no model.json')), () => {
      throw new Error('not reached');
    });
    preparation.prepare('v2');
    expect(await preparation.take('v2')).toBeUndefined();
    expect(warnings.join('\n')).toMatch(/could not prepare a model version ahead/);
  });
});
