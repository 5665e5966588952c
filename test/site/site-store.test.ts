/**
 * The site store's parts against a real PostgreSQL 15 (started here): schema migrations by nodes starting at once,
 * the change log with LISTEN/NOTIFY and catch-up from a revision, enrollment and undo replicated between two nodes'
 * local stores, model versions and activations, results and alerts through the outbox across a PostgreSQL restart,
 * the one-run retraining lock and the site token.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutputUnavailableError } from '../../adapters/errors.ts';
import type { AlertMessage, ResultMessage } from '../../core/messages.ts';
import { OutboxDispatcher } from '../../daemon/outbox.ts';
import { ModelManager } from '../../daemon/models/model-manager.ts';
import { ModelRegistry } from '../../daemon/models/versions.ts';
import { appendChange, changesSince, LocalSiteState, type SiteChange } from '../../daemon/site/changes.ts';
import { ChangeFeed } from '../../daemon/site/change-feed.ts';
import { migrateSite, siteMigrations } from '../../daemon/site/migrations.ts';
import { inTransaction, openSitePool, redactUrl } from '../../daemon/site/pool.ts';
import { SiteRunLock, siteToken } from '../../daemon/site/retrain-lock.ts';
import { SiteStore, type SiteHost } from '../../daemon/site/site-store.ts';
import { ulid } from '../../daemon/store/ids.ts';
import { Store } from '../../daemon/store/store.ts';
import { until } from '../../support/daemon-process.ts';
import { startPostgres, stopAllServers, type Postgres } from '../../support/servers.ts';

const log = pino({ level: process.env.SITE_TEST_LOG ?? 'silent' });
let server: Postgres;
let dbCount = 0;
const pools: pg.Pool[] = [];
const closers: Array<() => Promise<void>> = [];

async function freshDb(): Promise<string> {
  return server.createDatabase(`site_${++dbCount}`);
}
function pool(url: string): pg.Pool {
  const p = openSitePool(url, log, { connectTimeoutMs: 2000 });
  pools.push(p);
  return p;
}
const tmp = (name: string) => mkdtempSync(path.join(tmpdir(), `spectrad-site-${name}-`));

beforeAll(async () => {
  server = await startPostgres();
}, 60_000);

afterAll(async () => {
  for (const c of closers) await c().catch(() => undefined);
  await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
  await stopAllServers();
});

describe('site schema migrations', () => {
  it('apply once when eight nodes start at once, and refuse a newer schema', async () => {
    const url = await freshDb();
    const outcomes = await Promise.all(Array.from({ length: 8 }, () => migrateSite(pool(url))));
    const latest = siteMigrations.at(-1)!.version;
    expect(outcomes.filter((o) => o.from === 0 && o.to === latest)).toHaveLength(1);
    expect(outcomes.filter((o) => o.from === latest)).toHaveLength(7);
    const p = pool(url);
    const { rows } = await p.query<{ version: number }>('SELECT version FROM site_schema ORDER BY version');
    expect(rows.map((r) => r.version)).toEqual(siteMigrations.map((m) => m.version));
    await p.query("INSERT INTO site_schema (version, name, applied_at) VALUES (999, 'from the future', 'now')");
    await expect(migrateSite(p)).rejects.toThrow(/newer spectrad \(schema 999/);
  });

  it('never logs the password of the connection string', () => {
    expect(redactUrl('postgres://spectrad:s3cret@db.lab:5432/site?sslmode=require')).toBe('postgres://spectrad:***@db.lab:5432/site?sslmode=require');
    expect(redactUrl('postgres://db.lab/site?password=s3cret')).not.toContain('s3cret');
  });
});

describe('change log and feed', () => {
  it('delivers each change in revision order by notification, and a feed started later catches up from its revision', async () => {
    const url = await freshDb();
    const p = pool(url);
    await migrateSite(p);
    let revision = 0;
    const seen: SiteChange[] = [];
    // The poll is an hour: whatever arrives within the test came by notification (no wall-clock bound to miss under load).
    const feed = new ChangeFeed({ url, pool: p, log, revision: () => revision, apply: async (c) => void (seen.push(c), (revision = c.revision)), pollMs: 3_600_000 });
    await feed.start();
    closers.push(() => feed.stop());
    // Appends from many concurrent transactions: revisions must still be applied in order, none skipped.
    await Promise.all(Array.from({ length: 20 }, (_, i) => inTransaction(p, (c) => appendChange(c, { kind: 'undo', enrollmentId: `e${i}` }, 'a'))));
    await until('20 changes applied', () => seen.length === 20, 10_000, 20);
    expect(seen.map((c) => c.revision)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    await inTransaction(p, (c) => appendChange(c, { kind: 'model-added', version: 'v2' }, 'a'));
    await until('the 21st change, by notification', () => seen.length === 21, 30_000, 5);
    expect(seen[20]).toMatchObject({ kind: 'model-added', version: 'v2', node: 'a', revision: 21 });

    // A node that was away: starts from its own revision (10) and applies 11..21 in order, once each.
    let later = 10;
    const caught: number[] = [];
    const feed2 = new ChangeFeed({ url, pool: p, log, revision: () => later, apply: async (c) => void (caught.push(c.revision), (later = c.revision)), pollMs: 60_000 });
    await feed2.start();
    closers.push(() => feed2.stop());
    expect(caught).toEqual(Array.from({ length: 11 }, (_, i) => i + 11));
    expect((await changesSince(p, 20)).map((c) => c.revision)).toEqual([21]);
  });

  it('reconnects after PostgreSQL restarts and reads what it missed meanwhile', async () => {
    const url = await freshDb();
    const p = pool(url);
    await migrateSite(p);
    let revision = 0;
    const applied: string[] = [];
    const feed = new ChangeFeed({
      url, pool: p, log, revision: () => revision, pollMs: 60_000, reconnectMs: 100,
      apply: async (c) => {
        if (c.kind === 'undo') applied.push(c.enrollmentId);
        revision = c.revision;
      },
    });
    await feed.start();
    closers.push(() => feed.stop());
    await inTransaction(p, (c) => appendChange(c, { kind: 'undo', enrollmentId: 'x' }, 'a'));
    await until('first change', () => revision === 1, 5000, 20);
    await server.stop('SIGKILL');
    await until('the feed notices', () => !feed.listening, 10_000, 20);
    await server.start();
    // Another writer appends while the feed is reconnecting; the reconnect reads it from the log.
    const writer = pool(url);
    await inTransaction(writer, (c) => appendChange(c, { kind: 'undo', enrollmentId: 'y' }, 'b'));
    // (A crash may skip revision numbers: PostgreSQL logs sequences ahead. Revisions only ever grow.)
    await until('caught up after the restart', () => applied.length === 2, 20_000, 50);
    expect(applied).toEqual(['x', 'y']);
    expect(revision).toBeGreaterThan(1);
    expect(feed.listening).toBe(true);
  }, 60_000);
});

/** A node's local side for the site store: its SQLite store, model registry and a small model manager. */
function localNode(name: string, opts: { switched?: string[]; prepared?: string[] } = {}) {
  const dir = tmp(name);
  const store = new Store(path.join(dir, 'spectrad.db'));
  const registry = new ModelRegistry(path.join(dir, 'models'));
  const base = path.join(dir, 'shipped');
  mkdirSync(base);
  writeFileSync(path.join(base, 'model.json'), '{"format":"layers-model"}');
  writeFileSync(path.join(base, 'weights.bin'), Buffer.from([1, 2, 3, 4]));
  ModelManager.registerBase(registry, base, 'shipped@1', 0.8);
  let reloads = 0;
  let queue: Promise<unknown> = Promise.resolve();
  const manager = new ModelManager(
    registry,
    { points: 3, references: () => [], switchTo: async (d) => (opts.switched?.push(d), `switched:${path.basename(d)}`), prepare: (d) => void opts.prepared?.push(d) },
    { epochs: 1, holdOut: 0.2, lr: 1e-4, seed: 1, autoPromote: false, backend: 'cpu' },
    () => undefined,
    log,
  );
  const host: SiteHost = {
    modelVersion: () => 'm1',
    reloadLibrary: async () => void reloads++,
    serial: <T>(task: () => Promise<T>) => {
      const next = queue.then(task, task);
      queue = next.catch(() => undefined);
      return next;
    },
    registry: () => registry,
    models: () => manager,
  };
  return { dir, store, registry, manager, host, reloads: () => reloads };
}

