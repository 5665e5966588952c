import pg from 'pg';
import type { PipelineLogger } from '../../pipelines/ports.ts';
import { changesSince, type SiteChange } from './changes.ts';
import { SITE_CHANNEL } from './migrations.ts';
import { abandonClient, endListening, ReconnectBackoff } from './pg-listen.ts';

export interface ChangeFeedOptions {
  readonly url: string;
  readonly pool: pg.Pool;
  readonly log: PipelineLogger;
  /** The last revision this node applied (persisted by `apply`'s caller). */
  readonly revision: () => number;
  /** Applies one change; resolves once it is in effect and its revision recorded. A throw retries it later. */
  readonly apply: (change: SiteChange) => Promise<void>;
  /** Also read the log this often, in case a notification was lost (default 5 s). */
  readonly pollMs?: number;
  /** First wait before reconnecting the listening connection; doubles up to 10 s. */
  readonly reconnectMs?: number;
  /** Told whether the listening connection is up (health). */
  readonly onConnection?: (up: boolean, detail?: string) => void;
}

/**
 * How a node learns of the site's changes: a connection of its own LISTENs on the site channel, and each
 * notification (or a periodic read, or a reconnect) applies every change after the node's last applied revision, in
 * revision order, one at a time. A node that was away or lost its connection catches up from its revision: the log,
 * not the notifications, is the truth; a notification only says "read now".
 */
export class ChangeFeed {
  private client: pg.Client | undefined;
  private stopped = false;
  private running: Promise<void> = Promise.resolve();
  private again = false;
  private busy = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private readonly reconnects: ReconnectBackoff;
  private connected = false;

  constructor(private readonly o: ChangeFeedOptions) {
    this.reconnects = new ReconnectBackoff(o.reconnectMs ?? 250, () => void this.connect());
  }

  get listening(): boolean {
    return this.connected;
  }

  async start(): Promise<void> {
    await this.connect();
    this.pollTimer = setInterval(() => void this.catchUp(), this.o.pollMs ?? 5000);
    this.pollTimer.unref();
  }

  /**
   * Applies every change after the node's revision; concurrent calls fold into one more pass. Resolves when the
   * node has caught up (or the read failed: logged, retried by the next notification, poll or reconnect).
   */
  catchUp(): Promise<void> {
    if (this.busy) {
      this.again = true;
      return this.running;
    }
    this.busy = true;
    this.running = (async () => {
      try {
        do {
          this.again = false;
          for (;;) {
            const changes = await changesSince(this.o.pool, this.o.revision());
            this.o.log.debug({ after: this.o.revision(), changes: changes.length }, 'site: read the change log');
            if (changes.length === 0) break;
            for (const change of changes) {
              if (this.stopped) return;
              await this.o.apply(change);
            }
          }
        } while (this.again && !this.stopped);
      } catch (err) {
        this.o.log.warn({ err: err instanceof Error ? err.message : String(err), revision: this.o.revision() }, 'site: could not apply the site changes now; retrying');
      } finally {
        this.busy = false;
      }
    })();
    return this.running;
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({ connectionString: this.o.url, connectionTimeoutMillis: 5000, application_name: 'spectrad-listen' });
    client.on('notification', (m) => {
      if (m.channel === SITE_CHANNEL) void this.catchUp();
    });
    const lost = (err?: Error) => {
      if (this.client !== client) return;
      this.client = undefined;
      this.connected = false;
      this.o.onConnection?.(false, err?.message ?? 'connection ended');
      client.removeAllListeners('notification');
      void client.end().catch(() => undefined);
      this.scheduleReconnect();
    };
    client.on('error', (err) => lost(err));
    client.on('end', () => lost());
    try {
      await client.connect();
      await client.query(`LISTEN ${SITE_CHANNEL}`);
    } catch (err) {
      abandonClient(client);
      this.o.onConnection?.(false, err instanceof Error ? err.message : String(err));
      this.o.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'site: cannot listen for site changes; retrying');
      this.scheduleReconnect();
      return;
    }
    this.client = client;
    this.connected = true;
    this.o.log.debug({ revision: this.o.revision() }, 'site: listening for site changes');
    this.reconnects.connected();
    this.o.onConnection?.(true);
    // Whatever happened while not listening is in the log.
    await this.catchUp();
  }

  private scheduleReconnect(): void {
    if (!this.stopped) this.reconnects.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.pollTimer);
    this.reconnects.cancel();
    const client = this.client;
    this.client = undefined;
    this.connected = false;
    await endListening(client);
    await this.running.catch(() => undefined);
  }
}
