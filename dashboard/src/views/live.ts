import type { AppContext } from '../context.ts';
import { frameThrottle, h, replace } from '../dom.ts';
import { formatAgo, formatScore, shortSource } from '../format.ts';
import { isLabellable, statusTone } from '../status.ts';
import type { ResultMessage } from '../types.ts';
import { answerTitle, labelChip, renderAnswer, statusPill } from './answer.ts';
import { renderInstrumentStrip } from './instruments.ts';
import { SpectrumPanel } from './spectrum-panel.ts';

const FEED_LENGTH = 60;
/** At 100 spectra/s the plot follows the newest at this pace; every answer still lands in the feed at once. */
const FOLLOW_EVERY_MS = 400;

/** The live view: instrument tiles, the current answer with its plot, and the feed of arrivals. */
export function mountLive(ctx: AppContext, host: HTMLElement): () => void {
  const { store } = ctx;
  const strip = renderInstrumentStrip(store);
  const panel = new SpectrumPanel(ctx, 340);
  const answerHost = h('div', { class: 'answer-host' });
  const feed = h('ol', { class: 'feed', 'aria-label': 'Latest results' });
  const followBtn = h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'follow' }, 'Follow newest');
  let follow = true;
  let selectedId: string | undefined;
  let lastPlotAt = 0;
  let plotTimer: ReturnType<typeof setTimeout> | undefined;

  host.replaceChildren(
    strip.el,
    h('div', { class: 'live-grid' },
      h('div', { class: 'live-main' }, answerHost, panel.el),
      h('aside', { class: 'live-side card' },
        h('header', { class: 'card-head' }, h('h2', null, 'Arrivals'), followBtn),
        feed)));

  const select = (r: ResultMessage | undefined, byUser: boolean): void => {
    if (byUser) follow = false;
    followBtn.classList.toggle('on', follow);
    followBtn.textContent = follow ? 'Following newest' : 'Follow newest';
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

  followBtn.addEventListener('click', () => {
    follow = true;
    select(store.results[0], false);
  });

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
  const ticker = setInterval(() => { renderFeed(); strip.refresh(); }, 5000);

  renderFeed();
  select(store.results[0], false);

  return () => {
    offResults();
    offLabels();
    strip.dispose();
    clearInterval(ticker);
    clearTimeout(plotTimer);
    clearTimeout(followTimer);
    panel.destroy();
  };
}
