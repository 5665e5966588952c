/** Scoring helpers shared by the benchmarks and tests. */

/**
 * Area under the ROC curve: the probability that a positive outscores a negative (ties count half), computed by
 * ranking, O((p + n) log(p + n)).
 */
export function auroc(positives: ArrayLike<number>, negatives: ArrayLike<number>): number {
  const all: Array<[number, number]> = [];
  for (let i = 0; i < positives.length; i++) all.push([positives[i], 1]);
  for (let i = 0; i < negatives.length; i++) all.push([negatives[i], 0]);
  if (!positives.length || !negatives.length) return Number.NaN;
  all.sort((a, b) => a[0] - b[0]);
  let rankSum = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j < all.length && all[j][0] === all[i][0]) j++;
    const midRank = (i + j + 1) / 2;
    for (let t = i; t < j; t++) if (all[t][1] === 1) rankSum += midRank;
    i = j;
  }
  const p = positives.length;
  return (rankSum - (p * (p + 1)) / 2) / (p * negatives.length);
}
