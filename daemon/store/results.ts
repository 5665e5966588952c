import type Database from 'better-sqlite3';
import type { ResultMessage, ResultStatus } from '../../core/messages.ts';
import { fromBlob } from './connection.ts';
import { ulidFloor, ulidTime } from './ids.ts';

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

/** An operator's label on a received spectrum (an enrollment of it into a class); the model's answer stays as it was. */
export interface ResultLabel {
  readonly class: string;
  readonly at: string;
  readonly by?: string;
  readonly enrollmentId: string;
}

/** A result as the API shows it: the message as published, plus the operator's label when there is one. */
export type LabelledResult = ResultMessage & { readonly label?: ResultLabel };

export interface TrendBucket {
  readonly at: string;
  readonly n: number;
  readonly status: Record<string, number>;
  readonly p50Ms?: number;
  readonly p95Ms?: number;
  readonly meanScore?: number;
}

export interface InstrumentTrend {
  readonly instrument: string;
  readonly buckets: readonly TrendBucket[];
}

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

interface SpectrumRow {
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
  state: 'pending' | 'done' | 'rejected';
  message: string | null;
  label: string | null;
}

/** The newest label of the result row `r` as JSON (SQLite json_object), for attaching to its message. */
const LABEL_SQL = `(SELECT json_object('class', l.class, 'at', l.labelled_at, 'by', l.labelled_by, 'enrollmentId', l.enrollment_id)
  FROM labels l WHERE l.spectrum_id = r.spectrum_id ORDER BY l.labelled_at DESC, l.enrollment_id DESC LIMIT 1)`;

/** The WHERE clauses of a result filter (everything but paging), shared by the page, its total and the export. */
function resultsWhere(filter: ResultFilter): { where: string[]; args: Record<string, string | number> } {
  const where: string[] = [];
  const args: Record<string, string | number> = {};
  const add = (clause: string, key: string, value: string | undefined) => {
    if (value === undefined || value === '') return;
    where.push(clause);
    args[key] = value;
  };
  add('r.instrument = @instrument', 'instrument', filter.instrument);
  add('(r.class = @class OR EXISTS (SELECT 1 FROM labels l WHERE l.spectrum_id = r.spectrum_id AND l.class = @class))', 'class', filter.class);
  if (filter.labelled !== undefined) {
    where.push(`${filter.labelled ? '' : 'NOT '}EXISTS (SELECT 1 FROM labels l WHERE l.spectrum_id = r.spectrum_id)`);
  }
  const statuses = typeof filter.status === 'string' ? [filter.status] : (filter.status ?? []);
  if (statuses.length > 0) {
    where.push(`r.status IN (${statuses.map((_, i) => `@status${i}`).join(', ')})`);
    statuses.forEach((st, i) => (args[`status${i}`] = st));
  }
  if (filter.q) {
    where.push("(r.spectrum_id = @q OR s.source LIKE @qLike ESCAPE '\\' OR json_extract(r.message, '$.error.message') LIKE @qLike ESCAPE '\\')");
    args.q = filter.q;
    args.qLike = `%${filter.q.replace(/[\\%_]/g, (c) => '\\' + c)}%`;
  }
  add('s.received_at >= @from', 'from', filter.from);
  add('s.received_at < @to', 'to', filter.to);
  return { where, args };
}

/** ORDER BY for a result sort key ('-' first: descending); the id breaks ties so pages never overlap. */
export const RESULT_SORTS = ['time', '-time', 'score', '-score', 'latency', '-latency', 'instrument', '-instrument', 'status', '-status', 'class', '-class'] as const;
export type ResultSort = (typeof RESULT_SORTS)[number];
function resultsOrder(sort: ResultSort | undefined): string {
  const key = (sort ?? '-time').replace(/^-/, '');
  const dir = sort?.startsWith('-') || sort === undefined ? 'DESC' : 'ASC';
  const column = { time: 'r.spectrum_id', score: 'r.score', latency: 'r.latency_ms', instrument: 'r.instrument', status: 'r.status', class: 'r.class' }[key] ?? 'r.spectrum_id';
  return column === 'r.spectrum_id' ? `r.spectrum_id ${dir}` : `${column} ${dir}, r.spectrum_id ${dir}`;
}