describe('the library and model registry between two nodes', () => {
  let url: string;
  let a: ReturnType<typeof localNode>;
  let b: ReturnType<typeof localNode>;
  let siteA: SiteStore;
  let siteB: SiteStore;
  const switchedB: string[] = [];
  const preparedB: string[] = [];

  beforeAll(async () => {
    url = await freshDb();
    a = localNode('a');
    b = localNode('b', { switched: switchedB, prepared: preparedB });
    [siteA, siteB] = await Promise.all([
      SiteStore.open({ url, node: 'a', log, store: a.store, pollMs: 60_000 }),
      SiteStore.open({ url, node: 'b', log, store: b.store, pollMs: 60_000 }),
    ]);
    await siteA.attach(a.host);
    await siteB.attach(b.host);
    closers.push(() => siteA.stop(), () => siteB.stop());
  }, 30_000);

  it('an enrollment on A (with labels and embeddings) reaches B through the change log; its undo too', async () => {
    const enrollmentId = ulid();
    const vectors = [Float32Array.from([0.1, 0.5, 1]), Float32Array.from([0.2, 0.6, 0.9])];
    // The first reference is a spectrum another node received, whose unknown alert is open on the site.
    const received = ulid();
    await siteA.pool.query("INSERT INTO site_alerts (id, node, kind, instrument, at, message, result_id) VALUES ('AL1', 'b', 'unknown', 'lab', 'now', 'unknown', $1)", [received]);
    a.store.addReferences(
      'compound-x',
      'api',
      vectors.map((v, i) => ({ vector: v, embedding: Float32Array.from([i, 1]), modelVersion: 'm1', enrollmentId, ...(i === 0 ? { spectrumId: received } : {}) })),
      { labelledBy: 'ana' },
    );
    const applied: SiteChange[] = [];
    siteB.onApplied((c) => applied.push(c));
    siteA.enrolled(enrollmentId, 'ana');
    await until('B applied the enrollment', () => applied.some((c) => c.kind === 'enroll'), 10_000, 10);
    const refs = b.store.references().filter((r) => r.class === 'compound-x');
    expect(refs.map((r) => Array.from(r.vector))).toEqual(vectors.map((v) => Array.from(v)));
    // Same model version: A's embeddings are used as they are, nothing to re-embed on B.
    expect(refs.map((r) => [r.modelVersion, Array.from(r.embedding!)])).toEqual([['m1', [0, 1]], ['m1', [1, 1]]]);
    expect(b.reloads()).toBeGreaterThanOrEqual(1);
    expect(refs.map((r) => r.spectrumId)).toEqual([received, undefined]);
    const label = await siteA.pool.query('SELECT class, labelled_by FROM site_labels WHERE spectrum_id = $1', [received]);
    expect(label.rows).toEqual([{ class: 'compound-x', labelled_by: 'ana' }]);
    expect(await siteB.queries.queryAlerts({ state: 'open' })).toEqual({ items: [] });
    expect((await siteB.queries.queryAlerts({})).items[0]).toMatchObject({ id: 'AL1', note: 'labelled as compound-x' });
    expect(siteB.health().revision).toBe(applied.find((c) => c.kind === 'enroll')!.revision);
    // The site's library holds it once even when A publishes it again (a retry after a lost answer).
    siteA.enrolled(enrollmentId);
    await until('A published again', () => siteA.health().unpublished === 0, 5000, 10);
    expect((await siteA.pool.query("SELECT COUNT(*)::int AS n FROM site_references WHERE class = 'compound-x'")).rows[0].n).toBe(2);

    a.store.undoEnrollment(enrollmentId);
    siteA.undone(enrollmentId);
    await until('B undid it', () => applied.some((c) => c.kind === 'undo'), 10_000, 10);
    expect(b.store.references().filter((r) => r.class === 'compound-x')).toHaveLength(0);
    expect(b.store.listClasses().map((c) => c.name)).not.toContain('compound-x');
    // The undo opens the alert its label had closed, site-wide.
    expect((await siteB.queries.queryAlerts({ state: 'open' })).items.map((x) => x.id)).toEqual(['AL1']);
  });

  it('a change B refuses for what it is (a class quarantined on B) is logged and passed over; later ones apply', async () => {
    b.store.addReferences('bad-on-b', 'api', [{ vector: Float32Array.from([0, 1, 0]) }]);
    b.store.quarantineClass('bad-on-b', 'test');
    const first = ulid();
    a.store.addReferences('bad-on-b', 'api', [{ vector: Float32Array.from([0, 1, 1]), enrollmentId: first }]);
    const second = ulid();
    a.store.addReferences('after-bad', 'api', [{ vector: Float32Array.from([1, 1, 0]), enrollmentId: second }]);
    siteA.enrolled(first);
    siteA.enrolled(second);
    await until('B has the later class', () => b.store.references().some((r) => r.class === 'after-bad'), 10_000, 10);
    expect(b.store.references().some((r) => r.class === 'bad-on-b')).toBe(false);
  });

  it('enrollments made while PostgreSQL is down wait on the node and reach the other node when it is back', async () => {
    await server.stop('SIGKILL');
    const enrollmentId = ulid();
    a.store.addReferences('offline-y', 'api', [{ vector: Float32Array.from([1, 0, 0]), enrollmentId }]);
    siteA.enrolled(enrollmentId);
    await until('A could not publish', () => a.store.db.prepare('SELECT attempts FROM site_pending').all().some((r) => (r as { attempts: number }).attempts > 0), 10_000, 20);
    expect(siteA.health().unpublished).toBe(1);
    await server.start();
    await until('B has it', () => b.store.references().some((r) => r.class === 'offline-y'), 30_000, 50);
    expect(siteA.health().unpublished).toBe(0);
  }, 60_000);

  it('a model trained and promoted on A is installed (files and entry) and activated on B', async () => {
    // A's retraining run saved v2: its folder is in A's registry.
    const v2dir = a.registry.dirFor('v2');
    mkdirSync(v2dir, { recursive: true });
    writeFileSync(path.join(v2dir, 'model.json'), '{"format":"layers-model","v":2}');
    writeFileSync(path.join(v2dir, 'weights.bin'), Buffer.from([9, 8, 7, 6, 5]));
    a.registry.add({ version: 'v2', accuracyBefore: 0.8, accuracyAfter: 0.9, baseVersion: 'v1', modelVersion: 'retrain-v2@abc' });
    a.manager.siteHooks?.candidateSaved?.('v2');
    // B prepares v2 as soon as it is added to the site, before anyone promotes it.
    await until('B prepares v2', () => preparedB.length > 0, 10_000, 10);
    expect(preparedB).toEqual([b.registry.dirFor('v2')]);
    expect(b.registry.current()?.version).toBe('v1');
    await a.manager.promote('v2');
    await until('B switched to v2', () => b.registry.current()?.version === 'v2', 10_000, 10);
    expect(switchedB).toEqual([b.registry.dirFor('v2')]);
    expect(readFileSync(path.join(b.registry.dirFor('v2'), 'weights.bin'))).toEqual(Buffer.from([9, 8, 7, 6, 5]));
    expect(b.registry.get('v2')).toMatchObject({ accuracyAfter: 0.9, modelVersion: 'retrain-v2@abc', baseVersion: 'v1' });
    // B's own activation is not published back as a new change.
    const { rows } = await siteA.pool.query<{ n: number }>("SELECT COUNT(*)::int AS n FROM site_changes WHERE kind = 'model-activated'");
    expect(rows[0].n).toBe(2); // v1 at the site's start, v2 now

    await a.manager.rollback();
    await until('B rolled back to v1', () => b.registry.current()?.version === 'v1', 10_000, 10);
  });
});

