import { describe, expect, it } from 'vitest';
import { createRng } from '../../core/math/rng.ts';
import { identify } from '../../core/identify/identify.ts';
import { ReferenceLibrary } from '../../core/identify/knn/library.ts';
import { coveredRange, hitQuality, matchProfile, matchView, viewCorrelation } from '../../core/identify/spectral/spectral-match.ts';
import { spectralAnswer, spectralIndexFor, spectralRankingFor, spectralScores } from '../../core/identify/spectral/spectral-ranking.ts';
import { TECHNIQUE_GRIDS } from '../../core/preprocess/grids.ts';

const POINTS = TECHNIQUE_GRIDS['raman-532'].points;

/** Lorentzian bands (centre in grid points, relative height) plus an optional baseline, scaled to max 1. */
function spectrum(bands: readonly (readonly [number, number])[], options: { baseline?: (i: number) => number; shift?: number; from?: number; to?: number; width?: number } = {}): Float32Array {
  const y = new Float32Array(POINTS);
  const width = options.width ?? 4;
  for (let i = options.from ?? 0; i <= (options.to ?? POINTS - 1); i++) {
    let v = options.baseline?.(i) ?? 0;
    for (const [c, h] of bands) v += h / (1 + ((i - c - (options.shift ?? 0)) / width) ** 2);
    y[i] = v + 1e-3;
  }
  const max = y.reduce((m, v) => Math.max(m, v), 0);
  return y.map((v) => v / max);
}

const mineral = (rng: ReturnType<typeof createRng>) => Array.from({ length: 3 + rng.int(0, 8) }, () => [rng.uniform(20, POINTS - 20), rng.uniform(0.1, 1)] as const);

describe('spectral hit-quality index', () => {
  it('treats the zeros at the grid ends as not measured and correlates over the overlap only', () => {
    const bands = [[200, 1], [400, 0.5], [450, 0.3]] as const;
    const full = matchView(spectrum(bands), { baseline: 'none' });
    const part = matchView(spectrum(bands, { from: 150, to: 500 }), { baseline: 'none' });
    expect(coveredRange(spectrum(bands, { from: 150, to: 500 }))).toEqual({ from: 150, to: 500 });
    expect(viewCorrelation(part, full)).toBeCloseTo(1, 5);
    // Below the minimum overlap there is no correlation to speak of.
    const sliver = matchView(spectrum(bands, { from: 690, to: 710 }), { baseline: 'none' });
    expect(viewCorrelation(sliver, full, 0, 32)).toBe(-1);
  });

  it('removes a fluorescence baseline that would otherwise dominate the correlation', () => {
    const bands = [[150, 1], [300, 0.6], [520, 0.4]] as const;
    const clean = spectrum(bands);
    const fluorescent = spectrum(bands, { baseline: (i) => 3 * Math.exp(-(((i - 350) / 250) ** 2)) });
    const other = spectrum([[180, 1], [330, 0.6], [600, 0.4]]);
    const raw = { views: [{ baseline: 'none' as const }] };
    const removed = { views: [{ baseline: 'rollingMin' as const, baselineWindow: 50 }] };
    const hqi = (a: Float32Array, b: Float32Array, o: typeof raw | typeof removed) => hitQuality(matchProfile(a, o), matchProfile(b, o));
    expect(hqi(fluorescent, clean, removed)).toBeGreaterThan(0.9);
    expect(hqi(fluorescent, clean, raw)).toBeLessThan(hqi(fluorescent, clean, removed) - 0.2);
    expect(hqi(fluorescent, other, removed)).toBeLessThan(0.5);
  });

  it('square-root intensities tolerate relative band heights (orientation), and maxShift a small calibration shift', () => {
    const a = spectrum([[100, 1], [300, 0.05], [500, 0.05]]);
    const b = spectrum([[100, 0.2], [300, 1], [500, 0.3]]);
    const linear = { views: [{ baseline: 'rollingMin' as const }] };
    const sqrt = { views: [{ baseline: 'rollingMin' as const, transform: 'sqrt' as const }] };
    expect(hitQuality(matchProfile(a, sqrt), matchProfile(b, sqrt))).toBeGreaterThan(hitQuality(matchProfile(a, linear), matchProfile(b, linear)) + 0.1);
    const shifted = spectrum([[100, 1], [300, 0.05], [500, 0.05]], { shift: 3, width: 2 });
    const narrow = spectrum([[100, 1], [300, 0.05], [500, 0.05]], { width: 2 });
    const strict = hitQuality(matchProfile(shifted, linear), matchProfile(narrow, linear));
    const tolerant = hitQuality(matchProfile(shifted, linear), matchProfile(narrow, linear), { maxShift: 3 });
    expect(tolerant).toBeGreaterThan(0.99);
    expect(strict).toBeLessThan(0.8);
  });
});

/** A library of synthetic minerals on the Raman grid; embeddings are random (the spectral side is under test). */
function library(classes: number, perClass: number, seed = 1) {
  const rng = createRng(seed);
  const lib = new ReferenceLibrary({ dim: 8, points: POINTS, modelVersion: 't' });
  const truth: (readonly (readonly [number, number])[])[] = [];
  for (let c = 0; c < classes; c++) {
    const bands = mineral(rng);
    truth.push(bands);
    const spectra = new Float32Array(perClass * POINTS);
    for (let r = 0; r < perClass; r++) {
      // Each reference: bands a point off and 0.6-1.4 x as high, on a sloping baseline of its own.
      const slope = rng.uniform(0, 0.5);
      spectra.set(spectrum(bands.map(([p, h]) => [p + rng.uniform(-1, 1), h * rng.uniform(0.6, 1.4)] as const), { baseline: (i) => slope * (i / POINTS) }), r * POINTS);
    }
    lib.addReferences(`m${c}`, Float32Array.from({ length: perClass * 8 }, () => rng.normal()), spectra);
  }
  return { lib, truth, rng };
}

