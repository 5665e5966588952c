/**
 * One filter description, two stores: the same results, labels and alerts written to a node's SQLite store and,
 * through the site output, to a real PostgreSQL 15 (started here), then every filter, order and page asked of both.
 * The answers must be equal, row for row. The site database is asked twice: with the C collation and with ICU's
 * en-US (a site database made with a language collation must still order text as the node's store does).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertMessage, ResultMessage, ResultStatus } from '../../core/messages.ts';
import { publishEnrollment } from '../../daemon/site/library-sync.ts';
import { migrateSite } from '../../daemon/site/migrations.ts';
import { openSitePool } from '../../daemon/site/pool.ts';
import { SiteResultsOutput } from '../../daemon/site/site-output.ts';
import { SiteQueries } from '../../daemon/site/site-queries.ts';
import { ulid } from '../../daemon/store/ids.ts';
import { renderWhere, resultConditions, RESULT_SORTS, type AlertSelection, type ResultFilter } from '../../daemon/store/query-filters.ts';
import { Store, type StoredAlert } from '../../daemon/store/store.ts';
import { startPostgres, stopAllServers, type Postgres } from '../../support/servers.ts';

const log = pino({ level: 'silent' });
const NODE = 'n1';
const T0 = Date.UTC(2026, 2, 1, 8, 0, 0);
const STATUSES: ResultStatus[] = ['identified', 'unknown', 'low-confidence', 'mixture', 'rejected'];
// Instruments and classes whose byte order differs from a language collation's (upper before lower case, '_').
const INSTRUMENTS = ['raman-b', 'Raman-A', 'ftir_1', 'ftir-2'];
const CLASSES = ['quartz', 'Calcite', 'albite', undefined];

let server: Postgres;
const pools: pg.Pool[] = [];
let store: Store;
const ids: string[] = [];

/** 60 results over 3 hours: every status, instruments and classes in mixed case, sources with LIKE's own characters. */
function commitLocal(): { results: ResultMessage[]; alerts: AlertMessage[] } {
  const results: ResultMessage[] = [];
  const alerts: AlertMessage[] = [];
  for (let i = 0; i < 60; i++) {
    const at = T0 + i * 3 * 60_000 + (i % 7) * 1000;
    const id = ulid(at);
    ids.push(id);
    const receivedAt = new Date(at).toISOString();
    const instrument = INSTRUMENTS[i % INSTRUMENTS.length];
    const status = STATUSES[i % STATUSES.length];
    const source = ['/in/a_b.jdx', '/in/100%.csv', '/in/back\\slash.jdx', `/in/plain-${i}.jdx`][i % 4];
    store.commitIngest({ spectra: [{ id, adapter: 'inbox', source, instrument, receivedAt, block: 0, raw: Buffer.from(`raw ${i}`), preprocessed: Float32Array.from([i, 1]) }], results: [], alerts: [] });
    const cls = status === 'identified' || status === 'low-confidence' ? CLASSES[i % CLASSES.length] : undefined;
    const r: ResultMessage = {
      id, instrument, source, receivedAt, status, score: status === 'rejected' ? 0 : Math.round(((i * 37) % 100) * 10) / 1000, candidates: [],
      latencyMs: (i * 13) % 50, modelVersion: 'm1', node: NODE,
      ...(cls ? { class: cls } : {}),
      ...(status === 'rejected' ? { error: { code: 'unreadable', message: i % 2 ? 'no data rows in 50%_of file' : 'bad header' } } : {}),
    };
    const a: AlertMessage[] = status === 'unknown' || status === 'low-confidence' || i % 11 === 0
      ? [{ id: ulid(at + 1), kind: status === 'low-confidence' ? 'low-confidence' : i % 11 === 0 ? 'adapter-down' : 'unknown', instrument, at: new Date(at + 1).toISOString(), message: `alert ${i}`, resultId: id, node: NODE }]
      : [];
    store.commitResults([r], a);
    results.push(r);
    alerts.push(...a);
  }
  // Operators' labels: one class named like a model answer, one new, and a later label over an earlier one.
  store.addReferences('quartz', 'api', [ids[1], ids[6]].map((s) => ({ vector: Float32Array.from([1, 1]), enrollmentId: 'e1', spectrumId: s })), { labelledBy: 'ana' });
  store.addReferences('gypsum', 'api', [ids[11], ids[16], ids[1]].map((s) => ({ vector: Float32Array.from([1, 2]), enrollmentId: 'e2', spectrumId: s })));
  store.acknowledgeAlert(alerts[2].id);
  return { results, alerts };
}

