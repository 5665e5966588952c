import { describe, expect, it } from 'vitest';
import { findPeaks, peakTemplate, type PeakTemplate } from '../../core/identify/peaks/peak-features.ts';
import { memberAmplitude, memberPeakPresence, membersWithoutPattern, MEMBER_PRESENCE } from '../../core/identify/mixture/member-peaks.ts';
import { jitteredReferences, spectrumOf } from './peak-spectra.ts';

// Benchmark classes moved 3000 points down onto the helpers' 2000-point grid: 96 and 184 explain the absent class
// 407 peak for peak at the pooled profile's resolution, each lending it its main peak only.
const C96 = { positions: [1385, 1520], heights: [0.315, 1] };
const C184 = { positions: [1398, 1739], heights: [0.156, 1] };
const C407 = { positions: [1475, 1517, 1753], heights: [0.14, 0.667, 1] };
const OPTIONS = { maxShift: 40, tolerance: 15 };

function templateOf(c: { positions: readonly number[]; heights: readonly number[] }, n = 20, seed = 3): PeakTemplate {
  const t = peakTemplate(jitteredReferences(c.positions, c.heights, n, seed).map((s) => findPeaks(s)));
  if (!t) throw new Error('no template');
  return t;
}

/** A mixture of whole components, each moved by its own shift, weights w, scaled to max 1. */
function mixtureOf(parts: readonly { c: { positions: readonly number[]; heights: readonly number[] }; shift: number; w: number }[]): Float32Array {
  const positions = parts.flatMap(({ c, shift }) => c.positions.map((p) => p + shift));
  const heights = parts.flatMap(({ c, w }) => c.heights.map((h) => h * w));
  return spectrumOf(positions, heights, 2);
}

const shareOf = (spectrum: Float32Array, template: PeakTemplate, share: number) => {
  let max = 0;
  for (const v of spectrum) max = Math.max(max, v);
  return memberAmplitude(share, findPeaks(spectrum).reduce((s, p) => s + p.height * max, 0), template);
};

describe('memberPeakPresence', () => {
  it('finds every peak of a member moved as a whole, and of each member of a real mixture', () => {
    const t96 = templateOf(C96);
    const t184 = templateOf(C184);
    for (const shift of [-30, 0, 30]) {
      const alone = spectrumOf(C96.positions.map((p) => p + shift), C96.heights, 2);
      expect(memberPeakPresence(alone, t96, OPTIONS).presence).toBeGreaterThanOrEqual(1);
      const mixture = mixtureOf([{ c: C96, shift, w: 0.7 }, { c: C184, shift: -shift, w: 1.2 }]);
      expect(memberPeakPresence(mixture, t96, { ...OPTIONS, amplitude: shareOf(mixture, t96, 0.35) }).presence).toBeGreaterThan(MEMBER_PRESENCE);
      expect(memberPeakPresence(mixture, t184, { ...OPTIONS, amplitude: shareOf(mixture, t184, 0.65) }).presence).toBeGreaterThan(MEMBER_PRESENCE);
    }
  });

  it('finds no pattern where a member lends only its main peak (absent class 407 as 184 + 96)', () => {
    const query = spectrumOf(C407.positions, C407.heights, 2);
    const t96 = templateOf(C96);
    const t184 = templateOf(C184);
    expect(memberPeakPresence(query, t96, { ...OPTIONS, amplitude: shareOf(query, t96, 0.4) }).presence).toBeLessThan(MEMBER_PRESENCE);
    expect(memberPeakPresence(query, t184, { ...OPTIONS, amplitude: shareOf(query, t184, 0.6) }).presence).toBeLessThan(MEMBER_PRESENCE);
    expect(membersWithoutPattern(query, [{ class: '184', share: 0.6 }, { class: '96', share: 0.4 }], (n) => (n === '96' ? t96 : t184), OPTIONS)).toEqual(['184', '96']);
  });

  it('does not let a taller neighbour beside the main peak raise what the minor peaks must be', () => {
    // 96 at a weight of 0.3 with a compound of one tall peak 25 points from 96's main peak: its minor peak is there.
    const tall = { positions: [1545], heights: [1] };
    const mixture = mixtureOf([{ c: C96, shift: 0, w: 0.3 }, { c: tall, shift: 0, w: 1 }]);
    const t96 = templateOf(C96);
    expect(memberPeakPresence(mixture, t96, { ...OPTIONS, amplitude: shareOf(mixture, t96, 0.3) }).presence).toBeGreaterThan(MEMBER_PRESENCE);
  });

  it('asks for the main peak where the fit puts the member: a flank or a far peak is no member', () => {
    // 96's main peak 70 points off (beyond the shift and the tolerance): only a flank in reach.
    const far = spectrumOf(C96.positions.map((p) => p + 70), C96.heights, 2);
    const t96 = templateOf(C96);
    expect(memberPeakPresence(far, t96, { ...OPTIONS, amplitude: shareOf(far, t96, 1) }).presence).toBe(0);
  });

  it('does not judge members whose template is missing or averaged from too few references', () => {
    const query = spectrumOf(C407.positions, C407.heights, 2);
    const few = templateOf(C96, 3);
    expect(membersWithoutPattern(query, [{ class: '96', share: 0.4 }], () => few, OPTIONS)).toEqual([]);
    expect(membersWithoutPattern(query, [{ class: '96', share: 0.4 }], () => null, OPTIONS)).toEqual([]);
  });
});
