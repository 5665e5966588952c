import type pg from 'pg';
import type { ResultMessage } from '../../core/messages.ts';
import { alertCountsOf, alertPageOf, type AlertRow } from '../store/alerts.ts';
import { ulidFloor } from '../store/ids.ts';
import {
  addParam, alertConditions, alertPageQuery, labelSql, openAlertGroupsSql, pageOf, pagesByCursor, renderWhere, resultExportSource, resultPageQuery, resultsOrder, type AlertSelection,
} from '../store/query-filters.ts';
import { storedSpectrum, withLabel, type LabelJson, type SpectrumRow } from '../store/results.ts';
import { bucketTrends, type InstrumentTrend, type TrendRow } from '../store/trends.ts';
import { checkout } from './pool.ts';
import { fromBlob, type AlertCounts, type AlertFilter, type LabelledResult, type ResultFilter, type StoredAlert, type StoredSpectrum } from '../store/store.ts';

const LABEL_SQL = labelSql('postgres');

/**
 * The site's history and alerts as the API shows them, read from PostgreSQL: every node's results, spectra and
 * alerts, with the same filters, paging and label rules as the local store's queries (daemon/store/store.ts).
 */
export class SiteQueries {
  constructor(private readonly pool: pg.Pool) {}

  /** Same filters, sorts and paging as the local store's listResults (one description: daemon/store/query-filters.ts), over every node. */
  async listResults(filter: ResultFilter = {}): Promise<{ items: ResultMessage[]; nextCursor?: string; total: number }> {
    const q = resultPageQuery(filter, 'postgres');
    const total = Number((await this.pool.query<{ n: string }>(q.count.sql, q.count.params)).rows[0].n);
    const { rows } = await this.pool.query<{ message: ResultMessage; label: LabelJson }>(q.page.sql, q.page.params);
    return { ...pageOf(rows.map((r) => withLabel(r.message, r.label)), q), total };
  }

  async getResult(id: string): Promise<LabelledResult | undefined> {
    const { rows } = await this.pool.query<{ message: ResultMessage; label: LabelJson }>(`SELECT r.message, ${LABEL_SQL} AS label FROM site_results r WHERE r.spectrum_id = $1`, [id]);
    return rows[0] ? withLabel(rows[0].message, rows[0].label) : undefined;
  }

