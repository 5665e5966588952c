import { Observable, Subject, merge, mergeMap, type SchedulerLike, type Subscription } from 'rxjs';
import { SpectrumInputError } from '../core/errors.ts';
import type { Identification } from '../core/identify/types.ts';
import type { AlertMessage, ResultMessage } from '../core/messages.ts';
import type { Spectrum, SpectrumWarning } from '../core/spectrum.ts';
import type { RawInput } from '../adapters/types.ts';
import type { PipelineDomain } from './domain.ts';
import { batchWorker } from './operators.ts';
import type { IngestCommit, PendingSpectrum, PipelineLogger, PipelineStore, ReceivedSpectrum } from './ports.ts';
import { StageTimes, type StageName, type StageTotal } from './stage-times.ts';

export interface SpectrumPipelineOptions {
  readonly store: PipelineStore;
  readonly domain: PipelineDomain;
  readonly batchSize: number;
  readonly windowMs: number;
  readonly queueBound: number;
  readonly ingestConcurrency: number;
  /** Instrument for inputs that name none. */
  readonly defaultInstrument: string;
  /** This daemon's node id, carried by every result and alert (left out when not given). */
  readonly node?: string;
  readonly newId: () => string;
  readonly log: PipelineLogger;
  /** Results and alerts are committed (and queued in the outbox): wake the outputs, tell live listeners. */
  readonly onCommitted?: (results: readonly ResultMessage[], alerts: readonly AlertMessage[]) => void;
  /** The in-memory queue is full (true) or has room again (false): pause or resume inputs that can. */
  readonly onPressure?: (high: boolean) => void;
  readonly now?: () => number;
  readonly scheduler?: SchedulerLike;
  /**
   * An input whose commit failed (disk full, store I/O error) is offered to the store again after a delay that
   * doubles from minMs to maxMs (default 500 ms .. 5 s: a re-parse is cheap, and a disk freed while nothing new arrives is noticed within 5 s); meanwhile it stays unacknowledged at its source.
   */
  readonly commitRetry?: { readonly minMs?: number; readonly maxMs?: number };
  /** Each commit of inputs succeeded (true) or failed on the store (false, with the error): the daemon's store health. */
  readonly onStoreOutcome?: (ok: boolean, err?: unknown) => void;
  /** Where stage durations are summed; the daemon shares one with its encoder and outputs. */
  readonly stageTimes?: StageTimes;
}

export interface PipelineStats {
  /** Spectra in memory awaiting or undergoing encoding. */
  readonly inMemory: number;
  /** Inputs being parsed, committed or acknowledged. */
  readonly ingesting: number;
  /** True while some committed spectra wait in the store only (the queue was full). */
  readonly spilled: boolean;
  readonly received: number;
  readonly identified: number;
  readonly rejected: number;
  readonly duplicates: number;
  /** True while the in-memory queue is at its bound and pausable inputs are paused. */
  readonly pressured: boolean;
  /** How many times the queue reached its bound (backpressure engaged). */
  readonly pressureEvents: number;
  /** Time per stage since start (parse, preprocess, commits, encode, identify, publish). */
  readonly stages: Partial<Record<StageName, StageTotal>>;
}

const ALERT_STATUSES = new Set(['unknown', 'low-confidence', 'rejected']);

/**
 * The live graph: inputs -> parse -> validate -> preprocess -> commit (then acknowledge the input) -> bounded
 * micro-batch queue -> encode + identify -> commit results (which queues them for every output) -> results$.
 *
 * Durability: a spectrum is in the store before its input is acknowledged, and it stays 'pending' until its result
 * is committed. The in-memory queue is only a cache of that pending set, so when it is full new spectra simply stay
 * in the store ("spilled") and are read back once the queue drains; a crash loses nothing, and at start the pending
 * set is read back the same way.
 */
