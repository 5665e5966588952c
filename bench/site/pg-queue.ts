/**
 * A prototype site work queue on PostgreSQL, kept for `npm run bench:site` (the product uses NATS JetStream,
 * adapters/nats-queue.ts; docs/SCALE-OUT.md says why): a jobs table claimed with `FOR UPDATE SKIP LOCKED` (nodes never wait on each
 * other's rows), a lease as a visibility time (`visible_at`): a claimed job is invisible until its lease runs out,
 * so a dead node's jobs come back to the others by themselves. Enqueue notifies `spectrad_queue` so idle nodes wake at
 * once instead of at their next poll. Tables live in their own schema, `spectrad_queue`.
 */
import pg from 'pg';
import type { NewJob, QueueJob, WorkQueue } from '../../adapters/work-queue.ts';

export interface PgQueueOptions {
  /** postgres://user@host:5432/db */
  readonly url: string;
  /** Queue name: several queues can share the tables (default `spectra`). */
  readonly queue?: string;
  /** How long a claimed job stays invisible to other nodes without an extend (default 10 s). */
  readonly leaseMs?: number;
  /** This node's id, recorded on the jobs it holds (extend only renews its own). */
  readonly node: string;
}

const SCHEMA = `
CREATE SCHEMA IF NOT EXISTS spectrad_queue;
CREATE TABLE IF NOT EXISTS spectrad_queue.jobs (
  id bigserial PRIMARY KEY,
  queue text NOT NULL,
  topic text NOT NULL,
  key text,
  content_type text,
  payload bytea NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  enqueued_at timestamptz NOT NULL DEFAULT now(),
  visible_at timestamptz NOT NULL DEFAULT now(),
  leased_by text
);
CREATE INDEX IF NOT EXISTS jobs_ready ON spectrad_queue.jobs (queue, visible_at, id);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_key ON spectrad_queue.jobs (queue, key) WHERE key IS NOT NULL;
CREATE TABLE IF NOT EXISTS spectrad_queue.dead (
  id bigint PRIMARY KEY,
  queue text NOT NULL,
  topic text NOT NULL,
  key text,
  content_type text,
  payload bytea NOT NULL,
  attempts integer NOT NULL,
  enqueued_at timestamptz NOT NULL,
  died_at timestamptz NOT NULL DEFAULT now(),
  reason text NOT NULL
);`;

interface JobRow {
  id: string;
  topic: string;
  key: string | null;
  content_type: string | null;
  payload: Buffer;
  attempts: number;
}

export class PgQueue implements WorkQueue {
  readonly engine = 'postgres';
  private pool: pg.Pool | undefined;
  private listener: pg.Client | undefined;
  private waiters: Array<() => void> = [];
  private readonly queue: string;
  private readonly leaseSec: number;

  constructor(private readonly o: PgQueueOptions) {
    this.queue = o.queue ?? 'spectra';
    this.leaseSec = (o.leaseMs ?? 10_000) / 1000;
  }

  async connect(): Promise<void> {
    if (this.pool) return;
    const pool = new pg.Pool({ connectionString: this.o.url, max: 4 });
    pool.on('error', () => undefined); // an idle client lost: the pool makes a new one on the next query
    const client = await pool.connect();
    try {
      // Two nodes starting at once must not race on CREATE ... IF NOT EXISTS (it is not atomic in PostgreSQL).
      await client.query('SELECT pg_advisory_lock(hashtext($1))', ['spectrad_queue schema']);
      await client.query(SCHEMA);
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', ['spectrad_queue schema']);
    } finally {
      client.release();
    }
    const listener = new pg.Client({ connectionString: this.o.url });
    listener.on('error', () => undefined);
    await listener.connect();
    listener.on('notification', () => this.wakeAll());
    await listener.query('LISTEN spectrad_queue');
    this.pool = pool;
    this.listener = listener;
  }

  async enqueue(job: NewJob): Promise<void> {
    const payload = typeof job.payload === 'string' ? Buffer.from(job.payload) : Buffer.from(job.payload);
    await this.db().query(
      `WITH ins AS (INSERT INTO spectrad_queue.jobs (queue, topic, key, content_type, payload) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (queue, key) WHERE key IS NOT NULL DO NOTHING RETURNING id)
       SELECT pg_notify('spectrad_queue', $1) FROM ins`,
      [this.queue, job.topic, job.key ?? null, job.contentType ?? null, payload],
    );
  }

