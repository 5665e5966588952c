import { describe, expect, it } from 'vitest';
import { createRng } from '../../core/math/rng.ts';
import type { InputGrid } from '../../core/encoder/types.ts';
import { drawClass, generatePhysicalSet, IR_PROFILE, overrideProfile, RAMAN_PROFILE, renderSample } from '../../core/synthetic/physical.ts';

const RAMAN_GRID: InputGrid = { xUnit: 'cm-1', xStart: 100, xEnd: 1500, points: 1400 };
const IR_GRID: InputGrid = { xUnit: 'cm-1', xStart: 400, xEnd: 4000, points: 1200 };

describe('synthetic spectra on a physical grid', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const a = generatePhysicalSet(RAMAN_PROFILE, RAMAN_GRID, { classes: 5, perClass: 3, seed: 11 });
    const b = generatePhysicalSet(RAMAN_PROFILE, RAMAN_GRID, { classes: 5, perClass: 3, seed: 11 });
    const c = generatePhysicalSet(RAMAN_PROFILE, RAMAN_GRID, { classes: 5, perClass: 3, seed: 12 });
    expect(a.x).toEqual(b.x);
    expect(a.classes).toEqual(b.classes);
    expect(a.x).not.toEqual(c.x);
    expect(Array.from(a.y)).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]);
  });

  it('keeps earlier classes when more are drawn', () => {
    const small = generatePhysicalSet(IR_PROFILE, IR_GRID, { classes: 3, perClass: 2, seed: 5 });
    const large = generatePhysicalSet(IR_PROFILE, IR_GRID, { classes: 6, perClass: 2, seed: 5 });
    expect(large.x.subarray(0, small.x.length)).toEqual(small.x);
  });

  it('places bands inside the grid with widths and counts of the technique', () => {
    for (const [profile, grid] of [[RAMAN_PROFILE, RAMAN_GRID], [IR_PROFILE, IR_GRID]] as const) {
      const rng = createRng(3);
      for (let i = 0; i < 200; i++) {
        const cls = drawClass(profile, grid, rng);
        expect(cls.bands.length).toBeGreaterThanOrEqual(profile.peaks[0]);
        expect(cls.bands.length).toBeLessThanOrEqual(profile.peaks[1]);
        for (const b of cls.bands) {
          expect(b.center).toBeGreaterThanOrEqual(grid.xStart);
          expect(b.center).toBeLessThanOrEqual(grid.xEnd);
          expect(b.fwhm).toBeGreaterThanOrEqual(profile.fwhm[0]);
          expect(b.fwhm).toBeLessThanOrEqual(profile.fwhm[1]);
        }
      }
    }
  });

  it('renders max-normalized samples whose tallest band sits near its class position', () => {
    const grid = RAMAN_GRID;
    const cls = { bands: [{ center: 800, fwhm: 8, height: 1, eta: 0.5 }] };
    const profile = { ...RAMAN_PROFILE, baseline: 0, noise: 0 };
    const out = new Float32Array(grid.points);
    const rng = createRng(1);
    for (let i = 0; i < 50; i++) {
      renderSample(cls, profile, grid, rng, out);
      const top = out.indexOf(Math.max(...out));
      const x = grid.xStart + (top * (grid.xEnd - grid.xStart)) / (grid.points - 1);
      expect(Math.abs(x - 800)).toBeLessThanOrEqual(profile.shift + profile.bandShift + 1);
      expect(Math.max(...out.map(Math.abs))).toBeCloseTo(1, 6);
    }
  });

  it('rejects a bad request', () => {
    expect(() => generatePhysicalSet(RAMAN_PROFILE, RAMAN_GRID, { classes: 1, perClass: 2, seed: 1 })).toThrow(/classes/);
    expect(() => generatePhysicalSet(RAMAN_PROFILE, RAMAN_GRID, { classes: 2, perClass: 0, seed: 1 })).toThrow(/perClass/);
  });

  it('draws substitution relatives whose bands all move the same way by a few x units', () => {
    const profile = overrideProfile(RAMAN_PROFILE, 'familyMode=substitution,familyShiftRange=3-6,familyShare=1,peaks=8-12');
    for (let seed = 1; seed <= 20; seed++) {
      const { classes } = generatePhysicalSet(profile, RAMAN_GRID, { classes: 2, perClass: 1, seed });
      const [parent, child] = classes;
      // Every band of the parent but dropped ones (5 %) has a partner moved by 1.5-10 x units (3-6 scaled 0.5-1.5, +-1).
      const offsets = parent.bands
        .map((p) => child.bands.map((c) => c.center - p.center).filter((d) => Math.abs(d) >= 0.5 && Math.abs(d) <= 10).sort((a, b) => Math.abs(a) - Math.abs(b))[0])
        .filter((d) => d !== undefined);
      expect(offsets.length).toBeGreaterThanOrEqual(parent.bands.length - 2);
      const positive = offsets.filter((d) => d > 0).length;
      // One common direction: (almost) all offsets share a sign.
      expect(Math.max(positive, offsets.length - positive)).toBeGreaterThanOrEqual(offsets.length - 1);
      expect(child.bands.length).toBeLessThanOrEqual(parent.bands.length + 1);
    }
  });

  it('overrides a profile from key=value text and refuses bad keys and values', () => {
    const p = overrideProfile(RAMAN_PROFILE, 'peaks=3-30, fwhm=4-50,heightPower=4,noise=0.005,familyMode=substitution');
    expect(p).toMatchObject({ peaks: [3, 30], fwhm: [4, 50], heightPower: 4, noise: 0.005, familyMode: 'substitution', shift: RAMAN_PROFILE.shift });
    expect(overrideProfile(RAMAN_PROFILE, '')).toEqual(RAMAN_PROFILE);
    expect(() => overrideProfile(RAMAN_PROFILE, 'colour=red')).toThrow(/unknown key "colour"/);
    expect(() => overrideProfile(RAMAN_PROFILE, 'peaks=9-3')).toThrow(/peaks must be a range/);
    expect(() => overrideProfile(RAMAN_PROFILE, 'peaks=2.5-4')).toThrow(/whole numbers/);
    expect(() => overrideProfile(RAMAN_PROFILE, 'noise=-1')).toThrow(/noise must be a number/);
    expect(() => overrideProfile(RAMAN_PROFILE, 'familyShare=2')).toThrow(/familyShare/);
    expect(() => overrideProfile(RAMAN_PROFILE, 'familyMode=clone')).toThrow(/familyMode/);
    expect(() => overrideProfile(RAMAN_PROFILE, 'noise')).toThrow(/key=value/);
  });
});
