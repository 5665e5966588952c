/** GET /api/instruments/trends: per instrument, buckets of throughput, status mix, latency and mean score. */
export interface TrendBucket {
  readonly at: string;
  readonly n: number;
  readonly status: Readonly<Record<string, number>>;
  readonly p50Ms?: number;
  readonly p95Ms?: number;
  readonly meanScore?: number;
}

export interface InstrumentTrend {
  readonly instrument: string;
  readonly buckets: readonly TrendBucket[];
}

export interface Trends {
  readonly from: string;
  readonly bucketS: number;
  readonly items: readonly InstrumentTrend[];
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

export function readTrends(json: unknown): Trends {
  const o = (json && typeof json === 'object' ? json : {}) as Record<string, unknown>;
  const items = Array.isArray(o.items) ? o.items : [];
  return {
    from: typeof o.from === 'string' ? o.from : '',
    bucketS: num(o.bucketS) ?? 60,
    items: items.flatMap((i): InstrumentTrend[] => {
      const t = i as { instrument?: unknown; buckets?: unknown };
      if (typeof t.instrument !== 'string' || !Array.isArray(t.buckets)) return [];
      return [{
        instrument: t.instrument,
        buckets: t.buckets.map((b: Record<string, unknown>) => ({
          at: typeof b.at === 'string' ? b.at : '',
          n: num(b.n) ?? 0,
          status: (b.status && typeof b.status === 'object' ? b.status : {}) as Record<string, number>,
          p50Ms: num(b.p50Ms),
          p95Ms: num(b.p95Ms),
          meanScore: num(b.meanScore),
        })),
      }];
    }),
  };
}

const SVG = 'http://www.w3.org/2000/svg';

/**
 * A sparkline: one value per bucket as a line (gaps where a bucket has no value), scaled to its own maximum, with a
 * text alternative (what, the last value and the peak) for screen readers.
 */
export function sparkline(values: ReadonlyArray<number | undefined>, opts: { label: string; unit?: string; width?: number; height?: number; max?: number; role?: string }): SVGSVGElement {
  const w = opts.width ?? 120;
  const hgt = opts.height ?? 28;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${w} ${hgt}`);
  svg.setAttribute('width', String(w));
  svg.setAttribute('height', String(hgt));
  svg.setAttribute('class', 'sparkline');
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('role', 'img');
  if (opts.role) svg.setAttribute('data-role', opts.role);
  const present = values.filter((v): v is number => v !== undefined);
  const max = opts.max ?? Math.max(1e-9, ...present);
  const last = [...values].reverse().find((v) => v !== undefined);
  const fmt = (v: number) => `${Number.isInteger(v) ? v : v.toFixed(2)}${opts.unit ?? ''}`;
  svg.setAttribute('aria-label', `${opts.label}: ${present.length ? `last ${fmt(last as number)}, peak ${fmt(Math.max(...present))}` : 'no data'}`);
  svg.setAttribute('data-points', String(present.length));
  const step = values.length > 1 ? w / (values.length - 1) : w;
  let d = '';
  let pen = false;
  values.forEach((v, i) => {
    if (v === undefined) {
      pen = false;
      return;
    }
    const x = (i * step).toFixed(1);
    const y = (hgt - 2 - (v / max) * (hgt - 4)).toFixed(1);
    // A value with no neighbour is drawn as a dot, or a lone minute would not show.
    if (!pen && values[i + 1] === undefined) {
      const dot = document.createElementNS(SVG, 'circle');
      dot.setAttribute('cx', x);
      dot.setAttribute('cy', y);
      dot.setAttribute('r', '2');
      svg.appendChild(dot);
    }
    d += `${pen ? 'L' : 'M'}${x} ${y} `;
    pen = true;
  });
  const path = document.createElementNS(SVG, 'path');
  path.setAttribute('d', d.trim() || `M0 ${hgt - 2} L${w} ${hgt - 2}`);
  svg.appendChild(path);
  return svg;
}

/** Share of each status per bucket as stacked bars (identified, mixture, low confidence, unknown, rejected). */
export function statusMix(buckets: readonly TrendBucket[], width = 240, height = 40): SVGSVGElement {
  const order: Array<[string, string]> = [['identified', 'ok'], ['mixture', 'mix'], ['low-confidence', 'warn'], ['unknown', 'bad'], ['rejected', 'bad']];
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('width', String(width));
  svg.setAttribute('height', String(height));
  svg.setAttribute('class', 'status-mix');
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('role', 'img');
  const total: Record<string, number> = {};
  const barW = width / Math.max(1, buckets.length);
  buckets.forEach((b, i) => {
    let y = height;
    for (const [status, tone] of order) {
      const k = b.status[status] ?? 0;
      total[status] = (total[status] ?? 0) + k;
      if (!k || !b.n) continue;
      const hh = (k / b.n) * height;
      y -= hh;
      const rect = document.createElementNS(SVG, 'rect');
      rect.setAttribute('x', (i * barW).toFixed(1));
      rect.setAttribute('y', y.toFixed(1));
      rect.setAttribute('width', Math.max(1, barW - 1).toFixed(1));
      rect.setAttribute('height', hh.toFixed(1));
      rect.setAttribute('class', `st-${tone}`);
      svg.appendChild(rect);
    }
  });
  const all = Object.values(total).reduce((a, b) => a + b, 0);
  svg.setAttribute('aria-label', `status mix: ${all ? order.filter(([s]) => total[s]).map(([s]) => `${s} ${Math.round((total[s] / all) * 100)} %`).join(', ') : 'no results'}`);
  return svg;
}
