import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { Subject } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RawInput } from '../../adapters/types.ts';
import type { ResultMessage } from '../../core/messages.ts';
import { createSpectrum } from '../../core/spectrum.ts';
import { migrateSite } from '../../daemon/site/migrations.ts';
import { SiteResultArbiter } from '../../daemon/site/result-arbiter.ts';
import { ulid } from '../../daemon/store/ids.ts';
import { Store } from '../../daemon/store/store.ts';
import type { PipelineDomain } from '../../pipelines/domain.ts';
import type { ArbiterVerdict, ResultArbiter } from '../../pipelines/ports.ts';
import { SpectrumPipeline } from '../../pipelines/spectrum-pipeline.ts';
import { freePort, startPostgres, stopAllServers, waitFor, type Postgres } from '../../support/servers.ts';

/**
 * Once across the site for work-queue spectra (daemon/site/result-arbiter.ts): the same job reaches two nodes (its
 * first node died at some point, or its lease ran out) and exactly one result counts, on the site and in the nodes'
 * stores. Each crash point of the first node is reproduced by stopping its pipeline there for good (a hung arbiter or
 * identification: nothing after that point happens, as after SIGKILL) and "restarting" it on the same store file.
 * Real PostgreSQL, real SQLite stores, the real pipeline; only identification is a stand-in (pure logic).
 */
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const QUEUE = 'queue';
let postgres: Postgres;
const pools: pg.Pool[] = [];
let databases = 0;

beforeAll(async () => {
  postgres = await startPostgres();
}, 60_000);
afterAll(async () => {
  await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
  await stopAllServers();
});

async function sitePool(): Promise<pg.Pool> {
  const pool = new pg.Pool({ connectionString: await postgres.createDatabase(`arbiter_${++databases}`), max: 4 });
  pools.push(pool);
  await migrateSite(pool);
  return pool;
}

/** Identification answering `cls`; `hang` set: it never answers (the node dies before its result). */
function domain(cls: string, hang = false): PipelineDomain {
  return {
    modelVersion: 'fake-1',
    parse: (raw) => [{ block: 0, spectrum: createSpectrum({ y: (JSON.parse(raw.payload.toString()) as { y: number[] }).y }) }],
    preprocess: (s) => Float32Array.from(s.y),
    identify: (vs) => (hang ? new Promise(() => undefined) : Promise.resolve(vs.map(() => ({ status: 'identified' as const, class: cls, score: 0.9, candidates: [{ class: cls, score: 0.9 }] })))),
  };
}

/** The job `name` as a queue input delivers it: same key on every node, acknowledged only after its result. */
function job(name: string, acks: string[]): RawInput {
  return {
    adapter: QUEUE,
    source: `spectrad/lab/spectrum`,
    receivedAt: new Date().toISOString(),
    payload: Buffer.from(JSON.stringify({ y: [1, 2, 3, 4] })),
    dedupKey: `queue-key:${name}`,
    ackAfterResult: true,
    ack: async () => void acks.push(name),
    reject: async () => void acks.push(`rejected ${name}`),
  };
}

interface Node {
  readonly name: string;
  readonly store: Store;
  readonly pipeline: SpectrumPipeline;
  readonly inputs: Subject<RawInput>;
  readonly acks: string[];
}

function node(name: string, file: string, d: PipelineDomain, arbiter: () => ResultArbiter | undefined): Node {
  const store = new Store(file);
  const pipeline = new SpectrumPipeline({
    store, domain: d, batchSize: 4, windowMs: 5, queueBound: 64, ingestConcurrency: 2, defaultInstrument: 'lab', node: name, newId: () => ulid(), log: silent, arbiter,
  });
  const inputs = new Subject<RawInput>();
  pipeline.attach(inputs);
  pipeline.start();
  return { name, store, pipeline, inputs, acks: [] };
}

const storeFile = () => path.join(mkdtempSync(path.join(tmpdir(), 'arbiter-')), 'spectrad.db');

function results(store: Store): ResultMessage[] {
  return store.db.prepare<[], { message: string }>('SELECT message FROM results').all().map((r) => JSON.parse(r.message) as ResultMessage);
}

