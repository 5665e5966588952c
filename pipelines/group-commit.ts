import type { IngestCommit, PipelineLogger, PipelineStore } from './ports.ts';
import type { StageTimes } from './stage-times.ts';

export interface GroupCommitOptions {
  readonly store: PipelineStore;
  readonly stageTimes: StageTimes;
  readonly log: PipelineLogger;
  /** Each commit of inputs succeeded (true) or failed on the store (false, with the error). */
  readonly onStoreOutcome?: (ok: boolean, err?: unknown) => void;
  /** The store took a commit: inputs waiting out a commit backoff may be offered again at once. */
  readonly onStoreTookCommit: () => void;
}

interface Waiting {
  readonly commit: IngestCommit;
  readonly afterCommit: () => Promise<void>;
  readonly resolve: (committed: boolean) => void;
}

/**
 * Inputs parsed in the same turn of the event loop are committed in one transaction: with synchronous=FULL each
 * commit is an fsync, so grouping is what lets the store keep up under load. If the group fails (a duplicate key
 * raced in, the disk is full) each input is retried alone, so one bad input never blocks the others. An input
 * whose commit fails is not acknowledged: it stays at its source for the next attempt.
 */
export class GroupCommit {
  private group: Waiting[] = [];

  constructor(private readonly o: GroupCommitOptions) {}

  /** Commits with the inputs of this turn; resolves once afterCommit (the acknowledgement) ran (true), or false when the store refused the commit. */
  commit(commit: IngestCommit, afterCommit: () => Promise<void>): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      this.group.push({ commit, afterCommit, resolve });
      if (this.group.length === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const { store, log } = this.o;
    const group = this.group;
    this.group = [];
    const done = (entry: Waiting) =>
      entry
        .afterCommit()
        .catch((err: unknown) => log.warn({ err }, 'acknowledging the input failed (it is recorded)'))
        .finally(() => entry.resolve(true));
    try {
      this.o.stageTimes.time('commitIngest', group.length, () => {
        if (group.length > 1 && store.commitIngestMany) store.commitIngestMany(group.map((g) => g.commit));
        else for (const g of group) store.commitIngest(g.commit);
      });
      this.o.onStoreOutcome?.(true);
      this.o.onStoreTookCommit();
      group.forEach(done);
      return;
    } catch (err) {
      if (group.length === 1) {
        log.error({ err, source: group[0].commit.spectra[0]?.source }, 'could not record input; left at its source to retry');
        this.o.onStoreOutcome?.(false, err);
        group[0].resolve(false);
        return;
      }
    }
    for (const g of group) {
      try {
        store.commitIngest(g.commit);
      } catch (err) {
        log.error({ err, source: g.commit.spectra[0]?.source }, 'could not record input; left at its source to retry');
        this.o.onStoreOutcome?.(false, err);
        g.resolve(false);
        continue;
      }
      this.o.onStoreOutcome?.(true);
      this.o.onStoreTookCommit();
      void done(g);
    }
  }
}
