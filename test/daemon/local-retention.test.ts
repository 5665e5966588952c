import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ResultMessage } from '../../core/messages.ts';
import { ulid } from '../../daemon/store/ids.ts';
import { LocalRetention } from '../../daemon/store/local-retention.ts';
import { Store } from '../../daemon/store/store.ts';
import { waitFor } from '../../support/servers.ts';

/**
 * A node's retention while it runs (daemon/store/local-retention.ts): besides the start's pruning, passes every
 * store.pruneIntervalMin delete in small transactions what is past store.retentionDays, never a pending spectrum.
 * Real SQLite store.
 */
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const DAY = 86_400_000;

function storeWith(): Store {
  return new Store(path.join(mkdtempSync(path.join(tmpdir(), 'local-retention-')), 'spectrad.db'));
}

/** A spectrum received `ageDays` ago, with its result unless `pending`. */
function receive(store: Store, i: number, ageDays: number, pending = false): string {
  const at = Date.now() - ageDays * DAY - i;
  const id = ulid(at);
  const receivedAt = new Date(at).toISOString();
  store.commitIngest({ spectra: [{ id, adapter: 'inbox', source: `/in/${i}.jdx`, instrument: 'lab', receivedAt, block: 0, raw: Buffer.from(`raw ${i}`), preprocessed: Float32Array.from([i]) }], results: [], alerts: [] });
  if (!pending) {
    const r: ResultMessage = { id, instrument: 'lab', source: `/in/${i}.jdx`, receivedAt, status: 'unknown', score: 0.1, candidates: [], latencyMs: 2, modelVersion: 'm1' };
    store.commitResults([r], [{ id: ulid(at + 1), kind: 'unknown', instrument: 'lab', at: new Date(at + 1).toISOString(), message: 'unknown', resultId: id }]);
  }
  return id;
}

describe('local retention while the daemon runs', () => {
  it('prunes in batches what is past the retention, keeping pending spectra and recent ones', async () => {
    const store = storeWith();
    for (let i = 0; i < 100; i++) receive(store, i, 40);
    const pending = receive(store, 100, 40, true);
    for (let i = 0; i < 10; i++) receive(store, 200 + i, 1);
    const batches: number[] = [];
    const counting = { pruneBatch: (c: string, n: number) => { const out = store.pruneBatch(c, n); batches.push(out.spectra); return out; } };
    const removed = await new LocalRetention(counting, { days: 30, intervalMs: 60_000, batch: 16, log: silent }).pruneNow();
    expect(removed).toEqual({ spectra: 100, alerts: 100 });
    // 100 rows in batches of 16: six full batches and a last one of 4 that ends the pass.
    expect(batches).toEqual([16, 16, 16, 16, 16, 16, 4]);
    expect(store.listResults({ limit: 100 }).total).toBe(10);
    expect(store.pendingCount()).toBe(1);
    expect(store.getSpectrum(pending)).toBeDefined();
    store.close();
  });

  it('runs again every interval: rows that age past the retention later go without a restart', async () => {
    const store = storeWith();
    const retention = new LocalRetention(store, { days: 30, intervalMs: 100, batch: 8, log: silent });
    retention.start();
    const kept = receive(store, 0, 2);
    for (let i = 1; i <= 20; i++) receive(store, i, 31);
    await waitFor('the next pass pruned the old spectra', () => store.listResults({ limit: 100 }).total === 1, 10_000);
    receive(store, 50, 45);
    await waitFor('and the pass after it', () => store.listResults({ limit: 100 }).total === 1, 10_000);
    expect(store.listResults({ limit: 100 }).items.map((r) => r.id)).toEqual([kept]);
    await retention.stop();
    store.close();
  });

  it('keeps everything with a retention of 0', async () => {
    const store = storeWith();
    receive(store, 0, 4000);
    expect(await new LocalRetention(store, { days: 0, intervalMs: 100, log: silent }).pruneNow()).toEqual({});
    expect(store.listResults({ limit: 10 }).total).toBe(1);
    store.close();
  });
});
