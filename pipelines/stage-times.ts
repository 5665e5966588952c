/**
 * Time spent per pipeline stage, summed since start: where a daemon's CPU goes under load (bench:daemon prints it,
 * the daemon logs it every `pipeline.statsIntervalS`). The stages are synchronous sections on the main thread, so
 * wall time measured around them is their CPU cost (plus preemption on a loaded machine).
 */
export const STAGES = ['parse', 'preprocess', 'commitIngest', 'encode', 'identify', 'commitResults', 'publish'] as const;
export type StageName = (typeof STAGES)[number];

export interface StageTotal {
  /** How many times the stage ran (a commit group or a micro-batch counts once). */
  readonly calls: number;
  /** How many spectra (or messages, for publish) it handled. */
  readonly items: number;
  readonly ms: number;
  /** ms / items, rounded to µs. */
  readonly msPerItem: number;
}

export class StageTimes {
  private readonly totals = new Map<StageName, { calls: number; items: number; ms: number }>();

  record(stage: StageName, ms: number, items = 1): void {
    const t = this.totals.get(stage) ?? { calls: 0, items: 0, ms: 0 };
    t.calls++;
    t.items += items;
    t.ms += ms;
    this.totals.set(stage, t);
  }

  /** Runs fn, records its duration under stage (also when it throws), returns what it returned. */
  time<T>(stage: StageName, items: number, fn: () => T): T {
    const t0 = performance.now();
    try {
      return fn();
    } finally {
      this.record(stage, performance.now() - t0, items);
    }
  }

  /** Like time() for an asynchronous step: the time until its promise settles. */
  async timeAsync<T>(stage: StageName, items: number, fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      this.record(stage, performance.now() - t0, items);
    }
  }

  snapshot(): Partial<Record<StageName, StageTotal>> {
    const out: Partial<Record<StageName, StageTotal>> = {};
    for (const stage of STAGES) {
      const t = this.totals.get(stage);
      if (!t) continue;
      out[stage] = { calls: t.calls, items: t.items, ms: Math.round(t.ms * 10) / 10, msPerItem: t.items > 0 ? Math.round((t.ms / t.items) * 1000) / 1000 : 0 };
    }
    return out;
  }
}
