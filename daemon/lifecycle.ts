import type { PipelineLogger } from '../pipelines/ports.ts';
import type { DaemonPart } from './parts/part.ts';

interface Step {
  readonly name: string;
  readonly start: () => Promise<void>;
  readonly stop?: () => Promise<void>;
  /** Longest the stop may take before the next one runs anyway. */
  readonly stopTimeoutMs: number;
}

/**
 * Ordered start and reverse-ordered stop. A step that fails to start stops the ones already started (in reverse)
 * and the error is rethrown; at stop, a step that fails or hangs is logged and the next one still runs, so the
 * store is always closed last.
 */
export class Lifecycle {
  private readonly steps: Step[] = [];
  private started: Step[] = [];
  private stopping?: Promise<void>;

  constructor(private readonly log: PipelineLogger) {}

  add(name: string, start: () => Promise<void>, stop?: () => Promise<void>, stopTimeoutMs = 30_000): this {
    this.steps.push({ name, start, stop, stopTimeoutMs });
    return this;
  }

  /** A named part: its start() and stop() become one step. */
  addPart(part: DaemonPart, stopTimeoutMs?: number): this {
    return this.add(part.name, () => part.start(), part.stop ? () => part.stop!() : undefined, stopTimeoutMs);
  }

  async start(): Promise<void> {
    for (const step of this.steps) {
      const t0 = Date.now();
      try {
        await step.start();
      } catch (err) {
        this.log.error({ err, step: step.name }, `start failed at ${step.name}; stopping what started`);
        await this.stop();
        throw err;
      }
      this.started.push(step);
      this.log.debug({ step: step.name, ms: Date.now() - t0 }, `started ${step.name}`);
    }
  }

  /** Idempotent: a second signal waits for the stop already running. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const step of [...this.started].reverse()) {
        if (!step.stop) continue;
        const t0 = Date.now();
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            step.stop(),
            new Promise<void>((_, reject) => {
              timer = setTimeout(() => reject(new Error(`did not stop within ${step.stopTimeoutMs} ms`)), step.stopTimeoutMs);
            }),
          ]);
          this.log.debug({ step: step.name, ms: Date.now() - t0 }, `stopped ${step.name}`);
        } catch (err) {
          this.log.error({ err, step: step.name }, `stopping ${step.name} failed; going on`);
        } finally {
          clearTimeout(timer);
        }
      }
      this.started = [];
    })();
    return this.stopping;
  }
}
