import type { Curve, MixtureComponent } from './types.ts';

/** Numbers behind the spectrum plot: pure, so the tests check them in Node. */

export function xOf(curve: Curve): number[] {
  return curve.x ? [...curve.x] : curve.y.map((_, i) => i);
}

/**
 * Linear interpolation of (xFrom, yFrom) at the points xTo (both ascending); outside the source range the value is
 * null so the plot leaves a gap rather than inventing data.
 */
export function resampleOnto(xFrom: readonly number[], yFrom: readonly number[], xTo: readonly number[]): Array<number | null> {
  const out: Array<number | null> = new Array(xTo.length).fill(null);
  if (xFrom.length === 0) return out;
  let j = 0;
  for (let i = 0; i < xTo.length; i++) {
    const x = xTo[i];
    if (x < xFrom[0] || x > xFrom[xFrom.length - 1]) continue;
    while (j < xFrom.length - 2 && xFrom[j + 1] < x) j++;
    const x0 = xFrom[j];
    const x1 = xFrom[Math.min(j + 1, xFrom.length - 1)];
    const y0 = yFrom[j];
    const y1 = yFrom[Math.min(j + 1, yFrom.length - 1)];
    out[i] = x1 === x0 ? y0 : y0 + ((y1 - y0) * (x - x0)) / (x1 - x0);
  }
  return out;
}

/** The curve on the given x points: the same array when the grids agree, else interpolated. */
export function onGrid(curve: Curve, x: readonly number[]): Array<number | null> {
  const cx = xOf(curve);
  const same = cx.length === x.length && cx.every((v, i) => v === x[i]);
  return same ? [...curve.y] : resampleOnto(cx, curve.y, x);
}

export function maxAbs(y: ReadonlyArray<number | null>): number {
  let m = 0;
  for (const v of y) if (v !== null && Number.isFinite(v)) m = Math.max(m, Math.abs(v));
  return m;
}

/** Scales to max |y| = 1 (the preprocessed spectra already are), so shapes compare regardless of intensity. */
export function normalise(y: ReadonlyArray<number | null>): Array<number | null> {
  const m = maxAbs(y);
  return m > 0 ? y.map((v) => (v === null ? null : v / m)) : [...y];
}

/**
 * The mixture the identification proposes: the components' references weighted by their fractions, summed and
 * scaled to max 1 like the measured spectrum. Components without a reference are left out of the sum.
 */
export function mixtureModel(
  components: readonly MixtureComponent[],
  references: ReadonlyMap<string, Curve>,
  x: readonly number[],
): { sum: Array<number | null>; parts: Array<{ class: string; fraction: number; y: Array<number | null> }> } {
  const parts: Array<{ class: string; fraction: number; y: Array<number | null> }> = [];
  const sum: Array<number | null> = new Array(x.length).fill(null);
  for (const c of components) {
    const ref = references.get(c.class);
    if (!ref) continue;
    const y = normalise(onGrid(ref, x)).map((v) => (v === null ? null : v * c.fraction));
    parts.push({ class: c.class, fraction: c.fraction, y });
    y.forEach((v, i) => {
      if (v !== null) sum[i] = (sum[i] ?? 0) + v;
    });
  }
  const m = maxAbs(sum);
  // The parts share the sum's scale so they stack visibly under it.
  const scale = m > 0 ? 1 / m : 1;
  return {
    sum: sum.map((v) => (v === null ? null : v * scale)),
    parts: parts.map((p) => ({ ...p, y: p.y.map((v) => (v === null ? null : v * scale)) })),
  };
}

/** An axis title from a unit as files and model grids spell it (cm-1, 1/CM, 2theta, nm, index, ...). */
export function axisLabel(unit: string | undefined, hasX = true): string {
  if (!hasX) return 'Point (index)';
  const u = (unit ?? '').trim();
  const k = u.toLowerCase().replace(/\s+/g, '');
  if (!k) return 'x (unit not given)';
  if (/^(cm-1|cm\^-1|1\/cm|cm⁻¹|wavenumbers?|wavenumber\(cm-1\)|ramanshift|ramanshift\(cm-1\))$/.test(k)) return 'Wavenumber / Raman shift (cm⁻¹)';
  if (/^(2theta|2θ|2-theta|degrees2theta|°2θ|2th)$/.test(k)) return '2θ (°)';
  if (k === 'nm' || k === 'nanometers') return 'Wavelength (nm)';
  if (k === 'um' || k === 'µm' || k === 'micrometers') return 'Wavelength (µm)';
  if (k === 'ev') return 'Energy (eV)';
  if (k === 'index' || k === 'point' || k === 'points') return 'Grid point (index)';
  return u;
}

/**
 * The scale a of the reference r that best explains the query q (least squares, a >= 0): the overlay is drawn as
 * a·r so the residual q − a·r shows what the reference does not explain.
 */
export function fitScale(q: ReadonlyArray<number | null>, r: ReadonlyArray<number | null>): number {
  let qr = 0;
  let rr = 0;
  for (let i = 0; i < q.length; i++) {
    const a = q[i];
    const b = r[i];
    if (a === null || b === null || !Number.isFinite(a) || !Number.isFinite(b)) continue;
    qr += a * b;
    rr += b * b;
  }
  return rr > 0 ? Math.max(0, qr / rr) : 0;
}

export function scaled(y: ReadonlyArray<number | null>, a: number): Array<number | null> {
  return y.map((v) => (v === null ? null : v * a));
}

export function residual(q: ReadonlyArray<number | null>, model: ReadonlyArray<number | null>): Array<number | null> {
  return q.map((v, i) => (v === null || model[i] === null || model[i] === undefined ? null : v - (model[i] as number)));
}

/** Running sums of the parts, so each component is a band stacked on the ones below it (the top is the model). */
export function stack(parts: ReadonlyArray<ReadonlyArray<number | null>>): Array<Array<number | null>> {
  const out: Array<Array<number | null>> = [];
  parts.forEach((p, k) => {
    out.push(p.map((v, i) => {
      const below = k ? out[k - 1][i] : 0;
      if (v === null) return below;
      return (below ?? 0) + v;
    }));
  });
  return out;
}

export interface Peak {
  readonly x: number;
  readonly y: number;
}

/**
 * The strongest local maxima (the text alternative of the plot names them): above 10% of the largest value and at
 * least `minGap` points from a stronger one, strongest first.
 */
export function findPeaks(x: readonly number[], y: ReadonlyArray<number | null>, count = 8, minGap = 15): Peak[] {
  const max = maxAbs(y);
  if (max <= 0) return [];
  const cand: number[] = [];
  for (let i = 1; i < y.length - 1; i++) {
    const v = y[i];
    const a = y[i - 1];
    const b = y[i + 1];
    if (v === null || a === null || b === null) continue;
    if (v >= 0.1 * max && v > a && v >= b) cand.push(i);
  }
  cand.sort((i, j) => (y[j] as number) - (y[i] as number));
  const kept: number[] = [];
  for (const i of cand) {
    if (kept.some((k) => Math.abs(k - i) < minGap)) continue;
    kept.push(i);
    if (kept.length === count) break;
  }
  return kept.map((i) => ({ x: x[i], y: y[i] as number }));
}

