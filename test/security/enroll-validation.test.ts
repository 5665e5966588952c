import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../core/identify/knn/calibration.ts';
import { buildHttpServer } from '../../daemon/http/server.ts';
import type { ApiServices } from '../../daemon/http/services.ts';
import { LibraryService } from '../../daemon/library.ts';
import { Store, toBlob } from '../../daemon/store/store.ts';
import { gaussian, projectionEncoder } from '../identify/synthetic.ts';
import { recordingServices } from '../support/recording-services.ts';

/**
 * Enrollment validates before it commits: a class name the library refuses (white space only) answers 422 with
 * nothing stored, so later enrollments and the next start are unaffected; a row the library cannot load at start-up
 * (written by an older version or by hand) is quarantined, logged and alerted, and the library loads without it; a
 * retry with the same Idempotency-Key (the client never saw the answer: a timeout, a daemon killed after the commit)
 * enrolls nothing twice, also across a restart of the store.
 */
const TOKEN = 'enroll-validation-token-123456';
const POINTS = 32;
const DIM = 8;
const rng = mulberry32(5);
const vector = () => Float32Array.from({ length: POINTS }, () => Math.abs(gaussian(rng)));
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

function rig(file = path.join(mkdtempSync(path.join(tmpdir(), 'spectrad-enroll-')), 'spectrad.db')) {
  const store = new Store(file);
  open.push(store);
  const encoder = projectionEncoder(POINTS, DIM);
  const errors: string[] = [];
  const library = new LibraryService(store, encoder, (y) => y, { ...quiet, error: (_o: object, msg?: string) => void errors.push(msg ?? '') });
  const services: ApiServices = {
    ...recordingServices(store, []),
    enroll: (req) => library.enroll(req.name, [vector(), vector()], 'api', undefined, req.by, req.idempotencyKey),
  };
  return { file, store, library, services, errors };
}

async function serve(services: ApiServices): Promise<string> {
  const app: FastifyInstance = await buildHttpServer(services, { token: TOKEN, uploadLimitBytes: 1 << 20, version: 'test' });
  open.push(app);
  return app.listen({ host: '127.0.0.1', port: 0 });
}

function enroll(base: string, name: string, key?: string) {
  return fetch(`${base}/api/classes`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
    body: JSON.stringify({ name, files: [{ content: 'x' }] }),
  });
}

const classRows = (store: Store) => (store.db.prepare('SELECT COUNT(*) AS n FROM classes').get() as { n: number }).n;
const referenceRows = (store: Store) => (store.db.prepare('SELECT COUNT(*) AS n FROM class_references').get() as { n: number }).n;

