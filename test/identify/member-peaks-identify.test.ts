import { describe, expect, it } from 'vitest';
import { identify } from '../../core/identify/identify.ts';
import { ReferenceLibrary } from '../../core/identify/knn/library.ts';
import { mulberry32 } from '../../core/identify/knn/calibration.ts';
import { jitteredReferences, spectrumOf } from './peak-spectra.ts';
import { gaussian, unit } from './synthetic.ts';

const POINTS = 2000;
const DIM = 16;
// Benchmark classes 96 and 15 moved 3000 points down (15: 2900) onto a 2000-point grid, 184 so moved with its minor peak 22 points further, and a fourth.
const CLASSES = {
  c96: { positions: [1385, 1520], heights: [0.315, 1] },
  c184: { positions: [1420, 1739], heights: [0.156, 1] },
  c15: { positions: [199, 1329], heights: [1, 0.988] },
  c2: { positions: [400, 900], heights: [1, 0.4] },
};

function build() {
  const rng = mulberry32(5);
  const library = new ReferenceLibrary({ dim: DIM, points: POINTS, modelVersion: 'test' });
  const centers = new Map<string, Float32Array>();
  Object.entries(CLASSES).forEach(([name, c], k) => {
    const center = unit(Float32Array.from({ length: DIM }, () => gaussian(rng)));
    centers.set(name, center);
    const refs = jitteredReferences(c.positions, c.heights, 20, 20 + k);
    const e = new Float32Array(refs.length * DIM);
    const x = new Float32Array(refs.length * POINTS);
    refs.forEach((s, r) => {
      e.set(unit(center.map((v) => v + (0.1 * gaussian(rng)) / Math.sqrt(DIM))), r * DIM);
      x.set(s, r * POINTS);
    });
    library.addReferences(name, e, x);
  });
  return { library, centers };
}

describe('identify: mixture members must show their own peaks (member-peaks.ts)', () => {
  it('an absent compound that two classes explain only by their main peaks is no mixture of them; their real mixture is', () => {
    const { library, centers } = build();
    const embedding = unit(centers.get('c96')!.map((v, j) => v + centers.get('c184')![j]));
    const gate = { openSetMinClasses: 1, unknownComponentShare: 0.05 } as const;
    // 96's pattern and 184's main peak alone: at the profile's resolution 96's minor peak (35 points from 184's) covers
    // 184's minor region, so the pooled fit and its support take 96 + 184; at full resolution 184's minor peak is missing.
    const absent = spectrumOf([...CLASSES.c96.positions, 1739], [0.315 * 0.8, 0.8, 1], 2, POINTS);
    // Their real mixture, each moved as a whole (within the default 0.8 % of the grid).
    const real = spectrumOf([...CLASSES.c96.positions.map((p) => p + 8), ...CLASSES.c184.positions.map((p) => p - 10)], [0.315 * 0.8, 0.8, 0.156, 1], 2, POINTS);
    const without = identify({ embedding, spectrum: absent }, library, { ...gate, memberPeaks: false });
    const judged = identify({ embedding, spectrum: absent }, library, gate);
    const mixture = identify({ embedding, spectrum: real }, library, gate);
    expect(mixture.status).toBe('mixture');
    expect(mixture.components!.map((c) => c.class).sort()).toEqual(['c184', 'c96']);
    expect(without.status).toBe('mixture');
    expect(judged.status).not.toBe('mixture');
    expect(judged.components ?? []).toEqual([]);
  });
});
