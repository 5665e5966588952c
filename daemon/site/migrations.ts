import type pg from 'pg';
import { checkout, LOCK_KEYS } from './pool.ts';

/**
 * Versioned migrations of the site's PostgreSQL schema, applied in order, each in its own transaction, while holding
 * a session advisory lock: nodes that start together wait for the first one's migrations and then find nothing to
 * do. site_schema holds the versions applied. Never edit a released migration: add the next one.
 *
 * Times are ISO-8601 text as in the local SQLite store (ids are ULIDs, so id order is time order there too).
 */
export const siteMigrations: ReadonlyArray<{ readonly version: number; readonly name: string; readonly sql: string }> = [
  {
    version: 1,
    name: 'site change log, library, model registry, results and alerts, settings',
    sql: `
      -- Every change a node must apply (enrollment, undo, model activation), numbered by a monotonic revision.
      CREATE TABLE site_changes (
        revision BIGSERIAL PRIMARY KEY,
        kind TEXT NOT NULL,
        payload JSONB NOT NULL,
        node TEXT NOT NULL,
        at TEXT NOT NULL
      );

      CREATE TABLE site_classes (
        name TEXT PRIMARY KEY,
        origin TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE TABLE site_enrollments (
        enrollment_id TEXT PRIMARY KEY,
        class TEXT NOT NULL,
        origin TEXT NOT NULL,
        labelled_by TEXT,
        node TEXT NOT NULL,
        at TEXT NOT NULL,
        undone_revision BIGINT              -- set when the enrollment was undone
      );
      CREATE TABLE site_references (
        id BIGSERIAL PRIMARY KEY,
        enrollment_id TEXT NOT NULL REFERENCES site_enrollments (enrollment_id) ON DELETE CASCADE,
        ordinal INTEGER NOT NULL,           -- its place in the enrollment (1, 2, ...)
        class TEXT NOT NULL,
        spectrum_id TEXT,
        vector BYTEA NOT NULL               -- float32 little-endian on the model grid
      );
      CREATE UNIQUE INDEX site_references_enrollment ON site_references (enrollment_id, ordinal);
      -- A reference's embedding per model version (any node that embedded it with that model may add it).
      CREATE TABLE site_embeddings (
        reference_id BIGINT NOT NULL REFERENCES site_references (id) ON DELETE CASCADE,
        model_version TEXT NOT NULL,
        embedding BYTEA NOT NULL,
        PRIMARY KEY (reference_id, model_version)
      );
      CREATE TABLE site_labels (
        spectrum_id TEXT NOT NULL,
        enrollment_id TEXT NOT NULL REFERENCES site_enrollments (enrollment_id) ON DELETE CASCADE,
        class TEXT NOT NULL,
        labelled_at TEXT NOT NULL,
        labelled_by TEXT,
        PRIMARY KEY (spectrum_id, enrollment_id)
      );
      CREATE INDEX site_labels_class ON site_labels (class, spectrum_id);

      -- The model registry: every version's entry (accuracies, base) and its files (model.json, weights, card).
      CREATE TABLE site_models (
        version TEXT PRIMARY KEY,
        model_version TEXT,
        entry JSONB NOT NULL,
        node TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE TABLE site_model_files (
        version TEXT NOT NULL REFERENCES site_models (version) ON DELETE CASCADE,
        name TEXT NOT NULL,
        content BYTEA NOT NULL,
        PRIMARY KEY (version, name)
      );

      CREATE TABLE site_spectra (
        id TEXT PRIMARY KEY,                -- the ULID the accepting node gave it
        node TEXT NOT NULL,
        received_at TEXT NOT NULL,
        instrument TEXT NOT NULL,
        adapter TEXT NOT NULL,
        source TEXT NOT NULL,
        format_hint TEXT,
        block INTEGER NOT NULL DEFAULT 0,
        title TEXT,
        raw BYTEA NOT NULL,
        preprocessed BYTEA
      );
      CREATE TABLE site_results (
        spectrum_id TEXT PRIMARY KEY,
        node TEXT NOT NULL,
        instrument TEXT NOT NULL,
        status TEXT NOT NULL,
        class TEXT,
        score DOUBLE PRECISION NOT NULL,
        latency_ms DOUBLE PRECISION NOT NULL,
        model_version TEXT NOT NULL,
        received_at TEXT,
        source TEXT,
        message JSONB NOT NULL              -- the ResultMessage as published
      );
      CREATE INDEX site_results_instrument ON site_results (instrument, spectrum_id);
      CREATE INDEX site_results_status ON site_results (status, spectrum_id);
      CREATE INDEX site_results_class ON site_results (class, spectrum_id);
      CREATE TABLE site_alerts (
        id TEXT PRIMARY KEY,
        node TEXT NOT NULL,
        kind TEXT NOT NULL,
        instrument TEXT NOT NULL,
        at TEXT NOT NULL,
        message TEXT NOT NULL,
        result_id TEXT,
        acknowledged_at TEXT,
        ack_note TEXT,
        resolved_by_enrollment TEXT
      );
      CREATE INDEX site_alerts_open ON site_alerts (acknowledged_at, kind, instrument);
      CREATE INDEX site_alerts_result ON site_alerts (result_id);

      -- Site-wide settings: the write token, the active model version.
      CREATE TABLE site_settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );

      -- An enrollment published in one call (one round trip, one transaction): its class, references, embeddings,
      -- labels, the alerts they answer, and its change with the notification. NULL when the site already has it.
      -- The lock is the change log's (daemon/site/changes.ts), so revisions commit in order.
      CREATE FUNCTION site_publish_enrollment(
        p_enrollment TEXT, p_class TEXT, p_origin TEXT, p_by TEXT, p_node TEXT, p_at TEXT,
        p_spectra TEXT[], p_vectors BYTEA[], p_versions TEXT[], p_embeddings BYTEA[]
      ) RETURNS BIGINT LANGUAGE plpgsql AS $fn$
      DECLARE
        rev BIGINT;
      BEGIN
        PERFORM pg_advisory_xact_lock(7370656374726410);
        INSERT INTO site_enrollments (enrollment_id, class, origin, labelled_by, node, at)
          VALUES (p_enrollment, p_class, p_origin, p_by, p_node, p_at) ON CONFLICT DO NOTHING;
        IF NOT FOUND THEN
          RETURN NULL;
        END IF;
        INSERT INTO site_classes (name, origin, created_at) VALUES (p_class, p_origin, p_at) ON CONFLICT DO NOTHING;
        WITH r AS (
          INSERT INTO site_references (enrollment_id, ordinal, class, spectrum_id, vector)
          SELECT p_enrollment, t.n, p_class, t.s, t.v FROM unnest(p_spectra, p_vectors) WITH ORDINALITY AS t(s, v, n)
          RETURNING id, ordinal
        )
        INSERT INTO site_embeddings (reference_id, model_version, embedding)
        SELECT r.id, t.mv, t.emb FROM r JOIN unnest(p_versions, p_embeddings) WITH ORDINALITY AS t(mv, emb, n) ON t.n = r.ordinal
        WHERE t.mv IS NOT NULL AND t.emb IS NOT NULL;
        INSERT INTO site_labels (spectrum_id, enrollment_id, class, labelled_at, labelled_by)
        SELECT DISTINCT s, p_enrollment, p_class, p_at, p_by FROM unnest(p_spectra) AS s WHERE s IS NOT NULL ON CONFLICT DO NOTHING;
        UPDATE site_alerts SET acknowledged_at = p_at, ack_note = 'labelled as ' || p_class, resolved_by_enrollment = p_enrollment
        WHERE result_id = ANY(p_spectra) AND acknowledged_at IS NULL AND kind IN ('unknown', 'low-confidence');
        INSERT INTO site_changes (kind, payload, node, at)
          VALUES ('enroll', jsonb_build_object('enrollmentId', p_enrollment, 'class', p_class), p_node, p_at)
          RETURNING revision INTO rev;
        PERFORM pg_notify('spectrad_site', rev::text);
        RETURN rev;
      END
      $fn$;
    `,
  },
  {
    version: 2,
    name: 'retention indexes; enrollment Idempotency-Keys site-wide',
    sql: `
      -- The retention pass (daemon/site/site-retention.ts) deletes what arrived before a cutoff, in batches.
      CREATE INDEX site_results_received ON site_results (received_at);
      CREATE INDEX site_spectra_received ON site_spectra (received_at);
      CREATE INDEX site_alerts_at ON site_alerts (at);
      -- A client's Idempotency-Key of POST /api/classes, claimed by the node enrolling under it, then its answer
      -- (daemon/site/enrollment-keys.ts): a retry on any node replays it.
      CREATE TABLE site_enrollment_requests (
        key TEXT PRIMARY KEY,
        class TEXT NOT NULL,
        node TEXT NOT NULL,
        claimed_at TEXT NOT NULL,
        enrollment_id TEXT,                 -- NULL while the claiming node enrolls
        created BOOLEAN,
        added INTEGER,
        at TEXT
      );
    `,
  },
  {
    version: 3,
    name: 'finished queue jobs by idempotency key',
    sql: `
      -- A queue job (input type queue) finished by some node, by its idempotency key (publisher's key, else topic and
      -- payload hash): a redelivery to another node is acknowledged, not identified again (daemon/site/work-ledger.ts).
      CREATE TABLE site_finished_work (
        key TEXT PRIMARY KEY,
        node TEXT NOT NULL,
        finished_at TIMESTAMPTZ NOT NULL DEFAULT now()
      );
      CREATE INDEX site_finished_work_at ON site_finished_work (finished_at);
    `,
  },
  {
    version: 4,
    name: 'queue spectra decided site-wide before their local commit',
    sql: `
      -- A queue spectrum's key (its job's key and block) claimed by the node whose result counts, with the id of that
      -- result's spectrum; the result itself is in site_results from the same statement (daemon/site/result-arbiter.ts).
      -- NULL for the job-level keys a node records after finishing a job (daemon/site/work-ledger.ts).
      ALTER TABLE site_finished_work ADD COLUMN spectrum_id TEXT;
    `,
  },
  {
    version: 5,
    name: 'live feed: a notification per result and alert written to the site',
    sql: `
      -- Every node's dashboards show the whole site live (daemon/site/live-feed.ts): each row written to site_results
      -- or site_alerts, by whichever path (a node's outbox, the queue's decision), is announced on commit with its id
      -- and node; listeners read the row itself.
      CREATE FUNCTION site_announce_row() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        PERFORM pg_notify(TG_ARGV[0], json_build_object('kind', TG_ARGV[1], 'id', to_jsonb(NEW) ->> TG_ARGV[2], 'node', NEW.node)::text);
        RETURN NULL;
      END
      $fn$;
      CREATE TRIGGER site_results_announce AFTER INSERT ON site_results FOR EACH ROW EXECUTE FUNCTION site_announce_row('spectrad_live', 'result', 'spectrum_id');
      CREATE TRIGGER site_alerts_announce AFTER INSERT ON site_alerts FOR EACH ROW EXECUTE FUNCTION site_announce_row('spectrad_live', 'alert', 'id');
    `,
  },
];

