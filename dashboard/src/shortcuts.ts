import type { AppContext } from './context.ts';
import { h } from './dom.ts';
import { isLabellable } from './status.ts';
import { dialogPanel } from './views/spectrum-dialog.ts';
import { currentLive } from './views/live.ts';

/**
 * Keyboard shortcuts for the operator loop: watch, pause, acknowledge, look at the hits, label. `?` lists them.
 * Keys typed into a field, or with Ctrl/Alt/Meta, are left alone.
 */
export const SHORTCUTS: ReadonlyArray<{ keys: string; what: string }> = [
  { keys: '?', what: 'this list' },
  { keys: 'g then l / a / h / e / m / i', what: 'go to Live, Alerts, History, Label, Models, Instruments' },
  { keys: 'p or Space', what: 'Live: pause or resume the answer card' },
  { keys: 'a', what: 'Live: acknowledge the alert held on the card' },
  { keys: 'n', what: 'Live: show the newest again (release a held alert or a pause)' },
  { keys: 'j / k', what: 'Live: next older / newer arrival (the arrow keys still scroll the page)' },
  { keys: 'o or Enter', what: 'Live: open the spectrum of the card' },
  { keys: 'l', what: 'Live: label the spectrum of the card' },
  { keys: '1 / 2 / 3', what: 'spectrum: overlay hit 1, 2 or 3' },
  { keys: '0', what: 'spectrum: reset the zoom (or double-click the plot)' },
  { keys: 'r', what: 'spectrum: switch between model input and raw data' },
  { keys: '/', what: 'History and Alerts: to the first filter field' },
  { keys: 'Esc', what: 'close a dialog or this list' },
];

const GO: Readonly<Record<string, string>> = { l: '#/live', a: '#/alerts', h: '#/history', e: '#/label', m: '#/retrain', i: '#/instruments' };

function typing(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el) return false;
  const tag = el.tagName;
  return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || el.isContentEditable;
}

export function openShortcutHelp(): void {
  const existing = document.querySelector<HTMLDialogElement>('dialog.shortcut-help');
  if (existing) {
    existing.close();
    return;
  }
  const dialog = h('dialog', { class: 'dialog shortcut-help', 'aria-labelledby': 'shortcut-title' },
    h('header', { class: 'dialog-head' },
      h('h2', { id: 'shortcut-title' }, 'Keyboard shortcuts'),
      h('button', { type: 'button', class: 'btn btn-ghost', 'aria-label': 'Close', 'data-action': 'close', onclick: () => dialog.close() }, '✕')),
    h('div', { class: 'dialog-body' },
      h('table', { class: 'shortcut-table' },
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Keys'), h('th', { scope: 'col' }, 'What they do'))),
        h('tbody', null, SHORTCUTS.map((s) => h('tr', null, h('td', null, h('kbd', null, s.keys)), h('td', null, s.what)))))));
  dialog.addEventListener('close', () => dialog.remove());
  document.body.appendChild(dialog);
  dialog.showModal();
}

export function installShortcuts(ctx: AppContext): void {
  let pendingG = 0;
  document.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented || typing(e.target)) return;
    const key = e.key;
    const now = Date.now();
    if (pendingG && now - pendingG < 1500 && GO[key]) {
      pendingG = 0;
      e.preventDefault();
      ctx.navigate(GO[key]);
      return;
    }
    pendingG = 0;
    if (key === '?') {
      e.preventDefault();
      openShortcutHelp();
      return;
    }
    // An open modal (spectrum, token prompt, this list) takes the keys it knows; the view behind it gets none.
    const modalOpen = document.querySelector('dialog[open]');
    const panel = dialogPanel() ?? (modalOpen ? undefined : currentLive()?.panel);
    if (panel && (key === '1' || key === '2' || key === '3')) {
      e.preventDefault();
      panel.selectHit(Number(key));
      return;
    }
    if (panel && key === '0') {
      e.preventDefault();
      panel.resetZoom();
      return;
    }
    if (panel && key === 'r') {
      e.preventDefault();
      panel.toggleView();
      return;
    }
    if (modalOpen) return;
    if (key === 'g') {
      pendingG = now;
      return;
    }
    if (key === '/') {
      const field = document.querySelector<HTMLElement>('#view form input, #view form select, #view .alert-filters select');
      if (field) {
        e.preventDefault();
        field.focus();
      }
      return;
    }
    const live = currentLive();
    if (!live) return;
    // Enter on a focused feed row or button does what it says there, not the card's action.
    const onControl = (e.target as HTMLElement | null)?.closest?.('button, a, li[data-result-id], summary');
    switch (key) {
      case 'p':
      case ' ':
        if (key === ' ' && onControl) return;
        e.preventDefault();
        live.togglePause();
        break;
      case 'a':
        e.preventDefault();
        live.acknowledgeHeld();
        break;
      case 'n':
        e.preventDefault();
        live.release();
        break;
      case 'j':
        e.preventDefault();
        live.move(1);
        break;
      case 'k':
        e.preventDefault();
        live.move(-1);
        break;
      case 'o':
      case 'Enter': {
        if (key === 'Enter' && onControl) return;
        const r = live.selected();
        if (r) {
          e.preventDefault();
          ctx.openSpectrum(r.id);
        }
        break;
      }
      case 'l': {
        const r = live.selected();
        if (r && isLabellable(r.status) && !r.label) {
          e.preventDefault();
          ctx.labelResults([r.id]);
        }
        break;
      }
      default:
    }
  });
}
