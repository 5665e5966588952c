import type { RawInput } from '../adapters/types.ts';

export interface CommitRetriesOptions {
  /** The first delay; it doubles with each failed attempt up to maxMs (default 500 ms .. 5 s). */
  readonly minMs?: number;
  readonly maxMs?: number;
  readonly isDraining: () => boolean;
  /** Offers the input to the pipeline again (it is parsed again: nothing of it was recorded). */
  readonly offer: (raw: RawInput) => void;
}

interface Retry {
  attempts: number;
  timer?: NodeJS.Timeout;
}

/**
 * Inputs whose commit failed (disk full, store I/O error), offered to the store again after a delay that doubles from
 * minMs to maxMs (a re-parse is cheap, and a disk freed while nothing new arrives is noticed within 5 s); meanwhile
 * each stays unacknowledged at its source. While draining nothing is retried: the input stays at its source for the
 * next run.
 */
export class CommitRetries {
  /** Inputs waiting to be offered to the store again, with how many times their commit failed. */
  private readonly retries = new Map<RawInput, Retry>();

  constructor(private readonly o: CommitRetriesOptions) {}

  later(raw: RawInput): void {
    if (this.o.isDraining()) return;
    const attempts = (this.retries.get(raw)?.attempts ?? 0) + 1;
    const min = this.o.minMs ?? 500;
    const delay = Math.min(this.o.maxMs ?? 5000, min * 2 ** (attempts - 1));
    const entry: Retry = { attempts };
    entry.timer = setTimeout(() => this.offerAgain(raw, entry), delay);
    this.retries.set(raw, entry);
  }

  /** The input was committed: no more retries. */
  committed(raw: RawInput): void {
    this.retries.delete(raw);
  }

  /** The store took a commit again: inputs still waiting out their backoff need not wait any longer. */
  storeRecovered(): void {
    for (const [raw, entry] of this.retries) {
      if (!entry.timer) continue; // already being offered
      clearTimeout(entry.timer);
      entry.timer = setTimeout(() => this.offerAgain(raw, entry), 0);
    }
  }

  /** Forgets every waiting input (at drain): they stay unacknowledged at their source for the next run. */
  clear(): void {
    for (const r of this.retries.values()) clearTimeout(r.timer);
    this.retries.clear();
  }

  private offerAgain(raw: RawInput, entry: Retry): void {
    entry.timer = undefined;
    if (!this.o.isDraining()) this.o.offer(raw);
  }
}
