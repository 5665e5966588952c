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
    expect(outcome.removed).toEqual({ site_results: OLD, site_spectra: OLD, site_alerts: OLD / 4 + 1 });
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
    expect((await retention.pruneNow(NOW)).removed).toEqual({ site_results: 0, site_spectra: 0, site_alerts: 0 });
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

  it('keeps everything with a retention of 0', async () => {
    expect(await new SiteRetention(pools[0], { days: 0, log }).pruneNow()).toEqual({ removed: {}, batches: 0 });
    expect(retentionCutoff(0)).toBeUndefined();
  });
});
