import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { firstValueFrom, filter, take } from 'rxjs';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/load.ts';
import type { ResultMessage } from '../../core/messages.ts';
import { startDaemon, type Daemon } from '../../daemon/run.ts';
import { dropFile, jcampText } from '../../support/daemon-process.ts';
import { waitFor } from '../../support/servers.ts';

/**
 * The daemon in this process with its real HTTP API, socket.io and watched folder, on the bundled model and a small
 * demo library: background retraining in a worker thread, promotion and rollback switching what results carry as
 * modelVersion, cancel, the token, socket.io alert acknowledgement and per-instrument health.
 */
const root = mkdtempSync(path.join(tmpdir(), 'spectrad-retrain-'));
const inbox = path.join(root, 'inbox');
const TOKEN = 'retrain-token';
const auth = { authorization: `Bearer ${TOKEN}` };
const classes = [3, 17, 42, 99, 250, 499];
let daemon: Daemon;
let base: string;
const sockets: Socket[] = [];
let dropped = 0;
/** When each spectrum was dropped: its result comes later, so a drop inside the last minute is inside the rate. */
const droppedAt: number[] = [];

interface Status {
  state: string;
  epoch?: number;
  epochs?: number;
  loss?: number;
  candidate?: string;
  before?: { metrics: { accuracy?: number } };
  after?: { metrics: { accuracy?: number } };
  activeVersion?: string;
  versions: Array<{ version: string; active: boolean; modelVersion?: string; metrics: Record<string, number> }>;
}

