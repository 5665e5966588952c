import { SpectrumInputError } from '../../errors.ts';

/**
 * Mixture search in embedding space: a mixture's embedding is close to the normalized sum of its components' class
 * embeddings (Vorozhtsov & Kitina 2024). For a set S of classes with unit centroids c_i and a unit query q,
 *   cos(q, sum_S c_i) = (sum_S q.c_i) / sqrt(sum_{i,j in S} c_i.c_j),
 * so a set is scored from q.c (one product per class) and its pairwise dot products, never from a stored sum vector.
 */

export interface MixtureFit {
  /** Class indices (into the library's class order), ascending. */
  readonly classIndices: readonly number[];
  /** Cosine similarity of the query to the normalized equal-weight sum of the classes' centroids. */
  readonly similarity: number;
}

export interface BeamOptions {
  /** Largest number of components considered (default 5). */
  readonly maxComponents?: number;
  /** Sets kept per level (default 16). */
  readonly beamWidth?: number;
  /** Classes left out of the search (e.g. one held out while calibrating). */
  readonly excludeClass?: number;
}

/** Centroid matrix [classes, dim] plus the query's dot product with every class. */
interface SearchSpace {
  readonly centroids: Float32Array;
  readonly dim: number;
  readonly classes: number;
  readonly qc: Float64Array;
}

function space(centroids: Float32Array, dim: number, query: Float32Array): SearchSpace {
  if (query.length !== dim) {
    throw new SpectrumInputError('query-dim', `query embedding has ${query.length} values, the library expects ${dim}`);
  }
  const classes = centroids.length / dim;
  const qc = new Float64Array(classes);
  for (let c = 0; c < classes; c++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += centroids[c * dim + j] * query[j];
    qc[c] = s;
  }
  return { centroids, dim, classes, qc };
}

interface BeamState {
  readonly set: number[];
  readonly sum: Float64Array;
  readonly qSum: number;
  readonly normSq: number;
  readonly similarity: number;
}

/**
 * Beam search over normalized sums, ours: grows sets one class at a time, keeping the beamWidth best sets per size,
 * then polishes each size's best set by single swaps until no swap helps. Cost per level: beamWidth x classes x dim
 * multiply-adds, so it never enumerates the C(n, m) combinations. Returns the best fit for each size 1..maxComponents.
 */
export function beamMixtureSearch(centroids: Float32Array, dim: number, query: Float32Array, options: BeamOptions = {}): MixtureFit[] {
  const sp = space(centroids, dim, query);
  const maxComponents = Math.min(options.maxComponents ?? 5, sp.classes - (options.excludeClass === undefined ? 0 : 1));
  const beamWidth = options.beamWidth ?? 16;
  let beam: BeamState[] = [{ set: [], sum: new Float64Array(dim), qSum: 0, normSq: 0, similarity: -Infinity }];
  const fits: MixtureFit[] = [];
  const dots = new Float64Array(sp.classes);
  for (let size = 1; size <= maxComponents; size++) {
    // Score every (state, class) extension into flat arrays, then keep the beamWidth best distinct sets: one selection
    // per level instead of bookkeeping per candidate.
    const total = beam.length * sp.classes;
    const sims = new Float64Array(total).fill(-Infinity);
    const norms = new Float64Array(total);
    beam.forEach((state, b) => {
      dotsWith(sp, state.sum, dots);
      for (let c = 0; c < sp.classes; c++) {
        if (c === options.excludeClass || state.set.includes(c)) continue;
        const normSq = state.normSq + 2 * dots[c] + 1;
        sims[b * sp.classes + c] = (state.qSum + sp.qc[c]) / Math.sqrt(Math.max(normSq, 1e-12));
        norms[b * sp.classes + c] = normSq;
      }
    });
    const order = topIndices(sims, beamWidth * (size === 1 ? 1 : size + 1));
    const next: BeamState[] = [];
    const seen = new Set<string>();
    for (const idx of order) {
      if (next.length >= beamWidth || sims[idx] === -Infinity) break;
      const state = beam[Math.floor(idx / sp.classes)];
      const c = idx % sp.classes;
      const set = insertSorted(state.set, c);
      const key = set.join(',');
      if (seen.has(key)) continue;
      seen.add(key);
      next.push({ set, sum: sumOf(sp, set), qSum: state.qSum + sp.qc[c], normSq: norms[idx], similarity: sims[idx] });
    }
    beam = next;
    if (!beam.length) break;
    fits.push(polish(sp, beam[0].set, options.excludeClass));
  }
  return fits;
}

