/**
 * Decision rules compared on the same embeddings (bench:challenge, bench/decision-rules.ts): each maps a query's
 * cosine similarities to every reference (embeddings are unit norm) to a predicted class. The kNN vote is the
 * paper's and identify()'s; the others score a class from several or all of its references, which the challenge
 * set's overlapping triplets reward (docs/RESULTS-CHALLENGE.md).
 */
import { SpectrumInputError } from '../core/errors.ts';
import { knnVote } from '../core/training/knn.ts';

export interface Embedded {
  readonly emb: Float32Array;
  readonly y: ArrayLike<number>;
  readonly n: number;
}

/** The references grouped by class, shared by every rule. */
export interface RuleContext {
  readonly labels: ArrayLike<number>;
  readonly classes: number;
  /** Reference indices of each class. */
  readonly byClass: readonly Int32Array[];
  /** Cosine of the query to each class's normalized mean embedding. */
  centroidSims: Float64Array;
}

/** sims: the query's cosine similarity to every reference. */
export type Rule = (sims: Float32Array, ctx: RuleContext) => number;

/** The kNN vote over the k most similar references (the training's own vote: knnVote). */
export function knnRule(k: number): Rule {
  return (sims, ctx) => knnVote(sims, ctx.labels, k);
}

/** A class's score is the mean of its m highest similarities (m larger than the class: all of them). */
export function meanBestRule(m: number): Rule {
  return (sims, ctx) => {
    let best = -1;
    let bestScore = -Infinity;
    const top = new Float64Array(Math.max(1, Math.min(m, sims.length)));
    for (let c = 0; c < ctx.classes; c++) {
      const refs = ctx.byClass[c];
      const take = Math.min(m, refs.length);
      if (take === 0) continue;
      top.fill(-Infinity);
      for (const r of refs) {
        const s = sims[r];
        if (s <= top[take - 1]) continue;
        let p = take - 1;
        while (p > 0 && top[p - 1] < s) {
          top[p] = top[p - 1];
          p--;
        }
        top[p] = s;
      }
      let sum = 0;
      for (let j = 0; j < take; j++) sum += top[j];
      if (sum / take > bestScore) [best, bestScore] = [c, sum / take];
    }
    return best;
  };
}

/** Nearest class centroid (the mean of a class's reference embeddings, re-normalized). */
export const centroidRule: Rule = (_sims, ctx) => {
  let best = -1;
  for (let c = 0; c < ctx.classes; c++) if (best < 0 || ctx.centroidSims[c] > ctx.centroidSims[best]) best = c;
  return best;
};

/** Rules by name, in report order. */
const RULES: ReadonlyArray<readonly [string, Rule]> = [
  ['k1', knnRule(1)],
  ['k3', knnRule(3)],
  ['k5', knnRule(5)],
  ['k9', knnRule(9)],
  ['k15', knnRule(15)],
  ['best2', meanBestRule(2)],
  ['best3', meanBestRule(3)],
  ['best5', meanBestRule(5)],
  ['best10', meanBestRule(10)],
  ['best20', meanBestRule(20)],
  ['centroid', centroidRule],
];

/** Every rule's predictions for every query: name -> predicted class per query. */
export function predictAll(refs: Embedded, queries: Embedded, dim: number, rules: ReadonlyArray<readonly [string, Rule]> = RULES): Map<string, Int32Array> {
  if (refs.emb.length !== refs.n * dim || queries.emb.length !== queries.n * dim) {
    throw new SpectrumInputError('bad-batch', `embeddings do not match their counts at dim ${dim}`, { field: 'emb' });
  }
  let classes = 0;
  for (let i = 0; i < refs.n; i++) classes = Math.max(classes, refs.y[i] + 1);
  const members: number[][] = Array.from({ length: classes }, () => []);
  for (let r = 0; r < refs.n; r++) members[refs.y[r]].push(r);
  const centroids = new Float64Array(classes * dim);
  for (let r = 0; r < refs.n; r++) for (let d = 0; d < dim; d++) centroids[refs.y[r] * dim + d] += refs.emb[r * dim + d];
  for (let c = 0; c < classes; c++) {
    let s = 0;
    for (let d = 0; d < dim; d++) s += centroids[c * dim + d] ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let d = 0; d < dim; d++) centroids[c * dim + d] *= inv;
  }
  const ctx: RuleContext = { labels: refs.y, classes, byClass: members.map((m) => Int32Array.from(m)), centroidSims: new Float64Array(classes) };
  const out = new Map(rules.map(([name]) => [name, new Int32Array(queries.n)] as const));
  const sims = new Float32Array(refs.n);
  for (let q = 0; q < queries.n; q++) {
    const qo = q * dim;
    for (let r = 0; r < refs.n; r++) {
      let s = 0;
      const ro = r * dim;
      for (let d = 0; d < dim; d++) s += queries.emb[qo + d] * refs.emb[ro + d];
      sims[r] = s;
    }
    for (let c = 0; c < classes; c++) {
      let s = 0;
      for (let d = 0; d < dim; d++) s += centroids[c * dim + d] * queries.emb[qo + d];
      ctx.centroidSims[c] = s;
    }
    for (const [name, rule] of rules) out.get(name)![q] = rule(sims, ctx);
  }
  return out;
}

/** Percent of queries whose predicted class is their label. */
export function accuracyOf(pred: ArrayLike<number>, truth: ArrayLike<number>): number {
  let hit = 0;
  for (let i = 0; i < truth.length; i++) if (pred[i] === truth[i]) hit++;
  return truth.length === 0 ? 0 : (100 * hit) / truth.length;
}

/** Every rule's accuracy (percent) on one labelled query set. */
export function ruleAccuracies(refs: Embedded, queries: Embedded, dim: number): Record<string, number> {
  const preds = predictAll(refs, queries, dim);
  return Object.fromEntries([...preds].map(([name, pred]) => [name, accuracyOf(pred, queries.y)]));
}

/** Mean of several encoders' cosines = dot product of the concatenated embeddings, each part scaled by 1/sqrt(E). */
export function concatEmbeddings(parts: readonly Float32Array[], n: number, dim: number): Float32Array {
  const e = parts.length;
  const out = new Float32Array(n * dim * e);
  const scale = 1 / Math.sqrt(e);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < e; p++) for (let d = 0; d < dim; d++) out[i * dim * e + p * dim + d] = parts[p][i * dim + d] * scale;
  }
  return out;
}
