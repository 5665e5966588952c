import type { Api } from './api.ts';
import { mixtureModel, normalise, onGrid, xOf } from './plot-data.ts';
import type { PlotSeries } from './plot.ts';
import type { Curve, ResultMessage, SpectrumRecord } from './types.ts';

/**
 * Spectra and class references fetched from the API, cached (the live view re-plots the same few) and turned into
 * plot series: the measured spectrum, and over it the matched reference, or for a mixture the weighted sum of the
 * component references.
 */
export class SpectrumSource {
  private readonly spectra = new Map<string, Promise<SpectrumRecord>>();
  private readonly references = new Map<string, Promise<Curve | undefined>>();

  constructor(private readonly api: Api, private readonly capacity = 30) {}

  spectrum(id: string): Promise<SpectrumRecord> {
    let p = this.spectra.get(id);
    if (p) {
      // Refresh its place: most recently used last.
      this.spectra.delete(id);
      this.spectra.set(id, p);
      return p;
    }
    p = this.api.spectrum(id);
    p.catch(() => this.spectra.delete(id));
    this.spectra.set(id, p);
    while (this.spectra.size > this.capacity) this.spectra.delete(this.spectra.keys().next().value as string);
    return p;
  }

  reference(className: string, record?: SpectrumRecord): Promise<Curve | undefined> {
    if (record?.reference && record.reference.class === className) return Promise.resolve(record.reference);
    let p = this.references.get(className);
    if (!p) {
      p = this.api.reference(className).catch(() => undefined);
      this.references.set(className, p);
    }
    return p;
  }

  /** Forget cached spectra whose result changed (a label given or undone). */
  forgetSpectra(ids: readonly string[]): void {
    for (const id of ids) this.spectra.delete(id);
  }

  /** Forget cached references, e.g. after an enrollment changed a class. */
  forgetReferences(): void {
    this.references.clear();
  }
}

export interface PlotModel {
  readonly x: number[];
  readonly xLabel: string;
  readonly series: PlotSeries[];
  /** Which overlay was drawn, or why none was. */
  readonly overlayNote: string;
}

export const PLOT_COLORS = {
  measured: 'var(--plot-measured)',
  reference: '#e8590c',
  parts: ['#0ca678', '#ae3ec9', '#f59f00', '#1098ad', '#d6336c'],
} as const;

/** What to draw for one spectrum and its answer. `view` picks the preprocessed (model input) or raw curve. */
export async function buildPlotModel(
  source: SpectrumSource,
  record: SpectrumRecord,
  result: ResultMessage | undefined,
  view: 'preprocessed' | 'raw',
): Promise<PlotModel | undefined> {
  const curve = view === 'raw' ? record.raw ?? record.preprocessed : record.preprocessed ?? record.raw;
  if (!curve || curve.y.length === 0) return undefined;
  const x = xOf(curve);
  const xLabel = curve.x ? curve.xUnit ?? 'x' : 'point';
  const measuredY = normalise(curve.y);
  const series: PlotSeries[] = [{ label: 'measured', y: measuredY, color: PLOT_COLORS.measured, width: 1.5 }];
  let overlayNote = '';
  if (view === 'raw' && record.preprocessed && record.raw) {
    // References live on the model's grid; over the raw axis they would mislead.
    return { x, xLabel, series, overlayNote: 'References are overlaid in the model-input view' };
  }
  if (result?.status === 'mixture' && result.components?.length) {
    const refs = new Map<string, Curve>();
    await Promise.all(result.components.map(async (c) => {
      const ref = await source.reference(c.class, record);
      if (ref) refs.set(c.class, ref);
    }));
    if (refs.size) {
      const model = mixtureModel(result.components, refs, x);
      model.parts.forEach((p, i) => series.push({ label: `${p.class} × ${Math.round(p.fraction * 100)}%`, y: p.y, color: PLOT_COLORS.parts[i % PLOT_COLORS.parts.length], width: 1 }));
      series.push({ label: 'mixture model', y: model.sum, color: PLOT_COLORS.reference, width: 1.5, dash: [6, 4] });
      overlayNote = `Dashed: ${refs.size === result.components.length ? '' : 'partial '}mixture of the component references`;
    } else {
      overlayNote = 'No references available for the components';
    }
  } else {
    const cls = result?.class ?? result?.candidates[0]?.class;
    if (cls && result?.status !== 'rejected') {
      const ref = await source.reference(cls, record);
      if (ref) {
        series.push({ label: `reference ${cls}`, y: normalise(onGrid(ref, x)), color: PLOT_COLORS.reference, width: 1.25, dash: [6, 4] });
        overlayNote = result?.class ? `Dashed: reference of ${cls}` : `Dashed: closest class ${cls}`;
      } else {
        overlayNote = `No reference of ${cls} to overlay`;
      }
    }
  }
  return { x, xLabel, series, overlayNote };
}
