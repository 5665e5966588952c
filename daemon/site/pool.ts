import pg from 'pg';
import type { PipelineLogger } from '../../pipelines/ports.ts';

/**
 * The site's PostgreSQL connection string with any password replaced, for logs and errors: the URL itself is a
 * secret (site.postgres.url, SPECTRAD_SITE_URL) and is never logged whole.
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    for (const key of [...u.searchParams.keys()]) if (/pass|secret|key/i.test(key)) u.searchParams.set(key, '***');
    return u.toString();
  } catch {
    return 'postgres://(unparseable url)';
  }
}

export interface SitePoolOptions {
  readonly max?: number;
  /** How long a new connection may take before the call fails (a PostgreSQL outage must not hang the daemon). */
  readonly connectTimeoutMs?: number;
  /** Longest a statement may run on the server; a stuck query is cancelled rather than holding a pool slot. */
  readonly statementTimeoutMs?: number;
  readonly applicationName?: string;
}

/**
 * A pg.Pool for the site store. An idle client that loses its server (PostgreSQL restarted) emits 'error' on the
 * pool: without a listener that would crash the daemon, so it is logged (without the URL) and the pool makes new
 * connections on the next query.
 */
export function openSitePool(url: string, log: PipelineLogger, options: SitePoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 6,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    idleTimeoutMillis: 30_000,
    statement_timeout: options.statementTimeoutMs ?? 60_000,
    application_name: options.applicationName ?? 'spectrad',
  });
  pool.on('error', (err) => log.warn({ err: err.message }, 'site store: an idle PostgreSQL connection failed; the next query reconnects'));
  return pool;
}

/**
 * A pooled client for several statements. pg emits 'error' on a client whose server goes away even while a query of
 * it is failing, and the pool listens only on idle clients: without a listener while checked out, a PostgreSQL
 * restart would crash the daemon. The failed query still rejects; release(err) then drops the broken connection.
 */
export async function checkout(pool: pg.Pool): Promise<pg.PoolClient & { releaseAfter(err?: unknown): void }> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (err: Error) => {
    broken = err;
  };
  client.on('error', onError);
  return Object.assign(client, {
    releaseAfter(err?: unknown) {
      client.removeListener('error', onError);
      const failed = broken ?? (err === undefined ? undefined : err instanceof Error ? err : new Error(String(err)));
      client.release(failed);
    },
  });
}

/** Runs `work` in one transaction on one pooled client; rolled back when it throws. */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await checkout(pool);
  let failed: unknown;
  try {
    await client.query('BEGIN');
    const out = await work(client);
    await client.query('COMMIT');
    return out;
  } catch (err) {
    failed = err;
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.releaseAfter(failed);
  }
}

/** Advisory lock keys of the site (pg_advisory_lock takes a bigint; these spell 'spectrd' + a number). */
export const LOCK_KEYS = {
  migrations: 0x7370656374726401n,
  retrain: 0x7370656374726402n,
  promote: 0x7370656374726403n,
  seed: 0x7370656374726404n,
  /** One retention pass on the site at a time (daemon/site/site-retention.ts). */
  retention: 0x7370656374726420n,
} as const;
