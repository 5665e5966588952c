import type { InputGrid } from '../encoder/types.ts';

/**
 * Physical input grids per technique: what a model trained for the technique takes, and the common grid the spectral
 * hit-quality index is computed on. A model card records its grid (inputGrid); these are the defaults chosen for
 * the techniques spectrad ships models for. Ranges from the RRUFF corpus: processed Raman 532 nm spectra span about
 * 90-1300 cm-1 (5th/95th percentiles of their ends), mid-IR 400-4000 cm-1; a step of 2 cm-1 is below the narrowest
 * mineral bands' widths (bench/real/tune.ts measured 1 cm-1 no better).
 */
export const TECHNIQUE_GRIDS = {
  /** The synthetic benchmark (Schuetzke et al. 2023): 5000 unitless points. */
  benchmark: { xUnit: 'index', xStart: 0, xEnd: 4999, points: 5000 },
  /** Raman shift, 532 nm excitation. */
  'raman-532': { xUnit: 'cm-1', xStart: 80, xEnd: 1500, points: 711 },
  /** Mid-infrared wavenumber. */
  ir: { xUnit: 'cm-1', xStart: 350, xEnd: 4000, points: 1826 },
} as const satisfies Record<string, InputGrid>;

export type Technique = keyof typeof TECHNIQUE_GRIDS;

/** The technique a grid belongs to, from its unit and range (a model card may also say so itself). */
export function techniqueOfGrid(grid: InputGrid): Technique | undefined {
  if (grid.xUnit === 'index') return 'benchmark';
  if (grid.xUnit !== 'cm-1') return undefined;
  // Raman shift grids stop below 2000 cm-1 for minerals; mid-IR grids run to 4000.
  return grid.xEnd <= 2000 ? 'raman-532' : 'ir';
}
