import { ulidTime } from './ids.ts';

export interface TrendBucket {
  readonly at: string;
  readonly n: number;
  readonly status: Record<string, number>;
  readonly p50Ms?: number;
  readonly p95Ms?: number;
  readonly meanScore?: number;
}

export interface InstrumentTrend {
  readonly instrument: string;
  readonly buckets: readonly TrendBucket[];
}

/** One stored result as trends read it (the id is its arrival's ULID). */
export interface TrendRow {
  readonly instrument: string;
  readonly id: string;
  readonly status: string;
  readonly score: number;
  readonly latency_ms: number;
}

/**
 * Per-instrument trends from stored results, computed the same way for the node's store and the site's: per bucket
 * of `bucketMs` from `since` to `until`, the count, the status mix, p50/p95 latency and the mean score (rejected
 * spectra have no score). Rows outside the window are passed over.
 */
export function bucketTrends(rows: Iterable<TrendRow>, since: number, bucketMs: number, until: number): InstrumentTrend[] {
  const n = Math.max(1, Math.ceil((until - since) / bucketMs));
  const per = new Map<string, Array<{ latencies: number[]; scores: number; scored: number; status: Record<string, number> }>>();
  for (const r of rows) {
    const i = Math.floor((ulidTime(r.id) - since) / bucketMs);
    if (i < 0 || i >= n) continue;
    let buckets = per.get(r.instrument);
    if (!buckets) per.set(r.instrument, (buckets = Array.from({ length: n }, () => ({ latencies: [], scores: 0, scored: 0, status: {} }))));
    const b = buckets[i];
    b.latencies.push(r.latency_ms);
    b.status[r.status] = (b.status[r.status] ?? 0) + 1;
    if (r.status !== 'rejected') {
      b.scores += r.score;
      b.scored++;
    }
  }
  const pick = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return [...per.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([instrument, buckets]) => ({
    instrument,
    buckets: buckets.map((b, i) => {
      const sorted = b.latencies.sort((x, y) => x - y);
      return {
        at: new Date(since + i * bucketMs).toISOString(),
        n: sorted.length,
        status: b.status,
        ...(sorted.length ? { p50Ms: pick(sorted, 0.5), p95Ms: pick(sorted, 0.95) } : {}),
        ...(b.scored ? { meanScore: b.scores / b.scored } : {}),
      };
    }),
  }));
}
