import type { ResultStatus } from '../../core/messages.ts';

/**
 * The result and alert filters of the API, described once as conditions and rendered for both stores: the node's
 * SQLite store (daemon/store, `?` placeholders) and the site's PostgreSQL (daemon/site, `$n` placeholders). A filter
 * means the same rows on a single node and across a site because both stores read this one description.
 * Pure: no database here, only SQL text and parameters.
 */

export type SqlDialect = 'sqlite' | 'postgres';

/** One condition of a WHERE clause: SQL with `?` standing for each parameter, in order, and those parameters. */
export interface Condition {
  readonly sql: string;
  readonly params: readonly unknown[];
}

export interface ResultFilter {
  instrument?: string;
  /** The class the model named, or the class an operator labelled the spectrum as. */
  class?: string;
  /** true: only spectra an operator labelled; false: only those not labelled. */
  labelled?: boolean;
  /** One status or several (any of them). */
  status?: ResultStatus | readonly ResultStatus[];
  /** Text in the id, the source or the error message. */
  q?: string;
  /** ISO time bounds on receivedAt (inclusive from, exclusive to). */
  from?: string;
  to?: string;
  /** Results older than this id (the previous page's nextCursor): newest first. */
  before?: string;
  /** Rows to skip (paging in any order; a virtualised table jumps to any row). */
  offset?: number;
  /** Order: time (received; ids are ULIDs), score, latency, instrument, status or class; '-' first for descending. Default -time. */
  sort?: ResultSort;
  limit?: number;
}

/** ORDER BY keys of a result listing ('-' first: descending). */
export const RESULT_SORTS = ['time', '-time', 'score', '-score', 'latency', '-latency', 'instrument', '-instrument', 'status', '-status', 'class', '-class'] as const;
export type ResultSort = (typeof RESULT_SORTS)[number];

/** Which alerts a query or bulk acknowledgement covers; every field narrows. */
export interface AlertFilter {
  readonly state?: 'open' | 'all';
  readonly instrument?: string;
  readonly kind?: string;
}

/** An alert filter with the selections of paging (before an id) and bulk acknowledgement (ids, up to an id). */
export type AlertSelection = AlertFilter & { readonly ids?: readonly string[]; readonly upTo?: string; readonly before?: string };

/**
 * How each store names what a result filter reads, the results table aliased `r` in both. SQLite keeps the source
 * and arrival time on the spectrum (`s`, joined), PostgreSQL on the result row; the error message is inside the
 * stored JSON message in both.
 */
const RESULT_COLUMNS: Record<SqlDialect, { results: string; labels: string; source: string; receivedAt: string; errorMessage: string; jsonObject: string; jsonList: string }> = {
  sqlite: {
    results: 'results r JOIN spectra s ON s.id = r.spectrum_id',
    labels: 'labels',
    source: 's.source',
    receivedAt: 's.received_at',
    errorMessage: "json_extract(r.message, '$.error.message')",
    jsonObject: 'json_object',
    jsonList: 'SELECT value FROM json_each(?)',
  },
  postgres: {
    results: 'site_results r',
    labels: 'site_labels',
    source: 'r.source',
    receivedAt: 'r.received_at',
    errorMessage: "(r.message->'error'->>'message')",
    jsonObject: 'json_build_object',
    jsonList: 'SELECT jsonb_array_elements_text(?::jsonb)',
  },
};

