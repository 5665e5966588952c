import { afterEach, describe, expect, it } from 'vitest';
import type { AlertMessage, ResultMessage } from '../../core/messages.ts';
import { Store, type LabelChange } from '../../daemon/store/store.ts';

/**
 * What History and Alerts read about labelled spectra, at the store: a labelling (an enrollment of received spectra)
 * records the class, who and when per spectrum, keeps the model's answer, resolves the spectra's unknown and
 * low-confidence alerts with a note, and tells listeners; undoing it reverts all of that.
 */

const stores: Store[] = [];
afterEach(() => stores.splice(0).forEach((s) => s.close()));

let seq = 0;
/** A received spectrum with its result (status as given) and, for unknown/low-confidence/rejected, its alert. */
function receive(store: Store, status: ResultMessage['status'], cls?: string): { id: string; alertId?: string } {
  const id = `01J${String(++seq).padStart(23, '0')}`;
  const at = new Date(Date.UTC(2026, 10, 29, 3, 0, seq)).toISOString();
  store.commitIngest({
    spectra: [{ id, receivedAt: at, instrument: 'ir-1', adapter: 'inbox', source: `/in/${id}.jdx`, block: 0, raw: Buffer.from('x'), preprocessed: Float32Array.of(1, 0.5), dedupKey: id }],
    results: [],
    alerts: [],
  });
  const result: ResultMessage = { id, instrument: 'ir-1', source: `/in/${id}.jdx`, receivedAt: at, status, score: 0.2, candidates: cls ? [{ class: cls, score: 0.2 }] : [], latencyMs: 5, modelVersion: 'm1', ...(cls ? { class: cls } : {}) };
  const alerts: AlertMessage[] = status === 'identified' ? [] : [{ id: `A${id}`, kind: status === 'rejected' ? 'rejected' : status === 'mixture' ? 'unknown' : status, instrument: 'ir-1', at, message: `${status} ${id}`, resultId: id }];
  store.commitResults([result], alerts);
  return { id, alertId: alerts[0]?.id };
}

function label(store: Store, name: string, ids: string[], enrollmentId: string, by?: string): boolean {
  return store.addReferences(name, 'api', ids.map((spectrumId) => ({ vector: Float32Array.of(1, 0.5), spectrumId, enrollmentId })), { labelledBy: by });
}

function fresh(): { store: Store; changes: LabelChange[] } {
  const store = new Store(':memory:', { outputs: [] });
  stores.push(store);
  const changes: LabelChange[] = [];
  store.onLabelChange((c) => changes.push(c));
  return { store, changes };
}

