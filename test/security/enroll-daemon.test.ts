import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertMessage } from '../../core/messages.ts';
import { DaemonProcess, jcampText, writeDaemonConfig } from '../../support/daemon-process.ts';
import { freePort, makeTempDir, stopAllServers } from '../../support/servers.ts';

/**
 * The enrollment that bricked the daemon, on a real `spectrad run`: a class name of spaces answers 422 and later
 * enrollments work; a row a start cannot load (as an older version could write it) no longer stops the start: the
 * daemon quarantines it, alerts and serves the rest; an enrollment answered and then lost to a SIGKILL is retried
 * with its Idempotency-Key and enrolls nothing twice.
 */
const TOKEN = 'enroll-daemon-token-0123456789';
let daemon: DaemonProcess;
let base: string;
let dbFile: string;

beforeAll(async () => {
  const root = makeTempDir('enroll-daemon');
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  dbFile = path.join(root, 'data', 'spectrad.db');
  const configFile = writeDaemonConfig(root, [
    `dataDir: ${path.join(root, 'data')}`,
    'instrument: enroll',
    'inputs: []',
    'outputs: []',
    `http: { host: 127.0.0.1, port: ${port}, token: ${TOKEN} }`,
    'library: { demo: true, demoClasses: [17, 250], demoPerClass: 3 }',
  ]);
  daemon = new DaemonProcess(configFile, base, path.join(root, 'daemon.log'));
  daemon.start();
  await daemon.waitReady(150_000);
}, 180_000);

afterAll(async () => {
  await daemon?.kill('SIGKILL');
  await stopAllServers();
});

async function enroll(name: string, key?: string) {
  const res = await fetch(`${base}/api/classes`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
    body: JSON.stringify({ name, files: [{ name: 'a.jdx', content: jcampText('a', 42, 1) }, { name: 'b.jdx', content: jcampText('b', 42, 2) }] }),
  });
  return { status: res.status, json: (await res.json()) as { enrollmentId?: string; replayed?: boolean; error?: { code: string } } };
}

const classNames = async () => ((await (await fetch(`${base}/api/classes`)).json()) as { items: Array<{ name: string; references: number }> }).items;
const referenceRows = () => {
  const db = new Database(dbFile, { readonly: true });
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM class_references').get() as { n: number }).n;
  } finally {
    db.close();
  }
};

describe('enrollment on a real daemon', () => {
  it('a name of spaces answers 422 with nothing stored; the next enrollment is live', async () => {
    const before = referenceRows();
    const bad = await enroll(' ');
    expect(bad.status).toBe(422);
    expect(bad.json.error?.code).toBe('library-class-name');
    expect(referenceRows()).toBe(before);
    const good = await enroll('anatase');
    expect(good.status).toBe(201);
    expect(good.json.enrollmentId).toMatch(/^[0-9A-Z]{26}$/);
    expect((await classNames()).map((c) => c.name)).toContain('anatase');
  }, 60_000);

  it('a row the library cannot load is quarantined at start, with an alert; the daemon starts and serves the rest', async () => {
    await daemon.kill('SIGKILL');
    const db = new Database(dbFile);
    db.prepare('INSERT INTO classes (name, created_at, origin) VALUES (?, ?, ?)').run(' ', new Date().toISOString(), 'api');
    db.prepare('INSERT INTO class_references (class, vector) SELECT ?, vector FROM class_references LIMIT 1').run(' ');
    db.close();
    daemon.start();
    await daemon.waitReady(150_000);
    expect((await classNames()).map((c) => c.name).sort()).toEqual(['17', '250', 'anatase']);
    const alerts = (await daemon.alerts()).filter((a: AlertMessage) => a.kind === 'library-quarantine');
    expect(alerts).toHaveLength(1);
    expect(alerts[0].message).toMatch(/class name/);
  }, 200_000);

  it('an answered enrollment lost to a SIGKILL is retried with its Idempotency-Key and enrolls nothing twice', async () => {
    const first = await enroll('brookite', 'client-req-7f3a');
    expect(first.status).toBe(201);
    const rows = referenceRows();
    await daemon.kill('SIGKILL');
    daemon.start();
    await daemon.waitReady(150_000);
    const retry = await enroll('brookite', 'client-req-7f3a');
    expect(retry.status).toBe(200);
    expect(retry.json).toMatchObject({ enrollmentId: first.json.enrollmentId, replayed: true });
    expect(referenceRows()).toBe(rows);
    expect((await classNames()).find((c) => c.name === 'brookite')?.references).toBe(2);
  }, 200_000);
});
