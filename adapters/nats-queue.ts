/**
 * The site work queue on NATS JetStream: a work-queue stream (each message is removed once acknowledged) with one
 * durable pull consumer that every daemon of the site shares. A message delivered to a node stays pending for
 * `leaseMs` unless the node acknowledges it, says it is still working on it (extend) or hands it back (nack); a
 * node that dies leaves its messages to be delivered again to the others once that time is up.
 *
 * Instruments publish either with a NATS client (subject `spectrad.<instrument>.spectrum`; a `Nats-Msg-Id` header
 * makes republishing within the stream's duplicate window harmless) or over MQTT to nats-server's MQTT listener
 * (topic `spectrad/<instrument>/spectrum`, QoS 1), which the stream captures: no daemon sits between an instrument
 * and the queue, so no daemon's death can lose an accepted spectrum.
 */
import { AckPolicy, DiscardPolicy, RetentionPolicy, StorageType, connect, headers, nanos, type Consumer, type JetStreamClient, type JetStreamManager, type JsMsg, type NatsConnection } from 'nats';
import type { z } from 'zod';
import type { queueInputSchema } from '../config/schema.ts';
import type { NewJob, QueueJob, WorkQueue } from './work-queue.ts';

/**
 * The queue's connection and stream: the queue input's config keys that concern NATS (config/schema.ts
 * `queueInputSchema`: url, stream, subjects, replicas, consumer, leaseMs, deadLetterPrefix, username, password), as the
 * YAML names them, with the schema's defaults when absent. Dead letters go to a second stream `<stream>_DEAD`,
 * subjects `<deadLetterPrefix>.<stream>.<original subject>`.
 */
export interface NatsQueueOptions
  extends Readonly<Pick<z.input<typeof queueInputSchema>, 'url' | 'username' | 'password' | 'stream' | 'consumer' | 'leaseMs' | 'deadLetterPrefix' | 'replicas'>> {
  /** Subjects the stream captures (default `spectrad.*.spectrum`, i.e. MQTT topics `spectrad/<instrument>/spectrum`). */
  readonly subjects?: readonly string[];
  readonly token?: string;
  /** Name of this connection as the server shows it (the node id). */
  readonly clientName?: string;
}

export class NatsQueue implements WorkQueue {
  readonly engine = 'nats';
  private nc: NatsConnection | undefined;
  private js: JetStreamClient | undefined;
  private jsm: JetStreamManager | undefined;
  /** Delivered and not yet settled, by stream sequence: ack/nack/extend go through the message itself. */
  private readonly delivered = new Map<string, JsMsg>();
  private pull: Consumer | undefined;
  private readonly stream: string;
  private readonly consumer: string;

  constructor(private readonly o: NatsQueueOptions) {
    this.stream = o.stream ?? 'SPECTRAD';
    this.consumer = o.consumer ?? 'spectrad';
  }

  async connect(): Promise<void> {
    if (this.nc && !this.nc.isClosed()) return;
    const o = this.o;
    const nc = await connect({
      servers: o.url.split(',').map((s) => s.trim()),
      name: o.clientName,
      maxReconnectAttempts: -1,
      ...(o.username !== undefined ? { user: o.username, pass: o.password } : {}),
      ...(o.token !== undefined ? { token: o.token } : {}),
    });
    try {
      await this.prepare(nc);
    } catch (err) {
      await nc.close().catch(() => undefined); // each retry would otherwise leave a connection behind
      throw err;
    }
  }

