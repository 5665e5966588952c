import { describe, expect, it } from 'vitest';
import { createSpectrum, withMeta, withY } from '../core/spectrum.ts';
import { SpectrumInputError } from '../core/errors.ts';

describe('Spectrum', () => {
  it('defaults the axis to the point index', () => {
    const s = createSpectrum({ y: [1, 2, 3] });
    expect(Array.from(s.x)).toEqual([0, 1, 2]);
    expect(s.xUnit).toBe('index');
  });

  it('copies its inputs so callers cannot mutate it', () => {
    const y = [1, 2, 3];
    const s = createSpectrum({ y });
    y[0] = 99;
    expect(s.y[0]).toBe(1);
  });

  it('rejects x and y of different lengths', () => {
    expect(() => createSpectrum({ x: [1, 2], y: [1, 2, 3] })).toThrow(/x has 2 points but y has 3/);
  });

  it('withY and withMeta return new spectra', () => {
    const s = createSpectrum({ y: [1, 2], meta: { instrument: 'a' } });
    const t = withMeta(withY(s, [3, 4]), { sampleId: 'q' });
    expect(Array.from(s.y)).toEqual([1, 2]);
    expect(Array.from(t.y)).toEqual([3, 4]);
    expect(t.meta).toEqual({ instrument: 'a', sampleId: 'q' });
  });

  it('input errors say where', () => {
    const e = new SpectrumInputError('bad-number', 'not a number: "x1"', { file: 'a.jdx', line: 12, field: 'XYDATA' });
    expect(e.message).toBe('a.jdx, line 12, field XYDATA: not a number: "x1"');
    expect(e.code).toBe('bad-number');
  });
});
