import { ApiError, newIdempotencyKey } from '../api.ts';
import { matchClasses, naturalSort } from '../class-picker.ts';
import { askForToken, clearToken, requireToken } from '../auth.ts';
import type { AppContext } from '../context.ts';
import { h, replace, toast } from '../dom.ts';
import { formatScore, formatTime, shortSource } from '../format.ts';
import { classNameProblem, existingClass, withLabelChange } from '../labels.ts';
import { isLabellable, LABELLABLE_STATUSES } from '../status.ts';
import type { EnrollResponse, ResultMessage } from '../types.ts';
import { statusPill } from './answer.ts';

interface Enrollment extends EnrollResponse {
  readonly ids: readonly string[];
  readonly at: string;
  undone?: boolean;
}

/** This tab's enrollments, newest first, so Undo stays reachable after switching views. */
const enrollments: Enrollment[] = [];
/** Spectra labelled in this tab: they leave the list at once, before the daemon's history catches up. */
const labelled = new Set<string>();

/**
 * Labelling: pick unknown or low-confidence spectra, name a new class or choose an existing one, enroll. Sending
 * needs the operator token; without it nothing is sent. Each enrollment can be undone.
 */
export function mountLabel(ctx: AppContext, host: HTMLElement, query: string): () => void {
  const { store, api } = ctx;
  const preselected = new Set((new URLSearchParams(query).get('ids') ?? '').split(',').filter(Boolean));
  const selected = new Set<string>(preselected);
  let rows: ResultMessage[] = [];
  let classes: string[] = [];
  let busy = false;

  const tbody = h('tbody');
  const selectAll = h('input', { type: 'checkbox', 'aria-label': 'Select all', 'data-action': 'select-all' });
  const count = h('b', { class: 'num', 'data-role': 'selected-count' }, '0');
  const byInput = h('input', { type: 'text', name: 'labelled-by', placeholder: 'your name', maxlength: 100, autocomplete: 'name', value: operatorName(), 'aria-label': 'Your name (shown with the label)' });
  byInput.addEventListener('change', () => rememberOperatorName(byInput.value));
  const nameInput = h('input', { type: 'text', name: 'class-name', placeholder: 'e.g. caffeine', maxlength: 100, autocomplete: 'off', 'aria-label': 'New class name' });
  const existingSel = h('select', { name: 'existing-class', 'aria-label': 'Existing class' });
  /** Type-ahead over 500 classes: narrows the list below to the names that match, best first. */
  const classSearch = h('input', { type: 'search', name: 'class-search', placeholder: 'search classes', autocomplete: 'off', 'aria-label': 'Search existing classes', 'aria-controls': 'existing-class' });
  existingSel.id = 'existing-class';
  const modeNew = h('input', { type: 'radio', name: 'mode', value: 'new', checked: true });
  const modeExisting = h('input', { type: 'radio', name: 'mode', value: 'existing' });
  const problem = h('p', { class: 'form-error', role: 'alert', 'data-role': 'label-problem' });
  const enrollBtn = h('button', { type: 'submit', class: 'btn btn-primary', 'data-action': 'enroll' }, 'Enroll');
  const history = h('ul', { class: 'enrollments' });
  const source = h('span', { class: 'muted' });

  const form = h('form', { class: 'label-bar', onsubmit: (e) => { e.preventDefault(); void enroll(); } },
    h('div', { class: 'label-count' }, count, ' selected'),
    h('label', { class: 'radio' }, modeNew, ' New class ', nameInput),
    h('label', { class: 'radio' }, modeExisting, ' Existing class ', classSearch, existingSel),
    h('label', { class: 'by', title: 'Shown with the label in History, so others know who said what it is' }, 'by ', byInput),
    enrollBtn,
    problem);
  nameInput.addEventListener('focus', () => { modeNew.checked = true; });
  existingSel.addEventListener('change', () => { modeExisting.checked = true; });
  classSearch.addEventListener('focus', () => { modeExisting.checked = true; });
  classSearch.addEventListener('input', () => {
    fillClasses();
    // One match left: it is chosen, as a type-ahead would.
    if (existingSel.options.length === 2) existingSel.selectedIndex = 1;
  });

  host.replaceChildren(
    h('section', { class: 'card' },
      h('header', { class: 'card-head' }, h('h2', null, 'Label spectra'), source),
      h('p', { class: 'muted intro' }, 'Unknown, low-confidence and mixture answers. Select spectra of one compound, name it, and enroll: the class joins the library at once and the next spectrum of it is identified. Enrolling needs the operator token.'),
      form,
      h('div', { class: 'table-wrap' }, h('table', { class: 'results selectable' },
        h('thead', null, h('tr', null, h('th', null, selectAll), ...['Received', 'Instrument', 'Status', 'Answer or closest class', 'Score', 'Source', 'Action'].map((t) => h('th', null, t)))),
        tbody))),
    h('section', { class: 'card' }, h('header', { class: 'card-head' }, h('h2', null, 'Enrolled in this session')), history));

  selectAll.addEventListener('change', () => {
    if (selectAll.checked) rows.forEach((r) => selected.add(r.id));
    else selected.clear();
    showSelection();
  });

  function visibleRows(): ResultMessage[] {
    return rows.filter((r) => !labelled.has(r.id) && !r.label);
  }

  function showCount(list: readonly ResultMessage[]): void {
    count.textContent = String(list.filter((r) => selected.has(r.id)).length);
    selectAll.checked = list.length > 0 && list.every((r) => selected.has(r.id));
  }

  /**
   * A selection change marks the rows in place: rebuilding 200 rows on each click was a 260 ms main-thread task
   * (test/dashboard/long-tasks.test.ts).
   */
  function showSelection(): void {
    tbody.querySelectorAll<HTMLTableRowElement>('tr[data-result-id]').forEach((tr) => {
      const on = selected.has(tr.dataset.resultId ?? '');
      tr.classList.toggle('selected', on);
      const box = tr.querySelector('input[data-action="select"]') as HTMLInputElement | null;
      if (box) box.checked = on;
    });
    showCount(visibleRows());
  }

  function renderRows(): void {
    const list = visibleRows();
    showCount(list);
    if (!list.length) {
      replace(tbody, h('tr', null, h('td', { colspan: 8, class: 'empty-state' }, 'No unknown, low-confidence or mixture answers to label.')));
      return;
    }
    replace(tbody, list.map((r) => {
      const box = h('input', { type: 'checkbox', 'aria-label': `Select ${r.id}`, checked: selected.has(r.id), 'data-action': 'select' });
      box.addEventListener('change', () => {
        if (box.checked) selected.add(r.id);
        else selected.delete(r.id);
        showSelection();
      });
      return h('tr', { 'data-result-id': r.id, class: selected.has(r.id) ? 'selected' : '' },
        h('td', null, box),
        h('td', { class: 'num nowrap' }, formatTime(r.receivedAt)),
        h('td', null, r.instrument),
        h('td', null, statusPill(r.status)),
        h('td', { class: 'cls' }, r.status === 'mixture' ? (r.components ?? []).map((c) => c.class).join(' + ') : r.candidates[0]?.class ?? '—'),
        h('td', { class: 'num' }, formatScore(r.score)),
        h('td', { class: 'src', title: r.source }, shortSource(r.source)),
        h('td', null, h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'open', onclick: () => ctx.openSpectrum(r.id) }, 'Open')));
    }));
  }

  function renderHistory(): void {
    if (!enrollments.length) {
      replace(history, h('li', { class: 'muted' }, 'Nothing enrolled yet.'));
      return;
    }
    replace(history, enrollments.map((en) => h('li', { class: en.undone ? 'undone' : '', 'data-enrollment': en.enrollmentId ?? '' },
      h('span', null, `${en.added} spectr${en.added === 1 ? 'um' : 'a'} → `, h('b', null, en.class), en.created ? ' (new class)' : '', en.undone ? ' — undone' : ''),
      h('span', { class: 'muted' }, ` ${formatTime(en.at)} `),
      !en.undone ? h('button', {
        type: 'button', class: 'btn btn-small', 'data-action': 'undo', disabled: !en.enrollmentId,
        title: en.enrollmentId ? 'Remove these references from the library again' : 'The daemon gave no enrollment id to undo',
        onclick: () => void undo(en),
      }, 'Undo') : null)));
  }

  function fillClasses(): void {
    const keep = existingSel.value;
    const { items, more } = matchClasses(classes, classSearch.value, Math.max(1, classes.length));
    const n = items.length + more;
    const head = !classes.length ? 'no classes yet' : classSearch.value.trim() ? `${n} ${n === 1 ? 'match' : 'matches'}…` : `choose (${classes.length} classes)…`;
    replace(existingSel, h('option', { value: '' }, head), items.map((c) => h('option', { value: c, selected: c === keep }, c)));
  }

  async function loadClasses(): Promise<void> {
    try {
      classes = naturalSort((await api.classes()).map((c) => c.name));
    } catch {
      classes = [];
    }
    fillClasses();
  }

  async function loadRows(): Promise<void> {
    const live = store.results.filter((r) => isLabellable(r.status));
    try {
      const page = await api.results({ statuses: [...LABELLABLE_STATUSES], labelled: 'no' }, { limit: 200 });
      const ids = new Set(page.items.map((r) => r.id));
      rows = [...live.filter((r) => !ids.has(r.id)), ...page.items];
      source.textContent = '';
    } catch {
      rows = live;
      source.textContent = 'showing spectra received by this page (the history API did not answer)';
    }
    // Spectra opened for labelling from elsewhere are listed even when older than the page fetched.
    for (const id of preselected) {
      if (!rows.some((r) => r.id === id)) {
        const r = store.result(id) ?? (await ctx.spectra.spectrum(id).then((s) => s.result).catch(() => undefined));
        if (r) rows.unshift(r);
      }
    }
    rows.sort((a, b) => Date.parse(b.receivedAt) - Date.parse(a.receivedAt));
    renderRows();
  }

  /** The token, asking again (once) after the daemon refused the stored one. */
  async function withToken<T>(why: string, action: (token: string) => Promise<T>): Promise<T | undefined> {
    let token = await requireToken(why);
    for (let attempt = 0; attempt < 2; attempt++) {
      if (!token) {
        problem.textContent = 'Not sent: labelling needs the operator token. Sign in and try again.';
        return undefined;
      }
      try {
        return await action(token);
      } catch (e) {
        if (e instanceof ApiError && e.refused && attempt === 0) {
          clearToken();
          token = await askForToken(why, 'The daemon refused that token.');
          continue;
        }
        throw e;
      }
    }
    problem.textContent = 'The daemon refused the token.';
    return undefined;
  }

  async function enroll(): Promise<void> {
    if (busy) return;
    problem.textContent = '';
    const ids = visibleRows().filter((r) => selected.has(r.id)).map((r) => r.id);
    if (!ids.length) {
      problem.textContent = 'Select at least one spectrum.';
      return;
    }
    let name: string;
    if (modeExisting.checked) {
      name = existingSel.value;
      if (!name) {
        problem.textContent = 'Choose the existing class.';
        return;
      }
    } else {
      const bad = classNameProblem(nameInput.value);
      if (bad) {
        problem.textContent = bad;
        return;
      }
      // A typed name that matches an existing class joins it rather than creating a near-duplicate.
      name = existingClass(nameInput.value, classes) ?? nameInput.value.trim();
    }
    busy = true;
    enrollBtn.disabled = true;
    try {
      // One key for this enrollment, kept across the token prompt's retries: the daemon enrolls it at most once.
      const idempotencyKey = newIdempotencyKey();
      const res = await withToken('Enrolling changes the reference library that every instrument uses.', (token) =>
        api.enroll({ name, spectrumIds: ids, by: byInput.value.trim() || undefined, idempotencyKey }, token),
      );
      if (!res) return;
      const entry: Enrollment = { ...res, ids, at: new Date().toISOString() };
      enrollments.unshift(entry);
      ids.forEach((id) => { labelled.add(id); selected.delete(id); });
      ctx.spectra.forgetReferences();
      nameInput.value = '';
      renderRows();
      renderHistory();
      void loadClasses();
      toast(`Enrolled ${res.added} spectr${res.added === 1 ? 'um' : 'a'} as ${res.class}${res.created ? ' (new class)' : ''}.`, {
        tone: 'ok',
        action: res.enrollmentId ? { label: 'Undo', run: () => void undo(entry) } : undefined,
      });
    } catch (e) {
      problem.textContent = `Enrollment failed: ${e instanceof Error ? e.message : String(e)}`;
    } finally {
      busy = false;
      enrollBtn.disabled = false;
    }
  }

  async function undo(en: Enrollment): Promise<void> {
    if (!en.enrollmentId || en.undone) return;
    problem.textContent = '';
    try {
      const done = await withToken('Undoing removes these references from the library again.', async (token) => {
        await api.undoEnrollment(en.enrollmentId as string, token);
        return true;
      });
      if (!done) return;
      en.undone = true;
      en.ids.forEach((id) => labelled.delete(id));
      ctx.spectra.forgetReferences();
      renderHistory();
      await loadRows();
      void loadClasses();
      toast(`Undone: ${en.class} no longer holds those ${en.added} spectra.`, { tone: 'info' });
    } catch (e) {
      toast(`Undo failed: ${e instanceof Error ? e.message : String(e)}`, { tone: 'bad' });
    }
  }

  const offResults = store.on('results', () => {
    const fresh = store.results.slice(0, 20).filter((r) => isLabellable(r.status) && !r.label && !rows.some((x) => x.id === r.id));
    if (!fresh.length) return;
    rows = [...fresh, ...rows];
    renderRows();
  });
  // Labelled on another dashboard: those rows leave; an undo anywhere brings its spectra back.
  const offLabels = store.on('labels', () => {
    const change = store.lastLabelChange;
    if (!change) return;
    if (change.kind === 'unlabelled') {
      change.spectrumIds.forEach((id) => labelled.delete(id));
      void loadRows();
      return;
    }
    rows = rows.map((r) => withLabelChange(r, change));
    change.spectrumIds.forEach((id) => selected.delete(id));
    renderRows();
  });

  fillClasses();
  renderHistory();
  renderRows();
  void loadClasses();
  void loadRows();
  return () => {
    offResults();
    offLabels();
  };
}

const NAME_KEY = 'spectrad.operatorName';

function operatorName(): string {
  try {
    return localStorage.getItem(NAME_KEY) ?? '';
  } catch {
    return '';
  }
}

function rememberOperatorName(name: string): void {
  try {
    localStorage.setItem(NAME_KEY, name.trim());
  } catch {
    // Storage disabled: the name is asked again next time.
  }
}
