import { ApiError } from '../api.ts';
import type { AppContext } from '../context.ts';
import { classPicker } from '../class-picker.ts';
import { frameThrottle, h, replace } from '../dom.ts';
import { exportUrl, filterFromQuery, filterToQuery, matchesFilter, type ResultFilter } from '../filter.ts';
import { withLabelChange } from '../labels.ts';
import { formatDateTime, formatLatency, formatScore, shortSource, zoneLabel } from '../format.ts';
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

/** Columns: header, the sort key a click on it sets (none: not sortable). */
const COLUMNS: ReadonlyArray<{ title: string; sort?: string }> = [
  { title: 'Received', sort: 'time' }, { title: 'Instrument', sort: 'instrument' }, { title: 'Status', sort: 'status' },
  { title: 'Answer', sort: 'class' }, { title: 'Score', sort: 'score' }, { title: 'Source' }, { title: 'Latency', sort: 'latency' }, { title: 'Action' },
];
/** Rows drawn beyond the visible ones, above and below, so a fast scroll does not show blanks. */
const OVERSCAN = 10;

/**
 * History: results filtered by instrument, class, status, time and free text, sorted by any column on the daemon,
 * with the daemon's total. The table is virtual: it holds a page of 100 rows per 100 the operator scrolls past and
 * draws only the rows in view, so 10 000 results cost a few dozen table rows. The filter and the order live in the
 * URL (#/history?status=unknown&sort=-score), so a view can be bookmarked; bulk export streams the whole filter.
 */
