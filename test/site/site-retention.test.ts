/**
 * Retention on the site's PostgreSQL (a real PostgreSQL 15 started here): the same rows written to a node's SQLite
 * store and to the site, pruned by the same `store.retentionDays`, leave the same results and alerts in both; the
 * site deletes in batches, each committed on its own (another connection sees the count fall), while a node's
 * result written in the middle of the pass goes in at once; one node prunes at a time.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertMessage, ResultMessage } from '../../core/messages.ts';
import { migrateSite } from '../../daemon/site/migrations.ts';
import { LOCK_KEYS, openSitePool } from '../../daemon/site/pool.ts';
import { SiteResultsOutput } from '../../daemon/site/site-output.ts';
import { SiteQueries } from '../../daemon/site/site-queries.ts';
import { SiteRetention } from '../../daemon/site/site-retention.ts';
import { ulid } from '../../daemon/store/ids.ts';
import { retentionCutoff } from '../../daemon/store/retention.ts';
import { Store } from '../../daemon/store/store.ts';
import { startPostgres, stopAllServers, type Postgres } from '../../support/servers.ts';

const log = pino({ level: 'silent' });
const DAY = 86_400_000;
const NOW = Date.now();
const OLD = 400;
const NEW = 30;

let server: Postgres;
const pools: pg.Pool[] = [];
let store: Store;
let output: SiteResultsOutput;
let queries: SiteQueries;

function pool(url: string): pg.Pool {
  const p = openSitePool(url, log);
  pools.push(p);
  return p;
}

/** A result (and for some an alert) received `ageDays` ago, in the node's store and through the site output. */
async function receive(i: number, ageDays: number, alert?: AlertMessage['kind'], acknowledged = false): Promise<string> {
  const at = NOW - ageDays * DAY - i;
  const id = ulid(at);
  const receivedAt = new Date(at).toISOString();
  store.commitIngest({ spectra: [{ id, adapter: 'inbox', source: `/in/${i}.jdx`, instrument: 'lab', receivedAt, block: 0, raw: Buffer.from(`raw ${i}`), preprocessed: Float32Array.from([i]) }], results: [], alerts: [] });
  const r: ResultMessage = { id, instrument: 'lab', source: `/in/${i}.jdx`, receivedAt, status: alert ? 'unknown' : 'identified', score: 0.5, candidates: [], latencyMs: 2, modelVersion: 'm1', node: 'n1' };
  const alerts: AlertMessage[] = alert ? [{ id: ulid(at + 1), kind: alert, instrument: 'lab', at: new Date(at + 1).toISOString(), message: alert, resultId: id, node: 'n1' }] : [];
  store.commitResults([r], alerts);
  await output.publishResult(r);
  for (const a of alerts) {
    await output.publishAlert(a);
    if (acknowledged) {
      store.acknowledgeAlert(a.id);
      await queries.acknowledgeAlert(a.id);
    }
  }
  return id;
}

beforeAll(async () => {
  server = await startPostgres();
  const url = await server.createDatabase('site_retention');
  const p = pool(url);
  await migrateSite(p);
  store = new Store(path.join(mkdtempSync(path.join(tmpdir(), 'spectrad-retention-')), 'spectrad.db'), { outputs: ['site'] });
  output = new SiteResultsOutput(p, 'n1', (id) => store.getSpectrum(id));
  queries = new SiteQueries(p);
  for (let i = 0; i < OLD; i++) await receive(i, 40 + (i % 20), i % 4 === 0 ? 'unknown' : undefined, i % 8 === 0);
  // Adapter alerts past the retention: a closed one goes, one still open stays (its input is still down).
  for (const closed of [true, false]) {
    const a: AlertMessage = { id: ulid(NOW - 50 * DAY), kind: 'adapter-down', instrument: 'lab', at: new Date(NOW - 50 * DAY).toISOString(), message: 'inbox down' };
    await output.publishAlert(a);
    store.addAlert(a, { queue: false });
    if (closed) {
      await queries.acknowledgeAlert(a.id);
      store.acknowledgeAlert(a.id);
    }
  }
  for (let i = 0; i < NEW; i++) await receive(OLD + i, i % 10, i % 3 === 0 ? 'unknown' : undefined);
}, 180_000);

