import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/**
 * One spectrum plot (uPlot: 5000-point spectra redraw in a few milliseconds). The host element carries
 * data-points and data-series so tests and screen readers can tell what is drawn.
 */
export interface PlotSeries {
  readonly label: string;
  readonly y: ArrayLike<number | null>;
  readonly color: string;
  readonly width?: number;
  readonly dash?: number[];
  /** 'residual': drawn in its own band under the spectra, on its own scale (legend values stay true). */
  readonly scale?: 'residual';
  /** Fill down to the series below it in the stack (stackBelow) or to zero. */
  readonly fill?: string;
  /** Index (in the series list) of the series this one's fill stops at: stacked mixture components. */
  readonly stackBelow?: number;
  /** The legend's value at a point when the drawn curve is not the quantity (a stacked band shows its own part). */
  readonly legendY?: ArrayLike<number | null>;
}

/** Colours may be CSS variables (`var(--plot-measured)`), resolved when the chart is built, so they follow the theme. */
function resolveColor(c: string): string {
  const m = /^var\((--[\w-]+)\)$/.exec(c);
  return m ? cssVar(m[1], '#1c7ed6') : c;
}

function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

export class SpectrumPlot {
  private plot?: uPlot;
  private layoutKey = '';
  private readonly resize: ResizeObserver;
  private last?: { x: ArrayLike<number>; series: readonly PlotSeries[]; xLabel: string };
  /** The x range the operator zoomed to (undefined: all); kept while the live view swaps spectra under it. */
  private zoom?: { min: number; max: number };
  private fullRange?: { min: number; max: number };
  /** Told when the zoom changes (the panel enables its reset button and hint). */
  onZoom?: (zoomed: boolean) => void;
  private readonly scheme = matchMedia('(prefers-color-scheme: dark)');
  /** Operators' screens switch to dark at night: canvas colours do not follow CSS, so the chart is rebuilt. */
  private readonly onScheme = (): void => {
    if (!this.last) return;
    this.layoutKey = '';
    this.show(this.last.x, this.last.series, this.last.xLabel);
  };

  constructor(private readonly host: HTMLElement, private readonly height = 320) {
    host.classList.add('plot');
    this.resize = new ResizeObserver(() => {
      if (this.plot) this.plot.setSize({ width: this.width(), height: this.height });
    });
    this.resize.observe(host);
    this.scheme.addEventListener('change', this.onScheme);
  }

  private width(): number {
    return Math.max(200, Math.floor(this.host.clientWidth || 600));
  }

  show(x: ArrayLike<number>, series: readonly PlotSeries[], xLabel: string): void {
    this.last = { x, series, xLabel };
    const data = [Array.from(x), ...series.map((s) => Array.from(s.y))] as uPlot.AlignedData;
    // Same series and axis: only the numbers change, which uPlot redraws without rebuilding the chart.
    const key = `${xLabel}|${series.map((s) => `${s.color}:${s.scale ?? ''}:${s.stackBelow ?? ''}`).join('|')}`;
    const xs = data[0] as number[];
    this.fullRange = xs.length ? { min: Math.min(xs[0], xs[xs.length - 1]), max: Math.max(xs[0], xs[xs.length - 1]) } : undefined;
    this.legendY = series.map((s) => s.legendY);
    if (this.plot && key === this.layoutKey) {
      const keep = this.zoom;
      this.plot.setData(data);
      if (keep) this.plot.setScale('x', keep);
      this.relabel(series);
    } else {
      this.plot?.destroy();
      // Whatever stood here (the empty note, a rejected file's text) makes way for the chart.
      this.host.replaceChildren();
      const keep = this.zoom;
      this.plot = new uPlot(this.options(series, xLabel), data, this.host);
      if (keep) this.plot.setScale('x', keep);
      this.layoutKey = key;
    }
    this.host.dataset.points = String(x.length);
    // uPlot draws the axes on the canvas: the title is also here for tests and the text alternative.
    this.host.dataset.xLabel = xLabel;
    this.host.dataset.series = series.map((s) => s.label).join('|');
  }

  /** Another class's reference under the same colour: rename the legend rather than rebuild the chart. */
  private relabel(series: readonly PlotSeries[]): void {
    const plot = this.plot;
    if (!plot) return;
    const rows = plot.root.querySelectorAll('.u-legend .u-series');
    series.forEach((s, i) => {
      const target = plot.series[i + 1];
      if (target.label === s.label) return;
      target.label = s.label;
      const label = rows[i + 1]?.querySelector('.u-label');
      if (label) label.textContent = s.label;
    });
  }

