import type { AppContext } from '../context.ts';
import { h, replace } from '../dom.ts';
import { isLabellable } from '../status.ts';
import type { ResultMessage } from '../types.ts';
import { renderAnswer } from './answer.ts';
import { SpectrumPanel } from './spectrum-panel.ts';

/** Any spectrum, opened from history, alerts or the feed: its answer, plot and export, in a modal. */
export function openSpectrumDialog(ctx: AppContext, id: string): void {
  document.querySelector('dialog.spectrum-dialog')?.remove();
  const panel = new SpectrumPanel(ctx, 360);
  const answerHost = h('div', { class: 'dialog-answer' }, h('p', { class: 'muted' }, 'Loading…'));
  const dialog = h('dialog', { class: 'dialog spectrum-dialog', 'aria-label': `Spectrum ${id}` },
    h('header', { class: 'dialog-head' },
      h('h2', null, 'Spectrum ', h('code', null, id)),
      h('button', { type: 'button', class: 'btn btn-ghost', 'aria-label': 'Close', 'data-action': 'close', onclick: () => dialog.close() }, '✕')),
    h('div', { class: 'dialog-body' }, answerHost, panel.el));
  dialog.addEventListener('close', () => {
    panel.destroy();
    dialog.remove();
  });
  document.body.appendChild(dialog);
  dialog.showModal();

  const known = ctx.store.result(id);
  const render = (r: ResultMessage | undefined): void => {
    if (!r) {
      replace(answerHost, h('p', { class: 'muted' }, 'No result recorded for this spectrum.'));
      return;
    }
    const actions = isLabellable(r.status)
      ? [h('button', { type: 'button', class: 'btn btn-primary', 'data-action': 'label', onclick: () => { dialog.close(); ctx.labelResults([r.id]); } }, 'Label…')]
      : [];
    replace(answerHost, renderAnswer(r, actions));
  };
  if (known) render(known);
  void panel.show(id, known).then(async () => {
    if (known) return;
    try {
      render((await ctx.spectra.spectrum(id)).result);
    } catch (e) {
      replace(answerHost, h('p', { class: 'form-error' }, e instanceof Error ? e.message : String(e)));
    }
  });
}
