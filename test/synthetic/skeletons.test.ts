import { describe, expect, it } from 'vitest';
import type { InputGrid } from '../../core/encoder/types.ts';
import { createRng } from '../../core/math/rng.ts';
import { generatePhysicalSet, overrideProfile, RAMAN_PROFILE, renderSample } from '../../core/synthetic/physical.ts';
import { bandSkeleton, bandSkeletons } from '../../core/synthetic/skeletons.ts';

const GRID: InputGrid = { xUnit: 'cm-1', xStart: 100, xEnd: 1500, points: 1400 };
const CLEAN = { ...RAMAN_PROFILE, shift: 0, bandShift: 0, widthJitter: 0, heightJitter: 0, baseline: 0, noise: 0 };

describe('band skeletons of real spectra', () => {
  it('recovers the positions, widths and heights of separated bands', () => {
    const cls = {
      bands: [
        { center: 400, fwhm: 10, height: 0.5, eta: 0.5 },
        { center: 700, fwhm: 20, height: 1, eta: 0.5 },
        { center: 1100, fwhm: 6, height: 0.2, eta: 0.5 },
      ],
    };
    const y = renderSample(cls, CLEAN, GRID, createRng(1), new Float32Array(GRID.points));
    const s = bandSkeleton(y, GRID);
    expect(s.bands.map((b) => Math.round(b.center))).toEqual([400, 700, 1100]);
    s.bands.forEach((b, i) => {
      expect(Math.abs(b.fwhm - cls.bands[i].fwhm)).toBeLessThanOrEqual(3);
      expect(b.height).toBeCloseTo(cls.bands[i].height, 1);
    });
  });

  it('seeds the skeleton share of the synthetic classes, and only when skeletons are given', () => {
    const cls = { bands: [{ center: 300, fwhm: 8, height: 1, eta: 0.5 }, { center: 900, fwhm: 8, height: 0.6, eta: 0.5 }] };
    const rows = new Float32Array(GRID.points);
    renderSample(cls, CLEAN, GRID, createRng(2), rows);
    const skeletons = bandSkeletons(rows, 1, GRID);
    expect(skeletons).toHaveLength(1);
    const profile = overrideProfile(RAMAN_PROFILE, 'skeletonShare=1,familyMode=substitution,familyShiftRange=2-4');
    const set = generatePhysicalSet(profile, GRID, { classes: 10, perClass: 1, seed: 3, skeletons });
    for (const c of set.classes) {
      // Every class is the skeleton moved by 1-7 cm-1 (2-4 scaled 0.5-1.5, +-1), plus at most one weak new band.
      const near = c.bands.filter((b) => [300, 900].some((x) => Math.abs(b.center - x) <= 7));
      expect(near.length).toBeGreaterThanOrEqual(1);
      expect(c.bands.length).toBeLessThanOrEqual(3);
    }
    // Without skeletons the share is ignored: the set is the profile's own.
    const plain = generatePhysicalSet(profile, GRID, { classes: 10, perClass: 1, seed: 3 });
    expect(plain.x).toEqual(generatePhysicalSet({ ...profile, skeletonShare: 0 }, GRID, { classes: 10, perClass: 1, seed: 3 }).x);
    expect(plain.x).not.toEqual(set.x);
  });
});