/** `%text%` for LIKE, with LIKE's own characters escaped by a backslash (both stores say ESCAPE '\'). */
export function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => '\\' + c)}%`;
}

/** The conditions of a result filter (everything but paging): shared by a page, its total and the export. */
export function resultConditions(filter: ResultFilter, dialect: SqlDialect): Condition[] {
  const c = RESULT_COLUMNS[dialect];
  const out: Condition[] = [];
  const given = (v: string | undefined): v is string => v !== undefined && v !== '';
  if (given(filter.instrument)) out.push({ sql: 'r.instrument = ?', params: [filter.instrument] });
  if (given(filter.class)) {
    out.push({ sql: `(r.class = ? OR EXISTS (SELECT 1 FROM ${c.labels} l WHERE l.spectrum_id = r.spectrum_id AND l.class = ?))`, params: [filter.class, filter.class] });
  }
  if (filter.labelled !== undefined) {
    out.push({ sql: `${filter.labelled ? '' : 'NOT '}EXISTS (SELECT 1 FROM ${c.labels} l WHERE l.spectrum_id = r.spectrum_id)`, params: [] });
  }
  const statuses: readonly string[] = typeof filter.status === 'string' ? [filter.status] : (filter.status ?? []);
  if (statuses.length > 0) out.push({ sql: `r.status IN (${statuses.map(() => '?').join(', ')})`, params: [...statuses] });
  if (given(filter.q)) {
    const like = likePattern(filter.q);
    out.push({ sql: `(r.spectrum_id = ? OR ${c.source} LIKE ? ESCAPE '\\' OR ${c.errorMessage} LIKE ? ESCAPE '\\')`, params: [filter.q, like, like] });
  }
  if (given(filter.from)) out.push({ sql: `${c.receivedAt} >= ?`, params: [filter.from] });
  if (given(filter.to)) out.push({ sql: `${c.receivedAt} < ?`, params: [filter.to] });
  return out;
}

/** Results older than an id (ids are ULIDs: the newest-first cursor). */
export function resultsBefore(id: string): Condition {
  return { sql: 'r.spectrum_id < ?', params: [id] };
}

/** Whether a listing pages by cursor (newest first) rather than by offset (any other order). */
export function pagesByCursor(sort: ResultSort | undefined): boolean {
  return sort === undefined || sort === '-time';
}

/**
 * ORDER BY for a result sort key; the id breaks ties so pages never overlap. NULLs (a result without a class) come
 * first ascending and last descending in both stores (SQLite's own rule, said out loud for PostgreSQL). Text sorts
 * byte by byte in both: a site database created with a language collation (en_US, ICU) would otherwise order
 * instruments and classes differently from the node's store ('B' before 'a' in SQLite, after it there).
 */
export function resultsOrder(sort: ResultSort | undefined, dialect: SqlDialect): string {
  const key = (sort ?? '-time').replace(/^-/, '');
  const dir = sort === undefined || sort.startsWith('-') ? 'DESC' : 'ASC';
  const text = (column: string) => (dialect === 'postgres' ? `${column} COLLATE "C"` : column);
  const column = { score: 'r.score', latency: 'r.latency_ms', instrument: text('r.instrument'), status: text('r.status'), class: text('r.class') }[key];
  // ULIDs are upper-case letters and digits: every collation orders them alike, and the primary key serves the sort.
  return column === undefined ? `r.spectrum_id ${dir}` : `${column} ${dir} NULLS ${dir === 'ASC' ? 'FIRST' : 'LAST'}, r.spectrum_id ${dir}`;
}

/** A page of results as both stores read it: the total the filter matches, and the page's rows (one extra: more?). */
export interface ResultPageQuery {
  readonly count: RenderedWhere;
  readonly page: RenderedWhere;
  readonly limit: number;
  /** Newest first, paged by the last id (nextCursor); any other order pages by offset and has no cursor. */
  readonly byCursor: boolean;
}

/** The two statements of a result page (total, then the rows with their labels), rendered for a store. */
export function resultPageQuery(filter: ResultFilter, dialect: SqlDialect): ResultPageQuery {
  const from = RESULT_COLUMNS[dialect].results;
  const conditions = resultConditions(filter, dialect);
  const byCursor = pagesByCursor(filter.sort);
  const limit = Math.min(Math.max(filter.limit ?? 50, 1), 500);
  const total = renderWhere(conditions, dialect);
  const where = renderWhere(filter.before && byCursor ? [...conditions, resultsBefore(filter.before)] : conditions, dialect);
  const params = [...where.params];
  const limitAt = addParam(dialect, params, limit + 1);
  const offsetAt = addParam(dialect, params, Math.max(0, filter.offset ?? 0));
  return {
    count: { sql: `SELECT COUNT(*) AS n FROM ${from} ${total.sql}`, params: total.params },
    page: { sql: `SELECT r.message, ${labelSql(dialect)} AS label FROM ${from} ${where.sql} ORDER BY ${resultsOrder(filter.sort, dialect)} LIMIT ${limitAt} OFFSET ${offsetAt}`, params },
    limit,
    byCursor,
  };
}

/** The page a query's rows make: at most `limit` of them, and the cursor of the next page when there is one. */
export function pageOf<T extends { readonly id: string }>(rows: readonly T[], q: Pick<ResultPageQuery, 'limit' | 'byCursor'>): { items: T[]; nextCursor?: string } {
  const items = rows.slice(0, q.limit);
  return rows.length > q.limit && q.byCursor ? { items, nextCursor: items[items.length - 1].id } : { items };
}

/** The export's rows in a filter's order: its conditions and the FROM both stores read. */
export function resultExportSource(filter: ResultFilter, dialect: SqlDialect): { from: string; conditions: Condition[] } {
  return { from: RESULT_COLUMNS[dialect].results, conditions: resultConditions(filter, dialect) };
}

/** The newest label of result row `r` as a JSON object (class, at, by, enrollmentId), or NULL. */
export function labelSql(dialect: SqlDialect): string {
  const c = RESULT_COLUMNS[dialect];
  return `(SELECT ${c.jsonObject}('class', l.class, 'at', l.labelled_at, 'by', l.labelled_by, 'enrollmentId', l.enrollment_id)
  FROM ${c.labels} l WHERE l.spectrum_id = r.spectrum_id ORDER BY l.labelled_at DESC, l.enrollment_id DESC LIMIT 1)`;
}

/** Alerts that are open: not acknowledged, and not news (adapter-up is never open). */
export const OPEN_ALERT: Condition = { sql: "acknowledged_at IS NULL AND kind != 'adapter-up'", params: [] };

/** The conditions of an alert selection; the same columns in both stores. */
export function alertConditions(f: AlertSelection, dialect: SqlDialect): Condition[] {
  const out: Condition[] = [];
  if (f.state === 'open') out.push(OPEN_ALERT);
  if (f.instrument !== undefined) out.push({ sql: 'instrument = ?', params: [f.instrument] });
  if (f.kind !== undefined) out.push({ sql: 'kind = ?', params: [f.kind] });
  // Any number of ids as one JSON parameter (no placeholder limit to meet).
  if (f.ids !== undefined) out.push({ sql: `id IN (${RESULT_COLUMNS[dialect].jsonList})`, params: [JSON.stringify(f.ids)] });
  if (f.upTo !== undefined) out.push({ sql: 'id <= ?', params: [f.upTo] });
  if (f.before !== undefined) out.push({ sql: 'id < ?', params: [f.before] });
  return out;
}

const ALERTS_TABLE: Record<SqlDialect, string> = { sqlite: 'alerts', postgres: 'site_alerts' };

/** A page of alerts newest first (ids are ULIDs, so id order is time order), one row more than the page: more? */
export function alertPageQuery(filter: AlertFilter & { before?: string; limit?: number }, dialect: SqlDialect): RenderedWhere & { limit: number } {
  const limit = Math.max(1, Math.min(filter.limit ?? 100, 1000));
  const where = renderWhere(alertConditions(filter, dialect), dialect);
  const params = [...where.params];
  const limitAt = addParam(dialect, params, limit + 1);
  return { sql: `SELECT * FROM ${ALERTS_TABLE[dialect]} ${where.sql} ORDER BY id DESC LIMIT ${limitAt}`, params, limit };
}

/** The open alerts grouped by instrument and kind (the counts' query, in both stores). */
export function openAlertGroupsSql(dialect: SqlDialect): string {
  return `SELECT instrument, kind, COUNT(*) AS n FROM ${ALERTS_TABLE[dialect]} WHERE ${OPEN_ALERT.sql} GROUP BY instrument, kind`;
}

/** A rendered WHERE clause ('' when nothing narrows) and its parameters, in order. */
export interface RenderedWhere {
  readonly sql: string;
  readonly params: unknown[];
}

/**
 * `WHERE a AND b ...` for a store: SQLite keeps the `?`; PostgreSQL numbers them `$first`, `$first+1`, ... so the
 * caller can put parameters of its own before (first > 1) or after (params.length + 1 onwards).
 */
export function renderWhere(conditions: readonly Condition[], dialect: SqlDialect, first = 1): RenderedWhere {
  const params: unknown[] = [];
  const parts = conditions.map((c) => {
    const pieces = c.sql.split('?');
    if (pieces.length - 1 !== c.params.length) throw new Error(`query filter: ${pieces.length - 1} placeholders for ${c.params.length} parameters in ${c.sql}`);
    return pieces.reduce((sql, piece, i) => {
      if (i === 0) return piece;
      params.push(c.params[i - 1]);
      return sql + (dialect === 'postgres' ? `$${first + params.length - 1}` : '?') + piece;
    }, '');
  });
  return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params };
}

/** Appends a parameter of the caller's own (LIMIT, OFFSET, a bound) after rendered ones; its placeholder. */
export function addParam(dialect: SqlDialect, params: unknown[], value: unknown, first = 1): string {
  params.push(value);
  return dialect === 'postgres' ? `$${first + params.length - 1}` : '?';
}
