import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { SpectrumInputError } from '../../core/errors.ts';
import type { ResultMessage } from '../../core/messages.ts';
import { buildHttpServer } from '../../daemon/http/server.ts';
import type { ApiServices, EnrollRequest } from '../../daemon/http/services.ts';
import { ulid } from '../../daemon/store/ids.ts';
import { Store } from '../../daemon/store/store.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'spectrad-http-'));
const store = new Store(path.join(dir, 'db'));
const enrolled: EnrollRequest[] = [];
let ready = true;

const services: ApiServices = {
  store,
  health: () => ({
    status: ready ? 'ok' : 'starting',
    ready,
    modelVersion: 'm1',
    uptimeS: 1,
    adapters: [{ name: 'inbox', kind: 'folder', state: 'up', since: new Date().toISOString() }],
    queueDepth: 0,
    queueBound: 512,
    queues: {},
    outbox: {},
    counts: store.counts(),
  }),
  async identifyUpload(payload, name) {
    if (!payload.toString().startsWith('##')) throw new SpectrumInputError('unknown-format', `${name ?? 'upload'}: not a spectrum file`);
    return [{ block: 1, status: 'identified', class: 'c1', score: 0.9, candidates: [{ class: 'c1', score: 0.9 }], modelVersion: 'm1' }];
  },
  async enroll(req) {
    enrolled.push(req);
    const id = ulid();
    store.addReferences(req.name, 'api', [{ vector: Float32Array.from([0, 2]), enrollmentId: id }]);
    // Files named bad* stand for files the daemon refuses; the others for files it enrolls.
    const refused = (req.files ?? []).filter((f) => f.name?.startsWith('bad')).map((f) => ({ file: f.name as string, code: 'csv-no-data', message: `${f.name}: no numeric data rows` }));
    return { class: req.name, created: true, added: 1, enrollmentId: id, ...(refused.length ? { refused } : {}) };
  },
  async undoEnrollment(id) {
    return { removed: store.undoEnrollment(id).removed };
  },
  rawCurve: (payload) => ({ y: payload.toString().split(',').map(Number) }),
  gridX: () => [0, 1],
};

let app: FastifyInstance;
const ids = [ulid(), ulid(), ulid()];
const alertId = ulid();

beforeAll(async () => {
  const dash = path.join(dir, 'dist');
  mkdirSync(dash);
  writeFileSync(path.join(dash, 'index.html'), '<h1>dashboard</h1>');
  app = await buildHttpServer(services, { token: 's3cret', uploadLimitBytes: 1000, dashboardDir: dash, version: '0.1.0' });
  store.commitIngest({
    spectra: ids.map((id, i) => ({ id, adapter: 'inbox', source: `/in/${i}.csv`, instrument: i === 2 ? 'raman' : 'ftir', receivedAt: new Date().toISOString(), block: 0, raw: Buffer.from('1,2,3'), preprocessed: Float32Array.from([0.5, 1]) })),
    results: [],
    alerts: [],
  });
  const result = (id: string, i: number): ResultMessage => ({
    id, instrument: i === 2 ? 'raman' : 'ftir', source: `/in/${i}.csv`, receivedAt: new Date().toISOString(),
    status: i === 1 ? 'unknown' : 'identified', class: i === 1 ? undefined : 'c1', score: 0.8, candidates: [], latencyMs: 3, modelVersion: 'm1',
  });
  store.commitResults(ids.map(result), [{ id: alertId, kind: 'unknown', instrument: 'ftir', at: new Date().toISOString(), message: 'unknown', resultId: ids[1] }]);
  store.addReferences('c1', 'demo', [{ vector: Float32Array.from([1, 0.5]) }]);
});
afterAll(async () => {
  await app.close();
  store.close();
});