describe('a node that starts while PostgreSQL is away', () => {
  it('starts on its local state and joins the site when PostgreSQL answers; a newer schema still refuses the start', async () => {
    const url = await freshDb();
    const node = localNode('late');
    await server.stop('SIGKILL');
    try {
      const site = await SiteStore.open({ url, node: 'late', log, store: node.store, pollMs: 60_000 });
      closers.push(() => site.stop());
      // Gives up after its 1 s catch-up timeout. Not a wall-clock bound: Node runs timers in the order they fall due,
      // so a 5 s timer set after the call fires after attach's own timeout, however loaded the machine.
      let late: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        site.attach(node.host, 1000).then(() => 'attached' as const),
        new Promise<'still waiting after 5 s'>((r) => (late = setTimeout(() => r('still waiting after 5 s'), 5000))),
      ]);
      clearTimeout(late);
      expect(outcome).toBe('attached');
      expect(site.health().listening).toBe(false);
      await server.start();
      await until('joined', () => site.health().listening, 30_000, 50);
      // Joining shared the node's models with the (empty) site: the schema is there and the node's v1 is the site's.
      await until('v1 on the site', async () => (await site.pool.query("SELECT value FROM site_settings WHERE key = 'active_model'")).rows[0]?.value === 'v1', 10_000, 50);
    } finally {
      if (!server.running) await server.start();
    }
    const p = pool(url);
    await p.query("INSERT INTO site_schema (version, name, applied_at) VALUES (999, 'from the future', 'now')");
    await expect(SiteStore.open({ url, node: 'late2', log, store: localNode('late2').store })).rejects.toThrow(/newer spectrad/);
  }, 60_000);
});

