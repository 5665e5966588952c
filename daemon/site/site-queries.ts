import type pg from 'pg';
import type { ResultMessage } from '../../core/messages.ts';
import { fromBlob, type AlertCounts, type AlertFilter, type LabelledResult, type ResultFilter, type StoredAlert, type StoredSpectrum } from '../store/store.ts';

/** The newest label of site result row `r` as JSON, like the local store's LABEL_SQL. */
const LABEL_SQL = `(SELECT json_build_object('class', l.class, 'at', l.labelled_at, 'by', l.labelled_by, 'enrollmentId', l.enrollment_id)
  FROM site_labels l WHERE l.spectrum_id = r.spectrum_id ORDER BY l.labelled_at DESC, l.enrollment_id DESC LIMIT 1)`;

/** ORDER BY for a result sort key, as the local store sorts ('-' first: descending; the id breaks ties). */
function resultsOrder(sort: ResultFilter['sort']): string {
  const key = (sort ?? '-time').replace(/^-/, '');
  const dir = sort?.startsWith('-') || sort === undefined ? 'DESC' : 'ASC';
  const column = { time: 'r.spectrum_id', score: 'r.score', latency: 'r.latency_ms', instrument: 'r.instrument', status: 'r.status', class: 'r.class' }[key] ?? 'r.spectrum_id';
  // NULLS as SQLite orders them (first ascending, last descending), so both stores page alike.
  return column === 'r.spectrum_id' ? `r.spectrum_id ${dir}` : `${column} ${dir} NULLS ${dir === 'ASC' ? 'FIRST' : 'LAST'}, r.spectrum_id ${dir}`;
}

type LabelJson = { class: string; at: string; by: string | null; enrollmentId: string } | null;

function withLabel(message: ResultMessage, label: LabelJson): LabelledResult {
  if (!label) return message;
  return { ...message, label: { class: label.class, at: label.at, enrollmentId: label.enrollmentId, ...(label.by ? { by: label.by } : {}) } };
}

interface AlertRow {
  id: string;
  node: string;
  kind: StoredAlert['kind'];
  instrument: string;
  at: string;
  message: string;
  result_id: string | null;
  acknowledged_at: string | null;
  ack_note: string | null;
}

function alertOf(a: AlertRow): StoredAlert {
  return {
    id: a.id,
    kind: a.kind,
    instrument: a.instrument,
    at: a.at,
    message: a.message,
    node: a.node,
    ...(a.result_id ? { resultId: a.result_id } : {}),
    ...(a.acknowledged_at ? { acknowledgedAt: a.acknowledged_at } : {}),
    ...(a.ack_note ? { note: a.ack_note } : {}),
  };
}

/** WHERE clauses of an alert filter with $n placeholders from `start`. */
function alertWhere(f: AlertFilter, params: unknown[]): string[] {
  const clauses: string[] = [];
  if (f.state === 'open') clauses.push("acknowledged_at IS NULL AND kind != 'adapter-up'");
  if (f.instrument !== undefined) {
    params.push(f.instrument);
    clauses.push(`instrument = $${params.length}`);
  }
  if (f.kind !== undefined) {
    params.push(f.kind);
    clauses.push(`kind = $${params.length}`);
  }
  return clauses;
}

/**
 * The site's history and alerts as the API shows them, read from PostgreSQL: every node's results, spectra and
 * alerts, with the same filters, paging and label rules as the local store's queries (daemon/store/store.ts).
 */
export class SiteQueries {
  constructor(private readonly pool: pg.Pool) {}

