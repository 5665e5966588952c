import type Database from 'better-sqlite3';
import type { ResultMessage } from '../../core/messages.ts';
import { fromBlob } from './connection.ts';
import { ulidFloor } from './ids.ts';
import { labelSql, pageOf, pagesByCursor, renderWhere, resultExportSource, resultPageQuery, resultsOrder, type ResultFilter } from './query-filters.ts';
import { pruneTargets } from './retention.ts';
import { bucketTrends, type InstrumentTrend, type TrendRow } from './trends.ts';

export { RESULT_SORTS, type ResultFilter, type ResultSort } from './query-filters.ts';
export type { InstrumentTrend, TrendBucket } from './trends.ts';

/** An operator's label on a received spectrum (an enrollment of it into a class); the model's answer stays as it was. */
export interface ResultLabel {
  readonly class: string;
  readonly at: string;
  readonly by?: string;
  readonly enrollmentId: string;
}

/** A result as the API shows it: the message as published, plus the operator's label when there is one. */
export type LabelledResult = ResultMessage & { readonly label?: ResultLabel };

export interface StoredSpectrum {
  readonly id: string;
  readonly receivedAt: string;
  readonly instrument: string;
  readonly adapter: string;
  readonly source: string;
  readonly formatHint?: string;
  readonly block: number;
  readonly title?: string;
  readonly raw: Buffer;
  readonly preprocessed?: Float32Array;
  readonly state: 'pending' | 'done' | 'rejected';
  readonly result?: LabelledResult;
}

/** A received spectrum's row with its result's message and label, as both stores select it (`s.*, message, label`). */
export interface SpectrumRow {
  id: string;
  received_at: string;
  instrument: string;
  adapter: string;
  source: string;
  format_hint: string | null;
  block: number;
  title: string | null;
  raw: Buffer;
  preprocessed: Buffer | null;
  /** The node's store keeps it; the site's derives it from the result (a spectrum reaches the site with its result). */
  state?: 'pending' | 'done' | 'rejected';
  message: string | ResultMessage | null;
  label: string | LabelJson;
}

/** A spectrum row as the API shows it. */
export function storedSpectrum(r: SpectrumRow): StoredSpectrum {
  const result = r.message ? withLabel(r.message, r.label) : undefined;
  return {
    id: r.id,
    receivedAt: r.received_at,
    instrument: r.instrument,
    adapter: r.adapter,
    source: r.source,
    formatHint: r.format_hint ?? undefined,
    block: r.block,
    title: r.title ?? undefined,
    raw: r.raw,
    preprocessed: r.preprocessed ? fromBlob(r.preprocessed) : undefined,
    state: r.state ?? (!result ? 'pending' : result.status === 'rejected' ? 'rejected' : 'done'),
    result,
  };
}

const LABEL_SQL = labelSql('sqlite');

/** A stored label as JSON: SQLite hands it over as text, PostgreSQL as an object. */
export type LabelJson = { class: string; at: string; by: string | null; enrollmentId: string } | null;

/** A stored message with its newest label attached, as both stores hand them over (text or parsed JSON). */
export function withLabel(message: string | ResultMessage, label: string | LabelJson): LabelledResult {
  const result = typeof message === 'string' ? (JSON.parse(message) as ResultMessage) : message;
  const l = typeof label === 'string' ? (JSON.parse(label) as LabelJson) : label;
  if (!l) return result;
  return { ...result, label: { class: l.class, at: l.at, enrollmentId: l.enrollmentId, ...(l.by ? { by: l.by } : {}) } };
}

/** Received spectra and their results as the API reads them (labels attached), trends and counts; retention. */
export class ResultStore {
  private readonly spectrumGet;
  private readonly vectorGet;

  constructor(private readonly db: Database.Database) {
    this.spectrumGet = db.prepare<[string], SpectrumRow>(
      `SELECT s.*, r.message, ${LABEL_SQL} AS label FROM spectra s LEFT JOIN results r ON r.spectrum_id = s.id WHERE s.id = ?`,
    );
    this.vectorGet = db.prepare<[string], { preprocessed: Buffer | null; state: string }>('SELECT preprocessed, state FROM spectra WHERE id = ?');
  }

  listResults(filter: ResultFilter = {}): { items: ResultMessage[]; nextCursor?: string; total: number } {
    const q = resultPageQuery(filter, 'sqlite');
    const total = this.db.prepare<unknown[], { n: number }>(q.count.sql).get(...q.count.params)!.n;
    const rows = this.db.prepare<unknown[], { message: string; label: string | null }>(q.page.sql).all(...q.page.params);
    return { ...pageOf(rows.map((r) => withLabel(r.message, r.label)), q), total };
  }