/** The paper's baseline: every combination of exactly m classes, scored one by one (streamed, nothing stored). */
export function exhaustiveMixtureSearch(centroids: Float32Array, dim: number, query: Float32Array, m: number): MixtureFit {
  const sp = space(centroids, dim, query);
  const n = sp.classes;
  if (m < 1 || m > n) throw new SpectrumInputError('mixture-size', `cannot choose ${m} of ${n} classes`);
  const gram = gramMatrix(sp);
  const set = new Int32Array(m);
  let best = -Infinity;
  let bestSet: number[] = [];
  const visit = (depth: number, start: number, qSum: number, normSq: number) => {
    if (depth === m) {
      const sim = qSum / Math.sqrt(Math.max(normSq, 1e-12));
      if (sim > best) {
        best = sim;
        bestSet = Array.from(set);
      }
      return;
    }
    for (let c = start; c <= n - (m - depth); c++) {
      let cross = 0;
      for (let i = 0; i < depth; i++) cross += gram[set[i] * n + c];
      set[depth] = c;
      visit(depth + 1, c + 1, qSum + sp.qc[c], normSq + 1 + 2 * cross);
    }
  };
  visit(0, 0, 0, 0);
  return { classIndices: bestSet, similarity: best };
}

/** Bytes the paper's approach holds: one stored normalized sum embedding (float32) per combination. */
export function exhaustiveMemoryBytes(classes: number, m: number, dim: number): number {
  return binomial(classes, m) * dim * 4;
}

export function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return Math.round(r);
}

/** Similarity of the query to a given set's normalized sum. */
export function setSimilarity(centroids: Float32Array, dim: number, query: Float32Array, set: readonly number[]): number {
  const sum = new Float64Array(dim);
  for (const c of set) for (let j = 0; j < dim; j++) sum[j] += centroids[c * dim + j];
  let qs = 0;
  let ss = 0;
  for (let j = 0; j < dim; j++) {
    qs += sum[j] * query[j];
    ss += sum[j] * sum[j];
  }
  return qs / Math.sqrt(Math.max(ss, 1e-12));
}

/**
 * For each member of a set, the best similarity reachable by swapping it for any other class (or dropping it when
 * that scores higher). fit.similarity minus this is the member's margin: how much the data prefer it.
 */
export function memberMargins(centroids: Float32Array, dim: number, query: Float32Array, set: readonly number[], excludeClass?: number): number[] {
  const sp = space(centroids, dim, query);
  const full = setSimilarity(centroids, dim, query, set);
  const dots = new Float64Array(sp.classes);
  return set.map((member) => {
    const rest = set.filter((c) => c !== member);
    let alternative = rest.length ? setSimilarity(centroids, dim, query, rest) : -Infinity;
    const sum = new Float64Array(dim);
    for (const c of rest) for (let j = 0; j < dim; j++) sum[j] += centroids[c * dim + j];
    dotsWith(sp, sum, dots);
    let qSum = 0;
    let normSq = 0;
    for (let j = 0; j < dim; j++) normSq += sum[j] * sum[j];
    for (const c of rest) qSum += sp.qc[c];
    for (let c = 0; c < sp.classes; c++) {
      if (set.includes(c) || c === excludeClass) continue;
      const sim = (qSum + sp.qc[c]) / Math.sqrt(Math.max(normSq + 2 * dots[c] + 1, 1e-12));
      if (sim > alternative) alternative = sim;
    }
    return full - alternative;
  });
}

/**
 * Non-negative least squares, min ||A w - b|| with w >= 0, for the few columns of a mixture: every subset of columns
 * is tried as the active set (2^m, m <= 8), which is exact and needs no iteration tolerance. A is column-major.
 */
