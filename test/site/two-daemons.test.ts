/**
 * One site, two real daemons (`spectrad run` child processes) on one real PostgreSQL 15 started here, each with its
 * own folder input, data folder and port, told apart by SPECTRAD_NODE_ID and sharing only `site.postgres.url`
 * (given as SPECTRAD_SITE_URL): one token; an enrollment on A identifies on B; results, spectra and alerts of both
 * are served by either; one retraining run on the site and a promotion on A switches B; PostgreSQL killed mid-stream
 * loses no result (the outbox); a node that was down catches up on the revisions it missed.
 */
import { copyFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertMessage, ResultMessage } from '../../core/messages.ts';
import { DaemonProcess, dropFile, jcampText, storedResults, until, writeDaemonConfig } from '../../support/daemon-process.ts';
import { freePort, makeTempDir, startPostgres, stopAllServers, type Postgres } from '../../support/servers.ts';

const DEMO = [17, 250, 499];
/** Benchmark classes the demo library lacks: enrolled during the test under new names. */
const COMPOUND_X = 333;
const COMPOUND_Z = 444;
const UNKNOWN = 100;
const SITE_PASSWORD = 'site-password-never-logged';

interface Node {
  readonly name: string;
  readonly daemon: DaemonProcess;
  readonly inbox: string;
  readonly dbFile: string;
  readonly tokenFile: string;
}

let pgServer: Postgres;
let siteUrl: string;
const nodes: Node[] = [];
let dropped = 0;

async function api(node: Node, method: string, url: string, body?: unknown, token?: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(node.daemon.url + url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(120_000) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const tokenOf = (node: Node) => readFileSync(node.tokenFile, 'utf8').trim();

/** Drops a benchmark spectrum into a node's inbox; its file name, unique in the test, finds its result. */
function drop(node: Node, cls: number, variant: number): string {
  const name = `${node.name}-c${cls}-v${variant}-${++dropped}.jdx`;
  dropFile(node.inbox, name, jcampText(name, cls, variant));
  return name;
}

/** The result of a dropped file as `node` serves it (site-wide history: any node's file). */
async function resultOf(node: Node, file: string, timeoutMs = 60_000): Promise<ResultMessage> {
  let found: ResultMessage | undefined;
  await until(`result of ${file} on ${node.name}`, async () => {
    const { json } = await api(node, 'GET', `/api/results?q=${encodeURIComponent(file)}`);
    found = (json.items as ResultMessage[]).find((r) => r.source.endsWith(file));
    return found !== undefined;
  }, timeoutMs, 100);
  return found!;
}

/** The node's log lines (pino JSON) with this message. */
function logLines(node: Node, msg: string): Array<Record<string, unknown>> {
  return readFileSync(path.join(path.dirname(node.inbox), 'daemon.log'), 'utf8')
    .split('\n')
    .filter((l) => l.includes(`"msg":"${msg}"`))
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

async function health(node: Node) {
  return (await node.daemon.health()) as (Awaited<ReturnType<DaemonProcess['health']>> & { modelVersion?: string; library?: { classes: number }; site?: { revision: number; listening: boolean; unpublished: number } }) | undefined;
}

beforeAll(async () => {
  pgServer = await startPostgres();
  // The test cluster trusts loopback logins, so any password works: the one in the URL must never reach a log.
  siteUrl = (await pgServer.createDatabase('spectrad_site')).replace('postgres://spectrad@', `postgres://spectrad:${SITE_PASSWORD}@`);
  for (const name of ['hall-a', 'hall-b']) {
    const root = makeTempDir(`site-${name}`);
    const port = await freePort();
    const inbox = path.join(root, 'inbox');
    const config = writeDaemonConfig(root, [
      `dataDir: ${root}/data`,
      `instrument: ${name}-raman`,
      'inputs:',
      `  - { type: folder, name: inbox, paths: [${inbox}], stabilityMs: 50 }`,
      `http: { host: 127.0.0.1, port: ${port}, autoToken: true }`,
      `library: { demo: true, demoClasses: [${DEMO.join(', ')}], demoPerClass: 3 }`,
      'pipeline: { batchSize: 4, windowMs: 5, statsIntervalS: 0 }',
      'site: { postgres: { pollMs: 2000 } }',
    ]);
    const daemon = new DaemonProcess(config, `http://127.0.0.1:${port}`, path.join(root, 'daemon.log'), ['/usr/bin/env', `SPECTRAD_NODE_ID=${name}`, `SPECTRAD_SITE_URL=${siteUrl}`]);
    nodes.push({ name, daemon, inbox, dbFile: path.join(root, 'data', 'spectrad.db'), tokenFile: path.join(root, 'data', 'http-token') });
  }
  // A first (it sets up the site: schema, its models, its token), then B.
  for (const n of nodes) {
    n.daemon.start();
    await n.daemon.waitReady(200_000);
  }
}, 420_000);

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.daemon.kill('SIGTERM')));
  // SITE_TEST_LOGS=<folder> keeps both daemons' logs for reading after a failure.
  if (process.env.SITE_TEST_LOGS) for (const n of nodes) copyFileSync(path.join(path.dirname(n.inbox), 'daemon.log'), path.join(process.env.SITE_TEST_LOGS, `${n.name}.log`));
  await stopAllServers();
});