  /**
   * Every result a filter matches, in its order, for the bulk export: fetched in chunks, each chunk one finished
   * query, so the caller may wait between rows (streaming to a slow client) while the pipeline goes on writing on this
   * connection (an open better-sqlite3 iterator would make those writes fail). The results stored after the export
   * began are left out (by rowid), so chunks neither repeat nor skip a row.
   */
  *iterateResults(filter: ResultFilter = {}, chunk = 500): Generator<LabelledResult> {
    const { from, conditions } = resultExportSource(filter, 'sqlite');
    // Rows stored later have greater rowids, whatever time their ids carry (an import may write past times).
    const upTo = this.db.prepare<[], { m: number | null; id: string | null }>('SELECT MAX(rowid) AS m, MAX(spectrum_id) AS id FROM results').get();
    if (!upTo?.m || !upTo.id) return;
    const byTime = pagesByCursor(filter.sort);
    // Newest first pages by id (each chunk an index range); any other order by offset in that order.
    const where = renderWhere([...conditions, { sql: 'r.rowid <= ?', params: [upTo.m] }, ...(byTime ? [{ sql: 'r.spectrum_id < ?', params: [''] }] : [])], 'sqlite');
    const stmt = this.db.prepare<unknown[], { id: string; message: string; label: string | null }>(
      `SELECT r.spectrum_id AS id, r.message, ${LABEL_SQL} AS label FROM ${from} ${where.sql}
       ORDER BY ${resultsOrder(filter.sort, 'sqlite')} LIMIT ? ${byTime ? '' : 'OFFSET ?'}`,
    );
    const fixed = byTime ? where.params.slice(0, -1) : where.params;
    let before = `${upTo.id}~`;
    for (let offset = 0; ; offset += chunk) {
      const rows = stmt.all(...fixed, ...(byTime ? [before, chunk] : [chunk, offset]));
      for (const r of rows) yield withLabel(r.message, r.label);
      if (rows.length < chunk) return;
      before = rows[rows.length - 1].id;
    }
  }

  getResult(id: string): LabelledResult | undefined {
    const row = this.db
      .prepare<[string], { message: string; label: string | null }>(`SELECT r.message, ${LABEL_SQL} AS label FROM results r WHERE r.spectrum_id = ?`)
      .get(id);
    return row ? withLabel(row.message, row.label) : undefined;
  }

  getSpectrum(id: string): StoredSpectrum | undefined {
    const r = this.spectrumGet.get(id);
    return r ? storedSpectrum(r) : undefined;
  }

  /** The preprocessed vector of a received spectrum, for enrolling it into a class. */
  spectrumVector(id: string): Float32Array | undefined {
    const r = this.vectorGet.get(id);
    return r?.preprocessed ? fromBlob(r.preprocessed) : undefined;
  }

  /**
   * Per-instrument trends from the stored results (so they survive restarts): per bucket the count, the status mix,
   * p50/p95 latency and the mean score. Result ids are ULIDs of their arrival, so the window is a primary-key range.
   */
  instrumentTrends(since: number, bucketMs: number, until = Date.now()): InstrumentTrend[] {
    const rows = this.db
      .prepare<[string], TrendRow>('SELECT instrument, spectrum_id AS id, status, score, latency_ms FROM results WHERE spectrum_id >= ?')
      .iterate(ulidFloor(since));
    return bucketTrends(rows, since, bucketMs, until);
  }

  /** Spectra committed and awaiting their result: the partial index spectra_pending answers it without a table scan. */
  pendingCount(): number {
    return this.db.prepare<[], { n: number }>(`SELECT COUNT(*) AS n FROM spectra WHERE state = 'pending'`).get()!.n;
  }

  counts(): { spectra: number; pending: number; results: number; rejected: number } {
    return this.db
      .prepare<[], { spectra: number; pending: number; results: number; rejected: number }>(
        `SELECT (SELECT COUNT(*) FROM spectra) AS spectra,
                (SELECT COUNT(*) FROM spectra WHERE state = 'pending') AS pending,
                (SELECT COUNT(*) FROM results) AS results,
                (SELECT COUNT(*) FROM spectra WHERE state = 'rejected') AS rejected`,
      )
      .get()!;
  }

  /**
   * Retention (daemon/store/retention.ts, the rule the site's PostgreSQL follows too): deletes spectra (and their
   * results) received before the cutoff, except pending ones, and alerts raised before it except open adapter-down
   * ones, in one transaction; returns the spectra deleted.
   */
  /**
   * One batch of the same retention while the daemon runs: at most `limit` rows of each table, in one short
   * transaction (the pipeline's commits wait for it on the same thread); rows removed per table.
   */
  pruneBatch(olderThan: string, limit: number): Record<string, number> {
    return this.db.transaction(() =>
      Object.fromEntries(
        pruneTargets(olderThan, 'sqlite').map((t) => {
          const where = renderWhere(t.conditions, 'sqlite');
          const sql = `DELETE FROM ${t.table} WHERE ${t.key} IN (SELECT ${t.key} FROM ${t.table} ${where.sql} LIMIT ?)`;
          return [t.table, this.db.prepare(sql).run(...where.params, limit).changes];
        }),
      ),
    )();
  }

  prune(olderThan: string): number {
    return this.db.transaction(() => {
      const removed = pruneTargets(olderThan, 'sqlite').map((t) => {
        const where = renderWhere(t.conditions, 'sqlite');
        return { table: t.table, n: this.db.prepare(`DELETE FROM ${t.table} ${where.sql}`).run(...where.params).changes };
      });
      return removed.find((r) => r.table === 'spectra')?.n ?? 0;
    })();
  }
}
