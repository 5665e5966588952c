import pg from 'pg';
import type { AlertMessage, ResultMessage } from '../../core/messages.ts';
import type { PipelineLogger } from '../../pipelines/ports.ts';
import { LIVE_CHANNEL } from './migrations.ts';
import { abandonClient, endListening, ReconnectBackoff } from './pg-listen.ts';

export interface LiveFeedOptions {
  readonly url: string;
  readonly pool: pg.Pool;
  /** This node: its own results and alerts reach its dashboards from its pipeline, not from here. */
  readonly node: string;
  readonly log: PipelineLogger;
  /** Another node's result or alert, as it was written to the site. */
  readonly onResult: (result: ResultMessage) => void;
  readonly onAlert: (alert: AlertMessage) => void;
  /** First wait before reconnecting; doubles up to 10 s. */
  readonly reconnectMs?: number;
}

interface Announcement {
  readonly kind: 'result' | 'alert';
  readonly id: string;
  readonly node: string;
}

/**
 * The site's live feed for this node's dashboards (socket.io): every result and alert another node writes to the
 * site is announced on commit (a trigger's NOTIFY, site migration 5) and read back here, so each node's live view
 * shows the whole site, as its history does. Best effort, like socket.io itself: while the listening connection is
 * down nothing is replayed (the dashboard catches up through the HTTP API, which reads the site).
 * Announcements arriving together are read in one query per kind.
 */
export class SiteLiveFeed {
  private client: pg.Client | undefined;
  private stopped = false;
  private readonly reconnects: ReconnectBackoff;
  private waiting: Announcement[] = [];
  private reading: Promise<void> | undefined;

  constructor(private readonly o: LiveFeedOptions) {
    this.reconnects = new ReconnectBackoff(o.reconnectMs ?? 250, () => void this.connect());
  }

  get listening(): boolean {
    return this.client !== undefined;
  }

  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({ connectionString: this.o.url, connectionTimeoutMillis: 5000, application_name: 'spectrad-live' });
    client.on('notification', (m) => {
      if (m.channel !== LIVE_CHANNEL || !m.payload) return;
      let a: Announcement;
      try {
        a = JSON.parse(m.payload) as Announcement;
      } catch {
        return;
      }
      if (a.node === this.o.node) return;
      this.waiting.push(a);
      if (!this.reading) this.reading = this.readWaiting();
    });
    const lost = () => {
      if (this.client !== client) return;
      this.client = undefined;
      client.removeAllListeners('notification');
      void client.end().catch(() => undefined);
      this.scheduleReconnect();
    };
    client.on('error', lost);
    client.on('end', lost);
    try {
      await client.connect();
      await client.query(`LISTEN ${LIVE_CHANNEL}`);
    } catch (err) {
      abandonClient(client);
      this.o.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'site: cannot listen for the other nodes\' live results; retrying');
      this.scheduleReconnect();
      return;
    }
    this.client = client;
    this.reconnects.connected();
  }

  private async readWaiting(): Promise<void> {
    // Announcements of one commit (a micro-batch) arrive together: one turn gathers them.
    await new Promise((r) => setImmediate(r));
    while (this.waiting.length > 0 && !this.stopped) {
      const batch = this.waiting;
      this.waiting = [];
      try {
        const results = batch.filter((a) => a.kind === 'result').map((a) => a.id);
        const alerts = batch.filter((a) => a.kind === 'alert').map((a) => a.id);
        if (results.length > 0) {
          const { rows } = await this.o.pool.query<{ message: ResultMessage }>('SELECT message FROM site_results WHERE spectrum_id = ANY($1::text[]) ORDER BY spectrum_id', [results]);
          for (const r of rows) this.o.onResult(r.message);
        }
        if (alerts.length > 0) {
          const { rows } = await this.o.pool.query<{ id: string; node: string; kind: AlertMessage['kind']; instrument: string; at: string; message: string; result_id: string | null }>(
            'SELECT id, node, kind, instrument, at, message, result_id FROM site_alerts WHERE id = ANY($1::text[]) ORDER BY at',
            [alerts],
          );
          for (const a of rows) this.o.onAlert({ id: a.id, kind: a.kind, instrument: a.instrument, at: a.at, message: a.message, node: a.node, ...(a.result_id ? { resultId: a.result_id } : {}) });
        }
      } catch (err) {
        this.o.log.warn({ err: err instanceof Error ? err.message : String(err), missed: batch.length }, 'site: could not read the other nodes\' live results (the history has them)');
      }
    }
    this.reading = undefined;
  }

  private scheduleReconnect(): void {
    if (!this.stopped) this.reconnects.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.reconnects.cancel();
    const client = this.client;
    this.client = undefined;
    await endListening(client);
    await this.reading;
  }
}
