/**
 * One site view: two nodes (each its own SQLite store, its SitePart and its HTTP API built by the daemon's own
 * createApiServices) on one real PostgreSQL 15 started here. Node A's API must serve node B's results in the export
 * (CSV, JSON and JCAMP-DX with B's spectra), the trends, the instruments, a spectrum by id, and the alerts; with
 * PostgreSQL gone, A's export falls back to A's own history instead of failing.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResolvedConfig } from '../../config/load.ts';
import type { AdapterState, AlertMessage, ResultMessage } from '../../core/messages.ts';
import { InstrumentHealthTracker } from '../../daemon/health/instrument-health.ts';
import { buildHttpServer } from '../../daemon/http/server.ts';
import type { AdapterHealth } from '../../daemon/parts/adapter-health.ts';
import type { LibraryPart } from '../../daemon/parts/library-part.ts';
import type { ModelPart } from '../../daemon/parts/model.ts';
import { createApiServices } from '../../daemon/parts/services.ts';
import { claimEnrollmentKey } from '../../daemon/site/enrollment-keys.ts';
import { SitePart } from '../../daemon/parts/site-part.ts';
import type { StorePart } from '../../daemon/parts/store-part.ts';
import type { DaemonMetrics } from '../../daemon/metrics.ts';
import { ulid } from '../../daemon/store/ids.ts';
import { Store } from '../../daemon/store/store.ts';
import { startPostgres, stopAllServers, type Postgres } from '../../support/servers.ts';

const TOKEN = 'site-view-token';
const log = pino({ level: process.env.SITE_TEST_LOG ?? 'silent' });

interface Node {
  readonly name: string;
  readonly instrument: string;
  readonly store: Store;
  readonly part: SitePart;
  readonly app: FastifyInstance;
  readonly tracker: InstrumentHealthTracker;
  readonly ids: string[];
}

let server: Postgres;
const nodes: Node[] = [];

async function startNode(name: string, url: string): Promise<Node> {
  const store = new Store(path.join(mkdtempSync(path.join(tmpdir(), `spectrad-view-${name}-`)), 'spectrad.db'), { outputs: ['site'] });
  const config = {
    node: { id: name },
    outputs: [],
    store: { retentionDays: 0 },
    site: { postgres: { url, pollMs: 60_000, catchUpTimeoutS: 10 } },
  } as unknown as ResolvedConfig;
  const storePart = { store } as unknown as StorePart;
  const model = { encoder: { version: 'm1' } } as unknown as ModelPart;
  // The library's enrollment as daemon/library.ts makes it, less the embedding (no encoder here): the key replays.
  const enroll = async (name: string, vectors: Float32Array[], origin: string, spectrumIds?: Array<string | undefined>, by?: string, requestKey?: string) => {
    const done = requestKey ? store.enrollmentByKey(requestKey) : undefined;
    if (done) return { class: done.class, created: done.created, added: done.added, enrollmentId: done.enrollmentId, replayed: true };
    const enrollmentId = ulid();
    const created = store.addReferences(name, origin, vectors.map((vector, i) => ({ vector, spectrumId: spectrumIds?.[i], enrollmentId })), { labelledBy: by, requestKey });
    return { class: name, created, added: vectors.length, enrollmentId };
  };
  const library = { library: { load: async () => undefined, enroll }, models: undefined } as unknown as LibraryPart;
  const part = new SitePart({ config, log, store: storePart, model, library });
  await part.start();
  const instrument = `${name}-raman`;
  const adapters: AdapterState[] = [{ name: 'inbox', kind: 'folder', state: 'up', since: new Date().toISOString() }];
  const tracker = new InstrumentHealthTracker([instrument], () => instrument);
  const services = createApiServices({
    log,
    store: storePart,
    model,
    library,
    metrics: {} as DaemonMetrics,
    instruments: tracker,
    adapterHealth: { list: () => adapters } as unknown as AdapterHealth,
    health: () => ({ status: 'ok', ready: true, uptimeS: 1, adapters, queueDepth: 0, queueBound: 1, queues: {}, outbox: {}, counts: {} }),
    socketActions: () => undefined,
    site: part,
  });
  const app = await buildHttpServer(services, { uploadLimitBytes: 100_000, version: 'test', token: TOKEN });
  return { name, instrument, store, part, app, tracker, ids: [] };
}

/** A spectrum received and identified on a node, its result and alert sent to the site as the outbox sends them. */
async function receive(node: Node, i: number): Promise<string> {
  const id = ulid();
  const receivedAt = new Date().toISOString();
  const source = `/in/${node.name}-${i}.jdx`;
  node.store.commitIngest({ spectra: [{ id, adapter: 'inbox', source, instrument: node.instrument, receivedAt, block: 0, raw: Buffer.from(`##TITLE=${i}`), preprocessed: Float32Array.from([i, 1, 2]) }], results: [], alerts: [] });
  const unknown = i % 2 === 1;
  const result: ResultMessage = {
    id, instrument: node.instrument, source, receivedAt, status: unknown ? 'unknown' : 'identified', score: 0.9, candidates: [], latencyMs: 5 + i, modelVersion: 'm1', node: node.name,
    ...(unknown ? {} : { class: 'quartz' }),
  };
  const alerts: AlertMessage[] = unknown ? [{ id: ulid(), kind: 'unknown', instrument: node.instrument, at: receivedAt, message: 'unknown spectrum', resultId: id, node: node.name }] : [];
  node.store.commitResults([result], alerts);
  node.tracker.record(result);
  const [output] = node.part.outputs();
  await output.publishResult(result);
  for (const a of alerts) await output.publishAlert(a);
  node.ids.push(id);
  return id;
}

