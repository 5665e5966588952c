import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ResultMessage } from '../../core/messages.ts';
import { migrations } from '../../daemon/store/migrations.ts';
import { ulid, ulidFloor, ulidTime, ULID_PATTERN } from '../../daemon/store/ids.ts';
import { Store } from '../../daemon/store/store.ts';
import type { ReceivedSpectrum } from '../../pipelines/ports.ts';

const tmp = () => path.join(mkdtempSync(path.join(tmpdir(), 'spectrad-store-')), 'spectrad.db');

function received(id: string, extra: Partial<ReceivedSpectrum> = {}): ReceivedSpectrum {
  return {
    id,
    adapter: 'inbox',
    source: `/inbox/${id}.jdx`,
    instrument: 'ftir-1',
    receivedAt: new Date(ulidTime(id)).toISOString(),
    block: 0,
    raw: Buffer.from(`##TITLE=${id}`),
    preprocessed: Float32Array.from([0.25, 1, -0.5]),
    dedupKey: `key-${id}`,
    ...extra,
  };
}

function result(id: string, extra: Partial<ResultMessage> = {}): ResultMessage {
  return {
    id,
    instrument: 'ftir-1',
    source: `/inbox/${id}.jdx`,
    receivedAt: new Date(ulidTime(id)).toISOString(),
    status: 'identified',
    class: 'caffeine',
    score: 0.97,
    candidates: [{ class: 'caffeine', score: 0.97 }],
    latencyMs: 12,
    modelVersion: 'm1',
    ...extra,
  };
}

describe('ids', () => {
  it('are ULIDs, sortable by time and strictly increasing within one millisecond', () => {
    const t = Date.UTC(2026, 0, 1);
    const ids = Array.from({ length: 1000 }, () => ulid(t));
    expect(ids.every((id) => ULID_PATTERN.test(id))).toBe(true);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ulidTime(ids[0])).toBe(t);
    const later = ulid(t + 1000);
    expect(later > ids[999]).toBe(true);
    expect(ulidFloor(t + 1000) <= later && ulidFloor(t + 1000) > ids[999]).toBe(true);
  });
});

