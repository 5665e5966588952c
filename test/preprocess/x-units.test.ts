import { describe, expect, it } from 'vitest';
import type { InputGrid } from '../../core/encoder/types.ts';
import { SpectrumInputError } from '../../core/errors.ts';
import { gridX, preprocess } from '../../core/preprocess/index.ts';
import { TECHNIQUE_GRIDS, techniqueOfGrid } from '../../core/preprocess/grids.ts';
import { convertXUnit, laserWavelengthNm } from '../../core/preprocess/x-units.ts';
import { createSpectrum, type Spectrum } from '../../core/spectrum.ts';

const IR: InputGrid = TECHNIQUE_GRIDS.ir;
const RAMAN: InputGrid = TECHNIQUE_GRIDS['raman-532'];

/** Gaussian bands at the given cm-1 positions, sampled at the given wavenumbers. */
function bands(wavenumbers: ArrayLike<number>, centers: readonly number[], width = 8): Float64Array {
  return Float64Array.from(wavenumbers, (w) => centers.reduce((s, c) => s + Math.exp(-(((w - c) / width) ** 2)), 0.01));
}
const linspace = (a: number, b: number, n: number) => Float64Array.from({ length: n }, (_, i) => a + ((b - a) * i) / (n - 1));
const peakAt = (y: Float32Array, grid: InputGrid) => gridX(grid)[y.indexOf(Math.max(...y))];

describe('physical x units', () => {
  it('maps a micrometre IR spectrum onto the cm-1 grid with its bands where they belong', () => {
    const um = linspace(2.5, 25, 4000); // 4000 .. 400 cm-1
    const spectrum = createSpectrum({ x: um, y: bands(Float64Array.from(um, (v) => 1e4 / v), [1080]), xUnit: 'um' });
    const y = preprocess(spectrum, IR);
    expect(Math.abs(peakAt(y, IR) - 1080)).toBeLessThanOrEqual(2);
  });

  it('maps nm to cm-1 for IR/NIR, and absolute wavelengths to Raman shift when the laser is stated', () => {
    const nm = linspace(2500, 25000, 5000);
    const ir = createSpectrum({ x: nm, y: bands(Float64Array.from(nm, (v) => 1e7 / v), [1500]), xUnit: 'nm' });
    expect(Math.abs(peakAt(preprocess(ir, IR), IR) - 1500)).toBeLessThanOrEqual(2);
    // Raman at 532 nm: a band at 1000 cm-1 shift is scattered at 1e7 / (1e7/532 - 1000) nm.
    const absolute = linspace(534, 580, 3000);
    const shift = Float64Array.from(absolute, (v) => 1e7 / 532 - 1e7 / v);
    const raman: Spectrum = { ...createSpectrum({ x: absolute, y: bands(shift, [1000]), xUnit: 'nm' }), meta: { extra: { 'LASER WAVELENGTH': '532 nm' } } };
    expect(laserWavelengthNm(raman)).toBe(532);
    expect(Math.abs(peakAt(preprocess(raman, RAMAN), RAMAN) - 1000)).toBeLessThanOrEqual(2);
  });

  it('takes absolute wavenumbers to Raman shift when the laser is stated, and leaves a shift axis alone', () => {
    const abs = linspace(1e7 / 532 - 1500, 1e7 / 532 - 100, 3000);
    const raman: Spectrum = { ...createSpectrum({ x: abs, y: bands(Float64Array.from(abs, (v) => 1e7 / 532 - v), [465]), xUnit: 'cm-1' }), meta: { extra: { EXCITATION: '532' } } };
    expect(Math.abs(peakAt(preprocess(raman, RAMAN), RAMAN) - 465)).toBeLessThanOrEqual(2);
    const shifted = createSpectrum({ x: linspace(100, 1400, 2000), y: bands(linspace(100, 1400, 2000), [465]), xUnit: 'cm-1' });
    expect(convertXUnit(shifted, 'cm-1')).toBe(shifted);
  });

  it('refuses units that are another quantity, saying which', () => {
    const xrd = createSpectrum({ x: linspace(5, 90, 2000), y: bands(linspace(5, 90, 2000), [30], 0.3), xUnit: '2theta' });
    expect(convertXUnit(xrd, 'cm-1')).toBeNull();
    expect(() => preprocess(xrd, RAMAN)).toThrow(/2theta but the model expects cm-1, and 2theta does not convert/);
  });

  it('masks the uncovered part of a partly covered range and refuses one too small to carry an answer', () => {
    const part = linspace(150, 1300, 2300);
    const y = preprocess(createSpectrum({ x: part, y: bands(part, [465, 1085]), xUnit: 'cm-1' }), RAMAN);
    const x = gridX(RAMAN);
    expect(y.every((v, i) => (x[i] < 150 || x[i] > 1300 ? v === 0 : true))).toBe(true);
    const sliver = linspace(1400, 1500, 200);
    expect(() => preprocess(createSpectrum({ x: sliver, y: bands(sliver, [1450]), xUnit: 'cm-1' }), RAMAN)).toThrow(SpectrumInputError);
    expect(() => preprocess(createSpectrum({ x: sliver, y: bands(sliver, [1450]), xUnit: 'cm-1' }), RAMAN)).toThrow(/needed to carry an answer/);
  });

  it('names the technique of a grid', () => {
    expect(techniqueOfGrid(TECHNIQUE_GRIDS.benchmark)).toBe('benchmark');
    expect(techniqueOfGrid(RAMAN)).toBe('raman-532');
    expect(techniqueOfGrid(IR)).toBe('ir');
    expect(techniqueOfGrid({ xUnit: '2theta', xStart: 5, xEnd: 90, points: 851 })).toBeUndefined();
  });
});
