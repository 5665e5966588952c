import { SpectrumInputError } from '../../errors.ts';

/**
 * Peak lists and per-class peak templates: the high-resolution representation that separates near-duplicate classes
 * the encoder confuses. The encoder pools its input and is trained to ignore peak jitter, so two classes whose peaks
 * lie 10-70 points apart, or differ in one height ratio, land on top of each other in embedding space; their peak
 * centres, estimated from many references, still differ (confusable-pairs.ts decides between such pairs).
 */

export interface Peak {
  /** Position on the grid, refined between points. */
  readonly position: number;
  /** Height relative to the spectrum's highest point. */
  readonly height: number;
}

export interface PeakOptions {
  /** Peaks lower than this share of the spectrum's maximum are ignored (default 0.005). */
  readonly minHeight?: number;
  /**
   * Peaks lower than this many times the spectrum's noise are ignored too (default 5); the noise is estimated from
   * the differences of neighbouring points (median absolute difference / 0.6745 / sqrt 2), which is zero for a
   * noise-free spectrum whose baseline is flat.
   */
  readonly noiseMultiple?: number;
  /** A peak is the highest point within this many points on either side (default 5). */
  readonly halfWindow?: number;
}

/** The local maxima of a spectrum, positions refined by a parabola through the top three points. */
export function findPeaks(spectrum: Float32Array, options: PeakOptions = {}): Peak[] {
  const minHeight = options.minHeight ?? 0.005;
  const w = options.halfWindow ?? 5;
  if (!(minHeight >= 0) || !Number.isInteger(w) || w < 1) {
    throw new SpectrumInputError('peak-options', `minHeight must be >= 0 and halfWindow a positive integer, got ${minHeight}, ${w}`);
  }
  let max = 0;
  for (const v of spectrum) if (v > max) max = v;
  if (!(max > 0) || !Number.isFinite(max)) return [];
  const floor = Math.max(minHeight * max, (options.noiseMultiple ?? 5) * noiseLevel(spectrum));
  const peaks: Peak[] = [];
  const n = spectrum.length;
  for (let i = 0; i < n; i++) {
    const v = spectrum[i];
    if (!(v >= floor) || v <= 0) continue;
    let top = true;
    // Strictly higher than the left side, at least as high as the right: a flat top counts once (its first point).
    for (let j = Math.max(0, i - w); j < i && top; j++) if (spectrum[j] >= v) top = false;
    for (let j = i + 1; j <= Math.min(n - 1, i + w) && top; j++) if (spectrum[j] > v) top = false;
    if (!top) continue;
    let position = i;
    if (i > 0 && i < n - 1) {
      const a = spectrum[i - 1];
      const c = spectrum[i + 1];
      const curvature = a - 2 * v + c;
      if (curvature < 0) position = i + (0.5 * (a - c)) / curvature;
    }
    peaks.push({ position, height: v / max });
  }
  return peaks;
}

/** Robust noise standard deviation of a spectrum from its first differences (white noise: sd of a difference is sqrt 2 sd). */
export function noiseLevel(spectrum: Float32Array): number {
  if (spectrum.length < 3) return 0;
  const diffs = new Float64Array(spectrum.length - 1);
  for (let i = 1; i < spectrum.length; i++) diffs[i - 1] = Math.abs(spectrum[i] - spectrum[i - 1]);
  diffs.sort();
  const mid = diffs.length >> 1;
  const median = diffs.length % 2 ? diffs[mid] : (diffs[mid - 1] + diffs[mid]) / 2;
  return median / 0.6745 / Math.SQRT2;
}

/** One peak of a class template: where it sits and how high it is, as the class's references show it. */
export interface TemplatePeak {
  readonly position: number;
  readonly height: number;
  /** Variance of the references' positions and heights around these means (0 with one reference). */
  readonly positionVariance: number;
  readonly heightVariance: number;
}

export interface PeakTemplate {
  /** Sorted by position. */
  readonly peaks: readonly TemplatePeak[];
  /** References the template was averaged from (those with the class's usual number of peaks). */
  readonly references: number;
}

