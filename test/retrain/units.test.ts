import { describe, expect, it } from 'vitest';
import type { AdapterState, ResultMessage } from '../../core/messages.ts';
import { BatchGate, SerialQueue } from '../../daemon/models/batch-gate.ts';
import { InstrumentHealthTracker } from '../../daemon/health/instrument-health.ts';
import { splitHeldOut } from '../../daemon/models/labelled-data.ts';

const tick = () => new Promise((r) => setImmediate(r));

describe('BatchGate', () => {
  it('switches only when no batch is in flight, and a batch reads one version from start to its messages', async () => {
    const gate = new BatchGate('old');
    let release!: () => void;
    const seen: string[] = [];
    const batch = gate.run(async () => {
      await new Promise<void>((r) => (release = r));
      return 1;
    }).then(() => seen.push(gate.version)); // what the pipeline does right after identify: build messages
    let switched = false;
    const sw = gate.switchBetweenBatches(() => {
      switched = true;
      return 'new';
    });
    await tick();
    expect(switched).toBe(false);
    expect(gate.version).toBe('old');
    release();
    await batch;
    await sw;
    expect(seen).toEqual(['old']);
    expect(gate.version).toBe('new');
    expect(gate.busy).toBe(false);
  });

  it('switches at once when idle; a failing install rejects and leaves the version', async () => {
    const gate = new BatchGate('a');
    await gate.switchBetweenBatches(() => 'b');
    expect(gate.version).toBe('b');
    await expect(gate.switchBetweenBatches(() => { throw new Error('bad model'); })).rejects.toThrow('bad model');
    expect(gate.version).toBe('b');
  });

  it('SerialQueue runs tasks one after another, in order, past failures', async () => {
    const q = new SerialQueue();
    const order: string[] = [];
    const a = q.run(async () => { await tick(); order.push('a'); });
    const b = q.run(async () => { order.push('b'); throw new Error('b failed'); });
    const c = q.run(async () => { order.push('c'); });
    await a;
    await expect(b).rejects.toThrow('b failed');
    await c;
    expect(order).toEqual(['a', 'b', 'c']);
  });
});

describe('splitHeldOut', () => {
  const refs = (counts: Record<string, number>, points = 4) =>
    Object.entries(counts).flatMap(([c, n]) => Array.from({ length: n }, (_, i) => ({ class: c, vector: new Float32Array(points).fill(i + 1) })));

  it('holds out a seeded share per class, at least one where a class has two, never a lone spectrum', () => {
    const s = splitHeldOut(refs({ a: 10, b: 2, c: 1 }), 0.2, 1, 4);
    expect(s.classes).toEqual(['a', 'b', 'c']);
    const count = (y: Int32Array, l: number) => y.filter((v) => v === l).length;
    expect([count(s.val.y, 0), count(s.val.y, 1), count(s.val.y, 2)]).toEqual([2, 1, 0]);
    expect([count(s.train.y, 0), count(s.train.y, 1), count(s.train.y, 2)]).toEqual([8, 1, 1]);
    expect(s.train.x).toHaveLength(10 * 4);
    expect(splitHeldOut(refs({ a: 10, b: 2, c: 1 }), 0.2, 1, 4).val.x).toEqual(s.val.x);
    expect(splitHeldOut(refs({ a: 10, b: 2, c: 1 }), 0.2, 2, 4).val.x).not.toEqual(s.val.x);
  });

  it('refuses what cannot be trained or measured', () => {
    expect(() => splitHeldOut(refs({ a: 5 }), 0.2, 1, 4)).toThrow(/at least 2 classes/);
    expect(() => splitHeldOut(refs({ a: 1, b: 1 }), 0.2, 1, 4)).toThrow(/at least 2 labelled spectra/);
    expect(() => splitHeldOut(refs({ a: 3, b: 3 }), 1, 1, 4)).toThrow(/between 0 and 1/);
    // references on another grid are left out
    expect(() => splitHeldOut(refs({ a: 3, b: 3 }, 8), 0.2, 1, 4)).toThrow(/at least 2 classes/);
  });
});

