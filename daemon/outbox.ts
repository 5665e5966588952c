import type { AlertMessage, ResultMessage } from '../core/messages.ts';
import type { Subscription } from 'rxjs';
import type { OutputAdapter } from '../adapters/types.ts';
import type { PipelineLogger } from '../pipelines/ports.ts';
import type { StageTimes } from '../pipelines/stage-times.ts';
import type { Store } from './store/store.ts';

export interface OutboxOptions {
  /** Messages published at once (pipelined QoS 1 publishes, one InfluxDB request each). */
  readonly window?: number;
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly log: PipelineLogger;
  /** Where the time from taking a window of messages to their confirmation is summed (stage 'publish'). */
  readonly stageTimes?: StageTimes;
}

/**
 * Delivers one output's queue in the store's outbox: oldest first, deleted only once the output confirmed it
 * (broker PUBACK, TSDB 2xx). While the output is down the queue grows on disk, and retries back off exponentially;
 * when it is back the backlog is replayed. Restarts resume from the store, so nothing is lost, and consumers
 * de-duplicate by the result id if a confirmation was lost in flight.
 */
export class OutboxDispatcher {
  private readonly window: number;
  private readonly minBackoff: number;
  private readonly maxBackoff: number;
  private backoff = 0;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;
  private delivered = 0;
  private failing = false;
  private readonly stateSub: Subscription;

  constructor(
    private readonly store: Store,
    readonly output: OutputAdapter,
    private readonly o: OutboxOptions,
  ) {
    this.window = o.window ?? 32;
    this.minBackoff = o.minBackoffMs ?? 500;
    this.maxBackoff = o.maxBackoffMs ?? 30_000;
    // After a long outage the backoff has grown (up to maxBackoff): when the output reconnects, replay at once
    // instead of waiting out the rest of it.
    this.stateSub = output.state$.subscribe((s) => {
      if (s.state === 'up') this.retryNow();
    });
  }

  /** The output is reachable again: cut a running backoff short and deliver now. */
  retryNow(): void {
    if (this.stopped || !this.timer) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.wake();
  }

  /** New rows are queued: deliver now unless waiting out a backoff. */
  wake(): void {
    if (this.stopped || this.running || this.timer) return;
    this.running = this.drainQueue().finally(() => {
      this.running = undefined;
    });
  }

  stats(): { output: string; delivered: number; failing: boolean } {
    return { output: this.output.name, delivered: this.delivered, failing: this.failing };
  }

  /** Waits (up to timeoutMs) for the queue to empty; false when the output could not take it all in time. */
  async flush(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.store.outboxTake(this.output.name, 1).length === 0) return true;
      if (this.timer && !this.failing) {
        clearTimeout(this.timer);
        this.timer = undefined;
      }
      this.wake();
      await (this.running ?? new Promise((r) => setTimeout(r, 50)));
    }
    return this.store.outboxTake(this.output.name, 1).length === 0;
  }

  stop(): void {
    this.stopped = true;
    this.stateSub.unsubscribe();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  async idle(): Promise<void> {
    await this.running;
  }

  private async drainQueue(): Promise<void> {
    while (!this.stopped) {
      const rows = this.store.outboxTake(this.output.name, this.window);
      if (rows.length === 0) return;
      const t0 = performance.now();
      const outcomes = await Promise.allSettled(
        rows.map((row) => {
          let message: unknown;
          try {
            message = JSON.parse(row.payload);
          } catch {
            return Promise.resolve(); // unreadable row (should not happen): drop it rather than block the queue
          }
          return row.kind === 'result'
            ? this.output.publishResult(message as ResultMessage)
            : this.output.publishAlert(message as AlertMessage);
        }),
      );
      this.o.stageTimes?.record('publish', performance.now() - t0, rows.length);
      const done = rows.filter((_, i) => outcomes[i].status === 'fulfilled').map((r) => r.seq);
      const failed = rows.filter((_, i) => outcomes[i].status === 'rejected');
      this.store.outboxDone(done);
      this.delivered += done.length;
      if (failed.length === 0) {
        if (this.failing) this.o.log.info({ output: this.output.name }, 'output accepts messages again; backlog replayed');
        this.failing = false;
        this.backoff = 0;
        continue;
      }
      const reason = (outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult).reason as unknown;
      const message = reason instanceof Error ? reason.message : String(reason);
      this.store.outboxFailed(failed.map((r) => r.seq), message);
      this.backoff = this.backoff === 0 ? this.minBackoff : Math.min(this.maxBackoff, this.backoff * 2);
      if (!this.failing) this.o.log.warn({ output: this.output.name, err: message, retryMs: this.backoff }, 'output refused messages; buffering in the store');
      this.failing = true;
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.wake();
      }, this.backoff);
      return;
    }
  }
}