  private async prepare(nc: NatsConnection): Promise<void> {
    const o = this.o;
    const jsm = await nc.jetstreamManager();
    await ensureStream(jsm, {
      name: this.stream,
      subjects: [...(o.subjects ?? ['spectrad.*.spectrum'])],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      duplicate_window: nanos(120_000),
      num_replicas: o.replicas ?? 1,
    });
    await ensureStream(jsm, {
      name: `${this.stream}_DEAD`,
      subjects: [`${this.deadPrefix}.${this.stream}.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_age: nanos(30 * 24 * 3600 * 1000),
      discard: DiscardPolicy.Old,
      num_replicas: o.replicas ?? 1,
    });
    const consumerConfig = {
      durable_name: this.consumer,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(o.leaseMs ?? 10_000),
      // Dead letters are the queue input's decision (maxAttempts): the server keeps delivering until then.
      max_deliver: -1,
      max_ack_pending: 20_000,
    };
    try {
      await jsm.consumers.add(this.stream, consumerConfig);
    } catch {
      // Exists already (another node made it): take its settings from this node's config.
      await jsm.consumers.update(this.stream, this.consumer, { ack_wait: consumerConfig.ack_wait, max_ack_pending: consumerConfig.max_ack_pending });
    }
    this.nc = nc;
    this.jsm = jsm;
    this.js = nc.jetstream();
  }

  async enqueue(job: NewJob): Promise<void> {
    const h = headers();
    if (job.contentType) h.set('Content-Type', job.contentType);
    const data = typeof job.payload === 'string' ? Buffer.from(job.payload) : job.payload;
    await this.jsClient().publish(subjectOf(job.topic), data, { headers: h, ...(job.key ? { msgID: job.key } : {}) });
  }

  async claim(max: number, waitMs: number, onJob?: (job: QueueJob) => void): Promise<QueueJob[]> {
    const js = this.jsClient();
    const out: QueueJob[] = [];
    const take = (m: JsMsg) => {
      const job = this.track(m);
      out.push(job);
      onJob?.(job);
    };
    // One pull that the server holds open for waitMs (at least 1 s, JetStream's shortest) and ends itself (status
    // 408): jobs are handed over as they arrive. Not a no-wait pull: nats-server 2.9 keeps such a request waiting
    // for the rest of its batch after the client has read what was there, and the jobs it takes later go to an
    // inbox nobody reads, coming back only after the ack wait (measured: up to 150 jobs held 10 s each).
    this.pull ??= await js.consumers.get(this.stream, this.consumer);
    for await (const m of await this.pull.fetch({ max_messages: max, expires: Math.max(1000, waitMs) })) take(m);
    return out;
  }

  async ack(job: QueueJob): Promise<void> {
    const m = this.delivered.get(job.id);
    if (!m) return;
    this.delivered.delete(job.id);
    // Confirmed by the server: an ack lost on the way would mean a duplicate on another node.
    await m.ackAck({ timeout: 5000 });
  }

  async nack(job: QueueJob, delayMs = 0): Promise<void> {
    const m = this.delivered.get(job.id);
    if (!m) return;
    this.delivered.delete(job.id);
    m.nak(delayMs);
  }

  async extend(jobs: readonly QueueJob[]): Promise<void> {
    for (const job of jobs) this.delivered.get(job.id)?.working();
    await this.nc?.flush();
  }

  async deadLetter(job: QueueJob, reason: string): Promise<void> {
    const m = this.delivered.get(job.id);
    const h = headers();
    h.set('Spectrad-Reason', reason);
    h.set('Spectrad-Subject', subjectOf(job.topic));
    h.set('Spectrad-Attempts', String(job.attempts));
    if (job.contentType) h.set('Content-Type', job.contentType);
    await this.jsClient().publish(`${this.deadPrefix}.${this.stream}.${subjectOf(job.topic)}`, job.payload, { headers: h });
    if (m) {
      this.delivered.delete(job.id);
      // An ack, not a term: a work-queue stream removes only acknowledged messages (and nats-server 2.9 ignores a
      // term that carries a reason); the copy is safe in the dead-letter stream by now.
      await m.ackAck({ timeout: 5000 });
    }
  }

  async depth(): Promise<number> {
    if (!this.jsm) throw new Error('nats queue: not connected');
    return (await this.jsm.streams.info(this.stream)).state.messages;
  }

  async close(): Promise<void> {
    const nc = this.nc;
    this.nc = undefined;
    this.pull = undefined;
    this.delivered.clear();
    if (nc && !nc.isClosed()) await nc.drain().catch(() => nc.close());
  }

  private get deadPrefix(): string {
    return this.o.deadLetterPrefix ?? 'spectrad-dead';
  }

  private jsClient(): JetStreamClient {
    if (!this.js || !this.nc || this.nc.isClosed()) throw new Error('nats queue: not connected');
    return this.js;
  }

  private track(m: JsMsg): QueueJob {
    const id = String(m.seq);
    this.delivered.set(id, m);
    const contentType = m.headers?.get('Content-Type') || undefined;
    const key = m.headers?.get('Nats-Msg-Id') || undefined;
    return {
      id,
      topic: topicOf(m.subject),
      payload: Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength),
      attempts: m.info.redeliveryCount,
      ...(key ? { key } : {}),
      ...(contentType ? { contentType } : {}),
    };
  }
}

type StreamConfigIn = Parameters<JetStreamManager['streams']['add']>[0];

async function ensureStream(jsm: JetStreamManager, config: StreamConfigIn): Promise<void> {
  try {
    await jsm.streams.info(config.name!);
  } catch {
    await jsm.streams.add(config);
  }
}

/** MQTT topic -> NATS subject, as nats-server's MQTT listener maps them (`/` -> `.`, a `.` inside a level -> `//`). */
export function subjectOf(topic: string): string {
  return topic.replace(/[./]/g, (c) => (c === '/' ? '.' : '//'));
}

/** NATS subject -> MQTT topic (the inverse of subjectOf). */
export function topicOf(subject: string): string {
  return subject.replace(/\/\/|\./g, (c) => (c === '.' ? '/' : '.'));
}
