import type Database from 'better-sqlite3';

export interface OutboxRow {
  readonly seq: number;
  readonly kind: 'result' | 'alert';
  readonly payload: string;
  readonly attempts: number;
}

/**
 * The per-output outbox: every result and alert is copied here for each output in the transaction that records it,
 * and an output's dispatcher (daemon/outbox.ts) takes, delivers and deletes its rows, so nothing is lost while an
 * output is down.
 */
export class OutboxQueue {
  private outputs: readonly string[];
  private readonly put;
  private readonly takeRows;
  private readonly del;
  private readonly fail;
  private readonly depth;

  constructor(
    private readonly db: Database.Database,
    outputs: readonly string[] = [],
  ) {
    this.outputs = outputs;
    this.put = db.prepare('INSERT INTO outbox (output, kind, payload, created_at) VALUES (?, ?, ?, ?)');
    this.takeRows = db.prepare<[string, number], OutboxRow>('SELECT seq, kind, payload, attempts FROM outbox WHERE output = ? ORDER BY seq LIMIT ?');
    this.del = db.prepare('DELETE FROM outbox WHERE seq = ?');
    this.fail = db.prepare('UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE seq = ?');
    this.depth = db.prepare<[], { output: string; n: number }>('SELECT output, COUNT(*) AS n FROM outbox GROUP BY output');
  }

  /** Outputs that receive a copy of every result and alert from now on. */
  setOutputs(outputs: readonly string[]): void {
    this.outputs = [...outputs];
  }

  /** A copy of a message for every output; run inside the transaction that records the message. */
  enqueue(kind: OutboxRow['kind'], payload: string, at: string): void {
    for (const o of this.outputs) this.put.run(o, kind, payload, at);
  }

  outboxTake(output: string, limit: number): OutboxRow[] {
    return this.takeRows.all(output, limit);
  }

  outboxDone(seqs: readonly number[]): void {
    this.db.transaction(() => {
      for (const s of seqs) this.del.run(s);
    })();
  }

  outboxFailed(seqs: readonly number[], error: string): void {
    this.db.transaction(() => {
      for (const s of seqs) this.fail.run(error.slice(0, 500), s);
    })();
  }

  outboxDepths(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const o of this.outputs) out[o] = 0;
    for (const r of this.depth.all()) out[r.output] = r.n;
    return out;
  }
}
