import type Database from 'better-sqlite3';
import type pg from 'pg';
import type { ResultMessage } from '../../core/messages.ts';
import type { ArbiterVerdict, PipelineLogger, ResultArbiter } from '../../pipelines/ports.ts';

/**
 * Whose result counts for a spectrum taken from the site's work queue (pipelines/ports.ts ResultArbiter), decided in
 * PostgreSQL before any node commits a result locally or publishes it.
 *
 * A spectrum's site key is its input's idempotency key and block (`queue-key:<Nats-Msg-Id>#0`, else topic and payload
 * hash): the same on every node the job reaches. One statement claims the keys of a micro-batch in
 * `site_finished_work` (INSERT ... ON CONFLICT DO NOTHING: the first claim wins, a concurrent one waits for it and
 * loses) and, for the keys it won, writes the results to `site_results` in the same statement, so the decision and the
 * site's copy of the result are durable together. Whatever happens to the node afterwards, the job's next delivery
 * finds the key taken: no second result, and the first is on the site even if its node never comes back.
 *
 * Crash points, with the node that took the job first (A) and the one the queue gives it to next (B):
 * - before the claim: nothing of it is on the site; B claims and commits it. A, restarted, identifies its pending
 *   copy again and loses the claim: the copy is discarded.
 * - after the claim, before A's local commit: the result is on the site (site_results). B loses the claim and
 *   acknowledges the job without a result; A, restarted, identifies its pending copy, finds its own claim and commits
 *   the result the site holds (so its outputs publish it, late).
 * - after A's local commit, before the queue ack: as above; A's copy is done.
 * With PostgreSQL unreachable nothing can be decided: the node's queue spectra stay pending (their jobs leased to it)
 * and are asked again every few seconds; other inputs' spectra are not concerned.
 */
export class SiteResultArbiter implements ResultArbiter {
  private readonly keysOf: (ids: readonly string[]) => Map<string, string>;

  constructor(
    private readonly pool: pg.Pool,
    private readonly node: string,
    db: Database.Database,
    /** The names of this node's queue inputs: only their spectra are decided on the site. */
    queueInputs: readonly string[],
    private readonly log: PipelineLogger,
  ) {
    const inputs = JSON.stringify(queueInputs);
    const select = db.prepare<[string, string], { id: string; key: string }>(
      `SELECT id, dedup_key AS key FROM spectra WHERE id IN (SELECT value FROM json_each(?)) AND dedup_key IS NOT NULL AND adapter IN (SELECT value FROM json_each(?))`,
    );
    this.keysOf = (ids) => new Map(select.all(JSON.stringify(ids), inputs).map((r) => [r.id, r.key]));
  }

  async decide(results: readonly ResultMessage[]): Promise<ArbiterVerdict> {
    const replaced = new Map<string, ResultMessage>();
    const elsewhere = new Map<string, string>();
    let keys: Map<string, string>;
    try {
      keys = this.keysOf(results.map((r) => r.id));
    } catch (err) {
      // The local store cannot say which spectra are queue jobs: none is committed until it can.
      this.log.error({ err }, 'site: could not read the spectra\'s queue keys; their results wait');
      return { replaced, elsewhere, held: new Set(results.map((r) => r.id)) };
    }
    const contested = results.filter((r) => keys.has(r.id));
    if (contested.length === 0) return { replaced, elsewhere, held: new Set() };
    try {
      const won = await this.claim(contested, keys);
      const lost = contested.filter((r) => !won.has(keys.get(r.id)!));
      if (lost.length > 0) {
        const { rows } = await this.pool.query<{ key: string; node: string; spectrum_id: string | null; message: ResultMessage | null }>(
          `SELECT f.key, f.node, f.spectrum_id, r.message FROM site_finished_work f LEFT JOIN site_results r ON r.spectrum_id = f.spectrum_id
           WHERE f.key = ANY($1::text[])`,
          [lost.map((r) => keys.get(r.id)!)],
        );
        const owner = new Map(rows.map((row) => [row.key, row]));
        for (const r of lost) {
          const row = owner.get(keys.get(r.id)!);
          if (!row) throw new Error(`site_finished_work has no row for ${keys.get(r.id)} after its claim conflicted`);
          if (row.spectrum_id === r.id) replaced.set(r.id, row.message ?? r);
          else elsewhere.set(r.id, row.node);
        }
      }
      return { replaced, elsewhere, held: new Set() };
    } catch (err) {
      this.log.warn({ err: err instanceof Error ? err.message : String(err), spectra: contested.length }, 'site: could not decide whose results these queue spectra are; they stay pending and are asked again');
      return { replaced, elsewhere, held: new Set(contested.map((r) => r.id)) };
    }
  }

  /** Claims the keys and, for those won, writes the results to the site: one statement, one transaction. */
  private async claim(results: readonly ResultMessage[], keys: ReadonlyMap<string, string>): Promise<Set<string>> {
    const { rows } = await this.pool.query<{ key: string }>(
      `WITH input AS (
         SELECT * FROM unnest($1::text[], $2::text[], $3::jsonb[]) AS t(key, spectrum_id, message)
       ), won AS (
         INSERT INTO site_finished_work (key, node, spectrum_id)
         SELECT key, $4, spectrum_id FROM input ON CONFLICT (key) DO NOTHING
         RETURNING key
       ), stored AS (
         INSERT INTO site_results (spectrum_id, node, instrument, status, class, score, latency_ms, model_version, received_at, source, message)
         SELECT i.spectrum_id, coalesce(i.message->>'node', $4), i.message->>'instrument', i.message->>'status', i.message->>'class',
                (i.message->>'score')::float8, (i.message->>'latencyMs')::float8, i.message->>'modelVersion', i.message->>'receivedAt',
                i.message->>'source', i.message
         FROM input i JOIN won w ON w.key = i.key
         ON CONFLICT DO NOTHING
       )
       SELECT key FROM won`,
      [results.map((r) => keys.get(r.id)!), results.map((r) => r.id), results.map((r) => JSON.stringify(r)), this.node],
    );
    return new Set(rows.map((r) => r.key));
  }
}