/** A site database with the same rows, written the way a node writes them (site output, enrollment publication). */
async function siteWith(url: string, written: { results: ResultMessage[]; alerts: AlertMessage[] }): Promise<SiteQueries> {
  const pool = openSitePool(url, log);
  pools.push(pool);
  await migrateSite(pool);
  const output = new SiteResultsOutput(pool, NODE, (id) => store.getSpectrum(id));
  for (const r of written.results) await output.publishResult(r);
  for (const a of written.alerts) await output.publishAlert(a);
  await publishEnrollment(pool, store.db, 'e1', NODE);
  await publishEnrollment(pool, store.db, 'e2', NODE);
  const queries = new SiteQueries(pool);
  await queries.acknowledgeAlert(written.alerts[2].id);
  return queries;
}

const sites: Array<{ name: string; queries: SiteQueries }> = [];

beforeAll(async () => {
  server = await startPostgres();
  store = new Store(path.join(mkdtempSync(path.join(tmpdir(), 'spectrad-parity-')), 'spectrad.db'));
  const written = commitLocal();
  sites.push({ name: 'C collation', queries: await siteWith(await server.createDatabase('parity_c'), written) });
  // A database whose text collation is ICU's en-US ('a' < 'B' < 'c'; SQLite compares bytes: 'B' < 'a').
  const admin = openSitePool(server.urlFor('postgres'), log);
  pools.push(admin);
  await admin.query("CREATE DATABASE parity_icu TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'");
  sites.push({ name: 'ICU en-US collation', queries: await siteWith(server.urlFor('parity_icu'), written) });
}, 120_000);

afterAll(async () => {
  await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
  store?.close();
  await stopAllServers();
});

const iso = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();
const FILTERS: Array<[string, ResultFilter]> = [
  ['everything', {}],
  ['one instrument', { instrument: 'Raman-A' }],
  ['a class the model named or an operator labelled', { class: 'quartz' }],
  ['a class only a label gives', { class: 'gypsum' }],
  ['labelled', { labelled: true }],
  ['not labelled', { labelled: false }],
  ['one status', { status: 'unknown' }],
  ['several statuses', { status: ['rejected', 'mixture'] }],
  ['text with LIKE’s %', { q: '%' }],
  ['text with LIKE’s _', { q: 'a_b' }],
  ['text with a backslash', { q: 'back\\slash' }],
  ['text in the error message', { q: '50%_of' }],
  ['an id', { q: '' }],
  ['a time window', { from: iso(30), to: iso(120) }],
  ['all narrowing together', { instrument: 'ftir_1', status: ['identified', 'low-confidence', 'rejected'], from: iso(10) }],
  ['nothing matches', { instrument: 'nowhere' }],
];

describe('result filters: SQLite and PostgreSQL answer alike', () => {
  it.each(FILTERS)('%s: same rows, total and cursor in every order and page', async (_name, base) => {
    const filter = base.q === '' ? { q: ids[17] } : base;
    const local = store.listResults({ ...filter, limit: 500 });
    if (filter.instrument !== 'nowhere') expect(local.total).toBeGreaterThan(0);
    for (const site of sites) {
      for (const sort of [undefined, ...RESULT_SORTS]) {
        // Three pages: by cursor newest first, by offset in any other order.
        let cursor: string | undefined;
        for (let page = 0; page < 3; page++) {
          const f: ResultFilter = { ...filter, sort, limit: 7, offset: sort && sort !== '-time' ? page * 7 : undefined, before: cursor };
          const a = store.listResults(f);
          const b = await site.queries.listResults(f);
          expect(b, `${site.name}, sort ${sort}, page ${page}`).toEqual(a);
          cursor = a.nextCursor;
        }
        const exportedLocal = Array.from(store.iterateResults({ ...filter, sort }, 4));
        const exportedSite: unknown[] = [];
        for await (const r of site.queries.iterateResults({ ...filter, sort }, 4)) exportedSite.push(r);
        expect(exportedSite, `${site.name} export, sort ${sort}`).toEqual(exportedLocal);
        expect(exportedLocal).toHaveLength(local.total);
      }
    }
  }, 60_000);

  it('labels come back alike: the newest label, its author, on both', async () => {
    const local = store.listResults({ labelled: true, limit: 500 });
    expect(local.items.find((r) => r.id === ids[1])).toMatchObject({ label: { class: 'gypsum', enrollmentId: 'e2' } });
    expect(local.items.find((r) => r.id === ids[6])).toMatchObject({ label: { class: 'quartz', by: 'ana' } });
    for (const site of sites) expect(await site.queries.listResults({ labelled: true, limit: 500 })).toEqual(local);
  });

  it('trends are bucketed alike', async () => {
    const local = store.instrumentTrends(T0, 15 * 60_000, T0 + 4 * 3_600_000);
    expect(local.map((t) => t.instrument).sort()).toEqual([...INSTRUMENTS].sort());
    for (const site of sites) expect(await site.queries.instrumentTrends(T0, 15 * 60_000, T0 + 4 * 3_600_000)).toEqual(local);
  });
});

