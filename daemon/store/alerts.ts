import type Database from 'better-sqlite3';
import type { AlertMessage } from '../../core/messages.ts';
import type { OutboxQueue } from './outbox-queue.ts';

/** Which alerts a query or bulk acknowledgement covers; every field narrows. */
export interface AlertFilter {
  readonly state?: 'open' | 'all';
  readonly instrument?: string;
  readonly kind?: string;
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

export interface AlertRow {
  id: string;
  kind: AlertMessage['kind'];
  instrument: string;
  at: string;
  message: string;
  result_id: string | null;
  acknowledged_at: string | null;
  ack_note: string | null;
}

export function alertOf(a: AlertRow): StoredAlert {
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

/** Alerts: recorded with the results they are about or on their own (adapters), paged, counted, acknowledged. */
export class AlertStore {
  private readonly put;

  constructor(
    private readonly db: Database.Database,
    private readonly outbox: OutboxQueue,
  ) {
    this.put = db.prepare('INSERT OR IGNORE INTO alerts (id, kind, instrument, at, message, result_id) VALUES (?, ?, ?, ?, ?, ?)');
  }

  /** Records new alerts and queues each for the outputs (a replayed one, already recorded, is not queued again); run inside a transaction. */
  insert(alerts: readonly AlertMessage[], at: string): void {
    for (const a of alerts) {
      const inserted = this.put.run(a.id, a.kind, a.instrument, a.at, a.message, a.resultId ?? null);
      if (inserted.changes === 0) continue;
      this.outbox.enqueue('alert', JSON.stringify(a), at);
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
      this.put.run(alert.id, alert.kind, alert.instrument, alert.at, alert.message, alert.resultId ?? null);
      tagAdapter();
      return;
    }
    this.db.transaction(() => {
      this.insert([alert], new Date().toISOString());
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

  acknowledgeAlert(id: string): string | undefined {
    const at = new Date().toISOString();
    const changed = this.db.prepare('UPDATE alerts SET acknowledged_at = ? WHERE id = ? AND acknowledged_at IS NULL').run(at, id).changes;
    if (changed > 0) return at;
    return this.db.prepare<[string], { acknowledged_at: string | null }>('SELECT acknowledged_at FROM alerts WHERE id = ?').get(id)?.acknowledged_at ?? undefined;
  }
}
