import { ApiError } from '../api.ts';
import { askForToken, clearToken, requireToken } from '../auth.ts';
import type { AppContext } from '../context.ts';
import { frameThrottle, h, replace, toast } from '../dom.ts';
import { formatAgo, formatTime } from '../format.ts';
import { alertLabel, alertTone } from '../status.ts';
import type { AlertView } from '../types.ts';

/**
 * Alerts: unknown and low-confidence spectra, rejected input (with the parser's reason), adapters down. Open ones
 * first; acknowledging needs the token, since every operator's dashboard sees it.
 */
export function mountAlerts(ctx: AppContext, host: HTMLElement): () => void {
  const { store } = ctx;
  let showAcknowledged = false;
  const list = h('div', { class: 'alert-list' });
  const toggle = h('label', { class: 'check' },
    h('input', { type: 'checkbox', 'data-action': 'show-acked', onchange: (e) => { showAcknowledged = (e.target as HTMLInputElement).checked; render(); } }),
    ' Show acknowledged');
  const ackAllBtn = h('button', { type: 'button', class: 'btn', 'data-action': 'ack-all', onclick: () => void acknowledge(store.alerts.filter(open).map((a) => a.id)) }, 'Acknowledge all');
  host.replaceChildren(h('section', { class: 'card' },
    h('header', { class: 'card-head' }, h('h2', null, 'Alerts'), h('span', { class: 'spacer' }), toggle, ackAllBtn),
    list));

  const open = (a: AlertView): boolean => !a.acknowledgedAt && a.kind !== 'adapter-up';

  async function acknowledge(ids: string[]): Promise<void> {
    if (!ids.length) return;
    let token = await requireToken('Acknowledging an alert clears it for every operator.');
    if (!token) {
      toast('Not acknowledged: sign in with the operator token to acknowledge alerts.', { tone: 'bad' });
      return;
    }
    let localOnly = false;
    let askedAgain = false;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      try {
        await ctx.api.acknowledgeAlert(id, token);
        store.acknowledge(id, new Date().toISOString(), false);
      } catch (e) {
        if (e instanceof ApiError && e.refused && !askedAgain) {
          // The stored token is wrong: ask once more, then retry this same alert.
          askedAgain = true;
          clearToken();
          token = await askForToken('Acknowledging an alert clears it for every operator.', 'The daemon refused that token.');
          if (!token) return;
          i--;
          continue;
        }
        if (e instanceof ApiError && e.notOffered) {
          localOnly = true;
          store.acknowledge(id, new Date().toISOString(), true);
          continue;
        }
        toast(`Could not acknowledge: ${e instanceof Error ? e.message : String(e)}`, { tone: 'bad' });
        return;
      }
    }
    if (localOnly) toast('Acknowledged in this browser only: the daemon has no record of it (or no acknowledge endpoint).', { tone: 'info' });
  }

  const render = frameThrottle(() => {
    const now = Date.now();
    const shown = store.alerts.filter((a) => showAcknowledged || open(a));
    ackAllBtn.toggleAttribute('disabled', !store.alerts.some(open));
    if (!shown.length) {
      replace(list, h('p', { class: 'empty-state' }, store.alerts.length ? 'No open alerts. ' : 'No alerts. ', h('span', { class: 'muted' }, 'Unknown or rejected spectra and adapters going down show up here.')));
      return;
    }
    replace(list, shown.map((a) => {
      const result = a.resultId ? store.result(a.resultId) : undefined;
      return h('article', { class: `alert st-${alertTone(a.kind)} ${a.acknowledgedAt ? 'acked' : ''}`, 'data-alert-id': a.id, 'data-kind': a.kind },
        h('div', { class: 'alert-kind' }, h('span', { class: 'dot' }), alertLabel(a.kind)),
        h('div', { class: 'alert-body' },
          h('div', { class: 'alert-msg' }, a.message || result?.error?.message || ''),
          // The rejection alert's message already holds the parser's words: show only what it lacks (the code).
          result?.error
            ? (a.message ?? '').includes(result.error.message)
              ? h('div', { class: 'muted alert-code' }, 'error code ', h('code', null, result.error.code))
              : h('div', { class: 'error-box' }, h('code', null, result.error.code), ' ', result.error.message)
            : null,
          h('div', { class: 'muted alert-meta' }, `${a.instrument || '—'} · ${formatTime(a.at)} (${formatAgo(a.at, now)})`, a.acknowledgedAt ? ` · ${a.note ?? 'acknowledged'}` : '')),
        h('div', { class: 'alert-actions' },
          a.resultId ? h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'open', onclick: () => ctx.openSpectrum(a.resultId as string) }, 'Open') : null,
          a.resultId && (a.kind === 'unknown' || a.kind === 'low-confidence') && !result?.label && !a.note ? h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'label', onclick: () => ctx.labelResults([a.resultId as string]) }, 'Label…') : null,
          open(a) ? h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'ack', onclick: () => void acknowledge([a.id]) }, 'Acknowledge') : null));
    }));
  });
  const offs = [store.on('alerts', render), store.on('results', render)];
  render();
  return () => offs.forEach((off) => off());
}
