import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Subject, firstValueFrom, filter, take, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { RawInput } from '../../adapters/types.ts';
import { SpectrumInputError } from '../../core/errors.ts';
import type { Identification } from '../../core/identify/types.ts';
import type { ResultMessage } from '../../core/messages.ts';
import { createSpectrum } from '../../core/spectrum.ts';
import { ulid } from '../../daemon/store/ids.ts';
import { Store } from '../../daemon/store/store.ts';
import type { PipelineDomain } from '../../pipelines/domain.ts';
import { SpectrumPipeline } from '../../pipelines/spectrum-pipeline.ts';
import { waitFor } from '../../support/servers.ts';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const tmpDb = () => path.join(mkdtempSync(path.join(tmpdir(), 'spectrad-pipe-')), 'spectrad.db');

/**
 * A small domain: payload is JSON `{y}` or `[{y}, ...]` (blocks); a first value of 666 makes identification fail,
 * and the class is named after the first value so each answer can be checked against its input.
 */
function fakeDomain(delayMs = 0): PipelineDomain & { calls: number[] } {
  const calls: number[] = [];
  return {
    calls,
    modelVersion: 'fake-1',
    parse(input) {
      let doc: unknown;
      try {
        doc = JSON.parse(input.payload.toString());
      } catch {
        throw new SpectrumInputError('bad-json', 'not JSON', { file: input.source });
      }
      const blocks = Array.isArray(doc) ? doc : [doc];
      return blocks.map((b: { y?: number[]; bad?: boolean }, i) =>
        b.bad ? { block: i, error: new SpectrumInputError('bad-block', `block ${i} is bad`) } : { block: i, spectrum: createSpectrum({ y: b.y ?? [] }) },
      );
    },
    preprocess(s) {
      if (s.y.length === 0) throw new SpectrumInputError('empty', 'no points');
      return Float32Array.from(s.y);
    },
    async identify(vectors) {
      calls.push(vectors.length);
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      if (vectors.some((v) => v[0] === 666)) throw new Error('encoder fault');
      return vectors.map((v): Identification => ({ status: 'identified', class: `c${v[0]}`, score: 0.9, candidates: [{ class: `c${v[0]}`, score: 0.9 }] }));
    },
  };
}

interface TrackedInput extends RawInput {
  acked: boolean;
  rejected?: string;
  /** Whether the spectrum rows were visible to another connection at ack time. */
  committedAtAck?: boolean;
}

function input(payload: unknown, opts: { key?: string; db?: string; raw?: string } = {}): TrackedInput {
  const tracked: TrackedInput = {
    adapter: 'test',
    source: `/in/${opts.key ?? ulid()}.json`,
    receivedAt: new Date().toISOString(),
    payload: Buffer.from(opts.raw ?? JSON.stringify(payload)),
    dedupKey: opts.key,
    acked: false,
    async ack() {
      tracked.acked = true;
      if (opts.db) {
        const other = new Database(opts.db, { readonly: true });
        const row = other.prepare('SELECT COUNT(*) AS n FROM spectra WHERE source = ?').get(tracked.source) as { n: number };
        tracked.committedAtAck = row.n > 0;
        other.close();
      }
    },
    async reject(reason) {
      tracked.rejected = reason;
    },
  };
  return tracked;
}

function setup(opts: { delayMs?: number; batchSize?: number; queueBound?: number; windowMs?: number; file?: string } = {}) {
  const file = opts.file ?? tmpDb();
  const store = new Store(file, { outputs: ['out'] });
  const domain = fakeDomain(opts.delayMs);
  const committed: ResultMessage[] = [];
  const pipeline = new SpectrumPipeline({
    store,
    domain,
    batchSize: opts.batchSize ?? 4,
    windowMs: opts.windowMs ?? 5,
    queueBound: opts.queueBound ?? 64,
    ingestConcurrency: 2,
    defaultInstrument: 'bench-1',
    newId: () => ulid(),
    log: silent,
    onCommitted: (results) => committed.push(...results),
  });
  const inputs = new Subject<RawInput>();
  pipeline.attach(inputs);
  pipeline.start();
  return { file, store, domain, pipeline, inputs, committed };
}

