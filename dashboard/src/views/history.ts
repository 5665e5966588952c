import { ApiError } from '../api.ts';
import type { AppContext } from '../context.ts';
import { h, replace } from '../dom.ts';
import { filterFromQuery, filterToQuery, matchesFilter, type ResultFilter } from '../filter.ts';
import { withLabelChange } from '../labels.ts';
import { formatLatency, formatScore, formatTime, shortSource } from '../format.ts';
import { isLabellable, RESULT_STATUSES, statusLabel, statusTone } from '../status.ts';
import type { ResultMessage } from '../types.ts';
import { answerTitle, labelChip, statusPill } from './answer.ts';

const PAGE = 100;

/** `<input type=datetime-local>` speaks local time without a zone; the API wants ISO 8601. */
function localToIso(v: string): string | undefined {
  if (!v) return undefined;
  const t = new Date(v);
  return Number.isNaN(t.getTime()) ? undefined : t.toISOString();
}

function isoToLocal(iso: string | undefined): string {
  if (!iso) return '';
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return '';
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${t.getFullYear()}-${p(t.getMonth() + 1)}-${p(t.getDate())}T${p(t.getHours())}:${p(t.getMinutes())}`;
}

/**
 * History: results filtered by instrument, class, status, time and free text, from the API page by page. The filter
 * lives in the URL (#/history?status=unknown), so a view can be bookmarked; live results that match are added on top.
 */
export function mountHistory(ctx: AppContext, host: HTMLElement, query: string): () => void {
  const { store, api } = ctx;
  let filter: ResultFilter = filterFromQuery(query);
  let rows: ResultMessage[] = [];
  let cursor: string | undefined;
  let offline = false;
  let loading = false;

  const instrumentSel = h('select', { name: 'instrument', 'aria-label': 'Instrument' });
  const classInput = h('input', { type: 'search', name: 'class', placeholder: 'any class', list: 'class-names', value: filter.class ?? '', 'aria-label': 'Class' });
  const classList = h('datalist', { id: 'class-names' });
  const labelledSel = h('select', { name: 'labelled', 'aria-label': 'Labelled' },
    h('option', { value: '' }, 'labelled or not'),
    h('option', { value: 'yes', selected: filter.labelled === 'yes' }, 'labelled by an operator'),
    h('option', { value: 'no', selected: filter.labelled === 'no' }, 'not labelled'));
  const textInput = h('input', { type: 'search', name: 'q', placeholder: 'file, id, error…', value: filter.text ?? '', 'aria-label': 'Search text' });
  const fromInput = h('input', { type: 'datetime-local', name: 'from', value: isoToLocal(filter.from), 'aria-label': 'From' });
  const toInput = h('input', { type: 'datetime-local', name: 'to', value: isoToLocal(filter.to), 'aria-label': 'To' });
  const statusBoxes = RESULT_STATUSES.map((s) => h('label', { class: `chip-toggle st-${statusTone(s)}` },
    h('input', { type: 'checkbox', name: 'status', value: s, checked: filter.statuses?.includes(s) ?? false }), statusLabel(s)));
  const summary = h('span', { class: 'muted', 'data-role': 'summary' });
  const tbody = h('tbody');
  const more = h('button', { type: 'button', class: 'btn', 'data-action': 'more', onclick: () => void load(false) }, 'Load more');

  const fillInstruments = (): void => {
    const names = store.instruments();
    if (filter.instrument && !names.includes(filter.instrument)) names.push(filter.instrument);
    replace(instrumentSel, h('option', { value: '' }, 'all instruments'), names.map((n) => h('option', { value: n, selected: n === filter.instrument }, n)));
  };
  fillInstruments();
  void api.classes().then((cs) => replace(classList, cs.map((c) => h('option', { value: c.name })))).catch(() => undefined);

  const readForm = (): ResultFilter => ({
    instrument: instrumentSel.value || undefined,
    class: classInput.value.trim() || undefined,
    labelled: labelledSel.value === 'yes' || labelledSel.value === 'no' ? labelledSel.value : undefined,
    text: textInput.value.trim() || undefined,
    from: localToIso(fromInput.value),
    to: localToIso(toInput.value),
    statuses: statusBoxes.map((l) => l.querySelector('input') as HTMLInputElement).filter((i) => i.checked).map((i) => i.value as ResultMessage['status']),
  });

  const form = h('form', { class: 'filters', role: 'search', onsubmit: (e) => { e.preventDefault(); apply(readForm()); } },
    h('label', { class: 'field' }, h('span', null, 'Instrument'), instrumentSel),
    h('label', { class: 'field' }, h('span', null, 'Class'), classInput, classList),
    h('label', { class: 'field' }, h('span', null, 'Labels'), labelledSel),
    h('label', { class: 'field' }, h('span', null, 'From'), fromInput),
    h('label', { class: 'field' }, h('span', null, 'To'), toInput),
    h('label', { class: 'field grow' }, h('span', null, 'Search'), textInput),
    h('div', { class: 'field statuses' }, h('span', null, 'Status'), h('div', { class: 'chip-row' }, statusBoxes)),
    h('div', { class: 'field actions' },
      h('button', { type: 'submit', class: 'btn btn-primary', 'data-action': 'search' }, 'Search'),
      h('button', { type: 'button', class: 'btn', 'data-action': 'reset', onclick: () => apply({}) }, 'Reset')));
  // Checkbox chips apply at once: it is the filter operators flip most.
  statusBoxes.forEach((l) => l.querySelector('input')?.addEventListener('change', () => apply(readForm())));
  instrumentSel.addEventListener('change', () => apply(readForm()));
  labelledSel.addEventListener('change', () => apply(readForm()));

  host.replaceChildren(h('section', { class: 'card' },
    h('header', { class: 'card-head' }, h('h2', null, 'History'), summary),
    form,
    h('div', { class: 'table-wrap' }, h('table', { class: 'results' },
      h('thead', null, h('tr', null, ['Received', 'Instrument', 'Status', 'Answer', 'Score', 'Source', 'Latency', 'Action'].map((t) => h('th', null, t)))),
      tbody)),
    h('footer', { class: 'card-foot' }, more)));

  function apply(next: ResultFilter): void {
    const q = filterToQuery(next);
    // Keeps the URL in step without a second render through the router.
    history.replaceState(null, '', `#/history${q ? `?${q}` : ''}`);
    filter = next;
    if (!Object.keys(next).some((k) => next[k as keyof ResultFilter] !== undefined)) {
      instrumentSel.value = '';
      labelledSel.value = '';
      classInput.value = '';
      textInput.value = '';
      fromInput.value = '';
      toInput.value = '';
      statusBoxes.forEach((l) => { (l.querySelector('input') as HTMLInputElement).checked = false; });
    }
    void load(true);
  }

  async function load(fresh: boolean): Promise<void> {
    if (loading && !fresh) return;
    loading = true;
    const mine = filter;
    if (fresh) {
      rows = [];
      cursor = undefined;
      summary.textContent = 'Loading…';
    }
    try {
      const page = await api.results(filter, { limit: PAGE, cursor });
      if (mine !== filter) return;
      offline = false;
      const seen = new Set(rows.map((r) => r.id));
      rows.push(...page.items.filter((r) => !seen.has(r.id)));
      cursor = page.nextCursor;
      summary.textContent = `${page.total ?? rows.length}${page.total === undefined && cursor ? '+' : ''} results`;
    } catch (e) {
      if (mine !== filter) return;
      // Without the results endpoint the page still searches what it received live.
      offline = true;
      rows = store.results.filter((r) => matchesFilter(r, filter));
      cursor = undefined;
      const why = e instanceof ApiError && e.notOffered ? 'the daemon offers no result history' : e instanceof Error ? e.message : String(e);
      summary.textContent = `${rows.length} results received by this page (${why})`;
    } finally {
      loading = false;
    }
    renderRows();
  }

  function renderRows(): void {
    more.hidden = !cursor;
    if (!rows.length) {
      replace(tbody, h('tr', null, h('td', { colspan: 8, class: 'empty-state' }, 'No results match this filter.')));
      return;
    }
    replace(tbody, rows.map((r) => h('tr', {
      // A labelled row takes the label's colour: it needs no one's attention any more.
      class: r.label ? 'st-label labelled' : `st-${statusTone(r.status)}`, 'data-result-id': r.id, 'data-status': r.status, tabindex: 0,
      onclick: () => ctx.openSpectrum(r.id),
      onkeydown: (e) => { if ((e as KeyboardEvent).key === 'Enter') ctx.openSpectrum(r.id); },
    },
    h('td', { class: 'num nowrap' }, formatTime(r.receivedAt)),
    h('td', null, r.instrument),
    h('td', null, statusPill(r.status)),
    h('td', { class: 'cls' }, r.label
      ? [h('b', null, r.label.class), ' ', labelChip(r), h('div', { class: 'muted model-said' }, `model: ${answerTitle(r)}`)]
      : answerTitle(r)),
    h('td', { class: 'num' }, r.status === 'rejected' ? '' : formatScore(r.score)),
    h('td', { class: 'src', title: r.source }, shortSource(r.source)),
    h('td', { class: 'num' }, formatLatency(r.latencyMs)),
    h('td', null, isLabellable(r.status) && !r.label ? h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'label', onclick: (e) => { e.stopPropagation(); ctx.labelResults([r.id]); } }, 'Label…') : null))));
  }

  const offResults = store.on('results', () => {
    fillInstrumentsIfNew();
    // New arrivals that match go on top of the first page; deeper pages are left as loaded.
    const fresh = store.results.slice(0, 20).filter((r) => matchesFilter(r, filter) && !rows.some((x) => x.id === r.id));
    if (!fresh.length || loading) return;
    const newest = rows[0] ? Date.parse(rows[0].receivedAt) : 0;
    const newer = fresh.filter((r) => Date.parse(r.receivedAt) >= newest);
    if (!newer.length) return;
    rows = [...newer, ...rows];
    if (offline) summary.textContent = `${rows.length} results received by this page`;
    renderRows();
  });
  // A label given or undone (here or on another dashboard): the rows shown change their answer column, and a
  // filter on labels may no longer hold for them.
  const offLabels = store.on('labels', () => {
    const change = store.lastLabelChange;
    if (!change || !rows.some((r) => change.spectrumIds.includes(r.id))) return;
    if (filter.labelled || filter.class) {
      void load(true);
      return;
    }
    rows = rows.map((r) => withLabelChange(r, change));
    renderRows();
  });
  let knownInstruments = store.instruments().join('|');
  function fillInstrumentsIfNew(): void {
    const now = store.instruments().join('|');
    if (now !== knownInstruments) {
      knownInstruments = now;
      fillInstruments();
    }
  }

  void load(true);
  return () => {
    offResults();
    offLabels();
  };
}
