import type pg from 'pg';
import { checkout, LOCK_KEYS } from './pool.ts';

/**
 * One retraining run on the whole site: a session advisory lock held on a connection of its own for as long as the
 * run goes. A node that dies mid-run loses its connection and PostgreSQL frees the lock, so the site is never stuck.
 */
export class SiteRunLock {
  private holder: Awaited<ReturnType<typeof checkout>> | undefined;
  private forgetLost: () => void = () => undefined;

  constructor(
    private readonly pool: pg.Pool,
    private readonly node: string,
  ) {}

  get held(): boolean {
    return this.holder !== undefined;
  }

  /** Takes the lock; undefined when taken, else why not (another node runs, or the site store is unreachable). */
  async claim(): Promise<string | undefined> {
    if (this.holder) return undefined;
    let client: Awaited<ReturnType<typeof checkout>>;
    try {
      client = await checkout(this.pool);
    } catch (err) {
      return `the site store is unreachable, so no retraining run can be coordinated: ${err instanceof Error ? err.message : String(err)}`;
    }
    try {
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [LOCK_KEYS.retrain.toString()]);
      if (!rows[0].ok) {
        const who = await client.query<{ value: string }>("SELECT value FROM site_settings WHERE key = 'retrain_node'");
        client.releaseAfter();
        return `a retraining run is already going on node ${who.rows[0]?.value ?? '(unknown)'}; one run at a time on the site`;
      }
      await client.query("INSERT INTO site_settings (key, value) VALUES ('retrain_node', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [this.node]);
      // The lock lives as long as this connection: a failure of it frees the lock on the server, so forget it here too.
      const lost = (err: Error) => {
        if (this.holder !== client) return;
        this.holder = undefined;
        this.forgetLost();
        client.releaseAfter(err);
      };
      client.on('error', lost);
      this.forgetLost = () => client.removeListener('error', lost);
      this.holder = client;
      return undefined;
    } catch (err) {
      client.releaseAfter(err);
      return `could not take the site's retraining lock: ${err instanceof Error ? err.message : String(err)}`;
    }
  }

  async release(): Promise<void> {
    const client = this.holder;
    this.holder = undefined;
    if (!client) return;
    this.forgetLost();
    try {
      await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEYS.retrain.toString()]);
      client.releaseAfter();
    } catch (err) {
      // The connection is gone, and the lock with it.
      client.releaseAfter(err);
    }
  }
}

/**
 * The site's write token: the first node to start proposes its own (config or token file) and every node uses the
 * one the site holds, so one token labels and enrolls on any node. A token given in a node's config (http.token,
 * SPECTRAD_HTTP_TOKEN) wins on that node, as the operator asked.
 */
export async function siteToken(pool: pg.Pool, proposed: string): Promise<string> {
  await pool.query("INSERT INTO site_settings (key, value) VALUES ('http_token', $1) ON CONFLICT DO NOTHING", [proposed]);
  const { rows } = await pool.query<{ value: string }>("SELECT value FROM site_settings WHERE key = 'http_token'");
  return rows[0].value;
}
