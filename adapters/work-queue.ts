/**
 * A site work queue: spectra wait in a server (not in any daemon) until some daemon has stored a result for them.
 * Every engine behind this interface gives the same contract, so the daemon's queue input does not care which:
 *
 * - claim() leases jobs to this node for a while (NATS JetStream: ack wait; PostgreSQL: a visibility timeout); a job
 *   whose lease runs out (its node died, hung or lost the server) is handed to another node.
 * - extend() renews the leases of jobs still being worked on; ack() removes a job for good; nack() hands it back.
 * - attempts counts deliveries, so a job that kills every node that takes it (a poison spectrum) can be moved to the
 *   dead letters after a few tries instead of going round for ever.
 *
 * Delivery is at least once: a node that dies after storing a result and before its ack reaches the server leaves a
 * job that another node processes again; the store's dedupKey ledger recognises a redelivery on the same node.
 */
export interface QueueJob {
  /** The engine's own id (JetStream stream sequence, PostgreSQL row id). */
  readonly id: string;
  /** Where it was published, as an MQTT-style topic (`spectrad/<instrument>/spectrum`). */
  readonly topic: string;
  readonly payload: Buffer;
  /** The publisher's idempotency key (JetStream `Nats-Msg-Id`, the PostgreSQL `key` column), when it gave one. */
  readonly key?: string;
  readonly contentType?: string;
  /** 1 on the first delivery, 2 on the first redelivery, ... */
  readonly attempts: number;
}

export interface NewJob {
  readonly topic: string;
  readonly payload: Buffer | Uint8Array | string;
  readonly key?: string;
  readonly contentType?: string;
}

export interface WorkQueue {
  /** 'nats' or 'postgres', for logs and state. */
  readonly engine: string;
  /** Connects and creates what the queue needs on the server (idempotent). */
  connect(): Promise<void>;
  /** Resolves once the server holds the job durably (JetStream PubAck, PostgreSQL commit). */
  enqueue(job: NewJob): Promise<void>;
  /**
   * Up to max jobs leased to this node, waiting up to waitMs for them. Each job is also given to onJob as soon as it
   * arrives (a pull that stays open for waitMs hands jobs over while it waits); the promise resolves with all of them.
   */
  claim(max: number, waitMs: number, onJob?: (job: QueueJob) => void): Promise<QueueJob[]>;
  ack(job: QueueJob): Promise<void>;
  /** Hands a job back: another node (or this one) may take it after delayMs. */
  nack(job: QueueJob, delayMs?: number): Promise<void>;
  /** Renews the leases of jobs still being worked on. */
  extend(jobs: readonly QueueJob[]): Promise<void>;
  /** Moves a job out of the queue into the dead letters, with the reason. */
  deadLetter(job: QueueJob, reason: string): Promise<void>;
  /** Jobs waiting or leased (for health and benchmarks). */
  depth(): Promise<number>;
  close(): Promise<void>;
}

/**
 * The site's record of finished queue jobs by idempotency key (daemon/site/work-ledger.ts on PostgreSQL), shared by
 * every node: a job redelivered after a node finished it (killed after recording it, before its queue ack arrived;
 * or a lease that ran out on a slow node) is acknowledged by the node it reaches instead of being identified again.
 */
export interface FinishedWorkLedger {
  /** The node that finished `key`, or undefined when none has. */
  finishedBy(key: string): Promise<string | undefined>;
  /** Records `key` as finished by this node (idempotent); called after the result is committed, before the queue ack. */
  record(key: string): Promise<void>;
}
