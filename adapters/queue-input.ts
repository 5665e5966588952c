/**
 * Queue input: takes spectra from a site work queue (adapters/work-queue.ts) that several daemons share. A job stays
 * leased to this node while the pipeline works on it (the lease is renewed every extendEveryMs) and is acknowledged
 * only after its result is committed to the store (RawInput.ackAfterResult), so a node killed at any moment leaves
 * every spectrum it had not finished in the queue, where another node takes it once the lease runs out.
 *
 * On a site, a ledger of finished jobs shared by every node (FinishedWorkLedger) is asked before a job enters the
 * pipeline and written before its ack, so a job another node finished (and died before its ack) is acknowledged
 * here, not identified a second time.
 *
 * A job delivered more than maxAttempts times (it killed or hung every node that took it) goes to the dead letters
 * instead of into the pipeline. A job the pipeline records as rejected (unreadable) is acknowledged: it is finished.
 */
import { createHash } from 'node:crypto';
import type { Observable } from 'rxjs';
import { isInstrumentName, type AdapterState } from '../core/messages.ts';
import { AdapterStateTracker, Backoff, InputSink } from './adapter-state.ts';
import { describeError } from './mqtt-common.ts';
import { sniffPayloadFormat } from './mqtt-input.ts';
import type { z } from 'zod';
import type { queueInputSchema } from '../config/schema.ts';
import type { InputAdapter, RawInput } from './types.ts';
import type { FinishedWorkLedger, QueueJob, WorkQueue } from './work-queue.ts';

/**
 * The queue input's options: the config's keys that concern the input (config/schema.ts `queueInputSchema`:
 * maxInFlight, maxAttempts, instrument, instrumentTopicLevel), as the YAML names them, plus the queue itself and what
 * only code passes.
 */
export interface QueueInputOptions extends Readonly<Pick<z.input<typeof queueInputSchema>, 'maxInFlight' | 'maxAttempts' | 'instrument' | 'instrumentTopicLevel'>> {
  readonly name: string;
  readonly queue: WorkQueue;
  /** How often the leases of unfinished jobs are renewed (default 2000 ms; keep it well under the lease). */
  readonly extendEveryMs?: number;
  /** Longest wait of one claim for new jobs (default 1000 ms). */
  readonly claimWaitMs?: number;
  /**
   * How long stop() waits for the pipeline to finish the jobs it has before handing the rest back (default 30 s): a
   * job handed back is taken by another node while this one's drain may still finish it (a duplicate), so the daemon
   * waits for its in-memory work (at most maxInFlight spectra) rather than stop fast.
   */
  readonly stopGraceMs?: number;
  /**
   * The site's ledger of finished jobs (absent: a node on its own): a job another node finished is acknowledged
   * unprocessed, and each job this node finishes is recorded there before it is acknowledged.
   */
  readonly ledger?: FinishedWorkLedger;
  /** Told about takeovers (attempts > 1) and dead letters, for the daemon's log. */
  readonly onEvent?: (event: QueueInputEvent) => void;
}

export type QueueInputEvent =
  | { readonly kind: 'redelivered'; readonly topic: string; readonly id: string; readonly attempts: number }
  | { readonly kind: 'dead-letter'; readonly topic: string; readonly id: string; readonly attempts: number; readonly reason: string }
  | { readonly kind: 'already-finished'; readonly topic: string; readonly id: string; readonly attempts: number; readonly by: string }
  | { readonly kind: 'error'; readonly action: string; readonly error: string };

export class QueueInput implements InputAdapter {
  readonly name: string;
  private readonly state: AdapterStateTracker;
  private readonly sink = new InputSink<RawInput>();
  private readonly inFlight = new Map<string, QueueJob>();
  private running = false;
  private pausedNow = false;
  private loop: Promise<void> | undefined;
  private extendTimer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private readonly maxInFlight: number;

  constructor(private readonly o: QueueInputOptions) {
    this.name = o.name;
    this.maxInFlight = o.maxInFlight ?? 64;
    this.state = new AdapterStateTracker(o.name, 'queue-in');
    if (!(this.maxInFlight >= 1)) throw new RangeError(`queue input ${o.name}: maxInFlight must be at least 1`);
  }

  get inputs$(): Observable<RawInput> {
    return this.sink.output$;
  }

  get state$(): Observable<AdapterState> {
    return this.state.state$;
  }

  /** Jobs leased to this node and not finished. */
  get unacked(): number {
    return this.inFlight.size;
  }

  pause(): void {
    this.pausedNow = true;
  }

  resume(): void {
    this.pausedNow = false;
    this.poke();
  }

  get paused(): boolean {
    return this.pausedNow;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.state.set('starting');
    this.loop = this.claimLoop();
    this.extendTimer = setInterval(() => void this.extendLeases(), this.o.extendEveryMs ?? 2000);
    // Up or down after the first connect attempt, like the MQTT input: the daemon goes on either way.
    await new Promise<void>((resolve) => {
      const sub = this.state.state$.subscribe((s) => {
        if (s.state === 'up' || s.state === 'down') {
          queueMicrotask(() => sub.unsubscribe());
          resolve();
        }
      });
    });
  }

