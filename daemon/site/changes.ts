import type Database from 'better-sqlite3';
import type pg from 'pg';
import { SITE_CHANNEL } from './migrations.ts';

/** A change every node of the site applies: an enrollment, its undo, a model added or activated. */
export type SiteChangePayload =
  | { readonly kind: 'enroll'; readonly enrollmentId: string; readonly class?: string; readonly by?: string }
  | { readonly kind: 'undo'; readonly enrollmentId: string }
  | { readonly kind: 'model-added'; readonly version: string }
  | { readonly kind: 'model-activated'; readonly version: string; readonly how: 'promote' | 'rollback' };

export type SiteChange = SiteChangePayload & { readonly revision: number; readonly node: string; readonly at: string };

/** Serialises appends to the change log (see appendChange). */
const CHANGE_LOG_LOCK = '7370656374726410'; // also in site_publish_enrollment (migrations.ts)

/**
 * Appends a change inside the caller's transaction and notifies every listening node at commit (NOTIFY is
 * transactional). The transaction-level advisory lock makes revisions commit in the order they are numbered: without
 * it a node reading "after revision 5" could see 7 commit before 6 and skip 6 for ever. Changes are rare (enrollments,
 * promotions), so serialising them costs nothing that matters.
 */
export async function appendChange(client: pg.ClientBase, change: SiteChangePayload, node: string): Promise<number> {
  await lockChangeLog(client);
  const { kind, ...payload } = change;
  // One round trip for the row and its notification: a node's event loop may be busy (a calibration step), and every
  // round trip of a publication waits for it.
  const { rows } = await client.query<{ revision: string }>(
    `WITH ins AS (INSERT INTO site_changes (kind, payload, node, at) VALUES ($1, $2, $3, $4) RETURNING revision)
     SELECT revision, pg_notify($5, revision::text) FROM ins`,
    [kind, JSON.stringify(payload), node, new Date().toISOString(), SITE_CHANNEL],
  );
  return Number(rows[0].revision);
}

/**
 * Takes the change log's lock for the rest of the caller's transaction (re-entrant): a publication that reads the
 * site's state before deciding what to append (is this model already active?) takes it first, so two nodes cannot
 * both decide on the same old state.
 */
export async function lockChangeLog(client: pg.ClientBase): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock($1)', [CHANGE_LOG_LOCK]);
}

/** Changes after `revision`, oldest first. */
export async function changesSince(db: pg.Pool | pg.ClientBase, revision: number, limit = 500): Promise<SiteChange[]> {
  const { rows } = await db.query<{ revision: string; kind: string; payload: Record<string, unknown>; node: string; at: string }>(
    'SELECT revision, kind, payload, node, at FROM site_changes WHERE revision > $1 ORDER BY revision LIMIT $2',
    [revision, limit],
  );
  return rows.map((r) => ({ ...r.payload, kind: r.kind, revision: Number(r.revision), node: r.node, at: r.at }) as SiteChange);
}

export async function latestRevision(db: pg.Pool | pg.ClientBase): Promise<number> {
  const { rows } = await db.query<{ r: string | null }>('SELECT max(revision) AS r FROM site_changes');
  return Number(rows[0]?.r ?? 0);
}

/**
 * The node's own bookkeeping of the site in its local SQLite store: the last revision it applied, and the site
 * changes it made that PostgreSQL has not taken yet (an outage: they are sent when it is back). Tables of their own,
 * created here, so the local store's migrations stay the single-node schema.
 */
export class LocalSiteState {
  constructor(private readonly db: Database.Database) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS site_sync (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS site_pending (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT
      );
    `);
  }

  get revision(): number {
    const row = this.db.prepare<[], { value: string }>("SELECT value FROM site_sync WHERE key = 'revision'").get();
    return row ? Number(row.value) : 0;
  }

  setRevision(revision: number): void {
    this.db.prepare("INSERT INTO site_sync (key, value) VALUES ('revision', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(String(revision));
  }

  queue(change: SiteChangePayload): void {
    this.db.prepare('INSERT INTO site_pending (kind, payload, created_at) VALUES (?, ?, ?)').run(change.kind, JSON.stringify(change), new Date().toISOString());
  }

  pending(limit = 50): Array<{ seq: number; change: SiteChangePayload }> {
    return this.db
      .prepare<[number], { seq: number; payload: string }>('SELECT seq, payload FROM site_pending ORDER BY seq LIMIT ?')
      .all(limit)
      .map((r) => ({ seq: r.seq, change: JSON.parse(r.payload) as SiteChangePayload }));
  }

  done(seq: number): void {
    this.db.prepare('DELETE FROM site_pending WHERE seq = ?').run(seq);
  }

  failed(seq: number, error: string): void {
    this.db.prepare('UPDATE site_pending SET attempts = attempts + 1, last_error = ? WHERE seq = ?').run(error.slice(0, 500), seq);
  }

  pendingCount(): number {
    return this.db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM site_pending').get()!.n;
  }
}