describe('two daemons as one site on PostgreSQL', () => {
  it('share one write token and never log the site URL', async () => {
    const [a, b] = nodes;
    expect(tokenOf(a)).toHaveLength(32);
    expect(tokenOf(b)).toBe(tokenOf(a));
    for (const n of nodes) {
      const logText = readFileSync(path.join(path.dirname(n.inbox), 'daemon.log'), 'utf8');
      expect(logText).toContain('site store ready');
      expect(logText).not.toContain(SITE_PASSWORD);
    }
    const h = await health(b);
    expect(h?.site).toMatchObject({ listening: true, unpublished: 0 });
  });

  it('a class enrolled on A identifies on B; B learns of it within about a second', async () => {
    const [a, b] = nodes;
    const before = (await health(b))!.library!.classes;
    const files = [0, 1, 2].map((v) => ({ name: `x${v}.jdx`, content: jcampText(`compound-x ${v}`, COMPOUND_X, v) }));
    const enrolled = await api(a, 'POST', '/api/classes', { name: 'compound-x', files, by: 'ana' }, tokenOf(b));
    expect(enrolled.status).toBe(201);
    const t0 = Date.now();
    await until('B has compound-x', async () => (await health(b))?.library?.classes === before + 1, 15_000, 10);
    const propagationMs = Date.now() - t0;
    const logLine = (n: Node, msg: string) => readFileSync(path.join(path.dirname(n.inbox), 'daemon.log'), 'utf8').split('\n').filter((l) => l.includes(`"msg":"${msg}"`)).at(-1);
    const at = (line: string | undefined) => (line ? (JSON.parse(line) as { time: number }).time : NaN);
    // The line is written once the library is in use: it may reach the log file a moment after the health answer.
    await until('B logged it', () => logLine(b, 'site: enrollment applied') !== undefined, 5000, 20);
    const applied = logLine(b, 'site: enrollment applied');
    console.log(
      `enrollment propagation A -> B: ${propagationMs} ms from the POST's answer on A until B's health counts the class; ` +
        `${at(applied) - at(logLine(a, 'site: change published'))} ms from A's publication to B's library (B's steps: ${JSON.stringify((JSON.parse(applied!) as { ms: unknown }).ms)})`,
    );
    const onB = await resultOf(b, drop(b, COMPOUND_X, 5));
    expect(onB).toMatchObject({ class: 'compound-x', node: 'hall-b' });
    expect(['identified', 'low-confidence']).toContain(onB.status);
    // And the undo on B leaves A's library too.
    const undone = await api(b, 'DELETE', `/api/enrollments/${enrolled.json.enrollmentId as string}`, undefined, tokenOf(b));
    expect(undone.json).toEqual({ removed: 3 });
    await until('A dropped compound-x', async () => !((await api(a, 'GET', '/api/classes')).json.items as Array<{ name: string }>).some((c) => c.name === 'compound-x'), 15_000, 20);
    // Enrolled again for what follows.
    expect((await api(b, 'POST', '/api/classes', { name: 'compound-x', files }, tokenOf(b))).status).toBe(201);
    await until('A has compound-x again', async () => ((await api(a, 'GET', '/api/classes')).json.items as Array<{ name: string }>).some((c) => c.name === 'compound-x'), 15_000, 20);
  }, 120_000);

  it('either node serves both nodes’ results, spectra and alerts', async () => {
    const [a, b] = nodes;
    const fromA = drop(a, 17, 1);
    const fromB = drop(b, 250, 2);
    const unknownOnB = drop(b, UNKNOWN, 0);
    for (const viewer of nodes) {
      expect((await resultOf(viewer, fromA)).node).toBe('hall-a');
      expect((await resultOf(viewer, fromB)).node).toBe('hall-b');
    }
    const unknown = await resultOf(a, unknownOnB);
    // B's spectrum, asked of A: payload, curves and result.
    const spectrum = await api(a, 'GET', `/api/spectra/${unknown.id}`);
    expect(spectrum.status).toBe(200);
    expect(spectrum.json).toMatchObject({ id: unknown.id, instrument: 'hall-b-raman', result: { node: 'hall-b' } });
    expect((spectrum.json.payload as { data: string }).data).toContain(unknownOnB);
    expect(unknown.status).not.toBe('identified');
    // Its alert, raised on B, is on A's alert list, and acknowledging it on A closes it for B too.
    let alert: (AlertMessage & { acknowledgedAt?: string }) | undefined;
    await until('B’s alert on A', async () => {
      alert = ((await api(a, 'GET', '/api/alerts?state=open&limit=500')).json.items as AlertMessage[]).find((x) => x.resultId === unknown.id);
      return alert !== undefined;
    }, 30_000, 100);
    expect(alert).toMatchObject({ node: 'hall-b', instrument: 'hall-b-raman' });
    expect((await api(a, 'POST', `/api/alerts/${alert!.id}/ack`, undefined, tokenOf(a))).status).toBe(200);
    const onB = (await api(b, 'GET', '/api/alerts?limit=500')).json.items as Array<AlertMessage & { acknowledgedAt?: string }>;
    expect(onB.find((x) => x.id === alert!.id)?.acknowledgedAt).toBeDefined();
    // The whole history, from either node, holds both nodes' results.
    for (const viewer of nodes) {
      const items = (await api(viewer, 'GET', '/api/results?limit=500')).json.items as ResultMessage[];
      expect(new Set(items.map((r) => r.node))).toEqual(new Set(['hall-a', 'hall-b']));
    }
  }, 120_000);

  it('one retraining run on the site; a model promoted on A is what B identifies with', async () => {
    const [a, b] = nodes;
    const started = await api(a, 'POST', '/api/retrain', { epochs: 1 }, tokenOf(a));
    expect(started.status).toBe(202);
    const refused = await api(b, 'POST', '/api/retrain', { epochs: 1 }, tokenOf(b));
    expect(refused.status).toBe(409);
    expect((refused.json.error as { message: string }).message).toMatch(/already going on node hall-a/);
    await until('A kept a candidate', async () => ['kept', 'promoted'].includes((await api(a, 'GET', '/api/retrain')).json.state as string), 180_000, 250);
    // B knows the candidate (the registry is the site's) before anything is promoted.
    await until('B lists v2', async () => ((await api(b, 'GET', '/api/models')).json.items as Array<{ version: string }>).some((m) => m.version === 'v2'), 15_000, 50);
    // Both prepare v2 before anyone promotes it (loaded, library embedded and calibrated in the background).
    await until('A and B prepared v2', () => nodes.every((n) => logLines(n, 'model prepared').length > 0), 120_000, 100);
    const oldVersion = (await health(b))!.modelVersion;
    const switchesBefore = nodes.map((n) => logLines(n, 'model switched').length);
    const tPromote = Date.now();
    const promoted = await api(a, 'POST', '/api/models/v2/promote?force=true', undefined, tokenOf(a));
    expect(promoted.status).toBe(200);
    const newVersion = promoted.json.modelVersion as string;
    expect(newVersion).not.toBe(oldVersion);
    const t0 = Date.now();
    await until('B switched', async () => (await health(b))?.modelVersion === newVersion, 60_000, 20);
    console.log(`promotion propagation A -> B: ${Date.now() - t0} ms (promote answered on A until B's health names the model); ${Date.now() - tPromote} ms from the POST sent`);
    // Each node's switch used the prepared version: no load at activation. The log file is written asynchronously
    // (pino), so its line can land a moment after the health answer that shows the switch.
    for (const [i, n] of nodes.entries()) {
      await until(`${n.name} logged its model switch`, () => logLines(n, 'model switched').length > switchesBefore[i], 15_000, 50);
      expect(logLines(n, 'model switched').at(-1)).toMatchObject({ ms: { prepared: true } });
    }
    expect((await api(b, 'GET', '/api/models')).json.activeVersion).toBe('v2');
    const onB = await resultOf(b, drop(b, 17, 3));
    expect(onB.modelVersion).toBe(newVersion);
    // B's retraining lock was only A's run: free again.
    expect(((await api(b, 'GET', '/api/retrain')).json.state as string)).not.toBe('training');
  }, 300_000);

  it('PostgreSQL killed and restarted mid-stream: A keeps identifying and no result is lost or doubled', async () => {
    const [a] = nodes;
    const files: string[] = [];
    for (let i = 0; i < 6; i++) files.push(drop(a, DEMO[i % 3], i));
    await until('first results local', () => storedResults(a.dbFile).filter((r) => files.some((f) => r.source.endsWith(f))).length >= 3, 60_000, 50);
    await pgServer.stop('SIGKILL');
    for (let i = 6; i < 20; i++) {
      files.push(drop(a, DEMO[i % 3], i));
      await new Promise((r) => setTimeout(r, 50));
    }
    // Identified and stored locally while the site store is down; the site's copies wait in the outbox.
    await until('every result local', () => storedResults(a.dbFile).filter((r) => files.some((f) => r.source.endsWith(f))).length === 20, 60_000, 100);
    const h = await health(a);
    expect(h?.outbox.site).toBeGreaterThan(0);
    await pgServer.start();
    await until('outbox drained', async () => (await health(a))?.outbox.site === 0, 60_000, 200);
    const items = (await api(a, 'GET', '/api/results?limit=500&q=hall-a-c')).json.items as ResultMessage[];
    const mine = items.filter((r) => files.some((f) => r.source.endsWith(f)));
    expect(mine).toHaveLength(20);
    expect(new Set(mine.map((r) => r.source)).size).toBe(20);
  }, 180_000);

  it('a node that was down catches up on the revisions it missed', async () => {
    const [a, b] = nodes;
    await b.daemon.kill('SIGTERM');
    const files = [0, 1, 2].map((v) => ({ name: `z${v}.jdx`, content: jcampText(`compound-z ${v}`, COMPOUND_Z, v) }));
    const enrolled = await api(a, 'POST', '/api/classes', { name: 'compound-z', files }, tokenOf(a));
    expect(enrolled.status).toBe(201);
    const revisionOnA = (await health(a))!.site!.revision;
    b.daemon.start();
    await b.daemon.waitReady(200_000);
    // Caught up before it identified anything: the start waits for the site's changes.
    const h = (await health(b))!;
    expect(h.site!.revision).toBeGreaterThanOrEqual(revisionOnA);
    expect(((await api(b, 'GET', '/api/classes')).json.items as Array<{ name: string }>).map((c) => c.name)).toContain('compound-z');
    const onB = await resultOf(b, drop(b, COMPOUND_Z, 4));
    expect(onB.class).toBe('compound-z');
  }, 300_000);
});
