import { ApiError } from '../api.ts';
import type { AppContext } from '../context.ts';
import { h, replace } from '../dom.ts';
import { formatAgo, formatRate } from '../format.ts';
import { adapterTone } from '../status.ts';
import type { InstrumentReport } from '../types.ts';
import { sparkline, statusMix } from '../trends.ts';

const POLL_MS = 3000;

/**
 * Instrument health: per instrument its state (down when an input feeding it is down), last spectrum, rate and the
 * counts since the daemon started, with the state of each input adapter feeding it. Polls GET /api/instruments.
 */
export function mountInstrumentHealth(ctx: AppContext, host: HTMLElement): () => void {
  const body = h('div', { class: 'instrument-health' }, h('p', { class: 'muted' }, 'Loading…'));
  host.replaceChildren(h('section', { class: 'card' }, h('header', { class: 'card-head' }, h('h2', null, 'Instruments')), body));

  async function poll(): Promise<void> {
    try {
      render(await ctx.api.instrumentHealth());
    } catch (e) {
      const text = e instanceof ApiError && e.notOffered
        ? 'This daemon does not report instrument health (GET /api/instruments).'
        : `Could not read instrument health: ${e instanceof Error ? e.message : String(e)}`;
      replace(body, h('p', { class: 'form-error', 'data-role': 'instruments-missing' }, text));
    }
  }

  const charts = h('div', { class: 'trend-grid', 'data-role': 'trends' });
  host.appendChild(h('section', { class: 'card' },
    h('header', { class: 'card-head' }, h('h2', null, 'Last hour'), h('span', { class: 'muted' }, 'per minute, from the daemon’s store')),
    charts));
  const renderTrends = (): void => {
    const t = ctx.store.trends;
    if (!t || !t.items.length) {
      replace(charts, h('p', { class: 'muted' }, t ? 'No results in the last hour.' : 'Loading…'));
      return;
    }
    replace(charts, t.items.map((i) => {
      const b = i.buckets;
      return h('div', { class: 'trend-card', 'data-instrument': i.instrument },
        h('h3', null, i.instrument),
        chart('Throughput', sparkline(b.map((x) => x.n), { label: `${i.instrument} results per minute`, unit: '/min', width: 240, height: 40, role: 'throughput' })),
        chart('Latency p50 / p95', sparkline(b.map((x) => x.p95Ms), { label: `${i.instrument} p95 latency`, unit: ' ms', width: 240, height: 40, role: 'latency-p95' }),
          sparkline(b.map((x) => x.p50Ms), { label: `${i.instrument} p50 latency`, unit: ' ms', width: 240, height: 40, max: Math.max(1, ...b.map((x) => x.p95Ms ?? 0)), role: 'latency-p50' })),
        chart('Status mix', statusMix(b)),
        chart('Mean score', sparkline(b.map((x) => x.meanScore), { label: `${i.instrument} mean score`, width: 240, height: 40, max: 1, role: 'score' })));
    }));
  };
  const offTrends = ctx.store.on('health', renderTrends);
  renderTrends();

  function render(items: readonly InstrumentReport[]): void {
    if (items.length === 0) {
      replace(body, h('p', { class: 'muted' }, 'No instrument is configured or has sent a spectrum yet.'));
      return;
    }
    const now = Date.now();
    const count = (i: InstrumentReport, k: string) => h('td', { class: 'num', 'data-count': k }, String(i.counts[k] ?? 0));
    replace(body, h('table', { class: 'instrument-table' },
      h('thead', null, h('tr', null, ['Instrument', 'State', 'Last spectrum', 'Rate', 'Results', 'Unknown', 'Low confidence', 'Rejected', 'Inputs'].map((t) => h('th', null, t)))),
      h('tbody', null, items.map((i) => h('tr', { 'data-instrument': i.name, 'data-state': i.state },
        h('td', null, h('b', null, i.name)),
        h('td', null, h('span', { class: `pill st-${adapterTone(i.state)}` }, i.state)),
        h('td', { class: 'num', title: i.lastSpectrumAt ?? '' }, i.lastSpectrumAt ? formatAgo(i.lastSpectrumAt, now) : '—'),
        h('td', { class: 'num' }, formatRate(i.ratePerMin)),
        count(i, 'results'), count(i, 'unknown'), count(i, 'lowConfidence'), count(i, 'rejected'),
        h('td', null, i.adapters.length
          ? i.adapters.map((a) => h('span', { class: `chip st-${adapterTone(a.state)}`, 'data-adapter': a.name, 'data-state': a.state, title: a.detail ?? '' },
            h('span', { class: 'dot' }), h('b', null, a.name), h('span', { class: 'muted' }, ` ${a.kind} · ${a.state}`)))
          : h('span', { class: 'muted' }, '—')))))));
  }

  void poll();
  const timer = setInterval(() => void poll(), POLL_MS);
  return () => {
    clearInterval(timer);
    offTrends();
  };
}

function chart(title: string, ...svgs: Element[]): HTMLElement {
  return h('figure', { class: 'trend-chart' }, h('figcaption', { class: 'muted' }, title), h('div', { class: 'trend-svgs' }, svgs));
}
