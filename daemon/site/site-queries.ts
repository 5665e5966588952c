import type pg from 'pg';
import type { ResultMessage } from '../../core/messages.ts';
import { alertCountsOf, alertPageOf, type AlertRow } from '../store/alerts.ts';
import { alertConditions, alertPageQuery, labelSql, openAlertGroupsSql, pageOf, renderWhere, resultPageQuery, type AlertSelection } from '../store/query-filters.ts';
import { fromBlob, type AlertCounts, type AlertFilter, type LabelledResult, type ResultFilter, type StoredAlert, type StoredSpectrum } from '../store/store.ts';

const LABEL_SQL = labelSql('postgres');

type LabelJson = { class: string; at: string; by: string | null; enrollmentId: string } | null;

function withLabel(message: ResultMessage, label: LabelJson): LabelledResult {
  if (!label) return message;
  return { ...message, label: { class: label.class, at: label.at, enrollmentId: label.enrollmentId, ...(label.by ? { by: label.by } : {}) } };
}

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

  /** A spectrum any node received, with its result; undefined when the site does not have it (yet). */
  async getSpectrum(id: string): Promise<StoredSpectrum | undefined> {
    const { rows } = await this.pool.query<{
      id: string; received_at: string; instrument: string; adapter: string; source: string; format_hint: string | null; block: number;
      title: string | null; raw: Buffer; preprocessed: Buffer | null; message: ResultMessage | null; label: LabelJson;
    }>(`SELECT s.*, r.message, ${LABEL_SQL} AS label FROM site_spectra s LEFT JOIN site_results r ON r.spectrum_id = s.id WHERE s.id = $1`, [id]);
    const s = rows[0];
    if (!s) return undefined;
    return {
      id: s.id,
      receivedAt: s.received_at,
      instrument: s.instrument,
      adapter: s.adapter,
      source: s.source,
      formatHint: s.format_hint ?? undefined,
      block: s.block,
      title: s.title ?? undefined,
      raw: s.raw,
      preprocessed: s.preprocessed ? fromBlob(s.preprocessed) : undefined,
      state: !s.message ? 'pending' : s.message.status === 'rejected' ? 'rejected' : 'done',
      result: s.message ? withLabel(s.message, s.label) : undefined,
    };
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
