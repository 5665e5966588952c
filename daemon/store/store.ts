import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { SpectrumInputError } from '../../core/errors.ts';
import { validateClassName } from '../../core/identify/library.ts';
import type { AlertMessage, ResultMessage, ResultStatus } from '../../core/messages.ts';
import type { IngestCommit, LedgerOutcome, PendingSpectrum, PipelineStore } from '../../pipelines/ports.ts';
import { migrate } from './migrations.ts';
import { ulidFloor, ulidTime } from './ids.ts';

export interface StoreOptions {
  /**
   * FULL (default): with WAL, every commit is fsynced before it returns, so a spectrum acknowledged to its source
   * survives a power cut. NORMAL fsyncs only at checkpoints: still consistent and crash-safe for the process, but
   * the last commits can be lost on power loss -- acknowledged inputs would then be gone.
   */
  synchronous?: 'FULL' | 'NORMAL';
  /** Output names that get a copy of every result and alert in the outbox. */
  outputs?: readonly string[];
}

export interface OutboxRow {
  readonly seq: number;
  readonly kind: 'result' | 'alert';
  readonly payload: string;
  readonly attempts: number;
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

/** An operator's label on a received spectrum (an enrollment of it into a class); the model's answer stays as it was. */
export interface ResultLabel {
  readonly class: string;
  readonly at: string;
  readonly by?: string;
  readonly enrollmentId: string;
}

/** A result as the API shows it: the message as published, plus the operator's label when there is one. */
export type LabelledResult = ResultMessage & { readonly label?: ResultLabel };

/** Which alerts a query or bulk acknowledgement covers; every field narrows. */
export interface AlertFilter {
  readonly state?: 'open' | 'all';
  readonly instrument?: string;
  readonly kind?: string;
}

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

export interface AlertCounts {
  readonly total: number;
  readonly open: number;
  readonly openByInstrument: Record<string, number>;
  readonly openByKind: Record<string, number>;
}

function alertWhere(f: AlertFilter): { where: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  if (f.state === 'open') clauses.push("acknowledged_at IS NULL AND kind != 'adapter-up'");
  if (f.instrument !== undefined) {
    clauses.push('instrument = ?');
    params.push(f.instrument);
  }
  if (f.kind !== undefined) {
    clauses.push('kind = ?');
    params.push(f.kind);
  }
  return { where: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

/** An alert as stored: acknowledged (by hand, or resolved by a label with a note saying so) or open. */
export type StoredAlert = AlertMessage & { readonly acknowledgedAt?: string; readonly note?: string };

/** What a labelling or its undo changed, for live listeners (the dashboards). */
export interface LabelChange {
  readonly kind: 'labelled' | 'unlabelled';
  readonly enrollmentId: string;
  readonly class: string;
  /** Received spectra whose label this changed. */
  readonly spectrumIds: readonly string[];
  /** labelled: alerts resolved by it; unlabelled: alerts open again. */
  readonly alerts: readonly StoredAlert[];
  readonly at: string;
  readonly by?: string;
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

export interface ClassSummary {
  readonly name: string;
  readonly createdAt: string;
  readonly origin: string;
  readonly references: number;
}

/** A class a start could not load (its name or references break the library's rules): kept aside, not deleted. */
export interface QuarantinedClass {
  readonly name: string;
  readonly origin: string;
  readonly quarantinedAt: string;
  readonly reason: string;
  readonly references: number;
}

/** What an enrollment answered, kept under the client's idempotency key so a retry gets the same answer. */
export interface EnrollmentRecord {
  readonly key: string;
  readonly enrollmentId: string;
  readonly class: string;
  readonly created: boolean;
  readonly added: number;
  readonly at: string;
}

export interface ReferenceRow {
  readonly id: number;
  readonly class: string;
  readonly spectrumId?: string;
  readonly vector: Float32Array;
  readonly embedding?: Float32Array;
  readonly modelVersion?: string;
}

export interface NewReference {
  /** Groups the references added together so the enrollment can be undone. */
  readonly enrollmentId?: string;
  readonly vector: Float32Array;
  readonly embedding?: Float32Array;
  readonly modelVersion?: string;
  readonly spectrumId?: string;
}

/**
 * The store holds every received spectrum and result: readable by the daemon's user only, whatever the umask. The
 * file is created 0600 before SQLite opens it (SQLite gives its -wal and -shm files the database file's mode), and an
 * existing one is narrowed to 0600 (it was 0644 under the usual umask).
 */
function makePrivate(file: string): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  closeSync(openSync(file, 'a', 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      if (existsSync(f)) chmodSync(f, 0o600);
    } catch {
      // Another user's file (EPERM): SQLite opens it or says why; its mode is its owner's choice.
    }
  }
}

export function toBlob(v: Float32Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

export function fromBlob(b: Buffer): Float32Array {
  // Copy: a Buffer from SQLite may sit at an offset that is not 4-byte aligned.
  const copy = new Uint8Array(b.byteLength);
  copy.set(b);
  return new Float32Array(copy.buffer);
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

/** Alert kinds that a label answers: the operator has said what the spectrum is. */
const RESOLVED_BY_LABEL = ['unknown', 'low-confidence'];

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

interface AlertRow {
  id: string;
  kind: AlertMessage['kind'];
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
    ...(a.result_id ? { resultId: a.result_id } : {}),
    ...(a.acknowledged_at ? { acknowledgedAt: a.acknowledged_at } : {}),
    ...(a.ack_note ? { note: a.ack_note } : {}),
  };
}

/**
 * The daemon's durable state in one SQLite file (better-sqlite3, WAL): received spectra (raw and preprocessed),
 * results, library classes and references, alerts, the input ledger and the per-output outbox. Synchronous by
 * design: a call returns once its transaction is committed, which is what lets the pipeline acknowledge an input
 * only after it is safe.
 */
export class Store implements PipelineStore {
  readonly db: Database.Database;
  private outputs: readonly string[];
  private readonly labelListeners = new Set<(change: LabelChange) => void>();
  private readonly stmt;

  constructor(file: string, options: StoreOptions = {}) {
    if (file !== ':memory:') makePrivate(file);
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    migrate(this.db);
    this.outputs = options.outputs ?? [];
    const db = this.db;
    this.stmt = {
      ledgerGet: db.prepare<[string], { outcome: LedgerOutcome }>('SELECT outcome FROM file_ledger WHERE key = ?'),
      ledgerPut: db.prepare('INSERT OR REPLACE INTO file_ledger (key, source, outcome, at) VALUES (?, ?, ?, ?)'),
      spectrumPut: db.prepare(
        `INSERT INTO spectra (id, received_at, instrument, adapter, source, format_hint, block, title, raw, preprocessed, dedup_key, state)
         VALUES (@id, @receivedAt, @instrument, @adapter, @source, @formatHint, @block, @title, @raw, @preprocessed, @dedupKey, @state)`,
      ),
      spectrumDone: db.prepare("UPDATE spectra SET state = 'done' WHERE id = ? AND state = 'pending'"),
      resultPut: db.prepare(
        `INSERT OR IGNORE INTO results (spectrum_id, instrument, status, class, score, latency_ms, model_version, message)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      alertPut: db.prepare('INSERT OR IGNORE INTO alerts (id, kind, instrument, at, message, result_id) VALUES (?, ?, ?, ?, ?, ?)'),
      outboxPut: db.prepare('INSERT INTO outbox (output, kind, payload, created_at) VALUES (?, ?, ?, ?)'),
      outboxTake: db.prepare<[string, number], OutboxRow>('SELECT seq, kind, payload, attempts FROM outbox WHERE output = ? ORDER BY seq LIMIT ?'),
      outboxDel: db.prepare('DELETE FROM outbox WHERE seq = ?'),
      outboxFail: db.prepare('UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE seq = ?'),
      outboxDepth: db.prepare<[], { output: string; n: number }>('SELECT output, COUNT(*) AS n FROM outbox GROUP BY output'),
      spectrumGet: db.prepare<[string], SpectrumRow>(
        `SELECT s.*, r.message, ${LABEL_SQL} AS label FROM spectra s LEFT JOIN results r ON r.spectrum_id = s.id WHERE s.id = ?`,
      ),
      vectorGet: db.prepare<[string], { preprocessed: Buffer | null; state: string }>('SELECT preprocessed, state FROM spectra WHERE id = ?'),
    };
  }

  /** Outputs that receive a copy of every result and alert from now on. */
  setOutputs(outputs: readonly string[]): void {
    this.outputs = [...outputs];
  }

  // ---- PipelineStore -------------------------------------------------------------------------------------------

  ledgerOutcome(key: string): LedgerOutcome | undefined {
    return this.stmt.ledgerGet.get(key)?.outcome;
  }

  readonly commitIngest = (commit: IngestCommit): void => {
    this.db.transaction(() => {
      for (const s of commit.spectra) {
        this.stmt.spectrumPut.run({
          id: s.id,
          receivedAt: s.receivedAt,
          instrument: s.instrument,
          adapter: s.adapter,
          source: s.source,
          formatHint: s.formatHint ?? null,
          block: s.block,
          title: s.title ?? null,
          raw: s.raw,
          preprocessed: s.preprocessed ? toBlob(s.preprocessed) : null,
          dedupKey: s.dedupKey ?? null,
          state: s.preprocessed ? 'pending' : 'rejected',
        });
      }
      this.putResultsAndAlerts(commit.results, commit.alerts);
      if (commit.ledger) this.stmt.ledgerPut.run(commit.ledger.key, commit.ledger.source, commit.ledger.outcome, new Date().toISOString());
    })();
  };

  readonly commitIngestMany = (commits: readonly IngestCommit[]): void => {
    // Nested transactions become savepoints: the whole group is one commit, one fsync.
    this.db.transaction(() => {
      for (const c of commits) this.commitIngest(c);
    })();
  };

  commitResults(results: readonly ResultMessage[], alerts: readonly AlertMessage[]): void {
    this.db.transaction(() => {
      this.putResultsAndAlerts(results, alerts);
      for (const r of results) this.stmt.spectrumDone.run(r.id);
    })();
  }

  pending(limit: number, exclude: ReadonlySet<string>): PendingSpectrum[] {
    const out: PendingSpectrum[] = [];
    // Page through so a large exclude set (the in-memory queue) cannot starve the scan.
    let after = '';
    const page = this.db.prepare<[string, number], { id: string; instrument: string; source: string; received_at: string; preprocessed: Buffer }>(
      "SELECT id, instrument, source, received_at, preprocessed FROM spectra WHERE state = 'pending' AND id > ? ORDER BY id LIMIT ?",
    );
    while (out.length < limit) {
      const rows = page.all(after, limit + exclude.size);
      if (rows.length === 0) break;
      for (const r of rows) {
        after = r.id;
        if (exclude.has(r.id)) continue;
        out.push({ id: r.id, instrument: r.instrument, source: r.source, receivedAt: r.received_at, vector: fromBlob(r.preprocessed) });
        if (out.length >= limit) break;
      }
    }
    return out;
  }

  private putResultsAndAlerts(results: readonly ResultMessage[], alerts: readonly AlertMessage[]): void {
    const now = new Date().toISOString();
    for (const r of results) {
      const payload = JSON.stringify(r);
      const inserted = this.stmt.resultPut.run(r.id, r.instrument, r.status, r.class ?? null, r.score, r.latencyMs, r.modelVersion, payload);
      // A replayed spectrum already has its result: publish it once only.
      if (inserted.changes === 0) continue;
      for (const o of this.outputs) this.stmt.outboxPut.run(o, 'result', payload, now);
    }
    for (const a of alerts) {
      const inserted = this.stmt.alertPut.run(a.id, a.kind, a.instrument, a.at, a.message, a.resultId ?? null);
      if (inserted.changes === 0) continue;
      const payload = JSON.stringify(a);
      for (const o of this.outputs) this.stmt.outboxPut.run(o, 'alert', payload, now);
    }
  }

  /**
   * Records an alert that is about no result (adapter down/up) and queues it for the outputs; with queue: false only
   * records it (it was already sent to the outputs directly while the store could not take it).
   */
  addAlert(alert: AlertMessage, options: { queue?: boolean; adapter?: string } = {}): void {
    const tagAdapter = () => {
      if (options.adapter !== undefined) this.db.prepare('UPDATE alerts SET adapter = ? WHERE id = ?').run(options.adapter, alert.id);
    };
    if (options.queue === false) {
      this.stmt.alertPut.run(alert.id, alert.kind, alert.instrument, alert.at, alert.message, alert.resultId ?? null);
      tagAdapter();
      return;
    }
    this.db.transaction(() => {
      this.putResultsAndAlerts([], [alert]);
      tagAdapter();
    })();
  }

  /**
   * Closes the open adapter-down alerts of an adapter that is up again, with a note saying so; returns the alerts
   * closed (for the live listeners).
   */
  resolveAdapterAlerts(adapter: string, note: string): StoredAlert[] {
    const at = new Date().toISOString();
    return this.db.transaction(() => {
      const ids = this.db
        .prepare<[string], { id: string }>("SELECT id FROM alerts WHERE adapter = ? AND kind = 'adapter-down' AND acknowledged_at IS NULL")
        .all(adapter)
        .map((r) => r.id);
      const close = this.db.prepare('UPDATE alerts SET acknowledged_at = ?, ack_note = ? WHERE id = ?');
      for (const id of ids) close.run(at, note, id);
      return ids.map((id) => alertOf(this.db.prepare<[string], AlertRow>('SELECT * FROM alerts WHERE id = ?').get(id)!));
    })();
  }

  // ---- outbox --------------------------------------------------------------------------------------------------

  outboxTake(output: string, limit: number): OutboxRow[] {
    return this.stmt.outboxTake.all(output, limit);
  }

  outboxDone(seqs: readonly number[]): void {
    this.db.transaction(() => {
      for (const s of seqs) this.stmt.outboxDel.run(s);
    })();
  }

  outboxFailed(seqs: readonly number[], error: string): void {
    this.db.transaction(() => {
      for (const s of seqs) this.stmt.outboxFail.run(error.slice(0, 500), s);
    })();
  }

  outboxDepths(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const o of this.outputs) out[o] = 0;
    for (const r of this.stmt.outboxDepth.all()) out[r.output] = r.n;
    return out;
  }

  // ---- queries -------------------------------------------------------------------------------------------------

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
    const r = this.stmt.spectrumGet.get(id);
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
    const r = this.stmt.vectorGet.get(id);
    return r?.preprocessed ? fromBlob(r.preprocessed) : undefined;
  }

  listAlerts(limit = 100): StoredAlert[] {
    return this.db.prepare<[number], AlertRow>('SELECT * FROM alerts ORDER BY id DESC LIMIT ?').all(limit).map(alertOf);
  }

  /**
   * A page of alerts matching a filter, newest first (ids are ULIDs, so id order is time order): `before` is the
   * last id of the previous page.
   */
  queryAlerts(filter: AlertFilter & { before?: string; limit?: number }): { items: StoredAlert[]; nextCursor?: string } {
    const { where, params } = alertWhere(filter);
    const limit = Math.max(1, Math.min(filter.limit ?? 100, 1000));
    const cursor = filter.before !== undefined ? `${where ? `${where} AND` : 'WHERE'} id < ?` : where;
    const rows = this.db
      .prepare<unknown[], AlertRow>(`SELECT * FROM alerts ${cursor} ORDER BY id DESC LIMIT ?`)
      .all(...params, ...(filter.before !== undefined ? [filter.before] : []), limit + 1);
    const items = rows.slice(0, limit).map(alertOf);
    return rows.length > limit ? { items, nextCursor: items[items.length - 1].id } : { items };
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

  /** Alert totals: all, open, and open ones by instrument and by kind (adapter-up is news, never open). */
  alertCounts(): AlertCounts {
    const total = this.db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM alerts').get()!.n;
    const groups = this.db
      .prepare<[], { instrument: string; kind: string; n: number }>(
        "SELECT instrument, kind, COUNT(*) AS n FROM alerts WHERE acknowledged_at IS NULL AND kind != 'adapter-up' GROUP BY instrument, kind",
      )
      .all();
    const byInstrument: Record<string, number> = {};
    const byKind: Record<string, number> = {};
    let open = 0;
    for (const g of groups) {
      open += g.n;
      byInstrument[g.instrument] = (byInstrument[g.instrument] ?? 0) + g.n;
      byKind[g.kind] = (byKind[g.kind] ?? 0) + g.n;
    }
    return { total, open, openByInstrument: byInstrument, openByKind: byKind };
  }

  /**
   * Acknowledges every open alert that matches (ids and/or instrument, kind, up to an alert id) in one transaction;
   * returns the ids it closed and the time.
   */
  acknowledgeAlerts(filter: AlertFilter & { ids?: readonly string[]; upTo?: string }): { ids: string[]; acknowledgedAt: string } {
    const at = new Date().toISOString();
    const { where, params } = alertWhere({ ...filter, state: 'open' });
    const clauses = [where.replace(/^WHERE /, '')];
    const args: unknown[] = [...params];
    if (filter.ids !== undefined) {
      clauses.push(`id IN (SELECT value FROM json_each(?))`);
      args.push(JSON.stringify(filter.ids));
    }
    if (filter.upTo !== undefined) {
      clauses.push('id <= ?');
      args.push(filter.upTo);
    }
    const sqlWhere = `WHERE ${clauses.filter(Boolean).join(' AND ')}`;
    return this.db.transaction(() => {
      const ids = this.db.prepare<unknown[], { id: string }>(`SELECT id FROM alerts ${sqlWhere}`).all(...args).map((r) => r.id);
      const ack = this.db.prepare('UPDATE alerts SET acknowledged_at = ? WHERE id = ?');
      for (const id of ids) ack.run(at, id);
      return { ids, acknowledgedAt: at };
    })();
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

  // ---- library -------------------------------------------------------------------------------------------------

  listClasses(): ClassSummary[] {
    return this.db
      .prepare<[], { name: string; created_at: string; origin: string; n: number }>(
        `SELECT c.name, c.created_at, c.origin, COUNT(r.id) AS n FROM classes c
         LEFT JOIN class_references r ON r.class = c.name AND r.quarantined_at IS NULL WHERE c.quarantined_at IS NULL GROUP BY c.name ORDER BY c.name`,
      )
      .all()
      .map((c) => ({ name: c.name, createdAt: c.created_at, origin: c.origin, references: c.n }));
  }

  /**
   * Adds references to a class, creating it when new; one transaction. True when the class was created. References
   * made from received spectra (spectrumId) within an enrollment label those spectra as the class, and their open
   * unknown/low-confidence alerts are resolved with the note 'labelled as <class>' (listeners are told).
   */
  addReferences(name: string, origin: string, refs: readonly NewReference[], options: { labelledBy?: string; requestKey?: string } = {}): boolean {
    // Validated before anything is written: a row the library cannot load would stop the next start.
    validateClassName(name);
    const quarantined = this.db.prepare<[string], { quarantined_at: string | null }>('SELECT quarantined_at FROM classes WHERE name = ?').get(name);
    if (quarantined?.quarantined_at) {
      throw new SpectrumInputError('library-class-quarantined', `class "${name}" is quarantined (a start could not load it); see the daemon log`);
    }
    const putClass = this.db.prepare('INSERT OR IGNORE INTO classes (name, created_at, origin) VALUES (?, ?, ?)');
    const putRef = this.db.prepare(
      'INSERT INTO class_references (class, spectrum_id, vector, embedding, model_version, enrollment_id) VALUES (?, ?, ?, ?, ?, ?)',
    );
    const putLabel = this.db.prepare(
      `INSERT OR IGNORE INTO labels (spectrum_id, enrollment_id, class, labelled_at, labelled_by)
       SELECT id, ?, ?, ?, ? FROM spectra WHERE id = ?`,
    );
    const resolve = this.db.prepare(
      `UPDATE alerts SET acknowledged_at = ?, ack_note = ?, resolved_by_enrollment = ?
       WHERE result_id = ? AND acknowledged_at IS NULL AND kind IN (${RESOLVED_BY_LABEL.map(() => '?').join(', ')})`,
    );
    const at = new Date().toISOString();
    let change: LabelChange | undefined;
    const created = this.db.transaction(() => {
      const made = putClass.run(name, at, origin).changes > 0;
      const labelled: string[] = [];
      for (const r of refs) {
        putRef.run(name, r.spectrumId ?? null, toBlob(r.vector), r.embedding ? toBlob(r.embedding) : null, r.modelVersion ?? null, r.enrollmentId ?? null);
        if (r.spectrumId && r.enrollmentId && putLabel.run(r.enrollmentId, name, at, options.labelledBy ?? null, r.spectrumId).changes > 0) {
          labelled.push(r.spectrumId);
          resolve.run(at, `labelled as ${name}`, r.enrollmentId, r.spectrumId, ...RESOLVED_BY_LABEL);
        }
      }
      if (options.requestKey) {
        const enrollmentId = refs.find((r) => r.enrollmentId)?.enrollmentId;
        if (!enrollmentId) throw new Error('an enrollment request key needs an enrollmentId on its references');
        this.db
          .prepare('INSERT INTO enrollment_requests (key, enrollment_id, class, created, added, at) VALUES (?, ?, ?, ?, ?, ?)')
          .run(options.requestKey, enrollmentId, name, made ? 1 : 0, refs.length, at);
      }
      if (labelled.length > 0) {
        const enrollmentId = refs.find((r) => r.enrollmentId)!.enrollmentId!;
        const alerts = this.db.prepare<[string], AlertRow>('SELECT * FROM alerts WHERE resolved_by_enrollment = ? ORDER BY id').all(enrollmentId).map(alertOf);
        change = { kind: 'labelled', enrollmentId, class: name, spectrumIds: labelled, alerts, at, ...(options.labelledBy ? { by: options.labelledBy } : {}) };
      }
      return made;
    })();
    if (change) this.tellLabelListeners(change);
    return created;
  }

  /** The enrollment made under a client's idempotency key, if any. */
  enrollmentByKey(key: string): EnrollmentRecord | undefined {
    const row = this.db
      .prepare<[string], { key: string; enrollment_id: string; class: string; created: number; added: number; at: string }>('SELECT * FROM enrollment_requests WHERE key = ?')
      .get(key);
    return row ? { key: row.key, enrollmentId: row.enrollment_id, class: row.class, created: row.created === 1, added: row.added, at: row.at } : undefined;
  }

  /**
   * Sets a class aside that the library could not load (start-up; its name, or every one of its references): its rows stay in the store for an operator to
   * repair or remove, but references() and listClasses() no longer return it, so the daemon starts without it.
   */
  quarantineClass(name: string, reason: string): boolean {
    return (
      this.db
        .prepare('UPDATE classes SET quarantined_at = ?, quarantine_reason = ? WHERE name = ? AND quarantined_at IS NULL')
        .run(new Date().toISOString(), reason, name).changes > 0
    );
  }

  /** Sets single references aside (a start could not load them); their class loads without them. */
  quarantineReferences(ids: readonly number[], reason: string): number {
    const put = this.db.prepare('UPDATE class_references SET quarantined_at = ?, quarantine_reason = ? WHERE id = ? AND quarantined_at IS NULL');
    const at = new Date().toISOString();
    return this.db.transaction(() => ids.reduce((n, id) => n + put.run(at, reason, id).changes, 0))();
  }

  quarantinedReferences(): Array<{ readonly id: number; readonly class: string; readonly reason: string }> {
    return this.db
      .prepare<[], { id: number; class: string; quarantine_reason: string | null }>('SELECT id, class, quarantine_reason FROM class_references WHERE quarantined_at IS NOT NULL ORDER BY id')
      .all()
      .map((r) => ({ id: r.id, class: r.class, reason: r.quarantine_reason ?? '' }));
  }

  quarantinedClasses(): QuarantinedClass[] {
    return this.db
      .prepare<[], { name: string; origin: string; quarantined_at: string; quarantine_reason: string | null; n: number }>(
        `SELECT c.name, c.origin, c.quarantined_at, c.quarantine_reason, COUNT(r.id) AS n FROM classes c
         LEFT JOIN class_references r ON r.class = c.name WHERE c.quarantined_at IS NOT NULL GROUP BY c.name ORDER BY c.name`,
      )
      .all()
      .map((c) => ({ name: c.name, origin: c.origin, quarantinedAt: c.quarantined_at, reason: c.quarantine_reason ?? '', references: c.n }));
  }

  /**
   * Removes the references of one enrollment (and the class when it is left empty), with the labels it gave; alerts
   * it resolved open again unless another label of their spectrum still stands.
   */
  undoEnrollment(enrollmentId: string): { removed: number; classes: string[] } {
    let change: LabelChange | undefined;
    const answer = this.db.transaction(() => {
      const classes = this.db
        .prepare<[string], { class: string }>('SELECT DISTINCT class FROM class_references WHERE enrollment_id = ?')
        .all(enrollmentId)
        .map((r) => r.class);
      const removed = this.db.prepare('DELETE FROM class_references WHERE enrollment_id = ?').run(enrollmentId).changes;
      for (const c of classes) {
        this.db.prepare('DELETE FROM classes WHERE name = ? AND NOT EXISTS (SELECT 1 FROM class_references WHERE class = ?)').run(c, c);
      }
      const unlabelled = this.db.prepare<[string], { spectrum_id: string }>('SELECT spectrum_id FROM labels WHERE enrollment_id = ?').all(enrollmentId).map((r) => r.spectrum_id);
      this.db.prepare('DELETE FROM labels WHERE enrollment_id = ?').run(enrollmentId);
      const reopen = this.db
        .prepare<[string], AlertRow>(
          'SELECT * FROM alerts a WHERE a.resolved_by_enrollment = ? AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.spectrum_id = a.result_id)',
        )
        .all(enrollmentId);
      const open = this.db.prepare('UPDATE alerts SET acknowledged_at = NULL, ack_note = NULL, resolved_by_enrollment = NULL WHERE id = ?');
      for (const a of reopen) open.run(a.id);
      if (unlabelled.length > 0) {
        const alerts = reopen.map((a) => alertOf({ ...a, acknowledged_at: null, ack_note: null }));
        change = { kind: 'unlabelled', enrollmentId, class: classes[0] ?? '', spectrumIds: unlabelled, alerts, at: new Date().toISOString() };
      }
      return { removed, classes };
    })();
    if (change) this.tellLabelListeners(change);
    return answer;
  }

  /** Calls `listener` after each committed labelling or undo; returns the unsubscribe function. */
  onLabelChange(listener: (change: LabelChange) => void): () => void {
    this.labelListeners.add(listener);
    return () => this.labelListeners.delete(listener);
  }

  private tellLabelListeners(change: LabelChange): void {
    for (const listener of this.labelListeners) {
      try {
        listener(change);
      } catch {
        // A listener's failure (a closed socket) must not undo or fail the committed labelling.
      }
    }
  }

  /** A class's reference vectors (preprocessed, on the model grid), quarantined ones left out. */
  classReferenceVectors(name: string): Float32Array[] {
    return this.db
      .prepare<[string], { vector: Buffer }>('SELECT vector FROM class_references WHERE class = ? AND quarantined_at IS NULL ORDER BY id')
      .all(name)
      .map((r) => fromBlob(r.vector));
  }

  /** The mean of a class's reference vectors scaled to max |y| = 1: what the dashboard overlays. */
  classReference(name: string): Float32Array | undefined {
    const rows = this.classReferenceVectors(name);
    if (rows.length === 0) return undefined;
    let mean: Float32Array | undefined;
    for (const v of rows) {
      mean ??= new Float32Array(v.length);
      for (let i = 0; i < Math.min(v.length, mean.length); i++) mean[i] += v[i] / rows.length;
    }
    let max = 0;
    for (const v of mean!) max = Math.max(max, Math.abs(v));
    if (max > 0) for (let i = 0; i < mean!.length; i++) mean![i] /= max;
    return mean;
  }

  acknowledgeAlert(id: string): string | undefined {
    const at = new Date().toISOString();
    const changed = this.db.prepare('UPDATE alerts SET acknowledged_at = ? WHERE id = ? AND acknowledged_at IS NULL').run(at, id).changes;
    if (changed > 0) return at;
    return this.db.prepare<[string], { acknowledged_at: string | null }>('SELECT acknowledged_at FROM alerts WHERE id = ?').get(id)?.acknowledged_at ?? undefined;
  }

  references(): ReferenceRow[] {
    return this.db
      .prepare<[], { id: number; class: string; spectrum_id: string | null; vector: Buffer; embedding: Buffer | null; model_version: string | null }>(
        `SELECT r.* FROM class_references r JOIN classes c ON c.name = r.class
         WHERE c.quarantined_at IS NULL AND r.quarantined_at IS NULL ORDER BY r.id`,
      )
      .all()
      .map((r) => ({
        id: r.id,
        class: r.class,
        spectrumId: r.spectrum_id ?? undefined,
        vector: fromBlob(r.vector),
        embedding: r.embedding ? fromBlob(r.embedding) : undefined,
        modelVersion: r.model_version ?? undefined,
      }));
  }

  /** Stores embeddings computed under a (new) model version. */
  setEmbeddings(modelVersion: string, rows: ReadonlyArray<{ id: number; embedding: Float32Array }>): void {
    const put = this.db.prepare('UPDATE class_references SET embedding = ?, model_version = ? WHERE id = ?');
    this.db.transaction(() => {
      for (const r of rows) put.run(toBlob(r.embedding), modelVersion, r.id);
    })();
  }

  removeClass(name: string): boolean {
    return this.db.prepare('DELETE FROM classes WHERE name = ?').run(name).changes > 0;
  }

  // ---- housekeeping --------------------------------------------------------------------------------------------

  /** Deletes spectra (and their results) received before the cutoff, except pending ones. */
  prune(olderThan: string): number {
    return this.db.prepare("DELETE FROM spectra WHERE received_at < ? AND state != 'pending'").run(olderThan).changes;
  }

  close(): void {
    if (!this.db.open) return;
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    this.db.close();
  }
}
