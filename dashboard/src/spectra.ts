import type { Api } from './api.ts';
import { axisLabel, findPeaks, fitScale, maxAbs, mixtureModel, normalise, onGrid, residual, scaled, stack, xOf } from './plot-data.ts';
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
  /** The hits the operator can overlay (1, 2, 3), and which one is drawn. */
  readonly hits: ReadonlyArray<{ rank: number; class: string; score?: number; correlation?: number }>;
  readonly hit?: number;
  /** The plot in words, for screen readers and anyone who wants the numbers: peaks, hits, residual. */
  readonly summary: string[];
}

export const PLOT_COLORS = {
  measured: 'var(--plot-measured)',
  reference: '#e8590c',
  residual: '#868e96',
  parts: ['#0ca678', '#ae3ec9', '#f59f00', '#1098ad', '#d6336c'],
} as const;

/** Hex colour with an alpha: the stacked bands let the spectrum show through. */
const translucent = (hex: string): string => `${hex}59`;

function fmtX(v: number): string {
  return Math.abs(v) >= 100 ? String(Math.round(v)) : v.toFixed(2).replace(/\.?0+$/, '');
}

function unitOf(label: string): string {
  const m = /\(([^)]+)\)$/.exec(label);
  return m && m[1] !== 'index' ? ` ${m[1]}` : '';
}

function residualWords(res: ReadonlyArray<number | null>): string {
  const m = maxAbs(res);
  let ss = 0;
  let n = 0;
  for (const v of res) if (v !== null) { ss += v * v; n++; }
  return `Residual: largest ${(m * 100).toFixed(0)}% of the spectrum's maximum, RMS ${(Math.sqrt(ss / Math.max(1, n)) * 100).toFixed(1)}%.`;
}

/**
 * What to draw for one spectrum and its answer. `view` picks the preprocessed (model input) or raw curve; `hit`
 * which candidate's library spectrum is overlaid (1-3), with the residual under it.
 */
export async function buildPlotModel(
  source: SpectrumSource,
  record: SpectrumRecord,
  result: ResultMessage | undefined,
  view: 'preprocessed' | 'raw',
  hit = 1,
): Promise<PlotModel | undefined> {
  const curve = view === 'raw' ? record.raw ?? record.preprocessed : record.preprocessed ?? record.raw;
  if (!curve || curve.y.length === 0) return undefined;
  const x = xOf(curve);
  const xLabel = axisLabel(curve.xUnit, Boolean(curve.x));
  const measuredY = normalise(curve.y);
  const series: PlotSeries[] = [{ label: 'measured', y: measuredY, color: PLOT_COLORS.measured, width: 1.5 }];
  const peaks = findPeaks(x, measuredY);
  const unit = unitOf(xLabel);
  const summary: string[] = [
    `${view === 'raw' ? 'Raw data' : 'Model input'}: ${x.length} points from ${fmtX(Math.min(x[0], x[x.length - 1]))} to ${fmtX(Math.max(x[0], x[x.length - 1]))}${unit}.`,
    peaks.length ? `Strongest peaks at ${peaks.map((p) => `${fmtX(p.x)} (${Math.round(p.y * 100)}%)`).join(', ')}${unit}.` : 'No distinct peaks.',
  ];
  const hitsOffered = (record.hits ?? []).map((hh) => ({ rank: hh.rank, class: hh.class, score: hh.score, correlation: hh.correlation }));
  const fallbackHits = (result?.candidates ?? []).slice(0, 3).map((c, i) => ({ rank: i + 1, class: c.class, score: c.score as number | undefined, correlation: undefined as number | undefined }));
  const hits = result?.status === 'rejected' || result?.status === 'mixture' ? [] : hitsOffered.length ? hitsOffered : fallbackHits;
  let overlayNote = '';
  if (view === 'raw' && record.preprocessed && record.raw) {
    // References live on the model's grid; over the raw axis they would mislead.
    return { x, xLabel, series, overlayNote: 'References are overlaid in the model-input view', hits, summary };
  }
  if (result?.status === 'mixture' && result.components?.length) {
    const refs = new Map<string, Curve>();
    await Promise.all(result.components.map(async (c) => {
      const ref = await source.reference(c.class, record);
      if (ref) refs.set(c.class, ref);
    }));
    if (refs.size) {
      const model = mixtureModel(result.components, refs, x);
      const a = fitScale(measuredY, model.sum) || 1;
      const parts = model.parts.map((p) => scaled(p.y, a));
      const sum = scaled(model.sum, a);
      // Components on the same peaks stay apart: each is a band stacked on the ones below, the top edge the model.
      stack(parts).forEach((cum, i) => {
        const p = model.parts[i];
        const color = PLOT_COLORS.parts[i % PLOT_COLORS.parts.length];
        series.push({ label: `${p.class} × ${Math.round(p.fraction * 100)}%`, y: cum, color, width: 1, fill: translucent(color), stackBelow: i === 0 ? undefined : series.length - 1, legendY: parts[i] });
      });
      series.push({ label: 'mixture model', y: sum, color: PLOT_COLORS.reference, width: 1.5, dash: [6, 4] });
      const res = residual(measuredY, sum);
      series.push({ label: 'residual', y: res, color: PLOT_COLORS.residual, width: 1, scale: 'residual' });
      overlayNote = `Stacked bands: the components' references weighted by their shares${refs.size === result.components.length ? '' : ' (partial: some references missing)'}; dashed: their sum; grey band below: measured minus the model`;
      summary.push(`Mixture model: ${model.parts.map((p) => `${p.class} ${Math.round(p.fraction * 100)}%`).join(', ')}${result.fitQuality !== undefined ? `; it explains ${Math.round(result.fitQuality * 100)}% of the signal` : ''}.`, residualWords(res));
    } else {
      overlayNote = 'No references available for the components';
    }
    return { x, xLabel, series, overlayNote, hits, summary };
  }
  summary.push(...hits.map((hh) => `Hit ${hh.rank}: ${hh.class}${hh.score !== undefined ? `, confidence ${(hh.score * 100).toFixed(1)}%` : ''}${hh.correlation !== undefined ? `, correlation ${hh.correlation.toFixed(3)}` : ''}.`));
  const chosen = hits.find((hh) => hh.rank === hit) ?? hits[0];
  if (chosen) {
    const served = record.hits?.find((hh) => hh.rank === chosen.rank);
    const ref: Curve | undefined = served && record.preprocessed
      ? { x: record.preprocessed.x, y: served.y }
      : await source.reference(chosen.class, record);
    if (ref) {
      const refY = normalise(onGrid(ref, x));
      const a = fitScale(measuredY, refY) || 1;
      const overlay = scaled(refY, a);
      series.push({ label: `reference ${chosen.class}`, y: overlay, color: PLOT_COLORS.reference, width: 1.25, dash: [6, 4] });
      const res = residual(measuredY, overlay);
      series.push({ label: 'residual', y: res, color: PLOT_COLORS.residual, width: 1, scale: 'residual' });
      const what = result?.status === 'unknown' ? 'closest class' : `hit ${chosen.rank}`;
      overlayNote = `Dashed: ${what} ${chosen.class}${served ? ' (its nearest library spectrum)' : ' (class reference)'}, scaled to the spectrum; grey band below: the residual`;
      summary.push(`Overlaid: hit ${chosen.rank}, ${chosen.class}.`, residualWords(res));
    } else {
      overlayNote = `No reference of ${chosen.class} to overlay`;
    }
  }
  return { x, xLabel, series, overlayNote, hits, hit: chosen?.rank, summary };
}