describe('labelled spectra in the store', () => {
  it('records the label with who and when, keeps the model answer, and filters by it', () => {
    const { store } = fresh();
    const a = receive(store, 'unknown');
    const b = receive(store, 'low-confidence', 'c7');
    const c = receive(store, 'identified', 'c1');
    expect(label(store, 'caffeine', [a.id, b.id], 'e1', 'Ana')).toBe(true);

    const r = store.getResult(a.id)!;
    expect(r.status).toBe('unknown');
    expect(r.label).toMatchObject({ class: 'caffeine', by: 'Ana', enrollmentId: 'e1' });
    expect(Number.isNaN(Date.parse(r.label!.at))).toBe(false);
    expect(store.getSpectrum(b.id)?.result?.label?.class).toBe('caffeine');
    expect(store.getResult(c.id)?.label).toBeUndefined();

    const ids = (f: Parameters<Store['listResults']>[0]) => store.listResults(f).items.map((x) => x.id).sort();
    expect(ids({ labelled: true })).toEqual([a.id, b.id].sort());
    expect(ids({ labelled: false })).toEqual([c.id]);
    // The class filter finds a spectrum by the class the model named or the class an operator gave.
    expect(ids({ class: 'caffeine' })).toEqual([a.id, b.id].sort());
    expect(ids({ class: 'c1' })).toEqual([c.id]);
    expect(ids({ status: 'unknown', labelled: false })).toEqual([]);
  });

  it('resolves the spectra\'s unknown and low-confidence alerts with a note, tells listeners, and an undo reopens them', () => {
    const { store, changes } = fresh();
    const a = receive(store, 'unknown');
    const b = receive(store, 'low-confidence', 'c7');
    const other = receive(store, 'unknown');
    label(store, 'caffeine', [a.id, b.id], 'e1');

    const alerts = new Map(store.listAlerts().map((x) => [x.id, x]));
    for (const s of [a, b]) {
      expect(alerts.get(s.alertId!)?.acknowledgedAt).toBeTruthy();
      expect(alerts.get(s.alertId!)?.note).toBe('labelled as caffeine');
    }
    expect(alerts.get(other.alertId!)?.acknowledgedAt).toBeUndefined();
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ kind: 'labelled', class: 'caffeine', enrollmentId: 'e1' });
    expect([...changes[0].spectrumIds].sort()).toEqual([a.id, b.id].sort());
    expect(changes[0].alerts.map((x) => x.id).sort()).toEqual([a.alertId, b.alertId].sort());

    expect(store.undoEnrollment('e1')).toEqual({ removed: 2, classes: ['caffeine'] });
    const after = new Map(store.listAlerts().map((x) => [x.id, x]));
    for (const s of [a, b]) {
      expect(after.get(s.alertId!)?.acknowledgedAt).toBeUndefined();
      expect(after.get(s.alertId!)?.note).toBeUndefined();
    }
    expect(store.getResult(a.id)?.label).toBeUndefined();
    expect(store.listResults({ labelled: true }).items).toEqual([]);
    expect(changes[1]).toMatchObject({ kind: 'unlabelled', enrollmentId: 'e1' });
    expect(changes[1].alerts.map((x) => x.acknowledgedAt)).toEqual([undefined, undefined]);
  });

  it('leaves alone an alert acknowledged by hand, rejected input, and references not from received spectra', () => {
    const { store, changes } = fresh();
    const a = receive(store, 'unknown');
    const handAcked = store.acknowledgeAlert(a.alertId!);
    const rejected = receive(store, 'rejected');
    label(store, 'x', [a.id, rejected.id], 'e1');
    const alerts = new Map(store.listAlerts().map((x) => [x.id, x]));
    expect(alerts.get(a.alertId!)).toMatchObject({ acknowledgedAt: handAcked });
    expect(alerts.get(a.alertId!)?.note).toBeUndefined();
    expect(alerts.get(rejected.alertId!)?.acknowledgedAt).toBeUndefined();
    // The undo must not reopen what a person acknowledged.
    store.undoEnrollment('e1');
    expect(new Map(store.listAlerts().map((x) => [x.id, x])).get(a.alertId!)?.acknowledgedAt).toBe(handAcked);
    // Uploaded files (no spectrumId) label nothing and tell no one.
    const before = changes.length;
    store.addReferences('y', 'api', [{ vector: Float32Array.of(1, 1), enrollmentId: 'e2' }]);
    expect(changes).toHaveLength(before);
  });

  it('a spectrum labelled twice shows the newest label; undoing it brings back the earlier one, its alert stays closed', () => {
    const { store } = fresh();
    const a = receive(store, 'unknown');
    label(store, 'first', [a.id], 'e1');
    label(store, 'second', [a.id], 'e2');
    expect(store.getResult(a.id)?.label?.class).toBe('second');
    store.undoEnrollment('e2');
    expect(store.getResult(a.id)?.label?.class).toBe('first');
    expect(store.listAlerts().find((x) => x.id === a.alertId)?.acknowledgedAt).toBeTruthy();
    store.undoEnrollment('e1');
    expect(store.getResult(a.id)?.label).toBeUndefined();
    expect(store.listAlerts().find((x) => x.id === a.alertId)?.acknowledgedAt).toBeUndefined();
  });

  it('pruning a spectrum removes its label with it', () => {
    const { store } = fresh();
    const a = receive(store, 'unknown');
    label(store, 'gone', [a.id], 'e1');
    expect(store.prune('2100-01-01T00:00:00.000Z')).toBeGreaterThan(0);
    expect((store.db.prepare('SELECT COUNT(*) AS n FROM labels').get() as { n: number }).n).toBe(0);
  });
});
