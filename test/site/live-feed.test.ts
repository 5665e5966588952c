import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type pg from 'pg';
import { pino } from 'pino';
import { io as connectClient } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SocketIoOutput } from '../../adapters/socketio-output.ts';
import type { AlertMessage, ResultMessage } from '../../core/messages.ts';
import { SiteLiveFeed } from '../../daemon/site/live-feed.ts';
import { migrateSite } from '../../daemon/site/migrations.ts';
import { openSitePool } from '../../daemon/site/pool.ts';
import { SiteResultArbiter } from '../../daemon/site/result-arbiter.ts';
import { SiteResultsOutput } from '../../daemon/site/site-output.ts';
import { ulid } from '../../daemon/store/ids.ts';
import { Store } from '../../daemon/store/store.ts';
import { startPostgres, stopAllServers, waitFor, type Postgres } from '../../support/servers.ts';

/**
 * Each node's dashboards show the whole site live (daemon/site/live-feed.ts): node A's results and alerts, written to
 * the site's PostgreSQL by A's outbox or by the queue's decision, reach node B's socket.io clients; B's own do not
 * come back to it twice. Real PostgreSQL, a real socket.io server and client.
 */
const log = pino({ level: 'silent' });
let postgres: Postgres;
let url: string;
let pool: pg.Pool;

beforeAll(async () => {
  postgres = await startPostgres();
  url = await postgres.createDatabase('live_feed');
  pool = openSitePool(url, log);
  await migrateSite(pool);
}, 60_000);
afterAll(async () => {
  await pool?.end().catch(() => undefined);
  await stopAllServers();
});

const result = (id: string, node: string, cls: string): ResultMessage => ({
  id, instrument: 'raman-1', source: 'spectrad/raman-1/spectrum', receivedAt: new Date().toISOString(), status: 'identified', class: cls, score: 0.9,
  candidates: [{ class: cls, score: 0.9 }], latencyMs: 3, modelVersion: 'm1', node,
});

describe('the site live feed', () => {
  it("shows another node's results and alerts on this node's socket.io clients, not this node's own twice", async () => {
    const http = createServer();
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const socket = new SocketIoOutput({ name: 'dashboard', server: http });
    await socket.start();
    const feed = new SiteLiveFeed({ url, pool, node: 'B', log, onResult: (r) => void socket.publishResult(r), onAlert: (a) => void socket.publishAlert(a) });
    await feed.start();
    expect(feed.listening).toBe(true);
    const client = connectClient(`http://127.0.0.1:${(http.address() as AddressInfo).port}`, { transports: ['websocket'] });
    const results: ResultMessage[] = [];
    const alerts: AlertMessage[] = [];
    client.on('result', (r: ResultMessage) => results.push(r));
    client.on('alert', (a: AlertMessage) => alerts.push(a));
    await waitFor('the dashboard connected', () => client.connected, 10_000);

    const outputA = new SiteResultsOutput(pool, 'A', () => undefined);
    const outputB = new SiteResultsOutput(pool, 'B', () => undefined);
    const fromA = result(ulid(), 'A', 'calcite');
    await outputA.publishResult(fromA);
    await outputB.publishResult(result(ulid(), 'B', 'quartz'));
    const alertA: AlertMessage = { id: ulid(), kind: 'unknown', instrument: 'raman-1', at: new Date().toISOString(), message: 'unknown spectrum', resultId: fromA.id, node: 'A' };
    await outputA.publishAlert(alertA);
    // A queue spectrum A won: its result reaches the site through the decision itself (daemon/site/result-arbiter.ts).
    const store = new Store(path.join(mkdtempSync(path.join(tmpdir(), 'live-feed-')), 'spectrad.db'));
    const queued = ulid();
    store.commitIngest({ spectra: [{ id: queued, adapter: 'queue', source: 's', instrument: 'raman-1', receivedAt: new Date().toISOString(), block: 0, raw: Buffer.from('x'), preprocessed: Float32Array.from([1]), dedupKey: 'queue-key:m1#0' }], results: [], alerts: [] });
    const decided = result(queued, 'A', 'dolomite');
    await new SiteResultArbiter(pool, 'A', store.db, ['queue'], log).decide([decided]);

    await waitFor('A\'s two results and its alert on B\'s dashboard', () => results.length >= 2 && alerts.length >= 1, 10_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(results).toEqual([fromA, decided]);
    expect(alerts).toEqual([alertA]);

    client.close();
    await feed.stop();
    await socket.stop();
    store.close();
    await new Promise((r) => http.close(r));
  }, 60_000);
});
