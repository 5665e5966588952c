import type pg from 'pg';
import type { FinishedWorkLedger } from '../../adapters/work-queue.ts';

/** How long a finished key is kept: a redelivery comes within a few leases of the first delivery, never a day later. */
const KEEP = '1 day';
/** Old keys are pruned on one record in this many (a DELETE by the indexed time; no timer of its own). */
const PRUNE_EVERY = 2000;

/**
 * The site's ledger of finished queue jobs (adapters/work-queue.ts FinishedWorkLedger) in PostgreSQL
 * (`site_finished_work`): the key a node finished, recorded after its result is committed and before the queue ack,
 * so a job redelivered to another node after the first died between the two is acknowledged there, not identified a
 * second time (docs/SCALE-OUT.md).
 */
export class SiteWorkLedger implements FinishedWorkLedger {
  private records = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly node: string,
  ) {}

  async finishedBy(key: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ node: string }>('SELECT node FROM site_finished_work WHERE key = $1', [key]);
    return rows[0]?.node;
  }

  async record(key: string): Promise<void> {
    await this.pool.query('INSERT INTO site_finished_work (key, node) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [key, this.node]);
    if (++this.records % PRUNE_EVERY === 0) await this.pool.query(`DELETE FROM site_finished_work WHERE finished_at < now() - interval '${KEEP}'`);
  }
}
