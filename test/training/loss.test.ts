import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine, tf } from '../../core/engine/index.ts';
import { positiveSelection, tripletLoss } from '../../core/training/loss.ts';
import { createRng } from '../../core/math/rng.ts';

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});

const lossOf = (rows: number[][], labels: number[], opts = {}): number =>
  tf.tidy(() => tripletLoss(tf.tensor2d(rows), labels, opts).dataSync()[0]);

/** The definition, triple loop over every (a, p, n): the reference batch-all is checked against. */
function naiveBatchAll(rows: number[][], labels: number[], margin = 1, threshold = 0.3): number {
  const d = (i: number, j: number) => 1 - rows[i].reduce((s, v, t) => s + v * rows[j][t], 0);
  let sum = 0;
  let count = 0;
  for (let a = 0; a < rows.length; a++)
    for (let p = 0; p < rows.length; p++)
      for (let n = 0; n < rows.length; n++) {
        if (a === p || labels[a] !== labels[p] || labels[n] === labels[a]) continue;
        const l = d(a, p) - d(a, n) + margin;
        if (l > threshold) {
          sum += l;
          count++;
        }
      }
  return count ? sum / count : 0;
}

describe('tripletLoss (cosine distance, margin 1, only triplets with loss > 0.3)', () => {
  it('averages hand-computed triplets', () => {
    // d01 = 1, d02 = 0, d12 = 1: (0,1,2) -> 1 - 0 + 1 = 2; (1,0,2) -> 1 - 1 + 1 = 1; mean 1.5
    expect(lossOf([[1, 0], [0, 1], [1, 0]], [0, 0, 1])).toBeCloseTo(1.5, 6);
  });

  it('drops triplets at or below 0.3 from the mean', () => {
    // e1 = (0.8, 0.6): d01 = 0.2, d02 = 1, d12 = 0.4. (0,1,2) -> 0.2 (dropped), (1,0,2) -> 0.8 (kept): mean 0.8, not 0.5
    expect(lossOf([[1, 0], [0.8, 0.6], [0, 1]], [0, 0, 1])).toBeCloseTo(0.8, 6);
    // Lowering the threshold below 0.2 brings the easy triplet back: (0.2 + 0.8) / 2
    expect(lossOf([[1, 0], [0.8, 0.6], [0, 1]], [0, 0, 1], { threshold: 0.1 })).toBeCloseTo(0.5, 6);
  });

  it('is zero when every triplet is easy', () => {
    // Positives identical, negatives opposite: l = 0 - 2 + 1 = -1 for all triplets.
    expect(lossOf([[1, 0], [1, 0], [-1, 0], [-1, 0]], [0, 0, 1, 1])).toBe(0);
  });

  it('batch-hard takes the farthest positive and the nearest negative per anchor', () => {
    // labels [0,0,0,1]; e = (1,0), (0.8,0.6), (0,1), (0.6,0.8)
    // anchor 0: hardest pos d02 = 1, nearest neg d03 = 0.4 -> 1.6
    // anchor 1: pos d10 = 0.2, d12 = 0.4 -> 0.4; neg d13 = 1 - 0.96 = 0.04 -> 1.36
    // anchor 2: pos d20 = 1, d21 = 0.4 -> 1; neg d23 = 0.2 -> 1.8;  anchor 3 has no positive.
    const loss = lossOf([[1, 0], [0.8, 0.6], [0, 1], [0.6, 0.8]], [0, 0, 0, 1], { mining: 'batch-hard' });
    expect(loss).toBeCloseTo((1.6 + 1.36 + 1.8) / 3, 5);
  });

  it('batch-all equals the triple-loop definition on random batches with uneven classes', () => {
    const rng = createRng(7);
    for (let trial = 0; trial < 5; trial++) {
      const b = 9 + trial;
      const labels = Array.from({ length: b }, () => rng.int(0, 3));
      const rows = Array.from({ length: b }, () => {
        const v = Array.from({ length: 5 }, () => rng.normal());
        const n = Math.hypot(...v);
        return v.map((x) => x / n);
      });
      expect(lossOf(rows, labels)).toBeCloseTo(naiveBatchAll(rows, labels), 5);
    }
  });

  it('selects each anchor\u2019s positives, padding anchors with fewer', () => {
    const { select, valid, q } = positiveSelection([0, 0, 0, 1, 1]);
    expect(q).toBe(2);
    // anchor 3's only positive is 4; its second slot is padding
    expect(Array.from(select.subarray((3 * q) * 5, (3 * q + 1) * 5))).toEqual([0, 0, 0, 0, 1]);
    expect(valid[3 * q + 1]).toBe(0);
  });

  it('gives gradients only through the counted triplets', () => {
    const rows = [[1, 0], [0.8, 0.6], [0, 1]];
    const g = tf.tidy(() => tf.grad((e: tf.Tensor) => tripletLoss(e as tf.Tensor2D, [0, 0, 1]))(tf.tensor2d(rows)).arraySync() as number[][]);
    // Only (1,0,2) counts: l = 1 - e1.e0 - 1 + e1.e2 + 1, so dl/de0 = -e1, dl/de1 = e2 - e0, dl/de2 = e1.
    expect(g[0][0]).toBeCloseTo(-0.8, 5);
    expect(g[0][1]).toBeCloseTo(-0.6, 5);
    expect(g[1][0]).toBeCloseTo(-1, 5);
    expect(g[1][1]).toBeCloseTo(1, 5);
    expect(g[2][0]).toBeCloseTo(0.8, 5);
    expect(g[2][1]).toBeCloseTo(0.6, 5);
  });

  it('rejects a label count that does not match the batch', () => {
    expect(() => tf.tidy(() => tripletLoss(tf.tensor2d([[1, 0]]), [0, 1]))).toThrow(/labels/);
  });
});
