import type Database from 'better-sqlite3';

/**
 * Versioned schema migrations, applied in order inside one transaction each; PRAGMA user_version holds the
 * version reached. Never edit a released migration: add the next one.
 */
export const migrations: ReadonlyArray<{ readonly version: number; readonly name: string; readonly sql: string }> = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
      CREATE TABLE spectra (
        id TEXT PRIMARY KEY,                -- ULID: time-sortable
        received_at TEXT NOT NULL,
        instrument TEXT NOT NULL,
        adapter TEXT NOT NULL,
        source TEXT NOT NULL,
        format_hint TEXT,
        block INTEGER NOT NULL DEFAULT 0,
        title TEXT,
        raw BLOB NOT NULL,
        preprocessed BLOB,                  -- float32 little-endian on the model grid; NULL when rejected
        dedup_key TEXT UNIQUE,
        state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'rejected'))
      );
      CREATE INDEX spectra_pending ON spectra (id) WHERE state = 'pending';

      CREATE TABLE results (
        spectrum_id TEXT PRIMARY KEY REFERENCES spectra (id) ON DELETE CASCADE,
        instrument TEXT NOT NULL,
        status TEXT NOT NULL,
        class TEXT,
        score REAL NOT NULL,
        latency_ms REAL NOT NULL,
        model_version TEXT NOT NULL,
        message TEXT NOT NULL               -- the ResultMessage JSON as published
      );
      CREATE INDEX results_instrument ON results (instrument, spectrum_id);
      CREATE INDEX results_class ON results (class, spectrum_id);
      CREATE INDEX results_status ON results (status, spectrum_id);

      CREATE TABLE classes (
        name TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        origin TEXT NOT NULL                -- demo, api, import
      );
      CREATE TABLE class_references (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        class TEXT NOT NULL REFERENCES classes (name) ON DELETE CASCADE ON UPDATE CASCADE,
        spectrum_id TEXT,                   -- the received spectrum it was enrolled from, if any
        vector BLOB NOT NULL,               -- preprocessed, float32 on the model grid
        embedding BLOB,                     -- float32, for model_version
        model_version TEXT
      );
      CREATE INDEX class_references_class ON class_references (class);

      CREATE TABLE alerts (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        instrument TEXT NOT NULL,
        at TEXT NOT NULL,
        message TEXT NOT NULL,
        result_id TEXT
      );

      CREATE TABLE file_ledger (
        key TEXT PRIMARY KEY,               -- source idempotency key (path + size + mtime, MQTT message id)
        source TEXT NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('processed', 'failed')),
        at TEXT NOT NULL
      );

      CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        output TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('result', 'alert')),
        payload TEXT NOT NULL,
        created_at TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT
      );
      CREATE INDEX outbox_output ON outbox (output, seq);
    `,
  },
  {
    version: 2,
    name: 'enrollments can be undone, alerts acknowledged',
    sql: `
      ALTER TABLE class_references ADD COLUMN enrollment_id TEXT;
      CREATE INDEX class_references_enrollment ON class_references (enrollment_id);
      ALTER TABLE alerts ADD COLUMN acknowledged_at TEXT;
    `,
  },
  {
    version: 3,
    name: 'labelled spectra; alerts resolved by a label',
    sql: `
      CREATE TABLE labels (
        spectrum_id TEXT NOT NULL REFERENCES spectra (id) ON DELETE CASCADE,
        enrollment_id TEXT NOT NULL,        -- undoing the enrollment removes the label
        class TEXT NOT NULL,
        labelled_at TEXT NOT NULL,
        labelled_by TEXT,
        PRIMARY KEY (spectrum_id, enrollment_id)
      );
      CREATE INDEX labels_enrollment ON labels (enrollment_id);
      CREATE INDEX labels_class ON labels (class, spectrum_id);
      ALTER TABLE alerts ADD COLUMN ack_note TEXT;
      ALTER TABLE alerts ADD COLUMN resolved_by_enrollment TEXT;
      CREATE INDEX alerts_result ON alerts (result_id);
    `,
  },
  {
    version: 4,
    name: 'quarantined classes and references; enrollment requests by idempotency key',
    sql: `
      ALTER TABLE classes ADD COLUMN quarantined_at TEXT;      -- set when a start could not load the class
      ALTER TABLE classes ADD COLUMN quarantine_reason TEXT;
      ALTER TABLE class_references ADD COLUMN quarantined_at TEXT;  -- one reference a start could not load
      ALTER TABLE class_references ADD COLUMN quarantine_reason TEXT;
      CREATE TABLE enrollment_requests (
        key TEXT PRIMARY KEY,               -- the client's Idempotency-Key: a retry answers this enrollment again
        enrollment_id TEXT NOT NULL,
        class TEXT NOT NULL,
        created INTEGER NOT NULL,
        added INTEGER NOT NULL,
        at TEXT NOT NULL
      );
    `,
  },
  {
    version: 5,
    name: 'adapter alerts name their adapter (closed when it comes back); open alerts counted by index',
    sql: `
      ALTER TABLE alerts ADD COLUMN adapter TEXT;
      CREATE INDEX alerts_open ON alerts (acknowledged_at, kind, instrument);
      CREATE INDEX alerts_adapter ON alerts (adapter) WHERE adapter IS NOT NULL;
    `,
  },
];

export function migrate(db: Database.Database): { from: number; to: number } {
  const from = db.pragma('user_version', { simple: true }) as number;
  const latest = migrations[migrations.length - 1].version;
  if (from > latest) {
    throw new Error(`the store was written by a newer spectrad (schema ${from}, this one knows up to ${latest}); refusing to open it`);
  }
  for (const m of migrations) {
    if (m.version <= from) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
  return { from, to: latest };
}
