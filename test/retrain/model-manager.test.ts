import { EventEmitter } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelManager, type RetrainStatus, type TrainingWorker } from '../../daemon/models/model-manager.ts';
import type { RetrainJob, WorkerToMain } from '../../daemon/workers/retrain-protocol.ts';
import { ModelRegistry } from '../../daemon/models/versions.ts';

/** Stands in for the worker_thread: the test plays the worker's messages. */
class FakeWorker extends EventEmitter implements TrainingWorker {
  readonly received: unknown[] = [];
  terminated = false;
  constructor(readonly job: RetrainJob) {
    super();
  }
  postMessage(m: { type: 'cancel' }): void {
    this.received.push(m);
  }
  async terminate(): Promise<number> {
    this.terminated = true;
    return 0;
  }
  say(m: WorkerToMain): void {
    this.emit('message', m);
  }
}

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const settle = () => new Promise((r) => setImmediate(r));

function setup(autoPromote: boolean, afterLabels = 0) {
  const registry = new ModelRegistry(join(mkdtempSync(join(tmpdir(), 'mm-')), 'models'));
  ModelManager.registerBase(registry, '/shipped', 'shipped@abc', 0.99);
  const switched: string[] = [];
  const statuses: RetrainStatus[] = [];
  const workers: FakeWorker[] = [];
  const refs = ['a', 'a', 'a', 'b', 'b', 'b'].map((c, i) => ({ class: c, vector: new Float32Array(4).fill(i) }));
  const manager = new ModelManager(
    registry,
    { points: 4, references: () => refs, switchTo: async (dir) => (switched.push(dir), `model@${dir}`) },
    { epochs: 2, holdOut: 0.34, lr: 1e-4, seed: 1, autoPromote, backend: 'cpu', afterLabels },
    (s) => statuses.push(s),
    quiet,
    (job) => {
      const w = new FakeWorker(job);
      workers.push(w);
      return w;
    },
  );
  return { registry, manager, switched, statuses, workers };
}

const done = (before: number, after: number): WorkerToMain => ({ type: 'done', accuracyBefore: before, accuracyAfter: after, weightsSha256: 'f00dfeedbeef0000', wallSeconds: 1, epochsRun: 2 });