  async claim(max: number, waitMs: number, onJob?: (job: QueueJob) => void): Promise<QueueJob[]> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      // Registered before the query: a notification arriving while it runs still wakes the wait below.
      let wake!: () => void;
      const woken = new Promise<void>((resolve) => this.waiters.push((wake = resolve)));
      const { rows } = await this.db().query<JobRow>(
        `UPDATE spectrad_queue.jobs j
            SET attempts = j.attempts + 1, visible_at = now() + make_interval(secs => $3), leased_by = $4
           FROM (SELECT id FROM spectrad_queue.jobs WHERE queue = $1 AND visible_at <= now()
                  ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED) c
          WHERE j.id = c.id
          RETURNING j.id, j.topic, j.key, j.content_type, j.payload, j.attempts`,
        [this.queue, max, this.leaseSec, this.o.node],
      );
      if (rows.length > 0 || Date.now() >= deadline) {
        this.waiters = this.waiters.filter((w) => w !== wake);
        const jobs = rows.sort((a, b) => Number(a.id) - Number(b.id)).map(jobOf);
        if (onJob) jobs.forEach(onJob);
        return jobs;
      }
      // Nothing ready: wait for an enqueue, or poll again for leases of dead nodes that ran out.
      await Promise.race([woken, new Promise((r) => setTimeout(r, Math.min(250, deadline - Date.now())))]);
      this.waiters = this.waiters.filter((w) => w !== wake);
    }
  }

  async ack(job: QueueJob): Promise<void> {
    await this.db().query('DELETE FROM spectrad_queue.jobs WHERE id = $1', [job.id]);
  }

  async nack(job: QueueJob, delayMs = 0): Promise<void> {
    await this.db().query(
      `WITH u AS (UPDATE spectrad_queue.jobs SET visible_at = now() + make_interval(secs => $2), leased_by = NULL
                  WHERE id = $1 AND leased_by = $3 RETURNING queue)
       SELECT pg_notify('spectrad_queue', queue) FROM u`,
      [job.id, delayMs / 1000, this.o.node],
    );
  }

  async extend(jobs: readonly QueueJob[]): Promise<void> {
    await this.db().query(
      'UPDATE spectrad_queue.jobs SET visible_at = now() + make_interval(secs => $2) WHERE id = ANY($1::bigint[]) AND leased_by = $3',
      [jobs.map((j) => j.id), this.leaseSec, this.o.node],
    );
  }

  async deadLetter(job: QueueJob, reason: string): Promise<void> {
    await this.db().query(
      `WITH d AS (DELETE FROM spectrad_queue.jobs WHERE id = $1 RETURNING *)
       INSERT INTO spectrad_queue.dead (id, queue, topic, key, content_type, payload, attempts, enqueued_at, reason)
       SELECT id, queue, topic, key, content_type, payload, attempts, enqueued_at, $2 FROM d`,
      [job.id, reason],
    );
  }

  async depth(): Promise<number> {
    const { rows } = await this.db().query<{ n: string }>('SELECT count(*) AS n FROM spectrad_queue.jobs WHERE queue = $1', [this.queue]);
    return Number(rows[0].n);
  }

  async close(): Promise<void> {
    const pool = this.pool;
    const listener = this.listener;
    this.pool = undefined;
    this.listener = undefined;
    this.wakeAll();
    await listener?.end().catch(() => undefined);
    await pool?.end().catch(() => undefined);
  }

  private db(): pg.Pool {
    if (!this.pool) throw new Error('postgres queue: not connected');
    return this.pool;
  }

  private wakeAll(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

function jobOf(r: JobRow): QueueJob {
  return {
    id: String(r.id),
    topic: r.topic,
    payload: r.payload,
    attempts: r.attempts,
    ...(r.key ? { key: r.key } : {}),
    ...(r.content_type ? { contentType: r.content_type } : {}),
  };
}
