import { Observable } from 'rxjs';
import type { AlertMessage, ResultMessage } from '../core/messages.ts';
import type { RawInput } from '../adapters/types.ts';
import type { AcksAfterResult } from './acks-after-result.ts';
import type { CommitRetries } from './commit-retries.ts';
import type { GroupCommit } from './group-commit.ts';
import type { PendingBacklog } from './pending-backlog.ts';
import type { PipelineCounters } from './pipeline-counters.ts';
import type { PendingSpectrum, PipelineLogger, PipelineStore } from './ports.ts';
import { readInput, type ReadInputDeps } from './read-input.ts';

export interface IngestInputDeps {
  readonly store: PipelineStore;
  readonly log: PipelineLogger;
  readonly read: ReadInputDeps;
  readonly commits: GroupCommit;
  readonly retries: CommitRetries;
  readonly backlog: PendingBacklog;
  readonly counters: PipelineCounters;
  /** Where inputs with ackAfterResult wait for their results instead of being acknowledged at the commit. */
  readonly acksAfterResult: AcksAfterResult;
  /** Rejections decided at ingest are committed: wake the outputs, tell live listeners. */
  readonly onCommitted?: (results: readonly ResultMessage[], alerts: readonly AlertMessage[]) => void;
  /** Publishes a committed result (results$). */
  readonly publish: (result: ResultMessage) => void;
  readonly onStoreOutcome?: (ok: boolean, err?: unknown) => void;
}

/**
 * The ingest stage: an input already in the ledger is acknowledged (or rejected) again and not processed; a new one
 * is read (parse, validate, preprocess), committed with its group, and only then acknowledged; its accepted spectra
 * go on to identification. An input the store refused stays unacknowledged and is offered again later.
 */
export class IngestInput {
  /** Inputs being parsed, committed or acknowledged. */
  private ingestingNow = 0;

  constructor(private readonly deps: IngestInputDeps) {}

  get ingesting(): number {
    return this.ingestingNow;
  }

  /** Emits the spectra the input added to the pending set, then completes once the input is acknowledged. */
  ingest(raw: RawInput): Observable<PendingSpectrum> {
    const { store, log, counters, retries } = this.deps;
    return new Observable<PendingSpectrum>((subscriber) => {
      this.ingestingNow++;
      let settle: Promise<void> = Promise.resolve();
      try {
        const seen = raw.dedupKey ? store.ledgerOutcome(raw.dedupKey) : undefined;
        if (seen) {
          counters.duplicates++;
          log.debug({ adapter: raw.adapter, source: raw.source, key: raw.dedupKey, seen }, 'already recorded: acknowledged again, not processed');
          settle = seen === 'processed' ? raw.ack() : raw.reject('already recorded as failed');
        } else {
          settle = this.ingestNew(raw, (p) => subscriber.next(p)).then((committed) => {
            if (committed) retries.committed(raw);
            else retries.later(raw);
          });
        }
      } catch (err) {
        // Only a store failure gets here (bad input is recorded as rejected): leave the input unacknowledged.
        log.error({ err, adapter: raw.adapter, source: raw.source }, 'could not record input; left at its source to retry');
        this.deps.onStoreOutcome?.(false, err);
        retries.later(raw);
        settle = Promise.resolve();
      }
      settle
        .catch((err: unknown) => log.warn({ err, adapter: raw.adapter, source: raw.source }, 'acknowledging the input failed (it is recorded)'))
        .finally(() => {
          this.ingestingNow--;
          subscriber.complete();
        });
    });
  }

  /** Commits with the group of this turn; resolves once acknowledged (true), or false when the store refused the commit. */
  private ingestNew(raw: RawInput, accept: (p: PendingSpectrum) => void): Promise<boolean> {
    const { commit, pending, outcome } = readInput(raw, this.deps.read);
    const { spectra, results, alerts } = commit;
    return this.deps.commits.commit(commit, () => {
      // Committed: from here on nothing of this input can be lost, so it may be acknowledged.
      const { counters, backlog } = this.deps;
      counters.received += spectra.length;
      counters.rejected += results.length;
      if (results.length > 0) {
        this.deps.onCommitted?.(results, alerts);
        for (const r of results) this.deps.publish(r);
      }
      for (const p of pending) {
        backlog.hold(p.id);
        accept(p);
      }
      const reason = results.map((r) => r.error?.message).join('; ');
      if (outcome === 'processed' && raw.ackAfterResult) {
        this.deps.acksAfterResult.hold(raw, pending.map((p) => p.id));
        return Promise.resolve();
      }
      return outcome === 'processed' ? raw.ack() : raw.reject(reason);
    });
  }
}
