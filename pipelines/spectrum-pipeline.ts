import { AcksAfterResult } from './acks-after-result.ts';
import { Observable, Subject, merge, mergeMap, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import type { AlertMessage, ResultMessage } from '../core/messages.ts';
import type { RawInput } from '../adapters/types.ts';
import { CommitRetries } from './commit-retries.ts';
import type { PipelineDomain } from './domain.ts';
import { GroupCommit } from './group-commit.ts';
import { DecisionLane, identifyAndCommit, type IdentifyAndCommitDeps } from './identify-and-commit.ts';
import { IngestInput } from './ingest-input.ts';
import { batchWorker } from './operators.ts';
import { PendingBacklog } from './pending-backlog.ts';
import { newCounters } from './pipeline-counters.ts';
import type { PendingSpectrum, PipelineLogger, PipelineStore, ResultArbiter } from './ports.ts';
import { ResultMessages } from './result-messages.ts';
import { StageTimes, type StageName, type StageTotal } from './stage-times.ts';

export { instrumentName } from './result-messages.ts';

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
  /** On a site with a shared work queue: whose result counts for each spectrum (pipelines/ports.ts ResultArbiter). */
  readonly arbiter?: () => ResultArbiter | undefined;
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

/**
 * The live graph, top to bottom:
 *
 *   inputs (attach) -> ingest: ledger, parse, validate, preprocess, group commit, acknowledge (ingest-input.ts)
 *     + spectra read back from the store (pending-backlog.ts)
 *     -> bounded micro-batch queue (operators.ts batchWorker) -> encode + identify, commit results (identify-and-commit.ts)
 *     -> results$
 *
 * Durability: a spectrum is in the store before its input is acknowledged, and it stays 'pending' until its result
 * is committed. The in-memory queue is only a cache of that pending set, so when it is full new spectra simply stay
 * in the store ("spilled") and are read back once the queue drains; a crash loses nothing, and at start the pending
 * set is read back the same way.
 */
export class SpectrumPipeline {
  private readonly input$ = new Subject<RawInput>();
  private readonly results = new Subject<ResultMessage>();
  /** Every result as committed, for live listeners (socket.io, tests). */
  readonly results$: Observable<ResultMessage> = this.results.asObservable();
  readonly stageTimes: StageTimes;
  private readonly attached = new Set<Subscription>();
  private readonly counters = newCounters();
  private readonly backlog: PendingBacklog;
  private readonly retries: CommitRetries;
  private readonly ingestStage: IngestInput;
  private readonly identifyDeps: IdentifyAndCommitDeps;
  /** On a site: micro-batches whose decision and commit run behind identification. */
  private readonly decisions = new DecisionLane((r) => this.results.next(r));
  private graph?: Subscription;
  private finished?: Promise<void>;
  private draining = false;
  private pressured = false;

  constructor(private readonly o: SpectrumPipelineOptions) {
    const { store, log, domain } = o;
    this.stageTimes = o.stageTimes ?? new StageTimes();
    const stageTimes = this.stageTimes;
    const isDraining = () => this.draining;
    const messages = new ResultMessages({ domain, newId: o.newId, node: o.node, now: o.now ?? Date.now });
    this.backlog = new PendingBacklog({ store, queueBound: o.queueBound, log, isDraining });
    this.retries = new CommitRetries({ ...o.commitRetry, isDraining, offer: (raw) => this.input$.next(raw) });
    const acksAfterResult = new AcksAfterResult(log);
    const commits = new GroupCommit({ store, stageTimes, log, onStoreOutcome: o.onStoreOutcome, onStoreTookCommit: () => this.retries.storeRecovered() });
    this.ingestStage = new IngestInput({
      store, log, commits, retries: this.retries, backlog: this.backlog, counters: this.counters, acksAfterResult,
      read: { domain, messages, stageTimes, log, newId: o.newId, defaultInstrument: o.defaultInstrument },
      onCommitted: o.onCommitted, onStoreOutcome: o.onStoreOutcome,
      publish: (r) => this.results.next(r),
    });
    this.identifyDeps = {
      domain, store, messages, stageTimes, log, backlog: this.backlog, counters: this.counters, acksAfterResult,
      onCommitted: o.onCommitted, onStoreOutcome: o.onStoreOutcome, arbiter: o.arbiter, decisions: this.decisions,
    };
  }

  /** Subscribes the graph and reads back spectra left pending by an earlier run. */
  start(): void {
    if (this.graph) return;
    this.finished = new Promise<void>((resolve) => {
      this.graph = merge(this.input$.pipe(this.ingestInputs()), this.backlog.refill$)
        .pipe(this.identifyInMicroBatches())
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
    this.backlog.spill();
    this.backlog.scheduleRefill();
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
    return {
      inMemory: this.backlog.inMemory,
      ingesting: this.ingestStage.ingesting,
      spilled: this.backlog.spilled,
      pressured: this.pressured,
      ...this.counters,
      stages: this.stageTimes.snapshot(),
    };
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
    this.retries.clear();
    this.input$.complete();
    this.backlog.refill$.complete();
    await this.finished;
    await this.decisions.tail;
    this.results.complete();
  }

  /** Stage 1: each input ingested (ingestConcurrency at once) into the spectra it added to the pending set. */
  private ingestInputs(): OperatorFunction<RawInput, PendingSpectrum> {
    return mergeMap((raw: RawInput) => this.ingestStage.ingest(raw), this.o.ingestConcurrency);
  }

  /** Stage 2: pending spectra through the bounded micro-batch queue to committed results. */
  private identifyInMicroBatches(): OperatorFunction<PendingSpectrum, ResultMessage> {
    return batchWorker((batch: PendingSpectrum[]) => identifyAndCommit(batch, this.identifyDeps), {
      maxSize: this.o.batchSize,
      windowMs: this.o.windowMs,
      bound: this.o.queueBound,
      scheduler: this.o.scheduler,
      // Already committed as pending: dropping it from memory loses nothing; it is read back on idle.
      onOverflow: (p) => this.backlog.spill(p.id),
      onPressure: (high) => {
        this.pressured = high;
        if (high) this.counters.pressureEvents++;
        this.o.log.info({ high, queueBound: this.o.queueBound }, high ? 'queue full: backpressure on inputs' : 'queue has room again');
        this.o.onPressure?.(high);
      },
      onIdle: () => this.backlog.scheduleRefill(),
    });
  }
}
