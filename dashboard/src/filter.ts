import type { ResultMessage, ResultStatus } from './types.ts';

/**
 * A history search: what the operator typed in the filter bar. The same object becomes the API query string and,
 * for live results that arrive while a filter is active, a predicate, so both agree on what matches.
 */
export interface ResultFilter {
  readonly instrument?: string;
  /** Class name; matches the answer's class, any mixture component or the operator's label, case-insensitively. */
  readonly class?: string;
  /** yes: only spectra an operator labelled; no: only those not labelled. */
  readonly labelled?: 'yes' | 'no';
  readonly statuses?: readonly ResultStatus[];
  /** ISO 8601 bounds on receivedAt, inclusive. */
  readonly from?: string;
  readonly to?: string;
  /** Free text over id, source and error message. */
  readonly text?: string;
  /** Order of the list (GET /api/results sort): time, score, latency, instrument, status or class, '-' first descending; default newest first. */
  readonly sort?: string;
}

export const RESULT_SORTS = ['time', '-time', 'score', '-score', 'latency', '-latency', 'instrument', '-instrument', 'status', '-status', 'class', '-class'] as const;

const lower = (s: string | undefined): string => (s ?? '').trim().toLowerCase();

export function matchesFilter(r: ResultMessage, f: ResultFilter): boolean {
  if (f.instrument && r.instrument !== f.instrument) return false;
  if (f.statuses && f.statuses.length && !f.statuses.includes(r.status)) return false;
  const cls = lower(f.class);
  if (cls) {
    const names = [r.class, r.label?.class, ...(r.components ?? []).map((c) => c.class)].map(lower);
    if (!names.includes(cls)) return false;
  }
  if (f.labelled && (f.labelled === 'yes') !== Boolean(r.label)) return false;
  const t = Date.parse(r.receivedAt);
  if (f.from && !(t >= Date.parse(f.from))) return false;
  if (f.to && !(t <= Date.parse(f.to))) return false;
  const text = lower(f.text);
  if (text) {
    const hay = [r.id, r.source, r.error?.message, r.error?.code].map(lower).join('\n');
    if (!hay.includes(text)) return false;
  }
  return true;
}

/** The query string for GET /api/results (docs/DASHBOARD.md): empty fields are left out. */
export function filterToQuery(f: ResultFilter, page: { limit?: number; cursor?: string; offset?: number } = {}): string {
  const q = new URLSearchParams();
  if (f.instrument) q.set('instrument', f.instrument);
  if (f.class?.trim()) q.set('class', f.class.trim());
  if (f.labelled) q.set('labelled', f.labelled);
  if (f.statuses?.length) q.set('status', f.statuses.join(','));
  if (f.from) q.set('from', f.from);
  if (f.to) q.set('to', f.to);
  if (f.text?.trim()) q.set('q', f.text.trim());
  if (f.sort && f.sort !== '-time' && (RESULT_SORTS as readonly string[]).includes(f.sort)) q.set('sort', f.sort);
  if (page.offset) q.set('offset', String(page.offset));
  if (page.limit) q.set('limit', String(page.limit));
  if (page.cursor) q.set('cursor', page.cursor);
  return q.toString();
}

const STATUS_SET = new Set<string>(['identified', 'low-confidence', 'unknown', 'mixture', 'rejected']);

/** Reads a filter back from a URL hash query (so a filtered history view can be bookmarked and shared). */
export function filterFromQuery(query: string): ResultFilter {
  const q = new URLSearchParams(query);
  const statuses = (q.get('status') ?? '').split(',').filter((s) => STATUS_SET.has(s)) as ResultStatus[];
  const opt = (k: string): string | undefined => q.get(k) || undefined;
  const labelled = q.get('labelled');
  const sort = q.get('sort') ?? '';
  return {
    instrument: opt('instrument'), class: opt('class'), labelled: labelled === 'yes' || labelled === 'no' ? labelled : undefined, statuses: statuses.length ? statuses : undefined, from: opt('from'), to: opt('to'), text: opt('q'),
    ...((RESULT_SORTS as readonly string[]).includes(sort) && sort !== '-time' ? { sort } : {}),
  };
}

/** GET /api/results/export for the filter (and its order): the daemon streams every matching row. */
export function exportUrl(f: ResultFilter, format: 'csv' | 'json' | 'jcamp'): string {
  const q = filterToQuery(f);
  return `/api/results/export?${q ? `${q}&` : ''}format=${format}`;
}
