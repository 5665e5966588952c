import type { AppContext } from '../context.ts';
import { requireToken } from '../auth.ts';
import { frameThrottle, h, replace, toast } from '../dom.ts';
import { formatAgo, formatScore, shortSource } from '../format.ts';
import { isLabellable, statusTone } from '../status.ts';
import type { ResultMessage } from '../types.ts';
import { answerTitle, labelChip, renderAnswer, statusPill } from './answer.ts';
import { renderInstrumentStrip } from './instruments.ts';
import { SpectrumPanel } from './spectrum-panel.ts';

const FEED_LENGTH = 200;
/** Answers that raise an alert: with hold-on-alert they stay on the card until acknowledged or the hold runs out. */
const ALERTING = new Set(['unknown', 'low-confidence', 'rejected']);
const HOLD_KEY = 'spectrad.holdOnAlert';
/** Seconds an alert holds the card; 0: no hold; -1: until acknowledged. */
const HOLD_CHOICES: ReadonlyArray<[number, string]> = [[0, 'off'], [10, '10 s'], [30, '30 s'], [120, '2 min'], [-1, 'until acknowledged']];

function savedHold(): number {
  const v = Number(localStorage.getItem(HOLD_KEY) ?? '0');
  return HOLD_CHOICES.some(([n]) => n === v) ? v : 0;
}
/** At 100 spectra/s the plot follows the newest at this pace; every answer still lands in the feed at once. */
const FOLLOW_EVERY_MS = 400;

/** What the keyboard shortcuts act on while Live is shown (shortcuts.ts). */
export interface LiveControls {
  togglePause(): void;
  acknowledgeHeld(): void;
  release(): void;
  move(step: number): void;
  selected(): ResultMessage | undefined;
  readonly panel: SpectrumPanel;
}
let liveControls: LiveControls | undefined;
export function currentLive(): LiveControls | undefined {
  return liveControls;
}

/**
 * The live view: instrument tiles, the current answer with its plot, and the feed of arrivals. At 25 spectra/s the
 * card would change every 0.4 s: Pause keeps it, and an alerting answer holds it (until acknowledged, or a chosen
 * time) while the feed goes on.
 */
