/**
 * Time spent per pipeline stage, summed since start: where a daemon's CPU goes under load (bench:daemon prints it,
 * the daemon logs it every `pipeline.statsIntervalS`). Both wall time and process CPU time are summed: on a shared,
 * loaded machine the wall time of a synchronous stage grows with preemption while its CPU time does not. For the
 * asynchronous stages (encode, identify, publish) the CPU time also holds whatever else ran while they awaited.
 */
export const STAGES = ['parse', 'preprocess', 'commitIngest', 'encode', 'identify', 'commitResults', 'publish'] as const;
export type StageName = (typeof STAGES)[number];

export interface StageTotal {
  /** How many times the stage ran (a commit group or a micro-batch counts once). */
  readonly calls: number;
  /** How many spectra (or messages, for publish) it handled. */
  readonly items: number;
  readonly ms: number;
  /** Process CPU time (user + system) in ms. */
  readonly cpuMs: number;
  /** ms / items, rounded to µs. */
  readonly msPerItem: number;
  /** cpuMs / items, rounded to µs. */
  readonly cpuMsPerItem: number;
}

export class StageTimes {
  private readonly totals = new Map<StageName, { calls: number; items: number; ms: number; cpuMs: number }>();

  /**
   * onRecord sees every single call as it is recorded (the daemon's Prometheus histograms). cpuClock reads the CPU
   * time in ms (process CPU by default); tests pass their own to check the bookkeeping without depending on load.
   */
  constructor(
    private readonly onRecord?: (stage: StageName, ms: number, items: number) => void,
    private readonly cpuClock: () => number = processCpuMs,
  ) {}

  record(stage: StageName, ms: number, items = 1, cpuMs = 0): void {
    this.onRecord?.(stage, ms, items);
    const t = this.totals.get(stage) ?? { calls: 0, items: 0, ms: 0, cpuMs: 0 };
    t.calls++;
    t.items += items;
    t.ms += ms;
    t.cpuMs += cpuMs;
    this.totals.set(stage, t);
  }

  /** Runs fn, records its duration under stage (also when it throws), returns what it returned. */
  time<T>(stage: StageName, items: number, fn: () => T): T {
    const t0 = performance.now();
    const c0 = this.cpuClock();
    try {
      return fn();
    } finally {
      this.record(stage, performance.now() - t0, items, this.cpuClock() - c0);
    }
  }

  /** Like time() for an asynchronous step: the time until its promise settles. */
  async timeAsync<T>(stage: StageName, items: number, fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    const c0 = this.cpuClock();
    try {
      return await fn();
    } finally {
      this.record(stage, performance.now() - t0, items, this.cpuClock() - c0);
    }
  }

  snapshot(): Partial<Record<StageName, StageTotal>> {
    const out: Partial<Record<StageName, StageTotal>> = {};
    for (const stage of STAGES) {
      const t = this.totals.get(stage);
      if (!t) continue;
      const perItem = (ms: number) => (t.items > 0 ? Math.round((ms / t.items) * 1000) / 1000 : 0);
      out[stage] = { calls: t.calls, items: t.items, ms: Math.round(t.ms * 10) / 10, cpuMs: Math.round(t.cpuMs * 10) / 10, msPerItem: perItem(t.ms), cpuMsPerItem: perItem(t.cpuMs) };
    }
    return out;
  }
}

/** Process CPU time (user + system, all threads) in ms since the process started. */
export function processCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}