describe('spectral ranking in identify()', () => {
  const options = spectralRankingFor(TECHNIQUE_GRIDS['raman-532'])!;

  it('is the technique preset of physical grids only, its widths in the grid\'s points', () => {
    expect(spectralRankingFor(TECHNIQUE_GRIDS['raman-532'])).toBe(options);
    expect(options.match.views[0]).toMatchObject({ baselineWindow: 50, transform: 'sqrt' });
    // The same 100 cm-1 on a 1 cm-1 grid.
    expect(spectralRankingFor({ xUnit: 'cm-1', xStart: 100, xEnd: 1500, points: 1401 })!.match.views[0].baselineWindow).toBe(100);
    expect(spectralRankingFor(TECHNIQUE_GRIDS.ir)!.match.views.map((v) => v.transform ?? 'none')).toEqual(['none', 'derivative']);
    expect(spectralRankingFor(TECHNIQUE_GRIDS.benchmark)).toBeNull();
  });

  it('names a known mineral with its HQI on every candidate, says unknown for a new one, and scores never tie', () => {
    const { lib, truth, rng } = library(40, 2);
    const query = spectrum(truth[7].map(([p, h]) => [p + 0.5, h * 1.2] as const));
    const embedding = Float32Array.from({ length: 8 }, () => rng.normal());
    const known = identify({ embedding, spectrum: query }, lib, { spectral: options });
    expect(known.status).toBe('identified');
    expect(known.class).toBe('m7');
    expect(known.candidates).toHaveLength(5);
    expect(known.candidates[0].spectralMatch).toBeGreaterThan(0.9);
    expect(new Set(known.candidates.map((c) => c.score)).size).toBe(5);
    const unseen = identify({ embedding, spectrum: spectrum(mineral(rng)) }, lib, { spectral: options });
    expect(unseen.status).toBe('unknown');
    expect(new Set(unseen.candidates.map((c) => c.score)).size).toBe(5);
    // Without the option the embedding answers alone (random embeddings here: no HQI on the candidates).
    expect(identify({ embedding, spectrum: query }, lib).candidates[0].spectralMatch).toBeUndefined();
  });

  it('a one-class library still says unknown, and names its class for its own spectra', () => {
    const { lib, truth, rng } = library(1, 1, 3);
    const embedding = Float32Array.from({ length: 8 }, () => rng.normal());
    const own = spectralAnswer(lib, options, spectrum(truth[0].map(([p, h]) => [p, h * 0.9] as const)), embedding, 5);
    expect(own?.status).toBe('identified');
    const other = spectralAnswer(lib, options, spectrum(mineral(rng)), embedding, 5);
    expect(other?.status).toBe('unknown');
    expect(other!.score).toBeLessThan(0.5);
  });

  it('hubness: a class that gains a close relative loses score in the unknown statistic, and the index fits its unknown model on the library', () => {
    const { lib, truth, rng } = library(40, 2, 7);
    const query = matchProfile(spectrum(truth[3]), options.match);
    const correction = () => {
      const index = spectralIndexFor(lib, options)!;
      expect(index.unknownModel).not.toBeNull();
      const m3 = lib.matrix().classNames.indexOf('m3');
      const s = spectralScores(index, query, null).find((x) => x.classIndex === m3)!;
      expect(s.hqi).toBeGreaterThan(0.9);
      return s.hqi - s.csls;
    };
    const before = correction();
    expect(before).toBeGreaterThan(0);
    // A relative of m3: the same bands, slightly moved and re-weighted (a new library state, a new index).
    lib.addReferences('relative', Float32Array.from({ length: 8 }, () => rng.normal()), spectrum(truth[3].map(([p, h]) => [p + 1.5, h * rng.uniform(0.8, 1.2)] as const)));
    expect(correction()).toBeGreaterThan(before + 0.01);
    // Without the option the statistic is the null z alone.
    const { hubness: _, ...plain } = options;
    expect(spectralIndexFor(lib, plain)!.unknownModel).toBeNull();
  });

  it('takes the unknown model cut from out-of-fold scores, below the in-sample quantile, with the same model', () => {
    const { lib } = library(40, 2, 7);
    const crossFitted = spectralIndexFor(lib, options)!;
    const inSample = spectralIndexFor(lib, { ...options, cutFolds: 1 })!;
    expect(crossFitted.unknownModel).not.toBeNull();
    expect(inSample.unknownModel!.weights).toEqual(crossFitted.unknownModel!.weights);
    // A model scores the samples it was fitted on higher than new ones: the in-sample cut sits higher.
    expect(crossFitted.cut).toBeLessThan(inSample.cut);
  });

  it('falls back to the embedding when a class keeps no reference spectra', () => {
    const lib = new ReferenceLibrary({ dim: 8, points: POINTS, modelVersion: 't' });
    lib.addReferences('a', Float32Array.from({ length: 8 }, (_, i) => i + 1), spectrum([[100, 1]]), false);
    expect(spectralAnswer(lib, options, spectrum([[100, 1]]), null, 5)).toBeNull();
  });
});
