import { h, replace } from './dom.ts';

/** Natural order: class 2 before class 10, case and accents ignored (a library of 500 names reads as a list). */
export function naturalSort(names: readonly string[]): string[] {
  return [...names].sort((a, b) => a.localeCompare(b, undefined, { numeric: true, sensitivity: 'base' }));
}

/**
 * The names that match what was typed, best first: names that start with it, then names with a word that starts
 * with it, then names containing it; each group in natural order. Pure: tested in Node.
 */
export function matchClasses(names: readonly string[], typed: string, limit = 50): { items: string[]; more: number } {
  const q = typed.trim().toLowerCase();
  const sorted = naturalSort(names);
  if (!q) return { items: sorted.slice(0, limit), more: Math.max(0, sorted.length - limit) };
  const starts: string[] = [];
  const word: string[] = [];
  const inside: string[] = [];
  for (const n of sorted) {
    const l = n.toLowerCase();
    if (l.startsWith(q)) starts.push(n);
    else if (l.split(/[\s\-_/.,()]+/).some((w) => w.startsWith(q))) word.push(n);
    else if (l.includes(q)) inside.push(n);
  }
  const all = [...starts, ...word, ...inside];
  return { items: all.slice(0, limit), more: Math.max(0, all.length - limit) };
}

let pickers = 0;

/**
 * A text field with type-ahead over the library's classes (ARIA combobox with a list box): typing narrows the list,
 * arrows move, Enter picks, Escape closes. Free text stays allowed (a class may be a label not yet in the library).
 */
export function classPicker(opts: { name: string; value?: string; placeholder?: string; label: string; onPick?: (name: string) => void }): {
  el: HTMLElement;
  input: HTMLInputElement;
  setClasses(names: readonly string[]): void;
} {
  const id = `class-list-${++pickers}`;
  let names: string[] = [];
  let active = -1;
  let shown: string[] = [];
  const input = h('input', {
    type: 'search', name: opts.name, placeholder: opts.placeholder ?? 'type to search classes', value: opts.value ?? '', autocomplete: 'off',
    role: 'combobox', 'aria-autocomplete': 'list', 'aria-expanded': 'false', 'aria-controls': id, 'aria-label': opts.label,
  });
  const list = h('ul', { id, class: 'picker-list', role: 'listbox', 'aria-label': `${opts.label}: matching classes`, hidden: true });
  const el = h('div', { class: 'picker' }, input, list);

  const close = (): void => {
    list.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
    active = -1;
  };
  const pick = (name: string): void => {
    input.value = name;
    close();
    opts.onPick?.(name);
  };
  const render = (): void => {
    const { items, more } = matchClasses(names, input.value);
    shown = items;
    if (active >= items.length) active = items.length - 1;
    replace(list,
      items.map((n, i) => h('li', {
        id: `${id}-${i}`, role: 'option', class: i === active ? 'active' : '', 'aria-selected': String(i === active), 'data-class': n,
        // mousedown, not click: the field's blur would close the list first.
        onmousedown: (e) => { e.preventDefault(); pick(n); },
      }, n)),
      items.length === 0 ? h('li', { class: 'muted picker-note', role: 'presentation' }, names.length ? 'No class matches' : 'Classes not loaded') : null,
      more ? h('li', { class: 'muted picker-note', role: 'presentation', 'data-role': 'picker-more' }, `${more} more: keep typing to narrow`) : null);
    list.hidden = false;
    input.setAttribute('aria-expanded', 'true');
    if (active >= 0) {
      input.setAttribute('aria-activedescendant', `${id}-${active}`);
      document.getElementById(`${id}-${active}`)?.scrollIntoView({ block: 'nearest' });
    } else {
      input.removeAttribute('aria-activedescendant');
    }
  };
  input.addEventListener('input', () => { active = -1; render(); });
  input.addEventListener('focus', render);
  input.addEventListener('blur', close);
  input.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      if (list.hidden) render();
      const n = shown.length;
      if (!n) return;
      active = e.key === 'ArrowDown' ? (active + 1) % n : (active - 1 + n) % n;
      render();
    } else if (e.key === 'Enter' && !list.hidden && active >= 0) {
      e.preventDefault();
      pick(shown[active]);
    } else if (e.key === 'Escape' && !list.hidden) {
      e.preventDefault();
      e.stopPropagation();
      close();
    }
  });
  return {
    el,
    input,
    setClasses(next) {
      names = [...next];
      if (!list.hidden) render();
    },
  };
}
