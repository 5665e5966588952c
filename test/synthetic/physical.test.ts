import { describe, expect, it } from 'vitest';
import { createRng } from '../../core/math/rng.ts';
import type { InputGrid } from '../../core/encoder/types.ts';
import { drawClass, generatePhysicalSet, IR_PROFILE, RAMAN_PROFILE, renderSample } from '../../core/synthetic/physical.ts';

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
});