export class SpectrumPipeline {
  private readonly input$ = new Subject<RawInput>();
  private readonly refill$ = new Subject<PendingSpectrum>();
  private readonly results = new Subject<ResultMessage>();
  /** Every result as committed, for live listeners (socket.io, tests). */
  readonly results$: Observable<ResultMessage> = this.results.asObservable();
  private readonly attached = new Set<Subscription>();
  private readonly memory = new Set<string>();
  /** Inputs acknowledged only after their results (RawInput.ackAfterResult): spectrum id -> its input's spectra left. */
  private readonly awaitingResults = new Map<string, { raw: RawInput; left: number }>();
  private graph?: Subscription;
  private finished?: Promise<void>;
  private draining = false;
  private spilled = false;
  private refillScheduled = false;
  private ingesting = 0;
  private commitGroup: Array<{ commit: IngestCommit; afterCommit: () => Promise<void>; resolve: (committed: boolean) => void }> = [];
  /** Inputs waiting to be offered to the store again, with how many times their commit failed. */
  private readonly retries = new Map<RawInput, { attempts: number; timer?: NodeJS.Timeout }>();
  private counters = { received: 0, identified: 0, rejected: 0, duplicates: 0, pressureEvents: 0 };
  private pressured = false;
  private readonly now: () => number;
  readonly stageTimes: StageTimes;

  constructor(private readonly o: SpectrumPipelineOptions) {
    this.now = o.now ?? Date.now;
    this.stageTimes = o.stageTimes ?? new StageTimes();
  }

  /** Subscribes the graph and reads back spectra left pending by an earlier run. */
  start(): void {
    if (this.graph) return;
    const accepted$ = this.input$.pipe(mergeMap((raw) => this.ingest(raw), this.o.ingestConcurrency));
    this.finished = new Promise<void>((resolve) => {
      this.graph = merge(accepted$, this.refill$)
        .pipe(
          batchWorker((batch: PendingSpectrum[]) => this.identifyBatch(batch), {
            maxSize: this.o.batchSize,
            windowMs: this.o.windowMs,
            bound: this.o.queueBound,
            scheduler: this.o.scheduler,
            onOverflow: (p) => {
              // Already committed as pending: dropping it from memory loses nothing; it is read back on idle.
              this.memory.delete(p.id);
              this.spilled = true;
            },
            onPressure: (high) => {
              this.pressured = high;
              if (high) this.counters.pressureEvents++;
              this.o.log.info({ high, queueBound: this.o.queueBound }, high ? 'queue full: backpressure on inputs' : 'queue has room again');
              this.o.onPressure?.(high);
            },
            onIdle: () => this.scheduleRefill(),
          }),
        )
        .subscribe({
          next: (r) => this.results.next(r),
          error: (err: unknown) => {
            // batchWorker only errors on a bug (no overflow handler); never leave the daemon half-alive silently.
            this.o.log.error({ err }, 'pipeline stopped by an unexpected error');
            resolve();
          },
          complete: () => resolve(),
        });
    });
    this.spilled = true;
    this.scheduleRefill();
  }

  /** Feeds an input adapter's stream into the graph. */
  attach(source: Observable<RawInput>, name = 'input'): void {
    const sub = source.subscribe({
      next: (raw) => {
        if (this.draining) {
          // Not acknowledged: the source keeps it (file stays, MQTT redelivers) for the next run.
          this.o.log.warn({ adapter: raw.adapter, source: raw.source }, 'input arrived while draining: left at its source');
          return;
        }
        this.input$.next(raw);
      },
      error: (err: unknown) => this.o.log.error({ err, adapter: name }, 'input stream failed; other inputs go on'),
    });
    this.attached.add(sub);
  }

  stats(): PipelineStats {
    return { inMemory: this.memory.size, ingesting: this.ingesting, spilled: this.spilled, pressured: this.pressured, ...this.counters, stages: this.stageTimes.snapshot() };
  }

  /**
   * Stops taking inputs, finishes every input already taken (committed, acknowledged) and every spectrum in memory
   * (identified, committed, queued for outputs), then resolves. Spilled spectra stay pending for the next start.
   */
  async drain(): Promise<void> {
    this.draining = true;
    for (const s of this.attached) s.unsubscribe();
    this.attached.clear();
    // Inputs waiting to retry their commit stay unacknowledged at their source for the next run.
    for (const r of this.retries.values()) clearTimeout(r.timer);
    this.retries.clear();
    this.input$.complete();
    this.refill$.complete();
    await this.finished;
    this.results.complete();
  }