beforeAll(async () => {
  server = await startPostgres();
  const url = await server.createDatabase('site_view');
  for (const name of ['hall-a', 'hall-b']) nodes.push(await startNode(name, url));
  for (let i = 0; i < 3; i++) await receive(nodes[0], i);
  for (let i = 0; i < 4; i++) await receive(nodes[1], i);
}, 60_000);

afterAll(async () => {
  for (const n of nodes) {
    await n.app.close();
    await n.part.stop();
    n.store.close();
  }
  await stopAllServers();
});

describe('any node serves the whole site', () => {
  it('exports every node’s results: JSON, CSV and JCAMP-DX with the other node’s spectra, filtered', async () => {
    const [a, b] = nodes;
    const all = [...a.ids, ...b.ids].sort().reverse();
    const json = await a.app.inject('/api/results/export?format=json');
    expect(json.statusCode).toBe(200);
    expect((JSON.parse(json.body) as ResultMessage[]).map((r) => r.id)).toEqual(all);
    const csv = await a.app.inject(`/api/results/export?format=csv&instrument=${b.instrument}`);
    const rows = csv.body.trim().split('\r\n');
    expect(rows.slice(1).map((r) => r.split(',')[0])).toEqual([...b.ids].reverse());
    const jcamp = await a.app.inject('/api/results/export?format=jcamp');
    for (const id of all) expect(jcamp.body).toContain(`##$SPECTRAD ID=${id}`);
    // This node's own store holds only its own.
    expect(Array.from(a.store.iterateResults({})).length).toBe(a.ids.length);
  });

  it('serves trends and instruments of both nodes: the other node’s instrument with its counts, fed by no adapter here', async () => {
    const [a, b] = nodes;
    const trends = (await a.app.inject('/api/instruments/trends?minutes=10&bucketS=60')).json() as { items: Array<{ instrument: string; buckets: Array<{ n: number }> }> };
    const perInstrument = Object.fromEntries(trends.items.map((t) => [t.instrument, t.buckets.reduce((s, x) => s + x.n, 0)]));
    expect(perInstrument).toEqual({ [a.instrument]: 3, [b.instrument]: 4 });
    const instruments = (await a.app.inject('/api/instruments')).json() as { items: Array<{ name: string; counts: { results: number; unknown: number; identified: number }; ratePerMin: number; adapters: unknown[]; state: string }> };
    const byName = Object.fromEntries(instruments.items.map((x) => [x.name, x]));
    expect(byName[b.instrument]).toMatchObject({ counts: { results: 4, unknown: 2, identified: 2 }, ratePerMin: 4, adapters: [], state: 'idle' });
    expect(byName[a.instrument]).toMatchObject({ counts: { results: 3, unknown: 1, identified: 2 }, state: 'up' });
    expect(byName[a.instrument].adapters).toHaveLength(1);
  });

  it('answers the other node’s spectrum by id, and lists and counts both nodes’ alerts', async () => {
    const [a, b] = nodes;
    const s = await a.app.inject(`/api/spectra/${b.ids[1]}`);
    expect(s.statusCode).toBe(200);
    expect(s.json()).toMatchObject({ id: b.ids[1], instrument: b.instrument, result: { node: 'hall-b', status: 'unknown' } });
    const alerts = (await a.app.inject('/api/alerts?state=open')).json() as { items: Array<{ node: string }>; counts: { open: number } };
    expect(alerts.counts.open).toBe(3);
    expect(alerts.items.map((x) => x.node).sort()).toEqual(['hall-a', 'hall-b', 'hall-b']);
  });

  it('holds an enrollment’s Idempotency-Key site-wide: a retry on the other node answers the first enrollment', async () => {
    const [a, b] = nodes;
    const post = (node: Node, key: string, body: object) =>
      node.app.inject({ method: 'POST', url: '/api/classes', headers: { authorization: `Bearer ${TOKEN}`, 'idempotency-key': key }, payload: body });
    // Enrolled on A from a spectrum B received (its vector comes from the site).
    const first = await post(a, 'key-1', { name: 'calcite', spectrumIds: [b.ids[0]] });
    expect(first.statusCode).toBe(201);
    const retry = await post(b, 'key-1', { name: 'calcite', spectrumIds: [b.ids[0]] });
    expect(retry.statusCode).toBe(200);
    expect(retry.json()).toMatchObject({ class: 'calcite', enrollmentId: first.json().enrollmentId, added: 1, replayed: true });
    expect(b.store.enrollmentByKey('key-1')).toBeUndefined();
    const reused = await post(b, 'key-1', { name: 'dolomite', spectrumIds: [b.ids[0]] });
    expect(reused.statusCode).toBe(422);
    expect(reused.json().error.code).toBe('idempotency-key-reused');
    // A key another node is enrolling under right now: a clear refusal, nothing added.
    const site = a.part.site!;
    expect(await claimEnrollmentKey(site.pool, 'key-2', 'gypsum', 'hall-z')).toEqual({ kind: 'claimed' });
    const racing = await post(a, 'key-2', { name: 'gypsum', spectrumIds: [a.ids[0]] });
    expect(racing.statusCode).toBe(422);
    expect(racing.json().error).toMatchObject({ code: 'idempotency-key-in-progress', message: expect.stringContaining('hall-z') });
    // An enrollment that fails gives its key back: the corrected retry enrolls.
    const failed = await post(a, 'key-3', { name: 'halite', spectrumIds: ['no-such-spectrum'] });
    expect(failed.statusCode).toBe(422);
    const corrected = await post(b, 'key-3', { name: 'halite', spectrumIds: [a.ids[0]] });
    expect(corrected.statusCode).toBe(201);
    expect((await post(a, 'key-3', { name: 'halite', spectrumIds: [a.ids[0]] })).json()).toMatchObject({ replayed: true, enrollmentId: corrected.json().enrollmentId });
  });

  it('with PostgreSQL gone, exports and trends answer from this node’s own history', async () => {
    const [a] = nodes;
    await server.stop('SIGKILL');
    const json = await a.app.inject('/api/results/export?format=json');
    expect(json.statusCode).toBe(200);
    expect((JSON.parse(json.body) as ResultMessage[]).map((r) => r.id)).toEqual([...a.ids].reverse());
    const trends = (await a.app.inject('/api/instruments/trends?minutes=10')).json() as { items: Array<{ instrument: string }> };
    expect(trends.items.map((t) => t.instrument)).toEqual([a.instrument]);
    const instruments = (await a.app.inject('/api/instruments')).json() as { items: Array<{ name: string }> };
    expect(instruments.items.map((x) => x.name)).toEqual([a.instrument]);
  }, 60_000);
});