describe('store', () => {
  it('migrates a new file to the latest version and reopens without re-running migrations', () => {
    const file = tmp();
    const s1 = new Store(file);
    expect(s1.db.pragma('user_version', { simple: true })).toBe(migrations.at(-1)!.version);
    expect(s1.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(s1.db.pragma('synchronous', { simple: true })).toBe(2); // FULL
    s1.commitIngest({ spectra: [received(ulid())], results: [], alerts: [] });
    s1.close();
    const s2 = new Store(file, { synchronous: 'NORMAL' });
    expect(s2.counts().spectra).toBe(1);
    expect(s2.db.pragma('synchronous', { simple: true })).toBe(1);
    s2.close();
  });

  it('refuses a store written by a newer schema', () => {
    const file = tmp();
    new Store(file).close();
    const raw = new Database(file);
    raw.pragma('user_version = 999');
    raw.close();
    expect(() => new Store(file)).toThrow(/newer spectrad \(schema 999/);
  });

  it('has an ingest committed (visible to another connection) when commitIngest returns', () => {
    const file = tmp();
    const store = new Store(file);
    const other = new Database(file, { readonly: true });
    const id = ulid();
    store.commitIngest({ spectra: [received(id)], results: [], alerts: [], ledger: { key: 'key-file', outcome: 'processed', source: 'x' } });
    expect(other.prepare('SELECT state FROM spectra WHERE id = ?').get(id)).toEqual({ state: 'pending' });
    expect(store.ledgerOutcome('key-file')).toBe('processed');
    expect(store.ledgerOutcome('other')).toBeUndefined();
    expect(() => store.commitIngest({ spectra: [received(ulid(), { dedupKey: `key-${id}` })], results: [], alerts: [] })).toThrow(/UNIQUE/);
    other.close();
    store.close();
  });

  it('keeps pending spectra until their result, queues each result once per output', () => {
    const store = new Store(tmp(), { outputs: ['mqtt-out', 'influx'] });
    const ids = [ulid(), ulid(), ulid()];
    store.commitIngest({ spectra: ids.map((id) => received(id)), results: [], alerts: [] });
    expect(store.pending(10, new Set()).map((p) => p.id)).toEqual(ids);
    expect(store.pending(10, new Set([ids[0]])).map((p) => p.id)).toEqual(ids.slice(1));
    expect(Array.from(store.pending(1, new Set())[0].vector)).toEqual([0.25, 1, -0.5]);

    const alertId = ulid();
    store.commitResults([result(ids[0])], [{ id: alertId, kind: 'low-confidence', instrument: 'ftir-1', at: 'now', message: 'm', resultId: ids[0] }]);
    const ackAt = store.acknowledgeAlert(alertId);
    expect(ackAt).toMatch(/^\d{4}-/);
    expect(store.acknowledgeAlert(alertId)).toBe(ackAt);
    expect(store.acknowledgeAlert('nope')).toBeUndefined();
    expect(store.listAlerts()[0]).toMatchObject({ id: alertId, resultId: ids[0], acknowledgedAt: ackAt });
    store.commitResults([result(ids[0])], []); // replay after a crash: no second publication
    expect(store.pending(10, new Set()).map((p) => p.id)).toEqual(ids.slice(1));
    expect(store.outboxDepths()).toEqual({ 'mqtt-out': 2, influx: 2 });
    const rows = store.outboxTake('mqtt-out', 10);
    expect(rows.map((r) => r.kind)).toEqual(['result', 'alert']);
    expect(JSON.parse(rows[0].payload)).toMatchObject({ id: ids[0], class: 'caffeine' });
    store.outboxFailed([rows[0].seq], 'broker down');
    expect(store.outboxTake('mqtt-out', 1)[0]).toMatchObject({ seq: rows[0].seq, attempts: 1 });
    store.outboxDone(rows.map((r) => r.seq));
    expect(store.outboxDepths()).toEqual({ 'mqtt-out': 0, influx: 2 });
    store.close();
  });

  it('pages and filters results newest first', () => {
    const store = new Store(tmp());
    const ids = Array.from({ length: 7 }, () => ulid());
    store.commitIngest({ spectra: ids.map((id, i) => received(id, { instrument: i % 2 ? 'raman' : 'ftir-1' })), results: [], alerts: [] });
    store.commitResults(
      ids.map((id, i) => result(id, { instrument: i % 2 ? 'raman' : 'ftir-1', status: i === 3 ? 'unknown' : 'identified', class: i === 3 ? undefined : 'caffeine' })),
      [],
    );
    const page1 = store.listResults({ limit: 3 });
    expect(page1.items.map((r) => r.id)).toEqual(ids.slice(4).reverse());
    const page2 = store.listResults({ limit: 3, before: page1.nextCursor });
    expect(page2.items.map((r) => r.id)).toEqual(ids.slice(1, 4).reverse());
    const page3 = store.listResults({ limit: 3, before: page2.nextCursor });
    expect(page3.items.map((r) => r.id)).toEqual([ids[0]]);
    expect(page3.nextCursor).toBeUndefined();
    expect(store.listResults({ instrument: 'raman' }).items).toHaveLength(3);
    expect(store.listResults({ status: 'unknown' }).items.map((r) => r.id)).toEqual([ids[3]]);
    expect(store.listResults({ class: 'caffeine', instrument: 'ftir-1' }).items).toHaveLength(4);
    expect(store.listResults({ status: ['unknown', 'rejected'] }).items.map((r) => r.id)).toEqual([ids[3]]);
    expect(store.listResults({ q: ids[5] }).items.map((r) => r.id)).toEqual([ids[5]]);
    expect(store.listResults({ q: `${ids[6]}.jdx` }).items.map((r) => r.id)).toEqual([ids[6]]);
    expect(store.listResults({ q: '100%_' }).items).toEqual([]);
    const got = store.getSpectrum(ids[2])!;
    expect(got.raw.toString()).toBe(`##TITLE=${ids[2]}`);
    expect(got.result?.class).toBe('caffeine');
    expect(store.getSpectrum('nope')).toBeUndefined();
    store.close();
  });

  it('holds classes and references, re-embeds, removes, prunes old spectra but never pending ones', () => {
    const store = new Store(tmp());
    store.addReferences('caffeine', 'api', [{ vector: Float32Array.from([1, 2]) }, { vector: Float32Array.from([3, 4]), embedding: Float32Array.from([1, 0]), modelVersion: 'm1' }]);
    store.addReferences('aspirin', 'demo', [{ vector: Float32Array.from([5, 6]) }]);
    expect(store.listClasses().map((c) => [c.name, c.references])).toEqual([
      ['aspirin', 1],
      ['caffeine', 2],
    ]);
    const refs = store.references();
    store.setEmbeddings('m2', refs.map((r) => ({ id: r.id, embedding: Float32Array.from([0, 1]) })));
    expect(store.references().every((r) => r.modelVersion === 'm2' && r.embedding?.[1] === 1)).toBe(true);
    expect(Array.from(store.classReference('caffeine')!)).toEqual([Math.fround(2 / 3), 1]);
    expect(store.addReferences('caffeine', 'api', [{ vector: Float32Array.from([9, 9]), enrollmentId: 'e1' }])).toBe(false);
    expect(store.addReferences('theobromine', 'api', [{ vector: Float32Array.from([1, 1]), enrollmentId: 'e1' }])).toBe(true);
    expect(store.undoEnrollment('e1')).toEqual({ removed: 2, classes: ['caffeine', 'theobromine'] });
    expect(store.listClasses().map((c) => [c.name, c.references])).toEqual([
      ['aspirin', 1],
      ['caffeine', 2],
    ]);
    expect(store.removeClass('caffeine')).toBe(true);
    expect(store.references()).toHaveLength(1);

    const old = ulid(Date.UTC(2020, 0, 1));
    const oldPending = ulid(Date.UTC(2020, 0, 1));
    store.commitIngest({ spectra: [received(old), received(oldPending)], results: [], alerts: [] });
    store.commitResults([result(old)], []);
    expect(store.prune('2021-01-01T00:00:00.000Z')).toBe(1);
    expect(store.getSpectrum(old)).toBeUndefined();
    expect(store.getResult(old)).toBeUndefined();
    expect(store.getSpectrum(oldPending)?.state).toBe('pending');
    store.close();
  });
});
