/**
 * kNN classification accuracy with cosine similarity (embeddings are unit norm, so a dot product) and majority vote
 * over the k nearest references; a tie in votes goes to the class with the larger summed similarity.
 */
export function knnAccuracy(
  trainEmb: Float32Array,
  trainY: ArrayLike<number>,
  testEmb: Float32Array,
  testY: ArrayLike<number>,
  k = 3,
): number {
  const predicted = knnPredict(trainEmb, trainY, testEmb, testY.length, k);
  let hits = 0;
  for (let i = 0; i < testY.length; i++) if (predicted[i] === testY[i]) hits++;
  return testY.length === 0 ? 0 : hits / testY.length;
}

export function knnPredict(trainEmb: Float32Array, trainY: ArrayLike<number>, testEmb: Float32Array, nTest: number, k = 3): Int32Array {
  const nTrain = trainY.length;
  if (nTrain === 0) throw new RangeError('kNN needs at least one reference');
  const dim = trainEmb.length / nTrain;
  if (!Number.isInteger(dim) || testEmb.length !== nTest * dim) {
    throw new RangeError(`kNN: embedding sizes do not match (${trainEmb.length} for ${nTrain} references, ${testEmb.length} for ${nTest} queries)`);
  }
  const out = new Int32Array(nTest);
  // Float64: the vote and its tie-break see each similarity exactly as summed.
  const sims = new Float64Array(nTrain);
  for (let q = 0; q < nTest; q++) {
    const qo = q * dim;
    for (let r = 0; r < nTrain; r++) {
      const ro = r * dim;
      let s = 0;
      for (let d = 0; d < dim; d++) s += testEmb[qo + d] * trainEmb[ro + d];
      sims[r] = s;
    }
    out[q] = knnVote(sims, trainY, k);
  }
  return out;
}

/**
 * The majority class among the k references most similar to a query (sims[r]: its similarity to reference r, labels[r]
 * that reference's class); a tie in votes goes to the class with the larger summed similarity.
 */
export function knnVote(sims: ArrayLike<number>, labels: ArrayLike<number>, k: number): number {
  const kk = Math.min(k, sims.length);
  const bestSim = new Float64Array(kk).fill(-Infinity);
  const bestIdx = new Int32Array(kk).fill(-1);
  for (let r = 0; r < sims.length; r++) {
    const s = sims[r];
    if (s <= bestSim[kk - 1]) continue;
    let pos = kk - 1;
    while (pos > 0 && bestSim[pos - 1] < s) {
      bestSim[pos] = bestSim[pos - 1];
      bestIdx[pos] = bestIdx[pos - 1];
      pos--;
    }
    bestSim[pos] = s;
    bestIdx[pos] = r;
  }
  const votes = new Map<number, { n: number; sim: number }>();
  for (let j = 0; j < kk; j++) {
    const c = labels[bestIdx[j]];
    const v = votes.get(c) ?? { n: 0, sim: 0 };
    v.n++;
    v.sim += bestSim[j];
    votes.set(c, v);
  }
  let best = -1;
  let bestVote = { n: -1, sim: -Infinity };
  for (const [c, v] of votes) {
    if (v.n > bestVote.n || (v.n === bestVote.n && v.sim > bestVote.sim)) {
      best = c;
      bestVote = v;
    }
  }
  return best;
}