  /** Same filters, sorts and paging as the local store's listResults (daemon/store/results.ts), over every node. */
  async listResults(filter: ResultFilter = {}): Promise<{ items: ResultMessage[]; nextCursor?: string; total: number }> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (clause: (n: string) => string, value: unknown) => {
      if (value === undefined || value === '') return;
      params.push(value);
      where.push(clause(`$${params.length}`));
    };
    add((n) => `r.instrument = ${n}`, filter.instrument);
    add((n) => `(r.class = ${n} OR EXISTS (SELECT 1 FROM site_labels l WHERE l.spectrum_id = r.spectrum_id AND l.class = ${n}))`, filter.class);
    if (filter.labelled !== undefined) where.push(`${filter.labelled ? '' : 'NOT '}EXISTS (SELECT 1 FROM site_labels l WHERE l.spectrum_id = r.spectrum_id)`);
    const statuses = typeof filter.status === 'string' ? [filter.status] : (filter.status ?? []);
    if (statuses.length > 0) add((n) => `r.status = ANY(${n}::text[])`, [...statuses]);
    if (filter.q) {
      params.push(filter.q, `%${filter.q.replace(/[\\%_]/g, (c) => '\\' + c)}%`);
      const q = `$${params.length - 1}`;
      const like = `$${params.length}`;
      where.push(`(r.spectrum_id = ${q} OR r.source LIKE ${like} OR r.message->'error'->>'message' LIKE ${like})`);
    }
    add((n) => `r.received_at >= ${n}`, filter.from);
    add((n) => `r.received_at < ${n}`, filter.to);
    const whereSql = (w: string[]) => (w.length ? 'WHERE ' + w.join(' AND ') : '');
    const total = Number((await this.pool.query<{ n: string }>(`SELECT COUNT(*) AS n FROM site_results r ${whereSql(where)}`, params)).rows[0].n);
    const sorted = filter.sort !== undefined && filter.sort !== '-time';
    // The cursor (an id) pages newest first only; any other order pages by offset.
    if (filter.before && !sorted) add((n) => `r.spectrum_id < ${n}`, filter.before);
    const limit = Math.min(Math.max(filter.limit ?? 50, 1), 500);
    params.push(limit + 1, Math.max(0, filter.offset ?? 0));
    const { rows } = await this.pool.query<{ message: ResultMessage; label: LabelJson }>(
      `SELECT r.message, ${LABEL_SQL} AS label FROM site_results r ${whereSql(where)}
       ORDER BY ${resultsOrder(filter.sort)} LIMIT $${params.length - 1} OFFSET $${params.length}`,
      params,
    );
    const items = rows.slice(0, limit).map((r) => withLabel(r.message, r.label));
    return { items, nextCursor: rows.length > limit && !sorted ? items[items.length - 1].id : undefined, total };
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
    const params: unknown[] = [];
    const clauses = alertWhere(filter, params);
    if (filter.before !== undefined) {
      params.push(filter.before);
      clauses.push(`id < $${params.length}`);
    }
    const limit = Math.max(1, Math.min(filter.limit ?? 100, 1000));
    params.push(limit + 1);
    const { rows } = await this.pool.query<AlertRow>(
      `SELECT * FROM site_alerts ${clauses.length ? 'WHERE ' + clauses.join(' AND ') : ''} ORDER BY id DESC LIMIT $${params.length}`,
      params,
    );
    const items = rows.slice(0, limit).map(alertOf);
    return rows.length > limit ? { items, nextCursor: items[items.length - 1].id } : { items };
  }

  async alertCounts(): Promise<AlertCounts> {
    const total = Number((await this.pool.query<{ n: string }>('SELECT COUNT(*) AS n FROM site_alerts')).rows[0].n);
    const { rows } = await this.pool.query<{ instrument: string; kind: string; n: string }>(
      "SELECT instrument, kind, COUNT(*) AS n FROM site_alerts WHERE acknowledged_at IS NULL AND kind != 'adapter-up' GROUP BY instrument, kind",
    );
    const openByInstrument: Record<string, number> = {};
    const openByKind: Record<string, number> = {};
    let open = 0;
    for (const g of rows) {
      const n = Number(g.n);
      open += n;
      openByInstrument[g.instrument] = (openByInstrument[g.instrument] ?? 0) + n;
      openByKind[g.kind] = (openByKind[g.kind] ?? 0) + n;
    }
    return { total, open, openByInstrument, openByKind };
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

  async acknowledgeAlerts(filter: AlertFilter & { ids?: readonly string[]; upTo?: string }): Promise<{ ids: string[]; acknowledgedAt: string }> {
    const at = new Date().toISOString();
    const params: unknown[] = [at];
    const clauses = alertWhere({ ...filter, state: 'open' }, params);
    if (filter.ids !== undefined) {
      params.push([...filter.ids]);
      clauses.push(`id = ANY($${params.length}::text[])`);
    }
    if (filter.upTo !== undefined) {
      params.push(filter.upTo);
      clauses.push(`id <= $${params.length}`);
    }
    const { rows } = await this.pool.query<{ id: string }>(`UPDATE site_alerts SET acknowledged_at = $1 WHERE ${clauses.join(' AND ')} RETURNING id`, params);
    return { ids: rows.map((r) => r.id).sort(), acknowledgedAt: at };
  }
}
