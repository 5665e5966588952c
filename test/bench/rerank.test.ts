import { describe, expect, it } from 'vitest';
import { rerankBySpectrum, spectralReferenceIndex, type RerankOptions } from '../../bench/lib/rerank.ts';
import { SpectrumInputError } from '../../core/errors.ts';

const POINTS = 1000;
function peaks(positions: number[], heights: number[], sigma = 3): Float32Array {
  const out = new Float32Array(POINTS);
  positions.forEach((p, i) => {
    for (let j = Math.max(0, p - 20); j < Math.min(POINTS, p + 21); j++) out[j] += heights[i] * Math.exp(-((j - p) ** 2) / (2 * sigma * sigma));
  });
  return out;
}
const options: RerankOptions = { spec: { pool: 5, sigma: 1 }, maxShiftBins: 8, against: 'best' };

function index() {
  // Two near-duplicate classes: the same two peaks, 'b' with its second peak 60 points further out.
  const spectra = [peaks([200, 600], [1, 0.5]), peaks([205, 598], [1, 0.5]), peaks([200, 660], [1, 0.5]), peaks([196, 662], [1, 0.5])];
  const all = new Float32Array(spectra.length * POINTS);
  spectra.forEach((s, i) => all.set(s, i * POINTS));
  return spectralReferenceIndex(all, 4, POINTS, ['a', 'a', 'b', 'b'], options.spec);
}

describe('rerankBySpectrum', () => {
  it('puts the class whose references match the query first, whatever order the candidates came in', () => {
    const idx = index();
    const queryA = peaks([202, 601], [1, 0.5]);
    expect(rerankBySpectrum(idx, queryA, ['b', 'a'], options).map((s) => s.class)).toEqual(['a', 'b']);
    const queryB = peaks([201, 659], [1, 0.5]);
    expect(rerankBySpectrum(idx, queryB, ['a', 'b'], options).map((s) => s.class)).toEqual(['b', 'a']);
  });

  it('tolerates a common offset of the whole spectrum up to maxShiftBins, and reports it', () => {
    const idx = index();
    const shifted = peaks([230, 630], [1, 0.5]); // class a moved by +30 points = 6 bins of 5
    const [first] = rerankBySpectrum(idx, shifted, ['b', 'a'], options);
    expect(first.class).toBe('a');
    expect(first.shiftBins).toBe(6);
    expect(first.spectralSimilarity).toBeGreaterThan(0.95);
    const rigid = rerankBySpectrum(idx, shifted, ['a'], { ...options, maxShiftBins: 0 });
    expect(rigid[0].spectralSimilarity).toBeLessThan(first.spectralSimilarity);
  });

  it('keeps candidates missing from the index, last, and refuses a spectrum of the wrong length or spec', () => {
    const idx = index();
    const out = rerankBySpectrum(idx, peaks([200, 600], [1, 0.5]), ['zz', 'a'], options);
    expect(out.map((s) => s.class)).toEqual(['a', 'zz']);
    expect(out[1].spectralSimilarity).toBe(-Infinity);
    expect(() => rerankBySpectrum(idx, new Float32Array(10), ['a'], options)).toThrow(SpectrumInputError);
    expect(() => rerankBySpectrum(idx, peaks([1], [1]), ['a'], { ...options, spec: { pool: 10, sigma: 1 } })).toThrow(SpectrumInputError);
    expect(() => spectralReferenceIndex(new Float32Array(5), 1, POINTS, ['a'])).toThrow(SpectrumInputError);
  });
});