export function mountLive(ctx: AppContext, host: HTMLElement): () => void {
  const { store } = ctx;
  const strip = renderInstrumentStrip(store);
  const panel = new SpectrumPanel(ctx, 340);
  const answerHost = h('div', { class: 'answer-host' });
  const feed = h('ol', { class: 'feed', 'aria-label': 'Latest results' });
  const followBtn = h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'follow' }, 'Follow newest');
  const pauseBtn = h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'pause', title: 'Keep this answer on the card; arrivals still list on the right (key p)' }, 'Pause');
  const holdSel = h('select', { name: 'hold', 'aria-label': 'Hold an alert on the card', title: 'An unknown, low-confidence or rejected answer stays on the card this long, or until acknowledged' },
    HOLD_CHOICES.map(([n, label]) => h('option', { value: String(n), selected: n === savedHold() }, label)));
  const holdBar = h('div', { class: 'hold-bar', 'data-role': 'hold-bar', role: 'status', hidden: true });
  let follow = true;
  let selectedId: string | undefined;
  let lastPlotAt = 0;
  let plotTimer: ReturnType<typeof setTimeout> | undefined;
  /** The alerting answer the card holds, until it is acknowledged or its time runs out. */
  let held: { id: string; until?: number; timer?: ReturnType<typeof setTimeout> } | undefined;
  let heldSkipped = 0;

  host.replaceChildren(
    strip.el,
    h('div', { class: 'live-grid' },
      h('div', { class: 'live-main' },
        h('div', { class: 'card-controls', 'data-role': 'card-controls' }, pauseBtn, h('label', { class: 'hold-choice muted' }, 'Hold alerts ', holdSel)),
        holdBar, answerHost, panel.el),
      h('aside', { class: 'live-side card' },
        h('header', { class: 'card-head' }, h('h2', null, 'Arrivals'), followBtn),
        feed)));

  const releaseHold = (): void => {
    if (!held) return;
    clearTimeout(held.timer);
    held = undefined;
    heldSkipped = 0;
    holdBar.hidden = true;
    answerHost.dataset.held = 'false';
    if (follow) select(store.results[0], false);
  };

  const renderHoldBar = (): void => {
    if (!held) return;
    const r = store.result(held.id);
    const left = held.until ? Math.max(0, Math.ceil((held.until - Date.now()) / 1000)) : undefined;
    replace(holdBar,
      h('span', null, h('b', null, 'Held: '), `${r ? answerTitle(r) : 'alert'}`, left !== undefined ? ` · ${left} s left` : ' · until acknowledged', heldSkipped ? ` · ${heldSkipped} newer arrived` : ''),
      h('span', { class: 'spacer' }),
      h('button', { type: 'button', class: 'btn btn-small btn-primary', 'data-action': 'ack-held', title: 'Acknowledge this alert for every operator and follow the newest again (key a)', onclick: () => void acknowledgeHeld() }, 'Acknowledge'),
      h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'release', title: 'Follow the newest again; the alert stays open (key n)', onclick: releaseHold }, 'Show newest'));
  };

  const hold = (r: ResultMessage): void => {
    const seconds = Number(holdSel.value);
    if (!seconds || held) return;
    held = { id: r.id, until: seconds > 0 ? Date.now() + seconds * 1000 : undefined };
    if (seconds > 0) held.timer = setTimeout(releaseHold, seconds * 1000);
    holdBar.hidden = false;
    answerHost.dataset.held = 'true';
    renderHoldBar();
  };

  const alertOf = (resultId: string) => store.alerts.find((a) => a.resultId === resultId && a.kind !== 'adapter-up');

  async function acknowledgeHeld(): Promise<void> {
    if (!held) return;
    const alert = alertOf(held.id);
    if (!alert || alert.acknowledgedAt) {
      releaseHold();
      return;
    }
    const token = await requireToken('Acknowledging an alert clears it for every operator.');
    if (!token) {
      toast('Not acknowledged: sign in with the operator token first. "Show newest" releases the card without acknowledging.', { tone: 'bad' });
      return;
    }
    try {
      const done = await ctx.api.acknowledgeAlerts({ ids: [alert.id] }, token);
      store.acknowledgeMany(done.ids.length ? done.ids : [alert.id], done.acknowledgedAt);
      if (done.counts) store.setAlertCounts(done.counts);
      releaseHold();
    } catch (e) {
      toast(`Could not acknowledge: ${e instanceof Error ? e.message : String(e)}`, { tone: 'bad', ms: 15_000 });
    }
  }

  const setPaused = (paused: boolean): void => {
    follow = !paused;
    if (!paused) {
      releaseHold();
      select(store.results[0], false);
    }
    renderFollow();
  };
  pauseBtn.addEventListener('click', () => setPaused(follow));
  holdSel.addEventListener('change', () => {
    localStorage.setItem(HOLD_KEY, holdSel.value);
    if (held && Number(holdSel.value) === 0) releaseHold();
  });

  const renderFollow = (): void => {
    followBtn.classList.toggle('on', follow);
    followBtn.textContent = follow ? 'Following newest' : 'Follow newest';
    pauseBtn.textContent = follow ? 'Pause' : 'Resume';
    pauseBtn.setAttribute('aria-pressed', String(!follow));
    answerHost.dataset.paused = String(!follow);
  };

  const select = (r: ResultMessage | undefined, byUser: boolean): void => {
    if (byUser) {
      follow = false;
      if (held) {
        clearTimeout(held.timer);
        held = undefined;
        holdBar.hidden = true;
        answerHost.dataset.held = 'false';
      }
    }
    renderFollow();
    if (!r) {
      replace(answerHost, h('div', { class: 'answer empty' },
        h('h2', { class: 'answer-title' }, 'Waiting for the first spectrum'),
        h('p', { class: 'muted' }, 'Drop a spectrum file into a watched folder or publish one over MQTT; its answer appears here within seconds.')));
      return;
    }
    selectedId = r.id;
    const actions = [h('button', { type: 'button', class: 'btn', 'data-action': 'open', onclick: () => ctx.openSpectrum(r.id) }, 'Details')];
    if (isLabellable(r.status) && !r.label) actions.push(h('button', { type: 'button', class: r.status === 'mixture' ? 'btn' : 'btn btn-primary', 'data-action': 'label', onclick: () => ctx.labelResults([r.id]) }, 'Label…'));
    replace(answerHost, renderAnswer(r, actions));
    if (!byUser && follow && ALERTING.has(r.status) && !r.label) hold(r);
    feed.querySelectorAll('li.selected').forEach((li) => li.classList.remove('selected'));
    feed.querySelector(`li[data-result-id="${CSS.escape(r.id)}"]`)?.classList.add('selected');
    // Throttled so a burst of arrivals does not queue a spectrum download per result.
    clearTimeout(plotTimer);
    const wait = byUser ? 0 : Math.max(0, lastPlotAt + FOLLOW_EVERY_MS - Date.now());
    plotTimer = setTimeout(() => {
      lastPlotAt = Date.now();
      void panel.show(r.id, r);
    }, wait);
  };

  followBtn.addEventListener('click', () => setPaused(false));

  const feedItem = (r: ResultMessage, now: number): HTMLElement =>
    h('li', {
      class: `feed-item st-${statusTone(r.status)} ${r.id === selectedId ? 'selected' : ''}`,
      'data-result-id': r.id, 'data-status': r.status, tabindex: 0,
      onclick: () => select(r, true),
      onkeydown: (e) => { if ((e as KeyboardEvent).key === 'Enter') select(r, true); },
    },
    h('div', { class: 'feed-top' }, statusPill(r.status), h('span', { class: 'num feed-score' }, r.status === 'rejected' ? '' : formatScore(r.score))),
    h('div', { class: 'feed-title' }, r.label ? [r.label.class, ' ', labelChip(r)] : answerTitle(r)),
    h('div', { class: 'feed-meta muted' }, `${r.instrument} · ${shortSource(r.source)} · ${formatAgo(r.receivedAt, now)}`));

  const renderFeed = (): void => {
    const now = Date.now();
    replace(feed, store.results.slice(0, FEED_LENGTH).map((r) => feedItem(r, now)));
    if (!store.results.length) feed.appendChild(h('li', { class: 'feed-empty muted' }, 'Nothing received yet.'));
  };

  /**
   * New arrivals are prepended and the oldest rows dropped, so at 100 results/s the browser lays out a few rows
   * per frame instead of the whole list. Anything out of order falls back to a full rebuild.
   */
  const updateFeed = (): void => {
    const first = feed.firstElementChild?.getAttribute('data-result-id');
    const top = store.results.slice(0, FEED_LENGTH);
    const at = first ? top.findIndex((r) => r.id === first) : -1;
    if (at < 0) {
      renderFeed();
      return;
    }
    if (at === 0) return;
    const now = Date.now();
    feed.prepend(...top.slice(0, at).map((r) => feedItem(r, now)));
    while (feed.children.length > FEED_LENGTH) feed.lastElementChild?.remove();
  };

  let lastFollowAt = 0;
  let followTimer: ReturnType<typeof setTimeout> | undefined;
  /** The answer card follows the newest at the plot's pace: faster than that no one can read it anyway. */
  const followNewest = (): void => {
    if (!follow || followTimer) return;
    const wait = Math.max(0, lastFollowAt + FOLLOW_EVERY_MS - Date.now());
    followTimer = setTimeout(() => {
      followTimer = undefined;
      lastFollowAt = Date.now();
      const newest = store.results[0];
      if (held) {
        heldSkipped = Math.max(0, store.results.findIndex((r) => r.id === held?.id));
        renderHoldBar();
        return;
      }
      if (follow && newest && newest.id !== selectedId) select(newest, false);
    }, wait);
  };

  const onResults = frameThrottle(() => {
    updateFeed();
    followNewest();
  });
  const offResults = store.on('results', onResults);
  // Labelled (or unlabelled) on any dashboard: the feed rows and the card say so at once.
  const offLabels = store.on('labels', () => {
    renderFeed();
    const shown = selectedId ? store.result(selectedId) : undefined;
    if (shown && store.lastLabelChange?.spectrumIds.includes(shown.id)) select(shown, false);
  });
  // Acknowledged anywhere (the Alerts view, another dashboard): the hold ends.
  const offAlerts = store.on('alerts', () => {
    if (held && alertOf(held.id)?.acknowledgedAt) releaseHold();
  });
  const holdTicker = setInterval(() => { if (held?.until) renderHoldBar(); }, 1000);
  const ticker = setInterval(() => { renderFeed(); strip.refresh(); }, 5000);
  liveControls = {
    togglePause: () => setPaused(follow),
    acknowledgeHeld: () => void acknowledgeHeld(),
    release: () => (held ? releaseHold() : setPaused(false)),
    panel,
    move: (step) => {
      const at = Math.max(0, store.results.findIndex((r) => r.id === selectedId));
      const next = store.results[Math.min(store.results.length - 1, Math.max(0, at + step))];
      if (next) {
        select(next, true);
        feed.querySelector<HTMLElement>(`li[data-result-id="${CSS.escape(next.id)}"]`)?.scrollIntoView({ block: 'nearest' });
      }
    },
    selected: () => (selectedId ? store.result(selectedId) : undefined),
  };

  renderFeed();
  select(store.results[0], false);

  return () => {
    liveControls = undefined;
    clearTimeout(held?.timer);
    clearInterval(holdTicker);
    offAlerts();
    offResults();
    offLabels();
    strip.dispose();
    clearInterval(ticker);
    clearTimeout(plotTimer);
    clearTimeout(followTimer);
    panel.destroy();
  };
}