export function mountHistory(ctx: AppContext, host: HTMLElement, query: string): () => void {
  const { store, api } = ctx;
  let filter: ResultFilter = filterFromQuery(query);
  /** Pages of the current filter by page number (offset / PAGE), as the daemon answered them. */
  let pages = new Map<number, ResultMessage[]>();
  const inFlight = new Set<number>();
  let total = 0;
  /** Without the results API: what this page received, filtered here. */
  let offlineRows: ResultMessage[] | undefined;
  let generation = 0;
  let rowHeight = 37;
  let newer = 0;

  const instrumentSel = h('select', { name: 'instrument', 'aria-label': 'Instrument' });
  const picker = classPicker({ name: 'class', value: filter.class, label: 'Class', placeholder: 'any class', onPick: () => apply(readForm()) });
  const classInput = picker.input;
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
  const newerBtn = h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'show-newer', hidden: true, onclick: () => { scroller.scrollTop = 0; reload(); } });
  const csvLink = h('a', { class: 'btn btn-small', 'data-action': 'export-all-csv', download: '', title: 'Every result of this filter, in this order, as CSV (the daemon streams it)' }, 'Export CSV');
  const jsonLink = h('a', { class: 'btn btn-small', 'data-action': 'export-all-json', download: '', title: 'Every result of this filter, in this order, as JSON' }, 'Export JSON');
  const jcampLink = h('a', { class: 'btn btn-small', 'data-action': 'export-all-jcamp', download: '', title: 'Every spectrum of this filter, in this order, as one multi-block JCAMP-DX file (the model input; rejected files have none)' }, 'Export JCAMP-DX');
  const tbody = h('tbody');
  const theadRow = h('tr');
  const table = h('table', { class: 'results virtual', 'aria-rowcount': 0 }, h('thead', null, theadRow), tbody);
  const scroller = h('div', { class: 'table-wrap history-scroll', 'data-role': 'history-scroll', tabindex: 0, 'aria-label': 'Results' }, table);

  const fillInstruments = (): void => {
    const names = store.instruments();
    if (filter.instrument && !names.includes(filter.instrument)) names.push(filter.instrument);
    replace(instrumentSel, h('option', { value: '' }, 'all instruments'), names.map((n) => h('option', { value: n, selected: n === filter.instrument }, n)));
  };
  fillInstruments();
  void api.classes().then((cs) => picker.setClasses(cs.map((c) => c.name))).catch(() => undefined);

  const readForm = (): ResultFilter => ({
    instrument: instrumentSel.value || undefined,
    class: classInput.value.trim() || undefined,
    labelled: labelledSel.value === 'yes' || labelledSel.value === 'no' ? labelledSel.value : undefined,
    text: textInput.value.trim() || undefined,
    from: localToIso(fromInput.value),
    to: localToIso(toInput.value),
    statuses: statusBoxes.map((l) => l.querySelector('input') as HTMLInputElement).filter((i) => i.checked).map((i) => i.value as ResultMessage['status']),
    ...(filter.sort ? { sort: filter.sort } : {}),
  });

  const form = h('form', { class: 'filters', role: 'search', onsubmit: (e) => { e.preventDefault(); apply(readForm()); } },
    h('label', { class: 'field' }, h('span', null, 'Instrument'), instrumentSel),
    h('label', { class: 'field' }, h('span', null, 'Class'), picker.el),
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
    h('header', { class: 'card-head' }, h('h2', null, 'History'), summary, newerBtn, h('span', { class: 'spacer' }), csvLink, jsonLink, jcampLink),
    form,
    scroller));

  function renderHead(): void {
    const current = filter.sort ?? '-time';
    replace(theadRow, COLUMNS.map((c) => {
      if (!c.sort) return h('th', { scope: 'col' }, c.title);
      const dir = current === c.sort ? 'ascending' : current === `-${c.sort}` ? 'descending' : 'none';
      const title = c.sort === 'time' ? `Received (${zoneLabel()})` : c.title;
      return h('th', { scope: 'col', 'aria-sort': dir, 'data-sort': c.sort },
        h('button', {
          type: 'button', class: 'th-sort', 'data-action': `sort-${c.sort}`,
          title: `Sort by ${c.title.toLowerCase()}${dir === 'descending' ? ', ascending' : dir === 'ascending' ? ', descending' : ''}`,
          onclick: () => {
            // First click: the order operators want first (newest, best score, slowest); a second reverses it.
            const first = c.sort === 'instrument' || c.sort === 'status' || c.sort === 'class' ? c.sort : `-${c.sort}`;
            const next = current === first ? (first.startsWith('-') ? first.slice(1) : `-${first}`) : first;
            apply({ ...readForm(), sort: next === '-time' ? undefined : next });
          },
        }, title, h('span', { class: 'sort-mark', 'aria-hidden': 'true' }, dir === 'ascending' ? ' ▲' : dir === 'descending' ? ' ▼' : '')));
    }));
  }

  function updateExports(): void {
    csvLink.setAttribute('href', exportUrl(filter, 'csv'));
    jsonLink.setAttribute('href', exportUrl(filter, 'json'));
    jcampLink.setAttribute('href', exportUrl(filter, 'jcamp'));
    const off = offlineRows !== undefined;
    csvLink.hidden = off;
    jsonLink.hidden = off;
    jcampLink.hidden = off;
  }

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
    scroller.scrollTop = 0;
    reload();
  }

  /** Forget what was loaded and start again from the top (a new filter, order, or newer results). */
  function reload(): void {
    generation++;
    pages = new Map();
    inFlight.clear();
    offlineRows = undefined;
    total = 0;
    newer = 0;
    newerBtn.hidden = true;
    summary.textContent = 'Loading…';
    renderHead();
    updateExports();
    void loadPage(0);
  }

  async function loadPage(n: number): Promise<void> {
    if (pages.has(n) || inFlight.has(n) || offlineRows) return;
    const gen = generation;
    inFlight.add(n);
    try {
      const page = await api.results(filter, { limit: PAGE, offset: n * PAGE });
      if (gen !== generation) return;
      pages.set(n, [...page.items]);
      // An older daemon without total: count what is known, plus one page more while pages come full.
      total = page.total ?? Math.max(total, n * PAGE + page.items.length + (page.nextCursor ? PAGE : 0));
      renderSummary();
    } catch (e) {
      if (gen !== generation) return;
      // Without the results endpoint the page still searches what it received live.
      offlineRows = store.results.filter((r) => matchesFilter(r, filter));
      total = offlineRows.length;
      const why = e instanceof ApiError && e.notOffered ? 'the daemon offers no result history' : e instanceof Error ? e.message : String(e);
      summary.textContent = `${offlineRows.length} results received by this page (${why})`;
      updateExports();
    } finally {
      inFlight.delete(n);
    }
    renderRows();
  }

  function renderSummary(): void {
    if (offlineRows) return;
    summary.textContent = `${total.toLocaleString('en')} result${total === 1 ? '' : 's'}`;
  }

  function rowAt(i: number): ResultMessage | undefined {
    if (offlineRows) return offlineRows[i];
    return pages.get(Math.floor(i / PAGE))?.[i % PAGE];
  }

  const rowEl = (r: ResultMessage, index: number): HTMLElement => h('tr', {
    // A labelled row takes the label's colour: it needs no one's attention any more.
    class: r.label ? 'st-label labelled' : `st-${statusTone(r.status)}`, 'data-result-id': r.id, 'data-status': r.status, 'aria-rowindex': index + 2, tabindex: 0,
    onclick: () => ctx.openSpectrum(r.id),
    onkeydown: (e) => { if ((e as KeyboardEvent).key === 'Enter') ctx.openSpectrum(r.id); },
  },
  h('td', { class: 'num nowrap', title: r.receivedAt }, formatDateTime(r.receivedAt)),
  h('td', null, r.instrument),
  h('td', null, statusPill(r.status)),
  h('td', { class: 'cls' }, r.label
    ? [h('b', null, r.label.class), ' ', labelChip(r), h('div', { class: 'muted model-said' }, `model: ${answerTitle(r)}`)]
    : answerTitle(r)),
  h('td', { class: 'num' }, r.status === 'rejected' ? '' : formatScore(r.score)),
  h('td', { class: 'src', title: r.source }, shortSource(r.source)),
  h('td', { class: 'num' }, formatLatency(r.latencyMs)),
  h('td', null, isLabellable(r.status) && !r.label ? h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'label', onclick: (e) => { e.stopPropagation(); ctx.labelResults([r.id]); } }, 'Label…') : null));

  const spacerAbove = h('tr', { class: 'v-spacer', 'aria-hidden': 'true', 'data-role': 'above' }, h('td', { colspan: COLUMNS.length, style: 'height:0;padding:0;border:0' }));
  const spacerBelow = h('tr', { class: 'v-spacer', 'aria-hidden': 'true', 'data-role': 'below' }, h('td', { colspan: COLUMNS.length, style: 'height:0;padding:0;border:0' }));
  const spacer = (row: HTMLElement, px: number): HTMLElement => {
    (row.firstElementChild as HTMLElement).style.height = `${px}px`;
    return row;
  };
  /**
   * Rows drawn last time, by result: a row that stays in view keeps its element (a scroll moves rows, it does not
   * rebuild them), so focus, hover and a click in progress are not lost under the pointer.
   */
  let drawnRows = new Map<ResultMessage, HTMLElement>();

  /** Draws the rows in view (plus a margin) between two spacers that stand for the rest. */
  function renderRows(): void {
    table.setAttribute('aria-rowcount', String(total + 1));
    if (total === 0 && (offlineRows || pages.has(0))) {
      replace(tbody, h('tr', null, h('td', { colspan: COLUMNS.length, class: 'empty-state' }, 'No results match this filter.')));
      return;
    }
    const view = scroller.clientHeight || 600;
    const first = Math.max(0, Math.floor(scroller.scrollTop / rowHeight) - OVERSCAN);
    const last = Math.min(total, Math.ceil((scroller.scrollTop + view) / rowHeight) + OVERSCAN);
    for (let p = Math.floor(first / PAGE); p <= Math.floor(Math.max(first, last - 1) / PAGE); p++) void loadPage(p);
    const rows: HTMLElement[] = [];
    const kept = new Map<ResultMessage, HTMLElement>();
    for (let i = first; i < last; i++) {
      const r = rowAt(i);
      const had = r ? drawnRows.get(r) : undefined;
      if (r && had && had.getAttribute('aria-rowindex') === String(i + 2)) {
        kept.set(r, had);
        rows.push(had);
        continue;
      }
      // A row not fetched yet keeps the height of a drawn one, so the scroll position does not jump when it arrives.
      const el = r ? rowEl(r, i) : h('tr', { class: 'v-loading', 'aria-rowindex': i + 2 }, h('td', { colspan: COLUMNS.length, class: 'muted', style: `height:${rowHeight}px;padding-top:0;padding-bottom:0` }, 'Loading…'));
      if (r) kept.set(r, el);
      rows.push(el);
    }
    drawnRows = kept;
    const wanted = [spacer(spacerAbove, first * rowHeight), ...rows, spacer(spacerBelow, (total - last) * rowHeight)];
    // Only when the rows differ: moving the same elements again would still cost a layout per scroll frame.
    const now = Array.from(tbody.children);
    if (now.length !== wanted.length || now.some((el, i) => el !== wanted[i])) tbody.replaceChildren(...wanted);
    // Phones show rows as cards, and a label makes a row taller: the spacers follow the rows as drawn.
    const drawn = Array.from(tbody.querySelectorAll<HTMLElement>('tr[data-result-id]'));
    if (drawn.length) {
      const measured = drawn.reduce((sum, tr) => sum + tr.offsetHeight, 0) / drawn.length;
      if (measured > 0 && Math.abs(measured - rowHeight) > 1) {
        rowHeight = measured;
        requestAnimationFrame(renderRows);
      }
    }
  }
  const onScroll = frameThrottle(renderRows);
  scroller.addEventListener('scroll', onScroll);
  const resize = new ResizeObserver(onScroll);
  resize.observe(scroller);

  /** Newer results that match: at the top of a newest-first list they show at once, else a button offers them. */
  let newerTimer: ReturnType<typeof setTimeout> | undefined;
  const offResults = store.on('results', () => {
    fillInstrumentsIfNew();
    const fresh = store.results.slice(0, 20).filter((r) => matchesFilter(r, filter) && !rowsHave(r.id));
    if (!fresh.length) return;
    if (offlineRows) {
      offlineRows = [...fresh, ...offlineRows];
      total = offlineRows.length;
      summary.textContent = `${total} results received by this page`;
      renderRows();
      return;
    }
    if (filter.sort || scroller.scrollTop > rowHeight * 3) {
      newer += fresh.length;
      newerBtn.hidden = false;
      newerBtn.textContent = `${newer} newer: show`;
      return;
    }
    // At most once a second: at 25 spectra/s the first page is fetched again, not rebuilt per result.
    if (newerTimer) return;
    newerTimer = setTimeout(() => {
      newerTimer = undefined;
      const keep = generation;
      pages.delete(0);
      void loadPage(0).then(() => {
        if (keep !== generation) return;
        for (const p of [...pages.keys()]) if (p > 0) pages.delete(p);
        renderRows();
      });
    }, 1000);
  });
  function rowsHave(id: string): boolean {
    if (offlineRows) return offlineRows.some((r) => r.id === id);
    for (const p of pages.values()) if (p.some((r) => r.id === id)) return true;
    return false;
  }
  // A label given or undone (here or on another dashboard): the rows shown change their answer column, and a
  // filter on labels may no longer hold for them.
  const offLabels = store.on('labels', () => {
    const change = store.lastLabelChange;
    if (!change || !change.spectrumIds.some(rowsHave)) return;
    if (filter.labelled || filter.class) {
      reload();
      return;
    }
    if (offlineRows) offlineRows = offlineRows.map((r) => withLabelChange(r, change));
    for (const [n, p] of pages) pages.set(n, p.map((r) => withLabelChange(r, change)));
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

  reload();
  return () => {
    generation++;
    clearTimeout(newerTimer);
    resize.disconnect();
    offResults();
    offLabels();
  };
}