async function siteResults(pool: pg.Pool): Promise<Array<{ spectrum_id: string; node: string; class: string }>> {
  return (await pool.query<{ spectrum_id: string; node: string; class: string }>('SELECT spectrum_id, node, class FROM site_results ORDER BY spectrum_id')).rows;
}

/** The real arbiter, stopped for good once it has answered: the node dies after the decision, before its commit. */
function diesAfterDecision(real: ResultArbiter, decided: { n: number }): ResultArbiter {
  return {
    decide: async (r): Promise<ArbiterVerdict> => {
      await real.decide(r);
      decided.n += r.length;
      return new Promise(() => undefined);
    },
  };
}

describe('whose result counts for a queue spectrum two nodes identified', () => {
  it('node A dies after the site decision, before its local commit: B acknowledges without a result; A, restarted, commits the site\'s result', async () => {
    const pool = await sitePool();
    const fileA = storeFile();
    const decided = { n: 0 };
    const realA = new SiteResultArbiter(pool, 'A', new Store(fileA).db, [QUEUE], silent);
    const a = node('A', fileA, domain('first'), () => diesAfterDecision(realA, decided));
    const b = node('B', storeFile(), domain('second'), () => new SiteResultArbiter(pool, 'B', b.store.db, [QUEUE], silent));
    a.inputs.next(job('j1', a.acks));
    await waitFor('A decided', () => decided.n === 1, 10_000);
    expect(a.acks).toEqual([]);
    expect(results(a.store)).toEqual([]);
    // The site has A's result already: the decision and the site's copy are one statement.
    expect(await siteResults(pool)).toEqual([expect.objectContaining({ node: 'A', class: 'first' })]);

    // The queue gives the job to B after A's lease: B's copy is discarded and the job acknowledged.
    b.inputs.next(job('j1', b.acks));
    await waitFor('B acknowledged the job', () => b.acks.length === 1, 10_000);
    expect(results(b.store)).toEqual([]);
    expect(b.store.pendingCount()).toBe(0);

    // A restarts on its store: its pending copy is identified again (now answering 'other') and the site's result,
    // A's own from before the crash, is what it commits and publishes.
    const a2 = node('A', fileA, domain('other'), () => new SiteResultArbiter(pool, 'A', a2.store.db, [QUEUE], silent));
    await waitFor('A restarted committed its result', () => results(a2.store).length === 1, 10_000);
    const site = await siteResults(pool);
    expect(site).toHaveLength(1);
    expect(results(a2.store)).toEqual([expect.objectContaining({ id: site[0].spectrum_id, class: 'first', node: 'A' })]);
    expect(a2.store.pendingCount()).toBe(0);
    await Promise.all([b.pipeline.drain(), a2.pipeline.drain()]);
  }, 60_000);

  it('node A dies before the decision: B\'s result counts; A, restarted, discards its pending copy', async () => {
    const pool = await sitePool();
    const fileA = storeFile();
    const a = node('A', fileA, domain('first', true), () => new SiteResultArbiter(pool, 'A', a.store.db, [QUEUE], silent));
    const b = node('B', storeFile(), domain('second'), () => new SiteResultArbiter(pool, 'B', b.store.db, [QUEUE], silent));
    a.inputs.next(job('j1', a.acks));
    await waitFor('A holds the spectrum, pending', () => a.store.pendingCount() === 1, 10_000);
    b.inputs.next(job('j1', b.acks));
    await waitFor('B acknowledged the job', () => b.acks.length === 1, 10_000);
    expect(results(b.store)).toEqual([expect.objectContaining({ class: 'second', node: 'B' })]);

    const a2 = node('A', fileA, domain('first'), () => new SiteResultArbiter(pool, 'A', a2.store.db, [QUEUE], silent));
    await waitFor('A restarted dropped its copy', () => a2.store.pendingCount() === 0, 10_000);
    expect(results(a2.store)).toEqual([]);
    expect(await siteResults(pool)).toEqual([expect.objectContaining({ node: 'B', class: 'second', spectrum_id: results(b.store)[0].id })]);
    await Promise.all([b.pipeline.drain(), a2.pipeline.drain()]);
  }, 60_000);

  it('node A commits and dies before its queue ack: B acknowledges without a second result', async () => {
    const pool = await sitePool();
    const a = node('A', storeFile(), domain('first'), () => new SiteResultArbiter(pool, 'A', a.store.db, [QUEUE], silent));
    const b = node('B', storeFile(), domain('second'), () => new SiteResultArbiter(pool, 'B', b.store.db, [QUEUE], silent));
    a.inputs.next(job('j1', a.acks));
    await waitFor('A committed', () => results(a.store).length === 1, 10_000);
    b.inputs.next(job('j1', b.acks));
    await waitFor('B acknowledged the job', () => b.acks.length === 1, 10_000);
    expect(results(b.store)).toEqual([]);
    expect((await siteResults(pool)).map((r) => r.node)).toEqual(['A']);
    await Promise.all([a.pipeline.drain(), b.pipeline.drain()]);
  }, 60_000);

  it('without the arbiter the same redelivery gives a second result (the control)', async () => {
    const a = node('A', storeFile(), domain('first'), () => undefined);
    const b = node('B', storeFile(), domain('second'), () => undefined);
    a.inputs.next(job('j1', a.acks));
    await waitFor('A committed', () => results(a.store).length === 1, 10_000);
    b.inputs.next(job('j1', b.acks));
    await waitFor('B committed', () => results(b.store).length === 1, 10_000);
    await Promise.all([a.pipeline.drain(), b.pipeline.drain()]);
  }, 60_000);

  it('two nodes given the same jobs at once: one result per job across both, every job acknowledged on both', async () => {
    const pool = await sitePool();
    const a = node('A', storeFile(), domain('first'), () => new SiteResultArbiter(pool, 'A', a.store.db, [QUEUE], silent));
    const b = node('B', storeFile(), domain('second'), () => new SiteResultArbiter(pool, 'B', b.store.db, [QUEUE], silent));
    const names = Array.from({ length: 40 }, (_, i) => `j${i}`);
    for (const n of names) {
      a.inputs.next(job(n, a.acks));
      b.inputs.next(job(n, b.acks));
    }
    await waitFor('every job acknowledged on both nodes', () => a.acks.length === names.length && b.acks.length === names.length, 20_000);
    const both = [...results(a.store), ...results(b.store)];
    expect(both).toHaveLength(names.length);
    const site = await siteResults(pool);
    expect(site.map((r) => r.spectrum_id).sort()).toEqual(both.map((r) => r.id).sort());
    expect(a.store.pendingCount() + b.store.pendingCount()).toBe(0);
    await Promise.all([a.pipeline.drain(), b.pipeline.drain()]);
  }, 60_000);

  it('with the site unreachable a queue spectrum waits, pending and unacknowledged, and is decided once it answers', async () => {
    const pool = await sitePool();
    const down = new pg.Pool({ connectionString: `postgres://nobody@127.0.0.1:${await freePort()}/none`, connectionTimeoutMillis: 500 });
    pools.push(down);
    const warnings: string[] = [];
    const log = { ...silent, warn: (_o: object, msg?: string) => void warnings.push(msg ?? '') };
    let reachable = false;
    const a: Node = node('A', storeFile(), domain('first'), () => new SiteResultArbiter(reachable ? pool : down, 'A', a.store.db, [QUEUE], log));
    const plain = { ...job('folder-file', a.acks), adapter: 'inbox', source: 'inbox/f1.json', dedupKey: 'inbox:f1', ackAfterResult: undefined };
    a.inputs.next(job('j1', a.acks));
    a.inputs.next(plain);
    await waitFor('asked twice and left pending', () => warnings.filter((w) => w.includes('could not decide')).length >= 2, 20_000);
    // Only the queue spectrum waits: the folder input's spectrum has its result.
    expect(a.acks).toEqual(['folder-file']);
    expect(results(a.store).map((r) => r.source)).toEqual([plain.source]);
    expect(a.store.pendingCount()).toBe(1);
    reachable = true;
    await waitFor('decided and acknowledged once the site answers', () => a.acks.includes('j1'), 20_000);
    expect(a.store.pendingCount()).toBe(0);
    expect((await siteResults(pool)).map((r) => r.node)).toEqual(['A']);
    await a.pipeline.drain();
  }, 60_000);
});