describe('results and alerts of every node', () => {
  it('reach PostgreSQL through the outbox across a PostgreSQL restart, once each, and read back site-wide', async () => {
    const url = await freshDb();
    const dir = tmp('out');
    const store = new Store(path.join(dir, 'spectrad.db'), { outputs: ['site'] });
    const site = await SiteStore.open({ url, node: 'n1', log, store });
    closers.push(() => site.stop());
    const output = site.resultsOutput();
    await output.start();
    const dispatcher = new OutboxDispatcher(store, output, { log, minBackoffMs: 50, maxBackoffMs: 300 });
    closers.push(async () => {
      dispatcher.stop();
      await dispatcher.idle();
    });
    const commit = (i: number) => {
      const id = ulid();
      const receivedAt = new Date().toISOString();
      store.commitIngest({
        spectra: [{ id, adapter: 'mqtt', source: `spectrad/lab/${i}`, instrument: 'lab', receivedAt, block: 0, raw: Buffer.from(`raw ${i}`), preprocessed: Float32Array.from([i, 1]) }],
        results: [],
        alerts: [],
      });
      const r: ResultMessage = { id, instrument: 'lab', source: `spectrad/lab/${i}`, receivedAt, status: i % 2 ? 'unknown' : 'identified', score: 0.5, candidates: [], latencyMs: 3, modelVersion: 'm1', node: 'n1', ...(i % 2 ? {} : { class: 'quartz' }) };
      const alerts: AlertMessage[] = i % 2 ? [{ id: ulid(), kind: 'unknown', instrument: 'lab', at: receivedAt, message: 'unknown spectrum', resultId: id, node: 'n1' }] : [];
      store.commitResults([r], alerts);
      dispatcher.wake();
      return id;
    };
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push(commit(i));
    await until('first ten in PostgreSQL', async () => (await site.queries.listResults({ limit: 100 })).items.length === 10, 10_000, 50);
    await server.stop('SIGKILL');
    await expect(output.publishAlert({ id: ulid(), kind: 'unknown', instrument: 'lab', at: new Date().toISOString(), message: 'x' })).rejects.toBeInstanceOf(OutputUnavailableError);
    for (let i = 10; i < 30; i++) ids.push(commit(i));
    await until('the dispatcher refused by the killed server', () => dispatcher.stats().failing, 30_000, 20);
    expect(store.outboxDepths().site).toBeGreaterThan(0);
    await server.start();
    await until('every result in PostgreSQL', async () => (await site.queries.listResults({ limit: 100 }).catch(() => ({ items: [] }))).items.length === 30, 30_000, 100);
    await until('outbox empty', () => store.outboxDepths().site === 0, 10_000, 50);
    const all = await site.queries.listResults({ limit: 100 });
    expect(all.items.map((r) => r.id).sort()).toEqual([...ids].sort());
    expect((await site.queries.listResults({ status: 'unknown', limit: 100 })).items).toHaveLength(15);
    // Paging as the local store pages: a total, the cursor newest first, offsets in another order.
    const page1 = await site.queries.listResults({ limit: 12 });
    expect(page1.total).toBe(30);
    const page2 = await site.queries.listResults({ limit: 12, before: page1.nextCursor });
    expect([...page1.items, ...page2.items].map((r) => r.id)).toEqual([...ids].sort().reverse().slice(0, 24));
    const byStatus = await site.queries.listResults({ sort: 'status', limit: 20, offset: 10 });
    expect(byStatus.items.map((r) => r.status)).toEqual([...Array(5).fill('identified'), ...Array(15).fill('unknown')]);
    expect(byStatus.nextCursor).toBeUndefined();
    const spectrum = await site.queries.getSpectrum(ids[3]);
    expect(spectrum?.raw.toString()).toBe('raw 3');
    expect(Array.from(spectrum!.preprocessed!)).toEqual([3, 1]);
    expect(spectrum?.result?.node).toBe('n1');
    const alerts = await site.queries.queryAlerts({ state: 'open' });
    expect(alerts.items).toHaveLength(15);
    expect((await site.queries.alertCounts()).open).toBe(15);
    const acked = await site.queries.acknowledgeAlerts({ ids: alerts.items.slice(0, 5).map((a) => a.id) });
    expect(acked.ids).toHaveLength(5);
    expect((await site.queries.alertCounts()).open).toBe(10);
    expect(await site.queries.acknowledgeAlert(alerts.items[0].id)).toBe(acked.acknowledgedAt);
  }, 90_000);
});