describe('HTTP API (inject)', () => {
  it('answers health 200 when ready and 503 while starting', async () => {
    const ok = await app.inject('/api/health');
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ status: 'ok', ready: true, modelVersion: 'm1', adapters: [{ name: 'inbox', state: 'up' }] });
    ready = false;
    expect((await app.inject('/api/health')).statusCode).toBe(503);
    ready = true;
  });

  it('pages and filters results', async () => {
    const page = (await app.inject('/api/results?limit=2')).json();
    expect(page.items.map((r: ResultMessage) => r.id)).toEqual([ids[2], ids[1]]);
    const next = (await app.inject(`/api/results?limit=2&cursor=${page.nextCursor}`)).json();
    expect(next.items.map((r: ResultMessage) => r.id)).toEqual([ids[0]]);
    expect((await app.inject('/api/results?instrument=raman')).json().items).toHaveLength(1);
    expect((await app.inject('/api/results?status=unknown,rejected')).json().items.map((r: ResultMessage) => r.id)).toEqual([ids[1]]);
    const bad = await app.inject('/api/results?status=maybe&limit=0');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('bad-request');
  });

  it('returns a spectrum with payload, curves, result and class reference; 404 for an unknown id', async () => {
    const s = (await app.inject(`/api/spectra/${ids[0]}`)).json();
    expect(s).toMatchObject({ id: ids[0], state: 'done', payload: { encoding: 'utf8', data: '1,2,3' }, raw: { y: [1, 2, 3] }, preprocessed: { x: [0, 1], y: [0.5, 1] } });
    expect(s.result.class).toBe('c1');
    expect(s.reference).toEqual({ class: 'c1', x: [0, 1], y: [1, 0.5] });
    const missing = await app.inject('/api/spectra/nope');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ error: { code: 'not-found', message: 'no spectrum nope' } });
  });

  it('identifies an uploaded file of any content type, refuses junk (422) and oversize (413)', async () => {
    const ok = await app.inject({ method: 'POST', url: '/api/identify?filename=a.jdx', payload: '##TITLE=x', headers: { 'content-type': 'chemical/x-jcamp-dx' } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().items[0]).toMatchObject({ status: 'identified', class: 'c1' });
    const json = await app.inject({ method: 'POST', url: '/api/identify', payload: '{"y":[1]}', headers: { 'content-type': 'application/json' } });
    expect(json.statusCode).toBe(422);
    expect(json.json().error).toEqual({ code: 'unknown-format', message: 'upload: not a spectrum file' });
    const big = await app.inject({ method: 'POST', url: '/api/identify', payload: '##' + 'x'.repeat(2000), headers: { 'content-type': 'text/plain' } });
    expect(big.statusCode).toBe(413);
    expect(big.json().error.code).toBe('too-large');
    expect((await app.inject({ method: 'POST', url: '/api/identify', payload: '', headers: { 'content-type': 'text/plain' } })).statusCode).toBe(400);
  });

  it('lists classes; enrolling needs the token; an enrollment can be undone', async () => {
    expect((await app.inject('/api/classes')).json().items).toEqual([expect.objectContaining({ name: 'c1', references: 1, source: 'demo' })]);
    const body = { name: 'caffeine', spectrumIds: [ids[1]] };
    expect((await app.inject({ method: 'POST', url: '/api/classes', payload: body })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url: '/api/classes', payload: body, headers: { authorization: 'Bearer wrong' } })).statusCode).toBe(401);
    expect(enrolled).toHaveLength(0);
    const auth = { authorization: 'Bearer s3cret' };
    expect((await app.inject({ method: 'POST', url: '/api/classes', payload: { name: 'x' }, headers: auth })).statusCode).toBe(400);
    expect((await app.inject({ method: 'POST', url: '/api/classes', payload: { name: 'x', spectrumIds: [], extra: 1 }, headers: auth })).statusCode).toBe(400);
    const res = await app.inject({ method: 'POST', url: '/api/classes', payload: body, headers: auth });
    expect(res.statusCode).toBe(201);
    const { enrollmentId } = res.json();
    expect(enrolled).toEqual([body]);
    expect((await app.inject('/api/classes')).json().items.map((c: { name: string }) => c.name)).toEqual(['c1', 'caffeine']);
    expect((await app.inject('/api/classes/caffeine/reference')).json()).toEqual({ class: 'caffeine', x: [0, 1], y: [0, 1] });
    expect((await app.inject({ method: 'DELETE', url: `/api/enrollments/${enrollmentId}` })).statusCode).toBe(401);
    expect((await app.inject({ method: 'DELETE', url: `/api/enrollments/${enrollmentId}`, headers: auth })).json()).toEqual({ removed: 1 });
    expect((await app.inject({ method: 'DELETE', url: `/api/enrollments/${enrollmentId}`, headers: auth })).statusCode).toBe(404);
  });

  it('answers 207 with the refused files when only some uploaded files were enrolled', async () => {
    const auth = { authorization: 'Bearer s3cret' };
    const files = [{ name: 'good.csv', content: '1,2\n2,3\n' }, { name: 'bad.csv', content: 'hello' }];
    const partial = await app.inject({ method: 'POST', url: '/api/classes', payload: { name: 'mixed', files }, headers: auth });
    expect(partial.statusCode).toBe(207);
    expect(partial.json()).toMatchObject({ class: 'mixed', added: 1, refused: [{ file: 'bad.csv', code: 'csv-no-data' }] });
    const whole = await app.inject({ method: 'POST', url: '/api/classes', payload: { name: 'whole', files: files.slice(0, 1), allOrNothing: true }, headers: auth });
    expect(whole.statusCode).toBe(201);
    expect(whole.json().refused).toBeUndefined();
  });

  it('lists and acknowledges alerts', async () => {
    expect((await app.inject('/api/alerts')).json().items[0]).toMatchObject({ id: alertId, kind: 'unknown', resultId: ids[1] });
    const ack = await app.inject({ method: 'POST', url: `/api/alerts/${alertId}/ack`, headers: { authorization: 'Bearer s3cret' } });
    expect(ack.json()).toMatchObject({ id: alertId, acknowledgedAt: expect.any(String) });
    expect((await app.inject('/api/alerts')).json().items[0].acknowledgedAt).toBe(ack.json().acknowledgedAt);
  });

  it('pages, counts and filters alerts, and acknowledges a filter in one request', async () => {
    const t = Date.now() - 600_000;
    const bulk = Array.from({ length: 250 }, (_, i) => ({ id: ulid(t + i), kind: (i % 2 ? 'rejected' : 'unknown') as 'rejected' | 'unknown', instrument: i % 5 === 0 ? 'ir-9' : 'raman-9', at: new Date(t + i).toISOString(), message: `m${i}` }));
    for (const a of bulk) store.addAlert(a);
    const first = (await app.inject('/api/alerts?state=open&instrument=ir-9&limit=20')).json();
    expect(first.items).toHaveLength(20);
    expect(first.items.every((a: { instrument: string }) => a.instrument === 'ir-9')).toBe(true);
    expect(first.counts.openByInstrument['ir-9']).toBe(50);
    const second = (await app.inject(`/api/alerts?state=open&instrument=ir-9&limit=20&cursor=${first.nextCursor}`)).json();
    expect(second.items[0].id < first.items[19].id).toBe(true);
    const openBefore = first.counts.open;

    expect((await app.inject({ method: 'POST', url: '/api/alerts/ack', payload: { instrument: 'ir-9' } })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url: '/api/alerts/ack', headers: { authorization: 'Bearer s3cret' }, payload: {} })).statusCode).toBe(400);
    // Up to the newest alert the operator saw: one that arrived after it stays open.
    const upTo = bulk.filter((a) => a.instrument === 'ir-9').at(-2)!.id;
    const ack = await app.inject({ method: 'POST', url: '/api/alerts/ack', headers: { authorization: 'Bearer s3cret' }, payload: { instrument: 'ir-9', upTo } });
    expect(ack.statusCode).toBe(200);
    expect(ack.json().acknowledged).toBe(49);
    expect(ack.json().counts.openByInstrument['ir-9']).toBe(1);
    expect(ack.json().counts.open).toBe(openBefore - 49);
    const byIds = await app.inject({ method: 'POST', url: '/api/alerts/ack', headers: { authorization: 'Bearer s3cret' }, payload: { ids: [bulk[1].id, bulk[3].id] } });
    expect(byIds.json().ids.sort()).toEqual([bulk[1].id, bulk[3].id].sort());
    const all = await app.inject({ method: 'POST', url: '/api/alerts/ack', headers: { authorization: 'Bearer s3cret' }, payload: { all: true } });
    expect(all.json().counts.open).toBe(0);
  });

  it('answers per-instrument trends from the stored results', async () => {
    const now = Date.now();
    // Buckets are whole minutes of the clock, the last the current one: the newest result goes in that minute
    // (5 s ago fell in the previous one when the minute had just begun; failed once in a fresh-clone run).
    const sid = [ulid(now - 90_000), ulid(now - 80_000), ulid(now - Math.min(5_000, now % 60_000))];
    store.commitIngest({
      spectra: sid.map((id) => ({ id, adapter: 'inbox', source: `/in/${id}.csv`, instrument: 'trend-1', receivedAt: new Date().toISOString(), block: 0, raw: Buffer.from('1,2'), preprocessed: Float32Array.from([0.5, 1]) })),
      results: [], alerts: [],
    });
    const msg = (id: string, status: 'identified' | 'unknown', latencyMs: number, score: number) =>
      ({ id, instrument: 'trend-1', status, score, latencyMs, candidates: [], modelVersion: 'm1', receivedAt: new Date().toISOString(), source: 'x' }) as ResultMessage;
    store.commitResults([msg(sid[0], 'identified', 100, 0.9), msg(sid[1], 'unknown', 300, 0.1), msg(sid[2], 'identified', 50, 0.8)], []);
    const res = await app.inject('/api/instruments/trends?minutes=5&bucketS=60');
    expect(res.statusCode).toBe(200);
    const series = res.json().items.find((i: { instrument: string }) => i.instrument === 'trend-1');
    expect(series.buckets).toHaveLength(5);
    const filled = series.buckets.filter((b: { n: number }) => b.n > 0);
    expect(filled.reduce((a: number, b: { n: number }) => a + b.n, 0)).toBe(3);
    const last = series.buckets.at(-1);
    expect(last).toMatchObject({ n: 1, status: { identified: 1 }, p50Ms: 50, p95Ms: 50, meanScore: 0.8 });
    expect((await app.inject('/api/instruments/trends?minutes=0')).statusCode).toBe(400);
  });

  it('describes every route in an OpenAPI 3 document', async () => {
    const doc = (await app.inject('/api/openapi.json')).json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths).sort()).toEqual(
      ['/api/alerts', '/api/alerts/ack', '/api/alerts/{id}/ack', '/api/classes', '/api/classes/{name}/reference', '/api/enrollments/{id}', '/api/health', '/api/identify', '/api/openapi.json', '/api/results', '/api/results/export', '/api/spectra/{id}',
        '/api/retrain', '/api/models', '/api/models/{version}/promote', '/api/models/rollback', '/api/instruments', '/api/instruments/trends', '/metrics'].sort(),
    );
    expect(doc.paths['/api/classes'].post.security).toEqual([{ bearer: [] }]);
    expect(doc.paths['/api/results'].get.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['instrument', 'class', 'status', 'cursor', 'offset', 'sort', 'limit']));
    expect(doc.components.schemas.ResultMessage.required).toContain('modelVersion');
  });

  it('answers GET /metrics with 404 when the services have no metrics (the daemon always has)', async () => {
    const res = await app.inject('/metrics');
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('not-found');
  });

  it('serves the dashboard and answers JSON 404 elsewhere', async () => {
    expect((await app.inject('/')).body).toContain('dashboard');
    expect((await app.inject('/api/nope')).json().error.code).toBe('not-found');
  });
});

