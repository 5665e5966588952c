import { Observable, asyncScheduler, from, type ObservableInput, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';

export interface BatchWorkerOptions<T, R> {
  /** Largest batch handed to the worker. */
  readonly maxSize: number;
  /** Longest a batch waits to fill, counted from the arrival of its oldest item (0: start as soon as possible). */
  readonly windowMs: number;
  /** Most items held in memory waiting for the worker. */
  readonly bound: number;
  readonly scheduler?: SchedulerLike;
  /**
   * An item that arrived while the queue was full. It is not kept in memory: the caller must hold it durably (the
   * daemon's store has it as pending) and feed it again later. Without this hook such items are a bug: it throws.
   */
  onOverflow?(item: T): void;
  /** The queue reached its bound (true) or fell back to half of it (false): pause or resume the sources. */
  onPressure?(high: boolean): void;
  /** Results for a batch whose worker failed, so that one failure never stops the stream. */
  onBatchError?(batch: readonly T[], error: unknown): R[];
  /** Nothing queued and nothing running: a good time to feed spilled items again. */
  onIdle?(): void;
}

/**
 * Micro-batching with backpressure: items queue (at most `bound` of them), the worker gets up to `maxSize` at a time
 * when a batch is full or the window since its oldest item has passed, and only one batch runs at a time (the
 * encoder is the bottleneck; running several batches at once would only grow memory). Results keep batch order.
 * On completion of the source the queue is drained without waiting for windows, then the output completes.
 */
export function batchWorker<T, R>(
  work: (batch: T[]) => ObservableInput<readonly R[]>,
  options: BatchWorkerOptions<T, R>,
): OperatorFunction<T, R> {
  const { maxSize, windowMs, bound } = options;
  if (maxSize < 1 || bound < maxSize) throw new RangeError(`batchWorker needs 1 <= maxSize (${maxSize}) <= bound (${bound})`);
  const scheduler = options.scheduler ?? asyncScheduler;
  const lowWater = Math.floor(bound / 2);

  return (source) =>
    new Observable<R>((subscriber) => {
      const queue: Array<{ item: T; at: number }> = [];
      let running: Subscription | undefined;
      let timer: Subscription | undefined;
      let sourceDone = false;
      let pressured = false;

      const pressure = (high: boolean) => {
        if (pressured === high) return;
        pressured = high;
        options.onPressure?.(high);
      };

      const schedule = () => {
        if (running || queue.length === 0) return;
        const waited = scheduler.now() - queue[0].at;
        if (sourceDone || queue.length >= maxSize || waited >= windowMs) {
          start();
          return;
        }
        if (timer) return;
        timer = scheduler.schedule(() => {
          timer = undefined;
          start();
        }, windowMs - waited);
      };

      const finishIfDone = () => {
        if (sourceDone && !running && queue.length === 0) subscriber.complete();
      };

      const start = () => {
        timer?.unsubscribe();
        timer = undefined;
        if (running || queue.length === 0) return;
        const batch = queue.splice(0, maxSize).map((q) => q.item);
        if (queue.length <= lowWater) pressure(false);
        let done = false;
        const finish = () => {
          done = true;
          running = undefined;
          schedule();
          if (!running && queue.length === 0) {
            options.onIdle?.();
            finishIfDone();
          }
        };
        const emitAll = (results: readonly R[]) => {
          for (const r of results) subscriber.next(r);
        };
        let outcome: Observable<readonly R[]>;
        try {
          outcome = from(work(batch));
        } catch (err) {
          outcome = new Observable((s) => s.error(err));
        }
        const sub = outcome.subscribe({
          next: emitAll,
          error: (err: unknown) => {
            if (!options.onBatchError) {
              subscriber.error(err);
              return;
            }
            try {
              emitAll(options.onBatchError(batch, err));
            } catch (inner) {
              subscriber.error(inner);
              return;
            }
            finish();
          },
          complete: finish,
        });
        // A synchronous worker has already finished here; only keep a handle on one still running.
        if (!done) running = sub;
      };

      const upstream = source.subscribe({
        next: (item) => {
          if (queue.length >= bound) {
            if (!options.onOverflow) {
              subscriber.error(new Error(`batchWorker queue is full (${bound}) and no onOverflow handler keeps the item`));
              return;
            }
            options.onOverflow(item);
            return;
          }
          queue.push({ item, at: scheduler.now() });
          if (queue.length >= bound) pressure(true);
          schedule();
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => {
          sourceDone = true;
          schedule();
          finishIfDone();
        },
      });

      return () => {
        upstream.unsubscribe();
        running?.unsubscribe();
        timer?.unsubscribe();
      };
    });
}