export function nnls(columns: readonly Float32Array[] | readonly Float64Array[], b: ArrayLike<number>): number[] {
  const m = columns.length;
  if (m > 8) throw new RangeError(`nnls here is for at most 8 columns, got ${m}`);
  const n = b.length;
  const ata = Array.from({ length: m }, (_, i) => Array.from({ length: m }, (_, j) => dot(columns[i], columns[j], n)));
  const atb = columns.map((col) => dot(col, b, n));
  let best: number[] = new Array(m).fill(0);
  let bestObjective = 0; // w = 0 gives ||b||^2 - 0
  for (let mask = 1; mask < 1 << m; mask++) {
    const active = [...Array(m).keys()].filter((i) => mask & (1 << i));
    const sub = solve(
      active.map((i) => active.map((j) => ata[i][j])),
      active.map((i) => atb[i]),
    );
    if (!sub || sub.some((v) => !(v >= 0))) continue;
    // ||Aw - b||^2 - ||b||^2 = w'AtA w - 2 w'Atb; at the subset's optimum this is -w'Atb.
    const objective = -sub.reduce((s, v, k) => s + v * atb[active[k]], 0);
    if (objective < bestObjective) {
      bestObjective = objective;
      best = new Array(m).fill(0);
      active.forEach((i, k) => (best[i] = sub[k]));
    }
  }
  return best;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}

/** Gaussian elimination with partial pivoting; null when singular. */
function solve(a: number[][], b: number[]): number[] | null {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r][col]) > Math.abs(m[pivot][col])) pivot = r;
    if (Math.abs(m[pivot][col]) < 1e-12) return null;
    [m[col], m[pivot]] = [m[pivot], m[col]];
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = m[r][col] / m[col][col];
      for (let c = col; c <= n; c++) m[r][c] -= f * m[col][c];
    }
  }
  return m.map((row, i) => row[n] / row[i]);
}

function dotsWith(sp: SearchSpace, v: Float64Array, out: Float64Array): void {
  const { centroids, dim } = sp;
  for (let c = 0; c < sp.classes; c++) {
    let s = 0;
    const base = c * dim;
    for (let j = 0; j < dim; j++) s += centroids[base + j] * v[j];
    out[c] = s;
  }
}

/** The unnormalized sum of a set's centroids; rebuilt from the members (a few classes) so states stay independent. */
function sumOf(sp: SearchSpace, set: readonly number[]): Float64Array {
  const sum = new Float64Array(sp.dim);
  for (const c of set) for (let j = 0; j < sp.dim; j++) sum[j] += sp.centroids[c * sp.dim + j];
  return sum;
}

function insertSorted(set: readonly number[], c: number): number[] {
  const out = [...set, c];
  out.sort((a, b) => a - b);
  return out;
}

/** Indices of the n largest values, largest first (a set reached from several states appears several times). */
function topIndices(values: Float64Array, n: number): number[] {
  const out: number[] = [];
  let floor = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === -Infinity || (out.length >= n && v <= floor)) continue;
    let p = out.length < n ? out.length : n - 1;
    if (out.length < n) out.push(i);
    while (p > 0 && values[out[p - 1]] < v) {
      out[p] = out[p - 1];
      p--;
    }
    out[p] = i;
    if (out.length >= n) floor = values[out[n - 1]];
  }
  return out;
}

/** Best-improvement single swaps until none helps (a local optimum around the beam's best set). */
function polish(sp: SearchSpace, start: readonly number[], excludeClass?: number): MixtureFit {
  let set = [...start];
  let similarity = simOf(sp, set);
  const dots = new Float64Array(sp.classes);
  for (let round = 0; round < 10; round++) {
    let improved = false;
    for (let p = 0; p < set.length; p++) {
      const rest = set.filter((_, i) => i !== p);
      const sum = sumOf(sp, rest);
      dotsWith(sp, sum, dots);
      let qSum = 0;
      for (const c of rest) qSum += sp.qc[c];
      let normSq = 0;
      for (let j = 0; j < sp.dim; j++) normSq += sum[j] * sum[j];
      let bestC = set[p];
      let bestSim = similarity;
      for (let c = 0; c < sp.classes; c++) {
        if (c === excludeClass || set.includes(c)) continue;
        const sim = (qSum + sp.qc[c]) / Math.sqrt(Math.max(normSq + 2 * dots[c] + 1, 1e-12));
        if (sim > bestSim + 1e-9) [bestC, bestSim] = [c, sim];
      }
      if (bestC !== set[p]) {
        set = insertSorted(rest, bestC);
        similarity = bestSim;
        improved = true;
        break;
      }
    }
    if (!improved) break;
  }
  return { classIndices: set, similarity };
}