/**
 * A class's template from its references' peak lists: the references with the most common number of peaks, each
 * reference's peaks paired with the template's by the cheapest assignment in position and height (two peaks that
 * swap places under jitter keep their own heights, so order alone would mix them), averaged; two passes, the first
 * against one reference. Null when no reference has a peak.
 */
export function peakTemplate(referencePeaks: readonly (readonly Peak[])[], scales: { position: number; height: number } = { position: 30, height: 0.05 }): PeakTemplate | null {
  const counts = new Map<number, number>();
  for (const p of referencePeaks) if (p.length) counts.set(p.length, (counts.get(p.length) ?? 0) + 1);
  if (!counts.size) return null;
  // The usual count; on a tie the larger one (a merged pair of peaks is the likelier accident than a split one).
  const usual = [...counts.entries()].sort((a, b) => b[1] - a[1] || b[0] - a[0])[0][0];
  const chosen = referencePeaks.filter((p) => p.length === usual);
  let means: { position: number; height: number }[] = [...chosen[0]].sort((a, b) => a.position - b.position);
  let assigned: Peak[][] = [];
  for (let pass = 0; pass < 2; pass++) {
    assigned = chosen.map((ref) => assignPeaks(means, ref, scales));
    means = means.map((_, i) => ({
      position: mean(assigned.map((a) => a[i].position)),
      height: mean(assigned.map((a) => a[i].height)),
    }));
  }
  const n = chosen.length;
  const peaks: TemplatePeak[] = means.map((m, i) => ({
    position: m.position,
    height: m.height,
    positionVariance: n > 1 ? assigned.reduce((s, a) => s + (a[i].position - m.position) ** 2, 0) / (n - 1) : 0,
    heightVariance: n > 1 ? assigned.reduce((s, a) => s + (a[i].height - m.height) ** 2, 0) / (n - 1) : 0,
  }));
  peaks.sort((a, b) => a.position - b.position);
  return { peaks, references: n };
}

/** out[i] = the peak of `ref` paired with means[i]: greedy cheapest pairs first (at most ~10 peaks a spectrum). */
function assignPeaks(means: readonly { position: number; height: number }[], ref: readonly Peak[], scales: { position: number; height: number }): Peak[] {
  const pairs: Array<[cost: number, i: number, j: number]> = [];
  means.forEach((m, i) =>
    ref.forEach((p, j) => pairs.push([((p.position - m.position) / scales.position) ** 2 + ((p.height - m.height) / scales.height) ** 2, i, j])),
  );
  pairs.sort((a, b) => a[0] - b[0]);
  const out: (Peak | undefined)[] = new Array(means.length);
  const used = new Set<number>();
  for (const [, i, j] of pairs) {
    if (out[i] || used.has(j)) continue;
    out[i] = ref[j];
    used.add(j);
  }
  return out as Peak[];
}

function mean(values: readonly number[]): number {
  return values.reduce((s, v) => s + v, 0) / values.length;
}

export interface PeakModel {
  /** Typical spread of a reference peak's position around its template position (grid points). */
  readonly positionSpread: number;
  /** Typical spread of a reference peak's relative height; also what a missing or extra peak's height is judged by. */
  readonly heightSpread: number;
  /** Largest whole-spectrum shift of a query against the references (grid points); searched in whole points. */
  readonly maxShift: number;
  /** Spread of that whole shift (grid points): a shift s costs (s / shiftSpread)^2 / 2, like a peak's jitter. */
  readonly shiftSpread: number;
  /** Weight, in references, of the typical spreads against a template peak's own (default 5). */
  readonly priorReferences?: number;
  /** Two template peaks closer than this may show as one query peak (blur merges them; default 12 points). */
  readonly mergeDistance?: number;
}

/**
 * Log-likelihood (up to a constant shared by every class) of a query's peaks under a template: the query is the
 * template moved by one whole shift s, every peak jittered independently (Gaussian position and height, each template
 * peak's own spreads shrunk towards the typical ones), the shift itself Gaussian. Query and template peaks are paired
 * in order by dynamic programming; an unpaired template peak counts as observed at height 0, an unpaired query peak
 * as a template peak of height 0, so a missing major peak costs much and a missing minor one little; two template
 * peaks closer than mergeDistance may pair with one query peak (the taller one's terms). Best whole shift wins.
 */
