import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { RawInput } from '../../adapters/types.ts';
import { createSpectrum } from '../../core/spectrum.ts';
import { ulid } from '../../daemon/store/ids.ts';
import { Store } from '../../daemon/store/store.ts';
import type { PipelineDomain } from '../../pipelines/domain.ts';
import type { PipelineStore } from '../../pipelines/ports.ts';
import { SpectrumPipeline } from '../../pipelines/spectrum-pipeline.ts';
import { waitFor } from '../../support/servers.ts';

/**
 * Inputs from a shared work queue (RawInput.ackAfterResult) are acknowledged only once their result is committed, not
 * at the ingest commit like the others: until then the queue keeps the job, so a node dying with the spectrum still
 * pending in its own store loses nothing for the site. Real store; identification held back by a gate.
 */
const silent = { debug() {}, info() {}, warn() {}, error() {} };

function gatedDomain() {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  /** Set once identification waits at the gate: the ingest commit (and its acknowledgements) came before. */
  const state = { atGate: false };
  const domain: PipelineDomain = {
    modelVersion: 'fake-1',
    parse: (raw) => [{ block: 0, spectrum: createSpectrum({ y: (JSON.parse(raw.payload.toString()) as { y: number[] }).y }) }],
    preprocess: (s) => Float32Array.from(s.y),
    identify: async (vs) => {
      state.atGate = true;
      await gate;
      return vs.map(() => ({ status: 'identified' as const, class: 'c', score: 0.9, candidates: [{ class: 'c', score: 0.9 }] }));
    },
  };
  return { domain, open, state };
}

function input(source: string, ackAfterResult: boolean, acks: string[]): RawInput {
  return {
    adapter: 'site-queue',
    source,
    receivedAt: new Date().toISOString(),
    payload: Buffer.from(JSON.stringify({ y: [1, 2, 3, 4] })),
    dedupKey: `k-${source}`,
    ...(ackAfterResult ? { ackAfterResult } : {}),
    ack: async () => void acks.push(source),
    reject: async () => void acks.push(`rejected ${source}`),
  };
}

function start(store: PipelineStore, domain: PipelineDomain) {
  const pipeline = new SpectrumPipeline({
    store, domain, batchSize: 4, windowMs: 5, queueBound: 16, ingestConcurrency: 2, defaultInstrument: 'x', newId: () => ulid(), log: silent,
  });
  const inputs = new Subject<RawInput>();
  pipeline.attach(inputs);
  pipeline.start();
  return { pipeline, inputs };
}

const tempStore = () => new Store(path.join(mkdtempSync(path.join(tmpdir(), 'ack-after-result-')), 'spectrad.db'));

describe('acknowledgement after the result (work-queue inputs)', () => {
  it('acknowledges a queue input only when its result is committed; other inputs at the ingest commit', async () => {
    const store = tempStore();
    const { domain, open, state } = gatedDomain();
    const acks: string[] = [];
    const { pipeline, inputs } = start(store, domain);
    inputs.next(input('queue-job', true, acks));
    inputs.next(input('folder-file', false, acks));
    await waitFor('both committed as pending', () => store.pendingCount() === 2, 5000);
    await waitFor('the plain input acknowledged', () => acks.includes('folder-file'), 5000);
    // Past the ingest commit and held at identification: an acknowledgement at ingest would have happened by now.
    await waitFor('identification at the gate', () => state.atGate, 5000);
    expect(acks).toEqual(['folder-file']);
    open();
    await waitFor('the queue input acknowledged', () => acks.includes('queue-job'), 5000);
    expect(store.pendingCount()).toBe(0);
    expect(acks).toEqual(['folder-file', 'queue-job']);
    await pipeline.drain();
    store.close();
  });

  it('does not acknowledge while the result cannot be committed, and does once it is', async () => {
    const store = tempStore();
    const { domain, open } = gatedDomain();
    let refuse = true;
    let refused = 0;
    const guarded: PipelineStore = {
      ledgerOutcome: (k) => store.ledgerOutcome(k),
      commitIngest: (c) => store.commitIngest(c),
      commitResults: (r, a) => {
        if (refuse) {
          refused++;
          throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
        }
        store.commitResults(r, a);
      },
      pending: (n, ex) => store.pending(n, ex),
    };
    const acks: string[] = [];
    const { pipeline, inputs } = start(guarded, domain);
    inputs.next(input('queue-job', true, acks));
    open();
    await waitFor('pending', () => store.pendingCount() === 1, 5000);
    // The result reached its commit and was refused, then again on the retry: no acknowledgement either time.
    await waitFor('the result commit refused twice', () => refused >= 2, 10_000);
    expect(acks).toEqual([]);
    refuse = false;
    await waitFor('acknowledged after the retried result commit', () => acks.length === 1, 10_000);
    expect(acks).toEqual(['queue-job']);
    expect(store.pendingCount()).toBe(0);
    await pipeline.drain();
    store.close();
  });
});
