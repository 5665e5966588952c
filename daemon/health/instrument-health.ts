import type { AdapterState, ResultMessage } from '../../core/messages.ts';

/** GET /api/instruments: one entry per instrument the daemon has heard from or is configured for. */
export interface InstrumentHealth {
  readonly name: string;
  readonly lastSpectrumAt?: string;
  /** Spectra identified in the last minute. */
  readonly ratePerMin: number;
  readonly counts: { readonly results: number; readonly identified: number; readonly unknown: number; readonly lowConfidence: number; readonly mixture: number; readonly rejected: number };
  /** Input adapters that feed this instrument, with their state (up, down, ...). */
  readonly adapters: readonly AdapterState[];
  readonly state: 'up' | 'down' | 'idle';
}

interface Tally {
  last?: string;
  recent: number[];
  counts: { results: number; identified: number; unknown: number; lowConfidence: number; mixture: number; rejected: number };
}

/**
 * Per-instrument health from the results as the pipeline commits them (counts since the daemon started) and the
 * adapters' states; `feeds(adapterName)` names the instrument an input adapter feeds (its config, or the default).
 */
export class InstrumentHealthTracker {
  /** In order of the latest result (a Map keeps insertion order; record() re-inserts), so the first is the stalest. */
  private readonly tallies = new Map<string, Tally>();

  /**
   * @param maxInstruments instruments tracked at most: the instrument name comes from the input (an MQTT topic level),
   *   so a client publishing ever new names must not grow this without bound; the stalest unconfigured one goes first.
   */
  constructor(
    private readonly configured: readonly string[],
    private readonly feeds: (adapterName: string) => string | undefined,
    private readonly now: () => number = Date.now,
    private readonly maxInstruments = 1000,
  ) {}

  record(result: ResultMessage): void {
    const t = this.tally(result.instrument);
    this.tallies.delete(result.instrument);
    this.tallies.set(result.instrument, t);
    this.evictBeyondLimit();
    t.last = result.receivedAt > (t.last ?? '') ? result.receivedAt : t.last;
    const at = this.now();
    t.recent.push(at);
    while (t.recent.length > 0 && t.recent[0] < at - 60_000) t.recent.shift();
    t.counts.results++;
    const key = result.status === 'low-confidence' ? 'lowConfidence' : result.status;
    if (key in t.counts) t.counts[key as keyof Tally['counts']]++;
  }

  list(adapters: readonly AdapterState[]): InstrumentHealth[] {
    const names = new Set([...this.configured, ...this.tallies.keys()]);
    const at = this.now();
    return [...names].sort().map((name) => {
      const t = this.tally(name);
      const feeding = adapters.filter((a) => this.feeds(a.name) === name);
      const ratePerMin = t.recent.filter((x) => x >= at - 60_000).length;
      const state = feeding.some((a) => a.state === 'down') ? 'down' : feeding.some((a) => a.state === 'up') ? 'up' : 'idle';
      return { name, lastSpectrumAt: t.last, ratePerMin, counts: { ...t.counts }, adapters: feeding, state };
    });
  }

  private evictBeyondLimit(): void {
    for (const name of this.tallies.keys()) {
      if (this.tallies.size <= this.maxInstruments) return;
      if (!this.configured.includes(name)) this.tallies.delete(name);
    }
  }

  private tally(name: string): Tally {
    let t = this.tallies.get(name);
    if (!t) {
      t = { recent: [], counts: { results: 0, identified: 0, unknown: 0, lowConfidence: 0, mixture: 0, rejected: 0 } };
      this.tallies.set(name, t);
    }
    return t;
  }
}
