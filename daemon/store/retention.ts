import type { Condition, SqlDialect } from './query-filters.ts';

/**
 * What `store.retentionDays` removes, described once for the node's SQLite store and the site's PostgreSQL:
 * spectra and their results received before the cutoff (never a spectrum still awaiting its result), and alerts
 * raised before it, except an adapter-down alert still open (an input that is still down is news however old).
 * Pure: the caller runs the deletes (the node at its start, the site in batches: daemon/site/site-retention.ts).
 */

/** The cutoff for a retention in days (ISO time; rows before it go), or undefined when everything is kept (0). */
export function retentionCutoff(days: number, now: number = Date.now()): string | undefined {
  return days > 0 ? new Date(now - days * 86_400_000).toISOString() : undefined;
}

/** One table retention prunes: its key (rows are deleted by key, in batches where the store wants) and what goes. */
export interface PruneTarget {
  readonly table: string;
  readonly key: string;
  readonly conditions: readonly Condition[];
}

const KEPT_ALERT: Condition = { sql: "NOT (kind = 'adapter-down' AND acknowledged_at IS NULL)", params: [] };

/**
 * The tables and conditions of one retention pass. SQLite: the spectra (their results and labels go with them by
 * cascade) and alerts. PostgreSQL: the site keeps results and spectra in tables of their own (a result reaches the
 * site with its spectrum, never pending), and alerts.
 */
export function pruneTargets(cutoff: string, dialect: SqlDialect): PruneTarget[] {
  const before = (column: string): Condition => ({ sql: `${column} < ?`, params: [cutoff] });
  if (dialect === 'sqlite') {
    return [
      { table: 'spectra', key: 'id', conditions: [before('received_at'), { sql: "state != 'pending'", params: [] }] },
      { table: 'alerts', key: 'id', conditions: [before('at'), KEPT_ALERT] },
    ];
  }
  return [
    { table: 'site_results', key: 'spectrum_id', conditions: [before('received_at')] },
    { table: 'site_spectra', key: 'id', conditions: [before('received_at')] },
    { table: 'site_alerts', key: 'id', conditions: [before('at'), KEPT_ALERT] },
    // A node's labels go with its spectra by cascade; the site's labels are rows of their own: those of spectra the
    // site no longer holds (pruned above), labelled before the cutoff, go.
    {
      table: 'site_labels',
      key: 'ctid',
      conditions: [
        before('labelled_at'),
        { sql: 'NOT EXISTS (SELECT 1 FROM site_results r WHERE r.spectrum_id = site_labels.spectrum_id)', params: [] },
        { sql: 'NOT EXISTS (SELECT 1 FROM site_spectra s WHERE s.id = site_labels.spectrum_id)', params: [] },
      ],
    },
  ];
}

/**
 * The site's bookkeeping keys, kept for `site.postgres.keysKeepHours` whatever the retention of history: work-queue
 * keys decided or finished (site_finished_work) and enrollment Idempotency-Keys (site_enrollment_requests, answered
 * or claimed) from before the cutoff.
 */
export function siteKeyTargets(cutoff: string): PruneTarget[] {
  return [
    { table: 'site_finished_work', key: 'key', conditions: [{ sql: 'finished_at < ?', params: [cutoff] }] },
    { table: 'site_enrollment_requests', key: 'key', conditions: [{ sql: 'coalesce(at, claimed_at) < ?', params: [cutoff] }] },
  ];
}
