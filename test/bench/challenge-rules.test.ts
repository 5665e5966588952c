import { describe, expect, it } from 'vitest';
import { accuracyOf, centroidRule, concatEmbeddings, knnRule, meanBestRule, predictAll } from '../../bench/challenge-rules.ts';

/** Unit vectors in the plane at the given angles (degrees), row-major [n, 2]. */
const atAngles = (deg: number[]) => Float32Array.from(deg.flatMap((d) => [Math.cos((d * Math.PI) / 180), Math.sin((d * Math.PI) / 180)]));

describe('decision rules on embeddings', () => {
  // Class 0: three references at 0 degrees; class 1: one reference at 10 and three at 90 degrees. Query at 8 degrees:
  // its nearest reference is class 1's (2 degrees away), the next three class 0's (8 degrees away).
  const refs = { emb: atAngles([0, 0, 0, 10, 90, 90, 90]), y: [0, 0, 0, 1, 1, 1, 1], n: 7 };
  const query = { emb: atAngles([8]), y: [0], n: 1 };
  const rules = [
    ['k1', knnRule(1)],
    ['k3', knnRule(3)],
    ['best1', meanBestRule(1)],
    ['best2', meanBestRule(2)],
    ['centroid', centroidRule],
  ] as const;

  it('the nearest reference, the vote, the mean of the best m and the centroid each decide by their own geometry', () => {
    const p = predictAll(refs, query, 2, rules);
    expect(p.get('k1')![0]).toBe(1);
    expect(p.get('best1')![0]).toBe(1);
    // Votes: class 1 once (10 deg), class 0 twice.
    expect(p.get('k3')![0]).toBe(0);
    // Class 0's best two are 8 deg away each, class 1's 2 and 82 deg.
    expect(p.get('best2')![0]).toBe(0);
    expect(p.get('centroid')![0]).toBe(0);
  });

  it('a class with fewer references than m is scored by the ones it has', () => {
    // Class 1 has one reference, at 4 degrees from the query; class 0 three, at 6 degrees.
    const r = { emb: atAngles([0, 0, 0, 10]), y: [0, 0, 0, 1], n: 4 };
    const q = { emb: atAngles([6]), y: [1], n: 1 };
    expect(predictAll(r, q, 2, [['best5', meanBestRule(5)]]).get('best5')![0]).toBe(1);
  });

  it('accuracyOf counts matches in percent', () => {
    expect(accuracyOf([0, 1, 2, 2], [0, 1, 1, 2])).toBe(75);
    expect(accuracyOf([], [])).toBe(0);
  });

  it('concatenated embeddings give the mean of the encoders\' cosines', () => {
    const a = atAngles([0, 30]);
    const b = atAngles([0, 90]);
    const cat = concatEmbeddings([a, b], 2, 2);
    const dot = cat[0] * cat[4] + cat[1] * cat[5] + cat[2] * cat[6] + cat[3] * cat[7];
    expect(dot).toBeCloseTo((Math.cos(Math.PI / 6) + 0) / 2, 6);
  });
});