describe('InstrumentHealthTracker', () => {
  const result = (instrument: string, status: ResultMessage['status'], receivedAt: string): ResultMessage =>
    ({ id: receivedAt, instrument, source: 'x', receivedAt, status, score: 0, candidates: [], latencyMs: 1, modelVersion: 'm' }) as ResultMessage;
  const adapter = (name: string, state: AdapterState['state']): AdapterState => ({ name, kind: 'folder', state }) as AdapterState;

  it('counts per instrument, rates over the last minute and maps adapters to instruments', () => {
    let now = 1_000_000;
    const t = new InstrumentHealthTracker(['lab-a'], (a) => (a === 'inbox' ? 'lab-a' : a === 'serial' ? 'lab-b' : undefined), () => now);
    t.record(result('lab-a', 'identified', '2026-01-01T00:00:01.000Z'));
    t.record(result('lab-a', 'low-confidence', '2026-01-01T00:00:03.000Z'));
    now += 61_000;
    t.record(result('lab-a', 'rejected', '2026-01-01T00:00:02.000Z'));
    t.record(result('lab-b', 'unknown', '2026-01-01T00:00:04.000Z'));
    const [a, b] = t.list([adapter('inbox', 'up'), adapter('serial', 'down'), adapter('mqtt-out', 'up')]);
    expect(a).toMatchObject({ name: 'lab-a', ratePerMin: 1, lastSpectrumAt: '2026-01-01T00:00:03.000Z', state: 'up', counts: { results: 3, identified: 1, lowConfidence: 1, rejected: 1 } });
    expect(a.adapters.map((x) => x.name)).toEqual(['inbox']);
    expect(b).toMatchObject({ name: 'lab-b', state: 'down', counts: { results: 1, unknown: 1 } });
  });

  it('tracks a bounded number of instruments: ever new names from the input evict the stalest, never a configured one', () => {
    const t = new InstrumentHealthTracker(['lab-a'], () => undefined, Date.now, 3);
    t.record(result('lab-a', 'identified', '2026-01-01T00:00:00.000Z'));
    for (let i = 0; i < 50; i++) t.record(result(`random-${i}`, 'unknown', '2026-01-01T00:00:01.000Z'));
    t.record(result('random-48', 'identified', '2026-01-01T00:00:02.000Z'));
    t.record(result('random-50', 'identified', '2026-01-01T00:00:03.000Z'));
    expect(t.list([]).map((x) => x.name)).toEqual(['lab-a', 'random-48', 'random-50']);
    expect(t.list([])[1].counts.results).toBe(2);
  });
});

describe('modelDirAtStart', () => {
  it('loads the promoted version after a restart, the configured model without one or when its files are gone', async () => {
    const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { modelDirAtStart, modelRegistryOf } = await import('../../daemon/models/daemon-models.ts');
    const dataDir = mkdtempSync(join(tmpdir(), 'start-model-'));
    const config = { dataDir, model: { dir: '/shipped' } } as unknown as Parameters<typeof modelDirAtStart>[0];
    const warnings: object[] = [];
    const log = { debug() {}, info() {}, warn: (o: object) => warnings.push(o), error() {} };
    expect(modelDirAtStart(config, log)).toBe('/shipped');
    const registry = modelRegistryOf(config);
    registry.add({ version: 'v1', dir: '/shipped', accuracyBefore: null, accuracyAfter: 0.9 });
    registry.promote('v1');
    registry.add({ version: 'v2', accuracyBefore: 0.9, accuracyAfter: 0.95, baseVersion: 'v1' });
    registry.promote('v2');
    mkdirSync(registry.dirFor('v2'), { recursive: true });
    writeFileSync(join(registry.dirFor('v2'), 'model.json'), '{}');
    expect(modelDirAtStart(config, log)).toBe(registry.dirFor('v2'));
    rmSync(registry.dirFor('v2'), { recursive: true });
    expect(modelDirAtStart(config, log)).toBe('/shipped');
    expect(warnings).toEqual([expect.objectContaining({ version: 'v2' })]);
  });
});