  // ---- ingest --------------------------------------------------------------------------------------------------

  /** Parse, validate, preprocess and commit one input, then acknowledge it; emits the spectra it accepted. */
  private ingest(raw: RawInput): Observable<PendingSpectrum> {
    return new Observable<PendingSpectrum>((subscriber) => {
      this.ingesting++;
      let settle: Promise<void> = Promise.resolve();
      try {
        const seen = raw.dedupKey ? this.o.store.ledgerOutcome(raw.dedupKey) : undefined;
        if (seen) {
          this.counters.duplicates++;
          this.o.log.debug({ adapter: raw.adapter, source: raw.source, key: raw.dedupKey, seen }, 'already recorded: acknowledged again, not processed');
          settle = seen === 'processed' ? raw.ack() : raw.reject('already recorded as failed');
        } else {
          settle = this.ingestNew(raw, (p) => subscriber.next(p)).then((committed) => {
            if (committed) this.retries.delete(raw);
            else this.retryLater(raw);
          });
        }
      } catch (err) {
        // Only a store failure gets here (bad input is recorded as rejected): leave the input unacknowledged.
        this.o.log.error({ err, adapter: raw.adapter, source: raw.source }, 'could not record input; left at its source to retry');
        this.o.onStoreOutcome?.(false, err);
        this.retryLater(raw);
        settle = Promise.resolve();
      }
      settle
        .catch((err: unknown) => this.o.log.warn({ err, adapter: raw.adapter, source: raw.source }, 'acknowledging the input failed (it is recorded)'))
        .finally(() => {
          this.ingesting--;
          subscriber.complete();
        });
    });
  }

  /**
   * Offers an input whose commit failed to the store again later (nothing of it was recorded, so it is parsed again).
   * Not while draining: then it simply stays unacknowledged at its source for the next run.
   */
  private retryLater(raw: RawInput): void {
    if (this.draining) return;
    const attempts = (this.retries.get(raw)?.attempts ?? 0) + 1;
    const min = this.o.commitRetry?.minMs ?? 500;
    const delay = Math.min(this.o.commitRetry?.maxMs ?? 5000, min * 2 ** (attempts - 1));
    const entry: { attempts: number; timer?: NodeJS.Timeout } = { attempts };
    entry.timer = setTimeout(() => this.offerAgain(raw, entry), delay);
    this.retries.set(raw, entry);
  }

  private offerAgain(raw: RawInput, entry: { timer?: NodeJS.Timeout }): void {
    entry.timer = undefined;
    if (!this.draining) this.input$.next(raw);
  }

  /** The store took a commit again: inputs still waiting out their backoff need not wait any longer. */
  private retryWaitingNow(): void {
    for (const [raw, entry] of this.retries) {
      if (!entry.timer) continue; // already being offered
      clearTimeout(entry.timer);
      entry.timer = setTimeout(() => this.offerAgain(raw, entry), 0);
    }
  }

