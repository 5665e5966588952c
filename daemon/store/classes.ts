import type Database from 'better-sqlite3';
import { fromBlob, toBlob } from './connection.ts';

export interface ClassSummary {
  readonly name: string;
  readonly createdAt: string;
  readonly origin: string;
  readonly references: number;
}

/** A class a start could not load (its name or references break the library's rules): kept aside, not deleted. */
export interface QuarantinedClass {
  readonly name: string;
  readonly origin: string;
  readonly quarantinedAt: string;
  readonly reason: string;
  readonly references: number;
}

export interface ReferenceRow {
  readonly id: number;
  readonly class: string;
  readonly spectrumId?: string;
  readonly vector: Float32Array;
  readonly embedding?: Float32Array;
  readonly modelVersion?: string;
}

export interface NewReference {
  /** Groups the references added together so the enrollment can be undone. */
  readonly enrollmentId?: string;
  readonly vector: Float32Array;
  readonly embedding?: Float32Array;
  readonly modelVersion?: string;
  readonly spectrumId?: string;
}

/**
 * The reference library's rows: classes and their reference spectra (on the model grid) with embeddings and the
 * model version that made them; classes and references a start could not load are set aside (quarantine).
 */
export class ClassStore {
  constructor(private readonly db: Database.Database) {}

  listClasses(): ClassSummary[] {
    return this.db
      .prepare<[], { name: string; created_at: string; origin: string; n: number }>(
        `SELECT c.name, c.created_at, c.origin, COUNT(r.id) AS n FROM classes c
         LEFT JOIN class_references r ON r.class = c.name AND r.quarantined_at IS NULL WHERE c.quarantined_at IS NULL GROUP BY c.name ORDER BY c.name`,
      )
      .all()
      .map((c) => ({ name: c.name, createdAt: c.created_at, origin: c.origin, references: c.n }));
  }

  references(): ReferenceRow[] {
    return this.db
      .prepare<[], { id: number; class: string; spectrum_id: string | null; vector: Buffer; embedding: Buffer | null; model_version: string | null }>(
        `SELECT r.* FROM class_references r JOIN classes c ON c.name = r.class
         WHERE c.quarantined_at IS NULL AND r.quarantined_at IS NULL ORDER BY r.id`,
      )
      .all()
      .map((r) => ({
        id: r.id,
        class: r.class,
        spectrumId: r.spectrum_id ?? undefined,
        vector: fromBlob(r.vector),
        embedding: r.embedding ? fromBlob(r.embedding) : undefined,
        modelVersion: r.model_version ?? undefined,
      }));
  }

  /** A class's reference vectors (preprocessed, on the model grid), quarantined ones left out. */
  classReferenceVectors(name: string): Float32Array[] {
    return this.db
      .prepare<[string], { vector: Buffer }>('SELECT vector FROM class_references WHERE class = ? AND quarantined_at IS NULL ORDER BY id')
      .all(name)
      .map((r) => fromBlob(r.vector));
  }

  /** The mean of a class's reference vectors scaled to max |y| = 1: what the dashboard overlays. */
  classReference(name: string): Float32Array | undefined {
    const rows = this.classReferenceVectors(name);
    if (rows.length === 0) return undefined;
    let mean: Float32Array | undefined;
    for (const v of rows) {
      mean ??= new Float32Array(v.length);
      for (let i = 0; i < Math.min(v.length, mean.length); i++) mean[i] += v[i] / rows.length;
    }
    let max = 0;
    for (const v of mean!) max = Math.max(max, Math.abs(v));
    if (max > 0) for (let i = 0; i < mean!.length; i++) mean![i] /= max;
    return mean;
  }

  /** Stores embeddings computed under a (new) model version. */
  setEmbeddings(modelVersion: string, rows: ReadonlyArray<{ id: number; embedding: Float32Array }>): void {
    const put = this.db.prepare('UPDATE class_references SET embedding = ?, model_version = ? WHERE id = ?');
    this.db.transaction(() => {
      for (const r of rows) put.run(toBlob(r.embedding), modelVersion, r.id);
    })();
  }

  removeClass(name: string): boolean {
    return this.db.prepare('DELETE FROM classes WHERE name = ?').run(name).changes > 0;
  }

  /**
   * Sets a class aside that the library could not load (start-up; its name, or every one of its references): its rows stay in the store for an operator to
   * repair or remove, but references() and listClasses() no longer return it, so the daemon starts without it.
   */
  quarantineClass(name: string, reason: string): boolean {
    return (
      this.db
        .prepare('UPDATE classes SET quarantined_at = ?, quarantine_reason = ? WHERE name = ? AND quarantined_at IS NULL')
        .run(new Date().toISOString(), reason, name).changes > 0
    );
  }

  /** Sets single references aside (a start could not load them); their class loads without them. */
  quarantineReferences(ids: readonly number[], reason: string): number {
    const put = this.db.prepare('UPDATE class_references SET quarantined_at = ?, quarantine_reason = ? WHERE id = ? AND quarantined_at IS NULL');
    const at = new Date().toISOString();
    return this.db.transaction(() => ids.reduce((n, id) => n + put.run(at, reason, id).changes, 0))();
  }

  quarantinedReferences(): Array<{ readonly id: number; readonly class: string; readonly reason: string }> {
    return this.db
      .prepare<[], { id: number; class: string; quarantine_reason: string | null }>('SELECT id, class, quarantine_reason FROM class_references WHERE quarantined_at IS NOT NULL ORDER BY id')
      .all()
      .map((r) => ({ id: r.id, class: r.class, reason: r.quarantine_reason ?? '' }));
  }

  quarantinedClasses(): QuarantinedClass[] {
    return this.db
      .prepare<[], { name: string; origin: string; quarantined_at: string; quarantine_reason: string | null; n: number }>(
        `SELECT c.name, c.origin, c.quarantined_at, c.quarantine_reason, COUNT(r.id) AS n FROM classes c
         LEFT JOIN class_references r ON r.class = c.name WHERE c.quarantined_at IS NOT NULL GROUP BY c.name ORDER BY c.name`,
      )
      .all()
      .map((c) => ({ name: c.name, origin: c.origin, quarantinedAt: c.quarantined_at, reason: c.quarantine_reason ?? '', references: c.n }));
  }
}
