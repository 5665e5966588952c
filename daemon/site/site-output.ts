import type pg from 'pg';
import { AdapterStateTracker } from '../../adapters/adapter-state.ts';
import { OutputUnavailableError } from '../../adapters/errors.ts';
import type { OutputAdapter } from '../../adapters/types.ts';
import type { AlertMessage, ResultMessage } from '../../core/messages.ts';
import { toBlob, type StoredSpectrum } from '../store/store.ts';
import { inTransaction } from './pool.ts';

/**
 * Results and alerts of this node into the site's PostgreSQL, as an output behind the local outbox: a spectrum is
 * committed to the local SQLite store before its source is acknowledged, its result then waits in the outbox until
 * PostgreSQL has it (insert-or-ignore by id, so a replay after a lost confirmation writes nothing twice). While
 * PostgreSQL is down the output is down, the outbox grows on disk and the node keeps identifying.
 */
export class SiteResultsOutput implements OutputAdapter {
  readonly name: string;
  private readonly tracker: AdapterStateTracker;

  constructor(
    private readonly pool: pg.Pool,
    private readonly node: string,
    /** The received spectrum behind a result (raw and preprocessed), from the local store. */
    private readonly spectrumOf: (id: string) => StoredSpectrum | undefined,
    name = 'site',
  ) {
    this.name = name;
    this.tracker = new AdapterStateTracker(name, 'store');
  }

  get state$() {
    return this.tracker.state$;
  }

  async start(): Promise<void> {
    try {
      await this.pool.query('SELECT 1');
      this.tracker.set('up');
    } catch (err) {
      this.tracker.set('down', `PostgreSQL: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  async publishResult(result: ResultMessage): Promise<void> {
    const s = this.spectrumOf(result.id);
    await this.write(async (client) => {
      if (s) {
        await client.query(
          `INSERT INTO site_spectra (id, node, received_at, instrument, adapter, source, format_hint, block, title, raw, preprocessed)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING`,
          [s.id, result.node ?? this.node, s.receivedAt, s.instrument, s.adapter, s.source, s.formatHint ?? null, s.block, s.title ?? null, s.raw, s.preprocessed ? toBlob(s.preprocessed) : null],
        );
      }
      await client.query(
        `INSERT INTO site_results (spectrum_id, node, instrument, status, class, score, latency_ms, model_version, received_at, source, message)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING`,
        [result.id, result.node ?? this.node, result.instrument, result.status, result.class ?? null, result.score, result.latencyMs, result.modelVersion, s?.receivedAt ?? result.receivedAt ?? null, s?.source ?? result.source ?? null, JSON.stringify(result)],
      );
    });
  }

  async publishAlert(alert: AlertMessage): Promise<void> {
    await this.write((client) =>
      client.query('INSERT INTO site_alerts (id, node, kind, instrument, at, message, result_id) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING', [
        alert.id,
        alert.node ?? this.node,
        alert.kind,
        alert.instrument,
        alert.at,
        alert.message,
        alert.resultId ?? null,
      ]),
    );
  }

  private async write(work: (client: pg.PoolClient) => Promise<unknown>): Promise<void> {
    try {
      await inTransaction(this.pool, work);
      this.tracker.set('up');
    } catch (err) {
      throw this.down(err);
    }
  }

  private down(err: unknown): OutputUnavailableError {
    const message = err instanceof Error ? err.message : String(err);
    this.tracker.set('down', `PostgreSQL: ${message}`);
    return new OutputUnavailableError(this.name, message, { cause: err });
  }

  async stop(): Promise<void> {
    this.tracker.set('stopped');
  }
}
