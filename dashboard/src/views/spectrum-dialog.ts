import type { AppContext } from '../context.ts';
import { requireToken } from '../auth.ts';
import { h, replace, toast } from '../dom.ts';
import { formatTime, shortSource } from '../format.ts';
import { isLabellable } from '../status.ts';
import type { ResultMessage } from '../types.ts';
import { renderAnswer } from './answer.ts';
import { SpectrumPanel } from './spectrum-panel.ts';

/** The spectrum panel of the open dialog: keyboard shortcuts (hit 1-3, reset zoom) act on it before the live one. */
let activePanel: SpectrumPanel | undefined;
export function dialogPanel(): SpectrumPanel | undefined {
  return activePanel;
}

/** Any spectrum, opened from history, alerts or the feed: its answer, plot and export, in a modal, titled by its file. */
export function openSpectrumDialog(ctx: AppContext, id: string): void {
  document.querySelector('dialog.spectrum-dialog')?.remove();
  const panel = new SpectrumPanel(ctx, 360);
  const answerHost = h('div', { class: 'dialog-answer' }, h('p', { class: 'muted' }, 'Loading…'));
  const known = ctx.store.result(id);
  const titleEl = h('h2', { 'data-role': 'dialog-title' });
  const subtitle = h('span', { class: 'muted dialog-sub', 'data-role': 'dialog-sub' });
  /** Operators know a spectrum by its file (or topic), not by the daemon's id: the title says the file. */
  const setTitle = (source: string | undefined, fileTitle: string | undefined, r: ResultMessage | undefined): void => {
    const name = source ? shortSource(source) : fileTitle ?? `spectrum ${id}`;
    titleEl.textContent = name;
    titleEl.title = source ?? name;
    subtitle.textContent = [fileTitle && fileTitle !== name ? fileTitle : '', r?.instrument ?? '', r ? formatTime(r.receivedAt) : '', `id ${id}`].filter(Boolean).join(' · ');
    dialog.setAttribute('aria-label', `Spectrum ${name}`);
  };
  const dialog = h('dialog', { class: 'dialog spectrum-dialog', 'aria-label': 'Spectrum' },
    h('header', { class: 'dialog-head' },
      h('div', { class: 'dialog-titles' }, titleEl, subtitle),
      h('button', { type: 'button', class: 'btn btn-ghost', 'aria-label': 'Close', 'data-action': 'close', onclick: () => dialog.close() }, '✕')),
    h('div', { class: 'dialog-body' }, answerHost, panel.el));
  dialog.addEventListener('close', () => {
    if (activePanel === panel) activePanel = undefined;
    panel.destroy();
    dialog.remove();
  });
  setTitle(known?.source, undefined, known);
  document.body.appendChild(dialog);
  dialog.showModal();
  activePanel = panel;

  const render = (r: ResultMessage | undefined): void => {
    if (!r) {
      replace(answerHost, h('p', { class: 'muted' }, 'No result recorded for this spectrum.'));
      return;
    }
    const label = r.label;
    const actions = label
      ? [h('button', {
          type: 'button', class: 'btn', 'data-action': 'undo-label',
          title: 'Removes this labelling (every spectrum labelled with it) from the library again; the alerts it resolved open again',
          onclick: () => void undoLabel(label.enrollmentId, label.class),
        }, 'Undo label')]
      : isLabellable(r.status)
        ? [h('button', { type: 'button', class: 'btn btn-primary', 'data-action': 'label', onclick: () => { dialog.close(); ctx.labelResults([r.id]); } }, 'Label…')]
        : [];
    replace(answerHost, renderAnswer(r, actions));
  };
  const undoLabel = async (enrollmentId: string, cls: string): Promise<void> => {
    const token = await requireToken('Undoing a label removes its spectra from the library again.');
    if (!token) {
      toast('Not undone: sign in with the operator token first.', { tone: 'bad' });
      return;
    }
    try {
      await ctx.api.undoEnrollment(enrollmentId, token);
      ctx.spectra.forgetSpectra([id]);
      toast(`Label ${cls} undone.`, { tone: 'info' });
      render((await ctx.spectra.spectrum(id)).result);
    } catch (e) {
      toast(`Undo failed: ${e instanceof Error ? e.message : String(e)}`, { tone: 'bad' });
    }
  };
  if (known) render(known);
  // The record from the API is the fresher answer (it carries a label given since the page received the result).
  void panel.show(id, known).then(async () => {
    try {
      const record = await ctx.spectra.spectrum(id);
      setTitle(record.source ?? record.result?.source ?? known?.source, record.title, record.result ?? known);
      render(record.result ?? known);
    } catch (e) {
      if (!known) replace(answerHost, h('p', { class: 'form-error' }, e instanceof Error ? e.message : String(e)));
    }
  });
}
