import type { ResultMessage } from '../../core/messages.ts';

/**
 * The library spectra a result's hits stand for, as a vendor search shows them: for each of the first candidates
 * the class's reference nearest to the query (Pearson correlation on the model grid), so the operator overlays the
 * query with hit 1, 2 or 3 and reads the residual. Not the class mean: a class enrolled from spectra of two
 * polymorphs would average into a curve no sample has.
 */
export interface HitReference {
  readonly rank: number;
  readonly class: string;
  /** The candidate's calibrated confidence. */
  readonly score: number;
  /** Pearson correlation of the query with this reference, in [-1, 1]. */
  readonly correlation: number;
  /** How many references the class has (the nearest one is drawn). */
  readonly references: number;
  /** The reference, max |y| = 1, on the model grid (the record's preprocessed x). */
  readonly y: number[];
}

export const MAX_HITS = 3;

export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = Math.min(a.length, b.length);
  if (n === 0) return 0;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i] - ma;
    const db = b[i] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0;
}

/** Five decimals: the curve reads the same on the plot and its JSON is a third of full float precision. */
function compact(v: ArrayLike<number>): number[] {
  let max = 0;
  for (let i = 0; i < v.length; i++) max = Math.max(max, Math.abs(v[i]));
  const k = max > 0 ? 1 / max : 1;
  return Array.from(v, (x) => Math.round(x * k * 1e5) / 1e5);
}

export function hitReferences(
  query: Float32Array,
  result: ResultMessage | undefined,
  vectorsOf: (cls: string) => Float32Array[],
  max = MAX_HITS,
): HitReference[] {
  if (!result || result.status === 'rejected') return [];
  const out: HitReference[] = [];
  for (const c of result.candidates.slice(0, max)) {
    const vectors = vectorsOf(c.class);
    let best: Float32Array | undefined;
    let bestR = -Infinity;
    for (const v of vectors) {
      const r = pearson(query, v);
      if (r > bestR) {
        bestR = r;
        best = v;
      }
    }
    if (!best) continue;
    out.push({ rank: out.length + 1, class: c.class, score: c.score, correlation: Math.round(bestR * 1e4) / 1e4, references: vectors.length, y: compact(best) });
  }
  return out;
}
