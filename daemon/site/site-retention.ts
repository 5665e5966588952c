import type pg from 'pg';
import type { PipelineLogger } from '../../pipelines/ports.ts';
import { addParam, renderWhere } from '../store/query-filters.ts';
import { pruneTargets, retentionCutoff, siteKeyTargets, type PruneTarget } from '../store/retention.ts';
import { checkout, LOCK_KEYS } from './pool.ts';

export interface SiteRetentionOptions {
  /** store.retentionDays of this node: 0 keeps the history (this node never prunes results, spectra, alerts, labels). */
  readonly days: number;
  /** site.postgres.keysKeepHours: how long the bookkeeping keys stay, whatever `days` (default 24). */
  readonly keysKeepHours?: number;
  readonly log: PipelineLogger;
  /** Rows per delete: each batch is its own short transaction, so the nodes' inserts go on between them. */
  readonly batch?: number;
  /** How often a pass runs after the first (at start); default hourly (store.pruneIntervalMin). */
  readonly intervalMs?: number;
  /** Called after each committed batch (tests watch the pass progress; logs). */
  readonly onBatch?: (table: string, removed: number) => void | Promise<void>;
}

export interface PruneOutcome {
  /** Rows deleted per table; empty when the pass did not run. */
  readonly removed: Record<string, number>;
  readonly batches: number;
  /** Another node was pruning the site at the time (one pass at a time, under an advisory lock). */
  readonly skipped?: boolean;
}

/**
 * The site's retention: the results, spectra, alerts and labels of every node past `store.retentionDays`, by the same
 * rule as a node's own store (daemon/store/retention.ts), and the bookkeeping keys (work-queue decisions, enrollment
 * Idempotency-Keys) past `site.postgres.keysKeepHours`. The site takes spectra all the time and may hold months of
 * them: a pass deletes in batches of a few hundred rows, each committed on its own, and yields between them, so no
 * long transaction or lock holds up the nodes' inserts. One node prunes at a time (a session advisory lock; the
 * others skip that pass).
 */
export class SiteRetention {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly o: SiteRetentionOptions,
  ) {}

  /** Runs a pass now and then every intervalMs (default hourly). */
  start(): void {
    const run = () => {
      if (this.stopped) return;
      this.running = this.pruneNow()
        .then((out) => {
          const n = Object.values(out.removed).reduce((a, b) => a + b, 0);
          if (n > 0) this.o.log.info({ removed: out.removed, batches: out.batches, retentionDays: this.o.days, keysKeepHours: this.keysKeepHours }, 'site: old history and keys pruned');
        })
        .catch((err: unknown) => this.o.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'site: retention pass failed; it runs again later'))
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.timer = setTimeout(run, this.o.intervalMs ?? 3_600_000).unref();
        });
    };
    run();
  }

  private get keysKeepHours(): number {
    return this.o.keysKeepHours ?? 24;
  }

  /** What a pass at `now` deletes: the history past the retention (none with 0), the keys past their time. */
  private targets(now: number): PruneTarget[] {
    const cutoff = retentionCutoff(this.o.days, now);
    return [...(cutoff === undefined ? [] : pruneTargets(cutoff, 'postgres')), ...siteKeyTargets(new Date(now - this.keysKeepHours * 3_600_000).toISOString())];
  }

  /** One pass with the cutoffs at `now` less the retention and the keys' time. */
  async pruneNow(now: number = Date.now()): Promise<PruneOutcome> {
    const targets = this.targets(now);
    const batch = this.o.batch ?? 500;
    const client = await checkout(this.pool);
    let failed: unknown;
    let locked = false;
    try {
      locked = (await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [LOCK_KEYS.retention.toString()])).rows[0].ok;
      if (!locked) return { removed: {}, batches: 0, skipped: true };
      const removed: Record<string, number> = {};
      let batches = 0;
      for (const t of targets) {
        const where = renderWhere(t.conditions, 'postgres');
        const params = [...where.params];
        const limitAt = addParam('postgres', params, batch);
        // Autocommit: each statement its own transaction.
        const sql = `DELETE FROM ${t.table} WHERE ${t.key} IN (SELECT ${t.key} FROM ${t.table} ${where.sql} LIMIT ${limitAt})`;
        removed[t.table] = 0;
        for (;;) {
          if (this.stopped) return { removed, batches };
          const n = (await client.query(sql, params)).rowCount ?? 0;
          removed[t.table] += n;
          if (n > 0) {
            batches++;
            await this.o.onBatch?.(t.table, n);
          }
          if (n < batch) break;
          // A turn of the event loop between batches: this node's own writes to the site go on too.
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
      return { removed, batches };
    } catch (err) {
      failed = err;
      throw err;
    } finally {
      if (locked && failed === undefined) await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEYS.retention.toString()]).catch(() => undefined);
      client.releaseAfter(failed);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
