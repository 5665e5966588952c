import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { abandonPendingOf } from '../../daemon/store/abandon-pending.ts';
import { ulid } from '../../daemon/store/ids.ts';
import { Store } from '../../daemon/store/store.ts';
import type { IngestCommit } from '../../pipelines/ports.ts';

/**
 * A node restarting after a crash forgets the queue jobs it had taken and not finished (the queue gives them to a live
 * node), and nothing else: other inputs' pending spectra, finished spectra, and half-finished multi-spectrum inputs
 * stay. Real SQLite store.
 */
function commit(store: Store, adapter: string, key: string, blocks: Array<'pending' | 'rejected'>): string[] {
  const ids = blocks.map(() => ulid());
  const c: IngestCommit = {
    spectra: blocks.map((state, block) => ({
      id: ids[block], adapter, source: `spectrad/lab/spectrum`, receivedAt: new Date().toISOString(), raw: Buffer.from('{}'), block, instrument: 'lab',
      dedupKey: `${key}#${block}`, ...(state === 'pending' ? { preprocessed: Float32Array.from([1, 2]) } : {}),
    })),
    results: [],
    alerts: [],
    ledger: { key, outcome: 'processed', source: 'spectrad/lab/spectrum' },
  };
  store.commitIngest(c);
  return ids;
}

describe('abandonPendingOf', () => {
  it('forgets only unfinished queue jobs, with their ledger keys', () => {
    const store = new Store(path.join(mkdtempSync(path.join(tmpdir(), 'abandon-')), 'spectrad.db'));
    commit(store, 'queue', 'queue:spectrad/lab/spectrum:aa', ['pending']);
    commit(store, 'queue', 'queue-key:m#1', ['pending']); // a '#' inside the publisher's key
    commit(store, 'queue', 'queue-key:m', ['rejected']); // a key that is the start of another: finished, stays
    commit(store, 'queue', 'queue:spectrad/lab/spectrum:bb', ['rejected', 'pending']); // half finished: stays
    const [done] = commit(store, 'queue', 'queue:spectrad/lab/spectrum:cc', ['pending']);
    store.commitResults([{ id: done, instrument: 'lab', source: 's', receivedAt: new Date().toISOString(), status: 'identified', score: 1, candidates: [], latencyMs: 1, modelVersion: 'm' }], []);
    commit(store, 'inbox', 'file:/in/a.jdx:1:2', ['pending']); // another input: stays
    expect(store.pendingCount()).toBe(4);

    expect(abandonPendingOf(store.db, ['queue'])).toBe(2);
    expect(store.ledgerOutcome('queue:spectrad/lab/spectrum:aa')).toBeUndefined();
    expect(store.ledgerOutcome('queue-key:m#1')).toBeUndefined();
    expect(store.ledgerOutcome('queue-key:m')).toBe('processed');
    expect(store.ledgerOutcome('queue:spectrad/lab/spectrum:bb')).toBe('processed');
    expect(store.ledgerOutcome('queue:spectrad/lab/spectrum:cc')).toBe('processed');
    expect(store.ledgerOutcome('file:/in/a.jdx:1:2')).toBe('processed');
    expect(store.pendingCount()).toBe(2);
    // The same job delivered again is new to this node: its spectrum can be stored again.
    commit(store, 'queue', 'queue:spectrad/lab/spectrum:aa', ['pending']);
    expect(abandonPendingOf(store.db, [])).toBe(0);
    store.close();
  });
});
