/** Text for numbers and times as operators read them; pure, so the tests run them in Node. */

/**
 * A calibrated confidence, one format everywhere: percent with one decimal; a score that would read 0.0% or 100.0%
 * without being exactly that says so (<0.1%, >99.9%), so a runner-up never looks impossible nor an answer certain.
 */
export function formatScore(score: number | undefined): string {
  if (score === undefined || !Number.isFinite(score)) return '—';
  const pct = score * 100;
  if (pct > 0 && pct < 0.05) return '<0.1%';
  if (pct < 100 && pct >= 99.95) return '>99.9%';
  return `${pct.toFixed(1)}%`;
}

/** A similarity or spectral match in [-1, 1], three decimals (they crowd near 1). */
export function formatSimilarity(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  return value.toFixed(3);
}

export function formatFraction(fraction: number): string {
  return `${Math.round(fraction * 100)}%`;
}

export function formatLatency(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '—';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** Local wall-clock time, with the date when it is not today. */
export function formatTime(iso: string | undefined, now: Date = new Date()): string {
  if (!iso) return '—';
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return iso;
  const clock = `${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}`;
  const sameDay = t.getFullYear() === now.getFullYear() && t.getMonth() === now.getMonth() && t.getDate() === now.getDate();
  return sameDay ? clock : `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())} ${clock}`;
}

/** "12 s ago", "3 min ago": how fresh something is at a glance. */
export function formatAgo(iso: string | undefined, now: number = Date.now()): string {
  if (!iso) return 'never';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return `${s} s ago`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.round(h / 24)} d ago`;
}

export function formatRate(perMin: number): string {
  if (perMin >= 120) return `${(perMin / 60).toFixed(1)}/s`;
  return `${perMin < 10 ? perMin.toFixed(1) : Math.round(perMin)}/min`;
}

/** The last path segment of a source (file path, topic), which is what tells spectra apart in a list. */
export function shortSource(source: string): string {
  const parts = source.split(/[\\/]/).filter(Boolean);
  return parts.length ? parts[parts.length - 1] : source;
}

/** The browser's time zone as an offset and, where the platform has one, its name: "UTC+01:00 (Europe/Berlin)". */
export function zoneLabel(at: Date = new Date()): string {
  const off = -at.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const abs = Math.abs(off);
  const name = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const offset = `UTC${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
  return name && name !== 'UTC' && name !== 'Etc/UTC' ? `${offset} (${name})` : offset;
}

/** Date and local time, always with the date (lists span days): "2026-12-07 15:36:03". */
export function formatDateTime(iso: string | undefined): string {
  if (!iso) return '—';
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return iso;
  return `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())} ${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}`;
}