function withLabel(message: string, label: string | null): LabelledResult {
  const result = JSON.parse(message) as ResultMessage;
  if (!label) return result;
  const l = JSON.parse(label) as { class: string; at: string; by: string | null; enrollmentId: string };
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
    const { where, args } = resultsWhere(filter);
    const limit = Math.min(Math.max(filter.limit ?? 50, 1), 500);
    const sorted = filter.sort !== undefined && filter.sort !== '-time';
    // The cursor (an id) pages newest first only; any other order pages by offset.
    if (filter.before && !sorted) {
      where.push('r.spectrum_id < @before');
      args.before = filter.before;
    }
    const whereSql = where.length ? 'WHERE ' + where.join(' AND ') : '';
    const totalWhere = filter.before && !sorted ? where.slice(0, -1) : where;
    const total = this.db
      .prepare<Record<string, string | number>, { n: number }>(
        `SELECT COUNT(*) AS n FROM results r JOIN spectra s ON s.id = r.spectrum_id ${totalWhere.length ? 'WHERE ' + totalWhere.join(' AND ') : ''}`,
      )
      .get(args)!.n;
    args.limit = limit + 1;
    args.offset = Math.max(0, filter.offset ?? 0);
    const rows = this.db
      .prepare<Record<string, string | number>, { message: string; label: string | null }>(
        `SELECT r.message, ${LABEL_SQL} AS label FROM results r JOIN spectra s ON s.id = r.spectrum_id
         ${whereSql} ORDER BY ${resultsOrder(filter.sort)} LIMIT @limit OFFSET @offset`,
      )
      .all(args);
    const items = rows.slice(0, limit).map((r) => withLabel(r.message, r.label));
    return { items, nextCursor: rows.length > limit && !sorted ? items[items.length - 1].id : undefined, total };
  }

  /**
   * Every result a filter matches, in its order, for the bulk export: fetched in chunks, each chunk one finished
   * query, so the caller may wait between rows (streaming to a slow client) while the pipeline goes on writing on this
   * connection (an open better-sqlite3 iterator would make those writes fail). The results stored after the export
   * began are left out (by rowid), so chunks neither repeat nor skip a row.
   */
  *iterateResults(filter: ResultFilter = {}, chunk = 500): Generator<LabelledResult> {
    const { where, args } = resultsWhere(filter);
    // Rows stored later have greater rowids, whatever time their ids carry (an import may write past times).
    const upTo = this.db.prepare<[], { m: number | null; id: string | null }>('SELECT MAX(rowid) AS m, MAX(spectrum_id) AS id FROM results').get();
    if (!upTo?.m || !upTo.id) return;
    where.push('r.rowid <= @upTo');
    args.upTo = upTo.m;
    const byTime = filter.sort === undefined || filter.sort === '-time';
    // Newest first pages by id (each chunk an index range); any other order by offset in that order.
    const stmt = this.db.prepare<Record<string, string | number>, { id: string; message: string; label: string | null }>(
      `SELECT r.spectrum_id AS id, r.message, ${LABEL_SQL} AS label FROM results r JOIN spectra s ON s.id = r.spectrum_id
       WHERE ${[...where, ...(byTime ? ['r.spectrum_id < @before'] : [])].join(' AND ')}
       ORDER BY ${resultsOrder(filter.sort)} LIMIT @limit ${byTime ? '' : 'OFFSET @offset'}`,
    );
    let before = `${upTo.id}~`;
    for (let offset = 0; ; offset += chunk) {
      const rows = stmt.all({ ...args, limit: chunk, ...(byTime ? { before } : { offset }) });
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
    if (!r) return undefined;
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
      state: r.state,
      result: r.message ? withLabel(r.message, r.label) : undefined,
    };
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
      .prepare<[string], { instrument: string; id: string; status: string; score: number; latency_ms: number }>(
        'SELECT instrument, spectrum_id AS id, status, score, latency_ms FROM results WHERE spectrum_id >= ?',
      )
      .iterate(ulidFloor(since));
    const n = Math.max(1, Math.ceil((until - since) / bucketMs));
    const per = new Map<string, Array<{ latencies: number[]; scores: number; scored: number; status: Record<string, number> }>>();
    for (const r of rows) {
      const i = Math.floor((ulidTime(r.id) - since) / bucketMs);
      if (i < 0 || i >= n) continue;
      let buckets = per.get(r.instrument);
      if (!buckets) per.set(r.instrument, (buckets = Array.from({ length: n }, () => ({ latencies: [], scores: 0, scored: 0, status: {} }))));
      const b = buckets[i];
      b.latencies.push(r.latency_ms);
      b.status[r.status] = (b.status[r.status] ?? 0) + 1;
      if (r.status !== 'rejected') {
        b.scores += r.score;
        b.scored++;
      }
    }
    const pick = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
    return [...per.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([instrument, buckets]) => ({
      instrument,
      buckets: buckets.map((b, i) => {
        const sorted = b.latencies.sort((x, y) => x - y);
        return {
          at: new Date(since + i * bucketMs).toISOString(),
          n: sorted.length,
          status: b.status,
          ...(sorted.length ? { p50Ms: pick(sorted, 0.5), p95Ms: pick(sorted, 0.95) } : {}),
          ...(b.scored ? { meanScore: b.scores / b.scored } : {}),
        };
      }),
    }));
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

  /** Deletes spectra (and their results) received before the cutoff, except pending ones. */
  prune(olderThan: string): number {
    return this.db.prepare("DELETE FROM spectra WHERE received_at < ? AND state != 'pending'").run(olderThan).changes;
  }
}
