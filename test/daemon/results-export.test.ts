import { afterEach, describe, expect, it } from 'vitest';
import type { ResultMessage } from '../../core/messages.ts';
import { ulid } from '../../daemon/store/ids.ts';
import { Store } from '../../daemon/store/store.ts';

/**
 * The store behind History at speed: the total a filter matches, any order with offset paging, and the bulk export
 * that streams every matching result while the pipeline keeps writing on the same connection.
 */
let store: Store | undefined;
afterEach(() => store?.close());

function add(s: Store, n: number, t0: number, instrument = 'r1'): ResultMessage[] {
  const results: ResultMessage[] = [];
  s.db.transaction(() => {
    for (let i = 0; i < n; i++) {
      const id = ulid(t0 + i);
      const receivedAt = new Date(t0 + i).toISOString();
      s.commitIngest({ spectra: [{ id, adapter: 'a', source: `/in/${i}.jdx`, instrument, receivedAt, block: 0, raw: Buffer.from('x') }], results: [], alerts: [] });
      results.push({ id, instrument, source: `/in/${i}.jdx`, receivedAt, status: 'identified', class: 'k', score: ((i * 37) % 101) / 100, candidates: [{ class: 'k', score: 0.5 }], latencyMs: i % 13, modelVersion: 'm' });
    }
    s.commitResults(results, []);
  })();
  return results;
}

describe('results for History at speed', () => {
  it('counts the filter, sorts on any column and pages by offset without overlap', () => {
    store = new Store(':memory:');
    const rs = add(store, 300, Date.parse('2026-01-01T00:00:00Z'));
    add(store, 5, Date.parse('2026-01-02T00:00:00Z'), 'other');
    const first = store.listResults({ instrument: 'r1', limit: 100 });
    expect(first.total).toBe(300);
    expect(first.items[0].id).toBe(rs[299].id);
    const byScore = [0, 100, 200].flatMap((offset) => store!.listResults({ instrument: 'r1', sort: '-score', offset, limit: 100 }).items);
    expect(new Set(byScore.map((r) => r.id)).size).toBe(300);
    const scores = byScore.map((r) => r.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    const slow = store.listResults({ sort: 'latency', limit: 1 });
    expect(slow.items[0].latencyMs).toBe(0);
    expect(slow.total).toBe(305);
    expect(slow.nextCursor).toBeUndefined();
  });

  it('exports every matching row in order while results are written between chunks, leaving out what came later', () => {
    store = new Store(':memory:');
    const rs = add(store, 1_234, Date.parse('2026-01-01T00:00:00Z'));
    for (const sort of [undefined, 'score'] as const) {
      // What the filter holds when the export starts (the first pass added some for the second).
      const before = store.listResults({ instrument: 'r1', limit: 1 }).total;
      const seen: string[] = [];
      let later = 0;
      for (const r of store.iterateResults({ instrument: 'r1', sort }, 100)) {
        seen.push(r.id);
        // The pipeline commits while the export is being streamed (a write on the same connection).
        if (seen.length % 250 === 0) {
          add(store, 1, Date.parse('2026-02-01T00:00:00Z') + later++);
        }
      }
      expect(later).toBeGreaterThan(3);
      expect(seen).toHaveLength(before);
      expect(new Set(seen).size).toBe(before);
      if (sort === undefined) expect(seen).toEqual(rs.map((r) => r.id).reverse());
    }
  });
});