describe('alert filters: SQLite and PostgreSQL answer alike', () => {
  // The node is the site's own column; acknowledgement times differ by the moment each store was asked.
  const comparable = (items: StoredAlert[]) => items.map(({ node: _node, acknowledgedAt, ...a }) => ({ ...a, acknowledged: acknowledgedAt !== undefined }));
  const ALERT_FILTERS: Array<[string, AlertSelection]> = [
    ['everything', {}],
    ['open', { state: 'open' }],
    ['one instrument', { instrument: 'ftir_1' }],
    ['one kind, open', { kind: 'unknown', state: 'open' }],
  ];

  it.each(ALERT_FILTERS)('%s: same pages and counts', async (_name, filter) => {
    const all = store.queryAlerts({ ...filter, limit: 1000 });
    expect(all.items.length).toBeGreaterThan(0);
    for (const site of sites) {
      let cursor: string | undefined;
      for (let page = 0; page < 3; page++) {
        const a = store.queryAlerts({ ...filter, limit: 4, before: cursor });
        const b = await site.queries.queryAlerts({ ...filter, limit: 4, before: cursor });
        expect(b.nextCursor).toBe(a.nextCursor);
        expect(comparable(b.items)).toEqual(comparable(a.items));
        expect(b.items.every((x) => x.node === NODE)).toBe(true);
        cursor = a.nextCursor;
      }
      expect(await site.queries.alertCounts()).toEqual(store.alertCounts());
    }
  });

  it('a bulk acknowledgement by filter closes the same alerts in both', async () => {
    const upTo = store.queryAlerts({ limit: 1000 }).items[5].id;
    const selection: AlertSelection = { instrument: 'raman-b', upTo };
    const before = store.alertCounts().open;
    const local = store.acknowledgeAlerts(selection);
    expect(local.ids.length).toBeGreaterThan(0);
    expect(store.alertCounts().open).toBe(before - local.ids.length);
    for (const site of sites) {
      const done = await site.queries.acknowledgeAlerts(selection);
      expect(done.ids).toEqual([...local.ids].sort());
      expect(await site.queries.alertCounts()).toEqual(store.alertCounts());
    }
    const byIds = store.queryAlerts({ state: 'open', limit: 3 }).items.map((a) => a.id);
    const localIds = store.acknowledgeAlerts({ ids: byIds });
    for (const site of sites) expect((await site.queries.acknowledgeAlerts({ ids: byIds })).ids).toEqual([...localIds.ids].sort());
  });
});

describe('rendering one description for two dialects', () => {
  it('keeps ? for SQLite and numbers $n for PostgreSQL from where the caller starts', () => {
    const conditions = resultConditions({ instrument: 'r1', class: 'quartz', status: ['unknown', 'mixture'] }, 'postgres');
    const pgWhere = renderWhere(conditions, 'postgres', 2);
    expect(pgWhere.sql).toContain('r.instrument = $2');
    expect(pgWhere.sql).toContain('l.class = $4');
    expect(pgWhere.sql).toContain('r.status IN ($5, $6)');
    expect(pgWhere.params).toEqual(['r1', 'quartz', 'quartz', 'unknown', 'mixture']);
    const sqliteWhere = renderWhere(resultConditions({ instrument: 'r1' }, 'sqlite'), 'sqlite');
    expect(sqliteWhere).toEqual({ sql: 'WHERE r.instrument = ?', params: ['r1'] });
    expect(renderWhere([], 'postgres')).toEqual({ sql: '', params: [] });
    expect(() => renderWhere([{ sql: 'a = ? AND b = ?', params: [1] }], 'sqlite')).toThrow(/2 placeholders for 1 parameters/);
  });
});