/** The channel of the live feed (migration 5): `{"kind": "result" | "alert", "id": <spectrum or alert id>, "node": <node>}`. */
export const LIVE_CHANNEL = 'spectrad_live';

export const SITE_CHANNEL = 'spectrad_site';

/**
 * Brings the site schema up to date; safe when several nodes start at once (the advisory lock serialises them, and
 * each migration re-checks site_schema under it). Refuses a schema newer than this build knows.
 */
export async function migrateSite(pool: pg.Pool): Promise<{ from: number; to: number }> {
  const client = await checkout(pool);
  let failed: unknown;
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEYS.migrations.toString()]);
    try {
      await client.query('CREATE TABLE IF NOT EXISTS site_schema (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
      const { rows } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM site_schema');
      const from = rows[0]?.v ?? 0;
      const latest = siteMigrations[siteMigrations.length - 1].version;
      if (from > latest) {
        throw new Error(`the site database was migrated by a newer spectrad (schema ${from}, this one knows up to ${latest}); refusing to use it`);
      }
      for (const m of siteMigrations) {
        if (m.version <= from) continue;
        await client.query('BEGIN');
        try {
          await client.query(m.sql);
          await client.query('INSERT INTO site_schema (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, new Date().toISOString()]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw new Error(`site schema migration ${m.version} (${m.name}) failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
        }
      }
      return { from, to: latest };
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEYS.migrations.toString()]).catch(() => undefined);
    }
  } catch (err) {
    failed = err;
    throw err;
  } finally {
    client.releaseAfter(failed);
  }
}