  /** Commits synchronously; resolves once acknowledged (true), or false when the store refused the commit. */
  private ingestNew(raw: RawInput, accept: (p: PendingSpectrum) => void): Promise<boolean> {
    const arrived = Date.parse(raw.receivedAt);
    const spectra: ReceivedSpectrum[] = [];
    const pending: PendingSpectrum[] = [];
    const results: ResultMessage[] = [];
    const alerts: AlertMessage[] = [];
    const base = {
      adapter: raw.adapter,
      source: raw.source,
      receivedAt: raw.receivedAt,
      formatHint: raw.formatHint,
      raw: raw.payload,
    };
    const reject = (id: string, block: number, instrument: string, error: SpectrumInputError | Error, title?: string) => {
      const code = error instanceof SpectrumInputError ? error.code : 'internal-error';
      spectra.push({ ...base, id, block, instrument, title, dedupKey: raw.dedupKey ? `${raw.dedupKey}#${block}` : undefined });
      const result = this.resultOf({ id, instrument, source: raw.source, receivedAt: raw.receivedAt }, arrived, { code, message: error.message });
      results.push(result);
      alerts.push(this.alertOf(result)!);
    };

    let parts: Array<{ block: number; spectrum?: Spectrum; error?: Error }>;
    try {
      parts = this.stageTimes.time('parse', 1, () => this.o.domain.parse(raw));
    } catch (err) {
      if (!(err instanceof SpectrumInputError)) this.o.log.error({ err, source: raw.source }, 'parser fault (recorded as rejected)');
      parts = [{ block: 0, error: err instanceof Error ? err : new Error(String(err)) }];
    }
    if (parts.length === 0) parts = [{ block: 0, error: new SpectrumInputError('no-spectrum', 'the input holds no spectrum') }];
    for (const part of parts) {
      const id = this.o.newId();
      const instrument = instrumentName(raw.instrument ?? part.spectrum?.meta.instrument ?? this.o.defaultInstrument);
      if (!part.spectrum) {
        reject(id, part.block, instrument, part.error ?? new SpectrumInputError('unreadable', 'the block could not be read'));
        continue;
      }
      let vector: Float32Array;
      try {
        const spectrum = part.spectrum;
        vector = this.stageTimes.time('preprocess', 1, () => this.o.domain.preprocess(spectrum));
      } catch (err) {
        if (!(err instanceof SpectrumInputError)) this.o.log.error({ err, source: raw.source }, 'preprocessing fault (recorded as rejected)');
        reject(id, part.block, instrument, err instanceof Error ? err : new Error(String(err)), part.spectrum.meta.title);
        continue;
      }
      spectra.push({
        ...base,
        id,
        block: part.block,
        instrument,
        title: part.spectrum.meta.title,
        preprocessed: vector,
        dedupKey: raw.dedupKey ? `${raw.dedupKey}#${part.block}` : undefined,
      });
      const warnings = part.spectrum.meta.warnings;
      pending.push({ id, instrument, source: raw.source, receivedAt: raw.receivedAt, vector, ...(warnings?.length ? { warnings } : {}) });
    }

    const outcome = pending.length > 0 ? 'processed' : 'failed';
    const commit = { spectra, results, alerts, ledger: raw.dedupKey ? { key: raw.dedupKey, outcome, source: raw.source } as const : undefined };
    return this.groupCommit(commit, () => {
      // Committed: from here on nothing of this input can be lost, so it may be acknowledged.
      this.counters.received += spectra.length;
      this.counters.rejected += results.length;
      if (results.length > 0) {
        this.o.onCommitted?.(results, alerts);
        for (const r of results) this.results.next(r);
      }
      for (const p of pending) {
        this.memory.add(p.id);
        accept(p);
      }
      const reason = results.map((r) => r.error?.message).join('; ');
      if (outcome === 'processed' && raw.ackAfterResult) {
        this.ackWhenIdentified(raw, pending);
        return Promise.resolve();
      }
      return outcome === 'processed' ? raw.ack() : raw.reject(reason);
    });
  }

