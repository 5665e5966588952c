import { findPeaks, type PeakTemplate } from '../peaks/peak-features.ts';

/**
 * Does a mixture member show its own pattern in the spectrum, or only one of its peaks? A compound missing from the
 * library is often fitted by library classes that each lend it one peak (class 443 of the benchmark, peaks at 219,
 * 1280, 1724, 1871, comes out 142 + 208 + 103), while each of those classes brings more peaks than it lends: 208's
 * pair of peaks 72 points apart, 103's peak at 293. A member of a real mixture has all its peaks in the spectrum at
 * one common shift (the whole component moves with the instrument's calibration), each at least as high, relative to
 * the member's main peak, as the member's references make it at their lowest.
 *
 * The pooled profile the reconstruction works on cannot see this: its bins are 10 points wide, its templates are
 * fitted at several shifts at once, and the support test (mixture-spectral.ts memberSupport) forgives a displacement
 * of the references' own jitter (+-50 points). This test reads the spectrum at full resolution against the member's
 * peak template (peak-features.ts peakTemplate: the references' peak lists paired and averaged).
 */

export interface MemberPeakOptions {
  /** Largest whole-spectrum shift of the member against its template, in grid points. */
  readonly maxShift: number;
  /** How far a peak may sit from its template position after that shift, in grid points. */
  readonly tolerance: number;
  /** A template peak is required when its lowest expected height is at least this share of the spectrum's maximum. */
  readonly floor?: number;
  /** Standard deviations of the references' heights below a peak's mean that its lowest expected height lies (default 2). */
  readonly heightSpreads?: number;
  /**
   * The member's main peak height in the spectrum as its share of the fit implies it (memberAmplitude); without it, the
   * highest the spectrum holds under the main peak anywhere in the shift range. A shift must find at least half of it
   * there, and the other peaks are expected in proportion to no more than it: a neighbour's taller peak next to the
   * member's main one must not raise what its minor peaks should be (class 113's main peak beside 377's in a mixture).
   */
  readonly amplitude?: number;
}

export interface MemberPeakEvidence {
  /**
   * At the member's best shift, the worst required peak's ratio of what the spectrum holds around it to its lowest
   * expected height (given the spectrum's height at the member's main peak); 1 or more: every peak is there. Infinity
   * when the member has no required peak besides its main one.
   */
  readonly presence: number;
  /** The shift, in grid points, that gave it. */
  readonly shift: number;
}

/** A shift must find at least this share of the member's main peak (its highest in the shift range) under its main peak's position. */
const MAIN_PEAK_SHARE = 0.5;

/** A template peak whose references' positions spread more than this many times the template's median spread is not required. */
const UNSETTLED_SPREAD = 2;

/** The member's evidence (see the module comment): how well its weakest required peak is present at its best shift. */
export function memberPeakPresence(spectrum: ArrayLike<number>, template: PeakTemplate, options: MemberPeakOptions): MemberPeakEvidence {
  const peaks = template.peaks;
  if (!peaks.length) return { presence: Infinity, shift: 0 };
  const n = spectrum.length;
  let spectrumMax = 0;
  for (let i = 0; i < n; i++) spectrumMax = Math.max(spectrumMax, spectrum[i]);
  if (!(spectrumMax > 0)) return { presence: 0, shift: 0 };
  const spreads = options.heightSpreads ?? 2;
  const floor = (options.floor ?? 0.02) * spectrumMax;
  const tol = Math.max(0, Math.round(options.tolerance));
  const windowMax = (at: number) => {
    const from = Math.max(0, Math.round(at) - tol);
    const to = Math.min(n - 1, Math.round(at) + tol);
    let m = 0;
    for (let j = from; j <= to; j++) m = Math.max(m, spectrum[j]);
    return m;
  };
  // A peak the references do not agree on (position spread over twice the template's median: the pairing of the
  // references' peaks mixed it with a neighbour, as with class 0's peaks 22 points apart) is expected nowhere.
  const spreadsOf = peaks.map((p) => Math.sqrt(p.positionVariance)).sort((a, b) => a - b);
  const usual = spreadsOf[spreadsOf.length >> 1];
  const settled = peaks.map((p) => template.references < 2 || Math.sqrt(p.positionVariance) <= UNSETTLED_SPREAD * usual);
  const main = peaks.reduce((a, p, i) => (settled[i] && (!settled[a] || p.height > peaks[a].height) ? i : a), 0);
  const top = peaks[main].height;
  const tallest = Math.max(...peaks.map((p) => p.height));
  // Lowest expected height of each peak relative to the main one (the references' mean less `spreads` sds).
  const low = peaks.map((p, i) => (i === main || !settled[i] ? 0 : Math.max(0, p.height - spreads * Math.sqrt(p.heightVariance)) / top));
  let best: MemberPeakEvidence = { presence: -Infinity, shift: 0 };
  let bestFound = -Infinity;
  const s0 = Math.round(options.maxShift);
  // The member's main peak as the spectrum holds it anywhere in the shift range; a shift that only grazes its flank
  // would expect the other peaks tiny and find them all.
  let mainHeight = options.amplitude === undefined ? 0 : (options.amplitude * top) / tallest;
  if (options.amplitude === undefined) for (let s = -s0; s <= s0; s++) mainHeight = Math.max(mainHeight, windowMax(peaks[main].position + s));
  if (!(mainHeight > 0)) return { presence: 0, shift: 0 };
  for (let s = -s0; s <= s0; s++) {
    const found = windowMax(peaks[main].position + s);
    if (!(found >= MAIN_PEAK_SHARE * mainHeight)) continue;
    const scale = Math.min(found, mainHeight);
    const here = spectrum[Math.min(n - 1, Math.max(0, Math.round(peaks[main].position + s)))];
    let worst = Infinity;
    for (let i = 0; i < peaks.length && worst >= best.presence; i++) {
      const expected = low[i] * scale;
      if (i === main || !(expected >= floor)) continue;
      worst = Math.min(worst, windowMax(peaks[i].position + s) / expected);
    }
    // Equal presence (every peak there at several shifts, or none required): the shift that puts the main peak on
    // the spectrum's highest point.
    if (worst > best.presence || (worst === best.presence && here > bestFound)) {
      best = { presence: worst, shift: s };
      bestFound = spectrum[Math.min(n - 1, Math.max(0, Math.round(peaks[main].position + s)))];
    }
  }
  return best.presence === -Infinity ? { presence: 0, shift: 0 } : best;
}