describe('HTTP API without a built dashboard', () => {
  it('answers / with how to build the dashboard instead of a JSON 404', async () => {
    const bare = await buildHttpServer(services, { uploadLimitBytes: 1000, version: '0', dashboardDir: path.join(dir, 'no-dist') });
    const res = await bare.inject('/');
    expect(res.statusCode).toBe(503);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.body).toContain('npm run build:dashboard');
    expect((await bare.inject('/api/nope')).json().error.code).toBe('not-found');
    await bare.close();
  });
});

describe('HTTP API without a token', () => {
  it('refuses writes with 403 and says how to enable them', async () => {
    const open = await buildHttpServer(services, { uploadLimitBytes: 1000, version: '0' });
    const res = await open.inject({ method: 'POST', url: '/api/classes', payload: { name: 'a', spectrumIds: ['x'] } });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.message).toMatch(/http\.token/);
    await open.close();
  });
});

describe('HTTP API on a real socket', () => {
  it('listens and answers over TCP', async () => {
    const real = await buildHttpServer(services, { uploadLimitBytes: 1000, version: '0' });
    await real.listen({ host: '127.0.0.1', port: 0 });
    const { port } = real.server.address() as { port: number };
    const res = await fetch(`http://127.0.0.1:${port}/api/health`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { modelVersion: string }).modelVersion).toBe('m1');
    await real.close();
  });
});
