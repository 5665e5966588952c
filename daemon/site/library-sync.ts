import type Database from 'better-sqlite3';
import type pg from 'pg';
import { fromBlob } from '../store/store.ts';
import { appendChange } from './changes.ts';

/** What the site keeps of one enrollment, read from the node that made it. */
interface LocalEnrollment {
  readonly class: string;
  readonly origin: string;
  readonly at: string;
  readonly by?: string;
  readonly refs: ReadonlyArray<{ spectrumId: string | null; vector: Buffer; embedding: Buffer | null; modelVersion: string | null }>;
}

function readLocalEnrollment(db: Database.Database, enrollmentId: string): LocalEnrollment | undefined {
  const refs = db
    .prepare<[string], { class: string; spectrum_id: string | null; vector: Buffer; embedding: Buffer | null; model_version: string | null }>(
      'SELECT class, spectrum_id, vector, embedding, model_version FROM class_references WHERE enrollment_id = ? ORDER BY id',
    )
    .all(enrollmentId);
  if (refs.length === 0) return undefined;
  const cls = db.prepare<[string], { origin: string; created_at: string }>('SELECT origin, created_at FROM classes WHERE name = ?').get(refs[0].class);
  const label = db
    .prepare<[string], { labelled_at: string; labelled_by: string | null }>('SELECT labelled_at, labelled_by FROM labels WHERE enrollment_id = ? LIMIT 1')
    .get(enrollmentId);
  return {
    class: refs[0].class,
    origin: cls?.origin ?? 'api',
    at: label?.labelled_at ?? new Date().toISOString(),
    by: label?.labelled_by ?? undefined,
    refs: refs.map((r) => ({ spectrumId: r.spectrum_id, vector: r.vector, embedding: r.embedding, modelVersion: r.model_version })),
  };
}

/**
 * Publishes an enrollment made on this node: its class, references (spectra on the model grid) with this node's
 * embeddings under their model version, and the labels it gave received spectra (any node's: their unknown and
 * low-confidence alerts close site-wide), then the change every node applies, all in one call of the site's
 * site_publish_enrollment (one round trip: a busy node's event loop delays each round trip of a publication).
 * Idempotent: an enrollment the site has is not published twice. False when the enrollment is no longer in the local
 * store (undone meanwhile).
 */
export async function publishEnrollment(db: pg.Pool | pg.ClientBase, local: Database.Database, enrollmentId: string, node: string, by?: string): Promise<boolean> {
  const e = readLocalEnrollment(local, enrollmentId);
  if (!e) return false;
  // Who labelled: the local store keeps it only with labels of its own spectra, so the enrolling call says it.
  await db.query('SELECT site_publish_enrollment($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)', [
    enrollmentId,
    e.class,
    e.origin,
    by ?? e.by ?? null,
    node,
    e.at,
    e.refs.map((r) => r.spectrumId),
    e.refs.map((r) => r.vector),
    e.refs.map((r) => (r.embedding ? r.modelVersion : null)),
    e.refs.map((r) => r.embedding),
  ]);
  return true;
}

/**
 * Publishes the undo of an enrollment: its references and labels leave the site library, alerts it resolved open
 * again unless another label of their spectrum stands, an emptied class goes; every node then undoes it locally.
 */
export async function publishUndo(client: pg.ClientBase, enrollmentId: string, node: string): Promise<void> {
  const { rows } = await client.query<{ class: string; undone_revision: string | null }>('SELECT class, undone_revision FROM site_enrollments WHERE enrollment_id = $1 FOR UPDATE', [enrollmentId]);
  if (rows.length === 0 || rows[0].undone_revision !== null) return;
  await client.query('DELETE FROM site_references WHERE enrollment_id = $1', [enrollmentId]);
  await client.query('DELETE FROM site_labels WHERE enrollment_id = $1', [enrollmentId]);
  await client.query(
    `UPDATE site_alerts a SET acknowledged_at = NULL, ack_note = NULL, resolved_by_enrollment = NULL
     WHERE a.resolved_by_enrollment = $1 AND NOT EXISTS (SELECT 1 FROM site_labels l WHERE l.spectrum_id = a.result_id)`,
    [enrollmentId],
  );
  await client.query('DELETE FROM site_classes c WHERE c.name = $1 AND NOT EXISTS (SELECT 1 FROM site_references r WHERE r.class = c.name)', [rows[0].class]);
  const revision = await appendChange(client, { kind: 'undo', enrollmentId }, node);
  await client.query('UPDATE site_enrollments SET undone_revision = $1 WHERE enrollment_id = $2', [revision, enrollmentId]);
}

/** An enrollment as another node applies it: references with the embeddings made by its own model version, if any. */
export interface SiteEnrollment {
  readonly class: string;
  readonly origin: string;
  readonly by?: string;
  readonly refs: ReadonlyArray<{ spectrumId?: string; vector: Float32Array; embedding?: Float32Array }>;
}

/** An enrollment's references from the site; undefined when it was undone since (nothing to add). */
export async function readSiteEnrollment(db: pg.Pool | pg.ClientBase, enrollmentId: string, modelVersion: string): Promise<SiteEnrollment | undefined> {
  const head = await db.query<{ class: string; origin: string; labelled_by: string | null; undone_revision: string | null }>(
    'SELECT class, origin, labelled_by, undone_revision FROM site_enrollments WHERE enrollment_id = $1',
    [enrollmentId],
  );
  const h = head.rows[0];
  if (!h || h.undone_revision !== null) return undefined;
  const { rows } = await db.query<{ spectrum_id: string | null; vector: Buffer; embedding: Buffer | null }>(
    `SELECT r.spectrum_id, r.vector, e.embedding FROM site_references r
     LEFT JOIN site_embeddings e ON e.reference_id = r.id AND e.model_version = $2
     WHERE r.enrollment_id = $1 ORDER BY r.id`,
    [enrollmentId, modelVersion],
  );
  if (rows.length === 0) return undefined;
  return {
    class: h.class,
    origin: h.origin,
    ...(h.labelled_by ? { by: h.labelled_by } : {}),
    refs: rows.map((r) => ({
      ...(r.spectrum_id ? { spectrumId: r.spectrum_id } : {}),
      vector: fromBlob(r.vector),
      ...(r.embedding ? { embedding: fromBlob(r.embedding) } : {}),
    })),
  };
}

/** Whether the local store already holds an enrollment's references (applied before, or made here). */
export function hasLocalEnrollment(local: Database.Database, enrollmentId: string): boolean {
  return local.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM class_references WHERE enrollment_id = ?').get(enrollmentId)!.n > 0;
}
