import type { InstrumentHealth } from '../health/instrument-health.ts';

/** Every node's results of one instrument and status since a time (SiteQueries.instrumentTallies). */
export interface InstrumentTally {
  readonly instrument: string;
  readonly status: string;
  readonly n: number;
  /** Of them, those in the last minute. */
  readonly recent: number;
  readonly last: string | null;
}

const COUNT_KEYS: Record<string, keyof InstrumentHealth['counts'] | undefined> = {
  identified: 'identified',
  unknown: 'unknown',
  'low-confidence': 'lowConfidence',
  mixture: 'mixture',
  rejected: 'rejected',
};

/**
 * GET /api/instruments for a node of a site: every instrument any node has results of (counts, rate and last
 * spectrum from the site's PostgreSQL, over the same window as a single node's: since this node started), with the
 * input adapters this node runs and their state; an instrument only other nodes feed shows no adapters here (idle).
 * An instrument the site has no result of yet keeps this node's own figures (its results may still be on the way).
 */
export function siteInstrumentHealth(local: readonly InstrumentHealth[], tallies: readonly InstrumentTally[]): InstrumentHealth[] {
  const bySite = new Map<string, InstrumentTally[]>();
  for (const t of tallies) bySite.set(t.instrument, [...(bySite.get(t.instrument) ?? []), t]);
  const byName = new Map(local.map((h) => [h.name, h]));
  return [...new Set([...byName.keys(), ...bySite.keys()])].sort().map((name) => {
    const own = byName.get(name);
    const site = bySite.get(name);
    if (!site) return own!;
    const counts = { results: 0, identified: 0, unknown: 0, lowConfidence: 0, mixture: 0, rejected: 0 };
    let ratePerMin = 0;
    let last = own?.lastSpectrumAt;
    for (const t of site) {
      counts.results += t.n;
      const key = COUNT_KEYS[t.status];
      if (key) counts[key] += t.n;
      ratePerMin += t.recent;
      if (t.last && t.last > (last ?? '')) last = t.last;
    }
    return { name, ...(last ? { lastSpectrumAt: last } : {}), ratePerMin, counts, adapters: own?.adapters ?? [], state: own?.state ?? 'idle' };
  });
}