  /**
   * Every result of the site a filter matches, in its order, for the bulk export: read in chunks inside one
   * read-only REPEATABLE READ transaction, so results stored meanwhile by any node neither shift a chunk nor appear
   * half-way, and the caller may wait between rows (a slow client) while the nodes go on writing.
   */
  async *iterateResults(filter: ResultFilter = {}, chunk = 500): AsyncGenerator<LabelledResult> {
    const { from, conditions } = resultExportSource(filter, 'postgres');
    const byTime = pagesByCursor(filter.sort);
    // Newest first pages by id (an index range); any other order by offset, stable within the snapshot.
    const chunkQuery = (before: string | undefined, offset: number) => {
      const where = renderWhere(before === undefined ? conditions : [...conditions, { sql: 'r.spectrum_id < ?', params: [before] }], 'postgres');
      const params = [...where.params];
      const limitAt = addParam('postgres', params, chunk);
      const offsetAt = byTime ? '' : ` OFFSET ${addParam('postgres', params, offset)}`;
      return { sql: `SELECT r.spectrum_id AS id, r.message, ${LABEL_SQL} AS label FROM ${from} ${where.sql} ORDER BY ${resultsOrder(filter.sort, 'postgres')} LIMIT ${limitAt}${offsetAt}`, params };
    };
    const client = await checkout(this.pool);
    let failed: unknown;
    let open = false;
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      open = true;
      let before: string | undefined;
      for (let offset = 0; ; offset += chunk) {
        const q = chunkQuery(before, offset);
        const { rows } = await client.query<{ id: string; message: ResultMessage; label: LabelJson }>(q.sql, q.params);
        for (const r of rows) yield withLabel(r.message, r.label);
        if (rows.length < chunk) break;
        if (byTime) before = rows[rows.length - 1].id;
      }
    } catch (err) {
      failed = err;
      throw err;
    } finally {
      // Also when the download stopped early (the generator returned at a yield): the snapshot ends here.
      if (open && failed === undefined) await client.query('ROLLBACK').catch(() => undefined);
      client.releaseAfter(failed);
    }
  }

  /** Per-instrument trends of every node's results, bucketed as the local store buckets them (daemon/store/trends.ts). */
  async instrumentTrends(since: number, bucketMs: number, until = Date.now()): Promise<InstrumentTrend[]> {
    const { rows } = await this.pool.query<TrendRow>('SELECT instrument, spectrum_id AS id, status, score, latency_ms FROM site_results WHERE spectrum_id >= $1', [ulidFloor(since)]);
    return bucketTrends(rows, since, bucketMs, until);
  }

  /**
   * Per instrument, every node's results since `since` (ms) by status, the newest arrival, and how many arrived
   * since `recentSince` (ms): the site's side of GET /api/instruments.
   */
  async instrumentTallies(since: number, recentSince: number): Promise<Array<{ instrument: string; status: string; n: number; recent: number; last: string | null }>> {
    const { rows } = await this.pool.query<{ instrument: string; status: string; n: string; recent: string; last: string | null }>(
      `SELECT instrument, status, COUNT(*) AS n, COUNT(*) FILTER (WHERE spectrum_id >= $2) AS recent, MAX(received_at) AS last
       FROM site_results WHERE spectrum_id >= $1 GROUP BY instrument, status`,
      [ulidFloor(since), ulidFloor(recentSince)],
    );
    return rows.map((r) => ({ instrument: r.instrument, status: r.status, n: Number(r.n), recent: Number(r.recent), last: r.last }));
  }

  /** A spectrum any node received, with its result; undefined when the site does not have it (yet). */
  async getSpectrum(id: string): Promise<StoredSpectrum | undefined> {
    const { rows } = await this.pool.query<SpectrumRow>(`SELECT s.*, r.message, ${LABEL_SQL} AS label FROM site_spectra s LEFT JOIN site_results r ON r.spectrum_id = s.id WHERE s.id = $1`, [id]);
    return rows[0] ? storedSpectrum(rows[0]) : undefined;
  }

  /** The preprocessed vector of a spectrum any node received (for enrolling it on this node). */
  async spectrumVector(id: string): Promise<Float32Array | undefined> {
    const { rows } = await this.pool.query<{ preprocessed: Buffer | null }>('SELECT preprocessed FROM site_spectra WHERE id = $1', [id]);
    return rows[0]?.preprocessed ? fromBlob(rows[0].preprocessed) : undefined;
  }

  async queryAlerts(filter: AlertFilter & { before?: string; limit?: number }): Promise<{ items: StoredAlert[]; nextCursor?: string }> {
    const q = alertPageQuery(filter, 'postgres');
    return alertPageOf((await this.pool.query<AlertRow>(q.sql, q.params)).rows, q.limit);
  }

  async alertCounts(): Promise<AlertCounts> {
    const total = Number((await this.pool.query<{ n: string }>('SELECT COUNT(*) AS n FROM site_alerts')).rows[0].n);
    return alertCountsOf(total, (await this.pool.query<{ instrument: string; kind: string; n: string }>(openAlertGroupsSql('postgres'))).rows);
  }

  /** Acknowledges one alert site-wide; its acknowledgement time (the first one's, when already acknowledged). */
  async acknowledgeAlert(id: string): Promise<string | undefined> {
    const at = new Date().toISOString();
    const { rows } = await this.pool.query<{ acknowledged_at: string }>(
      `WITH upd AS (UPDATE site_alerts SET acknowledged_at = $2 WHERE id = $1 AND acknowledged_at IS NULL RETURNING acknowledged_at)
       SELECT acknowledged_at FROM upd UNION ALL SELECT acknowledged_at FROM site_alerts WHERE id = $1 AND acknowledged_at IS NOT NULL LIMIT 1`,
      [id, at],
    );
    return rows[0]?.acknowledged_at ?? undefined;
  }

  async acknowledgeAlerts(filter: AlertSelection): Promise<{ ids: string[]; acknowledgedAt: string }> {
    const at = new Date().toISOString();
    const where = renderWhere(alertConditions({ ...filter, state: 'open' }, 'postgres'), 'postgres', 2);
    const { rows } = await this.pool.query<{ id: string }>(`UPDATE site_alerts SET acknowledged_at = $1 ${where.sql} RETURNING id`, [at, ...where.params]);
    return { ids: rows.map((r) => r.id).sort(), acknowledgedAt: at };
  }
}
