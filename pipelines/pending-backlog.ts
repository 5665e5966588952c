import { Subject } from 'rxjs';
import type { PendingSpectrum, PipelineLogger, PipelineStore } from './ports.ts';

export interface PendingBacklogOptions {
  readonly store: PipelineStore;
  /** How many pending spectra are read back at once (the in-memory queue's bound). */
  readonly queueBound: number;
  readonly log: PipelineLogger;
  readonly isDraining: () => boolean;
}

/**
 * Committed spectra that wait for their result. The in-memory queue is only a cache of the store's pending set: when
 * it is full new spectra simply stay in the store ("spilled") and are read back (refill$) once the queue is idle; a
 * crash loses nothing, and at start the pending set is read back the same way.
 */
export class PendingBacklog {
  /** Spectra read back from the store, for the identify stage. */
  readonly refill$ = new Subject<PendingSpectrum>();
  /** Ids of the pending spectra in memory (queued or being identified). */
  private readonly memory = new Set<string>();
  private spilledNow = false;
  private refillScheduled = false;

  constructor(private readonly o: PendingBacklogOptions) {}

  get inMemory(): number {
    return this.memory.size;
  }

  /** True while some committed spectra wait in the store only. */
  get spilled(): boolean {
    return this.spilledNow;
  }

  /** A pending spectrum enters the in-memory queue. */
  hold(id: string): void {
    this.memory.add(id);
  }

  /** Its result is committed (or it is left to the store): no longer in memory. */
  release(id: string): void {
    this.memory.delete(id);
  }

  /** Already committed as pending: dropping it from memory loses nothing; it is read back on idle. */
  spill(id?: string): void {
    if (id !== undefined) this.memory.delete(id);
    this.spilledNow = true;
  }

  /** Reads back pending spectra after delayMs, when some were spilled (once at a time, never while draining). */
  scheduleRefill(delayMs = 0): void {
    if (!this.spilledNow || this.refillScheduled || this.o.isDraining()) return;
    this.refillScheduled = true;
    // Asynchronous: onIdle fires inside the worker's completion, which must not be re-entered.
    setTimeout(() => {
      this.refillScheduled = false;
      if (this.o.isDraining() || !this.spilledNow) return;
      let backlog: PendingSpectrum[];
      try {
        backlog = this.o.store.pending(this.o.queueBound, this.memory);
      } catch (err) {
        this.o.log.error({ err }, 'could not read the pending backlog');
        return;
      }
      // A full read may have left more behind: read again at the next idle.
      this.spilledNow = backlog.length >= this.o.queueBound;
      if (backlog.length > 0) this.o.log.info({ count: backlog.length }, 'reading back pending spectra from the store');
      for (const p of backlog) {
        this.memory.add(p.id);
        this.refill$.next(p);
      }
    }, delayMs);
  }
}
