import { describe, expect, it } from 'vitest';
import { bandMatch, peakOffset, strongBandOffset } from '../../core/identify/spectral/unknown-evidence.ts';
import type { Peak } from '../../core/identify/peaks/peak-features.ts';

const bands = (list: readonly (readonly [number, number])[]): Peak[] => list.map(([position, height]) => ({ position, height }));

describe('band evidence for the unknown decision', () => {
  // Another specimen: the same bands within a point; a relative: the strong bands several points away, one extra.
  const reference = bands([[100, 1], [220, 0.6], [400, 0.4], [610, 0.1]]);
  const specimen = bands([[100.5, 0.9], [219.5, 0.7], [401, 0.3], [610, 0.12]]);
  const relative = bands([[106, 1], [214, 0.5], [407, 0.5], [500, 0.3]]);

  it('the strong-band offset is small for another specimen, large for a relative, and capped', () => {
    const same = strongBandOffset(specimen, reference, 12);
    const other = strongBandOffset(relative, reference, 12);
    expect(same).toBeLessThan(1.5);
    expect(other).toBeGreaterThan(5);
    expect(strongBandOffset(bands([[900, 1]]), reference, 12)).toBe(24);
    // No bands on one side: both ways at the cap.
    expect(strongBandOffset([], reference, 12)).toBe(24);
  });

  it('the band match is the share of bands paired within the tolerance, both ways, in [0, 1]', () => {
    expect(bandMatch(reference, reference, 5)).toBe(1);
    expect(bandMatch(specimen, reference, 5)).toBe(1);
    const partial = bandMatch(relative, reference, 5);
    expect(partial).toBe(0);
    expect(bandMatch(relative, reference, 8)).toBeGreaterThan(0.6);
    expect(bandMatch(relative, reference, 8)).toBeLessThan(1);
    expect(bandMatch([], reference, 5)).toBe(0);
  });

  it('agrees with the paired-band offset on which is the relative', () => {
    expect(peakOffset(specimen, reference, 8)).toBeLessThan(peakOffset(relative, reference, 8));
  });
});
