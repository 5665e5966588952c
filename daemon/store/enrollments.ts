import type Database from 'better-sqlite3';
import { SpectrumInputError } from '../../core/errors.ts';
import { validateClassName } from '../../core/identify/knn/library.ts';
import { alertOf, type AlertRow, type StoredAlert } from './alerts.ts';
import { toBlob } from './connection.ts';
import type { NewReference } from './classes.ts';

/** What a labelling or its undo changed, for live listeners (the dashboards). */
export interface LabelChange {
  readonly kind: 'labelled' | 'unlabelled';
  readonly enrollmentId: string;
  readonly class: string;
  /** Received spectra whose label this changed. */
  readonly spectrumIds: readonly string[];
  /** labelled: alerts resolved by it; unlabelled: alerts open again. */
  readonly alerts: readonly StoredAlert[];
  readonly at: string;
  readonly by?: string;
}

/** What an enrollment answered, kept under the client's idempotency key so a retry gets the same answer. */
export interface EnrollmentRecord {
  readonly key: string;
  readonly enrollmentId: string;
  readonly class: string;
  readonly created: boolean;
  readonly added: number;
  readonly at: string;
}

/** Alert kinds that a label answers: the operator has said what the spectrum is. */
const RESOLVED_BY_LABEL = ['unknown', 'low-confidence'];

/**
 * Enrollment: references added to a class in one transaction, the received spectra they came from labelled as it
 * (their unknown/low-confidence alerts resolved), the client's idempotency key kept, and the undo of all of that;
 * listeners (the dashboards) hear of every labelling and undo once committed.
 */
export class EnrollmentStore {
  private readonly labelListeners = new Set<(change: LabelChange) => void>();

  constructor(private readonly db: Database.Database) {}

  /**
   * Adds references to a class, creating it when new; one transaction. True when the class was created. References
   * made from received spectra (spectrumId) within an enrollment label those spectra as the class, and their open
   * unknown/low-confidence alerts are resolved with the note 'labelled as <class>' (listeners are told).
   */
  addReferences(name: string, origin: string, refs: readonly NewReference[], options: { labelledBy?: string; requestKey?: string } = {}): boolean {
    // Validated before anything is written: a row the library cannot load would stop the next start.
    validateClassName(name);
    const quarantined = this.db.prepare<[string], { quarantined_at: string | null }>('SELECT quarantined_at FROM classes WHERE name = ?').get(name);
    if (quarantined?.quarantined_at) {
      throw new SpectrumInputError('library-class-quarantined', `class "${name}" is quarantined (a start could not load it); see the daemon log`);
    }
    const putClass = this.db.prepare('INSERT OR IGNORE INTO classes (name, created_at, origin) VALUES (?, ?, ?)');
    const putRef = this.db.prepare(
      'INSERT INTO class_references (class, spectrum_id, vector, embedding, model_version, enrollment_id) VALUES (?, ?, ?, ?, ?, ?)',
    );
    const putLabel = this.db.prepare(
      `INSERT OR IGNORE INTO labels (spectrum_id, enrollment_id, class, labelled_at, labelled_by)
       SELECT id, ?, ?, ?, ? FROM spectra WHERE id = ?`,
    );
    const resolve = this.db.prepare(
      `UPDATE alerts SET acknowledged_at = ?, ack_note = ?, resolved_by_enrollment = ?
       WHERE result_id = ? AND acknowledged_at IS NULL AND kind IN (${RESOLVED_BY_LABEL.map(() => '?').join(', ')})`,
    );
    const at = new Date().toISOString();
    let change: LabelChange | undefined;
    const created = this.db.transaction(() => {
      const made = putClass.run(name, at, origin).changes > 0;
      const labelled: string[] = [];
      for (const r of refs) {
        putRef.run(name, r.spectrumId ?? null, toBlob(r.vector), r.embedding ? toBlob(r.embedding) : null, r.modelVersion ?? null, r.enrollmentId ?? null);
        if (r.spectrumId && r.enrollmentId && putLabel.run(r.enrollmentId, name, at, options.labelledBy ?? null, r.spectrumId).changes > 0) {
          labelled.push(r.spectrumId);
          resolve.run(at, `labelled as ${name}`, r.enrollmentId, r.spectrumId, ...RESOLVED_BY_LABEL);
        }
      }
      if (options.requestKey) {
        const enrollmentId = refs.find((r) => r.enrollmentId)?.enrollmentId;
        if (!enrollmentId) throw new Error('an enrollment request key needs an enrollmentId on its references');
        this.db
          .prepare('INSERT INTO enrollment_requests (key, enrollment_id, class, created, added, at) VALUES (?, ?, ?, ?, ?, ?)')
          .run(options.requestKey, enrollmentId, name, made ? 1 : 0, refs.length, at);
      }
      if (labelled.length > 0) {
        const enrollmentId = refs.find((r) => r.enrollmentId)!.enrollmentId!;
        const alerts = this.db.prepare<[string], AlertRow>('SELECT * FROM alerts WHERE resolved_by_enrollment = ? ORDER BY id').all(enrollmentId).map(alertOf);
        change = { kind: 'labelled', enrollmentId, class: name, spectrumIds: labelled, alerts, at, ...(options.labelledBy ? { by: options.labelledBy } : {}) };
      }
      return made;
    })();
    if (change) this.tellLabelListeners(change);
    return created;
  }

