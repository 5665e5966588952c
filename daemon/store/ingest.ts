import type Database from 'better-sqlite3';
import type { AlertMessage, ResultMessage } from '../../core/messages.ts';
import type { IngestCommit, LedgerOutcome, PendingSpectrum, PipelineStore } from '../../pipelines/ports.ts';
import type { AlertStore } from './alerts.ts';
import { fromBlob, toBlob } from './connection.ts';
import type { OutboxQueue } from './outbox-queue.ts';

/**
 * What the pipeline writes (pipelines/ports.ts PipelineStore): the input ledger, received spectra, results and the
 * alerts about them, each result and alert queued for the outputs in the same transaction. Synchronous: a call
 * returns once committed, which is what lets the pipeline acknowledge an input only after it is safe.
 */
export class IngestStore implements PipelineStore {
  private readonly ledgerGet;
  private readonly ledgerPut;
  private readonly spectrumPut;
  private readonly spectrumDone;
  private readonly spectrumDiscard;
  private readonly resultPut;

  constructor(
    private readonly db: Database.Database,
    private readonly alerts: AlertStore,
    private readonly outbox: OutboxQueue,
  ) {
    this.ledgerGet = db.prepare<[string], { outcome: LedgerOutcome }>('SELECT outcome FROM file_ledger WHERE key = ?');
    this.ledgerPut = db.prepare('INSERT OR REPLACE INTO file_ledger (key, source, outcome, at) VALUES (?, ?, ?, ?)');
    this.spectrumPut = db.prepare(
      `INSERT INTO spectra (id, received_at, instrument, adapter, source, format_hint, block, title, raw, preprocessed, dedup_key, state)
       VALUES (@id, @receivedAt, @instrument, @adapter, @source, @formatHint, @block, @title, @raw, @preprocessed, @dedupKey, @state)`,
    );
    this.spectrumDone = db.prepare("UPDATE spectra SET state = 'done' WHERE id = ? AND state = 'pending'");
    this.spectrumDiscard = db.prepare("DELETE FROM spectra WHERE id = ? AND state = 'pending'");
    this.resultPut = db.prepare(
      `INSERT OR IGNORE INTO results (spectrum_id, instrument, status, class, score, latency_ms, model_version, message)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
  }

  ledgerOutcome(key: string): LedgerOutcome | undefined {
    return this.ledgerGet.get(key)?.outcome;
  }

  readonly commitIngest = (commit: IngestCommit): void => {
    this.db.transaction(() => {
      for (const s of commit.spectra) {
        this.spectrumPut.run({
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
      if (commit.ledger) this.ledgerPut.run(commit.ledger.key, commit.ledger.source, commit.ledger.outcome, new Date().toISOString());
    })();
  };

  readonly commitIngestMany = (commits: readonly IngestCommit[]): void => {
    // Nested transactions become savepoints: the whole group is one commit, one fsync.
    this.db.transaction(() => {
      for (const c of commits) this.commitIngest(c);
    })();
  };

  commitResults(results: readonly ResultMessage[], alerts: readonly AlertMessage[], discarded?: readonly string[]): void {
    this.db.transaction(() => {
      this.putResultsAndAlerts(results, alerts);
      for (const r of results) this.spectrumDone.run(r.id);
      // Another node of the site holds their result: this node's copy goes (its input ledger entry stays, so a
      // redelivery here is acknowledged as done).
      for (const id of discarded ?? []) this.spectrumDiscard.run(id);
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
      const inserted = this.resultPut.run(r.id, r.instrument, r.status, r.class ?? null, r.score, r.latencyMs, r.modelVersion, payload);
      // A replayed spectrum already has its result: publish it once only.
      if (inserted.changes === 0) continue;
      this.outbox.enqueue('result', payload, now);
    }
    this.alerts.insert(alerts, now);
  }
}
