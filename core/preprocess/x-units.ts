import { SpectrumInputError } from '../errors.ts';
import type { Spectrum } from '../spectrum.ts';
import { whereOf } from './validate.ts';

/**
 * Brings a spectrum's x axis into a grid's physical unit where the two are one quantity written differently:
 * micrometres <-> wavenumbers and nanometres <-> wavenumbers (IR/NIR: x_cm-1 = 1e4 / x_um = 1e7 / x_nm), and a
 * Raman spectrum on absolute wavenumbers or wavelengths to Raman shift when its metadata states the laser
 * wavelength. Returns the spectrum unchanged when the units already agree and null when no conversion applies.
 */
export function convertXUnit(spectrum: Spectrum, target: string): Spectrum | null {
  const from = spectrum.xUnit;
  if (from === target) {
    const laser = target === 'cm-1' ? laserWavelengthNm(spectrum) : undefined;
    // Absolute wavenumbers of Raman-scattered light lie near the laser's (about 18 800 cm-1 at 532 nm), far above
    // any Raman shift a mineral shows.
    if (laser !== undefined && spectrum.x[0] > 0.5e7 / laser) return mapX(spectrum, (x) => 1e7 / laser - x, target);
    return spectrum;
  }
  if (target === 'cm-1') {
    if (from === 'nm') {
      const laser = laserWavelengthNm(spectrum);
      return laser !== undefined ? mapX(spectrum, (x) => 1e7 / laser - 1e7 / x, target) : mapX(spectrum, (x) => 1e7 / x, target);
    }
    if (from === 'um') return mapX(spectrum, (x) => 1e4 / x, target);
  }
  if (from === 'cm-1' && target === 'um') return mapX(spectrum, (x) => 1e4 / x, target);
  if (from === 'cm-1' && target === 'nm') return mapX(spectrum, (x) => 1e7 / x, target);
  if (from === 'um' && target === 'nm') return mapX(spectrum, (x) => x * 1e3, target);
  if (from === 'nm' && target === 'um') return mapX(spectrum, (x) => x / 1e3, target);
  return null;
}

/** The excitation wavelength in nm from header fields such as LASER WAVELENGTH=532 or EXCITATION=785 nm. */
export function laserWavelengthNm(spectrum: Spectrum): number | undefined {
  for (const [key, value] of Object.entries(spectrum.meta.extra ?? {})) {
    if (!/LASER|EXCITATION/i.test(key)) continue;
    const nm = Number.parseFloat(value);
    if (Number.isFinite(nm) && nm >= 150 && nm <= 2000) return nm;
  }
  return undefined;
}

/** New x values through f, ascending again (reciprocal units reverse the order); x must stay finite and positive. */
function mapX(spectrum: Spectrum, f: (x: number) => number, unit: string): Spectrum {
  const n = spectrum.x.length;
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = f(spectrum.x[i]);
    if (!Number.isFinite(x[i])) {
      throw new SpectrumInputError('x-unit-conversion', `x value ${spectrum.x[i]} ${spectrum.xUnit} has no value in ${unit}`, whereOf(spectrum, { field: 'x', index: i }));
    }
  }
  if (n > 1 && x[1] < x[0]) return { ...spectrum, x: x.reverse(), y: spectrum.y.slice().reverse(), xUnit: unit };
  return { ...spectrum, x, y: spectrum.y, xUnit: unit };
}
