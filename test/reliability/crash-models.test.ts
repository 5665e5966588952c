import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResultMessage } from '../../core/messages.ts';
import { DaemonProcess, dropFile, jcampText, readStore, sleep, until, writeDaemonConfig } from '../../support/daemon-process.ts';
import { freePort, makeTempDir, stopAllServers } from '../../support/servers.ts';

/**
 * SIGKILL of a real `spectrad run` in the middle of a background retraining run and in the middle of a model
 * promotion (the switch: new model loaded, library re-embedded, registry written). After each kill the daemon starts,
 * the active model is one whole version (the one before or the one promoted, never a mix), results carry that
 * version's modelVersion, the library's references are all embedded by it, none are lost or doubled, and a new
 * retraining run and promotion work.
 */
const TOKEN = 'crash-models-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
const CLASSES = [3, 17, 42, 99, 250, 499];
let daemon: DaemonProcess;
let root: string;
let inbox: string;
let dbFile: string;
let base: string;
let dropped = 0;

interface Models {
  activeVersion: string;
  items: Array<{ version: string; active: boolean; modelVersion?: string }>;
}

async function api(method: string, url: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(base + url, {
    method,
    headers: { ...(method === 'GET' ? {} : auth), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const models = async () => (await api('GET', '/api/models')).json as unknown as Models;
const retrainState = async () => (await api('GET', '/api/retrain')).json as { state: string; epoch?: number; candidate?: string };

async function identifyOne(cls: number): Promise<ResultMessage> {
  const name = `c${cls}-${++dropped}.jdx`;
  dropFile(inbox, name, jcampText(name, cls, dropped));
  let found: ResultMessage | undefined;
  await until(`result for ${name}`, async () => {
    const page = (await api('GET', `/api/results?q=${encodeURIComponent(name)}&limit=5`)).json as { items: ResultMessage[] };
    found = page.items.find((r) => r.source.endsWith(name));
    return found !== undefined;
  }, 60_000, 200);
  return found!;
}

/** Every reference's stored model version, and how many there are. */
function references(): { count: number; versions: string[] } {
  return readStore(dbFile, (db) => {
    const rows = db.prepare<[], { model_version: string | null }>('SELECT model_version FROM class_references').all();
    return { count: rows.length, versions: [...new Set(rows.map((r) => r.model_version ?? 'none'))] };
  });
}

/** After a restart: one whole version is active and everything agrees with it. */
async function checkConsistent(expectedReferences: number): Promise<Models> {
  const m = await models();
  const active = m.items.find((i) => i.active)!;
  expect(active.version).toBe(m.activeVersion);
  const result = await identifyOne(17);
  expect(result.modelVersion).toBe(active.modelVersion);
  expect(result.class).toBe('17');
  const refs = references();
  expect(refs.count).toBe(expectedReferences);
  expect(refs.versions).toEqual([active.modelVersion]);
  return m;
}

beforeAll(async () => {
  root = makeTempDir('crash-models');
  inbox = path.join(root, 'inbox');
  dbFile = path.join(root, 'data', 'spectrad.db');
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const configFile = writeDaemonConfig(root, [
    `dataDir: ${path.join(root, 'data')}`,
    'instrument: crash-models',
    'inputs:',
    `  - { type: folder, name: inbox, paths: [${inbox}], stabilityMs: 50 }`,
    'outputs: []',
    `http: { host: 127.0.0.1, port: ${port}, token: ${TOKEN} }`,
    `library: { demo: true, demoClasses: [${CLASSES.join(', ')}], demoPerClass: 5 }`,
    'pipeline: { batchSize: 4, windowMs: 5 }',
  ]);
  daemon = new DaemonProcess(configFile, base, path.join(root, 'daemon.log'));
  daemon.start();
  await daemon.waitReady(150_000);
}, 180_000);

afterAll(async () => {
  await daemon?.kill('SIGKILL');
  await stopAllServers();
});

describe('SIGKILL during retraining and promotion (real daemon)', () => {
  const refs = CLASSES.length * 5;

  it('killed mid-training: starts on the promoted model, the run is gone, a new run works', async () => {
    const v1 = await checkConsistent(refs);
    expect(v1.activeVersion).toBe('v1');
    expect((await api('POST', '/api/retrain', { epochs: 50 })).status).toBe(202);
    await until('training past its first epoch', async () => ((await retrainState()).epoch ?? 0) >= 1, 90_000, 100);
    await daemon.kill('SIGKILL');

    daemon.start();
    await daemon.waitReady(150_000);
    const after = await checkConsistent(refs);
    expect(after.activeVersion).toBe('v1');
    expect(after.items.map((i) => i.version)).toEqual(['v1']); // the killed run left no version behind
    expect((await retrainState()).state).not.toBe('training');
    expect((await api('POST', '/api/retrain', { epochs: 1 })).status).toBe(202);
    await until('the new run kept its candidate', async () => ['kept', 'promoted'].includes((await retrainState()).state), 120_000, 200);
    expect((await models()).items.map((i) => i.version)).toEqual(['v1', 'v2']);
  }, 400_000);

  it('killed mid-promotion: starts on the version before; promoted and killed after the answer: starts on the new one', async () => {
    const v2 = (await models()).items.find((i) => i.version === 'v2')!;
    // Killed once the switch has begun loading v2 (its loader logs with the model's folder): mid-switch, before the
    // registry names v2, while the library's references are being re-embedded by it.
    const logFrom = statSync(daemon.logFile).size;
    const promoting = api('POST', '/api/models/v2/promote?force=true').catch(() => undefined);
    await until('the switch to v2 begun', () => readFileSync(daemon.logFile, 'utf8').slice(logFrom).includes(`models/v2"`), 60_000, 10);
    await sleep(Number(process.env.SPECTRAD_KILL_DELAY_MS ?? 300));
    await daemon.kill('SIGKILL');
    expect(await promoting).toBeUndefined(); // no answer: the client never heard of a promotion

    daemon.start();
    await daemon.waitReady(150_000);
    const after = await checkConsistent(refs); // references half re-embedded by v2 are re-embedded by v1
    expect(after.activeVersion).toBe('v1');

    const answer = await api('POST', '/api/models/v2/promote?force=true');
    expect(answer.status).toBe(200);
    await daemon.kill('SIGKILL'); // right after the answer: the promotion must have been durable
    daemon.start();
    await daemon.waitReady(150_000);
    const last = await checkConsistent(refs);
    expect(last.activeVersion).toBe('v2');
    expect(last.items.find((i) => i.active)!.modelVersion).toBe(v2.modelVersion);
  }, 400_000);
});
