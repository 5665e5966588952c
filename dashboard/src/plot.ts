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
    const key = `${xLabel}|${series.map((s) => s.color).join('|')}`;
    if (this.plot && key === this.layoutKey) {
      this.plot.setData(data);
      this.relabel(series);
    } else {
      this.plot?.destroy();
      // Whatever stood here (the empty note, a rejected file's text) makes way for the chart.
      this.host.replaceChildren();
      this.plot = new uPlot(this.options(series, xLabel), data, this.host);
      this.layoutKey = key;
    }
    this.host.dataset.points = String(x.length);
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
    return {
      width: this.width(),
      height: this.height,
      cursor: { drag: { x: true, y: false, setScale: true } },
      legend: { live: true },
      scales: { x: { time: false } },
      axes: [axis(xLabel), axis()],
      series: [
        { label: xLabel, value: (_u, v) => (v === null || v === undefined ? '—' : v.toFixed(Math.abs(v) < 10 ? 3 : 1)) },
        ...series.map<uPlot.Series>((s) => ({
          label: s.label,
          stroke: resolveColor(s.color),
          width: s.width ?? 1.25,
          dash: s.dash,
          points: { show: false },
          spanGaps: false,
          value: (_u, v) => (v === null || v === undefined ? '—' : v.toFixed(3)),
        })),
      ],
    };
  }
}