describe('enrollment validates before it commits', () => {
  it('a white-space class name answers 422 and stores nothing; the next enrollment answers 201 and is live', async () => {
    const { store, library, services } = rig();
    const base = await serve(services);
    for (const name of [' ', '\t \n', ' '.repeat(200)]) {
      const res = await enroll(base, name);
      expect(res.status, name).toBe(422);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('library-class-name');
    }
    expect(classRows(store)).toBe(0);
    expect(referenceRows(store)).toBe(0);
    const ok = await enroll(base, 'quartz');
    expect(ok.status).toBe(201);
    const answer = (await ok.json()) as { enrollmentId?: string };
    expect(answer.enrollmentId).toMatch(/^[0-9A-Z]{26}$/);
    expect(library.library.classNames()).toEqual(['quartz']);
  });

  it('the store refuses a name the library would refuse, before writing', () => {
    const { store } = rig();
    expect(() => store.addReferences('  ', 'api', [{ vector: vector() }])).toThrow(/class name/);
    expect(() => store.addReferences('x'.repeat(201), 'api', [{ vector: vector() }])).toThrow(/class name/);
    expect(classRows(store)).toBe(0);
    expect(referenceRows(store)).toBe(0);
  });

  it('a class the library cannot load at start-up is quarantined, logged and alerted; the rest loads', async () => {
    const first = rig();
    first.store.addReferences('calcite', 'api', [{ vector: vector() }, { vector: vector() }]);
    first.store.addReferences('quartz', 'api', [{ vector: vector() }]);
    // What older versions let through (and what a hand edit can do): rows the library refuses.
    const at = new Date().toISOString();
    first.store.db.prepare('INSERT INTO classes (name, created_at, origin) VALUES (?, ?, ?)').run(' ', at, 'api');
    first.store.db.prepare('INSERT INTO class_references (class, vector) VALUES (?, ?)').run(' ', toBlob(vector()));
    first.store.db.prepare('INSERT INTO classes (name, created_at, origin) VALUES (?, ?, ?)').run('zeros', at, 'api');
    first.store.db.prepare('INSERT INTO class_references (class, vector) VALUES (?, ?)').run('zeros', toBlob(new Float32Array(POINTS)));
    // One bad reference among good ones: only it is set aside.
    first.store.db.prepare('INSERT INTO class_references (class, vector) VALUES (?, ?)').run('calcite', toBlob(new Float32Array(POINTS)));
    first.store.close();

    const restarted = rig(first.file);
    await expect(restarted.library.load()).resolves.toBeUndefined();
    expect(restarted.library.library.classNames().sort()).toEqual(['calcite', 'quartz']);
    expect(restarted.library.library.referenceCount).toBe(3);
    expect(restarted.store.listClasses().map((c) => [c.name, c.references])).toEqual([['calcite', 2], ['quartz', 1]]);
    expect(restarted.store.quarantinedClasses().map((c) => c.name)).toEqual([' ', 'zeros']);
    expect(restarted.store.quarantinedClasses()[0].reason).toMatch(/class name/);
    expect(restarted.store.quarantinedReferences().map((r) => [r.class, r.reason])).toEqual([['calcite', expect.stringMatching(/embedding/)]]);
    expect(restarted.errors.filter((m) => /quarantined/.test(m))).toHaveLength(3);
    const alerts = restarted.store.listAlerts().filter((a) => a.kind === 'library-quarantine');
    expect(alerts).toHaveLength(3);
    expect(alerts.every((a) => a.instrument === 'library' && /set aside/.test(a.message))).toBe(true);
    // The rows are kept for an operator, and a second start neither alerts again nor fails.
    expect(classRows(restarted.store)).toBe(4);
    expect(referenceRows(restarted.store)).toBe(6);
    await restarted.library.load();
    expect(restarted.library.library.referenceCount).toBe(3);
    expect(restarted.store.listAlerts().filter((a) => a.kind === 'library-quarantine')).toHaveLength(3);
    // A quarantined class takes no new references (they would be invisible).
    await expect(restarted.library.enroll('zeros', [vector()], 'api')).rejects.toThrow(/quarantined/);
  });
});

describe('enrollment with an Idempotency-Key', () => {
  it('a retry with the same key answers the first enrollment (200, replayed) and adds nothing', async () => {
    const { store, services } = rig();
    const base = await serve(services);
    const first = await enroll(base, 'quartz', 'req-0001');
    expect(first.status).toBe(201);
    const a = (await first.json()) as { enrollmentId: string; added: number };
    const refs = referenceRows(store);
    const again = await enroll(base, 'quartz', 'req-0001');
    expect(again.status).toBe(200);
    const b = (await again.json()) as { enrollmentId: string; added: number; replayed?: boolean };
    expect(b).toMatchObject({ enrollmentId: a.enrollmentId, added: a.added, replayed: true });
    expect(referenceRows(store)).toBe(refs);
    // The same key for another class is a client bug: refused, nothing stored.
    const other = await enroll(base, 'calcite', 'req-0001');
    expect(other.status).toBe(422);
    expect(classRows(store)).toBe(1);
    // Malformed keys are refused before anything is done.
    expect((await enroll(base, 'calcite', 'x'.repeat(201))).status).toBe(400);
    expect(classRows(store)).toBe(1);
  });

  it('a daemon that stopped after the commit (the answer never left) answers the retry with the same enrollment', async () => {
    const first = rig();
    const made = await first.library.enroll('quartz', [vector(), vector()], 'api', undefined, undefined, 'crash-retry-1');
    first.store.close(); // the answer is lost with the process
    const restarted = rig(first.file);
    await restarted.library.load();
    const retry = await restarted.library.enroll('quartz', [vector(), vector()], 'api', undefined, undefined, 'crash-retry-1');
    expect(retry).toMatchObject({ enrollmentId: made.enrollmentId, replayed: true });
    expect(referenceRows(restarted.store)).toBe(2);
    expect(restarted.library.library.referenceCount).toBe(2);
  });
});
