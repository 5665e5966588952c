import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Subject, firstValueFrom, take } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { RawInput } from '../../adapters/types.ts';
import { createSpectrum } from '../../core/spectrum.ts';
import { ulid } from '../../daemon/store/ids.ts';
import { Store } from '../../daemon/store/store.ts';
import type { PipelineDomain } from '../../pipelines/domain.ts';
import type { PipelineStore } from '../../pipelines/ports.ts';
import { SpectrumPipeline } from '../../pipelines/spectrum-pipeline.ts';

/**
 * A store that cannot commit (disk full) must not strand inputs: they stay unacknowledged and are offered to the store
 * again with backoff until it takes them, then each is stored once and acknowledged. (Before this, an input whose
 * commit failed was never retried until the daemon restarted: the folder adapter held the file as in flight.)
 */
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const domain: PipelineDomain = {
  modelVersion: 'fake-1',
  parse: (raw) => [{ block: 0, spectrum: createSpectrum({ y: (JSON.parse(raw.payload.toString()) as { y: number[] }).y }) }],
  preprocess: (s) => Float32Array.from(s.y),
  identify: async (vs) => vs.map(() => ({ status: 'identified' as const, class: 'c', score: 0.9, candidates: [{ class: 'c', score: 0.9 }] })),
};

function fullDisk(): Error {
  return Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
}

describe('SpectrumPipeline when the store refuses commits', () => {
  it('retries an input with backoff until the store takes it, then acknowledges it once', async () => {
    const store = new Store(path.join(mkdtempSync(path.join(tmpdir(), 'spectrad-retry-')), 'spectrad.db'), { outputs: ['out'] });
    let full = true;
    let refused = 0;
    const guarded: PipelineStore = {
      ledgerOutcome: (k) => store.ledgerOutcome(k),
      commitIngest: (c) => {
        if (full) {
          refused++;
          throw fullDisk();
        }
        store.commitIngest(c);
      },
      commitResults: (r, a) => store.commitResults(r, a),
      pending: (n, ex) => store.pending(n, ex),
    };
    const outcomes: boolean[] = [];
    const pipeline = new SpectrumPipeline({
      store: guarded,
      domain,
      batchSize: 4,
      windowMs: 5,
      queueBound: 16,
      ingestConcurrency: 2,
      defaultInstrument: 'x',
      newId: () => ulid(),
      log: silent,
      commitRetry: { minMs: 20, maxMs: 80 },
      onStoreOutcome: (ok) => outcomes.push(ok),
    });
    const inputs = new Subject<RawInput>();
    pipeline.attach(inputs);
    pipeline.start();
    let acks = 0;
    const raw: RawInput = {
      adapter: 'test',
      source: '/in/a.json',
      receivedAt: new Date().toISOString(),
      payload: Buffer.from(JSON.stringify({ y: [1, 2, 3] })),
      dedupKey: 'k-a',
      ack: async () => void acks++,
      reject: async () => undefined,
    };
    const result = firstValueFrom(pipeline.results$.pipe(take(1)));
    inputs.next(raw);
    await new Promise((r) => setTimeout(r, 400));
    expect(acks).toBe(0);
    // Backoff: at most 1 + 400 ms / 20 ms attempts if it did not grow; with doubling to 80 ms about 7.
    expect(refused).toBeGreaterThanOrEqual(3);
    expect(refused).toBeLessThanOrEqual(9);
    expect(outcomes.every((o) => !o)).toBe(true);
    full = false;
    const r = await result;
    expect(r).toMatchObject({ status: 'identified', source: '/in/a.json' });
    expect(acks).toBe(1);
    expect(outcomes.at(-1)).toBe(true);
    expect(store.counts()).toMatchObject({ spectra: 1, results: 1, pending: 0 });
    await pipeline.drain();
    store.close();
  });

  it('stops retrying at drain: the input stays unacknowledged at its source', async () => {
    const store = new Store(':memory:');
    let attempts = 0;
    const pipeline = new SpectrumPipeline({
      store: { ledgerOutcome: () => undefined, commitIngest: () => void (attempts++, (() => { throw fullDisk(); })()), commitResults: () => undefined, pending: () => [] },
      domain,
      batchSize: 4,
      windowMs: 5,
      queueBound: 16,
      ingestConcurrency: 2,
      defaultInstrument: 'x',
      newId: () => ulid(),
      log: silent,
      commitRetry: { minMs: 20, maxMs: 20 },
    });
    const inputs = new Subject<RawInput>();
    pipeline.attach(inputs);
    pipeline.start();
    let acked = false;
    inputs.next({ adapter: 't', source: 's', receivedAt: new Date().toISOString(), payload: Buffer.from('{"y":[1]}'), ack: async () => void (acked = true), reject: async () => undefined });
    await new Promise((r) => setTimeout(r, 100));
    await pipeline.drain();
    const after = attempts;
    await new Promise((r) => setTimeout(r, 100));
    expect(after).toBeGreaterThanOrEqual(2);
    expect(attempts).toBe(after);
    expect(acked).toBe(false);
    store.close();
  });

  it('offers every waiting input again at once when the store takes a commit again', async () => {
    const store = new Store(':memory:', { outputs: ['out'] });
    let full = true;
    const pipeline = new SpectrumPipeline({
      store: {
        ledgerOutcome: (k) => store.ledgerOutcome(k),
        commitIngest: (c) => {
          if (full) throw fullDisk();
          store.commitIngest(c);
        },
        commitResults: (r, a) => store.commitResults(r, a),
        pending: (n, ex) => store.pending(n, ex),
      },
      domain,
      batchSize: 4,
      windowMs: 5,
      queueBound: 16,
      ingestConcurrency: 2,
      defaultInstrument: 'x',
      newId: () => ulid(),
      log: silent,
      // A long backoff: only the early retry can store the first input within this test.
      commitRetry: { minMs: 10_000, maxMs: 10_000 },
    });
    const inputs = new Subject<RawInput>();
    pipeline.attach(inputs);
    pipeline.start();
    const acked: string[] = [];
    const raw = (name: string): RawInput => ({
      adapter: 't',
      source: name,
      receivedAt: new Date().toISOString(),
      payload: Buffer.from('{"y":[1,2]}'),
      dedupKey: name,
      ack: async () => void acked.push(name),
      reject: async () => undefined,
    });
    inputs.next(raw('waiting'));
    await new Promise((r) => setTimeout(r, 100));
    full = false;
    const t0 = Date.now();
    inputs.next(raw('fresh'));
    while (acked.length < 2 && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 10));
    expect(acked.sort()).toEqual(['fresh', 'waiting']);
    expect(Date.now() - t0).toBeLessThan(1000);
    await pipeline.drain();
    expect(store.counts()).toMatchObject({ spectra: 2, results: 2 });
    store.close();
  });
});
