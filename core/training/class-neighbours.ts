/**
 * Each class's nearest other classes by the classic library search's similarity: the cosine of square-root
 * intensities (positive part), best pair of members. These are the classes a spectral search confuses (minerals of
 * one structure with another cation, one group, one series); putting them in the same training batch gives the
 * triplet loss negatives that teach what tells such relatives apart, which random batches of hundreds of classes
 * rarely hold.
 */
export function nearestClasses(x: Float32Array, y: ArrayLike<number>, points: number, count: number): Map<number, number[]> {
  const n = y.length;
  if (x.length !== n * points) throw new RangeError(`nearestClasses: x has ${x.length} values for ${n} rows of ${points} points`);
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`nearestClasses: count must be a positive integer, got ${count}`);
  const unit = new Float32Array(x.length);
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let i = 0; i < points; i++) {
      const v = x[r * points + i];
      const t = v > 0 ? Math.sqrt(v) : 0;
      unit[r * points + i] = t;
      s += t * t;
    }
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let i = 0; i < points; i++) unit[r * points + i] *= inv;
  }
  // Best similarity of any member pair, per class pair (each row pair once; the cosine is symmetric).
  const best = new Map<number, Map<number, number>>();
  const rowOf = (c: number): Map<number, number> => {
    let row = best.get(c);
    if (!row) best.set(c, (row = new Map()));
    return row;
  };
  for (let a = 0; a < n; a++) {
    const ca = y[a];
    const rowA = rowOf(ca);
    for (let b = a + 1; b < n; b++) {
      const cb = y[b];
      if (cb === ca) continue;
      let s = 0;
      const ao = a * points;
      const bo = b * points;
      for (let i = 0; i < points; i++) s += unit[ao + i] * unit[bo + i];
      if (s > (rowA.get(cb) ?? -Infinity)) rowA.set(cb, s);
      const rowB = rowOf(cb);
      if (s > (rowB.get(ca) ?? -Infinity)) rowB.set(ca, s);
    }
  }
  const out = new Map<number, number[]>();
  for (const [c, row] of best) {
    out.set(
      c,
      [...row.entries()]
        .sort((p, q) => q[1] - p[1] || p[0] - q[0])
        .slice(0, count)
        .map(([other]) => other),
    );
  }
  return out;
}
