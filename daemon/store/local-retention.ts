import type { PipelineLogger } from '../../pipelines/ports.ts';
import { retentionCutoff } from './retention.ts';

export interface LocalRetentionOptions {
  /** store.retentionDays: 0 keeps everything (no pass runs). */
  readonly days: number;
  /** store.pruneIntervalMin in ms: the time between passes (the start's own pruning is the first). */
  readonly intervalMs: number;
  readonly log: PipelineLogger;
  /** Rows per table and transaction (default 500). */
  readonly batch?: number;
}

/**
 * The node's retention while it runs: the start prunes its store in one go before any input runs
 * (daemon/parts/store-part.ts); a daemon that runs for months then prunes again every `store.pruneIntervalMin`, by the
 * same rule (daemon/store/retention.ts). A pass deletes in small transactions and yields to the event loop between
 * them, so the pipeline's commits (on the same SQLite connection and thread) wait for one batch at most.
 */
export class LocalRetention {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;

  constructor(
    private readonly store: { pruneBatch(olderThan: string, limit: number): Record<string, number> },
    private readonly o: LocalRetentionOptions,
  ) {}

  start(): void {
    if (this.o.days <= 0) return;
    const schedule = () => {
      if (this.stopped) return;
      this.timer = setTimeout(() => {
        this.running = this.pruneNow()
          .then((removed) => {
            if (Object.values(removed).some((n) => n > 0)) this.o.log.info({ removed, retentionDays: this.o.days }, 'old spectra, results and alerts pruned');
          })
          .catch((err: unknown) => this.o.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'retention pass failed; it runs again later'))
          .finally(() => {
            this.running = undefined;
            schedule();
          });
      }, this.o.intervalMs);
      this.timer.unref();
    };
    schedule();
  }

  /** One pass with the cutoff at `now` less the retention: rows removed per table. */
  async pruneNow(now: number = Date.now()): Promise<Record<string, number>> {
    const cutoff = retentionCutoff(this.o.days, now);
    const removed: Record<string, number> = {};
    if (cutoff === undefined) return removed;
    const batch = this.o.batch ?? 500;
    for (;;) {
      if (this.stopped) return removed;
      const n = this.store.pruneBatch(cutoff, batch);
      for (const [table, count] of Object.entries(n)) removed[table] = (removed[table] ?? 0) + count;
      if (Object.values(n).every((count) => count < batch)) return removed;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