  /**
   * Stops claiming, gives the pipeline up to stopGraceMs to finish the jobs it has, then hands the rest back to the
   * queue at once (nack) so other nodes need not wait for the lease to run out.
   */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.poke();
    await this.loop;
    const deadline = Date.now() + (this.o.stopGraceMs ?? 30_000);
    while (this.inFlight.size > 0 && Date.now() < deadline) await sleep(20);
    clearInterval(this.extendTimer);
    const left = [...this.inFlight.values()];
    this.inFlight.clear();
    await Promise.all(left.map((job) => this.o.queue.nack(job).catch(() => undefined)));
    await this.o.queue.close().catch(() => undefined);
    this.state.set('stopped');
    this.sink.complete();
  }

  private async claimLoop(): Promise<void> {
    const backoff = new Backoff({ initialMs: 250, maxMs: 5000 });
    let connected = false;
    while (this.running) {
      try {
        if (!connected) {
          await this.o.queue.connect();
          connected = true;
          this.state.set('up');
        }
        const room = this.maxInFlight - this.inFlight.size;
        if (room <= 0 || this.pausedNow) {
          await this.sleepUntilPoked(1000);
          continue;
        }
        const taking: Array<Promise<void>> = [];
        await this.o.queue.claim(room, this.o.claimWaitMs ?? 1000, (job) => taking.push(this.take(job)));
        this.state.set('up');
        backoff.reset();
        await Promise.all(taking);
      } catch (err) {
        const text = describeError(err);
        this.state.set('down', `${this.o.queue.engine}: ${text}`);
        this.o.onEvent?.({ kind: 'error', action: connected ? 'claim' : 'connect', error: text });
        await this.sleepUntilPoked(backoff.next());
      }
    }
  }

  private async take(job: QueueJob): Promise<void> {
    const maxAttempts = this.o.maxAttempts ?? 5;
    if (job.attempts > maxAttempts) {
      const reason = `delivered ${job.attempts} times without being finished (maxAttempts ${maxAttempts})`;
      this.o.onEvent?.({ kind: 'dead-letter', topic: job.topic, id: job.id, attempts: job.attempts, reason });
      await this.o.queue.deadLetter(job, reason);
      return;
    }
    if (!this.running) {
      await this.o.queue.nack(job);
      return;
    }
    // The publisher's key when it gave one; else the payload on its topic, as the MQTT input does (a republished
    // identical payload is taken for the same measurement: docs/ADAPTERS.md).
    const dedupKey = job.key ? `queue-key:${job.key}` : `queue:${job.topic}:${createHash('sha256').update(job.payload).digest('hex').slice(0, 32)}`;
    const ledger = this.o.ledger;
    this.inFlight.set(job.id, job);
    if (ledger) {
      // Another node may have finished it and died before its ack reached the queue: then it is done, not new work.
      // With the ledger unreachable the job is processed (at least once, as without a site).
      const by = await ledger.finishedBy(dedupKey).catch((err: unknown) => {
        this.o.onEvent?.({ kind: 'error', action: 'ledger check', error: describeError(err) });
        return undefined;
      });
      if (by !== undefined) {
        this.inFlight.delete(job.id);
        this.o.onEvent?.({ kind: 'already-finished', topic: job.topic, id: job.id, attempts: job.attempts, by });
        await this.o.queue.ack(job);
        this.poke();
        return;
      }
      if (!this.running) {
        this.inFlight.delete(job.id);
        await this.o.queue.nack(job);
        return;
      }
    }
    if (job.attempts > 1) this.o.onEvent?.({ kind: 'redelivered', topic: job.topic, id: job.id, attempts: job.attempts });
    const finish = async () => {
      if (!this.inFlight.has(job.id)) return;
      // Recorded on the site before the queue forgets it: a redelivery from here on finds it finished.
      if (ledger) await ledger.record(dedupKey).catch((err: unknown) => this.o.onEvent?.({ kind: 'error', action: 'ledger record', error: describeError(err) }));
      if (!this.inFlight.delete(job.id)) return;
      this.poke();
      await this.o.queue.ack(job);
    };
    const fromTopic = this.o.instrument === undefined && this.o.instrumentTopicLevel !== undefined ? job.topic.split('/')[this.o.instrumentTopicLevel] : undefined;
    const instrument = this.o.instrument ?? (fromTopic && isInstrumentName(fromTopic) ? fromTopic : undefined);
    this.sink.emit({
      adapter: this.name,
      source: job.topic,
      ...(instrument ? { instrument } : {}),
      receivedAt: new Date().toISOString(),
      formatHint: sniffPayloadFormat(job.payload, job.contentType),
      payload: job.payload,
      dedupKey,
      ackAfterResult: true,
      ack: finish,
      reject: finish,
    });
  }

  private async extendLeases(): Promise<void> {
    if (this.inFlight.size === 0) return;
    try {
      await this.o.queue.extend([...this.inFlight.values()]);
    } catch (err) {
      // A lease that runs out only means another node may process the job too (a duplicate, never a loss).
      this.o.onEvent?.({ kind: 'error', action: 'extend', error: describeError(err) });
    }
  }

  private poke(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private sleepUntilPoked(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      this.wake = done;
      function done() {
        clearTimeout(timer);
        resolve();
      }
    });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
