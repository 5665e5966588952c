import { describe, expect, it } from 'vitest';
import { smoothedSpectrumEncoder } from '../../bench/lib/baseline-encoder.ts';
import { distanceDistributions, mixtures, singleCompound } from '../../bench/lib/protocols.ts';
import type { TrainRequest } from '../../bench/lib/protocols.ts';
import { histogramSvg } from '../../bench/paper.ts';

const encoder = smoothedSpectrumEncoder(5000);

describe('paper protocols (smoothed baseline encoder, 10 classes)', () => {
  it('single compound: asks for an encoder on the right training set and scores the test split', async () => {
    const requests: TrainRequest[] = [];
    const ctx = { seed: 1, classes: 10, encoderFor: async (r: TrainRequest) => (requests.push(r), encoder) };
    const acc = await singleCompound(ctx, 5);
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ name: 'single-5', perClass: 5, benchmark: 'benchmark' });
    expect(requests[0].train.n).toBe(50);
    expect(acc).toBeGreaterThan(60);
    expect(acc).toBeLessThanOrEqual(100);
  });

  it('mixtures: at-least-n scores fall with n, and the library-of-all run covers every class', async () => {
    const ctx = { seed: 2, classes: 10, encoderFor: async () => encoder };
    const [r] = await mixtures(ctx, [2]);
    expect(r.components).toBe(2);
    expect(r.mixtures).toBe(18); // 2 library classes x 9 test variants
    for (const scores of [r.atLeast, r.atLeastFullLibrary, r.atLeastEmbeddingOnly]) {
      expect(scores).toHaveLength(2);
      expect(scores[0]).toBeGreaterThanOrEqual(scores[1]);
      expect(scores[1]).toBeGreaterThanOrEqual(0);
    }
    expect(r.atLeast[0]).toBe(100); // a library of 2 classes with 2-component mixtures: both always present
    // 15 s at load 13, 36 s at load 15 (two libraries, their reconstruction templates and unknown-component calibration); the
    // shared machine runs at up to load 20.
  }, 180_000);

  it('distance distributions: same-class pairs are closer, and the SVG plots both', async () => {
    const d = await distanceDistributions({ seed: 1, classes: 10, encoderFor: async () => encoder }, 500);
    const mean = (v: Float32Array) => v.reduce((s, x) => s + x, 0) / v.length;
    expect(mean(d.same)).toBeLessThan(mean(d.different));
    const svg = histogramSvg(d, 20);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<rect /g)!.length).toBe(1 + 40 + 2);
    expect(svg).toContain('same class');
  });
});