  private legendY: Array<ArrayLike<number | null> | undefined> = [];

  /** Back to the whole spectrum (the Reset zoom button, double-click, the 0 key). */
  resetZoom(): void {
    this.zoom = undefined;
    if (this.plot && this.fullRange) this.plot.setScale('x', this.fullRange);
    this.onZoom?.(false);
  }

  get zoomed(): boolean {
    return this.zoom !== undefined;
  }

  empty(message: string): void {
    this.last = undefined;
    this.plot?.destroy();
    this.plot = undefined;
    this.layoutKey = '';
    this.host.replaceChildren();
    const note = document.createElement('div');
    note.className = 'plot-empty';
    note.style.height = `${this.height}px`;
    note.textContent = message;
    this.host.appendChild(note);
    this.host.dataset.points = '0';
    this.host.dataset.series = '';
  }

  destroy(): void {
    this.resize.disconnect();
    this.scheme.removeEventListener('change', this.onScheme);
    this.plot?.destroy();
  }

  private options(series: readonly PlotSeries[], xLabel: string): uPlot.Options {
    const fg = cssVar('--muted', '#667');
    const grid = cssVar('--grid', 'rgba(128,128,128,0.15)');
    const axis = (label?: string): uPlot.Axis => ({
      stroke: fg,
      grid: { stroke: grid, width: 1 },
      ticks: { stroke: grid, width: 1 },
      label,
      labelSize: label ? 20 : 0,
      font: '11px system-ui, sans-serif',
      labelFont: '12px system-ui, sans-serif',
    });
    const hasResidual = series.some((s) => s.scale === 'residual');
    let resBand: [number, number] = [-1, 1];
    const fmt = (v: number | null | undefined): string => (v === null || v === undefined ? '—' : v.toFixed(3));
    // Spectra in the upper part, the residual in a band under them: two scales, each leaving room for the other.
    const range = (lo: number, hi: number, share: number, below: boolean): [number, number] => {
      const span = hi - lo || 1;
      const full = span / share;
      return below ? [lo, lo + full] : [hi - full, hi];
    };
    const bands: uPlot.Band[] = [];
    series.forEach((s, i) => {
      if (s.stackBelow !== undefined && s.fill) bands.push({ series: [i + 1, s.stackBelow + 1], fill: s.fill });
    });
    return {
      width: this.width(),
      height: this.height,
      cursor: { drag: { x: true, y: false, setScale: true } },
      legend: { live: true },
      scales: {
        x: { time: false },
        y: hasResidual ? { range: (_u, lo, hi) => range(Math.min(lo, 0), Math.max(hi, 0.05), 0.72, false) } : {},
        ...(hasResidual ? { residual: { range: (_u: uPlot, lo: number, hi: number) => {
          resBand = [Math.min(lo, -0.05), Math.max(hi, 0.05)];
          return range(resBand[0], resBand[1], 0.24, true);
        } } } : {}),
      },
      axes: [axis(xLabel), axis(), ...(hasResidual ? [{
        ...axis('residual'), scale: 'residual', side: 1, grid: { show: false },
        // Ticks only beside the residual's own band, not up the whole height.
        filter: (_u: uPlot, splits: number[]) => splits.map((v) => (v >= resBand[0] - 1e-9 && v <= resBand[1] + 1e-9 ? v : null)),
      } as uPlot.Axis] : [])],
      bands,
      hooks: {
        setScale: [(u, key) => {
          if (key !== 'x') return;
          const min = u.scales.x.min;
          const max = u.scales.x.max;
          const full = this.fullRange;
          if (min === undefined || max === undefined || !full) return;
          const zoomed = min > full.min + 1e-9 || max < full.max - 1e-9;
          const was = this.zoom !== undefined;
          this.zoom = zoomed ? { min, max } : undefined;
          if (zoomed !== was || zoomed) this.onZoom?.(zoomed);
        }],
      },
      series: [
        { label: xLabel, value: (_u, v) => (v === null || v === undefined ? '—' : v.toFixed(Math.abs(v) < 10 ? 3 : 1)) },
        ...series.map<uPlot.Series>((s, i) => ({
          label: s.label,
          stroke: resolveColor(s.color),
          width: s.width ?? 1.25,
          dash: s.dash,
          ...(s.scale ? { scale: s.scale } : {}),
          ...(s.fill && s.stackBelow === undefined ? { fill: s.fill } : {}),
          points: { show: false },
          spanGaps: false,
          value: (_u, v, _si, idx) => {
            const own = this.legendY[i];
            return fmt(own && idx !== null && idx !== undefined ? own[idx] : v);
          },
        })),
      ],
    };
  }
}
