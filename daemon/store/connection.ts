import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { migrate } from './migrations.ts';

export interface StoreOptions {
  /**
   * FULL (default): with WAL, every commit is fsynced before it returns, so a spectrum acknowledged to its source
   * survives a power cut. NORMAL fsyncs only at checkpoints: still consistent and crash-safe for the process, but
   * the last commits can be lost on power loss -- acknowledged inputs would then be gone.
   */
  synchronous?: 'FULL' | 'NORMAL';
  /** Output names that get a copy of every result and alert in the outbox. */
  outputs?: readonly string[];
}

/**
 * The store holds every received spectrum and result: readable by the daemon's user only, whatever the umask. The
 * file is created 0600 before SQLite opens it (SQLite gives its -wal and -shm files the database file's mode), and an
 * existing one is narrowed to 0600 (it was 0644 under the usual umask).
 */
function makePrivate(file: string): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  closeSync(openSync(file, 'a', 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      if (existsSync(f)) chmodSync(f, 0o600);
    } catch {
      // Another user's file (EPERM): SQLite opens it or says why; its mode is its owner's choice.
    }
  }
}

/** Opens (or creates) the store's SQLite file, private to the daemon's user, in WAL mode, migrated to the latest schema. */
export function openDatabase(file: string, options: Pick<StoreOptions, 'synchronous'> = {}): Database.Database {
  if (file !== ':memory:') makePrivate(file);
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}

export function toBlob(v: Float32Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

export function fromBlob(b: Buffer): Float32Array {
  // Copy: a Buffer from SQLite may sit at an offset that is not 4-byte aligned.
  const copy = new Uint8Array(b.byteLength);
  copy.set(b);
  return new Float32Array(copy.buffer);
}