  /** The enrollment made under a client's idempotency key, if any. */
  enrollmentByKey(key: string): EnrollmentRecord | undefined {
    const row = this.db
      .prepare<[string], { key: string; enrollment_id: string; class: string; created: number; added: number; at: string }>('SELECT * FROM enrollment_requests WHERE key = ?')
      .get(key);
    return row ? { key: row.key, enrollmentId: row.enrollment_id, class: row.class, created: row.created === 1, added: row.added, at: row.at } : undefined;
  }

  /**
   * Removes the references of one enrollment (and the class when it is left empty), with the labels it gave; alerts
   * it resolved open again unless another label of their spectrum still stands.
   */
  undoEnrollment(enrollmentId: string): { removed: number; classes: string[] } {
    let change: LabelChange | undefined;
    const answer = this.db.transaction(() => {
      const classes = this.db
        .prepare<[string], { class: string }>('SELECT DISTINCT class FROM class_references WHERE enrollment_id = ?')
        .all(enrollmentId)
        .map((r) => r.class);
      const removed = this.db.prepare('DELETE FROM class_references WHERE enrollment_id = ?').run(enrollmentId).changes;
      for (const c of classes) {
        this.db.prepare('DELETE FROM classes WHERE name = ? AND NOT EXISTS (SELECT 1 FROM class_references WHERE class = ?)').run(c, c);
      }
      const unlabelled = this.db.prepare<[string], { spectrum_id: string }>('SELECT spectrum_id FROM labels WHERE enrollment_id = ?').all(enrollmentId).map((r) => r.spectrum_id);
      this.db.prepare('DELETE FROM labels WHERE enrollment_id = ?').run(enrollmentId);
      const reopen = this.db
        .prepare<[string], AlertRow>(
          'SELECT * FROM alerts a WHERE a.resolved_by_enrollment = ? AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.spectrum_id = a.result_id)',
        )
        .all(enrollmentId);
      const open = this.db.prepare('UPDATE alerts SET acknowledged_at = NULL, ack_note = NULL, resolved_by_enrollment = NULL WHERE id = ?');
      for (const a of reopen) open.run(a.id);
      if (unlabelled.length > 0) {
        const alerts = reopen.map((a) => alertOf({ ...a, acknowledged_at: null, ack_note: null }));
        change = { kind: 'unlabelled', enrollmentId, class: classes[0] ?? '', spectrumIds: unlabelled, alerts, at: new Date().toISOString() };
      }
      return { removed, classes };
    })();
    if (change) this.tellLabelListeners(change);
    return answer;
  }

  /** Calls `listener` after each committed labelling or undo; returns the unsubscribe function. */
  onLabelChange(listener: (change: LabelChange) => void): () => void {
    this.labelListeners.add(listener);
    return () => this.labelListeners.delete(listener);
  }

  private tellLabelListeners(change: LabelChange): void {
    for (const listener of this.labelListeners) {
      try {
        listener(change);
      } catch {
        // A listener's failure (a closed socket) must not undo or fail the committed labelling.
      }
    }
  }
}