describe('one retraining run on the site, one token', () => {
  it('the lock admits one node at a time and is freed when its holder’s connection dies', async () => {
    const url = await freshDb();
    const [p1, p2] = [pool(url), pool(url)];
    await migrateSite(p1);
    const a = new SiteRunLock(p1, 'a');
    const b = new SiteRunLock(p2, 'b');
    expect(await a.claim()).toBeUndefined();
    expect(await b.claim()).toMatch(/already going on node a/);
    await a.release();
    expect(await b.claim()).toBeUndefined();
    expect(await a.claim()).toMatch(/node b/);
    // b's node dies: its session goes, and with it the lock.
    await p1.query("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()");
    await until('the lock is free', async () => (await a.claim()) === undefined, 5000, 50);
    await a.release();
  });

  it('the first token proposed is every node’s', async () => {
    const url = await freshDb();
    const p = pool(url);
    await migrateSite(p);
    expect(await siteToken(p, 'token-of-node-a-0123456789')).toBe('token-of-node-a-0123456789');
    expect(await siteToken(p, 'token-of-node-b-0123456789')).toBe('token-of-node-a-0123456789');
  });
});

describe('the local bookkeeping', () => {
  it('keeps the applied revision and the unpublished changes in the node’s SQLite store', () => {
    const store = new Store(path.join(tmp('local'), 'spectrad.db'));
    const local = new LocalSiteState(store.db);
    expect(local.revision).toBe(0);
    local.setRevision(41);
    local.queue({ kind: 'undo', enrollmentId: 'e1' });
    const again = new LocalSiteState(store.db);
    expect(again.revision).toBe(41);
    expect(again.pending()).toEqual([{ seq: 1, change: { kind: 'undo', enrollmentId: 'e1' } }]);
  });
});
