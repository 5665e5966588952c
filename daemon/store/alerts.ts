import type Database from 'better-sqlite3';
import type { AlertMessage } from '../../core/messages.ts';
import type { OutboxQueue } from './outbox-queue.ts';
import { alertConditions, alertPageQuery, openAlertGroupsSql, renderWhere, type AlertFilter, type AlertSelection } from './query-filters.ts';

export type { AlertFilter } from './query-filters.ts';

export interface AlertCounts {
  readonly total: number;
  readonly open: number;
  readonly openByInstrument: Record<string, number>;
  readonly openByKind: Record<string, number>;
}

/** Alert totals from the count of all alerts and the open ones grouped by instrument and kind. */
export function alertCountsOf(total: number, groups: Iterable<{ instrument: string; kind: string; n: number | string }>): AlertCounts {
  const openByInstrument: Record<string, number> = {};
  const openByKind: Record<string, number> = {};
  let open = 0;
  for (const g of groups) {
    const n = Number(g.n);
    open += n;
    openByInstrument[g.instrument] = (openByInstrument[g.instrument] ?? 0) + n;
    openByKind[g.kind] = (openByKind[g.kind] ?? 0) + n;
  }
  return { total, open, openByInstrument, openByKind };
}

/** An alert as stored: acknowledged (by hand, or resolved by a label with a note saying so) or open. */
export type StoredAlert = AlertMessage & { readonly acknowledgedAt?: string; readonly note?: string };

export interface AlertRow {
  id: string;
  /** The node that raised it (the site's table; a node's own store leaves it out). */
  node?: string | null;
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
    ...(a.node ? { node: a.node } : {}),
    ...(a.result_id ? { resultId: a.result_id } : {}),
    ...(a.acknowledged_at ? { acknowledgedAt: a.acknowledged_at } : {}),
    ...(a.ack_note ? { note: a.ack_note } : {}),
  };
}

/** The page the rows of alertPageQuery make, with the cursor of the next page when there is one. */
export function alertPageOf(rows: readonly AlertRow[], limit: number): { items: StoredAlert[]; nextCursor?: string } {
  const items = rows.slice(0, limit).map(alertOf);
  return rows.length > limit ? { items, nextCursor: items[items.length - 1].id } : { items };
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
    const q = alertPageQuery(filter, 'sqlite');
    return alertPageOf(this.db.prepare<unknown[], AlertRow>(q.sql).all(...q.params), q.limit);
  }

  /** Alert totals: all, open, and open ones by instrument and by kind (adapter-up is news, never open). */
  alertCounts(): AlertCounts {
    const total = this.db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM alerts').get()!.n;
    return alertCountsOf(total, this.db.prepare<[], { instrument: string; kind: string; n: number }>(openAlertGroupsSql('sqlite')).iterate());
  }

  /**
   * Acknowledges every open alert that matches (ids and/or instrument, kind, up to an alert id) in one transaction;
   * returns the ids it closed and the time.
   */
  acknowledgeAlerts(filter: AlertSelection): { ids: string[]; acknowledgedAt: string } {
    const at = new Date().toISOString();
    const where = renderWhere(alertConditions({ ...filter, state: 'open' }, 'sqlite'), 'sqlite');
    return this.db.transaction(() => {
      const ids = this.db.prepare<unknown[], { id: string }>(`SELECT id FROM alerts ${where.sql}`).all(...where.params).map((r) => r.id);
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