afterAll(async () => {
  await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
  store?.close();
  await stopAllServers();
});

describe('site retention', () => {
  it('prunes in committed batches what the node’s store prunes, and a result written mid-pass goes in at once', async () => {
    const url = server.urlFor('site_retention');
    const watcher = pool(url);
    const count = async () => Number((await watcher.query<{ n: string }>('SELECT COUNT(*) AS n FROM site_results')).rows[0].n);
    const seen: Array<{ table: string; left: number }> = [];
    let midPass: string | undefined;
    const retention = new SiteRetention(pool(url), {
      days: 30,
      batch: 64,
      log,
      onBatch: async (table) => {
        seen.push({ table, left: await count() });
        if (!midPass && table === 'site_results') midPass = await receive(9999, 0);
      },
    });
    const before = await count();
    expect(before).toBe(OLD + NEW);
    const outcome = await retention.pruneNow(NOW);
    expect(outcome.removed).toEqual({ site_results: OLD, site_spectra: OLD, site_alerts: OLD / 4 + 1, site_labels: 0, site_finished_work: 0, site_enrollment_requests: 0 });
    expect(outcome.batches).toBeGreaterThanOrEqual(2 * Math.ceil(OLD / 64) + 1);
    // Each batch was committed: another connection saw the results shrink batch by batch.
    const results = seen.filter((s) => s.table === 'site_results').map((s) => s.left);
    expect(results.length).toBe(Math.ceil(OLD / 64));
    for (let i = 1; i < results.length; i++) expect(results[i]).toBeLessThan(results[i - 1]);
    expect(results[0]).toBeGreaterThan(NEW + 1);
    // The node's own store, pruned by the same setting at its start: the same results and alerts remain.
    const removedLocally = store.prune(retentionCutoff(30, NOW)!);
    expect(removedLocally).toBe(OLD);
    const local = store.listResults({ limit: 500 });
    const site = await queries.listResults({ limit: 500 });
    expect(site.total).toBe(NEW + 1);
    expect(site.items.map((r) => r.id)).toEqual(local.items.map((r) => r.id));
    expect(site.items.map((r) => r.id)).toContain(midPass);
    const alertIds = (items: Array<{ id: string; kind: string }>) => items.map((a) => `${a.kind} ${a.id}`);
    const localAlerts = store.queryAlerts({ limit: 1000 }).items;
    expect(alertIds((await queries.queryAlerts({ limit: 1000 })).items)).toEqual(alertIds(localAlerts));
    expect(localAlerts.filter((a) => a.kind === 'adapter-down')).toHaveLength(1);
    expect(store.getSpectrum(local.items.at(-1)!.id)).toBeDefined();
    expect((await retention.pruneNow(NOW)).removed).toEqual({ site_results: 0, site_spectra: 0, site_alerts: 0, site_labels: 0, site_finished_work: 0, site_enrollment_requests: 0 });
  }, 120_000);

  it('lets one node prune at a time: another pass while the lock is held skips', async () => {
    const url = server.urlFor('site_retention');
    const holder = await pool(url).connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [LOCK_KEYS.retention.toString()]);
      const outcome = await new SiteRetention(pool(url), { days: 1, log }).pruneNow(NOW);
      expect(outcome).toMatchObject({ skipped: true, batches: 0 });
      await holder.query('SELECT pg_advisory_unlock($1)', [LOCK_KEYS.retention.toString()]);
      const after = await new SiteRetention(pool(url), { days: 1, log }).pruneNow(NOW);
      expect(after.skipped).toBeUndefined();
      expect(after.removed.site_results).toBeGreaterThan(0);
    } finally {
      holder.release();
    }
  });

  it('keeps the whole history with a retention of 0 (only the bookkeeping keys go)', async () => {
    const url = server.urlFor('site_retention');
    const watcher = pool(url);
    const before = (await watcher.query<{ n: string }>('SELECT COUNT(*) AS n FROM site_results')).rows[0].n;
    expect(await new SiteRetention(pools[0], { days: 0, log }).pruneNow()).toEqual({ removed: { site_finished_work: 0, site_enrollment_requests: 0 }, batches: 0 });
    expect((await watcher.query<{ n: string }>('SELECT COUNT(*) AS n FROM site_results')).rows[0].n).toBe(before);
    expect(retentionCutoff(0)).toBeUndefined();
  });

  it('prunes the labels of spectra the site no longer holds, and the bookkeeping keys after keysKeepHours, pass after pass', async () => {
    const url = await server.createDatabase('site_retention_keys');
    const p = pool(url);
    await migrateSite(p);
    const siteOutput = new SiteResultsOutput(p, 'n1', () => undefined);
    const iso = (ageMs: number) => new Date(NOW - ageMs).toISOString();
    // One enrollment labelled three spectra: one old whose result goes, one old whose result stays (received
    // recently, labelled long ago), one labelled recently whose result goes.
    const ids = { oldGone: ulid(NOW - 40 * DAY), oldKept: ulid(NOW - DAY), newGone: ulid(NOW - 41 * DAY) };
    const result = (id: string, receivedAt: string): ResultMessage => ({ id, instrument: 'lab', source: 's', receivedAt, status: 'unknown', score: 0.1, candidates: [], latencyMs: 1, modelVersion: 'm1', node: 'n1' });
    await siteOutput.publishResult(result(ids.oldGone, iso(40 * DAY)));
    await siteOutput.publishResult(result(ids.oldKept, iso(DAY)));
    await siteOutput.publishResult(result(ids.newGone, iso(41 * DAY)));
    await p.query(`INSERT INTO site_enrollments (enrollment_id, class, origin, node, at) VALUES ('e1', 'x', 'enrolled', 'n1', $1)`, [iso(35 * DAY)]);
    await p.query(
      `INSERT INTO site_labels (spectrum_id, enrollment_id, class, labelled_at) VALUES ($1, 'e1', 'x', $4), ($2, 'e1', 'x', $4), ($3, 'e1', 'x', $5)`,
      [ids.oldGone, ids.oldKept, ids.newGone, iso(35 * DAY), iso(DAY)],
    );
    const hour = 3_600_000;
    await p.query(
      `INSERT INTO site_finished_work (key, node, spectrum_id, finished_at) VALUES ('queue-key:old#0', 'n1', 'a', $1), ('queue-key:new#0', 'n1', 'b', $2), ('queue-key:old-job', 'n1', NULL, $1)`,
      [iso(30 * hour), iso(hour)],
    );
    await p.query(
      `INSERT INTO site_enrollment_requests (key, class, node, claimed_at, enrollment_id, at) VALUES ('k-old', 'x', 'n1', $1, 'e1', $1), ('k-new', 'x', 'n1', $2, 'e1', $2), ('k-dead-claim', 'x', 'n1', $1, NULL, NULL)`,
      [iso(30 * hour), iso(hour)],
    );
    const retention = new SiteRetention(p, { days: 30, keysKeepHours: 24, log, intervalMs: 200 });
    const outcome = await retention.pruneNow(NOW);
    expect(outcome.removed).toEqual({ site_results: 2, site_spectra: 0, site_alerts: 0, site_labels: 1, site_finished_work: 2, site_enrollment_requests: 2 });
    const rows = async (sql: string) => (await p.query<{ k: string }>(sql)).rows.map((r) => r.k).sort();
    expect(await rows('SELECT spectrum_id AS k FROM site_labels')).toEqual([ids.newGone, ids.oldKept].sort());
    expect(await rows('SELECT key AS k FROM site_finished_work')).toEqual(['queue-key:new#0']);
    expect(await rows('SELECT key AS k FROM site_enrollment_requests')).toEqual(['k-new']);

    // Started, it runs every intervalMs: a key that is past its time when the next pass comes goes without a restart.
    retention.start();
    await p.query(`INSERT INTO site_finished_work (key, node, finished_at) VALUES ('queue-key:later', 'n2', $1)`, [iso(25 * hour)]);
    const gone = async () => (await p.query('SELECT 1 FROM site_finished_work WHERE key = $1', ['queue-key:later'])).rowCount === 0;
    const deadline = Date.now() + 10_000;
    while (!(await gone())) {
      if (Date.now() > deadline) throw new Error('the periodic pass did not prune the key');
      await new Promise((r) => setTimeout(r, 100));
    }
    await retention.stop();
    expect(await rows('SELECT key AS k FROM site_finished_work')).toEqual(['queue-key:new#0']);
  });
});