describe('ModelManager', () => {
  it('hands the worker the promoted model and the held-out split, relays progress, auto-promotes a candidate that is not worse', async () => {
    const { registry, manager, switched, statuses, workers } = setup(true);
    const started = manager.start();
    expect(started).toMatchObject({ state: 'training', epochs: 2, candidate: 'v2', activeVersion: 'v1' });
    const w = workers[0];
    expect(w.job).toMatchObject({ baseDir: '/shipped', outDir: registry.dirFor('v2'), epochs: 2, lr: 1e-4, backend: 'cpu', cardVersion: 'retrain-v2' });
    expect([w.job.train.n, w.job.val.n]).toEqual([4, 2]);
    expect(() => manager.start()).toThrow(/already going/);

    w.say({ type: 'before', accuracy: 0.8 });
    w.say({ type: 'epoch', epoch: 1, epochs: 2, loss: 0.3, valAccuracy: 0.85 });
    expect(manager.status()).toMatchObject({ epoch: 1, progress: 0.5, loss: 0.3, before: { metrics: { accuracy: 0.8 } }, after: { metrics: { accuracy: 0.85 } } });
    w.say({ type: 'evaluating' });
    w.say(done(0.8, 0.9));
    await settle();
    await settle();
    expect(switched).toEqual([registry.dirFor('v2')]);
    expect(registry.current()?.version).toBe('v2');
    expect(registry.get('v2')).toMatchObject({ accuracyBefore: 0.8, accuracyAfter: 0.9, baseVersion: 'v1', heldOut: 2, references: 4, modelVersion: 'retrain-v2@f00dfeedbeef' });
    expect(manager.status()).toMatchObject({ state: 'promoted', activeVersion: 'v2' });
    expect(statuses.map((s) => s.state)).toEqual(expect.arrayContaining(['training', 'evaluating', 'kept', 'promoted']));
    expect(w.terminated).toBe(true);
    expect(manager.running).toBe(false);
  });

  it('keeps a worse candidate unpromoted; promote refuses it unless forced; rollback switches back', async () => {
    const { registry, manager, switched, workers } = setup(true);
    manager.start();
    workers[0].say(done(0.8, 0.7));
    await settle();
    expect(switched).toEqual([]);
    expect(manager.status()).toMatchObject({ state: 'kept', activeVersion: 'v1' });
    expect(manager.status().message).toMatch(/not promoted/);
    await expect(manager.promote('v2')).rejects.toMatchObject({ code: 'model-worse' });
    expect(await manager.promote('v2', true)).toMatchObject({ version: 'v2', modelVersion: `model@${registry.dirFor('v2')}` });
    expect(await manager.rollback()).toEqual({ version: 'v1', modelVersion: 'model@/shipped' });
    expect(switched).toEqual([registry.dirFor('v2'), '/shipped']);
    await expect(manager.rollback()).rejects.toMatchObject({ code: 'model-no-previous' });
    await expect(manager.promote('v7')).rejects.toMatchObject({ code: 'model-version-unknown' });
  });

  it('cancel, failure and a worker that dies leave no candidate', async () => {
    const { registry, manager, workers } = setup(false);
    expect(manager.cancel()).toBe(false);
    manager.start();
    expect(manager.cancel()).toBe(true);
    expect(workers[0].received).toEqual([{ type: 'cancel' }]);
    workers[0].say({ type: 'cancelled' });
    expect(manager.status().state).toBe('cancelled');

    manager.start();
    workers[1].say({ type: 'failed', message: 'out of memory' });
    expect(manager.status()).toMatchObject({ state: 'failed', message: 'out of memory' });

    manager.start();
    workers[2].emit('exit', 1);
    expect(manager.status()).toMatchObject({ state: 'failed', message: 'training worker exited (code 1)' });
    expect(registry.list().map((v) => v.version)).toEqual(['v1']);
  });

  it('refuses to start without enough labelled spectra', () => {
    const registry = new ModelRegistry(join(mkdtempSync(join(tmpdir(), 'mm-')), 'models'));
    ModelManager.registerBase(registry, '/shipped', 'shipped@abc', 0.99);
    const manager = new ModelManager(registry, { points: 4, references: () => [{ class: 'a', vector: new Float32Array(4) }], switchTo: async () => 'x' },
      { epochs: 1, holdOut: 0.2, lr: 1e-4, seed: 1, autoPromote: false, backend: 'cpu' }, () => undefined, quiet, () => { throw new Error('must not spawn'); });
    expect(() => manager.start()).toThrow(/at least 2 classes/);
    expect(manager.status().state).toBe('idle');
  });

  it('starts a run by itself once enough spectra are labelled, counting labels made during a run towards the next', async () => {
    const { manager, workers } = setup(false, 5);
    expect(manager.noteLabelled(3)).toBe(false);
    expect(manager.status()).toMatchObject({ state: 'idle', labelsSinceLast: 3, threshold: 5 });
    expect(manager.noteLabelled(2)).toBe(true);
    expect(workers).toHaveLength(1);
    expect(manager.status()).toMatchObject({ state: 'training', labelsSinceLast: 0 });
    // during the run: counted, no second run
    expect(manager.noteLabelled(6)).toBe(false);
    expect(workers).toHaveLength(1);
    workers[0].say(done(0.8, 0.7));
    await settle();
    expect(manager.noteLabelled(0)).toBe(true);
    expect(workers).toHaveLength(2);
  });

  it('never starts by itself when afterLabels is 0', () => {
    const { manager, workers } = setup(false, 0);
    expect(manager.noteLabelled(1000)).toBe(false);
    expect(workers).toHaveLength(0);
    expect(manager.status().threshold).toBeUndefined();
  });
});