  /**
   * Inputs parsed in the same turn of the event loop are committed in one transaction: with synchronous=FULL each
   * commit is an fsync, so grouping is what lets the store keep up under load. If the group fails (a duplicate key
   * raced in, the disk is full) each input is retried alone, so one bad input never blocks the others. An input
   * whose commit fails is not acknowledged: it stays at its source for the next attempt.
   */
  private groupCommit(commit: IngestCommit, afterCommit: () => Promise<void>): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      this.commitGroup.push({ commit, afterCommit, resolve });
      if (this.commitGroup.length === 1) setImmediate(() => this.flushCommitGroup());
    });
  }

  private flushCommitGroup(): void {
    const group = this.commitGroup;
    this.commitGroup = [];
    const done = (entry: (typeof group)[number]) =>
      entry
        .afterCommit()
        .catch((err: unknown) => this.o.log.warn({ err }, 'acknowledging the input failed (it is recorded)'))
        .finally(() => entry.resolve(true));
    try {
      this.stageTimes.time('commitIngest', group.length, () => {
        if (group.length > 1 && this.o.store.commitIngestMany) this.o.store.commitIngestMany(group.map((g) => g.commit));
        else for (const g of group) this.o.store.commitIngest(g.commit);
      });
      this.o.onStoreOutcome?.(true);
      if (this.retries.size > 0) this.retryWaitingNow();
      group.forEach(done);
      return;
    } catch (err) {
      if (group.length === 1) {
        this.o.log.error({ err, source: group[0].commit.spectra[0]?.source }, 'could not record input; left at its source to retry');
        this.o.onStoreOutcome?.(false, err);
        group[0].resolve(false);
        return;
      }
    }
    for (const g of group) {
      try {
        this.o.store.commitIngest(g.commit);
      } catch (err) {
        this.o.log.error({ err, source: g.commit.spectra[0]?.source }, 'could not record input; left at its source to retry');
        this.o.onStoreOutcome?.(false, err);
        g.resolve(false);
        continue;
      }
      this.o.onStoreOutcome?.(true);
      if (this.retries.size > 0) this.retryWaitingNow();
      void done(g);
    }
  }

  // ---- identify ------------------------------------------------------------------------------------------------

  private async identifyBatch(batch: PendingSpectrum[]): Promise<ResultMessage[]> {
    let answers: Array<Identification | Error>;
    try {
      answers = await this.stageTimes.timeAsync('identify', batch.length, () => this.o.domain.identify(batch.map((p) => p.vector)));
      if (answers.length !== batch.length) throw new Error(`identify returned ${answers.length} answers for ${batch.length} spectra`);
    } catch (err) {
      if (batch.length === 1) answers = [err instanceof Error ? err : new Error(String(err))];
      else {
        // One spectrum must not fail its neighbours: retry one by one so only the culprit is rejected.
        this.o.log.warn({ err, batch: batch.length }, 'batch identification failed; retrying spectra one by one');
        answers = [];
        for (const p of batch) {
          try {
            answers.push((await this.o.domain.identify([p.vector]))[0]);
          } catch (one) {
            answers.push(one instanceof Error ? one : new Error(String(one)));
          }
        }
      }
    }
    const results: ResultMessage[] = [];
    const alerts: AlertMessage[] = [];
    batch.forEach((p, i) => {
      const a = answers[i];
      const arrived = Date.parse(p.receivedAt);
      const result =
        a instanceof Error
          ? this.resultOf(p, arrived, { code: a instanceof SpectrumInputError ? a.code : 'identify-failed', message: a.message })
          : this.resultOf(p, arrived, undefined, a);
      results.push(result);
      const alert = this.alertOf(result);
      if (alert) alerts.push(alert);
    });
    try {
      this.stageTimes.time('commitResults', results.length, () => this.o.store.commitResults(results, alerts));
      this.o.onStoreOutcome?.(true);
    } catch (err) {
      // Nothing published: the spectra stay pending in the store and are read back later.
      this.o.log.error({ err, batch: batch.length }, 'could not record results; they will be retried');
      this.o.onStoreOutcome?.(false, err);
      for (const p of batch) this.memory.delete(p.id);
      this.spilled = true;
      this.scheduleRefill(1000);
      return [];
    }
    for (const p of batch) this.memory.delete(p.id);
    this.ackIdentified(batch);
    for (const r of results) {
      if (r.status === 'rejected') this.counters.rejected++;
      else this.counters.identified++;
    }
    this.o.onCommitted?.(results, alerts);
    return results;
  }

  private ackWhenIdentified(raw: RawInput, pending: readonly PendingSpectrum[]): void {
    const entry = { raw, left: pending.length };
    for (const p of pending) this.awaitingResults.set(p.id, entry);
  }

  /** Results committed: acknowledge the inputs (ackAfterResult) whose every spectrum now has one. */
  private ackIdentified(batch: readonly PendingSpectrum[]): void {
    for (const p of batch) {
      const entry = this.awaitingResults.get(p.id);
      if (!entry) continue;
      this.awaitingResults.delete(p.id);
      if (--entry.left > 0) continue;
      entry.raw
        .ack()
        .catch((err: unknown) => this.o.log.warn({ err, adapter: entry.raw.adapter, source: entry.raw.source }, 'acknowledging the input failed (its result is recorded)'));
    }
  }

  private resultOf(
    p: { id: string; instrument: string; source: string; receivedAt: string; warnings?: readonly SpectrumWarning[] },
    arrived: number,
    error?: { code: string; message: string },
    answer?: Identification,
  ): ResultMessage {
    const latencyMs = Number.isFinite(arrived) ? Math.max(0, this.now() - arrived) : 0;
    const base = {
      id: p.id,
      instrument: p.instrument,
      source: p.source,
      receivedAt: p.receivedAt,
      ...(p.warnings?.length ? { warnings: p.warnings } : {}),
      latencyMs,
      modelVersion: this.o.domain.modelVersion,
      ...(this.o.node !== undefined ? { node: this.o.node } : {}),
    };
    if (error || !answer) return { ...base, status: 'rejected', score: 0, candidates: [], error: error ?? { code: 'no-answer', message: 'no identification' } };
    return {
      ...base,
      status: answer.status,
      ...(answer.class !== undefined ? { class: answer.class } : {}),
      score: answer.score,
      candidates: answer.candidates,
      ...(answer.components ? { components: answer.components } : {}),
      ...(answer.unknownComponent !== undefined ? { unknownComponent: answer.unknownComponent } : {}),
      ...(answer.fitQuality !== undefined ? { fitQuality: answer.fitQuality } : {}),
      ...(answer.decidedBy ? { decidedBy: answer.decidedBy } : {}),
      ...(answer.predictionSet ? { predictionSet: answer.predictionSet, coverage: answer.coverage } : {}),
    };
  }

  private alertOf(r: ResultMessage): AlertMessage | undefined {
    const unknownPart = r.status === 'mixture' && r.unknownComponent;
    if (!ALERT_STATUSES.has(r.status) && !unknownPart) return undefined;
    const kind = r.status === 'rejected' ? 'rejected' : r.status === 'low-confidence' ? 'low-confidence' : 'unknown';
    // Read by operators (dashboard, MQTT, chat bridges): the file's name rather than a server path, words not scores.
    const file = sourceName(r.source);
    const message =
      r.status === 'rejected'
        ? `Could not read ${file}: ${r.error?.message ?? 'unreadable'}`
        : r.status === 'low-confidence'
          ? `${file}: probably ${r.class ?? 'unknown'}, but the match is weak`
          : unknownPart
            ? `${file}: a mixture with a component the library does not hold`
            : `${file}: not in the library${r.candidates[0]?.class ? ` (closest: ${r.candidates[0].class})` : ''}`;
    return {
      id: this.o.newId(), kind, instrument: r.instrument, at: new Date(this.now()).toISOString(), message, resultId: r.id,
      ...(this.o.node !== undefined ? { node: this.o.node } : {}),
    };
  }

  // ---- backlog -------------------------------------------------------------------------------------------------

  private scheduleRefill(delayMs = 0): void {
    if (!this.spilled || this.refillScheduled || this.draining) return;
    this.refillScheduled = true;
    // Asynchronous: onIdle fires inside the worker's completion, which must not be re-entered.
    setTimeout(() => {
      this.refillScheduled = false;
      if (this.draining || !this.spilled) return;
      let backlog: PendingSpectrum[];
      try {
        backlog = this.o.store.pending(this.o.queueBound, this.memory);
      } catch (err) {
        this.o.log.error({ err }, 'could not read the pending backlog');
        return;
      }
      // A full read may have left more behind: read again at the next idle.
      this.spilled = backlog.length >= this.o.queueBound;
      if (backlog.length > 0) this.o.log.info({ count: backlog.length }, 'reading back pending spectra from the store');
      for (const p of backlog) {
        this.memory.add(p.id);
        this.refill$.next(p);
      }
    }, delayMs);
  }
}

/** Instrument names become MQTT topic segments: keep them to safe characters. */
export function instrumentName(raw: string): string {
  const safe = raw.trim().replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 64);
  return safe || 'default';
}

/** A folder input's source is a server path: its last part names the file; other sources (topics, ports) stay whole. */
function sourceName(source: string): string {
  return /^(?:[A-Za-z]:)?[\\/]/.test(source) ? (source.split(/[\\/]/).pop() || source) : source;
}
