import type pg from 'pg';
import type { EnrollmentRecord } from '../store/store.ts';

/** What the site knows of an enrollment's Idempotency-Key when a node is about to enroll under it. */
export type EnrollmentKeyClaim =
  /** This node holds the key now: it enrolls, then completes (or releases) the claim. */
  | { readonly kind: 'claimed' }
  /** A node of the site already enrolled under the key: its answer is the answer, nothing is added. */
  | { readonly kind: 'done'; readonly record: EnrollmentRecord }
  /** Another node is enrolling under the key right now (a retry that raced the first request). */
  | { readonly kind: 'in-progress'; readonly node: string; readonly since: string };

/** A claim older than this is taken over: its node died between claiming and answering. */
const STALE_CLAIM_MS = 5 * 60_000;

/**
 * Claims a client's Idempotency-Key site-wide before a node enrolls under it (site_enrollment_requests), so a retry
 * that reaches another node of the site (a load balancer, a failover) answers the first enrollment instead of
 * adding the references twice. A claim is one insert: of two nodes claiming at once, one gets it.
 */
export async function claimEnrollmentKey(pool: pg.Pool, key: string, cls: string, node: string, now = Date.now()): Promise<EnrollmentKeyClaim> {
  const at = new Date(now).toISOString();
  const claimed = await pool.query(
    `INSERT INTO site_enrollment_requests (key, class, node, claimed_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (key) DO UPDATE SET class = EXCLUDED.class, node = EXCLUDED.node, claimed_at = EXCLUDED.claimed_at
     WHERE site_enrollment_requests.enrollment_id IS NULL AND site_enrollment_requests.claimed_at < $5
     RETURNING key`,
    [key, cls, node, at, new Date(now - STALE_CLAIM_MS).toISOString()],
  );
  if ((claimed.rowCount ?? 0) > 0) return { kind: 'claimed' };
  const { rows } = await pool.query<{ class: string; node: string; claimed_at: string; enrollment_id: string | null; created: boolean | null; added: number | null; at: string | null }>(
    'SELECT class, node, claimed_at, enrollment_id, created, added, at FROM site_enrollment_requests WHERE key = $1',
    [key],
  );
  const r = rows[0];
  // Gone between the two statements (its claim released after a failed enrollment): this node may claim it anew.
  if (!r) return claimEnrollmentKey(pool, key, cls, node, now);
  if (r.enrollment_id === null) return { kind: 'in-progress', node: r.node, since: r.claimed_at };
  return { kind: 'done', record: { key, enrollmentId: r.enrollment_id, class: r.class, created: r.created ?? false, added: r.added ?? 0, at: r.at ?? r.claimed_at } };
}

/** Records the answer of the enrollment made under a claimed key (a later retry anywhere replays it). */
export async function completeEnrollmentKey(pool: pg.Pool, key: string, node: string, answer: { enrollmentId: string; class: string; created: boolean; added: number }): Promise<void> {
  await pool.query(
    'UPDATE site_enrollment_requests SET enrollment_id = $3, class = $4, created = $5, added = $6, at = $7 WHERE key = $1 AND node = $2 AND enrollment_id IS NULL',
    [key, node, answer.enrollmentId, answer.class, answer.created, answer.added, new Date().toISOString()],
  );
}

/** Gives a claimed key back after the enrollment failed (bad input): a corrected retry may use it. */
export async function releaseEnrollmentKey(pool: pg.Pool, key: string, node: string): Promise<void> {
  await pool.query('DELETE FROM site_enrollment_requests WHERE key = $1 AND node = $2 AND enrollment_id IS NULL', [key, node]);
}
