/**
 * Switches the daemon's model only between micro-batches: a batch runs start to finish (embedding, kNN against the
 * library, building its result messages) with one model and one library, and `version` names that model.
 *
 * A batch counts as finished one macrotask after its identify call resolves, because the pipeline builds the result
 * messages (reading `version`) in the microtasks right after; a switch waits for no batch to be in flight.
 */
export class BatchGate {
  private inFlight = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private current: string) {}

  /** The model version of every batch in flight (and of the last one). */
  get version(): string {
    return this.current;
  }

  get busy(): boolean {
    return this.inFlight > 0;
  }

  async run<T>(batch: () => Promise<T>): Promise<T> {
    this.applyWaiting();
    this.inFlight++;
    try {
      return await batch();
    } finally {
      setImmediate(() => {
        this.inFlight--;
        this.applyWaiting();
      });
    }
  }

  /** Runs `install` (which swaps encoder and library and returns the new version) as soon as no batch is in flight. */
  switchBetweenBatches(install: () => string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push(() => {
        try {
          this.current = install();
          resolve();
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
      this.applyWaiting();
    });
  }

  private applyWaiting(): void {
    while (this.inFlight === 0 && this.waiting.length > 0) this.waiting.shift()!();
  }
}

/** Runs tasks one at a time, in call order (enrollment, undo and model switches all rewrite the library). */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const next = this.tail.then(task, task);
    this.tail = next.catch(() => undefined);
    return next;
  }
}
