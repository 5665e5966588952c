import { h, replace } from '../dom.ts';
import { formatAgo, formatRate } from '../format.ts';
import { adapterTone, statusTone } from '../status.ts';
import type { Store } from '../store.ts';
import { sparkline } from '../trends.ts';

/**
 * One tile per instrument (rate, last answer, queue) and one chip per adapter (state since when), refreshed by
 * events and once a second so "12 s ago" stays true.
 */
export function renderInstrumentStrip(store: Store): { el: HTMLElement; refresh(): void; dispose(): void } {
  const el = h('section', { class: 'instruments', 'aria-label': 'Instruments and adapters' });
  const refresh = (): void => {
    const now = Date.now();
    const health = store.health;
    const tiles = store.instruments().map((name) => {
      const last = store.results.find((r) => r.instrument === name);
      const h1 = health?.instruments.find((i) => i.name === name);
      const rate = store.rates.perMinute(name, now);
      // The tile's colour is the instrument's health (its inputs), not its last answer: an unknown sample is news for
      // the Alerts tab, a dead input is what this tile must show.
      const report = store.instrumentReports?.find((i) => i.name === name);
      const state = report?.state ?? (last ? 'up' : 'idle');
      const tone = state === 'down' ? 'bad' : state === 'up' ? 'ok' : 'idle';
      const downInputs = report?.adapters.filter((a) => a.state === 'down') ?? [];
      return h('div', { class: `tile st-${tone}`, 'data-instrument': name, 'data-state': state },
        h('div', { class: 'tile-name' }, h('span', { class: 'dot', 'aria-hidden': 'true' }), name,
          last ? h('span', { class: `pill tile-last st-${statusTone(last.status)}`, title: 'the last answer' }, last.status) : null),
        downInputs.length ? h('div', { class: 'tile-down', 'data-role': 'input-down' }, `input down: ${downInputs.map((a) => `${a.name}${a.detail ? ` (${a.detail})` : ''}`).join(', ')}`) : null,
        h('div', { class: 'tile-stats' },
          stat('rate', formatRate(h1?.ratePerMin ?? rate)),
          stat('queue', h1?.queueDepth !== undefined ? String(h1.queueDepth) : '—'),
          stat('last', last ? formatAgo(last.receivedAt, now) : formatAgo(h1?.lastResultAt, now))),
        throughputSpark(store, name));
    });
    const adapters = [...store.adapters.values()].sort((a, b) => a.name.localeCompare(b.name)).map((a) =>
      h('span', { class: `chip st-${adapterTone(a.state)}`, 'data-adapter': a.name, 'data-state': a.state, title: a.detail ?? `${a.kind} ${a.state}` },
        h('span', { class: 'dot' }), h('b', null, a.name), h('span', { class: 'muted' }, `${a.kind} · ${a.state}${a.since ? ` ${formatAgo(a.since, now)}` : ''}`)));
    const queue = health?.queueDepth;
    replace(el,
      h('div', { class: 'tiles' }, tiles.length ? tiles : h('div', { class: 'tile st-idle empty' }, h('div', { class: 'tile-name' }, 'No instrument has sent a spectrum yet'))),
      h('div', { class: 'adapters' },
        h('span', { class: 'muted' }, 'Adapters'),
        adapters.length ? adapters : h('span', { class: 'muted' }, '—'),
        h('span', { class: 'spacer' }),
        h('span', { class: 'muted', 'data-queue': queue ?? '' }, 'Queue ', h('b', { class: 'num' }, queue === undefined ? '—' : `${queue}${health?.queueBound ? ` / ${health.queueBound}` : ''}`))));
  };
  // Results can arrive 100 times a second; the tiles' numbers are read at a glance, so once a second is plenty.
  let timer: ReturnType<typeof setTimeout> | undefined;
  let lastAt = 0;
  const soon = (): void => {
    if (timer) return;
    timer = setTimeout(() => { timer = undefined; lastAt = Date.now(); refresh(); }, Math.max(0, lastAt + 1000 - Date.now()));
  };
  const offs = [store.on('results', soon), store.on('adapters', refresh), store.on('health', refresh), () => clearTimeout(timer)];
  refresh();
  return { el, refresh, dispose: () => offs.forEach((off) => off()) };
}

/** Results per minute over the last hour, from the daemon's store (so a restart does not empty it). */
function throughputSpark(store: Store, name: string): Element | null {
  const t = store.trends?.items.find((i) => i.instrument === name);
  if (!t) return null;
  return h('div', { class: 'tile-trend', title: 'results per minute, last hour' },
    sparkline(t.buckets.map((b) => b.n), { label: 'results per minute, last hour', unit: '/min', width: 200, height: 24, role: 'throughput-spark' }));
}

function stat(label: string, value: string): HTMLElement {
  return h('div', { class: 'stat', 'data-stat': label }, h('span', { class: 'muted' }, label), h('b', { class: 'num' }, value));
}
