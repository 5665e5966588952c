import type { AppContext } from '../context.ts';
import { download, h, replace, toast } from '../dom.ts';
import { exportFileName, toCsv, toJcamp, type ExportInput } from '../export.ts';
import { formatScore, shortSource } from '../format.ts';
import { errorLine, payloadExcerpt } from '../payload.ts';
import { SpectrumPlot } from '../plot.ts';
import { buildPlotModel, type PlotModel } from '../spectra.ts';
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
  private hit = 1;
  private current?: { record: SpectrumRecord; result?: ResultMessage };
  private generation = 0;
  private readonly hitsEl: HTMLElement;
  private readonly zoomHint: HTMLElement;
  private readonly zoomReset: HTMLButtonElement;
  private readonly textAlt: HTMLElement;
  private readonly plotHost: HTMLElement;
  private static nextId = 0;

  constructor(private readonly ctx: AppContext, height = 320) {
    const altId = `plot-text-${++SpectrumPanel.nextId}`;
    this.plotHost = h('div', { class: 'plot-host', role: 'img', 'aria-describedby': altId, 'aria-label': 'Spectrum plot' });
    this.note = h('span', { class: 'plot-note muted' });
    this.tools = h('div', { class: 'plot-tools' });
    this.hitsEl = h('span', { class: 'segmented hits', role: 'group', 'aria-label': 'Overlay hit', hidden: true });
    this.zoomHint = h('span', { class: 'zoom-hint muted', 'data-role': 'zoom-hint' }, 'Drag across the plot to zoom');
    this.zoomReset = h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'reset-zoom', disabled: true, title: 'Show the whole spectrum (double-click the plot, or 0)', onclick: () => this.resetZoom() }, 'Reset zoom');
    this.textAlt = h('div', { class: 'plot-text', id: altId, 'data-role': 'plot-text' });
    this.el = h('section', { class: 'spectrum-panel' },
      h('div', { class: 'plot-bar' }, this.hitsEl, h('span', { class: 'spacer' }), this.zoomHint, this.zoomReset),
      this.plotHost,
      h('footer', { class: 'plot-foot' }, this.note, this.tools),
      h('details', { class: 'plot-details' }, h('summary', null, 'Peaks and hits as text'), this.textAlt));
    this.plot = new SpectrumPlot(this.plotHost, height);
    this.plot.onZoom = (zoomed) => {
      this.zoomReset.disabled = !zoomed;
      this.zoomHint.textContent = zoomed ? 'Zoomed: double-click or Reset zoom to see it all' : 'Drag across the plot to zoom';
      this.el.dataset.zoomed = String(zoomed);
    };
    this.plot.empty('Waiting for a spectrum…');
  }

  /** Overlay hit n (1-3) of the spectrum shown, when it has one. */
  selectHit(n: number): void {
    if (!this.current || n === this.hit) return;
    this.hit = n;
    void this.draw(this.generation);
  }

  resetZoom(): void {
    this.plot.resetZoom();
  }

  /** Model input and raw data, in turn. */
  toggleView(): void {
    const record = this.current?.record;
    if (!record) return;
    const next = this.view === 'raw' ? 'preprocessed' : 'raw';
    if (next === 'raw' ? !record.raw : !record.preprocessed) return;
    this.view = next;
    void this.draw(this.generation);
  }

  async show(id: string, result?: ResultMessage): Promise<void> {
    const gen = ++this.generation;
    try {
      const record = await this.ctx.spectra.spectrum(id);
      if (gen !== this.generation) return;
      // A new spectrum starts at its best hit; the zoom stays (the operator is looking at a region).
      if (this.current?.record.id !== record.id) this.hit = 1;
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
    this.hitsEl.hidden = true;
    replace(this.textAlt, h('p', null, 'Rejected input: no curve to describe.'));
    if (!payload || payload.encoding !== 'utf8') {
      this.plot.empty(payload ? `Rejected input: ${payload.bytes} bytes of binary data` : 'Rejected input: nothing to plot');
      return;
    }
    const bad = errorLine(result?.error?.message);
    const ex = payloadExcerpt(payload.data, bad);
    this.plot.empty('');
    const host = this.plotHost;
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
    const model = await buildPlotModel(this.ctx.spectra, record, result, this.view, this.hit);
    if (gen !== this.generation) return;
    if (!model) {
      this.plot.empty('The daemon sent no data points for this spectrum');
      replace(this.tools);
      replace(this.textAlt);
      this.hitsEl.hidden = true;
      return;
    }
    this.plot.show(model.x, model.series, model.xLabel);
    this.note.textContent = model.overlayNote;
    this.plotHost.setAttribute('aria-label', `Spectrum plot. ${model.summary.slice(0, 2).join(' ')}`);
    replace(this.textAlt, h('ul', null, model.summary.map((line) => h('li', null, line))));
    this.renderHits(model.hits, model.hit);
    this.renderTools(record, result);
  }

  /** Hit 1, 2, 3 as a segmented switch, as vendor search software offers (keys 1-3 do the same). */
  private renderHits(hits: PlotModel['hits'], shown: number | undefined): void {
    this.hitsEl.hidden = hits.length < 1;
    replace(this.hitsEl, h('span', { class: 'muted seg-label' }, 'Overlay'), hits.map((hh) => h('button', {
      type: 'button', class: `seg ${hh.rank === shown ? 'on' : ''}`, 'data-hit': hh.rank, 'aria-pressed': String(hh.rank === shown),
      title: `Hit ${hh.rank}: ${hh.class}${hh.score !== undefined ? `, confidence ${formatScore(hh.score)}` : ''}${hh.correlation !== undefined ? `, correlation ${hh.correlation.toFixed(3)}` : ''} (key ${hh.rank})`,
      onclick: () => this.selectHit(hh.rank),
    }, `${hh.rank}: ${hh.class}`)));
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
