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
