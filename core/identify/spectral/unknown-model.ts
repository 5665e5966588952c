/**
 * A small logistic model for the unknown decision: P(known) from a few statistics of the query's top hit, fitted on
 * samples the library makes of itself (a reference queried against its class without it = known; against the
 * library without its class = pseudo-unknown), so no labelled unknowns are needed. Features are standardized; the
 * two groups weigh equally (a library makes many more pseudo-unknowns than knowns); a small L2 penalty keeps the
 * weights finite when the groups separate. Deterministic (plain gradient descent from zero).
 */

export interface UnknownModel {
  /** Per feature: mean and spread used to standardize it. */
  readonly mean: readonly number[];
  readonly spread: readonly number[];
  /** Weights of the standardized features, then the bias. */
  readonly weights: readonly number[];
}

/**
 * Fits P(known | features); `known` and `unknown` are feature rows of equal length. `signs` (optional, per feature:
 * 1, -1 or 0 for free) holds a weight at zero rather than let it take the sign that contradicts what the feature
 * means (more evidence of a match must never lower P(known)): projected gradient descent.
 */
export function fitUnknownModel(
  known: readonly (readonly number[])[],
  unknown: readonly (readonly number[])[],
  l2 = 0.01,
  iterations = 2000,
  signs?: readonly number[],
): UnknownModel {
  const rows = [...known, ...unknown];
  if (!known.length || !unknown.length) throw new Error('fitUnknownModel: need both known and unknown samples');
  const k = rows[0].length;
  const mean = Array.from({ length: k }, (_, i) => rows.reduce((a, r) => a + r[i], 0) / rows.length);
  const spread = mean.map((m, i) => Math.sqrt(rows.reduce((a, r) => a + (r[i] - m) ** 2, 0) / rows.length) || 1);
  const z = rows.map((r) => r.map((v, i) => (v - mean[i]) / spread[i]));
  const label = rows.map((_, j) => (j < known.length ? 1 : 0));
  const weightOf = (j: number) => (j < known.length ? 0.5 / known.length : 0.5 / unknown.length);
  const w = new Array<number>(k + 1).fill(0);
  for (let it = 0; it < iterations; it++) {
    const grad = new Array<number>(k + 1).fill(0);
    z.forEach((x, j) => {
      let s = w[k];
      for (let i = 0; i < k; i++) s += w[i] * x[i];
      const err = weightOf(j) * (1 / (1 + Math.exp(-s)) - label[j]);
      for (let i = 0; i < k; i++) grad[i] += err * x[i];
      grad[k] += err;
    });
    for (let i = 0; i < k; i++) grad[i] += l2 * w[i];
    for (let i = 0; i <= k; i++) w[i] -= grad[i];
    if (signs) for (let i = 0; i < k; i++) if (signs[i] * w[i] < 0) w[i] = 0;
  }
  return { mean, spread, weights: w };
}

/** The model's log-odds that a query with these features is of an enrolled class. */
export function unknownLogOdds(model: UnknownModel, features: readonly number[]): number {
  const k = model.mean.length;
  let s = model.weights[k];
  for (let i = 0; i < k; i++) s += (model.weights[i] * (features[i] - model.mean[i])) / model.spread[i];
  return s;
}

/**
 * The cut on the model's log-odds that calls `target` of known queries unknown, from out-of-fold scores: the samples
 * split in `folds` groups (by `groupOf`, e.g. their class, so a class's samples never score a model fitted on each
 * other), each known sample scored by a model fitted without its group, and the `target` quantile of those scores.
 * A model scores the samples it was fitted on higher than new ones, the more so the fewer the samples and the more
 * the features, so the in-sample quantile cuts too high and calls more known queries unknown than the target (fitted
 * on 20 known samples of the RRUFF dev library: 9.5 % where 5 % was asked; docs/RESULTS-REAL.md).
 */
export function crossFittedCut(
  known: readonly (readonly number[])[],
  unknown: readonly (readonly number[])[],
  target: number,
  groupOf: { readonly known: readonly number[]; readonly unknown: readonly number[] },
  folds = 5,
  l2 = 0.01,
): number {
  const scores: number[] = [];
  for (let f = 0; f < folds; f++) {
    const held = (g: number) => ((g % folds) + folds) % folds === f;
    const trainKnown = known.filter((_, i) => !held(groupOf.known[i]));
    const trainUnknown = unknown.filter((_, i) => !held(groupOf.unknown[i]));
    const heldKnown = known.filter((_, i) => held(groupOf.known[i]));
    if (!heldKnown.length) continue;
    // A fold that takes every sample of a group: its known samples are scored by the model fitted on all.
    const model = trainKnown.length && trainUnknown.length ? fitUnknownModel(trainKnown, trainUnknown, l2) : fitUnknownModel(known, unknown, l2);
    for (const row of heldKnown) scores.push(unknownLogOdds(model, row));
  }
  scores.sort((a, b) => a - b);
  return scores[Math.floor(target * scores.length)];
}