const results = (p: SpectrumPipeline, n: number) => firstValueFrom(p.results$.pipe(take(n), toArray()));

describe('SpectrumPipeline with the real store', () => {
  it('commits each spectrum before acknowledging its input, then identifies it', async () => {
    const { file, store, pipeline, inputs } = setup();
    const got = results(pipeline, 3);
    const ins = [1, 2, 3].map((v) => input({ y: [v, 0, 1] }, { key: `k${v}`, db: file }));
    ins.forEach((i) => inputs.next(i));
    const rs = await got;
    expect(rs.map((r) => r.class).sort()).toEqual(['c1', 'c2', 'c3']);
    expect(ins.every((i) => i.acked && i.committedAtAck)).toBe(true);
    expect(rs[0]).toMatchObject({ status: 'identified', instrument: 'bench-1', modelVersion: 'fake-1' });
    expect(rs.every((r) => r.latencyMs >= 0)).toBe(true);
    expect(store.counts()).toEqual({ spectra: 3, pending: 0, results: 3, rejected: 0 });
    expect(store.outboxDepths()).toEqual({ out: 3 });
    // Every stage the spectra went through is timed, per spectrum.
    const stages = pipeline.stats().stages;
    expect(stages.parse?.items).toBe(3);
    expect(stages.preprocess?.items).toBe(3);
    expect(stages.commitIngest?.items).toBe(3);
    expect(stages.identify?.items).toBe(3);
    expect(stages.commitResults?.items).toBe(3);
    await pipeline.drain();
    store.close();
  });

  it('rejects bad input with a result and an alert, and the stream goes on', async () => {
    const { store, pipeline, inputs, committed } = setup();
    const got = results(pipeline, 5);
    const bad = input(null, { raw: '{nope', key: 'bad' });
    const empty = input({ y: [] }, { key: 'empty' });
    const mixed = input([{ y: [7] }, { bad: true }], { key: 'mixed' });
    const good = input({ y: [8] }, { key: 'good' });
    [bad, empty, mixed, good].forEach((i) => inputs.next(i));
    const rs = await got;
    const byStatus = (s: string) => rs.filter((r) => r.status === s);
    expect(byStatus('rejected').map((r) => r.error?.code).sort()).toEqual(['bad-block', 'bad-json', 'empty']);
    expect(byStatus('identified').map((r) => r.class).sort()).toEqual(['c7', 'c8']);
    expect(bad.rejected).toMatch(/not JSON/);
    expect(empty.rejected).toMatch(/no points/);
    expect(mixed.acked && good.acked).toBe(true);
    expect(store.listAlerts().map((a) => a.kind)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(store.ledgerOutcome('bad')).toBe('failed');
    expect(store.ledgerOutcome('mixed')).toBe('processed');
    expect(committed).toHaveLength(5);
    expect(store.getSpectrum(rs.find((r) => r.error?.code === 'bad-json')!.id)?.raw.toString()).toBe('{nope');
    await pipeline.drain();
    store.close();
  });

  it('acknowledges a repeated input again without processing it twice', async () => {
    const { store, pipeline, inputs } = setup();
    const first = input({ y: [5] }, { key: 'same' });
    const got = results(pipeline, 1);
    inputs.next(first);
    await got;
    const again = input({ y: [5] }, { key: 'same' });
    inputs.next(again);
    await pipeline.drain();
    expect(again.acked).toBe(true);
    expect(store.counts().results).toBe(1);
    expect(pipeline.stats().duplicates).toBe(1);
    store.close();
  });

  it('commits inputs arriving together in one group; a duplicate racing in the same group fails alone', async () => {
    const { store, pipeline, inputs } = setup();
    const twins = [input({ y: [1] }, { key: 'twin' }), input({ y: [1] }, { key: 'twin' })];
    const others = [2, 3, 4].map((v) => input({ y: [v] }, { key: `o${v}` }));
    [...twins, ...others].forEach((i) => inputs.next(i)); // ingestConcurrency 2: the twins share a group
    await pipeline.drain();
    expect(store.counts()).toMatchObject({ spectra: 4, results: 4, pending: 0 });
    expect(others.every((i) => i.acked)).toBe(true);
    // Exactly one twin is recorded and acknowledged; the other stays at its source (a redelivery is then a duplicate).
    expect(twins.filter((t) => t.acked)).toHaveLength(1);
    expect(twins.filter((t) => t.rejected !== undefined)).toHaveLength(0);
    store.close();
  });

  it('isolates a spectrum the encoder chokes on: only it is rejected', async () => {
    const { store, pipeline, inputs, domain } = setup({ batchSize: 3, windowMs: 50 });
    const got = results(pipeline, 3);
    [1, 666, 3].forEach((v) => inputs.next(input({ y: [v] })));
    const rs = await got;
    expect(rs.map((r) => r.status)).toEqual(['identified', 'rejected', 'identified']);
    expect(rs[1].error).toEqual({ code: 'identify-failed', message: 'encoder fault' });
    expect(domain.calls).toEqual([3, 1, 1, 1]);
    await pipeline.drain();
    store.close();
  });

  it('drain waits for spectra in flight and commits their results', async () => {
    const { store, pipeline, inputs, domain } = setup({ delayMs: 50, batchSize: 2, windowMs: 1 });
    for (let v = 0; v < 5; v++) inputs.next(input({ y: [v] }));
    await waitFor('a batch in identify', () => domain.calls.length > 0, 10_000, 1);
    await pipeline.drain();
    expect(store.counts()).toMatchObject({ spectra: 5, pending: 0, results: 5 });
    const late = input({ y: [9] });
    inputs.next(late); // after drain: not taken, not acknowledged
    expect(late.acked).toBe(false);
    store.close();
  });

  it('keeps memory within the queue bound under a burst and loses or duplicates nothing', async () => {
    const { store, pipeline, inputs } = setup({ delayMs: 5, batchSize: 2, queueBound: 4, windowMs: 0 });
    let maxInMemory = 0;
    const n = 40;
    const all = firstValueFrom(pipeline.results$.pipe(filter(() => ((maxInMemory = Math.max(maxInMemory, pipeline.stats().inMemory)), true)), take(n), toArray()));
    const ins = Array.from({ length: n }, (_, v) => input({ y: [v] }, { key: `b${v}` }));
    ins.forEach((i) => {
      inputs.next(i);
      maxInMemory = Math.max(maxInMemory, pipeline.stats().inMemory);
    });
    const rs = await all;
    expect(ins.every((i) => i.acked)).toBe(true);
    expect(new Set(rs.map((r) => r.class)).size).toBe(n);
    expect(maxInMemory).toBeLessThanOrEqual(4 + 2); // queue bound + the batch being encoded
    await pipeline.drain();
    expect(store.counts()).toMatchObject({ spectra: n, pending: 0, results: n });
    expect(store.outboxDepths()).toEqual({ out: n });
    store.close();
  });

  it('at start identifies spectra an earlier run committed but did not finish', async () => {
    const file = tmpDb();
    const earlier = new Store(file);
    const ids = [ulid(), ulid()];
    earlier.commitIngest({
      spectra: ids.map((id, i) => ({ id, adapter: 'test', source: `s${i}`, instrument: 'x', receivedAt: new Date().toISOString(), block: 0, raw: Buffer.from('r'), preprocessed: Float32Array.from([40 + i]) })),
      results: [],
      alerts: [],
    });
    earlier.close();
    const { store, pipeline } = setup({ file });
    const rs = await results(pipeline, 2);
    expect(rs.map((r) => [r.id, r.class])).toEqual([
      [ids[0], 'c40'],
      [ids[1], 'c41'],
    ]);
    await pipeline.drain();
    expect(store.counts().pending).toBe(0);
    store.close();
  });
});
