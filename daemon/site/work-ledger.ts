import type pg from 'pg';
import type { FinishedWorkLedger } from '../../adapters/work-queue.ts';

/**
 * The site's ledger of finished queue jobs (adapters/work-queue.ts FinishedWorkLedger) in PostgreSQL
 * (`site_finished_work`): the key a node finished, recorded after its result is committed and before the queue ack,
 * so a job redelivered to another node after the first died between the two is acknowledged there, not identified a
 * second time (docs/SCALE-OUT.md). Checks and records are batched (one statement for every key asked while the
 * previous one ran): a node takes up to 64 jobs at once, and one query each would hold the site pool's few
 * connections that results, alerts and the change log need too.
 */
export class SiteWorkLedger implements FinishedWorkLedger {
  private readonly checks: KeyBatches<string | undefined>;
  private readonly records: KeyBatches<true>;

  constructor(
    private readonly pool: pg.Pool,
    private readonly node: string,
  ) {
    this.checks = new KeyBatches(async (keys) => {
      const { rows } = await this.pool.query<{ key: string; node: string }>('SELECT key, node FROM site_finished_work WHERE key = ANY($1::text[])', [keys]);
      return new Map(rows.map((r) => [r.key, r.node]));
    }, undefined);
    this.records = new KeyBatches(async (keys) => {
      // Old keys go with the site's retention pass (daemon/site/site-retention.ts, site.postgres.keysKeepHours).
      await this.pool.query('INSERT INTO site_finished_work (key, node) SELECT k, $2 FROM unnest($1::text[]) AS k ON CONFLICT (key) DO NOTHING', [keys, this.node]);
      return new Map();
    }, true);
  }

  finishedBy(key: string): Promise<string | undefined> {
    return this.checks.ask(key);
  }

  async record(key: string): Promise<void> {
    await this.records.ask(key);
  }
}

/** Calls by key gathered into one run at a time: those arriving while a run is under way go into the next. */
class KeyBatches<R> {
  private waiting = new Map<string, Array<{ resolve: (r: R) => void; reject: (err: unknown) => void }>>();
  private running = false;

  constructor(
    private readonly run: (keys: string[]) => Promise<Map<string, R>>,
    private readonly absent: R,
  ) {}

  ask(key: string): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const list = this.waiting.get(key) ?? [];
      list.push({ resolve, reject });
      this.waiting.set(key, list);
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    // Calls made in the same turn of the event loop (a claim hands over many jobs at once) share the first run.
    await new Promise((r) => setImmediate(r));
    while (this.waiting.size > 0) {
      const batch = this.waiting;
      this.waiting = new Map();
      try {
        const answers = await this.run([...batch.keys()]);
        for (const [key, list] of batch) for (const w of list) w.resolve(answers.has(key) ? answers.get(key)! : this.absent);
      } catch (err) {
        for (const list of batch.values()) for (const w of list) w.reject(err);
      }
    }
    this.running = false;
  }
}