export function peakLogLikelihood(template: PeakTemplate, query: readonly Peak[], model: PeakModel): number {
  const t = template.peaks;
  const q = [...query].sort((a, b) => a.position - b.position);
  const n0 = model.priorReferences ?? 5;
  const nRef = Math.max(0, template.references - 1);
  const p2 = model.positionSpread ** 2;
  const h2 = model.heightSpread ** 2;
  const pv = t.map((p) => (nRef * p.positionVariance + n0 * p2) / (nRef + n0));
  const hv = t.map((p) => (nRef * p.heightVariance + n0 * h2) / (nRef + n0));
  // Relative to the typical spreads, so a peak with the typical spreads adds no constant.
  const norm = t.map((_, i) => -0.5 * Math.log(pv[i] / p2) - 0.5 * Math.log(hv[i] / h2));
  const sv = 2 * model.shiftSpread ** 2;
  const missT = t.map((p) => -(p.height * p.height) / (2 * h2));
  const missQ = q.map((p) => -(p.height * p.height) / (2 * h2));
  const merge = model.mergeDistance ?? 12;
  const mergeable = t.map((p, i) => i > 0 && p.position - t[i - 1].position <= merge);
  const match = (i: number, j: number, s: number): number => {
    const d = q[j].position - t[i].position - s;
    // Beyond 4 spreads a pair is never likelier than a miss and an extra.
    if (d * d > 16 * pv[i]) return -Infinity;
    const dh = q[j].height - t[i].height;
    return norm[i] - (d * d) / (2 * pv[i]) - (dh * dh) / (2 * hv[i]);
  };
  const m = t.length;
  const n = q.length;
  const w = n + 1;
  const dp = new Float64Array((m + 1) * w);
  let best = -Infinity;
  // Shifts from 0 outwards: every term but the peaks' normalization is <= 0 and those are bounded, so once the shift's
  // own cost alone is below the best total by more than that bound, no larger shift can win.
  const bound = norm.reduce((acc, v) => acc + Math.max(0, v), 0);
  for (let step = 0; step <= 2 * model.maxShift; step++) {
    const s = step % 2 ? (step + 1) / 2 : -step / 2;
    const prior = -(s * s) / sv;
    if (prior + bound < best) break;
    dp[0] = 0;
    for (let j = 1; j <= n; j++) dp[j] = dp[j - 1] + missQ[j - 1];
    for (let i = 1; i <= m; i++) {
      const row = i * w;
      const prev = (i - 1) * w;
      dp[row] = dp[prev] + missT[i - 1];
      for (let j = 1; j <= n; j++) {
        let v = Math.max(dp[prev + j] + missT[i - 1], dp[row + j - 1] + missQ[j - 1], dp[prev + j - 1] + match(i - 1, j - 1, s));
        if (mergeable[i - 1]) {
          const taller = t[i - 1].height >= t[i - 2].height ? i - 1 : i - 2;
          v = Math.max(v, dp[(i - 2) * w + j - 1] + match(taller, j - 1, s));
        }
        dp[row + j] = v;
      }
    }
    const total = dp[m * w + n] + prior;
    if (total > best) best = total;
  }
  return best;
}

/**
 * The typical spreads of two templates: the median over both templates' peaks (robust to a peak whose references
 * disagree), with floors so that templates averaged from identical references still leave room for noise.
 */
export function pooledModel(
  a: PeakTemplate,
  b: PeakTemplate,
  options: { readonly maxShift: number; readonly shiftSpread: number; readonly minPositionSpread?: number; readonly minHeightSpread?: number },
): PeakModel {
  const peaks = [a, b].filter((t) => t.references > 1).flatMap((t) => t.peaks);
  const median = (values: number[]) => {
    if (!values.length) return 0;
    values.sort((x, y) => x - y);
    const mid = values.length >> 1;
    return values.length % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
  };
  return {
    positionSpread: Math.max(options.minPositionSpread ?? 2, Math.sqrt(median(peaks.map((p) => p.positionVariance)))),
    heightSpread: Math.max(options.minHeightSpread ?? 0.01, Math.sqrt(median(peaks.map((p) => p.heightVariance)))),
    maxShift: options.maxShift,
    shiftSpread: options.shiftSpread,
  };
}