const api = async (method: string, url: string, opts: { token?: boolean; body?: unknown } = {}) => {
  const headers: Record<string, string> = opts.token ? { ...auth } : {};
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(base + url, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
};

/** Drops a benchmark spectrum into the inbox and waits for its result. */
async function identifyOne(cls: number, variant: number): Promise<ResultMessage> {
  const name = `c${cls}-v${variant}-${++dropped}.jdx`;
  droppedAt.push(Date.now());
  const result = firstValueFrom(daemon.pipeline.results$.pipe(filter((r) => r.source.endsWith(name)), take(1)));
  dropFile(inbox, name, jcampText(name, cls, variant));
  return result;
}

function connect(): Socket {
  const s = io(base, { path: '/socket.io', transports: ['websocket'], forceNew: true });
  sockets.push(s);
  return s;
}

async function waitState(states: string[], timeoutMs: number): Promise<Status> {
  return waitFor(`retrain state in ${states.join('|')}`, async () => {
    const s = (await api('GET', '/api/retrain')).json as unknown as Status;
    return states.includes(s.state) ? s : undefined;
  }, timeoutMs, 200);
}

beforeAll(async () => {
  mkdirSync(inbox);
  const config = parseConfig(
    [
      `dataDir: ${root}/data`,
      'instrument: raman-1',
      'inputs:',
      `  - { type: folder, name: inbox, paths: [${inbox}], stabilityMs: 50 }`,
      'outputs: [{ type: socketio }]',
      `http: { host: 127.0.0.1, port: 0, token: ${TOKEN} }`,
      `library: { demo: true, demoClasses: [${classes.join(', ')}], demoPerClass: 5 }`,
      'pipeline: { batchSize: 4, windowMs: 5 }',
    ].join('\n'),
    path.join(root, 'spectrad.yaml'),
    { env: {} },
  );
  daemon = await startDaemon(config, { logger: pino({ level: 'silent' }) });
  base = daemon.url!;
}, 120_000);

afterAll(async () => {
  sockets.forEach((s) => s.close());
  await daemon?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('background retraining, model versions, alerts and instruments (real daemon)', () => {
  it('refuses every state-changing model route without the token', async () => {
    for (const [method, url] of [['POST', '/api/retrain'], ['DELETE', '/api/retrain'], ['POST', '/api/models/v1/promote'], ['POST', '/api/models/rollback']]) {
      expect((await api(method, url)).status, `${method} ${url}`).toBe(401);
    }
    expect((await api('GET', '/api/models')).json).toMatchObject({ activeVersion: 'v1', items: [{ version: 'v1', active: true }] });
  });

  it('retrains in a worker while identifying, keeps the candidate, promotes it, rolls back', async () => {
    const v1 = (await identifyOne(17, 1)).modelVersion;
    expect(v1).toBe(daemon.health().modelVersion);

    const live = connect();
    const events: Status[] = [];
    live.on('retrain', (s: Status) => events.push(s));
    await waitFor('socket connected', () => live.connected, 10_000);

    const started = await api('POST', '/api/retrain', { token: true, body: { epochs: 2 } });
    expect(started.status).toBe(202);
    expect(started.json).toMatchObject({ state: 'training', epochs: 2, candidate: 'v2' });
    expect((await api('POST', '/api/retrain', { token: true })).status).toBe(409);
    // The main thread keeps identifying while the worker trains.
    const during = await identifyOne(250, 2);
    expect(during.class).toBe('250');
    expect(during.modelVersion).toBe(v1);

    const done = await waitState(['kept', 'promoted', 'failed'], 60_000);
    expect(done.state).toBe('kept');
    expect(done.before?.metrics.accuracy).toBeGreaterThan(0.5);
    expect(done.after?.metrics.accuracy).toBeGreaterThan(0.5);
    const epochs = events.filter((e) => e.state === 'training' && (e.epoch ?? 0) > 0);
    expect(epochs.map((e) => e.epoch)).toEqual([1, 2]);
    expect(epochs.every((e) => Number.isFinite(e.loss))).toBe(true);

    const models = (await api('GET', '/api/models')).json as { activeVersion: string; items: Status['versions'] };
    expect(models.activeVersion).toBe('v1');
    const v2 = models.items.find((m) => m.version === 'v2')!;
    expect(v2).toMatchObject({ active: false, metrics: { accuracy: done.after?.metrics.accuracy, accuracyBefore: done.before?.metrics.accuracy } });
    expect(v2.modelVersion).not.toBe(v1);

    const promoted = await api('POST', '/api/models/v2/promote?force=true', { token: true });
    expect(promoted.status).toBe(200);
    expect(promoted.json).toMatchObject({ version: 'v2', modelVersion: v2.modelVersion });
    const after = await identifyOne(17, 3);
    expect(after.modelVersion).toBe(v2.modelVersion);
    expect(after.class, JSON.stringify({ ...after, candidates: after.candidates?.slice(0, 3) })).toBe('17');
    expect(daemon.health().modelVersion).toBe(v2.modelVersion);
    expect((await api('GET', '/api/models')).json.activeVersion).toBe('v2');

    const back = await api('POST', '/api/models/rollback', { token: true });
    expect(back.json).toMatchObject({ version: 'v1', modelVersion: v1 });
    expect((await identifyOne(42, 4)).modelVersion).toBe(v1);
    expect((await api('POST', '/api/models/rollback', { token: true })).status).toBe(409);
    expect((await api('POST', '/api/models/v9/promote', { token: true })).status).toBe(404);
  }, 90_000);

  it('cancels a run: no candidate is kept', async () => {
    expect((await api('DELETE', '/api/retrain', { token: true })).status).toBe(404);
    expect((await api('POST', '/api/retrain', { token: true, body: { epochs: 200 } })).status).toBe(202);
    expect((await api('POST', '/api/retrain', { token: true, body: { epochs: 0 } })).status).toBe(400);
    // Once the worker has measured the current model it is training: cancel reaches it between two steps.
    await waitFor('worker started', async () => ((await api('GET', '/api/retrain')).json as unknown as Status).before?.metrics.accuracy !== undefined, 30_000, 100);
    expect((await api('DELETE', '/api/retrain', { token: true })).status).toBe(200);
    const s = await waitState(['cancelled', 'failed', 'kept'], 15_000);
    expect(s.state).toBe('cancelled');
    expect(s.versions.map((v) => v.version)).toEqual(['v1', 'v2']);
  }, 60_000);

  it('acknowledges an alert over socket.io with the token and tells every dashboard', async () => {
    const unknown = await identifyOne(7, 0); // class 7 is not in the library
    expect(['unknown', 'low-confidence']).toContain(unknown.status);
    const alert = await waitFor('alert stored', () => daemon.store.listAlerts(10).find((a) => a.resultId === unknown.id), 10_000);
    const operator = connect();
    const other = connect();
    await waitFor('sockets connected', () => operator.connected && other.connected, 10_000);
    const heard = new Promise<{ id: string; acknowledgedAt: string }>((resolve) => other.on('alert-ack', resolve));
    const refused = await operator.emitWithAck('alert:ack', { id: alert.id, token: 'wrong' });
    expect(refused).toMatchObject({ ok: false, error: { code: 'unauthorized' } });
    expect(daemon.store.listAlerts(10).find((a) => a.id === alert.id)?.acknowledgedAt).toBeUndefined();
    const ok = await operator.emitWithAck('alert:ack', { id: alert.id, token: TOKEN });
    expect(ok).toMatchObject({ ok: true, id: alert.id });
    expect(await heard).toEqual({ id: alert.id, acknowledgedAt: ok.acknowledgedAt });
    expect(daemon.store.listAlerts(10).find((a) => a.id === alert.id)?.acknowledgedAt).toBe(ok.acknowledgedAt);
  }, 30_000);

  it('reports per-instrument health and documents the new routes', async () => {
    const asked = (await api('GET', '/api/instruments')).json as { items: Array<Record<string, unknown> & { counts: Record<string, number>; adapters: Array<{ name: string; state: string }> }> };
    const answeredBy = Date.now();
    const { items } = asked;
    const raman = items.find((i) => i.name === 'raman-1')!;
    expect(raman.counts.results).toBe(dropped);
    expect(raman.counts.identified + raman.counts.lowConfidence + raman.counts.unknown + raman.counts.mixture).toBe(dropped);
    // Spectra of the last minute: at least those dropped within a minute of the answer (the earlier tests may take
    // longer than a minute on a loaded machine), at most all of them.
    expect(raman.ratePerMin).toBeGreaterThanOrEqual(droppedAt.filter((t) => t >= answeredBy - 60_000).length);
    expect(raman.ratePerMin).toBeLessThanOrEqual(dropped);
    expect(raman.adapters).toEqual([expect.objectContaining({ name: 'inbox', state: 'up' })]);
    expect(raman.state).toBe('up');
    expect(Date.parse(raman.lastSpectrumAt as string)).toBeGreaterThan(Date.now() - 120_000);
    const doc = (await api('GET', '/api/openapi.json')).json as { paths: Record<string, Record<string, { security?: unknown }>> };
    expect(doc.paths['/api/retrain'].post.security).toEqual([{ bearer: [] }]);
    expect(doc.paths['/api/models/{version}/promote'].post.security).toEqual([{ bearer: [] }]);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/models', '/api/models/rollback', '/api/instruments']));
  });
});