/**
 * The main peak height a member's share of a fit implies in the spectrum: its share of the signal, over the signal per
 * unit of peak height (the spectrum's peak heights summed against the member's template heights summed; the peaks of
 * one spectrum share one width, so areas go as heights).
 */
export function memberAmplitude(share: number, spectrumPeakHeights: number, template: PeakTemplate): number {
  const top = Math.max(0, ...template.peaks.map((p) => p.height));
  const total = template.peaks.reduce((a, p) => a + p.height, 0);
  return total > 0 && top > 0 ? (share * spectrumPeakHeights * top) / total : 0;
}

/**
 * Fewest references a class's peak template must be averaged from before its peaks are required of it: a template of
 * one or two references knows nothing of how far its heights and positions stray.
 */
export const MEMBER_PEAKS_MIN_REFERENCES = 5;

/** The library side of the test: a class's peak template, or null when it has none (no reference spectra). */
export type TemplateSource = (className: string) => PeakTemplate | null;

export interface MemberCheckOptions {
  /** Largest whole shift of a member, in grid points (default 0.8 % of the grid: 40 points of the benchmark's 5000). */
  readonly maxShift?: number;
  /** How far a peak may sit from its shifted template position (default 0.3 % of the grid: 15 points). */
  readonly tolerance?: number;
  /** A member whose presence is below this shows its main peak without its own pattern (default MEMBER_PRESENCE). */
  readonly presence?: number;
}

/**
 * The lowest presence a mixture member needs. Measured on validation spectra of the embedded default (bench:open-set
 * --absent --mixtures 150, seed 11 test-like draws and --ends; library of classes 0-399; never the published test
 * split): see docs/CALIBRATION.md, "Members' own peaks".
 */
export const MEMBER_PRESENCE = 0.25;

/**
 * The members (class names) that do not show their own pattern in the spectrum; `share` is each member's share of the
 * spectrum's signal (its fraction of the fit times the fit's explained share). Members without a usable template are
 * not judged.
 */
export function membersWithoutPattern(
  spectrum: Float32Array,
  members: readonly { readonly class: string; readonly share: number }[],
  templateOf: TemplateSource,
  options: MemberCheckOptions = {},
): string[] {
  let max = 0;
  for (const v of spectrum) max = Math.max(max, v);
  const heights = findPeaks(spectrum).reduce((s, p) => s + p.height * max, 0);
  const maxShift = options.maxShift ?? Math.max(1, 0.008 * spectrum.length);
  const tolerance = options.tolerance ?? Math.max(1, 0.003 * spectrum.length);
  const bar = options.presence ?? MEMBER_PRESENCE;
  return members.flatMap(({ class: name, share }) => {
    const template = templateOf(name);
    if (!template || template.references < MEMBER_PEAKS_MIN_REFERENCES) return [];
    const amplitude = memberAmplitude(share, heights, template);
    return memberPeakPresence(spectrum, template, { maxShift, tolerance, amplitude }).presence < bar ? [name] : [];
  });
}
