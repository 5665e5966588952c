import type { AppContext } from '../context.ts';
import { download, h, replace, toast } from '../dom.ts';
import { exportFileName, toCsv, toJcamp, type ExportInput } from '../export.ts';
import { shortSource } from '../format.ts';
import { errorLine, payloadExcerpt } from '../payload.ts';
import { SpectrumPlot } from '../plot.ts';
import { buildPlotModel } from '../spectra.ts';
import type { ResultMessage, SpectrumRecord } from '../types.ts';

/**
 * A spectrum's plot with the reference overlaid, a switch between the model input and the raw data, and export.
 * show() may be called faster than spectra load (live view at 100/s): only the latest request is drawn.
 */
export class SpectrumPanel {
  readonly el: HTMLElement;
  private readonly plot: SpectrumPlot;
  private readonly note: HTMLElement;
  private readonly tools: HTMLElement;
  private view: 'preprocessed' | 'raw' = 'preprocessed';
  private current?: { record: SpectrumRecord; result?: ResultMessage };
  private generation = 0;

  constructor(private readonly ctx: AppContext, height = 320) {
    const plotHost = h('div', { class: 'plot-host' });
    this.note = h('span', { class: 'plot-note muted' });
    this.tools = h('div', { class: 'plot-tools' });
    this.el = h('section', { class: 'spectrum-panel' }, plotHost, h('footer', { class: 'plot-foot' }, this.note, this.tools));
    this.plot = new SpectrumPlot(plotHost, height);
    this.plot.empty('Waiting for a spectrum…');
  }

  async show(id: string, result?: ResultMessage): Promise<void> {
    const gen = ++this.generation;
    try {
      const record = await this.ctx.spectra.spectrum(id);
      if (gen !== this.generation) return;
      this.current = { record, result: result ?? record.result };
      if (!record.raw && !record.preprocessed) {
        this.showPayload(record, result ?? record.result);
        return;
      }
      await this.draw(gen);
    } catch (e) {
      if (gen !== this.generation) return;
      this.current = undefined;
      this.plot.empty(`Could not load the spectrum: ${e instanceof Error ? e.message : String(e)}`);
      this.note.textContent = '';
      replace(this.tools);
    }
  }

  /** Rejected input has no curve: show the text the daemon received, the offending line marked. */
  private showPayload(record: SpectrumRecord, result: ResultMessage | undefined): void {
    const payload = record.payload;
    this.note.textContent = '';
    replace(this.tools);
    if (!payload || payload.encoding !== 'utf8') {
      this.plot.empty(payload ? `Rejected input: ${payload.bytes} bytes of binary data` : 'Rejected input: nothing to plot');
      return;
    }
    const bad = errorLine(result?.error?.message);
    const ex = payloadExcerpt(payload.data, bad);
    this.plot.empty('');
    const host = this.el.querySelector('.plot-host') as HTMLElement;
    host.replaceChildren(h('div', { class: 'payload', 'data-role': 'payload' },
      h('div', { class: 'muted' }, `What the daemon received (${payload.bytes} bytes, ${ex.totalLines} lines)${bad ? `; line ${bad} is where reading stopped` : ''}`),
      h('pre', null,
        ex.before ? h('span', { class: 'muted' }, `… ${ex.before} lines above\n`) : null,
        ex.lines.map((l) => [h('span', { class: l.bad ? 'bad-line' : '' }, h('span', { class: 'ln' }, String(l.n).padStart(5)), ` ${l.text}`), '\n']),
        ex.after ? h('span', { class: 'muted' }, `… ${ex.after} lines below`) : null)));
    host.dataset.points = '0';
  }

  private async draw(gen: number): Promise<void> {
    if (!this.current) return;
    const { record, result } = this.current;
    const model = await buildPlotModel(this.ctx.spectra, record, result, this.view);
    if (gen !== this.generation) return;
    if (!model) {
      this.plot.empty('The daemon sent no data points for this spectrum');
      replace(this.tools);
      return;
    }
    this.plot.show(model.x, model.series, model.xLabel);
    this.note.textContent = model.overlayNote;
    this.renderTools(record, result);
  }

  private renderTools(record: SpectrumRecord, result: ResultMessage | undefined): void {
    const toggle = (view: 'preprocessed' | 'raw', label: string, available: boolean): HTMLElement =>
      h('button', {
        type: 'button', class: `seg ${this.view === view ? 'on' : ''}`, disabled: !available, 'aria-pressed': String(this.view === view),
        onclick: () => { this.view = view; void this.draw(this.generation); },
      }, label);
    const exportInput = (): ExportInput | undefined => {
      const curve = record.raw ?? record.preprocessed;
      if (!curve) return undefined;
      return { id: record.id, curve, title: result?.source ? shortSource(result.source) : record.id, result };
    };
    const save = (kind: 'csv' | 'jdx'): void => {
      const input = exportInput();
      if (!input) return;
      try {
        const text = kind === 'csv' ? toCsv(input) : toJcamp(input);
        download(exportFileName(input, kind), text, kind === 'csv' ? 'text/csv' : 'chemical/x-jcamp-dx');
      } catch (e) {
        toast(`Export failed: ${e instanceof Error ? e.message : String(e)}`, { tone: 'bad' });
      }
    };
    replace(this.tools,
      h('span', { class: 'segmented', role: 'group', 'aria-label': 'Curve' },
        toggle('preprocessed', 'Model input', Boolean(record.preprocessed)),
        toggle('raw', 'Raw', Boolean(record.raw))),
      h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'export-csv', title: 'Raw spectrum as CSV', onclick: () => save('csv') }, 'CSV'),
      h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'export-jdx', title: 'Raw spectrum as JCAMP-DX', onclick: () => save('jdx') }, 'JCAMP-DX'));
  }

  destroy(): void {
    this.generation++;
    this.plot.destroy();
  }
}