function simOf(sp: SearchSpace, set: readonly number[]): number {
  const sum = sumOf(sp, set);
  let qSum = 0;
  for (const c of set) qSum += sp.qc[c];
  let ss = 0;
  for (let j = 0; j < sp.dim; j++) ss += sum[j] * sum[j];
  return qSum / Math.sqrt(Math.max(ss, 1e-12));
}

function gramMatrix(sp: SearchSpace): Float64Array {
  const { centroids, dim, classes: n } = sp;
  const gram = new Float64Array(n * n);
  for (let a = 0; a < n; a++) {
    for (let b = a; b < n; b++) {
      let s = 0;
      for (let j = 0; j < dim; j++) s += centroids[a * dim + j] * centroids[b * dim + j];
      gram[a * n + b] = s;
      gram[b * n + a] = s;
    }
  }
  return gram;
}

export interface HybridFit extends MixtureFit {
  /** Cosine similarity of the query's spectral profile to the normalized sum of the classes' profiles. */
  readonly spectralSimilarity: number;
}

/**
 * Ours, when the spectrum is at hand: sets of exactly m classes proposed by beam searches in embedding space and in
 * spectral-profile space (profile.ts: linear, so mixtures add there exactly), then polished by single swaps on the
 * sum of both cosine similarities. The encoder is trained on single compounds and is only roughly additive; the
 * profiles are additive but blind to small shifts: together they beat either alone.
 */
export function hybridMixtureSearch(
  centroids: Float32Array,
  dim: number,
  query: Float32Array,
  profiles: Float32Array,
  profileDim: number,
  profile: Float32Array,
  m: number,
  options: BeamOptions & { readonly embeddingStart?: MixtureFit } = {},
): HybridFit {
  const spaces = [space(centroids, dim, query), space(profiles, profileDim, profile)];
  const beamWidth = options.beamWidth ?? 16;
  // The profile space is ~8x wider than the embedding: a narrower beam there keeps the query within budget.
  const starts = [
    options.embeddingStart && options.embeddingStart.classIndices.length === m
      ? options.embeddingStart
      : beamMixtureSearch(centroids, dim, query, { maxComponents: m, beamWidth, excludeClass: options.excludeClass })[m - 1],
    beamMixtureSearch(profiles, profileDim, profile, { maxComponents: m, beamWidth: Math.max(4, beamWidth >> 1), excludeClass: options.excludeClass })[m - 1],
  ].filter((f): f is MixtureFit => Boolean(f));
  let best: { set: number[]; score: number } | undefined;
  for (const start of starts) {
    const polished = polishCombined(spaces, start.classIndices, options.excludeClass);
    if (!best || polished.score > best.score) best = polished;
  }
  if (!best) return { classIndices: [], similarity: -1, spectralSimilarity: -1 };
  return { classIndices: best.set, similarity: simOf(spaces[0], best.set), spectralSimilarity: simOf(spaces[1], best.set) };
}

function polishCombined(spaces: readonly SearchSpace[], start: readonly number[], excludeClass?: number): { set: number[]; score: number } {
  let set = [...start];
  let score = spaces.reduce((s, sp) => s + simOf(sp, set), 0);
  const classes = spaces[0].classes;
  const dots = spaces.map((sp) => new Float64Array(sp.classes));
  for (let round = 0; round < 10; round++) {
    let improved = false;
    for (let p = 0; p < set.length && !improved; p++) {
      const rest = set.filter((_, i) => i !== p);
      const parts = spaces.map((sp, k) => {
        const sum = sumOf(sp, rest);
        dotsWith(sp, sum, dots[k]);
        let qSum = 0;
        for (const c of rest) qSum += sp.qc[c];
        let normSq = 0;
        for (let j = 0; j < sp.dim; j++) normSq += sum[j] * sum[j];
        return { qSum, normSq };
      });
      let bestC = set[p];
      let bestScore = score;
      for (let c = 0; c < classes; c++) {
        if (c === excludeClass || set.includes(c)) continue;
        let total = 0;
        spaces.forEach((sp, k) => {
          total += (parts[k].qSum + sp.qc[c]) / Math.sqrt(Math.max(parts[k].normSq + 2 * dots[k][c] + 1, 1e-12));
        });
        if (total > bestScore + 1e-9) [bestC, bestScore] = [c, total];
      }
      if (bestC !== set[p]) {
        set = insertSorted(rest, bestC);
        score = bestScore;
        improved = true;
      }
    }
    if (!improved) break;
  }
  return { set, score };
}
