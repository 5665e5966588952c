import { ApiError } from '../api.ts';
import { askForToken, clearToken, requireToken } from '../auth.ts';
import type { AppContext } from '../context.ts';
import { frameThrottle, h, replace, toast } from '../dom.ts';
import { formatAgo, formatTime } from '../format.ts';
import { refreshAlertCounts } from '../live.ts';
import { alertLabel, alertTone } from '../status.ts';
import type { AlertQuery, AlertView } from '../types.ts';
import { alertText } from '../alert-text.ts';
import { notificationSettings } from '../notify.ts';

/**
 * Alerts: unknown and low-confidence spectra, rejected input (with the parser's reason), adapters down. The daemon
 * pages and counts them (a busy day has thousands): the list shows one filter (open or all, instrument, kind) a page
 * at a time, the counts are the daemon's, and "Acknowledge" for a filter is one request however many it closes.
 * Acknowledging needs the token, since every operator's dashboard sees it.
 */
const PAGE = 100;
const KINDS = ['unknown', 'low-confidence', 'rejected', 'adapter-down', 'adapter-up'] as const;

export function mountAlerts(ctx: AppContext, host: HTMLElement): () => void {
  const { store, api } = ctx;
  const query: { state: 'open' | 'all'; instrument: string; kind: string } = { state: 'open', instrument: '', kind: '' };
  /** The pages loaded for the current filter, newest first. */
  let items: AlertView[] = [];
  let nextCursor: string | undefined;
  let loading = false;
  let loadError = '';
  let generation = 0;

  const list = h('div', { class: 'alert-list', 'data-role': 'alert-list' });
  const summary = h('p', { class: 'muted alert-summary', 'data-role': 'alert-summary' });
  const more = h('button', { type: 'button', class: 'btn', 'data-action': 'more-alerts', hidden: true, onclick: () => void load(false) }, 'Load more');
  const showAcked = h('label', { class: 'check' },
    h('input', { type: 'checkbox', 'data-action': 'show-acked', onchange: (e) => { query.state = (e.target as HTMLInputElement).checked ? 'all' : 'open'; void load(true); } }),
    ' Show acknowledged');
  const instrumentSel = select('instrument', 'Instrument', [['', 'All instruments']], (v) => { query.instrument = v; void load(true); });
  const kindSel = select('kind', 'Kind', [['', 'All kinds'], ...KINDS.map((k) => [k, alertLabel(k)] as [string, string])], (v) => { query.kind = v; void load(true); });
  const ackAllBtn = h('button', { type: 'button', class: 'btn', 'data-action': 'ack-all', onclick: () => void acknowledgeFilter() }, 'Acknowledge all');
  const notify = notificationSettings();
  host.replaceChildren(h('section', { class: 'card alerts-card' },
    h('header', { class: 'card-head alerts-head' }, h('h2', null, 'Alerts'), h('span', { class: 'spacer' }), notify.element, ackAllBtn),
    h('div', { class: 'alert-filters', role: 'group', 'aria-label': 'Filter alerts' }, instrumentSel.label, kindSel.label, showAcked),
    summary,
    list,
    h('div', { class: 'more-row' }, more)));

  const open = (a: AlertView): boolean => !a.acknowledgedAt && a.kind !== 'adapter-up';
  const matches = (a: AlertView): boolean =>
    (query.state === 'all' || open(a)) && (!query.instrument || a.instrument === query.instrument) && (!query.kind || a.kind === query.kind);

  async function load(reset: boolean): Promise<void> {
    const gen = reset ? ++generation : generation;
    loading = true;
    render();
    const q: AlertQuery = { state: query.state, limit: PAGE, ...(query.instrument ? { instrument: query.instrument } : {}), ...(query.kind ? { kind: query.kind } : {}), ...(reset ? {} : { cursor: nextCursor }) };
    try {
      const page = await api.alertsPage(q);
      if (gen !== generation) return;
      items = reset ? page.items : [...items, ...page.items.filter((a) => !items.some((b) => b.id === a.id))];
      nextCursor = page.nextCursor;
      loadError = '';
      if (page.counts) store.setAlertCounts(page.counts);
      store.addAlerts(page.items);
    } catch (e) {
      if (gen !== generation) return;
      if (reset) {
        // A daemon without paging: show what the page holds.
        items = store.alerts.filter(matches);
        nextCursor = undefined;
      }
      loadError = e instanceof Error ? e.message : String(e);
    } finally {
      if (gen === generation) loading = false;
      render();
    }
  }

  async function withToken<T>(reason: string, act: (token: string) => Promise<T>): Promise<T | undefined> {
    let token = await requireToken(reason);
    if (!token) {
      toast('Not acknowledged: sign in with the operator token to acknowledge alerts.', { tone: 'bad', ms: 10_000 });
      return undefined;
    }
    try {
      return await act(token);
    } catch (e) {
      if (e instanceof ApiError && e.refused) {
        clearToken();
        token = await askForToken(reason, 'The daemon refused that token.');
        if (!token) return undefined;
        return act(token);
      }
      throw e;
    }
  }

  /** One alert: the bulk request with its id (the older per-alert route is the fallback). */
  async function acknowledgeOne(id: string): Promise<void> {
    try {
      await withToken('Acknowledging an alert clears it for every operator.', async (token) => {
        try {
          const done = await api.acknowledgeAlerts({ ids: [id] }, token);
          store.acknowledgeMany(done.ids.length ? done.ids : [id], done.acknowledgedAt);
          if (done.counts) store.setAlertCounts(done.counts);
        } catch (e) {
          if (!(e instanceof ApiError && e.notOffered)) throw e;
          try {
            await api.acknowledgeAlert(id, token);
            store.acknowledge(id, new Date().toISOString(), false);
          } catch (e2) {
            if (!(e2 instanceof ApiError && e2.notOffered)) throw e2;
            store.acknowledge(id, new Date().toISOString(), true);
            toast('Acknowledged in this browser only: the daemon has no acknowledge endpoint.', { tone: 'info' });
          }
        }
      });
      refreshAlertCounts(store, api);
    } catch (e) {
      toast(`Could not acknowledge: ${e instanceof Error ? e.message : String(e)}`, { tone: 'bad', ms: 15_000 });
    }
  }

  /**
   * Every open alert of the filter, in one request: up to the newest alert shown, so an alert that arrives while the
   * operator decides stays open.
   */
  async function acknowledgeFilter(): Promise<void> {
    const newest = items.find(open) ?? store.alerts.find((a) => open(a) && matches(a));
    if (!newest) return;
    const n = openInFilter();
    const what = [query.instrument && `on ${query.instrument}`, query.kind && `of kind "${alertLabel(query.kind)}"`].filter(Boolean).join(' ');
    if (n > 1 && !confirm(`Acknowledge ${n} open alert${n === 1 ? '' : 's'}${what ? ` ${what}` : ''} for every operator?`)) return;
    try {
      const done = await withToken('Acknowledging alerts clears them for every operator.', (token) =>
        api.acknowledgeAlerts({ upTo: newest.id, ...(query.instrument ? { instrument: query.instrument } : {}), ...(query.kind ? { kind: query.kind } : {}), ...(!query.instrument && !query.kind ? { all: true } : {}) }, token));
      if (!done) return;
      store.acknowledgeMany(done.ids, done.acknowledgedAt);
      if (done.counts) store.setAlertCounts(done.counts);
      toast(`Acknowledged ${done.ids.length} alert${done.ids.length === 1 ? '' : 's'}.`, { tone: 'ok' });
      refreshAlertCounts(store, api);
      await load(true);
    } catch (e) {
      toast(`Could not acknowledge: ${e instanceof Error ? e.message : String(e)}`, { tone: 'bad', ms: 15_000 });
    }
  }

  /** Open alerts the current filter covers, by the daemon's counts when it has them. */
  function openInFilter(): number {
    const c = store.alertCounts;
    if (!c) return items.filter(open).length;
    if (query.instrument && query.kind) return Math.max(items.filter((a) => open(a) && matches(a)).length, 0);
    if (query.instrument) return c.openByInstrument[query.instrument] ?? 0;
    if (query.kind) return c.openByKind[query.kind] ?? 0;
    return c.open;
  }

  function renderFilters(): void {
    const c = store.alertCounts;
    const names = new Set<string>([...store.instruments(), ...Object.keys(c?.openByInstrument ?? {}), ...items.map((a) => a.instrument)]);
    instrumentSel.setOptions([['', `All instruments${c ? ` (${c.open} open)` : ''}`], ...[...names].filter(Boolean).sort().map((n) => [n, `${n}${c ? ` (${c.openByInstrument[n] ?? 0} open)` : ''}`] as [string, string])], query.instrument);
    kindSel.setOptions([['', 'All kinds'], ...KINDS.map((k) => [k, `${alertLabel(k)}${c && k !== 'adapter-up' ? ` (${c.openByKind[k] ?? 0})` : ''}`] as [string, string])], query.kind);
  }

  const render = frameThrottle(() => {
    const now = Date.now();
    // Live alerts newer than the first page join it; acknowledgements from anywhere update the rows.
    const byId = new Map(store.alerts.map((a) => [a.id, a]));
    const newest = items[0]?.id ?? '';
    const arrived = store.alerts.filter((a) => a.id > newest && matches(a) && !items.some((b) => b.id === a.id));
    const rows = [...arrived, ...items].map((a) => byId.get(a.id) ?? a).filter((a) => query.state === 'all' || open(a));
    renderFilters();
    const openCount = openInFilter();
    ackAllBtn.toggleAttribute('disabled', openCount === 0);
    ackAllBtn.textContent = openCount > 0 ? `Acknowledge ${openCount > 1 ? `all ${openCount}` : '1'}` : 'Acknowledge all';
    const c = store.alertCounts;
    summary.textContent = [
      c ? `${c.open} open of ${c.total} alerts.` : '',
      `Showing ${rows.length}${nextCursor ? ' (more below)' : ''}.`,
      loadError ? `Could not load from the daemon: ${loadError}` : '',
    ].filter(Boolean).join(' ');
    more.hidden = !nextCursor;
    more.toggleAttribute('disabled', loading);
    if (!rows.length) {
      replace(list, h('p', { class: 'empty-state' }, loading ? 'Loading…' : query.state === 'open' ? 'No open alerts. ' : 'No alerts. ', h('span', { class: 'muted' }, 'Unknown or rejected spectra and adapters going down show up here.')));
      return;
    }
    replace(list, rows.map((a) => {
      const result = a.resultId ? store.result(a.resultId) : undefined;
      const text = alertText(a);
      return h('article', { class: `alert st-${alertTone(a.kind)} ${a.acknowledgedAt ? 'acked' : ''}`, 'data-alert-id': a.id, 'data-kind': a.kind },
        h('div', { class: 'alert-kind' }, h('span', { class: 'dot', 'aria-hidden': 'true' }), alertLabel(a.kind)),
        h('div', { class: 'alert-body' },
          h('div', { class: 'alert-msg' }, text || result?.error?.message || ''),
          // The rejection alert's message already holds the parser's words: show only what it lacks (the code).
          result?.error
            ? text.includes(result.error.message)
              ? h('div', { class: 'muted alert-code' }, 'error code ', h('code', null, result.error.code))
              : h('div', { class: 'error-box' }, h('code', null, result.error.code), ' ', result.error.message)
            : null,
          h('div', { class: 'muted alert-meta' }, `${a.instrument || '—'} · ${formatTime(a.at)} (${formatAgo(a.at, now)})`, a.acknowledgedAt ? ` · ${a.note ?? 'acknowledged'}` : '')),
        h('div', { class: 'alert-actions' },
          a.resultId ? h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'open', onclick: () => ctx.openSpectrum(a.resultId as string) }, 'Open') : null,
          a.resultId && (a.kind === 'unknown' || a.kind === 'low-confidence') && !result?.label && !a.note ? h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'label', onclick: () => ctx.labelResults([a.resultId as string]) }, 'Label…') : null,
          open(a) ? h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'ack', onclick: () => void acknowledgeOne(a.id) }, 'Acknowledge') : null));
    }));
  });
  const offs = [store.on('alerts', render), store.on('results', render)];
  void load(true);
  return () => {
    generation++;
    offs.forEach((off) => off());
  };
}

function select(name: string, labelText: string, options: Array<[string, string]>, onChange: (v: string) => void, initial = options[0]?.[0] ?? '') {
  const el = h('select', { name, 'data-filter': name, onchange: (e) => onChange((e.target as HTMLSelectElement).value) });
  const setOptions = (opts: Array<[string, string]>, value: string) => {
    const key = JSON.stringify(opts);
    if (el.dataset.options !== key) {
      el.dataset.options = key;
      replace(el, opts.map(([v, t]) => h('option', { value: v }, t)));
    }
    el.value = value;
  };
  setOptions(options, initial);
  return { label: h('label', { class: 'field' }, h('span', { class: 'field-label' }, labelText), el), setOptions };
}
